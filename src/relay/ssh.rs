//! The relay as an SSH jump host (`cotype relay --ssh-listen`): a guest's OpenSSH client
//! (`ssh -J relay …`) may open exactly one kind of channel here, `direct-tcpip` to a
//! session the relay serves (the target host name is the session id in hex). The channel's
//! bytes, which are already the guest's end-to-end SSH session with the host, travel to
//! that session's host over the host's SSH gateway connection (`ToRelay::SshGateway`),
//! one stream id per guest. No shell, no other channel, no forwarding anywhere else; SSH
//! connections are rate-limited per IP and count against the relay's connection limits.
//!
//! What the relay learns of a guest: its address, when it came and went, the session it
//! asked for and how many bytes went each way. The guest's user name (its token), keys,
//! keystrokes and screen stay inside the inner SSH encryption.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use russh::server::{Auth, ChannelOpenHandle, Handler, Msg, Session};
use russh::{Channel, ChannelOpenFailure};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::connection::Connection;
use super::limits::{self, OutQueue, PerAddressRate};
use super::session::SessionKey;
use super::{Relay, lock, send_control, short};
use crate::protocol::control::{ErrorCode, FromRelay, ToRelay};

/// Jump channels one SSH connection may open (one is all a guest needs).
const CHANNELS_PER_CONNECTION: usize = 2;
/// Guests one session may have connected over SSH at once.
const STREAMS_PER_SESSION: usize = 64;
/// Chunks queued toward one guest before it counts as stalled and is hung up.
const QUEUE_TO_GUEST: usize = 256;
/// Bytes read from a guest at once (one gateway message).
const READ_CHUNK: usize = 16 * 1024;

/// The SSH gateways of the sessions that have one, and the per-IP rate of SSH connections.
pub(super) struct Gateways {
    by_session: Mutex<HashMap<SessionKey, Gateway>>,
    rate: PerAddressRate,
    /// The port guests jump through; 0 while the relay serves no SSH.
    port: std::sync::atomic::AtomicU16,
}

impl Gateways {
    /// `per_ip_per_minute`: new SSH connections one IP address may open per minute (a jump
    /// is a join: the relay's `joins_per_ip_per_minute`).
    pub(super) fn new(per_ip_per_minute: u32) -> Self {
        Gateways {
            by_session: Mutex::new(HashMap::new()),
            rate: PerAddressRate::new(per_ip_per_minute),
            port: std::sync::atomic::AtomicU16::new(0),
        }
    }
}

/// One session's gateway: the host's connection that carries its guests' bytes.
struct Gateway {
    connection: u64,
    queue: OutQueue,
    /// Per guest stream, where the host's bytes for it go.
    streams: HashMap<u32, mpsc::Sender<Bytes>>,
    next_stream: u32,
}

impl Connection {
    /// `ToRelay::SshGateway`: this connection carries the session's SSH guests from now on,
    /// if it proves to be the host's (the resume token, as `Resume` does).
    pub(super) fn ssh_gateway(&mut self, session: SessionKey, resume_token: [u8; 32]) -> bool {
        if self
            .state()
            .ssh
            .port
            .load(std::sync::atomic::Ordering::Relaxed)
            == 0
        {
            return self.refuse_fatally(ErrorCode::NotAllowed, "this relay has no SSH jump host");
        }
        if self.membership.is_some() || self.ssh_gateway.is_some() {
            return self.refuse_fatally(ErrorCode::NotAllowed, "this connection is taken");
        }
        let proven = lock(&self.state().sessions)
            .get(&session)
            .is_some_and(|routed| routed.resume_token_matches(&resume_token));
        if !proven {
            return self.refuse_fatally(ErrorCode::NoSession, "no such session of yours");
        }
        let gateway = Gateway {
            connection: self.id,
            queue: self.queue.clone(),
            streams: HashMap::new(),
            next_stream: 1,
        };
        // A gateway that reconnects replaces the old one; its guests hang up with it.
        lock(&self.state().ssh.by_session).insert(session, gateway);
        self.ssh_gateway = Some(session);
        tracing::info!(session = %short(&session), "SSH gateway attached");
        let port = self
            .state()
            .ssh
            .port
            .load(std::sync::atomic::Ordering::Relaxed);
        send_control(&self.queue, &FromRelay::SshGatewayReady { port });
        true
    }

