//! Command line and wiring: the only place where the parts are put together.
//!
//! Every flag can also be set through the environment variable named in its
//! help (`QMA_*`), which is how the Deployment configures the adapter.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tracing::{Instrument, error, info, warn};

use crate::api::{self, ApiState};
use crate::auth::extension::Overrides;
use crate::auth::{self, Auth};
use crate::server::{self, AdminState};
use crate::sources::Sources;
use crate::store::{self, Store};
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
    Serve(Box<ServeArgs>),
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
    /// How often the certificate files are checked for changes.
    #[arg(long, env = "QMA_TLS_RELOAD_INTERVAL", default_value = "10s", value_parser = humantime::parse_duration)]
    pub tls_reload_interval: Duration,
    /// Authentication and authorization.
    #[command(flatten)]
    pub auth: AuthArgs,
}

/// Whether requests are authenticated and authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// TokenReview / SubjectAccessReview against the Kubernetes API, front-proxy and client certificates.
    Delegated,
    /// Everyone may read everything. Development only.
    Disabled,
}

/// Flags of delegated authentication and authorization (named as k8s.io/apiserver names them).
#[derive(Debug, clap::Args)]
pub struct AuthArgs {
    /// `delegated` (production) or `disabled` (development only).
    #[arg(long, env = "QMA_AUTH_MODE", value_enum, default_value = "delegated")]
    pub auth_mode: AuthMode,
    /// Kubeconfig for the Kubernetes API (default: in-cluster service account, then $KUBECONFIG).
    #[arg(long, env = "QMA_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// Do not read kube-system/extension-apiserver-authentication; use the flags below only.
    #[arg(long, env = "QMA_AUTHENTICATION_SKIP_LOOKUP")]
    pub authentication_skip_lookup: bool,
    /// CA bundle for user client certificates (overrides the ConfigMap's client-ca-file).
    #[arg(long, env = "QMA_CLIENT_CA_FILE")]
    pub client_ca_file: Option<PathBuf>,
    /// CA bundle for the front proxy's certificate (overrides requestheader-client-ca-file).
    #[arg(long, env = "QMA_REQUESTHEADER_CLIENT_CA_FILE")]
    pub requestheader_client_ca_file: Option<PathBuf>,
    /// Front-proxy certificate CNs allowed to assert users (comma-separated; empty = any).
    #[arg(long, env = "QMA_REQUESTHEADER_ALLOWED_NAMES", value_delimiter = ',')]
    pub requestheader_allowed_names: Option<Vec<String>>,
    /// Headers holding the user name.
    #[arg(
        long,
        env = "QMA_REQUESTHEADER_USERNAME_HEADERS",
        value_delimiter = ','
    )]
    pub requestheader_username_headers: Option<Vec<String>>,
    /// Headers holding the user's UID.
    #[arg(long, env = "QMA_REQUESTHEADER_UID_HEADERS", value_delimiter = ',')]
    pub requestheader_uid_headers: Option<Vec<String>>,
    /// Headers holding the user's groups.
    #[arg(long, env = "QMA_REQUESTHEADER_GROUP_HEADERS", value_delimiter = ',')]
    pub requestheader_group_headers: Option<Vec<String>>,
    /// Header prefixes of the user's extra attributes.
    #[arg(
        long,
        env = "QMA_REQUESTHEADER_EXTRA_HEADERS_PREFIX",
        value_delimiter = ','
    )]
    pub requestheader_extra_headers_prefix: Option<Vec<String>>,
    /// How long TokenReview answers are cached.
    #[arg(long, env = "QMA_AUTHENTICATION_TOKEN_WEBHOOK_CACHE_TTL", default_value = "10s", value_parser = humantime::parse_duration)]
    pub authentication_token_webhook_cache_ttl: Duration,
    /// How long "allowed" SubjectAccessReview answers are cached.
    #[arg(long, env = "QMA_AUTHORIZATION_WEBHOOK_CACHE_AUTHORIZED_TTL", default_value = "10s", value_parser = humantime::parse_duration)]
    pub authorization_webhook_cache_authorized_ttl: Duration,
    /// How long "denied" SubjectAccessReview answers are cached.
    #[arg(long, env = "QMA_AUTHORIZATION_WEBHOOK_CACHE_UNAUTHORIZED_TTL", default_value = "10s", value_parser = humantime::parse_duration)]
    pub authorization_webhook_cache_unauthorized_ttl: Duration,
}

