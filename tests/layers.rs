//! The library's layers, checked from its `crate::` paths: the pure domain at the bottom,
//! then the API clients and stores, the jobs, the worker and timers, the HTTP ingress and
//! admin, and the wiring on top. A module may use its own layer or lower ones, never a
//! higher one, and no two parts may use each other round a cycle. The library never uses
//! the sandbox crate (only the binary's `demo`/`bench` and the tests do).
//!
//! A new module needs a row in `LAYERS`; the test says so when one is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// (module path prefix, layer). The longest matching prefix decides, so a part of a module
/// can sit lower than the rest (the pure `inventory::sellable` under `inventory`).
const LAYERS: &[(&str, u8)] = &[
    // 0: pure domain: settings, API models and the mappings between them. No I/O.
    ("config", 0),
    ("mapping", 0),
    ("settlement", 0),
    ("inventory::sellable", 0),
    ("tiktok::models", 0),
    ("tiktok::finance_models", 0),
    ("netsuite::records", 0),
    // 1: API clients and stores.
    ("tiktok", 1),
    ("netsuite", 1),
    ("queue", 1),
    ("state", 1),
    ("history", 1),
    ("review", 1),
    ("metrics", 1),
    ("inventory", 1),
    // 2: job handlers (and the inventory pusher, which runs on the jobs' context).
    ("jobs", 2),
    // 3: what runs jobs: the worker loop and the timers.
    ("worker", 3),
    ("timers", 3),
    // 4: HTTP ingress and admin (API and CLI).
    ("ingress", 4),
    ("server", 4),
    ("admin_cli", 4),
    // 5: wiring.
    ("app", 5),
];

fn layer_of(module: &str) -> Option<(&'static str, u8)> {
    LAYERS
        .iter()
        .filter(|(prefix, _)| module == *prefix || module.starts_with(&format!("{prefix}::")))
        .max_by_key(|(prefix, _)| prefix.len())
        .map(|(p, l)| (*p, *l))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/jobs/mod.rs` → `jobs`, `src/inventory/store.rs` → `inventory::store`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod") {
        parts.pop();
    }
    parts.join("::")
}

/// Source without comments, string literals and `#[cfg(test)] mod tests` blocks at the end
/// of a file (unit tests may reach anywhere).
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("//") {
            continue;
        }
        let mut in_str = false;
        let mut prev = ' ';
        for ch in line.chars() {
            if ch == '"' && prev != '\\' {
                in_str = !in_str;
            } else if !in_str {
                if ch == '/' && prev == '/' {
                    out.pop();
                    break;
                }
                out.push(ch);
            }
            prev = ch;
        }
        out.push('\n');
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands `crate::a::b`, `crate::{a::b, c}` and `crate::a::{b, c::d}` into module paths
/// of up to two segments (`a::b`, `c`, `a::b`, `a::c`).
fn crate_paths(code: &str) -> BTreeSet<String> {
    fn segments(path: &str) -> Vec<&str> {
        path.split("::")
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.chars().all(is_ident))
            .collect()
    }
    fn group(s: &str) -> Option<(&str, &str)> {
        // `s` starts right after a `{`; returns (inside, rest).
        let mut depth = 1;
        for (i, c) in s.char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some((&s[..i], &s[i + 1..]));
                    }
                }
                _ => {}
            }
        }
        None
    }
    fn expand(prefix: &[String], s: &str, out: &mut BTreeSet<String>) {
        // `s` is a use tree: `a::b`, `a::{...}`, `{...}`.
        let s = s.trim();
        if let Some(inner) = s.strip_prefix('{') {
            let Some((inside, _)) = group(inner) else {
                return;
            };
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inside.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(prefix, &inside[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand(prefix, &inside[start..], out);
            return;
        }
        let (head, tail) = match s.find("::{") {
            Some(i) => (&s[..i], Some(&s[i + 2..])),
            None => (s, None),
        };
        let mut path: Vec<String> = prefix.to_vec();
        path.extend(
            segments(head.split(" as ").next().unwrap_or(""))
                .iter()
                .map(|s| s.to_string()),
        );
        match tail {
            Some(t) if path.len() < 2 => expand(&path, t, out),
            _ => {
                if !path.is_empty() && path[0] != "self" {
                    out.insert(path.into_iter().take(2).collect::<Vec<_>>().join("::"));
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().last();
        rest = &rest[i + "crate::".len()..];
        if before.is_some_and(is_ident) {
            continue; // e.g. `mycrate::`
        }
        let end = if let Some(inner) = rest.strip_prefix('{') {
            group(inner)
                .map(|(inside, _)| inside.len() + 2)
                .unwrap_or(rest.len())
        } else {
            let mut end = 0;
            for (i, c) in rest.char_indices() {
                if is_ident(c) || c == ':' {
                    end = i + 1;
                } else if c == '{' && rest[..i].ends_with("::") {
                    end = group(&rest[i + 1..])
                        .map(|(inside, _)| i + inside.len() + 2)
                        .unwrap_or(rest.len());
                    break;
                } else {
                    break;
                }
            }
            end
        };
        expand(&[], &rest[..end], &mut out);
    }
    out
}

struct Edge {
    from: String,
    to: String,
    file: PathBuf,
}

fn edges() -> Vec<Edge> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let lib_modules: BTreeSet<String> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect();
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut out = Vec::new();
    for file in files {
        let module = module_of(&src, &file);
        let top = module.split("::").next().unwrap_or_default().to_string();
        if !lib_modules.contains(&top) {
            continue; // lib.rs, main.rs and the binary's own modules (demo, bench)
        }
        let code = code_of(&std::fs::read_to_string(&file).expect("read"));
        for to in crate_paths(&code) {
            out.push(Edge {
                from: module.clone(),
                to,
                file: file.clone(),
            });
        }
    }
    out
}

#[test]
fn every_library_module_has_a_layer() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let missing: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';'))
        .filter(|m| layer_of(m).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "give these modules a row in LAYERS: {missing:?}"
    );
}

