//! Where the served numbers come from. Each source builds itself from its
//! section of the config, takes a typed writer per queue, service or entry
//! from the store [`Builder`], registers its own metrics, and returns its
//! tasks, each running inside a `tracing` span that names it.
//!
//! - [`redis`]: queue lengths and ages, polled from Redis endpoints.
//! - [`scrape`]: latency, rate and in-flight numbers scraped from services' `/metrics`.
//! - [`promql`]: instant queries against an existing Prometheus.

pub mod promql;
pub mod redis;
pub mod scrape;

use std::future::Future;
use std::pin::Pin;

use prometheus_client::registry::Registry;

use crate::config::Config;
use crate::store::Builder;

/// A source's long-running task, already inside its span.
pub type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Why the sources cannot start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Redis endpoint's settings or TLS files are unusable.
    #[error(transparent)]
    Redis(#[from] redis::Error),
    /// A service cannot be scraped as configured.
    #[error(transparent)]
    Scrape(#[from] scrape::BuildError),
}

/// Every source of a configuration, built and ready to run.
pub struct Sources {
    /// The Redis pollers.
    pub redis: redis::Redis,
    /// The service scrapers.
    pub scrape: scrape::Scrape,
    /// The PromQL entries.
    pub promql: Vec<promql::Entry>,
}

impl Sources {
    /// Builds every source of `config` into `store`, registering their
    /// metrics on `registry`; `kube` is needed by services with Kubernetes targets.
    pub fn build(
        config: &Config,
        store: &mut Builder,
        registry: &mut Registry,
        kube: Option<&kube::Client>,
    ) -> Result<Sources, Error> {
        Ok(Sources {
            redis: redis::Redis::build(config, store, registry)?,
            scrape: scrape::Scrape::build(config, store, registry, kube)?,
            promql: promql::build(config, store, registry),
        })
    }

    /// Every task of every source.
    pub fn tasks(self) -> Vec<Task> {
        let mut tasks = self.redis.tasks();
        tasks.extend(self.scrape.tasks());
        tasks.extend(promql::tasks(self.promql));
        tasks
    }
}
