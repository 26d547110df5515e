//! A running, initialized language server: the handshake, what it can do, and what it is
//! busy with (so an empty answer during indexing becomes "still indexing (37%)" instead
//! of a silent "nothing found").

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use lsp_server::Notification;
use lsp_types::notification::Notification as _;
use lsp_types::{
    ClientCapabilities, ClientInfo, CompletionClientCapabilities, CompletionItemCapability,
    DynamicRegistrationClientCapabilities, GeneralClientCapabilities, GotoCapability,
    HoverClientCapabilities, InitializeParams, InitializedParams, MarkupKind, PositionEncodingKind,
    ProgressParams, ProgressParamsValue, PublishDiagnosticsClientCapabilities,
    PublishDiagnosticsParams, ServerCapabilities, TextDocumentClientCapabilities,
    TextDocumentSyncCapability, TextDocumentSyncClientCapabilities, TextDocumentSyncKind,
    TextDocumentSyncSaveOptions, WindowClientCapabilities, WorkDoneProgress,
    WorkspaceClientCapabilities, WorkspaceFolder,
};
use tokio::sync::mpsc::UnboundedReceiver;

use super::LspError;
use super::config::ServerCommand;
use super::convert::Root;
use super::transport::Transport;
use super::trust::Settings;
use crate::text::LspEncoding;

/// Where a server's diagnostics go (with the unit its columns count); the bridge
/// converts and broadcasts them.
pub(crate) type DiagnosticsSink = Arc<dyn Fn(PublishDiagnosticsParams, LspEncoding) + Send + Sync>;

/// Servers that count columns in code points while announcing nothing, which means UTF-16
/// by the specification (palantir/python-language-server#770, inherited by pylsp): an
/// edit after an emoji would land one column off per astral character before it.
const COUNTS_CODE_POINTS: &[&str] = &["pylsp", "pyls"];

pub(crate) struct Server {
    /// As users know it: the program's file name, e.g. `rust-analyzer`.
    pub(crate) name: String,
    pub(crate) command: ServerCommand,
    transport: Transport,
    capabilities: ServerCapabilities,
    encoding: LspEncoding,
    activity: Arc<Mutex<Activity>>,
    /// Held while one of the server's commands runs: its `workspace/applyEdit` requests
    /// belong to that command alone.
    command_turn: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Activity {
    /// Work-done progress in flight, by token.
    tasks: HashMap<String, Task>,
    /// rust-analyzer's `experimental/serverStatus`: false while it is loading the workspace.
    quiescent: Option<bool>,
    /// The last error the server showed (`window/showMessage`): how a command that
    /// failed says why (pylsp answers it with null all the same).
    shown_error: Option<String>,
}

struct Task {
    title: String,
    percent: Option<u32>,
}

impl Activity {
    /// `Some(percent)` while loading or indexing. Flycheck (`cargo check` after a save)
    /// is not indexing: answers are complete meanwhile.
    fn indexing(&self) -> Option<Option<u32>> {
        let mut busy = self.tasks.values().filter(|task| {
            let title = task.title.to_ascii_lowercase();
            !(title.contains("check") || title.contains("clippy"))
        });
        match busy.next() {
            Some(first) => Some(
                std::iter::once(first)
                    .chain(busy)
                    .find_map(|task| task.percent),
            ),
            None if self.quiescent == Some(false) => Some(None),
            None => None,
        }
    }
}

impl Server {
    pub(crate) async fn start(
        command: &ServerCommand,
        program: &Path,
        root: &Root,
        settings: &Settings,
        initialize_timeout: Duration,
        diagnostics: DiagnosticsSink,
    ) -> Result<Server, LspError> {
        let name = server_name(command, program);
        let (transport, notifications) = Transport::spawn(
            &name,
            program,
            &command.args,
            root.dir(),
            root.uri().as_str(),
            settings.settings.clone().unwrap_or_default(),
        )
        .map_err(|error| LspError::ServerCrashed {
            server: name.clone(),
            detail: format!("could not start {}: {error}", command.display()),
        })?;

        let activity: Arc<Mutex<Activity>> = Arc::default();
        let negotiated: Arc<OnceLock<LspEncoding>> = Arc::default();
        tokio::spawn(listen(
            notifications,
            activity.clone(),
            negotiated.clone(),
            diagnostics,
        ));

        let answer = transport
            .request::<lsp_types::request::Initialize>(
                InitializeParams {
                    initialization_options: settings.initialization_options.clone(),
                    ..initialize_params(root)
                },
                initialize_timeout,
            )
            .await?;
        let encoding = match &answer.capabilities.position_encoding {
            None if COUNTS_CODE_POINTS.contains(&name.as_str()) => LspEncoding::Utf32,
            None => LspEncoding::Utf16,
            Some(kind) => LspEncoding::from_kind(kind).unwrap_or_else(|| {
                tracing::warn!(server = %name, encoding = kind.as_str(), "unknown position encoding; assuming UTF-16");
                LspEncoding::Utf16
            }),
        };
        let _ = negotiated.set(encoding);
        transport.notify::<lsp_types::notification::Initialized>(InitializedParams {});
        if let Some(settings) = &settings.settings {
            transport.notify::<lsp_types::notification::DidChangeConfiguration>(
                lsp_types::DidChangeConfigurationParams {
                    settings: settings.clone(),
                },
            );
        }
        tracing::info!(server = %name, pid = transport.pid(), "language server ready");
        Ok(Server {
            name,
            command: command.clone(),
            transport,
            capabilities: answer.capabilities,
            encoding,
            activity,
            command_turn: tokio::sync::Mutex::new(()),
        })
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.transport.is_alive()
    }

