//! Queue kinds: one file per `type:` a queue can have, holding everything
//! about it, in the shape of mini-redis's `cmd/`:
//!
//! - its config fields and their validation ([`Spec::parse`], from the
//!   queue's [`Options`], problems named by field and line);
//! - the Redis commands one key needs, and how many ([`Kind::commands`],
//!   for pipeline planning; [`Kind::plan`] writes them);
//! - how the replies become numbers ([`Kind::read`] → [`Reading`], or a
//!   [`FollowUp`] command when the first replies are not enough).
//!
//! A kind may read several keys of different types: [`Kind::plan`] gets
//! the queue's configured key and may derive others from it. Adding a kind
//! or a job-queue preset is one new file, declared and listed in [`ALL`]
//! below; config validation, `check-config`, the poller's pipelines and
//! the store's series follow from the [`Kind`] it returns.
//!
//! Pure: commands in, [`Value`]s out, no I/O, so every reply shape (missing
//! key, wrong type, nil lag, trimmed stream) is unit-tested directly.

mod options;
pub mod reply;

use std::fmt;
use std::sync::Arc;

use redis::{Cmd, Pipeline, Value};

pub use options::{Opt, Options, Problem};
pub use reply::Replies;

pub mod list;
pub mod stream;
pub mod zset;

/// Every built-in kind: a new kind's file is declared above and its `SPEC`
/// listed here. (Plain `mod` lines rather than a macro, so that rustfmt and
/// cargo-mutants see the kinds' files.)
pub const ALL: &[&Spec] = &[&list::SPEC, &zset::SPEC, &stream::SPEC];

/// A kind as the config sees it: its `type:` name, its own fields, and the
/// function that validates them into a [`Kind`].
pub struct Spec {
    /// The `type:` value.
    pub name: &'static str,
    /// Fields of a queue that only this kind takes (besides the common
    /// `name`, `namespaces`, `endpoint`, `key`, `pattern`, `type`, `labels`).
    pub fields: &'static [&'static str],
    /// Validates the kind's fields (taking each from `options`); `None`
    /// when a problem was recorded in `options`.
    pub parse: fn(&mut Options) -> Option<Arc<dyn Kind>>,
}

/// Which metrics a queue of a kind serves besides `queue_depth`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Serves {
    /// `queue_pending`: items delivered but not acknowledged.
    pub pending: bool,
    /// `queue_oldest_age_seconds`: the oldest item's age is knowable.
    pub oldest_age: bool,
}

/// A validated queue kind: what the poller asks Redis, and how it reads the
/// answers.
pub trait Kind: fmt::Debug + Send + Sync {
    /// The `type:` name.
    fn type_name(&self) -> &'static str;

    /// The Redis type `SCAN ... TYPE` filters on when the queue has a `pattern:`.
    fn scan_type(&self) -> &'static str {
        self.type_name()
    }

    /// The metrics it serves besides `queue_depth`.
    fn serves(&self) -> Serves;

    /// Its settings for the `check-config` table (empty when there are none
    /// worth showing; otherwise starting with a space).
    fn detail(&self) -> String {
        String::new()
    }

    /// How many commands [`Kind::plan`] adds for one key.
    fn commands(&self) -> usize;

    /// Appends the commands for one key to `pipe` (exactly
    /// [`Kind::commands`] of them); `now_ms` is the poll's unix time. The
    /// commands go straight into the pipeline: a 10,000-queue poll adds
    /// 16,500 of them every interval.
    fn plan(&self, pipe: &mut Pipeline, key: &str, now_ms: u64);

    /// Interprets the replies to [`Kind::plan`] (same order, same count).
    fn read(&self, key: &str, replies: &[Value]) -> Result<Step, ReadError>;
}

