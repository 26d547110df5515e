//! Edits from the host's language servers (rename, format, code actions), asked on
//! behalf of a member: the questions go to the bridge like hover's, and the edits come
//! back with the text each was computed for, for the session to apply as shared edits
//! (`host::session::language_edits`).

use crate::host::intel::{Intel, nothing_at, wire_location, wire_range};
use crate::host::lsp::{CodeAction, FileEdits, Range};
use crate::protocol::language::{CodeActionItem, SymbolItem};
use crate::protocol::message::{Response, TextPosition};

/// What a member asked the host's server to change.
#[derive(Clone, Debug)]
pub enum EditAsk {
    Rename {
        at: TextPosition,
        new_name: String,
    },
    Format {
        path: String,
    },
    /// Format the lines of `range` (in the current text).
    FormatRange {
        path: String,
        range: Range,
    },
    CodeAction {
        at: TextPosition,
        title: String,
    },
    /// The command of the code action titled `title`, exactly as the server offered it
    /// (after the action's edits, when it has both).
    RunCommand {
        path: String,
        title: String,
        command: lsp_types::Command,
        /// The document versions the action was offered for (`CodeAction::offered_for`),
        /// for a command alone; `None` after the action's own edits, which the command's
        /// arguments are meant to follow.
        offered_for: Option<std::collections::BTreeMap<String, i32>>,
    },
}

/// What a server's answer changes: its edits, and the command to run once they are
/// made (an action with both edits and a command of the server's).
pub struct Edits {
    pub files: Vec<FileEdits>,
    pub then: Option<EditAsk>,
}

impl EditAsk {
    /// The file the question is about.
    pub fn path(&self) -> &str {
        match self {
            EditAsk::Rename { at, .. } | EditAsk::CodeAction { at, .. } => &at.path,
            EditAsk::Format { path }
            | EditAsk::FormatRange { path, .. }
            | EditAsk::RunCommand { path, .. } => path,
        }
    }

    /// What was done, for everyone's notice: "renamed `a` to `b`".
    pub fn done(&self) -> String {
        match self {
            EditAsk::Rename { new_name, .. } => format!("renamed a symbol to `{new_name}`"),
            EditAsk::Format { path } => format!("formatted {path}"),
            EditAsk::FormatRange { path, range } => format!(
                "formatted lines {}-{} of {path}",
                range.start.line + 1,
                range.end.line + 1
            ),
            EditAsk::CodeAction { title, .. } | EditAsk::RunCommand { title, .. } => {
                format!("applied \u{201c}{title}\u{201d}")
            }
        }
    }
}

impl Intel {
    /// The edits `ask` makes, file by file, or a sentence saying why there are none.
    pub async fn edits(&self, ask: EditAsk) -> Result<Edits, String> {
        let path = ask.path().to_owned();
        self.ask(&path, move |lsp, path| {
            let ask = ask.clone();
            async move {
                let files = match ask {
                    EditAsk::Rename { at, new_name } => {
                        lsp.rename(&path, at.position, &new_name).await
                    }
                    EditAsk::Format { .. } => lsp.format(&path).await,
                    EditAsk::FormatRange { range, .. } => lsp.format_range(&path, range).await,
                    EditAsk::RunCommand {
                        command,
                        offered_for,
                        ..
                    } => lsp.run_command(&path, command, offered_for.as_ref()).await,
                    EditAsk::CodeAction { at, title } => {
                        let actions = lsp.code_actions(&path, at.position).await?;
                        let chosen = chosen(actions, &path, &title)?;
                        // A command alone runs at once; after edits, once they are made.
                        match chosen.then {
                            Some(EditAsk::RunCommand {
                                command,
                                offered_for,
                                ..
                            }) if chosen.files.is_empty() => {
                                lsp.run_command(&path, command, offered_for.as_ref()).await
                            }
                            _ => return Ok(chosen),
                        }
                    }
                }?;
                Ok(Edits { files, then: None })
            }
        })
        .await
    }

    pub(super) async fn prepare_rename(&self, at: TextPosition) -> Response {
        let position = at.position;
        match self
            .ask(&at.path, move |lsp, path| async move {
                lsp.prepare_rename(&path, position).await
            })
            .await
        {
            Ok(Some((range, placeholder))) => Response::RenameTarget {
                range: wire_range(range),
                placeholder,
            },
            Ok(None) => nothing_at("the server did not say what it would rename", &at),
            Err(message) => Response::Error { message },
        }
    }

    /// The server's code actions at `at`, or (`whole_line`) for all of its line: the
    /// lightbulb's question.
    pub(super) async fn code_action_list(&self, at: TextPosition, whole_line: bool) -> Response {
        let position = at.position;
        match self
            .ask(&at.path, move |lsp, path| async move {
                if whole_line {
                    lsp.line_code_actions(&path, position.line).await
                } else {
                    lsp.code_actions(&path, position).await
                }
            })
            .await
        {
            Ok(actions) => Response::CodeActions(
                actions
                    .into_iter()
                    .map(|action| CodeActionItem {
                        applicable: action.applicable(),
                        title: action.title,
                        kind: action.kind,
                        fix: action.fix,
                    })
                    .collect(),
            ),
            Err(message) => Response::Error { message },
        }
    }
}

