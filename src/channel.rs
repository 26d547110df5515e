//! A member's encrypted channel through the relay, shared by the host and participants.
//!
//! Two tasks move raw frames between the WebSocket and bounded queues; sealing and
//! opening happen on the caller's side, where the keys live. A caller that stops reading
//! fills the queues and, in the end, the relay drops it: nothing grows without bound.

use std::sync::{Arc, Mutex};

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message as WsMessage;

use crate::crypto::{
    CryptoError, Epoch, HostIdentity, HostKey, ReceivingKeys, SendingKey, SessionKeys,
};
use crate::link::Link;
use crate::net::{ClientSocket, NetError};
use crate::protocol::ParticipantId;
use crate::protocol::control::{self, FromRelay, ToRelay};

use crate::protocol::frame::{FrameError, FrameSealer, open_frame};
use crate::protocol::header::{Header, Route};
use crate::protocol::message::Message;

/// Frames each of a channel's queues (outgoing, incoming) holds at most...
const QUEUE_FRAMES: usize = 256;
/// ...and bytes, outgoing: a queue of large frames (a document's 128 KiB pieces) is
/// bounded by these, not by the frame count, which alone let 32 MB wait in the host's
/// queue. A frame larger than this waits until the queue is empty.
pub const OUTGOING_BYTES: usize = 2 << 20;
/// Bytes the incoming queue holds. More than outgoing: nothing paces a document's pieces
/// to the reader, so what the reader has not taken yet waits here or in the relay, which
/// drops a member once 8 MiB wait for it there (the document is then sent again).
pub const INCOMING_BYTES: usize = 8 << 20;

/// A frame in one of the queues, holding its share of the queue's byte budget until it
/// is taken out.
struct Queued {
    frame: Vec<u8>,
    _budget: tokio::sync::OwnedSemaphorePermit,
}

/// The way into a connection's outgoing queue.
#[derive(Clone)]
struct Outgoing {
    frames: mpsc::Sender<Queued>,
    budget: Arc<tokio::sync::Semaphore>,
}

impl Outgoing {
    async fn send(&self, frame: Vec<u8>) -> Result<(), ChannelError> {
        let budget = reserve(&self.budget, OUTGOING_BYTES, frame.len())
            .await
            .ok_or(ChannelError::Closed)?;
        self.frames
            .send(Queued {
                frame,
                _budget: budget,
            })
            .await
            .map_err(|_| ChannelError::Closed)
    }
}

/// Takes `len` bytes of a queue's budget of `size` (all of it for a larger frame),
/// waiting until they are free; `None` once the queue is closed.
async fn reserve(
    budget: &Arc<tokio::sync::Semaphore>,
    size: usize,
    len: usize,
) -> Option<tokio::sync::OwnedSemaphorePermit> {
    let share = len.clamp(1, size) as u32;
    budget.clone().acquire_many_owned(share).await.ok()
}

/// What arrives on a channel.
#[derive(Debug)]
pub enum Incoming {
    Relay(FromRelay),
    Message {
        header: Header,
        message: Message,
    },
    /// A frame that did not open (wrong key, tampered, replayed, forged sender). It is
    /// dropped; the caller may log it.
    Rejected {
        from: ParticipantId,
        error: FrameError,
    },
    /// The connection ended; `reason` is what the relay said, if anything.
    Closed {
        reason: Option<String>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("the connection to the relay is closed")]
    Closed,
    #[error(transparent)]
    Crypto(#[from] CryptoError),
}

/// The sending half; cheap to clone, so tasks can answer on their own. Clones follow the
/// channel when it is re-attached to a new connection (`Channel::reattach`).
#[derive(Clone)]
pub struct ChannelSender {
    sealer: Arc<Mutex<FrameSealer>>,
    frames: Arc<Mutex<Outgoing>>,
    /// Held from sealing a frame until it is queued: frames must leave in the order of
    /// their counters, or the receiver's replay window drops the ones that fall behind.
    /// (An async lock, since queueing waits while the socket is busy.)
    in_order: Arc<tokio::sync::Mutex<()>>,
}

impl ChannelSender {
    pub async fn send(&self, route: Route, message: &Message) -> Result<(), ChannelError> {
        let _in_order = self.in_order.lock().await;
        let frame = {
            let mut sealer = self.sealer.lock().unwrap_or_else(|p| p.into_inner());
            sealer.seal(route, message)?
        };
        self.send_raw(frame).await
    }

    pub async fn control(&self, message: &ToRelay) -> Result<(), ChannelError> {
        self.send_raw(control::encode(message)).await
    }

    /// Sends bytes as they are (tests use it to send garbage).
    pub async fn send_raw(&self, frame: Vec<u8>) -> Result<(), ChannelError> {
        let outgoing = self
            .frames
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        outgoing.send(frame).await
    }

