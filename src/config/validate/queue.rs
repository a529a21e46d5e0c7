//! The `queues:` section: which Redis key or pattern, on which endpoint, and
//! the kind's own fields, which the kind validates (`crate::kinds`).

use std::collections::BTreeMap;

use super::{Validator, is_queue_name};
use crate::config::raw::{At, RawQueue};
use crate::config::{KeySource, Queue};
use crate::kinds;

impl Validator<'_> {
    pub(super) fn queue(
        &mut self,
        field: &str,
        raw: At<RawQueue>,
        endpoints: &BTreeMap<String, usize>,
    ) -> Option<Queue> {
        let start = self.problems.len();
        let q = raw.value;

        if !is_queue_name(&q.name.value) {
            self.problem(
                &format!("{field}.name"),
                &q.name,
                format!(
                    "{:?} must be lowercase letters, digits, '-', '_' or '.', start and end with a letter or digit, at most 63 characters (it becomes the label `queue`)",
                    q.name.value
                ),
            );
        }

        let namespaces = self.namespaces(field, q.namespaces, &q.name, "queue");

        let endpoint = match &q.endpoint {
            // No `endpoint`: the default one (`redis:`).
            None => 0,
            Some(e) => match endpoints.get(&e.value) {
                Some(i) => *i,
                None => {
                    let known: Vec<_> = endpoints.keys().cloned().collect();
                    self.problem(
                        &format!("{field}.endpoint"),
                        e,
                        format!(
                            "unknown Redis endpoint {:?} (known: {})",
                            e.value,
                            known.join(", ")
                        ),
                    );
                    0
                }
            },
        };

        let source = match (q.key, q.pattern) {
            (Some(k), None) if k.value.is_empty() => {
                self.problem(&format!("{field}.key"), &k, "must not be empty");
                None
            }
            (Some(k), None) => Some(KeySource::Key(k.value)),
            (None, Some(p)) if p.value.is_empty() => {
                self.problem(&format!("{field}.pattern"), &p, "must not be empty");
                None
            }
            (None, Some(p)) => Some(KeySource::Pattern(p.value)),
            (Some(k), Some(_)) => {
                self.problem(field, &k, "set either `key` or `pattern`, not both");
                None
            }
            (None, None) => {
                self.problem(field, &q.name, "one of `key` or `pattern` is required");
                None
            }
        };

        let labels = self.labels(field, q.labels, &["queue"]);

        // Queues written alike share one kind object: 10,000 queues of a few
        // shapes keep a few kinds hot in the poller's cache, not 10,000.
        let mut key = q.kind.value.clone();
        for (k, v) in &q.options {
            key.extend(['\0', '\u{1}']);
            key.push_str(k);
            key.push('\0');
            key.push_str(&v.value);
        }
        let mut options = kinds::Options::new(
            q.options
                .into_iter()
                .map(|(k, v)| {
                    let opt = kinds::Opt {
                        value: v.value,
                        line: v.line,
                    };
                    (k, opt)
                })
                .collect(),
            q.kind.line,
        );
        let kind = match self.kind_cache.get(&key) {
            Some(k) => Some(k.clone()),
            None => {
                let k = kinds::parse(self.kinds, &q.kind.value, &mut options);
                if let Some(k) = &k {
                    self.kind_cache.insert(key, k.clone());
                }
                k
            }
        };
        for p in options.into_problems() {
            self.problems.push(format!(
                "{field}.{} (line {}): {}",
                p.field, p.line, p.message
            ));
        }

        if self.problems.len() > start {
            return None;
        }
        Some(Queue {
            name: q.name.value,
            namespaces,
            endpoint,
            source: source?,
            kind: kind?,
            labels,
        })
    }
}
