//! Following another participant, as the UI shows it: starting and stopping (with what
//! the message line says), and the view going where the leader is. Whom we follow is a
//! `client::follow::Follow`, which the event loop consults too.

use super::{App, DocumentTexts};
use crate::client::follow::{Follow, LeaderPlace};
use crate::protocol::ParticipantId;
use crate::tui::compositor::AppCommand;
use crate::tui::editor::Selection;
use crate::tui::status::Level;

impl App {
    pub fn following(&self) -> Option<ParticipantId> {
        self.follow.leader()
    }

    /// Who is followed and awaited, for the loop to consult.
    pub fn follow(&self) -> &Follow {
        &self.follow
    }

    /// For the loop: whom to wait for (from the command line), and that a leader was
    /// chosen. Starting and stopping go through [`App::start_following`] and the keys,
    /// which say so on the message line.
    pub fn follow_mut(&mut self) -> &mut Follow {
        &mut self.follow
    }

    /// Starts following `leader` (chosen by the user, `--follow`, or the host's request).
    pub fn start_following(&mut self, leader: ParticipantId) {
        self.follow.start(leader);
        self.resize(self.size.width, self.size.height);
        let name = self.person_name(leader);
        self.messages
            .push(Level::Info, format!("following {name}; move to stop"));
    }

    /// The leader left (`Follow::track_leader` awaits them now): said on the message line,
    /// and the layout no longer shows anyone followed.
    pub fn leader_away(&mut self, name: &str) {
        self.messages.push(
            Level::Info,
            format!("{name} is away; you follow them again when they are back (move to stop)"),
        );
        self.resize(self.size.width, self.size.height);
    }

    pub(super) fn stop_following(&mut self, commands: &mut Vec<AppCommand>) {
        if let Some(leader) = self.follow.stop() {
            // Said here, so no "following X; move to stop" outlives it, whatever stopped it.
            let name = self.person_name(leader);
            self.messages
                .push(Level::Info, format!("stopped following {name}"));
            commands.push(AppCommand::StopFollowing);
            self.resize(self.size.width, self.size.height);
        }
    }

    /// The name `id` has on screen (numbered if someone else has the same).
    pub fn person_name(&self, id: ParticipantId) -> String {
        self.people
            .iter()
            .find(|person| person.id == id)
            .map_or_else(|| format!("participant {id}"), |person| person.name.clone())
    }

    /// A leader's presence arrived. If it is the one we follow, the view goes where they
    /// are; returns `Open` when their file is not open here yet.
    pub fn leader_moved(
        &mut self,
        leader: ParticipantId,
        path: &str,
        selection: Selection,
        scroll_line: usize,
        documents: &impl DocumentTexts,
    ) -> Vec<AppCommand> {
        if self.follow.leader() != Some(leader) {
            return Vec::new();
        }
        // A popup belongs to where our cursor was.
        self.popups.close();
        match documents.rope(path) {
            Some(rope) => {
                if self.active_path() != Some(path) {
                    self.open_document(path, rope, false);
                }
                if let Some(tab) = self.tabs.get_mut(self.active) {
                    tab.editor.follow_to(rope, selection, scroll_line);
                }
                Vec::new()
            }
            None => {
                self.follow.pend(LeaderPlace {
                    path: path.into(),
                    anchor: selection.anchor,
                    head: selection.head,
                    scroll_line,
                });
                vec![AppCommand::Open(path.into())]
            }
        }
    }
}
