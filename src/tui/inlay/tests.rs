//! What the screen shows of inlay hints: drawn before their char with the rest of the row
//! moved right, the cursor moved along with the text it is on, and still beside their
//! tokens after someone types in front of them.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::widgets::Widget;
use ropey::Rope;

use super::*;
use crate::tui::ask_again::AFTER_FAILURE;
use crate::tui::editor::{EditorWidget, Selection};
use crate::tui::keymap::Mode;
use crate::tui::theme::{ColorMode, Theme};

const TEXT: &str = "let sizes = vec![1];\narea(2, 3);\n";

fn theme() -> Theme {
    Theme::load_from("default-dark", None, ColorMode::TrueColor).unwrap()
}

/// The screen of `editor` over `rope` with `hints`, and the cursor.
fn screen(editor: &Editor, rope: &Rope, hints: &[Hint]) -> (Vec<String>, Option<Position>) {
    let theme = theme();
    let area = Rect::new(0, 0, 40, 3);
    let mut buf = Buffer::empty(area);
    let widget = EditorWidget {
        editor,
        rope,
        syntax: None,
        theme: &theme,
        remotes: &[],
        search: None,
        find_pattern: None,
        git: None,
    };
    let cursor = widget.cursor_position(area);
    widget.render(area, &mut buf);
    let cursor = draw_in_editor(area, &mut buf, editor, rope, hints, &theme, cursor);
    let rows = (0..area.height)
        .map(|y| {
            (0..area.width)
                .map(|x| buf[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_owned()
        })
        .collect();
    (rows, cursor)
}

fn shown() -> InlayHints {
    let mut store = InlayHints::default();
    store.set_enabled(true);
    store
}

fn hints() -> Vec<Hint> {
    let after_sizes = TEXT.find(" = vec").unwrap();
    let before_two = TEXT.find("2, 3").unwrap();
    let before_three = TEXT.find("3)").unwrap();
    vec![
        Hint {
            at: after_sizes,
            label: ": Vec<i32>".into(),
            kind: HintKind::Type,
        },
        Hint {
            at: before_two,
            label: "width: ".into(),
            kind: HintKind::Parameter,
        },
        Hint {
            at: before_three,
            label: "height: ".into(),
            kind: HintKind::Parameter,
        },
    ]
}

#[test]
fn hints_are_drawn_between_the_characters_and_move_the_cursor_with_its_text() {
    let rope = Rope::from_str(TEXT);
    let mut editor = Editor::new(Mode::Insert);
    editor.set_viewport(40, 3);
    // The cursor on `=`, after the type hint on its row.
    let on_equals = TEXT.find('=').unwrap();
    editor.set_selection(&rope, Selection::cursor(on_equals));
    let (rows, cursor) = screen(&editor, &rope, &hints());
    assert_eq!(rows[0], "   1 let sizes: Vec<i32> = vec![1];");
    assert_eq!(rows[1], "   2 area(width: 2, height: 3);");
    // Without hints the cursor would be at x 5 + 10; the hint's 10 cells come before it.
    assert_eq!(cursor, Some(Position::new(5 + 10 + 10, 0)));
    assert_eq!(rows[0].chars().nth(25), Some('='));
    // The status line's column is the text's: the hint is not in it.
    assert_eq!(editor.cursor_line_col(&rope), (0, 10));
    // The hint is dimmed, the text is not.
    let theme = theme();
    assert_eq!(
        theme.get("ui.virtual.inlay-hint").add_modifier,
        ratatui::style::Modifier::ITALIC | ratatui::style::Modifier::DIM
    );
}

#[test]
fn a_click_after_a_hint_lands_on_the_character_drawn_there() {
    let rope = Rope::from_str(TEXT);
    let mut editor = Editor::new(Mode::Insert);
    editor.set_viewport(40, 3);
    let hints = hints();
    // Row 1 reads `area(width: 2, height: 3);`: `2` is drawn at column 12, `3` at 23.
    let char_at = |col| {
        let col = text_col(&editor, &rope, &hints, 1, col);
        editor.char_at_screen(&rope, 1, col)
    };
    let line_start = TEXT.find("area").unwrap();
    assert_eq!(char_at(12), line_start + 5, "on `2`");
    assert_eq!(char_at(23), line_start + 8, "on `3`");
    // On the hint itself: the char it stands before.
    assert_eq!(char_at(7), line_start + 5);
    // Before any hint: as drawn.
    assert_eq!(char_at(2), line_start + 2);
}

#[test]
fn typing_before_a_hint_keeps_it_beside_its_token() {
    let mut rope = Rope::from_str(TEXT);
    let mut editor = Editor::new(Mode::Insert);
    editor.set_viewport(40, 3);
    let mut store = shown();
    store.set("src/lib.rs", 0..200, hints());
    let now = Instant::now();

    // Someone types in front of `sizes`, and someone else inside the call.
    // (After `mut `, the call's `(` ends 4 chars later than in TEXT.)
    for (at, typed) in [(4, "mut "), (TEXT.find("area(").unwrap() + 4 + 5, "  ")] {
        let op = Operation::insert(rope.len_chars(), at, typed).unwrap();
        op.apply(&mut rope).unwrap();
        editor.apply_remote(&op, &rope);
        store.map_edit("src/lib.rs", &op, now);
    }
    let (rows, _) = screen(&editor, &rope, store.for_path("src/lib.rs"));
    assert_eq!(rows[0], "   1 let mut sizes: Vec<i32> = vec![1];");
    assert_eq!(rows[1], "   2 area(  width: 2, height: 3);");

    // Typing right at the type hint (extending the name) takes it along.
    let at = rope.to_string().find(" = vec").unwrap();
    let op = Operation::insert(rope.len_chars(), at, "2").unwrap();
    op.apply(&mut rope).unwrap();
    store.map_edit("src/lib.rs", &op, now);
    let (rows, _) = screen(&editor, &rope, store.for_path("src/lib.rs"));
    assert_eq!(rows[0], "   1 let mut sizes2: Vec<i32> = vec![1];");
    // And the hints are asked for again once typing pauses.
    assert_eq!(store.deadline("src/lib.rs", 0, 3), Some(now + INLAY_DELAY));
}

#[test]
fn hints_are_asked_for_the_view_and_again_after_typing_pauses() {
    let mut store = shown();
    let now = Instant::now();
    let ask = store
        .due_ask("a.rs", 100, 30, now)
        .expect("a first question");
    assert_eq!(ask.kind, AskKind::InlayHints);
    assert_eq!(ask.at.line, 100 - LINES_ABOVE);
    // While it is out, no other.
    assert!(store.due_ask("a.rs", 100, 30, now).is_none());
    store.set("a.rs", 60..260, Vec::new());
    assert_eq!(store.deadline("a.rs", 100, 30), None);
    // Scrolled past what was covered: at once.
    assert!(store.due_ask("a.rs", 250, 30, now).is_some());
    // The server could not answer (still loading): again soon, then later and later.
    assert!(store.due_ask("a.rs", 250, 30, now).is_none());
    store.failed("a.rs", now);
    assert_eq!(store.deadline("a.rs", 250, 30), Some(now + AFTER_FAILURE));
    store
        .due_ask("a.rs", 250, 30, now + AFTER_FAILURE)
        .expect("asked again");
    store.failed("a.rs", now);
    assert_eq!(
        store.deadline("a.rs", 250, 30),
        Some(now + AFTER_FAILURE * 2)
    );
    // Its diagnostics came: it has looked at the file again.
    store.set("a.rs", 200..400, Vec::new());
    store.server_spoke("a.rs", now);
    assert_eq!(store.deadline("a.rs", 250, 30), Some(now + INLAY_DELAY));
    // Hidden: never.
    store.set_enabled(false);
    assert_eq!(store.deadline("b.rs", 0, 30), None);
}
