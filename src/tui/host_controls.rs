//! What the host's own user has on top of the participant's editor: the join prompt,
//! the people menu (role, removal, follow) and the session card with the link and the
//! verification code.
//!
//! These layers only ask; the event loop carries the requests to the host session
//! (`AppCommand::Host` with the `HostCommand` the headless console sends too), which enforces them. The same session card shows a
//! participant their verification code, without the link.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Paragraph, Widget, Wrap};

use crate::host_control::HostCommand;
use crate::protocol::ParticipantId;
use crate::protocol::message::Role;
use crate::tui::compositor::{
    AppCommand, Component, Context, Event, EventResult, RenderContext, UiCommand, centered,
    close_layer,
};
use crate::tui::people::PersonView;
use crate::tui::picker::{Picker, PickerItem};

/// Someone who has the link and waits for the host's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinRequest {
    pub participant: ParticipantId,
    pub name: String,
}

/// The prompt shown when someone asks to join. Escape leaves them waiting: the people
/// menu lists them until the host answers.
pub fn join_request_picker(request: &JoinRequest) -> Picker {
    let participant = request.participant;
    let items = vec![
        PickerItem {
            label: "Admit as editor".into(),
            command: AppCommand::Host(HostCommand::Admit {
                participant,
                role: Role::Editor,
            }),
        },
        PickerItem {
            label: "Admit read-only (can look, hover and search; cannot edit)".into(),
            command: AppCommand::Host(HostCommand::Admit {
                participant,
                role: Role::ReadOnly,
            }),
        },
        PickerItem {
            label: "Refuse".into(),
            command: AppCommand::Host(HostCommand::Refuse { participant }),
        },
    ];
    Picker::menu(
        JOIN_PICKER,
        &format!("{} asks to join", request.name),
        items,
        "",
    )
}

/// The prompt shown when ignore files changed during the session (`paths`): what they
/// hid at the start stays hidden unless the host adopts them as they are now. Keeping is
/// first, so an Enter meant for something else never unhides a file.
pub fn ignore_files_prompt(paths: &[String]) -> Picker {
    let names = paths.join(", ");
    let items = vec![
        PickerItem {
            label: "Keep hiding what they hid at the start".into(),
            command: AppCommand::IgnoreFiles { adopt: false },
        },
        adopt_ignore_files_item(&names),
    ];
    Picker::menu(IGNORE_FILES_PROMPT, &format!("{names} changed"), items, "")
}

/// The choice that adopts the changed ignore files `names`.
fn adopt_ignore_files_item(names: &str) -> PickerItem {
    PickerItem {
        label: format!(
            "Adopt {names} as it is now (files it no longer hides become visible to everyone)"
        ),
        command: AppCommand::IgnoreFiles { adopt: true },
    }
}

pub const IGNORE_FILES_PROMPT: &str = "ignore-files-changed";
const JOIN_PICKER: &str = "join-request";
const PEOPLE_MENU: &str = "people-menu";
const PERSON_MENU: &str = "person-menu";

/// The host's people menu: who waits to join, then who is in; choosing one opens what
/// can be done with them. Ignore files that changed and were not adopted yet
/// (`ignore_files_changed`) can be adopted from here too.
pub fn people_menu(
    pending: &[JoinRequest],
    people: &[PersonView],
    ignore_files_changed: &[String],
) -> Picker {
    let waiting = pending.iter().map(|request| PickerItem {
        label: format!("{}  (asks to join)", request.name),
        command: AppCommand::ManagePerson(request.participant),
    });
    let present = people
        .iter()
        .filter(|person| !person.is_you)
        .map(|person| PickerItem {
            label: format!(
                "{}  ({}{})",
                person.name,
                if person.read_only {
                    "read-only"
                } else {
                    "editor"
                },
                person
                    .file
                    .as_deref()
                    .map(|file| format!(", in {file}"))
                    .unwrap_or_default()
            ),
            command: AppCommand::ManagePerson(person.id),
        });
    let adopt = (!ignore_files_changed.is_empty())
        .then(|| adopt_ignore_files_item(&ignore_files_changed.join(", ")));
    Picker::menu(
        PEOPLE_MENU,
        "People",
        waiting.chain(present).chain(adopt).collect(),
        "nobody else is here yet; share the link (alt-l shows it)",
    )
}