    /// Bytes sealed and waiting for the socket: a bulk sender (a shared terminal's
    /// output) holds back while they are many, so edits do not wait behind its frames.
    pub fn queued_bytes(&self) -> usize {
        let outgoing = self.frames.lock().unwrap_or_else(|p| p.into_inner());
        OUTGOING_BYTES.saturating_sub(outgoing.budget.available_permits())
    }

    /// Our participant id (the host's until the relay's welcome says otherwise).
    pub fn participant(&self) -> ParticipantId {
        self.sealer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sender()
    }

    /// The relay told us our participant id; it is part of every header we seal.
    pub fn set_participant(&self, participant: ParticipantId) {
        self.sealer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .set_sender(participant);
    }

    /// Starts sending under a new key (a new epoch after a rekey).
    pub fn replace_key(&self, key: SendingKey) {
        let mut sealer = self.sealer.lock().unwrap_or_else(|p| p.into_inner());
        let participant = sealer.sender();
        let signer = sealer.signer();
        *sealer = FrameSealer::new(key, participant);
        if let Some(signer) = signer {
            sealer.sign_with(signer);
        }
    }

    /// Signs every frame with the host's key: only the host's own channel does this.
    pub fn sign_as_host(&self, identity: Arc<HostIdentity>) {
        self.sealer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sign_with(identity);
    }
}

/// How long after a key change frames sealed in the epoch before still open: those the
/// other members sent just before they switched. A removed member knows that epoch's key,
/// so the window is short, and no host message opens in it at all.
pub const OLD_EPOCH_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// The receiving half plus the keys to open what arrives.
pub struct Channel {
    pub sender: ChannelSender,
    frames: IncomingFrames,
    pub keys: ReceivingKeys,
    /// Frames from the host's id open only with this key's signature.
    host: HostKey,
    closed: bool,
    /// After a key change: the epoch switched to, and until when the one before may still
    /// open frames from members (never from the host, but for key updates).
    switched: Option<(Epoch, std::time::Instant)>,
}

impl Channel {
    /// Connects to the relay of `link`, keyed for epoch 0 (the epoch is known only after
    /// the relay's welcome; the caller keys the channel again then). Returns the session's
    /// keys too, for the admission token or verifier and the later epochs.
    pub async fn connect(link: &Link) -> Result<(Channel, SessionKeys), NetError> {
        let keys = SessionKeys::derive(&link.secret, &link.session);
        let socket = crate::net::connect(link, crate::protocol::DEFAULT_MAX_FRAME).await?;
        let channel = Channel::new(
            socket,
            keys.sending_key(0),
            ReceivingKeys::new(0, &keys),
            link.host_key,
        );
        Ok((channel, keys))
    }

    /// A channel whose frames from the host must be signed by `host` (the link's key).
    pub fn new(
        socket: ClientSocket,
        sending_key: SendingKey,
        keys: ReceivingKeys,
        host: HostKey,
    ) -> Self {
        let (outgoing, incoming) = spawn_socket_tasks(socket);
        Channel {
            sender: ChannelSender {
                sealer: Arc::new(Mutex::new(FrameSealer::new(sending_key, 0))),
                frames: Arc::new(Mutex::new(outgoing)),
                in_order: Arc::default(),
            },
            frames: incoming,
            keys,
            host,
            closed: false,
            switched: None,
        }
    }

    /// Moves to the key epoch `epoch`: frames are sealed with its key from now on, and
    /// the epoch before opens only members' frames, for `OLD_EPOCH_GRACE`; every earlier
    /// epoch is forgotten. The host's own messages in the old epoch (but key updates) are
    /// refused at once: after a member's removal, that member could still seal them.
    pub fn switch_epoch(&mut self, epoch: Epoch, keys: &crate::crypto::SessionKeys) {
        self.keys.add_epoch(epoch, keys);
        self.keys.retire_epochs_below(epoch.saturating_sub(1));
        self.sender.replace_key(keys.sending_key(epoch));
        self.switched = Some((epoch, std::time::Instant::now() + OLD_EPOCH_GRACE));
    }

    /// Whether a frame that opened in `header.epoch` may be taken after a key change.
    fn epoch_admits(&mut self, header: &Header, message: &Message) -> bool {
        let Some((current, grace_ends)) = self.switched else {
            return true;
        };
        if header.epoch >= current {
            return true;
        }
        if std::time::Instant::now() >= grace_ends {
            self.keys.retire_epochs_below(current);
            self.switched = None;
            return false;
        }
        header.sender != crate::protocol::HOST_ID || matches!(message, Message::KeyUpdate(_))
    }

