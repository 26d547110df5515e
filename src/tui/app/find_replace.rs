//! Find and replace in the active file (the prompt is `tui::find_replace`): opening it,
//! carrying out what it asks, and telling it how many matches there are whenever the text
//! or the selection changes (others' edits included).

use ropey::Rope;

use super::{App, DocumentTexts};
use crate::tui::compositor::AppCommand;
use crate::tui::editor::replace::{all_matches, match_number};
use crate::tui::editor::{EditorInput, FindOptions};
use crate::tui::find_replace::{FindReplacePrompt, MatchStatus, ReplaceStep};

impl App {
    /// Opens the prompt with the selection (one line of it) or the last search as the
    /// query, and marks its matches.
    pub(super) fn open_find_replace(
        &mut self,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) {
        let selected = self.tabs.get(self.active).and_then(|tab| {
            let rope = documents.rope(&tab.path)?;
            let range = tab.editor.selection.range();
            let range = range.start.min(rope.len_chars())..range.end.min(rope.len_chars());
            let text = rope.slice(range).to_string();
            (!text.is_empty() && !text.contains('\n')).then_some(text)
        });
        let initial = selected
            .or_else(|| self.search.clone())
            .or_else(|| self.editor()?.last_search().map(str::to_owned))
            .unwrap_or_default();
        let prompt = FindReplacePrompt::new(&initial);
        let options = prompt.options();
        self.compositor.push(Box::new(prompt));
        self.find_replace(&options, "", ReplaceStep::Update, documents, commands);
    }

    /// One step the prompt asks for, in the active file.
    pub(super) fn find_replace(
        &mut self,
        options: &FindOptions,
        replacement: &str,
        step: ReplaceStep,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) {
        let pattern = match options.pattern() {
            Ok(pattern) => pattern,
            Err(message) => {
                self.file_find = None;
                self.set_find_status(MatchStatus::Invalid(message));
                return;
            }
        };
        self.file_find = pattern.clone();
        let Some(pattern) = pattern else {
            self.set_find_status(MatchStatus::Empty);
            return;
        };
        match step {
            ReplaceStep::ReplaceAll => {
                let request = options.replace_all(pattern, replacement);
                self.editor_input(EditorInput::Substitute(request), documents, commands);
            }
            ReplaceStep::ReplaceOne => {
                let request = options.replace_all(pattern, replacement);
                self.editor_input(EditorInput::ReplaceMatch(request), documents, commands);
            }
            ReplaceStep::Update | ReplaceStep::Next | ReplaceStep::Previous => {
                let Some(tab) = self.tabs.get_mut(self.active) else {
                    return;
                };
                let Some(rope) = documents.rope(&tab.path) else {
                    return;
                };
                if step == ReplaceStep::Update {
                    // Typing more of the query keeps the match it is on.
                    let start = tab.editor.selection.range().start;
                    tab.editor
                        .set_selection(rope, crate::tui::editor::Selection::cursor(start));
                }
                let outcome =
                    tab.editor
                        .select_next_match(rope, &pattern, step != ReplaceStep::Previous);
                if outcome.navigated {
                    self.stop_following(commands);
                }
            }
        }
        // An edit is not in the text yet: its count comes when the session applied it.
        if let Some(rope) = self.active_path().and_then(|path| documents.rope(path)) {
            self.refresh_find_status(rope);
        }
    }

    /// Counts the matches in `rope` (the active file's text as it is now) for the prompt.
    pub(super) fn refresh_find_status(&mut self, rope: &Rope) {
        let (Some(pattern), Some(editor)) = (&self.file_find, self.editor()) else {
            return;
        };
        let matches = all_matches(rope, pattern);
        let status = MatchStatus::Count {
            current: match_number(&matches, editor.selection),
            total: matches.len(),
        };
        self.set_find_status(status);
    }

    fn set_find_status(&mut self, status: MatchStatus) {
        if let Some(prompt) = self
            .compositor
            .find_mut::<FindReplacePrompt>(FindReplacePrompt::ID)
        {
            prompt.set_status(status);
        }
    }
}