    pub(crate) fn pid(&self) -> u32 {
        self.transport.pid()
    }

    pub(crate) async fn request<R: lsp_types::request::Request>(
        &self,
        params: R::Params,
        timeout: Duration,
    ) -> Result<R::Result, LspError> {
        self.transport.request::<R>(params, timeout).await
    }

    /// Queues a request now; [`Self::answer`] waits for its answer.
    pub(crate) fn send_request<R: lsp_types::request::Request>(
        &self,
        params: R::Params,
    ) -> Result<super::transport::Asked, LspError> {
        self.transport.send_request::<R>(params)
    }

    pub(crate) async fn answer<R: lsp_types::request::Request>(
        &self,
        asked: super::transport::Asked,
        timeout: Duration,
    ) -> Result<R::Result, LspError> {
        self.transport.answer::<R>(asked, timeout).await
    }

    /// What the server said it can do at initialization.
    pub(crate) fn capabilities(&self) -> &ServerCapabilities {
        &self.capabilities
    }

    pub(crate) fn notify<N: lsp_types::notification::Notification>(&self, params: N::Params) {
        self.transport.notify::<N>(params);
    }

    /// Sends notifications framed by `transport::frame_notification`, in one piece.
    pub(crate) fn send_framed(&self, framed: Vec<u8>) {
        self.transport.send_framed(framed);
    }

    pub(crate) async fn shutdown(&self) {
        self.transport.shutdown(Duration::from_secs(2)).await;
    }

    /// Whether `command` is one the server runs itself (it lists it in
    /// `executeCommandProvider`). Commands it does not list are the editor's own, such as
    /// rust-analyzer's `rust-analyzer.runSingle`: cotype never runs those.
    pub(crate) fn runs_command(&self, command: &str) -> bool {
        self.capabilities
            .execute_command_provider
            .as_ref()
            .is_some_and(|provider| provider.commands.iter().any(|known| known == command))
    }

    /// Waits for the server's previous command to finish; the edits the server asks to
    /// apply meanwhile arrive on the returned receiver until [`Self::commands_done`].
    pub(crate) async fn command_turn(
        &self,
    ) -> (
        tokio::sync::MutexGuard<'_, ()>,
        tokio::sync::mpsc::UnboundedReceiver<lsp_server::Request>,
    ) {
        let turn = self.command_turn.lock().await;
        (turn, self.transport.receive_apply_edits())
    }

