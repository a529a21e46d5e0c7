//! The child processes of a live run: a redis-server and the adapter.
//!
//! - **redis-server** is started in a fresh temporary directory (under the
//!   OS temp dir, prefix `qma-live-`) on a free loopback port with
//!   `--bind 127.0.0.1 --save '' --appendonly no` (nothing is persisted),
//!   and is ready once it answers `PING`.
//! - **The adapter** is the `queue-metrics-adapter` binary: `--adapter-bin`
//!   (or `QMA_ADAPTER_BIN`), else next to the running executable or one
//!   directory up (`target/<profile>/` from a test's `target/<profile>/deps/`).
//!   It runs `serve` with the config the run wrote, `--auth-mode disabled`,
//!   `--secure-listen` and `--admin-listen` on free loopback ports, and its
//!   own self-signed certificate; it is ready once `/readyz` on the admin
//!   port answers 200 (every Redis endpoint polled). The child's
//!   environment has every `QMA_*` variable removed, so a developer's
//!   settings cannot reach it, and `RUST_LOG=warn`.
//!
//! Both write their logs into the temporary directory; when one fails to
//! start, the error carries the end of its log. A port taken between
//! choosing it and binding it is retried (three attempts).
//!
//! Every child is created with `kill_on_drop`, and [`ChildProc::stop`]
//! kills it and waits for it (so no zombie is left either); the run calls
//! `stop` on every path out, including errors and Ctrl-C.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio::process::{Child, Command};

/// Why a child process could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    /// `redis-server` is not on `PATH`.
    #[error(
        "redis-server was not found on PATH: install it (Debian/Ubuntu: `apt-get install redis-server`) or pass --redis-url"
    )]
    RedisMissing,
    /// The adapter binary was not found.
    #[error(
        "the adapter binary queue-metrics-adapter was not found (looked at: {looked}): build it with `cargo build -p queue-metrics-adapter`, or pass --adapter-bin PATH or --adapter-url URL"
    )]
    AdapterMissing {
        /// The paths tried, comma-separated.
        looked: String,
    },
    /// A process could not be spawned.
    #[error("cannot start {what}: {source}")]
    Spawn {
        /// Which program.
        what: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Temporary directory or log file.
    #[error("cannot prepare the run's temporary directory: {0}")]
    TempDir(std::io::Error),
    /// No port could be bound.
    #[error("no free port on 127.0.0.1: {0}")]
    Port(std::io::Error),
    /// The child exited while starting.
    #[error("{what} exited before it was ready ({status}); the end of its log:\n{log}")]
    Exited {
        /// Which program.
        what: String,
        /// Its exit status.
        status: String,
        /// The end of its log.
        log: String,
    },
    /// The child did not get ready in time.
    #[error(
        "{what} was not ready within {secs} s (last check: {last}); the end of its log:\n{log}"
    )]
    Timeout {
        /// Which program.
        what: String,
        /// The timeout, seconds.
        secs: u64,
        /// What the last readiness check saw.
        last: String,
        /// The end of its log.
        log: String,
    },
}

/// A child process that is killed and reaped on [`ChildProc::stop`] (and
/// killed, as a last resort, when dropped).
#[derive(Debug)]
pub(crate) struct ChildProc {
    /// Which program, for messages.
    what: String,
    /// The process.
    child: Child,
}

impl ChildProc {
    /// The OS process id (while it runs).
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Kills the process and waits (at most 5 s) until it is gone.
    pub(crate) async fn stop(mut self) {
        let _ = self.child.start_kill();
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            eprintln!("warning: {} did not exit within 5 s of SIGKILL", self.what);
        }
    }

    /// `Some(status)` once the process has exited.
    fn exited(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown status: {e}")),
        }
    }
}

/// A free TCP port on 127.0.0.1 (bound, then released).
pub(crate) fn free_port() -> Result<u16, ProcError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(ProcError::Port)?;
    Ok(l.local_addr().map_err(ProcError::Port)?.port())
}

/// The run's temporary directory (`qma-live-*` under the OS temp dir).
pub(crate) fn temp_dir() -> Result<TempDir, ProcError> {
    tempfile::Builder::new()
        .prefix("qma-live-")
        .tempdir()
        .map_err(ProcError::TempDir)
}

/// The last ~40 lines (at most 4 KiB) of a log file.
pub(crate) fn log_tail(path: &Path) -> String {
    let Ok(bytes) = std::fs::read(path) else {
        return "(no log)".into();
    };
    let start = bytes.len().saturating_sub(4096);
    let text = String::from_utf8_lossy(&bytes[start..]);
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(40)..].join("\n");
    if tail.trim().is_empty() {
        "(empty log)".into()
    } else {
        tail
    }
}

/// A redis-server this run started.
#[derive(Debug)]
pub(crate) struct RedisServer {
    /// `redis://127.0.0.1:<port>/`.
    pub(crate) url: String,
    /// The process.
    pub(crate) proc: ChildProc,
}

