//! What cotype adds to a hover, a peek, signature help, a rename, a format and a code
//! action list: the round trip a participant sees (sealed request, relay, host, language
//! server, the edits made as shared edits, sealed answer, relay back) against the
//! `LspBridge`'s own time for the same request, measured in the same run. The renames alternate the name of `area`
//! and back, applied to the shared text each time; the bridge's renames only compute.
//!
//! `cargo bench --bench intel`. A copy of tests/fixtures/rust_crate is served by a real
//! host through a real relay on 127.0.0.1; a second bridge on the same folder is the
//! baseline (each has its own rust-analyzer, warmed up before timing). Requests alternate
//! between the two so that machine load falls on both alike. Medians over `SAMPLES`
//! requests. Last line: one JSON object.

use std::path::Path;
use std::time::{Duration, Instant};

use cotype::client::Participant;
use cotype::host::lsp::{LineCol, LspBridge, LspConfig};
use cotype::host::{HostOptions, HostSession};
use cotype::protocol::message::TextPosition;
use cotype::relay::RelayConfig;

const SAMPLES: usize = 50;
const WARM_UP: usize = 10;
const READY_DEADLINE: Duration = Duration::from_secs(180);
/// Files a wide rename changes: `geometry.rs` and the modules calling it.
const WIDE_FILES: usize = 100;
const WIDE_SAMPLES: usize = 10;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read fixture") {
        let entry = entry.expect("fixture entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy fixture file");
        }
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

