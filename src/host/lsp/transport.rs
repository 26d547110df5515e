//! One language-server process and the JSON-RPC conversation with it.
//!
//! Framing is `lsp-server`'s `Message::write` and our bounded `read_message` (blocking), run
//! on two plain threads per server and bridged to tokio with oneshot channels for answers
//! and an unbounded channel for notifications. Blocking threads keep the framing code
//! the well-tested one and cost nothing next to the server process itself.
//!
//! The reader thread also answers the few requests servers send to clients (progress
//! tokens, capability registration, configuration), so a server never stalls waiting on us.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, BufWriter, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response, ResponseError};
use serde_json::Value;
use tokio::sync::{mpsc as tokio_mpsc, oneshot};

use super::LspError;

/// The largest message a server may send, far above any real answer (the largest are
/// diagnostics or completion lists of a few MiB).
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// The longest header line a server may send (`Content-Length: 123`, `Content-Type: …`).
const MAX_HEADER_LINE: u64 = 1024;

/// Reads one message as `lsp_server::Message::read` does, but with bounds: a
/// `Content-Length` past `MAX_MESSAGE_BYTES` or a header line past `MAX_HEADER_LINE` is
/// an error, as for any unreadable message. `Message::read` allocates whatever length a
/// server claims, and an allocation that fails aborts the whole host (found by the fuzz
/// target `lsp_convert`). `Ok(None)` when the output ended.
pub fn read_message(input: &mut impl BufRead) -> std::io::Result<Option<Message>> {
    let invalid = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let mut length = None;
    let mut line = String::new();
    loop {
        line.clear();
        if input.by_ref().take(MAX_HEADER_LINE).read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let Some(header) = line.strip_suffix("\r\n") else {
            return Err(invalid(format!("malformed header line: {line:?}")));
        };
        if header.is_empty() {
            break;
        }
        let (name, value) = header
            .split_once(": ")
            .ok_or_else(|| invalid(format!("malformed header line: {header:?}")))?;
        if name.eq_ignore_ascii_case("Content-Length") {
            let value: usize = value
                .parse()
                .map_err(|_| invalid(format!("malformed Content-Length: {value:?}")))?;
            if value > MAX_MESSAGE_BYTES {
                return Err(invalid(format!(
                    "a message of {value} bytes, more than the {MAX_MESSAGE_BYTES} accepted"
                )));
            }
            length = Some(value);
        }
    }
    let length = length.ok_or_else(|| invalid("a message without Content-Length".to_owned()))?;
    let mut body = vec![0; length];
    input.read_exact(&mut body)?;
    serde_json::from_slice(&body)
        .map(Some)
        .map_err(|error| invalid(format!("malformed message: {error}")))
}

/// Lines of stderr kept to explain a crash (a Rust program's backtrace after its error is
/// about 30).
const STDERR_TAIL: usize = 64;

/// The line of a dying server's stderr that says why: its last error line (with
/// `RUST_BACKTRACE` set, rustup's proxy and Rust servers end with a backtrace after it),
/// else its last line.
fn last_words(tail: &VecDeque<String>) -> Option<&str> {
    let lines = || {
        tail.iter()
            .map(|line| line.trim())
            .filter(|line| !line.is_empty())
    };
    let says_why = |line: &&str| {
        let lower = line.to_ascii_lowercase();
        lower.starts_with("error") || lower.starts_with("fatal")
    };
    lines().rev().find(says_why).or_else(|| lines().next_back())
}

type Pending = Arc<Mutex<HashMap<RequestId, oneshot::Sender<Result<Value, ResponseError>>>>>;

/// Where a server's `workspace/applyEdit` requests go while the host runs one of its
/// commands for a member (`None` otherwise: then they are refused).
pub(crate) type ApplyEditSink = Arc<Mutex<Option<tokio_mpsc::UnboundedSender<Request>>>>;

