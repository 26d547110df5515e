//! Changes made through the host's language server: rename (a prompt with the symbol's
//! name), code actions (a menu, fixes first) and formatting. The questions go out as
//! `AppCommand::Ask`, at a revision the host knows (`tui::intel`); the host applies the
//! answers as shared edits, which arrive like anyone's typing, so here only the prompt,
//! the menu and a sentence saying what changed.

use super::{App, DocumentTexts};
use crate::protocol::language::{EditSummary, SymbolItem};
use crate::protocol::message::Response;
use crate::tui::compositor::AppCommand;
use crate::tui::picker::{Picker, PickerItem};
use crate::tui::popup::{AskKind, ChangeAsk, IntelAsk};
use crate::tui::rename_prompt::RenamePrompt;
use crate::tui::status::Level;

impl App {
    /// Asks the host's server about a change at the cursor (`kind` with `change`).
    pub(super) fn ask_change(
        &mut self,
        kind: AskKind,
        change: Option<ChangeAsk>,
        documents: &impl DocumentTexts,
        commands: &mut Vec<AppCommand>,
    ) {
        match self.ask(kind, documents) {
            Some(AppCommand::Ask(ask)) => {
                let asking = match (&kind, &change) {
                    (AskKind::PrepareRename, _) => "rename: asking the language server…",
                    (AskKind::CodeActions, _) => "asking for code actions…",
                    (AskKind::Symbols, _) => "asking for the outline…",
                    (_, Some(ChangeAsk::FormatSelection { .. })) => "formatting the selection…",
                    _ => "formatting…",
                };
                self.messages.push(Level::Info, asking);
                commands.push(AppCommand::Ask(IntelAsk { change, ..ask }));
            }
            _ => self
                .messages
                .push(Level::Info, "open a file to change its code"),
        }
    }

    /// The active editor's selection, start and end, when something is selected: what
    /// `format_document` formats then instead of the whole file.
    pub(super) fn selected_lines(
        &self,
        documents: &impl DocumentTexts,
    ) -> Option<(crate::text::LineCol, crate::text::LineCol)> {
        let tab = self.tabs.get(self.active)?;
        let rope = documents.rope(&tab.path)?;
        let range = tab.editor.selection.range();
        (range.start < range.end).then(|| {
            let at = |char: usize| {
                crate::text::position::char_to_line_col(rope, char.min(rope.len_chars()))
            };
            (at(range.start), at(range.end))
        })
    }

    /// The host's answer to a rename, code action or format question.
    pub(super) fn language_answer(
        &mut self,
        ask: &IntelAsk,
        response: Response,
        documents: &impl DocumentTexts,
    ) {
        match (ask.kind, response) {
            (_, Response::Error { message }) => {
                let what = match ask.kind {
                    AskKind::PrepareRename => "rename",
                    AskKind::CodeActions | AskKind::LineActions => "code actions",
                    AskKind::Symbols => "symbols",
                    _ => change_name(ask.change.as_ref()),
                };
                self.messages
                    .push(Level::Error, format!("{what}: {message}"));
            }
            (AskKind::PrepareRename, Response::RenameTarget { placeholder, .. }) => {
                self.open_rename_prompt(ask, &placeholder);
            }
            (AskKind::PrepareRename, Response::Nothing { .. }) => {
                let name = word_at(ask, documents).unwrap_or_default();
                self.open_rename_prompt(ask, &name);
            }
            (AskKind::CodeActions, Response::CodeActions(actions)) => {
                if actions.is_empty() {
                    self.messages
                        .push(Level::Info, "no code actions at the cursor");
                    return;
                }
                let items = actions
                    .into_iter()
                    .map(|action| {
                        let mut label = String::new();
                        if action.fix {
                            label.push_str("fix: ");
                        }
                        label.push_str(&action.title);
                        if !action.applicable {
                            label.push_str(" (an editor command cotype does not run)");
                        }
                        PickerItem {
                            label,
                            command: AppCommand::Ask(IntelAsk {
                                kind: AskKind::Change,
                                change: Some(ChangeAsk::ApplyAction(action.title)),
                                explicit: true,
                                ..ask.clone()
                            }),
                        }
                    })
                    .collect();
                // Typing filters; the server's order (fixes first) breaks ties.
                self.compositor.push(Box::new(Picker::ranked(
                    "code-actions",
                    "Code actions",
                    items,
                    "no code actions",
                )));
            }
            (AskKind::Symbols, Response::Symbols(symbols)) => {
                // Without a server for the language the host reads the syntax tree, which
                // knows the names of definitions and nothing more.
                let syntactic = symbols.iter().any(|symbol| symbol.syntactic);
                let (title, said) = if syntactic {
                    (
                        "Symbols: outline from syntax (no language server)",
                        "outline from syntax (no language server)",
                    )
                } else {
                    ("Symbols", "")
                };
                self.messages.push(Level::Info, said);
                self.compositor.push(Box::new(Picker::ranked(
                    "document-symbols",
                    title,
                    symbol_items(symbols, false),
                    "no symbols in this file",
                )));
            }
            (AskKind::Change, Response::LanguageEdited(summary)) => {
                let said = changed(change_name(ask.change.as_ref()), &summary);
                self.messages.push(Level::Info, said);
            }
            (_, other) => tracing::debug!("unexpected answer to {ask:?}: {other:?}"),
        }
    }

