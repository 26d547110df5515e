//! What rust-analyzer says while someone types, asked through the relay like any member
//! would: the signature of the call being typed with its active parameter, and inlay
//! hints (a `let`'s type, a call's parameter names) at the revision they were computed
//! for, still beside their tokens after someone typed in front of them.
//!
//! rust-analyzer must be installed; the test fails and says so otherwise.

use std::time::{Duration, Instant};

mod common;

use common::at;

use cotype::client::driver::Driver;
use cotype::client::headless::{open, run_until};
use cotype::client::{ClientError, Participant};
use cotype::protocol::hints::{HintKind, InlayHintsAnswer};
use cotype::protocol::message::TextPosition;
use cotype::relay::RelayConfig;
use cotype::text::{LineCol, Operation};

/// A correctness wait for a cold server on a loaded machine, not a timing assertion.
const READY_DEADLINE: Duration = Duration::from_secs(180);

const LIB: &str = "mod geometry;

pub fn describe() -> u32 {
    let sizes = vec![1];
    geometry::area(2, 3) + sizes[0] + geometry::grow(1)
}
";

const GEOMETRY: &str = "/// The area of a rectangle.
pub fn area(width: u32, height: u32) -> u32 {
    width * height
}

pub fn grow(by_hintmark_c0ffee63: u32) -> u32 {
    by_hintmark_c0ffee63 + 1
}
";

/// A parameter's name, so in the hints: it must not cross the relay in the clear.
const HINT_MARKER: &str = "by_hintmark_c0ffee63";

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    common::write_tree(
        dir.path(),
        &[
            (
                "Cargo.toml",
                b"[package]\nname = \"shapes\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
            ),
            ("src/lib.rs", LIB.as_bytes()),
            ("src/geometry.rs", GEOMETRY.as_bytes()),
        ],
    );
    dir
}

fn is_busy(message: &str) -> bool {
    ["still indexing", "did not answer", "content modified"]
        .iter()
        .any(|busy| message.contains(busy))
}

