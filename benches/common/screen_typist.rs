//! A participant's editor typing, timed from the key to the frame that shows it: the real
//! `tui::run` loop (`join_on`, as `tests/participant_loop.rs` drives it) drawing on a
//! ratatui `TestBackend` and reading keys from a channel, joined over the real relay to the
//! real host. A key's echo is the time from sending the key event into the loop's input to
//! the end of the first `draw` whose frame shows its effect (the key applied, the edit
//! sent, the screen rendered and diffed; writing to a real terminal is not included).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use cotype::link::Link;
use cotype::tui::run::{JoinOptions, Screen, join_on};
use cotype::tui::terminal::TerminalError;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::Notify;
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

/// What the next frame must show for the key in flight to count as echoed.
enum Expect {
    Shows(String),
    Gone(String),
}

#[derive(Default)]
struct Echoes {
    /// The key in flight: when it was sent and what shows it.
    waiting: Option<(Instant, Expect)>,
    /// Each key's send time and echo time, in order.
    seen: Vec<(Instant, Duration)>,
}

struct TimedScreen {
    terminal: Rc<RefCell<Terminal<TestBackend>>>,
    echoes: Rc<RefCell<Echoes>>,
    echoed: Rc<Notify>,
}

/// The screen's text, row by row.
fn rows(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut text = String::with_capacity(buffer.content.len() + buffer.area.height as usize);
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

impl Screen for TimedScreen {
    fn size(&self) -> (u16, u16) {
        let area = self.terminal.borrow().backend().buffer().area;
        (area.width, area.height)
    }

    fn draw(&mut self, render: impl FnOnce(&mut ratatui::Frame<'_>)) -> Result<(), TerminalError> {
        let mut terminal = self.terminal.borrow_mut();
        match terminal.draw(render) {
            Ok(_) => {}
            Err(never) => match never {},
        }
        let drawn = Instant::now();
        let mut echoes = self.echoes.borrow_mut();
        if let Some((sent, expect)) = &echoes.waiting {
            let screen = rows(&terminal);
            let shown = match expect {
                Expect::Shows(text) => screen.contains(text.as_str()),
                Expect::Gone(text) => !screen.contains(text.as_str()),
            };
            if shown {
                let sent = *sent;
                echoes.waiting = None;
                echoes.seen.push((sent, drawn - sent));
                self.echoed.notify_one();
            }
        }
        Ok(())
    }

    fn write_raw(&mut self, _bytes: &[u8]) -> Result<(), TerminalError> {
        Ok(())
    }
}

/// The editor's side the script holds: its keys and what it has shown.
pub struct Typist {
    keys: UnboundedSender<Event>,
    terminal: Rc<RefCell<Terminal<TestBackend>>>,
    echoes: Rc<RefCell<Echoes>>,
    echoed: Rc<Notify>,
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
    Event::Key(KeyEvent::new(code, modifiers))
}

impl Typist {
    pub fn shows(&self, text: &str) -> bool {
        rows(&self.terminal.borrow()).contains(text)
    }

    pub fn screen(&self) -> String {
        rows(&self.terminal.borrow())
    }

    /// Waits until the screen shows `text` (checking every 10 ms); false after 20 s.
    pub async fn until_shown(&self, text: &str) -> bool {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.shows(text) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    /// Opens `path` with the file picker (ctrl-p, its name, Enter) and waits for `line`.
    pub async fn open(&self, path: &str, line: &str) {
        assert!(self.until_shown("(you)").await, "{}", self.screen());
        self.send(key(KeyCode::Char('p'), KeyModifiers::CONTROL));
        for c in path.chars() {
            self.send(key(KeyCode::Char(c), KeyModifiers::NONE));
        }
        assert!(self.until_shown(path).await, "{}", self.screen());
        self.send(key(KeyCode::Enter, KeyModifiers::NONE));
        assert!(self.until_shown(line).await, "{}", self.screen());
    }

    pub fn send(&self, event: Event) {
        self.keys.send(event).expect("the editor reads its keys");
    }

    pub fn down(&self) {
        self.send(key(KeyCode::Down, KeyModifiers::NONE));
    }

    /// Types `c` (or, with `c` None, Backspace) and waits until a frame shows `shown`
    /// (or no longer shows `gone`); the key's echo time. Panics after 20 s.
    pub async fn timed_key(
        &self,
        c: Option<char>,
        expect_shown: Option<&str>,
        gone: &str,
    ) -> Duration {
        let expect = match expect_shown {
            Some(text) => Expect::Shows(text.to_owned()),
            None => Expect::Gone(gone.to_owned()),
        };
        let before = self.echoes.borrow().seen.len();
        let event = match c {
            Some(c) => key(KeyCode::Char(c), KeyModifiers::NONE),
            None => key(KeyCode::Backspace, KeyModifiers::NONE),
        };
        self.echoes.borrow_mut().waiting = Some((Instant::now(), expect));
        self.send(event);
        loop {
            if let Some((_, echo)) = self.echoes.borrow().seen.get(before) {
                return *echo;
            }
            let echoed = tokio::time::timeout(Duration::from_secs(20), self.echoed.notified());
            assert!(echoed.await.is_ok(), "no echo:\n{}", self.screen());
        }
    }
}

/// Runs the editor joined to `link` as `name` (default keymap, `cols`x`rows`) alongside
/// `script`, on this task, until `script` ends; its result.
pub async fn with_typist<T>(
    link: &Link,
    name: &str,
    (cols, rows): (u16, u16),
    script: impl AsyncFnOnce(&Typist) -> T,
) -> T {
    let terminal = Rc::new(RefCell::new(
        Terminal::new(TestBackend::new(cols, rows)).expect("a test terminal"),
    ));
    let echoes = Rc::new(RefCell::new(Echoes::default()));
    let echoed = Rc::new(Notify::new());
    let mut screen = TimedScreen {
        terminal: terminal.clone(),
        echoes: echoes.clone(),
        echoed: echoed.clone(),
    };
    let (keys, mut input) = unbounded_channel();
    let options = JoinOptions {
        name: Some(name.into()),
        keymap: Some("default".into()),
        theme: Some("sixteen".into()),
        no_mouse: true,
        ..JoinOptions::default()
    };
    let typist = Typist {
        keys,
        terminal,
        echoes,
        echoed,
    };
    let editor = join_on(link, options, &mut screen, &mut input);
    tokio::select! {
        biased;
        ended = editor => panic!("the editor ended under the bench: {:?}", ended.err()),
        result = script(&typist) => result,
    }
}
