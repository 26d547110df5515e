//! Following another participant from the loop's side: telling the relay, following the
//! person asked for once they join, and taking the view where the leader went. Whom we
//! follow is the app's `client::follow::Follow`.

use super::event_loop::ParticipantLoop;
use crate::client::follow::LeaderPlace;
use crate::protocol::ParticipantId;
use crate::protocol::control::ToRelay;
use crate::tui::compositor::AppCommand;
use crate::tui::editor::Selection;

impl ParticipantLoop {
    pub(super) async fn follow(&mut self, leader: ParticipantId) {
        self.app.follow_mut().chosen();
        self.connection
            .control(&ToRelay::Follow {
                leader: Some(leader),
            })
            .await;
        if self.app.following() != Some(leader) {
            self.app.start_following(leader);
        }
        self.app
            .follow_mut()
            .track_leader(self.session.members.values());
        // Where they are now, if they told us already.
        self.leader_moved(leader).await;
        self.view_changed();
    }

    /// Follows the person asked for on the command line (or the host) once they are here.
    pub(super) async fn try_follow(&mut self) {
        let me = self.session.me.participant;
        if let Some(leader) = self.app.follow().arrived(self.session.members.values(), me) {
            self.follow(leader).await;
        }
    }

    pub(super) async fn leader_moved(&mut self, leader: ParticipantId) {
        let Some(presence) = self.session.presence.get(&leader) else {
            return;
        };
        let terminal = presence.terminal;
        self.follow_leader_terminal(terminal);
        let Some(presence) = self.session.presence.get(&leader) else {
            return;
        };
        // Their cursor as carried over the edits since their presence came, when we have it.
        let carried = self
            .cursors
            .get(&leader)
            .map(|(path, selection)| (path.as_str(), (selection.anchor, selection.head)));
        let Some(place) = LeaderPlace::of(presence, carried) else {
            return;
        };
        let selection = Selection {
            anchor: place.anchor,
            head: place.head,
        };
        let commands = self.app.leader_moved(
            leader,
            &place.path,
            selection,
            place.scroll_line,
            &self.session,
        );
        for command in commands {
            if let AppCommand::Open(path) = command {
                self.open(path);
            }
        }
        self.dirty = true;
        // Following moved our cursor and view: the others (the leader first) see us there,
        // not where we last moved by hand.
        self.view_changed();
    }
}
