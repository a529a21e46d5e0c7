//! Tests of the whole path from text to [`Config`]: both reading passes, the
//! cut into parts, every validation message with its field and line, and the
//! `check-config` table.

use super::raw::{WITH_LINES, read_fast, read_parts, read_raw};
use super::validate::DEFAULT_STALENESS;
use super::*;
use crate::kinds::stream::{DEFAULT_LAG_COUNT_LIMIT, Stream};
use crate::kinds::zset::{ScoreBound, ScoreUnit, Zset};

fn no_env(_: &str) -> Option<String> {
    None
}

fn err(text: &str) -> String {
    parse(text, &no_env).expect_err("should fail").to_string()
}

const GOOD: &str = r#"
redis:
  url: redis://127.0.0.1:6379/0
  password_env: REDIS_PASSWORD
poll_interval: 500ms
queues:
  - name: gateway-requests
    namespaces: [ai-platform]
    key: gateway:requests
    type: list
    labels:
      service: gateway
  - name: knowledge-jobs
    namespaces: [ai-platform, staging]
    key: knowledge:jobs
    type: stream
    group: workers
  - name: research-delayed
    namespaces: [ai-platform]
    pattern: "research:delayed:*"
    type: zset
    max_score: now
    score_unit: seconds
"#;

/// `read_parts` with every cut `split` offers for 2..=4 parts, next to the
/// whole parse; `Some` only if a cut was offered and taken.
fn parts_vs_whole(text: &str) -> Vec<Option<String>> {
    let whole = read_raw(text, false)
        .map(|r| format!("{r:?}"))
        .map_err(|e| e.to_string());
    (2..=4)
        .filter_map(|n| split::split(text, n, 1))
        .map(|s| {
            let parts = read_parts(&s).map(|r| format!("{r:?}"));
            if let Some(p) = &parts {
                assert_eq!(
                    Ok(p),
                    whole.as_ref(),
                    "a cut changed the reading of:\n{text}"
                );
            }
            parts
        })
        .collect()
}

#[test]
fn parsing_in_parts_reads_what_the_whole_parse_reads() {
    let block = GOOD.replace("queues:\n", "queues:\n  # comment\n");
    let flow_items: String = (0..40)
        .map(|i| format!("  - {{name: q{i}, namespaces: [a], key: \"k:{i}\", type: list, labels: {{team: t{i}}}}}\n"))
        .collect();
    let indentless = format!("queues:\n{}", flow_items.replace("  - ", "- "));
    let with_tail = format!(
        "queues:\n{flow_items}services:\n  - {{name: s, namespaces: [a], urls: [\"http://x\"], histogram: h}}\n"
    );
    let crlf = block.replace('\n', "\r\n");
    // A block scalar and an anchor used inside its own item stay whole.
    let local_anchor = format!(
        "queues:\n{flow_items}  - name: &n own\n    namespaces: [a]\n    key: *n\n    type: list\n    labels:\n      note: |\n        - not an item\n        - nor this\n{flow_items}"
    );
    for text in [
        block,
        indentless,
        with_tail,
        crlf,
        local_anchor,
        format!("queues:\n{flow_items}"),
    ] {
        let runs = parts_vs_whole(&text);
        assert!(runs.iter().any(Option::is_some), "never cut: {text}");
    }
}