impl AuthArgs {
    /// The auth options these flags describe.
    pub fn options(&self) -> auth::Options {
        let nonempty = |v: &Option<Vec<String>>| {
            v.as_ref().map(|v| {
                v.iter()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
        };
        auth::Options {
            overrides: Overrides {
                client_ca_file: self.client_ca_file.clone(),
                requestheader_client_ca_file: self.requestheader_client_ca_file.clone(),
                requestheader_allowed_names: nonempty(&self.requestheader_allowed_names),
                requestheader_username_headers: nonempty(&self.requestheader_username_headers),
                requestheader_uid_headers: nonempty(&self.requestheader_uid_headers),
                requestheader_group_headers: nonempty(&self.requestheader_group_headers),
                requestheader_extra_headers_prefix: nonempty(
                    &self.requestheader_extra_headers_prefix,
                ),
            },
            skip_lookup: self.authentication_skip_lookup,
            token_cache_ttl: self.authentication_token_webhook_cache_ttl,
            allow_cache_ttl: self.authorization_webhook_cache_authorized_ttl,
            deny_cache_ttl: self.authorization_webhook_cache_unauthorized_ttl,
            ..auth::Options::default()
        }
    }
}

/// A Kubernetes client from a kubeconfig file, or inferred (in-cluster, then $KUBECONFIG).
pub async fn kube_client(kubeconfig: Option<&Path>) -> anyhow::Result<kube::Client> {
    let mut config = match kubeconfig {
        Some(p) => {
            let kc = kube::config::Kubeconfig::read_from(p).with_context(|| format!("reading {}", p.display()))?;
            kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default()).await?
        }
        None => kube::Config::infer()
            .await
            .context("no Kubernetes API configuration (not in a cluster, no $KUBECONFIG); pass --kubeconfig, or --auth-mode disabled for development")?,
    };
    // No transparent retries (kube's default retries 503s with backoff for minutes): a
    // TokenReview or SubjectAccessReview that fails must fail closed with 503 at once, and
    // watchers have their own backoff.
    config.default_retry = false;
    Ok(kube::Client::try_from(config)?)
}

/// Runs the parsed command. `serve` reads its configuration before the tokio
/// runtime starts: the parse uses threads of its own (see `config`), and
/// with no runtime threads yet each gets a malloc arena to itself (with
/// `MALLOC_ARENA_MAX=2`, as the Deployment sets it, a runtime worker would
/// otherwise share one with them; see docs/PERFORMANCE.md).
pub fn run(args: Args) -> anyhow::Result<()> {
    telemetry::init_logging(args.log_format);
    match args.command {
        Command::CheckConfig { file } => {
            let cfg =
                config::load(&file).with_context(|| format!("{} is not valid", file.display()))?;
            print!("{}", cfg.table());
            println!(
                "{}: OK, {} queues, {} services, {} promql entries",
                file.display(),
                cfg.queues.len(),
                cfg.services.len(),
                cfg.promql.len()
            );
            Ok(())
        }
        Command::Serve(a) => {
            let started = std::time::Instant::now();
            let cfg = config::load(&a.config)?;
            info!(
                queues = cfg.queues.len(),
                services = cfg.services.len(),
                promql = cfg.promql.len(),
                elapsed_ms = started.elapsed().as_secs_f64() * 1e3,
                "configuration loaded"
            );
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the tokio runtime")?
                .block_on(serve(*a, cfg))
        }
    }
}

async fn serve(a: ServeArgs, cfg: config::Config) -> anyhow::Result<()> {
    let cert = tls::ReloadingCert::new(
        a.tls_cert_file.as_deref(),
        a.tls_private_key_file.as_deref(),
    )?;
    let needs_kube = a.auth.auth_mode == AuthMode::Delegated
        || cfg
            .services
            .iter()
            .any(|s| matches!(s.targets, config::Targets::Kubernetes { .. }));
    let kube = if needs_kube {
        Some(kube_client(a.auth.kubeconfig.as_deref()).await?)
    } else {
        None
    };
    let auth = match (a.auth.auth_mode, &kube) {
        (AuthMode::Delegated, Some(client)) => {
            Some(Auth::new(client.clone(), a.auth.options()).await?)
        }
        _ => {
            warn!("--auth-mode disabled: every client may read every metric (development only)");
            None
        }
    };
    let tls = tls::server_config_with(cert.clone(), auth.as_ref().map(|a| a.tls_verifier()));
    let mut running = Running::start_with(
        &cfg,
        Serving {
            tls,
            secure_listen: a.secure_listen,
            admin_listen: a.admin_listen,
            auth: auth.clone(),
            kube,
        },
    )
    .await?;
    // Everything running holds what it needs; the parsed file can go (with
    // 10,000 queues it is several MiB).
    drop(cfg);
    running.spawn(
        cert.watch(a.tls_reload_interval)
            .instrument(tracing::info_span!("tls", watch = "serving certificate")),
    );
    if let Some(auth) = auth {
        running.spawn(auth.watch_configmap().instrument(tracing::info_span!(
            "auth",
            watch = "extension-apiserver-authentication"
        )));
    }
    shutdown_signal().await;
    info!("shutting down");
    running.stop().await;
    Ok(())
}

/// How the adapter serves: TLS, listeners, auth, and the Kubernetes API (for endpoints).
pub struct Serving {
    /// TLS server config of the API port.
    pub tls: Arc<rustls::ServerConfig>,
    /// HTTPS API address.
    pub secure_listen: SocketAddr,
    /// Admin address.
    pub admin_listen: SocketAddr,
    /// Delegated auth; `None` = disabled.
    pub auth: Option<Arc<Auth>>,
    /// Kubernetes client for EndpointSlice discovery.
    pub kube: Option<kube::Client>,
}

/// A started adapter: pollers, scrapers, API listener and admin listener.
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
    /// [`Running::start_with`] with authentication disabled and no Kubernetes API.
    pub async fn start(
        cfg: &config::Config,
        tls: Arc<rustls::ServerConfig>,
        secure_listen: SocketAddr,
        admin_listen: SocketAddr,
    ) -> anyhow::Result<Running> {
        let serving = Serving {
            tls,
            secure_listen,
            admin_listen,
            auth: None,
            kube: None,
        };
        Running::start_with(cfg, serving).await
    }

