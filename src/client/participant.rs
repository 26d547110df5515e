//! A participant that asks and waits: each request goes out and the caller awaits its
//! typed answer (`HostRequest`), the way the headless commands, benches and tests want
//! it. Underneath it is the same `Session` and `Driver` as the TUI's, so edits, presence
//! and the host's events are taken in the one way whoever waits.
//!
//! Unlike the TUI it does not ride out a dropped connection: a request in flight cannot
//! be known to have reached the host, so a drop is the caller's error (`Closed`). The
//! host's own connection dropping is different: the relay keeps the session for its grace
//! period, so a request waits for the host to come back (it is sent again then if no
//! answer to it had arrived) and fails only when the relay ends the session.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::time::Duration;

use crate::channel::Channel;
use crate::client::driver::{DROPPED, Driver, DriverEvent, apply};
use crate::client::request::{self, FileChunk, HostRequest, ListFiles, ReadFile};
use crate::client::session::{Session, SessionEvent};
use crate::client::{ClientError, HOST_TIMEOUT};
use crate::link::Link;
use crate::protocol::control::FromRelay;
use crate::protocol::message::{FileEntry, Member, Request, RequestId, Response};
use crate::protocol::{FILE_CHUNK_LEN, ParticipantId};

/// File chunks requested ahead of the one being written.
const READ_AHEAD: usize = 4;

/// Beyond the relay's grace period, the time its reaper may take to end the session.
const GRACE_MARGIN: Duration = Duration::from_secs(5);

/// A participant admitted to a session.
pub struct Participant {
    pub session: Session,
    pub driver: Driver,
    /// Answers and host events that arrived while waiting for something else, in order.
    backlog: VecDeque<SessionEvent>,
    /// Our requests not answered in full yet, as sent, and whether part of an answer came:
    /// to send again when the host comes back after its connection dropped.
    asked: BTreeMap<RequestId, Asked>,
}

struct Asked {
    body: Request,
    answered_in_part: bool,
}

impl Participant {
    /// Connects, proves knowledge of the link, says hello and waits for the host's welcome.
    pub async fn join(link: &Link, name: &str) -> Result<Participant, ClientError> {
        Self::join_as(link, name, None).await
    }

    /// Joins, calling `waiting` if the host says its user decides who gets in (the wait
    /// for the welcome may then be long).
    pub async fn join_telling(
        link: &Link,
        name: &str,
        waiting: &mut (dyn FnMut() + Send),
    ) -> Result<Participant, ClientError> {
        let (driver, session) = Driver::join_telling(link, name, waiting).await?;
        Ok(Self::over(driver, session))
    }

    /// Joins; with the host's `OwnerKey` (the host's own terminal UI) the host admits
    /// this participant without asking and shows it as the host.
    pub async fn join_as(
        link: &Link,
        name: &str,
        owner: Option<&crate::crypto::OwnerKey>,
    ) -> Result<Participant, ClientError> {
        let (driver, session) = Driver::join_as(link, name, owner.cloned()).await?;
        Ok(Self::over(driver, session))
    }

    /// Requests and waits over an already joined session and driver.
    pub fn over(driver: Driver, session: Session) -> Participant {
        Participant {
            session,
            driver,
            backlog: VecDeque::new(),
            asked: BTreeMap::new(),
        }
    }

    pub fn id(&self) -> ParticipantId {
        self.session.me.participant
    }

    /// Who we are in the session, as the host told us.
    pub fn me(&self) -> &Member {
        &self.session.me
    }

