//! The host's session loop: relay events, members' messages, the host user's commands
//! and changes on disk in, each handed to its concern: `members` (hello, admission,
//! roles, removal and rekey), `documents_served` (files, documents, edits, saving),
//! `watching` (the folder on disk), `language_servers` (their sync and members'
//! questions about code), `relay_link` (creating, pinging and resuming at the relay).
//! The imports here are shared: each of those files takes them with `use super::*`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::channel::{Channel, ChannelSender, Incoming};
use crate::crypto::SessionKeys;
use crate::host::documents::{Accepted, DiskChange, DocumentError, Documents};
use crate::host::workspace::Workspace;
use crate::latency::RoundTrip;
use crate::link::{Link, Secret, SessionId};
use crate::protocol::control::{ErrorCode, FromRelay, ToRelay};
use crate::protocol::header::Route;
use crate::protocol::message::{
    AppliedEdit, EditMessage, Event, Hello, Member, Message, Presence, Request, Response, Role,
    TextPosition, Welcome,
};
use crate::protocol::{HOST_ID, ParticipantId};

pub use crate::host_control::{Approval, HostCommand, HostControl, HostEvent, Person};

mod documents_served;
mod file_operations;
mod git;
mod language_edits;
mod language_servers;
mod members;
mod relay_link;
mod replacing;
mod shared_terminals;
mod watching;

use members::ParticipantState;
use relay_link::{connection_lost, create_at_relay};
use watching::watch_folder;

/// At most this many waiting messages are handled before the edits sequenced from them go
/// out (so a flood of submissions cannot hold back the broadcast for long).
const DRAIN_AT_ONCE: usize = 512;

/// The host is under load when at least this many messages were waiting behind the one
/// it took: then it gathers a little longer before broadcasting (see `serve_once`).
const BUSY_WHEN_WAITING: usize = 8;

#[derive(Clone, Debug)]
pub struct HostOptions {
    pub root: PathBuf,
    /// The relay to create the session at (see `link::parse_relay_address`). The host
    /// never starts one: whoever starts the host (`roles::embedded_relay`) does.
    pub relay: String,
    pub insecure: bool,
    pub hide: Vec<String>,
    pub name: String,
    pub approval: Approval,
    /// Let language servers build and run the project's code (build scripts, proc
    /// macros, `cargo check`, the project's own TypeScript), and let members edit the
    /// files that choose the host's tools. Off: members can never make code run on the
    /// host (`host::lsp::trust`).
    pub trust_project: bool,
}

/// A running host: the link to share, and the loop that serves it.
pub struct HostSession {
    pub link: Link,
    channel: Channel,
    workspace: std::sync::Arc<Workspace>,
    name: String,
    participants: BTreeMap<ParticipantId, ParticipantState>,
    /// Members whose connection dropped, by their old id, until they are back.
    departed: BTreeMap<ParticipantId, members::Departed>,
    intel: crate::host::intel::Intel,
    documents: Documents,
    /// Kept for `Resume` after the host's own connection drops.
    resume_token: [u8; 32],
    approval: Approval,
    /// `HostOptions::trust_project`.
    trust_project: bool,
    key_pair: crate::rekey::MemberKeyPair,
    /// Proves which participant is the host's own user (its terminal UI).
    owner_key: crate::crypto::OwnerKey,
    /// That participant, once joined: shown as the host, admitted without asking.
    owner: Option<ParticipantId>,
    epoch: crate::crypto::Epoch,
    commands: tokio::sync::mpsc::Receiver<HostCommand>,
    command_sender: tokio::sync::mpsc::Sender<HostCommand>,
    events: tokio::sync::mpsc::UnboundedSender<HostEvent>,
    event_receiver: Option<tokio::sync::mpsc::UnboundedReceiver<HostEvent>>,
    people: tokio::sync::watch::Sender<Vec<Person>>,
    /// Our round trip to the relay, shown in everyone's people panel.
    round_trip: RoundTrip,
    pings: u64,
    /// Pings sent since anything last arrived from the relay: past
    /// `SILENT_PINGS_BEFORE_RESUME` the connection is taken as lost even though no error
    /// says so (a half-open link: a NAT or a proxy that forgot it, a peer that vanished).
    unanswered_pings: u32,
    /// The relay node told us to move (`FromRelay::Move`): resume within this many
    /// milliseconds, not after the backoff.
    moved: Option<u32>,
    presence_seq: u64,
    /// Edits sequenced and not yet broadcast, in order, with about how many bytes they
    /// take: they go out together once the waiting messages are handled.
    applied: Vec<AppliedEdit>,
    applied_bytes: usize,
    /// Documents renamed by a member, old path to new: an edit or a save a member sent
    /// before it heard of the rename reaches the document under its new path.
    renamed: BTreeMap<String, String>,
    /// Documents on their way to the members who opened them, by member and path.
    document_sends: BTreeMap<(ParticipantId, String), documents_served::DocumentSend>,
    /// Shared terminals and who may type in them.
    terminals: crate::host::terminals::Terminals,
    /// A workspace replace under way (`replacing.rs`): applied a slice at a time.
    replacing: Option<replacing::ReplaceJob>,
    /// Language servers' edits (rename, format, code actions) come back here to be made.
    language_edits_back: language_edits::LanguageEditSender,
    language_edits: tokio::sync::mpsc::UnboundedReceiver<language_edits::LanguageEditDone>,
    /// Saves are formatted by the file's language server first (`set_format_on_save`).
    format_on_save: bool,
    /// What this process's SSH server knows of the SSH guests (`ssh_guests`).
    ssh_guests: crate::host_control::SshGuests,
    /// The link as it is now (a rekey replaces its secret), for the SSH guests' server.
    link_now: tokio::sync::watch::Sender<Link>,
    /// The git repository the shared folder is in, if any (`git.rs`).
    git: Option<std::sync::Arc<crate::host::git::HostRepository>>,
}

