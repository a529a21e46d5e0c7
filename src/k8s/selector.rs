//! Kubernetes label selectors.
//!
//! A port of the string form of label selectors from
//! `k8s.io/apimachinery/pkg/labels/selector.go` (`Parse`, the `Lexer` and
//! `Parser`, `NewRequirement`, `Requirement.Matches`, `String`), with key and
//! value validation from `k8s.io/apimachinery/pkg/api/validate/content/kube.go`
//! (`IsLabelKey`, `IsLabelValue`) and
//! `k8s.io/apimachinery/pkg/api/validate/content/dns.go`
//! (`IsDNS1123Subdomain`). The external-metrics API passes the `metricSelector`
//! of a request in this form.
//!
//! # Grammar
//!
//! ```text
//! <selector-syntax>         ::= <requirement> | <requirement> "," <selector-syntax>
//! <requirement>             ::= [!] KEY [ <set-based-restriction> | <exact-match-restriction> ]
//! <set-based-restriction>   ::= "" | <inclusion-exclusion> <value-set>
//! <inclusion-exclusion>     ::= "in" | "notin"
//! <value-set>               ::= "(" <values> ")"
//! <values>                  ::= VALUE | VALUE "," <values>
//! <exact-match-restriction> ::= ["=" | "==" | "!=" | ">" | "<"] VALUE
//! ```
//!
//! Requirements are ANDed; the empty string selects everything. Whitespace
//! (space, tab, CR, LF) may separate any two tokens. `KEY` is a label key: an
//! optional DNS-1123 subdomain prefix (≤ 253 bytes) and `/`, then a name of
//! ≤ 63 bytes matching `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`. `VALUE` is a
//! label value: ≤ 63 bytes of the same form, or empty. `>` and `<` take a
//! single integer value. As upstream:
//!
//! * a value may be empty: `x=`, `x in (a,)`, and `x in ()` is the set `{""}`;
//! * `in` and `notin` are keywords only where an operator is expected, so
//!   `in=notin` and `x in (in,notin)` are valid;
//! * value sets are deduplicated and sorted, and requirements are sorted by
//!   key (stably), which gives the canonical [`Display`](fmt::Display) form.
//!
//! # Matching
//!
//! As upstream `Requirement.Matches`: `=`, `==` and `in` need the label to be
//! present with one of the values; `!=` and `notin` match when the label is
//! absent or has another value; `>`/`<` need the label to be present and to
//! parse as an `int64`. [`Selector::matches`] does not allocate.
//!
//! # Differences from upstream
//!
//! * A NUL byte is an ordinary (invalid) character here. Upstream's lexer
//!   treats it as the end of the input and silently ignores the rest.
//! * Only the first validation error of a requirement is reported; upstream
//!   aggregates all of them (`[err1, err2]`).
//! * An invalid key found while parsing is reported under the field path
//!   `key`; upstream prints its unset path as `<nil>`.
//! * Upstream's `found 'x' expected: '('` gains the comma of its other
//!   messages; bad values are quoted Rust-style rather than with Go's `%q`.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// Why a string is not a valid label selector. Messages follow upstream's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SelectorError {
    /// Between requirements: a token other than `!`, a key or the end of the
    /// input where a requirement must start, or something other than `,` or
    /// the end of the input after a requirement.
    #[error("found '{found}', expected: {expected}")]
    UnexpectedToken {
        /// The offending token (empty at the end of the input).
        found: String,
        /// What the grammar allows at that point.
        expected: &'static str,
    },
    /// Inside a requirement: a token the grammar does not allow at that
    /// point (a missing key, operator, `(`, `)` or value).
    #[error("unable to parse requirement: found '{found}', expected: {expected}")]
    InvalidSyntax {
        /// The offending token (empty at the end of the input).
        found: String,
        /// What the grammar allows at that point.
        expected: &'static str,
    },
    /// The key is not a valid label key (qualified name).
    #[error("unable to parse requirement: key: Invalid value: {key:?}: {reason}")]
    InvalidKey {
        /// The key as written.
        key: String,
        /// Upstream's validation messages, joined with `"; "`.
        reason: String,
    },
    /// The number of values does not suit the operator: `in`/`notin` with no
    /// values, `=`/`==`/`!=` without exactly one, `>`/`<` without exactly
    /// one, or a value given to an existence test. The parser never builds
    /// such a requirement (`()` is the set `{""}`); this mirrors the checks of
    /// upstream `NewRequirement`.
    #[error(
        "unable to parse requirement: values: Invalid value: {}: {detail}",
        go_string_slice(.values)
    )]
    InvalidValueCount {
        /// The values given.
        values: Vec<String>,
        /// Upstream's explanation for the operator.
        detail: &'static str,
    },
    /// The value of a `>` or `<` requirement is not an `int64`.
    #[error(
        "unable to parse requirement: values[{index}]: Invalid value: {value:?}: \
         for 'Gt', 'Lt' operators, the value must be an integer"
    )]
    NotAnInteger {
        /// Position of the value in the sorted value set.
        index: usize,
        /// The value as written.
        value: String,
    },
    /// A value is not a valid label value.
    #[error(
        "unable to parse requirement: values[{index}][{key}]: Invalid value: {value:?}: {reason}"
    )]
    InvalidValue {
        /// The key of the requirement.
        key: String,
        /// Position of the value in the sorted value set.
        index: usize,
        /// The value as written.
        value: String,
        /// Upstream's validation messages, joined with `"; "`.
        reason: String,
    },
}

/// Formats values as Go's `%#v` formats a `[]string`.
fn go_string_slice(values: &[String]) -> String {
    let quoted: Vec<String> = values.iter().map(|v| format!("{v:?}")).collect();
    format!("[]string{{{}}}", quoted.join(", "))
}

/// A parsed label selector: an AND of requirements.
///
/// The [`Display`](fmt::Display) form is upstream's canonical `String()`:
/// requirements sorted by key and joined by `,`, set values sorted, no
/// whitespace except around `in`/`notin`. It parses back to an equal
/// selector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    /// Parses a selector string (upstream `labels.Parse`).
    ///
    /// The empty string (or only whitespace) selects everything.
    ///
    /// # Errors
    ///
    /// A [`SelectorError`] describing the first syntax or validation error.
    pub fn parse(s: &str) -> Result<Selector, SelectorError> {
        let mut requirements = Parser::new(s).parse()?;
        // Stable, so requirements on the same key keep their written order.
        requirements.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(Selector { requirements })
    }

    /// The selector that matches every label set (upstream `Everything()`).
    #[must_use]
    pub fn everything() -> Selector {
        Selector::default()
    }

    /// Whether the selector has no requirements, and so matches everything
    /// (upstream `Empty()`).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether the labels satisfy every requirement.
    ///
    /// `get` returns the value of a label or None when absent. Does not
    /// allocate.
    pub fn matches<'a>(&self, get: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.requirements.iter().all(|r| r.matches(&get))
    }
}

impl FromStr for Selector {
    type Err = SelectorError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Selector::parse(s)
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, requirement) in self.requirements.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            fmt::Display::fmt(requirement, f)?;
        }
        Ok(())
    }
}

/// The operator of a requirement (upstream `selection.Operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    In,
    NotIn,
    Equals,
    DoubleEquals,
    NotEquals,
    Exists,
    DoesNotExist,
    GreaterThan,
    LessThan,
}

/// The operator with what matching needs, checked at construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    In,
    NotIn,
    Equals,
    DoubleEquals,
    NotEquals,
    Exists,
    DoesNotExist,
    GreaterThan(i64),
    LessThan(i64),
}

