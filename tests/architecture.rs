//! The layers hold: no library module imports one from a higher layer (the order is the one
//! `docs/architecture.md` gives, read from there), no two top-level modules import each other
//! directly or round a loop, and inside the lower modules (`trust`, `tracker`, `registry`,
//! `keys`, `record`) no two files do either. Read from the source text: `crate::X` and
//! `super::X` paths outside comments.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// The layers, lowest first, from the `layers:` line of docs/architecture.md
/// (`a b | c | …`: `|` separates layers).
fn layers() -> BTreeMap<String, usize> {
    let doc = std::fs::read_to_string(repo("docs/architecture.md")).expect("docs/architecture.md");
    let line = doc
        .lines()
        .find_map(|l| l.trim().strip_prefix("layers:"))
        .expect("a `layers:` line in docs/architecture.md");
    let mut out = BTreeMap::new();
    for (i, layer) in line.split('|').enumerate() {
        for m in layer.split_whitespace() {
            out.insert(m.trim_matches('`').to_string(), i);
        }
    }
    out
}

/// Every library source file with its module path (`trust::cycle`, `ui::view::table`).
fn library_files() -> Vec<(Vec<String>, String)> {
    fn walk(dir: &Path, prefix: &[String], out: &mut Vec<(Vec<String>, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
        entries.sort_by_key(|e| e.path());
        for e in entries {
            let p = e.path();
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            if p.is_dir() {
                let mut pre = prefix.to_vec();
                pre.push(name);
                walk(&p, &pre, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                let mut m = prefix.to_vec();
                if name != "mod" && name != "lib" {
                    m.push(name);
                }
                out.push((m, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    let src = repo("src");
    for e in std::fs::read_dir(&src).unwrap().flatten() {
        let p = e.path();
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        // The binary (main.rs, cli/) is the top: nothing in the library may import it.
        if name == "main" || name == "cli" {
            continue;
        }
        if p.is_dir() {
            walk(&p, &[name], &mut out);
        } else if name != "lib" {
            out.push((vec![name], std::fs::read_to_string(&p).unwrap()));
        }
    }
    out
}

/// The code of a file without its comments (`//` to the end of the line).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The identifiers following `prefix` in `text` (`crate::trust::db` → `trust`).
fn after(text: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        let tail = &rest[i + prefix.len()..];
        let ident = |t: &str| -> String {
            t.trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        };
        if let Some(group) = tail.strip_prefix('{') {
            // `super::{a, b::C}`: each item's first name, at the first level.
            let mut depth = 0;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => item_start = true,
                    c if item_start && !c.is_whitespace() => {
                        let id = ident(&group[j..]);
                        if !id.is_empty() {
                            out.push(id);
                        }
                        item_start = false;
                    }
                    _ => {}
                }
            }
        } else {
            let id = ident(tail);
            if !id.is_empty() {
                out.push(id);
            }
        }
        rest = &rest[i + prefix.len()..];
    }
    out
}

fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = stack.iter().position(|s| s == n) {
            let mut c = stack[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        stack.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    for n in graph.keys() {
        if let Some(c) = visit(n, graph, &mut Vec::new(), &mut done) {
            return Some(c);
        }
    }
    None
}

#[test]
fn no_module_imports_a_higher_layer_and_none_import_each_other() {
    let layers = layers();
    let files = library_files();
    let mut top: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for (path, text) in &files {
        let own = &path[0];
        let Some(&mine) = layers.get(own) else {
            panic!("module `{own}` is not in the layers of docs/architecture.md");
        };
        for dep in after(&code(text), "crate::") {
            if &dep == own || !layers.contains_key(&dep) {
                continue;
            }
            top.entry(own.clone()).or_default().insert(dep.clone());
            if layers[&dep] > mine {
                wrong.push(format!(
                    "{} imports {dep} (a higher layer)",
                    path.join("::")
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert_eq!(
        find_cycle(&top),
        None,
        "top-level modules import each other"
    );
}

#[test]
fn no_two_files_of_the_lower_modules_import_each_other() {
    for module in ["trust", "tracker", "registry", "keys", "record"] {
        let files: Vec<_> = library_files()
            .into_iter()
            .filter(|(p, _)| p[0] == module && p.len() == 2)
            .collect();
        let names: BTreeSet<String> = files.iter().map(|(p, _)| p[1].clone()).collect();
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (path, text) in &files {
            let text = code(text);
            let mut deps = after(&text, "super::");
            deps.extend(after(&text, &format!("crate::{module}::")));
            for d in deps {
                if names.contains(&d) && d != path[1] {
                    g.entry(path[1].clone()).or_default().insert(d);
                }
            }
        }
        assert_eq!(
            find_cycle(&g),
            None,
            "files of `{module}` import each other"
        );
    }
}
