//! Command line and wiring: the only place where the parts are put together.
//!
//! Every flag can also be set through the environment variable named in its
//! help (`QMA_*`), which is how the Deployment configures the adapter.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing::{error, info};

use crate::api::{self, ApiState};
use crate::redis::Poller;
use crate::server::{self, AdminState};
use crate::store::Store;
use crate::telemetry::{self, LogFormat, Metrics};
use crate::{config, tls};

/// Kubernetes external metrics from Redis queues.
#[derive(Debug, Parser)]
#[command(name = "queue-metrics-adapter", version, about)]
pub struct Args {
    /// Log format.
    #[arg(
        long,
        env = "QMA_LOG_FORMAT",
        value_enum,
        default_value = "plain",
        global = true
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the external metrics API.
    Serve(ServeArgs),
    /// Validate a config file and print the resolved queue table.
    CheckConfig {
        /// Config file to check.
        #[arg(env = "QMA_CONFIG")]
        file: PathBuf,
    },
}

/// Flags of `serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Config file (YAML).
    #[arg(long, env = "QMA_CONFIG")]
    pub config: PathBuf,
    /// HTTPS address of the external metrics API.
    #[arg(long, env = "QMA_SECURE_LISTEN", default_value = "0.0.0.0:6443")]
    pub secure_listen: SocketAddr,
    /// Plain-HTTP address of /livez, /readyz and /metrics.
    #[arg(long, env = "QMA_ADMIN_LISTEN", default_value = "0.0.0.0:8080")]
    pub admin_listen: SocketAddr,
    /// PEM serving certificate; with no cert and key a self-signed pair is generated.
    #[arg(long, env = "QMA_TLS_CERT_FILE", requires = "tls_private_key_file")]
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of the serving certificate.
    #[arg(long, env = "QMA_TLS_PRIVATE_KEY_FILE", requires = "tls_cert_file")]
    pub tls_private_key_file: Option<PathBuf>,
}

/// Runs the parsed command.
pub async fn run(args: Args) -> anyhow::Result<()> {
    telemetry::init_logging(args.log_format);
    match args.command {
        Command::CheckConfig { file } => {
            let cfg =
                config::load(&file).with_context(|| format!("{} is not valid", file.display()))?;
            print!("{}", cfg.table());
            println!("{}: OK, {} queues", file.display(), cfg.queues.len());
            Ok(())
        }
        Command::Serve(a) => serve(a).await,
    }
}

async fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let cfg = config::load(&a.config)?;
    let tls = tls::server_config(
        a.tls_cert_file.as_deref(),
        a.tls_private_key_file.as_deref(),
    )?;
    let running = Running::start(&cfg, tls, a.secure_listen, a.admin_listen).await?;
    shutdown_signal().await;
    info!("shutting down");
    running.stop().await;
    Ok(())
}

/// A started adapter: pollers, API listener and admin listener.
pub struct Running {
    /// Where the HTTPS API listens.
    pub api_addr: SocketAddr,
    /// Where the admin port listens.
    pub admin_addr: SocketAddr,
    /// The store the pollers fill.
    pub store: Arc<Store>,
    tasks: tokio::task::JoinSet<()>,
}

impl Running {
    /// Binds both listeners and starts every task (the first poll starts at once).
    pub async fn start(
        cfg: &config::Config,
        tls: Arc<rustls::ServerConfig>,
        secure_listen: SocketAddr,
        admin_listen: SocketAddr,
    ) -> anyhow::Result<Running> {
        let metrics = Metrics::new();
        let store = Arc::new(Store::new(cfg));
        let pollers = Poller::for_config(cfg, &store, &metrics.poll)?;
        let api_listener = server::bind(secure_listen).await?;
        let admin_listener = server::bind(admin_listen).await?;
        let api_addr = api_listener.local_addr()?;
        let admin_addr = admin_listener.local_addr()?;
        info!(
            api = %api_addr,
            admin = %admin_addr,
            queues = cfg.queues.len(),
            endpoints = cfg.endpoints.len(),
            "serving external.metrics.k8s.io/v1beta1"
        );

        let api_state = Arc::new(ApiState::new(store.clone(), metrics.api.clone()));
        let metrics = Arc::new(metrics);
        let admin = server::admin_router(Arc::new(AdminState {
            store: store.clone(),
            metrics: metrics.clone(),
        }));

        let mut tasks = tokio::task::JoinSet::new();
        for p in pollers {
            tasks.spawn(p.run(cfg.poll_interval));
        }
        tasks.spawn(server::serve_tls(api_listener, tls, api::router(api_state)));
        tasks.spawn(async move {
            if let Err(e) = axum::serve(admin_listener, admin).await {
                error!(error = %e, "admin server stopped");
            }
        });
        Ok(Running {
            api_addr,
            admin_addr,
            store,
            tasks,
        })
    }

    /// Stops every task and closes the listeners.
    pub async fn stop(mut self) {
        self.tasks.shutdown().await;
    }
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
