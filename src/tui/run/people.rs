//! People and cursors: our own presence (what we tell the others, and when), the people
//! panel, and the others' cursors carried through every edit.

use ropey::Rope;
use tokio::time::Instant;

use super::event_loop::ParticipantLoop;
use crate::client::presence::View;
use crate::protocol::ParticipantId;
use crate::protocol::message::Role;
use crate::tui::app::DocumentTexts;
use crate::tui::editor::RemoteCursor;
use crate::tui::people::PersonView;

impl ParticipantLoop {
    pub(super) fn view_changed(&mut self) {
        let Some(path) = self.app.active_path().map(str::to_owned) else {
            return;
        };
        let Some(editor) = self.app.editor() else {
            return;
        };
        let view = View {
            path,
            selection: (editor.selection.anchor, editor.selection.head),
            extra_selections: editor
                .extra_cursors()
                .iter()
                .map(|cursor| (cursor.anchor, cursor.head))
                .collect(),
            scroll_line: editor.scroll_line(),
            following: self.app.following(),
        };
        if self.presence.moved(Some(view)) {
            self.refresh_people();
            self.dirty = true;
        }
    }

    /// Sends our presence to whichever audience is due.
    pub(super) fn send_presence(&mut self, now: Instant) {
        let latency_ms = self.round_trip.to_share();
        let following = self.app.following();
        if self
            .presence
            .send_due(&mut self.session, now, following, latency_ms)
        {
            self.round_trip.mark_shared();
        }
    }

    pub(super) fn refresh_people(&mut self) {
        let session = &self.session;
        let me = session.me.participant;
        // Two people may share a name: on screen they are told apart.
        let names = crate::tui::people::display_names(
            session
                .members
                .values()
                .map(|member| (member.participant, member.name.clone())),
        );
        let name_of = |id: ParticipantId| {
            names
                .get(&id)
                .cloned()
                .unwrap_or_else(|| format!("participant {id}"))
        };
        let people = session
            .members
            .values()
            .map(|member| {
                let is_you = member.participant == me;
                let presence = session.presence.get(&member.participant);
                let (file, following, terminal) = if is_you {
                    (
                        self.app.active_path().map(str::to_owned),
                        self.app.following(),
                        self.terminal.shown,
                    )
                } else {
                    (
                        presence.and_then(|p| p.path.clone()),
                        presence.and_then(|p| p.following),
                        presence.and_then(|p| p.terminal),
                    )
                };
                // In a shared terminal: that is where they are.
                let file = match terminal.and_then(|id| session.terminals.list.get(&id)) {
                    Some(view) => Some(format!("⌨ {}", view.name)),
                    None => file,
                };
                PersonView {
                    id: member.participant,
                    name: name_of(member.participant),
                    color: member.color.into(),
                    file,
                    following: following.map(name_of),
                    read_only: member.role == Role::ReadOnly,
                    terminal_writer: session.terminals.writers.contains(&member.participant),
                    is_host: member.role == Role::Host,
                    is_you,
                    latency_ms: if is_you {
                        self.round_trip.latest()
                    } else {
                        presence.and_then(|p| p.latency_ms)
                    },
                }
            })
            .collect();
        self.app.set_people(people);
        self.refresh_cursors();
        self.dirty = true;
    }

    /// Hands each open tab the cursors of the others who are in that file.
    pub(super) fn refresh_cursors(&mut self) {
        let paths: Vec<String> = self.app.open_paths().map(str::to_owned).collect();
        // In participant order, so flags that share a spot always queue the same way.
        let mut present: Vec<_> = self.cursors.iter().collect();
        present.sort_by_key(|(id, _)| **id);
        for path in paths {
            let len = self.session.rope(&path).map_or(0, Rope::len_chars);
            let cursors = present
                .iter()
                .filter(|(id, (at, _))| **id != self.session.me.participant && *at == path)
                .filter_map(|(id, (_, selection))| {
                    let member = self.session.members.get(id)?;
                    let primary = RemoteCursor {
                        name: self.app.person_name(**id),
                        color: member.color.into(),
                        selection: selection.clamped(len),
                    };
                    // Their other cursors: the same color, no name of their own.
                    let extras =
                        self.extra_cursors
                            .get(*id)
                            .into_iter()
                            .flatten()
                            .map(|selection| RemoteCursor {
                                name: String::new(),
                                color: primary.color,
                                selection: selection.clamped(len),
                            });
                    Some(
                        std::iter::once(primary.clone())
                            .chain(extras)
                            .collect::<Vec<_>>(),
                    )
                })
                .flatten()
                .collect();
            self.app.set_remote_cursors(&path, cursors);
        }
    }

    /// Carries the others' cursors in `path` over an edit, so they stay on their text.
    /// The typist's own cursor goes past what they typed (where their next presence will
    /// put it anyway, so the screen changes once, not twice).
    pub(super) fn map_cursors(
        &mut self,
        path: &str,
        operation: &crate::text::Operation,
        typist: Option<ParticipantId>,
    ) {
        for (who, (at, selection)) in self.cursors.iter_mut() {
            if at == path {
                let assoc = if Some(*who) == typist {
                    crate::text::Assoc::After
                } else {
                    crate::text::Assoc::Before
                };
                *selection = selection.map(operation, assoc);
                for extra in self.extra_cursors.get_mut(who).into_iter().flatten() {
                    *extra = extra.map(operation, assoc);
                }
            }
        }
        self.refresh_cursors();
    }
}
