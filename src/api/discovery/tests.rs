use super::*;
use crate::store::Metric;

#[test]
fn negotiation_follows_client_order() {
    let aggregator = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
    assert_eq!(negotiate(Some(aggregator)), DiscoveryFormat::AggregatedV2);
    assert_eq!(
        negotiate(Some(
            "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList, application/json"
        )),
        DiscoveryFormat::AggregatedV2Beta1
    );
    assert_eq!(
        negotiate(Some("application/json, */*")),
        DiscoveryFormat::Plain
    );
    assert_eq!(negotiate(None), DiscoveryFormat::Plain);
    // Protobuf aggregated discovery is not served; the JSON fallback is.
    assert_eq!(
        negotiate(Some(
            "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
        )),
        DiscoveryFormat::Plain
    );
}

#[test]
fn documents_have_upstream_shapes() {
    let names: Vec<String> = Metric::ALL.iter().map(|m| m.name().to_string()).collect();
    let d = Documents::new(&names);
    let rl: serde_json::Value = serde_json::from_slice(&d.resource_list).unwrap();
    assert_eq!(rl["kind"], "APIResourceList");
    assert_eq!(rl["groupVersion"], "external.metrics.k8s.io/v1beta1");
    assert_eq!(rl["resources"][0]["name"], "queue_depth");
    assert_eq!(rl["resources"][0]["namespaced"], true);
    assert_eq!(rl["resources"][0]["kind"], "ExternalMetricValueList");
    assert_eq!(rl["resources"][0]["verbs"][0], "get");
    let gl: serde_json::Value = serde_json::from_slice(&d.group_list).unwrap();
    assert_eq!(gl["kind"], "APIGroupList");
    assert_eq!(
        gl["groups"][0]["preferredVersion"]["groupVersion"],
        "external.metrics.k8s.io/v1beta1"
    );
    let ag: serde_json::Value = serde_json::from_slice(&d.aggregated_v2).unwrap();
    assert_eq!(ag["kind"], "APIGroupDiscoveryList");
    assert_eq!(ag["apiVersion"], "apidiscovery.k8s.io/v2");
    assert_eq!(
        ag["items"][0]["metadata"]["name"],
        "external.metrics.k8s.io"
    );
    assert_eq!(
        ag["items"][0]["versions"][0]["resources"][2]["resource"],
        "queue_oldest_age_seconds"
    );
    assert_eq!(
        ag["items"][0]["versions"][0]["resources"][0]["scope"],
        "Namespaced"
    );
    let root: serde_json::Value = serde_json::from_slice(&d.openapi_v3_root).unwrap();
    let url = root["paths"]["apis/external.metrics.k8s.io/v1beta1"]["serverRelativeURL"]
        .as_str()
        .unwrap();
    assert!(url.ends_with(&d.openapi_v3_etag), "{url}");
    let v2: serde_json::Value = serde_json::from_slice(&d.openapi_v2).unwrap();
    assert_eq!(v2["swagger"], "2.0");
    assert!(v2["definitions"][LIST_DEF].is_object());
}
