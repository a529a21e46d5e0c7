use super::*;

fn ns(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn writers_fill_the_answers_of_their_namespaces() {
    let mut b = Builder::new();
    let l = b.queue(
        "l",
        &ns(&["a"]),
        &[("service".into(), "gw".into())],
        false,
        false,
    );
    let s = b.queue("s", &ns(&["b", "a"]), &[], true, true);
    let store = b.finish(Duration::from_secs(10));
    assert_eq!(store.series.len(), 1 + 3);
    assert_eq!(store.answer("a", "queue_depth").unwrap().cells.len(), 2);
    assert_eq!(store.answer("b", "queue_depth").unwrap().cells.len(), 1);
    assert_eq!(store.answer("b", "queue_pending").unwrap().cells.len(), 1);
    assert!(store.answer("a", "queue_pending").is_some());
    assert!(store.answer("c", "queue_depth").is_none());
    assert_eq!(
        store.served_metrics,
        ["queue_depth", "queue_pending", "queue_oldest_age_seconds"]
    );

    let depth = &store.series[0];
    assert_eq!(depth.label("service"), Some("gw"));
    assert_eq!(depth.label("queue"), Some("l"));
    assert_eq!(&*depth.labels_json, r#"{"queue":"l","service":"gw"}"#);
    assert!(depth.sample().is_none());
    l.write(3.0, 9.0, Some(1), 1000);
    assert_eq!(depth.sample(), Some((3.0, 1000)));
    s.write(5.0, 2.0, Some(1000), 3500);
    assert_eq!(store.series[2].sample(), Some((2.0, 3500)));
    assert_eq!(store.series[3].sample(), Some((2.5, 3500)));
    s.write(5.0, 2.0, None, 4000);
    assert_eq!(store.series[3].sample(), Some((0.0, 4000)));

    assert!(!store.ready());
    assert_eq!(store.not_ready().count(), 2);
    l.mark_ready();
    assert!(!store.ready());
    s.mark_ready();
    assert!(store.ready());
}

#[test]
fn answers_refuse_what_is_unread_stale_or_failing() {
    let mut b = Builder::new();
    let q = b.queue("q", &ns(&["a"]), &[], false, false);
    let p = b.promql("p", &ns(&["a"]));
    let store = b.finish(Duration::from_secs(10));
    let read = |metric: &str, now: u64| {
        let mut items = Vec::new();
        store
            .answer("a", metric)
            .unwrap()
            .read(
                now,
                store.max_staleness,
                |_| true,
                |l, at, v| items.push((l.to_string(), at, v)),
            )
            .map(|()| items)
            .map_err(|e| e.to_string())
    };
    assert_eq!(
        read("queue_depth", 1000).unwrap_err(),
        "no data for queue \"q\" yet: not read yet"
    );
    q.fail("redis down".into());
    assert_eq!(
        read("queue_depth", 1000).unwrap_err(),
        "no data for queue \"q\" yet: redis down"
    );
    q.write(4.0, 0.0, None, 1000);
    assert_eq!(
        read("queue_depth", 11_000).unwrap(),
        [(r#"{"queue":"q"}"#.to_string(), 1000, 4.0)]
    );
    q.fail("redis down".into());
    assert_eq!(
        read("queue_depth", 11_001).unwrap_err(),
        "data for queue \"q\" is 10.0s old, older than the 10s staleness limit; last error: redis down"
    );

    assert_eq!(
        read("p", 1000).unwrap_err(),
        "no data for promql \"p\" yet: not queried yet"
    );
    p.fail("connection refused".into(), false);
    assert!(!store.sources[1].is_ready());
    p.publish(vec![(vec![("x".into(), "1".into())], 2.5)]);
    assert!(store.sources[1].is_ready());
    let items = read("p", now_ms()).unwrap();
    assert_eq!(items[0].0, r#"{"x":"1"}"#);
    assert_eq!(items[0].2, 2.5);
    p.fail("bad_data: parse error".into(), true);
    assert_eq!(
        read("p", now_ms()).unwrap_err(),
        "promql \"p\": bad_data: parse error"
    );
}

// Tests below were added to kill mutants (`cargo mutants`) that the tests
// above let survive.

#[test]
fn series_of_one_source_share_their_labels_json_and_only_they() {
    let mut b = Builder::new();
    let a = b.queue("a", &ns(&["x"]), &[], true, true);
    let z = b.queue("z", &ns(&["x"]), &[], true, false);
    assert_eq!(a.name(), "a");
    assert_eq!(z.name(), "z");
    let store = b.finish(Duration::from_secs(10));
    let json: Vec<&str> = store.series.iter().map(|s| &*s.labels_json).collect();
    assert_eq!(
        json,
        [
            r#"{"queue":"a"}"#,
            r#"{"queue":"a"}"#,
            r#"{"queue":"a"}"#,
            r#"{"queue":"z"}"#,
            r#"{"queue":"z"}"#
        ]
    );
    // Rendered once per source, not once per series.
    assert!(Arc::ptr_eq(
        &store.series[0].labels_json,
        &store.series[2].labels_json
    ));
    assert!(Arc::ptr_eq(
        &store.series[3].labels_json,
        &store.series[4].labels_json
    ));
}

#[test]
fn queue_age_is_in_seconds_and_never_negative() {
    let mut b = Builder::new();
    let q = b.queue("q", &ns(&["x"]), &[], false, true);
    let store = b.finish(Duration::from_secs(10));
    let age = &store.series[1];
    q.write(1.0, 0.0, Some(1_000), 1_250);
    assert_eq!(age.sample(), Some((0.25, 1_250)));
    // An item stamped after the read (clock skew): age 0, not negative.
    q.write(1.0, 0.0, Some(2_000), 1_500);
    assert_eq!(age.sample(), Some((0.0, 1_500)));
}

#[test]
fn service_writer_records_errors_and_readiness() {
    let mut b = Builder::new();
    let s = b.service("svc", &ns(&["x"]), &[], &[0.5], true, false);
    let store = b.finish(Duration::from_secs(10));
    let read = |now: u64| {
        store
            .answer("x", "service_latency_seconds")
            .unwrap()
            .read(now, store.max_staleness, |_| true, |_, _, _| {})
            .map_err(|e| e.to_string())
    };
    s.fail("connection refused".into());
    assert_eq!(
        read(1000).unwrap_err(),
        "no data for service \"svc\" yet: connection refused"
    );
    assert!(!store.ready());
    s.mark_ready();
    assert!(store.ready());
    s.write(1000, [0.2], || 3.0, || unreachable!("not served"));
    assert_eq!(read(2000), Ok(()));
    s.fail("timeout".into());
    assert_eq!(
        read(20_000).unwrap_err(),
        "data for service \"svc\" is 19.0s old, older than the 10s staleness limit; last error: timeout"
    );
}

#[test]
fn promql_fetch_errors_are_kept_apart_from_query_errors() {
    let mut b = Builder::new();
    let p = b.promql("p", &ns(&["x"]));
    assert_eq!(p.name(), "p");
    let store = b.finish(Duration::from_secs(10));
    let read = |now: u64| {
        store
            .answer("x", "p")
            .unwrap()
            .read(now, store.max_staleness, |_| true, |_, _, _| {})
            .map_err(|e| e.to_string())
    };
    // Prometheus unreachable: no data yet, and why.
    p.fail("connection refused".into(), false);
    assert_eq!(
        read(now_ms()).unwrap_err(),
        "no data for promql \"p\" yet: connection refused"
    );
    p.publish(vec![]);
    let published = now_ms();
    p.fail("connection refused".into(), false);
    // The last result is served while fresh, then refused naming the error.
    assert_eq!(read(published), Ok(()));
    let e = read(published + 60_000).unwrap_err();
    assert!(e.ends_with("; last error: connection refused"), "{e}");
    // A query error is served at once, and is no fetch error.
    p.fail("bad_data".into(), true);
    assert_eq!(read(published).unwrap_err(), "promql \"p\": bad_data");
    let snap = store.promql[0].snapshot.load();
    assert_eq!(snap.fetch_error, None);
    assert_eq!(snap.query_error.as_deref(), Some("bad_data"));
}

#[test]
fn answers_within_the_staleness_limit_are_served() {
    let mut b = Builder::new();
    let q = b.queue("q", &ns(&["a"]), &[], false, false);
    let store = b.finish(Duration::from_secs(10));
    q.write(4.0, 0.0, None, 1000);
    let answer = store.answer("a", "queue_depth").unwrap();
    let mut n = 0;
    for now in [1000, 5000, 10_999, 11_000] {
        answer
            .read(now, store.max_staleness, |_| true, |_, _, _| n += 1)
            .unwrap();
    }
    assert_eq!(n, 4);
    assert!(
        answer
            .read(11_001, store.max_staleness, |_| true, |_, _, _| {})
            .is_err()
    );
    // Series the selector rejects are neither served nor checked.
    answer
        .read(99_000, store.max_staleness, |_| false, |_, _, _| n += 1)
        .unwrap();
    assert_eq!(n, 4);
}
