//! The layers of docs/ARCHITECTURE.md, kept true by reading the source tree: every `crate::…`
//! import of a module must be in its "may use" row, and the database engine and HTTP crates may
//! only be named where the table says (issue 12).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ENGINE_AND_HTTP_CRATES: &[&str] = &["rusqlite", "axum", "hyper", "tower", "lettre", "rustls"];

struct Rules {
    /// module → the modules it may use (`None`: any).
    may_use: BTreeMap<String, Option<BTreeSet<String>>>,
    /// module → the external crates it may name.
    crates: BTreeMap<String, BTreeSet<String>>,
    /// file (relative to src/) → modules it may use besides its row.
    exceptions: BTreeMap<String, BTreeSet<String>>,
}

fn backticked(cell: &str) -> BTreeSet<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn cells(line: &str) -> Vec<String> {
    line.trim()
        .trim_matches('|')
        .split('|')
        .map(|c| c.trim().to_string())
        .collect()
}

fn rules(doc: &str) -> Rules {
    let start = doc
        .find("## Dependency rules")
        .expect("docs/ARCHITECTURE.md has a \"Dependency rules\" section");
    let section = &doc[start..];
    let end = section[3..].find("\n## ").map_or(section.len(), |e| e + 3);
    let section = &section[..end];
    let mut r = Rules {
        may_use: BTreeMap::new(),
        crates: BTreeMap::new(),
        exceptions: BTreeMap::new(),
    };
    let (modules, exceptions) = section
        .split_once("Known exceptions")
        .expect("an exception list");
    for line in modules.lines().filter(|l| l.starts_with("| `")) {
        let c = cells(line);
        let module = backticked(&c[0]).into_iter().next().unwrap();
        let uses = if c[1].contains('*') {
            None
        } else {
            Some(backticked(&c[1]))
        };
        r.may_use.insert(module.clone(), uses);
        // "rustls (the readiness probe)": the crate is the first word, the rest says why.
        let crates = c[2]
            .split(',')
            .filter_map(|s| s.split_whitespace().next())
            .map(str::to_string)
            .collect();
        r.crates.insert(module, crates);
    }
    for line in exceptions.lines().filter(|l| l.starts_with("| `")) {
        let c = cells(line);
        let file = backticked(&c[0]).into_iter().next().unwrap();
        r.exceptions.insert(file, backticked(&c[1]));
    }
    r
}

/// The production part of a file: unit tests (`#[cfg(test)] mod tests` at the end) may use more,
/// and comments are not imports.
fn production_code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident_at(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The top-level modules a file's code names through `crate::`.
fn crate_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        if code[..i]
            .chars()
            .last()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // `use crate::{a, b::c, d::{e, f}}`: the names at depth 0.
            let mut depth = 0;
            let mut item = String::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident_at(item.trim()));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(ch);
                }
            }
            out.insert(ident_at(item.trim()));
        } else {
            out.insert(ident_at(rest));
        }
    }
    out.retain(|m| !m.is_empty() && m != "self");
    out
}

fn named_crates(code: &str) -> BTreeSet<String> {
    ENGINE_AND_HTTP_CRATES
        .iter()
        .filter(|c| {
            code.match_indices(&format!("{c}::")).any(|(i, _)| {
                !code[..i]
                    .chars()
                    .last()
                    .is_some_and(|p| p.is_ascii_alphanumeric() || p == '_' || p == ':')
            })
        })
        .map(|c| c.to_string())
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The top-level module a file (path relative to src/) belongs to; `None` for the crate roots and
/// binaries, which sit above every module.
fn top_module(rel: &str) -> Option<String> {
    let module = rel.split('/').next()?.trim_end_matches(".rs");
    (!["main", "lib", "bin"].contains(&module)).then(|| module.to_string())
}

/// Top-level module → the other top-level modules its production code names.
fn import_graph(files: &[(String, String)]) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (rel, text) in files {
        let Some(module) = top_module(rel) else {
            continue;
        };
        let mut used = crate_modules(&production_code(text));
        used.remove(&module);
        graph.entry(module).or_default().extend(used);
    }
    graph
}

