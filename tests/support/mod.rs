//! Shared helpers for integration tests.
//!
//! Every integration test file that needs them declares `mod support;` at
//! its crate root and then uses e.g.
//!
//! ```ignore
//! mod support;
//! use support::RedisServer;
//!
//! #[test]
//! fn something_with_redis() {
//!     support::require!(Redis); // or require_redis!(): skip, or fail in CI
//!     let redis = RedisServer::start();
//!     redis.cmd(&["RPUSH", "jobs", "a"]);
//!     // ... point the code under test at redis.url() ...
//! }
//! ```
//!
//! Only `std` is used here, so the harness works whatever the crate's own
//! dependencies are.
#![allow(dead_code)]

pub mod adapter;
pub mod exporter;
pub mod kube_api;
pub mod pki;
pub mod pods;
pub mod prometheus;
pub mod redis_server;

#[allow(unused_imports)]
pub use redis_server::{
    RedisServer, Reply, redis_available, redis_server_binary, resp_command, resp_pipeline,
};

/// Returns a TCP port on 127.0.0.1 that was free a moment ago.
///
/// The OS picks it (bind to port 0); the listener is dropped before
/// returning, so another process may grab it in between: callers that start
/// a server on it should be ready to retry with a fresh port.
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
        .expect("could not bind 127.0.0.1:0 to find a free port");
    listener
        .local_addr()
        .expect("could not read the local address of a bound listener")
        .port()
}

/// A program that some integration tests run, and that scripts/test.sh
/// installs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    /// `redis-server`: `$QMA_REDIS_SERVER`, else the one on `PATH`.
    Redis,
    /// `prometheus` on `PATH` (Debian's package).
    Prometheus,
    /// `kubectl` on `PATH`, any version that runs `kubectl version --client`.
    Kubectl,
}

impl Tool {
    /// The program's name, for messages.
    pub fn program(self) -> &'static str {
        match self {
            Tool::Redis => "redis-server",
            Tool::Prometheus => "prometheus",
            Tool::Kubectl => "kubectl",
        }
    }

    /// The variable that turns a missing program from a skip into a failure.
    pub fn require_var(self) -> &'static str {
        match self {
            Tool::Redis => "QMA_REQUIRE_REDIS",
            Tool::Prometheus => "QMA_REQUIRE_PROMETHEUS",
            Tool::Kubectl => "QMA_REQUIRE_KUBECTL",
        }
    }

    /// Whether the program is installed and starts.
    pub fn available(self) -> bool {
        match self {
            Tool::Redis => redis_available(),
            Tool::Prometheus => prometheus::available(),
            Tool::Kubectl => std::process::Command::new("kubectl")
                .args(["version", "--client"])
                .output()
                .is_ok_and(|out| out.status.success()),
        }
    }
}

/// What a test does when the program it needs is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenMissing {
    /// Print `SKIP: …` and return: a developer's machine without the tool.
    Skip,
    /// Panic: in CI, or wherever the tool was asked for.
    Fail,
}

/// Decides from the values of the tool's `QMA_REQUIRE_*` variable and of
/// `CI` (which GitHub Actions, GitLab and most other CI systems set): either
/// set to anything but empty, `0`, `false` or `no` makes a missing tool a
/// failure.
pub fn when_missing(require: Option<&str>, ci: Option<&str>) -> WhenMissing {
    let set = |v: Option<&str>| {
        v.map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| !matches!(v.as_str(), "" | "0" | "false" | "no"))
    };
    if set(require) || set(ci) {
        WhenMissing::Fail
    } else {
        WhenMissing::Skip
    }
}

/// The function behind [`require!`]: true when the test should go on.
///
/// The tool present: true. Missing: panics when [`when_missing`] says
/// [`WhenMissing::Fail`], else prints `SKIP: <program> not installed` to
/// stderr and returns false.
#[track_caller]
pub fn need(tool: Tool) -> bool {
    if tool.available() {
        return true;
    }
    let (program, var) = (tool.program(), tool.require_var());
    let require = std::env::var(var).ok();
    let ci = std::env::var("CI").ok();
    match when_missing(require.as_deref(), ci.as_deref()) {
        WhenMissing::Fail => panic!(
            "{program} is not installed (or does not run), and {var} or CI is set: install it \
             (scripts/test.sh does) or, outside CI, unset {var} to skip the tests that need it"
        ),
        WhenMissing::Skip => {
            eprintln!("SKIP: {program} not installed (set {var}=1 to make this a failure)");
            false
        }
    }
}

/// Put at the top of every test that needs an external program
/// (a [`Tool`]): `support::require!(Redis);`, `support::require!(Kubectl);`.
///
/// * installed: does nothing, the test goes on;
/// * missing on a developer's machine: prints `SKIP: …` to stderr and
///   returns from the test early (`require!(Redis, value)` returns `value`,
///   for tests returning a `Result`);
/// * missing with `CI` or the tool's `QMA_REQUIRE_*` variable set (scripts/test.sh
///   sets them all): panics. See [`need`].
#[allow(unused_macros)]
macro_rules! require {
    ($tool:ident) => {
        if !$crate::support::need($crate::support::Tool::$tool) {
            return;
        }
    };
    ($tool:ident, $ret:expr) => {
        if !$crate::support::need($crate::support::Tool::$tool) {
            return $ret;
        }
    };
}
#[allow(unused_imports)]
pub(crate) use require;

/// `require!(Redis)`, under the name most tests use.
#[allow(unused_macros)]
macro_rules! require_redis {
    () => {
        $crate::support::require!(Redis)
    };
    ($ret:expr) => {
        $crate::support::require!(Redis, $ret)
    };
}
#[allow(unused_imports)]
pub(crate) use require_redis;

/// `require!(Prometheus)`, under the name most tests use.
#[allow(unused_macros)]
macro_rules! require_prometheus {
    () => {
        $crate::support::require!(Prometheus)
    };
}
#[allow(unused_imports)]
pub(crate) use require_prometheus;

/// The headless Chromium of Debian's `chromium` package (scripts/test.sh
/// installs it), with the flags this machine needs (no network of its own,
/// a throwaway profile). Panics when it is missing: page tests never skip.
pub fn chromium(args: &[&str]) -> std::process::Output {
    let profile = std::env::temp_dir().join(format!(
        "qma-chromium-{}-{}",
        std::process::id(),
        free_port()
    ));
    let out = std::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("chromium: {e} (apt-get install chromium; scripts/test.sh does)")
        });
    let _ = std::fs::remove_dir_all(&profile);
    out
}
