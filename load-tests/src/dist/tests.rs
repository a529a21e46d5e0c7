//! Quantiles and means of samples against the parameters, parameter
//! errors, and seeding.

use super::*;

/// Sorted samples of `d`.
fn samples(d: &Dist, n: usize, seed: u64) -> Vec<f64> {
    let mut r = rng(seed);
    let mut v: Vec<f64> = (0..n).map(|_| d.sample(&mut r)).collect();
    v.sort_by(f64::total_cmp);
    v
}

fn quantile_of(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn mean_of(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

#[test]
fn lognormal_quantiles_match_p50_and_p95() {
    let d = Dist::lognormal(2.0, 8.0).unwrap();
    let s = samples(&d, 200_000, 7);
    let p50 = quantile_of(&s, 0.5);
    let p95 = quantile_of(&s, 0.95);
    assert!((p50 / 2.0 - 1.0).abs() < 0.02, "p50 {p50}");
    assert!((p95 / 8.0 - 1.0).abs() < 0.02, "p95 {p95}");
    assert!((mean_of(&s) / d.mean() - 1.0).abs() < 0.02);
    assert!((d.quantile(0.5) - 2.0).abs() < 1e-9);
    assert!((d.quantile(0.95) - 8.0).abs() < 1e-6);
}

#[test]
fn uniform_mean_and_bounds() {
    let d = Dist::uniform(20.0, 60.0).unwrap();
    let s = samples(&d, 100_000, 1);
    assert!((mean_of(&s) - 40.0).abs() < 0.3);
    assert!(s[0] >= 20.0 && s[s.len() - 1] <= 60.0);
    assert_eq!(d.max(), Some(60.0));
    assert_eq!(d.upper(), 60.0);
    assert_eq!(d.quantile(0.25), 30.0);
}

#[test]
fn exponential_and_constant() {
    let d = Dist::exponential(3.0).unwrap();
    let s = samples(&d, 200_000, 3);
    assert!((mean_of(&s) / 3.0 - 1.0).abs() < 0.02);
    let q = quantile_of(&s, 0.9);
    assert!((q / d.quantile(0.9) - 1.0).abs() < 0.02);
    assert_eq!(d.max(), None);
    let c = Dist::constant(0.004).unwrap();
    assert_eq!(c.sample(&mut rng(1)), 0.004);
    assert_eq!(c.mean(), 0.004);
}

#[test]
fn service_time_with_tokens() {
    let st = ServiceTime {
        base: Dist::constant(1.0).unwrap(),
        tokens: Some(TokenGrowth {
            per_token: 0.01,
            count: Dist::uniform(100.0, 300.0).unwrap(),
        }),
    };
    assert!((st.mean() - 3.0).abs() < 1e-12);
    let mut r = rng(5);
    let v: Vec<f64> = (0..50_000).map(|_| st.sample(&mut r)).collect();
    assert!((mean_of(&v) - 3.0).abs() < 0.02);
    assert!(v.iter().all(|&x| (2.0..=4.0).contains(&x)));
    assert_eq!(ServiceTime::simple(Dist::Constant(2.0)).mean(), 2.0);
}

#[test]
fn bad_parameters_are_named() {
    assert_eq!(
        Dist::lognormal(2.0, 2.0),
        Err(DistError::NotAbove {
            param: "p95",
            value: 2.0,
            other: "p50",
            bound: 2.0
        })
    );
    assert_eq!(Dist::lognormal(0.0, 2.0).unwrap_err().param(), "p50");
    assert_eq!(Dist::uniform(5.0, 1.0).unwrap_err().param(), "max");
    assert_eq!(Dist::uniform(-1.0, 1.0).unwrap_err().param(), "min");
    assert_eq!(
        Dist::exponential(f64::NAN),
        Err(DistError::NotFinite { param: "mean" })
    );
    assert_eq!(Dist::constant(-1.0).unwrap_err().param(), "value");
    assert_eq!(
        Dist::uniform(5.0, 1.0).unwrap_err().to_string(),
        "max: must not be less than min (5)"
    );
}

#[test]
fn seeds_repeat_and_streams_differ() {
    let d = Dist::lognormal(2.0, 8.0).unwrap();
    assert_eq!(samples(&d, 100, 9), samples(&d, 100, 9));
    assert_ne!(samples(&d, 100, 9), samples(&d, 100, 10));
    let a = derive_seed(1, "gateway/arrivals");
    assert_eq!(a, derive_seed(1, "gateway/arrivals"));
    assert_ne!(a, derive_seed(1, "gateway/service"));
    assert_ne!(a, derive_seed(2, "gateway/arrivals"));
}

#[test]
fn normal_quantile_known_values() {
    assert!((normal_quantile(0.95) - Z95).abs() < 1e-8);
    assert!((normal_quantile(0.5)).abs() < 1e-12);
    assert!((normal_quantile(0.01) + 2.326_347_874).abs() < 1e-7);
    assert!((normal_quantile(0.999) - 3.090_232_306).abs() < 1e-7);
    assert_eq!(normal_quantile(0.0), f64::NEG_INFINITY);
}
