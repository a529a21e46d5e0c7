//! The admin port's status page, opened by a real headless Chromium while
//! the adapter reads real Redis servers and a real Prometheus: every
//! configured series is shown, a stale one as stale, and a hostile label
//! value from a PromQL result is text, not markup.

mod support;

use std::time::{Duration, Instant};

use support::adapter::Adapter;
use support::prometheus::Prometheus;
use support::{RedisServer, require_prometheus};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_page_in_a_browser() {
    support::require_redis!();
    require_prometheus!();
    let live = RedisServer::start();
    let mut gone = RedisServer::start();
    live.cmd(&["RPUSH", "jobs", "a", "b", "c"]);
    gone.cmd(&["XADD", "events", "*", "f", "v"]);
    let prom = Prometheus::start(&[]).await;
    let yaml = format!(
        r#"redis:
  url: {live}
redis_endpoints:
  other:
    url: {gone}
    timeout: 200ms
poll_interval: 100ms
max_staleness: 1s
queues:
  - {{name: jobs, namespaces: [ai], key: jobs, type: list, labels: {{service: gateway}}}}
  - {{name: events, namespaces: [ai, ops], key: events, type: stream, group: g, endpoint: other}}
promql:
  - name: hostile
    namespaces: [ai]
    url: {prom}
    query: 'label_replace(vector(2), "who", "<script>document.title=\"pwned\"</script>", "", "")'
    interval: 200ms
"#,
        live = live.url(),
        gone = gone.url(),
        prom = prom.url,
    );
    let a = Adapter::start(&yaml).await;
    a.wait_ready().await;
    let _ = a.wait_value("ai", "queue_depth", "events", |_| true).await;
    gone.stop();

    // Wait until the stopped endpoint's series are stale and PromQL answered.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let page = a.admin("/").await.text;
        if page.matches("<tr class=\"stale\">").count() == 3 && page.contains("who=") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "page never showed the state:\n{page}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let url = format!("http://{}/", a.running.admin_addr);
    let out = support::chromium(&["--dump-dom", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    // The browser built the page: one row per configured series (jobs:
    // depth; events: depth, pending, oldest age).
    let rows = dom
        .split("<tbody>")
        .nth(1)
        .unwrap()
        .split("</tbody>")
        .next()
        .unwrap();
    assert_eq!(rows.matches("<tr").count(), 4, "{dom}");
    assert!(dom.contains("queue=jobs, service=gateway"), "{dom}");
    assert!(dom.contains("<td class=\"num\">3</td>"), "{dom}");
    for metric in ["queue_depth", "queue_pending", "queue_oldest_age_seconds"] {
        assert!(
            dom.contains(&format!(
                "<tr class=\"stale\"><td>{metric}</td><td>queue=events</td><td>ai, ops</td>"
            )),
            "{metric} of the stopped endpoint not shown as stale:\n{dom}"
        );
    }
    assert!(
        dom.contains("unreachable"),
        "the last error is shown:\n{dom}"
    );
    // The hostile value is text in the DOM, no element, and it never ran.
    assert!(
        dom.contains("who=&lt;script&gt;document.title=\"pwned\"&lt;/script&gt;"),
        "{dom}"
    );
    assert!(!dom.contains("<script"), "{dom}");
    assert!(
        dom.contains("<title>queue-metrics-adapter: served series</title>"),
        "{dom}"
    );

    // And a picture, for people (target/status-page.png).
    let png = concat!(env!("CARGO_MANIFEST_DIR"), "/target/status-page.png");
    let out = support::chromium(&[
        "--window-size=1400,700",
        &format!("--screenshot={png}"),
        &url,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::metadata(png).unwrap().len() > 10_000);
    a.running.stop().await;
}
