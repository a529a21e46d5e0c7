//! Tests of the SubjectAccessReview spec, the 403 message and the choice of authenticator.

use super::*;

#[test]
fn sar_spec_for_an_hpa_request() {
    let info = RequestInfo::new(
        "GET",
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/ai/queue_depth",
        Some("labelSelector=queue%20in%20(a%2Cb)%2Cservice%3Dgw"),
    )
    .unwrap();
    let user = UserInfo {
        username: "system:serviceaccount:kube-system:horizontal-pod-autoscaler".into(),
        groups: vec!["system:serviceaccounts".into()],
        ..UserInfo::default()
    };
    let selector = Selector::parse(&info.label_selector).unwrap();
    let v = serde_json::to_value(sar_spec(&user, &info, Some(&selector))).unwrap();
    assert_eq!(
        v,
        serde_json::json!({
            "user": "system:serviceaccount:kube-system:horizontal-pod-autoscaler",
            "groups": ["system:serviceaccounts"],
            "resourceAttributes": {
                "namespace": "ai",
                "verb": "list",
                "group": "external.metrics.k8s.io",
                "version": "v1beta1",
                "resource": "queue_depth",
                "labelSelector": {"requirements": [
                    {"key": "queue", "operator": "In", "values": ["a", "b"]},
                    {"key": "service", "operator": "In", "values": ["gw"]}
                ]}
            }
        })
    );
    let info = RequestInfo::new("GET", "/apis/external.metrics.k8s.io/v1beta1", None).unwrap();
    let v = serde_json::to_value(sar_spec(&user, &info, None)).unwrap();
    assert_eq!(
        v["nonResourceAttributes"],
        serde_json::json!({"path": "/apis/external.metrics.k8s.io/v1beta1", "verb": "get"})
    );
}

#[test]
fn forbidden_statuses_like_upstream() {
    let u = UserInfo {
        username: "bob".into(),
        ..UserInfo::default()
    };
    let status = |path: &str, query: Option<&str>, reason: &str| {
        let info = RequestInfo::new("GET", path, query).unwrap();
        serde_json::to_value(forbidden(&u, &info, reason).status()).unwrap()
    };
    let v = status(
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/ai/queue_depth",
        None,
        "no RBAC policy matched",
    );
    assert_eq!(
        v["message"],
        "queue_depth.external.metrics.k8s.io is forbidden: User \"bob\" cannot list resource \"queue_depth\" in API group \"external.metrics.k8s.io\" in the namespace \"ai\": no RBAC policy matched"
    );
    assert_eq!(
        v["details"],
        serde_json::json!({"group": "external.metrics.k8s.io", "kind": "queue_depth"})
    );
    assert_eq!(v["reason"], "Forbidden");
    assert_eq!(v["code"], 403);
    // A named object (and the cluster scope).
    let v = status(
        "/apis/external.metrics.k8s.io/v1beta1/queue_depth/q1",
        None,
        "",
    );
    assert_eq!(
        v["message"],
        "queue_depth.external.metrics.k8s.io \"q1\" is forbidden: User \"bob\" cannot get resource \"queue_depth\" in API group \"external.metrics.k8s.io\" at the cluster scope"
    );
    assert_eq!(
        v["details"],
        serde_json::json!({"group": "external.metrics.k8s.io", "kind": "queue_depth", "name": "q1"})
    );
    // Non-resource: no group-resource, empty details.
    let v = status("/apis", None, "");
    assert_eq!(
        v["message"],
        "forbidden: User \"bob\" cannot get path \"/apis\""
    );
    assert_eq!(v["details"], serde_json::json!({}));
    // forbiddenMessage is HTML-escaped, the reason is not.
    let v = status("/a&b<c>", None, "<why>");
    assert_eq!(
        v["message"],
        "forbidden: User \"bob\" cannot get path \"/a&amp;b&lt;c&gt;\": <why>"
    );
}

