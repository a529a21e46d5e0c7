//! Reply accessors shared by the kinds: they turn surprises (server errors,
//! wrong shapes) into [`ReadError`]s naming the key, never a panic.

use redis::Value;

use super::ReadError;

/// Reply accessors that turn surprises into [`ReadError`]s naming the key.
pub struct Replies<'a> {
    /// The key the replies are about.
    pub key: &'a str,
    /// The queue's `type:`, for [`ReadError::WrongType`].
    pub type_name: &'static str,
}

impl Replies<'_> {
    /// A server error as a [`ReadError`] naming the key.
    pub fn check(&self, v: &Value) -> Result<(), ReadError> {
        if let Value::ServerError(e) = v {
            let detail = match e.details() {
                Some(d) => format!("{} {d}", e.code()),
                None => e.code().to_string(),
            };
            return Err(if e.code() == "WRONGTYPE" {
                ReadError::WrongType {
                    key: self.key.to_string(),
                    expected: self.type_name,
                    detail,
                }
            } else {
                ReadError::Server {
                    key: self.key.to_string(),
                    detail,
                }
            });
        }
        Ok(())
    }

    /// A reply of the wrong shape, shortened for the message.
    pub fn protocol(&self, command: &'static str, v: &Value) -> ReadError {
        let mut reply = format!("{v:?}");
        if reply.len() > 120 {
            let mut cut = 120;
            while !reply.is_char_boundary(cut) {
                cut -= 1;
            }
            reply.truncate(cut);
            reply.push('…');
        }
        ReadError::Protocol {
            key: self.key.to_string(),
            command,
            reply,
        }
    }

    /// An integer reply.
    pub fn int(&self, v: &Value, command: &'static str) -> Result<i64, ReadError> {
        self.check(v)?;
        integer(v).ok_or_else(|| self.protocol(command, v))
    }

    /// A finite float reply (a zset score).
    pub fn float(&self, v: &Value, command: &'static str) -> Result<f64, ReadError> {
        self.check(v)?;
        let f = match v {
            Value::Double(d) => Some(*d),
            v => string(v).and_then(|s| match s.as_str() {
                "inf" | "+inf" => Some(f64::INFINITY),
                "-inf" => Some(f64::NEG_INFINITY),
                s => s.parse().ok(),
            }),
        };
        f.filter(|f| f.is_finite())
            .ok_or_else(|| self.protocol(command, v))
    }

    /// An array reply (nil: empty).
    pub fn array<'v>(&self, v: &'v Value, command: &'static str) -> Result<&'v [Value], ReadError> {
        self.check(v)?;
        match v {
            Value::Array(a) | Value::Set(a) => Ok(a),
            Value::Nil => Ok(&[]),
            v => Err(self.protocol(command, v)),
        }
    }

    /// Timestamp of the first entry of an XRANGE reply `[[id, fields], ...]`.
    pub fn first_entry_ms(
        &self,
        v: &Value,
        command: &'static str,
    ) -> Result<Option<u64>, ReadError> {
        let entries = self.array(v, command)?;
        let Some(first) = entries.first() else {
            return Ok(None);
        };
        let id = match first {
            Value::Array(e) => e.first().and_then(string),
            _ => None,
        };
        id.and_then(|id| id_ms(&id))
            .map(Some)
            .ok_or_else(|| self.protocol(command, first))
    }
}

/// Reply `i`, or nil when the server sent fewer.
pub fn reply(replies: &[Value], i: usize) -> &Value {
    replies.get(i).unwrap_or(&Value::Nil)
}

/// A string reply's text.
pub fn string(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        Value::VerbatimString { text, .. } => Some(text.clone()),
        _ => None,
    }
}

/// An integer reply, or a string holding one.
pub fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        v => string(v)?.parse().ok(),
    }
}

/// Milliseconds part of a stream id `ms-seq` (stream ids are unix-ms timestamps).
pub fn id_ms(id: &str) -> Option<u64> {
    id.split_once('-').map_or(id, |(ms, _)| ms).parse().ok()
}

/// The smallest id greater than `id`, for an exclusive range start that works
/// before Redis 6.2's `(` syntax.
pub fn next_id(id: &str) -> Option<String> {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    let ms: u64 = ms.parse().ok()?;
    let seq: u64 = seq.parse().ok()?;
    Some(match seq.checked_add(1) {
        Some(s) => format!("{ms}-{s}"),
        None => format!("{}-0", ms.checked_add(1)?),
    })
}
