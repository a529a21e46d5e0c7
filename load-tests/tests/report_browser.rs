//! A real browser opens the reports: headless Chromium (Debian's package)
//! loads a comparison and a sweep page written from synthetic runs, and
//! must produce a full-size, non-trivial screenshot of each and a DOM with
//! every plot parsed as an `<svg>` element.
//!
//! Chromium (and a font, DejaVu) is installed with apt-get when it is
//! missing and the test runs as root (as CI does); otherwise the test
//! fails, telling what to install. It never skips.

#![forbid(unsafe_code)]

#[path = "report_support/synthetic.rs"]
mod synthetic;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use qma_load::report;

const WIDTH: u32 = 1400;
const HEIGHT: u32 = 3000;
/// A page with a heading and a paragraph screenshots to ~21 KB at this
/// size; a report with tables and plots to several hundred.
const MIN_PNG_BYTES: u64 = 150_000;

fn find_on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Chromium's path, installing Debian's package first when missing.
fn chromium() -> PathBuf {
    const NAMES: [&str; 2] = ["chromium", "chromium-browser"];
    if let Some(p) = find_on_path(&NAMES) {
        return p;
    }
    assert!(
        is_root(),
        "chromium is not installed and this test is not root: run `apt-get install -y chromium` (Debian's package)"
    );
    for args in [
        &["update"][..],
        &["install", "-y", "chromium", "fonts-dejavu-core"][..],
    ] {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .status()
            .expect("run apt-get");
        assert!(status.success(), "apt-get {args:?} failed: {status}");
    }
    find_on_path(&NAMES).expect("chromium still not on PATH after apt-get install chromium")
}

/// Runs chromium headless with `args` then `url`, killed after two minutes;
/// returns its stdout.
fn run_chromium(bin: &Path, profile: &Path, args: &[String], url: &str) -> Vec<u8> {
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut out).map(|_| out)
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s on {url}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chromium failed on {url}: {status}");
    reader
        .join()
        .expect("reader thread")
        .expect("read chromium's stdout")
}

/// Screenshots `html` and checks the PNG and the parsed DOM.
fn check_page(bin: &Path, dir: &Path, name: &str, html: &str) {
    let page = dir.join(format!("{name}.html"));
    report::write(&page, html).expect("write the report");
    let url = format!("file://{}", page.display());
    let png = dir.join(format!("{name}.png"));
    let profile = tempfile::tempdir().expect("profile dir");
    run_chromium(
        bin,
        profile.path(),
        &[
            format!("--window-size={WIDTH},{HEIGHT}"),
            format!("--screenshot={}", png.display()),
        ],
        &url,
    );
    let bytes =
        std::fs::read(&png).unwrap_or_else(|e| panic!("no screenshot {}: {e}", png.display()));
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let w = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let h = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((w, h), (WIDTH, HEIGHT), "screenshot size");
    assert!(
        bytes.len() as u64 > MIN_PNG_BYTES,
        "{name}: screenshot of {} bytes looks blank (expected > {MIN_PNG_BYTES})",
        bytes.len()
    );

    // The browser's DOM holds every plot as an element.
    let profile = tempfile::tempdir().expect("profile dir");
    let dom = String::from_utf8_lossy(&run_chromium(
        bin,
        profile.path(),
        &["--dump-dom".to_owned()],
        &url,
    ))
    .into_owned();
    assert_eq!(
        dom.matches("<svg").count(),
        html.matches("<svg").count(),
        "{name}: plots in the parsed DOM"
    );
    assert!(dom.contains("</table>"), "{name}: tables in the parsed DOM");
}

#[test]
fn reports_render_in_headless_chromium() {
    let bin = chromium();
    let dir = tempfile::tempdir().expect("temp dir");

    let runs = synthetic::comparison_runs(&[synthetic::gateway()], &["spike", "diurnal"]);
    let html = report::comparison("browser test: comparison", &runs, &[]);
    assert_eq!(html.matches("<svg").count(), 8);
    check_page(&bin, dir.path(), "comparison", &html);

    let (sweep, runs) = synthetic::gateway_sweep();
    let html = report::sweep("browser test: sweep", &sweep, &runs);
    check_page(&bin, dir.path(), "sweep", &html);
}