    /// Binds both listeners and starts every task (the first poll and scrape start at once).
    pub async fn start_with(cfg: &config::Config, serving: Serving) -> anyhow::Result<Running> {
        // The scrapers' and PromQL's HTTP clients use the process-wide provider (ring).
        tls::install_crypto_provider();
        let Serving {
            tls,
            secure_listen,
            admin_listen,
            auth,
            kube,
        } = serving;
        let mut metrics = Metrics::new();
        let mut builder = store::Builder::new();
        let sources = Sources::build(cfg, &mut builder, &mut metrics.registry, kube.as_ref())?;
        let store = Arc::new(builder.finish(cfg.max_staleness));
        metrics.register_served(store.clone());
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

        let api_state = Arc::new(ApiState::new(store.clone(), metrics.api.clone(), auth));
        let metrics = Arc::new(metrics);
        let admin = server::admin_router(Arc::new(AdminState {
            store: store.clone(),
            metrics: metrics.clone(),
        }));

        let mut tasks = tokio::task::JoinSet::new();
        for t in sources.tasks() {
            tasks.spawn(t);
        }
        tasks.spawn(
            server::serve_tls(api_listener, tls, api::router(api_state))
                .instrument(tracing::info_span!("api", listen = %api_addr)),
        );
        tasks.spawn(
            async move {
                if let Err(e) = axum::serve(admin_listener, admin).await {
                    error!(error = %e, "admin server stopped");
                }
            }
            .instrument(tracing::info_span!("admin", listen = %admin_addr)),
        );
        Ok(Running {
            api_addr,
            admin_addr,
            store,
            tasks,
        })
    }

    /// Runs a background task that [`Running::stop`] ends with the rest.
    pub fn spawn(&mut self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.tasks.spawn(task);
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