/// What the host can do with one person, or `None` if they are not here any more.
pub fn person_menu(
    id: ParticipantId,
    pending: &[JoinRequest],
    people: &[PersonView],
) -> Option<Picker> {
    if let Some(request) = pending.iter().find(|request| request.participant == id) {
        return Some(join_request_picker(request));
    }
    let person = people
        .iter()
        .find(|person| person.id == id && !person.is_you)?;
    let role_change = if person.read_only {
        PickerItem {
            label: "Let them edit".into(),
            command: AppCommand::Host(HostCommand::SetRole {
                participant: id,
                role: Role::Editor,
            }),
        }
    } else {
        PickerItem {
            label: "Make read-only".into(),
            command: AppCommand::Host(HostCommand::SetRole {
                participant: id,
                role: Role::ReadOnly,
            }),
        }
    };
    let items = vec![
        PickerItem {
            label: "Follow them".into(),
            command: AppCommand::Follow(id),
        },
        role_change,
        if person.terminal_writer {
            PickerItem {
                label: "Stop them typing in shared terminals".into(),
                command: AppCommand::Host(HostCommand::SetTerminalWriter {
                    participant: id,
                    allowed: false,
                }),
            }
        } else {
            PickerItem {
                label: "Let them type in shared terminals (they run commands as you on this machine; hidden-file rules do not apply in a shell)".into(),
                command: AppCommand::Host(HostCommand::SetTerminalWriter {
                    participant: id,
                    allowed: true,
                }),
            }
        },
        PickerItem {
            label: "Remove from the session (new keys for everyone else; their link stops working)"
                .into(),
            command: AppCommand::Host(HostCommand::Remove { participant: id }),
        },
    ];
    Some(Picker::menu(PERSON_MENU, &person.name, items, ""))
}

/// The session card: the link to share (host only), the verification code, and how to
/// copy the link.
#[derive(Debug, Clone)]
pub struct SessionCard {
    pub link: Option<String>,
    pub verification_code: String,
    /// The command that joins with OpenSSH alone, when the relay is an SSH jump host; more
    /// lines after it are shown beside it (the host key's fingerprint).
    pub ssh: Option<String>,
}

impl SessionCard {
    pub const ID: &'static str = "session-card";
}

impl Component for SessionCard {
    fn handle_event(&mut self, event: &Event, cx: &mut Context<'_>) -> EventResult {
        let close = || EventResult::Consumed(Some(close_layer(SessionCard::ID)));
        match event {
            Event::Key(key) => {
                if let (KeyCode::Char('c') | KeyCode::Enter, Some(link)) = (key.code, &self.link) {
                    cx.commands
                        .push(UiCommand::App(AppCommand::CopyToClipboard(link.clone())));
                    cx.commands.push(UiCommand::Notice(
                        "copied the link to your clipboard (through the terminal, OSC 52)".into(),
                    ));
                }
                // The ssh command wraps on the card: copied, it pastes as one line.
                let command = self.ssh.as_deref().and_then(|ssh| ssh.lines().next());
                if let (KeyCode::Char('s'), Some(command)) = (key.code, command) {
                    cx.commands.push(UiCommand::App(AppCommand::CopyToClipboard(
                        command.to_owned(),
                    )));
                    cx.commands.push(UiCommand::Notice(
                        "copied the ssh command to your clipboard (through the terminal, OSC 52)"
                            .into(),
                    ));
                }
                close()
            }
            Event::Paste(_) | Event::Mouse(_) => EventResult::Consumed(None),
            Event::Resize(..) => EventResult::Ignored(None),
        }
    }

