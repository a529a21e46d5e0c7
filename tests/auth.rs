//! Delegated authentication and authorization against the fake Kubernetes
//! API (tests/support/kube_api.rs), with certificates made here, and the
//! serving certificate reloaded from disk. What the SubjectAccessReviews
//! carry is compared with what `k8s.io/apiserver` sends (docs/AUTH.md).

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use queue_metrics_adapter::auth::{Auth, Options};
use queue_metrics_adapter::{cli, tls};
use serde_json::{Value, json};
use support::RedisServer;
use support::adapter::{Adapter, Answer, answer, assert_status, client};
use support::kube_api::FakeKube;
use support::pki::{Ca, Pair};

const METRIC: &str = "/apis/external.metrics.k8s.io/v1beta1/namespaces/ai-platform/queue_depth";

struct World {
    _redis: RedisServer,
    kube: FakeKube,
    front: Ca,
    users: Ca,
    adapter: Adapter,
    dir: PathBuf,
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn temp_dir(tag: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let d = std::env::temp_dir().join(format!("qma-{tag}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Redis with a gateway queue, the fake API with the extension-apiserver-authentication
/// ConfigMap (front-proxy CA allowing CN `front-proxy-client`, client CA), and the adapter.
async fn world(options: Options) -> World {
    tls::install_crypto_provider();
    let redis = RedisServer::start();
    redis.cmd(&["RPUSH", "gw", "a", "b", "c"]);
    let front = Ca::new("front-proxy-ca");
    let users = Ca::new("kubernetes-ca");
    let kube = FakeKube::start().await;
    kube.put_extension_auth(&front.pem(), &users.pem(), &["front-proxy-client"]);
    let dir = temp_dir("auth");
    let client = cli::kube_client(Some(&kube.kubeconfig(&dir)))
        .await
        .unwrap();
    let auth = Auth::new(client, options)
        .await
        .expect("auth reads the ConfigMap");
    let yaml = format!(
        "redis:\n  url: {}\npoll_interval: 100ms\nqueues:\n  - {{name: gateway, namespaces: [ai-platform], key: gw, type: list}}\n",
        redis.url()
    );
    let cert = tls::ReloadingCert::new(None, None).unwrap();
    let mut adapter = Adapter::start_with(&yaml, cert, Some(auth.clone()), None).await;
    adapter.running.spawn(auth.watch_configmap());
    adapter.wait_ready().await;
    World {
        _redis: redis,
        kube,
        front,
        users,
        adapter,
        dir,
    }
}

impl World {
    async fn get(&self, c: &reqwest::Client, path: &str, headers: &[(&str, &str)]) -> Answer {
        let mut req = c.get(format!("{}{}", self.adapter.base(), path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        answer(req.send().await.expect("request")).await
    }

    fn proxy(&self) -> reqwest::Client {
        client(Some(
            self.front.client("front-proxy-client", &[]).identity(),
        ))
    }
}

fn allow_alice_and_hpa(spec: &Value) -> (bool, String) {
    match spec["user"].as_str() {
        Some("alice" | "carol" | "system:serviceaccount:kube-system:horizontal-pod-autoscaler") => {
            (
                true,
                "RBAC: allowed by ClusterRoleBinding \"hpa-external-metrics\"".into(),
            )
        }
        _ => (false, "no RBAC policy matched".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credentials_is_401_but_health_stays_open() {
    support::require_redis!();
    let w = world(Options::default()).await;
    let anon = client(None);
    assert_status(&w.get(&anon, METRIC, &[]).await, 401, "Unauthorized");
    assert_status(&w.get(&anon, "/apis", &[]).await, 401, "Unauthorized");
    // Upstream with anonymous auth would ask a SubjectAccessReview for
    // system:anonymous here; we answer 401 (docs/AUTH.md, "No credentials").
    for closed in ["/version", "/openapi/v2", "/healthz/", "/livez/x"] {
        assert_status(&w.get(&anon, closed, &[]).await, 401, "Unauthorized");
    }
    for open in ["/livez", "/readyz", "/healthz"] {
        assert_eq!(w.get(&anon, open, &[]).await.code, 200, "{open}");
    }
    // A token the API does not know.
    assert_status(
        &w.get(&anon, METRIC, &[("Authorization", "Bearer nope")])
            .await,
        401,
        "Unauthorized",
    );
    assert!(w.kube.posts("subjectaccessreviews").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_from_unknown_ca_is_refused() {
    support::require_redis!();
    let w = world(Options::default()).await;
    let evil = Ca::new("evil-ca").client("front-proxy-client", &["system:masters"]);
    let r = client(Some(evil.identity()))
        .get(format!("{}{}", w.adapter.base(), METRIC))
        .header("X-Remote-User", "alice")
        .send()
        .await;
    assert!(
        r.is_err(),
        "handshake with an unknown CA's certificate must fail: {r:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requestheaders_need_an_allowed_front_proxy_certificate() {
    support::require_redis!();
    let w = world(Options::default()).await;
    w.kube.set_authorizer(allow_alice_and_hpa);
    // Headers without any certificate.
    let anon = client(None);
    assert_status(
        &w.get(&anon, METRIC, &[("X-Remote-User", "alice")]).await,
        401,
        "Unauthorized",
    );
    // Headers with a valid token: still refused, the headers are never trusted without the proxy cert.
    w.kube.add_token(
        "hpa-token",
        json!({"username": "system:serviceaccount:kube-system:horizontal-pod-autoscaler"}),
    );
    let r = w
        .get(
            &anon,
            METRIC,
            &[
                ("Authorization", "Bearer hpa-token"),
                ("X-Remote-User", "alice"),
            ],
        )
        .await;
    assert_status(&r, 401, "Unauthorized");
    // Signed by the requestheader CA, but a CN that is not allowed.
    let other = client(Some(w.front.client("someone-else", &[]).identity()));
    assert_status(
        &w.get(&other, METRIC, &[("X-Remote-User", "alice")]).await,
        401,
        "Unauthorized",
    );
    // A user certificate (client CA) cannot assert other users either.
    let carol = client(Some(w.users.client("carol", &["ml"]).identity()));
    assert_status(
        &w.get(&carol, METRIC, &[("X-Remote-User", "alice")]).await,
        401,
        "Unauthorized",
    );
    assert!(w.kube.posts("subjectaccessreviews").is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_proxy_headers_reach_the_subject_access_review_exactly() {
    support::require_redis!();
    let w = world(Options::default()).await;
    w.kube.set_authorizer(allow_alice_and_hpa);
    let proxy = w.proxy();
    let path = format!("{METRIC}?labelSelector=queue%3Dgateway");
    let headers = [
        ("X-Remote-User", "alice"),
        ("X-Remote-Group", "devs"),
        ("X-Remote-Group", "system:authenticated"),
        ("X-Remote-Extra-Scopes", "s1"),
        ("X-Remote-Extra-Scopes", "s2"),
        ("X-Remote-Extra-Example.com%2fTeam", "ml"),
    ];
    let r = w.get(&proxy, &path, &headers).await;
    assert_eq!(r.code, 200, "{r:?}");
    assert_eq!(r.json["items"][0]["value"], "3");
    let sars = w.kube.posts("subjectaccessreviews");
    assert_eq!(sars.len(), 1);
    assert_eq!(sars[0]["kind"], "SubjectAccessReview");
    assert_eq!(sars[0]["apiVersion"], "authorization.k8s.io/v1");
    assert_eq!(
        sars[0]["spec"],
        json!({
            "user": "alice",
            "groups": ["devs", "system:authenticated"],
            "extra": {"scopes": ["s1", "s2"], "example.com/team": ["ml"]},
            "resourceAttributes": {
                "namespace": "ai-platform",
                "verb": "list",
                "group": "external.metrics.k8s.io",
                "version": "v1beta1",
                "resource": "queue_depth",
                "labelSelector": {"requirements": [{"key": "queue", "operator": "In", "values": ["gateway"]}]}
            }
        })
    );
    // Discovery is a non-resource request.
    let r = w
        .get(
            &proxy,
            "/apis/external.metrics.k8s.io/v1beta1",
            &[("X-Remote-User", "alice")],
        )
        .await;
    assert_eq!(r.code, 200, "{r:?}");
    let sars = w.kube.posts("subjectaccessreviews");
    assert_eq!(
        sars.last().unwrap()["spec"],
        json!({"user": "alice", "groups": ["system:authenticated"], "nonResourceAttributes": {"path": "/apis/external.metrics.k8s.io/v1beta1", "verb": "get"}})
    );
    // Denied: 403 naming the user and what was refused (NewForbidden's shape).
    let r = w.get(&proxy, METRIC, &[("X-Remote-User", "bob")]).await;
    assert_status(&r, 403, "Forbidden");
    assert_eq!(
        r.json["message"],
        "queue_depth.external.metrics.k8s.io is forbidden: User \"bob\" cannot list resource \"queue_depth\" in API group \"external.metrics.k8s.io\" in the namespace \"ai-platform\": no RBAC policy matched"
    );
    assert_eq!(
        r.json["details"],
        json!({"group": "external.metrics.k8s.io", "kind": "queue_depth"})
    );
    // system:masters is always allowed, without asking.
    let before = w.kube.posts("subjectaccessreviews").len();
    let r = w
        .get(
            &proxy,
            METRIC,
            &[
                ("X-Remote-User", "root"),
                ("X-Remote-Group", "system:masters"),
            ],
        )
        .await;
    assert_eq!(r.code, 200, "{r:?}");
    assert_eq!(w.kube.posts("subjectaccessreviews").len(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_user_is_cn_and_groups_are_o() {
    support::require_redis!();
    let w = world(Options::default()).await;
    w.kube.set_authorizer(allow_alice_and_hpa);
    // (rcgen writes one O per subject; the parser reads every O.)
    let carol = client(Some(w.users.client("carol", &["ml-team"]).identity()));
    let r = w.get(&carol, METRIC, &[]).await;
    assert_eq!(r.code, 200, "{r:?}");
    let sar = w.kube.posts("subjectaccessreviews").pop().unwrap();
    assert_eq!(sar["spec"]["user"], "carol");
    assert_eq!(
        sar["spec"]["groups"],
        json!(["ml-team", "system:authenticated"])
    );
    let dave = client(Some(w.users.client("dave", &[]).identity()));
    assert_status(&w.get(&dave, METRIC, &[]).await, 403, "Forbidden");
}

/// `X509SHA256=<hex of sha256(leaf DER)>`, upstream's credential id of a certificate.
fn credential_id(pair: &Pair) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, &der_of(&pair.cert));
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("X509SHA256={hex}")
}

/// The first "must show": the aggregator downloading `/openapi/v2`
/// as `system:aggregator` with no groups reaches the SubjectAccessReview in
/// `system:authenticated`, so the usual RBAC (a binding to that group) lets it in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregator_without_groups_reaches_the_sar_as_system_authenticated() {
    support::require_redis!();
    let w = world(Options::default()).await;
    // Like system:public-info-viewer / system:discovery: bound to system:authenticated.
    w.kube.set_authorizer(|spec: &Value| {
        let authenticated = spec["groups"]
            .as_array()
            .is_some_and(|g| g.iter().any(|g| g == "system:authenticated"));
        let path = spec["nonResourceAttributes"]["path"].as_str();
        if authenticated && path == Some("/openapi/v2") {
            (true, String::new())
        } else {
            (false, "no RBAC policy matched".into())
        }
    });
    let proxy = w.proxy();
    let aggregator = [("X-Remote-User", "system:aggregator")];
    let r = w.get(&proxy, "/openapi/v2", &aggregator).await;
    assert_eq!(r.code, 200, "{r:?}");
    let sars = w.kube.posts("subjectaccessreviews");
    assert_eq!(sars.len(), 1);
    assert_eq!(
        sars[0]["spec"],
        json!({
            "user": "system:aggregator",
            "groups": ["system:authenticated"],
            "nonResourceAttributes": {"path": "/openapi/v2", "verb": "get"}
        })
    );
    // A non-resource denial: "forbidden: ..." and empty details, as NewForbidden
    // with an empty group-resource.
    let r = w.get(&proxy, "/version", &aggregator).await;
    assert_status(&r, 403, "Forbidden");
    assert_eq!(
        r.json["message"],
        "forbidden: User \"system:aggregator\" cannot get path \"/version\": no RBAC policy matched"
    );
    assert_eq!(r.json["details"], json!({}));
}

/// The second "must show": a client certificate without an O (and
/// with upstream's UID attribute) reaches the SubjectAccessReview with
/// `system:authenticated`, its UID and its credential id.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificate_without_o_reaches_the_sar_as_system_authenticated() {
    support::require_redis!();
    let w = world(Options::default()).await;
    w.kube.set_authorizer(allow_alice_and_hpa);
    let carol = w.users.client("carol", &[]);
    let r = w.get(&client(Some(carol.identity())), METRIC, &[]).await;
    assert_eq!(r.code, 200, "{r:?}");
    let sar = w.kube.posts("subjectaccessreviews").pop().unwrap();
    assert_eq!(
        sar["spec"],
        json!({
            "user": "carol",
            "groups": ["system:authenticated"],
            "extra": {"authentication.kubernetes.io/credential-id": [credential_id(&carol)]},
            "resourceAttributes": {
                "namespace": "ai-platform", "verb": "list", "group": "external.metrics.k8s.io",
                "version": "v1beta1", "resource": "queue_depth"
            }
        })
    );
    // The UID subject attribute (AllowParsingUserUIDFromCertAuth).
    let with_uid = w.users.client_with("carol", &["ml"], Some("c-42"), None);
    let r = w.get(&client(Some(with_uid.identity())), METRIC, &[]).await;
    assert_eq!(r.code, 200, "{r:?}");
    let sar = w.kube.posts("subjectaccessreviews").pop().unwrap();
    assert_eq!(sar["spec"]["uid"], "c-42");
    assert_eq!(sar["spec"]["groups"], json!(["ml", "system:authenticated"]));
    assert_eq!(
        sar["spec"]["extra"]["authentication.kubernetes.io/credential-id"],
        json!([credential_id(&with_uid)])
    );
    // An empty UID is an error of the x509 step: no user, and without a token, 401.
    let empty_uid = w.users.client_with("carol", &[], Some(""), None);
    let r = w
        .get(&client(Some(empty_uid.identity())), METRIC, &[])
        .await;
    assert_status(&r, 401, "Unauthorized");
}

/// A front proxy may assert `system:anonymous` in `system:unauthenticated`:
/// the group adder leaves both alone (no `system:authenticated`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_asserted_by_the_front_proxy_gets_no_system_authenticated() {
    support::require_redis!();
    let w = world(Options::default()).await;
    let proxy = w.proxy();
    let r = w
        .get(
            &proxy,
            "/apis",
            &[
                ("X-Remote-User", "system:anonymous"),
                ("X-Remote-Group", "system:unauthenticated"),
            ],
        )
        .await;
    assert_status(&r, 403, "Forbidden");
    let r = w
        .get(&proxy, "/version", &[("X-Remote-User", "system:anonymous")])
        .await;
    assert_status(&r, 403, "Forbidden");
    let r = w
        .get(
            &proxy,
            "/openapi/v2",
            &[
                ("X-Remote-User", "bob"),
                ("X-Remote-Group", "system:unauthenticated"),
            ],
        )
        .await;
    assert_status(&r, 403, "Forbidden");
    let specs: Vec<Value> = w
        .kube
        .posts("subjectaccessreviews")
        .into_iter()
        .map(|s| s["spec"].clone())
        .collect();
    assert_eq!(
        specs,
        [
            json!({"user": "system:anonymous", "groups": ["system:unauthenticated"], "nonResourceAttributes": {"path": "/apis", "verb": "get"}}),
            json!({"user": "system:anonymous", "nonResourceAttributes": {"path": "/version", "verb": "get"}}),
            json!({"user": "bob", "groups": ["system:unauthenticated"], "nonResourceAttributes": {"path": "/openapi/v2", "verb": "get"}}),
        ]
    );
}

/// requestheader details that differed from `headerrequest`: UTF-8 values,
/// an empty first username value (no opinion: the chain goes on), empty
/// group values, a header equal to the extra prefix, malformed escapes; and
/// `SplitN` bearer parsing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_proxy_headers_parsed_like_headerrequest() {
    support::require_redis!();
    let w = world(Options::default()).await;
    w.kube.set_authorizer(|_| (true, String::new()));
    let hpa = "system:serviceaccount:kube-system:horizontal-pod-autoscaler";
    w.kube.add_token("hpa-token", json!({"username": hpa}));
    let proxy = w.proxy();
    let url = format!("{}/apis", w.adapter.base());
    let send = |headers: Vec<(&'static str, &'static [u8])>| {
        let mut req = proxy.get(&url);
        for (k, v) in headers {
            req = req.header(k, reqwest::header::HeaderValue::from_bytes(v).unwrap());
        }
        async move { answer(req.send().await.expect("request")).await }
    };
    let last_spec = || w.kube.posts("subjectaccessreviews").pop().unwrap()["spec"].clone();

    // Raw header bytes are UTF-8 (Go passes them on as they are).
    let r = send(vec![
        ("X-Remote-User", "José".as_bytes()),
        ("X-Remote-Group", "équipe".as_bytes()),
    ])
    .await;
    assert_eq!(r.code, 200, "{r:?}");
    assert_eq!(
        last_spec(),
        json!({"user": "José", "groups": ["équipe", "system:authenticated"], "nonResourceAttributes": {"path": "/apis", "verb": "get"}})
    );

    // Empty group values are skipped; the extra prefix alone is the key "";
    // a malformed escape keeps the whole key.
    let r = send(vec![
        ("X-Remote-User", b"alice"),
        ("X-Remote-Group", b""),
        ("X-Remote-Group", b"devs"),
        ("X-Remote-Extra-", b"bare"),
        ("X-Remote-Extra-A%2fb%zz", b"kept"),
    ])
    .await;
    assert_eq!(r.code, 200, "{r:?}");
    assert_eq!(
        last_spec(),
        json!({
            "user": "alice",
            "groups": ["devs", "system:authenticated"],
            "extra": {"": ["bare"], "a%2fb%zz": ["kept"]},
            "nonResourceAttributes": {"path": "/apis", "verb": "get"}
        })
    );

    // An empty first username value is no username: the requestheader step has
    // no opinion, the proxy certificate is no client-CA user, the token decides.
    let r = send(vec![
        ("X-Remote-User", b""),
        ("X-Remote-User", b"bob"),
        ("Authorization", b"Bearer hpa-token"),
    ])
    .await;
    assert_eq!(r.code, 200, "{r:?}");
    assert_eq!(last_spec()["user"], hpa);
    // ... and without a token, nobody.
    let r = send(vec![("X-Remote-User", b""), ("X-Remote-User", b"bob")]).await;
    assert_status(&r, 401, "Unauthorized");

    // Bearer parsing: SplitN(auth, " ", 3), the second part is the token.
    let anon = client(None);
    let r = w
        .get(
            &anon,
            "/apis",
            &[("Authorization", "Bearer hpa-token trailing")],
        )
        .await;
    assert_eq!(r.code, 200, "{r:?}");
    let r = w
        .get(&anon, "/apis", &[("Authorization", "Bearer  hpa-token")])
        .await;
    assert_status(&r, 401, "Unauthorized");
    let tokens: Vec<Value> = w
        .kube
        .posts("tokenreviews")
        .into_iter()
        .map(|t| t["spec"]["token"].clone())
        .collect();
    assert_eq!(tokens, [json!("hpa-token")]);
}

/// When the requestheader CA is also the client CA and the CN may proxy, a
/// certificate without a username header is still its own user (upstream:
/// requestheader has no opinion, x509 authenticates it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_cas_certificate_without_headers_is_its_own_user() {
    support::require_redis!();
    let w = world(Options::default()).await;
    w.kube.set_authorizer(allow_alice_and_hpa);
    // One CA for both, any CN may proxy.
    w.kube
        .put_extension_auth(&w.front.pem(), &w.front.pem(), &[]);
    let carol = w.front.client("carol", &["ml"]);
    let c = client(Some(carol.identity()));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let r = w.get(&c, METRIC, &[]).await;
        if r.code == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ConfigMap change not applied: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sar = w.kube.posts("subjectaccessreviews").pop().unwrap();
    assert_eq!(sar["spec"]["user"], "carol", "{sar}");
    assert_eq!(sar["spec"]["groups"], json!(["ml", "system:authenticated"]));
    assert_eq!(
        sar["spec"]["extra"]["authentication.kubernetes.io/credential-id"],
        json!([credential_id(&carol)])
    );
    // With a username header the same certificate is a front proxy.
    let r = w.get(&c, METRIC, &[("X-Remote-User", "alice")]).await;
    assert_eq!(r.code, 200, "{r:?}");
    let sar = w.kube.posts("subjectaccessreviews").pop().unwrap();
    assert_eq!(sar["spec"]["user"], "alice");
    assert_eq!(sar["spec"]["groups"], json!(["system:authenticated"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_goes_through_token_review_then_sar_and_both_are_cached() {
    support::require_redis!();
    let w = world(Options::default()).await;
    w.kube.set_authorizer(allow_alice_and_hpa);
    w.kube.add_token(
        "hpa-token",
        json!({
            "username": "system:serviceaccount:kube-system:horizontal-pod-autoscaler",
            "uid": "5f4b6c1e",
            "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
            "extra": {"authentication.kubernetes.io/pod-name": ["kube-controller-manager-0"]}
        }),
    );
    let anon = client(None);
    let auth = [("Authorization", "Bearer hpa-token")];
    let r = w.get(&anon, METRIC, &auth).await;
    assert_eq!(r.code, 200, "{r:?}");
    let trs = w.kube.posts("tokenreviews");
    assert_eq!(trs.len(), 1);
    assert_eq!(trs[0]["kind"], "TokenReview");
    assert_eq!(trs[0]["apiVersion"], "authentication.k8s.io/v1");
    assert_eq!(trs[0]["spec"], json!({"token": "hpa-token"}));
    let sars = w.kube.posts("subjectaccessreviews");
    assert_eq!(sars.len(), 1);
    assert_eq!(
        sars[0]["spec"],
        json!({
            "user": "system:serviceaccount:kube-system:horizontal-pod-autoscaler",
            "uid": "5f4b6c1e",
            "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
            "extra": {"authentication.kubernetes.io/pod-name": ["kube-controller-manager-0"]},
            "resourceAttributes": {
                "namespace": "ai-platform", "verb": "list", "group": "external.metrics.k8s.io",
                "version": "v1beta1", "resource": "queue_depth"
            }
        })
    );
    // Within the TTL, repeated requests (new connections too) do not call the API again.
    for _ in 0..20 {
        assert_eq!(w.get(&client(None), METRIC, &auth).await.code, 200);
    }
    assert_eq!(w.kube.posts("tokenreviews").len(), 1);
    assert_eq!(w.kube.posts("subjectaccessreviews").len(), 1);
    // Denials are cached too.
    w.kube
        .add_token("intruder", json!({"username": "intruder"}));
    for _ in 0..5 {
        assert_status(
            &w.get(&anon, METRIC, &[("Authorization", "Bearer intruder")])
                .await,
            403,
            "Forbidden",
        );
    }
    assert_eq!(w.kube.posts("subjectaccessreviews").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_expires_after_its_ttl() {
    support::require_redis!();
    let w = world(Options {
        token_cache_ttl: Duration::from_millis(300),
        allow_cache_ttl: Duration::from_millis(300),
        ..Options::default()
    })
    .await;
    w.kube.set_authorizer(allow_alice_and_hpa);
    w.kube.add_token("t", json!({"username": "alice"}));
    let auth = [("Authorization", "Bearer t")];
    assert_eq!(w.get(&client(None), METRIC, &auth).await.code, 200);
    assert_eq!(w.get(&client(None), METRIC, &auth).await.code, 200);
    assert_eq!(w.kube.posts("tokenreviews").len(), 1);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(w.get(&client(None), METRIC, &auth).await.code, 200);
    assert_eq!(w.kube.posts("tokenreviews").len(), 2);
    assert_eq!(w.kube.posts("subjectaccessreviews").len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_api_down_fails_closed_with_503() {
    support::require_redis!();
    let w = world(Options::default()).await;
    w.kube.set_authorizer(allow_alice_and_hpa);
    w.kube.add_token("t", json!({"username": "alice"}));
    w.kube.set_down(true);
    let anon = client(None);
    // TokenReview cannot be made.
    let r = w.get(&anon, METRIC, &[("Authorization", "Bearer t")]).await;
    assert_status(&r, 503, "ServiceUnavailable");
    // SubjectAccessReview cannot be made: never allow.
    let r = w
        .get(&w.proxy(), METRIC, &[("X-Remote-User", "alice")])
        .await;
    assert_status(&r, 503, "ServiceUnavailable");
    assert!(
        r.json["message"]
            .as_str()
            .unwrap()
            .contains("SubjectAccessReview"),
        "{r:?}"
    );
    // Errors were not cached: once the API is back, the same request is allowed.
    w.kube.set_down(false);
    assert_eq!(
        w.get(&w.proxy(), METRIC, &[("X-Remote-User", "alice")])
            .await
            .code,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configmap_changes_are_followed() {
    support::require_redis!();
    let w = world(Options::default()).await;
    w.kube.set_authorizer(allow_alice_and_hpa);
    assert_eq!(
        w.get(&w.proxy(), METRIC, &[("X-Remote-User", "alice")])
            .await
            .code,
        200
    );
    // The apiserver now allows only another proxy name.
    w.kube
        .put_extension_auth(&w.front.pem(), &w.users.pem(), &["aggregator-v2"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        // A new client per attempt (open connections: see open_connection_follows_configmap_changes).
        let r = w
            .get(&w.proxy(), METRIC, &[("X-Remote-User", "alice")])
            .await;
        if r.code == 401 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ConfigMap change not applied: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let renamed = client(Some(w.front.client("aggregator-v2", &[]).identity()));
    assert_eq!(
        w.get(&renamed, METRIC, &[("X-Remote-User", "alice")])
            .await
            .code,
        200
    );
}

/// The real kubectl, through kubeconfigs with a client certificate and with a token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_with_client_certificate_and_with_token() {
    support::require_redis!();
    support::require!(Kubectl);
    let w = world(Options::default()).await;
    w.kube.set_authorizer(allow_alice_and_hpa);
    w.kube.add_token(
        "hpa-token",
        json!({"username": "system:serviceaccount:kube-system:horizontal-pod-autoscaler"}),
    );
    let carol: Pair = w.users.client("carol", &["ml"]);
    std::fs::write(w.dir.join("carol.crt"), &carol.cert).unwrap();
    std::fs::write(w.dir.join("carol.key"), &carol.key).unwrap();
    let user_cert = format!(
        "{{client-certificate: {}, client-key: {}}}",
        w.dir.join("carol.crt").display(),
        w.dir.join("carol.key").display()
    );
    for (name, user) in [
        ("cert", user_cert.as_str()),
        ("token", "{token: hpa-token}"),
    ] {
        let kubeconfig = w.dir.join(format!("kubeconfig-{name}"));
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: qma\n  cluster: {{server: \"{}\", insecure-skip-tls-verify: true}}\ncontexts:\n- name: qma\n  context: {{cluster: qma, user: u}}\ncurrent-context: qma\nusers:\n- name: u\n  user: {user}\n",
                w.adapter.base()
            ),
        )
        .unwrap();
        let dir = w.dir.clone();
        let out = tokio::task::spawn_blocking(move || {
            std::process::Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(&kubeconfig)
                .arg("--cache-dir")
                .arg(dir.join("cache"))
                .args(["get", "--raw", METRIC])
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(v["items"][0]["value"], "3", "{name}: {v}");
    }
    let users: Vec<_> = w
        .kube
        .posts("subjectaccessreviews")
        .iter()
        .map(|s| s["spec"]["user"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(users.contains(&"carol".to_string()), "{users:?}");
    assert!(
        users.contains(&"system:serviceaccount:kube-system:horizontal-pod-autoscaler".to_string()),
        "{users:?}"
    );
}

/// Accepts any server certificate (the adapter's is self-signed here).
#[derive(Debug)]
struct AnyServer;

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// One TLS connection presenting a client certificate, speaking HTTP/1.1
/// keep-alive: every request goes over the same connection.
struct KeepAlive {
    tls: tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
}

impl KeepAlive {
    async fn connect(addr: std::net::SocketAddr, pair: &Pair) -> KeepAlive {
        let certs = rustls_pemfile::certs(&mut pair.cert.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = rustls_pemfile::private_key(&mut pair.key.as_bytes())
            .unwrap()
            .unwrap();
        let cfg = rustls::ClientConfig::builder()
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServer))
            .with_client_auth_cert(certs, key)
            .unwrap();
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
            .connect("localhost".try_into().unwrap(), tcp)
            .await
            .unwrap();
        KeepAlive { tls }
    }

    /// GET `path` with `headers`; the status code.
    async fn get(&mut self, path: &str, headers: &[(&str, &str)]) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        self.tls.write_all(req.as_bytes()).await.unwrap();
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = self.tls.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "connection closed: {}",
                String::from_utf8_lossy(&buf)
            );
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let code: u16 = head[9..12].parse().unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map(|v| v.trim().parse().unwrap())
            .expect("a content-length");
        while buf.len() < head_end + length {
            let n = self.tls.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed mid-body");
            buf.extend_from_slice(&chunk[..n]);
        }
        code
    }
}

/// Upstream verifies the front proxy's certificate on every request; a
/// ConfigMap change narrowing the allowed names reaches connections already open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_connection_follows_configmap_changes() {
    support::require_redis!();
    let w = world(Options::default()).await;
    w.kube.set_authorizer(allow_alice_and_hpa);
    let alice = [("X-Remote-User", "alice")];
    let pair = w.front.client("front-proxy-client", &[]);
    let mut conn = KeepAlive::connect(w.adapter.running.api_addr, &pair).await;
    assert_eq!(conn.get(METRIC, &alice).await, 200);
    w.kube
        .put_extension_auth(&w.front.pem(), &w.users.pem(), &["aggregator-v2"]);
    // Wait on new connections until the change is applied ...
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while w.get(&w.proxy(), METRIC, &alice).await.code != 401 {
        assert!(
            std::time::Instant::now() < deadline,
            "ConfigMap change not applied"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // ... then the open one is refused too.
    assert_eq!(conn.get(METRIC, &alice).await, 401);
    // And allowed again when the name is back.
    w.kube
        .put_extension_auth(&w.front.pem(), &w.users.pem(), &["front-proxy-client"]);
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while conn.get(METRIC, &alice).await != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "ConfigMap change not applied"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A certificate that expires while its connection is open stops
/// authenticating (upstream verifies with `time.Now()` on every request).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_expiring_on_an_open_connection_is_refused() {
    support::require_redis!();
    let w = world(Options::default()).await;
    w.kube.set_authorizer(allow_alice_and_hpa);
    let alice = [("X-Remote-User", "alice")];
    let short = w.front.client_with(
        "front-proxy-client",
        &[],
        None,
        Some(Duration::from_secs(3)),
    );
    let mut conn = KeepAlive::connect(w.adapter.running.api_addr, &short).await;
    assert_eq!(conn.get(METRIC, &alice).await, 200);
    let carol = w
        .users
        .client_with("carol", &[], None, Some(Duration::from_secs(3)));
    let mut carol_conn = KeepAlive::connect(w.adapter.running.api_addr, &carol).await;
    assert_eq!(carol_conn.get(METRIC, &[]).await, 200);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(conn.get(METRIC, &alice).await, 401);
    assert_eq!(carol_conn.get(METRIC, &[]).await, 401);
}

/// Reads the certificate a fresh TLS connection is served, trusting only `ca`.
async fn served_cert(
    addr: std::net::SocketAddr,
    ca: &Ca,
) -> (
    Vec<u8>,
    tokio_rustls::client::TlsStream<tokio::net::TcpStream>,
) {
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls_pemfile::certs(&mut ca.pem().as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let cfg = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect("localhost".try_into().unwrap(), tcp)
        .await
        .unwrap();
    let der = tls.get_ref().1.peer_certificates().unwrap()[0].to_vec();
    (der, tls)
}

fn der_of(pem: &str) -> Vec<u8> {
    rustls_pemfile::certs(&mut pem.as_bytes())
        .next()
        .unwrap()
        .unwrap()
        .to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serving_certificate_replaced_on_disk_is_picked_up_without_restart() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    support::require_redis!();
    tls::install_crypto_provider();
    let redis = RedisServer::start();
    let dir = temp_dir("certs");
    let ca = Ca::new("serving-ca");
    let first = ca.server(&["localhost"]);
    let (crt, key) = (dir.join("tls.crt"), dir.join("tls.key"));
    std::fs::write(&crt, &first.cert).unwrap();
    std::fs::write(&key, &first.key).unwrap();
    let cert = tls::ReloadingCert::new(Some(&crt), Some(&key)).unwrap();
    let yaml = format!(
        "redis:\n  url: {}\nqueues:\n  - {{name: q, namespaces: [ns], key: q, type: list}}\n",
        redis.url()
    );
    let mut a = Adapter::start_with(&yaml, cert.clone(), None, None).await;
    a.wait_ready().await;
    a.running.spawn(cert.watch(Duration::from_millis(100)));
    let (der, mut old_conn) = served_cert(a.running.api_addr, &ca).await;
    assert_eq!(der, der_of(&first.cert));

    // A half-written pair is ignored (the old one keeps serving) ...
    std::fs::write(&crt, "-----BEGIN CERTIFICATE-----\ngarbage").unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        served_cert(a.running.api_addr, &ca).await.0,
        der_of(&first.cert)
    );
    // ... the complete new pair is picked up.
    let second = ca.server(&["localhost"]);
    std::fs::write(&key, &second.key).unwrap();
    std::fs::write(&crt, &second.cert).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        if served_cert(a.running.api_addr, &ca).await.0 == der_of(&second.cert) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "new certificate never served"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The connection opened before the rotation still works.
    old_conn
        .write_all(b"GET /livez HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut resp = String::new();
    old_conn.read_to_string(&mut resp).await.unwrap_or_default();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let _ = std::fs::remove_dir_all(&dir);
}
