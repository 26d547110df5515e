//! Opening a large document streams it: the participant has the start of it at once while
//! the rest arrives, cannot edit it until all of it has (the OT revision belongs to the
//! whole text), and then edits it together with others like any document. Real relay,
//! real host, a real file.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{start_host, start_relay, write_tree};
use cotype::client::driver::{Driver, apply};
use cotype::client::headless::{open, run_until};
use cotype::client::session::{Session, SessionError, SessionEvent};
use cotype::relay::RelayConfig;
use cotype::text::Operation;
use cotype::tui::app::App;
use cotype::tui::compositor::{AppCommand, Event};
use cotype::tui::keymap::Keymap;
use cotype::tui::theme::{ColorMode, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ropey::Rope;

const PATH: &str = "big.txt";

/// About 3 MB (two dozen pieces), with multi-byte characters so pieces are cut between
/// characters, not bytes.
fn big_text() -> String {
    let mut text = String::from("// first line of big.txt\n");
    let mut i = 0;
    while text.len() < 3_000_000 {
        text.push_str(&format!("line {i}: héllo wörld 😀 — ünïcode\n"));
        i += 1;
    }
    text
}

fn insert(session: &mut Session, at: usize, text: &str) -> Result<(), SessionError> {
    let len = match session.documents.get(PATH) {
        Some(document) => document.rope.len_chars(),
        None => 0,
    };
    session.local_edit(PATH, Operation::insert(len, at.min(len), text).unwrap())
}

async fn wait_synced(driver: &mut Driver, session: &mut Session) {
    run_until(driver, session, Duration::from_secs(60), |session, _| {
        Ok(session.is_synced(PATH) && !session.has_outbox())
    })
    .await
    .unwrap();
}

async fn wait_for(driver: &mut Driver, session: &mut Session, needle: &str) {
    run_until(driver, session, Duration::from_secs(60), |session, _| {
        Ok(session.documents[PATH].rope.to_string().contains(needle))
    })
    .await
    .unwrap();
}

/// The host sends the rest of a large document as the participant takes its pieces: one
/// that takes none gets the first few and no more (no queue on the way, the host's, the
/// relay's or its own, fills up with the file), and all of it once it takes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_sends_a_large_document_only_as_fast_as_the_participant_takes_it() {
    let dir = tempfile::tempdir().unwrap();
    let original = big_text();
    write_tree(dir.path(), &[(PATH, original.as_bytes())]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let (mut driver, mut ada) = Driver::join(&link, "ada").await.unwrap();
    ada.open_document(PATH);
    driver.flush(&mut ada).await;

    // Ada reads what arrives and sends nothing back.
    let still_waiting = tokio::time::timeout(Duration::from_secs(3), async {
        loop {
            if let Some(fatal) = apply(&mut ada, driver.next().await) {
                panic!("ada lost the session: {fatal}");
            }
            while ada.next_event().is_some() {}
        }
    })
    .await;
    assert!(still_waiting.is_err());
    let received = ada
        .loading(PATH)
        .map_or(0, |loading| loading.received_bytes);
    // The first 64 KiB and 8 pieces of 128 Ki chars (about 1.25 bytes each here).
    assert!(
        received > 0 && received < 1_500_000,
        "{received} of {} bytes arrived without being taken",
        original.len()
    );
    assert!(!ada.documents.contains_key(PATH));

    // Taken, the rest follows.
    run_until(
        &mut driver,
        &mut ada,
        Duration::from_secs(60),
        |session, _| Ok(session.documents.contains_key(PATH)),
    )
    .await
    .unwrap();
    assert!(ada.documents[PATH].rope == original);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_document_shown_while_loading_refuses_edits_until_complete_then_converges() {
    let dir = tempfile::tempdir().unwrap();
    let original = big_text();
    write_tree(dir.path(), &[(PATH, original.as_bytes())]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;

    // Ben has the file open and types while Ada opens it.
    let (mut ben_driver, mut ben) = Driver::join(&link, "ben").await.unwrap();
    open(&mut ben_driver, &mut ben, PATH).await.unwrap();
    let (mut ada_driver, mut ada) = Driver::join(&link, "ada").await.unwrap();
    ada.open_document(PATH);
    insert(&mut ben, 0, "<ben typed while ada opened>").unwrap();
    ben_driver.flush(&mut ben).await;

    let mut updates = 0;
    let mut percents = Vec::new();
    run_until(
        &mut ada_driver,
        &mut ada,
        Duration::from_secs(60),
        |session, event| {
            if let Some(SessionEvent::DocumentLoading { path }) = event
                && let Some(loading) = session.loading(path)
            {
                updates += 1;
                percents.extend(loading.percent());
                assert!(
                    loading
                        .rope
                        .to_string()
                        .contains("// first line of big.txt"),
                    "the start of the file is there from the first piece on"
                );
                assert!(!session.documents.contains_key(PATH));
                assert_eq!(
                    insert(session, 0, "too early"),
                    Err(SessionError::Loading(PATH.into())),
                    "a document still loading takes no edit"
                );
            }
            Ok(session.documents.contains_key(PATH))
        },
    )
    .await
    .unwrap();
    assert!(
        updates >= 2,
        "the text arrived in several steps, shown as it came ({updates})"
    );
    assert!(
        percents.windows(2).all(|w| w[0] < w[1]) && percents.iter().all(|&p| p < 100),
        "progress only grows: {percents:?}"
    );
    assert!(ada.loading(PATH).is_none());
    assert!(!ada.documents[PATH].rope.to_string().contains("too early"));

    // Now complete, Ada edits like anyone, concurrently with Ben.
    let end = ada.documents[PATH].rope.len_chars();
    insert(&mut ada, end, "<ada at the end>").unwrap();
    insert(&mut ben, 30, "<ben again>").unwrap();
    ada_driver.flush(&mut ada).await;
    ben_driver.flush(&mut ben).await;
    wait_synced(&mut ada_driver, &mut ada).await;
    wait_synced(&mut ben_driver, &mut ben).await;
    wait_for(&mut ada_driver, &mut ada, "<ben again>").await;
    wait_for(&mut ben_driver, &mut ben, "<ada at the end>").await;

    let ada_text = ada.documents[PATH].rope.to_string();
    let ben_text = ben.documents[PATH].rope.to_string();
    assert!(ada_text == ben_text, "both copies are the same text");
    for token in [
        "<ben typed while ada opened>",
        "<ada at the end>",
        "<ben again>",
    ] {
        assert_eq!(ada_text.matches(token).count(), 1, "{token} exactly once");
    }
    assert_eq!(
        ada_text.len(),
        original.len() + "<ben typed while ada opened><ada at the end><ben again>".len()
    );
}

/// The editor side: a tab whose text is still arriving shows it with the progress in the
/// status line, says why typing does nothing, and edits normally once complete.
#[test]
fn a_tab_still_loading_shows_how_much_came_and_takes_no_typing() {
    let theme = Theme::load_from("default-dark", None, ColorMode::TrueColor).unwrap();
    let keymap = Keymap::load_from("default", None).unwrap();
    let mut app = App::new(theme, keymap, 4, (90, 12));
    let mut terminal = Terminal::new(TestBackend::new(90, 12)).unwrap();
    let mut screen = |app: &App, documents: &HashMap<String, Rope>| {
        terminal
            .draw(|frame| app.render(frame, documents))
            .unwrap()
            .buffer
            .content
            .chunks(90)
            .map(|row| row.iter().map(|cell| cell.symbol()).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let typing = Event::Key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE));
    let edits = |commands: Vec<AppCommand>| {
        commands
            .iter()
            .filter(|c| matches!(c, AppCommand::Edit { .. }))
            .count()
    };

    let mut documents = HashMap::new();
    let arrived = Rope::from_str("// first line of big.rs\nfn main() {\n");
    documents.insert("big.rs".to_owned(), arrived.clone());
    app.document_loading("big.rs", Some(&arrived), 37);
    assert_eq!(edits(app.handle_event(&typing, &documents)), 0);
    let shown = screen(&app, &documents);
    assert!(shown.contains("// first line of big.rs"), "{shown}");
    assert!(shown.contains("loading 37%"), "{shown}");
    assert!(shown.contains("still loading (37%)"), "{shown}");

    let whole = Rope::from_str("// first line of big.rs\nfn main() {\n}\n");
    documents.insert("big.rs".to_owned(), whole.clone());
    app.open_document("big.rs", &whole, false);
    assert_eq!(edits(app.handle_event(&typing, &documents)), 1);
    let shown = screen(&app, &documents);
    assert!(!shown.contains("loading 37%"), "{shown}");

    // A failed opening closes the tab it had started.
    let partial = Rope::from_str("half");
    documents.insert("other.rs".to_owned(), partial.clone());
    app.document_loading("other.rs", Some(&partial), 0);
    app.document_loading("other.rs", None, 0);
    assert!(!screen(&app, &documents).contains("other.rs"));
}
