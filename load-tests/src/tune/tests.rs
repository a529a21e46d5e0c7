use super::*;

#[test]
fn default_family_sweeps_and_recommends() {
    let dir = tempfile::tempdir().unwrap();
    let args = TuneArgs {
        traces: vec!["spike".into()],
        out: Some(dir.path().to_path_buf()),
        threads: Some(2),
        runners_up: 3,
        ..TuneArgs::default()
    };
    let sweep = tune(&args).unwrap();
    assert_eq!(sweep.service, "gateway");
    assert_eq!(sweep.candidates.len(), 20);
    assert_eq!(sweep.oracle.len(), 1);
    for c in &sweep.candidates {
        assert_eq!(c.per_trace.len(), 1);
        assert_eq!(c.cost, c.per_trace[0].replica_seconds);
        assert_eq!(c.holds_slo, c.per_trace[0].slo_held);
    }
    let json: Sweep =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("sweep.json")).unwrap())
            .unwrap();
    assert_eq!(json.candidates.len(), 20);
    assert!(
        sweep.recommended.is_some(),
        "the queue-work family holds the SLO on the spike"
    );
    if let Some(i) = sweep.recommended {
        let best = &sweep.candidates[i];
        assert!(best.holds_slo);
        assert!(
            sweep
                .candidates
                .iter()
                .all(|c| !c.holds_slo || c.cost >= best.cost)
        );
        let yaml = std::fs::read_to_string(dir.path().join("recommended-hpa.yaml")).unwrap();
        assert!(yaml.contains("apiVersion: autoscaling/v2"), "{yaml}");
        assert!(yaml.contains("kind: HorizontalPodAutoscaler"), "{yaml}");
        assert!(yaml.contains("namespace: default"), "{yaml}");
        assert!(yaml.contains("name: gateway"), "{yaml}");
        // The manifest reads back into the spec that was simulated.
        let hpa: k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler =
            serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(serde_json::to_value(hpa.spec).unwrap(), best.spec);
    }
}

fn candidate(name: &str, cost: f64, holds: bool, flaps: u32) -> CandidateResult {
    CandidateResult {
        name: name.into(),
        spec: serde_json::Value::Null,
        per_trace: vec![Summary {
            flaps,
            replica_seconds: cost,
            slo_held: holds,
            ..Summary::default()
        }],
        holds_slo: holds,
        cost,
        worst_wait: 1.0,
    }
}

#[test]
fn recommendation_is_the_cheapest_holding() {
    let c = [
        candidate("a", 100.0, false, 0),
        candidate("b", 300.0, true, 0),
        candidate("c", 200.0, true, 3),
        candidate("d", 200.0, true, 1),
    ];
    assert_eq!(recommend(&c), Some(3));
    assert_eq!(recommend_within(&c, 0), Some(1));
    assert_eq!(recommend(&c[..1]), None);
    let sweep = Sweep {
        scenario: "s".into(),
        service: "svc".into(),
        traces: vec!["t".into()],
        slo_quantile: 0.95,
        slo_queue_wait: 15.0,
        candidates: c.to_vec(),
        recommended: recommend(&c),
        oracle: vec![Summary {
            replica_seconds: 160.0,
            ..Summary::default()
        }],
    };
    let text = summary_text(&sweep, 5);
    assert!(text.contains("recommended: d"), "{text}");
    assert!(text.contains("1.25× the oracle"), "{text}");
    assert!(text.contains("cheaper, but missing the SLO"), "{text}");
    assert!(matches!(
        manifest(&sweep, 9, NAMESPACE),
        Err(manifest::ManifestError::NoCandidate(9))
    ));
    assert!(matches!(
        manifest(&sweep, 0, NAMESPACE),
        Err(manifest::ManifestError::Spec { .. })
    ));
}

#[test]
fn service_choice() {
    let sc = Scenario::default_scenario().unwrap();
    assert_eq!(tuned_service(&sc, None).unwrap().name, "gateway");
    assert!(tuned_service(&sc, Some("agent")).is_err());
    assert!(tuned_service(&sc, Some("nope")).is_err());
    let oracle = oracle_policy(sc.service("gateway").unwrap());
    assert!(matches!(oracle.kind, PolicyKind::Oracle(o) if o.lookahead == 60.0));
}

/// `cargo test --release -p qma-load --lib default_tune -- --ignored
/// --nocapture`: the default scenario's sweep, printed.
#[test]
#[ignore = "prints the default scenario's full sweep (a few seconds in release)"]
fn default_tune() {
    let t0 = std::time::Instant::now();
    let sweep = tune(&TuneArgs {
        runners_up: 5,
        ..TuneArgs::default()
    })
    .unwrap();
    eprintln!(
        "{} candidates in {:?}",
        sweep.candidates.len(),
        t0.elapsed()
    );
}

#[test]
#[ignore = "experiment: QMA_SCENARIO=file"]
fn tune_file() {
    let sweep = tune(&TuneArgs {
        scenario: std::env::var("QMA_SCENARIO").ok().map(Into::into),
        runners_up: 6,
        ..TuneArgs::default()
    })
    .unwrap();
    eprintln!("{} candidates", sweep.candidates.len());
}
