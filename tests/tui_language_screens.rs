//! Language features on a screen, drawn into ratatui's `TestBackend`, in both keymaps.
//! The lightbulb: once the cursor rests on a line, the app asks the host for that line's
//! code actions; when the answer has a quick fix, a mark appears in the gutter of that
//! line, and it goes with the cursor when it leaves the line (tests/lsp_edits.rs asks
//! the same question of a real rust-analyzer). The outline picker says when the outline
//! comes from the syntax tree because the host has no language server for the file.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cotype::protocol::language::CodeActionItem;
use cotype::protocol::message::Response;
use cotype::tui::app::App;
use cotype::tui::compositor::{AppCommand, Event};
use cotype::tui::keymap::Keymap;
use cotype::tui::lightbulb::{MARK, REST};
use cotype::tui::popup::{AskKind, IntelAsk};
use cotype::tui::status::ConnectionState;
use cotype::tui::theme::{ColorMode, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ropey::Rope;

const TEXT: &str = "fn main() {\n    let count = 1;\n    count = 2;\n}\n";

struct Screen {
    app: App,
    docs: HashMap<String, Rope>,
    terminal: Terminal<TestBackend>,
}

impl Screen {
    fn new(keymap: &str) -> Self {
        let theme = Theme::load_from("default-dark", None, ColorMode::TrueColor).unwrap();
        let keymap = Keymap::load_from(keymap, None).unwrap();
        let mut app = App::new(theme, keymap, 4, (60, 12));
        app.set_connection(ConnectionState::Connected);
        let docs = HashMap::from([("src/main.rs".to_owned(), Rope::from_str(TEXT))]);
        app.open_document("src/main.rs", &docs["src/main.rs"], false);
        Self {
            app,
            docs,
            terminal: Terminal::new(TestBackend::new(60, 12)).unwrap(),
        }
    }

    fn key(&mut self, code: KeyCode) {
        let event = Event::Key(KeyEvent::new(code, KeyModifiers::NONE));
        let commands = self.app.handle_event(&event, &self.docs);
        assert!(
            !commands
                .iter()
                .any(|command| matches!(command, AppCommand::Edit { .. })),
            "moving edits nothing"
        );
    }

    /// The lightbulb's question, if it asks one once the cursor has rested.
    fn rest(&mut self) -> Option<IntelAsk> {
        let early = self.app.due_lightbulb(Instant::now(), &self.docs);
        assert!(early.is_none(), "no question before the cursor rests");
        match self.app.due_lightbulb(
            Instant::now() + REST + Duration::from_millis(10),
            &self.docs,
        ) {
            Some(AppCommand::Ask(ask)) => Some(ask),
            None => None,
            Some(other) => panic!("not a question: {other:?}"),
        }
    }

    /// The rows that start with the mark, as text.
    fn marked(&mut self) -> Vec<String> {
        let Self {
            app,
            docs,
            terminal,
        } = self;
        terminal.draw(|frame| app.render(frame, docs)).unwrap();
        let buffer = terminal.backend().buffer();
        let area = buffer.area;
        (area.top()..area.bottom())
            .map(|y| {
                (area.left()..area.right())
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
            })
            .filter(|row| row.starts_with(MARK))
            .collect()
    }
}

fn fix(title: &str) -> CodeActionItem {
    CodeActionItem {
        title: title.into(),
        kind: Some("quickfix".into()),
        fix: true,
        applicable: true,
    }
}

fn lightbulb_follows_the_answer(keymap: &str, down: KeyCode, up: KeyCode, right: KeyCode) {
    let mut screen = Screen::new(keymap);
    screen.key(down);
    screen.key(down);
    let ask = screen.rest().expect("the cursor's line is asked about");
    assert_eq!(ask.kind, AskKind::LineActions);
    assert_eq!((ask.path.as_str(), ask.at.line), ("src/main.rs", 2));
    assert!(screen.marked().is_empty(), "no mark before the answer");
    // The line's diagnostic has a sign in the same column; on the cursor's line the
    // lightbulb takes its place.
    use cotype::protocol::message::{DiagnosticItem, Severity, TextRange};
    use cotype::text::LineCol;
    screen.app.set_diagnostics(
        "src/main.rs",
        vec![DiagnosticItem {
            range: TextRange {
                start: LineCol { line: 2, col: 4 },
                end: LineCol { line: 2, col: 13 },
            },
            severity: Severity::Error,
            message: "cannot assign twice to immutable variable `count`".into(),
            source: Some("rustc".into()),
            tags: Vec::new(),
        }],
    );
    let answer = Response::CodeActions(vec![fix("Change it to be mutable")]);
    screen.app.intel_answer(&ask, answer, &screen.docs);
    let marked = screen.marked();
    assert_eq!(marked.len(), 1, "{keymap}: {marked:?}");
    assert!(
        marked[0].contains(" 3 ") && marked[0].contains("count = 2;"),
        "{keymap}: {marked:?}"
    );
    // Along the same line: not asked again.
    screen.key(right);
    assert!(
        screen.rest().is_none(),
        "{keymap}: asked once per line as it is"
    );
    assert_eq!(screen.marked().len(), 1);

    // Up a line: the mark goes, and that line is asked about; it has only refactors.
    screen.key(up);
    assert!(
        screen.marked().is_empty(),
        "{keymap}: the mark stays on its line"
    );
    let ask = screen.rest().expect("the new line is asked about");
    assert_eq!(ask.at.line, 1);
    let refactor = CodeActionItem {
        title: "Inline variable".into(),
        kind: Some("refactor.inline".into()),
        fix: false,
        applicable: true,
    };
    screen
        .app
        .intel_answer(&ask, Response::CodeActions(vec![refactor]), &screen.docs);
    assert!(screen.marked().is_empty(), "{keymap}: refactors only");

    // Back down: the fix's line has its mark again.
    screen.key(down);
    assert_eq!(screen.marked().len(), 1, "{keymap}");
}

#[test]
fn a_mark_in_the_gutter_where_the_cursors_line_has_fixes() {
    lightbulb_follows_the_answer("default", KeyCode::Down, KeyCode::Up, KeyCode::Right);
    let vim = |c| KeyCode::Char(c);
    lightbulb_follows_the_answer("vim", vim('j'), vim('k'), vim('l'));
}

#[test]
fn a_file_without_a_language_server_is_not_asked_about_again() {
    let mut screen = Screen::new("default");
    screen.key(KeyCode::Down);
    let ask = screen.rest().expect("asked");
    let none = Response::Error {
        message: "no language server for .rs on the host (tried rust-analyzer: not found on PATH)"
            .into(),
    };
    screen.app.intel_answer(&ask, none, &screen.docs);
    screen.key(KeyCode::Down);
    assert!(screen.rest().is_none());
}

#[test]
fn an_outline_from_syntax_says_so() {
    use cotype::protocol::language::SymbolItem;
    use cotype::protocol::message::{TextLocation, TextRange};
    use cotype::text::LineCol;
    let alt_s = [(KeyCode::Char('s'), KeyModifiers::ALT)];
    let space_s = [
        (KeyCode::Char(' '), KeyModifiers::NONE),
        (KeyCode::Char('s'), KeyModifiers::NONE),
    ];
    for (keymap, keys) in [("default", &alt_s[..]), ("vim", &space_s[..])] {
        let mut screen = Screen::new(keymap);
        let mut commands = Vec::new();
        for (code, modifiers) in keys {
            let event = Event::Key(KeyEvent::new(*code, *modifiers));
            commands.extend(screen.app.handle_event(&event, &screen.docs));
        }
        let ask = commands
            .into_iter()
            .find_map(|command| match command {
                AppCommand::Ask(ask) if ask.kind == AskKind::Symbols => Some(ask),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{keymap}: the outline is asked for"));
        let at = LineCol { line: 0, col: 3 };
        let symbols = vec![SymbolItem {
            name: "main".into(),
            kind: "function".into(),
            location: TextLocation {
                path: "src/main.rs".into(),
                range: TextRange { start: at, end: at },
                external: false,
            },
            container: None,
            syntactic: true,
        }];
        screen
            .app
            .intel_answer(&ask, Response::Symbols(symbols), &screen.docs);
        let Screen {
            app,
            docs,
            terminal,
        } = &mut screen;
        terminal.draw(|frame| app.render(frame, docs)).unwrap();
        let shown = terminal.backend().to_string();
        assert!(
            shown.contains("outline from syntax (no language server)"),
            "{keymap}: {shown}"
        );
        assert!(shown.contains("function main"), "{keymap}: {shown}");
    }
}
