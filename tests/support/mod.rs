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