async fn time<T>(work: impl Future<Output = T>) -> (Duration, T) {
    let start = Instant::now();
    let answer = work.await;
    (start.elapsed(), answer)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rust_crate"),
        dir.path(),
    );
    let lib = std::fs::read_to_string(dir.path().join("src/lib.rs")).expect("lib.rs");
    let (line, text) = lib
        .lines()
        .enumerate()
        .find(|(_, text)| text.contains("area(2, 3)"))
        .expect("the call to area");
    let position = LineCol {
        line,
        col: text[..text.find("area(2, 3)").expect("call")]
            .chars()
            .count(),
    };
    let at = TextPosition {
        path: "src/lib.rs".to_owned(),
        revision: 0,
        position,
    };

    let (relay_address, _relay) = cotype::relay::spawn(
        "127.0.0.1:0".parse().expect("address"),
        RelayConfig::default(),
    )
    .await
    .expect("relay");
    let host = HostSession::start(HostOptions {
        root: dir.path().to_path_buf(),
        relay: relay_address.to_string(),
        insecure: false,
        hide: Vec::new(),
        name: "host".to_owned(),
        approval: Default::default(),
        trust_project: false,
    })
    .await
    .expect("host");
    let link = host.link.clone();
    tokio::spawn(host.run());
    let mut guest = Participant::join(&link, "bench").await.expect("join");

    let bridge = LspBridge::new(dir.path(), LspConfig::default()).expect("bridge");
    bridge
        .did_open("src/lib.rs", &lib, 0)
        .await
        .expect("rust-analyzer must be installed for this benchmark");

    // Both rust-analyzers answer before anything is timed, and keep answering: on a
    // loaded machine the standard library's indexing goes on after the first answer, and
    // a server still indexing may answer "indexing" instead.
    let deadline = Instant::now() + READY_DEADLINE;
    let mut answered_in_a_row = 0;
    while answered_in_a_row < 5 {
        let ours = guest.hover(at.clone()).await.ok().flatten().is_some()
            && guest
                .peek(at.clone())
                .await
                .is_ok_and(|p| !p.views.is_empty());
        let theirs = bridge
            .hover("src/lib.rs", position)
            .await
            .ok()
            .flatten()
            .is_some()
            && bridge
                .peek("src/lib.rs", position)
                .await
                .is_ok_and(|p| !p.is_empty());
        let settled = bridge
            .status()
            .await
            .iter()
            .all(|server| server.state == cotype::host::lsp::ServerState::Ready);
        answered_in_a_row = if ours && theirs && settled {
            answered_in_a_row + 1
        } else {
            0
        };
        assert!(
            Instant::now() < deadline,
            "rust-analyzer did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let mut bridge_hover = Vec::new();
    let mut cotype_hover = Vec::new();
    let mut bridge_peek = Vec::new();
    let mut cotype_peek = Vec::new();
    let mut bridge_signature = Vec::new();
    let mut cotype_signature = Vec::new();
    // Inside the call's parentheses, after its first argument.
    let in_call = LineCol {
        col: position.col + "area(2, ".len(),
        ..position
    };
    let at_in_call = TextPosition {
        position: in_call,
        ..at.clone()
    };
    for round in 0..WARM_UP + SAMPLES {
        // A server still settling may say "indexing" during the warm-up rounds.
        let warm = round < WARM_UP;
        let (b_hover, answer) = time(bridge.hover("src/lib.rs", position)).await;
        assert!(
            warm || matches!(answer, Ok(Some(_))),
            "bridge hover: {answer:?}"
        );
        let (c_hover, answer) = time(guest.hover(at.clone())).await;
        assert!(
            warm || matches!(answer, Ok(Some(_))),
            "cotype hover: {answer:?}"
        );
        let (b_peek, answer) = time(bridge.peek("src/lib.rs", position)).await;
        assert!(
            warm || answer.as_ref().is_ok_and(|peeks| !peeks.is_empty()),
            "bridge peek: {answer:?}"
        );
        let (c_peek, answer) = time(guest.peek(at.clone())).await;
        assert!(
            warm || answer.as_ref().is_ok_and(|peeked| !peeked.views.is_empty()),
            "cotype peek: {answer:?}"
        );
        let (b_signature, answer) = time(bridge.signature_help("src/lib.rs", in_call)).await;
        assert!(
            warm || matches!(answer, Ok(Some(_))),
            "bridge signature help: {answer:?}"
        );
        let (c_signature, answer) = time(guest.signature_help(at_in_call.clone())).await;
        assert!(
            warm || matches!(answer, Ok(Some(_))),
            "cotype signature help: {answer:?}"
        );
        if round >= WARM_UP {
            bridge_signature.push(b_signature);
            cotype_signature.push(c_signature);
            bridge_hover.push(b_hover);
            cotype_hover.push(c_hover);
            bridge_peek.push(b_peek);
            cotype_peek.push(c_peek);
        }
    }

    let edits = time_edits(&mut guest, &bridge, dir.path()).await;
    let (wide_bridge, wide_cotype) = time_wide_rename(relay_address).await;

    let (bridge_hover, cotype_hover) = (median(bridge_hover), median(cotype_hover));
    let (bridge_peek, cotype_peek) = (median(bridge_peek), median(cotype_peek));
    let added_hover = ms(cotype_hover) - ms(bridge_hover);
    let added_peek = ms(cotype_peek) - ms(bridge_peek);
    println!("medians over {SAMPLES} requests after {WARM_UP} warm-up rounds:");
    println!(
        "hover: bridge {:.2} ms, through the relay {:.2} ms, cotype adds {added_hover:.2} ms",
        ms(bridge_hover),
        ms(cotype_hover)
    );
    println!(
        "peek:  bridge {:.2} ms, through the relay {:.2} ms, cotype adds {added_peek:.2} ms",
        ms(bridge_peek),
        ms(cotype_peek)
    );
    let mut json = String::new();
    let signature = (
        "signature",
        median(bridge_signature),
        median(cotype_signature),
    );
    for (name, bridge, cotype) in std::iter::once(&signature).chain(&edits) {
        let added = ms(*cotype) - ms(*bridge);
        println!(
            "{name:<7} bridge {:.2} ms, through the relay {:.2} ms, cotype adds {added:.2} ms",
            ms(*bridge),
            ms(*cotype)
        );
        json.push_str(&format!(
            ",\"{name}_bridge_ms\":{:.3},\"{name}_cotype_ms\":{:.3},\"{name}_added_ms\":{added:.3}",
            ms(*bridge),
            ms(*cotype)
        ));
    }
    let wide_ratio = wide_cotype.as_secs_f64() / wide_bridge.as_secs_f64();
    println!(
        "rename touching {WIDE_FILES} files: the server alone {:.2} ms, applied for everyone through cotype {:.2} ms: {wide_ratio:.2}x (target < 3x)",
        ms(wide_bridge),
        ms(wide_cotype)
    );
    json.push_str(&format!(
        ",\"wide_rename_files\":{WIDE_FILES},\"wide_rename_bridge_ms\":{:.3},\"wide_rename_cotype_ms\":{:.3},\"wide_rename_ratio\":{wide_ratio:.3}",
        ms(wide_bridge),
        ms(wide_cotype)
    ));
    println!("target: under 5 ms added");
    println!(
        "{{\"samples\":{SAMPLES},\"hover_bridge_ms\":{:.3},\"hover_cotype_ms\":{:.3},\"hover_added_ms\":{added_hover:.3},\"peek_bridge_ms\":{:.3},\"peek_cotype_ms\":{:.3},\"peek_added_ms\":{added_peek:.3}{json}}}",
        ms(bridge_hover),
        ms(cotype_hover),
        ms(bridge_peek),
        ms(cotype_peek)
    );
    bridge.shutdown().await;
}

/// Medians of rename, format and code actions, the bridge's and cotype's, alternating.
async fn time_edits(
    guest: &mut Participant,
    bridge: &LspBridge,
    root: &Path,
) -> Vec<(&'static str, Duration, Duration)> {
    use cotype::client::request::{CodeActions, Format, Rename};
    use cotype::protocol::language::RenameRequest;
    // Formatted once and saved first, so every later format changes nothing and the
    // place renamed stays where it is.
    guest
        .request(Format {
            path: "src/lib.rs".to_owned(),
            save: true,
        })
        .await
        .expect("format lib.rs");
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).expect("lib.rs");
    bridge
        .did_open("src/lib.rs", &lib, 1)
        .await
        .expect("the bridge follows");
    let (line, text) = lib
        .lines()
        .enumerate()
        .find(|(_, text)| text.contains("area(2, 3)"))
        .expect("the call to area");
    let position = LineCol {
        line,
        col: text[..text.find("area(2, 3)").expect("call")]
            .chars()
            .count(),
    };
    let now = TextPosition {
        path: "src/lib.rs".to_owned(),
        revision: cotype::protocol::message::CURRENT_TEXT,
        position,
    };
    let mut times: [(Vec<Duration>, Vec<Duration>); 3] = Default::default();
    for round in 0..WARM_UP + SAMPLES {
        let warm = round < WARM_UP;
        let name = if round % 2 == 0 { "surface" } else { "area" };
        let (b_rename, answer) = time(bridge.rename("src/lib.rs", position, "surface")).await;
        assert!(
            warm || answer.is_ok_and(|files| files.len() == 2),
            "bridge rename"
        );
        let (c_rename, answer) = time(guest.request(Rename(RenameRequest {
            at: now.clone(),
            new_name: name.to_owned(),
            save: false,
        })))
        .await;
        assert!(
            warm || answer.as_ref().is_ok_and(|summary| summary.files == 2),
            "cotype rename: {answer:?}"
        );
        let (b_format, answer) = time(bridge.format("src/lib.rs")).await;
        assert!(warm || answer.is_ok(), "bridge format: {answer:?}");
        let (c_format, answer) = time(guest.request(Format {
            path: "src/lib.rs".to_owned(),
            save: false,
        }))
        .await;
        assert!(warm || answer.is_ok(), "cotype format: {answer:?}");
        let (b_actions, answer) = time(bridge.code_actions("src/lib.rs", position)).await;
        assert!(warm || answer.is_ok(), "bridge code actions: {answer:?}");
        let (c_actions, answer) = time(guest.request(CodeActions(now.clone()))).await;
        assert!(warm || answer.is_ok(), "cotype code actions: {answer:?}");
        if round >= WARM_UP {
            for (slot, (b, c)) in [
                (b_rename, c_rename),
                (b_format, c_format),
                (b_actions, c_actions),
            ]
            .into_iter()
            .enumerate()
            {
                times[slot].0.push(b);
                times[slot].1.push(c);
            }
        }
    }
    let [rename, format, actions] = times;
    vec![
        ("rename", median(rename.0), median(rename.1)),
        ("format", median(format.0), median(format.1)),
        ("actions", median(actions.0), median(actions.1)),
    ]
}

