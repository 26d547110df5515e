//! Workspace search must find what `rg --vimgrep` finds, no more and no less, on a tree with
//! nested ignore files, dotfiles, secrets, unicode, long lines, a binary file and a link.
//!
//! The real `rg` binary is the reference. It is required: without it these tests fail (the
//! project's scripts/test installs it; by hand: `apt-get install ripgrep` or
//! `cargo install ripgrep`).
//!
//! Why the two agree: both walk with the `ignore` crate's rules for `.gitignore`, `.ignore`,
//! parent folders and git excludes, honored outside a git repository (`--no-require-git`).
//! cotype shares dotfiles (`--hidden`) but hides `DEFAULT_HIDDEN` case-insensitively; rg is
//! told the same rules as `--iglob '!RULE'`, given after the query's own `-g` globs so that,
//! as in cotype, a query glob cannot re-include a hidden file (for rg's overrides the last
//! matching glob wins). rg does not follow links without `-L`; cotype does not search them.
//! One difference is deliberate and kept out of the comparison: rg lets a `-g` glob
//! re-include a gitignored file, cotype never does (tested on its own below).

use std::collections::BTreeSet;
use std::fs;
use std::ops::ControlFlow;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::AtomicBool;

use cotype::host::search::{MAX_MATCH_TEXT_CHARS, search};
use cotype::host::workspace::{DEFAULT_HIDDEN, Workspace};
use cotype::protocol::search::{SearchError, SearchHit, SearchQuery, SearchSummary};

fn write(root: &Path, relative: &str, contents: impl AsRef<[u8]>) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().expect("fixture paths have a parent")).unwrap();
    fs::write(path, contents).unwrap();
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, ".gitignore", "*.log\ngenerated/\n");
    write(
        r,
        "src/lib.rs",
        "pub fn needle() {}\nfn haystack() { needle(); needle() }\n",
    );
    write(
        r,
        "src/main.rs",
        "fn main() {\n    let needles = cotype::needle();\n}\n",
    );
    write(
        r,
        "src/words.txt",
        "needle needles needle_x needle-x (needle) NEEDLE Needle\n",
    );
    write(r, "src/sub/.gitignore", "tmp*\n!tmp_keep.txt\n");
    write(
        r,
        "src/sub/tmp_scratch.txt",
        "needle in an ignored scratch file\n",
    );
    write(
        r,
        "src/sub/tmp_keep.txt",
        "needle kept by a nested re-include\n",
    );
    write(
        r,
        "src/sub/deeper/mod.rs",
        "fn deeper() -> &'static str { \"needle\" }\n",
    );
    write(
        r,
        "generated/out.rs",
        "fn needle() {} // generated, ignored\n",
    );
    write(r, "debug.log", "needle in a log\n");
    write(
        r,
        "docs/ünïcödé név.md",
        "Ünïcode: naïve needle — σίσυφος ΣΊΣΥΦΟΣ Straße\n",
    );
    write(
        r,
        "docs/guide.md",
        "# Guide\n\nFind the NEEDLE.\nfn documented(x: u32)\n",
    );
    write(r, ".github/workflows/ci.yml", "run: cargo test needle\n");
    write(r, ".editorconfig", "# needle in a dotfile\n");
    write(r, ".env", "NEEDLE=secret\n");
    write(r, "config/.env.production", "needle=secret\n");
    write(r, ".git/config", "[needle]\n");
    write(r, "keys/deploy.KEY", "needle\n");
    write(r, "id_ed25519", "needle\n");
    write(r, "assets/blob.bin", b"\0\0binary needle\n");
    let long = format!(
        "{}needle{}needle{}\n",
        "x".repeat(10),
        "é".repeat(600),
        "y".repeat(1500)
    );
    write(r, "src/minified.js", format!("start\n{long}end needle\n"));
    for n in 0..40 {
        let body = format!("// file {n}\nfn f{n}() {{ let needle_{n} = {n}; }}\n// needle {n}\n");
        write(r, &format!("src/gen/m{n:02}.rs"), body);
    }
    symlink("src/lib.rs", r.join("lib_link.rs")).unwrap();
    dir
}