/// What the writer thread sends a server.
pub(crate) enum Outgoing {
    Message(Message),
    /// Notifications framed and serialized by [`frame_notification`] (straight from their
    /// parameters, with no `serde_json::Value` in between), one or many.
    Framed(Vec<u8>),
}

impl<M: Into<Message>> From<M> for Outgoing {
    fn from(message: M) -> Self {
        Outgoing::Message(message.into())
    }
}

impl Outgoing {
    /// Writes the message with its header, as `lsp_server::Message::write` does, but
    /// without flushing.
    fn write(self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        #[derive(serde::Serialize)]
        struct JsonRpc<'a> {
            jsonrpc: &'static str,
            #[serde(flatten)]
            msg: &'a Message,
        }
        match self {
            Outgoing::Framed(framed) => out.write_all(&framed),
            Outgoing::Message(message) => {
                let text = serde_json::to_string(&JsonRpc {
                    jsonrpc: "2.0",
                    msg: &message,
                })?;
                write!(out, "Content-Length: {}\r\n\r\n", text.len())?;
                out.write_all(text.as_bytes())
            }
        }
    }
}

/// Appends the notification `N` with `params`, framed as the protocol wants
/// (`Content-Length` header, then the JSON), to `out`. For parameters that are an object
/// (`lsp_server` leaves out null ones, which this does not).
pub(crate) fn frame_notification<N: lsp_types::notification::Notification>(
    params: &N::Params,
    out: &mut Vec<u8>,
) {
    #[derive(serde::Serialize)]
    struct Envelope<'a, P> {
        jsonrpc: &'static str,
        method: &'static str,
        params: &'a P,
    }
    let body = serde_json::to_vec(&Envelope {
        jsonrpc: "2.0",
        method: N::METHOD,
        params,
    })
    .expect("notification parameters serialize");
    out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    out.extend_from_slice(&body);
}

/// A request sent and not yet answered.
pub(crate) struct Asked {
    id: RequestId,
    answer_rx: oneshot::Receiver<Result<Value, ResponseError>>,
}

pub(crate) struct Transport {
    /// The name users know the server by, e.g. `rust-analyzer`.
    name: String,
    outgoing: mpsc::Sender<Outgoing>,
    pending: Pending,
    next_id: AtomicI32,
    alive: Arc<AtomicBool>,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    /// Set when the server's stderr has ended, i.e. its last words are all in.
    stderr_done: Arc<AtomicBool>,
    child: Arc<Mutex<Child>>,
    pid: u32,
    shut_down: AtomicBool,
    apply_edits: ApplyEditSink,
}

