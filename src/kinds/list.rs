//! `type: list`: a Redis list holding the waiting items; depth is `LLEN`.
//! No fields of its own; no pending count and no age (list items carry no
//! timestamp).

use std::sync::Arc;

use redis::{Pipeline, Value};

use super::reply::reply;
use super::{Kind, Options, ReadError, Reading, Replies, Serves, Spec, Step};

/// The kind's entry in [`super::ALL`].
pub const SPEC: Spec = Spec {
    name: "list",
    fields: &[],
    parse,
};

fn parse(_: &mut Options) -> Option<Arc<dyn Kind>> {
    Some(Arc::new(List))
}

/// A list queue.
#[derive(Debug, Clone, PartialEq)]
pub struct List;

impl Kind for List {
    fn type_name(&self) -> &'static str {
        "list"
    }

    fn serves(&self) -> Serves {
        Serves::default()
    }

    fn commands(&self) -> usize {
        1
    }

    fn plan(&self, pipe: &mut Pipeline, key: &str, _now_ms: u64) {
        pipe.cmd("LLEN").arg(key);
    }

    fn read(&self, key: &str, replies: &[Value]) -> Result<Step, ReadError> {
        let r = Replies {
            key,
            type_name: "list",
        };
        Ok(Step::Done(Reading {
            depth: r.int(reply(replies, 0), "LLEN")? as f64,
            ..Reading::default()
        }))
    }
}