    /// Moves the channel onto a new connection (the host resuming its session), with a new
    /// sending key. Receiving keys and replay state carry over, and every clone of
    /// `sender` (tasks answering requests, the diagnostics forwarder) sends on the new
    /// connection from now on.
    pub fn reattach(&mut self, socket: ClientSocket, sending_key: SendingKey) {
        let (outgoing, incoming) = spawn_socket_tasks(socket);
        *self.sender.frames.lock().unwrap_or_else(|p| p.into_inner()) = outgoing;
        self.sender.replace_key(sending_key);
        self.frames = incoming;
        self.closed = false;
    }

    /// The next event. After `Closed`, every call returns `Closed` again.
    pub async fn recv(&mut self) -> Incoming {
        if self.closed {
            return Incoming::Closed { reason: None };
        }
        let received = self.frames.recv().await;
        self.take(received)
    }

    /// Whether something has arrived and waits to be taken (without taking it): long work
    /// on the host's loop stops early for it.
    pub fn has_waiting(&self) -> bool {
        !self.closed && !self.frames.is_empty()
    }

    /// The next event if it has already arrived, without waiting (`None` if nothing has,
    /// and after `Closed`).
    pub fn try_recv(&mut self) -> Option<Incoming> {
        if self.closed {
            return None;
        }
        match self.frames.try_recv() {
            Ok(received) => Some(self.take(Some(received))),
            Err(mpsc::error::TryRecvError::Empty) => None,
            Err(mpsc::error::TryRecvError::Disconnected) => Some(self.take(None)),
        }
    }

    fn take(&mut self, received: Option<Result<Queued, Option<String>>>) -> Incoming {
        match received {
            Some(Ok(queued)) => self.decode(&queued.frame),
            Some(Err(reason)) => {
                self.closed = true;
                Incoming::Closed { reason }
            }
            None => {
                self.closed = true;
                Incoming::Closed { reason: None }
            }
        }
    }