#[test]
fn cuts_that_could_change_the_meaning_fall_back_to_the_whole_parse() {
    let items: String = (0..20)
        .map(|i| format!("  - {{name: q{i}, namespaces: [a], key: k{i}, type: list}}\n"))
        .collect();
    for text in [
        // An alias to an anchor in another part.
        format!(
            "queues:\n  - {{name: y, namespaces: &ns [a], key: y, type: list}}\n{items}  - {{name: z, namespaces: *ns, key: z, type: list}}\n"
        ),
        // A merge key.
        format!(
            "queues:\n  - &base {{name: b, namespaces: [a], key: b, type: list}}\n{items}  - {{<<: *base, name: c}}\n"
        ),
        // A quoted scalar whose under-indented continuation looks like items
        // and a top-level key (accepted by the relaxed whole parse).
        format!(
            "queues:\n{items}  - name: q\n    namespaces: [a]\n    type: list\n    key: \"a\n  - {{name: b}}\n  - {{name: c}}\nservices: x\"\n"
        ),
        // A flow mapping running across item lines.
        format!("queues:\n{items}  - {{name: q, namespaces: [a], type: list,\n  key: k}}\n{items}"),
    ] {
        // Each is a valid file, and every cut offered is refused.
        assert!(read_raw(&text, false).is_ok(), "{text}");
        let runs = parts_vs_whole(&text);
        assert!(
            !runs.is_empty() && runs.iter().all(Option::is_none),
            "{text}"
        );
        let fast = read_fast(&text)
            .map(|r| format!("{r:?}"))
            .map_err(|e| e.to_string());
        let whole = read_raw(&text, false)
            .map(|r| format!("{r:?}"))
            .map_err(|e| e.to_string());
        assert_eq!(fast, whole, "{text}");
    }
}

#[test]
fn both_passes_read_the_same_values_and_only_one_records_lines() {
    let fast = read_raw(GOOD, false).unwrap();
    let slow = read_raw(GOOD, true).unwrap();
    assert_eq!(fast.queues.len(), slow.queues.len());
    for (f, s) in fast.queues.iter().zip(&slow.queues) {
        assert_eq!(f.value.name.value, s.value.name.value);
        assert_eq!(f.line, 0);
        assert!(s.line > 0);
    }
    assert_eq!(slow.queues[0].line, 7);
    // The mode is put back after each parse, also after a failed one.
    assert!(read_raw("queues: [", true).is_err());
    assert!(!WITH_LINES.get());
}

#[test]
fn parses_a_good_file() {
    let env = |k: &str| (k == "REDIS_PASSWORD").then(|| "s3cret".to_string());
    let c = parse(GOOD, &env).unwrap();
    assert_eq!(c.poll_interval, Duration::from_millis(500));
    assert_eq!(c.max_staleness, DEFAULT_STALENESS);
    assert_eq!(c.queues.len(), 3);
    assert_eq!(
        c.queues[0].labels,
        [("service".to_string(), "gateway".to_string())]
    );
    assert_eq!(
        format!("{:?}", c.queues[1].kind),
        format!(
            "{:?}",
            Stream {
                group: Some("workers".into()),
                lag_count_limit: DEFAULT_LAG_COUNT_LIMIT
            }
        )
    );
    assert_eq!(
        format!("{:?}", c.queues[2].kind),
        format!(
            "{:?}",
            Zset {
                range: Some((ScoreBound::NegInf, ScoreBound::Now(0.0))),
                unit: Some(ScoreUnit::Seconds)
            }
        )
    );
    assert_eq!(
        c.queues[2].source,
        KeySource::Pattern("research:delayed:*".into())
    );
    assert_eq!(c.endpoints[0].password.as_ref().unwrap().expose(), "s3cret");
    assert_eq!(format!("{:?}", c.endpoints[0].password), "Some(<redacted>)");
    let table = c.table();
    assert!(table.contains("knowledge-jobs"), "{table}");
    assert!(!table.contains("s3cret"), "{table}");
}

#[test]
fn unknown_field_names_field_and_line() {
    let e = err(
        "queues:\n  - name: a\n    namespaces: [x]\n    key: k\n    type: list\n    colour: red\n",
    );
    assert!(e.contains("colour"), "{e}");
    assert!(e.contains("line 6"), "{e}");
}

#[test]
fn bad_type_names_line() {
    let e = err("queues:\n  - name: a\n    namespaces: [x]\n    key: k\n    type: hash\n");
    assert!(e.contains("hash"), "{e}");
    assert!(e.contains("line 5"), "{e}");
}

