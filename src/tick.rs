//! The one loop every periodic task runs: a round at once, then one every
//! interval; a round that overruns delays the next instead of bunching
//! rounds up (`MissedTickBehavior::Delay`).

use std::future::Future;
use std::time::Duration;

/// Something done once per tick: a poll, a scrape round, a query, a reload.
pub trait Round: Send {
    /// Does one round; errors are the round's own business (recorded, logged).
    fn round(&mut self) -> impl Future<Output = ()> + Send;
}

/// Runs `r` every `interval` until the task is dropped.
pub async fn every(interval: Duration, mut r: impl Round) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        r.round().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test(start_paused = true)]
    async fn first_round_at_once_then_one_per_interval_never_bunched() {
        let start = tokio::time::Instant::now();
        let counted = Arc::new(AtomicU32::new(0));
        struct Shared(Arc<AtomicU32>);
        impl Round for Shared {
            async fn round(&mut self) {
                self.0.fetch_add(1, Ordering::SeqCst);
                // A slow round: the next starts when it ends.
                tokio::time::sleep(Duration::from_secs(3)).await;
            }
        }
        let task = tokio::spawn(every(Duration::from_secs(1), Shared(counted.clone())));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(counted.load(Ordering::SeqCst), 1);
        // Rounds take 3 s: rounds start at 0, 3, 6, 9 s, not once per second.
        tokio::time::sleep_until(start + Duration::from_millis(9_500)).await;
        assert_eq!(counted.load(Ordering::SeqCst), 4);
        task.abort();
    }
}
