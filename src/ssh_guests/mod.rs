//! Guests who join with nothing but OpenSSH, end to end encrypted.
//!
//! The relay is only a jump host (`relay/ssh.rs`): it forwards each guest's `direct-tcpip`
//! bytes, already the guest's SSH encryption, over this host's SSH gateway connection
//! (`ToRelay::SshGateway`, one stream id per guest). Here, in the host process, each stream
//! is fed to an SSH server of our own (russh, the shared folder's persistent host key) that
//! authenticates the guest by the user name derived from the link's secret
//! (`crypto::ssh::guest_user`) and runs the editor for the guest (`guest.rs`), joined to
//! the session through the relay like any participant, so the host's usual approval,
//! roles and removal apply.

mod entry;
mod guest;
mod screen;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::Message;

use crate::crypto::ssh::{fingerprint, guest_user, load_or_create_host_key, public_line};
use crate::host_control::SshGuests;
use crate::link::Link;
use crate::protocol::control::{self, FromRelay, ToRelay};

/// Bytes read from a guest's SSH server at once (one gateway message).
const READ_CHUNK: usize = 16 * 1024;
/// Messages queued for one guest's SSH server before it counts as stalled.
const QUEUE_TO_GUEST: usize = 256;
/// How long a guest's SSH client has to authenticate before it is hung up (it holds one
/// of the session's guest streams at the relay meanwhile).
const AUTHENTICATE_WITHIN: Duration = Duration::from_secs(30);
/// The longest wait for a gateway connection's first answer.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// What the host shares with SSH guests.
#[derive(Clone)]
pub struct SshOffer {
    /// One line to paste: the guest user, the jump through the relay, the host key pinned.
    pub command: String,
    /// The host key's fingerprint (`SHA256:…`), to compare with what `ssh` shows.
    pub fingerprint: String,
    /// The relay's SSH port and the host key's known_hosts form, for [`Self::command_for`].
    port: u16,
    host_key: String,
    guests: Option<Arc<guest::GuestContext>>,
}

impl SshOffer {
    /// The command for `link` as it is now (a removal's rekey changes the guest token).
    pub fn command_for(&self, link: &Link) -> String {
        ssh_command(link, self.port, &self.host_key)
    }

    /// Gives every SSH guest's terminal back, with `why` as its last line, and ends their
    /// SSH sessions: the host is about to exit.
    pub fn hang_up_all(&self, why: &str) {
        if let Some(guests) = &self.guests {
            guests.hang_up_all(why);
        }
    }
}

/// What the SSH server for guests needs of the running host.
pub struct SshGuestsOptions {
    /// The link as it is now (`HostSession::link_updates`): its secret makes the token.
    pub link: watch::Receiver<Link>,
    /// `HostSession::relay_proof`: opens the gateway connection at the relay.
    pub relay_proof: [u8; 32],
    /// The shared folder: its SSH host key is kept per folder.
    pub root: PathBuf,
    /// `HostSession::ssh_guests`: what the session learns of each guest's SSH key.
    pub guests: SshGuests,
    /// `--ssh-authorized-keys`: keys (OpenSSH authorized_keys lines) admitted without
    /// asking the host's user.
    pub authorized_keys: Option<PathBuf>,
}

/// Where the SSH host key of the shared folder `root` is kept: the state folder, one key
/// per folder (never inside the folder, which is shared).
pub fn host_key_path(root: &Path) -> Option<PathBuf> {
    use sha2::Digest;
    let dirs = directories::ProjectDirs::from("dev", "cotype", "cotype")?;
    let state = dirs.state_dir().unwrap_or_else(|| dirs.data_local_dir());
    let root = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let digest = sha2::Sha256::digest(root.as_os_str().as_encoded_bytes());
    let name: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    Some(state.join("ssh-host-keys").join(name))
}

