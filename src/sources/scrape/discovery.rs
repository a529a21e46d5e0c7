//! Which pods to scrape: a Kubernetes Service's ready endpoints, followed
//! through its EndpointSlices (`discovery.k8s.io/v1`, label
//! `kubernetes.io/service-name`) with a kube watcher, or a static URL list.
//!
//! An endpoint counts when `conditions.ready` is true or unset ("nil should
//! be interpreted as ready", `k8s.io/api/discovery/v1/types.go`). Its port is
//! the slice's port with the configured name, or the configured number.

use std::collections::BTreeMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use futures_util::StreamExt;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::api::Api;
use kube::runtime::watcher::{self, Event};
use kube::runtime::{WatchStreamExt, watcher as watch};
use tracing::{debug, info};

use crate::config::PortRef;

/// The scrape URLs of one EndpointSlice's ready endpoints.
pub fn slice_urls(slice: &EndpointSlice, port: &PortRef, scheme: &str, path: &str) -> Vec<String> {
    let number = match port {
        PortRef::Name(name) => slice
            .ports
            .iter()
            .flatten()
            .find(|p| p.name.as_deref() == Some(name.as_str()))
            .and_then(|p| p.port),
        PortRef::Number(n) => Some(i32::from(*n)),
    };
    let Some(number) = number else {
        return Vec::new();
    };
    let ipv6 = slice.address_type == "IPv6";
    slice
        .endpoints
        .iter()
        .flatten()
        .filter(|e| e.conditions.as_ref().and_then(|c| c.ready).unwrap_or(true))
        .filter_map(|e| e.addresses.first())
        .map(|a| {
            if ipv6 {
                format!("{scheme}://[{a}]:{number}{path}")
            } else {
                format!("{scheme}://{a}:{number}{path}")
            }
        })
        .collect()
}

/// Follows a Service's EndpointSlices into `out` until dropped.
pub async fn follow(
    client: kube::Client,
    namespace: String,
    service: String,
    port: PortRef,
    scheme: String,
    path: String,
    out: Arc<ArcSwap<Vec<String>>>,
) {
    let api: Api<EndpointSlice> = Api::namespaced(client, &namespace);
    let cfg = watcher::Config::default().labels(&format!("kubernetes.io/service-name={service}"));
    let mut stream = watch(api, cfg).default_backoff().boxed();
    let mut slices: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut init: Option<BTreeMap<String, Vec<String>>> = None;
    let name = |s: &EndpointSlice| s.metadata.name.clone().unwrap_or_default();
    while let Some(ev) = stream.next().await {
        let changed = match ev {
            Ok(Event::Init) => {
                init = Some(BTreeMap::new());
                false
            }
            Ok(Event::InitApply(s)) => {
                if let Some(i) = init.as_mut() {
                    i.insert(name(&s), slice_urls(&s, &port, &scheme, &path));
                }
                false
            }
            Ok(Event::InitDone) => {
                if let Some(i) = init.take() {
                    slices = i;
                }
                true
            }
            Ok(Event::Apply(s)) => {
                slices.insert(name(&s), slice_urls(&s, &port, &scheme, &path));
                true
            }
            Ok(Event::Delete(s)) => {
                slices.remove(&name(&s));
                true
            }
            Err(e) => {
                debug!(%namespace, %service, error = %e, "EndpointSlice watch error; retrying");
                false
            }
        };
        if changed {
            let mut urls: Vec<String> = slices.values().flatten().cloned().collect();
            urls.sort();
            urls.dedup();
            if **out.load() != urls {
                info!(%namespace, %service, targets = urls.len(), "scrape targets changed");
                out.store(Arc::new(urls));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slice(json: serde_json::Value) -> EndpointSlice {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn ready_endpoints_with_named_or_numbered_port() {
        let s = slice(serde_json::json!({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "gw-abc", "labels": {"kubernetes.io/service-name": "gw"}},
            "addressType": "IPv4",
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "metrics", "port": 9090}],
            "endpoints": [
                {"addresses": ["10.0.0.1"], "conditions": {"ready": true}},
                {"addresses": ["10.0.0.2"], "conditions": {"ready": false}},
                {"addresses": ["10.0.0.3"]}
            ]
        }));
        let named = slice_urls(&s, &PortRef::Name("metrics".into()), "http", "/metrics");
        assert_eq!(
            named,
            [
                "http://10.0.0.1:9090/metrics",
                "http://10.0.0.3:9090/metrics"
            ]
        );
        let numbered = slice_urls(&s, &PortRef::Number(9100), "https", "/m");
        assert_eq!(
            numbered,
            ["https://10.0.0.1:9100/m", "https://10.0.0.3:9100/m"]
        );
        assert!(slice_urls(&s, &PortRef::Name("nope".into()), "http", "/metrics").is_empty());
        let v6 = slice(serde_json::json!({
            "metadata": {"name": "x"}, "addressType": "IPv6",
            "endpoints": [{"addresses": ["fd00::1"]}]
        }));
        assert_eq!(
            slice_urls(&v6, &PortRef::Number(9090), "http", "/metrics"),
            ["http://[fd00::1]:9090/metrics"]
        );
    }
}