#[test]
fn semantic_errors_name_field_and_line() {
    let text = r#"queues:
  - name: Bad_Name
    namespaces: [ok]
    key: k
    type: list
  - name: nons
    key: k
    type: list
  - name: both
    namespaces: [Not-A-Namespace]
    key: k
    pattern: "k*"
    type: list
  - name: listgroup
    namespaces: [a]
    key: k
    type: list
    group: g
  - name: nowless
    namespaces: [a]
    key: k
    type: zset
    max_score: now
  - name: nowless
    namespaces: [a]
    key: k
    type: stream
    labels:
      queue: x
"#;
    let e = err(text);
    for want in [
        "queues[0].name (line 2)",
        "queues[1].namespaces (line 6): is required",
        "queues[2].namespaces[0] (line 10)",
        "queues[2] (line 11): set either `key` or `pattern`",
        "queues[3].group (line 18): only applies to type stream, not list",
        "queues[4].max_score (line 23): `now` needs `score_unit`",
        "queues[5].name (line 24): duplicate queue name \"nowless\" (first at line 19)",
        "queues[5].labels.queue (line 29)",
    ] {
        assert!(e.contains(want), "missing {want:?} in:\n{e}");
    }
}

#[test]
fn durations_and_secrets() {
    let e = err(
        "poll_interval: fast\nmax_staleness: 0s\nredis:\n  url: redis://u:p@h:1/\n  password_env: NOPE\nqueues:\n  - name: a\n    namespaces: [x]\n    key: k\n    type: list\n",
    );
    for want in [
        "poll_interval (line 1): \"fast\" is not a duration",
        "max_staleness (line 2): must be greater than zero",
        "redis.url (line 4): credentials must not be inline",
        "redis.password_env (line 5): environment variable NOPE is not set",
    ] {
        assert!(e.contains(want), "missing {want:?} in:\n{e}");
    }
    assert!(!e.contains(":p@"), "password leaked into error: {e}");
}

#[test]
fn endpoints_by_name() {
    let text = "redis_endpoints:\n  jobs:\n    url: redis://127.0.0.1:7000/\nqueues:\n  - name: a\n    namespaces: [x]\n    key: k\n    type: list\n    endpoint: jobs\n  - name: b\n    namespaces: [x]\n    key: k\n    type: list\n    endpoint: nope\n";
    let e = err(text);
    assert!(
        e.contains("queues[1].endpoint (line 14): unknown Redis endpoint \"nope\""),
        "{e}"
    );
    let ok = text.replace("endpoint: nope", "endpoint: jobs");
    let c = parse(&ok, &no_env).unwrap();
    assert_eq!(c.queues[0].endpoint, 1);
    assert_eq!(c.endpoints[1].name, "jobs");
}

