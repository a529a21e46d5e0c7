//! Self-test of the integration-test harness in tests/support (std only).

mod support;

use support::{RedisServer, Reply};

#[test]
fn free_port_is_bindable_and_skips_held_ports() {
    let port = support::free_port();
    let held =
        std::net::TcpListener::bind(("127.0.0.1", port)).expect("free_port gave a port in use");
    for _ in 0..20 {
        assert_ne!(
            support::free_port(),
            port,
            "free_port gave a port that is held"
        );
    }
    drop(held);
}

#[test]
fn missing_tools_skip_locally_and_fail_in_ci() {
    use support::WhenMissing::{Fail, Skip};
    use support::when_missing;
    assert_eq!(when_missing(None, None), Skip);
    for off in ["", "0", "false", "no", " No "] {
        assert_eq!(when_missing(Some(off), None), Skip, "{off:?}");
        assert_eq!(when_missing(None, Some(off)), Skip, "CI={off:?}");
    }
    for on in ["1", "true", "yes"] {
        assert_eq!(when_missing(Some(on), None), Fail, "{on:?}");
        assert_eq!(when_missing(None, Some(on)), Fail, "CI={on:?}");
        // CI wins over an explicit opt-out: CI never skips.
        assert_eq!(when_missing(Some("0"), Some(on)), Fail, "CI={on:?}");
    }
    // Each tool has its own switch, named as scripts/test.sh sets it.
    let tools = [
        support::Tool::Redis,
        support::Tool::Prometheus,
        support::Tool::Kubectl,
    ];
    let vars: std::collections::BTreeSet<_> = tools.iter().map(|t| t.require_var()).collect();
    assert_eq!(vars.len(), tools.len());
    let script = include_str!("../scripts/test.sh");
    for var in vars {
        assert!(
            script.contains(&format!("export {var}=1")),
            "scripts/test.sh does not export {var}=1"
        );
    }
}

#[test]
fn start_push_len_stop_restart() {
    support::require_redis!();
    let mut redis = RedisServer::start();
    let port = redis.port();
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{port}/"));
    assert!(redis.is_running());

    assert_eq!(redis.cmd(&["PING"]), Reply::Simple("PONG".into()));
    assert_eq!(redis.cmd(&["RPUSH", "jobs", "a", "b"]), Reply::Integer(2));
    assert_eq!(redis.cmd(&["RPUSH", "jobs", "c"]).expect_int(), 3);
    assert_eq!(redis.cmd(&["LLEN", "jobs"]).as_int(), Some(3));

    // Persistence is off.
    let save = redis.cmd(&["CONFIG", "GET", "save"]);
    assert_eq!(
        save,
        Reply::Array(vec![Reply::Bulk(b"save".to_vec()), Reply::Bulk(Vec::new())])
    );
    let aof = redis.cmd(&["CONFIG", "GET", "appendonly"]);
    assert_eq!(aof.as_array().unwrap()[1].as_str(), Some("no"));

    redis.stop();
    assert!(!redis.is_running());
    assert!(
        redis.try_cmd(&["PING"]).is_err(),
        "server still answers after stop"
    );
    redis.stop(); // idempotent

    redis.restart();
    assert_eq!(redis.port(), port, "restart must reuse the port");
    assert_eq!(redis.cmd(&["PING"]).as_str(), Some("PONG"));
    // No persistence: the list is gone after a kill + restart.
    assert_eq!(redis.cmd(&["LLEN", "jobs"]), Reply::Integer(0));

    // restart of a running server stops it first.
    redis.restart();
    assert_eq!(redis.cmd(&["PING"]).as_str(), Some("PONG"));
}

