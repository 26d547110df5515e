//! Key-sequence tests: a document with its selection written inline, keys pressed through
//! the real keymaps, and the document and selection expected afterwards.
//!
//! Markup (as in helix): `#[` and `]#` enclose the selection and `|` marks the cursor (the
//! head) inside it; `#[|]#` is a plain cursor. Keys: characters type themselves, `<name>`
//! is a named key as keymap files write it (`<ctrl-z>`, `<shift-right>`, `<esc>`).

use cotype::text::Operation;
use cotype::tui::editor::{Editor, EditorInput, Selection};
use cotype::tui::keymap::{Key, KeyResult, Keymap};
use ropey::Rope;

fn parse(markup: &str) -> (Rope, Selection) {
    let open = markup.find("#[").expect("selection start #[");
    let close = markup.find("]#").expect("selection end ]#");
    let inner = &markup[open + 2..close];
    let text = format!(
        "{}{}{}",
        &markup[..open],
        inner.replace('|', ""),
        &markup[close + 2..]
    );
    let start = markup[..open].chars().count();
    let len = inner.chars().count() - 1;
    let selection = if inner.starts_with('|') {
        Selection {
            anchor: start + len,
            head: start,
        }
    } else {
        assert!(inner.ends_with('|'), "| must start or end the selection");
        Selection {
            anchor: start,
            head: start + len,
        }
    };
    (Rope::from_str(&text), selection)
}

fn render(rope: &Rope, selection: Selection) -> String {
    let text = rope.to_string();
    let byte = |char_idx: usize| rope.char_to_byte(char_idx);
    let range = selection.range();
    let inner = &text[byte(range.start)..byte(range.end)];
    let inner = if selection.head < selection.anchor {
        format!("|{inner}")
    } else {
        format!("{inner}|")
    };
    format!(
        "{}#[{inner}]#{}",
        &text[..byte(range.start)],
        &text[byte(range.end)..]
    )
}

