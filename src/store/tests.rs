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
