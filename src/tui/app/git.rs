//! What the git keys do in the app, and the host's git answers arriving (see `tui::git`).

use super::{App, DocumentTexts};
use crate::protocol::git::{GitBase, GitChange};
use crate::text::LineCol;
use crate::tui::compositor::AppCommand;
use crate::tui::git::DiffView;
use crate::tui::picker::{Picker, PickerItem};
use crate::tui::status::Level;

impl App {
    /// The host's index and HEAD texts of `path` (none: no gutter for it).
    pub fn set_git_base(&mut self, path: &str, base: Option<GitBase>) {
        self.git.set_base(path, base);
    }

    /// The host's branch and changed files; `picker`: the user asked to pick one.
    pub fn set_git_status(
        &mut self,
        branch: Option<String>,
        changes: Vec<GitChange>,
        picker: bool,
    ) {
        self.git.branch = branch;
        self.git.changes = changes;
        if !picker {
            return;
        }
        self.messages.push(Level::Info, "");
        let items = self
            .git
            .changes
            .iter()
            .map(|change| PickerItem {
                label: format!("{} {}", change.status, change.path),
                command: AppCommand::Open(change.path.clone()),
            })
            .collect();
        let title = match &self.git.branch {
            Some(branch) => format!("Changed files on {branch}"),
            None => "Changed files".to_owned(),
        };
        self.compositor.push(Box::new(Picker::new(
            "changed-files",
            &title,
            items,
            "no changes: the shared files are as the host's git HEAD has them",
        )));
    }

    /// The shared folder is not in a git repository.
    pub fn not_a_repository(&mut self, picker: bool) {
        self.git.branch = None;
        self.git.changes.clear();
        if picker {
            self.messages.push(
                Level::Info,
                "the host's shared folder is not in a git repository",
            );
        }
    }

    /// The host's branch, if it said.
    pub fn git_branch(&self) -> Option<&str> {
        self.git.branch.as_deref()
    }

    /// Moves the cursor to the start of the next (or previous) run of changed lines.
    pub(super) fn go_to_change(
        &mut self,
        forward: bool,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) {
        let Some(tab) = self.tabs.get(self.active) else {
            return self
                .messages
                .push(Level::Info, "open a file to go to its changes");
        };
        let path = tab.path.clone();
        let Some(rope) = documents.rope(&path) else {
            return;
        };
        let line = rope.char_to_line(tab.editor.cursor().min(rope.len_chars()));
        let target = self.git.line_changes(&path, rope).and_then(|changes| {
            if forward {
                changes.next_hunk(line)
            } else {
                changes.previous_hunk(line)
            }
        });
        match target {
            Some(line) => self.go_to(path, LineCol { line, col: 0 }, documents, commands),
            None if self.git.is_tracked(&path) => self
                .messages
                .push(Level::Info, "no changes against the git index in this file"),
            None => self.messages.push(
                Level::Info,
                "this file is not in the host's git index: no changes to go to",
            ),
        }
    }

    /// Opens the active file's diff against HEAD, as the shared text is now.
    pub(super) fn show_diff(&mut self, documents: &impl DocumentTexts) {
        let Some(path) = self.active_path().map(str::to_owned) else {
            return self
                .messages
                .push(Level::Info, "open a file to see its diff");
        };
        let Some(rope) = documents.rope(&path) else {
            return;
        };
        let head = self.git.head_text(&path).unwrap_or("");
        if head.is_empty() && !self.git.is_tracked(&path) {
            return self.messages.push(
                Level::Info,
                format!("{path} is not in the host's git HEAD: nothing to compare"),
            );
        }
        let diff = crate::client::git::unified_diff(
            head,
            &rope.to_string(),
            &format!("a/{path} (HEAD)"),
            &format!("b/{path}"),
        );
        self.compositor.push(Box::new(DiffView::new(&path, &diff)));
    }
}