/// The may-use rows of the table as a graph (`*` rows left out: nothing may use `cli` or `fuzz`).
fn table_graph(rules: &Rules) -> BTreeMap<String, BTreeSet<String>> {
    rules
        .may_use
        .iter()
        .filter_map(|(m, uses)| Some((m.clone(), uses.clone()?)))
        .collect()
}

/// A cycle of `graph` as the walk that closes it (`a → b → a`), if it has one: a depth-first
/// search that meets a module still on its own path.
fn cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut ring = path[at..].to_vec();
            ring.push(m.to_string());
            return Some(ring);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(ring) = visit(next, graph, path, done) {
                return Some(ring);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

/// Every import of `files` (path relative to src/, text) that the rules do not allow, and every
/// exception no file needs any more.
fn violations(rules: &Rules, files: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    let mut used_exceptions = BTreeSet::new();
    for (rel, text) in files {
        let Some(module) = top_module(rel) else {
            continue;
        };
        let Some(allowed) = rules.may_use.get(&module) else {
            found.push(format!(
                "src/{rel}: module `{module}` has no row in the table"
            ));
            continue;
        };
        let code = production_code(text);
        for used in crate_modules(&code) {
            if used == module || allowed.as_ref().is_none_or(|a| a.contains(&used)) {
                continue;
            }
            if rules.exceptions.get(rel).is_some_and(|e| e.contains(&used)) {
                used_exceptions.insert((rel.clone(), used));
                continue;
            }
            found.push(format!("src/{rel}: `{module}` may not use `crate::{used}`"));
        }
        let allowed_crates = rules.crates.get(&module).cloned().unwrap_or_default();
        for c in named_crates(&code) {
            if !allowed_crates.contains(&c) {
                found.push(format!(
                    "src/{rel}: `{module}` may not name the crate `{c}`"
                ));
            }
        }
    }
    for (file, mods) in &rules.exceptions {
        for m in mods {
            if !used_exceptions.contains(&(file.clone(), m.clone())) {
                found.push(format!(
                    "exception `{file}` → `{m}` is no longer needed: remove it from docs/ARCHITECTURE.md"
                ));
            }
        }
    }
    found
}

#[test]
fn every_import_keeps_to_the_layers_of_the_architecture_document() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).unwrap();
    let rules = rules(&doc);
    let src = root.join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    let files: Vec<(String, String)> = paths
        .iter()
        .map(|p| {
            (
                p.strip_prefix(&src).unwrap().display().to_string(),
                std::fs::read_to_string(p).unwrap(),
            )
        })
        .collect();
    assert!(files.len() > 100, "read {} files", files.len());
    let found = violations(&rules, &files);
    assert!(found.is_empty(), "{}", found.join("\n"));

    // The check itself catches what it is for: domain code reaching up, the engine outside
    // storage, web reaching past the domain.
    for (file, text, expect) in [
        (
            "hub/new.rs",
            "use crate::web::error::WebError;",
            "`hub` may not use `crate::web`",
        ),
        (
            "backup/new.rs",
            "let x = crate::cli::main();",
            "`backup` may not use `crate::cli`",
        ),
        (
            "auth/new.rs",
            "fn f(t: &rusqlite::Transaction) {}",
            "may not name the crate `rusqlite`",
        ),
        (
            "web/new.rs",
            "use crate::{app::AppState, storage::users};",
            "`web` may not use `crate::storage`",
        ),
        (
            "audit/new.rs",
            "use axum::Json;",
            "may not name the crate `axum`",
        ),
    ] {
        let mut with_bad = files.clone();
        with_bad.push((file.to_string(), text.to_string()));
        let found = violations(&rules, &with_bad);
        assert!(
            found.iter().any(|v| v.contains(expect)),
            "{file}: `{text}` was not caught: {found:?}"
        );
    }
    // No two top-level modules import each other, directly or round a ring, in the code or in
    // the table (a table with a ring would let the code grow one).
    let graph = import_graph(&files);
    assert_eq!(
        cycle(&graph),
        None,
        "an import cycle between modules of src/"
    );
    assert_eq!(
        cycle(&table_graph(&rules)),
        None,
        "a cycle in the may-use column of docs/ARCHITECTURE.md"
    );
    // The cycle check catches a direct cycle and a longer ring, and names the modules on it (the
    // new import is the only way round, so both of its ends are on the cycle found).
    for (file, text, ends) in [
        (
            "storage/new.rs",
            "use crate::instances::Instance;",
            ["storage", "instances"],
        ),
        (
            "access/new.rs",
            "fn f(e: crate::auth::AuthError) {}",
            ["access", "auth"],
        ),
        ("clock.rs", "use crate::hub::records;", ["clock", "hub"]),
    ] {
        let mut with_bad = files.clone();
        with_bad.push((file.to_string(), text.to_string()));
        let found = cycle(&import_graph(&with_bad));
        assert!(
            found
                .as_ref()
                .is_some_and(|ring| ends.iter().all(|e| ring.contains(&e.to_string()))),
            "{file}: `{text}` makes a cycle that was not found: {found:?}"
        );
    }

    // A comment or a unit test may mention anything.
    let mut fine = files.clone();
    fine.push((
        "hub/new.rs".into(),
        "// see crate::web::error\n#[cfg(test)]\nmod tests { use crate::web::error::WebError; }"
            .into(),
    ));
    assert!(violations(&rules, &fine).is_empty());
}

