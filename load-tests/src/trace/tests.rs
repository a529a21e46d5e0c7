//! Rates of every trace type at key instants, arrival counts and seeds, the
//! replay CSV format, and the generator's speed (ignored test, release).

use super::*;

fn trace(shape: Shape, duration: f64) -> Trace {
    Trace {
        name: "t".into(),
        shape,
        noise: None,
        duration,
    }
}

fn spike() -> Shape {
    Shape::Spike(Spike {
        base: 10.0,
        peak: 60.0,
        start: 300.0,
        ramp: 60.0,
        hold: 600.0,
        ramp_down: 0.0,
    })
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn spike_rate_at_key_instants() {
    let s = spike();
    let p = trace(s.clone(), 2700.0).profile(2700.0, 1.0, 1);
    for (t, want) in [
        (0.0, 10.0),
        (240.0, 10.0),
        (299.9, 10.0),
        (330.0, 35.0),
        (360.0, 60.0),
        (600.0, 60.0),
        (959.0, 60.0),
        (960.0, 10.0),
        (1020.0, 10.0),
        (5000.0, 10.0),
    ] {
        assert!(close(s.rate(t), want, 1e-9), "shape at {t}: {}", s.rate(t));
        assert!(
            close(p.rate(t), want, 1e-9),
            "profile at {t}: {}",
            p.rate(t)
        );
    }
    // Expected arrivals: 10/s for 45 min plus the ramp's and hold's extra.
    let extra = 0.5 * 50.0 * 60.0 + 50.0 * 600.0;
    assert!(close(p.cumulative(2700.0), 27_000.0 + extra, 1e-6));
    assert!(close(
        p.max_rate(0.0, 320.0),
        10.0 + 50.0 * 20.0 / 60.0,
        1e-9
    ));
    assert!(close(p.max_rate(900.0, 2000.0), 60.0, 1e-9));
    assert!(close(p.max_rate(1000.0, 2000.0), 10.0, 1e-9));
    assert!(close(p.mean_rate(360.0, 960.0), 60.0, 1e-9));
}

#[test]
fn spike_with_ramp_down() {
    let s = Shape::Spike(Spike {
        base: 10.0,
        peak: 60.0,
        start: 300.0,
        ramp: 0.0,
        hold: 100.0,
        ramp_down: 100.0,
    });
    assert_eq!(s.rate(300.0), 60.0);
    assert_eq!(s.rate(450.0), 35.0);
    assert_eq!(s.rate(500.0), 10.0);
    let p = trace(s, 600.0).profile(600.0, 2.0, 3);
    assert!(close(p.rate(450.0), 70.0, 1e-9));
    assert!(close(p.rate(299.0), 20.0, 1e-9));
}

#[test]
fn constant_step_and_scale() {
    let c = Shape::Constant { rate: 20.0 };
    assert_eq!(c.rate(123.0), 20.0);
    let p = trace(c, 100.0).profile(100.0, 0.5, 1);
    assert_eq!(p.rate(50.0), 10.0);
    assert_eq!(p.rate(1e6), 10.0);
    assert!(close(p.cumulative(200.0), 2000.0, 1e-9));

    let s = Shape::Step {
        steps: vec![
            Step { at: 0.0, rate: 5.0 },
            Step {
                at: 60.0,
                rate: 50.0,
            },
            Step {
                at: 120.0,
                rate: 0.0,
            },
        ],
    };
    for (t, want) in [
        (0.0, 5.0),
        (59.9, 5.0),
        (60.0, 50.0),
        (119.0, 50.0),
        (120.0, 0.0),
    ] {
        assert_eq!(s.rate(t), want, "at {t}");
    }
    let p = trace(s, 180.0).profile(180.0, 1.0, 1);
    assert_eq!(p.rate(60.0), 50.0);
    assert_eq!(p.rate(59.0), 5.0);
    assert!(close(p.cumulative(180.0), 5.0 * 60.0 + 50.0 * 60.0, 1e-9));
    // No arrivals once the rate is 0.
    assert!(p.arrivals(1e9).all(|t| t < 120.0));
}

#[test]
fn diurnal_curve() {
    let d = Shape::Diurnal(Diurnal {
        min: 2.0,
        max: 40.0,
        period: 86_400.0,
        peak_at: 43_200.0,
    });
    assert!(close(d.rate(0.0), 2.0, 1e-9));
    assert!(close(d.rate(43_200.0), 40.0, 1e-9));
    assert!(close(d.rate(21_600.0), 21.0, 1e-9));
    assert!(close(d.rate(86_400.0), 2.0, 1e-9));
    let p = trace(d.clone(), 86_400.0).profile(86_400.0, 1.0, 1);
    for t in [0.0, 1234.5, 21_600.0, 43_200.0, 50_000.0, 86_399.0] {
        assert!(close(p.rate(t), d.rate(t), 1e-3), "at {t}");
    }
    assert!(close(p.cumulative(86_400.0), 21.0 * 86_400.0, 1.0));
}

#[test]
fn bursts_add_poisson_bursts() {
    let b = Shape::Bursts(Bursts {
        base: 5.0,
        every: 600.0,
        size: 3000.0,
        length: 60.0,
    });
    assert_eq!(b.rate(100.0), 5.0);
    let horizon = 600.0 * 1000.0;
    let p = trace(b.clone(), horizon).profile(horizon, 1.0, 11);
    // 1000 bursts expected, each 3000 extra requests: expected total within
    // a few standard deviations (sqrt(1000) bursts).
    let extra = p.cumulative(horizon) - 5.0 * horizon;
    assert!(
        (extra / 3000.0 - 1000.0).abs() < 130.0,
        "{}",
        extra / 3000.0
    );
    // Rates are the base plus whole bursts of 50/s.
    for k in 0..2000 {
        let r = p.rate(k as f64 * 299.7);
        assert!(((r - 5.0) / 50.0).fract().abs() < 1e-9, "{r}");
    }
    // Same seed, same bursts; another seed, others.
    let again = trace(b.clone(), horizon).profile(horizon, 1.0, 11);
    assert_eq!(p, again);
    let other = trace(b, horizon).profile(horizon, 1.0, 12);
    assert_ne!(p.cumulative(horizon), other.cumulative(horizon));
}

#[test]
fn replay_interpolates_and_jumps() {
    let r = Shape::Replay(Replay {
        source: "inline".into(),
        points: vec![(10.0, 4.0), (20.0, 8.0), (30.0, 8.0), (30.0, 2.0)],
    });
    for (t, want) in [
        (0.0, 4.0),
        (10.0, 4.0),
        (15.0, 6.0),
        (29.9, 8.0),
        (30.0, 2.0),
        (99.0, 2.0),
    ] {
        assert!(close(r.rate(t), want, 1e-9), "at {t}: {}", r.rate(t));
    }
    let p = trace(r, 100.0).profile(100.0, 1.0, 1);
    assert!(close(p.rate(15.0), 6.0, 1e-9));
    assert!(close(p.rate(30.0), 2.0, 1e-9));
    assert!(close(p.cumulative(40.0), 40.0 + 60.0 + 80.0 + 20.0, 1e-9));
}

#[test]
fn csv_parses_header_comments_and_jumps() {
    let text = "time_seconds,rate\n# recorded 2024-01-01\n0,10\n\n60, 20\n60,5\r\n120,5\n";
    assert_eq!(
        parse_csv(text).unwrap(),
        vec![(0.0, 10.0), (60.0, 20.0), (60.0, 5.0), (120.0, 5.0)]
    );
    assert_eq!(
        parse_csv("time,rate\n1.5,2e1\n").unwrap(),
        vec![(1.5, 20.0)]
    );
}

#[test]
fn csv_errors_name_the_line() {
    let cases = [
        (
            "time_seconds,rate\n0,10\n60,abc\n",
            3,
            "rate \"abc\" is not a number",
        ),
        ("0,10\n60\n", 2, "expected 2 fields"),
        ("0,10\n60,1,2\n", 2, "got 3"),
        ("0,10\n60,5\n30,5\n", 3, "before the previous line's 60"),
        ("0,10\n5,-1\n", 2, "must be a finite number, not negative"),
        ("0,1\n5,1\n5,2\n5,3\n", 4, "third point"),
        ("x,y\n", 1, "time_seconds \"x\" is not a number"),
        ("# nothing\n\n", 2, "no data points"),
        ("0,inf\n", 1, "finite"),
    ];
    for (text, line, msg) in cases {
        match parse_csv(text) {
            Err(TraceError::Csv { line: l, message }) => {
                assert_eq!(l, line, "{text:?}: {message}");
                assert!(message.contains(msg), "{text:?}: {message}");
            }
            other => panic!("{text:?}: {other:?}"),
        }
    }
}

#[test]
fn checks_name_the_parameter() {
    let bad = |shape: Shape| shape.check().unwrap_err();
    assert_eq!(bad(Shape::Constant { rate: -1.0 }).param(), "rate");
    assert_eq!(bad(Shape::Step { steps: vec![] }).param(), "steps");
    let e = bad(Shape::Step {
        steps: vec![Step { at: 5.0, rate: 1.0 }],
    });
    assert_eq!(
        e,
        TraceError::NotAtZero {
            param: "steps[0].at".into(),
            value: 5.0
        }
    );
    let e = bad(Shape::Step {
        steps: vec![
            Step { at: 0.0, rate: 1.0 },
            Step { at: 9.0, rate: 1.0 },
            Step { at: 9.0, rate: 1.0 },
        ],
    });
    assert_eq!(e.param(), "steps[2].at");
    let e = bad(Shape::Diurnal(Diurnal {
        min: 5.0,
        max: 2.0,
        period: 10.0,
        peak_at: 0.0,
    }));
    assert_eq!(e.to_string(), "max: must not be less than min (5)");
    let e = bad(Shape::Bursts(Bursts {
        base: 1.0,
        every: 0.0,
        size: 1.0,
        length: 1.0,
    }));
    assert_eq!(e.param(), "every");
    let e = bad(Shape::Spike(Spike {
        base: 1.0,
        peak: f64::NAN,
        start: 0.0,
        ramp: 0.0,
        hold: 0.0,
        ramp_down: 0.0,
    }));
    assert_eq!(e.param(), "peak");
    let e = bad(Shape::Replay(Replay {
        source: "inline".into(),
        points: vec![(5.0, 1.0), (4.0, 1.0)],
    }));
    assert_eq!(e.param(), "points[1]");
    let mut t = trace(Shape::Constant { rate: 1.0 }, 0.0);
    assert_eq!(t.check().unwrap_err().param(), "duration");
    t.duration = 10.0;
    t.noise = Some(Noise {
        cv: 0.1,
        interval: 0.0,
    });
    assert_eq!(t.check().unwrap_err().param(), "noise.interval");
}

#[test]
fn constant_arrivals_count_matches_rate() {
    let p = trace(Shape::Constant { rate: 20.0 }, 10_000.0).profile(10_000.0, 1.0, 5);
    let n = p.arrivals(10_000.0).count() as f64;
    assert!((n / 200_000.0 - 1.0).abs() < 0.01, "{n}");
}

#[test]
fn spike_arrivals_follow_the_curve() {
    let p = trace(spike(), 2700.0).profile(2700.0, 1.0, 9);
    let mut in_hold = 0usize;
    let mut before = 0usize;
    let mut last = -1.0;
    for t in p.arrivals(2700.0) {
        assert!(t > last && t < 2700.0);
        last = t;
        if (360.0..960.0).contains(&t) {
            in_hold += 1;
        }
        if t < 300.0 {
            before += 1;
        }
    }
    assert!((in_hold as f64 / 36_000.0 - 1.0).abs() < 0.03, "{in_hold}");
    assert!((before as f64 / 3000.0 - 1.0).abs() < 0.08, "{before}");
}

#[test]
fn arrivals_repeat_for_a_seed() {
    let t = trace(spike(), 1200.0);
    let a: Vec<f64> = t.profile(1200.0, 1.0, 1).arrivals(1200.0).collect();
    let b: Vec<f64> = t.profile(1200.0, 1.0, 1).arrivals(1200.0).collect();
    let c: Vec<f64> = t.profile(1200.0, 1.0, 2).arrivals(1200.0).collect();
    assert_eq!(a, b);
    assert_ne!(a, c);
    let p = t.profile(1200.0, 1.0, 1);
    let d: Vec<f64> = p.arrivals_seeded(77, 1200.0).collect();
    assert_ne!(a, d);
    let mut it = p.arrivals(10.0);
    while it.next().is_some() {}
    assert_eq!(it.next(), None);
}

#[test]
fn noise_keeps_the_mean_and_repeats() {
    let mut t = trace(Shape::Constant { rate: 10.0 }, 86_400.0);
    t.noise = Some(Noise {
        cv: 0.2,
        interval: 60.0,
    });
    let p = t.profile(86_400.0, 1.0, 3);
    let mean = p.cumulative(86_400.0) / 86_400.0;
    assert!((mean - 10.0).abs() < 0.15, "{mean}");
    let rates: Vec<f64> = (0..1440).map(|k| p.rate(k as f64 * 60.0)).collect();
    let var = rates.iter().map(|r| (r - 10.0).powi(2)).sum::<f64>() / 1440.0;
    assert!((var.sqrt() / 10.0 - 0.2).abs() < 0.03, "{}", var.sqrt());
    assert_eq!(p, t.profile(86_400.0, 1.0, 3));
    assert_ne!(p, t.profile(86_400.0, 1.0, 4));
}

#[test]
fn cumulative_matches_integral() {
    let d = Shape::Diurnal(Diurnal {
        min: 2.0,
        max: 40.0,
        period: 3600.0,
        peak_at: 0.0,
    });
    let p = trace(d, 7200.0).profile(7200.0, 1.0, 1);
    let mut sum = 0.0;
    let dt = 0.5;
    let mut t = 0.0;
    while t < 5000.0 {
        sum += p.rate(t + dt / 2.0) * dt;
        t += dt;
    }
    assert!(close(sum, p.cumulative(5000.0), 0.5), "{sum}");
    assert!(close(p.expected(100.0, 100.0), 0.0, 1e-12));
    assert_eq!(p.rate(-1.0), 0.0);
    assert!(p.horizon() >= 7200.0);
}

/// Run with `cargo test --release -p qma-load -- --ignored --nocapture generator_speed`.
#[test]
#[ignore]
fn generator_speed() {
    let d = Shape::Diurnal(Diurnal {
        min: 2.0,
        max: 38.0,
        period: 86_400.0,
        peak_at: 43_200.0,
    });
    let t = trace(d, 86_400.0);
    let start = std::time::Instant::now();
    let mut n = 0usize;
    let mut check = 0.0;
    for s in 0..5 {
        let p = t.profile(86_400.0 + 3600.0, 1.0, s);
        for a in p.arrivals(86_400.0) {
            n += 1;
            check += a;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} arrivals in {secs:.3} s: {:.1} M arrivals/s (checksum {check:.0})",
        n as f64 / secs / 1e6
    );
}