    /// The host's answer for the workspace symbol picker's query: its choices (each with
    /// its file), or why there are none.
    pub fn workspace_symbols(&mut self, answer: Result<Vec<SymbolItem>, String>) {
        let Some(picker) = self
            .compositor
            .find_mut::<Picker>(Picker::WORKSPACE_SYMBOLS)
        else {
            return;
        };
        match answer {
            Ok(symbols) => picker.set_items(symbol_items(symbols, true)),
            Err(message) => {
                picker.set_items(Vec::new());
                self.messages
                    .push(Level::Error, format!("workspace symbols: {message}"));
            }
        }
    }

    fn open_rename_prompt(&mut self, ask: &IntelAsk, name: &str) {
        if name.is_empty() {
            self.messages
                .push(Level::Info, "rename: no symbol at the cursor");
            return;
        }
        self.messages.push(Level::Info, "");
        self.compositor
            .push(Box::new(RenamePrompt::new(ask.clone(), name)));
    }
}

/// A picker's rows for symbols: `kind name in container  :line`, with the file when they
/// come from the whole workspace; choosing one goes there. Symbols outside the shared
/// folder (a library's) are left out.
fn symbol_items(symbols: Vec<SymbolItem>, with_path: bool) -> Vec<PickerItem> {
    symbols
        .into_iter()
        .filter(|symbol| !symbol.location.external)
        .map(|symbol| {
            let start = symbol.location.range.start;
            let within = symbol
                .container
                .map(|container| format!(" in {container}"))
                .unwrap_or_default();
            let place = if with_path {
                format!("{}:{}", symbol.location.path, start.line + 1)
            } else {
                format!(":{}", start.line + 1)
            };
            PickerItem {
                label: format!("{} {}{within}  {place}", symbol.kind, symbol.name),
                command: AppCommand::GoTo {
                    path: symbol.location.path,
                    at: start,
                },
            }
        })
        .collect()
}

fn change_name(change: Option<&ChangeAsk>) -> &'static str {
    match change {
        Some(ChangeAsk::Rename(_)) => "rename",
        Some(ChangeAsk::ApplyAction(_)) => "code action",
        Some(ChangeAsk::Format | ChangeAsk::FormatSelection { .. }) | None => "format",
    }
}

/// "renamed: 5 changes in 3 files (not saved)".
fn changed(what: &str, summary: &EditSummary) -> String {
    if summary.files == 0 {
        return match what {
            "format" => "format: already formatted".to_owned(),
            _ => format!("{what}: nothing changed"),
        };
    }
    let changes = summary.places.len();
    let done = match what {
        "rename" => "renamed",
        "format" => "formatted",
        _ => "applied",
    };
    format!(
        "{done}: {changes} change{} in {} file{} (unsaved, shared with everyone)",
        if changes == 1 { "" } else { "s" },
        summary.files,
        if summary.files == 1 { "" } else { "s" },
    )
}

/// The identifier under the place asked about.
fn word_at(ask: &IntelAsk, documents: &impl DocumentTexts) -> Option<String> {
    let rope = documents.rope(&ask.path)?;
    let line: Vec<char> = rope.get_line(ask.at.line)?.chars().collect();
    let is_word = |c: &char| c.is_alphanumeric() || *c == '_';
    let at = ask.at.col.min(line.len());
    let start = line[..at]
        .iter()
        .rposition(|c| !is_word(c))
        .map_or(0, |i| i + 1);
    let end = line[at..]
        .iter()
        .position(|c| !is_word(c))
        .map_or(line.len(), |i| at + i);
    (start < end).then(|| line[start..end].iter().collect())
}
