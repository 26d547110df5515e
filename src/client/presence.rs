//! Someone's cursor, as their presence tells it, is in the host's text at the revision
//! they had (`Presence::revision`). Our copy may be at an older or newer revision, and may
//! carry edits of ours the host has not sequenced yet; drawing their positions as they
//! came would put their cursor off by every character typed in between. So the receiver
//! maps them: through the host's edits it applied since that revision (a short log per
//! document), then through its own pending edits. A presence from a revision we do not
//! have yet waits until we do.

use std::collections::VecDeque;

use crate::text::{Assoc, Client, Operation};

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
}
