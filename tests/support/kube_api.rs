//! The one fake Kubernetes API server of the test suite.
//!
//! A real kube-apiserver cannot run on the test machines, so this small HTTP
//! server on 127.0.0.1 answers what the adapter asks of Kubernetes with the
//! exact upstream JSON shapes, and records what it was sent:
//!
//! - `POST /apis/authentication.k8s.io/v1/tokenreviews` (TokenReview,
//!   `k8s.io/api/authentication/v1/types.go`);
//! - `POST /apis/authorization.k8s.io/v1/subjectaccessreviews`
//!   (SubjectAccessReview, `k8s.io/api/authorization/v1/types.go`);
//! - GET (one object), LIST and WATCH of any namespaced collection it is
//!   given objects for (`/api/v1/namespaces/{ns}/configmaps`,
//!   `/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices`, ...), with
//!   `fieldSelector=metadata.name=` and equality `labelSelector`s, and watch
//!   events as newline-delimited `{"type": ..., "object": ...}` frames.
//!
//! `set_down(true)` makes every call answer 503 with a `Status`, as an
//! overloaded or partitioned apiserver would.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::broadcast;

/// Decides a SubjectAccessReview spec: (allowed, reason).
pub type Authorizer = Box<dyn Fn(&Value) -> (bool, String) + Send + Sync>;

struct Inner {
    /// token → `status.user` of its TokenReview.
    tokens: Mutex<BTreeMap<String, Value>>,
    authorizer: Mutex<Authorizer>,
    /// (path, body) of every POST.
    posts: Mutex<Vec<(String, Value)>>,
    /// collection path → objects.
    objects: Mutex<BTreeMap<String, Vec<Value>>>,
    /// (collection path, watch event).
    events: broadcast::Sender<(String, Value)>,
    resource_version: AtomicU64,
    down: AtomicBool,
}

