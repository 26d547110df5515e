//! Screen tests: the whole UI drawn into ratatui's `TestBackend`, compared with committed
//! insta snapshots (`cargo insta review` after an intended change). The snapshots show
//! characters only, so colors that carry meaning (whose cursor is whose) are asserted on
//! cells directly.

use std::collections::HashMap;

use cotype::protocol::message::{
    Completion, DiagnosticItem, PeekView, Response, Severity, TextLocation, TextRange,
};
use cotype::protocol::search::{SearchHit, SearchSummary};
use cotype::text::LineCol;
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
use ratatui::style::{Color, Modifier};
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
        // The host's own user (the serving process, id 0, is not listed while it is here).
        PersonView {
            id: 1,
            name: "alice".into(),
            color: 0,
            file: Some("src/main.rs".into()),
            following: None,
            read_only: false,
            terminal_writer: false,
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
            terminal_writer: false,
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
            terminal_writer: false,
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
        Self::sized(keymap, WIDTH, HEIGHT)
    }

    fn sized(keymap: &str, width: u16, height: u16) -> Self {
        let theme = Theme::load_from("default-dark", None, ColorMode::TrueColor).unwrap();
        Self::themed(keymap, width, height, theme)
    }

    fn themed(keymap: &str, width: u16, height: u16, theme: Theme) -> Self {
        let keymap = Keymap::load_from(keymap, None).unwrap();
        let mut app = App::new(theme, keymap, 4, (width, height));
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
            terminal: Terminal::new(TestBackend::new(width, height)).unwrap(),
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
    let gutter = 5; // sign column + "  1 " for a 19-line file
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

/// Overlapping selections used to be unreadable (dark grey on dark grey): every cell of
/// the screen must keep its text readable, in every shipped theme and color mode, with our
/// selection over highlighted code, eight people's selections overlapping it and each
/// other, and their cursors inside it, on its edges and outside it.
///
/// The bar is WCAG's 3:1 (see `MIN_TEXT_CONTRAST` for why not 4.5:1). Colors count as
/// xterm's palette shows them. Cells on the terminal's own background (the `sixteen` theme
/// sets none) are the terminal palette's business and are not measured; every cell a
/// selection or cursor colors is.
#[test]
fn text_stays_readable_where_selections_and_cursors_overlap_in_every_theme() {
    use cotype::tui::theme::{
        MIN_TEXT_CONTRAST, approximate_rgb, builtin_theme_names, contrast_ratio,
    };

    for name in builtin_theme_names() {
        for mode in [ColorMode::TrueColor, ColorMode::Ansi256] {
            let theme = Theme::load_from(name, None, mode).unwrap();
            let mut screen = Screen::themed("default", WIDTH, HEIGHT, theme.clone());
            screen.open("src/main.rs");
            // Our selection: from line 3 to the end of line 9.
            screen.key(KeyCode::Down, KeyModifiers::NONE);
            screen.key(KeyCode::Down, KeyModifiers::NONE);
            for _ in 0..6 {
                screen.key(KeyCode::Down, KeyModifiers::SHIFT);
            }
            screen.key(KeyCode::End, KeyModifiers::SHIFT);
            let rope = screen.docs["src/main.rs"].clone();
            let at = |line: usize, col: usize| rope.line_to_char(line) + col;
            // Eight people, each selecting a stretch that starts above or inside ours and
            // ends inside or below it, their cursors at both ends.
            let remotes = (0..8)
                .map(|i| RemoteCursor {
                    name: format!("p{i}"),
                    color: i,
                    selection: if i % 2 == 0 {
                        Selection {
                            anchor: at(1 + i / 2, i),
                            head: at(4 + i / 2, 3 + i),
                        }
                    } else {
                        Selection {
                            anchor: at(12 - i / 2, 2 + i),
                            head: at(5 + i / 2, i),
                        }
                    },
                })
                .collect();
            screen.app.set_remote_cursors("src/main.rs", remotes);
            let text = screen.draw();
            let buffer = screen.terminal.backend().buffer().clone();
            let background = theme.get("ui.background").bg;
            let mut measured = 0;
            let mut overlapping = 0;
            let selection_bg = theme.get("ui.selection").bg;
            for y in 0..HEIGHT {
                for x in 0..WIDTH {
                    let cell = &buffer[(x, y)];
                    if cell.symbol().trim().is_empty() {
                        continue;
                    }
                    let (mut fg, mut bg) = (cell.fg, cell.bg);
                    if bg == Color::Reset {
                        bg = background.unwrap_or(Color::Reset);
                    }
                    if cell.modifier.contains(Modifier::REVERSED) {
                        (fg, bg) = (bg, fg);
                    }
                    let Some(bg_rgb) = approximate_rgb(bg) else {
                        continue;
                    };
                    let fg_rgb = approximate_rgb(fg).unwrap_or_else(|| {
                        panic!(
                            "{name} {mode:?}: ({x}, {y}) {:?} has the terminal's text color \
                             on a background we chose ({bg:?})\n{text}",
                            cell.symbol()
                        )
                    });
                    let ratio = contrast_ratio(fg_rgb, bg_rgb);
                    assert!(
                        ratio >= MIN_TEXT_CONTRAST,
                        "{name} {mode:?}: {:?} at ({x}, {y}) is {fg:?} on {bg:?}, \
                         contrast {ratio:.2} < {MIN_TEXT_CONTRAST}\n{text}",
                        cell.symbol()
                    );
                    measured += 1;
                    if Some(cell.bg) == selection_bg && cell.modifier.contains(Modifier::UNDERLINED)
                    {
                        overlapping += 1;
                    }
                }
            }
            assert!(
                measured > 100,
                "{name} {mode:?}: only {measured} cells measured"
            );
            assert!(
                overlapping > 20,
                "{name} {mode:?}: the overlap of our selection and theirs shows their \
                 underline on our background in {overlapping} cells"
            );
        }
    }
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
    // The terminal cursor sits after the typed text: gutter 5 + display width.
    // "// " 3 + 漢字 4 + " " 1 + family 2 + " " 1 + é 1 = 12, tab to 16, "end" 3 = 19.
    let cursor = screen.terminal.get_cursor_position().unwrap();
    assert_eq!((cursor.x, cursor.y), (5 + 19, 3));
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
fn an_open_file_picker_takes_the_list_that_arrives_after_it() {
    let mut screen = Screen::new("default");
    screen.app.set_files(Vec::new());
    screen.key(KeyCode::Char('p'), KeyModifiers::CONTROL);
    screen.type_text("lib");
    assert!(screen.draw().contains("no files shared yet"));
    screen
        .app
        .set_files(vec!["src/main.rs".into(), "src/lib.rs".into()]);
    assert!(screen.draw().contains("▶ src/lib.rs"));
}

#[test]
fn the_workspace_symbol_picker_asks_as_the_name_is_typed_and_shows_the_answer() {
    use cotype::protocol::language::SymbolItem;
    use cotype::protocol::message::{TextLocation, TextRange};
    use cotype::text::LineCol;
    let mut screen = Screen::new("default");
    screen.key(KeyCode::Char('t'), KeyModifiers::ALT);
    let asked = {
        let mut asked = Vec::new();
        for c in "gre".chars() {
            asked.extend(screen.key(KeyCode::Char(c), KeyModifiers::NONE));
        }
        asked
    };
    assert_eq!(
        asked.last(),
        Some(&AppCommand::WorkspaceSymbols("gre".into()))
    );
    let at = LineCol { line: 39, col: 3 };
    screen.app.workspace_symbols(Ok(vec![SymbolItem {
        name: "greet".into(),
        kind: "function".into(),
        location: TextLocation {
            path: "src/main.rs".into(),
            range: TextRange { start: at, end: at },
            external: false,
        },
        container: None,
        syntactic: false,
    }]));
    assert!(screen.draw().contains("▶ function greet  src/main.rs:40"));
    let commands = screen.key(KeyCode::Enter, KeyModifiers::NONE);
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, AppCommand::Open(path) if path == "src/main.rs"))
            || screen.app.active_path() == Some("src/main.rs"),
        "{commands:?}"
    );
}

#[test]
fn people_panel_and_follow() {
    let mut screen = Screen::sized("default", 110, HEIGHT);
    screen.open("README.md");
    // Follow alice through the follow picker.
    screen.key(KeyCode::Char('f'), KeyModifiers::ALT);
    screen.type_text("ali");
    let commands = screen.key(KeyCode::Enter, KeyModifiers::NONE);
    assert!(commands.contains(&AppCommand::Follow(1)), "{commands:?}");
    // alice moves to main.rs, line 12, scrolled down: we see her file and place.
    let rope = screen.docs["src/main.rs"].clone();
    let at = rope.line_to_char(11) + 4;
    let commands =
        screen
            .app
            .leader_moved(1, "src/main.rs", Selection::cursor(at), 8, &screen.docs);
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
        .leader_moved(1, "src/main.rs", Selection::cursor(at), 6, &screen.docs);
    assert_eq!(screen.app.following(), Some(1));
    let commands = screen.key(KeyCode::Up, KeyModifiers::NONE);
    assert!(
        commands.contains(&AppCommand::StopFollowing),
        "{commands:?}"
    );
    assert_eq!(screen.app.following(), None);
    assert!(screen.draw().contains("stopped following alice"));
}

/// A session whose host has no user in it (a headless host, the demo) lists the serving
/// process as the host: it has no cursor and no file, so the follow picker leaves it out.
#[test]
fn the_follow_picker_leaves_out_the_hosts_serving_process() {
    let mut screen = Screen::sized("default", 110, HEIGHT);
    let mut people = people();
    people[0] = PersonView {
        id: 0,
        name: "demo".into(),
        color: 0,
        file: None,
        following: None,
        read_only: false,
        terminal_writer: false,
        is_host: true,
        is_you: false,
        latency_ms: None,
    };
    screen.app.set_people(people);
    screen.key(KeyCode::Char('f'), KeyModifiers::ALT);
    let text = screen.draw();
    let picker: Vec<&str> = text.lines().filter(|line| line.contains('│')).collect();
    assert!(
        text.contains("demo host"),
        "the panel still shows the host: {text}"
    );
    assert!(
        picker
            .iter()
            .any(|line| line.contains("bob  (src/main.rs)")),
        "{text}"
    );
    assert!(
        !picker
            .iter()
            .any(|line| line.contains("│  demo") || line.contains("▶ demo")),
        "{text}"
    );
    screen.type_text("demo");
    let commands = screen.key(KeyCode::Enter, KeyModifiers::NONE);
    assert!(!commands.contains(&AppCommand::Follow(0)), "{commands:?}");
}

/// The people panel is as wide as its longest row; under 100 columns it hides itself so
/// an 80-column terminal shows the code whole, and the people toggle brings it back
/// leaving the code 60 columns.
#[test]
fn people_panel_fits_its_names_and_gives_narrow_terminals_to_the_code() {
    let code = format!("    let line_ada_fixes = {};", "1 + ".repeat(11) + "1");
    assert_eq!(
        code.len(),
        71,
        "too wide for 80 columns with the old 30-column panel"
    );
    let text = format!("fn f() {{\n{code}\n}}\n");
    let open = |screen: &mut Screen| {
        screen
            .docs
            .insert("src/lib.rs".into(), Rope::from_str(&text));
        screen.open("src/lib.rs");
    };
    let mut screen = Screen::sized("default", 80, 24);
    open(&mut screen);
    let drawn = screen.draw();
    assert!(drawn.contains(&code), "{drawn}");
    assert!(!drawn.contains("People"), "{drawn}");
    // alt-p shows it anyway, leaving 60 columns of code.
    screen.key(KeyCode::Char('p'), KeyModifiers::ALT);
    let drawn = screen.draw();
    assert!(drawn.contains("People (3)"), "{drawn}");
    let row = drawn.lines().nth(1).unwrap().trim_matches('"');
    let border = row.chars().position(|c| c == '│');
    assert_eq!(border, Some(60), "{drawn}");
    screen.key(KeyCode::Char('p'), KeyModifiers::ALT);
    assert!(!screen.draw().contains("People"));

    // Wide: shown by itself, as wide as `● bob read-only 48 ms` and its border.
    let mut screen = Screen::sized("default", 160, 50);
    open(&mut screen);
    let drawn = screen.draw();
    let row = drawn.lines().nth(2).unwrap().trim_matches('"');
    assert_eq!(
        row.chars().position(|c| c == '│'),
        Some(160 - 22),
        "{drawn}"
    );
    assert!(
        drawn.contains(&code) && drawn.contains("● bob read-only 48 ms"),
        "{drawn}"
    );
    // alt-p hides it.
    screen.key(KeyCode::Char('p'), KeyModifiers::ALT);
    assert!(!screen.draw().contains("People"));
}