impl Selector {
    /// The requirements as the authorization API's `LabelSelectorRequirement`s
    /// (`key`, operator `In`/`NotIn`/`Exists`/`DoesNotExist`, values), the way
    /// `k8s.io/apiserver/plugin/pkg/authorizer/webhook` `labelSelectorToAuthorizationAPI`
    /// converts them for a SubjectAccessReview. `>` and `<` have no such form
    /// and are left out (upstream skips them too, which only widens the check).
    pub fn authorization_requirements(&self) -> Vec<(&str, &'static str, Vec<&str>)> {
        self.requirements
            .iter()
            .filter_map(|r| {
                let op = match r.check {
                    Check::In | Check::Equals | Check::DoubleEquals => "In",
                    Check::NotIn | Check::NotEquals => "NotIn",
                    Check::Exists => "Exists",
                    Check::DoesNotExist => "DoesNotExist",
                    Check::GreaterThan(_) | Check::LessThan(_) => return None,
                };
                Some((
                    r.key.as_str(),
                    op,
                    r.values.iter().map(String::as_str).collect(),
                ))
            })
            .collect()
    }
}

/// One `key op values` condition (upstream `Requirement`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Requirement {
    key: String,
    check: Check,
    /// Sorted and deduplicated.
    values: Vec<String>,
}

impl Requirement {
    /// Port of upstream `NewRequirement`: validates the key, the number of
    /// values for the operator, `>`/`<` integers and each value, returning
    /// the first error in upstream's order.
    fn new(key: &str, op: Op, values: BTreeSet<String>) -> Result<Requirement, SelectorError> {
        validate_label_key(key)?;
        let values: Vec<String> = values.into_iter().collect();
        let count_error = |detail| SelectorError::InvalidValueCount {
            values: values.clone(),
            detail,
        };
        let check = match op {
            Op::In | Op::NotIn => {
                if values.is_empty() {
                    return Err(count_error(
                        "for 'in', 'notin' operators, values set can't be empty",
                    ));
                }
                if op == Op::In {
                    Check::In
                } else {
                    Check::NotIn
                }
            }
            Op::Equals | Op::DoubleEquals | Op::NotEquals => {
                if values.len() != 1 {
                    return Err(count_error(
                        "exact-match compatibility requires one single value",
                    ));
                }
                match op {
                    Op::Equals => Check::Equals,
                    Op::DoubleEquals => Check::DoubleEquals,
                    _ => Check::NotEquals,
                }
            }
            Op::Exists | Op::DoesNotExist => {
                if !values.is_empty() {
                    return Err(count_error(
                        "values set must be empty for exists and does not exist",
                    ));
                }
                if op == Op::Exists {
                    Check::Exists
                } else {
                    Check::DoesNotExist
                }
            }
            Op::GreaterThan | Op::LessThan => {
                let [value] = values.as_slice() else {
                    return Err(count_error(
                        "for 'Gt', 'Lt' operators, exactly one value is required",
                    ));
                };
                // strconv.ParseInt(value, 10, 64)
                let Ok(bound) = value.parse::<i64>() else {
                    return Err(SelectorError::NotAnInteger {
                        index: 0,
                        value: value.clone(),
                    });
                };
                if op == Op::GreaterThan {
                    Check::GreaterThan(bound)
                } else {
                    Check::LessThan(bound)
                }
            }
        };
        for (index, value) in values.iter().enumerate() {
            if let Some(reason) = label_value_errors(value) {
                return Err(SelectorError::InvalidValue {
                    key: key.to_owned(),
                    index,
                    value: value.clone(),
                    reason,
                });
            }
        }
        Ok(Requirement {
            key: key.to_owned(),
            check,
            values,
        })
    }

    fn has_value(&self, value: &str) -> bool {
        self.values
            .binary_search_by(|candidate| candidate.as_str().cmp(value))
            .is_ok()
    }

    /// Port of upstream `Requirement.Matches`.
    fn matches<'a>(&self, get: &impl Fn(&str) -> Option<&'a str>) -> bool {
        let value = get(&self.key);
        match self.check {
            Check::In | Check::Equals | Check::DoubleEquals => {
                value.is_some_and(|v| self.has_value(v))
            }
            Check::NotIn | Check::NotEquals => value.is_none_or(|v| !self.has_value(v)),
            Check::Exists => value.is_some(),
            Check::DoesNotExist => value.is_none(),
            Check::GreaterThan(bound) => value
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v > bound),
            Check::LessThan(bound) => value
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v < bound),
        }
    }
}

impl fmt::Display for Requirement {
    /// Upstream `Requirement.String()`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.check == Check::DoesNotExist {
            f.write_str("!")?;
        }
        f.write_str(&self.key)?;
        let (operator, parenthesised) = match self.check {
            Check::Exists | Check::DoesNotExist => return Ok(()),
            Check::Equals => ("=", false),
            Check::DoubleEquals => ("==", false),
            Check::NotEquals => ("!=", false),
            Check::In => (" in ", true),
            Check::NotIn => (" notin ", true),
            Check::GreaterThan(_) => (">", false),
            Check::LessThan(_) => ("<", false),
        };
        f.write_str(operator)?;
        if parenthesised {
            f.write_str("(")?;
        }
        for (index, value) in self.values.iter().enumerate() {
            if index > 0 {
                f.write_str(",")?;
            }
            f.write_str(value)?;
        }
        if parenthesised {
            f.write_str(")")?;
        }
        Ok(())
    }
}

// ----------------------------------------------------------------- lexer

/// Lexer tokens (upstream `Token`; its `ErrorToken` cannot occur, because
/// every special character is a token on its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    EndOfString,
    ClosedPar,
    Comma,
    DoesNotExist,
    DoubleEquals,
    Equals,
    GreaterThan,
    Identifier,
    In,
    LessThan,
    NotEquals,
    NotIn,
    OpenPar,
}

/// A token and the text it was read from (upstream `ScannedItem`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Item<'a> {
    token: Token,
    literal: &'a str,
}

const END: Item<'static> = Item {
    token: Token::EndOfString,
    literal: "",
};

/// Upstream `isWhitespace`.
fn is_whitespace(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// Upstream `isSpecialSymbol`.
fn is_special_symbol(byte: u8) -> bool {
    matches!(byte, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Upstream `Lexer`.
struct Lexer<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    fn new(input: &'a str) -> Self {
        Lexer { input, pos: 0 }
    }

    /// The next token (upstream `Lex`). Token boundaries are always at ASCII
    /// bytes, so literals are whole UTF-8 slices.
    fn lex(&mut self) -> Item<'a> {
        let bytes = self.input.as_bytes();
        while bytes.get(self.pos).copied().is_some_and(is_whitespace) {
            self.pos += 1;
        }
        let start = self.pos;
        let Some(&first) = bytes.get(start) else {
            return END;
        };
        let token = if is_special_symbol(first) {
            // Upstream scanSpecialSymbol keeps the longest run of special
            // symbols that is a token: only "==" and "!=" are longer than one.
            let (token, len) = match (first, bytes.get(start + 1)) {
                (b'=', Some(b'=')) => (Token::DoubleEquals, 2),
                (b'!', Some(b'=')) => (Token::NotEquals, 2),
                (b'=', _) => (Token::Equals, 1),
                (b'!', _) => (Token::DoesNotExist, 1),
                (b'(', _) => (Token::OpenPar, 1),
                (b')', _) => (Token::ClosedPar, 1),
                (b',', _) => (Token::Comma, 1),
                (b'>', _) => (Token::GreaterThan, 1),
                _ => (Token::LessThan, 1),
            };
            self.pos += len;
            token
        } else {
            // Upstream scanIDOrKeyword: everything up to a special symbol or
            // whitespace.
            while bytes
                .get(self.pos)
                .is_some_and(|&b| !is_special_symbol(b) && !is_whitespace(b))
            {
                self.pos += 1;
            }
            Token::Identifier
        };
        let literal = self.input.get(start..self.pos).unwrap_or_default();
        let token = match (token, literal) {
            (Token::Identifier, "in") => Token::In,
            (Token::Identifier, "notin") => Token::NotIn,
            (token, _) => token,
        };
        Item { token, literal }
    }
}

// ---------------------------------------------------------------- parser

/// Whether `in`/`notin` are operators (upstream `KeyAndOperator`) or plain
/// identifiers (upstream `Values`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Context {
    KeyAndOperator,
    Values,
}

