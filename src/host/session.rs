//! The host's session loop: relay events and participants' messages in, answers out.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::channel::{Channel, ChannelSender, Incoming};
use crate::crypto::{ReceivingKeys, SessionKeys};
use crate::host::workspace::Workspace;
use crate::link::{Link, Secret, SessionId};
use crate::protocol::control::{FromRelay, ToRelay};
use crate::protocol::header::Route;
use crate::protocol::message::{Event, Hello, Member, Message, Request, Response, Role, Welcome};
use crate::protocol::{HOST_ID, ParticipantId};

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
}

struct Participant {
    member: Member,
    admitted: bool,
}

/// A running host: the link to share, and the loop that serves it.
pub struct HostSession {
    pub link: Link,
    channel: Channel,
    workspace: std::sync::Arc<Workspace>,
    name: String,
    participants: BTreeMap<ParticipantId, Participant>,
    intel: crate::host::intel::Intel,
    documents: crate::host::documents::Documents,
    /// Kept for `Resume` after the host's own connection drops.
    resume_token: [u8; 32],
    /// The embedded relay, if this host started one (kept alive with the session).
    _embedded_relay: Option<crate::relay::Relay>,
}

impl HostSession {
    /// Opens the workspace, creates the session at the relay and returns the link.
    pub async fn start(options: HostOptions) -> anyhow::Result<HostSession> {
        let workspace = std::sync::Arc::new(
            Workspace::open(&options.root, &options.hide)
                .with_context(|| format!("cannot share {}", options.root.display()))?,
        );
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
        let link = Link::new(tls, relay_address, SessionId::random(), Secret::random());
        let keys = SessionKeys::derive(&link.secret, &link.session);
        let socket = crate::net::connect(&link, crate::protocol::DEFAULT_MAX_FRAME).await?;
        let mut channel = Channel::new(socket, keys.sending_key(0), ReceivingKeys::new(0, &keys));
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
            crate::host::lsp::LspConfig::default(),
        )
        .context("cannot start code intelligence")?;
        // Diagnostics concern everyone looking at the file, not one asker.
        tokio::spawn(crate::host::intel::forward_diagnostics(
            intel.lsp().subscribe_diagnostics(),
            channel.sender.clone(),
        ));
        Ok(HostSession {
            link,
            channel,
            workspace,
            name: options.name,
            participants: BTreeMap::new(),
            intel,
            documents: crate::host::documents::Documents::default(),
            resume_token,
            _embedded_relay: embedded,
        })
    }

    pub fn verification_code(&self) -> String {
        SessionKeys::derive(&self.link.secret, &self.link.session).verification_code()
    }

    /// Serves until the relay connection closes for good.
    pub async fn run(mut self) -> anyhow::Result<()> {
        loop {
            match self.channel.recv().await {
                Incoming::Relay(event) => self.on_relay(event).await?,
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
                    bail!(
                        "the relay closed the session{}",
                        reason.map(|r| format!(": {r}")).unwrap_or_default()
                    )
                }
            }
        }
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
                if let Some(left) = self.participants.remove(&participant)
                    && left.admitted
                {
                    tracing::info!(participant, "{} left", left.member.name);
                    self.sender()
                        .send(
                            Route::Everyone,
                            &Message::Event(Event::MemberLeft { participant }),
                        )
                        .await?;
                }
            }
            FromRelay::Error { message, fatal, .. } => {
                if fatal {
                    bail!("the relay ended the session: {message}");
                }
                tracing::warn!("relay refused a frame: {message}");
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
            Message::Hello(hello) => self.on_hello(from, hello).await,
            Message::Request { id, body } => {
                let admitted = self.participants.get(&from).is_some_and(|p| p.admitted);
                if !admitted {
                    tracing::warn!(participant = from, "request before admission ignored");
                    return Ok(());
                }
                self.on_request(from, id, body).await
            }
            Message::Edit(edit) => self.on_edit(from, edit).await,
            Message::Presence(_) => Ok(()),
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
        let name = display_name(&hello.name, from);
        let color = self.free_color();
        let member = Member {
            participant: from,
            name,
            role: Role::Editor,
            color,
        };
        tracing::info!(participant = from, "{} joined", member.name);
        self.participants.insert(
            from,
            Participant {
                member: member.clone(),
                admitted: true,
            },
        );
        let sender = self.sender();
        sender
            .control(&ToRelay::Admit { participant: from })
            .await?;
        let welcome = Welcome {
            you: member.clone(),
            members: self.members(),
        };
        sender
            .send(Route::Participant(from), &Message::Welcome(welcome))
            .await?;
        sender
            .send(
                Route::Everyone,
                &Message::Event(Event::MemberJoined(member)),
            )
            .await?;
        Ok(())
    }

    fn members(&self) -> Vec<Member> {
        let host = Member {
            participant: HOST_ID,
            name: self.name.clone(),
            role: Role::Host,
            color: 0,
        };
        std::iter::once(host)
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
            Request::ReadFile { path, offset, len } => {
                let answer = match self.read_chunk(&path, offset, len) {
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

    /// Reads one chunk of a shared file; the error is a sentence for the participant.
    fn read_chunk(&self, path: &str, offset: u64, len: u32) -> Result<(u64, Vec<u8>), String> {
        self.workspace
            .read_range(path, offset, len as usize)
            .map_err(|e| e.to_string())
    }

    async fn on_document_request(
        &mut self,
        from: ParticipantId,
        id: u64,
        _body: Request,
    ) -> anyhow::Result<()> {
        let _ = (&self.documents, from, id);
        Ok(())
    }

    async fn on_edit(
        &mut self,
        from: ParticipantId,
        _edit: crate::protocol::message::EditMessage,
    ) -> anyhow::Result<()> {
        let _ = from;
        Ok(())
    }

    async fn on_intel_request(
        &mut self,
        from: ParticipantId,
        id: u64,
        body: Request,
    ) -> anyhow::Result<()> {
        let intel = self.intel.clone();
        let sender = self.sender();
        // Language servers and searches take their time; the session loop does not wait.
        tokio::spawn(async move {
            if let Err(e) = intel.handle(sender, from, id, body).await {
                tracing::warn!(participant = from, "answering a request failed: {e:#}");
            }
        });
        Ok(())
    }

    #[allow(dead_code)]
    fn resume_token(&self) -> [u8; 32] {
        self.resume_token
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
