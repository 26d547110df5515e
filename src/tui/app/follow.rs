//! Following another participant: who, where they went, and stopping on navigation.

use super::{App, DocumentTexts};
use crate::protocol::ParticipantId;
use crate::tui::compositor::AppCommand;
use crate::tui::editor::Selection;
use crate::tui::status::Level;

impl App {
    pub fn following(&self) -> Option<ParticipantId> {
        self.following
    }

    /// Starts following `leader` (chosen by the user, `--follow`, or the host's request).
    pub fn start_following(&mut self, leader: ParticipantId) {
        self.following = Some(leader);
        self.resize(self.size.width, self.size.height);
        let name = self.person_name(leader);
        self.messages
            .push(Level::Info, format!("following {name}; move to stop"));
    }

    pub(super) fn stop_following(&mut self, commands: &mut Vec<AppCommand>) {
        if let Some(leader) = self.following {
            // Said here, so no "following X; move to stop" outlives it, whatever stopped it.
            let name = self.person_name(leader);
            self.messages
                .push(Level::Info, format!("stopped following {name}"));
            self.following = None;
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
        if self.following != Some(leader) {
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
                self.pending_follow = Some((path.into(), selection, scroll_line));
                vec![AppCommand::Open(path.into())]
            }
        }
    }
}