/// Words that open an outbound socket. `connect_timeout` and `lookup_host` are listed too: a
/// name lookup is where a new destination would start.
const OUTBOUND: &[&str] = &[
    "TcpStream::connect",
    "connect_timeout",
    "UdpSocket",
    "TcpSocket",
    "lookup_host",
    "to_socket_addrs",
];

/// Files (relative to src/) allowed to open sockets: the egress gate, and the update tool's
/// readiness probe, which asks this server's own listener on the same machine (docs/security.md,
/// "Nothing leaves unless an admin configured it").
fn may_open_sockets(rel: &str) -> bool {
    rel.starts_with("egress/") || rel == "update/probe.rs"
}

fn outbound_outside_egress(files: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (rel, text) in files {
        if may_open_sockets(rel) {
            continue;
        }
        let code = production_code(text);
        for word in OUTBOUND {
            if code.contains(word) {
                found.push(format!(
                    "src/{rel}: `{word}` outside src/egress/ (every outbound connection goes through egress::Egress::connect)"
                ));
            }
        }
    }
    found
}

#[test]
fn outbound_connections_are_opened_only_by_the_egress_module() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    let files: Vec<(String, String)> = paths
        .iter()
        .map(|p| {
            (
                p.strip_prefix(&src).unwrap().display().to_string(),
                std::fs::read_to_string(p).unwrap(),
            )
        })
        .collect();
    let found = outbound_outside_egress(&files);
    assert!(found.is_empty(), "{}", found.join("\n"));
    // The gate itself does open sockets (so the scan reads the right tree) ...
    assert!(
        files
            .iter()
            .any(|(rel, text)| rel.starts_with("egress/") && text.contains("TcpStream::connect")),
        "src/egress/ no longer connects: is the scan looking at the right files?"
    );
    // ... and the check catches what it is for: a module dialling out on its own.
    for text in [
        "async fn f() { let s = tokio::net::TcpStream::connect((\"10.1.1.1\", 25)).await; }",
        "fn f() { let s = std::net::UdpSocket::bind(\"0.0.0.0:0\"); }",
        "fn f() { let a = (\"relay\", 25).to_socket_addrs(); }",
    ] {
        let found = outbound_outside_egress(&[("mail/new.rs".to_string(), text.to_string())]);
        assert_eq!(found.len(), 1, "{text}: {found:?}");
    }
    // Unit tests at the end of a file may connect to their own listeners.
    let test_only =
        "fn f() {}\n#[cfg(test)]\nmod tests { fn g() { std::net::TcpStream::connect(\"x\"); } }";
    assert!(outbound_outside_egress(&[("mail/new.rs".into(), test_only.into())]).is_empty());
}
