//! One WebSocket connection's life: the handshake, the writer task that flushes queued
//! frames, pings the peer and closes on a kick, and the reader loop that hands each frame
//! to the connection's `Connection`.

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::watch;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::connection::{Connection, Outbound};
use super::session::{Outgoing, Refusal};
use super::{Relay, Tap, TapDirection, close_frame};
use crate::protocol::control::ErrorCode;

/// The WebSocket read buffer each connection starts with (tungstenite's default is 128 KiB).
const READ_BUFFER: usize = 8 * 1024;

impl Relay {
    pub(super) async fn handle_connection<S>(
        &self,
        stream: S,
        address: SocketAddr,
        handshake_deadline: tokio::time::Instant,
    ) where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Some(socket) = self
            .accept_websocket(stream, address, handshake_deadline)
            .await
        else {
            return;
        };
        let join_deadline = tokio::time::Instant::now() + self.state.config.join_timeout;
        let (sink, source) = socket.split();
        let (mut connection, outbound) = Connection::open(self, address);
        let kicked = outbound.kicked.clone();
        let writer = tokio::spawn(write_frames(
            sink,
            outbound,
            self.state.config.tap.clone(),
            self.state.config.ping_interval,
        ));
        self.read_frames(&mut connection, source, kicked, join_deadline)
            .await;
        connection.leave();
        connection.leave_ssh_gateway();
        drop(connection);
        let _ = writer.await;
    }

    /// The WebSocket handshake, within the connection's handshake deadline.
    async fn accept_websocket<S>(
        &self,
        stream: S,
        address: SocketAddr,
        handshake_deadline: tokio::time::Instant,
    ) -> Option<WebSocketStream<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        // A small read buffer: most connections are idle most of the time, and a large
        // frame grows the buffer to its size anyway.
        let websocket =
            crate::net::websocket_config(self.state.config.max_frame).read_buffer_size(READ_BUFFER);
        let handshake = tokio_tungstenite::accept_async_with_config(stream, Some(websocket));
        match tokio::time::timeout_at(handshake_deadline, handshake).await {
            Ok(Ok(socket)) => Some(socket),
            Ok(Err(e)) => {
                tracing::debug!(%address, "WebSocket handshake failed: {e}");
                None
            }
            Err(_) => {
                self.state.metrics.handshake_timed_out();
                tracing::debug!(%address, "WebSocket handshake timed out");
                None
            }
        }
    }

    /// Hands each frame from the peer to `connection` until the peer goes quiet or away,
    /// the connection is kicked, or it has not joined a session by `join_deadline`.
    async fn read_frames<S>(
        &self,
        connection: &mut Connection,
        mut source: SplitStream<WebSocketStream<S>>,
        mut kicked: watch::Receiver<Option<String>>,
        join_deadline: tokio::time::Instant,
    ) where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let address = connection.address;
        let idle_timeout = self.state.config.idle_timeout;
        let mut draining = self.state.draining.subscribe();
        let clustered = self.state.cluster.get().is_some();
        loop {
            let next = tokio::select! {
                next = tokio::time::timeout(idle_timeout, source.next()) => next,
                _ = kicked.changed() => break,
                _ = draining.wait_for(|draining| *draining) => {
                    // Also a connection that arrives while the node drains.
                    connection.move_away("the relay node is restarting; moving");
                    break;
                }
                _ = tokio::time::sleep_until(join_deadline), if connection.membership.is_none() && connection.ssh_gateway.is_none() => {
                    self.state.metrics.join_timed_out();
                    tracing::debug!(%address, "no session joined in time; dropping the connection");
                    connection.refuse_fatally(
                        ErrorCode::NotJoined,
                        "join or create a session as soon as you connect",
                    );
                    break;
                }
            };
            let message = match next {
                Err(_) => {
                    tracing::debug!(%address, "connection idle; dropping it");
                    break;
                }
                Ok(None) | Ok(Some(Err(_))) => break,
                Ok(Some(Ok(message))) => message,
            };
            match message {
                WsMessage::Binary(frame) => {
                    if let Some(tap) = &self.state.config.tap {
                        tap(TapDirection::Received, &frame);
                    }
                    let open = if clustered {
                        connection.handle_frame_clustered(&frame).await
                    } else {
                        connection.handle_frame(&frame)
                    };
                    if !open {
                        break;
                    }
                }
                WsMessage::Text(_) => {
                    connection.refuse(Refusal::new(
                        ErrorCode::Malformed,
                        "text messages are not part of the protocol",
                    ));
                }
                WsMessage::Close(_) => break,
                // Pings are answered by tungstenite; pongs only prove liveness.
                _ => {}
            }
        }
    }
}

/// The writer task: sends what the relay queued for this peer, pings it, and on a kick
/// sends what was queued before it and closes with the reason.
async fn write_frames<S>(
    mut sink: SplitSink<WebSocketStream<S>, WsMessage>,
    outbound: Outbound,
    tap: Option<Tap>,
    ping_interval: Duration,
) where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Outbound {
        frames: mut outgoing,
        release,
        kicked: mut kicked_writer,
    } = outbound;
    let mut ping = tokio::time::interval(ping_interval);
    ping.tick().await;
    let send = |frame: bytes::Bytes| {
        if let Some(tap) = &tap {
            tap(TapDirection::Sent, &frame);
        }
        WsMessage::Binary(frame)
    };
    loop {
        tokio::select! {
            // A kick first: the connection's end drops its queue right after kicking, and
            // an empty closed queue must not end the writer before the reason is sent.
            biased;
            _ = kicked_writer.changed() => {
                // Flush what was queued before the kick (e.g. a refusal), but never
                // wait long on a peer that stopped reading.
                let reason = kicked_writer.borrow().clone().unwrap_or_default();
                let mut taken = 0;
                let flush = async {
                    while let Ok(Outgoing::Frame(frame)) = outgoing.try_recv() {
                        taken += frame.len();
                        sink.send(send(frame)).await?;
                    }
                    sink.send(WsMessage::Close(Some(close_frame(&reason)))).await
                };
                let _ = tokio::time::timeout(Duration::from_secs(1), flush).await;
                release.written(taken);
                break;
            }
            next = outgoing.recv() => match next {
                Some(Outgoing::Frame(frame)) => {
                    // Everything already queued goes out in one flush; its bytes
                    // count against the budgets until then.
                    let mut taken = frame.len();
                    let mut batch = sink.feed(send(frame)).await;
                    while batch.is_ok() {
                        match outgoing.try_recv() {
                            Ok(Outgoing::Frame(frame)) => {
                                taken += frame.len();
                                batch = sink.feed(send(frame)).await;
                            }
                            Err(_) => break,
                        }
                    }
                    let flushed = batch.is_ok() && sink.flush().await.is_ok();
                    release.written(taken);
                    if !flushed {
                        break;
                    }
                }
                None => break,
            },
            _ = ping.tick() => {
                if sink.send(WsMessage::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }
    // Frames still queued are dropped: their bytes are free.
    outgoing.close();
    while let Ok(Outgoing::Frame(frame)) = outgoing.try_recv() {
        release.written(frame.len());
    }
    let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
}
