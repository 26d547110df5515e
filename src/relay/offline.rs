//! The relay's frame handling without a socket, for the fuzz target.

use std::net::SocketAddr;

use super::Relay;
use super::connection::Connection;
use super::limits;
use super::session::Outgoing;

/// A relay connection without a socket, fed one frame at a time: the relay's own frame
/// handling (control messages, admission, routing, slow-reader drops) with nothing
/// between it and the bytes. The fuzz target `relay_control` (fuzz/) drives several of
/// these at once. Dropping it is the connection closing.
#[doc(hidden)]
pub struct OfflineConnection {
    connection: Connection,
    outgoing: tokio::sync::mpsc::Receiver<Outgoing>,
    release: limits::Release,
    kicked: tokio::sync::watch::Receiver<Option<String>>,
    closed: bool,
}

impl Relay {
    #[doc(hidden)]
    pub fn offline_connection(&self, address: SocketAddr) -> OfflineConnection {
        let (connection, outbound) = Connection::open(self, address);
        OfflineConnection {
            connection,
            outgoing: outbound.frames,
            release: outbound.release,
            kicked: outbound.kicked,
            closed: false,
        }
    }
}

impl OfflineConnection {
    /// Handles `frame` as if it had arrived on the socket; false once the connection has
    /// closed (its own frame ended it, or the relay kicked it), as the reader loop would.
    pub fn receive(&mut self, frame: &[u8]) -> bool {
        if self.closed || self.kicked.borrow().is_some() {
            self.close();
            return false;
        }
        if !self.connection.handle_frame(frame) || self.kicked.borrow().is_some() {
            self.close();
            return false;
        }
        true
    }

    /// The frames the relay queued for this connection since the last call, written.
    pub fn sent(&mut self) -> Vec<bytes::Bytes> {
        let mut frames = Vec::new();
        while let Ok(Outgoing::Frame(frame)) = self.outgoing.try_recv() {
            self.release.written(frame.len());
            frames.push(frame);
        }
        frames
    }

    /// Closes the connection as the reader loop does when its socket ends.
    pub fn close(&mut self) {
        if !self.closed {
            self.closed = true;
            self.connection.leave();
        }
        self.sent();
    }
}

impl Drop for OfflineConnection {
    fn drop(&mut self) {
        self.close();
    }
}
