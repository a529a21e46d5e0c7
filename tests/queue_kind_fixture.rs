//! A queue kind of our own, added the way a new kind or job-queue preset is
//! added: this one file (the [`Kind`] and its [`Spec`]) plus one entry where
//! the kinds are listed (here the list handed to `config::parse_with`; in
//! the crate, `kinds::ALL` in `src/kinds.rs`). Nothing else changes:
//! config validation, `check-config`, the poller's pipelines and the
//! store's series all follow from the kind.
//!
//! The kind reads two keys of different types per queue, as BullMQ keeps a
//! queue's waiting jobs: a `<prefix>:wait` list and a `<prefix>:prioritized`
//! zset (optional, `include_prioritized`). Served against a real redis-server.

mod support;

use std::sync::Arc;

use queue_metrics_adapter::kinds::reply::reply;
use queue_metrics_adapter::kinds::{
    self, Kind, Options, ReadError, Reading, Replies, Serves, Spec, Step,
};
use queue_metrics_adapter::{config, tls};
use redis::{Pipeline, Value};
use support::RedisServer;
use support::adapter::Adapter;

/// The fixture kind: `type: waiting`.
const WAITING: Spec = Spec {
    name: "waiting",
    fields: &["include_prioritized"],
    parse,
};

fn parse(o: &mut Options) -> Option<Arc<dyn Kind>> {
    let include_prioritized = o
        .parse("include_prioritized", "is not true or false", |s| match s {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        })
        .unwrap_or(true);
    o.problems().is_empty().then(|| {
        Arc::new(Waiting {
            include_prioritized,
        }) as Arc<dyn Kind>
    })
}

#[derive(Debug)]
struct Waiting {
    include_prioritized: bool,
}

impl Kind for Waiting {
    fn type_name(&self) -> &'static str {
        "waiting"
    }

    fn scan_type(&self) -> &'static str {
        "list"
    }

    fn serves(&self) -> Serves {
        Serves::default()
    }

    fn detail(&self) -> String {
        format!(" prioritized={}", self.include_prioritized)
    }

    fn commands(&self) -> usize {
        1 + usize::from(self.include_prioritized)
    }

    fn plan(&self, pipe: &mut Pipeline, key: &str, _now_ms: u64) {
        pipe.cmd("LLEN").arg(format!("{key}:wait"));
        if self.include_prioritized {
            pipe.cmd("ZCARD").arg(format!("{key}:prioritized"));
        }
    }

    fn read(&self, key: &str, replies: &[Value]) -> Result<Step, ReadError> {
        let wait_key = format!("{key}:wait");
        let wait = Replies {
            key: &wait_key,
            type_name: "waiting",
        };
        let mut depth = wait.int(reply(replies, 0), "LLEN")?;
        if self.include_prioritized {
            let prio_key = format!("{key}:prioritized");
            let prio = Replies {
                key: &prio_key,
                type_name: "waiting",
            };
            depth += prio.int(reply(replies, 1), "ZCARD")?;
        }
        Ok(Step::Done(Reading {
            depth: depth as f64,
            ..Reading::default()
        }))
    }
}

/// The built-in kinds plus the fixture: the one line a new kind adds.
fn specs() -> Vec<&'static Spec> {
    let mut all = kinds::ALL.to_vec();
    all.push(&WAITING);
    all
}

fn yaml(url: &str, extra: &str) -> String {
    format!(
        "redis:\n  url: {url}\npoll_interval: 100ms\nqueues:\n  - name: emails\n    namespaces: [ns]\n    key: \"bull:emails\"\n    type: waiting\n{extra}  - name: plain\n    namespaces: [ns]\n    key: \"plain\"\n    type: list\n"
    )
}

#[test]
fn the_new_kind_is_validated_like_the_built_in_ones() {
    let text = yaml("redis://127.0.0.1:1/", "    include_prioritized: maybe\n");
    let e = config::parse_with(&text, &|_| None, &specs())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("queues[0].include_prioritized (line 9): \"maybe\" is not true or false"),
        "{e}"
    );
    // Only where it is listed.
    let e = config::parse(&yaml("redis://127.0.0.1:1/", ""), &|_| None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown queue type \"waiting\""), "{e}");
    // Its field on another kind is named as its own.
    let text = yaml("redis://127.0.0.1:1/", "") + "    include_prioritized: true\n";
    let e = config::parse_with(&text, &|_| None, &specs())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(
            "queues[1].include_prioritized (line 13): only applies to type waiting, not list"
        ),
        "{e}"
    );
    let cfg = config::parse_with(&yaml("redis://127.0.0.1:1/", ""), &|_| None, &specs()).unwrap();
    let table = cfg.table();
    assert!(
        table.contains("waiting") && table.contains("prioritized=true"),
        "{table}"
    );
}

#[tokio::test]
async fn the_new_kind_is_polled_and_served() {
    support::require_redis!();
    let redis = RedisServer::start();
    redis.cmd(&["RPUSH", "bull:emails:wait", "a", "b", "c"]);
    redis.cmd(&["ZADD", "bull:emails:prioritized", "1", "p1", "2", "p2"]);
    redis.cmd(&["RPUSH", "plain", "x"]);
    let cfg = config::parse_with(&yaml(&redis.url(), ""), &|_| None, &specs()).unwrap();
    tls::install_crypto_provider();
    let cert = tls::ReloadingCert::new(None, None).expect("self-signed certificate");
    let a = Adapter::start_config(&cfg, cert, None, None).await;
    a.wait_ready().await;
    // Three waiting plus two prioritized, read in the same pipelines as the list.
    assert_eq!(
        a.wait_value("ns", "queue_depth", "emails", |v| v == "5")
            .await,
        "5"
    );
    assert_eq!(
        a.wait_value("ns", "queue_depth", "plain", |v| v == "1")
            .await,
        "1"
    );
    redis.cmd(&["LPOP", "bull:emails:wait"]);
    assert_eq!(
        a.wait_value("ns", "queue_depth", "emails", |v| v == "4")
            .await,
        "4"
    );
    // A key of the wrong type is that queue's error, named by the derived key.
    redis.cmd(&["DEL", "bull:emails:prioritized"]);
    redis.cmd(&["SET", "bull:emails:prioritized", "oops"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let page = a.admin("/").await.text;
        if page.contains("bull:emails:prioritized")
            && page.contains("wrong kind of value for type waiting")
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no error shown: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
