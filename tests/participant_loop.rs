//! The participant's editor driven without a terminal: the real event loop
//! (`tui::run::join_on`) drawing on a ratatui `TestBackend` and reading keys from a
//! channel, joined over a real relay to a real host on a real folder. What it types shows
//! on its screen and reaches the host's text, as in `cotype join`, without tmux.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use common::{start_host, start_relay, write_tree};
use cotype::client::Participant;
use cotype::client::driver::Driver;
use cotype::client::headless::open;
use cotype::protocol::header::Route;
use cotype::protocol::message::Presence;
use cotype::relay::RelayConfig;
use cotype::tui::run::{JoinOptions, Screen, join_on};
use cotype::tui::terminal::{TerminalError, osc52_copy};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

/// A `TestBackend` the test reads while the loop draws on it (both on one task).
struct TestScreen {
    terminal: Rc<RefCell<Terminal<TestBackend>>>,
    raw: Rc<RefCell<Vec<u8>>>,
}

impl Screen for TestScreen {
    fn size(&self) -> (u16, u16) {
        let area = self.terminal.borrow().backend().buffer().area;
        (area.width, area.height)
    }

    fn draw(&mut self, render: impl FnOnce(&mut ratatui::Frame<'_>)) -> Result<(), TerminalError> {
        match self.terminal.borrow_mut().draw(render) {
            Ok(_) => Ok(()),
            Err(never) => match never {},
        }
    }

    fn write_raw(&mut self, bytes: &[u8]) -> Result<(), TerminalError> {
        self.raw.borrow_mut().extend_from_slice(bytes);
        Ok(())
    }
}

/// The screen's rows as text.
fn rows(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
    Event::Key(KeyEvent::new(code, modifiers))
}

fn typed(text: &str) -> impl Iterator<Item = Event> + '_ {
    text.chars()
        .map(|c| key(KeyCode::Char(c), KeyModifiers::NONE))
}

/// Waits until `seen` holds, checking every 20 ms; false after 10 s.
async fn until(mut seen: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while tokio::time::Instant::now() < deadline {
        if seen() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    seen()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_on_a_test_backend_opens_a_file_types_and_the_host_has_it() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("src/main.rs", b"fn main() {}\n"),
            ("README.md", b"# notes\n"),
        ],
    );
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;

    let terminal = Rc::new(RefCell::new(
        Terminal::new(TestBackend::new(100, 24)).unwrap(),
    ));
    let raw = Rc::new(RefCell::new(Vec::new()));
    let mut screen = TestScreen {
        terminal: terminal.clone(),
        raw: raw.clone(),
    };
    let (keys, mut input) = tokio::sync::mpsc::unbounded_channel();
    let options = JoinOptions {
        name: Some("tess".into()),
        keymap: Some("default".into()),
        theme: Some("sixteen".into()),
        no_mouse: true,
        ..JoinOptions::default()
    };
    let editor = join_on(&link, options, &mut screen, &mut input);

    let script = async {
        let shown = |text: &str| rows(&terminal.borrow()).contains(text);
        assert!(
            until(|| shown("tess (you)")).await,
            "{}",
            rows(&terminal.borrow())
        );
        // The file picker: ctrl-p, a few letters of the name, Enter.
        keys.send(key(KeyCode::Char('p'), KeyModifiers::CONTROL))
            .unwrap();
        for event in typed("main") {
            keys.send(event).unwrap();
        }
        assert!(
            until(|| shown("src/main.rs")).await,
            "{}",
            rows(&terminal.borrow())
        );
        keys.send(key(KeyCode::Enter, KeyModifiers::NONE)).unwrap();
        assert!(
            until(|| shown("fn main() {}")).await,
            "{}",
            rows(&terminal.borrow())
        );

        for event in typed("// hi ") {
            keys.send(event).unwrap();
        }
        assert!(
            until(|| shown("// hi fn main() {}")).await,
            "the typed text is on the screen:\n{}",
            rows(&terminal.borrow())
        );
        // The host has it, as anyone who joins reads it.
        let mut reader = Participant::join(&link, "reader").await.unwrap();
        let mut text = String::new();
        for _ in 0..100 {
            let mut bytes = Vec::new();
            reader.read_file("src/main.rs", &mut bytes).await.unwrap();
            text = String::from_utf8(bytes).unwrap();
            if text == "// hi fn main() {}\n" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(text, "// hi fn main() {}\n");

        // Copying the line goes to the terminal's clipboard as OSC 52, outside a frame.
        let copied = String::from_utf8(osc52_copy("// hi fn main() {}")).unwrap();
        keys.send(key(KeyCode::Home, KeyModifiers::NONE)).unwrap();
        keys.send(key(KeyCode::End, KeyModifiers::SHIFT)).unwrap();
        keys.send(key(KeyCode::Char('c'), KeyModifiers::CONTROL))
            .unwrap();
        assert!(
            until(|| String::from_utf8_lossy(&raw.borrow()) == copied).await,
            "no OSC 52 copy written: {:?}",
            String::from_utf8_lossy(&raw.borrow())
        );
        // Quitting with everything confirmed ends the loop.
        keys.send(key(KeyCode::Char('q'), KeyModifiers::CONTROL))
            .unwrap();
    };
    let (result, ()) = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(editor, script)
    })
    .await
    .expect("the editor quits when asked");
    result.expect("the editor ends without an error");
}