impl HostSession {
    /// Opens the workspace, creates the session at the relay and returns the link.
    pub async fn start(options: HostOptions) -> anyhow::Result<HostSession> {
        // Its errors say what cannot be shared and why.
        let workspace = std::sync::Arc::new(Workspace::open(&options.root, &options.hide)?);
        let (tls, relay_address) =
            crate::link::parse_relay_address(&options.relay, options.insecure)?;
        let identity = std::sync::Arc::new(crate::crypto::HostIdentity::generate());
        let link = Link::new(
            tls,
            relay_address,
            SessionId::random(),
            Secret::random(),
            identity.public(),
        );
        let mut resume_token = [0u8; 32];
        rand::fill(&mut resume_token);
        let channel = create_at_relay(&link, identity, &resume_token).await?;
        let intel = crate::host::intel::Intel::new(
            workspace.clone(),
            crate::host::lsp::LspConfig {
                trust_project: options.trust_project,
                ..crate::host::lsp::LspConfig::default()
            },
        )
        .context("cannot start code intelligence")?;
        // Diagnostics concern everyone looking at the file, not one asker.
        tokio::spawn(crate::host::intel::forward_diagnostics(
            intel.lsp().subscribe_diagnostics(),
            channel.sender.clone(),
        ));
        let (command_sender, commands) = tokio::sync::mpsc::channel(64);
        let (events, event_receiver) = tokio::sync::mpsc::unbounded_channel();
        let (language_edits_back, language_edits) = tokio::sync::mpsc::unbounded_channel();
        let workspace_root = workspace.root().to_path_buf();
        Ok(HostSession {
            link_now: tokio::sync::watch::Sender::new(link.clone()),
            link,
            channel,
            name: options.name,
            participants: BTreeMap::new(),
            departed: BTreeMap::new(),
            intel,
            documents: Documents::new(workspace.clone()),
            workspace,
            resume_token,
            approval: options.approval,
            trust_project: options.trust_project,
            key_pair: crate::rekey::MemberKeyPair::generate(),
            owner_key: crate::crypto::OwnerKey::generate(),
            owner: None,
            epoch: 0,
            commands,
            command_sender,
            events,
            event_receiver: Some(event_receiver),
            people: tokio::sync::watch::Sender::new(Vec::new()),
            round_trip: RoundTrip::new(std::time::Instant::now()),
            pings: 0,
            unanswered_pings: 0,
            moved: None,
            applied: Vec::new(),
            applied_bytes: 0,
            replacing: None,
            renamed: BTreeMap::new(),
            document_sends: BTreeMap::new(),
            presence_seq: 0,
            terminals: crate::host::terminals::Terminals::new(Default::default()),
            language_edits_back,
            language_edits,
            format_on_save: false,
            ssh_guests: Default::default(),
            git: crate::host::git::HostRepository::discover(workspace_root.as_path())
                .map(std::sync::Arc::new),
        })
    }

    /// The host user's handle: commands in, events out. Take it before `run`.
    pub fn control(&mut self) -> Option<HostControl> {
        Some(HostControl {
            commands: self.command_sender.clone(),
            events: self.event_receiver.take()?,
            people: self.people.subscribe(),
        })
    }

