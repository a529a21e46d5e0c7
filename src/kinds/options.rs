//! A queue's kind-specific fields as written, and the problems found in them.

use std::fmt::Display;

/// One field as written: its text and line (0 when parsed without lines).
#[derive(Debug, Clone, PartialEq)]
pub struct Opt {
    /// The value's text.
    pub value: String,
    /// Its line in the file.
    pub line: u64,
}

/// A problem in a kind's field: which field (relative to the queue), where,
/// and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The field, e.g. `min_score` (the caller prefixes `queues[3].`).
    pub field: String,
    /// Its line.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

/// The fields of a queue that are not common to every kind, for the kind
/// to take and validate.
#[derive(Debug, Default)]
pub struct Options {
    fields: Vec<(String, Opt, bool)>,
    type_line: u64,
    problems: Vec<Problem>,
}

impl Options {
    /// The fields `(name, value)` of a queue whose `type:` is on `type_line`.
    pub fn new(fields: Vec<(String, Opt)>, type_line: u64) -> Options {
        Options {
            fields: fields.into_iter().map(|(k, v)| (k, v, false)).collect(),
            type_line,
            problems: Vec::new(),
        }
    }

    /// Takes field `name`, if written.
    pub fn take(&mut self, name: &str) -> Option<Opt> {
        self.fields
            .iter_mut()
            .find(|(k, _, taken)| k == name && !*taken)
            .map(|(_, v, taken)| {
                *taken = true;
                v.clone()
            })
    }

    /// Takes field `name` and parses it with `parse`, recording `expected`
    /// as the problem when it does not parse.
    pub fn parse<T>(
        &mut self,
        name: &str,
        expected: &str,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let opt = self.take(name)?;
        let v = parse(opt.value.trim());
        if v.is_none() {
            self.problem(name, opt.line, format!("{:?} {expected}", opt.value));
        }
        v
    }

    /// Records a problem in field `field` on `line`.
    pub fn problem(&mut self, field: &str, line: u64, message: impl Display) {
        self.problems.push(Problem {
            field: field.to_string(),
            line,
            message: message.to_string(),
        });
    }

    /// Records a problem with the queue's `type:`.
    pub fn problem_at_type(&mut self, message: impl Display) {
        self.problem("type", self.type_line, message);
    }

    /// The fields nobody took, with their lines.
    pub fn left(&self) -> Vec<(String, u64)> {
        self.fields
            .iter()
            .filter(|(_, _, taken)| !taken)
            .map(|(k, v, _)| (k.clone(), v.line))
            .collect()
    }

    /// The problems recorded so far.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The problems, taken.
    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }
}
