//! A throwaway `redis-server` per test, plus a tiny std-only RESP client.
//!
//! Each [`RedisServer`] runs on 127.0.0.1 on a port of its own, in a temp
//! dir of its own, without persistence; it is killed and its dir removed on
//! drop. Its log goes to `<dir>/redis.log` and its stdout/stderr (where
//! start-up errors such as a bad config line land) to `<dir>/redis.out`,
//! never to the test's stdout or stderr, so a leftover server can never hold
//! a pipe of the test runner open.

use std::ffi::OsString;
use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long `start` / `restart` may take before they panic.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Read/write timeout of the RESP client used by `cmd`.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Connect timeout of the readiness probe.
const PROBE_CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// Pause between readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(20);

/// Env var naming the redis-server binary to use instead of the one on PATH.
const BINARY_ENV: &str = "QMA_REDIS_SERVER";

static COUNTER: AtomicU64 = AtomicU64::new(0);

// ---------------------------------------------------------------------------
// Discovery
// ---------------------------------------------------------------------------

/// The redis-server binary to run: `$QMA_REDIS_SERVER` if set and non-empty,
/// else the first executable `redis-server` on `PATH`; `None` if neither.
pub fn redis_server_binary() -> Option<PathBuf> {
    if let Some(explicit) = std::env::var_os(BINARY_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(explicit);
        return is_executable(&path).then_some(path);
    }
    let path_var = std::env::var_os("PATH")?;
    std::env::split_paths(&path_var)
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_file() => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                meta.permissions().mode() & 0o111 != 0
            }
            #[cfg(not(unix))]
            {
                true
            }
        }
        _ => false,
    }
}

/// True when a redis-server binary can be found (see [`redis_server_binary`]).
pub fn redis_available() -> bool {
    redis_server_binary().is_some()
}

// ---------------------------------------------------------------------------
// RESP client
// ---------------------------------------------------------------------------

/// A RESP2 reply.
#[derive(Clone, PartialEq, Eq)]
pub enum Reply {
    /// `+OK`
    Simple(String),
    /// `-ERR ...` (the text after the `-`)
    Error(String),
    /// `:42`
    Integer(i64),
    /// `$3\r\nabc` (binary safe)
    Bulk(Vec<u8>),
    /// `*2\r\n...`
    Array(Vec<Reply>),
    /// `$-1` or `*-1`
    Nil,
}

impl Reply {
    /// The integer of an `Integer` reply.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Reply::Integer(n) => Some(*n),
            _ => None,
        }
    }

    /// The text of a `Simple` reply, or of a `Bulk` reply that is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Reply::Simple(s) => Some(s),
            Reply::Bulk(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The bytes of a `Bulk` reply (or of a `Simple` one).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Reply::Simple(s) => Some(s.as_bytes()),
            Reply::Bulk(b) => Some(b),
            _ => None,
        }
    }

    /// The elements of an `Array` reply.
    pub fn as_array(&self) -> Option<&[Reply]> {
        match self {
            Reply::Array(items) => Some(items),
            _ => None,
        }
    }

    /// True for `Nil`.
    pub fn is_nil(&self) -> bool {
        matches!(self, Reply::Nil)
    }

    /// True for an `Error` reply.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }

    /// True for the simple string `OK`.
    pub fn is_ok(&self) -> bool {
        matches!(self, Reply::Simple(s) if s == "OK")
    }

    /// Like [`Reply::as_int`] but panics with the reply shown.
    #[track_caller]
    pub fn expect_int(&self) -> i64 {
        self.as_int()
            .unwrap_or_else(|| panic!("expected an integer reply, got {self:?}"))
    }

    /// Like [`Reply::as_str`] but panics with the reply shown, and returns
    /// an owned `String`.
    #[track_caller]
    pub fn expect_string(&self) -> String {
        self.as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("expected a string reply, got {self:?}"))
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Simple(s) => write!(f, "Simple({s:?})"),
            Reply::Error(s) => write!(f, "Error({s:?})"),
            Reply::Integer(n) => write!(f, "Integer({n})"),
            // Show bulk strings as text where possible: far easier to read
            // in an assertion failure than a list of bytes.
            Reply::Bulk(b) => match std::str::from_utf8(b) {
                Ok(s) => write!(f, "Bulk({s:?})"),
                Err(_) => write!(f, "Bulk({b:?})"),
            },
            Reply::Array(items) => f.debug_tuple("Array").field(items).finish(),
            Reply::Nil => write!(f, "Nil"),
        }
    }
}

