//! Tests of the search panel in a compositor: keys start, restart and cancel searches; results
//! stream in sorted; Enter opens the match.

use super::*;
use crate::tui::compositor::Compositor;
use crate::tui::keymap::Keymap;
use ratatui::crossterm::event::KeyEvent;

/// The panel in a compositor, fed keys as the app would.
struct Harness {
    compositor: Compositor,
    keymap: Keymap,
}

impl Harness {
    fn new() -> Self {
        let mut compositor = Compositor::new();
        compositor.push(Box::new(SearchPanel::new()));
        Self {
            compositor,
            keymap: Keymap::load_from("default", None).unwrap(),
        }
    }

    fn press(&mut self, code: KeyCode, modifiers: KeyModifiers) -> Vec<UiCommand> {
        let mut commands = Vec::new();
        let mut cx = Context {
            commands: &mut commands,
            keymap: &self.keymap,
        };
        let event = Event::Key(KeyEvent::new(code, modifiers));
        assert!(self.compositor.handle_event(&event, &mut cx));
        commands
    }

    fn type_text(&mut self, text: &str) -> Vec<UiCommand> {
        text.chars()
            .flat_map(|c| self.press(KeyCode::Char(c), KeyModifiers::NONE))
            .collect()
    }

    fn panel(&mut self) -> &mut SearchPanel {
        self.compositor
            .find_mut::<SearchPanel>(SearchPanel::ID)
            .expect("the panel is open")
    }
}

fn searches(commands: &[UiCommand]) -> Vec<&SearchQuery> {
    commands
        .iter()
        .filter_map(|command| match command {
            UiCommand::App(AppCommand::WorkspaceSearch(request)) => Some(request),
            _ => None,
        })
        .collect()
}

fn hit(path: &str, line: u64, column: u64, text: &str) -> SearchHit {
    SearchHit {
        path: path.into(),
        line,
        column,
        text: text.into(),
    }
}

#[test]
fn each_keystroke_searches_anew_with_the_toggles_and_globs() {
    let mut panel = Harness::new();
    let typed = panel.type_text("fn ");
    let patterns: Vec<&str> = searches(&typed)
        .iter()
        .map(|r| r.pattern.as_str())
        .collect();
    assert_eq!(patterns, ["f", "fn", "fn "]);
    assert!(
        searches(&typed)
            .iter()
            .all(|r| !r.fixed_strings && r.ignore_case && !r.whole_word && r.globs.is_empty())
    );

    let literal = panel.press(KeyCode::Char('r'), KeyModifiers::ALT);
    let case = panel.press(KeyCode::Char('c'), KeyModifiers::ALT);
    let word = panel.press(KeyCode::Char('w'), KeyModifiers::ALT);
    assert!(searches(&literal)[0].fixed_strings);
    assert!(!searches(&case)[0].ignore_case);
    let word = searches(&word)[0];
    assert!(word.fixed_strings && !word.ignore_case && word.whole_word);

    // Tab moves to the file globs: typing there searches again, narrowed.
    assert!(panel.press(KeyCode::Tab, KeyModifiers::NONE).is_empty());
    let globs = panel.type_text("*.rs, !target");
    assert_eq!(searches(&globs).last().unwrap().globs, ["*.rs", "!target"]);
    assert_eq!(searches(&globs).last().unwrap().pattern, "fn ");
    // Moving the cursor in a field changes nothing and asks nothing.
    assert!(panel.press(KeyCode::Left, KeyModifiers::NONE).is_empty());
}

#[test]
fn after_a_reconnect_the_search_starts_over_without_duplicates() {
    let mut panel = Harness::new();
    panel.type_text("greet");
    panel
        .panel()
        .add_results(vec![hit("a.rs", 1, 1, "greet")], &mut Vec::new());
    let again = panel.panel().restart().expect("there is a query");
    assert_eq!(again.pattern, "greet");
    assert!(panel.panel().hits().is_empty());
    assert_eq!(panel.panel().state(), &SearchState::Searching);
    // Its file is asked for again: the preview's answer died with the connection.
    let mut asked = Vec::new();
    panel
        .panel()
        .add_results(vec![hit("a.rs", 1, 1, "greet")], &mut asked);
    assert_eq!(panel.panel().hits().len(), 1);
    assert_eq!(
        asked,
        [UiCommand::App(AppCommand::SearchPreview("a.rs".into()))]
    );
}

#[test]
fn emptying_the_query_cancels_the_running_search() {
    let mut panel = Harness::new();
    panel.type_text("x");
    assert_eq!(panel.panel().state(), &SearchState::Searching);
    let commands = panel.press(KeyCode::Backspace, KeyModifiers::NONE);
    assert_eq!(commands, [UiCommand::App(AppCommand::CancelSearch)]);
    assert_eq!(panel.panel().state(), &SearchState::Idle);
}

