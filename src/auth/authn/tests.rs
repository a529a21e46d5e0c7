//! Tests of the requestheader step and the authenticated group, many of them
//! upstream `requestheader_test.go` cases.

use super::*;

fn settings() -> Settings {
    Settings {
        username_headers: vec!["x-remote-user".into()],
        uid_headers: vec!["x-remote-uid".into()],
        group_headers: vec!["x-remote-group".into()],
        extra_prefixes: vec!["x-remote-extra-".into()],
        ..Settings::default()
    }
}

fn headers(pairs: &[(&str, &[u8])]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_bytes(v).unwrap(),
        );
    }
    h
}

#[test]
fn headers_to_user_like_headerrequest() {
    let h = headers(&[
        ("x-remote-user", b"alice"),
        ("x-remote-group", b"devs"),
        ("x-remote-group", b"system:authenticated"),
        ("x-remote-extra-scopes", b"a"),
        ("x-remote-extra-scopes", b"b"),
        ("x-remote-extra-example.com%2fteam", b"ml"),
    ]);
    let u = user_from_headers(&h, &settings()).unwrap();
    assert_eq!(u.username, "alice");
    assert_eq!(u.groups, ["devs", "system:authenticated"]);
    assert_eq!(u.extra["scopes"], ["a", "b"]);
    assert_eq!(u.extra["example.com/team"], ["ml"]);
    assert!(has_requestheaders(&h, &settings()));

    let only_group = headers(&[("x-remote-group", b"g")]);
    assert!(user_from_headers(&only_group, &settings()).is_none());
    assert!(has_requestheaders(&only_group, &settings()));
    assert!(!has_requestheaders(&HeaderMap::new(), &settings()));
}

