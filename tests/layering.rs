//! The house rules of issue 12, checked on the source tree so they stay true:
//! imports between the crate's top-level modules point down only (no
//! cycle), the arrows are the ones `src/lib.rs` draws, and no source file
//! holds more than 600 lines of code outside its tests.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file belongs to (`src/store/build.rs` → `store`).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(src()).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let m = first.trim_end_matches(".rs");
    (m != "lib" && m != "main").then(|| m.to_string())
}

/// `crate::x` paths named in a file's code (comments skipped), including
/// `use crate::{a, b}` groups.
fn imports(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() {
                        out.insert(name);
                    }
                }
            } else {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.insert(name);
            }
        }
    }
    out
}

/// Lines of code outside a file's inline `#[cfg(test)] mod tests { .. }`
/// (which comes last): no blank or comment lines.
fn code_lines(text: &str) -> usize {
    let code = text
        .split("\n#[cfg(test)]\nmod tests {")
        .next()
        .unwrap_or("");
    code.lines()
        .filter(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with("//")
        })
        .count()
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut all = Vec::new();
    files(&src(), &mut all);
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in all {
        let Some(m) = module_of(&f) else { continue };
        // A test module may reach anywhere; the rule is about the code.
        if f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let text = fs::read_to_string(&f).unwrap();
        let code = text.split("\n#[cfg(test)]\nmod tests {").next().unwrap();
        let deps = g.entry(m.clone()).or_default();
        for d in imports(code) {
            if d != m {
                deps.insert(d);
            }
        }
    }
    g
}

#[test]
fn imports_point_down_only() {
    let g = graph();
    // Everything a module may import, as drawn in src/lib.rs.
    let allowed: BTreeMap<&str, &[&str]> = BTreeMap::from([
        (
            "cli",
            &[
                "api",
                "auth",
                "config",
                "server",
                "sources",
                "store",
                "telemetry",
                "tls",
            ][..],
        ),
        ("api", &["auth", "k8s", "store", "telemetry"][..]),
        ("server", &["auth", "k8s", "store", "telemetry"][..]),
        ("auth", &["k8s"][..]),
        ("sources", &["config", "kinds", "store", "tick", "tls"][..]),
        ("telemetry", &["store"][..]),
        ("store", &["config", "k8s"][..]),
        ("config", &["k8s", "kinds", "tls"][..]),
        ("tls", &["tick"][..]),
        ("kinds", &[][..]),
        ("k8s", &[][..]),
        ("tick", &[][..]),
    ]);
    for (m, deps) in &g {
        let ok = allowed.get(m.as_str()).unwrap_or_else(|| {
            panic!("module {m} is not in the layering table (imports {deps:?})")
        });
        for d in deps {
            assert!(
                ok.contains(&d.as_str()),
                "{m} imports {d}: not an arrow of src/lib.rs (allowed: {ok:?})"
            );
        }
    }
    // And no cycle, whatever the table says: a depth-first walk.
    fn visit<'a>(
        m: &'a str,
        g: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if let Some(i) = path.iter().position(|p| *p == m) {
            panic!("import cycle: {:?} -> {m}", &path[i..]);
        }
        if !done.insert(m) {
            return;
        }
        path.push(m);
        for d in g.get(m).into_iter().flatten() {
            visit(d, g, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for m in g.keys() {
        visit(m, &g, &mut Vec::new(), &mut done);
    }
}

#[test]
fn the_import_reader_sees_groups_and_skips_comments() {
    let text = "use crate::{config, store::Store};\n// crate::api in a comment\nlet x = crate::k8s::names::is_dns1123_label(s); // crate::auth\n";
    assert_eq!(
        imports(text),
        BTreeSet::from(["config".into(), "store".into(), "k8s".into()])
    );
    assert_eq!(
        code_lines("a\n\n// c\n  b\n#[cfg(test)]\nmod tests {\n  t\n}\n"),
        2
    );
    assert_eq!(code_lines("#[cfg(test)]\nmod tests;\nd\n"), 3);
}

#[test]
fn no_source_file_over_600_lines_of_code() {
    let mut all = Vec::new();
    files(&src(), &mut all);
    let mut big = Vec::new();
    for f in all {
        if f.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let n = code_lines(&fs::read_to_string(&f).unwrap());
        if n > 600 {
            big.push(format!("{} ({n} lines)", f.display()));
        }
    }
    assert!(big.is_empty(), "files over 600 lines of code: {big:?}");
}
