//! The host's own UI: its controls to the serving task (admit, roles, remove, follow me,
//! end) and what the serving task reports to its user.

use std::time::Duration;

use super::event_loop::ParticipantLoop;
use crate::host_control::{HostCommand, HostEvent};
use crate::protocol::message::Role;
use crate::tui::host_controls::JoinRequest;
use crate::tui::status::Level;

/// The host's side of the loop: its commands to the serving task, and what it reports.
pub(super) struct HostSide {
    pub(super) commands: tokio::sync::mpsc::Sender<HostCommand>,
    pub(super) events: tokio::sync::mpsc::UnboundedReceiver<HostEvent>,
    pub(super) serving: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// `HostedSession::ssh_command`.
    pub(super) ssh_command: Option<super::entry::SshCommandFor>,
}

impl HostSide {
    /// Ends the session for everyone and lets the serving task say goodbye to the relay.
    pub(super) async fn end(self) {
        let _ = self.commands.send(HostCommand::End).await;
        match tokio::time::timeout(Duration::from_secs(3), self.serving).await {
            Ok(Ok(Err(error))) => tracing::warn!("the host stopped with an error: {error:#}"),
            Ok(_) => {}
            Err(_) => tracing::warn!("the host did not stop within 3 s"),
        }
    }
}

/// The host's next report, or its end; pending forever in a participant's loop.
pub(super) async fn next_host_event(
    host: &mut Option<HostSide>,
) -> Result<HostEvent, anyhow::Error> {
    let Some(host) = host else {
        return std::future::pending().await;
    };
    tokio::select! {
        Some(event) = host.events.recv() => Ok(event),
        served = &mut host.serving => Err(match served {
            Ok(Ok(())) => anyhow::anyhow!("the session ended"),
            Ok(Err(error)) => error,
            Err(panic) => anyhow::anyhow!("the host stopped: {panic}"),
        }),
    }
}

impl ParticipantLoop {
    /// Carries out what the host's user chose in the UI (follow me, admit, refuse, roles,
    /// remove): the app's own bookkeeping, then the command to the serving task.
    pub(super) async fn host_control(&mut self, command: HostCommand) {
        let confirmation = match &command {
            HostCommand::FollowMe if self.host.is_none() => {
                self.app.message(
                    Level::Info,
                    "only the host can ask everyone to follow; follow someone with the people list",
                );
                return;
            }
            HostCommand::FollowMe => Some("asked everyone to follow you"),
            HostCommand::Admit { participant, .. } => {
                self.app.join_answered(*participant);
                None
            }
            HostCommand::Refuse { participant } => {
                self.app.join_answered(*participant);
                Some("refused")
            }
            _ => None,
        };
        self.host_command(command).await;
        if let Some(confirmation) = confirmation {
            self.app.message(Level::Info, confirmation);
        }
    }

    /// The host's answer to the prompt about changed ignore files: adopting them is a host
    /// control; keeping what they hid at the start changes nothing on the host.
    pub(super) async fn ignore_files_answered(&mut self, adopt: bool) {
        if !adopt {
            self.app.message(
                Level::Info,
                "kept: files hidden at the start stay hidden (alt-m can still adopt the change)",
            );
            return;
        }
        let paths = self.app.ignore_files_adopted().join(", ");
        self.host_command(HostCommand::AdoptIgnoreFiles).await;
        self.app.message(
            Level::Warning,
            format!("adopted {paths}: the files it no longer hides are visible to everyone"),
        );
    }

    /// Passes a host control to the serving task (the host's UI only).
    pub(super) async fn host_command(&mut self, command: HostCommand) {
        match &self.host {
            Some(host) => {
                if host.commands.send(command).await.is_err() {
                    self.app
                        .message(Level::Error, "the session is no longer being served");
                }
            }
            None => self.app.message(
                Level::Info,
                "only the host admits, changes roles or removes people",
            ),
        }
    }

    /// The host asked to quit and the session says what quitting would lose: quit at once
    /// if nothing, else ask again.
    fn confirm_quit(&mut self, paths: &[String]) {
        let others = self.session.members.len().saturating_sub(1);
        if paths.is_empty() && others == 0 {
            self.quit = true;
            return;
        }
        self.quit_armed = true;
        let mut lost = Vec::new();
        if others > 0 {
            lost.push(format!("ends the session for {others} other(s)"));
        }
        if !paths.is_empty() {
            lost.push(format!("loses unsaved {}", paths.join(", ")));
        }
        self.app.message(
            Level::Warning,
            format!("quitting {}: quit again to confirm", lost.join(" and ")),
        );
    }

    /// What the serving task reports to the host's user.
    pub(super) fn host_event(&mut self, event: HostEvent) {
        self.dirty = true;
        match event {
            HostEvent::JoinRequest { participant, name } => {
                self.app.join_requested(JoinRequest { participant, name });
            }
            HostEvent::MemberJoined(member)
                if member.participant != self.session.me.participant =>
            {
                self.app.join_answered(member.participant);
                let role = role_words(member.role);
                self.app
                    .message(Level::Info, format!("{} joined as {role}", member.name));
            }
            HostEvent::MemberJoined(_) => {}
            HostEvent::MemberLeft(member) => {
                self.app.join_answered(member.participant);
            }
            HostEvent::RoleChanged(member) => {
                let role = role_words(member.role);
                let name = self.app.person_name(member.participant);
                self.app
                    .message(Level::Info, format!("{name} is now {role}"));
            }
            HostEvent::Rekeyed {
                link,
                verification_code,
            } => {
                let ssh = self
                    .host
                    .as_ref()
                    .and_then(|side| side.ssh_command.as_ref())
                    .and_then(|ssh| ssh(&link));
                self.app
                    .set_session_card(Some(link), verification_code.clone());
                self.app.set_ssh_command(ssh);
                self.app.message(
                    Level::Warning,
                    format!(
                        "removed; keys rotated, the old link no longer works: alt-l shows the new one (code {verification_code})"
                    ),
                );
            }
            HostEvent::Unsaved { paths } => self.confirm_quit(&paths),
            HostEvent::IgnoreFilesChanged { paths } => self.app.ignore_files_changed(paths),
            HostEvent::TerminalOpened { id } => self.terminal_pane_show(id),
            HostEvent::TerminalFailed { message } => self.app.message(Level::Error, message),
            // The editor said so when asked; everyone hears `Closed` when it has ended.
            HostEvent::TerminalEnding { .. } => {}
            HostEvent::TerminalWriter { member, allowed } => {
                let message = if allowed {
                    format!(
                        "{} may type in shared terminals: they run commands as you on this machine",
                        member.name
                    )
                } else {
                    format!("{} may no longer type in shared terminals", member.name)
                };
                self.app.message(Level::Warning, message);
            }
            HostEvent::Ended => self.quit = true,
        }
    }
}

/// A role as the host's messages say it ("bob is now read-only").
fn role_words(role: Role) -> &'static str {
    match role {
        Role::ReadOnly => "read-only",
        Role::Editor => "an editor",
        Role::Host => "the host",
    }
}