    /// Format-on-save: whoever saves a file whose language has a server on the host gets
    /// it formatted by that server first, as a shared edit (one undo step of theirs). A
    /// file the server cannot format is saved as it is.
    pub fn set_format_on_save(&mut self, on: bool) {
        self.format_on_save = on;
    }

    /// Size and scrollback of the shared terminals opened from now on.
    pub fn set_terminal_options(&mut self, options: crate::host::terminals::TerminalOptions) {
        self.terminals.set_options(options);
    }

    /// For the host's own terminal UI to join as the host (`Driver::join_as`). Keep it in
    /// this process: whoever holds it is admitted without asking.
    pub fn owner_key(&self) -> crate::crypto::OwnerKey {
        self.owner_key.clone()
    }

    /// Shared with the SSH server for guests (`ssh_guests::start`): what it learned of
    /// each guest, read when the guest's hello arrives.
    pub fn ssh_guests(&self) -> crate::host_control::SshGuests {
        self.ssh_guests.clone()
    }

    /// The link from now on: a removal's rekey changes its secret (and with it the SSH
    /// guests' token).
    pub fn link_updates(&self) -> tokio::sync::watch::Receiver<Link> {
        self.link_now.subscribe()
    }

    /// What proves to the relay that a connection is this host's (as `Resume` does): the
    /// SSH gateway (`ssh_guests`) opens one of its own with it.
    pub fn relay_proof(&self) -> [u8; 32] {
        self.resume_token
    }

    pub fn verification_code(&self) -> String {
        SessionKeys::derive(&self.link.secret, &self.link.session)
            .verification_code(&self.key_pair.public())
    }

    /// Serves until the host ends the session, or the relay connection is lost for good
    /// (it is resumed, or the session created again, for `HOST_RESUME_WINDOW`).
    pub async fn run(mut self) -> anyhow::Result<()> {
        let git_dir = self.git.as_ref().map(|git| git.git_dir().to_path_buf());
        let (_watcher, mut watch_rx) = watch_folder(self.workspace.root(), git_dir.as_deref());
        loop {
            match self.serve_once(&mut watch_rx).await {
                Ok(true) => {}
                Ok(false) => return Ok(()),
                // A send found the connection closed (say after the machine slept past the
                // relay's idle timeout): the same as `recv` finding it closed.
                Err(error) if connection_lost(&error) => {
                    tracing::warn!("lost the relay ({error:#}); resuming the session");
                    if let Err(failed) = self.resume().await {
                        return Err(self.keep_unsaved(failed.context(format!(
                            "the connection to the relay was lost ({error:#}) and could not be resumed"
                        ))));
                    }
                }
                Err(error) => return Err(self.keep_unsaved(error)),
            }
        }
    }

    /// The session is ending on an error: documents with edits nobody saved are written
    /// to the recovery folder (`crate::recovery`), and the error says where.
    fn keep_unsaved(&self, error: anyhow::Error) -> anyhow::Error {
        let unsaved = self.documents.unsaved_texts();
        if unsaved.is_empty() {
            return error;
        }
        let Some(folder) = crate::recovery::folder(&self.link.session) else {
            return error.context("unsaved edits were lost: this system has no data folder");
        };
        let kept = unsaved
            .iter()
            .filter(|(path, text)| crate::recovery::keep(&folder, path, text).is_ok())
            .count();
        error.context(format!(
            "{kept} file(s) with unsaved edits are kept in {}",
            folder.display()
        ))
    }

