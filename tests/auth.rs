//! Delegated authentication and authorization against the fake Kubernetes
//! API (tests/support/kube_api.rs), with certificates made here, and the
//! serving certificate reloaded from disk.

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
        json!({"user": "alice", "nonResourceAttributes": {"path": "/apis/external.metrics.k8s.io/v1beta1", "verb": "get"}})
    );
    // Denied: 403 naming the user and what was refused.
    let r = w.get(&proxy, METRIC, &[("X-Remote-User", "bob")]).await;
    assert_status(&r, 403, "Forbidden");
    assert_eq!(
        r.json["message"],
        "User \"bob\" cannot list resource \"queue_depth\" in API group \"external.metrics.k8s.io\" in the namespace \"ai-platform\": no RBAC policy matched"
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
    assert_eq!(sar["spec"]["groups"], json!(["ml-team"]));
    let dave = client(Some(w.users.client("dave", &[]).identity()));
    assert_status(&w.get(&dave, METRIC, &[]).await, 403, "Forbidden");
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
        // A new client per attempt: identity is worked out once per connection.
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
    if std::process::Command::new("kubectl")
        .arg("version")
        .arg("--client")
        .output()
        .is_err()
    {
        eprintln!("SKIP: kubectl not installed");
        return;
    }
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
