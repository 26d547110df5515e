//! The session's side of shared terminals: what to send for them and what arrives for
//! them (the state itself is `client::terminals`).

use super::*;
use crate::client::terminals::ClientTerminals;
use crate::protocol::message::{TerminalId, TerminalMessage};

impl Session {
    /// Starts showing terminal `id`: the host sends its screen, then its output.
    pub fn watch_terminal(&mut self, id: TerminalId) {
        let outgoing = self.terminals.watch(id);
        self.send_terminal(outgoing);
    }

    /// Whether we may type in terminals (the host has the final word).
    pub fn may_type_in_terminals(&self) -> bool {
        self.me.role == Role::Host || self.terminals.writers.contains(&self.me.participant)
    }

    /// Sends keystrokes to terminal `id`; refused here if the host has not let us type.
    pub fn terminal_input(&mut self, id: TerminalId, bytes: &[u8]) -> Result<(), String> {
        if !self.may_type_in_terminals() {
            return Err("read-only: the host has not let you type in terminals".into());
        }
        self.send_terminal(ClientTerminals::input(id, bytes));
        Ok(())
    }

    /// The host's own user: starts a terminal (`command` by `sh -c`, else its shell).
    pub fn open_terminal(&mut self, name: &str, command: Option<String>) {
        self.send_terminal(vec![TerminalMessage::Open {
            name: name.to_owned(),
            command,
        }]);
    }

    /// The host's own user: its pane's size is the terminal's size.
    pub fn resize_terminal(&mut self, id: TerminalId, cols: u16, rows: u16) {
        let view = self.terminals.list.get(&id);
        if view.is_some_and(|view| (view.cols, view.rows) != (cols, rows)) {
            self.send_terminal(vec![TerminalMessage::Resize { id, cols, rows }]);
        }
    }

    /// The host's own user: ends a terminal's program.
    pub fn close_terminal(&mut self, id: TerminalId) {
        self.send_terminal(vec![TerminalMessage::Close { id }]);
    }

    pub(super) fn send_terminal(&mut self, messages: Vec<TerminalMessage>) {
        for message in messages {
            // Frames that came together are acknowledged together: the last `Seen` says
            // all of them.
            if let TerminalMessage::Seen { id, .. } = message
                && let Some((_, Message::Terminal(TerminalMessage::Seen { id: queued, .. }))) =
                    self.outbox.back()
                && *queued == id
            {
                self.outbox.pop_back();
            }
            self.outbox
                .push_back((Route::Host, Message::Terminal(message)));
        }
    }

    pub(super) fn on_terminal(&mut self, from: ParticipantId, message: TerminalMessage) {
        if from != HOST_ID {
            return;
        }
        if let TerminalMessage::InputRefused { id, reason } = &message {
            self.events.push_back(SessionEvent::TerminalRefused {
                id: *id,
                reason: reason.clone(),
            });
            return;
        }
        let id = match &message {
            TerminalMessage::Opened { id, .. }
            | TerminalMessage::Output { id, .. }
            | TerminalMessage::Resync { id, .. }
            | TerminalMessage::Resized { id, .. }
            | TerminalMessage::Typing { id, .. }
            | TerminalMessage::Closed { id, .. }
            | TerminalMessage::Snapshot { id, .. } => Some(*id),
            _ => None,
        };
        let outgoing = self.terminals.on_message(message);
        self.send_terminal(outgoing);
        self.events.push_back(SessionEvent::Terminal { id });
    }
}