    /// The last error the server showed since this was last asked.
    pub(crate) fn take_shown_error(&self) -> Option<String> {
        self.activity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .shown_error
            .take()
    }

    /// The command is done: further `workspace/applyEdit` requests are refused.
    pub(crate) fn commands_done(&self) {
        self.transport.stop_apply_edits();
    }

    /// Answers a request the server sent us.
    pub(crate) fn respond(&self, response: lsp_server::Response) {
        self.transport.respond(response);
    }

    pub(crate) fn kill(&self) {
        self.transport.kill();
    }

    /// `Some(percent)` while the server is loading or indexing the workspace.
    pub(crate) fn indexing(&self) -> Option<Option<u32>> {
        self.activity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .indexing()
    }

    pub(crate) fn indexing_error(&self) -> Option<LspError> {
        self.indexing().map(|percent| LspError::Indexing {
            server: self.name.clone(),
            percent,
        })
    }

    /// The unit of the columns this server sends and expects.
    pub(crate) fn encoding(&self) -> LspEncoding {
        self.encoding
    }

    pub(crate) fn sync_kind(&self) -> TextDocumentSyncKind {
        match &self.capabilities.text_document_sync {
            Some(TextDocumentSyncCapability::Kind(kind)) => *kind,
            Some(TextDocumentSyncCapability::Options(options)) => {
                options.change.unwrap_or(TextDocumentSyncKind::NONE)
            }
            None => TextDocumentSyncKind::NONE,
        }
    }

    /// Whether `didSave` should carry the text.
    pub(crate) fn save_includes_text(&self) -> bool {
        match &self.capabilities.text_document_sync {
            Some(TextDocumentSyncCapability::Options(options)) => matches!(
                &options.save,
                Some(TextDocumentSyncSaveOptions::SaveOptions(save)) if save.include_text == Some(true)
            ),
            _ => false,
        }
    }
}

/// The name users know a server by: its program's file name, e.g. `rust-analyzer` for
/// `~/.cargo/bin/rust-analyzer`.
pub(crate) fn server_name(command: &ServerCommand, program: &Path) -> String {
    program
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| command.program.clone())
}

async fn listen(
    mut notifications: UnboundedReceiver<Notification>,
    activity: Arc<Mutex<Activity>>,
    encoding: Arc<OnceLock<LspEncoding>>,
    diagnostics: DiagnosticsSink,
) {
    use lsp_types::notification::{Progress, PublishDiagnostics};
    while let Some(notification) = notifications.recv().await {
        let method = notification.method.as_str();
        if method == Progress::METHOD {
            match serde_json::from_value::<ProgressParams>(notification.params) {
                Ok(progress) => record_progress(&activity, progress),
                Err(error) => tracing::debug!(%error, "unreadable progress"),
            }
        } else if method == PublishDiagnostics::METHOD {
            match serde_json::from_value::<PublishDiagnosticsParams>(notification.params) {
                Ok(params) => diagnostics(params, encoding.get().copied().unwrap_or_default()),
                Err(error) => tracing::debug!(%error, "unreadable diagnostics"),
            }
        } else if method == lsp_types::notification::ShowMessage::METHOD {
            if let Ok(shown) =
                serde_json::from_value::<lsp_types::ShowMessageParams>(notification.params)
                && shown.typ == lsp_types::MessageType::ERROR
            {
                activity
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .shown_error = Some(shown.message);
            }
        } else if method == "experimental/serverStatus" {
            let quiescent = notification
                .params
                .get("quiescent")
                .and_then(serde_json::Value::as_bool);
            activity.lock().unwrap_or_else(|e| e.into_inner()).quiescent = quiescent;
        } else {
            tracing::trace!(method, "language server notification ignored");
        }
    }
}

