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
/// pauses (`GitView::idle_work`), on a thread of its own, its marks as they were until
/// the answer comes: neither a keystroke's frame nor the pause waits for a whole-file diff.
const SLOW_DIFF: Duration = Duration::from_millis(4);

/// How often the loop looks for a comparison done on its thread.
const JOB_POLL: Duration = Duration::from_millis(10);

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
    /// A slow file's comparison running on its thread, for the text of that generation.
    job: RefCell<Option<(u64, std::sync::mpsc::Receiver<LineChanges>)>>,
}

impl Base {
    fn is_fresh(&self) -> bool {
        matches!(&*self.computed.borrow(), Some((at, _)) if *at == self.generation)
    }

    /// Starts comparing on a thread of its own (the rope is a cheap clone; the thread
    /// flattens it), unless that is under way for this text already.
    fn start_job(&self, rope: &Rope) {
        let running = matches!(&*self.job.borrow(), Some((at, _)) if *at == self.generation);
        if running {
            return;
        }
        let Some(index) = self.texts.index.clone() else {
            return;
        };
        let (done, answer) = std::sync::mpsc::channel();
        let rope = rope.clone();
        std::thread::spawn(move || {
            let _ = done.send(LineChanges::compute(&index, &rope.to_string()));
        });
        *self.job.borrow_mut() = Some((self.generation, answer));
    }

    /// Takes a finished comparison; true if it came.
    fn take_job(&self) -> bool {
        let mut job = self.job.borrow_mut();
        let Some((at, answer)) = job.as_ref() else {
            return false;
        };
        match answer.try_recv() {
            Ok(changes) => {
                *self.computed.borrow_mut() = Some((*at, changes));
                *job = None;
                true
            }
            Err(std::sync::mpsc::TryRecvError::Empty) => false,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                *job = None;
                false
            }
        }
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
                        job: RefCell::new(None),
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
        self.bases.values().any(|base| {
            let running = matches!(&*base.job.borrow(), Some((at, _)) if *at == base.generation);
            base.slow.get() && !base.is_fresh() && !running
        })
    }

    /// Typing paused: the marks of slow files are compared again, each on a thread.
    pub fn idle_work(&self, documents: &impl crate::tui::app::DocumentTexts) {
        for (path, base) in &self.bases {
            if base.slow.get()
                && !base.is_fresh()
                && let Some(rope) = documents.rope(path)
            {
                base.start_job(rope);
            }
        }
    }

    /// Takes the comparisons finished on their threads; true if marks changed.
    pub fn take_finished(&self) -> bool {
        let mut changed = false;
        for base in self.bases.values() {
            changed |= base.take_job();
        }
        changed
    }

    /// When to look for a comparison running on its thread, if one is.
    pub fn next_deadline(&self) -> Option<Instant> {
        let running = self.bases.values().any(|base| base.job.borrow().is_some());
        running.then(|| Instant::now() + JOB_POLL)
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