fn keys(spec: &str) -> Vec<Key> {
    let mut out = Vec::new();
    let mut rest = spec;
    while let Some(c) = rest.chars().next() {
        if c == '<' {
            let end = rest.find('>').expect("closing >");
            out.push(Key::parse(&rest[1..end]).expect("known key"));
            rest = &rest[end + 1..];
        } else {
            out.push(Key::parse(&c.to_string()).expect("typable key"));
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

/// An editor, its document and a keymap, driven the way the app drives them.
struct Harness {
    keymap: Keymap,
    editor: Editor,
    rope: Rope,
    copied: Vec<String>,
}

impl Harness {
    fn new(keymap: &str, markup: &str) -> Self {
        let keymap = Keymap::load_from(keymap, None).unwrap();
        let (rope, selection) = parse(markup);
        let mut editor = Editor::new(keymap.initial_mode());
        editor.set_viewport(40, 10);
        editor.set_selection(&rope, selection);
        Self {
            keymap,
            editor,
            rope,
            copied: Vec::new(),
        }
    }

    fn input(&mut self, input: EditorInput) {
        let outcome = self.editor.handle(input, &self.rope);
        if let Some(operation) = outcome.operation {
            operation.apply(&mut self.rope).unwrap();
        }
        self.copied.extend(outcome.copied);
    }

    fn press(&mut self, spec: &str) -> &mut Self {
        for key in keys(spec) {
            match self.keymap.handle_key(self.editor.mode, key) {
                KeyResult::Action(action) => self.input(EditorInput::Action(action)),
                KeyResult::Insert(c) => self.input(EditorInput::Insert(c)),
                KeyResult::Pending | KeyResult::Unbound => {}
            }
        }
        self
    }

    /// Someone else's edit arrives.
    fn remote(&mut self, operation: Operation) -> &mut Self {
        operation.apply(&mut self.rope).unwrap();
        self.editor.apply_remote(&operation, &self.rope);
        self
    }

    fn state(&self) -> String {
        render(&self.rope, self.editor.selection)
    }
}

fn check(keymap: &str, before: &str, keys: &str, after: &str) {
    let mut harness = Harness::new(keymap, before);
    harness.press(keys);
    assert_eq!(
        harness.state(),
        after,
        "\nkeymap {keymap}, keys {keys:?} on {before:?}"
    );
}

#[test]
fn markup_round_trips() {
    for markup in ["a#[bc|]#d", "a#[|bc]#d", "#[|]#", "x\n#[|]#"] {
        let (rope, selection) = parse(markup);
        assert_eq!(render(&rope, selection), markup);
    }
}

#[test]
fn typing_and_deleting() {
    check("default", "#[|]#", "hello", "hello#[|]#");
    check("default", "ab#[|]#cd", "<backspace><delete>", "a#[|]#d");
    check("default", "a#[bc|]#d", "X", "aX#[|]#d");
    check("default", "foo bar#[|]#", "<ctrl-backspace>", "foo #[|]#");
}

#[test]
fn newline_keeps_indentation_and_indents_after_an_opening_bracket() {
    check(
        "default",
        "    let x = 1;#[|]#",
        "<enter>",
        "    let x = 1;\n    #[|]#",
    );
    check("default", "fn f() {#[|]#", "<enter>", "fn f() {\n    #[|]#");
    check(
        "default",
        "\tif x {#[|]#\n\tfoo\n",
        "<enter>",
        "\tif x {\n\t\t#[|]#\n\tfoo\n",
    );
}

#[test]
fn tab_indents_and_dedent_removes_one_level() {
    check("default", "#[|]#x", "<tab>", "    #[|]#x");
    check("default", "#[a\nb\n|]#c", "<tab>", "#[    a\n    b\n|]#c");
    check("default", "    a#[|]#", "<shift-tab>", "a#[|]#");
    check("default", "      a#[|]#", "<backspace>", "      #[|]#");
    check("default", "      #[|]#", "<backspace>", "    #[|]#");
}

#[test]
fn motions_step_over_whole_graphemes() {
    // A family emoji (ZWJ sequence) and an e with a combining accent are one step each.
    check(
        "default",
        "#[|]#👨‍👩‍👧e\u{301}x",
        "<right><right>",
        "👨‍👩‍👧e\u{301}#[|]#x",
    );
    check("default", "a👨‍👩‍👧#[|]#", "<left>", "a#[|]#👨‍👩‍👧");
    check("default", "a\r\n#[|]#b", "<left>", "a#[|]#\r\nb");
}

#[test]
fn vertical_motion_keeps_the_display_column_across_wide_and_tab_characters() {
    // The cursor sits at display column 4; CJK characters are two columns wide.
    check(
        "default",
        "abcd#[|]#e\n漢字漢字\nab\tcd",
        "<down>",
        "abcde\n漢字#[|]#漢字\nab\tcd",
    );
    check(
        "default",
        "abcd#[|]#e\n漢字漢字\nab\tcd",
        "<down><down>",
        "abcde\n漢字漢字\nab\t#[|]#cd",
    );
    // A short line in between does not lose the column.
    check(
        "default",
        "abcdef#[|]#\nx\nabcdefgh",
        "<down><down>",
        "abcdef\nx\nabcdef#[|]#gh",
    );
}

#[test]
fn word_line_and_file_motions() {
    check(
        "default",
        "#[|]#foo bar.baz",
        "<ctrl-right>",
        "foo #[|]#bar.baz",
    );
    check(
        "default",
        "#[|]#foo bar.baz",
        "<ctrl-right><ctrl-right>",
        "foo bar#[|]#.baz",
    );
    check("default", "foo bar#[|]#", "<ctrl-left>", "foo #[|]#bar");
    check("default", "  ab#[|]#c", "<home>", "#[|]#  abc");
    check("default", "a#[|]#bc\nd", "<end>", "abc#[|]#\nd");
    check("default", "a\nb#[|]#\nc", "<ctrl-end>", "a\nb\nc#[|]#");
    check("default", "a\nb#[|]#\nc", "<ctrl-home>", "#[|]#a\nb\nc");
}

#[test]
fn shift_selects_and_typing_replaces_the_selection() {
    check(
        "default",
        "#[|]#hello",
        "<shift-right><shift-right>",
        "#[he|]#llo",
    );
    check(
        "default",
        "hel#[|]#lo",
        "<shift-left><shift-left>",
        "h#[|el]#lo",
    );
    check(
        "default",
        "#[|]#one two",
        "<ctrl-shift-right>X",
        "X#[|]#two",
    );
    check("default", "a#[bc|]#d", "<left>", "a#[|]#bcd");
}

#[test]
fn undo_and_redo_group_typing() {
    check("default", "#[|]#", "abc<ctrl-z>", "#[|]#");
    check("default", "#[|]#", "abc<ctrl-z><ctrl-y>", "abc#[|]#");
    check("default", "#[|]#", "ab<enter>cd<ctrl-z>", "ab\n#[|]#");
}

#[test]
fn undo_never_removes_someone_elses_text() {
    let mut harness = Harness::new("default", "#[|]#");
    harness.press("mine");
    // Bob types in front of and after my word while I was typing.
    let len = harness.rope.len_chars();
    harness.remote(Operation::insert(len, 0, "bob ").unwrap());
    let len = harness.rope.len_chars();
    harness.remote(Operation::insert(len, len, " too").unwrap());
    assert_eq!(harness.state(), "bob mine#[|]# too");
    harness.press("<ctrl-z>");
    assert_eq!(harness.rope.to_string(), "bob  too");
    harness.press("<ctrl-y>");
    assert_eq!(harness.rope.to_string(), "bob mine too");
}

#[test]
fn remote_edits_keep_my_cursor_on_the_same_text() {
    let mut harness = Harness::new("default", "hello #[|]#world");
    let len = harness.rope.len_chars();
    harness.remote(Operation::insert(len, 0, ">> ").unwrap());
    assert_eq!(harness.state(), ">> hello #[|]#world");
    // Text inserted exactly at my cursor goes after it.
    let len = harness.rope.len_chars();
    harness.remote(Operation::insert(len, 9, "big ").unwrap());
    assert_eq!(harness.state(), ">> hello #[|]#big world");
    // My position deleted by someone else collapses to the deletion point.
    let len = harness.rope.len_chars();
    harness.remote(Operation::delete(len, 3..13).unwrap());
    assert_eq!(harness.state(), ">> #[|]#world");
}

#[test]
fn cut_copy_and_paste() {
    let mut harness = Harness::new("default", "#[ab|]#cd");
    harness.press("<ctrl-x><end><ctrl-v>");
    assert_eq!(harness.state(), "cdab#[|]#");
    assert_eq!(harness.copied, vec!["ab".to_string()]);
    // With nothing selected, copy takes the whole line and paste puts it above.
    check(
        "default",
        "one\ntw#[|]#o",
        "<ctrl-c><ctrl-home><ctrl-v>",
        "two\n#[|]#one\ntwo",
    );
}

#[test]
fn bracketed_paste_is_one_edit_and_one_undo_step() {
    let mut harness = Harness::new("default", "x#[|]#");
    harness.input(EditorInput::Paste("line one\r\nline two".into()));
    assert_eq!(harness.state(), "xline one\nline two#[|]#");
    harness.press("<ctrl-z>");
    assert_eq!(harness.state(), "x#[|]#");
}

#[test]
fn find_selects_the_next_match_and_wraps() {
    let mut harness = Harness::new("default", "#[|]#foo Foo foo");
    harness.input(EditorInput::Find {
        query: "foo".into(),
        forward: true,
    });
    assert_eq!(harness.state(), "#[foo|]# Foo foo");
    harness.press("<F3>");
    assert_eq!(harness.state(), "foo #[Foo|]# foo");
    harness.press("<F3><F3>");
    assert_eq!(harness.state(), "#[foo|]# Foo foo");
    // An uppercase letter makes the search case-sensitive.
    harness.input(EditorInput::Find {
        query: "Foo".into(),
        forward: true,
    });
    assert_eq!(harness.state(), "foo #[Foo|]# foo");
}

#[test]
fn vim_normal_insert_and_visual_modes() {
    check("vim", "#[|]#abc", "lix<esc>", "a#[|]#xbc");
    check("vim", "#[|]#abc", "Ad<esc>", "abc#[|]#d");
    check("vim", "#[|]#one two", "wdw", "one #[|]#two");
    check("vim", "#[|]#one\ntwo\nthree", "jdd", "one\n#[|]#three");
    check("vim", "#[|]#one\ntwo", "ddp", "two\n#[|]#one");
    check("vim", "#[|]#abcd", "vlld", "#[|]#d");
    check("vim", "  #[|]#ab", "oxy<esc>", "  ab\n  x#[|]#y");
    check("vim", "#[|]#a\nb\nc", "Ggg", "#[|]#a\nb\nc");
    check("vim", "#[|]#abc", "xu", "#[|]#abc");
}