/// Attaches the session's SSH gateway at its relay and serves guests in the background
/// until the process ends (reconnecting after a drop). Fails when the relay offers no SSH
/// jump host.
pub async fn start(options: SshGuestsOptions) -> anyhow::Result<SshOffer> {
    let authorized = match &options.authorized_keys {
        Some(path) => read_authorized_keys(path)?,
        None => HashSet::new(),
    };
    let key_path = host_key_path(&options.root).context("no state folder for the SSH host key")?;
    let host_key = load_or_create_host_key(&key_path)?;
    let offer_key = public_line(&host_key);
    let host_fingerprint = fingerprint(host_key.public_key());
    let link_now = options.link.borrow().clone();
    let relay_proof = options.relay_proof;
    let (socket, port) = attach(&link_now, &relay_proof).await?;
    let offer = SshOffer {
        command: ssh_command(&link_now, port, &offer_key),
        fingerprint: host_fingerprint,
        port,
        host_key: offer_key,
        guests: None,
    };
    let mut methods = russh::MethodSet::empty();
    methods.push(russh::MethodKind::PublicKey);
    methods.push(russh::MethodKind::KeyboardInteractive);
    let config = Arc::new(russh::server::Config {
        methods,
        keys: vec![host_key],
        auth_rejection_time: Duration::from_millis(500),
        auth_rejection_time_initial: Some(Duration::ZERO),
        max_auth_attempts: 6,
        // A guest whose client vanished without a word is hung up, its editor with it.
        inactivity_timeout: Some(Duration::from_secs(3600)),
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 4,
        ..Default::default()
    });
    let context = Arc::new(guest::GuestContext {
        link: options.link,
        guests: options.guests,
        authorized,
        screens: Default::default(),
    });
    let offer = SshOffer {
        guests: Some(context.clone()),
        ..offer
    };
    tokio::spawn(async move {
        let mut socket = Some(socket);
        let mut pause = Duration::from_millis(250);
        loop {
            if let Some(socket) = socket.take() {
                serve(socket, &context, &config).await;
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(10));
            // The session is gone from this process: no guest can come any more. (A
            // relay that restarted has no such session until the host creates it again,
            // so "no such session" alone is no reason to stop.)
            if context.link.has_changed().is_err() {
                return;
            }
            let link = context.link.borrow().clone();
            match attach(&link, &relay_proof).await {
                Ok((again, _)) => {
                    pause = Duration::from_millis(250);
                    socket = Some(again);
                }
                Err(e) => tracing::info!("SSH gateway not attached: {e:#}"),
            }
        }
    });
    Ok(offer)
}

/// The fingerprints of the keys in an OpenSSH authorized_keys file (lines it cannot read,
/// such as ones with options, are skipped).
fn read_authorized_keys(path: &Path) -> anyhow::Result<HashSet<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read SSH authorized keys {}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| russh::keys::PublicKey::from_openssh(line).ok())
        .map(|key| fingerprint(&key))
        .collect())
}

/// The command a guest pastes: `-J` through the relay's SSH port, the session id as the
/// target, the guest user, and the host key pinned (a known_hosts line given on the
/// command line; the user's own known_hosts is neither read nor written for it).
fn ssh_command(link: &Link, port: u16, host_key: &str) -> String {
    let relay_host = relay_host_name(&link.relay);
    let session: String = link.session.0.iter().map(|b| format!("{b:02x}")).collect();
    let user = guest_user(&link.secret, &link.session);
    format!(
        "ssh -t -J {relay_host}:{port} -o UserKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes \
         -o 'KnownHostsCommand=/bin/echo %H {host_key}' {user}@{session}"
    )
}

/// The relay's host name without its port (`[::1]` keeps its brackets).
fn relay_host_name(relay: &str) -> &str {
    if relay.starts_with('[') {
        return relay.find(']').map_or(relay, |end| &relay[..=end]);
    }
    match relay.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => relay,
    }
}

type Socket = crate::net::ClientSocket;

/// Opens a gateway connection; the relay's SSH port with it.
async fn attach(link: &Link, relay_proof: &[u8; 32]) -> anyhow::Result<(Socket, u16)> {
    let mut socket = crate::net::connect(link, crate::protocol::DEFAULT_MAX_FRAME).await?;
    let hello = control::encode(&ToRelay::SshGateway {
        session: link.session.0,
        resume_token: *relay_proof,
    });
    socket.send(Message::Binary(hello.into())).await?;
    let answer = tokio::time::timeout(READY_WITHIN, async {
        while let Some(message) = socket.next().await {
            if let Message::Binary(frame) = message? {
                return Ok(control::decode::<FromRelay>(&frame)?);
            }
        }
        bail!("the relay closed the connection")
    })
    .await
    .context("the relay did not answer within 10 s")??;
    match answer {
        FromRelay::SshGatewayReady { port } => Ok((socket, port)),
        FromRelay::Error { message, .. } => bail!("the relay refused SSH guests: {message}"),
        other => bail!("unexpected answer from the relay: {other:?}"),
    }
}

