//! The 10,000-queue workload shared by `benches/redis_poll.rs` and
//! `benches/startup_memory.rs`: a config and the Redis data behind it.
//!
//! Include it next to the test harness:
//!
//! ```ignore
//! #[path = "../tests/support/mod.rs"]
//! mod support;
//! #[path = "support/queues10k.rs"]
//! mod queues10k;
//! ```
//!
//! | queues | type | config | data |
//! |---|---|---|---|
//! | 4000 | list | `LLEN` | 1..7 items; every 10th key missing |
//! | 1500 | zset | `max_score: now`, `score_unit: seconds` (`ZCOUNT` + oldest) | 1..5 members, half due, half in the future; every 10th missing |
//! | 1500 | zset | plain (`ZCARD`) | same |
//! | 2000 | stream | `group: workers` | 2..5 entries; see below; every 10th missing |
//! | 1000 | stream | no group (`XLEN` + first entry) | 2..5 entries; every 10th missing |
//!
//! Group streams: the group exists and 1 entry is delivered and pending
//! (lag > 0, so phase 2 fetches the first undelivered entry), except every
//! 20th stream (`i % 20 == 3`) has no group yet (phase 2 reads the first
//! entry), every 10th (`i % 10 == 5`) is fully delivered (lag 0, no phase 2),
//! and every 50th (`i % 50 == 7`) had its last undelivered entry deleted with
//! `XDEL` (Redis reports no usable lag; phase 2 counts entries).
//!
//! Queues are spread over 50 namespaces `team-00`..`team-49` (200 each) and
//! carry a static `team` label.
#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use crate::support::RedisServer;

/// Queues of each kind.
pub const LISTS: usize = 4000;
/// Zsets (half with `max_score: now`).
pub const ZSETS: usize = 3000;
/// Streams (the first [`GROUP_STREAMS`] with a consumer group).
pub const STREAMS: usize = 3000;
/// Streams with `group: workers`.
pub const GROUP_STREAMS: usize = 2000;
/// All queues.
pub const QUEUES: usize = LISTS + ZSETS + STREAMS;
/// Namespaces the queues are spread over.
pub const NAMESPACES: usize = 50;

fn missing(i: usize) -> bool {
    i % 10 == 9
}

/// Namespace of the `i`-th queue of a kind.
pub fn namespace(i: usize) -> String {
    format!("team-{:02}", i % NAMESPACES)
}

/// The config text: every queue on one Redis endpoint at `redis_url`.
pub fn config_yaml(redis_url: &str) -> String {
    let mut y = String::with_capacity(QUEUES * 120);
    y.push_str(&format!(
        "redis:\n  url: {redis_url}\n  timeout: 5s\npoll_interval: 1s\nmax_staleness: 10s\nqueues:\n"
    ));
    for i in 0..LISTS {
        let ns = namespace(i);
        y.push_str(&format!(
            "  - {{name: list-{i:04}, namespaces: [{ns}], key: \"q:list:{i}\", type: list, labels: {{team: {ns}}}}}\n"
        ));
    }
    for i in 0..ZSETS {
        let ns = namespace(i);
        let extra = if i % 2 == 0 {
            ", max_score: now, score_unit: seconds"
        } else {
            ""
        };
        y.push_str(&format!(
            "  - {{name: zset-{i:04}, namespaces: [{ns}], key: \"q:zset:{i}\", type: zset{extra}, labels: {{team: {ns}}}}}\n"
        ));
    }
    for i in 0..STREAMS {
        let ns = namespace(i);
        let extra = if i < GROUP_STREAMS {
            ", group: workers"
        } else {
            ""
        };
        y.push_str(&format!(
            "  - {{name: stream-{i:04}, namespaces: [{ns}], key: \"q:stream:{i}\", type: stream{extra}, labels: {{team: {ns}}}}}\n"
        ));
    }
    y
}

/// What [`populate`] wrote.
#[derive(Debug, Default, Clone, Copy)]
pub struct Populated {
    /// Commands sent.
    pub commands: usize,
    /// Keys in the database afterwards (`DBSIZE`).
    pub keys: i64,
}

/// Fills Redis with the data described in the module docs (FLUSHALL first).
pub fn populate(redis: &RedisServer) -> Populated {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64;
    let mut cmds: Vec<Vec<String>> = vec![vec!["FLUSHALL".into()]];
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();

    for i in (0..LISTS).filter(|i| !missing(*i)) {
        let mut c = s(&["RPUSH", &format!("q:list:{i}")]);
        c.extend((0..=(i % 7)).map(|j| format!("job-{j}")));
        cmds.push(c);
    }
    for i in (0..ZSETS).filter(|i| !missing(*i)) {
        let mut c = s(&["ZADD", &format!("q:zset:{i}")]);
        for j in 0..=(i % 5) {
            // Even members due (in the past), odd ones in the future.
            let score = if j % 2 == 0 {
                now - 60 * (j as i64 + 1)
            } else {
                now + 3600
            };
            c.push(score.to_string());
            c.push(format!("job-{j}"));
        }
        cmds.push(c);
    }
    for i in (0..STREAMS).filter(|i| !missing(*i)) {
        let key = format!("q:stream:{i}");
        let entries = 2 + i % 4;
        for j in 0..entries {
            cmds.push(s(&["XADD", &key, "*", "job", &j.to_string()]));
        }
        if i >= GROUP_STREAMS || i % 20 == 3 {
            continue;
        }
        cmds.push(s(&["XGROUP", "CREATE", &key, "workers", "0"]));
        let count = if i % 10 == 5 { entries } else { 1 };
        cmds.push(s(&[
            "XREADGROUP",
            "GROUP",
            "workers",
            "bench-consumer",
            "COUNT",
            &count.to_string(),
            "STREAMS",
            &key,
            ">",
        ]));
    }
    let mut sent = send(redis, &cmds);
    // Delete the last (undelivered) entry of every 50th group stream: the
    // group's lag becomes unknown and the adapter has to count.
    let last_ids: Vec<Vec<String>> = (0..GROUP_STREAMS)
        .filter(|i| !missing(*i) && i % 50 == 7 && i % 20 != 3 && i % 10 != 5)
        .map(|i| {
            s(&[
                "XREVRANGE",
                &format!("q:stream:{i}"),
                "+",
                "-",
                "COUNT",
                "1",
            ])
        })
        .collect();
    let replies = {
        let refs: Vec<&[String]> = last_ids.iter().map(Vec::as_slice).collect();
        redis.pipeline(&refs)
    };
    let mut dels = Vec::new();
    for (cmd, reply) in last_ids.iter().zip(&replies) {
        let id = reply
            .as_array()
            .and_then(|a| a.first())
            .and_then(|e| e.as_array())
            .and_then(|e| e.first())
            .and_then(|id| id.as_str())
            .unwrap_or_else(|| panic!("no last entry for {}: {reply:?}", cmd[1]));
        dels.push(s(&["XDEL", &cmd[1], id]));
    }
    sent += last_ids.len() + send(redis, &dels);
    Populated {
        commands: sent,
        keys: redis.cmd(&["DBSIZE"]).expect_int(),
    }
}

/// Sends commands in pipelined batches; panics on any error reply.
fn send(redis: &RedisServer, cmds: &[Vec<String>]) -> usize {
    for chunk in cmds.chunks(5000) {
        let refs: Vec<&[String]> = chunk.iter().map(Vec::as_slice).collect();
        for (c, r) in chunk.iter().zip(redis.pipeline(&refs)) {
            assert!(!r.is_error(), "{c:?} failed: {r:?}");
        }
    }
    cmds.len()
}