#[test]
fn no_module_uses_a_higher_layer() {
    let mut wrong = Vec::new();
    for e in edges() {
        let (Some((_, from)), Some((_, to))) = (layer_of(&e.from), layer_of(&e.to)) else {
            continue;
        };
        if to > from {
            wrong.push(format!(
                "{} (layer {from}) uses {} (layer {to}) in {}",
                e.from,
                e.to,
                e.file.display()
            ));
        }
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}

#[test]
fn the_parts_form_no_cycle() {
    // Parts are the rows of LAYERS; a module belongs to its longest matching row.
    let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for e in edges() {
        let (Some((from, _)), Some((to, _))) = (layer_of(&e.from), layer_of(&e.to)) else {
            continue;
        };
        if from != to {
            graph.entry(from).or_default().insert(to);
        }
    }
    // Depth-first search for a back edge; report the cycle it closes.
    fn visit<'a>(
        n: &'a str,
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        stack: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<&'a str>> {
        if let Some(i) = stack.iter().position(|s| *s == n) {
            let mut cycle = stack[i..].to_vec();
            cycle.push(n);
            return Some(cycle);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n);
        for next in graph.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, graph, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n);
        None
    }
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        let cycle = visit(n, &graph, &mut Vec::new(), &mut done);
        assert!(
            cycle.is_none(),
            "import cycle: {}",
            cycle.unwrap_or_default().join(" -> ")
        );
    }
}

#[test]
fn the_library_never_uses_the_sandbox() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    assert!(
        !lib.contains("mod sandbox") && !lib.contains("mod demo") && !lib.contains("mod bench")
    );
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    for file in files {
        let module = module_of(&src, &file);
        let top = module.split("::").next().unwrap_or_default();
        if matches!(top, "main" | "demo" | "bench") {
            continue;
        }
        let code = code_of(&std::fs::read_to_string(&file).expect("read"));
        assert!(
            !code.contains("sandbox::"),
            "{} uses the sandbox crate; only the binary's demo/bench and the tests may",
            file.display()
        );
    }
}

#[test]
fn the_path_reader_expands_use_trees() {
    let code = "use crate::{jobs::{JobContext, order_sync}, queue};\nlet x = crate::tiktok::models::Order::default();\nuse crate::inventory::{sellable::X, store};";
    let got = crate_paths(code);
    let want: BTreeSet<String> = [
        "jobs::JobContext",
        "jobs::order_sync",
        "queue",
        "tiktok::models",
        "inventory::sellable",
        "inventory::store",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(got, want);
    assert_eq!(
        layer_of("inventory::sellable"),
        Some(("inventory::sellable", 0))
    );
    assert_eq!(layer_of("inventory::store"), Some(("inventory", 1)));
    assert_eq!(layer_of("jobs::inventory_push"), Some(("jobs", 2)));
}
