//! Presence both ways: ours going out, the others' coming in.
//!
//! **Ours** ([`OwnPresence`]): followers get each change at most every 30 ms, everyone
//! (the people panel) at most every 250 ms, the last change always arrives, and nothing
//! goes while the host has not confirmed our edits to the file: positions in text the
//! others do not have yet would put our cursor in the wrong place on their screens. Each
//! carries a sequence number and the revision its positions refer to. The TUI, the demo's
//! partner and anyone else who shows a cursor use this one state.
//!
//! **Theirs**: someone's cursor, as their presence tells it, is in the host's text at the revision
//! they had (`Presence::revision`). Our copy may be at an older or newer revision, and may
//! carry edits of ours the host has not sequenced yet; drawing their positions as they
//! came would put their cursor off by every character typed in between. So the receiver
//! maps them: through the host's edits it applied since that revision (a short log per
//! document), then through its own pending edits. A presence from a revision we do not
//! have yet waits until we do.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::client::session::Session;
use crate::protocol::ParticipantId;
use crate::protocol::header::Route;
use crate::protocol::message::Presence;
use crate::text::{Assoc, Client, Operation};

/// Presence to the people who follow us: smooth enough to watch, at most ~33 per second.
pub const FOLLOWERS_INTERVAL: Duration = Duration::from_millis(30);
/// Presence to everyone (people panel, cursors of those in the same file): 4 per second.
/// The receiving side relies on this rule.
pub const EVERYONE_INTERVAL: Duration = Duration::from_millis(250);

/// Where we are: the document, our selection in it (anchor, head; char indices in our
/// text) and the first line in view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    pub path: String,
    pub selection: (usize, usize),
    /// Our other cursors (multiple cursors), after the primary `selection` in the
    /// presence's `selections`.
    pub extra_selections: Vec<(usize, usize)>,
    pub scroll_line: usize,
    pub following: Option<ParticipantId>,
}

/// Our presence as last announced, and when each audience is next due.
#[derive(Debug)]
pub struct OwnPresence {
    seq: u64,
    current: Option<View>,
    /// The shared terminal we look at.
    terminal: Option<crate::protocol::message::TerminalId>,
    followers_due: bool,
    everyone_due: bool,
    last_followers: Instant,
    last_everyone: Instant,
}

impl Default for OwnPresence {
    fn default() -> Self {
        let long_ago = Instant::now() - EVERYONE_INTERVAL;
        OwnPresence {
            seq: 0,
            current: None,
            terminal: None,
            followers_due: false,
            everyone_due: false,
            last_followers: long_ago,
            last_everyone: long_ago,
        }
    }
}

impl OwnPresence {
    /// Our view may have moved (`None`: no document open); returns whether it did (both
    /// audiences are then due).
    pub fn moved(&mut self, view: Option<View>) -> bool {
        if self.current == view {
            return false;
        }
        self.current = view;
        self.followers_due = true;
        self.everyone_due = true;
        true
    }

    /// The shared terminal we look at (`None`: none); returns whether that changed (both
    /// audiences are then due: followers show the same terminal).
    pub fn terminal_shown(
        &mut self,
        terminal: Option<crate::protocol::message::TerminalId>,
    ) -> bool {
        if self.terminal == terminal {
            return false;
        }
        self.terminal = terminal;
        self.followers_due = true;
        self.everyone_due = true;
        true
    }

    /// Where we are, as last told to [`OwnPresence::moved`].
    pub fn view(&self) -> Option<&View> {
        self.current.as_ref()
    }

    /// Everyone should hear where we are again (a newcomer, a reconnect, a new latency).
    pub fn tell_everyone(&mut self) {
        self.everyone_due = true;
    }

    /// Whether our presence may go: not while the host has not confirmed our edits to
    /// the document it is in.
    pub fn ready(&self, session: &Session) -> bool {
        self.current.as_ref().is_none_or(|view| {
            session
                .documents
                .get(&view.path)
                .is_none_or(|document| !document.ot.has_pending())
        })
    }

