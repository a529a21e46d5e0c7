//! The run's own exact account of one service's jobs: which are waiting
//! (by the time they became takeable) and which are in service. The
//! timeline's queue depth, oldest age and the unfinished requests at the
//! end come from here, not from the adapter (which the HPA alone reads).
//!
//! Jobs enter the book before they are pushed (so a pod cannot take one
//! the book does not know yet); a push that fails leaves its jobs counted
//! as waiting: they arrived and were never served.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::jobs::Job;

/// Waiting and in-service jobs of a service: the run's own exact count.
#[derive(Debug, Default)]
pub(crate) struct Book {
    /// Waiting jobs by due time (µs of scenario time) → count.
    waiting: Mutex<BTreeMap<i64, u32>>,
    /// Jobs in service: seq → (due, started).
    inflight: Mutex<HashMap<u64, (f64, f64)>>,
}

/// Scenario seconds as a map key (µs).
fn key(t: f64) -> i64 {
    (t * 1e6).round() as i64
}

impl Book {
    /// Jobs were pushed.
    pub(crate) fn pushed(&self, jobs: &[Job]) {
        if let Ok(mut w) = self.waiting.lock() {
            for j in jobs {
                *w.entry(key(j.due)).or_insert(0) += 1;
            }
        }
    }

    /// A job was taken at `started`.
    pub(crate) fn taken(&self, job: &Job, started: f64) {
        if let Ok(mut w) = self.waiting.lock() {
            let k = key(job.due);
            if let Some(c) = w.get_mut(&k) {
                *c -= 1;
                if *c == 0 {
                    w.remove(&k);
                }
            }
        }
        if let Ok(mut f) = self.inflight.lock() {
            f.insert(job.seq, (job.due, started));
        }
    }

    /// A job was done.
    pub(crate) fn done(&self, seq: u64) {
        if let Ok(mut f) = self.inflight.lock() {
            f.remove(&seq);
        }
    }

    /// Jobs due by `now` and not taken, and the due time of the oldest.
    pub(crate) fn depth(&self, now: f64) -> (u64, Option<f64>) {
        let Ok(w) = self.waiting.lock() else {
            return (0, None);
        };
        let mut n = 0u64;
        for (_, c) in w.range(..=key(now)) {
            n += u64::from(*c);
        }
        let oldest = w
            .keys()
            .next()
            .map(|k| *k as f64 / 1e6)
            .filter(|t| *t <= now);
        (n, oldest)
    }

    /// Jobs not done: `(due, started)` for each, waiting ones with `None`.
    pub(crate) fn unfinished(&self) -> Vec<(f64, Option<f64>)> {
        let mut out = Vec::new();
        if let Ok(w) = self.waiting.lock() {
            for (k, c) in w.iter() {
                out.extend(std::iter::repeat_n((*k as f64 / 1e6, None), *c as usize));
            }
        }
        if let Ok(f) = self.inflight.lock() {
            out.extend(f.values().map(|(due, started)| (*due, Some(*started))));
        }
        out
    }
}
