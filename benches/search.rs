//! Workspace search against ripgrep, on the same 200+ MB tree, in the same run.
//!
//! `cargo bench --bench search`. The tree is generated once under the system temp folder
//! and reused (it is deterministic). For each query it times, as medians of a few runs with
//! a warm page cache: our search to the first batch and to the full result set (on an
//! opened workspace, as the host serves it), opening the workspace (the walk that builds
//! the index), and `rg --vimgrep` with the same visibility rules, to its first output and to
//! its end. Both must find the same number of matches. Last line: one JSON object.

use std::fs;
use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use cotype::host::search::search;
use cotype::host::workspace::{DEFAULT_HIDDEN, Workspace};
use cotype::protocol::search::SearchQuery;

const TREE_VERSION: &str = "v1";
const TOP_FOLDERS: usize = 20;
const SUB_FOLDERS: usize = 50;
const FILES_PER_FOLDER: usize = 20;
const FILE_LEN: usize = 10 * 1024;
const RUNS: usize = 7;

const WORDS: &[&str] = &[
    "let", "fn", "match", "self", "value", "buffer", "request", "response", "state", "index",
    "return", "if", "else", "for", "while", "impl", "struct", "enum", "pub", "mod", "use", "error",
    "result", "option", "some", "none", "ok", "err", "string", "vec", "len", "map",
];

/// A small deterministic generator, so the tree is the same on every machine.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn source_file(random: &mut XorShift) -> Vec<u8> {
    let mut text = String::with_capacity(FILE_LEN + 128);
    while text.len() < FILE_LEN {
        let roll = random.below(4000);
        if roll == 0 {
            text.push_str("    // a rare needle_token sits here\n");
            continue;
        }
        if roll < 20 {
            let name = WORDS[random.below(WORDS.len())];
            text.push_str(&format!(
                "fn {name}_handler(request: Request) -> Response {{\n"
            ));
            continue;
        }
        text.push_str("    ");
        for _ in 0..(4 + random.below(8)) {
            text.push_str(WORDS[random.below(WORDS.len())]);
            text.push(' ');
        }
        text.push_str(";\n");
    }
    text.into_bytes()
}