    /// `SshData` and `SshClose` from a gateway: bytes for a guest, or its hang-up.
    pub(super) fn ssh_from_gateway(&mut self, message: ToRelay) -> bool {
        let Some(session) = self.ssh_gateway else {
            return self.refuse_fatally(ErrorCode::NotAllowed, "not an SSH gateway");
        };
        let mut gateways = lock(&self.state().ssh.by_session);
        let Some(gateway) = gateways
            .get_mut(&session)
            .filter(|gateway| gateway.connection == self.id)
        else {
            return true;
        };
        match message {
            ToRelay::SshData { stream, bytes } => {
                let delivered = gateway
                    .streams
                    .get(&stream)
                    .is_some_and(|guest| guest.try_send(Bytes::from(bytes)).is_ok());
                if !delivered {
                    // Gone, or not reading: hang it up (its pump tells the gateway).
                    gateway.streams.remove(&stream);
                }
            }
            ToRelay::SshClose { stream } => {
                gateway.streams.remove(&stream);
            }
            _ => {}
        }
        true
    }

    /// The connection ended: a gateway's guests hang up with it.
    pub(super) fn leave_ssh_gateway(&mut self) {
        let Some(session) = self.ssh_gateway.take() else {
            return;
        };
        let mut gateways = lock(&self.state().ssh.by_session);
        if gateways
            .get(&session)
            .is_some_and(|gateway| gateway.connection == self.id)
        {
            gateways.remove(&session);
            tracing::info!(session = %short(&session), "SSH gateway left");
        }
    }
}

/// The session a jump target names: 32 hex digits (OpenSSH lowercases host names).
fn session_of_target(host: &str) -> Option<SessionKey> {
    if host.len() != 32 {
        return None;
    }
    let mut key = [0u8; 16];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(host.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}

impl Relay {
    /// Accepts SSH connections on `listener` for good, with `host_key` as the relay's key.
    pub async fn serve_ssh(
        self,
        listener: TcpListener,
        host_key: russh::keys::PrivateKey,
    ) -> std::io::Result<()> {
        let port = listener.local_addr()?.port();
        self.state
            .ssh
            .port
            .store(port, std::sync::atomic::Ordering::Relaxed);
        let mut methods = russh::MethodSet::empty();
        methods.push(russh::MethodKind::None);
        let config = Arc::new(russh::server::Config {
            methods,
            keys: vec![host_key],
            auth_rejection_time: Duration::from_millis(300),
            auth_rejection_time_initial: Some(Duration::ZERO),
            inactivity_timeout: Some(self.state.config.idle_timeout * 4),
            keepalive_interval: Some(self.state.config.ping_interval),
            nodelay: true,
            ..Default::default()
        });
        loop {
            let (stream, address) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("cannot accept an SSH connection ({e})");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let ip = limits::peer_key(address.ip());
            if !self.state.ssh.rate.allow(ip) {
                tracing::info!(%address, "SSH connections rate-limited");
                continue;
            }
            let relay_config = &self.state.config;
            let Ok(slot) = self.state.connections.try_open(
                ip,
                relay_config.max_connections,
                relay_config.max_connections_per_ip,
            ) else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let handler = JumpHost {
                relay: self.clone(),
                address,
                channels: 0,
            };
            let config = config.clone();
            tokio::spawn(async move {
                let _slot = slot;
                match russh::server::run_stream(config, stream, handler).await {
                    Ok(running) => {
                        if let Err(e) = running.await {
                            tracing::debug!(%address, "SSH connection ended: {e}");
                        }
                    }
                    Err(e) => tracing::debug!(%address, "SSH handshake failed: {e}"),
                }
            });
        }
    }

    /// Registers a guest stream to `session`'s gateway and tells the host of it; `None`
    /// when the session has no gateway (or is full).
    fn open_ssh_stream(&self, session: SessionKey) -> Option<(u32, mpsc::Receiver<Bytes>)> {
        if !lock(&self.state.sessions).contains_key(&session) {
            return None;
        }
        let mut gateways = lock(&self.state.ssh.by_session);
        let gateway = gateways.get_mut(&session)?;
        if gateway.streams.len() >= STREAMS_PER_SESSION {
            return None;
        }
        let stream = gateway.next_stream;
        gateway.next_stream = gateway.next_stream.wrapping_add(1).max(1);
        if !send_control(&gateway.queue, &FromRelay::SshOpened { stream }) {
            return None;
        }
        let (sender, receiver) = mpsc::channel(QUEUE_TO_GUEST);
        gateway.streams.insert(stream, sender);
        Some((stream, receiver))
    }

    /// Bytes from a guest to its host; false when the gateway is gone or not keeping up.
    fn ssh_to_host(&self, session: SessionKey, stream: u32, bytes: Vec<u8>) -> bool {
        let gateways = lock(&self.state.ssh.by_session);
        gateways.get(&session).is_some_and(|gateway| {
            gateway.streams.contains_key(&stream)
                && send_control(&gateway.queue, &FromRelay::SshData { stream, bytes })
        })
    }

    fn ssh_stream_closed(&self, session: SessionKey, stream: u32) {
        let mut gateways = lock(&self.state.ssh.by_session);
        if let Some(gateway) = gateways.get_mut(&session)
            && gateway.streams.remove(&stream).is_some()
        {
            send_control(&gateway.queue, &FromRelay::SshClosed { stream });
        }
    }
}

/// One guest's SSH connection to the relay: it may only jump to a session.
struct JumpHost {
    relay: Relay,
    address: SocketAddr,
    channels: usize,
}

impl Handler for JumpHost {
    type Error = russh::Error;

    /// Anyone may connect: the jump leads only to a host that authenticates the guest
    /// itself, inside the end-to-end encryption.
    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Auth::Accept)
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        _port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let address = self.address;
        let handle = session.handle();
        let opened = session_of_target(host_to_connect)
            .filter(|_| self.channels < CHANNELS_PER_CONNECTION)
            .and_then(|session| {
                self.relay
                    .open_ssh_stream(session)
                    .map(|(stream, to_guest)| (session, stream, to_guest))
            });
        let Some((session, stream, to_guest)) = opened else {
            tracing::info!(%address, "SSH jump refused: no such session");
            reply.reject(ChannelOpenFailure::ConnectFailed).await;
            return Ok(());
        };
        self.channels += 1;
        tracing::info!(%address, session = %short(&session), stream, "SSH guest connected");
        reply.accept().await;
        let hang_up = (handle, channel.id());
        tokio::spawn(pump(
            self.relay.clone(),
            session,
            stream,
            channel,
            to_guest,
            hang_up,
        ));
        Ok(())
    }
}