#[test]
fn redis_tls_settings_are_checked_at_load() {
    crate::tls::install_crypto_provider();
    let dir = std::env::temp_dir().join(format!("qma-config-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = rcgen::generate_simple_self_signed(vec!["ca".into()]).unwrap();
    let ca_file = dir.join("ca.crt");
    std::fs::write(&ca_file, ca.cert.pem()).unwrap();
    let q = "queues:\n  - {name: a, namespaces: [x], key: k, type: list}\n";
    let with = |url: &str, tls: &str| format!("redis:\n  url: {url}\n{tls}{q}");

    // rediss:// with no tls section: system roots; with a CA file: that file.
    let c = parse(&with("rediss://r.example:6380/0", ""), &no_env).unwrap();
    assert_eq!(c.endpoints[0].tls, Some(ClientTlsFiles::default()));
    let tls = format!(
        "  tls:\n    ca_file: {}\n    server_name: r.example\n",
        ca_file.display()
    );
    let c = parse(&with("rediss://10.0.0.5:6380/0", &tls), &no_env).unwrap();
    let t = c.endpoints[0].tls.as_ref().unwrap();
    assert_eq!(t.ca_file.as_deref(), Some(ca_file.as_path()));
    assert_eq!(t.server_name.as_deref(), Some("r.example"));
    assert!(c.table().contains("tls: ca="), "{}", c.table());
    let c = parse(&with("redis://r:6379/0", ""), &no_env).unwrap();
    assert_eq!(c.endpoints[0].tls, None);

    // What no handshake could use, named by field and line.
    let e = err(&with("redis://r:6379/0", &tls));
    assert!(
        e.contains("redis.tls (line 4): TLS settings need a rediss:// url"),
        "{e}"
    );
    let e = err(&with("rediss://r:6380/0#insecure", ""));
    assert!(e.contains("redis.url (line 2): #insecure"), "{e}");
    let e = err(&with(
        "rediss://r:6380/0",
        "  tls:\n    ca_file: /nonexistent/ca.crt\n",
    ));
    assert!(
        e.contains("redis.tls.ca_file (line 4): cannot read /nonexistent/ca.crt"),
        "{e}"
    );
    let e = err(&with(
        "rediss://r:6380/0",
        &format!("  tls:\n    cert_file: {}\n", ca_file.display()),
    ));
    assert!(
        e.contains("redis.tls (line 4): cert_file and key_file must be given together"),
        "{e}"
    );
    let e = err(&with(
        "rediss://r:6380/0",
        &format!(
            "  tls:\n    cert_file: {0}\n    key_file: {0}\n",
            ca_file.display()
        ),
    ));
    assert!(
        e.contains("redis.tls.key_file (line 5): ") && e.contains("no unencrypted PEM private key"),
        "{e}"
    );
    let e = err(&with(
        "rediss://r:6380/0",
        "  tls:\n    server_name: \"a b\"\n",
    ));
    assert!(
        e.contains("redis.tls.server_name (line 4): \"a b\" is not a DNS name"),
        "{e}"
    );
    let e = err(&with("rediss://r:6380/0", "  tls:\n    ca: x\n"));
    assert!(e.contains("unknown field"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn score_bounds() {
    let text = "queues:\n  - name: a\n    namespaces: [x]\n    key: k\n    type: zset\n    score_unit: milliseconds\n    min_score: now-60000\n    max_score: \"+inf\"\n";
    let c = parse(text, &no_env).unwrap();
    assert_eq!(
        format!("{:?}", c.queues[0].kind),
        format!(
            "{:?}",
            Zset {
                range: Some((ScoreBound::Now(-60000.0), ScoreBound::PosInf)),
                unit: Some(ScoreUnit::Milliseconds)
            }
        )
    );
    let e = err(&text.replace("now-60000", "later"));
    assert!(e.contains("queues[0].min_score (line 7)"), "{e}");
}

#[test]
fn empty_and_garbage_files_do_not_panic() {
    for text in [
        "",
        "---",
        "[]",
        "queues: 3",
        "queues: []",
        "\t\u{0}",
        "queues:\n - 1\n",
    ] {
        let _ = parse(text, &no_env);
    }
    assert!(err("queues: []").contains("at least one queue"));
}

#[test]
fn kind_fields_are_checked_by_their_kind_with_lines() {
    let c = parse(
        "queues:\n  - {name: a, namespaces: [x], key: k, type: stream, group: 123, lag_count_limit: 5000}\n",
        &no_env,
    )
    .unwrap();
    assert_eq!(
        format!("{:?}", c.queues[0].kind),
        format!(
            "{:?}",
            Stream {
                group: Some("123".into()),
                lag_count_limit: 5000
            }
        )
    );
    let e = err(
        "queues:\n  - name: a\n    namespaces: [x]\n    key: k\n    type: stream\n    lag_count_limit: many\n    score_unit: hours\n",
    );
    for want in [
        "queues[0].lag_count_limit (line 6): \"many\" is not a whole number",
        "queues[0].score_unit (line 7): only applies to type zset, not stream",
    ] {
        assert!(e.contains(want), "missing {want:?} in {e}");
    }
    let e = err(
        "queues:\n  - name: a\n    namespaces: [x]\n    key: k\n    type: zset\n    score_unit: hours\n",
    );
    assert!(
        e.contains(
            "queues[0].score_unit (line 6): \"hours\" is not a unit: use seconds or milliseconds"
        ),
        "{e}"
    );
    let e = err("queues:\n  - name: a\n    namespaces: [x]\n    key: k\n    type: hash\n");
    assert!(
        e.contains(
            "queues[0].type (line 5): unknown queue type \"hash\" (known: list, zset, stream)"
        ),
        "{e}"
    );
}
