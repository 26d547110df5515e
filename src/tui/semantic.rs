//! Semantic highlighting: the host's language server says what each name is (a function,
//! a parameter, a type, a macro, …); those colors are laid over tree-sitter's, which only
//! knows the syntax. A setting (`semantic_highlighting` in config.toml), off by default.
//!
//! Like inlay hints (`tui::inlay`), the spans come for a revision, are carried into our
//! text by the session loop, follow every edit, and are asked for again once typing
//! pauses. They are drawn over the editor already drawn: only the text's color changes,
//! so selections, matches and cursors keep their backgrounds.

use std::collections::HashMap;
use std::ops::Range;
use std::time::Instant;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ropey::Rope;

use crate::text::{Assoc, LineCol, Operation};
use crate::tui::ask_again::AskAgain;
use crate::tui::editor::{Editor, gutter_width};
use crate::tui::popup::{AskKind, IntelAsk};
use crate::tui::theme::Theme;

/// A name and what the server says it is (its token type).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub range: Range<usize>,
    pub kind: String,
}

#[derive(Debug, Default)]
struct FileSpans {
    spans: Vec<Span>,
    ask: AskAgain,
}

#[derive(Debug, Default)]
pub struct SemanticHighlights {
    enabled: bool,
    files: HashMap<String, FileSpans>,
}

impl SemanticHighlights {
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
        if !enabled {
            self.files.clear();
        }
    }

    pub fn for_path(&self, path: &str) -> &[Span] {
        self.files
            .get(path)
            .map_or(&[], |file| file.spans.as_slice())
    }

    /// The host's spans for `path`, already in our text.
    pub fn set(&mut self, path: &str, mut spans: Vec<Span>) {
        let file = self.files.entry(path.to_owned()).or_default();
        spans.sort_by_key(|span| span.range.start);
        file.spans = spans;
        file.ask.answered();
    }

    pub fn failed(&mut self, path: &str, now: Instant) {
        self.files
            .entry(path.to_owned())
            .or_default()
            .ask
            .failed(now);
    }

    pub fn dropped(&mut self, path: &str) {
        if let Some(file) = self.files.get_mut(path) {
            file.ask.dropped();
        }
    }

    /// Carries `path`'s spans over an edit; a span whose text is gone goes. Asks again
    /// once typing pauses.
    pub fn map_edit(&mut self, path: &str, operation: &Operation, now: Instant) {
        let Some(file) = self.files.get_mut(path) else {
            return;
        };
        file.spans.retain_mut(|span| {
            // Typed at either edge is not part of the name (until the server says so).
            let start = operation.transform_position(span.range.start, Assoc::After);
            let end = operation
                .transform_position(span.range.end, Assoc::Before)
                .max(start);
            span.range = start..end;
            start < end
        });
        file.ask.edited(now);
    }

    /// The server has news about `path` (its diagnostics came).
    pub fn server_spoke(&mut self, path: &str, now: Instant) {
        if let Some(file) = self.files.get_mut(path) {
            file.ask.edited(now);
        }
    }

    pub fn deadline(&self, path: &str) -> Option<Instant> {
        self.due_at(path, Instant::now())
    }

    fn due_at(&self, path: &str, now: Instant) -> Option<Instant> {
        if !self.enabled {
            return None;
        }
        match self.files.get(path) {
            Some(file) => file.ask.due_at(now, false),
            None => Some(now),
        }
    }

    /// The question for `path` if it is due now; it counts as asked.
    pub fn due_ask(&mut self, path: &str, now: Instant) -> Option<IntelAsk> {
        if self.due_at(path, now)? > now {
            return None;
        }
        self.files
            .entry(path.to_owned())
            .or_default()
            .ask
            .asked(now);
        Some(IntelAsk {
            kind: AskKind::SemanticTokens,
            path: path.to_owned(),
            at: LineCol { line: 0, col: 0 },
            explicit: false,
            change: None,
        })
    }
}

/// The theme scope a server's token type is drawn with (tree-sitter's capture names,
/// which every theme already colors); `None` leaves tree-sitter's color.
pub fn scope_of(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "function" => "function",
        "method" => "function.method",
        "macro" => "function.macro",
        "parameter" => "variable.parameter",
        "variable" => "variable",
        "property" => "variable.other.member",
        "type" | "struct" | "class" | "interface" | "typeAlias" | "builtinType" => "type",
        "enum" => "type.enum",
        "enumMember" => "type.enum.variant",
        "typeParameter" => "type.parameter",
        "namespace" => "namespace",
        "keyword" | "selfKeyword" => "keyword",
        "lifetime" => "label",
        "string" => "string",
        "number" => "constant.numeric",
        "boolean" => "constant.builtin.boolean",
        "comment" => "comment",
        "attribute" | "decorator" => "attribute",
        _ => return None,
    })
}

