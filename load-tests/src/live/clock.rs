//! Scenario time on the wall clock.
//!
//! A live run plays the scenario `speed` times faster than real time: one
//! real second is `speed` scenario seconds. Every duration the scenario
//! gives (arrival times, service times, start-up delays, zset delays, the
//! HPA sync period) is divided by `speed` on the way to the wall clock, and
//! every time measured on the wall clock is multiplied by it on the way back.
//! All bookkeeping (the recorder, the pods' histograms, the HPA) is in
//! scenario seconds since the start of the run.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The run's clock: scenario seconds since the start, compressed by `speed`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    /// The wall-clock instant of scenario time 0.
    start: Instant,
    /// Unix time (seconds) of scenario time 0, for zset scores.
    unix_start: f64,
    /// Scenario seconds per real second.
    speed: f64,
}

impl Clock {
    /// A clock starting now.
    pub(crate) fn start(speed: f64) -> Clock {
        let unix_start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64());
        Clock {
            start: Instant::now(),
            unix_start,
            speed,
        }
    }

    /// Scenario seconds per real second.
    pub(crate) fn speed(&self) -> f64 {
        self.speed
    }

    /// Scenario seconds since the start.
    pub(crate) fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * self.speed
    }

    /// The real duration of `secs` scenario seconds (0 for negative or NaN).
    pub(crate) fn real(&self, secs: f64) -> Duration {
        let r = secs / self.speed;
        if r.is_finite() && r > 0.0 {
            Duration::from_secs_f64(r.min(1e9))
        } else {
            Duration::ZERO
        }
    }

    /// The wall-clock instant of scenario time `t`.
    pub(crate) fn instant_at(&self, t: f64) -> Instant {
        self.start + self.real(t)
    }

    /// Unix time, in seconds, of scenario time `t`.
    pub(crate) fn unix_at(&self, t: f64) -> f64 {
        self.unix_start + t / self.speed
    }

    /// Sleeps until scenario time `t`.
    pub(crate) async fn sleep_until(&self, t: f64) {
        tokio::time::sleep_until(self.instant_at(t).into()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compresses_both_ways() {
        let c = Clock::start(10.0);
        assert_eq!(c.real(5.0), Duration::from_millis(500));
        assert_eq!(c.real(-1.0), Duration::ZERO);
        assert_eq!(c.real(f64::NAN), Duration::ZERO);
        assert!((c.unix_at(20.0) - c.unix_at(0.0) - 2.0).abs() < 1e-6);
        assert!(c.now() >= 0.0);
    }
}
