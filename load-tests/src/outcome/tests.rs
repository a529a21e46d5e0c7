use super::hist::{self, Layout};
use super::*;
use crate::dist::{Dist, rng};

fn meta(horizon: f64, tick: f64, slo: f64) -> RunMeta {
    RunMeta {
        mode: "simulate".into(),
        scenario: "test".into(),
        service: "svc".into(),
        policy: "p".into(),
        trace: "t".into(),
        seed: 1,
        horizon,
        tick,
        slo_quantile: 0.95,
        slo_queue_wait: slo,
    }
}

/// The exact `q` quantile as the recorder defines it (the `ceil(q n)`-th
/// smallest).
fn exact(mut v: Vec<f64>, q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

#[test]
fn fine_buckets_are_within_one_percent() {
    let layout = hist::fine(15.0);
    let mut r = rng(7);
    let d = Dist::lognormal(2.0, 30.0).unwrap();
    for _ in 0..100_000 {
        let x = d.sample(&mut r);
        let v = layout.value(layout.index(x));
        assert!((v - x).abs() / x <= 0.0079, "{x} -> {v}");
    }
}

#[test]
fn slo_is_a_bucket_boundary() {
    for slo in [15.0, 10.0, 5.0, 2.0 / 3.0, 120.0] {
        for layout in [hist::fine(slo), hist::coarse(slo)] {
            let below = layout.value(layout.index(slo * (1.0 - 1e-12)));
            let above = layout.value(layout.index(slo * (1.0 + 1e-12)));
            assert!(below < slo && above > slo, "{slo}: {below} {above}");
        }
    }
}

#[test]
fn out_of_range_values() {
    let l = Layout::new(3, -2, 4, 1.0);
    assert_eq!(l.index(0.0), 0);
    assert_eq!(l.index(-1.0), 0);
    assert_eq!(l.index(f64::NAN), 0);
    assert_eq!(l.index(0.1), 0);
    assert_eq!(l.index(f64::INFINITY), l.len() - 1);
    assert_eq!(l.index(100.0), l.len() - 1);
    assert_eq!(l.value(0), 0.0);
    assert_eq!(l.value(l.len() - 1), 4.0);
    assert_eq!(l.quantile::<u32>(&[0; 34], 0.5), None);
}

#[test]
fn run_wide_quantiles_match_exact_ones() {
    let mut rec = Recorder::new(meta(3600.0, 5.0, 15.0));
    let mut r = rng(3);
    let waits = Dist::exponential(4.0).unwrap();
    let service = Dist::lognormal(2.0, 8.0).unwrap();
    let (mut w, mut l) = (Vec::new(), Vec::new());
    for i in 0..50_000 {
        let t = i as f64 * 0.07;
        let wait = if i % 3 == 0 {
            0.0
        } else {
            waits.sample(&mut r)
        };
        let s = service.sample(&mut r);
        rec.arrival(t);
        rec.request(t, t + wait, t + wait + s);
        w.push(wait);
        l.push(wait + s);
    }
    let run = rec.finish();
    let s = run.summary;
    assert_eq!((s.requests, s.completed), (50_000, 50_000));
    for (got, q) in [(s.wait_p50, 0.5), (s.wait_p95, 0.95), (s.wait_p99, 0.99)] {
        let want = exact(w.clone(), q);
        assert!(
            (got - want).abs() <= 0.008 * want,
            "wait q{q}: {got} vs {want}"
        );
    }
    for (got, q) in [
        (s.latency_p50, 0.5),
        (s.latency_p95, 0.95),
        (s.latency_p99, 0.99),
    ] {
        let want = exact(l.clone(), q);
        assert!(
            (got - want).abs() <= 0.008 * want,
            "latency q{q}: {got} vs {want}"
        );
    }
    assert_eq!(s.wait_slo_quantile, s.wait_p95);
    assert_eq!(s.slo_held, exact(w, 0.95) <= 15.0);
}

#[test]
fn zero_waits_give_zero() {
    let mut rec = Recorder::new(meta(60.0, 5.0, 15.0));
    for i in 0..100 {
        let t = i as f64 * 0.5;
        rec.arrival(t);
        rec.request(t, t, t + 1.0);
    }
    let run = rec.finish();
    assert_eq!(run.summary.wait_p99, 0.0);
    assert!(run.summary.slo_held);
    assert_eq!(run.summary.seconds_over_slo, 0.0);
    assert_eq!(run.timeline[0].wait_quantile, 0.0);
    // 10 arrivals in each 5 s tick up to 50 s, none after.
    assert_eq!(run.timeline[0].arrival_rate, 2.0);
    assert!(run.timeline[11].wait_quantile.is_nan());
}

#[test]
fn unfinished_requests_wait_until_the_horizon() {
    let mut rec = Recorder::new(meta(100.0, 5.0, 15.0));
    for i in 0..10 {
        rec.arrival(f64::from(i));
        rec.request(f64::from(i), f64::from(i), f64::from(i) + 1.0);
    }
    // One still queued since 50 s, one in service after 30 s of waiting.
    rec.arrival(50.0);
    rec.unfinished(50.0, None);
    rec.arrival(60.0);
    rec.unfinished(60.0, Some(90.0));
    let run = rec.finish();
    assert_eq!(run.summary.requests, 12);
    assert_eq!(run.summary.completed, 10);
    assert!((run.summary.wait_p99 - 50.0).abs() < 0.5);
    let t50 = &run.timeline[10];
    assert!(
        (t50.wait_quantile - 50.0).abs() < 3.2,
        "{}",
        t50.wait_quantile
    );
}

#[test]
fn seconds_over_slo_uses_the_trailing_window() {
    // 1 req/s; requests arriving in [100, 130) wait 20 s (SLO 10 s).
    let mut rec = Recorder::new(meta(300.0, 5.0, 10.0));
    for i in 0..300 {
        let t = f64::from(i);
        let wait = if (100..130).contains(&i) { 20.0 } else { 1.0 };
        rec.arrival(t);
        rec.request(t, t + wait, t + wait + 1.0);
    }
    let run = rec.finish();
    // Per-tick: ticks [100,105) .. [125,130) are over: 30 s. Trailing 60 s
    // (12 ticks, 60 requests): over while more than 3 of them waited 20 s,
    // i.e. from the tick ending at 105 to the one ending at 185 (at 185
    // the window [125, 185) still holds 5): 17 ticks.
    let over: Vec<f64> = run
        .timeline
        .iter()
        .filter(|t| t.wait_quantile_window > 10.0)
        .map(|t| t.t)
        .collect();
    assert_eq!(over.first(), Some(&105.0));
    assert_eq!(over.last(), Some(&185.0));
    assert_eq!(run.summary.seconds_over_slo, 85.0);
    // 30 of 300 over: the run-wide p95 is over too.
    assert!(!run.summary.slo_held);
    let mut rec = Recorder::new(meta(300.0, 5.0, 10.0));
    rec.window = 10.0;
    for i in 0..300 {
        let t = f64::from(i);
        let wait = if (100..130).contains(&i) { 20.0 } else { 1.0 };
        rec.request(t, t + wait, t + wait + 1.0);
    }
    assert_eq!(rec.finish().summary.seconds_over_slo, 35.0);
}

#[test]
fn scale_events_and_flaps() {
    let mut rec = Recorder::new(meta(2000.0, 5.0, 10.0));
    rec.scale(10.0, 2, 4, "up");
    rec.scale(100.0, 4, 3, "down"); // flap: reversal 90 s later
    rec.scale(500.0, 3, 5, "up"); // not a flap: 400 s later
    rec.scale(520.0, 5, 8, "up");
    rec.scale(700.0, 8, 2, "down"); // flap: 180 s later
    let s = rec.finish().summary;
    assert_eq!((s.scale_ups, s.scale_downs, s.flaps), (3, 2, 2));
}

#[test]
fn samples_fill_the_timeline() {
    let mut rec = Recorder::new(meta(22.0, 5.0, 10.0));
    let s = |n| Sample {
        replicas: n,
        desired_replicas: n,
        queue_depth: f64::from(n),
        ..Sample::default()
    };
    rec.sample(5.0, s(2));
    rec.sample(15.0, s(3));
    rec.sample(22.0, s(7));
    rec.replicas(9);
    rec.pod_seconds(30.0);
    rec.pod_seconds(f64::NAN);
    let run = rec.finish();
    let t: Vec<(f64, u32)> = run.timeline.iter().map(|t| (t.t, t.replicas)).collect();
    assert_eq!(t, [(5.0, 2), (10.0, 2), (15.0, 3), (20.0, 3), (22.0, 7)]);
    assert_eq!(run.summary.peak_replicas, 9);
    assert_eq!(run.summary.replica_seconds, 30.0);
}

#[test]
fn csv_and_json() {
    let mut rec = Recorder::new(meta(10.0, 5.0, 10.0));
    rec.arrival(1.0);
    rec.request(1.0, 2.0, 3.0);
    rec.sample(5.0, Sample::default());
    let run = rec.finish();
    let mut out = Vec::new();
    run.write_csv(&mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0], CSV_HEADER);
    assert_eq!(lines[0].split(',').count(), lines[2].split(',').count());
    // Tick 2 had no arrivals: its quantile is empty.
    assert_eq!(lines[2].split(',').nth(9), Some(""));
    let json = serde_json::to_string(&run).unwrap();
    let back: Run = serde_json::from_str(&json).unwrap();
    assert!(back.timeline[1].wait_quantile.is_nan());
    assert_eq!(
        back.timeline[0].wait_quantile,
        run.timeline[0].wait_quantile
    );
    assert_eq!(back.summary.wait_p50, run.summary.wait_p50);
}