/// Colors the text of `spans` on screen with their scopes' foreground (drawn after the
/// editor, before inlay hints move cells about).
pub fn draw_in_editor(
    area: Rect,
    buf: &mut Buffer,
    editor: &Editor,
    rope: &Rope,
    spans: &[Span],
    theme: &Theme,
) {
    if spans.is_empty() || area.is_empty() {
        return;
    }
    let text_x = area.x as usize + gutter_width(rope).min(area.width as usize);
    let first = editor.scroll_line().min(rope.len_lines().saturating_sub(1));
    let visible = rope.line_to_char(first)
        ..rope.line_to_char((first + area.height as usize).min(rope.len_lines()));
    let start = spans.partition_point(|span| span.range.end <= visible.start);
    for span in &spans[start..] {
        if span.range.start >= visible.end {
            break;
        }
        let Some(fg) = scope_of(&span.kind).and_then(|scope| theme.try_get(scope)?.fg) else {
            continue;
        };
        for at in span.range.clone().take_while(|&at| at < rope.len_chars()) {
            let Some((row, col)) = editor.screen_offset(rope, at) else {
                continue;
            };
            let (x, y) = (text_x + col, area.y as usize + row);
            if x < area.right() as usize && y < area.bottom() as usize {
                buf[(x as u16, y as u16)].fg = fg;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use ratatui::widgets::Widget;

    use super::*;
    use crate::tui::editor::EditorWidget;
    use crate::tui::keymap::Mode;
    use crate::tui::theme::{ColorMode, Theme};

    #[test]
    fn a_parameter_is_drawn_in_the_parameter_color_over_the_plain_text() {
        let theme = Theme::load_from("default-dark", None, ColorMode::TrueColor).unwrap();
        let rope = Rope::from_str("fn area(width: u32) -> u32 {\n    width * 2\n}\n");
        let mut editor = Editor::new(Mode::Insert);
        editor.set_viewport(40, 3);
        let area = Rect::new(0, 0, 40, 3);
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
        let body_width = rope.line_to_char(1) + 4;
        let spans = [Span {
            range: body_width..body_width + 5,
            kind: "parameter".into(),
        }];
        let plain = buf[(5 + 4, 1)].fg;
        draw_in_editor(area, &mut buf, &editor, &rope, &spans, &theme);
        let parameter = theme.get("variable.parameter").fg.unwrap();
        // Gutter "   2 " is 5 wide; `width` starts 4 in.
        let colors: Vec<_> = (9..16).map(|x| buf[(x, 1)].fg).collect();
        assert_eq!(colors[..5], [parameter; 5]);
        assert_eq!(colors[5], plain, "the text after it keeps its color");
        assert_ne!(plain, parameter);
    }

    #[test]
    fn spans_follow_edits_and_lose_their_text_with_it() {
        let mut store = SemanticHighlights::default();
        store.set_enabled(true);
        // "fn area(x)" : `area` a function, `x` a parameter.
        store.set(
            "a.rs",
            vec![
                Span {
                    range: 3..7,
                    kind: "function".into(),
                },
                Span {
                    range: 8..9,
                    kind: "parameter".into(),
                },
            ],
        );
        let now = Instant::now();
        // Typed in front: both move; typed right after `area` is not part of it.
        store.map_edit("a.rs", &Operation::insert(10, 0, "pub ").unwrap(), now);
        store.map_edit("a.rs", &Operation::insert(14, 11, "2").unwrap(), now);
        let ranges: Vec<_> = store
            .for_path("a.rs")
            .iter()
            .map(|s| s.range.clone())
            .collect();
        assert_eq!(ranges, [7..11, 13..14]);
        // `x` deleted: its span goes.
        store.map_edit("a.rs", &Operation::delete(15, 13..14).unwrap(), now);
        assert_eq!(store.for_path("a.rs").len(), 1);
        assert_eq!(
            store.deadline("a.rs"),
            Some(now + crate::tui::ask_again::AFTER_TYPING)
        );
        assert_eq!(scope_of("parameter"), Some("variable.parameter"));
        assert_eq!(scope_of("unknownThing"), None);
    }
}
