//! Kubernetes label selectors.
//!
//! A port of the string form of label selectors from
//! `k8s.io/apimachinery/pkg/labels/selector.go` (`Parse`, the `Lexer` and
//! `Parser`, `NewRequirement`, `Requirement.Matches`, `String`), with key and
//! value validation from [`super::names`] (`IsLabelKey`, `IsLabelValue`,
//! `IsDNS1123Subdomain`). The external-metrics API passes the `metricSelector`
//! of a request in this form.
//!
//! `selector/parse.rs` reads the string form (lexer and parser); this file holds what a
//! selector is and how it matches.
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

pub use super::names::validate_label_value;
use super::names::{label_key_errors, label_value_errors};
pub use cache::{Cache, Lazy};
use parse::Parser;

mod cache;
mod parse;
#[cfg(test)]
mod tests;

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