#[test]
fn reply_kinds() {
    support::require_redis!();
    let redis = RedisServer::start();
    assert!(redis.cmd(&["SET", "k", "v"]).is_ok());
    assert_eq!(redis.cmd(&["GET", "k"]), Reply::Bulk(b"v".to_vec()));
    assert_eq!(redis.cmd(&["GET", "k"]).expect_string(), "v");
    assert!(redis.cmd(&["GET", "missing"]).is_nil());
    assert!(redis.cmd(&["NOSUCHCOMMAND"]).is_error());
    assert!(redis.cmd(&["LPUSH", "k", "x"]).is_error()); // WRONGTYPE
    assert_eq!(redis.cmd(&["BLPOP", "empty", "0.01"]), Reply::Nil);

    // Binary-safe values, owned args.
    let value = vec![0u8, 13, 10, 255];
    let args: Vec<&[u8]> = vec![b"SET", b"bin", &value];
    assert!(redis.cmd(&args).is_ok());
    assert_eq!(redis.cmd(&["GET", "bin"]).as_bytes(), Some(&value[..]));
    let owned = vec![String::from("RPUSH"), String::from("q"), String::from("x")];
    assert_eq!(redis.cmd(&owned).expect_int(), 1);

    assert_eq!(
        redis.cmd(&["LRANGE", "q", "0", "-1"]),
        Reply::Array(vec![Reply::Bulk(b"x".to_vec())])
    );

    // Per-connection state through a pipeline.
    let replies = redis.pipeline(&[&["SELECT", "3"], &["RPUSH", "db3", "a"], &["LLEN", "db3"]]);
    assert_eq!(
        replies,
        vec![
            Reply::Simple("OK".into()),
            Reply::Integer(1),
            Reply::Integer(1)
        ]
    );
    assert_eq!(redis.cmd(&["LLEN", "db3"]).expect_int(), 0, "cmd uses db 0");
}

#[test]
fn many_servers_in_parallel() {
    support::require_redis!();
    let handles: Vec<_> = (0..6)
        .map(|i| {
            std::thread::spawn(move || {
                let redis = RedisServer::start();
                let key = format!("k{i}");
                assert_eq!(redis.cmd(&["INCR", key.as_str()]).expect_int(), 1);
                redis.port()
            })
        })
        .collect();
    let mut ports: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 6, "each server has its own port");
}

#[test]
fn restart_waits_for_port_and_requirepass() {
    support::require_redis!();
    let mut redis = RedisServer::start_with_args(&["--requirepass", "s3cret"]);
    assert!(redis.cmd(&["PING"]).is_error(), "NOAUTH expected");
    let replies = redis.pipeline(&[&["AUTH", "s3cret"], &["PING"]]);
    assert_eq!(replies[1].as_str(), Some("PONG"));
    redis.restart();
    let replies = redis.pipeline(&[&["AUTH", "s3cret"], &["PING"]]);
    assert_eq!(replies[1].as_str(), Some("PONG"));
}

#[test]
fn restart_retries_while_port_is_busy() {
    support::require_redis!();
    let mut redis = RedisServer::start();
    let port = redis.port();
    redis.cmd(&["SET", "k", "v"]);
    redis.stop();
    let blocker = std::net::TcpListener::bind(("127.0.0.1", port)).expect("rebind stopped port");
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(400));
        drop(blocker);
    });
    redis.restart();
    release.join().unwrap();
    assert_eq!(redis.port(), port);
    assert_eq!(redis.cmd(&["PING"]).as_str(), Some("PONG"));
}

#[test]
fn bad_config_fails_fast() {
    support::require_redis!();
    let started = std::time::Instant::now();
    let panic = std::panic::catch_unwind(|| {
        RedisServer::start_with_args(&["--no-such-option", "1"]);
    })
    .expect_err("redis-server started with a bad option");
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    assert!(
        message.contains("rejected its configuration"),
        "unexpected panic: {message}"
    );
    // Well before the 10 s start timeout: the exit is noticed, not waited out.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn drop_kills_and_removes_dir() {
    support::require_redis!();
    let redis = RedisServer::start();
    let dir = redis.dir().to_path_buf();
    let port = redis.port();
    assert!(dir.is_dir());
    drop(redis);
    assert!(!dir.exists(), "temp dir left behind: {}", dir.display());
    assert!(support::resp_command(port, &["PING"]).is_err());
}

#[test]
fn require_redis_returns_value() -> Result<(), String> {
    support::require_redis!(Ok(()));
    let redis = RedisServer::start();
    redis
        .cmd(&["PING"])
        .as_str()
        .filter(|s| *s == "PONG")
        .map(|_| ())
        .ok_or_else(|| "no PONG".to_string())
}
