//! The host's git repository on the participant's screen: the branch on the status line,
//! a gutter mark for each line added (`+`), changed (`~`) or with lines deleted above it
//! (`_`) against the index, keys to the next and previous change, a picker of changed
//! files and a popup with the current file's diff against HEAD.
//!
//! The host sends each open file's index and HEAD texts once (`Request::GitBase`); the
//! marks are the diff of that against the shared text as it is now (`client::git`),
//! computed when a frame needs them after the text changed, so they follow everyone's
//! typing, unsaved included, without asking the host again.

use std::cell::{Cell, Ref, RefCell};
use std::collections::HashMap;
use std::time::{Duration, Instant};

use ropey::Rope;

use crate::client::git::{LineChange, LineChanges};
use crate::protocol::git::{GitBase, GitChange};

mod diff_view;
mod requests;

pub use diff_view::DiffView;
pub use requests::GitRequests;

/// Texts larger than this get no gutter: diffing them on every change would cost frames.
const MAX_GUTTER_BYTES: usize = 8 * 1024 * 1024;

/// A file whose comparison took longer than this is compared again only when typing
/// pauses (`GitView::idle_work`), its marks as they were until then: a keystroke's frame
/// in a huge file never waits for a whole-file diff.
const SLOW_DIFF: Duration = Duration::from_millis(4);

/// The gutter glyph and the theme scope of a line's change.
pub fn mark_style(change: LineChange) -> (char, &'static str) {
    match change {
        LineChange::Added => ('+', "diff.plus"),
        LineChange::Modified => ('~', "diff.delta"),
        LineChange::Deleted => ('_', "diff.minus"),
    }
}

/// What the participant knows of the host's repository.
#[derive(Debug, Default)]
pub struct GitView {
    /// The host's branch; none outside a repository or before the host said.
    pub branch: Option<String>,
    /// Changed shared files as last listed.
    pub changes: Vec<GitChange>,
    bases: HashMap<String, Base>,
}

#[derive(Debug)]
struct Base {
    texts: GitBase,
    /// Bumped by every change of the shared text; the marks were computed at `computed.0`.
    generation: u64,
    computed: RefCell<Option<(u64, LineChanges)>>,
    /// The last comparison took longer than `SLOW_DIFF`.
    slow: Cell<bool>,
}

impl Base {
    fn is_fresh(&self) -> bool {
        matches!(&*self.computed.borrow(), Some((at, _)) if *at == self.generation)
    }

    /// Compares the index text with `rope` now.
    fn compute(&self, rope: &Rope) {
        let Some(index) = self.texts.index.as_deref() else {
            return;
        };
        let started = Instant::now();
        let changes = LineChanges::compute(index, &rope.to_string());
        self.slow.set(started.elapsed() > SLOW_DIFF);
        *self.computed.borrow_mut() = Some((self.generation, changes));
    }
}

impl GitView {
    /// The host's index and HEAD texts of `path` (none: no gutter for it).
    pub fn set_base(&mut self, path: &str, texts: Option<GitBase>) {
        match texts {
            Some(texts) => {
                let generation = self.bases.get(path).map_or(0, |base| base.generation + 1);
                self.bases.insert(
                    path.to_owned(),
                    Base {
                        texts,
                        generation,
                        computed: RefCell::new(None),
                        slow: Cell::new(false),
                    },
                );
            }
            None => {
                self.bases.remove(path);
            }
        }
    }

    /// The shared text of `path` changed: its marks are computed again when next drawn.
    pub fn text_changed(&mut self, path: &str) {
        if let Some(base) = self.bases.get_mut(path) {
            base.generation += 1;
        }
    }

    /// A file was renamed: its base is the old path's no longer (asked again on the
    /// repository's next move).
    pub fn forget(&mut self, path: &str) {
        self.bases.remove(path);
    }

    /// HEAD's text of `path`, if the host sent one.
    pub fn head_text(&self, path: &str) -> Option<&str> {
        self.bases.get(path)?.texts.head_text()
    }

    /// Whether the host sent a base for `path` (it is tracked, or staged).
    pub fn is_tracked(&self, path: &str) -> bool {
        self.bases
            .get(path)
            .is_some_and(|base| base.texts.index.is_some())
    }

    /// Whether a slow file's marks wait for typing to pause.
    pub fn has_idle_work(&self) -> bool {
        self.bases
            .values()
            .any(|base| base.slow.get() && !base.is_fresh())
    }

    /// Typing paused: the marks of slow files are compared again.
    pub fn idle_work(&self, documents: &impl crate::tui::app::DocumentTexts) {
        for (path, base) in &self.bases {
            if base.slow.get()
                && !base.is_fresh()
                && let Some(rope) = documents.rope(path)
            {
                base.compute(rope);
            }
        }
    }

    /// `path`'s marks against the index for the text `rope` holds now (for a slow file,
    /// possibly those of a moment ago, until typing pauses).
    pub fn line_changes(&self, path: &str, rope: &Rope) -> Option<Ref<'_, LineChanges>> {
        let base = self.bases.get(path)?;
        let index = base.texts.index.as_deref()?;
        if rope.len_bytes() > MAX_GUTTER_BYTES || index.len() > MAX_GUTTER_BYTES {
            return None;
        }
        if !base.is_fresh() && !base.slow.get() {
            base.compute(rope);
        }
        Ref::filter_map(base.computed.borrow(), |computed| {
            computed.as_ref().map(|(_, changes)| changes)
        })
        .ok()
    }
}
