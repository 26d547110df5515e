//! The host's session loop: relay events and participants' messages in, answers out.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::channel::{Channel, ChannelSender, Incoming};
use crate::crypto::{ReceivingKeys, SessionKeys};
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

/// At most this many waiting messages are handled before the edits sequenced from them go
/// out (so a flood of submissions cannot hold back the broadcast for long).
const DRAIN_AT_ONCE: usize = 512;
/// A broadcast of sequenced edits goes out once it holds about this many bytes of edits,
/// well under the frame limit.
const APPLIED_BYTES: usize = 256 * 1024;

/// How many file entries go into one `Files` response (keeps frames small).
const FILES_PER_RESPONSE: usize = 2000;
/// Distinct participant colors; indexes into the theme's palette.
const PALETTE_SIZE: u8 = 8;

#[derive(Clone, Debug)]
pub struct HostOptions {
    pub root: PathBuf,
    /// An external relay (see `link::parse_relay_address`); `None` starts an embedded
    /// relay on 127.0.0.1.
    pub relay: Option<String>,
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

/// Who gets in: everyone with the link, or whoever the host admits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Approval {
    #[default]
    Auto,
    Ask,
}

/// What the host's user (or a test) tells a running session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostCommand {
    Admit {
        participant: ParticipantId,
        role: Role,
    },
    Refuse {
        participant: ParticipantId,
    },
    SetRole {
        participant: ParticipantId,
        role: Role,
    },
    /// Disconnects the participant and rotates the keys, so its link and keys stop working.
    Remove {
        participant: ParticipantId,
    },
    FollowMe,
    /// Asks which files have edits not saved to disk (answered by `HostEvent::Unsaved`):
    /// ending the session loses them.
    CheckUnsaved,
    /// Accepts the ignore files (`.gitignore`, `.ignore`) as they are now: rules someone
    /// removed from them stop hiding files. Without it, hiding only grows.
    AdoptIgnoreFiles,
    End,
}

/// What a running session tells the host's user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostEvent {
    /// Someone with the link asks to join (`Approval::Ask`).
    JoinRequest {
        participant: ParticipantId,
        name: String,
    },
    MemberJoined(Member),
    MemberLeft(Member),
    RoleChanged(Member),
    /// Keys were rotated after a removal: share this new link from now on.
    Rekeyed {
        link: String,
        verification_code: String,
    },
    /// Open files whose edits are not on disk (after `HostCommand::CheckUnsaved`).
    Unsaved {
        paths: Vec<String>,
    },
    /// Ignore files changed during the session (`HostCommand::AdoptIgnoreFiles` applies
    /// them as written); until then, what they hid stays hidden.
    IgnoreFilesChanged {
        paths: Vec<String>,
    },
    Ended,
}

/// The host user's handle on a running session.
pub struct HostControl {
    pub commands: tokio::sync::mpsc::Sender<HostCommand>,
    pub events: tokio::sync::mpsc::UnboundedReceiver<HostEvent>,
    /// Who is in the session (and who waits to be let in) now, kept current by the session.
    pub people: tokio::sync::watch::Receiver<Vec<Person>>,
}

/// One person in the session, as the host knows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub member: Member,
    /// False while they wait for the host's user to let them in.
    pub admitted: bool,
    /// The files they opened (and have not closed), sorted.
    pub open: Vec<String>,
    /// The file their presence says they look at.
    pub viewing: Option<String>,
}

struct Participant {
    member: Member,
    admitted: bool,
    /// From the encrypted hello: where to wrap the next epoch's secret.
    public_key: [u8; 32],
    /// Documents this participant opened and did not close.
    open: std::collections::BTreeSet<String>,
    /// The path of their last presence.
    viewing: Option<String>,
    /// How many bytes of edits they may still send now.
    edit_rate: crate::host::rate::ByteRate,
    /// Their requests the host is still answering.
    in_flight: crate::host::rate::InFlight,
}

/// A running host: the link to share, and the loop that serves it.
pub struct HostSession {
    pub link: Link,
    channel: Channel,
    workspace: std::sync::Arc<Workspace>,
    name: String,
    participants: BTreeMap<ParticipantId, Participant>,
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
    /// The embedded relay, if this host started one (kept alive with the session).
    _embedded_relay: Option<crate::relay::Relay>,
    /// Our round trip to the relay, shown in everyone's people panel.
    round_trip: RoundTrip,
    pings: u64,
    /// Pings sent since anything last arrived from the relay: past
    /// `SILENT_PINGS_BEFORE_RESUME` the connection is taken as lost even though no error
    /// says so (a half-open link: a NAT or a proxy that forgot it, a peer that vanished).
    unanswered_pings: u32,
    presence_seq: u64,
    /// Edits sequenced and not yet broadcast, in order, with about how many bytes they
    /// take: they go out together once the waiting messages are handled.
    applied: Vec<AppliedEdit>,
    applied_bytes: usize,
}

