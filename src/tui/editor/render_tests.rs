//! What the screen shows of the editing comforts: the bracket matching the one at the
//! cursor marked, and long lines wrapped onto the rows below (with the cursor, clicks and
//! scrolling agreeing with where the text is drawn).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::widgets::Widget;
use ropey::Rope;

use super::*;
use crate::tui::keymap::{Action, Mode};
use crate::tui::theme::{ColorMode, Theme};

fn theme() -> Theme {
    Theme::load_from("default-dark", None, ColorMode::TrueColor).unwrap()
}

/// Draws `editor` over `rope` in `width`x`rows` and returns the buffer and the cursor.
fn drawn(
    editor: &Editor,
    rope: &Rope,
    width: u16,
    rows: u16,
) -> (Buffer, Option<ratatui::layout::Position>) {
    let theme = theme();
    let area = Rect::new(0, 0, width, rows);
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
    (buf, cursor)
}

fn row_text(buf: &Buffer, y: u16) -> String {
    (0..buf.area.width)
        .map(|x| buf[(x, y)].symbol())
        .collect::<String>()
}

fn marked(buf: &Buffer, x: u16, y: u16) -> bool {
    buf[(x, y)].modifier.contains(Modifier::UNDERLINED)
}

#[test]
fn the_bracket_matching_the_one_at_the_cursor_is_marked() {
    let rope = Rope::from_str("f(a, [b])\n");
    let mut editor = Editor::new(Mode::Insert);
    editor.set_viewport(20, 3);
    // The gutter "   1 " is 5 wide: `(` at x 6, `[` 10, `]` 12, `)` 13.
    editor.set_selection(&rope, Selection::cursor(1));
    let (buf, _) = drawn(&editor, &rope, 20, 3);
    assert!(marked(&buf, 6, 0) && marked(&buf, 13, 0));
    assert!(!marked(&buf, 12, 0), "the inner ] is not part of the pair");
    // Just after a bracket (one typed a moment ago) marks its pair too.
    editor.set_selection(&rope, Selection::cursor(9));
    let (buf, _) = drawn(&editor, &rope, 20, 3);
    assert!(marked(&buf, 6, 0) && marked(&buf, 13, 0));
    editor.set_selection(&rope, Selection::cursor(6));
    let (buf, _) = drawn(&editor, &rope, 20, 3);
    assert!(marked(&buf, 10, 0) && marked(&buf, 12, 0) && !marked(&buf, 13, 0));
    // Away from brackets nothing is marked.
    editor.set_selection(&rope, Selection::cursor(3));
    let (buf, _) = drawn(&editor, &rope, 20, 3);
    assert!((0..20).all(|x| !marked(&buf, x, 0)));
}

#[test]
fn soft_wrap_shows_long_lines_on_the_rows_below_and_keeps_the_cursor_on_its_text() {
    // A 15-wide view: the gutter "   1 " of 5, 10 columns of text.
    let rope = Rope::from_str("0123456789abcdefghijKLM\nnext\n");
    let mut editor = Editor::new(Mode::Insert);
    editor.set_viewport(15, 4);
    let _ = editor.handle(EditorInput::Action(Action::ToggleSoftWrap), &rope);
    editor.set_selection(&rope, Selection::cursor(21));
    let (buf, cursor) = drawn(&editor, &rope, 15, 4);
    assert_eq!(row_text(&buf, 0), "   1 0123456789");
    assert_eq!(row_text(&buf, 1), "     abcdefghij");
    assert_eq!(row_text(&buf, 2), "     KLM       ");
    assert_eq!(row_text(&buf, 3), "   2 next      ");
    let cursor = cursor.unwrap();
    assert_eq!((cursor.x, cursor.y), (5 + 1, 2), "the cursor is on the L");
    // A click on a wrapped row lands on the character drawn there.
    assert_eq!(editor.char_at_screen(&rope, 1, 2), 12);
    assert_eq!(editor.char_at_screen(&rope, 3, 1), 25);

    // Without wrap the same line runs off the edge, scrolled to the cursor.
    let mut plain = Editor::new(Mode::Insert);
    plain.set_viewport(15, 4);
    plain.set_selection(&rope, Selection::cursor(21));
    let (buf, _) = drawn(&plain, &rope, 15, 4);
    assert_eq!(row_text(&buf, 1).trim(), "2");
    let _ = plain.handle(EditorInput::Action(Action::ToggleSoftWrap), &rope);
    let (buf, _) = drawn(&plain, &rope, 15, 4);
    assert_eq!(row_text(&buf, 1).trim(), "abcdefghij");
}

#[test]
fn with_soft_wrap_the_view_scrolls_so_the_cursors_row_is_on_screen() {
    // Ten lines of 25 characters: three rows each in 10 columns.
    let text: String = (0..10)
        .map(|i| format!("{i}{}\n", "x".repeat(24)))
        .collect();
    let rope = Rope::from_str(&text);
    let mut editor = Editor::new(Mode::Insert);
    editor.set_viewport(15, 8);
    let _ = editor.handle(EditorInput::Action(Action::ToggleSoftWrap), &rope);
    // The end of line 5 (its third row).
    let at = rope.line_to_char(5) + 25;
    editor.set_selection(&rope, Selection::cursor(at));
    let (buf, cursor) = drawn(&editor, &rope, 15, 8);
    let cursor = cursor.expect("the cursor is on screen");
    assert!(cursor.y < 8);
    let (row, _) = editor.screen_offset(&rope, at).unwrap();
    assert_eq!(row, cursor.y as usize);
    assert!(
        (0..8).any(|y| row_text(&buf, y).starts_with("   7 6")),
        "a line of margin below the cursor's line"
    );
}