/// A running fake API server; stops when dropped.
pub struct FakeKube {
    /// Where it listens (plain HTTP).
    pub addr: SocketAddr,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeKube {
    /// Starts on 127.0.0.1:0 with no tokens and an authorizer that denies everything.
    pub async fn start() -> FakeKube {
        let (events, _) = broadcast::channel(256);
        let inner = Arc::new(Inner {
            tokens: Mutex::new(BTreeMap::new()),
            authorizer: Mutex::new(Box::new(|_| (false, String::new()))),
            posts: Mutex::new(Vec::new()),
            objects: Mutex::new(BTreeMap::new()),
            events,
            resource_version: AtomicU64::new(100),
            down: AtomicBool::new(false),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeKube { addr, inner, task }
    }

    /// Writes a kubeconfig pointing at this server into `dir` and returns its path.
    pub fn kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("fake-kubeconfig");
        std::fs::write(
            &path,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: http://{}\ncontexts:\n- name: fake\n  context: {{cluster: fake, user: adapter}}\ncurrent-context: fake\nusers:\n- name: adapter\n  user: {{token: adapter-sa-token}}\n",
                self.addr
            ),
        )
        .unwrap();
        path
    }

    /// Makes `token` authenticate as `user` (a TokenReview `status.user` object).
    pub fn add_token(&self, token: &str, user: Value) {
        self.inner
            .tokens
            .lock()
            .unwrap()
            .insert(token.to_string(), user);
    }

    /// Replaces the SubjectAccessReview decision function.
    pub fn set_authorizer(&self, f: impl Fn(&Value) -> (bool, String) + Send + Sync + 'static) {
        *self.inner.authorizer.lock().unwrap() = Box::new(f);
    }

    /// Bodies POSTed to paths ending in `suffix` (e.g. `subjectaccessreviews`).
    pub fn posts(&self, suffix: &str) -> Vec<Value> {
        self.inner
            .posts
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p.ends_with(suffix))
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Forgets recorded POSTs.
    pub fn clear_posts(&self) {
        self.inner.posts.lock().unwrap().clear();
    }

    /// While true, every request gets 503 with a Status.
    pub fn set_down(&self, down: bool) {
        self.inner.down.store(down, Ordering::SeqCst);
    }

    /// Creates or replaces an object in `collection` (e.g.
    /// `/api/v1/namespaces/kube-system/configmaps`), stamping kind, apiVersion,
    /// namespace and resourceVersion, and sends the watch event.
    pub fn put(&self, collection: &str, kind: &str, api_version: &str, mut obj: Value) {
        let rv = self.inner.resource_version.fetch_add(1, Ordering::SeqCst) + 1;
        obj["kind"] = json!(kind);
        obj["apiVersion"] = json!(api_version);
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        if obj["metadata"]["uid"].is_null() {
            obj["metadata"]["uid"] = json!(format!("uid-{rv}"));
        }
        if let Some(ns) = collection
            .split('/')
            .skip_while(|s| *s != "namespaces")
            .nth(1)
        {
            obj["metadata"]["namespace"] = json!(ns);
        }
        let name = obj["metadata"]["name"].clone();
        let mut objects = self.inner.objects.lock().unwrap();
        let list = objects.entry(collection.to_string()).or_default();
        let kind_of_event = match list.iter().position(|o| o["metadata"]["name"] == name) {
            Some(i) => {
                list[i] = obj.clone();
                "MODIFIED"
            }
            None => {
                list.push(obj.clone());
                "ADDED"
            }
        };
        let _ = self.inner.events.send((
            collection.to_string(),
            json!({"type": kind_of_event, "object": obj}),
        ));
    }

    /// Deletes an object by name and sends the DELETED event.
    pub fn delete(&self, collection: &str, name: &str) {
        let mut objects = self.inner.objects.lock().unwrap();
        let Some(list) = objects.get_mut(collection) else {
            return;
        };
        if let Some(i) = list.iter().position(|o| o["metadata"]["name"] == name) {
            let mut obj = list.remove(i);
            let rv = self.inner.resource_version.fetch_add(1, Ordering::SeqCst) + 1;
            obj["metadata"]["resourceVersion"] = json!(rv.to_string());
            let _ = self.inner.events.send((
                collection.to_string(),
                json!({"type": "DELETED", "object": obj}),
            ));
        }
    }

    /// The standard `extension-apiserver-authentication` ConfigMap.
    pub fn put_extension_auth(
        &self,
        requestheader_ca_pem: &str,
        client_ca_pem: &str,
        allowed_names: &[&str],
    ) {
        self.put(
            "/api/v1/namespaces/kube-system/configmaps",
            "ConfigMap",
            "v1",
            json!({
                "metadata": {"name": "extension-apiserver-authentication", "creationTimestamp": "2026-01-01T00:00:00Z"},
                "data": {
                    "client-ca-file": client_ca_pem,
                    "requestheader-allowed-names": serde_json::to_string(allowed_names).unwrap(),
                    "requestheader-client-ca-file": requestheader_ca_pem,
                    "requestheader-extra-headers-prefix": "[\"X-Remote-Extra-\"]",
                    "requestheader-group-headers": "[\"X-Remote-Group\"]",
                    "requestheader-username-headers": "[\"X-Remote-User\"]"
                }
            }),
        );
    }
}

fn status(code: u16, reason: &str, message: &str) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code
    });
    (StatusCode::from_u16(code).unwrap(), axum::Json(body)).into_response()
}

