//! `cotype search` end to end: the real binary hosts a generated tree (`cotype host
//! --headless`), the real binary searches it through the embedded relay, and its output must
//! be byte for byte what the real `rg --vimgrep` prints for the same query, once both are
//! sorted by path, line and column.
//!
//! rg is told the host's hide rules the way tests/search_vs_ripgrep.rs explains: `--hidden
//! --no-require-git`, and every `DEFAULT_HIDDEN` rule as `--iglob '!RULE'` after the query's
//! own globs. Two deliberate differences are mirrored on rg's side, not hidden from the
//! comparison: the host cuts a match's line text to `MAX_MATCH_TEXT_CHARS` chars (positions
//! stay exact), and no query here uses a glob to re-include a gitignored file (cotype never
//! lets a glob widen what the host shares).
//!
//! `rg` must be installed (scripts/test installs it); without it these tests fail and say so.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use cotype::host::search::MAX_MATCH_TEXT_CHARS;
use cotype::host::workspace::DEFAULT_HIDDEN;

const COTYPE: &str = env!("CARGO_BIN_EXE_cotype");

fn write(root: &Path, relative: &str, contents: impl AsRef<[u8]>) {
    let path = root.join(relative);
    std::fs::create_dir_all(path.parent().expect("fixture paths have a parent")).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// Folders three deep with nested ignore files that ignore and re-include, dotfiles that
/// are shared and secrets that are not, unicode in names and text, and very long lines.
fn generated_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(r, ".gitignore", "*.log\nbuild/\n");
    write(r, "pkg/.gitignore", "scratch_*\n!scratch_keep.rs\n");
    write(r, "pkg/deep/.ignore", "*.tmp\n");
    for a in 0..4 {
        for b in 0..5 {
            let body: String = (0..30)
                .map(|line| match (line + a + b) % 7 {
                    0 => format!("fn handler_{a}_{b}_{line}() {{ route(\"/needle/{line}\") }}\n"),
                    1 => format!("    let Needle = NEEDLE_{line}; // needle needles\n"),
                    2 => format!("    // naïve Straße σίσυφος ΣΊΣΥΦΟΣ 🦀 needle {line}\n"),
                    _ => format!("    value_{line} = {line} * {a} + {b};\n"),
                })
                .collect();
            write(r, &format!("pkg/m{a}/file_{b}.rs"), body);
        }
    }
    write(r, "pkg/scratch_1.rs", "fn needle() {} // ignored scratch\n");
    write(r, "pkg/scratch_keep.rs", "fn needle() {} // re-included\n");
    write(r, "pkg/deep/notes.tmp", "needle in an ignored temp file\n");
    write(r, "pkg/deep/er/keep.md", "# Needle\nfind the needle here\n");
    write(
        r,
        "build/out.rs",
        "fn needle() {} // build output, ignored\n",
    );
    write(r, "run.log", "needle in a log\n");
    write(
        r,
        "docs/ünïcödé.md",
        "Ünïcode: naïve needle — ΣΊΣΥΦΟΣ Straße\n",
    );
    write(r, ".config/tool.toml", "needle = true # a shared dotfile\n");
    write(r, ".env", "NEEDLE=secret\n");
    write(r, "deploy/.env.production", "needle=secret\n");
    write(r, ".git/config", "[needle]\n");
    write(r, "keys/server.key", "needle\n");
    let long = format!(
        "{}needle{}needle{}\n",
        "x".repeat(40),
        "é".repeat(700),
        "y".repeat(3000)
    );
    write(r, "web/app.min.js", format!("start\n{long}end needle\n"));
    dir
}

/// A `cotype host --headless` process, stopped when dropped.
struct Host {
    child: Child,
    link: String,
}