impl Transport {
    /// Starts `program` with `args` in `root`; server notifications arrive on the returned
    /// receiver, which closes when the server's output ends.
    pub(crate) fn spawn(
        name: &str,
        program: &Path,
        args: &[String],
        root: &Path,
        root_uri: &str,
        settings: Value,
    ) -> std::io::Result<(Transport, tokio_mpsc::UnboundedReceiver<Notification>)> {
        let mut child = Command::new(program)
            .args(args)
            .current_dir(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let pid = child.id();
        let (Some(stdin), Some(stdout), Some(stderr)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            let _ = child.kill();
            return Err(std::io::Error::other(
                "the server's standard streams were not piped",
            ));
        };

        let (outgoing, outgoing_rx) = mpsc::channel::<Outgoing>();
        let (notifications, notifications_rx) = tokio_mpsc::unbounded_channel();
        let pending: Pending = Arc::default();
        let alive = Arc::new(AtomicBool::new(true));
        let stderr_tail: Arc<Mutex<VecDeque<String>>> = Arc::default();

        let writer_name = name.to_owned();
        std::thread::Builder::new()
            .name(format!("lsp-write-{name}"))
            .spawn(move || {
                let mut stdin = BufWriter::new(stdin);
                while let Ok(first) = outgoing_rx.recv() {
                    // Everything already queued goes out before one flush: one write and
                    // one wake-up of the server per batch, not per message.
                    let written = std::iter::once(first)
                        .chain(outgoing_rx.try_iter())
                        .try_for_each(|outgoing| outgoing.write(&mut stdin))
                        .and_then(|()| std::io::Write::flush(&mut stdin));
                    if let Err(error) = written {
                        tracing::debug!(server = %writer_name, %error, "writing to the server failed");
                        break;
                    }
                }
                // Dropping stdin here closes the pipe, which most servers take as "exit".
            })?;

        let apply_edits: ApplyEditSink = Arc::default();
        let reader = Reader {
            apply_edits: apply_edits.clone(),
            name: name.to_owned(),
            root_uri: root_uri.to_owned(),
            settings,
            outgoing: outgoing.clone(),
            pending: pending.clone(),
            alive: alive.clone(),
            notifications,
        };
        std::thread::Builder::new()
            .name(format!("lsp-read-{name}"))
            .spawn(move || reader.run(BufReader::new(stdout)))?;

        let tail = stderr_tail.clone();
        let stderr_done = Arc::new(AtomicBool::new(false));
        let done = stderr_done.clone();
        let stderr_name = name.to_owned();
        std::thread::Builder::new()
            .name(format!("lsp-stderr-{name}"))
            .spawn(move || {
                for line in BufReader::new(stderr).lines() {
                    let Ok(line) = line else { break };
                    tracing::debug!(server = %stderr_name, "{line}");
                    let mut tail = tail.lock().unwrap_or_else(|e| e.into_inner());
                    if tail.len() == STDERR_TAIL {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
                done.store(true, Ordering::Release);
            })?;

        let transport = Transport {
            name: name.to_owned(),
            outgoing,
            pending,
            next_id: AtomicI32::new(1),
            alive,
            stderr_tail,
            stderr_done,
            child: Arc::new(Mutex::new(child)),
            pid,
            shut_down: AtomicBool::new(false),
            apply_edits,
        };
        Ok((transport, notifications_rx))
    }

    pub(crate) fn is_alive(&self) -> bool {
        self.alive.load(Ordering::Acquire)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// What the server last said on stderr; the best explanation of a crash we have.
    fn crash_detail(&self) -> String {
        let tail = self.stderr_tail.lock().unwrap_or_else(|e| e.into_inner());
        match last_words(&tail) {
            Some(line) => format!("its last words: {line}"),
            None => "its output ended".to_owned(),
        }
    }

    /// The crash error, after giving the stderr thread a moment to catch the last lines
    /// (a dying process's stderr and stdout close in no particular order).
    async fn crashed_after_last_words(&self) -> LspError {
        for _ in 0..25 {
            if self.stderr_done.load(Ordering::Acquire) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.crashed()
    }

    fn crashed(&self) -> LspError {
        LspError::ServerCrashed {
            server: self.name.clone(),
            detail: self.crash_detail(),
        }
    }

    pub(crate) fn notify<N: lsp_types::notification::Notification>(&self, params: N::Params) {
        let message = Notification::new(N::METHOD.to_owned(), params);
        // A dead writer means a dead server; the next request notices and restarts it.
        let _ = self.outgoing.send(message.into());
    }

    /// Sends notifications already framed by [`frame_notification`], in one piece.
    pub(crate) fn send_framed(&self, framed: Vec<u8>) {
        if framed.is_empty() {
            return;
        }
        // A dead writer means a dead server; the next request notices and restarts it.
        let _ = self.outgoing.send(Outgoing::Framed(framed));
    }

    /// From now until the returned receiver is dropped, the server's `workspace/applyEdit`
    /// requests arrive on it, to be answered with [`Self::respond`]; before and after,
    /// they are refused. One at a time: the caller serializes its commands.
    pub(crate) fn receive_apply_edits(&self) -> tokio_mpsc::UnboundedReceiver<Request> {
        let (sink, requests) = tokio_mpsc::unbounded_channel();
        *self.apply_edits.lock().unwrap_or_else(|e| e.into_inner()) = Some(sink);
        requests
    }

    /// Stops taking `workspace/applyEdit` requests (see [`Self::receive_apply_edits`]).
    pub(crate) fn stop_apply_edits(&self) {
        *self.apply_edits.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Answers a request the server sent us.
    pub(crate) fn respond(&self, response: Response) {
        // A dead writer means a dead server; the next request notices and restarts it.
        let _ = self.outgoing.send(response.into());
    }

    pub(crate) async fn request<R: lsp_types::request::Request>(
        &self,
        params: R::Params,
        timeout: Duration,
    ) -> Result<R::Result, LspError> {
        let asked = self.send_request::<R>(params)?;
        self.answer::<R>(asked, timeout).await
    }

    /// Queues a request at once (before any notification sent after this returns), for
    /// [`Self::answer`] to wait on: whoever needs to know exactly which document versions
    /// the server answers for sends it while holding the documents still.
    pub(crate) fn send_request<R: lsp_types::request::Request>(
        &self,
        params: R::Params,
    ) -> Result<Asked, LspError> {
        if !self.is_alive() {
            return Err(self.crashed());
        }
        let id = RequestId::from(self.next_id.fetch_add(1, Ordering::Relaxed));
        let (answer_tx, answer_rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), answer_tx);
        let request = Request::new(id.clone(), R::METHOD.to_owned(), params);
        if self.outgoing.send(request.into()).is_err() {
            self.forget(&id);
            return Err(self.crashed());
        }
        Ok(Asked { id, answer_rx })
    }

    /// The answer to a request [`Self::send_request`] sent.
    pub(crate) async fn answer<R: lsp_types::request::Request>(
        &self,
        asked: Asked,
        timeout: Duration,
    ) -> Result<R::Result, LspError> {
        let Asked { id, answer_rx } = asked;
        let answer = match tokio::time::timeout(timeout, answer_rx).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(_)) => return Err(self.crashed_after_last_words().await),
            Err(_) => {
                self.forget(&id);
                if let Some(id) = request_id_for_cancel(&id) {
                    self.notify::<lsp_types::notification::Cancel>(lsp_types::CancelParams { id });
                }
                return Err(LspError::Timeout {
                    server: self.name.clone(),
                    method: R::METHOD.to_owned(),
                    after: timeout,
                });
            }
        };
        match answer {
            Ok(value) => serde_json::from_value(value).map_err(|error| LspError::Protocol {
                server: self.name.clone(),
                detail: format!("{} answer: {error}", R::METHOD),
            }),
            Err(error) => Err(LspError::Server {
                server: self.name.clone(),
                code: error.code,
                message: error.message,
            }),
        }
    }

    fn forget(&self, id: &RequestId) {
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// The orderly goodbye: `shutdown`, then `exit`, then the process is reaped (killed if
    /// it lingers).
    pub(crate) async fn shutdown(&self, timeout: Duration) {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return;
        }
        if self.is_alive() {
            let _ = self
                .request::<lsp_types::request::Shutdown>((), timeout)
                .await;
            self.notify::<lsp_types::notification::Exit>(());
        }
        reap_in_background(self.child.clone(), Duration::from_secs(2));
    }

    pub(crate) fn kill(&self) {
        let _ = self.child.lock().unwrap_or_else(|e| e.into_inner()).kill();
    }
}

impl Drop for Transport {
    fn drop(&mut self) {
        if self.shut_down.swap(true, Ordering::AcqRel) {
            return;
        }
        // No await in drop: ask politely without waiting for the answer, and let the
        // reaper thread kill the process if it does not leave on its own.
        if self.is_alive() {
            let id = RequestId::from(self.next_id.fetch_add(1, Ordering::Relaxed));
            let _ = self.outgoing.send(
                Request::new(
                    id,
                    <lsp_types::request::Shutdown as lsp_types::request::Request>::METHOD
                        .to_owned(),
                    (),
                )
                .into(),
            );
            self.notify::<lsp_types::notification::Exit>(());
        }
        reap_in_background(self.child.clone(), Duration::from_secs(2));
    }
}

fn reap_in_background(child: Arc<Mutex<Child>>, grace: Duration) {
    let reap = move || {
        let deadline = std::time::Instant::now() + grace;
        let mut child = child.lock().unwrap_or_else(|e| e.into_inner());
        while std::time::Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    };
    if std::thread::Builder::new()
        .name("lsp-reap".to_owned())
        .spawn(reap)
        .is_err()
    {
        tracing::warn!("could not start a thread to reap a language server; it may linger");
    }
}

/// The id as the wire knows it; `RequestId` serializes transparently.
fn request_id_for_cancel(id: &RequestId) -> Option<lsp_types::NumberOrString> {
    serde_json::to_value(id)
        .ok()
        .and_then(|value| serde_json::from_value(value).ok())
}

struct Reader {
    /// Takes `workspace/applyEdit` while a member's command runs.
    apply_edits: ApplyEditSink,
    name: String,
    root_uri: String,
    /// What `workspace/configuration` answers, by section (null: no settings).
    settings: Value,
    outgoing: mpsc::Sender<Outgoing>,
    pending: Pending,
    alive: Arc<AtomicBool>,
    notifications: tokio_mpsc::UnboundedSender<Notification>,
}

impl Reader {
    fn run(self, mut stdout: impl BufRead) {
        loop {
            match read_message(&mut stdout) {
                Ok(Some(Message::Response(response))) => self.answer(response),
                Ok(Some(Message::Request(request))) => {
                    let Some(request) = self.hand_over_apply_edit(request) else {
                        continue;
                    };
                    let response = self.serve(request);
                    let _ = self.outgoing.send(response.into());
                }
                Ok(Some(Message::Notification(notification))) => {
                    let _ = self.notifications.send(notification);
                }
                Ok(None) => break,
                Err(error) => {
                    tracing::warn!(server = %self.name, %error, "unreadable message from the language server");
                    break;
                }
            }
        }
        self.alive.store(false, Ordering::Release);
        // Dropping the senders wakes every waiting request with "crashed".
        self.pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    fn answer(&self, response: Response) {
        let waiting = self
            .pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&response.id);
        if let Some(waiting) = waiting {
            let _ = waiting.send(response.response_result);
        }
    }

    /// A `workspace/applyEdit` goes to the command that is running, whose task answers
    /// it; any other request (or one while no command runs) is given back to be served.
    fn hand_over_apply_edit(&self, request: Request) -> Option<Request> {
        use lsp_types::request::{ApplyWorkspaceEdit, Request as _};
        if request.method != ApplyWorkspaceEdit::METHOD {
            return Some(request);
        }
        let sink = self.apply_edits.lock().unwrap_or_else(|e| e.into_inner());
        match sink.as_ref() {
            Some(sink) => sink.send(request).err().map(|returned| returned.0),
            None => Some(request),
        }
    }

    /// Answers for the requests a server may send us. We accept progress tokens and
    /// registrations, give the settings we started the server with (`lsp::trust`), and
    /// know our one workspace folder.
    fn serve(&self, request: Request) -> Response {
        use lsp_types::request::{
            ApplyWorkspaceEdit, RegisterCapability, Request as _, UnregisterCapability,
            WorkDoneProgressCreate, WorkspaceConfiguration, WorkspaceFoldersRequest,
        };
        let method = request.method.as_str();
        if method == WorkDoneProgressCreate::METHOD
            || method == RegisterCapability::METHOD
            || method == UnregisterCapability::METHOD
            || method == "window/showMessageRequest"
        {
            Response::new_ok(request.id, Value::Null)
        } else if method == WorkspaceConfiguration::METHOD {
            let answers: Vec<Value> = request
                .params
                .get("items")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .map(|item| {
                            let section = item.get("section").and_then(Value::as_str);
                            super::trust::section(&self.settings, section)
                        })
                        .collect()
                })
                .unwrap_or_default();
            Response::new_ok(request.id, answers)
        } else if method == ApplyWorkspaceEdit::METHOD {
            // Only edits made by a command a member chose are applied (`bridge::commands`).
            Response::new_ok(
                request.id,
                lsp_types::ApplyWorkspaceEditResponse {
                    applied: false,
                    failure_reason: Some(
                        "cotype applies a server's edits only while running a command of the server's that a participant chose".to_owned(),
                    ),
                    failed_change: None,
                },
            )
        } else if method == WorkspaceFoldersRequest::METHOD {
            Response::new_ok(
                request.id,
                serde_json::json!([{ "uri": self.root_uri, "name": "workspace" }]),
            )
        } else {
            Response::new_err(
                request.id,
                ErrorCode::MethodNotFound as i32,
                format!("cotype does not handle {method}"),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_crash_is_explained_by_its_error_line_not_the_backtrace_after_it() {
        let rustup: VecDeque<String> = [
            "error: rustup could not choose a version of rust-analyzer to run, because one \
             wasn't specified explicitly, and no default is configured.",
            "help: run 'rustup default stable' to download the latest stable release of Rust",
            "",
            "Stack backtrace:",
            "   0: anyhow::error::<impl core::convert::From<E> for anyhow::Error>::from",
            "  12: __libc_start_main_impl",
            "             at ./csu/../csu/libc-start.c:360:3",
            "  13: <unknown>",
        ]
        .map(String::from)
        .into();
        assert!(
            last_words(&rustup)
                .unwrap()
                .starts_with("error: rustup could not choose")
        );
        let plain: VecDeque<String> = ["starting", "cannot open socket", " "]
            .map(String::from)
            .into();
        assert_eq!(last_words(&plain), Some("cannot open socket"));
        assert_eq!(last_words(&VecDeque::new()), None);
    }

    fn read(bytes: &[u8]) -> std::io::Result<Option<Message>> {
        read_message(&mut BufReader::new(bytes))
    }

    /// Found by the fuzz target `lsp_convert`: `lsp_server::Message::read` allocated the
    /// claimed 42 TB, and the failed allocation aborted the host.
    #[test]
    fn a_huge_claimed_length_is_an_error_not_an_abort() {
        let framed = b"Content-Length: 042222222222622\r\n\r\n{\"jsonrpc\":\"2.0\"}";
        let error = read(framed).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert!(
            error.to_string().contains("42222222222622 bytes"),
            "{error}"
        );
        let endless_header = [b'x'; 4096];
        assert!(read(&endless_header).is_err());
    }

    #[test]
    fn messages_are_read_one_after_another() {
        let body =
            r#"{"jsonrpc":"2.0","method":"window/logMessage","params":{"type":3,"message":"hi"}}"#;
        let framed = format!(
            "Content-Length: {}\r\nContent-Type: application/vscode-jsonrpc\r\n\r\n{body}",
            body.len()
        );
        let bytes = format!("{framed}{framed}").into_bytes();
        let mut input = BufReader::new(bytes.as_slice());
        for _ in 0..2 {
            match read_message(&mut input).unwrap() {
                Some(Message::Notification(notification)) => {
                    assert_eq!(notification.method, "window/logMessage");
                }
                other => panic!("not the notification: {other:?}"),
            }
        }
        assert!(read_message(&mut input).unwrap().is_none());
        assert!(
            read(b"Content-Length: 5\r\n\r\n{}").is_err(),
            "a short body"
        );
        assert!(read(b"Content-Length: 2\n\n{}").is_err(), "bare line feeds");
    }
}