    /// When `send_due` has something to send; `None` when nothing is due or it is held.
    pub fn deadline(&self, session: &Session) -> Option<Instant> {
        if !self.ready(session) {
            return None;
        }
        let followers = self
            .followers_due
            .then_some(self.last_followers + FOLLOWERS_INTERVAL);
        let everyone = self
            .everyone_due
            .then_some(self.last_everyone + EVERYONE_INTERVAL);
        match (followers, everyone) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Queues our presence on `session` for whichever audience is due at `now`;
    /// `following` and `latency_ms` are told also when no document is open. Returns
    /// whether it went to everyone.
    pub fn send_due(
        &mut self,
        session: &mut Session,
        now: Instant,
        following: Option<ParticipantId>,
        latency_ms: Option<u32>,
    ) -> bool {
        if !self.ready(session) {
            return false;
        }
        let route = if self.everyone_due && now >= self.last_everyone + EVERYONE_INTERVAL {
            // Followers are among everyone: one message reaches both.
            self.everyone_due = false;
            self.followers_due = false;
            self.last_everyone = now;
            self.last_followers = now;
            Route::Everyone
        } else if self.followers_due
            && (self.current.is_some() || self.terminal.is_some())
            && now >= self.last_followers + FOLLOWERS_INTERVAL
        {
            self.followers_due = false;
            self.last_followers = now;
            Route::Followers
        } else {
            return false;
        };
        self.seq += 1;
        let mut presence = Presence {
            seq: self.seq,
            path: None,
            revision: 0,
            selections: Vec::new(),
            scroll_line: 0,
            following,
            latency_ms,
            terminal: self.terminal,
        };
        if let Some(view) = &self.current {
            presence.revision = session
                .documents
                .get(&view.path)
                .map_or(0, |document| document.ot.revision());
            presence.path = Some(view.path.clone());
            presence.selections = std::iter::once(view.selection)
                .chain(view.extra_selections.iter().copied())
                .collect();
            presence.scroll_line = view.scroll_line;
            presence.following = view.following;
        }
        session.send_presence(route, presence);
        route == Route::Everyone
    }
}

/// How many of the host's edits each open document remembers. Presence is at most a few
/// hundred milliseconds old, so this reaches far back even with several people typing.
pub const EDIT_LOG_LEN: usize = 256;

/// The last host edits applied to one document, each with the revision it produced.
#[derive(Clone, Debug, Default)]
pub struct EditLog {
    edits: VecDeque<(u64, Operation)>,
}

impl EditLog {
    /// The host's edit that produced `revision` (in the host's coordinates, as sequenced).
    pub fn record(&mut self, revision: u64, op: Operation) {
        if self.edits.len() == EDIT_LOG_LEN {
            self.edits.pop_front();
        }
        self.edits.push_back((revision, op));
    }

    /// The edits after `revision`, oldest first; `None` when the log does not reach back.
    fn since(&self, revision: u64) -> Option<impl Iterator<Item = &Operation>> {
        let skip = match self.edits.front() {
            None => 0,
            Some(&(first, _)) if first > revision + 1 => return None,
            Some(&(first, _)) => usize::try_from(revision + 1 - first).ok()?,
        };
        Some(self.edits.iter().skip(skip).map(|(_, op)| op))
    }
}

/// Where positions given at a host revision are in the local text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Localized {
    /// In the local text now.
    Here(Vec<(usize, usize)>),
    /// They refer to a revision we have not received yet: ask again when we have it.
    Ahead,
}

