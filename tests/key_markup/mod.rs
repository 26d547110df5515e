//! The harness of the key-sequence tests (tests/tui_keys.rs, tests/tui_keys_lines.rs): a document with its selection written inline, keys pressed through
//! the real keymaps, and the document and selection expected afterwards.
//!
//! Markup (as in helix): `#[` and `]#` enclose the selection and `|` marks the cursor (the
//! head) inside it; `#[|]#` is a plain cursor. Keys: characters type themselves, `<name>`
//! is a named key as keymap files write it (`<ctrl-z>`, `<shift-right>`, `<esc>`), and
//! `<lt>` is `<`.

// Each test file that includes this uses part of it.
#![allow(dead_code)]

use cotype::text::Operation;
use cotype::tui::editor::{Editor, EditorInput, Selection};
use cotype::tui::highlight::Syntax;
use cotype::tui::keymap::{Key, KeyResult, Keymap};
use ropey::Rope;

pub fn parse(markup: &str) -> (Rope, Selection) {
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

pub fn render(rope: &Rope, selection: Selection) -> String {
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

pub fn keys(spec: &str) -> Vec<Key> {
    let mut out = Vec::new();
    let mut rest = spec;
    while let Some(c) = rest.chars().next() {
        if let Some(after) = rest.strip_prefix("<lt>") {
            out.push(Key::parse("<").unwrap());
            rest = after;
        } else if c == '<' {
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
pub struct Harness {
    pub keymap: Keymap,
    pub editor: Editor,
    pub rope: Rope,
    pub copied: Vec<String>,
    /// The document's syntax tree, kept up to date and given to the editor before each
    /// input as the app does (`Harness::with_syntax`).
    pub syntax: Option<Syntax>,
}

impl Harness {
    pub fn new(keymap: &str, markup: &str) -> Self {
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
            syntax: None,
        }
    }

    /// The document is the file at `path` with its syntax tree, as the app keeps it.
    pub fn with_syntax(mut self, path: &str) -> Self {
        self.editor.set_path(path);
        self.syntax = Syntax::for_path(path, &self.rope);
        assert!(self.syntax.is_some(), "cotype parses {path}");
        self
    }

    pub fn input(&mut self, input: EditorInput) {
        self.editor
            .set_indent_tree(self.syntax.as_ref().and_then(Syntax::indent_tree));
        let outcome = self.editor.handle(input, &self.rope);
        if let Some(operation) = outcome.operation {
            let before = self.rope.clone();
            operation.apply(&mut self.rope).unwrap();
            if let Some(syntax) = self.syntax.as_mut() {
                syntax.update(&before, &operation, &self.rope);
            }
            self.editor.edit_applied(&operation);
        }
        self.copied.extend(outcome.copied);
    }

    pub fn press(&mut self, spec: &str) -> &mut Self {
        for key in keys(spec) {
            match self.keymap.handle_key(self.editor.mode, key) {
                KeyResult::Action(action) => self.input(EditorInput::Action(action)),
                KeyResult::Command(command) => self.input(EditorInput::Command(command)),
                KeyResult::Insert(c) => self.input(EditorInput::Insert(c)),
                KeyResult::Pending | KeyResult::Unbound => {}
            }
        }
        self
    }

    /// Someone else's edit arrives.
    pub fn remote(&mut self, operation: Operation) -> &mut Self {
        operation.apply(&mut self.rope).unwrap();
        self.editor.apply_remote(&operation, &self.rope);
        self
    }

    /// The host's edit for this user's own rename, code action or format arrives.
    pub fn made_for_me(&mut self, operation: Operation) -> &mut Self {
        let before = self.rope.clone();
        operation.apply(&mut self.rope).unwrap();
        self.editor
            .apply_edit_made_for_me(&operation, &before, &self.rope);
        self
    }

    pub fn state(&self) -> String {
        render(&self.rope, self.editor.selection)
    }
}

pub fn check(keymap: &str, before: &str, keys: &str, after: &str) {
    let mut harness = Harness::new(keymap, before);
    harness.press(keys);
    assert_eq!(
        harness.state(),
        after,
        "\nkeymap {keymap}, keys {keys:?} on {before:?}"
    );
}

/// [`check`] for a file at `path`, whose language decides comments and indentation.
pub fn check_file(keymap: &str, path: &str, before: &str, keys: &str, after: &str) {
    let mut harness = Harness::new(keymap, before);
    harness.editor.set_path(path);
    harness.press(keys);
    assert_eq!(
        harness.state(),
        after,
        "\nkeymap {keymap}, file {path}, keys {keys:?} on {before:?}"
    );
}

/// [`check_file`] with the file's syntax tree, as the app has it (Enter's indentation
/// follows the language's indents query).
pub fn check_parsed(keymap: &str, path: &str, before: &str, keys: &str, after: &str) {
    let mut harness = Harness::new(keymap, before).with_syntax(path);
    harness.press(keys);
    assert_eq!(
        harness.state(),
        after,
        "\nkeymap {keymap}, parsed file {path}, keys {keys:?} on {before:?}"
    );
}
