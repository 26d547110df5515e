//! The people in the session: hellos, admission, roles, the host user's commands about
//! people, and removal with its key rotation.

use super::*;
use crate::host_control::SshGuest;

/// Distinct participant colors; indexes into the theme's palette.
const PALETTE_SIZE: u8 = 8;

pub(super) struct ParticipantState {
    pub(super) member: Member,
    pub(super) admitted: bool,
    /// From the encrypted hello: where to wrap the next epoch's secret.
    pub(super) public_key: [u8; 32],
    /// Documents this participant opened and did not close.
    pub(super) open: std::collections::BTreeSet<String>,
    /// The path of their last presence.
    pub(super) viewing: Option<String>,
    /// How many bytes of edits they may still send now.
    pub(super) edit_rate: crate::host::rate::ByteRate,
    /// Their requests the host is still answering.
    pub(super) in_flight: crate::host::rate::InFlight,
}

/// A member whose connection dropped (not one removed): what it takes to give its place
/// back to a hello proving it is them (`Hello::rejoin`).
pub(super) struct Departed {
    public_key: [u8; 32],
    role: Role,
    color: u8,
    left: std::time::Instant,
}

/// How long a member who dropped keeps its place (a laptop closed over lunch included).
const DEPARTED_KEPT: Duration = Duration::from_secs(60 * 60);
/// Departed members remembered at most; the oldest go first.
const DEPARTED_MAX: usize = 1024;

impl HostSession {
    /// Tells the host's user `event`, with `HostControl::people` already saying who is in
    /// the session after it.
    pub(super) fn tell(&self, event: HostEvent) {
        self.publish_people();
        let _ = self.events.send(event);
    }

    /// Tells the host's user who is in the session now (`HostControl::people`).
    pub(super) fn publish_people(&self) {
        let host = Person {
            member: Member {
                participant: HOST_ID,
                name: self.name.clone(),
                role: Role::Host,
                color: 0,
            },
            admitted: true,
            open: Vec::new(),
            viewing: None,
        };
        // The host's own user, when present, stands for the host (as in `members`).
        let owner_present = self
            .owner
            .is_some_and(|owner| self.participants.contains_key(&owner));
        let people = (!owner_present)
            .then_some(host)
            .into_iter()
            .chain(self.participants.values().map(|p| Person {
                member: p.member.clone(),
                admitted: p.admitted,
                open: p.open.iter().cloned().collect(),
                viewing: p.viewing.clone(),
            }))
            .collect();
        self.people.send_if_modified(|now| {
            let changed = *now != people;
            *now = people;
            changed
        });
    }

    pub(super) async fn on_hello(
        &mut self,
        from: ParticipantId,
        hello: Hello,
    ) -> anyhow::Result<()> {
        if self.participants.get(&from).is_some_and(|p| p.admitted) {
            return Ok(());
        }
        let is_owner = match hello.owner_proof {
            Some(proof) if self.owner_key.verify(&self.link.session, from, &proof) => true,
            Some(_) => {
                tracing::warn!(
                    participant = from,
                    "a hello claimed to be the host's own user with a wrong proof; treated as anyone else"
                );
                false
            }
            None => false,
        };
        let returning = match &hello.rejoin {
            Some(rejoin) if !is_owner => self.returning(from, rejoin, &hello.public_key),
            _ => None,
        };
        let color = match &returning {
            // The host's color, as when the host is headless.
            _ if is_owner => 0,
            Some(back) if !self.color_taken(back.color) => back.color,
            _ => self.free_color(),
        };
        let member = Member {
            participant: from,
            name: display_name(&hello.name, from),
            role: if is_owner { Role::Host } else { Role::Editor },
            color,
        };
        self.participants.insert(
            from,
            ParticipantState {
                member: member.clone(),
                admitted: false,
                public_key: hello.public_key,
                open: Default::default(),
                viewing: None,
                edit_rate: Default::default(),
                in_flight: Default::default(),
            },
        );
        if is_owner {
            self.owner = Some(from);
            return self.admit(from, Role::Host).await;
        }
        if let Some(back) = returning {
            // Admitted before, with this role: back without asking the host's user again,
            // and a read-only member stays read-only.
            tracing::info!(
                participant = from,
                "a member is back after a dropped connection"
            );
            return self.admit(from, back.role).await;
        }
        // A guest of our own SSH server: its key was proven there, in this process.
        let ssh = self.ssh_guests.get(&hello.public_key);
        if ssh.as_ref().is_some_and(|guest| guest.authorized) {
            tracing::info!(participant = from, "an SSH guest with a listed key joins");
            return self.admit(from, Role::Editor).await;
        }
        match self.approval {
            Approval::Auto => self.admit(from, Role::Editor).await,
            Approval::Ask => {
                tracing::info!(participant = from, "{} asks to join", member.name);
                let name = match ssh {
                    Some(SshGuest {
                        fingerprint: Some(key),
                        ..
                    }) => format!("{} (over SSH, key {key})", member.name),
                    Some(_) => format!("{} (over SSH, no key)", member.name),
                    None => member.name,
                };
                self.tell(HostEvent::JoinRequest {
                    participant: from,
                    name,
                });
                // A pending joiner hears only the host: tell it why nothing happens yet.
                self.sender()
                    .send(
                        Route::Participant(from),
                        &Message::Event(Event::AwaitingAdmission),
                    )
                    .await?;
                Ok(())
            }
        }
    }