impl HostSession {
    /// Opens the workspace, creates the session at the relay and returns the link.
    pub async fn start(options: HostOptions) -> anyhow::Result<HostSession> {
        // Its errors say what cannot be shared and why.
        let workspace = std::sync::Arc::new(Workspace::open(&options.root, &options.hide)?);
        let (relay_address, tls, embedded) = match &options.relay {
            Some(relay) => {
                let (tls, address) = crate::link::parse_relay_address(relay, options.insecure)?;
                (address, tls, None)
            }
            None => {
                let listen: SocketAddr = "127.0.0.1:0".parse().expect("valid address");
                let (address, relay) =
                    crate::relay::spawn(listen, crate::relay::RelayConfig::default())
                        .await
                        .context("cannot start the embedded relay")?;
                (address.to_string(), false, Some(relay))
            }
        };
        let identity = std::sync::Arc::new(crate::crypto::HostIdentity::generate());
        let link = Link::new(
            tls,
            relay_address,
            SessionId::random(),
            Secret::random(),
            identity.public(),
        );
        let keys = SessionKeys::derive(&link.secret, &link.session);
        let socket = crate::net::connect(&link, crate::protocol::DEFAULT_MAX_FRAME).await?;
        let mut channel = Channel::new(
            socket,
            keys.sending_key(0),
            ReceivingKeys::new(0, &keys),
            link.host_key,
        );
        // Everything the host sends carries its signature: members can seal, but only the
        // host can sign.
        channel.sender.sign_as_host(identity);
        let mut resume_token = [0u8; 32];
        rand::fill(&mut resume_token);
        channel
            .sender
            .control(&ToRelay::Create {
                session: link.session.0,
                verifier: keys.admission_verifier(),
                resume_verifier: crate::crypto::admission_verifier(&resume_token),
            })
            .await?;
        match tokio::time::timeout(Duration::from_secs(10), channel.recv()).await {
            Ok(Incoming::Relay(FromRelay::Welcome { participant, .. }))
                if participant == HOST_ID => {}
            Ok(Incoming::Relay(FromRelay::Error { message, .. })) => {
                bail!("the relay refused the session: {message}")
            }
            Ok(Incoming::Closed { reason }) => bail!(
                "the relay closed the connection{}",
                reason.map(|r| format!(": {r}")).unwrap_or_default()
            ),
            Ok(other) => bail!("unexpected answer from the relay: {other:?}"),
            Err(_) => bail!("the relay did not answer within 10 s"),
        }
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
        Ok(HostSession {
            link,
            channel,
            name: options.name,
            participants: BTreeMap::new(),
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
            _embedded_relay: embedded,
            round_trip: RoundTrip::new(std::time::Instant::now()),
            pings: 0,
            unanswered_pings: 0,
            applied: Vec::new(),
            applied_bytes: 0,
            presence_seq: 0,
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

    /// Tells the host's user `event`, with `HostControl::people` already saying who is in
    /// the session after it.
    fn tell(&self, event: HostEvent) {
        self.publish_people();
        let _ = self.events.send(event);
    }

    /// Tells the host's user who is in the session now (`HostControl::people`).
    fn publish_people(&self) {
        let host = Person {
            member: Member {
                participant: HOST_ID,
                name: self.name.clone(),
                role: Role::Host,
                color: 0,
            },
            admitted: true,
            open: Vec::new(),
            viewing: None,
        };
        // The host's own user, when present, stands for the host (as in `members`).
        let owner_present = self
            .owner
            .is_some_and(|owner| self.participants.contains_key(&owner));
        let people = (!owner_present)
            .then_some(host)
            .into_iter()
            .chain(self.participants.values().map(|p| Person {
                member: p.member.clone(),
                admitted: p.admitted,
                open: p.open.iter().cloned().collect(),
                viewing: p.viewing.clone(),
            }))
            .collect();
        self.people.send_if_modified(|now| {
            let changed = *now != people;
            *now = people;
            changed
        });
    }

    /// For the host's own terminal UI to join as the host (`Driver::join_as`). Keep it in
    /// this process: whoever holds it is admitted without asking.
    pub fn owner_key(&self) -> crate::crypto::OwnerKey {
        self.owner_key.clone()
    }

    pub fn verification_code(&self) -> String {
        SessionKeys::derive(&self.link.secret, &self.link.session)
            .verification_code(&self.key_pair.public())
    }

    /// Serves until the host ends the session, or the relay connection is lost for good
    /// (it is resumed, or the session created again, for `HOST_RESUME_WINDOW`).
    pub async fn run(mut self) -> anyhow::Result<()> {
        let (watch_tx, mut watch_rx) = tokio::sync::mpsc::channel::<PathBuf>(4096);
        let _watcher = watch_folder(self.workspace.root(), watch_tx);
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
        watch_rx: &mut tokio::sync::mpsc::Receiver<PathBuf>,
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
                if self.unanswered_pings >= SILENT_PINGS_BEFORE_RESUME {
                    self.unanswered_pings = 0;
                    tracing::warn!(
                        "the relay has not answered {SILENT_PINGS_BEFORE_RESUME} pings; taking the connection as lost"
                    );
                    return Err(crate::channel::ChannelError::Closed.into());
                }
                self.unanswered_pings += 1;
                self.pings += 1;
                // A lost connection shows up in `recv`, which resumes; not here.
                if self.round_trip.sent(self.pings, std::time::Instant::now())
                    && let Err(e) = self.share_latency().await
                {
                    tracing::debug!("latency not shared: {e}");
                }
                let ping = ToRelay::Ping { nonce: self.pings };
                if let Err(e) = self.sender().control(&ping).await {
                    tracing::debug!("ping to the relay not sent: {e}");
                }
                return Ok(true);
            }
            Some(first) = watch_rx.recv() => {
                // Let a burst of file-system events settle, then handle each path once.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let mut changed = std::collections::BTreeSet::from([first]);
                while let Ok(path) = watch_rx.try_recv() {
                    changed.insert(path);
                }
                self.on_disk_changes(changed).await?;
                return Ok(true);
            }
        };
        self.unanswered_pings = 0;
        self.on_incoming(incoming).await?;
        // Whatever else has already arrived is handled before the edits sequenced so
        // far go out: under load, one broadcast carries many of them.
        for _ in 0..DRAIN_AT_ONCE {
            let Some(incoming) = self.channel.try_recv() else {
                break;
            };
            self.on_incoming(incoming).await?;
        }
        self.broadcast_applied().await?;
        Ok(true)
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

    /// Adds a sequenced edit to the next broadcast (sent at once if that is full).
    async fn sequenced(&mut self, applied: AppliedEdit) -> anyhow::Result<()> {
        let size = crate::protocol::message::applied_size(&applied.path, &applied.edit.op);
        // A batch ends before an edit that would take it past one edit's limit, so every
        // broadcast fits a frame.
        if self.applied_bytes + size > crate::protocol::MAX_EDIT_BYTES {
            self.broadcast_applied().await?;
        }
        self.applied_bytes += size;
        self.applied.push(applied);
        if self.applied_bytes >= APPLIED_BYTES {
            self.broadcast_applied().await?;
        }
        Ok(())
    }

    /// Tells everyone which of `paths` became unsaved or saved (their text now differs
    /// from the disk's, or equals it again).
    async fn announce_unsaved(
        &mut self,
        paths: impl IntoIterator<Item = &str>,
    ) -> anyhow::Result<()> {
        for (path, revision, unsaved) in self.documents.unsaved_changes(paths) {
            let event = Event::Unsaved {
                path,
                revision,
                unsaved,
            };
            self.sender()
                .send(Route::Everyone, &Message::Event(event))
                .await?;
        }
        Ok(())
    }

    /// Sends the sequenced edits not yet broadcast, to everyone, in one frame.
    async fn broadcast_applied(&mut self) -> anyhow::Result<()> {
        if self.applied.is_empty() {
            return Ok(());
        }
        let edits = std::mem::take(&mut self.applied);
        self.applied_bytes = 0;
        self.language_servers_follow(&edits);
        let paths: std::collections::BTreeSet<String> =
            edits.iter().map(|edit| edit.path.clone()).collect();
        // Whether the text is unsaved goes out before the edits that changed it: a
        // participant shows its own unconfirmed edits as unsaved, and hearing "saved"
        // after the confirmation would leave a moment where `:q` lets them leave.
        self.announce_unsaved(paths.iter().map(String::as_str))
            .await?;
        self.sender()
            .send(
                Route::Everyone,
                &Message::Edit(EditMessage::Applied { edits }),
            )
            .await?;
        Ok(())
    }

    /// Reconnects to the relay and reclaims the session within its grace period.
    async fn resume(&mut self) -> anyhow::Result<()> {
        let keys = SessionKeys::derive(&self.link.secret, &self.link.session);
        let deadline = tokio::time::Instant::now() + HOST_RESUME_WINDOW;
        let mut retry = Duration::from_millis(100);
        loop {
            if tokio::time::Instant::now() >= deadline {
                bail!("gave up after {} s", HOST_RESUME_WINDOW.as_secs());
            }
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(Duration::from_secs(3));
            let socket =
                match crate::net::connect(&self.link, crate::protocol::DEFAULT_MAX_FRAME).await {
                    Ok(socket) => socket,
                    Err(e) => {
                        tracing::info!("relay still unreachable: {e}");
                        continue;
                    }
                };
            // The same channel on a new connection: every task holding a clone of its
            // sender (request answers, diagnostics) follows.
            self.channel.reattach(socket, keys.sending_key(self.epoch));
            let resume = ToRelay::Resume {
                session: self.link.session.0,
                resume_token: self.resume_token,
            };
            // A connection lost again at once is one more attempt, not the end.
            if let Err(e) = self.channel.sender.control(&resume).await {
                tracing::info!("the new connection closed at once, retrying: {e}");
                continue;
            }
            let answer = tokio::time::timeout(Duration::from_secs(10), self.channel.recv()).await;
            // The relay restarted (or gave up on us) and lost the session: create it again
            // under the same id and keys, so the link keeps working and members come back
            // by themselves.
            let lost = matches!(
                answer,
                Ok(Incoming::Relay(FromRelay::Error {
                    code: ErrorCode::NoSession,
                    ..
                }))
            );
            if lost {
                if self.recreate(&keys).await? {
                    return Ok(());
                }
                continue;
            }
            match answer {
                Ok(Incoming::Relay(FromRelay::Welcome { .. })) => {
                    tracing::info!("session resumed");
                    return Ok(());
                }
                Ok(Incoming::Relay(FromRelay::Error {
                    message,
                    fatal: true,
                    ..
                })) => {
                    bail!("the relay refused to resume the session: {message}")
                }
                _ => {}
            }
        }
    }

    /// Creates the session again at a relay that lost it, on a new connection: the same
    /// id, admission verifier, resume token and key epoch. Everyone the relay had is gone
    /// from it, so they leave here too; they rejoin with the same link. False if the relay
    /// did not take it (try again).
    async fn recreate(&mut self, keys: &SessionKeys) -> anyhow::Result<bool> {
        let socket = match crate::net::connect(&self.link, crate::protocol::DEFAULT_MAX_FRAME).await
        {
            Ok(socket) => socket,
            Err(_) => return Ok(false),
        };
        self.channel.reattach(socket, keys.sending_key(self.epoch));
        let sender = self.sender();
        let create = ToRelay::Create {
            session: self.link.session.0,
            verifier: keys.admission_verifier(),
            resume_verifier: crate::crypto::admission_verifier(&self.resume_token),
        };
        if sender.control(&create).await.is_err() {
            return Ok(false);
        }
        match tokio::time::timeout(Duration::from_secs(10), self.channel.recv()).await {
            Ok(Incoming::Relay(FromRelay::Welcome { participant, .. }))
                if participant == HOST_ID => {}
            _ => return Ok(false),
        }
        if self.epoch > 0 {
            let rotate = ToRelay::RotateToken {
                verifier: keys.admission_verifier(),
                epoch: self.epoch,
            };
            if sender.control(&rotate).await.is_err() {
                return Ok(false);
            }
        }
        let gone = std::mem::take(&mut self.participants);
        self.owner = None;
        for participant in gone.into_values() {
            if participant.admitted {
                self.tell(HostEvent::MemberLeft(participant.member));
            }
        }
        tracing::info!("the relay had lost the session; created it again");
        Ok(true)
    }

    /// Files changed on disk by another program: open documents get an edit, everyone
    /// hears about creations, deletions and renames of files they may see.
    async fn on_disk_changes(
        &mut self,
        changed: std::collections::BTreeSet<PathBuf>,
    ) -> anyhow::Result<()> {
        let root = self.workspace.root().to_path_buf();
        let relative: Vec<String> = changed
            .iter()
            .filter_map(|p| p.strip_prefix(&root).ok())
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .filter(|p| {
                !p.is_empty()
                    && !p
                        .rsplit('/')
                        .next()
                        .unwrap_or("")
                        .starts_with(".cotype-save-")
            })
            .collect();
        let visible_before: Vec<bool> = relative
            .iter()
            .map(|p| self.workspace.is_visible(p))
            .collect();
        let changed_ignore_files = self.workspace.refresh();
        if !changed_ignore_files.is_empty() {
            self.tell(HostEvent::IgnoreFilesChanged {
                paths: changed_ignore_files,
            });
        }
        let sender = self.sender();
        let mut list_changed = false;
        for (path, was_visible) in relative.iter().zip(visible_before) {
            let visible = self.workspace.is_visible(path);
            if !visible && !was_visible && !self.documents.is_open(path) {
                continue;
            }
            if visible != was_visible {
                list_changed = true;
            }
            if !visible && was_visible {
                sender
                    .send(
                        Route::Everyone,
                        &Message::Event(Event::FileDeleted { path: path.clone() }),
                    )
                    .await?;
                continue;
            }
            if self.documents.is_open(path) {
                match self.documents.disk_changed(path) {
                    Ok(Some(DiskChange::Conflict)) => {
                        self.announce_unsaved([path.as_str()]).await?;
                        let message = format!(
                            "{path} changed on the host's disk while it has unsaved edits; your text is kept, and saving will write it over the disk's version"
                        );
                        sender
                            .send(Route::Everyone, &Message::Event(Event::Notice { message }))
                            .await?;
                        sender
                            .send(
                                Route::Everyone,
                                &Message::Event(Event::FileChanged { path: path.clone() }),
                            )
                            .await?;
                    }
                    Ok(Some(DiskChange::Applied(edit))) => {
                        self.sequenced(AppliedEdit {
                            path: path.clone(),
                            edit,
                            by: HOST_ID,
                        })
                        .await?;
                        self.broadcast_applied().await?;
                        sender
                            .send(
                                Route::Everyone,
                                &Message::Event(Event::FileChanged { path: path.clone() }),
                            )
                            .await?;
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!("a file changed on disk could not be merged: {e}"),
                }
            }
        }
        if list_changed {
            sender
                .send(Route::Everyone, &Message::Event(Event::FilesChanged))
                .await?;
        }
        Ok(())
    }

    fn sender(&self) -> ChannelSender {
        self.channel.sender.clone()
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
                if let Some(left) = self.participants.remove(&participant) {
                    tracing::info!(participant, "{} left", left.member.name);
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
            | FromRelay::HostBack => {}
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
                    tracing::warn!(participant = from, "request before admission ignored");
                    return Ok(());
                }
                self.on_request(from, id, body).await
            }
            Message::Edit(edit) => self.on_edit(from, edit).await,
            Message::KeyUpdate(_) => Ok(()),
            Message::Welcome(_) | Message::Response { .. } | Message::Event(_) => {
                tracing::debug!(
                    participant = from,
                    "ignored a message meant for participants"
                );
                Ok(())
            }
        }
    }

    async fn on_hello(&mut self, from: ParticipantId, hello: Hello) -> anyhow::Result<()> {
        if self.participants.get(&from).is_some_and(|p| p.admitted) {
            return Ok(());
        }
        let is_owner = match hello.owner_proof {
            Some(proof) if self.owner_key.verify(&self.link.session, from, &proof) => true,
            Some(_) => {
                tracing::warn!(
                    participant = from,
                    "a hello claimed to be the host's own user with a wrong proof; treated as anyone else"
                );
                false
            }
            None => false,
        };
        let member = Member {
            participant: from,
            name: display_name(&hello.name, from),
            role: if is_owner { Role::Host } else { Role::Editor },
            // The host's color, as when the host is headless.
            color: if is_owner { 0 } else { self.free_color() },
        };
        self.participants.insert(
            from,
            Participant {
                member: member.clone(),
                admitted: false,
                public_key: hello.public_key,
                open: Default::default(),
                viewing: None,
                edit_rate: Default::default(),
                in_flight: Default::default(),
            },
        );
        if is_owner {
            self.owner = Some(from);
            return self.admit(from, Role::Host).await;
        }
        match self.approval {
            Approval::Auto => self.admit(from, Role::Editor).await,
            Approval::Ask => {
                tracing::info!(participant = from, "{} asks to join", member.name);
                self.tell(HostEvent::JoinRequest {
                    participant: from,
                    name: member.name,
                });
                // A pending joiner hears only the host: tell it why nothing happens yet.
                self.sender()
                    .send(
                        Route::Participant(from),
                        &Message::Event(Event::AwaitingAdmission),
                    )
                    .await?;
                Ok(())
            }
        }
    }

    async fn admit(&mut self, participant: ParticipantId, role: Role) -> anyhow::Result<()> {
        let Some(waiting) = self.participants.get_mut(&participant) else {
            return Ok(());
        };
        waiting.admitted = true;
        waiting.member.role = role;
        let member = waiting.member.clone();
        tracing::info!(participant, "{} joined", member.name);
        let sender = self.sender();
        sender.control(&ToRelay::Admit { participant }).await?;
        let welcome = Welcome {
            you: member.clone(),
            members: self.members(),
            host_public_key: self.key_pair.public(),
        };
        sender
            .send(Route::Participant(participant), &Message::Welcome(welcome))
            .await?;
        sender
            .send(
                Route::Everyone,
                &Message::Event(Event::MemberJoined(member.clone())),
            )
            .await?;
        self.tell(HostEvent::MemberJoined(member));
        // The newcomer has no presence of ours yet.
        self.share_latency().await
    }

    /// Tells everyone our round trip to the relay. The host has no cursor: its presence
    /// carries only this.
    async fn share_latency(&mut self) -> anyhow::Result<()> {
        let Some(latency_ms) = self.round_trip.latest() else {
            return Ok(());
        };
        self.round_trip.mark_shared();
        self.presence_seq += 1;
        let presence = Presence {
            seq: self.presence_seq,
            path: None,
            revision: 0,
            selections: Vec::new(),
            scroll_line: 0,
            following: None,
            latency_ms: Some(latency_ms),
        };
        self.sender()
            .send(Route::Everyone, &Message::Presence(presence))
            .await?;
        Ok(())
    }

    /// Carries out the host user's command; returns false when the session ended.
    async fn on_command(&mut self, command: HostCommand) -> anyhow::Result<bool> {
        let sender = self.sender();
        if let HostCommand::SetRole { participant, .. } | HostCommand::Remove { participant } =
            command
            && Some(participant) == self.owner
        {
            tracing::warn!("the host's own user keeps its role and cannot be removed");
            return Ok(true);
        }
        match command {
            HostCommand::Admit { participant, role } => self.admit(participant, role).await?,
            HostCommand::Refuse { participant } => {
                self.participants.remove(&participant);
                sender.control(&ToRelay::Refuse { participant }).await?;
            }
            HostCommand::SetRole { participant, role } => {
                if let Some(p) = self
                    .participants
                    .get_mut(&participant)
                    .filter(|p| p.admitted)
                {
                    p.member.role = role;
                    let member = p.member.clone();
                    sender
                        .send(
                            Route::Everyone,
                            &Message::Event(Event::RoleChanged { participant, role }),
                        )
                        .await?;
                    self.tell(HostEvent::RoleChanged(member));
                }
            }
            HostCommand::Remove { participant } => self.remove_and_rekey(participant).await?,
            HostCommand::FollowMe => {
                sender
                    .send(
                        Route::Everyone,
                        &Message::Event(Event::FollowMe {
                            leader: self.owner.unwrap_or(HOST_ID),
                        }),
                    )
                    .await?;
            }
            HostCommand::CheckUnsaved => {
                let paths = self.documents.unsaved_paths();
                self.tell(HostEvent::Unsaved { paths });
            }
            HostCommand::AdoptIgnoreFiles => {
                self.workspace.adopt_ignore_files();
                sender
                    .send(Route::Everyone, &Message::Event(Event::FilesChanged))
                    .await?;
            }
            HostCommand::End => {
                sender.control(&ToRelay::End).await?;
                self.tell(HostEvent::Ended);
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Removes a participant and moves everyone else to a new key epoch: the new secret
    /// is wrapped for each remaining member's X25519 key, the relay's admission token is
    /// rotated first (so the old link cannot slip in), and the host shows the new link.
    async fn remove_and_rekey(&mut self, participant: ParticipantId) -> anyhow::Result<()> {
        let Some(removed) = self.participants.remove(&participant) else {
            return Ok(());
        };
        let sender = self.sender();
        sender.control(&ToRelay::Remove { participant }).await?;
        let next_epoch = self.epoch + 1;
        let remaining: Vec<(ParticipantId, [u8; 32])> = self
            .participants
            .iter()
            .filter(|(_, p)| p.admitted)
            .map(|(&id, p)| (id, p.public_key))
            .collect();
        let rekey = crate::rekey::rekey(&self.key_pair, &self.link.session, next_epoch, remaining)?;
        sender
            .control(&ToRelay::RotateToken {
                verifier: rekey.verifier,
                epoch: next_epoch,
            })
            .await?;
        // Still sealed under the old epoch: only current members can open it.
        for (id, wrapped) in rekey.wrapped {
            let update = Message::KeyUpdate(crate::protocol::message::KeyUpdate {
                epoch: next_epoch,
                wrapped,
            });
            sender.send(Route::Participant(id), &update).await?;
        }
        // Waiting joiners were not wrapped for: they must come back with the new link.
        let waiting: Vec<ParticipantId> = self
            .participants
            .iter()
            .filter(|(_, p)| !p.admitted)
            .map(|(&id, _)| id)
            .collect();
        for id in waiting {
            self.participants.remove(&id);
            sender.control(&ToRelay::Refuse { participant: id }).await?;
        }
        let keys = SessionKeys::derive(&rekey.secret, &self.link.session);
        // Frames members sealed just before they switched may still be on the way: the
        // epoch before opens members' frames for a few seconds more (the removed member's
        // cannot arrive: the relay disconnected it and its token no longer admits).
        self.channel.switch_epoch(next_epoch, &keys);
        self.link.secret = rekey.secret.clone();
        self.epoch = next_epoch;
        sender
            .send(
                Route::Everyone,
                &Message::Event(Event::MemberLeft { participant }),
            )
            .await?;
        tracing::info!(
            participant,
            "removed {}; keys rotated to epoch {next_epoch}",
            removed.member.name
        );
        self.tell(HostEvent::MemberLeft(removed.member));
        self.tell(HostEvent::Rekeyed {
            link: self.link.to_url(),
            verification_code: keys.verification_code(&self.key_pair.public()),
        });
        Ok(())
    }

    /// Everyone admitted. The host appears once: as its own user when its terminal UI
    /// is in the session, else as the serving process itself.
    fn members(&self) -> Vec<Member> {
        let host = Member {
            participant: HOST_ID,
            name: self.name.clone(),
            role: Role::Host,
            color: 0,
        };
        let owner_present = self
            .owner
            .is_some_and(|owner| self.participants.get(&owner).is_some_and(|p| p.admitted));
        (!owner_present)
            .then_some(host)
            .into_iter()
            .chain(
                self.participants
                    .values()
                    .filter(|p| p.admitted)
                    .map(|p| p.member.clone()),
            )
            .collect()
    }

    fn free_color(&self) -> u8 {
        let used: Vec<u8> = self.participants.values().map(|p| p.member.color).collect();
        (1..PALETTE_SIZE)
            .find(|c| !used.contains(c))
            .unwrap_or((self.participants.len() % PALETTE_SIZE as usize) as u8)
    }

    async fn on_request(
        &mut self,
        from: ParticipantId,
        id: u64,
        body: Request,
    ) -> anyhow::Result<()> {
        let sender = self.sender();
        let route = Route::Participant(from);
        let respond = |done: bool, body: Response| Message::Response { id, done, body };
        match body {
            Request::Ping => sender.send(route, &respond(true, Response::Pong)).await?,
            Request::ListFiles => {
                let files = self.workspace.list();
                let mut batches = files.chunks(FILES_PER_RESPONSE).peekable();
                if batches.peek().is_none() {
                    sender
                        .send(route, &respond(true, Response::Files(Vec::new())))
                        .await?;
                }
                while let Some(batch) = batches.next() {
                    let done = batches.peek().is_none();
                    sender
                        .send(route, &respond(done, Response::Files(batch.to_vec())))
                        .await?;
                }
            }
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
                sender.send(route, &respond(true, answer)).await?;
            }
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
            | Request::Completion(_) => self.on_intel_request(from, id, body).await?,
        }
        Ok(())
    }

    /// Reads one chunk of a shared file: of the shared text everyone sees if the file is
    /// open as a document, else (or when `saved` asks for it) of the disk. The error is a
    /// sentence for the participant.
    fn read_chunk(
        &self,
        path: &str,
        offset: u64,
        len: u32,
        saved: bool,
    ) -> Result<(u64, Vec<u8>), String> {
        // Judged as for any read: a document stays open after its file became hidden.
        let disk = self
            .workspace
            .read_range(path, offset, len as usize)
            .map_err(|e| e.to_string());
        if saved {
            return disk;
        }
        match self.documents.read_range(path, offset, len as usize) {
            Some(shared) if self.workspace.is_visible(path) => Ok(shared),
            _ => disk,
        }
    }

    /// Hands a document opened for the first time to the language servers, which follow
    /// the authoritative text from then on.
    async fn language_servers_open(&mut self, path: &str, revision: u64, rope: &ropey::Rope) {
        if let Err(e) = self
            .intel
            .document_opened(
                path,
                rope.clone(),
                crate::host::intel::lsp_version(revision),
            )
            .await
        {
            tracing::debug!("no language server follows {path}: {e}");
        }
    }

    /// Tells the language servers about an edit the host applied.
    /// Tells the language servers of a broadcast's edits: one change notification per
    /// document, with its edits composed, so a busy session does not flood the servers
    /// with a notification per keystroke.
    fn language_servers_follow(&self, edits: &[AppliedEdit]) {
        let mut per_document: Vec<(&str, u64, crate::text::Operation)> = Vec::new();
        for AppliedEdit { path, edit, .. } in edits {
            let composed = per_document
                .iter_mut()
                .rev()
                .find(|(document, _, _)| document == path)
                .and_then(|(_, revision, op)| {
                    let both = op.compose(&edit.op).ok()?;
                    (*op, *revision) = (both, edit.revision);
                    Some(())
                });
            if composed.is_none() {
                per_document.push((path, edit.revision, edit.op.clone()));
            }
        }
        let changes = per_document
            .iter()
            .map(|(path, revision, op)| (*path, crate::host::intel::lsp_version(*revision), op));
        for e in self.intel.lsp().did_change_all(changes) {
            tracing::debug!("language server not told of an edit: {e}");
        }
    }

    fn role_of(&self, participant: ParticipantId) -> Option<Role> {
        self.participants
            .get(&participant)
            .filter(|p| p.admitted)
            .map(|p| p.member.role)
    }

    async fn on_document_request(
        &mut self,
        from: ParticipantId,
        id: u64,
        body: Request,
    ) -> anyhow::Result<()> {
        let sender = self.sender();
        let route = Route::Participant(from);
        let respond = |done: bool, body: Response| Message::Response { id, done, body };
        let error = |e: DocumentError| {
            respond(
                true,
                Response::Error {
                    message: e.to_string(),
                },
            )
        };
        let asked_path = match &body {
            Request::OpenDocument { path }
            | Request::CatchUp { path, .. }
            | Request::Save { path } => Some(path),
            _ => None,
        };
        if let Some(path) = asked_path
            && let Some(message) = not_in_normal_form(path)
        {
            return Ok(sender
                .send(route, &respond(true, Response::Error { message }))
                .await?);
        }
        match body {
            Request::OpenDocument { path } => {
                if let Some(p) = self.participants.get(&from)
                    && p.open.len() >= crate::host::rate::OPEN_DOCUMENTS
                    && !p.open.contains(&path)
                {
                    let message = format!(
                        "you have {} files open, the most the host keeps for one person; close some first",
                        p.open.len()
                    );
                    let answer = respond(true, Response::Error { message });
                    return Ok(sender.send(route, &answer).await?);
                }
                let read_only = self.role_of(from) == Some(Role::ReadOnly);
                let piece = |done: bool, revision: u64, text: String| {
                    respond(
                        done,
                        Response::DocumentText {
                            revision,
                            text,
                            read_only,
                        },
                    )
                };
                // The first screen's worth goes out before any work on the whole file
                // (reading, building, hashing it, the language servers), so the person
                // opening it sees it at once whatever its size.
                let (head_revision, head, bytes) =
                    match self.documents.head(&path, DOCUMENT_HEAD_BYTES) {
                        Ok(head) => head,
                        Err(e) => return Ok(sender.send(route, &error(e)).await?),
                    };
                sender
                    .send(route, &respond(false, Response::DocumentLength { bytes }))
                    .await?;
                sender
                    .send(route, &piece(false, head_revision, head.clone()))
                    .await?;
                let first = !self.documents.is_open(&path);
                let (revision, rope) = match self.documents.open(&path) {
                    Ok(opened) => opened,
                    Err(e) => return Ok(sender.send(route, &error(e)).await?),
                };
                if !self.documents.starts_with(&path, head_revision, &head) {
                    let message = format!(
                        "{path} changed on the host's disk while it was being opened; open it again"
                    );
                    let answer = respond(true, Response::Error { message });
                    return Ok(sender.send(route, &answer).await?);
                }
                let rest = rope.byte_to_char(head.len());
                let mut pieces = document_pieces(&rope, rest).peekable();
                if pieces.peek().is_none() {
                    sender
                        .send(route, &piece(true, revision, String::new()))
                        .await?;
                }
                while let Some(text) = pieces.next() {
                    let done = pieces.peek().is_none();
                    sender.send(route, &piece(done, revision, text)).await?;
                }
                // Someone's unsaved edits are in what they just got: say so, as to everyone.
                if self.documents.is_unsaved(&path) {
                    let event = Event::Unsaved {
                        path: path.clone(),
                        revision,
                        unsaved: true,
                    };
                    sender.send(route, &Message::Event(event)).await?;
                }
                // Language servers get the text after the participant has all of it.
                if first {
                    self.language_servers_open(&path, revision, &rope).await;
                }
                if let Some(p) = self.participants.get_mut(&from) {
                    p.open.insert(path);
                    self.publish_people();
                }
            }
            // Documents stay in memory for the session (see `Documents::open`).
            Request::CloseDocument { path } => {
                if let Some(p) = self.participants.get_mut(&from)
                    && p.open.remove(&path)
                {
                    self.publish_people();
                }
                // The last one to close a document with nothing unsaved frees it (it is
                // read from disk again when next opened, at the same revision).
                let still_open = self.participants.values().any(|p| p.open.contains(&path));
                if !still_open && self.documents.close_if_saved(&path) {
                    if let Err(e) = self.intel.document_closed(&path) {
                        tracing::debug!("language server not told of the close: {e}");
                    }
                    tracing::debug!("closed a document nobody has open");
                }
                sender
                    .send(
                        route,
                        &respond(
                            true,
                            Response::Nothing {
                                reason: String::new(),
                            },
                        ),
                    )
                    .await?;
            }
            Request::CatchUp { path, revision } => {
                let answer = match self.documents.catch_up(&path, revision) {
                    Ok(edits) => respond(true, Response::Edits(edits)),
                    Err(e) => error(e),
                };
                sender.send(route, &answer).await?;
            }
            Request::Save { path } => {
                if !self.role_of(from).is_some_and(Role::may_edit) {
                    let message =
                        "you are read-only in this session: the host did not let you save"
                            .to_string();
                    sender
                        .send(route, &respond(true, Response::Error { message }))
                        .await?;
                    return Ok(());
                }
                match self.documents.save(&path) {
                    Ok(revision) => {
                        if let Err(e) = self.intel.lsp().did_save(&path) {
                            tracing::debug!("language server not told of the save: {e}");
                        }
                        tracing::info!(participant = from, "saved a document");
                        sender
                            .send(route, &respond(true, Response::Saved { revision }))
                            .await?;
                        sender
                            .send(
                                Route::Everyone,
                                &Message::Event(Event::Saved {
                                    path: path.clone(),
                                    revision,
                                    by: from,
                                }),
                            )
                            .await?;
                        self.announce_unsaved([path.as_str()]).await?;
                    }
                    Err(e) => sender.send(route, &error(e)).await?,
                }
            }
            other => {
                tracing::warn!("not a document request: {other:?}");
            }
        }
        Ok(())
    }

    async fn on_edit(&mut self, from: ParticipantId, edit: EditMessage) -> anyhow::Result<()> {
        let sender = self.sender();
        let EditMessage::Submit { path, submission } = edit else {
            tracing::debug!(
                participant = from,
                "ignored an edit message meant for participants"
            );
            return Ok(());
        };
        let Some(role) = self.role_of(from) else {
            return Ok(());
        };
        let refused = self.edit_refusal(from, role, &path, &submission);
        let id = submission.id;
        let accepted = match refused {
            Some(reason) => Err(reason),
            None => self
                .documents
                .submit(&path, submission)
                .map_err(|e| e.to_string()),
        };
        let answer = match accepted {
            Ok(Accepted::Applied(edit)) => {
                return self
                    .sequenced(AppliedEdit {
                        path,
                        edit,
                        by: from,
                    })
                    .await;
            }
            Ok(Accepted::Duplicate { id, revision }) => {
                EditMessage::Acknowledged { path, id, revision }
            }
            Err(reason) => EditMessage::Refused { path, id, reason },
        };
        // Answers to one participant follow the edits sequenced before them.
        self.broadcast_applied().await?;
        sender
            .send(Route::Participant(from), &Message::Edit(answer))
            .await?;
        Ok(())
    }

    /// Why the host will not take `submission` from `from`, if it will not: a read-only
    /// member, an edit too large to pass on, a member over its edit budget, a path in
    /// another form than the document's, or a file that chooses the host's tools.
    fn edit_refusal(
        &mut self,
        from: ParticipantId,
        role: Role,
        path: &str,
        submission: &crate::text::Submission,
    ) -> Option<String> {
        if !role.may_edit() {
            return Some(
                "you are read-only in this session: the host did not accept your edit".into(),
            );
        }
        let size = crate::protocol::message::applied_size(path, &submission.op);
        if size > crate::protocol::MAX_EDIT_BYTES {
            return Some(format!(
                "this edit is {} KiB, more than the {} KiB one edit may be: make it in parts",
                size / 1024,
                crate::protocol::MAX_EDIT_BYTES / 1024
            ));
        }
        let within_rate = self
            .participants
            .get_mut(&from)
            .is_some_and(|p| p.edit_rate.take(size, std::time::Instant::now()));
        if !within_rate {
            return Some(format!(
                "edits are arriving faster than the host takes them from one person ({} MiB/s); \
                 slow down and make it again",
                crate::host::rate::EDIT_BYTES_PER_SECOND / 1024.0 / 1024.0
            ));
        }
        if let Some(reason) = not_in_normal_form(path) {
            return Some(reason);
        }
        if !self.trust_project
            && Some(from) != self.owner
            && crate::host::lsp::configures_tools(path)
        {
            return Some(format!(
                "{path} chooses which programs the host's tools run: only the host can edit it \
                 (unless the host trusts the project, with --trust-project)"
            ));
        }
        None
    }

    async fn on_intel_request(
        &mut self,
        from: ParticipantId,
        id: u64,
        body: Request,
    ) -> anyhow::Result<()> {
        let intel = self.intel.clone();
        let sender = self.sender();
        let body = match self.at_current_revision(body) {
            Ok(body) => body,
            Err(e) => {
                let body = Response::Error {
                    message: format!("{e}; ask again"),
                };
                let answer = Message::Response {
                    id,
                    done: true,
                    body,
                };
                sender.send(Route::Participant(from), &answer).await?;
                return Ok(());
            }
        };
        // Stopping a search is never refused: it is how a member makes room.
        let in_flight = self
            .participants
            .get(&from)
            .filter(|_| !matches!(body, Request::CancelSearch { .. }))
            .map(|p| p.in_flight.start(matches!(body, Request::Search(_))));
        let guard = match in_flight {
            Some(Ok(guard)) => Some(guard),
            Some(Err(message)) => {
                let answer = Message::Response {
                    id,
                    done: true,
                    body: Response::Error { message },
                };
                sender.send(Route::Participant(from), &answer).await?;
                return Ok(());
            }
            None => None,
        };
        // A search reads what everyone sees: the shared text of files with unsaved edits.
        let texts = match body {
            Request::Search(_) => self.documents.unsaved_texts(),
            _ => Default::default(),
        };
        // Language servers and searches take their time; the session loop does not wait.
        tokio::spawn(async move {
            if let Err(e) = intel.handle(sender, from, id, body, texts).await {
                tracing::warn!(participant = from, "answering a request failed: {e:#}");
            }
            drop(guard);
        });
        Ok(())
    }
}

impl HostSession {
    /// The request with its position moved to the current text: it was asked at the
    /// revision the participant had, and others may have edited since. The language
    /// servers have the current text, so that is where their answers point.
    fn at_current_revision(&self, request: Request) -> Result<Request, DocumentError> {
        let moved = |at: TextPosition| -> Result<TextPosition, DocumentError> {
            let position = self
                .documents
                .position_now(&at.path, at.revision, at.position)?;
            let revision = self
                .documents
                .text(&at.path)
                .map_or(at.revision, |(r, _)| r);
            Ok(TextPosition {
                position,
                revision,
                ..at
            })
        };
        Ok(match request {
            Request::Hover(at) => Request::Hover(moved(at)?),
            Request::Peek(at) => Request::Peek(moved(at)?),
            Request::Definition(at) => Request::Definition(moved(at)?),
            Request::References(at) => Request::References(moved(at)?),
            Request::Completion(at) => Request::Completion(moved(at)?),
            other => other,
        })
    }
}

/// A display name safe to show: trimmed, without control characters, bounded, never empty.
fn display_name(requested: &str, participant: ParticipantId) -> String {
    let cleaned: String = requested
        .chars()
        .filter(|c| !c.is_control())
        .take(32)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        format!("guest {participant}")
    } else {
        cleaned.to_string()
    }
}

/// How long the host keeps trying to get its session back after losing the relay
/// (the relay keeps it for its grace period, 60 s by default).
const HOST_RESUME_WINDOW: Duration = Duration::from_secs(60);

/// Watches the shared folder; changed paths go to `changes`. The watcher stops when the
/// returned value is dropped. Without a watcher (unsupported system) sharing still works,
/// only disk changes are not noticed.
fn watch_folder(
    root: &std::path::Path,
    changes: tokio::sync::mpsc::Sender<PathBuf>,
) -> Option<notify::RecommendedWatcher> {
    use notify::Watcher;
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event
            && !matches!(event.kind, notify::EventKind::Access(_))
        {
            for path in event.paths {
                // A full queue drops events; the next change of the file is seen again.
                let _ = changes.try_send(path);
            }
        }
    })
    .map_err(|e| tracing::warn!("cannot watch the shared folder: {e}"))
    .ok()?;
    watcher
        .watch(root, notify::RecursiveMode::Recursive)
        .map_err(|e| tracing::warn!("cannot watch the shared folder: {e}"))
        .ok()?;
    Some(watcher)
}