fn record_progress(activity: &Mutex<Activity>, progress: ProgressParams) {
    let token = match progress.token {
        lsp_types::NumberOrString::Number(number) => number.to_string(),
        lsp_types::NumberOrString::String(string) => string,
    };
    let ProgressParamsValue::WorkDone(work) = progress.value;
    let mut activity = activity.lock().unwrap_or_else(|e| e.into_inner());
    match work {
        WorkDoneProgress::Begin(begin) => {
            activity.tasks.insert(
                token,
                Task {
                    title: begin.title,
                    percent: begin.percentage,
                },
            );
        }
        WorkDoneProgress::Report(report) => {
            if let Some(task) = activity.tasks.get_mut(&token) {
                task.percent = report.percentage.or(task.percent);
            }
        }
        WorkDoneProgress::End(_) => {
            activity.tasks.remove(&token);
        }
    }
}

#[allow(deprecated)] // root_uri: older servers (pylsp) still read it instead of folders.
fn initialize_params(root: &Root) -> InitializeParams {
    let markdown_first = Some(vec![MarkupKind::Markdown, MarkupKind::PlainText]);
    InitializeParams {
        process_id: Some(std::process::id()),
        root_uri: Some(root.uri().clone()),
        workspace_folders: Some(vec![WorkspaceFolder {
            uri: root.uri().clone(),
            name: root
                .dir()
                .file_name()
                .map(|name| name.to_string_lossy().into_owned())
                .unwrap_or_else(|| "workspace".to_owned()),
        }]),
        client_info: Some(ClientInfo {
            name: "cotype".to_owned(),
            version: Some(env!("CARGO_PKG_VERSION").to_owned()),
        }),
        capabilities: ClientCapabilities {
            general: Some(GeneralClientCapabilities {
                // UTF-32 columns are char columns: no conversion cost where supported.
                position_encodings: Some(vec![
                    PositionEncodingKind::UTF32,
                    PositionEncodingKind::UTF16,
                ]),
                ..Default::default()
            }),
            window: Some(WindowClientCapabilities {
                work_done_progress: Some(true),
                ..Default::default()
            }),
            workspace: Some(WorkspaceClientCapabilities {
                workspace_folders: Some(true),
                configuration: Some(true),
                // A server command a member chose may ask for edits (`bridge::commands`).
                apply_edit: Some(true),
                execute_command: Some(DynamicRegistrationClientCapabilities::default()),
                // Versioned edits: each file's edit names the version it was made for.
                workspace_edit: Some(lsp_types::WorkspaceEditClientCapabilities {
                    document_changes: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            text_document: Some(TextDocumentClientCapabilities {
                synchronization: Some(TextDocumentSyncClientCapabilities {
                    did_save: Some(true),
                    ..Default::default()
                }),
                hover: Some(HoverClientCapabilities {
                    content_format: markdown_first.clone(),
                    ..Default::default()
                }),
                // Parameter ranges as offsets into the label, and which one is active.
                signature_help: Some(lsp_types::SignatureHelpClientCapabilities {
                    signature_information: Some(lsp_types::SignatureInformationSettings {
                        documentation_format: Some(vec![MarkupKind::PlainText]),
                        parameter_information: Some(lsp_types::ParameterInformationSettings {
                            label_offset_support: Some(true),
                        }),
                        active_parameter_support: Some(true),
                    }),
                    ..Default::default()
                }),
                inlay_hint: Some(lsp_types::InlayHintClientCapabilities::default()),
                // Whole documents, relative tokens, the standard types.
                semantic_tokens: Some(lsp_types::SemanticTokensClientCapabilities {
                    requests: lsp_types::SemanticTokensClientCapabilitiesRequests {
                        range: Some(false),
                        full: Some(lsp_types::SemanticTokensFullOptions::Bool(true)),
                    },
                    token_types: [
                        "namespace",
                        "type",
                        "class",
                        "enum",
                        "interface",
                        "struct",
                        "typeParameter",
                        "parameter",
                        "variable",
                        "property",
                        "enumMember",
                        "function",
                        "method",
                        "macro",
                        "keyword",
                        "comment",
                        "string",
                        "number",
                        "operator",
                        "decorator",
                    ]
                    .into_iter()
                    .map(lsp_types::SemanticTokenType::new)
                    .collect(),
                    formats: vec![lsp_types::TokenFormat::RELATIVE],
                    ..Default::default()
                }),
                definition: Some(GotoCapability {
                    link_support: Some(true),
                    ..Default::default()
                }),
                references: Some(DynamicRegistrationClientCapabilities::default()),
                completion: Some(CompletionClientCapabilities {
                    completion_item: Some(CompletionItemCapability {
                        snippet_support: Some(false),
                        documentation_format: markdown_first,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
                rename: Some(lsp_types::RenameClientCapabilities {
                    prepare_support: Some(true),
                    ..Default::default()
                }),
                formatting: Some(DynamicRegistrationClientCapabilities::default()),
                // Nested symbols: each with its name's range, for the outline.
                document_symbol: Some(lsp_types::DocumentSymbolClientCapabilities {
                    hierarchical_document_symbol_support: Some(true),
                    ..Default::default()
                }),
                code_action: Some(lsp_types::CodeActionClientCapabilities {
                    // Literals with their edits computed (no resolve step), kinds known.
                    code_action_literal_support: Some(lsp_types::CodeActionLiteralSupport {
                        code_action_kind: lsp_types::CodeActionKindLiteralSupport {
                            value_set: [
                                "",
                                "quickfix",
                                "refactor",
                                "refactor.extract",
                                "refactor.inline",
                                "refactor.rewrite",
                                "source",
                                "source.organizeImports",
                            ]
                            .into_iter()
                            .map(str::to_owned)
                            .collect(),
                        },
                    }),
                    is_preferred_support: Some(true),
                    ..Default::default()
                }),
                publish_diagnostics: Some(PublishDiagnosticsClientCapabilities {
                    version_support: Some(true),
                    // Servers tag unused and inactive code only for clients that say
                    // they can show it (participants dim it).
                    tag_support: Some(lsp_types::TagSupport {
                        value_set: vec![
                            lsp_types::DiagnosticTag::UNNECESSARY,
                            lsp_types::DiagnosticTag::DEPRECATED,
                        ],
                    }),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            experimental: Some(serde_json::json!({ "serverStatusNotification": true })),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(activity: &Mutex<Activity>, token: &str, value: serde_json::Value) {
        let params = serde_json::json!({ "token": token, "value": value });
        record_progress(
            activity,
            serde_json::from_value(params).expect("progress params"),
        );
    }

    /// The shape of rust-analyzer's own progress while it loads a workspace.
    #[test]
    fn indexing_is_reported_with_its_percentage_and_flycheck_is_not_indexing() {
        let activity = Mutex::new(Activity::default());
        let indexing = |activity: &Mutex<Activity>| activity.lock().expect("lock").indexing();
        assert_eq!(indexing(&activity), None);

        progress(
            &activity,
            "rustAnalyzer/flycheck/0",
            serde_json::json!({ "kind": "begin", "title": "cargo check" }),
        );
        assert_eq!(indexing(&activity), None, "a check is not indexing");

        progress(
            &activity,
            "rustAnalyzer/Indexing",
            serde_json::json!({ "kind": "begin", "title": "Indexing", "percentage": 0 }),
        );
        progress(
            &activity,
            "rustAnalyzer/Indexing",
            serde_json::json!({ "kind": "report", "message": "1/3 (core)", "percentage": 37 }),
        );
        assert_eq!(indexing(&activity), Some(Some(37)));

        progress(
            &activity,
            "rustAnalyzer/Indexing",
            serde_json::json!({ "kind": "end" }),
        );
        assert_eq!(indexing(&activity), None);

        activity.lock().expect("lock").quiescent = Some(false);
        assert_eq!(
            indexing(&activity),
            Some(None),
            "loading, no percentage known"
        );
    }
}