    /// Everyone in the session, us included.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.session.members.values()
    }

    /// Sends a request of type `R`; its answers come from [`Self::next_answer`].
    pub async fn send<R: HostRequest>(&mut self, request: R) -> Result<RequestId, ClientError> {
        self.send_request(request.into_request()).await
    }

    /// The next answer to request `id` of type `R`, and whether it is the last.
    pub async fn next_answer<R: HostRequest>(
        &mut self,
        id: RequestId,
    ) -> Result<(R::Answer, bool), ClientError> {
        let (response, done) = self.next_response(id).await?;
        Ok((request::answer::<R>(response)?, done))
    }

    /// A request with one answer, awaited.
    pub async fn request<R: HostRequest>(&mut self, request: R) -> Result<R::Answer, ClientError> {
        let id = self.send(request).await?;
        match self.next_answer::<R>(id).await? {
            (answer, true) => Ok(answer),
            (_, false) => Err(ClientError::Protocol),
        }
    }

    /// Sends a request as it is on the wire, for tools and tests that speak the protocol.
    pub async fn send_request(&mut self, body: Request) -> Result<RequestId, ClientError> {
        let id = self.session.request(body.clone());
        let asked = Asked {
            body,
            answered_in_part: false,
        };
        self.asked.insert(id, asked);
        self.driver.flush(&mut self.session).await;
        Ok(id)
    }

    /// Notes an answer to one of our requests: the last one ends it.
    fn answered(&mut self, event: &SessionEvent) {
        if let SessionEvent::Response { id, done, .. } = event {
            if *done {
                self.asked.remove(id);
            } else if let Some(asked) = self.asked.get_mut(id) {
                asked.answered_in_part = true;
            }
        }
    }

    /// The host is back on a new connection and remembers none of our requests: those
    /// with no answer yet go out again; one it was in the middle of answering fails (its
    /// answer would start over, and the caller has part of it).
    fn repeat_requests(&mut self) {
        for (id, asked) in std::mem::take(&mut self.asked) {
            if asked.answered_in_part {
                let message =
                    "the host's connection dropped in the middle of its answer; ask again"
                        .to_owned();
                self.backlog.push_back(SessionEvent::Response {
                    id,
                    done: true,
                    body: Response::Error { message },
                });
            } else {
                self.session.repeat_request(id, asked.body.clone());
                self.asked.insert(id, asked);
            }
        }
    }

    /// Waits for the next response to request `id`; other traffic is kept for later.
    pub async fn next_response(&mut self, id: RequestId) -> Result<(Response, bool), ClientError> {
        let wanted = |event: &SessionEvent| matches!(event, SessionEvent::Response { id: answered, .. } if *answered == id);
        match self.next_event(wanted).await? {
            SessionEvent::Response { body, done, .. } => Ok((body, done)),
            _ => Err(ClientError::Protocol),
        }
    }

    /// The next session event `wanted` accepts: from what was kept earlier first, then
    /// from the connection. Answers and host events it does not want are kept, in order,
    /// for whoever waits for them; the rest is already in the session's state.
    pub(crate) async fn next_event(
        &mut self,
        wanted: impl Fn(&SessionEvent) -> bool,
    ) -> Result<SessionEvent, ClientError> {
        if let Some(found) = self
            .backlog
            .iter()
            .position(&wanted)
            .and_then(|at| self.backlog.remove(at))
        {
            return Ok(found);
        }
        let mut deadline = tokio::time::Instant::now() + HOST_TIMEOUT;
        loop {
            while let Some(event) = self.session.next_event() {
                self.answered(&event);
                if wanted(&event) {
                    return Ok(event);
                }
                if matches!(event, SessionEvent::Response { .. } | SessionEvent::Host(_)) {
                    self.backlog.push_back(event);
                }
            }
            if let Some(at) = self.backlog.iter().position(&wanted) {
                return Ok(self.backlog.remove(at).expect("just found"));
            }
            self.driver.flush(&mut self.session).await;
            let event = tokio::time::timeout_at(deadline, self.driver.next())
                .await
                .map_err(|_| ClientError::HostTimeout)?;
            match event {
                DriverEvent::Disconnected { reason } => {
                    return Err(ClientError::Closed((reason != DROPPED).then_some(reason)));
                }
                // The relay keeps the session while the host reconnects: wait for it as
                // long as that, not the time we give a host that is there and silent.
                DriverEvent::Relay(FromRelay::HostAway { grace_seconds }) => {
                    let grace = Duration::from_secs(grace_seconds.into()) + GRACE_MARGIN;
                    deadline = deadline.max(tokio::time::Instant::now() + grace);
                }
                event => {
                    let host_back = matches!(event, DriverEvent::Relay(FromRelay::HostBack));
                    if let Some(fatal) = apply(&mut self.session, event) {
                        return Err(fatal);
                    }
                    if host_back {
                        self.repeat_requests();
                        deadline = tokio::time::Instant::now() + HOST_TIMEOUT;
                    }
                }
            }
        }
    }

    /// Every file the host shares, sorted by path.
    pub async fn list_files(&mut self) -> Result<Vec<FileEntry>, ClientError> {
        let id = self.send(ListFiles).await?;
        let mut files = Vec::new();
        loop {
            let (batch, done) = self.next_answer::<ListFiles>(id).await?;
            files.extend(batch);
            if done {
                return Ok(files);
            }
        }
    }

    /// The host's branch and changed shared files (all batches); `None` when the shared
    /// folder is not in a git repository.
    pub async fn git_status(
        &mut self,
    ) -> Result<Option<crate::protocol::git::GitStatus>, ClientError> {
        let id = self.send(request::GitStatus).await?;
        let mut whole: Option<crate::protocol::git::GitStatus> = None;
        loop {
            let (batch, done) = self.next_answer::<request::GitStatus>(id).await?;
            match (&mut whole, batch) {
                (Some(whole), Some(batch)) => whole.changes.extend(batch.changes),
                (whole @ None, batch) => *whole = batch,
                (Some(_), None) => {}
            }
            if done {
                return Ok(whole);
            }
        }
    }

    /// Streams a file as everyone sees it into `out`: its shared text when someone has
    /// unsaved edits in it, else its exact bytes on the host's disk. Returns the number of
    /// bytes written.
    pub async fn read_file(
        &mut self,
        path: &str,
        out: &mut impl Write,
    ) -> Result<u64, ClientError> {
        self.read(path, false, out).await
    }

    /// Streams a file's exact bytes as saved on the host's disk into `out`.
    pub async fn read_saved_file(
        &mut self,
        path: &str,
        out: &mut impl Write,
    ) -> Result<u64, ClientError> {
        self.read(path, true, out).await
    }

    /// Reads a few chunks ahead, in bounded memory.
    async fn read(
        &mut self,
        path: &str,
        saved: bool,
        out: &mut impl Write,
    ) -> Result<u64, ClientError> {
        let chunk = FILE_CHUNK_LEN as u64;
        let mut in_flight: VecDeque<(RequestId, u64)> = VecDeque::new();
        let mut next_offset = 0u64;
        let mut total: Option<u64> = None;
        let mut written = 0u64;
        loop {
            while in_flight.len() < READ_AHEAD && total.is_none_or(|t| next_offset < t) {
                let read = ReadFile {
                    path: path.to_string(),
                    offset: next_offset,
                    len: chunk as u32,
                    saved,
                };
                let id = self.send(read).await?;
                in_flight.push_back((id, next_offset));
                next_offset += chunk;
                if total.is_none() {
                    // Learn the size from the first answer before reading further ahead.
                    break;
                }
            }
            let Some((id, offset)) = in_flight.pop_front() else {
                break;
            };
            let (
                FileChunk {
                    offset: got,
                    total: size,
                    data,
                },
                _,
            ) = self.next_answer::<ReadFile>(id).await?;
            if got != offset {
                return Err(ClientError::Protocol);
            }
            if total.is_some_and(|t| t != size) {
                return Err(ClientError::Host(format!(
                    "{path} changed on the host while it was being read; try again"
                )));
            }
            total = Some(size);
            out.write_all(&data).map_err(ClientError::Output)?;
            written += data.len() as u64;
            if data.is_empty() && written < size {
                return Err(ClientError::Host(format!(
                    "{path} shrank on the host while it was being read; try again"
                )));
            }
            if total.is_some_and(|t| written >= t) && in_flight.is_empty() {
                break;
            }
        }
        out.flush().map_err(ClientError::Output)?;
        Ok(written)
    }

    /// Says goodbye by closing the connection.
    pub async fn leave(self) {
        drop(self.driver);
    }

    /// The raw channel, for tools and tests that speak the protocol directly.
    ///
    /// # Panics
    /// After a request failed because the connection dropped (there is no channel left).
    pub fn into_channel(self) -> Channel {
        self.driver
            .into_channel()
            .expect("a participant that waits never reconnects")
    }

    /// Follow another member's presence (or stop).
    pub async fn follow(&self, leader: Option<ParticipantId>) -> Result<(), ClientError> {
        self.driver
            .control(&crate::protocol::control::ToRelay::Follow { leader })
            .await;
        Ok(())
    }
}
