//! The recommendation as a ready-to-apply `autoscaling/v2`
//! HorizontalPodAutoscaler manifest.

use k8s_openapi::api::autoscaling::v2::{HorizontalPodAutoscaler, HorizontalPodAutoscalerSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::outcome::Sweep;

/// Namespace of the manifest (scenarios name none).
pub const NAMESPACE: &str = "default";

/// Why a manifest cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// No candidate at that index.
    #[error("the sweep has no candidate {0}")]
    NoCandidate(usize),
    /// The stored spec is not an HPA spec.
    #[error("candidate {name:?}: its spec does not read back: {source}")]
    Spec {
        /// The candidate.
        name: String,
        /// serde_json's reason.
        source: serde_json::Error,
    },
    /// serde-saphyr could not write it.
    #[error("writing the manifest as YAML: {0}")]
    Yaml(String),
}

/// The HorizontalPodAutoscaler for candidate `index` of `sweep`: named
/// after the service, in `namespace`, with the candidate's spec.
pub fn manifest(
    sweep: &Sweep,
    index: usize,
    namespace: &str,
) -> Result<HorizontalPodAutoscaler, ManifestError> {
    let c = sweep
        .candidates
        .get(index)
        .ok_or(ManifestError::NoCandidate(index))?;
    let spec: HorizontalPodAutoscalerSpec =
        serde_json::from_value(c.spec.clone()).map_err(|source| ManifestError::Spec {
            name: c.name.clone(),
            source,
        })?;
    Ok(HorizontalPodAutoscaler {
        metadata: ObjectMeta {
            name: Some(sweep.service.clone()),
            namespace: Some(namespace.to_string()),
            ..ObjectMeta::default()
        },
        spec,
        status: None,
    })
}

/// [`manifest`] as YAML, after a comment saying where it comes from.
pub fn manifest_yaml(
    sweep: &Sweep,
    index: usize,
    namespace: &str,
) -> Result<String, ManifestError> {
    let hpa = manifest(sweep, index, namespace)?;
    let body = serde_saphyr::to_string(&hpa).map_err(|e| ManifestError::Yaml(e.to_string()))?;
    let c = &sweep.candidates[index];
    let oracle: f64 = sweep.oracle.iter().map(|s| s.replica_seconds).sum();
    let ratio = if oracle > 0.0 {
        format!(" ({:.2}x the oracle)", c.cost / oracle)
    } else {
        String::new()
    };
    Ok(format!(
        "# qma-load tune: {name}\n\
         # the cheapest of {n} candidates holding p{q} queue wait <= {slo} s on {traces}:\n\
         # {cost:.0} replica-seconds{ratio}, worst p{q} wait {worst:.1} s (simulated).\n{body}",
        name = c.name,
        n = sweep.candidates.len(),
        q = sweep.slo_quantile * 100.0,
        slo = sweep.slo_queue_wait,
        traces = sweep.traces.join(", "),
        cost = c.cost,
        worst = c.worst_wait,
    ))
}