/// Maps `selections`, given in the host's text at `revision`, into the local text of a
/// document whose OT state is `ot` and whose applied host edits are in `log`. When the
/// log no longer reaches back to `revision` they are taken as they are (the caller clamps
/// them): a place a little off beats no cursor.
pub fn localize(
    selections: &[(usize, usize)],
    revision: u64,
    log: &EditLog,
    ot: &Client,
) -> Localized {
    if revision > ot.revision() {
        return Localized::Ahead;
    }
    let edits: Vec<&Operation> = log
        .since(revision)
        .into_iter()
        .flatten()
        .chain(ot.pending())
        .collect();
    // Assoc::Before, as the editor maps the others' cursors over every later edit: text
    // inserted exactly at a cursor goes after it.
    let map = |pos: usize| {
        edits
            .iter()
            .fold(pos, |pos, op| op.transform_position(pos, Assoc::Before))
    };
    Localized::Here(
        selections
            .iter()
            .map(|&(anchor, head)| (map(anchor), map(head)))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::HOST_ID;
    use crate::protocol::header::{Header, Kind};
    use crate::protocol::message::{EditMessage, Member, Message, Response, Role};
    use crate::text::{EditId, RemoteEdit, RemoteOutcome};

    const OTHER: [u8; 16] = [9; 16];

    /// A host edit from someone else, applied to `client` and recorded in `log`.
    fn remote(client: &mut Client, log: &mut EditLog, op: Operation) {
        let revision = client.revision() + 1;
        let edit = RemoteEdit {
            revision,
            author: EditId {
                instance: OTHER,
                seq: revision,
            },
            op: op.clone(),
        };
        assert!(matches!(
            client.on_remote(edit),
            Ok(RemoteOutcome::Apply(_))
        ));
        log.record(revision, op);
    }

    #[test]
    fn same_revision_and_no_pending_edits_is_unchanged() {
        let client = Client::new([1; 16], 4);
        let log = EditLog::default();
        assert_eq!(
            localize(&[(2, 5)], 4, &log, &client),
            Localized::Here(vec![(2, 5)])
        );
    }

    #[test]
    fn an_older_presence_moves_through_the_edits_since() {
        // "hello world" at revision 4; their cursor after "world" (11) and a selection
        // of "hello" (0..5), sent at revision 4.
        let mut client = Client::new([1; 16], 4);
        let mut log = EditLog::default();
        // Revision 5 inserts "dear " at 6, revision 6 deletes "hello " (0..6).
        remote(
            &mut client,
            &mut log,
            Operation::insert(11, 6, "dear ").unwrap(),
        );
        remote(&mut client, &mut log, Operation::delete(16, 0..6).unwrap());
        // Now "dear world": after "world" is 10; "hello" is gone, so the selection
        // collapses to 0.
        assert_eq!(
            localize(&[(11, 11), (0, 5)], 4, &log, &client),
            Localized::Here(vec![(10, 10), (0, 0)])
        );
        // From revision 5 only the deletion applies: 16 - 6.
        assert_eq!(
            localize(&[(16, 16)], 5, &log, &client),
            Localized::Here(vec![(10, 10)])
        );
    }

    #[test]
    fn our_unconfirmed_edits_move_it_too() {
        // "hello world" at revision 4, their cursor at 6 (before "world").
        let mut client = Client::new([1; 16], 4);
        let log = EditLog::default();
        // We typed ">> " at 0 and the host has not confirmed it, then "!" at the end
        // while it is in flight (the buffer).
        client
            .local_edit(Operation::insert(11, 0, ">> ").unwrap())
            .unwrap();
        client
            .local_edit(Operation::insert(14, 14, "!").unwrap())
            .unwrap();
        assert_eq!(
            localize(&[(6, 11)], 4, &log, &client),
            Localized::Here(vec![(9, 14)])
        );
    }

    #[test]
    fn a_newer_presence_waits_for_its_revision() {
        let client = Client::new([1; 16], 4);
        assert_eq!(
            localize(&[(1, 1)], 5, &EditLog::default(), &client),
            Localized::Ahead
        );
    }

    #[test]
    fn the_log_keeps_only_the_last_edits() {
        let mut client = Client::new([1; 16], 0);
        let mut log = EditLog::default();
        for n in 0..EDIT_LOG_LEN + 2 {
            remote(&mut client, &mut log, Operation::insert(n, 0, "x").unwrap());
        }
        let now = client.revision();
        // Revisions 1..=258; the log holds 3..=258. Positions at revision 2 map through
        // all of them (an insert at a cursor goes after it); at revision 1, as they are.
        assert_eq!(
            localize(&[(0, 1)], 2, &log, &client),
            Localized::Here(vec![(0, 1 + EDIT_LOG_LEN)])
        );
        assert_eq!(
            localize(&[(0, 1)], 1, &log, &client),
            Localized::Here(vec![(0, 1)])
        );
        assert_eq!(
            localize(&[(3, 3)], now, &log, &client),
            Localized::Here(vec![(3, 3)])
        );
    }

    /// Our session with `a.txt` open at revision 4: "hello".
    fn session_with_document() -> Session {
        let me = Member {
            participant: 1,
            name: "ana".into(),
            role: Role::Editor,
            color: 0,
        };
        let mut session = Session::new(me, Vec::new());
        let id = session.open_document("a.txt");
        session.handle(
            &host_header(Kind::Response),
            Message::Response {
                id,
                done: true,
                body: Response::DocumentText {
                    revision: 4,
                    text: "hello".into(),
                    read_only: false,
                },
            },
        );
        while session.next_event().is_some() {}
        session.take_outbox();
        session
    }

    fn host_header(kind: Kind) -> Header {
        Header {
            kind,
            route: Route::Everyone,
            epoch: 0,
            sender: HOST_ID,
            instance: [0; 16],
            counter: 0,
        }
    }

    fn sent_presence(session: &mut Session) -> Vec<(Route, Presence)> {
        session
            .take_outbox()
            .into_iter()
            .filter_map(|(route, message)| match message {
                Message::Presence(presence) => Some((route, presence)),
                _ => None,
            })
            .collect()
    }

    fn view(at: usize) -> Option<View> {
        Some(View {
            path: "a.txt".into(),
            selection: (at, at),
            extra_selections: Vec::new(),
            scroll_line: 0,
            following: None,
        })
    }

    /// Several cursors go out as several selections, the primary first; adding one is a
    /// move the others hear of.
    #[test]
    fn every_cursor_goes_out_primary_first() {
        let mut session = session_with_document();
        let mut ours = OwnPresence::default();
        assert!(ours.moved(view(1)));
        let mut several = view(1);
        if let Some(view) = several.as_mut() {
            view.extra_selections = vec![(3, 3), (4, 5)];
        }
        assert!(ours.moved(several), "an added cursor is news");
        assert!(ours.send_due(&mut session, Instant::now(), None, None));
        let sent = sent_presence(&mut session);
        assert_eq!(sent[0].1.selections, vec![(1, 1), (3, 3), (4, 5)]);
    }

    /// The documented contract: a presence whose positions include our unconfirmed typing
    /// does not go out until the host confirmed it, and then carries the revision that has
    /// it.
    #[test]
    fn our_presence_waits_for_the_host_to_confirm_our_edits() {
        let mut session = session_with_document();
        let mut ours = OwnPresence::default();
        session
            .local_edit("a.txt", Operation::insert(5, 5, "!").unwrap())
            .unwrap();
        assert!(ours.moved(view(6)));
        let now = Instant::now();
        assert_eq!(ours.deadline(&session), None, "held");
        assert!(!ours.send_due(&mut session, now, None, None));
        let submitted = session.take_outbox();
        assert!(
            submitted
                .iter()
                .all(|(_, message)| !matches!(message, Message::Presence(_))),
            "{submitted:?}"
        );
        // The host sequences it as revision 5 and sends it back: confirmed.
        let id = session.documents["a.txt"]
            .ot
            .outstanding()
            .expect("in flight")
            .id;
        session.handle(
            &host_header(Kind::Edit),
            Message::Edit(EditMessage::Acknowledged {
                path: "a.txt".into(),
                id,
                revision: 5,
            }),
        );
        assert!(ours.deadline(&session).is_some_and(|due| due <= now));
        assert!(ours.send_due(&mut session, now, None, Some(12)));
        let sent = sent_presence(&mut session);
        assert_eq!(sent.len(), 1, "one message reaches followers and everyone");
        let (route, presence) = &sent[0];
        assert_eq!(*route, Route::Everyone);
        assert_eq!(
            (presence.revision, presence.selections.clone(), presence.seq),
            (5, vec![(6, 6)], 1)
        );
        assert_eq!(presence.latency_ms, Some(12));
    }

    #[test]
    fn followers_hear_more_often_than_everyone() {
        let mut session = session_with_document();
        let mut ours = OwnPresence::default();
        let start = Instant::now();
        ours.moved(view(1));
        assert!(ours.send_due(&mut session, start, None, None));
        ours.moved(view(2));
        let soon = start + FOLLOWERS_INTERVAL;
        assert_eq!(ours.deadline(&session), Some(soon));
        assert!(
            !ours.send_due(&mut session, soon, None, None),
            "followers only"
        );
        let routes: Vec<Route> = sent_presence(&mut session)
            .into_iter()
            .map(|(route, _)| route)
            .collect();
        assert_eq!(routes, [Route::Everyone, Route::Followers]);
        // The last change reaches everyone once their interval is over.
        assert_eq!(ours.deadline(&session), Some(start + EVERYONE_INTERVAL));
        assert!(ours.send_due(&mut session, start + EVERYONE_INTERVAL, None, None));
        assert!(!ours.moved(view(2)), "unchanged");
    }
}