    pub(super) async fn admit(
        &mut self,
        participant: ParticipantId,
        role: Role,
    ) -> anyhow::Result<()> {
        let Some(waiting) = self.participants.get_mut(&participant) else {
            return Ok(());
        };
        waiting.admitted = true;
        waiting.member.role = role;
        let member = waiting.member.clone();
        tracing::info!(participant, "{} joined", member.name);
        let sender = self.sender();
        sender.control(&ToRelay::Admit { participant }).await?;
        let welcome = Welcome {
            you: member.clone(),
            members: self.members(),
            host_public_key: self.key_pair.public(),
        };
        sender
            .send(Route::Participant(participant), &Message::Welcome(welcome))
            .await?;
        sender
            .send(
                Route::Everyone,
                &Message::Event(Event::MemberJoined(member.clone())),
            )
            .await?;
        self.tell(HostEvent::MemberJoined(member));
        self.announce_terminals(participant).await?;
        // The newcomer has no presence of ours yet.
        self.share_latency().await
    }

    /// Carries out the host user's command; returns false when the session ended.
    pub(super) async fn on_command(&mut self, command: HostCommand) -> anyhow::Result<bool> {
        let sender = self.sender();
        if let HostCommand::SetRole { participant, .. } | HostCommand::Remove { participant } =
            command
            && Some(participant) == self.owner
        {
            tracing::warn!("the host's own user keeps its role and cannot be removed");
            return Ok(true);
        }
        match command {
            HostCommand::Admit { participant, role } => self.admit(participant, role).await?,
            HostCommand::Refuse { participant } => {
                self.participants.remove(&participant);
                sender.control(&ToRelay::Refuse { participant }).await?;
            }
            HostCommand::SetRole { participant, role } => {
                if let Some(p) = self
                    .participants
                    .get_mut(&participant)
                    .filter(|p| p.admitted)
                {
                    p.member.role = role;
                    let member = p.member.clone();
                    sender
                        .send(
                            Route::Everyone,
                            &Message::Event(Event::RoleChanged { participant, role }),
                        )
                        .await?;
                    self.tell(HostEvent::RoleChanged(member));
                }
            }
            HostCommand::Remove { participant } => self.remove_and_rekey(participant).await?,
            HostCommand::FollowMe => {
                sender
                    .send(
                        Route::Everyone,
                        &Message::Event(Event::FollowMe {
                            leader: self.owner.unwrap_or(HOST_ID),
                        }),
                    )
                    .await?;
            }
            HostCommand::CheckUnsaved => {
                let paths = self.documents.unsaved_paths();
                self.tell(HostEvent::Unsaved { paths });
            }
            HostCommand::AdoptIgnoreFiles => {
                self.workspace.adopt_ignore_files();
                sender
                    .send(Route::Everyone, &Message::Event(Event::FilesChanged))
                    .await?;
            }
            HostCommand::OpenTerminal { .. }
            | HostCommand::CloseTerminal { .. }
            | HostCommand::SetTerminalWriter { .. } => self.on_terminal_command(command).await?,
            HostCommand::End => {
                sender.control(&ToRelay::End).await?;
                self.tell(HostEvent::Ended);
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Removes a participant and moves everyone else to a new key epoch: the new secret
    /// is wrapped for each remaining member's X25519 key, the relay's admission token is
    /// rotated first (so the old link cannot slip in), and the host shows the new link.
    pub(super) async fn remove_and_rekey(
        &mut self,
        participant: ParticipantId,
    ) -> anyhow::Result<()> {
        let Some(removed) = self.participants.remove(&participant) else {
            return Ok(());
        };
        let sender = self.sender();
        sender.control(&ToRelay::Remove { participant }).await?;
        self.end_terminal_grant(participant).await?;
        let next_epoch = self.epoch + 1;
        let remaining: Vec<(ParticipantId, [u8; 32])> = self
            .participants
            .iter()
            .filter(|(_, p)| p.admitted)
            .map(|(&id, p)| (id, p.public_key))
            .collect();
        let rekey = crate::rekey::rekey(&self.key_pair, &self.link.session, next_epoch, remaining)?;
        sender
            .control(&ToRelay::RotateToken {
                verifier: rekey.verifier,
                epoch: next_epoch,
            })
            .await?;
        // Still sealed under the old epoch: only current members can open it.
        for (id, wrapped) in rekey.wrapped {
            let update = Message::KeyUpdate(crate::protocol::message::KeyUpdate {
                epoch: next_epoch,
                wrapped,
            });
            sender.send(Route::Participant(id), &update).await?;
        }
        // Waiting joiners were not wrapped for: they must come back with the new link.
        let waiting: Vec<ParticipantId> = self
            .participants
            .iter()
            .filter(|(_, p)| !p.admitted)
            .map(|(&id, _)| id)
            .collect();
        for id in waiting {
            self.participants.remove(&id);
            sender.control(&ToRelay::Refuse { participant: id }).await?;
        }
        let keys = SessionKeys::derive(&rekey.secret, &self.link.session);
        // Frames members sealed just before they switched may still be on the way: the
        // epoch before opens members' frames for a few seconds more (the removed member's
        // cannot arrive: the relay disconnected it and its token no longer admits).
        self.channel.switch_epoch(next_epoch, &keys);
        self.link.secret = rekey.secret.clone();
        self.link_now.send_replace(self.link.clone());
        self.epoch = next_epoch;
        sender
            .send(
                Route::Everyone,
                &Message::Event(Event::MemberLeft { participant }),
            )
            .await?;
        tracing::info!(
            participant,
            "removed {}; keys rotated to epoch {next_epoch}",
            removed.member.name
        );
        self.tell(HostEvent::MemberLeft(removed.member));
        self.tell(HostEvent::Rekeyed {
            link: self.link.to_url(),
            verification_code: keys.verification_code(&self.key_pair.public()),
        });
        Ok(())
    }

    /// Everyone admitted. The host appears once: as its own user when its terminal UI
    /// is in the session, else as the serving process itself.
    pub(super) fn members(&self) -> Vec<Member> {
        let host = Member {
            participant: HOST_ID,
            name: self.name.clone(),
            role: Role::Host,
            color: 0,
        };
        let owner_present = self
            .owner
            .is_some_and(|owner| self.participants.get(&owner).is_some_and(|p| p.admitted));
        (!owner_present)
            .then_some(host)
            .into_iter()
            .chain(
                self.participants
                    .values()
                    .filter(|p| p.admitted)
                    .map(|p| p.member.clone()),
            )
            .collect()
    }

    /// Remembers a member whose connection dropped, for its return.
    pub(super) fn remember_departed(
        &mut self,
        participant: ParticipantId,
        left: &ParticipantState,
    ) {
        if !left.admitted {
            return;
        }
        let now = std::time::Instant::now();
        self.departed
            .retain(|_, departed| now.duration_since(departed.left) < DEPARTED_KEPT);
        while self.departed.len() >= DEPARTED_MAX {
            let Some(oldest) = self
                .departed
                .iter()
                .min_by_key(|(_, departed)| departed.left)
                .map(|(id, _)| *id)
            else {
                break;
            };
            self.departed.remove(&oldest);
        }
        self.departed.insert(
            participant,
            Departed {
                public_key: left.public_key,
                role: left.member.role,
                color: left.member.color,
                left: now,
            },
        );
    }

    /// The place of the member `rejoin` claims to have been, if its proof holds; taken,
    /// so it is given back once.
    fn returning(
        &mut self,
        from: ParticipantId,
        rejoin: &crate::protocol::message::Rejoin,
        new_public: &[u8; 32],
    ) -> Option<Departed> {
        let departed = self.departed.get(&rejoin.previous)?;
        let proven = self.key_pair.verify_rejoin(
            &departed.public_key,
            &self.link.session,
            rejoin.previous,
            from,
            new_public,
            &rejoin.proof,
        );
        if !proven {
            tracing::warn!(
                participant = from,
                "a hello claimed another member's place with a wrong proof; treated as anyone else"
            );
            return None;
        }
        self.departed.remove(&rejoin.previous)
    }

    fn color_taken(&self, color: u8) -> bool {
        self.participants.values().any(|p| p.member.color == color)
    }

    pub(super) fn free_color(&self) -> u8 {
        let used: Vec<u8> = self.participants.values().map(|p| p.member.color).collect();
        (1..PALETTE_SIZE)
            .find(|c| !used.contains(c))
            .unwrap_or((self.participants.len() % PALETTE_SIZE as usize) as u8)
    }

    pub(super) fn role_of(&self, participant: ParticipantId) -> Option<Role> {
        self.participants
            .get(&participant)
            .filter(|p| p.admitted)
            .map(|p| p.member.role)
    }
}

/// A display name safe to show: trimmed, without control characters, bounded, never empty.
fn display_name(requested: &str, participant: ParticipantId) -> String {
    let cleaned: String = requested
        .chars()
        .filter(|c| !c.is_control())
        .take(32)
        .collect();
    let cleaned = cleaned.trim();
    if cleaned.is_empty() {
        format!("guest {participant}")
    } else {
        cleaned.to_string()
    }
}