/// Asks until rust-analyzer has an answer that `ready` accepts (it says nothing useful
/// while it loads the crate).
async fn hints_when<F>(guest: &mut Participant, at: TextPosition, ready: F) -> InlayHintsAnswer
where
    F: Fn(&InlayHintsAnswer) -> bool,
{
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        let last = match guest.inlay_hints(at.clone()).await {
            Ok(answer) if ready(&answer) => return answer,
            Ok(answer) => format!("{:?}", answer.hints),
            Err(ClientError::Host(message)) if is_busy(&message) => message,
            Err(error) => panic!("inlay hints: {error}"),
        };
        assert!(
            Instant::now() < deadline,
            "no inlay hints as expected; last: {last}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn char_index(text: &str, needle: &str) -> u64 {
    let byte = text.find(needle).expect("in the text");
    text[..byte].chars().count() as u64
}

fn labels(answer: &InlayHintsAnswer) -> Vec<(u64, String, HintKind)> {
    answer
        .hints
        .iter()
        .map(|hint| (hint.offset, hint.label.trim().to_owned(), hint.kind))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_help_names_the_parameter_being_typed() {
    let dir = project();
    let relay = common::start_relay(RelayConfig::default()).await;
    let link = common::start_host(dir.path(), relay.address, "host", &[]).await;
    let mut bob = Participant::join(&link, "bob").await.expect("join");

    // After `area(2, ` — the second argument.
    let second = at("src/lib.rs", 4, "    geometry::area(2, ".len());
    let deadline = Instant::now() + READY_DEADLINE;
    let answer = loop {
        match bob.signature_help(second.clone()).await {
            Ok(Some(answer)) => break answer,
            Ok(None) => {}
            Err(ClientError::Host(message)) if is_busy(&message) => {}
            Err(error) => panic!("signature help: {error}"),
        }
        assert!(Instant::now() < deadline, "rust-analyzer never answered");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let (signature, active) = answer.shown().expect("a signature");
    assert!(
        signature
            .label
            .contains("fn area(width: u32, height: u32) -> u32"),
        "{signature:?}"
    );
    let active: String = signature
        .label
        .chars()
        .skip(active.as_ref().expect("an active parameter").start)
        .take(active.as_ref().map_or(0, |range| range.len()))
        .collect();
    assert_eq!(active, "height: u32");
    assert!(answer.triggers.iter().any(|c| c == "("), "{answer:?}");

    // Right after the `(`: the first.
    let first = at("src/lib.rs", 4, "    geometry::area(".len());
    let answer = bob
        .signature_help(first)
        .await
        .expect("asked")
        .expect("in the call");
    let (signature, active) = answer.shown().expect("a signature");
    let range = active.expect("an active parameter");
    let name: String = signature
        .label
        .chars()
        .skip(range.start)
        .take(range.len())
        .collect();
    assert_eq!(name, "width: u32");

    // Not in a call: nothing.
    let outside = at("src/lib.rs", 3, "    let si".len());
    assert_eq!(bob.signature_help(outside).await.expect("asked"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inlay_hints_follow_the_revision_they_were_computed_for() {
    let dir = project();
    let relay = common::start_relay(RelayConfig::default()).await;
    let link = common::start_host(dir.path(), relay.address, "host", &[]).await;
    let mut bob = Participant::join(&link, "bob").await.expect("join");

    // Ada has lib.rs open, so the host's server follows the shared text.
    let (mut ada_driver, mut ada) = Driver::join(&link, "ada").await.expect("ada joins");
    open(&mut ada_driver, &mut ada, "src/lib.rs")
        .await
        .expect("ada opens lib.rs");
    let revision = ada.documents["src/lib.rs"].ot.revision();
    let top = TextPosition {
        path: "src/lib.rs".into(),
        revision,
        position: LineCol { line: 0, col: 0 },
    };
    let has_all = |answer: &InlayHintsAnswer| {
        let found = labels(answer);
        found.iter().any(|(_, label, _)| label == ": Vec<u32>")
            && found.iter().any(|(_, label, _)| label == "height:")
            && found
                .iter()
                .any(|(_, label, _)| label.contains(HINT_MARKER))
    };
    let answer = hints_when(&mut bob, top.clone(), has_all).await;
    assert_eq!(answer.revision, revision);
    let found = labels(&answer);
    let after_sizes = char_index(LIB, "sizes = vec") + "sizes".len() as u64;
    assert!(
        found.contains(&(after_sizes, ": Vec<u32>".into(), HintKind::Type)),
        "the type goes right after `sizes`: {found:?}"
    );
    let before_two = char_index(LIB, "2, 3)");
    assert!(
        found.contains(&(before_two, "width:".into(), HintKind::Parameter)),
        "the parameter name goes before `2`: {found:?}"
    );
    let hint = answer
        .hints
        .iter()
        .find(|hint| hint.label.contains("Vec<u32>"))
        .expect("the type hint");
    assert_eq!(hint.position, LineCol { line: 3, col: 13 });

    // Ada types in front of the `let`: a hint asked at her old revision is computed for
    // the text as it is now, and says so; its place is beside `sizes` in that text.
    let typed = "let _x = 0; ";
    let insert_at = char_index(LIB, "let sizes") as usize;
    ada.local_edit(
        "src/lib.rs",
        Operation::insert(LIB.chars().count(), insert_at, typed).expect("an insertion"),
    )
    .expect("typed");
    let confirmed = run_until(
        &mut ada_driver,
        &mut ada,
        Duration::from_secs(10),
        |ada, _| Ok(!ada.documents["src/lib.rs"].ot.has_pending()),
    )
    .await;
    assert!(confirmed.is_ok(), "the host confirmed ada's edit");
    let now = ada.documents["src/lib.rs"].ot.revision();
    assert!(now > revision);
    let text = ada.documents["src/lib.rs"].rope.to_string();
    let answer = hints_when(&mut bob, top, |answer| {
        answer.revision == now
            && labels(answer)
                .iter()
                .any(|(_, label, _)| label == ": Vec<u32>")
    })
    .await;
    let moved = char_index(&text, "sizes = vec") + "sizes".len() as u64;
    assert!(
        labels(&answer).contains(&(moved, ": Vec<u32>".into(), HintKind::Type)),
        "{:?}",
        labels(&answer)
    );

    // The hints crossed the relay sealed, like everything else.
    let tapped = relay.tapped.lock().expect("tap");
    assert!(!tapped.is_empty());
    for (direction, frame) in tapped.iter() {
        assert!(
            !common::contains(frame, HINT_MARKER.as_bytes()),
            "a hint crossed the relay in the clear ({direction:?})"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn semantic_tokens_say_what_each_name_is() {
    let dir = project();
    let relay = common::start_relay(RelayConfig::default()).await;
    let link = common::start_host(dir.path(), relay.address, "host", &[]).await;
    let mut bob = Participant::join(&link, "bob").await.expect("join");
    let deadline = Instant::now() + READY_DEADLINE;
    let named =
        |answer: &cotype::protocol::semantic::SemanticTokensAnswer| -> Vec<(String, String)> {
            answer
                .tokens
                .iter()
                .map(|token| {
                    let name: String = GEOMETRY
                        .chars()
                        .skip(token.offset as usize)
                        .take(token.len as usize)
                        .collect();
                    (name, token.kind.clone())
                })
                .collect()
        };
    let found = loop {
        match bob.semantic_tokens(at("src/geometry.rs", 0, 0)).await {
            Ok(answer) if named(&answer).iter().any(|(_, kind)| kind == "parameter") => {
                break named(&answer);
            }
            Ok(_) => {}
            Err(ClientError::Host(message)) if is_busy(&message) => {}
            Err(error) => panic!("semantic tokens: {error}"),
        }
        assert!(Instant::now() < deadline, "rust-analyzer never answered");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    for expected in [
        ("area", "function"),
        ("width", "parameter"),
        ("u32", "builtinType"),
    ] {
        assert!(
            found
                .iter()
                .any(|(name, kind)| name == expected.0 && kind == expected.1),
            "{expected:?} in {found:?}"
        );
    }
}