#[test]
fn results_stream_in_sorted_and_a_picked_selection_stays_on_its_match() {
    let mut panel = Harness::new();
    panel.type_text("greet");
    let mut asked = Vec::new();
    panel
        .panel()
        .add_results(vec![hit("src/b.rs", 9, 1, "greet()")], &mut asked);
    assert_eq!(
        asked,
        [UiCommand::App(AppCommand::SearchPreview("src/b.rs".into()))]
    );
    // A batch from another worker lands before it: nobody picked a match yet, so the
    // selection stays on the first result.
    let mut again = Vec::new();
    panel.panel().add_results(
        vec![
            hit("src/a.rs", 3, 4, "fn greet() {}"),
            hit("src/b.rs", 5, 1, "greet();"),
        ],
        &mut again,
    );
    assert_eq!(
        again,
        [UiCommand::App(AppCommand::SearchPreview("src/a.rs".into()))]
    );
    let order: Vec<(String, u64)> = panel
        .panel()
        .hits()
        .iter()
        .map(|h| (h.path.clone(), h.line))
        .collect();
    assert_eq!(
        order,
        [
            ("src/a.rs".into(), 3),
            ("src/b.rs".into(), 5),
            ("src/b.rs".into(), 9)
        ]
    );
    assert_eq!(panel.panel().selected_hit().unwrap().line, 3);
    // Picked by the user, b.rs:5 stays selected when results land before it.
    let down = panel.press(KeyCode::Down, KeyModifiers::NONE);
    assert_eq!(
        down,
        [UiCommand::App(AppCommand::SearchPreview("src/b.rs".into()))]
    );
    panel
        .panel()
        .add_results(vec![hit("src/b.rs", 1, 1, "greet")], &mut Vec::new());
    assert_eq!(panel.panel().selected_hit().unwrap().line, 5);
}

#[test]
fn enter_goes_to_the_match_in_chars_and_esc_cancels_a_running_search() {
    let mut panel = Harness::new();
    panel.type_text("名前");
    // The host's column counts bytes; the editor counts chars.
    let text = "  é = 名前;";
    let column = text.find("名前").unwrap() as u64 + 1;
    panel
        .panel()
        .add_results(vec![hit("src/a.rs", 7, column, text)], &mut Vec::new());
    let found = panel.panel().hits()[0].clone();
    let location = panel.panel().location(&found);
    assert_eq!(location.position, LineCol { line: 6, col: 6 });
    assert_eq!(location.highlight, Some(6..8), "the match, in chars");
    let commands = panel.press(KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(
        commands,
        [
            UiCommand::App(AppCommand::GoTo {
                path: "src/a.rs".into(),
                at: LineCol { line: 6, col: 6 }
            }),
            UiCommand::App(AppCommand::CancelSearch),
        ]
    );
    assert!(panel.compositor.is_empty(), "Enter closes the panel");

    let mut panel = Harness::new();
    panel.type_text("x");
    panel.panel().finish(SearchSummary {
        matches: 0,
        files_searched: 3,
        truncated: false,
        limit: 0,
        cancelled: false,
    });
    assert!(
        panel.press(KeyCode::Esc, KeyModifiers::NONE).is_empty(),
        "a finished search has nothing to cancel"
    );
    assert!(panel.compositor.is_empty());
}

#[test]
fn a_replacement_previews_each_line_and_alt_a_replaces_what_is_left_in() {
    let mut panel = Harness::new();
    panel.type_text(r"old_(\w+)");
    // query → files → replace; typing a replacement asks the host nothing.
    panel.press(KeyCode::Tab, KeyModifiers::NONE);
    panel.press(KeyCode::Tab, KeyModifiers::NONE);
    assert!(panel.type_text("new_$1").is_empty());
    panel.panel().add_results(
        vec![
            hit("a.rs", 1, 4, "fn old_name() { old_x }"),
            hit("a.rs", 1, 17, "fn old_name() { old_x }"),
            hit("b.rs", 2, 1, "old_y"),
        ],
        &mut Vec::new(),
    );
    let first = panel.panel().hits()[0].clone();
    assert_eq!(
        panel.panel().replace_row(&first).text,
        "fn new_name() { new_x }",
        "the line as it will read"
    );
    // Leave the second match out (its line then keeps it), and all of b.rs.
    panel.press(KeyCode::Down, KeyModifiers::NONE);
    panel.press(KeyCode::Char('e'), KeyModifiers::ALT);
    assert_eq!(
        panel.panel().replace_row(&first).text,
        "fn new_name() { old_x }"
    );
    panel.press(KeyCode::Down, KeyModifiers::NONE);
    panel.press(KeyCode::Char('f'), KeyModifiers::ALT);
    let third = panel.panel().hits()[2].clone();
    assert!(panel.panel().is_excluded(&third));
    let asked = panel.press(KeyCode::Char('a'), KeyModifiers::ALT);
    let [UiCommand::App(AppCommand::WorkspaceReplace(request))] = asked.as_slice() else {
        panic!("alt-a asks for the replace: {asked:?}");
    };
    assert_eq!(request.replacement, "new_$1");
    assert!(!request.dry_run && !request.query.fixed_strings);
    assert_eq!(
        request.excluded,
        [
            Exclusion::File {
                path: "b.rs".into()
            },
            Exclusion::Match {
                path: "a.rs".into(),
                line: 1,
                column: 17
            },
        ]
    );
    // Asked once until the host answers; then it searches again.
    assert!(
        panel
            .press(KeyCode::Char('a'), KeyModifiers::ALT)
            .is_empty()
    );
    let mut after = Vec::new();
    panel
        .panel()
        .replaced(Ok("replaced 1 match in 1 file".into()), &mut after);
    assert!(matches!(
        after.as_slice(),
        [
            UiCommand::App(AppCommand::WorkspaceSearch(_)),
            UiCommand::Notice(said)
        ] if said == "replaced 1 match in 1 file"
    ));
    assert!(
        !panel.panel().replacing_mode(),
        "a second alt-a cannot replace what was left out"
    );
    assert!(
        panel
            .press(KeyCode::Char('a'), KeyModifiers::ALT)
            .is_empty()
    );
}
