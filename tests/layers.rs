//! The layers of `src/` as docs/ARCHITECTURE.md's table states them ("## Layers"): every
//! `crate::` path in the code (in `use` lines and in expressions, grouped imports
//! included) must point into a layer the importing file's layer may use, and no file may
//! name an outside crate its layer never uses. The table is the single source: this test
//! only reads it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Imports allowed for now although the table forbids them: (file, imported module path).
/// None today; an entry needs a comment saying until when.
const TEMPORARY_EXCEPTIONS: &[(&str, &str)] = &[];

/// One row of the table.
#[derive(Debug)]
struct Layer {
    name: String,
    modules: Vec<String>,
    /// Other layers' names; `*` means every layer.
    may_use: Vec<String>,
    /// Outside crates (or paths in them, `tokio::net`) the layer must not name.
    never: Vec<String>,
}

struct Table {
    layers: Vec<Layer>,
}

impl Table {
    /// Reads the first markdown table after the `## Layers` heading.
    fn parse(markdown: &str) -> Table {
        let section = markdown
            .split_once("\n## Layers")
            .expect("ARCHITECTURE.md has a `## Layers` section")
            .1;
        let rows = section
            .lines()
            .skip_while(|line| !line.trim_start().starts_with('|'))
            .take_while(|line| line.trim_start().starts_with('|'))
            .skip(2); // the header and the `---` line
        let list = |cell: &str| -> Vec<String> {
            cell.split(',')
                .map(|item| item.trim().trim_matches('`').trim().to_owned())
                .filter(|item| !item.is_empty() && item != "—" && item != "-")
                .collect()
        };
        let layers: Vec<Layer> = rows
            .map(|row| {
                let cells: Vec<&str> = row.trim().trim_matches('|').split('|').collect();
                assert_eq!(cells.len(), 4, "a layer row has four cells: {row}");
                Layer {
                    name: cells[0].trim().to_owned(),
                    modules: list(cells[1]),
                    may_use: list(cells[2]),
                    never: list(cells[3]),
                }
            })
            .collect();
        assert!(!layers.is_empty(), "the `## Layers` table has rows");
        Table { layers }
    }

    fn layer_of(&self, module: &str) -> Option<&Layer> {
        self.layers
            .iter()
            .find(|layer| layer.modules.iter().any(|m| m == module))
    }

    /// Whether code in `from` may use the top-level module `module`.
    fn allows(&self, from: &Layer, module: &str) -> bool {
        let Some(target) = self.layer_of(module) else {
            return false;
        };
        target.name == from.name
            || from
                .may_use
                .iter()
                .any(|used| used == "*" || *used == target.name)
    }
}

/// The top-level module a file of `src/` belongs to: `src/tui/app.rs` → `tui`,
/// `src/crypto.rs` → `crypto`, `src/main.rs` → `main`.
fn module_of(relative: &Path) -> String {
    let first = relative
        .components()
        .nth(1)
        .expect("a path under src/")
        .as_os_str()
        .to_string_lossy()
        .into_owned();
    first.strip_suffix(".rs").unwrap_or(&first).to_owned()
}

