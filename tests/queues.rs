//! Every queue type against a real redis-server, read back through the HTTPS API.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use queue_metrics_adapter::k8s::quantity;
use support::RedisServer;
use support::adapter::{Adapter, assert_status};

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn config(redis: &RedisServer, extra: &str, queues: &str) -> String {
    format!(
        "redis:\n  url: {}\npoll_interval: 100ms\nmax_staleness: 2s\nscan_interval: 200ms\n{extra}queues:\n{queues}",
        redis.url()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_zsets_and_streams_without_group() {
    support::require_redis!();
    let redis = RedisServer::start();
    let queues = r#"
  - {name: gateway, namespaces: [ai], key: "gw:requests", type: list, labels: {service: gateway}}
  - {name: missing, namespaces: [ai], key: "nothing:here", type: list}
  - {name: delayed-all, namespaces: [ai], key: "delayed", type: zset}
  - {name: delayed-due, namespaces: [ai], key: "delayed", type: zset, max_score: now, score_unit: seconds}
  - {name: events, namespaces: [ai], key: "events", type: stream}
"#;
    for i in 0..7 {
        redis.cmd(&["RPUSH", "gw:requests", &format!("r{i}")]);
    }
    let now = now_ms() / 1000;
    redis.cmd(&[
        "ZADD",
        "delayed",
        &(now - 30).to_string(),
        "due1",
        &(now - 5).to_string(),
        "due2",
    ]);
    redis.cmd(&["ZADD", "delayed", &(now + 3600).to_string(), "later"]);
    let old = now_ms() - 20_000;
    redis.cmd(&["XADD", "events", &format!("{old}-0"), "f", "v"]);
    redis.cmd(&["XADD", "events", "*", "f", "v"]);

    let a = Adapter::start(&config(&redis, "", queues)).await;
    a.wait_ready().await;

    let r = a.metric("ai", "queue_depth", Some("queue=gateway")).await;
    assert_eq!(r.code, 200, "{r:?}");
    assert_eq!(r.json["kind"], "ExternalMetricValueList");
    assert_eq!(r.json["apiVersion"], "external.metrics.k8s.io/v1beta1");
    let item = &r.json["items"][0];
    assert_eq!(item["metricName"], "queue_depth");
    assert_eq!(item["metricLabels"]["queue"], "gateway");
    assert_eq!(item["metricLabels"]["service"], "gateway");
    assert_eq!(item["value"], "7");
    assert!(item["timestamp"].as_str().unwrap().ends_with('Z'), "{item}");

    assert_eq!(
        a.wait_value("ai", "queue_depth", "missing", |_| true).await,
        "0"
    );
    assert_eq!(
        a.wait_value("ai", "queue_depth", "delayed-all", |_| true)
            .await,
        "3"
    );
    assert_eq!(
        a.wait_value("ai", "queue_depth", "delayed-due", |_| true)
            .await,
        "2"
    );
    let age = quantity::parse(
        &a.wait_value("ai", "queue_oldest_age_seconds", "delayed-due", |_| true)
            .await,
    )
    .unwrap();
    assert!((29.0..40.0).contains(&age), "oldest due job age {age}");
    assert_eq!(
        a.wait_value("ai", "queue_depth", "events", |_| true).await,
        "2"
    );
    let age = quantity::parse(
        &a.wait_value("ai", "queue_oldest_age_seconds", "events", |_| true)
            .await,
    )
    .unwrap();
    assert!((19.0..30.0).contains(&age), "oldest stream entry age {age}");

    // Values follow Redis.
    redis.cmd(&["LPOP", "gw:requests", "5"]);
    a.wait_value("ai", "queue_depth", "gateway", |v| v == "2")
        .await;

    // All queues at once, filtered by selector.
    let r = a
        .metric(
            "ai",
            "queue_depth",
            Some("queue in (gateway,events),service!=x"),
        )
        .await;
    assert_eq!(r.json["items"].as_array().unwrap().len(), 2, "{r:?}");
    let r = a.metric("ai", "queue_depth", None).await;
    assert_eq!(r.json["items"].as_array().unwrap().len(), 5, "{r:?}");
    a.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_consumer_group_lag_pending_and_age_including_after_trim() {
    support::require_redis!();
    let redis = RedisServer::start();
    let queues =
        "  - {name: knowledge, namespaces: [ai], key: \"kn:jobs\", type: stream, group: workers}\n";
    let t0 = now_ms() - 60_000;
    for i in 0..10u64 {
        redis.cmd(&[
            "XADD",
            "kn:jobs",
            &format!("{}-0", t0 + i * 1000),
            "job",
            &i.to_string(),
        ]);
    }
    redis.cmd(&["XGROUP", "CREATE", "kn:jobs", "workers", "0"]);
    // A consumer takes 3 (pending), acks 1 of them.
    let got = redis.cmd(&[
        "XREADGROUP",
        "GROUP",
        "workers",
        "c1",
        "COUNT",
        "3",
        "STREAMS",
        "kn:jobs",
        ">",
    ]);
    assert!(!got.is_nil());
    redis.cmd(&["XACK", "kn:jobs", "workers", &format!("{t0}-0")]);

    let a = Adapter::start(&config(&redis, "", queues)).await;
    a.wait_ready().await;
    assert_eq!(
        a.wait_value("ai", "queue_depth", "knowledge", |_| true)
            .await,
        "7"
    );
    assert_eq!(
        a.wait_value("ai", "queue_pending", "knowledge", |_| true)
            .await,
        "2"
    );
    // Oldest pending is entry 1 (t0+1s): about 59 s old.
    let age = quantity::parse(
        &a.wait_value("ai", "queue_oldest_age_seconds", "knowledge", |_| true)
            .await,
    )
    .unwrap();
    assert!((58.0..70.0).contains(&age), "age {age}");

    // Trim away entries that were never delivered: Redis's lag becomes unreliable;
    // the adapter counts what is really left after last-delivered-id.
    redis.cmd(&["XTRIM", "kn:jobs", "MAXLEN", "5"]);
    assert_eq!(
        a.wait_value("ai", "queue_depth", "knowledge", |v| v == "5")
            .await,
        "5"
    );
    // Delete entries in the undelivered range (lag becomes nil in Redis 7).
    redis.cmd(&["XDEL", "kn:jobs", &format!("{}-0", t0 + 9000)]);
    assert_eq!(
        a.wait_value("ai", "queue_depth", "knowledge", |v| v == "4")
            .await,
        "4"
    );

    // Everything delivered and acked: depth 0, pending 0, age 0.
    redis.cmd(&[
        "XREADGROUP",
        "GROUP",
        "workers",
        "c1",
        "STREAMS",
        "kn:jobs",
        ">",
    ]);
    redis.cmd(&["XGROUP", "DESTROY", "kn:jobs", "workers"]);
    redis.cmd(&["XGROUP", "CREATE", "kn:jobs", "workers", "$"]);
    a.wait_value("ai", "queue_depth", "knowledge", |v| v == "0")
        .await;
    a.wait_value("ai", "queue_pending", "knowledge", |v| v == "0")
        .await;
    a.wait_value("ai", "queue_oldest_age_seconds", "knowledge", |v| v == "0")
        .await;

    // A group that does not exist counts the whole stream as waiting.
    redis.cmd(&["XGROUP", "DESTROY", "kn:jobs", "workers"]);
    a.wait_value("ai", "queue_depth", "knowledge", |v| v == "4")
        .await;
    a.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn glob_patterns_sum_matching_keys_of_the_right_type() {
    support::require_redis!();
    let redis = RedisServer::start();
    let queues =
        "  - {name: research, namespaces: [ai], pattern: \"research:*:waiting\", type: list}\n";
    redis.cmd(&["RPUSH", "research:a:waiting", "1", "2"]);
    redis.cmd(&["RPUSH", "research:b:waiting", "1", "2", "3"]);
    redis.cmd(&["SET", "research:c:waiting", "not a list"]);
    redis.cmd(&["RPUSH", "research:a:done", "1"]);
    let a = Adapter::start(&config(&redis, "", queues)).await;
    a.wait_ready().await;
    assert_eq!(
        a.wait_value("ai", "queue_depth", "research", |_| true)
            .await,
        "5"
    );
    // New keys are found by the next SCAN.
    redis.cmd(&["RPUSH", "research:d:waiting", "1", "2", "3", "4"]);
    a.wait_value("ai", "queue_depth", "research", |v| v == "9")
        .await;
    let m = a.admin("/metrics").await;
    assert!(
        m.text
            .contains("qma_poll_pattern_keys{queue=\"research\"} 3"),
        "{}",
        m.text
    );
    a.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_type_key_fails_that_queue_alone() {
    support::require_redis!();
    let redis = RedisServer::start();
    let queues = "  - {name: good, namespaces: [ai], key: good, type: list}\n  - {name: bad, namespaces: [ai], key: bad, type: list}\n";
    redis.cmd(&["RPUSH", "good", "x"]);
    redis.cmd(&["HSET", "bad", "f", "v"]);
    let a = Adapter::start(&config(&redis, "", queues)).await;
    a.wait_ready().await;
    assert_eq!(
        a.wait_value("ai", "queue_depth", "good", |_| true).await,
        "1"
    );
    let r = a.metric("ai", "queue_depth", Some("queue=bad")).await;
    assert_status(&r, 503, "ServiceUnavailable");
    assert!(
        r.json["message"]
            .as_str()
            .unwrap()
            .contains("wrong kind of value"),
        "{r:?}"
    );
    // A selector spanning both refuses rather than under-reporting.
    let r = a.metric("ai", "queue_depth", None).await;
    assert_status(&r, 503, "ServiceUnavailable");
    let m = a.admin("/metrics").await;
    assert!(
        m.text
            .contains("qma_poll_errors_total{queue=\"bad\",reason=\"wrong_type\"}"),
        "{}",
        m.text
    );
    // Fixing the key heals the queue.
    redis.cmd(&["DEL", "bad"]);
    redis.cmd(&["RPUSH", "bad", "a", "b"]);
    assert_eq!(
        a.wait_value("ai", "queue_depth", "bad", |_| true).await,
        "2"
    );
    a.running.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_restart_goes_stale_then_recovers() {
    support::require_redis!();
    let mut redis = RedisServer::start();
    let queues = "  - {name: gw, namespaces: [ai], key: gw, type: list}\n";
    redis.cmd(&["RPUSH", "gw", "1", "2", "3"]);
    let yaml = format!(
        "redis:\n  url: {}\n  timeout: 300ms\npoll_interval: 100ms\nmax_staleness: 1s\nqueues:\n{queues}",
        redis.url()
    );
    let a = Adapter::start(&yaml).await;
    a.wait_ready().await;
    assert_eq!(a.wait_value("ai", "queue_depth", "gw", |_| true).await, "3");

    redis.stop();
    // Within the staleness limit the last value is still served ...
    let r = a.metric("ai", "queue_depth", Some("queue=gw")).await;
    assert_eq!(r.code, 200, "{r:?}");
    // ... then 503 once it is older than max_staleness.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = a.metric("ai", "queue_depth", Some("queue=gw")).await;
        if r.code == 503 {
            assert_status(&r, 503, "ServiceUnavailable");
            let msg = r.json["message"].as_str().unwrap();
            assert!(msg.contains("staleness"), "{msg}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never went stale: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    redis.restart();
    redis.cmd(&["RPUSH", "gw", "a", "b"]);
    assert_eq!(
        a.wait_value("ai", "queue_depth", "gw", |v| v == "2").await,
        "2"
    );
    a.running.stop().await;
}
