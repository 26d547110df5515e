//! The editor: one person's view of one shared document.
//!
//! The document (a rope) belongs to the client session, because every change to it must go
//! through the OT client. So this view never mutates text: an edit command returns an
//! [`Operation`] that the caller applies through the session (which applies local edits at
//! once), and the view has already placed its selection where the edit leaves it; the
//! edit becomes an undo step once the caller says the session accepted it
//! ([`Editor::edit_applied`]), so a refused one leaves none. Edits by
//! others arrive as operations too; [`Editor::apply_remote`] maps the selection, the scroll
//! position and the undo history through them, so undo only ever removes your own text.
//!
//! Positions are char indices (as ropey and `text::Operation` count); motions step over
//! grapheme clusters, so an emoji ZWJ sequence or a letter with combining marks is one
//! step, and columns on screen are display columns (tabs to tab stops, CJK and emoji two
//! wide). Rendering ([`EditorWidget`]) is a pure function of the view, the rope, the
//! syntax tree and the other people's cursors.

use ropey::Rope;

use crate::text::Operation;
use crate::tui::keymap::{Action, Command, Mode};

mod actions;
mod commands;
mod cursors;
mod edits;
mod motions;
mod objects;
mod render;
pub mod replace;
mod state;
pub mod substitute;
#[cfg(test)]
mod tests;
mod text;
mod undo;

pub use commands::last_line;
pub use render::{EditorWidget, RemoteCursor};
pub use replace::FindOptions;
pub use state::{Editor, Selection, SharedRegister};
pub use substitute::{SubstituteAnswer, SubstituteRequest};
pub use text::{char_at_display_col, display_col, gutter_width, line_break, with_line_breaks};

use motions::{char_class, word_end, word_left, word_right};
use state::Register;
use text::{
    first_non_blank, grapheme_starts, grapheme_width, leading_whitespace, line_content, line_end,
    line_range, line_text, next_grapheme, prev_grapheme,
};

/// Lines kept visible above and below the cursor when scrolling.
const SCROLL_OFF: usize = 3;
/// Undo steps kept per document.
const UNDO_LIMIT: usize = 1000;

/// What the editor is asked to do: a bound action, a typed character, or pasted text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditorInput {
    Action(Action),
    Insert(char),
    /// Bracketed paste from the terminal: applied as one edit, one undo step.
    Paste(String),
    /// Find `query` from the cursor (`forward` or backward) and select the match.
    Find {
        query: String,
        forward: bool,
    },
    /// A normal-mode command with a count or an operator (`3j`, `d2w`).
    Command(Command),
    /// vim's `:s///` (one edit, one undo step), or with `c` its first question.
    Substitute(SubstituteRequest),
    /// The answer to the match a `:s///c` shows.
    SubstituteAnswer(SubstituteAnswer),
    /// Find and replace's "replace": the match the selection holds (its own edit and
    /// undo step), then select the next; with no match selected, select the next.
    ReplaceMatch(SubstituteRequest),
}

/// What came of an input. The caller must apply `operation` to the rope (through the
/// session) before giving the editor the next input.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub operation: Option<Operation>,
    /// Text for the system clipboard (the caller sends it as OSC 52).
    pub copied: Option<String>,
    /// The user moved the view on their own; following someone stops.
    pub navigated: bool,
    /// Something to tell the user in the message area.
    pub message: Option<String>,
    /// The editor did not know the action; the caller may handle it (save, quit, ...).
    pub ignored: bool,
}
