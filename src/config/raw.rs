//! The file as written: `Raw*` structs that mirror the YAML, read with or
//! without line numbers.
//!
//! Every field is wrapped in [`At`], which records its line only when the
//! parse asks for it (see the parent module's docs for why there are two
//! passes). [`read_fast`] is the pass without lines, a long queue list cut into
//! parts on several threads by `split`; [`read_raw`] with `with_lines` is the
//! pass whose lines go into the messages. Nothing here judges values: that is
//! `validate`'s job.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_saphyr::Spanned;

use super::split;
use super::{Error, Result, WhenEmpty};

thread_local! {
    /// Whether `At` values being deserialized on this thread record their line.
    pub(super) static WITH_LINES: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// A value from the file and, when the parse asked for positions, its line
/// (0 otherwise). Deserializes as serde-saphyr's [`Spanned`] in the pass with
/// lines and as the bare value in the fast pass (see the module docs).
#[derive(Debug)]
pub(super) struct At<T> {
    pub(super) value: T,
    pub(super) line: u64,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for At<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if WITH_LINES.get() {
            let s = Spanned::<T>::deserialize(d)?;
            Ok(At {
                line: s.referenced.line(),
                value: s.value,
            })
        } else {
            Ok(At {
                value: T::deserialize(d)?,
                line: 0,
            })
        }
    }
}

/// A YAML mapping as its entries in file order (serde-saphyr rejects
/// duplicate keys). Deserializes like a map, without a `BTreeMap`'s ~600-byte
/// first node per mapping (6 MiB of the parse peak for 10,000 queues with
/// labels).
#[derive(Debug)]
pub(super) struct Pairs<V>(pub(super) Vec<(String, V)>);

impl<V> Default for Pairs<V> {
    fn default() -> Self {
        Pairs(Vec::new())
    }
}

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Pairs<V> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Entries<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> serde::de::Visitor<'de> for Entries<V> {
            type Value = Pairs<V>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Pairs<V>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
                while let Some(entry) = map.next_entry()? {
                    entries.push(entry);
                }
                Ok(Pairs(entries))
            }
        }
        d.deserialize_map(Entries(std::marker::PhantomData))
    }
}

/// serde-saphyr's options for the config file. Its default budget allows
/// 250,000 nodes, about 16,000 queues; ours allows 20 times that. The budget
/// guards against alias bombs and runaway input; this file comes from the
/// operator, and a ConfigMap holds at most 1 MiB anyway.
fn options(strict_indentation: bool) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_nodes = 5_000_000;
    budget.max_events = 20_000_000;
    let mut o = serde_saphyr::Options::default();
    o.budget = Some(budget);
    o.strict_indentation = strict_indentation;
    o
}

/// Deserializes `text` as `T` with or without positions on this thread.
fn read<T: serde::de::DeserializeOwned>(
    text: &str,
    with_lines: bool,
    strict_indentation: bool,
) -> Result<T> {
    /// Puts the thread's mode back however the parse ends.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            WITH_LINES.set(self.0);
        }
    }
    let _restore = Restore(WITH_LINES.replace(with_lines));
    serde_saphyr::from_str_with_options(text, options(strict_indentation))
        .map_err(|e| Error::Syntax(e.to_string()))
}

/// Deserializes the raw file, with or without positions.
pub(super) fn read_raw(text: &str, with_lines: bool) -> Result<RawConfig> {
    read(text, with_lines, false)
}

/// Smallest part worth a thread of its own.
const MIN_PART_BYTES: usize = 128 << 10;
/// Most threads one parse uses.
const MAX_PARTS: usize = 8;

/// Deserializes the raw file without positions, a long queue list in parts
/// on several threads (see [`split`]); the whole file on one thread when it
/// cannot be cut or a part does not come out exactly as expected.
pub(super) fn read_fast(text: &str) -> Result<RawConfig> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    split::split(text, cores.min(MAX_PARTS), MIN_PART_BYTES)
        .and_then(|s| read_parts(&s))
        .map_or_else(|| read_raw(text, false), Ok)
}