    /// Handles what comes next: a message, a command, a ping, a change on disk. False
    /// when the host's user ended the session.
    async fn serve_once(
        &mut self,
        watch_rx: &mut tokio::sync::mpsc::Receiver<std::collections::BTreeSet<PathBuf>>,
    ) -> anyhow::Result<bool> {
        let incoming = tokio::select! {
            incoming = self.channel.recv() => incoming,
            Some(command) = self.commands.recv() => {
                if !self.on_command(command).await? {
                    return Ok(false);
                }
                self.publish_people();
                return Ok(true);
            }
            _ = tokio::time::sleep_until(self.round_trip.due().into()) => {
                self.ping().await?;
                return Ok(true);
            }
            Some(changed) = watch_rx.recv() => {
                self.on_watched(changed).await?;
                return Ok(true);
            }
            Some(done) = self.language_edits.recv() => {
                self.on_language_edit_done(done).await?;
                return Ok(true);
            }
            progress = replacing::progress(&mut self.replacing) => {
                self.replace_progress(progress).await?;
                return Ok(true);
            }
            // A slice of a replace under way, after whatever arrived meanwhile.
            _ = std::future::ready(()), if self.replacing.as_ref().is_some_and(replacing::ReplaceJob::is_applying) => {
                self.replace_slice().await?;
                return Ok(true);
            }
        };
        self.unanswered_pings = 0;
        self.on_incoming(incoming).await?;
        // Whatever else has already arrived is handled before the edits sequenced so
        // far go out: under load, one broadcast carries many of them.
        let waiting = self.handle_waiting().await?;
        // Under load (many more had arrived), the connection's reader gets one more turn
        // before the broadcast, so what it reads meanwhile joins this frame instead of
        // the next: every frame costs every member a signature check. With a typist or
        // two, nothing (or little) else had arrived and the edit goes out at once.
        if waiting >= BUSY_WHEN_WAITING && !self.applied.is_empty() {
            tokio::task::yield_now().await;
            self.handle_waiting().await?;
        }
        self.broadcast_applied().await?;
        Ok(true)
    }

    /// Handles the messages that have already arrived (at most `DRAIN_AT_ONCE`), without
    /// waiting for more; how many there were.
    pub(super) async fn handle_waiting(&mut self) -> anyhow::Result<usize> {
        for handled in 0..DRAIN_AT_ONCE {
            let Some(incoming) = self.channel.try_recv() else {
                return Ok(handled);
            };
            self.on_incoming(incoming).await?;
        }
        Ok(DRAIN_AT_ONCE)
    }

    async fn on_incoming(&mut self, incoming: Incoming) -> anyhow::Result<()> {
        // Only submissions join the broadcast being gathered; anything else may answer
        // or depend on the text as it is now, so the edits before it go out first.
        if !matches!(
            incoming,
            Incoming::Message {
                message: Message::Edit(EditMessage::Submit { .. }),
                ..
            }
        ) {
            self.broadcast_applied().await?;
        }
        match incoming {
            Incoming::Relay(event) => {
                self.on_relay(event).await?;
                self.publish_people();
            }
            Incoming::Message { header, message } => {
                self.on_message(header.sender, message).await?
            }
            Incoming::Rejected { from, error } => {
                tracing::warn!(
                    participant = from,
                    "dropped a frame that did not open: {error}"
                );
            }
            Incoming::Closed { reason } => {
                let reason = reason.unwrap_or_else(|| "connection lost".into());
                tracing::warn!("lost the relay ({reason}); resuming the session");
                self.resume().await.with_context(|| {
                    format!(
                        "the connection to the relay was lost ({reason}) and could not be resumed"
                    )
                })?;
            }
        }
        Ok(())
    }

    fn sender(&self) -> ChannelSender {
        self.channel.sender.clone()
    }

    /// Where the answers to request `id` from `to` go.
    fn reply(&self, to: ParticipantId, id: u64) -> Reply {
        Reply {
            sender: self.sender(),
            to,
            id,
        }
    }

    async fn on_relay(&mut self, event: FromRelay) -> anyhow::Result<()> {
        match event {
            FromRelay::JoinRequest { participant } => {
                tracing::info!(participant, "someone with the link is joining");
            }
            FromRelay::PeerLeft { participant } => {
                if self.owner == Some(participant) {
                    self.owner = None;
                }
                self.document_sends.retain(|(to, _), _| *to != participant);
                if let Some(left) = self.participants.remove(&participant) {
                    tracing::info!(participant, "{} left", left.member.name);
                    self.remember_departed(participant, &left);
                    if left.admitted {
                        self.sender()
                            .send(
                                Route::Everyone,
                                &Message::Event(Event::MemberLeft { participant }),
                            )
                            .await?;
                    }
                    // Also one who gave up waiting: the host stops asking about them.
                    self.tell(HostEvent::MemberLeft(left.member));
                    self.end_terminal_grant(participant).await?;
                }
            }
            FromRelay::Error { message, fatal, .. } => {
                if fatal {
                    bail!("the relay ended the session: {message}");
                }
                tracing::warn!("relay refused a frame: {message}");
            }
            FromRelay::Pong { nonce } => {
                if self.round_trip.answered(nonce, std::time::Instant::now()) {
                    self.share_latency().await?;
                }
            }
            FromRelay::Welcome { .. }
            | FromRelay::Admitted
            | FromRelay::PeerJoined { .. }
            | FromRelay::HostAway { .. }
            | FromRelay::HostBack
            // The SSH gateway has a connection of its own (`ssh_guests`).
            | FromRelay::SshGatewayReady { .. }
            | FromRelay::SshOpened { .. }
            | FromRelay::SshData { .. }
            | FromRelay::SshClosed { .. } => {}
            // The relay closes the connection right after; `recv` then resumes, soon.
            FromRelay::Move { within_ms } => self.moved = Some(within_ms),
        }
        Ok(())
    }

