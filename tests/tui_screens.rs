//! Screen tests: the whole UI drawn into ratatui's `TestBackend`, compared with committed
//! insta snapshots (`cargo insta review` after an intended change). The snapshots show
//! characters only, so colors that carry meaning (whose cursor is whose) are asserted on
//! cells directly.

use std::collections::HashMap;

use cotype::text::Operation;
use cotype::tui::app::App;
use cotype::tui::compositor::{AppCommand, Event};
use cotype::tui::editor::{RemoteCursor, Selection};
use cotype::tui::keymap::Keymap;
use cotype::tui::people::PersonView;
use cotype::tui::status::ConnectionState;
use cotype::tui::theme::{ColorMode, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::Color;
use ropey::Rope;

const WIDTH: u16 = 80;
const HEIGHT: u16 = 16;

const MAIN_RS: &str = "use std::io;

fn main() {
    let name = \"cotype\";
    println!(\"hello {name}\");
    for i in 0..3 {
        greet(i);
    }
}

fn greet(n: u32) {
    // say hello
    println!(\"{n}\");
}

fn later() {}
fn more() {}
fn end() {}
";

fn people() -> Vec<PersonView> {
    vec![
        PersonView {
            id: 0,
            name: "alice".into(),
            color: 0,
            file: Some("src/main.rs".into()),
            following: None,
            read_only: false,
            is_host: true,
            is_you: false,
            latency_ms: Some(12),
        },
        PersonView {
            id: 2,
            name: "bob".into(),
            color: 1,
            file: Some("src/main.rs".into()),
            following: Some("alice".into()),
            read_only: true,
            is_host: false,
            is_you: false,
            latency_ms: Some(48),
        },
        PersonView {
            id: 3,
            name: "you".into(),
            color: 2,
            file: Some("src/main.rs".into()),
            following: None,
            read_only: false,
            is_host: false,
            is_you: true,
            latency_ms: None,
        },
    ]
}

struct Screen {
    app: App,
    docs: HashMap<String, Rope>,
    terminal: Terminal<TestBackend>,
}

impl Screen {
    fn new(keymap: &str) -> Self {
        let theme = Theme::load_from("default-dark", None, ColorMode::TrueColor).unwrap();
        let keymap = Keymap::load_from(keymap, None).unwrap();
        let mut app = App::new(theme, keymap, 4, (WIDTH, HEIGHT));
        app.set_connection(ConnectionState::Connected);
        app.set_people(people());
        app.set_files(
            [
                "src/main.rs",
                "src/lib.rs",
                "src/tui/editor.rs",
                "README.md",
                "Cargo.toml",
            ]
            .map(String::from)
            .to_vec(),
        );
        let mut docs = HashMap::new();
        docs.insert("src/main.rs".to_string(), Rope::from_str(MAIN_RS));
        docs.insert(
            "README.md".to_string(),
            Rope::from_str("# cotype\n\nPair programming from a terminal.\n"),
        );
        Self {
            app,
            docs,
            terminal: Terminal::new(TestBackend::new(WIDTH, HEIGHT)).unwrap(),
        }
    }

    fn open(&mut self, path: &str) {
        let rope = self.docs[path].clone();
        self.app.open_document(path, &rope, false);
    }

    /// Feeds events and carries out edits the way the app loop does.
    fn send(&mut self, event: Event) -> Vec<AppCommand> {
        let commands = self.app.handle_event(&event, &self.docs);
        for command in &commands {
            if let AppCommand::Edit { path, operation } = command {
                let before = self.docs[path].clone();
                let rope = self.docs.get_mut(path).unwrap();
                operation.apply(rope).unwrap();
                let after = rope.clone();
                self.app
                    .local_edit_applied(path, &before, operation, &after);
            }
        }
        commands
    }

    fn key(&mut self, code: KeyCode, modifiers: KeyModifiers) -> Vec<AppCommand> {
        self.send(Event::Key(KeyEvent::new(code, modifiers)))
    }

    fn type_text(&mut self, text: &str) {
        for c in text.chars() {
            self.key(KeyCode::Char(c), KeyModifiers::NONE);
        }
    }

    fn draw(&mut self) -> String {
        let Self {
            app,
            docs,
            terminal,
        } = self;
        terminal.draw(|frame| app.render(frame, docs)).unwrap();
        terminal.backend().to_string()
    }

    fn cell_bg(&self, x: u16, y: u16) -> Option<Color> {
        self.terminal
            .backend()
            .buffer()
            .cell((x, y))
            .map(|cell| cell.bg)
    }
}

#[test]
fn editor_with_remote_cursors_selections_and_edge_markers() {
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    let rope = screen.docs["src/main.rs"].clone();
    let at = |line: usize, col: usize| rope.line_to_char(line) + col;
    screen.app.set_remote_cursors(
        "src/main.rs",
        vec![
            // alice selects `name` on line 4 (cursor after it).
            RemoteCursor {
                name: "alice".into(),
                color: 0,
                selection: Selection {
                    anchor: at(3, 8),
                    head: at(3, 12),
                },
            },
            // bob's cursor is in the body of `greet`.
            RemoteCursor {
                name: "bob".into(),
                color: 1,
                selection: Selection::cursor(at(12, 7)),
            },
            // carol is below the view: a marker at the bottom edge.
            RemoteCursor {
                name: "carol".into(),
                color: 3,
                selection: Selection::cursor(at(17, 0)),
            },
        ],
    );
    let text = screen.draw();
    insta::assert_snapshot!("editor_remote_cursors", text);

    let theme = Theme::load_from("default-dark", None, ColorMode::TrueColor).unwrap();
    let gutter = 4; // "  1 " for a 19-line file
    // Row 1 is the tab bar; line 4 of the file is screen row 4.
    let alice = theme.participant(0);
    let bob = theme.participant(1);
    assert_eq!(
        screen.cell_bg(gutter + 8, 4),
        Some(alice),
        "alice's selection"
    );
    assert_eq!(
        screen.cell_bg(gutter + 11, 4),
        Some(alice),
        "alice's selection end"
    );
    assert_eq!(
        screen.cell_bg(gutter + 12, 4),
        Some(alice),
        "alice's cursor"
    );
    assert_ne!(screen.cell_bg(gutter + 13, 4), Some(alice));
    assert_eq!(screen.cell_bg(gutter + 7, 13), Some(bob), "bob's cursor");
    assert!(text.contains(" alice "), "alice's name flag");
    assert!(text.contains("▼ carol"), "carol's edge marker");
}

#[test]
fn typing_shows_the_text_and_moves_the_cursor() {
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    screen.key(KeyCode::Down, KeyModifiers::NONE);
    screen.key(KeyCode::Enter, KeyModifiers::NONE);
    screen.type_text("// 漢字 👨‍👩‍👧 e\u{301}\tend");
    let text = screen.draw();
    insta::assert_snapshot!("editor_typed_wide_text", text);
    // The terminal cursor sits after the typed text: gutter 4 + display width.
    // "// " 3 + 漢字 4 + " " 1 + family 2 + " " 1 + é 1 = 12, tab to 16, "end" 3 = 19.
    let cursor = screen.terminal.get_cursor_position().unwrap();
    assert_eq!((cursor.x, cursor.y), (4 + 19, 3));
}

#[test]
fn file_picker_filters_and_opens() {
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    screen.key(KeyCode::Char('p'), KeyModifiers::CONTROL);
    screen.type_text("rdm");
    insta::assert_snapshot!("file_picker", screen.draw());
    let commands = screen.key(KeyCode::Enter, KeyModifiers::NONE);
    assert!(
        commands.iter().all(|c| !matches!(c, AppCommand::Open(_))),
        "README.md is loaded, so it opens without asking the session: {commands:?}"
    );
    assert_eq!(screen.app.active_path(), Some("README.md"));
}

#[test]
fn people_panel_and_follow() {
    let mut screen = Screen::new("default");
    screen.open("README.md");
    // Follow alice through the follow picker.
    screen.key(KeyCode::Char('f'), KeyModifiers::ALT);
    screen.type_text("ali");
    let commands = screen.key(KeyCode::Enter, KeyModifiers::NONE);
    assert!(commands.contains(&AppCommand::Follow(0)), "{commands:?}");
    // alice moves to main.rs, line 12, scrolled down: we see her file and place.
    let rope = screen.docs["src/main.rs"].clone();
    let at = rope.line_to_char(11) + 4;
    let commands =
        screen
            .app
            .leader_moved(0, "src/main.rs", Selection::cursor(at), 8, &screen.docs);
    assert!(commands.is_empty());
    screen.app.set_remote_cursors(
        "src/main.rs",
        vec![RemoteCursor {
            name: "alice".into(),
            color: 0,
            selection: Selection::cursor(at),
        }],
    );
    insta::assert_snapshot!("following_alice", screen.draw());
    assert_eq!(screen.app.active_path(), Some("src/main.rs"));
    assert_eq!(screen.app.editor().unwrap().scroll_line(), 8);

    // Her scrolling keeps us following; our own motion stops it and says so.
    screen
        .app
        .leader_moved(0, "src/main.rs", Selection::cursor(at), 6, &screen.docs);
    assert_eq!(screen.app.following(), Some(0));
    let commands = screen.key(KeyCode::Up, KeyModifiers::NONE);
    assert!(
        commands.contains(&AppCommand::StopFollowing),
        "{commands:?}"
    );
    assert_eq!(screen.app.following(), None);
    assert!(screen.draw().contains("stopped following alice"));
}

#[test]
fn following_into_a_file_not_yet_loaded_asks_the_session_to_open_it() {
    let mut screen = Screen::new("default");
    screen.app.start_following(0);
    let commands = screen
        .app
        .leader_moved(0, "src/lib.rs", Selection::cursor(3), 0, &screen.docs);
    assert_eq!(commands, vec![AppCommand::Open("src/lib.rs".into())]);
    // The session fetched it; the view lands where the leader is.
    let rope = Rope::from_str("pub fn lib() {}\n");
    screen.docs.insert("src/lib.rs".into(), rope.clone());
    screen.app.open_document("src/lib.rs", &rope, false);
    assert_eq!(screen.app.editor().unwrap().selection, Selection::cursor(3));
}

#[test]
fn remote_edits_above_keep_the_view_on_the_same_text() {
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    for _ in 0..12 {
        screen.key(KeyCode::Down, KeyModifiers::NONE);
    }
    let top_before = screen.app.editor().unwrap().scroll_line();
    let cursor_text_before = {
        let rope = &screen.docs["src/main.rs"];
        rope.line(rope.char_to_line(screen.app.editor().unwrap().cursor()))
            .to_string()
    };
    // Someone inserts three lines at the top.
    let before = screen.docs["src/main.rs"].clone();
    let operation = Operation::insert(before.len_chars(), 0, "// a\n// b\n// c\n").unwrap();
    let mut after = before.clone();
    operation.apply(&mut after).unwrap();
    screen.docs.insert("src/main.rs".into(), after.clone());
    screen
        .app
        .remote_edit("src/main.rs", &before, &operation, &after);
    let editor = screen.app.editor().unwrap();
    assert_eq!(editor.scroll_line(), top_before + 3);
    assert_eq!(
        after.line(after.char_to_line(editor.cursor())).to_string(),
        cursor_text_before
    );
}

#[test]
fn status_line_shows_reconnecting_and_vim_mode() {
    let mut screen = Screen::new("vim");
    screen.open("README.md");
    screen.app.set_connection(ConnectionState::Reconnecting {
        attempt: 2,
        unsent_edits: 3,
    });
    screen.key(KeyCode::Char('i'), KeyModifiers::NONE);
    let text = screen.draw();
    insta::assert_snapshot!("status_reconnecting_vim", text);
    assert!(text.contains("INSERT") && text.contains("reconnecting (try 2, 3 edits kept)"));
}

#[test]
fn help_overlay_lists_the_active_bindings() {
    let mut screen = Screen::new("default");
    screen.key(KeyCode::F(1), KeyModifiers::NONE);
    let text = screen.draw();
    insta::assert_snapshot!("help_overlay", text);
    assert!(text.contains("ctrl-p") && text.contains("Open a file by fuzzy name"));
    screen.key(KeyCode::Esc, KeyModifiers::NONE);
    assert!(!screen.draw().contains("Open a file by fuzzy name"));
}

#[test]
fn file_tree_browses_folders_and_opens_a_file() {
    let mut screen = Screen::new("default");
    screen.key(KeyCode::Char('b'), KeyModifiers::CONTROL);
    // Folders first: src/ is the first row; open it.
    screen.key(KeyCode::Enter, KeyModifiers::NONE);
    let text = screen.draw();
    insta::assert_snapshot!("file_tree", text);
    assert!(text.contains("▾ src") && text.contains("main.rs"));
    // src/ holds tui/ then lib.rs and main.rs: open main.rs.
    for _ in 0..3 {
        screen.key(KeyCode::Down, KeyModifiers::NONE);
    }
    screen.key(KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(screen.app.active_path(), Some("src/main.rs"));
}

#[test]
fn new_lines_at_the_bottom_scroll_the_cursor_into_view() {
    let mut screen = Screen::new("default");
    screen.open("README.md");
    for _ in 0..30 {
        screen.key(KeyCode::Enter, KeyModifiers::NONE);
    }
    screen.type_text("last");
    let text = screen.draw();
    assert!(
        text.contains("last"),
        "the typed line is on screen:\n{text}"
    );
    let cursor = screen.terminal.get_cursor_position().unwrap();
    // Rows 1..=13 hold text (tab bar above, status and message lines below).
    assert!((1..=13).contains(&cursor.y), "cursor row {}", cursor.y);
}