/// Parses the head on this thread and each tail on its own; `None` unless
/// every part parses with strict indentation and holds as many queues as it
/// has item lines.
pub(super) fn read_parts(s: &split::Split) -> Option<RawConfig> {
    std::thread::scope(|scope| {
        let tails: Vec<_> = s
            .tails
            .iter()
            .map(|(text, items)| {
                scope.spawn(move || {
                    let queues: Vec<At<RawQueue>> = read(text, false, true).ok()?;
                    (queues.len() == *items).then_some(queues)
                })
            })
            .collect();
        let head: Option<RawConfig> = read(&s.head, false, true)
            .ok()
            .filter(|h: &RawConfig| h.queues.len() == s.head_items);
        let mut queues = Vec::new();
        for t in tails {
            queues.push(t.join().ok()??);
        }
        let mut head = head?;
        head.queues.extend(queues.into_iter().flatten());
        Some(head)
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    pub(super) redis: Option<At<RawRedis>>,
    #[serde(default)]
    pub(super) redis_endpoints: BTreeMap<String, At<RawRedis>>,
    pub(super) poll_interval: Option<At<String>>,
    pub(super) max_staleness: Option<At<String>>,
    pub(super) scan_interval: Option<At<String>>,
    #[serde(default)]
    pub(super) queues: Vec<At<RawQueue>>,
    pub(super) scrape_interval: Option<At<String>>,
    pub(super) scrape_timeout: Option<At<String>>,
    pub(super) scrape_body_limit: Option<At<u64>>,
    #[serde(default)]
    pub(super) services: Vec<At<RawService>>,
    #[serde(default)]
    pub(super) promql: Vec<At<RawPromql>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawService {
    pub(super) name: At<String>,
    pub(super) namespaces: Option<At<Vec<At<String>>>>,
    pub(super) kubernetes: Option<At<RawKubeTarget>>,
    pub(super) urls: Option<At<Vec<At<String>>>>,
    pub(super) scheme: Option<At<String>>,
    pub(super) path: Option<At<String>>,
    pub(super) histogram: At<String>,
    pub(super) matchers: Option<At<String>>,
    pub(super) quantiles: Option<At<Vec<At<f64>>>>,
    pub(super) window: Option<At<String>>,
    pub(super) inflight_gauge: Option<At<String>>,
    pub(super) request_counter: Option<At<String>>,
    pub(super) when_empty: Option<At<WhenEmpty>>,
    #[serde(default)]
    pub(super) labels: Pairs<At<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKubeTarget {
    pub(super) service: At<String>,
    pub(super) namespace: Option<At<String>>,
    pub(super) port: At<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPromql {
    pub(super) name: At<String>,
    pub(super) namespaces: Option<At<Vec<At<String>>>>,
    pub(super) url: At<String>,
    pub(super) query: At<String>,
    pub(super) timeout: Option<At<String>>,
    pub(super) interval: Option<At<String>>,
    pub(super) when_empty: Option<At<WhenEmpty>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRedis {
    pub(super) url: At<String>,
    pub(super) username: Option<String>,
    pub(super) username_env: Option<At<String>>,
    pub(super) username_file: Option<At<String>>,
    pub(super) password_env: Option<At<String>>,
    pub(super) password_file: Option<At<String>>,
    pub(super) timeout: Option<At<String>>,
    pub(super) tls: Option<At<RawRedisTls>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRedisTls {
    pub(super) ca_file: Option<At<String>>,
    pub(super) cert_file: Option<At<String>>,
    pub(super) key_file: Option<At<String>>,
    pub(super) server_name: Option<At<String>>,
}

/// A queue as written: the fields every queue has, and the rest (its
/// kind's own fields, validated by the kind) as text with their lines.
#[derive(Debug)]
pub(super) struct RawQueue {
    pub(super) name: At<String>,
    pub(super) namespaces: Option<At<Vec<At<String>>>>,
    pub(super) endpoint: Option<At<String>>,
    pub(super) key: Option<At<String>>,
    pub(super) pattern: Option<At<String>>,
    pub(super) kind: At<String>,
    pub(super) labels: Pairs<At<String>>,
    pub(super) options: Vec<(String, At<String>)>,
}

impl<'de> Deserialize<'de> for RawQueue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{Error as _, MapAccess, Visitor};

        struct Fields;

        impl<'de> Visitor<'de> for Fields {
            type Value = RawQueue;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a queue (a mapping with name, namespaces, key or pattern, type, ...)")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawQueue, A::Error> {
                let (mut name, mut namespaces, mut endpoint, mut key, mut pattern) =
                    (None, None, None, None, None);
                let (mut kind, mut labels, mut options) = (None, None, Vec::new());
                fn once<'de, T: Deserialize<'de>, A: MapAccess<'de>>(
                    slot: &mut Option<T>,
                    m: &mut A,
                    field: &'static str,
                ) -> Result<(), A::Error> {
                    if slot.is_some() {
                        return Err(A::Error::duplicate_field(field));
                    }
                    *slot = Some(m.next_value()?);
                    Ok(())
                }
                while let Some(k) = m.next_key::<String>()? {
                    match k.as_str() {
                        "name" => once(&mut name, &mut m, "name")?,
                        "namespaces" => once(&mut namespaces, &mut m, "namespaces")?,
                        "endpoint" => once(&mut endpoint, &mut m, "endpoint")?,
                        "key" => once(&mut key, &mut m, "key")?,
                        "pattern" => once(&mut pattern, &mut m, "pattern")?,
                        "type" => once(&mut kind, &mut m, "type")?,
                        "labels" => once(&mut labels, &mut m, "labels")?,
                        _ => options.push((k, m.next_value()?)),
                    }
                }
                Ok(RawQueue {
                    name: name.ok_or_else(|| A::Error::missing_field("name"))?,
                    namespaces,
                    endpoint,
                    key,
                    pattern,
                    kind: kind.ok_or_else(|| A::Error::missing_field("type"))?,
                    labels: labels.unwrap_or_default(),
                    options,
                })
            }
        }

        d.deserialize_map(Fields)
    }
}