/// Who saved a file is said; two people of the same name are told apart; copying the
/// link says it did; opening a file while following says the following stopped.
#[test]
fn messages_say_who_saved_which_alice_what_was_copied_and_when_following_stops() {
    let mut screen = Screen::sized("default", 110, HEIGHT);
    screen.open("src/main.rs");
    screen.app.set_saved("src/main.rs", Some(2));
    assert_eq!(last_row(&screen.draw()).trim_end(), "bob saved src/main.rs");
    screen.app.set_saved("src/main.rs", Some(3));
    assert_eq!(last_row(&screen.draw()).trim_end(), "saved src/main.rs");
    screen.app.set_saved("src/main.rs", None);
    assert_eq!(last_row(&screen.draw()).trim_end(), "saved src/main.rs");

    // A second alice joins: she is `alice (2)` in the panel, the follow list and messages.
    let mut everyone = people();
    everyone.push(PersonView {
        id: 4,
        name: "alice".into(),
        color: 3,
        file: None,
        following: None,
        read_only: false,
        terminal_writer: false,
        is_host: false,
        is_you: false,
        latency_ms: None,
    });
    screen.app.set_people(everyone);
    screen.app.set_saved("src/main.rs", Some(4));
    let text = screen.draw();
    assert!(
        text.contains("● alice host") && text.contains("● alice (2)"),
        "{text}"
    );
    assert_eq!(last_row(&text).trim_end(), "alice (2) saved src/main.rs");
    screen.key(KeyCode::Char('f'), KeyModifiers::ALT);
    screen.type_text("(2)");
    let commands = screen.key(KeyCode::Enter, KeyModifiers::NONE);
    assert!(commands.contains(&AppCommand::Follow(4)), "{commands:?}");
    assert!(screen.draw().contains("following alice (2); move to stop"));

    // Opening a file stops following, and the message line says so.
    screen.key(KeyCode::Char('p'), KeyModifiers::CONTROL);
    screen.type_text("README");
    screen.key(KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(screen.app.following(), None);
    let text = screen.draw();
    assert_eq!(
        last_row(&text).trim_end(),
        "stopped following alice (2)",
        "{text}"
    );

    // The host's session card: enter copies the link and says so.
    screen.app.set_session_card(
        Some("https://relay.example.com/s/abc#secret".into()),
        "123 456 789 012 345".into(),
    );
    screen.key(KeyCode::Char('l'), KeyModifiers::ALT);
    let commands = screen.key(KeyCode::Enter, KeyModifiers::NONE);
    assert!(
        commands.contains(&AppCommand::CopyToClipboard(
            "https://relay.example.com/s/abc#secret".into()
        )),
        "{commands:?}"
    );
    let text = screen.draw();
    assert!(
        last_row(&text).starts_with("copied the link to your clipboard"),
        "{text}"
    );
}

#[test]
fn following_into_a_file_not_yet_loaded_asks_the_session_to_open_it() {
    let mut screen = Screen::new("default");
    screen.app.start_following(1);
    let commands = screen
        .app
        .leader_moved(1, "src/lib.rs", Selection::cursor(3), 0, &screen.docs);
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

/// Scrolled sideways to the end of a long line, someone else shortens it: the view comes
/// back to show the line and the cursor at once, without waiting for a key.
#[test]
fn a_line_shortened_by_someone_else_scrolls_back_into_view() {
    let mut screen = Screen::new("default");
    let long = format!("let long = \"{}\";\nshort\n", "x".repeat(150));
    screen
        .docs
        .insert("src/lib.rs".into(), Rope::from_str(&long));
    screen.open("src/lib.rs");
    screen.key(KeyCode::End, KeyModifiers::NONE);
    let text = screen.draw();
    assert!(!text.contains("let long"), "scrolled sideways:\n{text}");
    // Someone deletes the x's: the line is `let long = "";`.
    let before = screen.docs["src/lib.rs"].clone();
    let operation = Operation::delete(before.len_chars(), 12..162).unwrap();
    let mut after = before.clone();
    operation.apply(&mut after).unwrap();
    screen.docs.insert("src/lib.rs".into(), after.clone());
    screen
        .app
        .remote_edit("src/lib.rs", &before, &operation, &after);
    let text = screen.draw();
    let row: Vec<&str> = text.lines().collect();
    assert!(row[1].contains("let long = \"\";"), "{text}");
    assert!(row[2].contains("short"), "{text}");
    // The cursor, at the end of the shortened line, is on screen right after it.
    let cursor = screen.terminal.get_cursor_position().unwrap();
    let gutter = 5;
    assert_eq!((cursor.x, cursor.y), (gutter + 14, 1), "{text}");
}

/// The last row of the screen, where messages and the find prompt go.
fn last_row(text: &str) -> String {
    let row = text.lines().last().unwrap_or_default();
    row.trim_matches('"').to_owned()
}

/// Find again opens with the last query selected: typing replaces it (VS Code), enter
/// finds it again, a move keeps it to edit.
#[test]
fn find_reopens_with_the_last_query_selected_and_typing_replaces_it() {
    // vim's prompt is `/`, as vim shows it.
    for (keymap, find, label) in [
        (
            "default",
            (KeyCode::Char('f'), KeyModifiers::CONTROL),
            "find: ",
        ),
        ("vim", (KeyCode::Char('/'), KeyModifiers::NONE), "/"),
    ] {
        let mut screen = Screen::new(keymap);
        screen.open("src/main.rs");
        screen.key(find.0, find.1);
        screen.type_text("greet");
        screen.key(KeyCode::Enter, KeyModifiers::NONE);
        screen.key(KeyCode::Esc, KeyModifiers::NONE);
        screen.key(find.0, find.1);
        let text = screen.draw();
        assert!(
            last_row(&text).starts_with(&format!("{label}greet")),
            "{keymap}: {text}"
        );
        screen.type_text("main");
        let text = screen.draw();
        assert_eq!(
            last_row(&text).trim_end(),
            format!("{label}main"),
            "{keymap}: {text}"
        );
        // The match of the new query is found: `main` on line 3, selected in the text
        // (vim: the cursor on its first character).
        let selection = screen.app.editor().unwrap().selection.range();
        let rope = &screen.docs["src/main.rs"];
        let found = selection.start..selection.start + 4;
        assert_eq!(rope.slice(found).to_string(), "main", "{keymap}");
        assert_eq!(selection.is_empty(), keymap == "vim", "{keymap}");
        assert_eq!(rope.char_to_line(selection.start), 2, "{keymap}");
        screen.key(KeyCode::Esc, KeyModifiers::NONE);
        // Reopened, a move keeps the query to edit it; backspace alone clears it.
        screen.key(find.0, find.1);
        screen.key(KeyCode::End, KeyModifiers::NONE);
        screen.type_text("()");
        assert_eq!(
            last_row(&screen.draw()).trim_end(),
            format!("{label}main()")
        );
        screen.key(KeyCode::Esc, KeyModifiers::NONE);
        screen.key(find.0, find.1);
        screen.key(KeyCode::Backspace, KeyModifiers::NONE);
        assert_eq!(last_row(&screen.draw()).trim_end(), label.trim_end());
    }
}

/// The find prompt takes the message row: what a message had written there is gone, not
/// left after the query (`find: pagellowing Ada` in the demo).
#[test]
fn the_find_prompt_covers_the_message_under_it() {
    use cotype::tui::status::Level;
    for (keymap, find, label) in [
        (
            "default",
            (KeyCode::Char('f'), KeyModifiers::CONTROL),
            "find: ",
        ),
        ("vim", (KeyCode::Char('/'), KeyModifiers::NONE), "/"),
    ] {
        let mut screen = Screen::new(keymap);
        screen.open("src/main.rs");
        screen.app.message(Level::Info, "stopped following Ada");
        screen.key(find.0, find.1);
        screen.type_text("fn");
        assert_eq!(
            last_row(&screen.draw()).trim_end(),
            format!("{label}fn"),
            "{keymap}"
        );
    }
}

/// A new message replaces the whole line; one too long for it ends with an ellipsis, and
/// help (F1) shows the last messages whole.
/// `cotype demo`'s intro line: on the message row whenever nothing else is said there,
/// with the help and quit keys as the keymap in use spells them; a message covers it for
/// as long as it lasts.
#[test]
fn the_intro_line_holds_the_message_row_with_the_keys_for_help_and_quit() {
    use cotype::tui::status::Level;
    for (keymap, keys) in [
        ("default", "F1: keys · ctrl-q: quit"),
        ("vim", "F1: keys · ctrl-q: quit"),
    ] {
        let mut screen = Screen::new(keymap);
        screen.open("src/main.rs");
        assert!(!last_row(&screen.draw()).contains("Ada is"));
        screen
            .app
            .set_intro("Ada is a scripted partner working on this project");
        let text = screen.draw();
        assert_eq!(
            last_row(&text).trim_end(),
            format!("Ada is a scripted partner working on this project · {keys}"),
            "{keymap}"
        );
        screen.app.message(Level::Info, "Ada saved shelf.toml");
        let text = screen.draw();
        assert!(
            last_row(&text).starts_with("Ada saved shelf.toml"),
            "{text}"
        );
        assert!(!text.contains("scripted partner"), "{text}");
    }
}

#[test]
fn messages_replace_the_line_and_long_ones_are_cut_with_the_whole_text_in_help() {
    use cotype::tui::status::Level;
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    let long = "src/main.rs changed on the host's disk while it has unsaved edits; your text is kept, and saving will write it over the disk's version";
    screen.app.message(Level::Warning, long);
    let row = last_row(&screen.draw());
    assert!(row.ends_with('…'), "{row:?}");
    assert!(
        row.starts_with("src/main.rs changed on the host's disk"),
        "{row:?}"
    );
    screen.app.message(Level::Info, "saved src/main.rs");
    let row = last_row(&screen.draw());
    assert_eq!(row.trim_end(), "saved src/main.rs");
    screen.key(KeyCode::F(1), KeyModifiers::NONE);
    let text = screen.draw();
    let flat: String = text
        .lines()
        .map(|line| line.trim_matches(|c: char| c == '│' || c == ' ' || c == '"'))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(flat.contains("saved src/main.rs"), "{text}");
    assert!(
        flat.contains("and saving will write it over the disk's version"),
        "{text}"
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

/// Escape and a letter typed fast arrive in one read, which the terminal library reports
/// as alt-letter; in insert mode that is Escape, then the letter, as in vim.
#[test]
fn vim_insert_mode_reads_an_unbound_alt_letter_as_escape_then_the_letter() {
    let mut screen = Screen::new("vim");
    screen.open("README.md");
    screen.type_text("ix");
    screen.key(KeyCode::Char('j'), KeyModifiers::ALT);
    let text = screen.draw();
    assert!(text.contains(" NORMAL "), "{text}");
    assert!(
        text.contains(" 2:1 "),
        "down one line after leaving insert mode: {text}"
    );
    assert!(
        screen.docs["README.md"]
            .to_string()
            .starts_with("x# cotype\n"),
        "only the x typed in insert mode went in"
    );
}

#[test]
fn vim_status_line_shows_a_pending_count_and_operator_until_escape() {
    let mut screen = Screen::new("vim");
    screen.open("README.md");
    // The status line's words, without the quotes TestBackend puts around rows.
    let status = |text: &str| -> Vec<String> {
        let row = text.lines().find(|line| line.contains(" NORMAL "));
        row.unwrap_or_default()
            .trim_matches('"')
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    screen.type_text("2d");
    let text = screen.draw();
    assert_eq!(
        status(&text),
        ["NORMAL", "●", "README.md", "2d", "1:1"],
        "{text}"
    );
    screen.key(KeyCode::Esc, KeyModifiers::NONE);
    let text = screen.draw();
    assert_eq!(status(&text), ["NORMAL", "●", "README.md", "1:1"], "{text}");
    // Nothing was deleted, and the next key starts afresh: `dd` takes only the first line.
    screen.type_text("dd");
    assert_eq!(
        screen.docs["README.md"].to_string(),
        "\nPair programming from a terminal.\n"
    );
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

fn hit(path: &str, line: u64, column: u64, text: &str) -> SearchHit {
    SearchHit {
        path: path.into(),
        line,
        column,
        text: text.into(),
    }
}

/// The screen row showing `needle`, and its column.
fn find_on_screen(text: &str, needle: &str) -> Option<(u16, u16)> {
    text.lines().skip(1).enumerate().find_map(|(row, line)| {
        let line = line.trim_matches('"');
        let at = line.find(needle)?;
        Some((line[..at].chars().count() as u16, row as u16))
    })
}

#[test]
fn search_panel_streams_results_with_a_preview_and_opens_the_match() {
    let mut screen = Screen::sized("default", 100, 26);
    screen.open("README.md");
    screen.key(KeyCode::Char('t'), KeyModifiers::CONTROL);
    let mut asked = Vec::new();
    for c in "gre+t".chars() {
        asked.extend(screen.key(KeyCode::Char(c), KeyModifiers::NONE));
    }
    assert!(
        matches!(asked.last(), Some(AppCommand::WorkspaceSearch(query)) if query.pattern == "gre+t"),
        "{asked:?}"
    );
    // A first batch: main.rs is open, so its preview comes from the document at once.
    let fetch = screen.app.search_results(
        vec![
            hit("src/main.rs", 7, 9, "        greet(i);"),
            hit("src/main.rs", 11, 4, "fn greet(n: u32) {"),
        ],
        &screen.docs,
    );
    assert!(fetch.is_empty(), "{fetch:?}");
    let searching = screen.draw();
    assert!(
        searching.contains("2 matches in 1 file; searching…"),
        "{searching}"
    );
    // The second batch arrives, from a file nobody has open, and the search ends. Nobody
    // picked a match yet, so the selection stays on the first: lib.rs, sorted before
    // main.rs, whose text is asked from the host and shown when it arrives.
    let fetch = screen.app.search_results(
        vec![hit("src/lib.rs", 2, 12, "    let s = greeeting();")],
        &screen.docs,
    );
    assert_eq!(fetch, [AppCommand::SearchPreview("src/lib.rs".into())]);
    screen.app.search_preview(
        "src/lib.rs",
        Rope::from_str("fn greeeting() -> u8 {\n    let s = greeeting();\n    s\n}\n"),
    );
    screen.app.search_finished(Ok(finished(3, 5, false)));
    let text = screen.draw();
    insta::assert_snapshot!("search_panel", text);
    assert!(
        text.contains("fn greeeting() -> u8 {") && text.contains("src/lib.rs:2"),
        "{text}"
    );
    // The match is highlighted in its row.
    let (x, y) = find_on_screen(&text, "greet(i)").unwrap();
    let cell = screen.terminal.backend().buffer().cell((x, y + 1)).unwrap();
    assert!(cell.modifier.contains(Modifier::UNDERLINED), "{cell:?}");

    // Down to main.rs:11, Enter: the file opens with the cursor on the match.
    screen.key(KeyCode::Down, KeyModifiers::NONE);
    screen.key(KeyCode::Down, KeyModifiers::NONE);
    let commands = screen.key(KeyCode::Enter, KeyModifiers::NONE);
    assert!(commands.is_empty(), "{commands:?}");
    assert_eq!(screen.app.active_path(), Some("src/main.rs"));
    let text = screen.draw();
    assert!(
        text.contains("11:4") && !text.contains("Search all files"),
        "{text}"
    );
}

/// How a search with the host's default cap ended.
fn finished(matches: u64, files_searched: u64, truncated: bool) -> SearchSummary {
    SearchSummary {
        matches,
        files_searched,
        truncated,
        limit: 0,
        cancelled: false,
    }
}

#[test]
fn search_panel_says_when_the_host_stopped_at_the_cap() {
    let mut screen = Screen::sized("default", 100, 26);
    screen.key(KeyCode::Char('t'), KeyModifiers::CONTROL);
    screen.type_text("e");
    screen
        .app
        .search_results(vec![hit("README.md", 1, 5, "# cotype")], &screen.docs);
    screen.app.search_finished(Ok(finished(10_000, 812, true)));
    let text = screen.draw();
    assert!(
        text.contains("search stopped after 10,000 matches; narrow it with a glob"),
        "{text}"
    );
    screen.app.search_finished(Err(
        "`a(` is not a valid regular expression: unclosed group".into(),
    ));
    assert!(
        screen
            .draw()
            .contains("`a(` is not a valid regular expression")
    );
}

fn diagnostic(
    start: (usize, usize),
    end: (usize, usize),
    severity: Severity,
    message: &str,
) -> DiagnosticItem {
    DiagnosticItem {
        range: TextRange {
            start: LineCol {
                line: start.0,
                col: start.1,
            },
            end: LineCol {
                line: end.0,
                col: end.1,
            },
        },
        severity,
        message: message.into(),
        source: Some("rustc".into()),
        tags: Vec::new(),
    }
}

#[test]
fn diagnostics_mark_the_gutter_underline_the_text_and_list_every_file() {
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    screen.app.set_diagnostics(
        "src/main.rs",
        vec![
            diagnostic(
                (6, 8),
                (6, 13),
                Severity::Error,
                "cannot find function `greet`",
            ),
            diagnostic(
                (0, 4),
                (0, 11),
                Severity::Warning,
                "unused import: `std::io`",
            ),
        ],
    );
    screen.app.set_diagnostics(
        "README.md",
        vec![diagnostic(
            (2, 0),
            (2, 4),
            Severity::Hint,
            "consider a longer intro",
        )],
    );
    let text = screen.draw();
    insta::assert_snapshot!("diagnostics_gutter", text);
    let rows: Vec<&str> = text.lines().collect();
    // Screen row 1 is file line 1; row 7 is line 7 (`greet(i);`).
    assert!(rows[1].starts_with("\"W  1 use"), "{}", rows[1]);
    assert!(rows[7].starts_with("\"E  7 "), "{}", rows[7]);
    let theme = Theme::load_from("default-dark", None, ColorMode::TrueColor).unwrap();
    let red = theme.get("error").fg;
    let buffer = screen.terminal.backend().buffer();
    let underlined = |x: u16, y: u16| {
        let cell = buffer.cell((x, y)).unwrap();
        cell.modifier.contains(Modifier::UNDERLINED)
    };
    // `greet` (gutter 5 + col 8..13) is underlined in red; `(i);` is not.
    assert!((13..18).all(|x| underlined(x, 7)));
    assert!(!underlined(12, 7) && !underlined(18, 7));
    assert_eq!(Some(buffer.cell((13, 7)).unwrap().underline_color), red);
    assert_eq!(buffer.cell((0, 7)).unwrap().fg, red.unwrap(), "the E mark");

    // On that line, the message row says what is wrong.
    for _ in 0..6 {
        screen.key(KeyCode::Down, KeyModifiers::NONE);
    }
    let text = screen.draw();
    let message = text.lines().last().unwrap();
    assert!(
        message.contains("E cannot find function `greet` (rustc)"),
        "{message}"
    );

    // A line typed above: the mark and the underline move down with their text.
    screen.key(KeyCode::Home, KeyModifiers::CONTROL);
    screen.key(KeyCode::Enter, KeyModifiers::NONE);
    let text = screen.draw();
    let rows: Vec<&str> = text.lines().collect();
    assert!(rows[8].starts_with("\"E  8 "), "{}", rows[8]);
    assert!(rows[2].starts_with("\"W  2 use"), "{}", rows[2]);

    // F8 lists every file's diagnostics, errors first, the selected one's message below;
    // `f` goes to errors only, to errors and warnings, and back; Enter goes to one.
    screen.key(KeyCode::F(8), KeyModifiers::NONE);
    let text = screen.draw();
    insta::assert_snapshot!("diagnostics_list", text);
    screen.key(KeyCode::Char('f'), KeyModifiers::NONE);
    let text = screen.draw();
    assert!(text.contains("Diagnostics: errors (1 of 3)"), "{text}");
    assert!(
        !text.contains("README.md:3:1") && !text.contains("main.rs:2:5"),
        "{text}"
    );
    screen.key(KeyCode::Char('f'), KeyModifiers::NONE);
    let text = screen.draw();
    assert!(
        text.contains("Diagnostics: errors and warnings (2 of 3)"),
        "{text}"
    );
    assert!(
        !text.contains("README.md:3:1") && text.contains("main.rs:2:5"),
        "{text}"
    );
    screen.key(KeyCode::Char('f'), KeyModifiers::NONE);
    assert!(screen.draw().contains("Diagnostics: all (3 of 3)"));
    screen.key(KeyCode::Enter, KeyModifiers::NONE);
    let text = screen.draw();
    assert!(
        text.contains("8:9") && !text.contains("Diagnostics ("),
        "{text}"
    );

    // The host's next push replaces the file's list; an empty one clears it.
    screen.app.set_diagnostics("src/main.rs", Vec::new());
    let text = screen.draw();
    assert!(!text.lines().any(|row| row.starts_with("\"E")), "{text}");
}

#[test]
fn references_list_and_jump() {
    use cotype::protocol::message::{ReferenceHit, TextLocation};
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    for _ in 0..6 {
        screen.key(KeyCode::Down, KeyModifiers::NONE);
    }
    for _ in 0..9 {
        screen.key(KeyCode::Right, KeyModifiers::NONE);
    }
    let commands = screen.key(KeyCode::Char('r'), KeyModifiers::ALT);
    let ask = Screen::asked(&commands);
    assert_eq!(
        (ask.kind, ask.path.as_str(), ask.at),
        (
            AskKind::References,
            "src/main.rs",
            LineCol { line: 6, col: 9 }
        )
    );
    let at = |line, col, len: usize, context: &str| ReferenceHit {
        location: TextLocation {
            path: "src/main.rs".into(),
            range: TextRange {
                start: LineCol { line, col },
                end: LineCol {
                    line,
                    col: col + len,
                },
            },
            external: false,
        },
        context_line: context.into(),
    };
    let mut outside = at(40, 0, 5, "");
    outside.location.path = "io.rs".into();
    outside.location.external = true;
    // The answer comes back the way every answer about code does.
    screen.answer(
        &ask,
        Response::References(vec![
            at(6, 8, 5, "        greet(i);"),
            at(10, 3, 5, "fn greet(n: u32) {"),
            outside,
        ]),
    );
    let text = screen.draw();
    insta::assert_snapshot!("references_list", text);
    // A place outside the shared folder cannot be opened: counted, not listed.
    assert!(
        text.contains("2 references (and 1 outside the shared folder)") && !text.contains("io.rs"),
        "{text}"
    );
    screen.key(KeyCode::Down, KeyModifiers::NONE);
    screen.key(KeyCode::Enter, KeyModifiers::NONE);
    assert!(screen.draw().contains("11:4"));

    screen
        .app
        .show_references(Err("no language server for .rs on the host".into()));
    assert!(
        screen
            .draw()
            .contains("references: no language server for .rs on the host")
    );
}
// ----- answers about code: hover, peek, definition, completion

use cotype::tui::popup::{AskKind, IntelAsk};

const LIB_RS: &str = "//! Greetings.

/// Says hello to `n`.
pub fn greet(n: u32) {
    println!(\"hello {n}\");
}

pub fn farewell() {}
";

impl Screen {
    /// Moves the cursor to a 0-based line and column of the active file.
    fn cursor_to(&mut self, line: usize, col: usize) {
        self.key(KeyCode::Home, KeyModifiers::CONTROL);
        for _ in 0..line {
            self.key(KeyCode::Down, KeyModifiers::NONE);
        }
        for _ in 0..col {
            self.key(KeyCode::Right, KeyModifiers::NONE);
        }
    }

    /// The one question a key asked.
    fn asked(commands: &[AppCommand]) -> IntelAsk {
        let asks: Vec<_> = commands
            .iter()
            .filter_map(|command| match command {
                AppCommand::Ask(ask) => Some(ask.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(asks.len(), 1, "one question asked: {commands:?}");
        asks[0].clone()
    }

    fn answer(&mut self, ask: &IntelAsk, response: Response) -> Vec<AppCommand> {
        let Self { app, docs, .. } = self;
        app.intel_answer(ask, response, docs)
    }
}

fn greet_peek() -> Response {
    Response::Peek {
        views: vec![PeekView {
            location: TextLocation {
                path: "src/lib.rs".into(),
                range: TextRange {
                    start: LineCol { line: 3, col: 7 },
                    end: LineCol { line: 3, col: 12 },
                },
                external: false,
            },
            first_line: 0,
            lines: LIB_RS.lines().map(String::from).collect(),
        }],
        syntactic: false,
    }
}

#[test]
fn hover_shows_the_signature_and_docs_next_to_the_cursor_and_any_move_closes_it() {
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    // On `main` in `fn main() {` (line 3).
    screen.cursor_to(2, 4);
    let ask = Screen::asked(&screen.key(KeyCode::Char('k'), KeyModifiers::CONTROL));
    assert_eq!(
        (ask.kind, ask.path.as_str(), ask.at),
        (AskKind::Hover, "src/main.rs", LineCol { line: 2, col: 4 })
    );
    let markdown = "```rust\nfn main()\n```\n\n---\n\nRuns the **demo**: greets `0..3`; see [the docs](https://example.com).\n\n# Examples\n\n- `cargo run`\n- `cargo test`";
    screen.answer(
        &ask,
        Response::Hover {
            markdown: markdown.into(),
            syntactic: false,
        },
    );
    let text = screen.draw();
    insta::assert_snapshot!("hover_popup", text);
    assert!(text.contains("fn main()") && text.contains("Runs the demo: greets 0..3"));

    // Moving the cursor closes it (and moves: the key is not swallowed).
    screen.key(KeyCode::Right, KeyModifiers::NONE);
    let text = screen.draw();
    assert!(!text.contains("Runs the demo"), "{text}");
    assert!(text.contains("3:6"), "{text}");

    // An answer for a place the cursor has left is dropped.
    screen.answer(
        &ask,
        Response::Hover {
            markdown: "stale".into(),
            syntactic: false,
        },
    );
    assert!(!screen.draw().contains("stale"));
}

#[test]
fn peek_shows_the_definition_from_another_file_and_enter_opens_it_there() {
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    screen.cursor_to(6, 9);
    let ask = Screen::asked(&screen.key(
        KeyCode::Char('p'),
        KeyModifiers::CONTROL | KeyModifiers::ALT,
    ));
    assert_eq!(ask.kind, AskKind::Peek);
    screen.answer(&ask, greet_peek());
    let text = screen.draw();
    insta::assert_snapshot!("peek_window", text);
    assert!(text.contains("src/lib.rs:4") && text.contains("4 pub fn greet(n: u32) {"));
    // The window shows the doc comment above the definition.
    assert!(text.contains("3 /// Says hello to `n`."), "{text}");
    // Still in main.rs: peeking opens nothing.
    assert_eq!(screen.app.active_path(), Some("src/main.rs"));

    // Enter opens lib.rs (asking the session for it) with the cursor on the definition.
    let commands = screen.key(KeyCode::Enter, KeyModifiers::NONE);
    assert!(
        commands.contains(&AppCommand::Open("src/lib.rs".into())),
        "{commands:?}"
    );
    let lib = Rope::from_str(LIB_RS);
    screen.docs.insert("src/lib.rs".into(), lib.clone());
    screen.app.open_document("src/lib.rs", &lib, false);
    assert_eq!(screen.app.active_path(), Some("src/lib.rs"));
    let text = screen.draw();
    assert!(
        text.contains("src/lib.rs") && text.contains("4:8"),
        "{text}"
    );
}

#[test]
fn go_to_definition_opens_one_result_and_offers_a_picker_for_several() {
    let mut screen = Screen::new("vim");
    screen
        .docs
        .insert("src/lib.rs".into(), Rope::from_str(LIB_RS));
    screen.open("src/main.rs");
    screen.cursor_to(6, 9);
    screen.key(KeyCode::Char('g'), KeyModifiers::NONE);
    let ask = Screen::asked(&screen.key(KeyCode::Char('d'), KeyModifiers::NONE));
    assert_eq!(ask.kind, AskKind::Definition);
    let place = |path: &str, line: usize| TextLocation {
        path: path.into(),
        range: TextRange {
            start: LineCol { line, col: 7 },
            end: LineCol { line, col: 12 },
        },
        external: false,
    };
    screen.answer(
        &ask,
        Response::Locations {
            locations: vec![place("src/lib.rs", 3), place("src/main.rs", 10)],
            syntactic: true,
        },
    );
    let text = screen.draw();
    assert!(
        text.contains("src/lib.rs:4") && text.contains("src/main.rs:11"),
        "{text}"
    );
    assert!(text.contains("answered from syntax alone"), "{text}");
    screen.key(KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(screen.app.active_path(), Some("src/lib.rs"));
    assert!(screen.draw().contains("4:8"));

    // One result in a file that is open goes straight there.
    screen.key(KeyCode::Char('g'), KeyModifiers::NONE);
    let ask = Screen::asked(&screen.key(KeyCode::Char('d'), KeyModifiers::NONE));
    screen.answer(
        &ask,
        Response::Locations {
            locations: vec![place("src/main.rs", 10)],
            syntactic: false,
        },
    );
    assert_eq!(screen.app.active_path(), Some("src/main.rs"));
    assert!(screen.draw().contains("11:8"));
}

#[test]
fn every_question_tells_why_it_has_no_answer() {
    let mut screen = Screen::new("default");
    screen.open("README.md");
    for (message, shown) in [
        (
            "no language server for .md on the host (tried: none configured)",
            "no language server for .md on the host",
        ),
        (
            "rust-analyzer is still indexing (37%); try again in a moment",
            "still indexing (37%)",
        ),
        (
            "the language server did not answer within 20 s; it may still be starting, try again in a moment",
            "did not answer within 20 s",
        ),
    ] {
        let ask = Screen::asked(&screen.key(KeyCode::Char('k'), KeyModifiers::CONTROL));
        screen.answer(
            &ask,
            Response::Error {
                message: message.into(),
            },
        );
        let text = screen.draw();
        assert!(text.contains(shown), "{shown:?} on screen:\n{text}");
    }
    let ask = Screen::asked(&screen.key(KeyCode::F(12), KeyModifiers::NONE));
    screen.answer(
        &ask,
        Response::Nothing {
            reason: "no definition found at README.md:1:1".into(),
        },
    );
    assert!(
        screen
            .draw()
            .contains("no definition found at README.md:1:1")
    );

    // A hover that finally comes takes back the "still indexing" said before it.
    let ask = Screen::asked(&screen.key(KeyCode::Char('k'), KeyModifiers::CONTROL));
    let indexing = "rust-analyzer is still indexing (90%); try again in a moment";
    screen.answer(
        &ask,
        Response::Error {
            message: indexing.into(),
        },
    );
    assert!(screen.draw().contains("still indexing (90%)"));
    screen.answer(
        &ask,
        Response::Hover {
            markdown: "# cotype".into(),
            syntactic: false,
        },
    );
    let text = screen.draw();
    assert!(!text.contains("still indexing"), "{text}");
}

/// Completions asked by typing are the editor's idea, not the user's: when the host cannot
/// answer them (a file with no language server), typing says nothing, however long one
/// types. Asked with a key, the same question explains itself.
#[test]
fn automatic_completions_fail_silently_and_asked_ones_explain() {
    let mut screen = Screen::new("default");
    screen
        .docs
        .insert("Cargo.toml".into(), Rope::from_str("[package]\n"));
    screen.open("Cargo.toml");
    screen.key(KeyCode::End, KeyModifiers::NONE);
    let no_server = "no language server for .toml on the host";
    for word in ["na", "me", "ve"] {
        screen.type_text(word);
        let later = std::time::Instant::now() + std::time::Duration::from_secs(1);
        let Some(AppCommand::Ask(ask)) = screen.app.due_ask(later) else {
            panic!("typing an identifier asks for completions once typing pauses");
        };
        assert!(!ask.explicit);
        screen.answer(
            &ask,
            Response::Error {
                message: no_server.into(),
            },
        );
        let text = screen.draw();
        assert!(!text.contains("no language server"), "{text}");
    }
    let ask = Screen::asked(&screen.key(KeyCode::Char(' '), KeyModifiers::CONTROL));
    assert!(ask.explicit);
    screen.answer(
        &ask,
        Response::Error {
            message: no_server.into(),
        },
    );
    assert!(screen.draw().contains(no_server));
}

fn completions() -> Response {
    let item = |label: &str, detail: &str| Completion {
        label: label.into(),
        detail: Some(detail.into()),
        insert_text: label.into(),
    };
    Response::Completions(vec![
        item("greet", "fn(n: u32)"),
        item("greeting_count", "usize"),
        item("green", "Color"),
        item("println", "macro_rules! println"),
    ])
}

/// Types `gre` on a new line in `main` and lets the completion question come due.
fn completion_menu_after_typing(screen: &mut Screen) -> IntelAsk {
    screen.open("src/main.rs");
    screen.cursor_to(6, 17);
    screen.key(KeyCode::Enter, KeyModifiers::NONE);
    screen.type_text("gre");
    let later = std::time::Instant::now() + std::time::Duration::from_secs(1);
    let Some(AppCommand::Ask(ask)) = screen.app.due_ask(later) else {
        panic!("typing an identifier asks for completions once typing pauses");
    };
    assert_eq!(
        (ask.kind, ask.at, ask.explicit),
        (AskKind::Completion, LineCol { line: 7, col: 11 }, false)
    );
    assert_eq!(screen.app.due_ask(later), None, "asked once");
    screen.answer(&ask, completions());
    ask
}

#[test]
fn completion_menu_appears_under_the_word_being_typed() {
    let mut screen = Screen::new("default");
    completion_menu_after_typing(&mut screen);
    // Filtered by what is typed: println does not match `gre`.
    assert_eq!(
        screen.app.completion_labels(),
        ["greet", "greeting_count", "green"]
    );
    let text = screen.draw();
    insta::assert_snapshot!("completion_menu", text);
}

#[test]
fn completion_filters_as_you_type_and_enter_inserts_through_the_edit_path() {
    let mut screen = Screen::new("default");
    completion_menu_after_typing(&mut screen);
    screen.type_text("et");
    assert_eq!(screen.app.completion_labels(), ["greet", "greeting_count"]);
    // Down selects the second; enter replaces the typed word with it, as an edit.
    screen.key(KeyCode::Down, KeyModifiers::NONE);
    let commands = screen.key(KeyCode::Enter, KeyModifiers::NONE);
    assert!(
        commands
            .iter()
            .any(|command| matches!(command, AppCommand::Edit { .. })),
        "{commands:?}"
    );
    let line = screen.docs["src/main.rs"].line(7).to_string();
    assert_eq!(line, "        greeting_count\n");
    assert!(screen.app.completion_labels().is_empty(), "the menu closed");
    // Typing on is plain typing again.
    screen.type_text("()");
    assert_eq!(
        screen.docs["src/main.rs"].line(7).to_string(),
        "        greeting_count()\n"
    );
}

#[test]
fn completion_closes_on_esc_or_a_non_identifier_and_drops_stale_answers() {
    let mut screen = Screen::new("default");
    let ask = completion_menu_after_typing(&mut screen);
    screen.key(KeyCode::Esc, KeyModifiers::NONE);
    assert!(screen.app.completion_labels().is_empty());
    assert!(!screen.draw().contains("greeting_count"));
    screen.type_text(" ");
    // The answer arrives again for the word left behind: stale, dropped.
    screen.answer(&ask, completions());
    assert!(screen.app.completion_labels().is_empty());

    // A typed `(` closes an open menu; the next word asks again.
    let mut screen = Screen::new("default");
    completion_menu_after_typing(&mut screen);
    screen.type_text("(");
    assert!(screen.app.completion_labels().is_empty());
    // ctrl-space asks at once, explicitly.
    let ask = Screen::asked(&screen.key(KeyCode::Char(' '), KeyModifiers::CONTROL));
    assert!(ask.explicit && ask.kind == AskKind::Completion);
    screen.answer(&ask, Response::Completions(Vec::new()));
    assert!(screen.draw().contains("no completions here"));
}

#[test]
fn typing_that_does_not_go_in_asks_for_no_completions() {
    let mut screen = Screen::new("default");
    let rope = screen.docs["src/main.rs"].clone();
    screen.app.open_document("src/main.rs", &rope, true);
    screen.type_text("gre");
    let later = std::time::Instant::now() + std::time::Duration::from_secs(1);
    assert_eq!(screen.app.due_ask(later), None, "read-only: nothing typed");
    assert!(screen.draw().contains("read-only"));
}

/// Every screen, drawn at sizes down to one cell: what fits is drawn, nothing panics.
/// A terminal one to three rows tall used to panic in the status line, and when it was
/// the host's own editor the session died with it. Each screen is opened by its keys in
/// both keymaps (`vim` tells the setup which); the vim command line and its `:s///c`
/// question exist only in vim. The shared terminal pane is drawn by the session loop, not
/// by [`App::render`]: `the_terminal_pane_renders_at_every_size_down_to_one_cell` covers it.
#[test]
fn every_screen_renders_at_every_size_down_to_one_cell() {
    let screens = every_screen();
    // Each setup opens its screen, in both keymaps.
    for keymap in ["default", "vim"] {
        for (name, shows, setup) in &screens {
            let vim = keymap == "vim";
            if !vim && name.starts_with("vim ") {
                continue;
            }
            let mut screen = Screen::sized(keymap, 80, 20);
            setup(&mut screen, vim);
            let text = screen.draw();
            let shown = shows.iter().any(|parts| {
                text.lines()
                    .any(|row| parts.split('…').all(|part| row.contains(part)))
            });
            assert!(shown, "{name} ({keymap} keys) shows {shows:?}:\n{text}");
        }
    }
    let mut panicked = Vec::new();
    let mut drawn_count = 0;
    for keymap in ["default", "vim"] {
        for &(width, height) in &[(1, 1), (1, 3), (3, 1), (20, 2), (40, 4), (2, 2), (80, 3)] {
            for (name, _, setup) in &screens {
                let vim = keymap == "vim";
                if !vim && name.starts_with("vim ") {
                    continue; // vim's own: the default keymap has no command line
                }
                let mut screen = Screen::sized(keymap, width, height);
                let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    setup(&mut screen, vim);
                    screen.draw();
                    // And again after a resize, the way a terminal shrinks under us.
                    screen.app.resize(width, height);
                    screen.draw()
                }));
                drawn_count += 1;
                if let Err(panic) = drawn {
                    let why = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    panicked.push(format!("{name} ({keymap} keys) at {width}x{height}: {why}"));
                }
            }
        }
    }
    assert!(panicked.is_empty(), "panicked: {panicked:#?}");
    assert!(drawn_count > 300, "{drawn_count}");
}

/// What a setup shows: text drawn at 80x20 when it opened its screen (`…` separates parts
/// drawn on one row; any of the alternatives will do).
type Shows = &'static [&'static str];

/// Opens a screen; `vim`: with the vim keymap's keys.
type OpenScreen = fn(&mut Screen, bool);

/// Each screen of the UI, what it shows, and the keys that open it (`vim`: the vim
/// keymap's keys).
fn every_screen() -> Vec<(&'static str, Shows, OpenScreen)> {
    vec![
        ("editor", &["alice"], |screen, _| {
            screen.open("src/main.rs");
            screen.app.set_remote_cursors(
                "src/main.rs",
                vec![RemoteCursor {
                    name: "alice".into(),
                    color: 0,
                    selection: Selection::cursor(40),
                }],
            );
        }),
        ("no file open", &["no file"], |_, _| {}),
        ("file picker", &["src/lib.rs"], |screen, _| {
            screen.key(KeyCode::Char('p'), KeyModifiers::CONTROL);
            screen.type_text("rs");
        }),
        ("follow picker", &["bob  (src/main.rs)"], |screen, _| {
            screen.key(KeyCode::Char('f'), KeyModifiers::ALT);
        }),
        ("people panel", &["People (3)"], |screen, vim| {
            screen.open("src/main.rs");
            press(screen, vim, (KeyCode::Char('p'), KeyModifiers::ALT), " p");
        }),
        ("people menu", &["only the host admits"], |screen, vim| {
            press(screen, vim, (KeyCode::Char('m'), KeyModifiers::ALT), " m");
        }),
        ("file tree", &["Files"], |screen, vim| {
            screen.open("src/main.rs");
            press(
                screen,
                vim,
                (KeyCode::Char('b'), KeyModifiers::CONTROL),
                " e",
            );
        }),
        (
            "file tree: new file",
            &["new file: src/new_file.rs"],
            |screen, vim| {
                file_tree_prompt(screen, vim, "a");
                screen.type_text("new_file.rs");
            },
        ),
        (
            "file tree: new folder",
            &["new folder: src/"],
            |screen, vim| {
                file_tree_prompt(screen, vim, "A");
            },
        ),
        (
            "file tree: rename",
            &["rename to: src/main.rs"],
            |screen, vim| {
                file_tree_prompt(screen, vim, "r");
            },
        ),
        (
            "file tree: delete",
            &["delete src/main.rs? y/n"],
            |screen, vim| {
                file_tree_prompt(screen, vim, "d");
            },
        ),
        ("help", &["Open a file by fuzzy name"], |screen, _| {
            screen.key(KeyCode::F(1), KeyModifiers::NONE);
        }),
        (
            "session card",
            &["Verification code: word word word"],
            |screen, _| {
                screen.app.set_session_card(
                    Some("https://relay.example.com/s/abc#secret".into()),
                    "word word word".into(),
                );
                screen.app.show_session_card();
            },
        ),
        ("join prompt", &["Admit as editor"], |screen, _| {
            screen
                .app
                .join_requested(cotype::tui::host_controls::JoinRequest {
                    participant: 7,
                    name: "mallory".into(),
                });
        }),
        (
            "adopt changed ignore files",
            &["Adopt .gitignore, src/.cotypeignore"],
            |screen, _| {
                screen.open("src/main.rs");
                screen
                    .app
                    .ignore_files_changed(vec![".gitignore".into(), "src/.cotypeignore".into()]);
            },
        ),
        ("find prompt", &["find: greet", "/greet"], |screen, vim| {
            screen.open("src/main.rs");
            press(
                screen,
                vim,
                (KeyCode::Char('f'), KeyModifiers::CONTROL),
                "/",
            );
            screen.type_text("greet");
        }),
        ("find and replace", &["replace: print"], |screen, vim| {
            screen.open("src/main.rs");
            press(
                screen,
                vim,
                (KeyCode::Char('h'), KeyModifiers::CONTROL),
                " h",
            );
            screen.type_text("println");
            screen.key(KeyCode::Tab, KeyModifiers::NONE);
            screen.type_text("print");
        }),
        ("vim command line", &[":%s/name/who/g"], |screen, _| {
            screen.open("src/main.rs");
            screen.type_text(":%s/name/who/g");
        }),
        (
            "vim substitute confirm",
            &["replace with print (y/n/a/q/l)?"],
            |screen, _| {
                screen.open("src/main.rs");
                screen.type_text(":%s/println/print/gc");
                enter(screen);
            },
        ),
        (
            "go to line",
            &["go to line[:column]: 13:9"],
            |screen, vim| {
                screen.open("src/main.rs");
                press(
                    screen,
                    vim,
                    (KeyCode::Char('g'), KeyModifiers::CONTROL),
                    " g",
                );
                screen.type_text("13:9");
            },
        ),
        ("command palette", &["> sel"], |screen, vim| {
            screen.open("src/main.rs");
            press(screen, vim, (KeyCode::Char('x'), KeyModifiers::ALT), "  ");
            screen.type_text("sel");
        }),
        ("search panel", &["search: fn"], |screen, vim| {
            screen.open("src/main.rs");
            press(
                screen,
                vim,
                (KeyCode::Char('t'), KeyModifiers::CONTROL),
                " /",
            );
            screen.type_text("fn");
        }),
        (
            "search panel replacing",
            &["src/main.rs:7:9  welcome(i);"],
            |screen, vim| {
                screen.open("src/main.rs");
                press(
                    screen,
                    vim,
                    (KeyCode::Char('t'), KeyModifiers::CONTROL),
                    " /",
                );
                screen.type_text("greet");
                let Screen { app, docs, .. } = screen;
                app.search_results(
                    vec![
                        hit("src/main.rs", 7, 9, "        greet(i);"),
                        hit("src/main.rs", 11, 4, "fn greet(n: u32) {"),
                        hit("src/lib.rs", 2, 12, "    let s = greet();"),
                    ],
                    docs,
                );
                app.search_finished(Ok(finished(3, 5, false)));
                // Back-tab from the query is the replacement field.
                screen.key(KeyCode::BackTab, KeyModifiers::SHIFT);
                screen.type_text("welcome");
            },
        ),
        ("diagnostics list", &["Diagnostics: all"], |screen, vim| {
            screen.open("src/main.rs");
            press(screen, vim, (KeyCode::F(8), KeyModifiers::NONE), " d");
        }),
        ("hover", &["Runs the demo."], |screen, vim| {
            screen.open("src/main.rs");
            let ask = Screen::asked(&press(
                screen,
                vim,
                (KeyCode::Char('k'), KeyModifiers::CONTROL),
                "K",
            ));
            screen.answer(
                &ask,
                Response::Hover {
                    markdown: "```rust\nfn main()\n```\n\nRuns the **demo**.".into(),
                    syntactic: false,
                },
            );
        }),
        ("peek", &["src/lib.rs:4"], |screen, vim| {
            screen.open("src/main.rs");
            let ask = Screen::asked(&press(
                screen,
                vim,
                (KeyCode::F(12), KeyModifiers::ALT),
                "gp",
            ));
            screen.answer(&ask, greet_peek());
        }),
        ("references list", &["References (2)"], |screen, vim| {
            screen.open("src/main.rs");
            let ask = Screen::asked(&press(
                screen,
                vim,
                (KeyCode::Char('r'), KeyModifiers::ALT),
                "gr",
            ));
            screen.answer(&ask, greet_references());
        }),
        ("completion", &["greeting_count"], |screen, vim| {
            if !vim {
                completion_menu_after_typing(screen);
                return;
            }
            screen.open("src/main.rs");
            screen.type_text("7GA");
            enter(screen);
            screen.type_text("gre");
            let later = std::time::Instant::now() + std::time::Duration::from_secs(1);
            let Some(AppCommand::Ask(ask)) = screen.app.due_ask(later) else {
                panic!("typing an identifier asks for completions once typing pauses");
            };
            screen.answer(&ask, completions());
        }),
        ("split view", &["# cotype…use std::io;"], |screen, vim| {
            screen.open("src/main.rs");
            screen.open("README.md");
            split(screen, vim);
        }),
        (
            "split view with the file tree and people",
            &["Files…use std::io;…People (3)"],
            |screen, vim| {
                screen.open("src/main.rs");
                screen.open("README.md");
                split(screen, vim);
                press(screen, vim, (KeyCode::Char('p'), KeyModifiers::ALT), " p");
                press(
                    screen,
                    vim,
                    (KeyCode::Char('b'), KeyModifiers::CONTROL),
                    " e",
                );
            },
        ),
        ("message", &["a message much longer"], |screen, _| {
            screen.open("src/main.rs");
            screen.app.message(
                cotype::tui::status::Level::Error,
                "a message much longer than any of these small terminals are wide",
            );
        }),
    ]
}

/// Presses `default` in the default keymap, or types `vim_keys` in vim's normal mode.
fn press(
    screen: &mut Screen,
    vim: bool,
    default: (KeyCode, KeyModifiers),
    vim_keys: &str,
) -> Vec<AppCommand> {
    if vim {
        vim_keys
            .chars()
            .flat_map(|c| screen.key(KeyCode::Char(c), KeyModifiers::NONE))
            .collect()
    } else {
        screen.key(default.0, default.1)
    }
}

/// The file tree open with src/main.rs selected, and `key` pressed in it.
fn file_tree_prompt(screen: &mut Screen, vim: bool, key: &str) {
    screen.open("src/main.rs");
    press(
        screen,
        vim,
        (KeyCode::Char('b'), KeyModifiers::CONTROL),
        " e",
    );
    // src/ first: open it, then down to main.rs (after tui/ and lib.rs).
    enter(screen);
    for _ in 0..3 {
        screen.key(KeyCode::Down, KeyModifiers::NONE);
    }
    screen.type_text(key);
}

/// Two files side by side: ctrl-\ in the default keymap, `:vsplit` in vim.
fn split(screen: &mut Screen, vim: bool) {
    if vim {
        screen.type_text(":vsplit");
        enter(screen);
    } else {
        screen.key(KeyCode::Char('\\'), KeyModifiers::CONTROL);
    }
}

/// Three references to `greet`, the last in a file outside the project.
fn greet_references() -> Response {
    use cotype::protocol::message::ReferenceHit;
    let at = |path: &str, line, col, context: &str| ReferenceHit {
        location: TextLocation {
            path: path.into(),
            range: TextRange {
                start: LineCol { line, col },
                end: LineCol { line, col: col + 5 },
            },
            external: path.starts_with('/'),
        },
        context_line: context.into(),
    };
    Response::References(vec![
        at("src/main.rs", 6, 8, "        greet(i);"),
        at("src/main.rs", 10, 3, "fn greet(n: u32) {"),
        at("/usr/lib/rust/io.rs", 40, 0, ""),
    ])
}

fn enter(screen: &mut Screen) -> Vec<AppCommand> {
    screen.key(KeyCode::Enter, KeyModifiers::NONE)
}

/// vim's command line: `:` opens it on the bottom row as vim shows it; `:w` saves, `:q`
/// refuses while the file has unsaved edits (E37) and `:q!` leaves anyway; `:wq` leaves
/// once the host said it saved; `:12` goes to line 12.
#[test]
fn vim_command_line_writes_quits_and_goes_to_lines() {
    let mut screen = Screen::new("vim");
    screen.open("src/main.rs");
    screen.type_text(":w");
    let text = screen.draw();
    assert_eq!(last_row(&text).trim_end(), ":w", "{text}");
    assert!(enter(&mut screen).contains(&AppCommand::Save("src/main.rs".into())));
    assert!(
        !last_row(&screen.draw()).starts_with(':'),
        "the line closed"
    );

    screen.type_text(":q");
    assert!(
        enter(&mut screen).contains(&AppCommand::Quit),
        "nothing unsaved"
    );

    screen.type_text("x:q");
    let commands = enter(&mut screen);
    assert!(!commands.contains(&AppCommand::Quit), "{commands:?}");
    let text = screen.draw();
    assert!(
        text.contains("E37: No write since last change (add ! to override)"),
        "{text}"
    );
    screen.type_text(":q!");
    assert!(enter(&mut screen).contains(&AppCommand::ForceQuit));

    screen.type_text(":wq");
    let commands = enter(&mut screen);
    assert!(commands.contains(&AppCommand::Save("src/main.rs".into())));
    assert!(
        !commands.contains(&AppCommand::Quit),
        "not before it is saved"
    );
    screen.app.set_saved("src/main.rs", None);
    assert_eq!(screen.app.take_deferred(), Some(AppCommand::Quit));
    assert_eq!(screen.app.take_deferred(), None);

    screen.type_text(":12");
    enter(&mut screen);
    assert_eq!(
        screen
            .app
            .editor()
            .unwrap()
            .cursor_line_col(&screen.docs["src/main.rs"]),
        (11, 4)
    );
    screen.type_text(":frob");
    enter(&mut screen);
    assert!(screen.draw().contains("E492: Not an editor command: frob"));
    // Escape leaves the line without running it.
    screen.type_text(":q");
    assert!(
        !screen
            .key(KeyCode::Esc, KeyModifiers::NONE)
            .contains(&AppCommand::Quit)
    );
}

/// `:%s/a/b/g` replaces in every line as one edit through the session's edit path and one
/// undo step; `:s` without `%` only the cursor's line, the first match without `g`.
#[test]
fn vim_substitute_is_one_edit_and_one_undo_step() {
    let mut screen = Screen::new("vim");
    screen.open("src/main.rs");
    screen.type_text(":%s/name/who/g");
    let commands = enter(&mut screen);
    let edits = commands
        .iter()
        .filter(|command| matches!(command, AppCommand::Edit { .. }))
        .count();
    assert_eq!(edits, 1, "{commands:?}");
    let text = screen.docs["src/main.rs"].to_string();
    assert!(
        text.contains("let who = \"cotype\";") && text.contains("hello {who}"),
        "{text}"
    );
    assert!(screen.draw().contains("2 substitutions on 2 lines"));
    screen.type_text("u");
    assert_eq!(screen.docs["src/main.rs"].to_string(), MAIN_RS);

    screen.type_text("4G:s/e/E/");
    enter(&mut screen);
    assert_eq!(
        screen.docs["src/main.rs"].line(3).to_string(),
        "    lEt name = \"cotype\";\n"
    );
    assert_eq!(
        screen.docs["src/main.rs"].line(4).to_string(),
        "    println!(\"hello {name}\");\n",
        "only the cursor's line"
    );
    screen.type_text(":s/zzz/y/");
    enter(&mut screen);
    assert!(screen.draw().contains("E486: Pattern not found: zzz"));
}

/// vim's `ZZ` and `:x`: with unsaved edits they save and leave once the host says it
/// saved; with nothing unsaved they leave at once, saving nothing.
#[test]
fn vim_zz_and_x_save_when_unsaved_then_quit() {
    for keys in ["ZZ", ":x"] {
        let mut screen = Screen::new("vim");
        screen.open("src/main.rs");
        let leave = |screen: &mut Screen| {
            let mut commands: Vec<AppCommand> = keys
                .chars()
                .flat_map(|c| screen.key(KeyCode::Char(c), KeyModifiers::NONE))
                .collect();
            if keys.starts_with(':') {
                commands.extend(enter(screen));
            }
            commands
        };
        // Nothing unsaved: leaves, and writes nothing.
        let commands = leave(&mut screen);
        assert!(commands.contains(&AppCommand::Quit), "{keys}: {commands:?}");
        assert!(
            !commands
                .iter()
                .any(|command| matches!(command, AppCommand::Save(_))),
            "{keys}: {commands:?}"
        );

        // An edit: saves first, and leaves only when the host said it saved.
        screen.type_text("x");
        assert_ne!(screen.docs["src/main.rs"].to_string(), MAIN_RS);
        let commands = leave(&mut screen);
        assert!(
            commands.contains(&AppCommand::Save("src/main.rs".into())),
            "{keys}: {commands:?}"
        );
        assert!(
            !commands.contains(&AppCommand::Quit),
            "{keys}: not before it is saved: {commands:?}"
        );
        screen.app.set_saved("src/main.rs", None);
        assert_eq!(screen.app.take_deferred(), Some(AppCommand::Quit), "{keys}");
    }
}

/// `:s/a/b/g` changes every match on the cursor's line and no other; without `g`, only
/// the first on the line.
#[test]
fn vim_substitute_on_the_current_line_with_g_changes_every_match_there() {
    let mut screen = Screen::new("vim");
    screen.open("src/main.rs");
    screen.type_text("5G:s/l/L/g");
    enter(&mut screen);
    let text = screen.docs["src/main.rs"].to_string();
    assert_eq!(
        screen.docs["src/main.rs"].line(4).to_string(),
        "    printLn!(\"heLLo {name}\");\n"
    );
    assert_eq!(
        text.replace("printLn!(\"heLLo", "println!(\"hello"),
        MAIN_RS,
        "only the cursor's line"
    );
    assert!(screen.draw().contains("3 substitutions on 1 line"));
    screen.type_text("u13G:s/n/N/");
    enter(&mut screen);
    assert_eq!(
        screen.docs["src/main.rs"].line(12).to_string(),
        "    priNtln!(\"{n}\");\n",
        "the first match only"
    );
}

/// `:%s/a/b/gc` asks at each match as vim does (the match selected, the question on the
/// bottom row): `y` replaces, `n` skips, `q` stops; the answers are one undo step.
#[test]
fn vim_substitute_with_confirm_asks_at_each_match() {
    let mut screen = Screen::new("vim");
    screen.open("src/main.rs");
    screen.type_text(":%s/println/print/gc");
    enter(&mut screen);
    let text = screen.draw();
    assert_eq!(
        last_row(&text).trim_end(),
        "replace with print (y/n/a/q/l)?",
        "{text}"
    );
    let selection = screen.app.editor().unwrap().selection;
    assert_eq!(
        selection.range().len(),
        "println".len(),
        "the match is shown"
    );
    // Other keys wait for an answer.
    screen.type_text("x");
    assert_eq!(screen.docs["src/main.rs"].to_string(), MAIN_RS);
    screen.type_text("y");
    let text = screen.docs["src/main.rs"].to_string();
    assert!(text.contains("    print!(\"hello {name}\");"), "{text}");
    screen.type_text("n");
    assert!(!screen.app.editor().unwrap().is_confirming_substitute());
    let text = screen.draw();
    assert!(text.contains("1 substitution on 1 line"), "{text}");
    assert!(
        screen.docs["src/main.rs"]
            .to_string()
            .contains("    println!(\"{n}\");")
    );
    screen.type_text("u");
    assert_eq!(screen.docs["src/main.rs"].to_string(), MAIN_RS);
    // `a` replaces this one and all the rest; escape stops at once.
    screen.type_text(":%s/fn/FN/gc");
    enter(&mut screen);
    screen.type_text("na");
    let text = screen.docs["src/main.rs"].to_string();
    assert_eq!(text.matches("FN ").count(), 4, "{text}");
    assert!(text.starts_with("use std::io;\n\nfn main()"), "{text}");
    screen.type_text(":%s/FN/fn/gc");
    enter(&mut screen);
    screen.key(KeyCode::Esc, KeyModifiers::NONE);
    assert!(!screen.app.editor().unwrap().is_confirming_substitute());
    assert_eq!(
        screen.docs["src/main.rs"]
            .to_string()
            .matches("FN ")
            .count(),
        4
    );
}

/// vim's `/`: enter closes the prompt on the first match after the cursor, with nothing
/// selected; escape goes back to where the search started.
#[test]
fn vim_slash_search_closes_on_the_first_match_after_the_cursor() {
    let mut screen = Screen::new("vim");
    screen.open("src/main.rs");
    screen.type_text("4G/name");
    let text = screen.draw();
    assert_eq!(last_row(&text).trim_end(), "/name", "{text}");
    enter(&mut screen);
    let editor = screen.app.editor().unwrap();
    let rope = &screen.docs["src/main.rs"];
    // Line 4 is `let name = ...`: the first match after the cursor, not one before it.
    assert_eq!(editor.cursor_line_col(rope), (3, 8));
    assert!(editor.selection.is_empty());
    assert!(
        !last_row(&screen.draw()).starts_with('/'),
        "the prompt closed"
    );
    screen.type_text("n");
    let editor = screen.app.editor().unwrap();
    assert_eq!(editor.cursor_line_col(&screen.docs["src/main.rs"]), (4, 21));
    screen.type_text("/greet");
    screen.key(KeyCode::Esc, KeyModifiers::NONE);
    let editor = screen.app.editor().unwrap();
    assert_eq!(editor.cursor_line_col(&screen.docs["src/main.rs"]), (4, 21));
}

/// Keys the vim keymap does not bind never fall through: `ma` neither marks nor appends.
#[test]
fn vim_unbound_keys_do_nothing() {
    let mut screen = Screen::new("vim");
    screen.open("README.md");
    screen.type_text("maQx");
    let text = screen.draw();
    assert!(text.contains(" NORMAL "), "{text}");
    assert_eq!(
        screen.docs["README.md"].to_string(),
        " cotype\n\nPair programming from a terminal.\n",
        "only x did something"
    );
}

/// Escape with the completion menu open closes it and leaves insert mode, as in vim.
#[test]
fn vim_escape_with_the_completion_menu_open_leaves_insert_mode() {
    let mut screen = Screen::new("vim");
    screen.open("src/main.rs");
    screen.cursor_to(6, 17);
    screen.type_text("A");
    enter(&mut screen);
    screen.type_text("gre");
    let later = std::time::Instant::now() + std::time::Duration::from_secs(1);
    let Some(AppCommand::Ask(ask)) = screen.app.due_ask(later) else {
        panic!("typing an identifier asks for completions");
    };
    screen.answer(&ask, completions());
    assert!(!screen.app.completion_labels().is_empty());
    screen.key(KeyCode::Esc, KeyModifiers::NONE);
    assert!(screen.app.completion_labels().is_empty());
    let text = screen.draw();
    assert!(text.contains(" NORMAL "), "{text}");
}

/// Closing a tab whose file is unsaved warns first; the second close closes it. A saved
/// file closes at once.
#[test]
fn closing_an_unsaved_tab_warns_and_a_second_close_closes_it() {
    let mut screen = Screen::new("default");
    screen.open("README.md");
    screen.open("src/main.rs");
    screen.type_text("x");
    assert!(screen.draw().contains("[+]"));
    let commands = screen.key(KeyCode::Char('w'), KeyModifiers::ALT);
    assert!(
        !commands.iter().any(|c| matches!(c, AppCommand::Close(_))),
        "{commands:?}"
    );
    let text = screen.draw();
    assert!(text.contains("src/main.rs has unsaved edits"), "{text}");
    let commands = screen.key(KeyCode::Char('w'), KeyModifiers::ALT);
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, AppCommand::Close(path) if path == "src/main.rs")),
        "{commands:?}"
    );
    // README.md was never changed: it closes at the first asking.
    let commands = screen.key(KeyCode::Char('w'), KeyModifiers::ALT);
    assert!(
        commands
            .iter()
            .any(|c| matches!(c, AppCommand::Close(path) if path == "README.md")),
        "{commands:?}"
    );
}

/// The `[+]` marker follows the session's word, not the edits seen: someone else's edit
/// does not mark the file, and "saved again" clears the mark.
#[test]
fn the_unsaved_marker_is_the_sessions_word() {
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    let before = screen.docs["src/main.rs"].clone();
    let operation = Operation::insert(before.len_chars(), 0, "// remote\n").unwrap();
    let mut after = before.clone();
    operation.apply(&mut after).unwrap();
    screen
        .app
        .remote_edit("src/main.rs", &before, &operation, &after);
    screen.docs.insert("src/main.rs".into(), after);
    assert!(
        !screen.draw().contains("[+]"),
        "a remote edit marked the file"
    );
    screen.app.set_modified("src/main.rs", true);
    assert!(screen.draw().contains("[+]"));
    screen.app.set_modified("src/main.rs", false);
    assert!(!screen.draw().contains("[+]"));
}

/// One register per participant: a line copied in one tab pastes in another.
#[test]
fn copy_in_one_tab_and_paste_in_another() {
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    screen.open("README.md");
    // README.md's first line, copied as a whole line (nothing selected).
    screen.key(KeyCode::Char('c'), KeyModifiers::CONTROL);
    screen.key(KeyCode::PageUp, KeyModifiers::CONTROL);
    let text = screen.draw();
    assert!(text.contains("fn main()"), "back on main.rs: {text}");
    screen.key(KeyCode::Char('v'), KeyModifiers::CONTROL);
    assert!(
        screen.docs["src/main.rs"]
            .to_string()
            .starts_with("# cotype\n"),
        "{}",
        screen.docs["src/main.rs"]
    );
    assert!(!screen.draw().contains("nothing copied"));
}

/// vim's `P` changes the text as `p` does: on a read-only file both are refused with a
/// word why, and neither sends an edit. (`P` used to get past the read-only check.)
#[test]
fn vim_paste_before_and_after_are_refused_on_a_read_only_file() {
    let mut screen = Screen::new("vim");
    let rope = screen.docs["src/main.rs"].clone();
    screen.app.open_document("src/main.rs", &rope, true);
    // Copying is no edit: `yy` works on a read-only file.
    screen.type_text("yy");
    for paste in ['p', 'P'] {
        let commands = screen.key(KeyCode::Char(paste), KeyModifiers::NONE);
        assert!(
            !commands
                .iter()
                .any(|command| matches!(command, AppCommand::Edit { .. })),
            "{paste}: {commands:?}"
        );
        assert!(screen.draw().contains("read-only for you"), "{paste}");
        assert_eq!(screen.docs["src/main.rs"], rope, "{paste}");
    }
}

/// ctrl-h: the prompt counts the matches as the query is typed and again when someone
/// else's edit adds one; enter in the replace field replaces the selected match only;
/// alt-a replaces the rest as one edit and ctrl-z takes all of it back in one step.
#[test]
fn find_and_replace_counts_live_and_replaces_one_or_all() {
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    screen.key(KeyCode::Char('h'), KeyModifiers::CONTROL);
    screen.type_text("println");
    let shown = screen.draw();
    assert!(
        shown.contains("find:    println") && shown.contains("1 of 2"),
        "{shown}"
    );

    // Someone else adds a println at the top: the count follows.
    let before = screen.docs["src/main.rs"].clone();
    let operation = Operation::insert(before.len_chars(), 0, "// println\n").unwrap();
    let mut after = before.clone();
    operation.apply(&mut after).unwrap();
    screen.docs.insert("src/main.rs".into(), after.clone());
    screen
        .app
        .remote_edit("src/main.rs", &before, &operation, &after);
    // The selected match is now the second of three.
    assert!(screen.draw().contains("2 of 3"));

    screen.key(KeyCode::Tab, KeyModifiers::NONE);
    screen.type_text("print");
    // Replace one: the selected match only (the one in main), then the next is selected.
    let commands = enter(&mut screen);
    let edits = |commands: &[AppCommand]| {
        commands
            .iter()
            .filter(|command| matches!(command, AppCommand::Edit { .. }))
            .count()
    };
    assert_eq!(edits(&commands), 1);
    let text = screen.docs["src/main.rs"].to_string();
    assert!(text.contains("    print!(\"hello {name}\");"), "{text}");
    assert!(text.contains("// println") && text.contains("    println!(\"{n}\");"));
    assert!(screen.draw().contains("2 of 2"));

    // Regex with a group, replace all: one edit.
    screen.key(KeyCode::Tab, KeyModifiers::NONE);
    screen.key(KeyCode::Char('u'), KeyModifiers::CONTROL);
    screen.type_text(r"print(ln)?!\((.*)\)");
    screen.key(KeyCode::Char('r'), KeyModifiers::ALT);
    assert!(screen.draw().contains("2 found") || screen.draw().contains("of 2"));
    screen.key(KeyCode::Tab, KeyModifiers::NONE);
    screen.key(KeyCode::Char('u'), KeyModifiers::CONTROL);
    screen.type_text("log($2)");
    let commands = screen.key(KeyCode::Char('a'), KeyModifiers::ALT);
    assert_eq!(edits(&commands), 1, "{commands:?}");
    let text = screen.docs["src/main.rs"].to_string();
    assert!(
        text.contains("    log(\"hello {name}\");") && text.contains("    log(\"{n}\");"),
        "{text}"
    );
    assert!(screen.draw().contains("no results"));

    // esc closes the prompt; one ctrl-z undoes the whole replace-all.
    screen.key(KeyCode::Esc, KeyModifiers::NONE);
    assert!(!screen.draw().contains("replace:"));
    screen.key(KeyCode::Char('z'), KeyModifiers::CONTROL);
    let text = screen.docs["src/main.rs"].to_string();
    assert!(
        text.contains("    print!(\"hello {name}\");") && text.contains("    println!(\"{n}\");"),
        "{text}"
    );
}

/// ctrl-g goes to a line and column; the palette (alt-x) runs an action by fuzzy name,
/// and lists the actions run from it first next time.
#[test]
fn go_to_line_and_the_command_palette() {
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    screen.key(KeyCode::Char('g'), KeyModifiers::CONTROL);
    assert!(screen.draw().contains("go to line[:column]:"));
    screen.type_text("13:9");
    enter(&mut screen);
    assert!(screen.draw().contains(" 13:9 "));
    // A line past the end goes to the last.
    screen.key(KeyCode::Char('g'), KeyModifiers::CONTROL);
    screen.type_text("999");
    enter(&mut screen);
    assert!(screen.draw().contains(" 18:1 "), "{}", screen.draw());

    screen.key(KeyCode::Char('x'), KeyModifiers::ALT);
    assert!(screen.draw().contains("Run"));
    screen.type_text("selall");
    enter(&mut screen);
    assert_eq!(
        screen.app.editor().unwrap().selection.range(),
        0..MAIN_RS.chars().count()
    );
    screen.key(KeyCode::Char('x'), KeyModifiers::ALT);
    let shown = screen.draw();
    let first = shown
        .lines()
        .find(|line| line.contains('▶'))
        .unwrap_or_default();
    assert!(first.contains("select_all"), "{shown}");
}

/// F1's "run" side: typing in help opens the palette with what was typed.
#[test]
fn typing_in_help_opens_the_palette() {
    let mut screen = Screen::new("vim");
    screen.open("src/main.rs");
    screen.key(KeyCode::F(1), KeyModifiers::NONE);
    assert!(screen.draw().contains("to run an action"));
    screen.type_text("gotoline");
    let shown = screen.draw();
    assert!(
        shown.contains("> gotoline") && shown.contains("▶ goto_line"),
        "{shown}"
    );
}

/// Someone's extra cursors (multiple cursors; a presence with several selections) show in
/// their color with no flag of their own: the name flies on the primary cursor only. Our
/// own extra cursors show in reverse video, and typing goes in at each.
#[test]
fn extra_cursors_ours_and_theirs() {
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    let rope = screen.docs["src/main.rs"].clone();
    let at = |line: usize, col: usize| rope.line_to_char(line) + col;
    screen.app.set_remote_cursors(
        "src/main.rs",
        vec![
            RemoteCursor {
                name: "alice".into(),
                color: 0,
                selection: Selection::cursor(at(3, 4)),
            },
            RemoteCursor {
                name: String::new(),
                color: 0,
                selection: Selection::cursor(at(4, 4)),
            },
        ],
    );
    let text = screen.draw();
    let theme = Theme::load_from("default-dark", None, ColorMode::TrueColor).unwrap();
    let gutter = 5;
    let alice = theme.participant(0);
    assert_eq!(screen.cell_bg(gutter + 4, 4), Some(alice), "primary");
    assert_eq!(screen.cell_bg(gutter + 4, 5), Some(alice), "extra cursor");
    assert_eq!(text.matches("alice").count(), 1, "one flag: {text}");

    // Ours: ctrl-alt-down twice from line 2, then typing at all three.
    screen.cursor_to(1, 0);
    screen.key(KeyCode::Down, KeyModifiers::CONTROL | KeyModifiers::ALT);
    screen.key(KeyCode::Down, KeyModifiers::CONTROL | KeyModifiers::ALT);
    screen.draw();
    let reversed = |screen: &Screen, y: u16| {
        screen
            .terminal
            .backend()
            .buffer()
            .cell((gutter, y))
            .is_some_and(|cell| cell.modifier.contains(Modifier::REVERSED))
    };
    assert!(
        reversed(&screen, 3) && reversed(&screen, 4),
        "our extra cursors"
    );
    let commands = screen.key(KeyCode::Char('#'), KeyModifiers::NONE);
    let edits = commands
        .iter()
        .filter(|command| matches!(command, AppCommand::Edit { .. }))
        .count();
    assert_eq!(edits, 1, "one edit for three cursors");
    let text = screen.docs["src/main.rs"].to_string();
    assert!(
        text.starts_with("use std::io;\n#\n#fn main() {\n#    let name"),
        "{text}"
    );
    // Escape: one cursor again.
    screen.key(KeyCode::Esc, KeyModifiers::NONE);
    screen.key(KeyCode::Char('!'), KeyModifiers::NONE);
    // Two were there (`println!`), one more typed.
    assert_eq!(
        screen.docs["src/main.rs"].to_string().matches('!').count(),
        3
    );
}

/// ctrl-\ shows the next open file beside the active one; alt-o moves the focus (and the
/// typing) to the other side; ctrl-\ again goes back to one file. vim: `:vsplit` and
/// `ctrl-w w`.
#[test]
fn two_files_side_by_side_with_focus_switching() {
    for keymap in ["default", "vim"] {
        let mut screen = Screen::new(keymap);
        screen.open("src/main.rs");
        screen.open("README.md");
        let split = |screen: &mut Screen| {
            if keymap == "vim" {
                screen.type_text(":vsplit");
                enter(screen);
            } else {
                screen.key(KeyCode::Char('\\'), KeyModifiers::CONTROL);
            }
        };
        let focus = |screen: &mut Screen| {
            if keymap == "vim" {
                screen.key(KeyCode::Char('w'), KeyModifiers::CONTROL);
                screen.type_text("w");
            } else {
                screen.key(KeyCode::Char('o'), KeyModifiers::ALT);
            }
        };
        split(&mut screen);
        let shown = screen.draw();
        let both = shown
            .lines()
            .any(|row| row.contains("# cotype") && row.contains("use std::io;"));
        assert!(both, "{keymap}: side by side\n{shown}");

        let insert = |screen: &mut Screen, c: char| {
            if keymap == "vim" {
                screen.type_text("i");
            }
            screen.type_text(&c.to_string());
            if keymap == "vim" {
                screen.key(KeyCode::Esc, KeyModifiers::NONE);
            }
        };
        insert(&mut screen, 'X');
        assert!(
            screen.docs["README.md"]
                .to_string()
                .starts_with("X# cotype")
        );
        focus(&mut screen);
        assert_eq!(screen.app.active_path(), Some("src/main.rs"), "{keymap}");
        insert(&mut screen, 'Y');
        assert!(
            screen.docs["src/main.rs"]
                .to_string()
                .starts_with("Yuse std::io;")
        );
        // Both still shown, the focus now on the right.
        let shown = screen.draw();
        assert!(
            shown
                .lines()
                .any(|row| row.contains("X# cotype") && row.contains("Yuse std::io;")),
            "{keymap}\n{shown}"
        );

        split(&mut screen);
        let shown = screen.draw();
        assert!(
            !shown.lines().any(|row| row.contains("X# cotype")),
            "{keymap}: one file again\n{shown}"
        );
    }
}

/// alt-click adds a cursor where the click lands (multiple cursors), typing goes to
/// every cursor as one edit, and escape goes back to one.
#[test]
fn alt_click_adds_a_cursor_and_escape_goes_back_to_one() {
    use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    screen.draw();
    let area = screen.app.editor_area();
    // Line 3 ("fn main() {") and line 11 ("fn greet(n: u32) {"), at their first column.
    let click = |row: u16, modifiers| {
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: area.x + 5,
            row: area.y + row,
            modifiers,
        })
    };
    screen.send(click(2, KeyModifiers::NONE));
    screen.send(click(10, KeyModifiers::ALT));
    let commands = screen.key(KeyCode::Char('X'), KeyModifiers::NONE);
    let edits = commands
        .iter()
        .filter(|command| matches!(command, AppCommand::Edit { .. }))
        .count();
    assert_eq!(edits, 1, "one edit for both cursors");
    let text = screen.docs["src/main.rs"].to_string();
    assert!(text.contains("\nXfn main() {\n"), "{text}");
    assert!(text.contains("\nXfn greet(n: u32) {\n"), "{text}");
    screen.key(KeyCode::Esc, KeyModifiers::NONE);
    screen.key(KeyCode::Char('Y'), KeyModifiers::NONE);
    let text = screen.docs["src/main.rs"].to_string();
    assert_eq!(
        text.matches('Y').count(),
        1,
        "after escape one cursor types: {text}"
    );
}

/// F2 asks whether the symbol can be renamed; the answer opens a prompt holding its
/// name, and enter asks the host to rename it. ctrl-. (alt-a) lists the code actions,
/// fixes first, and choosing one asks the host to apply it.
#[test]
fn rename_prompts_with_the_name_and_code_actions_offer_fixes_first() {
    use cotype::protocol::language::{CodeActionItem, EditSummary};
    use cotype::tui::popup::ChangeAsk;
    let mut screen = Screen::new("default");
    screen.open("src/main.rs");
    screen.cursor_to(9, 4);
    let ask = Screen::asked(&screen.key(KeyCode::F(2), KeyModifiers::NONE));
    assert_eq!(ask.kind, AskKind::PrepareRename);
    screen.answer(
        &ask,
        Response::RenameTarget {
            range: TextRange {
                start: LineCol { line: 9, col: 3 },
                end: LineCol { line: 9, col: 8 },
            },
            placeholder: "greet".into(),
        },
    );
    assert_eq!(
        last_row(&screen.draw()).trim_end(),
        "rename greet to: greet"
    );
    for _ in 0.."greet".len() {
        screen.key(KeyCode::Backspace, KeyModifiers::NONE);
    }
    screen.type_text("welcome");
    let rename = Screen::asked(&screen.key(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(rename.kind, AskKind::Change);
    assert_eq!(rename.change, Some(ChangeAsk::Rename("welcome".into())));
    assert_eq!((rename.path.as_str(), rename.at), ("src/main.rs", ask.at));
    screen.answer(
        &rename,
        Response::LanguageEdited(EditSummary {
            places: Vec::new(),
            files: 2,
            saved: 0,
        }),
    );
    assert!(
        last_row(&screen.draw()).contains("in 2 files"),
        "{}",
        screen.draw()
    );

    let actions = Screen::asked(&screen.key(KeyCode::Char('a'), KeyModifiers::ALT));
    assert_eq!(actions.kind, AskKind::CodeActions);
    let action = |title: &str, fix: bool| CodeActionItem {
        title: title.into(),
        kind: None,
        fix,
        applicable: true,
    };
    screen.answer(
        &actions,
        Response::CodeActions(vec![
            action("Change it to be mutable", true),
            action("Inline variable", false),
        ]),
    );
    let text = screen.draw();
    let fix = text
        .find("fix: Change it to be mutable")
        .expect("the fix is listed");
    let other = text
        .find("Inline variable")
        .expect("the other action is listed");
    assert!(fix < other, "fixes first: {text}");
    let apply = Screen::asked(&screen.key(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(
        apply.change,
        Some(ChangeAsk::ApplyAction("Change it to be mutable".into()))
    );
}

/// The shared terminal pane, drawn over the editor as the session loop draws it, at the
/// same sizes as every other screen: a typed-in, colored screen larger than the pane (so
/// it is clipped around the cursor), and one still loading its snapshot.
#[test]
fn the_terminal_pane_renders_at_every_size_down_to_one_cell() {
    use cotype::client::session::Session;
    use cotype::protocol::message::{Member, Role, TerminalMessage};
    use cotype::tui::terminal_pane::TerminalPane;

    let member = |participant, name: &str, role| Member {
        participant,
        name: name.into(),
        role,
        color: 0,
    };
    let mut session = Session::new(
        member(3, "you", Role::Editor),
        vec![member(1, "alice", Role::Host)],
    );
    let opened = |id| TerminalMessage::Opened {
        id,
        name: "bash".into(),
        cols: 30,
        rows: 8,
    };
    session.terminals.on_message(opened(1));
    session.terminals.on_message(opened(2)); // never watched: still loading
    session.terminals.watch(1);
    session.terminals.on_message(TerminalMessage::Snapshot {
        id: 1,
        seq: 1,
        cols: 30,
        rows: 8,
        last: true,
        bytes: "$ ls\r\n\x1b[1;34msrc\x1b[0m  Cargo.toml  日本語\r\n$ echo hi".into(),
    });
    session
        .terminals
        .on_message(TerminalMessage::Typing { id: 1, by: 1 });

    let mut panicked = Vec::new();
    let mut full = String::new();
    for keymap in ["default", "vim"] {
        for &(width, height) in &[(1, 1), (1, 3), (3, 1), (20, 2), (40, 4), (2, 2), (80, 3)] {
            for id in [1, 2] {
                let mut screen = Screen::sized(keymap, width, height);
                screen.open("src/main.rs");
                let mut pane = TerminalPane::new(screen.app.keymap());
                pane.show(id);
                let drawn = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    for _ in 0..2 {
                        let Screen {
                            app,
                            terminal,
                            docs,
                        } = &mut screen;
                        terminal
                            .draw(|frame| {
                                app.render(frame, docs);
                                pane.render(frame, app.editor_area(), &session, app.theme());
                            })
                            .unwrap();
                        // Again after a resize, the way a terminal shrinks under us.
                        app.resize(width, height);
                    }
                    screen.terminal.backend().to_string()
                }));
                match drawn {
                    Ok(text) if (width, height, id) == (80, 3, 1) => full = text,
                    Ok(_) => {}
                    Err(_) => {
                        panicked.push(format!("terminal {id} ({keymap} keys) at {width}x{height}"))
                    }
                }
            }
        }
    }
    assert!(panicked.is_empty(), "panicked: {panicked:#?}");
    assert!(full.contains("⌨ bash 30×8 clipped ✎ alice"), "{full}");
}

/// Soft wrap belongs to the file's view: alt-z (vim also `space z`) wraps the focused
/// pane's file only; the other pane keeps its own setting, and each keeps it when the
/// focus moves between them.
#[test]
fn soft_wrap_is_per_file_view_in_both_panes() {
    for keymap in ["default", "vim"] {
        let mut screen = Screen::new(keymap);
        for (path, tail) in [("a.txt", "END-A"), ("b.txt", "END-B")] {
            let line = format!("{}{tail}\n", "word ".repeat(24));
            screen.docs.insert(path.into(), Rope::from_str(&line));
            screen.open(path);
        }
        let toggle_wrap = |screen: &mut Screen| {
            if keymap == "vim" {
                screen.type_text(" z");
            } else {
                screen.key(KeyCode::Char('z'), KeyModifiers::ALT);
            }
        };
        // b.txt focused on the left, a.txt on the right; neither wraps yet.
        split(&mut screen, keymap == "vim");
        let shown = screen.draw();
        assert!(!shown.contains("END-"), "{keymap}: nothing wraps\n{shown}");

        toggle_wrap(&mut screen);
        let shown = screen.draw();
        assert!(shown.contains("END-B"), "{keymap}: b.txt wraps\n{shown}");
        assert!(
            !shown.contains("END-A"),
            "{keymap}: a.txt does not\n{shown}"
        );

        // The focus moves to a.txt: b.txt still wraps, beside it.
        if keymap == "vim" {
            screen.key(KeyCode::Char('w'), KeyModifiers::CONTROL);
            screen.type_text("w");
        } else {
            screen.key(KeyCode::Char('o'), KeyModifiers::ALT);
        }
        assert_eq!(screen.app.active_path(), Some("a.txt"), "{keymap}");
        let shown = screen.draw();
        assert!(shown.contains("END-B"), "{keymap}: b.txt keeps it\n{shown}");
        assert!(!shown.contains("END-A"), "{keymap}\n{shown}");

        toggle_wrap(&mut screen);
        let shown = screen.draw();
        assert!(
            shown.contains("END-A") && shown.contains("END-B"),
            "{keymap}: both wrap now\n{shown}"
        );
        toggle_wrap(&mut screen);
        let shown = screen.draw();
        assert!(
            !shown.contains("END-A") && shown.contains("END-B"),
            "{keymap}: a.txt unwrapped, b.txt still wrapped\n{shown}"
        );
    }
}

/// The other pane of a split names its file on a row of its own, the pane's width: none
/// of the file's text shows beside the name (it did, where the name was drawn over the
/// last row of text).
#[test]
fn the_other_pane_names_its_file_on_a_row_of_its_own() {
    for vim in [false, true] {
        let mut screen = Screen::sized(if vim { "vim" } else { "default" }, 100, 10);
        screen.open("src/main.rs");
        screen.open("README.md");
        split(&mut screen, vim);
        let drawn = screen.draw();
        let row = drawn
            .lines()
            .find(|row| row.contains("│ src/main.rs "))
            .unwrap_or_else(|| panic!("the other pane's name after the rule:\n{drawn}"));
        let after = &row[row.find("│ src/main.rs ").unwrap() + "│ src/main.rs ".len()..];
        let rest_of_pane = after.split(['│', '"']).next().unwrap_or_default();
        assert!(
            rest_of_pane.trim().is_empty(),
            "text beside the other pane's name: {row:?}\n{drawn}"
        );
        // Its text above the name: the first lines of src/main.rs.
        assert!(drawn.contains("use std::io;"), "{drawn}");
    }
}
