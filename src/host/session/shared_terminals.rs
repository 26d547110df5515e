//! Shared terminals in the session: members' terminal messages, the host user's terminal
//! commands, and what a joiner or a departure changes (see `host::terminals`).

use super::*;
use crate::protocol::message::TerminalMessage;

impl HostSession {
    /// Starts a shared terminal before the session runs (`cotype host --terminal`).
    pub async fn open_terminal(&mut self, command: Option<String>) -> anyhow::Result<()> {
        let root = self.workspace.root().to_path_buf();
        let sender = self.sender();
        self.terminals.open(None, command, &root, &sender).await?;
        Ok(())
    }

    /// A terminal message from an admitted member; the terminals decide what it may do.
    pub(super) async fn on_terminal(
        &mut self,
        from: ParticipantId,
        message: TerminalMessage,
    ) -> anyhow::Result<()> {
        if !self.participants.get(&from).is_some_and(|p| p.admitted) {
            tracing::warn!(
                participant = from,
                "terminal message before admission ignored"
            );
            return Ok(());
        }
        let sender = self.sender();
        let root = self.workspace.root().to_path_buf();
        let answers = self
            .terminals
            .on_message(from, self.owner, message, &root, &sender)
            .await;
        for (route, answer) in answers {
            sender.send(route, &Message::Terminal(answer)).await?;
        }
        Ok(())
    }

    /// Tells a newcomer which terminals are open and who may type.
    pub(super) async fn announce_terminals(
        &mut self,
        participant: ParticipantId,
    ) -> anyhow::Result<()> {
        let sender = self.sender();
        for message in self.terminals.announcements() {
            sender
                .send(Route::Participant(participant), &Message::Terminal(message))
                .await?;
        }
        Ok(())
    }

    /// A member left or was removed: its grant to type ends with it.
    pub(super) async fn end_terminal_grant(
        &mut self,
        participant: ParticipantId,
    ) -> anyhow::Result<()> {
        if let Some(grants) = self.terminals.member_gone(participant) {
            self.sender()
                .send(Route::Everyone, &Message::Terminal(grants))
                .await?;
        }
        Ok(())
    }

    /// The host user's terminal commands.
    pub(super) async fn on_terminal_command(&mut self, command: HostCommand) -> anyhow::Result<()> {
        let sender = self.sender();
        match command {
            HostCommand::OpenTerminal { name, command } => {
                let root = self.workspace.root().to_path_buf();
                match self.terminals.open(name, command, &root, &sender).await {
                    Ok(id) => self.tell(HostEvent::TerminalOpened { id }),
                    Err(error) => self.tell(HostEvent::TerminalFailed {
                        message: error.to_string(),
                    }),
                }
            }
            HostCommand::CloseTerminal { id } => match self.terminals.close(id) {
                Some(name) => self.tell(HostEvent::TerminalEnding { id, name }),
                None => self.tell(HostEvent::TerminalFailed {
                    message: format!("no shared terminal {id} is running"),
                }),
            },
            HostCommand::SetTerminalWriter {
                participant,
                allowed,
            } => {
                let Some(member) = self
                    .participants
                    .get(&participant)
                    .filter(|p| p.admitted)
                    .map(|p| p.member.clone())
                else {
                    self.tell(HostEvent::TerminalFailed {
                        message: format!("nobody with id {participant} is in the session"),
                    });
                    return Ok(());
                };
                let grants = self.terminals.set_writer(participant, allowed);
                sender
                    .send(Route::Everyone, &Message::Terminal(grants))
                    .await?;
                self.tell(HostEvent::TerminalWriter { member, allowed });
            }
            _ => {}
        }
        Ok(())
    }
}