fn encode_command<S: AsRef<[u8]>>(args: &[S], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for arg in args {
        let arg = arg.as_ref();
        out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
}

fn protocol_error(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

fn read_line<R: BufRead>(reader: &mut R) -> io::Result<String> {
    let mut line = Vec::new();
    let n = reader.read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed before a full reply",
        ));
    }
    if !line.ends_with(b"\r\n") {
        return Err(protocol_error(format!(
            "RESP line not ended by CRLF: {:?}",
            String::from_utf8_lossy(&line)
        )));
    }
    line.truncate(line.len() - 2);
    String::from_utf8(line).map_err(|e| protocol_error(format!("RESP line not UTF-8: {e}")))
}

fn parse_len(text: &str) -> io::Result<i64> {
    text.parse::<i64>()
        .map_err(|_| protocol_error(format!("bad RESP length/integer {text:?}")))
}

/// Reads one RESP2 reply.
fn read_reply<R: BufRead>(reader: &mut R) -> io::Result<Reply> {
    let line = read_line(reader)?;
    let (kind, rest) = line
        .split_at_checked(1)
        .ok_or_else(|| protocol_error("empty RESP line"))?;
    match kind {
        "+" => Ok(Reply::Simple(rest.to_owned())),
        "-" => Ok(Reply::Error(rest.to_owned())),
        ":" => Ok(Reply::Integer(parse_len(rest)?)),
        "$" => {
            let len = parse_len(rest)?;
            if len < 0 {
                return Ok(Reply::Nil);
            }
            let len = usize::try_from(len).map_err(|_| protocol_error("bulk too long"))?;
            let mut buf = vec![0u8; len + 2];
            reader.read_exact(&mut buf)?;
            if !buf.ends_with(b"\r\n") {
                return Err(protocol_error("bulk string not ended by CRLF"));
            }
            buf.truncate(len);
            Ok(Reply::Bulk(buf))
        }
        "*" => {
            let len = parse_len(rest)?;
            if len < 0 {
                return Ok(Reply::Nil);
            }
            let len = usize::try_from(len).map_err(|_| protocol_error("array too long"))?;
            let mut items = Vec::with_capacity(len.min(1024));
            for _ in 0..len {
                items.push(read_reply(reader)?);
            }
            Ok(Reply::Array(items))
        }
        other => Err(protocol_error(format!(
            "unknown RESP type {other:?} in line {line:?}"
        ))),
    }
}

fn connect(addr: SocketAddr, connect_timeout: Duration) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, connect_timeout)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Sends several commands over one fresh connection to `127.0.0.1:port` and
/// returns their replies in order (a reply that is an error does not stop
/// the rest). Handy where state is per connection, e.g. `AUTH` or `SELECT`.
pub fn resp_pipeline<S: AsRef<[u8]>>(port: u16, commands: &[&[S]]) -> io::Result<Vec<Reply>> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let stream = connect(addr, IO_TIMEOUT)?;
    let mut request = Vec::new();
    for args in commands {
        if args.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "a redis command needs at least one argument",
            ));
        }
        encode_command(args, &mut request);
    }
    (&stream).write_all(&request)?;
    (&stream).flush()?;
    let mut reader = BufReader::new(&stream);
    commands.iter().map(|_| read_reply(&mut reader)).collect()
}