/// Upstream `Parser`: a recursive-descent parser over the scanned tokens.
struct Parser<'a> {
    items: Vec<Item<'a>>,
    position: usize,
}

impl<'a> Parser<'a> {
    /// Scans the whole input (upstream `scan`).
    fn new(input: &'a str) -> Self {
        let mut lexer = Lexer::new(input);
        let mut items = Vec::new();
        loop {
            let item = lexer.lex();
            items.push(item);
            if item.token == Token::EndOfString {
                break;
            }
        }
        Parser { items, position: 0 }
    }

    /// The current token, without consuming it (upstream `lookahead`).
    fn lookahead(&self, context: Context) -> Item<'a> {
        let item = self.items.get(self.position).copied().unwrap_or(END);
        match (context, item.token) {
            (Context::Values, Token::In | Token::NotIn) => Item {
                token: Token::Identifier,
                ..item
            },
            _ => item,
        }
    }

    /// The current token, consumed (upstream `consume`).
    fn consume(&mut self, context: Context) -> Item<'a> {
        let item = self.lookahead(context);
        self.position = self.position.saturating_add(1);
        item
    }

    /// Upstream `parse`.
    fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut requirements = Vec::new();
        loop {
            let item = self.lookahead(Context::Values);
            match item.token {
                Token::Identifier | Token::DoesNotExist => {
                    requirements.push(self.parse_requirement()?);
                    let after = self.consume(Context::Values);
                    match after.token {
                        Token::EndOfString => return Ok(requirements),
                        Token::Comma => {
                            let next = self.lookahead(Context::Values);
                            if !matches!(next.token, Token::Identifier | Token::DoesNotExist) {
                                return Err(unexpected(next, "identifier after ','"));
                            }
                        }
                        _ => return Err(unexpected(after, "',' or 'end of string'")),
                    }
                }
                Token::EndOfString => return Ok(requirements),
                _ => return Err(unexpected(item, "!, identifier, or 'end of string'")),
            }
        }
    }

    /// Upstream `parseRequirement`.
    fn parse_requirement(&mut self) -> Result<Requirement, SelectorError> {
        let (key, inferred) = self.parse_key_and_infer_operator()?;
        if let Some(op) = inferred {
            return Requirement::new(key, op, BTreeSet::new());
        }
        let op = self.parse_operator()?;
        let values = match op {
            Op::In | Op::NotIn => self.parse_values()?,
            _ => self.parse_exact_value()?,
        };
        Requirement::new(key, op, values)
    }

    /// Upstream `parseKeyAndInferOperator`: reads `[!] KEY`, and infers
    /// `exists` when the key is followed by `,` or the end.
    fn parse_key_and_infer_operator(&mut self) -> Result<(&'a str, Option<Op>), SelectorError> {
        let mut op = None;
        let mut item = self.consume(Context::Values);
        if item.token == Token::DoesNotExist {
            op = Some(Op::DoesNotExist);
            item = self.consume(Context::Values);
        }
        if item.token != Token::Identifier {
            return Err(invalid(item, "identifier"));
        }
        validate_label_key(item.literal)?;
        let next = self.lookahead(Context::Values).token;
        if op.is_none() && matches!(next, Token::EndOfString | Token::Comma) {
            op = Some(Op::Exists);
        }
        Ok((item.literal, op))
    }

    /// Upstream `parseOperator`.
    fn parse_operator(&mut self) -> Result<Op, SelectorError> {
        let item = self.consume(Context::KeyAndOperator);
        Ok(match item.token {
            Token::In => Op::In,
            Token::Equals => Op::Equals,
            Token::DoubleEquals => Op::DoubleEquals,
            Token::GreaterThan => Op::GreaterThan,
            Token::LessThan => Op::LessThan,
            Token::NotIn => Op::NotIn,
            Token::NotEquals => Op::NotEquals,
            _ => return Err(invalid(item, "in, notin, =, ==, !=, gt, lt")),
        })
    }

    /// Upstream `parseValues`: `( values )`.
    fn parse_values(&mut self) -> Result<BTreeSet<String>, SelectorError> {
        let open = self.consume(Context::Values);
        if open.token != Token::OpenPar {
            return Err(invalid(open, "'('"));
        }
        let next = self.lookahead(Context::Values);
        match next.token {
            Token::Identifier | Token::Comma => {
                let values = self.parse_identifiers_list()?;
                let close = self.consume(Context::Values);
                if close.token != Token::ClosedPar {
                    return Err(invalid(close, "')'"));
                }
                Ok(values)
            }
            Token::ClosedPar => {
                self.consume(Context::Values);
                Ok(BTreeSet::from([String::new()]))
            }
            _ => Err(invalid(next, "',', ')' or identifier")),
        }
    }

    /// Upstream `parseIdentifiersList`: a comma-separated list of possibly
    /// empty values, up to (not including) the `)`.
    fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, SelectorError> {
        let mut values = BTreeSet::new();
        loop {
            let item = self.consume(Context::Values);
            match item.token {
                Token::Identifier => {
                    values.insert(item.literal.to_owned());
                    let next = self.lookahead(Context::Values);
                    match next.token {
                        Token::Comma => continue,
                        Token::ClosedPar => return Ok(values),
                        _ => return Err(invalid(next, "',' or ')'")),
                    }
                }
                Token::Comma => {
                    if values.is_empty() {
                        values.insert(String::new()); // "(,"
                    }
                    match self.lookahead(Context::Values).token {
                        Token::ClosedPar => {
                            values.insert(String::new()); // ",)"
                            return Ok(values);
                        }
                        Token::Comma => {
                            self.consume(Context::Values);
                            values.insert(String::new()); // ",,"
                        }
                        _ => {}
                    }
                }
                _ => return Err(invalid(item, "',', or identifier")),
            }
        }
    }

    /// Upstream `parseExactValue`: one value, possibly empty.
    fn parse_exact_value(&mut self) -> Result<BTreeSet<String>, SelectorError> {
        if matches!(
            self.lookahead(Context::Values).token,
            Token::EndOfString | Token::Comma
        ) {
            return Ok(BTreeSet::from([String::new()]));
        }
        let item = self.consume(Context::Values);
        if item.token == Token::Identifier {
            Ok(BTreeSet::from([item.literal.to_owned()]))
        } else {
            Err(invalid(item, "identifier"))
        }
    }
}

fn unexpected(item: Item<'_>, expected: &'static str) -> SelectorError {
    SelectorError::UnexpectedToken {
        found: item.literal.to_owned(),
        expected,
    }
}

fn invalid(item: Item<'_>, expected: &'static str) -> SelectorError {
    SelectorError::InvalidSyntax {
        found: item.literal.to_owned(),
        expected,
    }
}

// ------------------------------------------------------------ validation

const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_ERR_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_KEY_EXAMPLES: &[&str] = &["MyName", "my.name", "123-abc"];
const LABEL_KEY_MAX_LENGTH: usize = 63;
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_EXAMPLES: &[&str] = &["MyValue", "my_value", "12345"];
const LABEL_VALUE_MAX_LENGTH: usize = 63;
const DNS1123_SUBDOMAIN_FMT: &str =
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;

/// Upstream `RegexError`.
fn regex_error(message: &str, regex: &str, examples: &[&str]) -> String {
    let mut out = String::from(message);
    if examples.is_empty() {
        out.push_str(" (regex used for validation is '");
    } else {
        out.push_str(" (e.g. ");
        for (index, example) in examples.iter().enumerate() {
            if index > 0 {
                out.push_str(" or ");
            }
            out.push('\'');
            out.push_str(example);
            out.push_str("', ");
        }
        out.push_str("regex used for validation is '");
    }
    out.push_str(regex);
    out.push_str("')");
    out
}

/// Upstream `MaxLenError`.
fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} bytes")
}

