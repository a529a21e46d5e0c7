//! Linux `/proc` readings for the benchmarks: per-thread CPU time and
//! process memory. Std only.
//!
//! CPU time comes from `/proc/<pid>/task/<tid>/schedstat` (nanoseconds on
//! CPU), summed over the threads whose name (`comm`) starts with a prefix:
//! name each tokio runtime's threads (`Builder::thread_name`) to tell the
//! server's CPU from the load generator's inside one process.
#![allow(dead_code)]

use std::path::Path;

/// Nanoseconds on CPU of the threads of `pid` whose name starts with `prefix`
/// (threads that exited are not counted: snapshot while they run).
pub fn thread_cpu_ns(pid: u32, prefix: &str) -> u64 {
    let dir = format!("/proc/{pid}/task");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| {
            std::fs::read_to_string(e.path().join("comm"))
                .is_ok_and(|c| c.trim_end().starts_with(prefix))
        })
        .filter_map(|e| schedstat_ns(&e.path()))
        .sum()
}

fn schedstat_ns(dir: &Path) -> Option<u64> {
    std::fs::read_to_string(dir.join("schedstat"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Memory figures of a process, in KiB, from `/proc/<pid>/status`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Memory {
    /// Resident set size now (`VmRSS`).
    pub rss_kib: u64,
    /// Peak resident set size (`VmHWM`).
    pub hwm_kib: u64,
    /// Anonymous resident memory (`RssAnon`): heap and stacks.
    pub anon_kib: u64,
    /// File-backed resident memory (`RssFile`): the mapped binary and libraries.
    pub file_kib: u64,
    /// Threads.
    pub threads: u64,
}

/// Reads `/proc/<pid>/status`; `None` if the process is gone.
pub fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Some(Memory {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
        anon_kib: field("RssAnon:"),
        file_kib: field("RssFile:"),
        threads: field("Threads:"),
    })
}

/// `nproc`, the CPU model and the load average, for the benchmark header.
pub fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cpus} CPUs ({model}), load average {}", load_average())
}

/// The 1/5/15-minute load averages from `/proc/loadavg`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// CPU time (user + system) of every thread of `pid`, live or exited, from
/// `/proc/<pid>/stat`, in nanoseconds (clock-tick resolution, `CLK_TCK` = 100).
pub fn process_cpu_ticks_ns(pid: u32) -> u64 {
    cpu_ticks(pid).map_or(0, |t| t * 10_000_000)
}

/// The same in seconds; `None` if the process is gone.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    cpu_ticks(pid).map(|t| t as f64 / 100.0)
}

/// utime + stime of `pid` in clock ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after "(comm)": state is field 3, utime 14, stime 15.
    let (_, rest) = stat.rsplit_once(')')?;
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    Some(f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0))
}