#[test]
fn bad_meta_does_not_panic() {
    let mut rec = Recorder::new(meta(f64::NAN, 0.0, -1.0));
    rec.arrival(f64::NAN);
    rec.arrival(1e12);
    rec.request(-5.0, f64::NAN, f64::INFINITY);
    rec.unfinished(f64::INFINITY, None);
    rec.sample(f64::NAN, Sample::default());
    let run = rec.finish();
    assert_eq!(run.timeline.len(), 1);
    assert_eq!(run.summary.requests, 2);
}

#[test]
fn summary_only_gives_the_same_figures() {
    let mut r = rng(9);
    let waits = Dist::lognormal(3.0, 40.0).unwrap();
    let mut full = Recorder::new(meta(3600.0, 5.0, 15.0));
    let mut lean = Recorder::summary_only(meta(3600.0, 5.0, 15.0));
    for rec in [&mut full, &mut lean] {
        rec.window = 30.0;
    }
    for i in 0..20_000 {
        let t = i as f64 * 0.18;
        // Bursts of long waits every ten minutes.
        let w = if (i / 500) % 7 == 3 {
            waits.sample(&mut r)
        } else {
            0.1
        };
        for rec in [&mut full, &mut lean] {
            rec.arrival(t);
            rec.request(t, t + w, t + w + 2.0);
            rec.sample(((t / 5.0).floor() + 1.0) * 5.0, Sample::default());
        }
    }
    let (full, lean) = (full.finish(), lean.finish());
    assert!(lean.timeline.is_empty());
    assert_eq!(full.timeline.len(), 720);
    assert!(full.summary.seconds_over_slo > 0.0);
    assert_eq!(
        serde_json::to_string(&full.summary).unwrap(),
        serde_json::to_string(&lean.summary).unwrap()
    );
    // The timeline's window quantile says "over" exactly where the counts do.
    let over: f64 = full
        .timeline
        .iter()
        .filter(|t| t.wait_quantile_window > 15.0)
        .count() as f64
        * 5.0;
    assert_eq!(over, full.summary.seconds_over_slo);
}