/// `source` with comments, string literals and char literals blanked out (newlines kept,
/// so line numbers stay right): a path in a doc comment or a string is no import.
fn code_only(source: &str) -> String {
    let chars: Vec<char> = source.chars().collect();
    let mut out = String::with_capacity(source.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(chars[i]));
                    i += 1;
                }
            }
        } else if let Some(hashes) = raw_string_start(&chars, i) {
            // r"…", r#"…"#, br"…": ends at a quote followed by as many hashes.
            let opening = chars[i..].iter().position(|&c| c == '"').expect("a quote") + 1;
            let mut j = i + opening;
            while j < chars.len() {
                if chars[j] == '"' && chars[j + 1..].iter().take(hashes).all(|&c| c == '#') {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.extend(chars[i..j.min(chars.len())].iter().map(|&c| blank(c)));
            i = j;
        } else if c == '"' {
            out.push(' ');
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if let Some(&c) = chars.get(i) {
                    out.push(blank(c));
                }
                i += 1;
            }
            out.push(' ');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '"'); otherwise a lifetime, kept as it is.
            let end = if next == Some('\\') {
                chars[i + 2..]
                    .iter()
                    .position(|&c| c == '\'')
                    .map(|p| i + 2 + p)
            } else if chars.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(end) => {
                    out.extend(std::iter::repeat_n(' ', end + 1 - i));
                    i = end + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// How many `#` a raw string starting at `i` has, if one starts there.
fn raw_string_start(chars: &[char], i: usize) -> Option<usize> {
    if i > 0 && is_ident(chars[i - 1]) {
        return None;
    }
    let mut j = i;
    if chars.get(j) == Some(&'b') {
        j += 1;
    }
    if chars.get(j) != Some(&'r') {
        return None;
    }
    j += 1;
    let hashes = chars[j..].iter().take_while(|&&c| c == '#').count();
    (chars.get(j + hashes) == Some(&'"')).then_some(hashes)
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Every path into the crate named in `code`, as (line, `module::rest`), with grouped
/// imports (`crate::{a, b::c}`) taken apart. `prefix` is `crate` (or the crate's name
/// for the binary's own files).
fn crate_paths(code: &str, prefix: &str) -> Vec<(usize, String)> {
    let needle = format!("{prefix}::");
    let mut found = Vec::new();
    for (start, _) in code.match_indices(&needle) {
        if code[..start].chars().next_back().is_some_and(is_ident) || code[..start].ends_with('$') {
            continue;
        }
        let line = code[..start].matches('\n').count() + 1;
        let rest = &code[start + needle.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.push((line, path_head(&item)));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            if !item.trim().is_empty() {
                found.push((line, path_head(&item)));
            }
        } else {
            found.push((line, path_head(rest)));
        }
    }
    found
}

/// The leading `a::b` of a path (at most two segments, enough to name a module).
fn path_head(text: &str) -> String {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let segments: Vec<&str> = compact
        .split("::")
        .take(2)
        .map(|s| s.split(|c: char| !is_ident(c)).next().unwrap_or(""))
        .take_while(|s| !s.is_empty())
        .collect();
    segments.join("::")
}

/// What the table forbids in one file: one sentence each.
fn violations(table: &Table, relative: &str, source: &str) -> Vec<String> {
    let module = module_of(Path::new(relative));
    let Some(layer) = table.layer_of(&module) else {
        return vec![format!(
            "{relative}: module `{module}` is in no row of the layer table"
        )];
    };
    let code = code_only(source);
    let mut found = Vec::new();
    let prefixes: &[&str] = if module == "main" {
        &["crate", "cotype"]
    } else {
        &["crate"]
    };
    for prefix in prefixes {
        for (line, path) in crate_paths(&code, prefix) {
            let used = path.split("::").next().unwrap_or("");
            if used.is_empty() || used == "self" || table.allows(layer, used) {
                continue;
            }
            let excepted = TEMPORARY_EXCEPTIONS
                .iter()
                .any(|(file, import)| *file == relative && path.starts_with(import));
            if !excepted {
                found.push(format!(
                    "{relative}:{line}: the {} layer may not use `{used}` (`{path}`); it may use: {}",
                    layer.name,
                    layer.may_use.join(", ")
                ));
            }
        }
    }
    for forbidden in &layer.never {
        for (start, _) in code.match_indices(&format!("{forbidden}::")) {
            if code[..start].chars().next_back().is_some_and(is_ident) {
                continue;
            }
            let line = code[..start].matches('\n').count() + 1;
            found.push(format!(
                "{relative}:{line}: the {} layer never uses `{forbidden}`",
                layer.name
            ));
        }
    }
    found
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/ is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|e| e == "rs") {
            into.push(path);
        }
    }
}

fn table() -> Table {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    Table::parse(&std::fs::read_to_string(root.join("docs/ARCHITECTURE.md")).unwrap())
}

#[test]
fn every_import_in_src_is_one_the_layer_table_allows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let table = table();
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    assert!(
        files.len() > 50,
        "found the sources ({} files)",
        files.len()
    );
    let mut problems = Vec::new();
    let mut per_module: BTreeMap<String, usize> = BTreeMap::new();
    for file in &files {
        let relative = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let source = std::fs::read_to_string(file).unwrap();
        *per_module
            .entry(module_of(Path::new(&relative)))
            .or_default() += 1;
        problems.extend(violations(&table, &relative, &source));
    }
    assert!(
        problems.is_empty(),
        "imports the layer table in docs/ARCHITECTURE.md forbids:\n{}",
        problems.join("\n")
    );
    // Every row names modules that exist, so the table does not rot.
    for layer in &table.layers {
        for module in &layer.modules {
            assert!(
                per_module.contains_key(module),
                "the layer table names `{module}` ({}), which is not in src/",
                layer.name
            );
        }
    }
}

#[test]
fn the_tui_using_the_host_is_caught() {
    let table = table();
    let source = "use crate::client::session::Session;\nuse crate::host::HostSession;\n";
    let found = violations(&table, "src/tui/app.rs", source);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("src/tui/app.rs:2: the tui layer may not use `host`"));
    // The same file without it passes.
    assert!(violations(&table, "src/tui/app.rs", "use crate::client::Session;\n").is_empty());
}

#[test]
fn grouped_imports_and_paths_in_code_are_read() {
    let table = table();
    let grouped = "use crate::{client::Session, relay::{Relay, spawn}};\n";
    let found = violations(&table, "src/tui/run.rs", grouped);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("may not use `relay`"), "{found:?}");
    let in_code = "fn f() {\n    let k = crate::crypto::SessionKeys::derive(a, b);\n}\n";
    let found = violations(&table, "src/tui/run.rs", in_code);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("src/tui/run.rs:2:"), "{found:?}");
}

#[test]
fn comments_and_strings_are_no_imports() {
    let table = table();
    let source = "//! see `crate::host::HostSession`\n/* crate::relay */\nconst A: &str = \"crate::net\";\nconst B: &str = r#\"crate::host\"#;\nconst C: char = '\"';\nfn f<'a>(x: &'a str) {}\n";
    assert_eq!(
        violations(&table, "src/tui/app.rs", source),
        Vec::<String>::new()
    );
}

#[test]
fn a_terminal_crate_in_the_client_is_caught() {
    let table = table();
    let found = violations(
        &table,
        "src/client/session.rs",
        "use ratatui::layout::Rect;\n",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("never uses `ratatui`"), "{found:?}");
}

#[test]
fn a_module_the_table_does_not_place_is_caught() {
    let table = table();
    let found = violations(&table, "src/newthing.rs", "");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("in no row"), "{found:?}");
}