/// Starts redis-server in `dir` and waits (up to `timeout`) for `PING`.
pub(crate) async fn start_redis(dir: &Path, timeout: Duration) -> Result<RedisServer, ProcError> {
    let mut last_err = None;
    for attempt in 0..3 {
        let port = free_port()?;
        let log = dir.join(format!("redis-{attempt}.log"));
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .args(["--protected-mode", "yes", "--loglevel", "warning"])
            .arg("--dir")
            .arg(dir)
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => ProcError::RedisMissing,
                _ => ProcError::Spawn {
                    what: "redis-server".into(),
                    source,
                },
            })?;
        let mut proc = ChildProc {
            what: "redis-server".into(),
            child,
        };
        let url = format!("redis://127.0.0.1:{port}/");
        match wait_redis(&mut proc, &url, &log, timeout).await {
            Ok(()) => return Ok(RedisServer { url, proc }),
            Err(e) => {
                proc.stop().await;
                let retry = matches!(&e, ProcError::Exited { log, .. } if log.contains("in use"));
                last_err = Some(e);
                if !retry {
                    break;
                }
            }
        }
    }
    Err(last_err.unwrap_or(ProcError::RedisMissing))
}

/// Polls `PING` until it answers, the process exits, or `timeout` passes.
async fn wait_redis(
    proc: &mut ChildProc,
    url: &str,
    log: &Path,
    timeout: Duration,
) -> Result<(), ProcError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = proc.exited() {
            return Err(ProcError::Exited {
                what: "redis-server".into(),
                status,
                log: log_tail(log),
            });
        }
        let last = match super::jobs::ping(url, Duration::from_millis(300)).await {
            Ok(()) => return Ok(()),
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(ProcError::Timeout {
                what: "redis-server".into(),
                secs: timeout.as_secs(),
                last,
                log: log_tail(log),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Where the adapter binary is: `explicit`, else next to the current
/// executable or one directory up.
pub(crate) fn find_adapter(explicit: Option<&Path>) -> Result<PathBuf, ProcError> {
    const NAME: &str = "queue-metrics-adapter";
    if let Some(p) = explicit {
        return if p.is_file() {
            Ok(p.to_path_buf())
        } else {
            Err(ProcError::AdapterMissing {
                looked: p.display().to_string(),
            })
        };
    }
    let mut looked = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        let mut dir = exe.parent().map(Path::to_path_buf);
        for _ in 0..2 {
            let Some(d) = dir else { break };
            let candidate = d.join(NAME);
            if candidate.is_file() {
                return Ok(candidate);
            }
            looked.push(candidate.display().to_string());
            dir = d.parent().map(Path::to_path_buf);
        }
    }
    Err(ProcError::AdapterMissing {
        looked: looked.join(", "),
    })
}

/// An adapter this run started.
#[derive(Debug)]
pub(crate) struct AdapterProc {
    /// `https://127.0.0.1:<port>` (the API).
    pub(crate) url: String,
    /// `http://127.0.0.1:<port>` (`/readyz`, `/metrics`).
    pub(crate) admin_url: String,
    /// The process.
    pub(crate) proc: ChildProc,
}

/// Starts the adapter with `config` and waits (up to `timeout`) for
/// `/readyz`; `env` is added to its environment (the Redis password, if
/// any).
pub(crate) async fn start_adapter(
    bin: &Path,
    config: &Path,
    dir: &Path,
    env: &[(String, String)],
    timeout: Duration,
) -> Result<AdapterProc, ProcError> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(500))
        .build()
        .map_err(|e| ProcError::Spawn {
            what: "an HTTP client".into(),
            source: std::io::Error::other(e),
        })?;
    let mut last_err = None;
    for attempt in 0..3 {
        let (api, admin) = (free_port()?, free_port()?);
        let log = dir.join(format!("adapter-{attempt}.log"));
        let out = std::fs::File::create(&log).map_err(ProcError::TempDir)?;
        let err = out.try_clone().map_err(ProcError::TempDir)?;
        let mut cmd = Command::new(bin);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("QMA_") {
                cmd.env_remove(k);
            }
        }
        cmd.arg("serve")
            .arg("--config")
            .arg(config)
            .args(["--secure-listen", &format!("127.0.0.1:{api}")])
            .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
            .args(["--auth-mode", "disabled"])
            .env("RUST_LOG", "warn")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .kill_on_drop(true);
        let child = cmd.spawn().map_err(|source| ProcError::Spawn {
            what: bin.display().to_string(),
            source,
        })?;
        let mut proc = ChildProc {
            what: "the adapter".into(),
            child,
        };
        let admin_url = format!("http://127.0.0.1:{admin}");
        match wait_ready(&http, &mut proc, &admin_url, &log, timeout).await {
            Ok(()) => {
                return Ok(AdapterProc {
                    url: format!("https://127.0.0.1:{api}"),
                    admin_url,
                    proc,
                });
            }
            Err(e) => {
                proc.stop().await;
                let retry = matches!(&e, ProcError::Exited { log, .. }
                    if log.contains("in use") || log.contains("bind"));
                last_err = Some(e);
                if !retry {
                    break;
                }
            }
        }
    }
    Err(last_err.unwrap_or(ProcError::AdapterMissing {
        looked: bin.display().to_string(),
    }))
}

/// Polls `/readyz` until 200, the process exits, or `timeout` passes.
async fn wait_ready(
    http: &reqwest::Client,
    proc: &mut ChildProc,
    admin_url: &str,
    log: &Path,
    timeout: Duration,
) -> Result<(), ProcError> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = proc.exited() {
            return Err(ProcError::Exited {
                what: "the adapter".into(),
                status,
                log: log_tail(log),
            });
        }
        let last = match http.get(format!("{admin_url}/readyz")).send().await {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => format!("/readyz answered {}", r.status()),
            Err(e) => format!("/readyz: {e}"),
        };
        if Instant::now() >= deadline {
            return Err(ProcError::Timeout {
                what: "the adapter".into(),
                secs: timeout.as_secs(),
                last,
                log: log_tail(log),
            });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