/// Cases of upstream `requestheader_test.go` `TestRequestHeader`.
#[test]
fn upstream_request_header_cases() {
    let s = |names: &[&str], groups: &[&str], prefixes: &[&str]| Settings {
        username_headers: names.iter().map(|h| h.to_ascii_lowercase()).collect(),
        group_headers: groups.iter().map(|h| h.to_ascii_lowercase()).collect(),
        extra_prefixes: prefixes.iter().map(|h| h.to_ascii_lowercase()).collect(),
        ..Settings::default()
    };
    // "user exact match": no header is exactly the username header.
    let exact = s(&["X-Remote-User"], &[], &[]);
    let h = headers(&[
        ("Prefixed-X-Remote-User-With-Suffix", b"Bob"),
        ("X-Remote-User-With-Suffix", b"Bob"),
    ]);
    assert!(user_from_headers(&h, &exact).is_none());
    assert!(!has_username(&h, &exact));
    // "user first match": a header whose first value is empty is skipped.
    let first = s(
        &[
            "X-Remote-User",
            "A-Second-X-Remote-User",
            "Another-X-Remote-User",
        ],
        &[],
        &[],
    );
    let h = headers(&[
        ("X-Remote-User", b""),
        ("X-Remote-User", b"First header, second value"),
        ("A-Second-X-Remote-User", b"Second header, first value"),
        ("A-Second-X-Remote-User", b"Second header, second value"),
        ("Another-X-Remote-User", b"Third header, first value"),
    ]);
    let u = user_from_headers(&h, &first).unwrap();
    assert_eq!(u.username, "Second header, first value");
    assert!(u.groups.is_empty() && u.extra.is_empty());
    // "groups all matches".
    let groups = s(
        &["X-Remote-User"],
        &["X-Remote-Group-1", "X-Remote-Group-2"],
        &[],
    );
    let h = headers(&[
        ("X-Remote-User", b"Bob"),
        ("X-Remote-Group-2", b"two-a"),
        ("X-Remote-Group-1", b"one-a"),
        ("X-Remote-Group-1", b"one-b"),
        ("X-Remote-Group-2", b"two-b"),
    ]);
    let u = user_from_headers(&h, &groups).unwrap();
    assert_eq!(u.groups, ["one-a", "one-b", "two-a", "two-b"]);
    // "extra prefix matches case-insensitive": prefixes first, a header
    // equal to a prefix is the key "".
    let extra = s(
        &["X-Remote-User"],
        &["X-Remote-Group-1", "X-Remote-Group-2"],
        &["X-Remote-Extra-1-", "X-Remote-Extra-2-"],
    );
    let h = headers(&[
        ("X-Remote-User", b"Bob"),
        ("X-Remote-extra-2-", b"kilo"),
        ("X-Remote-extra-2-", b"lima"),
        ("X-Remote-extra-2-Key1", b"echo"),
        ("X-Remote-extra-2-Key1", b"foxtrot"),
        ("X-Remote-Extra-2-key2", b"golf"),
        ("X-Remote-Extra-2-key2", b"hotel"),
        ("X-Remote-extra-1-key1", b"alfa"),
        ("X-Remote-extra-1-key1", b"bravo"),
        ("X-Remote-Extra-1-Key2", b"charlie"),
        ("X-Remote-Extra-1-Key2", b"delta"),
        ("X-Remote-Extra-1-", b"india"),
        ("X-Remote-Extra-1-", b"juliet"),
    ]);
    let u = user_from_headers(&h, &extra).unwrap();
    let want: BTreeMap<String, Vec<String>> = [
        ("key1", ["alfa", "bravo", "echo", "foxtrot"]),
        ("key2", ["charlie", "delta", "golf", "hotel"]),
        ("", ["india", "juliet", "kilo", "lima"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
    .collect();
    assert_eq!(u.extra, want);
    assert!(has_requestheaders(
        &headers(&[("X-Remote-Extra-1-", b"x")]),
        &extra
    ));
    // "escaped extra keys" (the backslash of upstream's last header name
    // is not a token character, so the http crate refuses it).
    let escaped = s(
        &["X-Remote-User"],
        &["X-Remote-Group"],
        &["X-Remote-Extra-"],
    );
    let h = headers(&[
        ("X-Remote-User", b"Bob"),
        ("X-Remote-Group", b"one-a"),
        ("X-Remote-Group", b"one-b"),
        ("X-Remote-Extra-Alpha", b"alphabetical"),
        ("X-Remote-Extra-Alph4num3r1c", b"alphanumeric"),
        ("X-Remote-Extra-Percent%20encoded", b"percent encoded"),
        (
            "X-Remote-Extra-Almost%zzpercent%xxencoded",
            b"not quite percent encoded",
        ),
        (
            "X-Remote-Extra-Example.com%2fpercent%2520encoded",
            b"url with double percent encoding",
        ),
        (
            "X-Remote-Extra-Example.com%2F%E4%BB%8A%E6%97%A5%E3%81%AF",
            b"url with unicode",
        ),
        (
            "X-Remote-Extra-Abc123!#$+.-_*^`~|'",
            b"header key legal characters",
        ),
    ]);
    let u = user_from_headers(&h, &escaped).unwrap();
    assert_eq!(u.groups, ["one-a", "one-b"]);
    let want: BTreeMap<String, Vec<String>> = [
        ("alpha", "alphabetical"),
        ("alph4num3r1c", "alphanumeric"),
        ("percent encoded", "percent encoded"),
        ("almost%zzpercent%xxencoded", "not quite percent encoded"),
        (
            "example.com/percent%20encoded",
            "url with double percent encoding",
        ),
        ("example.com/今日は", "url with unicode"),
        ("abc123!#$+.-_*^`~|'", "header key legal characters"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
    .collect();
    assert_eq!(u.extra, want);
}

#[test]
fn extra_keys_unescape_only_when_every_escape_is_valid() {
    // url.PathUnescape fails on any bad escape; unescapeExtraKey then keeps the key.
    assert_eq!(unescape_extra_key("a%2fb%zz"), "a%2fb%zz");
    assert_eq!(unescape_extra_key("a%2fb"), "a/b");
    assert_eq!(unescape_extra_key("a%2"), "a%2");
    assert_eq!(unescape_extra_key("100%"), "100%");
    assert_eq!(unescape_extra_key("a+b"), "a+b");
    // Decoded bytes that are not UTF-8 become U+FFFD, as in Go's JSON.
    assert_eq!(unescape_extra_key("%ff"), "\u{fffd}");
}

#[test]
fn non_ascii_header_bytes_are_read_as_utf8() {
    let h = headers(&[
        ("x-remote-user", "José".as_bytes()),
        ("x-remote-uid", "ü-1".as_bytes()),
        ("x-remote-group", "équipe".as_bytes()),
        ("x-remote-extra-team", "données".as_bytes()),
        ("x-remote-extra-raw", b"a\xffb"),
    ]);
    assert!(has_username(&h, &settings()));
    let u = user_from_headers(&h, &settings()).unwrap();
    assert_eq!(u.username, "José");
    assert_eq!(u.uid, "ü-1");
    assert_eq!(u.groups, ["équipe"]);
    assert_eq!(u.extra["team"], ["données"]);
    assert_eq!(u.extra["raw"], ["a\u{fffd}b"]);
}

#[test]
fn username_rule_is_the_same_for_the_key_and_the_user() {
    // An empty first value is no username, whatever follows (h.Get reads the first).
    let h = headers(&[("x-remote-user", b""), ("x-remote-user", b"bob")]);
    let mut key = Vec::new();
    assert!(!requestheader_key(&h, &settings(), &mut key));
    assert!(!has_username(&h, &settings()));
    assert!(user_from_headers(&h, &settings()).is_none());
    assert!(!key.is_empty(), "the headers are still part of the key");
    let h = headers(&[("x-remote-user", b"bob"), ("x-remote-user", b"")]);
    assert!(requestheader_key(&h, &settings(), &mut Vec::new()));
    assert_eq!(user_from_headers(&h, &settings()).unwrap().username, "bob");
}

#[test]
fn empty_group_values_are_skipped() {
    let h = headers(&[
        ("x-remote-user", b"bob"),
        ("x-remote-group", b""),
        ("x-remote-group", b"g"),
        ("x-remote-extra-e", b""),
    ]);
    let u = user_from_headers(&h, &settings()).unwrap();
    assert_eq!(u.groups, ["g"]);
    // allHeaderValues skips empties, newExtra keeps them.
    assert_eq!(u.extra["e"], [""]);
    let h = headers(&[("x-remote-user", b"bob"), ("x-remote-group", b"")]);
    assert!(
        user_from_headers(&h, &settings())
            .unwrap()
            .groups
            .is_empty()
    );
}

#[test]
fn authenticated_group_added_like_upstream() {
    let user = |name: &str, groups: &[&str]| UserInfo {
        username: name.into(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        ..UserInfo::default()
    };
    for (before, after) in [
        (user("bob", &[]), &["system:authenticated"][..]),
        (user("bob", &["devs"]), &["devs", "system:authenticated"]),
        (
            user("bob", &["system:authenticated", "devs"]),
            &["system:authenticated", "devs"],
        ),
        (
            user("bob", &["system:unauthenticated"]),
            &["system:unauthenticated"],
        ),
        (user("system:anonymous", &[]), &[]),
    ] {
        let mut u = before.clone();
        add_authenticated_group(&mut u);
        assert_eq!(u.groups, after, "{before:?}");
    }
}