    async fn on_message(&mut self, from: ParticipantId, message: Message) -> anyhow::Result<()> {
        match message {
            Message::Hello(hello) => {
                self.on_hello(from, hello).await?;
                self.publish_people();
                Ok(())
            }
            Message::Presence(presence) => {
                if let Some(p) = self.participants.get_mut(&from).filter(|p| p.admitted)
                    && p.viewing != presence.path
                {
                    p.viewing = presence.path;
                    self.publish_people();
                }
                Ok(())
            }
            Message::Request { id, body } => {
                let admitted = self.participants.get(&from).is_some_and(|p| p.admitted);
                if !admitted {
                    // Answered, not ignored: an asker left without an answer waits until
                    // its own timeout and never learns why.
                    tracing::warn!(participant = from, "request before admission refused");
                    return self
                        .reply(from, id)
                        .error("the host has not let you in yet; ask again once you are in")
                        .await;
                }
                self.on_request(from, id, body).await
            }
            Message::Edit(edit) => self.on_edit(from, edit).await,
            Message::KeyUpdate(_) => Ok(()),
            Message::Terminal(terminal) => self.on_terminal(from, terminal).await,
            Message::Welcome(_) | Message::Response { .. } | Message::Event(_) => {
                tracing::debug!(
                    participant = from,
                    "ignored a message meant for participants"
                );
                Ok(())
            }
        }
    }

    async fn on_request(
        &mut self,
        from: ParticipantId,
        id: u64,
        body: Request,
    ) -> anyhow::Result<()> {
        let reply = self.reply(from, id);
        match body {
            Request::Ping => reply.send(true, Response::Pong).await?,
            Request::ListFiles => self.list_files(&reply).await?,
            Request::ReadFile {
                path,
                offset,
                len,
                saved,
            } => {
                let answer = match self.read_chunk(&path, offset, len, saved) {
                    Ok((total, data)) => Response::FileChunk {
                        offset,
                        total,
                        data,
                    },
                    Err(message) => Response::Error { message },
                };
                reply.send(true, answer).await?;
            }
            Request::DocumentTextTaken { open } => self.document_text_taken(from, open).await?,
            Request::OpenDocument { .. }
            | Request::CloseDocument { .. }
            | Request::CatchUp { .. }
            | Request::Save { .. } => self.on_document_request(from, id, body).await?,
            Request::Search(_)
            | Request::CancelSearch { .. }
            | Request::Hover(_)
            | Request::Peek(_)
            | Request::Definition(_)
            | Request::References(_)
            | Request::Completion(_)
            | Request::PrepareRename(_)
            | Request::CodeActions(_)
            | Request::LineActions(_)
            | Request::Symbols { .. }
            | Request::SignatureHelp(_)
            | Request::InlayHints(_)
            | Request::SemanticTokens(_) => self.on_intel_request(from, id, body).await?,
            Request::Rename(_)
            | Request::Format { .. }
            | Request::FormatRange(_)
            | Request::ApplyCodeAction(_) => self.on_language_edit(from, id, body).await?,
            Request::Replace(request) => self.replace(from, id, request).await?,
            Request::GitStatus | Request::GitBase { .. } => {
                self.on_git_request(from, id, body).await?
            }
            Request::CreatePath { .. } | Request::MovePath { .. } | Request::DeletePath { .. } => {
                self.on_file_operation(from, id, body).await?
            }
        }
        Ok(())
    }
}

/// Where the answers to one request go: the member who asked, under the request's id.
struct Reply {
    sender: ChannelSender,
    to: ParticipantId,
    id: u64,
}

impl Reply {
    async fn send(&self, done: bool, body: Response) -> anyhow::Result<()> {
        let answer = Message::Response {
            id: self.id,
            done,
            body,
        };
        self.sender
            .send(Route::Participant(self.to), &answer)
            .await?;
        Ok(())
    }

    /// The last answer: `message`, a sentence for the person who asked.
    async fn error(&self, message: impl Into<String>) -> anyhow::Result<()> {
        let message = message.into();
        self.send(true, Response::Error { message }).await
    }
}