#[test]
fn front_proxy_without_username_falls_back_to_its_certificate_user() {
    let settings = Settings {
        username_headers: vec!["x-remote-user".into()],
        group_headers: vec!["x-remote-group".into()],
        ..Settings::default()
    };
    let carol = UserInfo {
        username: "carol".into(),
        ..UserInfo::default()
    };
    let proxy = PeerIdentity::FrontProxy(Some(carol.clone()));
    let mut h = HeaderMap::new();
    let mut key = Vec::new();
    assert!(matches!(
        principal(&proxy, &h, &settings, &mut key),
        Ok(Principal::Cert(u)) if *u == carol
    ));
    assert_eq!(key.first(), Some(&b'U'));
    // An empty first username value is no username either (headerValue).
    h.append("x-remote-user", "".parse().unwrap());
    h.append("x-remote-user", "bob".parse().unwrap());
    assert!(matches!(
        principal(&proxy, &h, &settings, &mut Vec::new()),
        Ok(Principal::Cert(_))
    ));
    // ... and with no certificate user, a bearer token is next.
    h.insert(header::AUTHORIZATION, "Bearer t".parse().unwrap());
    assert!(matches!(
        principal(
            &PeerIdentity::FrontProxy(None),
            &h,
            &settings,
            &mut Vec::new()
        ),
        Ok(Principal::Token("t"))
    ));
    // A username header: the proxy asserts.
    h.insert("x-remote-user", "bob".parse().unwrap());
    assert!(matches!(
        principal(&proxy, &h, &settings, &mut Vec::new()),
        Ok(Principal::Proxy)
    ));
    // Headers without a verified proxy certificate are refused (deliberate).
    assert!(matches!(
        principal(&PeerIdentity::User(carol), &h, &settings, &mut Vec::new()),
        Err(ApiError::Unauthorized)
    ));
}

#[test]
fn bearer_tokens() {
    let mut h = HeaderMap::new();
    assert_eq!(bearer(&h), None);
    for (value, token) in [
        ("Bearer abc", Some("abc")),
        (" BEARER abc ", Some("abc")),
        ("bearer\tabc", None),
        // SplitN(auth, " ", 3): two spaces leave an empty second part.
        ("bearer  xyz ", None),
        ("Bearer abc def", Some("abc")),
        ("Bearer abc def ghi", Some("abc")),
        ("Basic abc", None),
        ("Bearer ", None),
        ("Bearer", None),
    ] {
        h.insert(header::AUTHORIZATION, value.parse().unwrap());
        assert_eq!(bearer(&h), token, "{value:?}");
    }
}

/// A Kubernetes API in a closure (no sockets, so tokio's clock can be
/// paused): every token is `alice`'s, every SubjectAccessReview is allowed,
/// and the paths posted to are recorded.
fn fake_kube(posts: Arc<std::sync::Mutex<Vec<String>>>) -> kube::Client {
    let service = tower::service_fn(move |req: axum::http::Request<kube::client::Body>| {
        let posts = posts.clone();
        async move {
            let path = req.uri().path().to_string();
            let status = if path.ends_with("/tokenreviews") {
                serde_json::json!({"authenticated": true, "user": {"username": "alice"}})
            } else {
                serde_json::json!({"allowed": true})
            };
            posts.lock().unwrap().push(path);
            let body = serde_json::json!({"spec": {}, "status": status});
            Ok::<_, std::convert::Infallible>(axum::http::Response::new(kube::client::Body::from(
                serde_json::to_vec(&body).unwrap(),
            )))
        }
    });
    kube::Client::new(service, "default")
}

/// Whole answers are reused until the earliest expiry of the reviews they
/// were made of, then asked again.
#[tokio::test(start_paused = true)]
async fn answers_expire_with_the_shortest_review_ttl() {
    let posts = Arc::new(std::sync::Mutex::new(Vec::new()));
    let auth = Auth::new(
        fake_kube(posts.clone()),
        Options {
            skip_lookup: true,
            token_cache_ttl: Duration::from_secs(10),
            allow_cache_ttl: Duration::from_secs(3),
            ..Options::default()
        },
    )
    .await
    .unwrap();
    let uri: Uri =
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/ai/queue_depth?labelSelector=queue%3Dgw"
            .parse()
            .unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(header::AUTHORIZATION, "Bearer t".parse().unwrap());
    let selectors = selector::Cache::new();
    let label_selector = selectors.lazy(uri.query());
    let check = || {
        auth.check(Request {
            peer: None,
            method: &Method::GET,
            uri: &uri,
            headers: &headers,
            label_selector: &label_selector,
        })
    };
    let counts = || {
        let posts = posts.lock().unwrap();
        let tokens = posts
            .iter()
            .filter(|p| p.ends_with("/tokenreviews"))
            .count();
        (tokens, posts.len() - tokens)
    };
    assert_eq!(check().await, Ok(()));
    assert_eq!(counts(), (1, 1));
    tokio::time::advance(Duration::from_millis(2999)).await;
    assert_eq!(check().await, Ok(()));
    assert_eq!(counts(), (1, 1));
    // The allow TTL is over: the SubjectAccessReview is asked again, the
    // TokenReview answer still holds.
    tokio::time::advance(Duration::from_millis(1)).await;
    assert_eq!(check().await, Ok(()));
    assert_eq!(counts(), (1, 2));
    tokio::time::advance(Duration::from_secs(7)).await;
    assert_eq!(check().await, Ok(()));
    assert_eq!(counts(), (2, 3));
}