/// Pings (one per `latency::PING_INTERVAL`) the relay may leave unanswered, with nothing
/// else arriving either, before the host takes its connection as lost and resumes: about
/// 15 s of silence, far longer than any stall of a working link.
const SILENT_PINGS_BEFORE_RESUME: u32 = 3;

/// Chars per `DocumentText` piece: well under the frame limit even for 4-byte chars.
const DOCUMENT_PIECE_CHARS: usize = 128 * 1024;
/// Bytes of the first piece, sent before the host reads the rest of the file: far more
/// than a screen, little enough to read in no time.
const DOCUMENT_HEAD_BYTES: usize = 64 * 1024;

/// The document's text from char `from` in pieces of at most `DOCUMENT_PIECE_CHARS` chars.
fn document_pieces(rope: &ropey::Rope, from: usize) -> impl Iterator<Item = String> + '_ {
    let total = rope.len_chars();
    (from..total)
        .step_by(DOCUMENT_PIECE_CHARS)
        .map(move |start| {
            rope.slice(start..(start + DOCUMENT_PIECE_CHARS).min(total))
                .to_string()
        })
}

/// Whether `error` is a send on a relay connection that has closed.
fn connection_lost(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        matches!(
            cause.downcast_ref(),
            Some(crate::channel::ChannelError::Closed)
        )
    })
}

/// Documents are known by one form of their path (`protocol::message::normal_path`); a
/// request in another form is refused, so one file never becomes two documents whose
/// saves overwrite each other's edits.
fn not_in_normal_form(path: &str) -> Option<String> {
    let normal = crate::protocol::message::normal_path(path);
    (normal != path)
        .then(|| format!("`{path}` is not how the host names that file: ask for `{normal}`"))
}