impl Intel {
    /// A document's outline (`path`), or the workspace's symbols matching `query`.
    pub(super) async fn symbols(&self, path: Option<String>, query: String) -> Response {
        let found = match path {
            Some(path) => {
                self.ask(&path, |lsp, path| async move {
                    lsp.document_symbols(&path).await
                })
                .await
            }
            None => self
                .lsp()
                .workspace_symbols(&query, None)
                .await
                .map_err(|error| error.to_string()),
        };
        match found {
            Ok(symbols) => Response::Symbols(
                symbols
                    .into_iter()
                    .map(|symbol| SymbolItem {
                        syntactic: symbol.location.syntactic,
                        name: symbol.name,
                        kind: symbol.kind,
                        location: wire_location(symbol.location),
                        container: symbol.container,
                    })
                    .collect(),
            ),
            Err(message) => Response::Error { message },
        }
    }
}

/// What the action titled `title` does: its edits, then its command if the server runs
/// it (the command alone when it has no edits). The command is the server's own, from
/// the answer it just gave: a member names only the title.
fn chosen(
    actions: Vec<CodeAction>,
    path: &str,
    title: &str,
) -> Result<Edits, crate::host::lsp::LspError> {
    use crate::host::lsp::LspError;
    let action = actions
        .into_iter()
        .find(|action| action.title == title)
        .ok_or_else(|| {
            LspError::Refused(format!(
                "the server no longer offers \u{201c}{title}\u{201d} there; ask for the actions again"
            ))
        })?;
    let then = match action.command {
        Some(command) if action.server_runs_command => Some(EditAsk::RunCommand {
            path: path.to_owned(),
            title: title.to_owned(),
            command,
            offered_for: action.edits.is_empty().then(|| action.offered_for.clone()),
        }),
        // The editor's own command (rust-analyzer's `runSingle`, `showReferences`, …):
        // never run on the host. An action that is nothing else is refused.
        Some(command) if action.edits.is_empty() => {
            return Err(LspError::Refused(format!(
                "\u{201c}{title}\u{201d} runs {}, a command of the editor rather than of the server; cotype does not run it",
                command.command
            )));
        }
        _ => None,
    };
    if action.edits.is_empty() && then.is_none() {
        return Err(LspError::Refused(format!(
            "\u{201c}{title}\u{201d} changes nothing"
        )));
    }
    Ok(Edits {
        files: action.edits,
        then,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn action(edits: bool, command: Option<&str>, server_runs_command: bool) -> CodeAction {
        CodeAction {
            title: "act".to_owned(),
            kind: None,
            fix: false,
            edits: if edits {
                vec![FileEdits {
                    path: "a.py".to_owned(),
                    version: None,
                    text: ropey::Rope::from_str("x"),
                    edits: vec![(0..1, "y".to_owned())],
                }]
            } else {
                Vec::new()
            },
            command: command.map(|command| lsp_types::Command {
                title: "act".to_owned(),
                command: command.to_owned(),
                arguments: None,
            }),
            server_runs_command,
            offered_for: Default::default(),
        }
    }

    fn runs(edits: &Edits) -> Option<&str> {
        match &edits.then {
            Some(EditAsk::RunCommand { command, .. }) => Some(&command.command),
            _ => None,
        }
    }

    #[test]
    fn only_the_servers_own_commands_are_run() {
        let alone = chosen(
            vec![action(false, Some("pylsp_rope.x"), true)],
            "a.py",
            "act",
        )
        .expect("a server command alone");
        assert!(alone.files.is_empty());
        assert_eq!(runs(&alone), Some("pylsp_rope.x"));

        let both = chosen(
            vec![action(true, Some("pylsp_rope.x"), true)],
            "a.py",
            "act",
        )
        .expect("edits then a server command");
        assert_eq!((both.files.len(), runs(&both)), (1, Some("pylsp_rope.x")));

        // rust-analyzer's client-side commands: the edits alone, or nothing at all.
        let edits = chosen(
            vec![action(true, Some("editor.action.rename"), false)],
            "a.py",
            "act",
        )
        .expect("edits without the editor's command");
        assert_eq!((edits.files.len(), runs(&edits)), (1, None));
        let refused = chosen(
            vec![action(false, Some("rust-analyzer.runSingle"), false)],
            "a.py",
            "act",
        );
        assert!(
            matches!(&refused, Err(error) if error.to_string().contains("command of the editor")),
            "{:?}",
            refused.err()
        );
        assert!(chosen(vec![action(false, None, false)], "a.py", "act").is_err());
        assert!(chosen(vec![action(true, None, false)], "a.py", "other").is_err());
    }
}