/// Carries guests over one gateway connection until it drops.
async fn serve(
    socket: Socket,
    context: &Arc<guest::GuestContext>,
    config: &Arc<russh::server::Config>,
) {
    let (mut sink, mut source) = socket.split();
    let (to_relay, mut outgoing) = mpsc::unbounded_channel::<ToRelay>();
    let writer = tokio::spawn(async move {
        while let Some(message) = outgoing.recv().await {
            let frame = control::encode(&message);
            if sink.send(Message::Binary(frame.into())).await.is_err() {
                break;
            }
        }
    });
    let mut streams: HashMap<u32, mpsc::Sender<Vec<u8>>> = HashMap::new();
    while let Some(Ok(message)) = source.next().await {
        let Message::Binary(frame) = message else {
            continue;
        };
        let Ok(message) = control::decode::<FromRelay>(&frame) else {
            continue;
        };
        match message {
            FromRelay::SshOpened { stream } => {
                // Guests whose server ended on our side (the relay hears of it, and does
                // not answer with `SshClosed`): their entries go here.
                streams.retain(|_, guest| !guest.is_closed());
                let (to_guest, from_relay) = mpsc::channel(QUEUE_TO_GUEST);
                streams.insert(stream, to_guest);
                tokio::spawn(serve_guest(
                    stream,
                    context.clone(),
                    config.clone(),
                    from_relay,
                    to_relay.clone(),
                ));
            }
            FromRelay::SshData { stream, bytes } => {
                let delivered = streams
                    .get(&stream)
                    .is_some_and(|guest| guest.try_send(bytes).is_ok());
                if !delivered && streams.remove(&stream).is_some() {
                    let _ = to_relay.send(ToRelay::SshClose { stream });
                }
            }
            FromRelay::SshClosed { stream } => {
                streams.remove(&stream);
            }
            _ => {}
        }
    }
    // Every guest's bytes stop here: their SSH servers see the end and hang up.
    drop(streams);
    drop(to_relay);
    writer.abort();
}

/// One guest: its SSH server over an in-memory pipe fed with the relay's bytes.
async fn serve_guest(
    stream: u32,
    context: Arc<guest::GuestContext>,
    config: Arc<russh::server::Config>,
    mut from_relay: mpsc::Receiver<Vec<u8>>,
    to_relay: mpsc::UnboundedSender<ToRelay>,
) {
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (on_authenticated, mut authenticated) = tokio::sync::oneshot::channel();
    let guest = guest::Guest::new(context, on_authenticated);
    let server = tokio::spawn(async move {
        match russh::server::run_stream(config, theirs, guest).await {
            Ok(running) => {
                if let Err(e) = running.await {
                    tracing::debug!(stream, "SSH guest's connection ended: {e}");
                }
            }
            Err(e) => tracing::debug!(stream, "SSH guest's handshake failed: {e}"),
        }
    });
    let (mut reader, mut writer) = tokio::io::split(ours);
    let mut buffer = vec![0; READ_CHUNK];
    let deadline = tokio::time::sleep(AUTHENTICATE_WITHIN);
    tokio::pin!(deadline);
    let mut passed = false;
    loop {
        tokio::select! {
            _ = &mut deadline, if !passed => {
                tracing::info!(stream, "an SSH guest did not authenticate in time");
                break;
            }
            // Authenticated, or the server ended (its last bytes still come through the
            // pipe, then its end).
            _ = &mut authenticated, if !passed => passed = true,
            read = reader.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let bytes = buffer[..n].to_vec();
                    if to_relay.send(ToRelay::SshData { stream, bytes }).is_err() {
                        break;
                    }
                }
            },
            bytes = from_relay.recv() => match bytes {
                Some(bytes) => {
                    if writer.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
        }
    }
    let _ = to_relay.send(ToRelay::SshClose { stream });
    drop(writer);
    drop(reader);
    // The pipe is gone: the server ends (and with it the guest's editor) if not yet.
    let _ = server.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_jump_host_is_the_relay_without_its_port() {
        assert_eq!(relay_host_name("relay.example.com"), "relay.example.com");
        assert_eq!(
            relay_host_name("relay.example.com:8443"),
            "relay.example.com"
        );
        assert_eq!(relay_host_name("127.0.0.1:9000"), "127.0.0.1");
        assert_eq!(relay_host_name("[::1]:9000"), "[::1]");
    }
}