/// Matches `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`.
fn is_label_key_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// Matches `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`.
fn is_dns1123_subdomain(value: &str) -> bool {
    let is_end = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    value.split('.').all(|label| {
        let bytes = label.as_bytes();
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                is_end(first) && is_end(last) && bytes.iter().all(|b| is_end(b) || *b == b'-')
            }
            _ => false,
        }
    })
}

/// Upstream `IsDNS1123Subdomain`.
fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errors.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !is_dns1123_subdomain(value) {
        errors.push(regex_error(
            DNS1123_SUBDOMAIN_ERR_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errors
}

/// Upstream `IsLabelKey` (formerly `IsQualifiedName`), joined with `"; "`
/// as upstream `validateLabelKey` does; `None` when valid.
fn label_key_errors(key: &str) -> Option<String> {
    let mut errors: Vec<String> = Vec::new();
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errors.push("prefix part must be non-empty".to_owned());
            } else {
                errors.extend(
                    dns1123_subdomain_errors(prefix)
                        .into_iter()
                        .map(|message| format!("prefix part {message}")),
                );
            }
            *name
        }
        _ => {
            return Some(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(LABEL_KEY_ERR_MSG, LABEL_KEY_FMT, LABEL_KEY_EXAMPLES)
            ));
        }
    };
    if name.is_empty() {
        errors.push("name part must be non-empty".to_owned());
    } else if name.len() > LABEL_KEY_MAX_LENGTH {
        errors.push(format!("name part {}", max_len_error(LABEL_KEY_MAX_LENGTH)));
    }
    if !is_label_key_name(name) {
        errors.push(format!(
            "name part {}",
            regex_error(LABEL_KEY_ERR_MSG, LABEL_KEY_FMT, LABEL_KEY_EXAMPLES)
        ));
    }
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// Upstream `validateLabelKey`; also used to check static labels in the config.
pub fn validate_label_key(key: &str) -> Result<(), SelectorError> {
    match label_key_errors(key) {
        None => Ok(()),
        Some(reason) => Err(SelectorError::InvalidKey {
            key: key.to_owned(),
            reason,
        }),
    }
}