/// Generates the tree unless a complete one is already there.
fn tree() -> PathBuf {
    let root = std::env::temp_dir().join(format!("cotype-search-bench-{TREE_VERSION}"));
    let complete = root.with_extension("complete");
    if complete.exists() {
        return root;
    }
    eprintln!("generating the benchmark tree in {} (once)", root.display());
    let _ = fs::remove_dir_all(&root);
    let mut random = XorShift(0x9E37_79B9_7F4A_7C15);
    let write = |path: &Path, contents: &[u8]| {
        fs::create_dir_all(path.parent().expect("generated paths have a parent")).unwrap();
        fs::File::create(path).unwrap().write_all(contents).unwrap();
    };
    write(&root.join(".gitignore"), b"target/\n*.tmp\n");
    write(&root.join(".env"), b"SECRET_needle_token=1\n");
    for top in 0..TOP_FOLDERS {
        for sub in 0..SUB_FOLDERS {
            for file in 0..FILES_PER_FOLDER {
                let name = format!("crate{top:02}/src/module{sub:02}/file{file:02}.rs");
                write(&root.join(name), &source_file(&mut random));
            }
        }
        // Ignored bulk: both searches must skip it.
        let ignored = format!("crate{top:02}/target/debug/build.tmp");
        write(&root.join(ignored), &source_file(&mut random).repeat(20));
    }
    fs::write(&complete, b"").unwrap();
    root
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// One run of our search: (time to first batch, time to the end, matches).
fn ours(workspace: &Workspace, query: &SearchQuery) -> (Duration, Duration, usize) {
    let start = Instant::now();
    let mut first = None;
    let mut matches = Vec::new();
    let summary = search(
        workspace,
        query,
        &Default::default(),
        &AtomicBool::new(false),
        |batch| {
            first.get_or_insert_with(|| start.elapsed());
            matches.extend(batch);
            ControlFlow::Continue(())
        },
    )
    .expect("the benchmark queries are valid");
    let total = start.elapsed();
    assert!(
        !summary.truncated,
        "raise max_matches: the benchmark wants the full set"
    );
    (first.unwrap_or(total), total, matches.len())
}

/// One run of ripgrep with cotype's visibility rules: (first output, end, matches).
fn ripgrep(root: &Path, query: &SearchQuery) -> (Duration, Duration, usize) {
    let mut command = Command::new("rg");
    command
        .current_dir(root)
        .args(["--vimgrep", "--no-config", "--hidden", "--no-require-git"])
        .stdout(Stdio::piped());
    if query.fixed_strings {
        command.arg("--fixed-strings");
    }
    for rule in DEFAULT_HIDDEN {
        command.arg("--iglob").arg(format!("!{rule}"));
    }
    command.arg("-e").arg(&query.pattern);
    let start = Instant::now();
    let mut child = command
        .spawn()
        .expect("rg must be installed (apt-get install ripgrep)");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut output = Vec::new();
    let mut chunk = [0; 64 * 1024];
    let mut first = None;
    loop {
        let read = stdout.read(&mut chunk).unwrap();
        if read == 0 {
            break;
        }
        first.get_or_insert_with(|| start.elapsed());
        output.extend_from_slice(&chunk[..read]);
    }
    assert!(
        child.wait().unwrap().success(),
        "rg found nothing or failed"
    );
    let total = start.elapsed();
    let matches = output.iter().filter(|&&byte| byte == b'\n').count();
    (first.unwrap_or(total), total, matches)
}

fn main() {
    let root = tree();
    let open_start = Instant::now();
    let workspace = Workspace::open(&root, &[]).expect("the benchmark tree can be shared");
    let mut open_times = vec![open_start.elapsed()];
    for _ in 1..RUNS {
        let start = Instant::now();
        workspace.refresh();
        open_times.push(start.elapsed());
    }
    let files = workspace.list();
    let bytes: u64 = files.iter().map(|file| file.size).sum();
    let open = median(open_times);
    println!(
        "tree: {} shared files, {:.1} MB; walk+index: {:.1} ms",
        files.len(),
        bytes as f64 / 1e6,
        ms(open)
    );

    let queries = [
        (
            "literal",
            SearchQuery {
                max_matches: u32::MAX,
                ..SearchQuery::literal("needle_token")
            },
        ),
        (
            "regex",
            SearchQuery {
                fixed_strings: false,
                max_matches: u32::MAX,
                ..SearchQuery::literal(r"fn [a-z]+_handler\(\w+")
            },
        ),
    ];
    let mut json = vec![
        format!("\"files\":{}", files.len()),
        format!("\"megabytes\":{:.1}", bytes as f64 / 1e6),
        format!("\"walk_index_ms\":{:.2}", ms(open)),
    ];
    for (name, query) in &queries {
        // Warm-up: page cache and thread pools.
        let (_, _, our_matches) = ours(&workspace, query);
        let (_, _, rg_matches) = ripgrep(&root, query);
        assert_eq!(
            our_matches, rg_matches,
            "{name}: cotype and rg disagree on the match count"
        );
        let (mut our_first, mut our_total, mut rg_first, mut rg_total) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..RUNS {
            let (first, total, _) = ours(&workspace, query);
            our_first.push(first);
            our_total.push(total);
            let (first, total, _) = ripgrep(&root, query);
            rg_first.push(first);
            rg_total.push(total);
        }
        let (our_first, our_total) = (median(our_first), median(our_total));
        let (rg_first, rg_total) = (median(rg_first), median(rg_total));
        let ratio = our_total.as_secs_f64() / rg_total.as_secs_f64();
        let ratio_with_walk = (our_total + open).as_secs_f64() / rg_total.as_secs_f64();
        println!(
            "{name:8} {our_matches} matches | cotype: first batch {:.1} ms, all {:.1} ms \
             (+walk {:.1} ms) | rg: first output {:.1} ms, all {:.1} ms | \
             cotype/rg {ratio:.2}x ({ratio_with_walk:.2}x counting the walk)",
            ms(our_first),
            ms(our_total),
            ms(our_total + open),
            ms(rg_first),
            ms(rg_total),
        );
        json.push(format!("\"{name}_matches\":{our_matches}"));
        json.push(format!("\"{name}_first_batch_ms\":{:.2}", ms(our_first)));
        json.push(format!("\"{name}_all_ms\":{:.2}", ms(our_total)));
        json.push(format!("\"{name}_rg_first_ms\":{:.2}", ms(rg_first)));
        json.push(format!("\"{name}_rg_all_ms\":{:.2}", ms(rg_total)));
        json.push(format!("\"{name}_ratio\":{ratio:.3}"));
        json.push(format!("\"{name}_ratio_with_walk\":{ratio_with_walk:.3}"));
    }
    println!("{{{}}}", json.join(","));
}