/// Sends one command over a fresh connection to `127.0.0.1:port`.
pub fn resp_command<S: AsRef<[u8]>>(port: u16, args: &[S]) -> io::Result<Reply> {
    let mut replies = resp_pipeline(port, &[args])?;
    replies.pop().ok_or_else(|| protocol_error("no reply read"))
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

/// A redis-server child process for one test. See the module docs.
pub struct RedisServer {
    port: u16,
    dir: PathBuf,
    binary: PathBuf,
    extra_args: Vec<OsString>,
    child: Option<Child>,
}

/// Why one attempt to bring redis-server up failed.
enum StartError {
    /// The child exited (typically: the port was taken). Try another port.
    Exited(String),
    /// Something else answers on the port. Try another port / wait.
    PortTaken(String),
    /// Not up before the deadline.
    TimedOut(String),
}

impl RedisServer {
    /// Starts redis-server on 127.0.0.1 on a free port, in a temp dir of its
    /// own, without persistence, and waits until it answers `PING` (and is
    /// really our child, not some other server on that port).
    ///
    /// Panics, with the log's tail, if that does not happen within 10 s, or
    /// if no redis-server binary can be found.
    #[track_caller]
    pub fn start() -> RedisServer {
        Self::start_with_args::<&str>(&[])
    }

    /// Like [`RedisServer::start`], with extra redis-server command-line
    /// arguments appended (kept for `restart`), e.g.
    /// `&["--maxmemory", "10mb"]`. `cmd` opens a fresh connection per call, so
    /// with `--requirepass` use [`RedisServer::pipeline`] starting with `AUTH`.
    #[track_caller]
    pub fn start_with_args<S: AsRef<std::ffi::OsStr>>(extra_args: &[S]) -> RedisServer {
        let binary = redis_server_binary().unwrap_or_else(|| {
            panic!(
                "redis-server not found (not on PATH, and ${BINARY_ENV} unset); \
                 install it with `apt-get install redis-server` or run scripts/test.sh"
            )
        });
        let dir = unique_temp_dir();
        std::fs::create_dir_all(&dir)
            .unwrap_or_else(|e| panic!("could not create redis temp dir {}: {e}", dir.display()));
        let mut server = RedisServer {
            port: 0,
            dir,
            binary,
            extra_args: extra_args.iter().map(|a| a.as_ref().to_owned()).collect(),
            child: None,
        };

        let deadline = Instant::now() + START_TIMEOUT;
        let mut failures = Vec::new();
        loop {
            server.port = super::free_port();
            match server.spawn_and_wait(deadline) {
                Ok(()) => return server,
                Err(StartError::Exited(msg)) if server.config_error() => {
                    panic!(
                        "redis-server ({}) rejected its configuration ({msg}); extra args: {:?}\nlog tail:\n{}",
                        server.binary.display(),
                        server.extra_args,
                        server.log_tail()
                    );
                }
                Err(StartError::Exited(msg) | StartError::PortTaken(msg))
                    if Instant::now() < deadline =>
                {
                    failures.push(format!("port {}: {msg}", server.port));
                }
                Err(
                    StartError::Exited(msg)
                    | StartError::PortTaken(msg)
                    | StartError::TimedOut(msg),
                ) => {
                    failures.push(format!("port {}: {msg}", server.port));
                    panic!(
                        "redis-server ({}) did not start within {:?}; attempts:\n  {}\nlog tail:\n{}",
                        server.binary.display(),
                        START_TIMEOUT,
                        failures.join("\n  "),
                        server.log_tail()
                    );
                }
            }
        }
    }

    /// The TCP port the server listens on (on 127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// The server's working dir (removed on drop).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The server's log file (`<dir>/redis.log`).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("redis.log")
    }

    /// True between a successful `start`/`restart` and `stop`/drop, while the
    /// child has not exited on its own.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// The child's process id, while there is one.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server (`Child::kill`, i.e. SIGKILL, then `wait`), keeping
    /// the port and the dir so that [`RedisServer::restart`] reuses them.
    /// Does nothing if it is not running.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port and dir (stopping it first if
    /// it runs), retrying for up to 10 s while the port is not yet free.
    /// Panics with the log's tail if it cannot.
    #[track_caller]
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + START_TIMEOUT;
        let mut last = String::new();
        loop {
            match self.spawn_and_wait(deadline) {
                Ok(()) => return,
                Err(StartError::Exited(msg) | StartError::PortTaken(msg))
                    if Instant::now() < deadline =>
                {
                    last = msg;
                    thread::sleep(Duration::from_millis(100));
                }
                Err(
                    StartError::Exited(msg)
                    | StartError::PortTaken(msg)
                    | StartError::TimedOut(msg),
                ) => {
                    if !msg.is_empty() {
                        last = msg;
                    }
                    panic!(
                        "redis-server could not be restarted on port {} within {:?}: {last}\nlog tail:\n{}",
                        self.port,
                        START_TIMEOUT,
                        self.log_tail()
                    );
                }
            }
        }
    }

    /// Runs one command over a fresh connection and returns its reply, e.g.
    /// `cmd(&["RPUSH", "k", "a"])`. An error reply is returned as
    /// [`Reply::Error`]; an I/O failure (server down, ...) panics — use
    /// [`RedisServer::try_cmd`] to get it as a `Result`.
    #[track_caller]
    pub fn cmd<S: AsRef<[u8]>>(&self, args: &[S]) -> Reply {
        self.try_cmd(args).unwrap_or_else(|e| {
            panic!(
                "redis command {:?} on port {} failed: {e}",
                show_args(args),
                self.port
            )
        })
    }

    /// Like [`RedisServer::cmd`], returning I/O errors instead of panicking.
    pub fn try_cmd<S: AsRef<[u8]>>(&self, args: &[S]) -> io::Result<Reply> {
        resp_command(self.port, args)
    }

    /// Runs several commands over one connection, in order, and returns
    /// their replies; panics on I/O failure.
    #[track_caller]
    pub fn pipeline<S: AsRef<[u8]>>(&self, commands: &[&[S]]) -> Vec<Reply> {
        resp_pipeline(self.port, commands).unwrap_or_else(|e| {
            panic!(
                "redis pipeline of {} commands on port {} failed: {e}",
                commands.len(),
                self.port
            )
        })
    }

    /// The file that gets the server's stdout and stderr (`<dir>/redis.out`).
    pub fn output_path(&self) -> PathBuf {
        self.dir.join("redis.out")
    }

    /// The last lines of the server's stdout/stderr and log, for panic
    /// messages.
    pub fn log_tail(&self) -> String {
        let mut out = String::new();
        for path in [self.output_path(), self.log_path()] {
            out.push_str(&format!("--- {} ---\n", path.display()));
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    let lines: Vec<&str> = text.lines().collect();
                    let from = lines.len().saturating_sub(20);
                    for line in &lines[from..] {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
                Err(e) => out.push_str(&format!("(unreadable: {e})\n")),
            }
        }
        out
    }

    /// True when redis-server said its configuration (our arguments) is bad:
    /// no point retrying on another port then.
    fn config_error(&self) -> bool {
        std::fs::read_to_string(self.output_path())
            .map(|out| out.contains("FATAL CONFIG"))
            .unwrap_or(false)
    }

    fn command(&self) -> io::Result<Command> {
        let output = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.output_path())?;
        let mut command = Command::new(&self.binary);
        command
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(&self.dir)
            .arg("--save")
            .arg("")
            .arg("--appendonly")
            .arg("no")
            .arg("--protected-mode")
            .arg("no")
            .arg("--daemonize")
            .arg("no")
            .arg("--loglevel")
            .arg("warning")
            .arg("--logfile")
            .arg(self.log_path())
            .args(&self.extra_args)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(output.try_clone()?))
            .stderr(Stdio::from(output));
        Ok(command)
    }

    /// Spawns the child on `self.port` and waits until it answers. On
    /// failure the child is killed and reaped and `self.child` is `None`.
    fn spawn_and_wait(&mut self, deadline: Instant) -> Result<(), StartError> {
        let child = self
            .command()
            .and_then(|mut c| c.spawn())
            .unwrap_or_else(|e| panic!("could not run {}: {e}", self.binary.display()));
        let pid = child.id();
        self.child = Some(child);
        let result = self.wait_ready(pid, deadline);
        if result.is_err() {
            self.stop();
        }
        result
    }

    fn wait_ready(&mut self, pid: u32, deadline: Instant) -> Result<(), StartError> {
        let addr = self.addr();
        let mut last_error = String::from("no answer yet");
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(StartError::Exited(format!(
                    "redis-server exited with {status} (port in use?)"
                )));
            }
            match probe(addr) {
                Ok(Some(server_pid)) if server_pid == pid => return Ok(()),
                Ok(Some(other)) => {
                    // Some other redis-server holds the port; ours will fail to bind.
                    last_error = format!("port answered by another redis-server (pid {other})");
                    if self.child_exited_within(Duration::from_millis(200)) {
                        return Err(StartError::PortTaken(last_error));
                    }
                }
                Ok(None) => {
                    // Answers PING but INFO gave no pid (e.g. NOAUTH with
                    // --requirepass): accept it if our child is alive.
                    if !self.child_exited_within(Duration::from_millis(50)) {
                        return Ok(());
                    }
                }
                Err(e) => last_error = e.to_string(),
            }
            if Instant::now() >= deadline {
                return Err(StartError::TimedOut(last_error));
            }
            thread::sleep(PROBE_INTERVAL);
        }
    }

    fn child_exited_within(&mut self, wait: Duration) -> bool {
        let until = Instant::now() + wait;
        loop {
            match self.child.as_mut().map(Child::try_wait) {
                Some(Ok(None)) => {}
                _ => return true,
            }
            if Instant::now() >= until {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }
}

/// PINGs `addr`; on `PONG` (or `NOAUTH`-style error) asks `INFO server` for
/// the server's pid. `Ok(Some(pid))`: up, pid known; `Ok(None)`: up, pid
/// unknown; `Err`: not answering (yet).
fn probe(addr: SocketAddr) -> io::Result<Option<u32>> {
    let stream = connect(addr, PROBE_CONNECT_TIMEOUT)?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    let mut request = Vec::new();
    encode_command(&["PING"], &mut request);
    encode_command(&["INFO", "server"], &mut request);
    (&stream).write_all(&request)?;
    let mut reader = BufReader::new(&stream);
    match read_reply(&mut reader)? {
        Reply::Simple(s) if s == "PONG" => {}
        Reply::Error(e) if e.starts_with("NOAUTH") => return Ok(None),
        Reply::Error(e) if e.starts_with("LOADING") => {
            return Err(io::Error::other(format!("server still loading: {e}")));
        }
        other => return Err(protocol_error(format!("unexpected PING reply {other:?}"))),
    }
    let info = read_reply(&mut reader)?;
    Ok(info.as_str().and_then(|text| {
        text.lines()
            .find_map(|line| line.strip_prefix("process_id:"))
            .and_then(|pid| pid.trim().parse().ok())
    }))
}

fn show_args<S: AsRef<[u8]>>(args: &[S]) -> Vec<String> {
    args.iter()
        .map(|a| String::from_utf8_lossy(a.as_ref()).into_owned())
        .collect()
}

fn unique_temp_dir() -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("qma-redis-{}-{}-{}", std::process::id(), n, nanos))
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl fmt::Debug for RedisServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisServer")
            .field("port", &self.port)
            .field("dir", &self.dir)
            .field("pid", &self.pid())
            .finish()
    }
}
