//! The requests of a run: arrival times with their drawn service times and
//! zset delays, drawn as the run goes ([`drawn`]) or once for many runs
//! ([`Workload`]).
//!
//! Both draw the same numbers: the trace's arrivals, then per arrival one
//! service time from the `"<service>/service_time"` stream and, for a zset
//! with a delay, one delay from `"<service>/delay"`. A sweep draws a
//! [`Workload`] per trace once and replays it for every candidate (saving
//! the draws, a sixth of a run's time); `simulate` draws as it goes and
//! holds no request list (memory does not grow with the trace).

use crate::dist::{Dist, ServiceTime, SimRng, derive_seed, rng};
use crate::scenario::{QueueKind, Scenario, Service};
use crate::trace::{Arrivals, Profile};

use super::SimError;

/// One request as it reaches the queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Arrival {
    /// Arrival time, seconds since the start.
    pub t: f64,
    /// Its service time, seconds.
    pub service: f64,
    /// A zset job's delay before it is due, seconds (0 otherwise).
    pub delay: f64,
}

/// The arrivals of a profile with their draws, as an iterator.
pub(super) struct Drawn<'p> {
    /// The arrival times.
    arrivals: Arrivals<'p>,
    /// The service-time distribution.
    service_time: ServiceTime,
    /// Its stream.
    service_rng: SimRng,
    /// A zset's delay distribution.
    delay: Option<Dist>,
    /// Its stream.
    delay_rng: SimRng,
}

impl Iterator for Drawn<'_> {
    type Item = Arrival;

    #[inline]
    fn next(&mut self) -> Option<Arrival> {
        let t = self.arrivals.next()?;
        let service = self.service_time.sample(&mut self.service_rng).max(0.0);
        let delay = self
            .delay
            .map_or(0.0, |d| d.sample(&mut self.delay_rng).max(0.0));
        Some(Arrival { t, service, delay })
    }
}

/// The requests of `service` on `profile` until `horizon`, drawn as they
/// are pulled (streams derived from `seed`).
pub(super) fn drawn<'p>(
    service: &Service,
    profile: &'p Profile,
    horizon: f64,
    seed: u64,
) -> Drawn<'p> {
    let label = |what: &str| derive_seed(seed, &format!("{}/{what}", service.name));
    Drawn {
        arrivals: profile.arrivals(horizon),
        service_time: service.service_time,
        service_rng: rng(label("service_time")),
        delay: match &service.queue.kind {
            QueueKind::Zset { delay, .. } => Some(*delay),
            _ => None,
        },
        delay_rng: rng(label("delay")),
    }
}

/// Every request of one service on one run trace, drawn once (see the
/// module docs), with the arrival profile they came from.
#[derive(Debug, Clone)]
pub struct Workload {
    /// The service's arrival profile for the trace.
    profile: Profile,
    /// The requests, in arrival order.
    arrivals: Vec<Arrival>,
    /// The service they are for.
    service: String,
    /// The run trace.
    trace: String,
    /// The seed they were drawn with.
    seed: u64,
}

impl Workload {
    /// Draws the requests of `service` on the run trace `trace` with
    /// `seed`, for the trace's duration.
    pub fn draw(
        scenario: &Scenario,
        service: &Service,
        trace: &str,
        seed: u64,
    ) -> Result<Workload, SimError> {
        let horizon = scenario.trace(trace)?.duration;
        let profile = scenario.profile(service, trace, seed)?;
        let arrivals = drawn(service, &profile, horizon, seed).collect();
        Ok(Workload {
            profile,
            arrivals,
            service: service.name.clone(),
            trace: trace.to_string(),
            seed,
        })
    }

    /// The requests, in arrival order.
    pub fn arrivals(&self) -> &[Arrival] {
        &self.arrivals
    }

    /// The arrival profile.
    pub fn profile(&self) -> &Profile {
        &self.profile
    }

    /// The service the requests are for.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The run trace.
    pub fn trace(&self) -> &str {
        &self.trace
    }

    /// The seed of the draws.
    pub fn seed(&self) -> u64 {
        self.seed
    }
}
