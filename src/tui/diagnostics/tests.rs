//! Tests of diagnostics on screen: ranges follow edits, the list's order, message wrapping, and the
//! gutter marks and underlines drawn.

use super::*;
use crate::text::LineCol;

fn item(start: (usize, usize), end: (usize, usize), severity: Severity) -> DiagnosticItem {
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
        message: "undefined name 'x'\nmore".into(),
        source: Some("pyflakes".into()),
        tags: Vec::new(),
    }
}

fn edit(store: &mut DiagnosticStore, text: &str, op: Operation) -> Rope {
    let before = Rope::from_str(text);
    let mut after = before.clone();
    op.apply(&mut after).unwrap();
    store.map_edit("a.py", &before, &op, &after);
    after
}

#[test]
fn ranges_stay_on_their_text_through_edits_and_vanish_with_it() {
    let text = "a = 1\nprint(x)\n";
    let mut store = DiagnosticStore::default();
    store.set("a.py", vec![item((1, 6), (1, 7), Severity::Error)]);

    // A line typed above moves the mark down one line.
    let op = Operation::from_edits(text.chars().count(), [(0..0, "b = 2\n")]).unwrap();
    let after = edit(&mut store, text, op);
    let moved = &store.for_path("a.py")[0];
    assert_eq!(
        (moved.range.start, moved.range.end),
        (LineCol { line: 2, col: 6 }, LineCol { line: 2, col: 7 })
    );
    assert_eq!(store.on_line("a.py", 2).unwrap().severity, Severity::Error);
    assert!(store.on_line("a.py", 1).is_none());

    // Typing right before or after the name does not stretch the range.
    let text = after.to_string();
    let x = line_col_to_char(&after, LineCol { line: 2, col: 6 });
    let op = Operation::from_edits(after.len_chars(), [(x..x, "yy"), (x + 1..x + 1, "z")]).unwrap();
    let after = edit(&mut store, &text, op);
    let kept = &store.for_path("a.py")[0];
    let start = line_col_to_char(&after, kept.range.start);
    let end = line_col_to_char(&after, kept.range.end);
    assert_eq!(after.slice(start..end).to_string(), "x");

    // Deleting the name drops the diagnostic, and the file with it.
    let text = after.to_string();
    let op = Operation::from_edits(after.len_chars(), [(start..end, "")]).unwrap();
    edit(&mut store, &text, op);
    assert!(store.for_path("a.py").is_empty() && store.is_empty());
}

#[test]
fn the_list_shows_every_file_the_most_severe_first() {
    let mut store = DiagnosticStore::default();
    store.set("b.py", vec![item((3, 0), (3, 1), Severity::Warning)]);
    store.set(
        "a.py",
        vec![
            item((0, 4), (0, 5), Severity::Hint),
            item((5, 0), (5, 1), Severity::Error),
        ],
    );
    store.set("c.py", vec![item((1, 0), (1, 1), Severity::Error)]);
    let rows: Vec<_> = store
        .rows()
        .iter()
        .map(|row| {
            let l = &row.location;
            format!("{:?} {} {}", l.mark, l.place(), l.text)
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            "Some(('E', \"error\")) a.py:6:1 undefined name 'x' (pyflakes)",
            "Some(('E', \"error\")) c.py:2:1 undefined name 'x' (pyflakes)",
            "Some(('W', \"warning\")) b.py:4:1 undefined name 'x' (pyflakes)",
            "Some(('H', \"hint\")) a.py:1:5 undefined name 'x' (pyflakes)",
        ]
    );
    assert_eq!(
        store.rows()[0].detail,
        "undefined name 'x'\nmore (pyflakes)"
    );
    store.set("a.py", Vec::new());
    assert_eq!(store.rows().len(), 2);
}

/// Draws `text` with `items` at 40x`rows` and returns the buffer.
fn drawn(text: &str, rows: u16, items: &[DiagnosticItem]) -> (Buffer, Theme) {
    use crate::tui::editor::EditorWidget;
    use ratatui::widgets::Widget;
    let theme = Theme::load_from(
        "default-dark",
        None,
        crate::tui::theme::ColorMode::TrueColor,
    )
    .unwrap();
    let rope = Rope::from_str(text);
    let mut editor = Editor::new(crate::tui::keymap::Mode::Insert);
    editor.set_viewport(40, rows as usize);
    let area = Rect::new(0, 0, 40, rows);
    let mut buf = Buffer::empty(area);
    EditorWidget {
        editor: &editor,
        rope: &rope,
        syntax: None,
        theme: &theme,
        remotes: &[],
        search: None,
        find_pattern: None,
        git: None,
    }
    .render(area, &mut buf);
    draw_in_editor(area, &mut buf, &editor, &rope, items, &theme);
    (buf, theme)
}

fn marks(buf: &Buffer) -> Vec<(u16, String)> {
    (0..buf.area.height)
        .filter(|&y| buf[(0, y)].symbol() != " ")
        .map(|y| (y, buf[(0, y)].symbol().to_owned()))
        .collect()
}

fn underlined_rows(buf: &Buffer) -> Vec<u16> {
    (0..buf.area.height)
        .filter(|&y| {
            (5..buf.area.width).any(|x| buf[(x, y)].modifier.contains(Modifier::UNDERLINED))
        })
        .collect()
}

#[test]
fn a_range_over_the_whole_file_is_marked_and_underlined_once() {
    let text = "fn a() {}\nfn b() {}\nfn c() {}\nfn d() {}\n";
    let mut whole_file = item((0, 0), (4, 0), Severity::Warning);
    whole_file.message = "file not included in module tree".into();
    let (buf, _) = drawn(text, 6, &[whole_file]);
    assert_eq!(marks(&buf), vec![(0, "W".to_owned())]);
    assert_eq!(underlined_rows(&buf), vec![0]);
    // The first line is underlined to its end (the text starts at column 5), the
    // gutter is not.
    assert!((5..14).all(|x| buf[(x, 0)].modifier.contains(Modifier::UNDERLINED)));
    assert!(!buf[(14, 0)].modifier.contains(Modifier::UNDERLINED));
    assert!(!buf[(3, 0)].modifier.contains(Modifier::UNDERLINED));
}

#[test]
fn unnecessary_code_is_dimmed_over_its_range_without_an_underline() {
    let text = "fn a() {}\n#[cfg(any())]\nfn b() {\n    gone();\n}\nfn c() {}\n";
    let mut inactive = item((1, 0), (4, 1), Severity::Hint);
    inactive.message = "code is inactive due to #[cfg] directives".into();
    inactive.tags = vec![DiagnosticTag::Unnecessary];
    let mut unused = item((5, 3), (5, 4), Severity::Warning);
    unused.tags = vec![DiagnosticTag::Unnecessary];
    let (buf, _) = drawn(text, 7, &[inactive, unused]);
    assert_eq!(marks(&buf), vec![(1, "H".to_owned()), (5, "W".to_owned())]);
    let dim = |x: u16, y: u16| buf[(x, y)].modifier.contains(Modifier::DIM);
    // Every character of the block, on every line of it, and nothing else.
    assert!((5..18).all(|x| dim(x, 1)), "#[cfg(any())]");
    assert!((5..13).all(|x| dim(x, 2)) && (5..16).all(|x| dim(x, 3)) && dim(5, 4));
    assert!(!dim(5, 0) && !dim(18, 1) && !dim(6, 4) && !dim(5, 5));
    // A hint that only says "unnecessary" is not underlined; the unused warning is.
    assert_eq!(underlined_rows(&buf), vec![5]);
    assert!(dim(8, 5) && !dim(9, 5));
}