fn query_param(query: &str, key: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// `a=b,c=d` (equality only) against an object's labels.
fn labels_match(obj: &Value, selector: &str) -> bool {
    selector.split(',').filter(|r| !r.is_empty()).all(|req| {
        let (k, v) = req
            .split_once("==")
            .or_else(|| req.split_once('='))
            .unwrap_or((req, ""));
        obj["metadata"]["labels"][k.trim()] == json!(v.trim())
    })
}

fn name_match(obj: &Value, field_selector: &str) -> bool {
    match field_selector.strip_prefix("metadata.name=") {
        Some(n) => obj["metadata"]["name"] == json!(n),
        None => true,
    }
}

async fn handle(State(s): State<Arc<Inner>>, req: Request) -> Response {
    if s.down.load(Ordering::SeqCst) {
        return status(503, "ServiceUnavailable", "the fake apiserver is down");
    }
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    let body: Bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    if parts.method == Method::POST {
        let review: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        s.posts.lock().unwrap().push((path.clone(), review.clone()));
        if path == "/apis/authentication.k8s.io/v1/tokenreviews" {
            let token = review["spec"]["token"].as_str().unwrap_or_default();
            let user = s.tokens.lock().unwrap().get(token).cloned();
            let status = match user {
                Some(u) => json!({"authenticated": true, "user": u}),
                None => json!({"user": {}, "error": "invalid bearer token"}),
            };
            return axum::Json(json!({
                "kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"creationTimestamp": null},
                "spec": review["spec"], "status": status
            }))
            .into_response();
        }
        if path == "/apis/authorization.k8s.io/v1/subjectaccessreviews" {
            let (allowed, reason) = (s.authorizer.lock().unwrap())(&review["spec"]);
            let mut st = json!({"allowed": allowed});
            if !reason.is_empty() {
                st["reason"] = json!(reason);
            }
            return axum::Json(json!({
                "kind": "SubjectAccessReview", "apiVersion": "authorization.k8s.io/v1",
                "metadata": {"creationTimestamp": null},
                "spec": review["spec"], "status": st
            }))
            .into_response();
        }
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    }
    if parts.method != Method::GET {
        return status(405, "MethodNotAllowed", "method not allowed");
    }

    // GET of one object: <collection>/<name>.
    let objects = s.objects.lock().unwrap().clone();
    if let Some((collection, name)) = path.rsplit_once('/')
        && let Some(list) = objects.get(collection)
    {
        return match list.iter().find(|o| o["metadata"]["name"] == json!(name)) {
            Some(o) => axum::Json(o.clone()).into_response(),
            None => status(404, "NotFound", &format!("{name:?} not found")),
        };
    }
    let field_selector = query_param(&query, "fieldSelector").unwrap_or_default();
    let label_selector = query_param(&query, "labelSelector").unwrap_or_default();
    let keep = move |o: &Value| name_match(o, &field_selector) && labels_match(o, &label_selector);
    if matches!(query_param(&query, "watch").as_deref(), Some("true" | "1")) {
        let rx = s.events.subscribe();
        let collection = path.clone();
        let stream = futures_util::stream::unfold(rx, move |mut rx| {
            let collection = collection.clone();
            let keep = keep.clone();
            async move {
                loop {
                    match rx.recv().await {
                        Ok((c, ev)) if c == collection && keep(&ev["object"]) => {
                            let mut line = serde_json::to_vec(&ev).unwrap();
                            line.push(b'\n');
                            return Some((Ok::<_, std::io::Error>(Bytes::from(line)), rx));
                        }
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            }
        });
        return Response::builder()
            .header("content-type", "application/json")
            .body(Body::from_stream(stream))
            .unwrap();
    }
    // LIST.
    let first = objects.get(&path).and_then(|l| l.first());
    let kind = first
        .and_then(|o| o["kind"].as_str())
        .map_or_else(|| "List".to_string(), |k| format!("{k}List"));
    let api_version = first
        .and_then(|o| o["apiVersion"].as_str())
        .unwrap_or("v1")
        .to_string();
    let items: Vec<Value> = objects
        .get(&path)
        .map(|l| l.iter().filter(|o| keep(o)).cloned().collect())
        .unwrap_or_default();
    let rv = s.resource_version.load(Ordering::SeqCst).to_string();
    axum::Json(json!({
        "kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": rv}, "items": items
    }))
    .into_response()
}