    fn render(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>) {
        let theme = cx.theme;
        let style = theme.get("ui.popup");
        let strong = style.add_modifier(Modifier::BOLD);
        let mut lines = Vec::new();
        if let Some(link) = &self.link {
            lines.push(Line::styled(
                "Share this link with the people you invite:",
                style,
            ));
            lines.push(Line::styled(link.clone(), strong));
            lines.push(Line::raw(""));
        }
        if let Some(ssh) = &self.ssh {
            lines.push(Line::styled(
                "Or, with nothing but OpenSSH (any machine, end to end encrypted):",
                style,
            ));
            // The command, then what to compare it with (the host key's fingerprint).
            let mut parts = ssh.lines();
            lines.push(Line::styled(
                format!("ssh: {}", parts.next().unwrap_or_default()),
                strong,
            ));
            lines.extend(parts.map(|part| Line::styled(part.to_owned(), style)));
            lines.push(Line::raw(""));
        }
        lines.push(Line::from(vec![
            Span::styled("Verification code: ", style),
            Span::styled(self.verification_code.clone(), strong),
        ]));
        lines.push(Line::styled(
            "Compare it with the others out of band (a call, a chat): equal codes mean \
             nobody in the middle changed the link's key.",
            style,
        ));
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            match (&self.link, &self.ssh) {
                (Some(_), Some(_)) => {
                    "enter or c: copy the link · s: copy the ssh command · any other key: close"
                }
                (Some(_), None) => {
                    "enter or c: copy the link to the clipboard · any other key: close"
                }
                (None, _) => "any key: close",
            },
            theme.get("ui.text.inactive").patch(style),
        ));
        // As wide as the link when the terminal allows, so it stays on one row to select.
        let wanted = self
            .link
            .as_ref()
            .map_or(100, |link| (link.chars().count() as u16 + 4).max(100));
        let width = area.width.saturating_sub(2).clamp(20, wanted);
        let text_width = width.saturating_sub(2).max(1) as usize;
        let rows: usize = lines
            .iter()
            .map(|line| line.width().max(1).div_ceil(text_width))
            .sum();
        let popup = centered(area, width, rows as u16 + 2);
        Clear.render(popup, buf);
        let title = if self.link.is_some() {
            " Session (alt-l) "
        } else {
            " Verification (alt-l) "
        };
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(
                Block::bordered()
                    .border_type(BorderType::Rounded)
                    .title(title)
                    .style(style),
            )
            .render(popup, buf);
    }

    fn id(&self) -> &'static str {
        Self::ID
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: ParticipantId, name: &str, read_only: bool, is_you: bool) -> PersonView {
        PersonView {
            id,
            name: name.into(),
            color: 1,
            file: Some("src/main.rs".into()),
            following: None,
            read_only,
            terminal_writer: false,
            is_host: false,
            is_you,
            latency_ms: None,
        }
    }

    #[test]
    fn the_people_menu_lists_who_waits_first_and_never_the_host_themself() {
        let pending = [JoinRequest {
            participant: 9,
            name: "mallory".into(),
        }];
        let people = [person(1, "me", false, true), person(2, "ada", true, false)];
        let menu = people_menu(&pending, &people, &[]);
        assert_eq!(
            menu.matched_labels(),
            [
                "mallory  (asks to join)",
                "ada  (read-only, in src/main.rs)"
            ]
        );
    }

    #[test]
    fn changed_ignore_files_are_kept_by_default_and_adoptable_from_the_people_menu() {
        let changed = [".gitignore".to_owned()];
        let prompt = ignore_files_prompt(&changed);
        let labels = prompt.matched_labels();
        assert!(labels[0].starts_with("Keep hiding"), "{labels:?}");
        assert!(
            labels[1].starts_with("Adopt .gitignore as it is now"),
            "{labels:?}"
        );
        let menu = people_menu(&[], &[], &changed);
        assert_eq!(menu.matched_labels().len(), 1);
        assert!(menu.matched_labels()[0].starts_with("Adopt .gitignore"));
        assert!(people_menu(&[], &[], &[]).matched_labels().is_empty());
    }

    #[test]
    fn a_person_menu_offers_the_role_they_do_not_have() {
        let people = [
            person(2, "ada", true, false),
            person(3, "bob", false, false),
        ];
        let ada = person_menu(2, &[], &people).expect("ada is here");
        assert_eq!(
            ada.matched_labels()
                .iter()
                .filter(|l| l.contains("edit") || l.contains("read-only"))
                .count(),
            1
        );
        assert!(ada.matched_labels().contains(&"Let them edit"));
        let bob = person_menu(3, &[], &people).expect("bob is here");
        assert!(bob.matched_labels().contains(&"Make read-only"));
        assert!(
            person_menu(1, &[], &people).is_none(),
            "gone people have no menu"
        );
    }
}