/// A rename changing `WIDE_FILES` files: the server's own time to compute it (a bridge of
/// its own, applying each rename to its documents like an editor of one person) against
/// the member's wait until it is applied to everyone's shared text.
async fn time_wide_rename(relay_address: std::net::SocketAddr) -> (Duration, Duration) {
    use cotype::client::request::Rename;
    use cotype::protocol::language::RenameRequest;
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path();
    std::fs::create_dir_all(root.join("src")).expect("src");
    let write = |path: &str, text: String| std::fs::write(root.join(path), text).expect("write");
    write(
        "Cargo.toml",
        "[package]\nname = \"wide\"\nversion = \"0.1.0\"\nedition = \"2021\"\n".into(),
    );
    write(
        "src/geometry.rs",
        "pub fn area(width: u32, height: u32) -> u32 {\n    width * height\n}\n".into(),
    );
    let mut lib = "pub mod geometry;\n".to_owned();
    for n in 0..WIDE_FILES - 1 {
        lib.push_str(&format!("pub mod m{n};\n"));
        write(
            &format!("src/m{n}.rs"),
            format!("pub fn f() -> u32 {{\n    crate::geometry::area({n}, 1)\n}}\n"),
        );
    }
    write("src/lib.rs", lib);
    let host = HostSession::start(HostOptions {
        root: root.to_path_buf(),
        relay: relay_address.to_string(),
        insecure: false,
        hide: Vec::new(),
        name: "host".to_owned(),
        approval: Default::default(),
        trust_project: false,
    })
    .await
    .expect("host");
    let link = host.link.clone();
    tokio::spawn(host.run());
    let mut guest = Participant::join(&link, "bench").await.expect("join");
    let bridge = LspBridge::new(root, LspConfig::default()).expect("bridge");
    let text = std::fs::read_to_string(root.join("src/geometry.rs")).expect("geometry.rs");
    bridge
        .did_open("src/geometry.rs", &text, 0)
        .await
        .expect("rust-analyzer");
    let definition = LineCol { line: 0, col: 7 };
    let at = TextPosition {
        path: "src/geometry.rs".to_owned(),
        revision: cotype::protocol::message::CURRENT_TEXT,
        position: definition,
    };
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        let ready = bridge
            .rename("src/geometry.rs", definition, "surface")
            .await
            .is_ok_and(|files| files.len() == WIDE_FILES);
        // The host's own rust-analyzer too: every caller is known.
        let host_ready = ready
            && guest
                .references(at.clone())
                .await
                .is_ok_and(|found| found.len() >= WIDE_FILES);
        if host_ready {
            break;
        }
        assert!(Instant::now() < deadline, "rust-analyzer did not index");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The bridge is the editor of one person: it applies each rename to its documents
    // (telling its server, as the host tells its own), so both servers rename a crate
    // the previous rename just changed.
    let mut versions = std::collections::HashMap::from([("src/geometry.rs".to_owned(), 0)]);
    let (mut alone, mut through) = (Vec::new(), Vec::new());
    for round in 0..WIDE_SAMPLES + 2 {
        let name = if round % 2 == 0 { "surface" } else { "area" };
        let (b, answer) = time(bridge.rename("src/geometry.rs", definition, name)).await;
        let files = answer.expect("bridge wide rename");
        assert_eq!(files.len(), WIDE_FILES);
        apply_renamed(&bridge, &mut versions, files).await;
        let (c, answer) = time(guest.request(Rename(RenameRequest {
            at: at.clone(),
            new_name: name.to_owned(),
            save: false,
        })))
        .await;
        assert!(
            answer
                .as_ref()
                .is_ok_and(|summary| summary.files == WIDE_FILES as u64),
            "wide rename: {answer:?}"
        );
        if round >= 2 {
            alone.push(b);
            through.push(c);
        }
    }
    bridge.shutdown().await;
    (median(alone), median(through))
}

/// Applies a rename's edits to the bridge's documents (opening those it has not), as one
/// person's editor would.
async fn apply_renamed(
    bridge: &LspBridge,
    versions: &mut std::collections::HashMap<String, i32>,
    files: Vec<cotype::host::lsp::FileEdits>,
) {
    for file in files {
        let op = cotype::text::Operation::from_edits(file.text.len_chars(), file.edits)
            .expect("the rename's edits");
        let version = match versions.get_mut(&file.path) {
            Some(version) => version,
            None => {
                bridge
                    .did_open(&file.path, &file.text.to_string(), 0)
                    .await
                    .expect("open for the bridge");
                versions.entry(file.path.clone()).or_insert(0)
            }
        };
        *version += 1;
        bridge
            .did_change(&file.path, *version, &op)
            .expect("the bridge follows its rename");
    }
}
