//! The string form of label selectors, read: a port of upstream's `Lexer`
//! and `Parser` (`k8s.io/apimachinery/pkg/labels/selector.go`). The grammar
//! and the differences from upstream are in [`super`]'s docs.

use std::collections::BTreeSet;

use super::{Op, Requirement, SelectorError, validate_label_key};

/// Lexer tokens (upstream `Token`; its `ErrorToken` cannot occur, because
/// every special character is a token on its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token {
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
pub(super) struct Item<'a> {
    pub(super) token: Token,
    pub(super) literal: &'a str,
}

pub(super) const END: Item<'static> = Item {
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
pub(super) struct Lexer<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(input: &'a str) -> Self {
        Lexer { input, pos: 0 }
    }

    /// The next token (upstream `Lex`). Token boundaries are always at ASCII
    /// bytes, so literals are whole UTF-8 slices.
    pub(super) fn lex(&mut self) -> Item<'a> {
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
pub(super) enum Context {
    KeyAndOperator,
    Values,
}

/// Upstream `Parser`: a recursive-descent parser over the scanned tokens.
pub(super) struct Parser<'a> {
    pub(super) items: Vec<Item<'a>>,
    position: usize,
}

impl<'a> Parser<'a> {
    /// Scans the whole input (upstream `scan`).
    pub(super) fn new(input: &'a str) -> Self {
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
    pub(super) fn lookahead(&self, context: Context) -> Item<'a> {
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
    pub(super) fn consume(&mut self, context: Context) -> Item<'a> {
        let item = self.lookahead(context);
        self.position = self.position.saturating_add(1);
        item
    }

    /// Upstream `parse`.
    pub(super) fn parse(&mut self) -> Result<Vec<Requirement>, SelectorError> {
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
    pub(super) fn parse_requirement(&mut self) -> Result<Requirement, SelectorError> {
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
    pub(super) fn parse_key_and_infer_operator(
        &mut self,
    ) -> Result<(&'a str, Option<Op>), SelectorError> {
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
    pub(super) fn parse_operator(&mut self) -> Result<Op, SelectorError> {
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
    pub(super) fn parse_values(&mut self) -> Result<BTreeSet<String>, SelectorError> {
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
    pub(super) fn parse_identifiers_list(&mut self) -> Result<BTreeSet<String>, SelectorError> {
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
    pub(super) fn parse_exact_value(&mut self) -> Result<BTreeSet<String>, SelectorError> {
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