    fn decode(&mut self, frame: &[u8]) -> Incoming {
        match control::is_control(frame) {
            Ok(true) => match control::decode::<FromRelay>(frame) {
                Ok(message) => Incoming::Relay(message),
                Err(e) => Incoming::Rejected {
                    from: crate::protocol::HOST_ID,
                    error: e.into(),
                },
            },
            Ok(false) => match open_frame(&mut self.keys, &self.host, frame) {
                Ok((header, message)) if !self.epoch_admits(&header, &message) => {
                    Incoming::Rejected {
                        from: header.sender,
                        error: FrameError::RetiredEpoch {
                            epoch: header.epoch,
                        },
                    }
                }
                Ok((header, message))
                    if !may_send(header.sender, &message, self.sender.participant()) =>
                {
                    Incoming::Rejected {
                        from: header.sender,
                        error: FrameError::HostOnly { kind: header.kind },
                    }
                }
                Ok((header, message)) => {
                    // The route is sealed, so the relay cannot change it, but it could still
                    // hand us a frame meant for another member; only we can notice.
                    let me = self.sender.participant();
                    let for_me = match header.route {
                        Route::Participant(target) => target == me,
                        Route::Host => me == crate::protocol::HOST_ID,
                        Route::Everyone | Route::Followers => header.sender != me,
                    };
                    if for_me {
                        Incoming::Message { header, message }
                    } else {
                        Incoming::Rejected {
                            from: header.sender,
                            error: FrameError::Misrouted {
                                route: header.route,
                            },
                        }
                    }
                }
                Err(error) => Incoming::Rejected {
                    from: Header::decode(frame).map(|h| h.sender).unwrap_or(u32::MAX),
                    error,
                },
            },
            Err(e) => Incoming::Rejected {
                from: u32::MAX,
                error: e.into(),
            },
        }
    }
}

/// Whether `sender` may say `message` to `me`. Only the host answers, applies edits,
/// welcomes, announces and hands out keys (its frames carry its signature, see
/// `open_frame`); a member tells the host who it is, asks and submits edits, and tells
/// everyone where its cursor is. Anything else from a member is someone speaking for the
/// host.
fn may_send(sender: ParticipantId, message: &Message, me: ParticipantId) -> bool {
    use crate::protocol::HOST_ID;
    use crate::protocol::message::EditMessage;
    if sender == HOST_ID {
        return true;
    }
    match message {
        Message::Presence(_) => true,
        Message::Hello(_) | Message::Request { .. } | Message::Edit(EditMessage::Submit { .. }) => {
            me == HOST_ID
        }
        Message::Terminal(terminal) if terminal.from_member() => me == HOST_ID,
        Message::Welcome(_)
        | Message::Response { .. }
        | Message::Event(_)
        | Message::Edit(_)
        | Message::KeyUpdate(_)
        | Message::Terminal(_) => false,
    }
}

type IncomingFrames = mpsc::Receiver<Result<Queued, Option<String>>>;

/// Starts the two tasks that move frames between `socket` and bounded queues.
fn spawn_socket_tasks(socket: ClientSocket) -> (Outgoing, IncomingFrames) {
    let (mut sink, mut source) = socket.split();
    let (frames, mut outgoing_rx) = mpsc::channel::<Queued>(QUEUE_FRAMES);
    let outgoing = Outgoing {
        frames,
        budget: Arc::new(tokio::sync::Semaphore::new(OUTGOING_BYTES)),
    };
    let outgoing_budget = outgoing.budget.clone();
    let (incoming_tx, incoming) = mpsc::channel(QUEUE_FRAMES);
    let incoming_budget = Arc::new(tokio::sync::Semaphore::new(INCOMING_BYTES));
    tokio::spawn(async move {
        while let Some(Queued {
            frame,
            _budget: budget,
        }) = outgoing_rx.recv().await
        {
            // The frame's share of the budget is free once the socket has taken it.
            let sent = sink.send(WsMessage::Binary(frame.into())).await;
            drop(budget);
            if sent.is_err() {
                break;
            }
        }
        // Senders waiting for room learn at once that there is none.
        outgoing_budget.close();
        let _ = sink.close().await;
    });
    tokio::spawn(async move {
        let reason = loop {
            match source.next().await {
                Some(Ok(WsMessage::Binary(frame))) => {
                    // Waiting for room here stops reading the socket: the relay sees a
                    // slow reader, as it would if the caller itself stopped reading.
                    let Some(budget) = reserve(&incoming_budget, INCOMING_BYTES, frame.len()).await
                    else {
                        return;
                    };
                    let queued = Queued {
                        frame: frame.to_vec(),
                        _budget: budget,
                    };
                    if incoming_tx.send(Ok(queued)).await.is_err() {
                        return;
                    }
                }
                Some(Ok(WsMessage::Close(frame))) => {
                    break frame
                        .map(|f| f.reason.to_string())
                        .filter(|r| !r.is_empty());
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => break Some(e.to_string()),
                None => break None,
            }
        };
        let _ = incoming_tx.send(Err(reason)).await;
    });
    (outgoing, incoming)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `reserve` is still waiting after a moment.
    async fn waits(budget: &Arc<tokio::sync::Semaphore>, size: usize, len: usize) -> bool {
        tokio::time::timeout(
            std::time::Duration::from_millis(20),
            reserve(budget, size, len),
        )
        .await
        .is_err()
    }

    #[tokio::test]
    async fn a_queue_holds_at_most_its_bytes_and_a_larger_frame_waits_until_it_is_empty() {
        let size = 100;
        let budget = Arc::new(tokio::sync::Semaphore::new(size));
        let first = reserve(&budget, size, 60).await.expect("open");
        assert!(waits(&budget, size, 50).await, "60 + 50 bytes are over 100");
        let second = reserve(&budget, size, 40).await.expect("60 + 40 fit");
        drop(first);
        assert!(
            waits(&budget, size, 1_000).await,
            "a large frame waits for all of it"
        );
        drop(second);
        let large = reserve(&budget, size, 1_000)
            .await
            .expect("an empty queue takes it");
        assert_eq!(budget.available_permits(), 0);
        drop(large);
        assert_eq!(budget.available_permits(), size);
        budget.close();
        assert!(reserve(&budget, size, 1).await.is_none(), "a closed queue");
    }
}

#[cfg(test)]
mod who_may_send {
    use super::may_send;
    use crate::protocol::HOST_ID;
    use crate::protocol::message::{Message, TerminalMessage};

    /// A member may watch and type (to the host only); what paints screens, says who
    /// may type or answers is the host's alone.
    #[test]
    fn members_send_only_terminal_requests_and_only_to_the_host() {
        let input = Message::Terminal(TerminalMessage::Input {
            id: 1,
            bytes: b"ls\r".to_vec(),
        });
        assert!(may_send(5, &input, HOST_ID));
        assert!(!may_send(5, &input, 6));
        for host_only in [
            TerminalMessage::Output {
                id: 1,
                seq: 1,
                bytes: b"$ ".to_vec(),
            },
            TerminalMessage::Grants { writers: vec![5] },
            TerminalMessage::Snapshot {
                id: 1,
                seq: 1,
                cols: 80,
                rows: 24,
                last: true,
                bytes: Vec::new(),
            },
        ] {
            let message = Message::Terminal(host_only);
            assert!(!may_send(5, &message, 6), "{message:?}");
            assert!(!may_send(5, &message, HOST_ID), "{message:?}");
            assert!(may_send(HOST_ID, &message, 6), "{message:?}");
        }
    }
}