/// Upstream `IsLabelValue`, joined with `"; "`; `None` when valid.
fn label_value_errors(value: &str) -> Option<String> {
    let mut errors = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errors.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !value.is_empty() && !is_label_key_name(value) {
        errors.push(regex_error(
            LABEL_VALUE_ERR_MSG,
            LABEL_VALUE_FMT,
            LABEL_VALUE_EXAMPLES,
        ));
    }
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// Upstream `IsLabelValue`, as a `Result`; used to check static labels in the config.
pub fn validate_label_value(value: &str) -> Result<(), String> {
    label_value_errors(value).map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// Label pairs as written in a test table.
    type Pairs<'a> = &'a [(&'a str, &'a str)];

    /// A label set, like upstream's `labels.Set`.
    fn set<'a>(pairs: &[(&'a str, &'a str)]) -> HashMap<&'a str, &'a str> {
        pairs.iter().copied().collect()
    }

    fn matches(selector: &Selector, labels: &HashMap<&str, &str>) -> bool {
        selector.matches(|key| labels.get(key).copied())
    }

    fn parse_ok(input: &str) -> Selector {
        Selector::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"))
    }

    fn parse_err(input: &str) -> SelectorError {
        match Selector::parse(input) {
            Ok(selector) => panic!("{input:?} parsed as {selector}"),
            Err(error) => error,
        }
    }

    /// Upstream `getRequirement`: `NewRequirement` with a `sets.String`.
    fn req(key: &str, op: Op, values: &[&str]) -> Requirement {
        let values = values.iter().map(|v| (*v).to_owned()).collect();
        Requirement::new(key, op, values).unwrap_or_else(|e| panic!("{key} {op:?}: {e}"))
    }

    fn selector(requirements: Vec<Requirement>) -> Selector {
        Selector { requirements }
    }

    fn lex_all(input: &str) -> Vec<Token> {
        let mut lexer = Lexer::new(input);
        let mut tokens = Vec::new();
        loop {
            let item = lexer.lex();
            if item.token == Token::EndOfString {
                return tokens;
            }
            tokens.push(item.token);
        }
    }

    /// Upstream `TestSelectorParse`: good strings restring to themselves
    /// without spaces; bad strings fail.
    #[test]
    fn upstream_test_selector_parse() {
        let good = [
            "x=a,y=b,z=c",
            "",
            "x!=a,y=b",
            "x=",
            "x= ",
            "x=,z= ",
            "x= ,z= ",
            "!x",
            "x>1",
            "x>1,z<5",
        ];
        for input in good {
            let selector = parse_ok(input);
            assert_eq!(selector.to_string(), input.replace(' ', ""), "{input:?}");
        }
        for input in ["x=a||y=b", "x==a==b", "!x=a", "x<a"] {
            parse_err(input);
        }
    }

    /// Upstream `TestDeterministicParse`.
    #[test]
    fn upstream_test_deterministic_parse() {
        let first = parse_ok("x=a,a=x");
        let second = parse_ok("a=x,x=a");
        assert_eq!(first.to_string(), second.to_string());
        assert_eq!(first, second);
        assert_eq!(first.to_string(), "a=x,x=a");
    }

    /// Upstream `TestEverything` (and `TestSetIsEmpty` for `NewSelector`).
    #[test]
    fn upstream_test_everything() {
        let everything = Selector::everything();
        assert!(matches(&everything, &set(&[("x", "y")])));
        assert!(matches(&everything, &set(&[])));
        assert!(everything.is_empty());
        assert_eq!(everything.to_string(), "");
        assert_eq!(parse_ok(""), everything);
        assert_eq!(parse_ok(" \t\r\n "), everything);
        assert_eq!("".parse::<Selector>(), Ok(everything));
        assert!(!parse_ok("x").is_empty());
    }

    /// Upstream `TestSelectorMatches`.
    #[test]
    fn upstream_test_selector_matches() {
        let cases: &[(&str, Pairs<'_>, bool)] = &[
            ("", &[("x", "y")], true),
            ("x=y", &[("x", "y")], true),
            ("x=y,z=w", &[("x", "y"), ("z", "w")], true),
            ("x!=y,z!=w", &[("x", "z"), ("z", "a")], true),
            ("notin=in", &[("notin", "in")], true), // in and notin in exactMatch
            ("x", &[("x", "z")], true),
            ("!x", &[("y", "z")], true),
            ("x>1", &[("x", "2")], true),
            ("x<1", &[("x", "0")], true),
            ("x=z", &[], false),
            ("x=y", &[("x", "z")], false),
            ("x=y,z=w", &[("x", "w"), ("z", "w")], false),
            ("x!=y,z!=w", &[("x", "z"), ("z", "w")], false),
            ("x", &[("y", "z")], false),
            ("!x", &[("x", "z")], false),
            ("x>1", &[("x", "0")], false),
            ("x<1", &[("x", "2")], false),
        ];
        for &(input, labels, want) in cases {
            assert_eq!(
                matches(&parse_ok(input), &set(labels)),
                want,
                "{input:?} vs {labels:?}"
            );
        }
        let labels = set(&[("foo", "bar"), ("baz", "blah")]);
        for (input, want) in [
            ("foo=bar", true),
            ("baz=blah", true),
            ("foo=bar,baz=blah", true),
            ("foo=blah", false),
            ("baz=bar", false),
            ("foo=bar,foobar=bar,baz=blah", false),
        ] {
            assert_eq!(matches(&parse_ok(input), &labels), want, "{input:?}");
        }
    }

    /// Upstream `TestLexer`.
    #[test]
    fn upstream_test_lexer() {
        let cases: &[(&str, Token)] = &[
            ("", Token::EndOfString),
            (",", Token::Comma),
            ("notin", Token::NotIn),
            ("in", Token::In),
            ("=", Token::Equals),
            ("==", Token::DoubleEquals),
            (">", Token::GreaterThan),
            ("<", Token::LessThan),
            // Note that Lex returns the longest valid token found
            ("!", Token::DoesNotExist),
            ("!=", Token::NotEquals),
            ("(", Token::OpenPar),
            (")", Token::ClosedPar),
            // Non-"special" characters are considered part of an identifier
            ("~", Token::Identifier),
            ("||", Token::Identifier),
        ];
        for &(input, token) in cases {
            let item = Lexer::new(input).lex();
            assert_eq!(item.token, token, "{input:?}");
            assert_eq!(item.literal, input, "{input:?}");
        }
    }

    /// Upstream `TestLexerSequence`.
    #[test]
    fn upstream_test_lexer_sequence() {
        use Token::*;
        let cases: &[(&str, &[Token])] = &[
            (
                "key in ( value )",
                &[Identifier, In, OpenPar, Identifier, ClosedPar],
            ),
            (
                "key notin ( value )",
                &[Identifier, NotIn, OpenPar, Identifier, ClosedPar],
            ),
            (
                "key in ( value1, value2 )",
                &[
                    Identifier, In, OpenPar, Identifier, Comma, Identifier, ClosedPar,
                ],
            ),
            ("key", &[Identifier]),
            ("!key", &[DoesNotExist, Identifier]),
            ("()", &[OpenPar, ClosedPar]),
            (
                "x in (),y",
                &[Identifier, In, OpenPar, ClosedPar, Comma, Identifier],
            ),
            (
                "== != (), = notin",
                &[
                    DoubleEquals,
                    NotEquals,
                    OpenPar,
                    ClosedPar,
                    Comma,
                    Equals,
                    NotIn,
                ],
            ),
            ("key>2", &[Identifier, GreaterThan, Identifier]),
            ("key<1", &[Identifier, LessThan, Identifier]),
        ];
        for &(input, tokens) in cases {
            assert_eq!(lex_all(input), tokens, "{input:?}");
        }
    }

    /// Longest-match behaviour of upstream `scanSpecialSymbol`.
    #[test]
    fn lexer_special_symbol_runs() {
        use Token::*;
        let cases: &[(&str, &[Token])] = &[
            ("===", &[DoubleEquals, Equals]),
            ("!==", &[NotEquals, Equals]),
            ("!!", &[DoesNotExist, DoesNotExist]),
            ("=!", &[Equals, DoesNotExist]),
            ("!(", &[DoesNotExist, OpenPar]),
            ("><", &[GreaterThan, LessThan]),
            (">=", &[GreaterThan, Equals]),
            ("((", &[OpenPar, OpenPar]),
            ("a=b", &[Identifier, Equals, Identifier]),
            ("in in", &[In, In]),
            ("inx", &[Identifier]),
            ("IN", &[Identifier]),
            ("é=ü", &[Identifier, Equals, Identifier]),
        ];
        for &(input, tokens) in cases {
            assert_eq!(lex_all(input), tokens, "{input:?}");
        }
        let mut lexer = Lexer::new(" \tkey\r\n!=\nvalue ");
        assert_eq!(lexer.lex().literal, "key");
        assert_eq!(lexer.lex().literal, "!=");
        assert_eq!(lexer.lex().literal, "value");
        assert_eq!(lexer.lex(), END);
        assert_eq!(lexer.lex(), END);
    }

    /// Upstream `TestParserLookahead`.
    #[test]
    fn upstream_test_parser_lookahead() {
        use Token::*;
        let cases: &[(&str, &[Token])] = &[
            (
                "key in ( value )",
                &[Identifier, In, OpenPar, Identifier, ClosedPar, EndOfString],
            ),
            (
                "key notin ( value )",
                &[
                    Identifier,
                    NotIn,
                    OpenPar,
                    Identifier,
                    ClosedPar,
                    EndOfString,
                ],
            ),
            (
                "key in ( value1, value2 )",
                &[
                    Identifier,
                    In,
                    OpenPar,
                    Identifier,
                    Comma,
                    Identifier,
                    ClosedPar,
                    EndOfString,
                ],
            ),
            ("key", &[Identifier, EndOfString]),
            ("!key", &[DoesNotExist, Identifier, EndOfString]),
            ("()", &[OpenPar, ClosedPar, EndOfString]),
            ("", &[EndOfString]),
            (
                "x in (),y",
                &[
                    Identifier,
                    In,
                    OpenPar,
                    ClosedPar,
                    Comma,
                    Identifier,
                    EndOfString,
                ],
            ),
            (
                "== != (), = notin",
                &[
                    DoubleEquals,
                    NotEquals,
                    OpenPar,
                    ClosedPar,
                    Comma,
                    Equals,
                    NotIn,
                    EndOfString,
                ],
            ),
            ("key>2", &[Identifier, GreaterThan, Identifier, EndOfString]),
            ("key<1", &[Identifier, LessThan, Identifier, EndOfString]),
        ];
        for &(input, tokens) in cases {
            let mut parser = Parser::new(input);
            let scanned: Vec<Token> = parser.items.iter().map(|item| item.token).collect();
            assert_eq!(scanned, tokens, "{input:?}");
            loop {
                let ahead = parser.lookahead(Context::KeyAndOperator);
                let consumed = parser.consume(Context::KeyAndOperator);
                assert_eq!(ahead, consumed, "{input:?}");
                if ahead.token == EndOfString {
                    break;
                }
            }
            // Past the end the parser keeps answering end-of-string.
            assert_eq!(parser.consume(Context::Values), END);
            assert_eq!(parser.lookahead(Context::Values), END);
        }
        // In the Values context, in/notin are identifiers.
        let parser = Parser::new("notin");
        assert_eq!(parser.lookahead(Context::Values).token, Identifier);
        assert_eq!(parser.lookahead(Context::KeyAndOperator).token, NotIn);
    }

    /// Upstream `TestParseOperator`.
    #[test]
    fn upstream_test_parse_operator() {
        let expected = "in, notin, =, ==, !=, gt, lt";
        for input in ["in", "=", "==", ">", "<", "notin", "!="] {
            assert!(Parser::new(input).parse_operator().is_ok(), "{input:?}");
        }
        for (input, found) in [("!", "!"), ("exists", "exists"), ("(", "(")] {
            assert_eq!(
                Parser::new(input).parse_operator(),
                Err(SelectorError::InvalidSyntax {
                    found: found.to_owned(),
                    expected
                }),
                "{input:?}"
            );
        }
    }

    /// Upstream `TestRequirementConstructor`, with the error messages of its
    /// current version (the unsupported-operator row has no Rust
    /// counterpart: operators are an enum).
    #[test]
    fn upstream_test_requirement_constructor() {
        let long_value = "a".repeat(254);
        let cases: Vec<(String, Op, Vec<&str>, Option<String>)> = vec![
            ("x1".into(), Op::In, vec![], Some(
                "unable to parse requirement: values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty".into(),
            )),
            ("x2".into(), Op::NotIn, vec![], Some(
                "unable to parse requirement: values: Invalid value: []string{}: for 'in', 'notin' operators, values set can't be empty".into(),
            )),
            ("x3".into(), Op::In, vec!["foo"], None),
            ("x4".into(), Op::NotIn, vec!["foo"], None),
            ("x5".into(), Op::Equals, vec!["foo", "bar"], Some(
                "unable to parse requirement: values: Invalid value: []string{\"bar\", \"foo\"}: exact-match compatibility requires one single value".into(),
            )),
            ("x6".into(), Op::Exists, vec![], None),
            ("x7".into(), Op::DoesNotExist, vec![], None),
            ("x8".into(), Op::Exists, vec!["foo"], Some(
                "unable to parse requirement: values: Invalid value: []string{\"foo\"}: values set must be empty for exists and does not exist".into(),
            )),
            ("x9".into(), Op::In, vec!["bar"], None),
            ("x10".into(), Op::In, vec!["bar"], None),
            ("x11".into(), Op::GreaterThan, vec!["1"], None),
            ("x12".into(), Op::LessThan, vec!["6"], None),
            ("x13".into(), Op::GreaterThan, vec![], Some(
                "unable to parse requirement: values: Invalid value: []string{}: for 'Gt', 'Lt' operators, exactly one value is required".into(),
            )),
            ("x14".into(), Op::GreaterThan, vec!["bar"], Some(
                "unable to parse requirement: values[0]: Invalid value: \"bar\": for 'Gt', 'Lt' operators, the value must be an integer".into(),
            )),
            ("x15".into(), Op::LessThan, vec!["bar"], Some(
                "unable to parse requirement: values[0]: Invalid value: \"bar\": for 'Gt', 'Lt' operators, the value must be an integer".into(),
            )),
            // breaks DNS rule that len(key) <= 253 (and the 63-byte name rule)
            ("a".repeat(254), Op::Exists, vec![], Some(format!(
                "unable to parse requirement: key: Invalid value: \"{}\": name part must be no more than 63 bytes",
                "a".repeat(254)
            ))),
            ("x16".into(), Op::Equals, vec![&long_value], Some(format!(
                "unable to parse requirement: values[0][x16]: Invalid value: \"{long_value}\": must be no more than 63 bytes"
            ))),
            ("x17".into(), Op::Equals, vec!["a b"], Some(
                "unable to parse requirement: values[0][x17]: Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')".into(),
            )),
            // Older upstream rows.
            ("1foo".into(), Op::In, vec!["bar"], None),
            ("1234".into(), Op::In, vec!["bar"], None),
            ("y".into(), Op::GreaterThan, vec!["1"], None),
            ("z".into(), Op::LessThan, vec!["6"], None),
        ];
        for (key, op, values, want) in cases {
            let values: BTreeSet<String> = values.into_iter().map(str::to_owned).collect();
            let got = Requirement::new(&key, op, values).map_err(|e| e.to_string());
            match want {
                None => assert!(got.is_ok(), "{key} {op:?}: {got:?}"),
                Some(message) => assert_eq!(got, Err(message), "{key} {op:?}"),
            }
        }
    }

    /// Upstream `TestToString`.
    #[test]
    fn upstream_test_to_string() {
        let cases = vec![
            (
                vec![
                    req("x", Op::In, &["abc", "def"]),
                    req("y", Op::NotIn, &["jkl"]),
                    req("z", Op::Exists, &[]),
                ],
                "x in (abc,def),y notin (jkl),z",
            ),
            (
                vec![
                    req("x", Op::NotIn, &["abc", "def"]),
                    req("y", Op::NotEquals, &["jkl"]),
                    req("z", Op::DoesNotExist, &[]),
                ],
                "x notin (abc,def),y!=jkl,!z",
            ),
            (
                vec![
                    req("x", Op::NotIn, &["abc"]),
                    req("y", Op::In, &["jkl", "mno"]),
                    req("z", Op::NotIn, &[""]),
                ],
                "x notin (abc),y in (jkl,mno),z notin ()",
            ),
            (
                vec![
                    req("x", Op::Equals, &["abc"]),
                    req("y", Op::DoubleEquals, &["jkl"]),
                    req("z", Op::NotEquals, &["a"]),
                    req("z", Op::Exists, &[]),
                ],
                "x=abc,y==jkl,z!=a,z",
            ),
            (
                vec![
                    req("x", Op::GreaterThan, &["2"]),
                    req("y", Op::LessThan, &["8"]),
                    req("z", Op::Exists, &[]),
                ],
                "x>2,y<8,z",
            ),
        ];
        for (requirements, want) in cases {
            let built = selector(requirements);
            assert_eq!(built.to_string(), want);
            // The canonical form parses back to the same selector.
            assert_eq!(parse_ok(want), built, "{want}");
        }
    }

    /// Upstream `TestRequirementSelectorMatching` (the row with an invalid
    /// zero `Requirement` has no counterpart).
    #[test]
    fn upstream_test_requirement_selector_matching() {
        let cases: Vec<(Pairs<'_>, Vec<Requirement>, bool)> = vec![
            (
                &[("x", "foo"), ("y", "baz")],
                vec![req("x", Op::In, &["foo"]), req("y", Op::NotIn, &["alpha"])],
                true,
            ),
            (
                &[("x", "foo"), ("y", "baz")],
                vec![req("x", Op::In, &["foo"]), req("y", Op::In, &["alpha"])],
                false,
            ),
            (
                &[("y", "")],
                vec![req("x", Op::NotIn, &[""]), req("y", Op::Exists, &[])],
                true,
            ),
            (
                &[("y", "")],
                vec![req("x", Op::DoesNotExist, &[]), req("y", Op::Exists, &[])],
                true,
            ),
            (
                &[("y", "")],
                vec![req("x", Op::NotIn, &[""]), req("y", Op::DoesNotExist, &[])],
                false,
            ),
            (&[("y", "baz")], vec![req("x", Op::In, &[""])], false),
            (&[("z", "2")], vec![req("z", Op::GreaterThan, &["1"])], true),
            (
                &[("z", "v2")],
                vec![req("z", Op::GreaterThan, &["1"])],
                false,
            ),
        ];
        for (labels, requirements, want) in cases {
            let built = selector(requirements);
            assert_eq!(matches(&built, &set(labels)), want, "{built} vs {labels:?}");
        }
    }

    /// Upstream `TestSetSelectorParser`: the parsed requirements, or an
    /// error for invalid rows.
    #[test]
    fn upstream_test_set_selector_parser() {
        let valid: Vec<(&str, Option<Vec<Requirement>>)> = vec![
            ("", Some(vec![])),
            ("\rx", Some(vec![req("x", Op::Exists, &[])])),
            (
                "this-is-a-dns.domain.com/key-with-dash",
                Some(vec![req(
                    "this-is-a-dns.domain.com/key-with-dash",
                    Op::Exists,
                    &[],
                )]),
            ),
            (
                "this-is-another-dns.domain.com/key-with-dash in (so,what)",
                Some(vec![req(
                    "this-is-another-dns.domain.com/key-with-dash",
                    Op::In,
                    &["so", "what"],
                )]),
            ),
            (
                "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
                Some(vec![req(
                    "0.1.2.domain/99",
                    Op::NotIn,
                    &["10.10.100.1", "tick.tack.clock"],
                )]),
            ),
            ("foo  in\t (abc)", Some(vec![req("foo", Op::In, &["abc"])])),
            ("x notin\n (abc)", Some(vec![req("x", Op::NotIn, &["abc"])])),
            (
                "x  notin\t\t\t(abc,def)",
                Some(vec![req("x", Op::NotIn, &["abc", "def"])]),
            ),
            (
                "x in (abc,def)",
                Some(vec![req("x", Op::In, &["abc", "def"])]),
            ),
            ("x in (abc,)", Some(vec![req("x", Op::In, &["abc", ""])])),
            ("x in ()", Some(vec![req("x", Op::In, &[""])])),
            (
                "x notin (abc,,def),bar,z in (),w",
                Some(vec![
                    req("bar", Op::Exists, &[]),
                    req("w", Op::Exists, &[]),
                    req("x", Op::NotIn, &["abc", "", "def"]),
                    req("z", Op::In, &[""]),
                ]),
            ),
            ("x,y in (a)", None), // valid; upstream does not compare the output
            ("x=a", Some(vec![req("x", Op::Equals, &["a"])])),
            ("x>1", Some(vec![req("x", Op::GreaterThan, &["1"])])),
            ("x<7", Some(vec![req("x", Op::LessThan, &["7"])])),
            (
                "x=a,y!=b",
                Some(vec![
                    req("x", Op::Equals, &["a"]),
                    req("y", Op::NotEquals, &["b"]),
                ]),
            ),
            (
                "x=a,y!=b,z in (h,i,j)",
                Some(vec![
                    req("x", Op::Equals, &["a"]),
                    req("y", Op::NotEquals, &["b"]),
                    req("z", Op::In, &["h", "i", "j"]),
                ]),
            ),
            ("x notin ( )", Some(vec![req("x", Op::NotIn, &[""])])),
            ("x notin (, a)", Some(vec![req("x", Op::NotIn, &["", "a"])])),
            ("a ", Some(vec![req("a", Op::Exists, &[])])),
            (
                "a in (x,y,notin, z,in)",
                Some(vec![req("a", Op::In, &["in", "notin", "x", "y", "z"])]),
            ), // operator 'in' inside list of identifiers
        ];
        for (input, want) in valid {
            let parsed = parse_ok(input);
            if let Some(requirements) = want {
                assert_eq!(parsed, selector(requirements), "{input:?}");
            }
            // Display is canonical: it parses back to the same selector.
            assert_eq!(parse_ok(&parsed.to_string()), parsed, "{input:?}");
        }
        let invalid = [
            "x=a||y=b",
            "x,,y",
            ",x,y",
            "x nott in (y)",
            "a in (xyz),",
            "a in (xyz)b notin ()",
            "a in (xyz abc)", // no comma
            "a notin(",       // bad formed
            "a (",            // cpar
            "(",              // opar
        ];
        for input in invalid {
            parse_err(input);
        }
    }

    /// The exact error for each way upstream's parser can fail.
    #[test]
    fn parse_error_messages() {
        let name_regex = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
        let value_regex = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
        let cases: Vec<(&str, String)> = vec![
            (",x", "found ',', expected: !, identifier, or 'end of string'".into()),
            (")", "found ')', expected: !, identifier, or 'end of string'".into()),
            ("=a", "found '=', expected: !, identifier, or 'end of string'".into()),
            ("x,", "found '', expected: identifier after ','".into()),
            ("x,,y", "found ',', expected: identifier after ','".into()),
            ("x, =", "found '=', expected: identifier after ','".into()),
            ("x=a b", "found 'b', expected: ',' or 'end of string'".into()),
            ("x==a==b", "found '==', expected: ',' or 'end of string'".into()),
            ("!x=a", "found '=', expected: ',' or 'end of string'".into()),
            ("a in (xyz)b notin ()", "found 'b', expected: ',' or 'end of string'".into()),
            ("!", "unable to parse requirement: found '', expected: identifier".into()),
            ("!!x", "unable to parse requirement: found '!', expected: identifier".into()),
            ("! =", "unable to parse requirement: found '=', expected: identifier".into()),
            ("x y", "unable to parse requirement: found 'y', expected: in, notin, =, ==, !=, gt, lt".into()),
            ("x nott in (y)", "unable to parse requirement: found 'nott', expected: in, notin, =, ==, !=, gt, lt".into()),
            ("x (", "unable to parse requirement: found '(', expected: in, notin, =, ==, !=, gt, lt".into()),
            ("x !", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt".into()),
            ("x in", "unable to parse requirement: found '', expected: '('".into()),
            ("x in in", "unable to parse requirement: found 'in', expected: '('".into()),
            ("x notin a", "unable to parse requirement: found 'a', expected: '('".into()),
            ("a notin(", "unable to parse requirement: found '', expected: ',', ')' or identifier".into()),
            ("x in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier".into()),
            ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'".into()),
            ("x in (xyz abc)", "unable to parse requirement: found 'abc', expected: ',' or ')'".into()),
            ("x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier".into()),
            ("x in (,,)", "unable to parse requirement: found ')', expected: ',', or identifier".into()),
            ("x in (a,", "unable to parse requirement: found '', expected: ',', or identifier".into()),
            ("x=(", "unable to parse requirement: found '(', expected: identifier".into()),
            ("x==!", "unable to parse requirement: found '!', expected: identifier".into()),
            ("x<a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', 'Lt' operators, the value must be an integer".into()),
            ("x>", "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', 'Lt' operators, the value must be an integer".into()),
            ("x>1.5", "unable to parse requirement: values[0]: Invalid value: \"1.5\": for 'Gt', 'Lt' operators, the value must be an integer".into()),
            ("x>9223372036854775808", "unable to parse requirement: values[0]: Invalid value: \"9223372036854775808\": for 'Gt', 'Lt' operators, the value must be an integer".into()),
            // ParseInt accepts a sign, but the label value rules do not.
            ("x>-1", format!("unable to parse requirement: values[0][x]: Invalid value: \"-1\": {value_regex}")),
            ("x<+1", format!("unable to parse requirement: values[0][x]: Invalid value: \"+1\": {value_regex}")),
            ("x=a||y", format!("unable to parse requirement: values[0][x]: Invalid value: \"a||y\": {value_regex}")),
            ("x in (b, a_)", format!("unable to parse requirement: values[0][x]: Invalid value: \"a_\": {value_regex}")),
            ("x in (a, b_)", format!("unable to parse requirement: values[1][x]: Invalid value: \"b_\": {value_regex}")),
            ("x=-a", format!("unable to parse requirement: values[0][x]: Invalid value: \"-a\": {value_regex}")),
            (
                "x=é",
                format!("unable to parse requirement: values[0][x]: Invalid value: \"é\": {value_regex}"),
            ),
            (
                "x=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-",
                format!(
                    "unable to parse requirement: values[0][x]: Invalid value: \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-\": must be no more than 63 bytes; {value_regex}"
                ),
            ),
            ("-x", format!("unable to parse requirement: key: Invalid value: \"-x\": {name_regex}")),
            ("x_=a", format!("unable to parse requirement: key: Invalid value: \"x_\": {name_regex}")),
            ("x/", format!("unable to parse requirement: key: Invalid value: \"x/\": name part must be non-empty; {name_regex}")),
            ("/x", "unable to parse requirement: key: Invalid value: \"/x\": prefix part must be non-empty".into()),
            (
                "Example.com/x",
                "unable to parse requirement: key: Invalid value: \"Example.com/x\": prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".into(),
            ),
            (
                "a/b/c",
                "unable to parse requirement: key: Invalid value: \"a/b/c\": a valid label key must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".into(),
            ),
            // The key is validated before the rest of the requirement.
            ("x/ in (", format!("unable to parse requirement: key: Invalid value: \"x/\": name part must be non-empty; {name_regex}")),
        ];
        for (input, want) in cases {
            assert_eq!(parse_err(input).to_string(), want, "{input:?}");
        }
    }

    #[test]
    fn error_variants() {
        assert_eq!(
            parse_err("x=a b"),
            SelectorError::UnexpectedToken {
                found: "b".into(),
                expected: "',' or 'end of string'"
            }
        );
        assert_eq!(
            parse_err("x in"),
            SelectorError::InvalidSyntax {
                found: String::new(),
                expected: "'('"
            }
        );
        assert_eq!(
            parse_err("x>y"),
            SelectorError::NotAnInteger {
                index: 0,
                value: "y".into()
            }
        );
        assert!(
            matches!(parse_err("x=y_"), SelectorError::InvalidValue { ref key, index: 0, ref value, .. } if key == "x" && value == "y_")
        );
        assert!(
            matches!(parse_err("X./y"), SelectorError::InvalidKey { ref key, .. } if key == "X./y")
        );
    }

    #[test]
    fn label_key_validation() {
        let name_63 = "a".repeat(63);
        let name_64 = "a".repeat(64);
        let label_63 = "b".repeat(63);
        let prefix_253 = format!("{label_63}.{label_63}.{label_63}.{}", "c".repeat(61));
        let prefix_254 = format!("{prefix_253}d");
        assert_eq!(prefix_253.len(), 253);
        let valid = [
            "a".to_owned(),
            "A".to_owned(),
            "0".to_owned(),
            "a-b_c.d".to_owned(),
            "Ab9".to_owned(),
            "a..b".to_owned(),
            name_63.clone(),
            format!("example.com/{name_63}"),
            "k8s.io/app".to_owned(),
            "a-b.c-d/e".to_owned(),
            "0.1.2.domain/99".to_owned(),
            format!("{prefix_253}/x"),
        ];
        for key in &valid {
            assert_eq!(label_key_errors(key), None, "{key}");
            assert!(Selector::parse(key).is_ok(), "{key}");
        }
        let invalid = [
            name_64.clone(),
            format!("example.com/{name_64}"),
            format!("{prefix_254}/x"),
            "-a".to_owned(),
            "a-".to_owned(),
            "_a".to_owned(),
            ".a".to_owned(),
            "a b".to_owned(),
            "a/".to_owned(),
            "/a".to_owned(),
            "/".to_owned(),
            "a/b/c".to_owned(),
            "Example.com/a".to_owned(),
            "ex_ample.com/a".to_owned(),
            "-example.com/a".to_owned(),
            "example-.com/a".to_owned(),
            "example..com/a".to_owned(),
            ".example.com/a".to_owned(),
            "example.com./a".to_owned(),
            "é".to_owned(),
            "a\u{0}".to_owned(),
        ];
        for key in &invalid {
            assert!(label_key_errors(key).is_some(), "{key}");
        }
        assert_eq!(
            label_key_errors(&name_64).as_deref(),
            Some("name part must be no more than 63 bytes")
        );
        assert_eq!(
            label_key_errors(&format!("{prefix_254}/x")).as_deref(),
            Some("prefix part must be no more than 253 bytes")
        );
        assert_eq!(
            label_key_errors("")
                .as_deref()
                .map(|m| m.starts_with("name part must be non-empty; name part must consist")),
            Some(true)
        );
    }

    #[test]
    fn label_value_validation() {
        for value in [
            "",
            "a",
            "A",
            "0",
            "a-b_c.d",
            "a..b",
            &"v".repeat(63),
            "10.10.100.1",
        ] {
            assert_eq!(label_value_errors(value), None, "{value:?}");
        }
        for value in [
            "-",
            "a-",
            "_a",
            ".",
            "a b",
            "a/b",
            "é",
            &"v".repeat(64),
            "a\u{0}",
        ] {
            assert!(label_value_errors(value).is_some(), "{value:?}");
        }
        assert_eq!(
            label_value_errors(&"v".repeat(64)).as_deref(),
            Some("must be no more than 63 bytes")
        );
    }

    #[test]
    fn matching_semantics() {
        let labels = set(&[
            ("app", "web"),
            ("tier", "front"),
            ("n", "10"),
            ("neg", "-5"),
            ("plus", "+7"),
            ("text", "ten"),
            ("empty", ""),
        ]);
        let cases: &[(&str, bool)] = &[
            ("app=web", true),
            ("app==web", true),
            ("app!=web", false),
            ("app!=db", true),
            ("missing!=x", true), // != matches an absent label
            ("missing=x", false),
            ("missing==x", false),
            ("app in (web,db)", true),
            ("app in (db)", false),
            ("missing in (x)", false),
            ("app notin (web)", false),
            ("app notin (db)", true),
            ("missing notin (x)", true), // notin matches an absent label
            ("app", true),
            ("missing", false),
            ("!app", false),
            ("!missing", true),
            ("empty", true),
            ("empty=", true),
            ("empty in ()", true),
            ("empty!=", false),
            ("app=", false),
            ("missing=", false),
            ("missing notin ()", true),
            ("n>9", true),
            ("n>10", false),
            ("n<11", true),
            ("n<10", false),
            ("n>009", true),
            ("neg<0", true), // label values are parsed as int64, sign included
            ("neg>0", false),
            ("plus>6", true),
            ("text>0", false), // not an integer: no match
            ("text<99999", false),
            ("empty>-0", false),
            ("missing>0", false),
            ("missing<0", false),
            ("app=web,tier=front,n>1", true),
            ("app=web,tier=back", false),
            ("app=web,!missing,missing notin (a),n<100", true),
        ];
        for &(input, want) in cases {
            let parsed = Selector::parse(input);
            // "neg<0" etc. need values that are valid labels; "empty>-0" is
            // invalid as a selector and only checks that parsing rejects it.
            match parsed {
                Ok(selector) => assert_eq!(matches(&selector, &labels), want, "{input:?}"),
                Err(error) => assert!(!want, "{input:?}: {error}"),
            }
        }
        // Integer bounds are int64, as strconv.ParseInt(…, 10, 64).
        let big = set(&[("n", "9223372036854775807"), ("m", "9223372036854775808")]);
        assert!(matches(&parse_ok("n>9223372036854775806"), &big));
        assert!(!matches(&parse_ok("m>1"), &big));
        assert!(!matches(&parse_ok("m<1"), &big));
    }

    #[test]
    fn matches_works_with_owned_maps_and_closures() {
        let owned: HashMap<String, String> =
            [("app".to_owned(), "web".to_owned())].into_iter().collect();
        let selector = parse_ok("app in (web, db), !canary");
        assert!(selector.matches(|key| owned.get(key).map(String::as_str)));
        assert!(!selector.matches(|_| None));
        assert!(Selector::everything().matches(|_| None));
        // Each requirement asks for its own key.
        let asked = std::cell::RefCell::new(Vec::new());
        parse_ok("b=1,a=2").matches(|key| {
            asked.borrow_mut().push(key.to_owned());
            Some("2")
        });
        assert_eq!(asked.into_inner(), vec!["a".to_owned(), "b".to_owned()]);
    }

    #[test]
    fn display_is_canonical() {
        let cases: &[(&str, &str)] = &[
            ("  b = 1 ,  a  in ( z , y , z )  ", "a in (y,z),b=1"),
            ("x notin (b,a,)", "x notin (,a,b)"),
            ("x notin (b,,a)", "x notin (,a,b)"),
            ("x in (,)", "x in ()"),
            ("x==a", "x==a"),
            ("!x, y", "!x,y"),
            ("x > 10, x < 20", "x>10,x<20"),
            ("x>007", "x>007"),
            ("in=notin", "in=notin"),
            ("z,y,x", "x,y,z"),
            ("x!=a,x", "x!=a,x"), // stable for equal keys
            ("x,x!=a", "x,x!=a"),
        ];
        for &(input, want) in cases {
            let parsed = parse_ok(input);
            assert_eq!(parsed.to_string(), want, "{input:?}");
            assert_eq!(parse_ok(want), parsed, "{input:?}");
        }
    }

    /// A NUL byte does not end the input (upstream would ignore the rest).
    #[test]
    fn nul_byte_is_not_end_of_input() {
        assert!(Selector::parse("x=a\u{0},garbage((").is_err());
        assert!(Selector::parse("x\u{0}").is_err());
        assert!(Selector::parse("\u{0}").is_err());
    }

    #[test]
    fn parse_never_panics_on_arbitrary_input() {
        let alphabet: Vec<&str> = vec![
            "a",
            "b",
            "x",
            "in",
            "notin",
            "=",
            "==",
            "!",
            "!=",
            "(",
            ")",
            ",",
            ">",
            "<",
            " ",
            "\t",
            "1",
            "-",
            "/",
            ".",
            "_",
            "é",
            "\u{0}",
            "\u{10ffff}",
            "k8s.io/",
            "9223372036854775808",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let labels = set(&[("a", "1"), ("b", "x"), ("x", "-3")]);
        for _ in 0..50_000 {
            let len = (next() % 10) as usize;
            let input: String = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            if let Ok(parsed) = Selector::parse(&input) {
                let _ = matches(&parsed, &labels);
                // Round trip through the canonical form.
                let text = parsed.to_string();
                assert_eq!(
                    Selector::parse(&text).as_ref(),
                    Ok(&parsed),
                    "{input:?} -> {text:?}"
                );
            }
        }
    }

    #[test]
    fn from_str_matches_parse() {
        assert_eq!("x=a".parse::<Selector>(), Selector::parse("x=a"));
        assert_eq!(
            "x=".parse::<Selector>().map(|s| s.to_string()),
            Ok("x=".to_owned())
        );
        assert!("x=a=".parse::<Selector>().is_err());
    }

    #[test]
    fn go_string_slice_formatting() {
        assert_eq!(go_string_slice(&[]), "[]string{}");
        assert_eq!(
            go_string_slice(&["a".into(), "b\"c".into()]),
            "[]string{\"a\", \"b\\\"c\"}"
        );
    }
}
