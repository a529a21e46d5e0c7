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
//!     support::require_redis!();
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
    RedisServer, Reply, redis_available, redis_required, redis_server_binary, redis_test_enabled,
    resp_command, resp_pipeline,
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

/// Put at the top of every test that needs a real redis-server.
///
/// * redis-server available: does nothing, the test goes on.
/// * missing and `QMA_REQUIRE_REDIS` unset (or `0`/empty): prints
///   `SKIP: redis-server not installed` to stderr and returns from the test
///   early. `require_redis!(value)` returns `value` instead of `()`, for
///   tests returning a `Result` (e.g. `require_redis!(Ok(()))`).
/// * missing and `QMA_REQUIRE_REDIS=1`: panics (scripts/test.sh and CI set it).
///
/// Use it as `support::require_redis!();`.
#[allow(unused_macros)]
macro_rules! require_redis {
    () => {
        if !$crate::support::redis_test_enabled() {
            return;
        }
    };
    ($ret:expr) => {
        if !$crate::support::redis_test_enabled() {
            return $ret;
        }
    };
}
#[allow(unused_imports)]
pub(crate) use require_redis;

/// Like [`require_redis!`] for Prometheus: returns early (with `SKIP:` on
/// stderr) when no `prometheus` binary is installed, or panics when
/// `QMA_REQUIRE_PROMETHEUS=1` (scripts/test.sh and CI set it).
#[allow(unused_macros)]
macro_rules! require_prometheus {
    () => {
        if !$crate::support::prometheus::available() {
            if std::env::var("QMA_REQUIRE_PROMETHEUS").is_ok_and(|v| v == "1") {
                panic!("prometheus not installed and QMA_REQUIRE_PROMETHEUS=1");
            }
            eprintln!("SKIP: prometheus not installed");
            return;
        }
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