/// Runs the real ripgrep with the flags that mirror `query` (see the module docs).
fn ripgrep(root: &Path, query: &SearchQuery) -> Vec<SearchHit> {
    let mut command = Command::new("rg");
    command.current_dir(root).args([
        "--vimgrep",
        "--no-config",
        "--hidden",
        "--no-require-git",
        "--no-messages",
    ]);
    if query.fixed_strings {
        command.arg("--fixed-strings");
    }
    if query.ignore_case {
        command.arg("--ignore-case");
    }
    if query.whole_word {
        command.arg("--word-regexp");
    }
    for glob in &query.globs {
        command.arg("-g").arg(glob);
    }
    for rule in DEFAULT_HIDDEN {
        command.arg("--iglob").arg(format!("!{rule}"));
    }
    command.arg("-e").arg(&query.pattern);
    let output = command.output().unwrap_or_else(|error| {
        panic!(
            "cannot run `rg` ({error}); these tests compare against the real ripgrep: \
             install it with `apt-get install ripgrep` or `cargo install ripgrep`"
        )
    });
    // 0: matches, 1: none, 2: an error.
    assert!(
        output.status.code().is_some_and(|code| code <= 1),
        "rg failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("the fixture is UTF-8");
    let mut matches: Vec<SearchHit> = stdout
        .lines()
        .map(|line| {
            let mut fields = line.splitn(4, ':');
            let mut field = || {
                fields
                    .next()
                    .expect("rg --vimgrep prints path:line:column:text")
            };
            let path = field().to_owned();
            let line_number = field().parse().unwrap();
            let column = field().parse().unwrap();
            let text = field().chars().take(MAX_MATCH_TEXT_CHARS).collect();
            SearchHit {
                path,
                line: line_number,
                column,
                text,
            }
        })
        .collect();
    matches.sort();
    matches
}

fn ours(workspace: &Workspace, query: &SearchQuery) -> (Vec<SearchHit>, SearchSummary) {
    let mut matches = Vec::new();
    let summary = search(
        workspace,
        query,
        &Default::default(),
        &AtomicBool::new(false),
        |batch| {
            matches.extend(batch);
            ControlFlow::Continue(())
        },
    )
    .unwrap();
    assert_eq!(summary.matches, matches.len() as u64);
    matches.sort();
    (matches, summary)
}

fn query(pattern: &str) -> SearchQuery {
    SearchQuery::literal(pattern)
}

#[test]
fn search_finds_what_ripgrep_finds() {
    let dir = tree();
    let workspace = Workspace::open(dir.path(), &[]).unwrap();
    let regex = |pattern: &str| SearchQuery {
        fixed_strings: false,
        ..query(pattern)
    };
    let queries = [
        query("needle"),
        query("NEEDLE"),
        SearchQuery {
            ignore_case: true,
            ..query("needle")
        },
        SearchQuery {
            ignore_case: true,
            ..query("σίσυφος")
        },
        SearchQuery {
            whole_word: true,
            ..query("needle")
        },
        SearchQuery {
            whole_word: true,
            ignore_case: true,
            ..query("needle")
        },
        query("fn f1("),
        regex(r"fn \w+\("),
        regex(r"needle_\d+"),
        regex(r"(?i)naïve|straße"),
        regex(r"é+needle"),
        SearchQuery {
            globs: vec!["*.rs".into()],
            ..query("needle")
        },
        SearchQuery {
            globs: vec!["*.md".into(), "*.yml".into()],
            ..query("needle")
        },
        SearchQuery {
            globs: vec!["!gen".into()],
            ..query("needle")
        },
        SearchQuery {
            globs: vec!["!*.rs".into(), "!docs/".into()],
            ..query("needle")
        },
        SearchQuery {
            globs: vec!["src/gen/**".into(), "!src/gen/m1*".into()],
            ..query("needle")
        },
    ];
    for query in &queries {
        let expected = ripgrep(dir.path(), query);
        assert!(
            !expected.is_empty(),
            "the fixture should give {query:?} something to find"
        );
        let (found, _) = ours(&workspace, query);
        let only_ours: Vec<_> = found.iter().filter(|m| !expected.contains(m)).collect();
        let only_rg: Vec<_> = expected.iter().filter(|m| !found.contains(m)).collect();
        assert!(
            only_ours.is_empty() && only_rg.is_empty(),
            "for {query:?}\nonly cotype found: {only_ours:#?}\nonly rg found: {only_rg:#?}"
        );
        assert_eq!(
            found, expected,
            "same set, different multiplicity for {query:?}"
        );
    }
}

#[test]
fn search_reads_the_files_ripgrep_would_read() {
    let dir = tree();
    let workspace = Workspace::open(dir.path(), &[]).unwrap();
    let mut command = Command::new("rg");
    command.current_dir(dir.path()).args([
        "--files",
        "--no-config",
        "--hidden",
        "--no-require-git",
    ]);
    for rule in DEFAULT_HIDDEN {
        command.arg("--iglob").arg(format!("!{rule}"));
    }
    let output = command
        .output()
        .expect("rg must be installed (see the module docs)");
    let rg_files: BTreeSet<String> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let listed: BTreeSet<String> = workspace
        .list()
        .into_iter()
        .map(|entry| entry.path)
        .collect();
    // The link is listed (it opens its target) but, as in rg, not searched.
    let link = BTreeSet::from(["lib_link.rs".to_owned()]);
    assert_eq!(&listed - &link, rg_files);
    let (_, summary) = ours(&workspace, &query("needle"));
    assert_eq!(summary.files_searched, rg_files.len() as u64);
}

#[test]
fn query_globs_cannot_reach_ignored_or_hidden_files() {
    let dir = tree();
    let workspace = Workspace::open(dir.path(), &["docs/guide.md".into()]).unwrap();
    for glob in [
        "*.log",
        ".env",
        "*.KEY",
        ".git/*",
        "guide.md",
        "generated/**",
    ] {
        let query = SearchQuery {
            globs: vec![glob.into()],
            ..query("needle")
        };
        let (found, summary) = ours(&workspace, &query);
        assert_eq!(
            found,
            [],
            "glob {glob:?} reached a file the host does not share"
        );
        assert_eq!(summary.files_searched, 0, "glob {glob:?}");
    }
}

#[test]
fn long_lines_keep_exact_positions_and_short_text() {
    let dir = tree();
    let workspace = Workspace::open(dir.path(), &[]).unwrap();
    let (found, _) = ours(
        &workspace,
        &SearchQuery {
            globs: vec!["*.js".into()],
            ..query("needle")
        },
    );
    let columns: Vec<(u64, u64)> = found.iter().map(|m| (m.line, m.column)).collect();
    // 10 'x', then 600 'é' of two bytes each.
    assert_eq!(columns, [(2, 11), (2, 11 + 6 + 1200), (3, 5)]);
    assert_eq!(found[0].text.chars().count(), MAX_MATCH_TEXT_CHARS);
    assert_eq!(found[2].text, "end needle");
}

#[test]
fn search_stops_at_the_cap_and_says_so() {
    let dir = tree();
    let workspace = Workspace::open(dir.path(), &[]).unwrap();
    let (all, summary) = ours(&workspace, &query("needle"));
    assert!(!summary.truncated);
    let exact = SearchQuery {
        max_matches: all.len() as u32,
        ..query("needle")
    };
    assert!(
        !ours(&workspace, &exact).1.truncated,
        "a cap equal to the count truncates nothing"
    );
    let capped = SearchQuery {
        max_matches: 7,
        ..query("needle")
    };
    let (some, summary) = ours(&workspace, &capped);
    assert!(summary.truncated);
    assert_eq!(some.len(), 7);
    assert!(some.iter().all(|found| all.contains(found)));
}

#[test]
fn search_can_be_stopped_by_the_caller() {
    let dir = tree();
    let workspace = Workspace::open(dir.path(), &[]).unwrap();
    let cancel = AtomicBool::new(true);
    let result = search(
        &workspace,
        &query("needle"),
        &Default::default(),
        &cancel,
        |_| ControlFlow::Continue(()),
    );
    assert_eq!(result, Err(SearchError::Cancelled));
    let mut batches = 0;
    let summary = search(
        &workspace,
        &query("needle"),
        &Default::default(),
        &AtomicBool::new(false),
        |batch| {
            batches += 1;
            assert!(!batch.is_empty());
            ControlFlow::Break(())
        },
    )
    .unwrap();
    assert_eq!(batches, 1);
    assert!(summary.matches > 0);
}

#[test]
fn a_bad_pattern_is_explained() {
    let dir = tree();
    let workspace = Workspace::open(dir.path(), &[]).unwrap();
    let bad = SearchQuery {
        fixed_strings: false,
        ..query("needle(")
    };
    let error = search(
        &workspace,
        &bad,
        &Default::default(),
        &AtomicBool::new(false),
        |_| ControlFlow::Continue(()),
    )
    .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("`needle(` is not a valid regular expression: "),
        "{error}"
    );
}

#[test]
fn a_file_swapped_for_a_link_after_the_walk_is_not_searched() {
    let dir = tree();
    let workspace = Workspace::open(dir.path(), &[]).unwrap();
    let words = dir.path().join("src/words.txt");
    fs::remove_file(&words).unwrap();
    symlink(dir.path().join(".env"), &words).unwrap();
    let (found, _) = ours(
        &workspace,
        &SearchQuery {
            ignore_case: true,
            ..query("needle")
        },
    );
    assert!(
        found.iter().all(|m| m.path != "src/words.txt"),
        "{found:#?}"
    );
    assert!(!found.is_empty());
}