/// Parses and validates a queue's kind: `type_name` from `specs`, its fields
/// from `options`. Fields left in `options` become problems: those of
/// another kind ("only applies to type ...") and unknown ones.
pub fn parse(specs: &[&Spec], type_name: &str, options: &mut Options) -> Option<Arc<dyn Kind>> {
    let Some(spec) = specs.iter().find(|s| s.name == type_name) else {
        let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
        options.problem_at_type(format!(
            "unknown queue type {type_name:?} (known: {})",
            known.join(", ")
        ));
        return None;
    };
    let kind = (spec.parse)(options);
    for (name, line) in options.left() {
        let other: Vec<&str> = specs
            .iter()
            .filter(|s| s.fields.contains(&name.as_str()))
            .map(|s| s.name)
            .collect();
        let message = if other.is_empty() {
            let mut fields = COMMON_FIELDS.to_vec();
            fields.extend(spec.fields);
            format!(
                "unknown field `{name}`; a queue of type {type_name} takes {}",
                fields.join(", ")
            )
        } else {
            format!("only applies to type {}, not {type_name}", other.join(", "))
        };
        options.problem(&name, line, message);
    }
    kind.filter(|_| options.problems().is_empty())
}

/// Fields every queue takes, whatever its kind.
pub const COMMON_FIELDS: &[&str] = &[
    "name",
    "namespaces",
    "endpoint",
    "key",
    "pattern",
    "type",
    "labels",
];

/// Why a key could not be measured. Reported per queue; other queues are unaffected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    /// The key holds another data structure than the queue's `type`.
    #[error("key {key:?} holds the wrong kind of value for type {expected}: {detail}")]
    WrongType {
        /// The key.
        key: String,
        /// The configured type.
        expected: &'static str,
        /// Redis's message.
        detail: String,
    },
    /// Redis answered a command with an error other than WRONGTYPE.
    #[error("key {key:?}: redis error: {detail}")]
    Server {
        /// The key.
        key: String,
        /// Redis's message.
        detail: String,
    },
    /// A reply did not have the shape the command documents.
    #[error("key {key:?}: unexpected reply to {command}: {reply}")]
    Protocol {
        /// The key.
        key: String,
        /// The command whose reply was malformed.
        command: &'static str,
        /// A short rendering of the reply.
        reply: String,
    },
}

impl ReadError {
    /// Low-cardinality reason, for the `reason` label of poll errors.
    pub fn reason(&self) -> &'static str {
        match self {
            ReadError::WrongType { .. } => "wrong_type",
            ReadError::Server { .. } => "server_error",
            ReadError::Protocol { .. } => "protocol",
        }
    }
}

/// What one key contributes to its queue's series.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Reading {
    /// Items waiting.
    pub depth: f64,
    /// Items delivered but not acknowledged (streams with a group).
    pub pending: f64,
    /// Unix ms of the oldest waiting or pending item, if any and knowable.
    pub oldest_ms: Option<u64>,
    /// The depth is a lower bound: counting stopped at a limit.
    pub truncated: bool,
}

impl Reading {
    /// Adds another key's reading (glob patterns sum their keys).
    pub fn add(&mut self, other: &Reading) {
        self.depth += other.depth;
        self.pending += other.pending;
        self.oldest_ms = match (self.oldest_ms, other.oldest_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.truncated |= other.truncated;
    }
}

/// Result of reading one key's replies.
#[derive(Debug)]
pub enum Step {
    /// Fully measured.
    Done(Reading),
    /// One more command is needed (sent in one more pipelined round trip,
    /// shared with the endpoint's other keys); feed its reply to
    /// [`FollowUp::finish`].
    More(Box<dyn FollowUp>),
}

/// A second command a key needs, once the first replies are known (a
/// stream's first undelivered entry can only be asked for once its group's
/// `last-delivered-id` is).
pub trait FollowUp: fmt::Debug + Send {
    /// The command.
    fn command(&self) -> Cmd;
    /// Interprets its reply.
    fn finish(self: Box<Self>, reply: &Value) -> Result<Reading, ReadError>;
}

#[cfg(test)]
mod tests;