impl Host {
    fn start(root: &Path) -> Host {
        let mut child = Command::new(COTYPE)
            .args(["host", "--headless", "--name", "host"])
            .arg(root)
            .env("COTYPE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start cotype host");
        let mut link = String::new();
        BufReader::new(child.stdout.take().expect("piped stdout"))
            .read_line(&mut link)
            .expect("the host prints its link");
        assert!(
            link.starts_with("http"),
            "the host's first line should be the link, got {link:?}"
        );
        Host {
            child,
            link: link.trim().to_owned(),
        }
    }

    fn search(&self, args: &[&str]) -> Output {
        Command::new(COTYPE)
            .arg("search")
            .args(["--name", "searcher"])
            .arg(&self.link)
            .args(args)
            .output()
            .expect("run cotype search")
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `path:line:column:text` lines, sorted by path, then line and column as numbers.
fn sorted_vimgrep(stdout: &[u8], cut_text: bool) -> Vec<String> {
    let text = String::from_utf8(stdout.to_vec()).expect("the fixture is UTF-8");
    let mut rows: Vec<(String, u64, u64, String)> = text
        .lines()
        .map(|line| {
            let mut fields = line.splitn(4, ':');
            let mut field = || fields.next().expect("path:line:column:text");
            let path = field().to_owned();
            let line_number = field().parse().expect("a line number");
            let column = field().parse().expect("a column");
            let text = match cut_text {
                true => field().chars().take(MAX_MATCH_TEXT_CHARS).collect(),
                false => field().to_owned(),
            };
            (path, line_number, column, text)
        })
        .collect();
    rows.sort();
    rows.into_iter()
        .map(|(path, line, column, text)| format!("{path}:{line}:{column}:{text}"))
        .collect()
}

/// The real rg with the host's hide rules; `args` are the flags both commands share.
fn ripgrep(root: &Path, args: &[&str], pattern: &str) -> Vec<String> {
    let mut command = Command::new("rg");
    command.current_dir(root).args([
        "--vimgrep",
        "--no-config",
        "--hidden",
        "--no-require-git",
        "--no-messages",
    ]);
    command.args(args);
    for rule in DEFAULT_HIDDEN {
        command.arg("--iglob").arg(format!("!{rule}"));
    }
    command.arg("-e").arg(pattern);
    let output = command.output().unwrap_or_else(|error| {
        panic!(
            "cannot run `rg` ({error}); this test compares against the real ripgrep: \
             install it with `apt-get install ripgrep` or `cargo install ripgrep`"
        )
    });
    assert!(
        output.status.code().is_some_and(|code| code <= 1),
        "rg failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    sorted_vimgrep(&output.stdout, true)
}

#[test]
fn cotype_search_prints_what_rg_vimgrep_prints() {
    let tree = generated_tree();
    let host = Host::start(tree.path());
    let queries: &[(&[&str], &str)] = &[
        (&["--fixed-strings"], "needle"),
        (&["-F"], "route(\"/needle/"),
        (&[], r"handler_\d+_[0-3]_\d+\("),
        (&[], r"σίσυφος|Straße|🦀"),
        (&[], r"é+needle"),
        (&["--ignore-case"], "needle"),
        (&["-i", "-F"], "σίσυφος"),
        (&["-w"], "needle"),
        (&["-i", "--word-regexp"], "needle"),
        (&["-g", "*.md"], "needle"),
        (&["--glob", "pkg/m1/**", "-g", "!*_3.rs"], "needle"),
        (&["-g", "!pkg/", "-i"], "needle"),
        (&["-F", "-g", "*.toml", "-g", "*.js"], "needle"),
    ];
    for (flags, pattern) in queries {
        let expected = ripgrep(tree.path(), flags, pattern);
        assert!(
            !expected.is_empty(),
            "the tree should give {flags:?} {pattern:?} something to find"
        );
        let mut args = flags.to_vec();
        args.extend(["--", pattern]);
        let output = host.search(&args);
        assert!(
            output.status.success(),
            "cotype search {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        // Already sorted by cotype itself: compare its output as printed.
        let printed: Vec<String> = String::from_utf8(output.stdout)
            .expect("UTF-8 output")
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            printed, expected,
            "cotype search {args:?} differs from rg --vimgrep"
        );
    }
}

#[test]
fn json_output_and_the_cap_notice() {
    let tree = generated_tree();
    let host = Host::start(tree.path());

    let plain = host.search(&["-F", "needle"]);
    let json = host.search(&["-F", "needle", "--json"]);
    assert!(plain.status.success() && json.status.success());
    let plain = String::from_utf8(plain.stdout).unwrap();
    let json = String::from_utf8(json.stdout).unwrap();
    assert_eq!(plain.lines().count(), json.lines().count());
    for (line, object) in plain.lines().zip(json.lines()) {
        let value: serde_json::Value = serde_json::from_str(object).expect("one object per line");
        let as_vimgrep = format!(
            "{}:{}:{}:{}",
            value["path"].as_str().expect("path"),
            value["line"].as_u64().expect("line"),
            value["column"].as_u64().expect("column"),
            value["text"].as_str().expect("text"),
        );
        assert_eq!(as_vimgrep, line);
    }

    let capped = host.search(&["-F", "needle", "--max-count", "1000"]);
    assert!(capped.status.success());
    let stderr = String::from_utf8_lossy(&capped.stderr);
    assert!(
        !stderr.contains("stopped"),
        "nothing is cut below the cap: {stderr}"
    );
    let capped = host.search(&["-F", "needle", "--max-count", "7"]);
    assert!(capped.status.success());
    assert_eq!(String::from_utf8_lossy(&capped.stdout).lines().count(), 7);
    let stderr = String::from_utf8_lossy(&capped.stderr);
    assert!(
        stderr.contains("search stopped after 7 matches"),
        "the user is told results were left out: {stderr}"
    );
}

#[test]
fn a_bad_pattern_is_explained_with_exit_code_5() {
    let tree = generated_tree();
    let host = Host::start(tree.path());
    let output = host.search(&["--", "needle("]);
    assert_eq!(output.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("`needle(` is not a valid regular expression")
            && stderr.contains("fixed strings"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn a_reader_that_stops_early_is_a_normal_end() {
    // Far more output than a pipe holds: the search is still writing when `head` leaves.
    let tree = tempfile::tempdir().unwrap();
    let lines: String = (0..6000)
        .map(|n| format!("fn handler_{n}() {{ route(\"/needle/{n}\") }}\n"))
        .collect();
    write(tree.path(), "src/routes.rs", &lines);
    let host = Host::start(tree.path());
    // `cotype search LINK fn | head -1`, with head played by this test.
    let mut search = Command::new(COTYPE)
        .args(["search", &host.link, "fn"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run cotype search");
    let mut first = String::new();
    BufReader::new(search.stdout.take().expect("piped stdout"))
        .read_line(&mut first)
        .expect("one line");
    assert_eq!(
        first,
        "src/routes.rs:1:1:fn handler_0() { route(\"/needle/0\") }\n"
    );
    // The reader is gone (dropped above); cotype meets a closed pipe on its next write.
    let output = search.wait_with_output().expect("cotype search ends");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "",
        "a closed stdout is not an error to report"
    );
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn no_match_exits_1_and_says_nothing_as_rg() {
    let tree = generated_tree();
    let host = Host::start(tree.path());
    let output = host.search(&["no such text anywhere"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        output.stdout.is_empty() && output.stderr.is_empty(),
        "{output:?}"
    );
    let rg = Command::new("rg")
        .args(["--vimgrep", "no such text anywhere"])
        .arg(tree.path())
        .output()
        .expect("rg is installed (scripts/test installs it)");
    assert_eq!(rg.status.code(), Some(1), "rg agrees");
    // A match is still a success.
    assert_eq!(host.search(&["needle"]).status.code(), Some(0));
}