/// `--follow ada` before ada is there: the editor says it waits, follows her when she
/// joins, and takes the view into the file her presence names (not open here yet) at her
/// cursor's line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn following_someone_named_before_they_join_goes_where_they_are() {
    let dir = tempfile::tempdir().unwrap();
    let lines: String = (1..=60).map(|n| format!("line {n}\n")).collect();
    write_tree(dir.path(), &[("notes.txt", lines.as_bytes())]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;

    let terminal = Rc::new(RefCell::new(
        Terminal::new(TestBackend::new(100, 24)).unwrap(),
    ));
    let mut screen = TestScreen {
        terminal: terminal.clone(),
        raw: Rc::new(RefCell::new(Vec::new())),
    };
    let (keys, mut input) = tokio::sync::mpsc::unbounded_channel();
    let options = JoinOptions {
        name: Some("tess".into()),
        follow: Some("ada".into()),
        keymap: Some("default".into()),
        theme: Some("sixteen".into()),
        no_mouse: true,
        ..JoinOptions::default()
    };
    let editor = join_on(&link, options, &mut screen, &mut input);

    let script = async {
        let shown = |text: &str| rows(&terminal.borrow()).contains(text);
        assert!(
            until(|| shown("ada is not in the session yet")).await,
            "{}",
            rows(&terminal.borrow())
        );
        let (mut driver, mut session) = Driver::join(&link, "ada").await.unwrap();
        open(&mut driver, &mut session, "notes.txt").await.unwrap();
        assert!(
            until(|| shown("● ada")).await,
            "{}",
            rows(&terminal.borrow())
        );
        let document = &session.documents["notes.txt"];
        let at = document.rope.line_to_char(44);
        let presence = Presence {
            seq: 1,
            path: Some("notes.txt".into()),
            revision: document.ot.revision(),
            selections: vec![(at, at)],
            scroll_line: 40,
            following: None,
            latency_ms: None,
            terminal: None,
        };
        session.send_presence(Route::Everyone, presence);
        driver.flush(&mut session).await;
        assert!(
            until(|| shown("following ada") && shown("line 45") && !shown("line 39")).await,
            "the view follows ada into notes.txt at her line:\n{}",
            rows(&terminal.borrow())
        );
        // Her file's text arrived and is shown from the line she scrolled to.
        assert!(shown("line 41"), "{}", rows(&terminal.borrow()));
        keys.send(key(KeyCode::Char('q'), KeyModifiers::CONTROL))
            .unwrap();
        drop(driver);
    };
    let (result, ()) = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(editor, script)
    })
    .await
    .expect("the editor quits when asked");
    result.expect("the editor ends without an error");
}