/// Carries one guest's bytes between its jump channel and the host's gateway until
/// either side hangs up.
async fn pump(
    relay: Relay,
    session: SessionKey,
    stream: u32,
    channel: Channel<Msg>,
    mut to_guest: mpsc::Receiver<Bytes>,
    (handle, id): (russh::server::Handle, russh::ChannelId),
) {
    let (mut from_guest, mut writer) = tokio::io::split(channel.into_stream());
    let mut buffer = vec![0; READ_CHUNK];
    loop {
        tokio::select! {
            read = from_guest.read(&mut buffer) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if !relay.ssh_to_host(session, stream, buffer[..n].to_vec()) {
                        break;
                    }
                }
            },
            bytes = to_guest.recv() => match bytes {
                Some(bytes) => {
                    if writer.write_all(&bytes).await.is_err() {
                        break;
                    }
                }
                None => break,
            },
        }
    }
    let _ = writer.shutdown().await;
    // Closed, not only ended: a client that forwards stdio (`ssh -J`, `-W`) exits at once
    // instead of waiting for its own input to end.
    let _ = handle.close(id).await;
    relay.ssh_stream_closed(session, stream);
    tracing::info!(session = %short(&session), stream, "SSH guest left");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_hex_session_id_is_a_target() {
        assert_eq!(
            session_of_target("000102030405060708090a0b0c0d0e0f"),
            Some(std::array::from_fn(|i| i as u8))
        );
        assert_eq!(session_of_target("localhost"), None);
        assert_eq!(session_of_target("000102030405060708090a0b0c0d0e0g"), None);
        assert_eq!(
            session_of_target("000102030405060708090a0b0c0d0e0f00"),
            None
        );
        assert_eq!(session_of_target("ü00102030405060708090a0b0c0d0e0f"), None);
    }
}
