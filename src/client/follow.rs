//! Following another participant, as plain state the UI renders and the event loop
//! consults: whom we follow, whom we wait to follow until they join, and where a leader
//! went in a file that is still being opened here.
//!
//! Like zed's followable views: a leader's presence says where they are (file, selection,
//! first line shown); the follower's view goes there; any move of the follower's own stops
//! following. This module holds no terminal code and sends nothing: telling the relay
//! (`ToRelay::Follow`) and moving the view are the caller's.

use crate::protocol::ParticipantId;
use crate::protocol::message::{Member, Presence, Role};

/// Whom to follow once they are in the session.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Wanted {
    /// The host (`follow_host_on_join`, the default).
    Host,
    /// The person of this name (`cotype join --follow NAME`).
    Named(String),
    /// Nobody, or nobody any more: someone is followed already, or was chosen.
    #[default]
    Nobody,
}

/// Where a leader is: a file, their selection in it (char indices), the first line shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderPlace {
    pub path: String,
    pub anchor: usize,
    pub head: usize,
    pub scroll_line: usize,
}

impl LeaderPlace {
    /// Where `presence` puts its sender, with their selection as carried over the edits
    /// since it was sent (`carried`: a file and a selection) when it is in the same file.
    pub fn of(presence: &Presence, carried: Option<(&str, (usize, usize))>) -> Option<Self> {
        let path = presence.path.clone()?;
        let (anchor, head) = match carried {
            Some((at, selection)) if at == path => selection,
            _ => presence.selections.first().copied().unwrap_or((0, 0)),
        };
        Some(Self {
            path,
            anchor,
            head,
            scroll_line: presence.scroll_line,
        })
    }
}

/// Who we follow, and what waits for following to go on.
#[derive(Debug, Default)]
pub struct Follow {
    leader: Option<ParticipantId>,
    /// How to find the leader again after their connection drops: they come back under a
    /// new id, with the same name and role.
    leader_is: Wanted,
    wanted: Wanted,
    /// A leader's place in a file we asked the session to open.
    pending: Option<LeaderPlace>,
}

impl Follow {
    /// Following nobody yet; `wanted` once they are in the session.
    pub fn new(wanted: Wanted) -> Self {
        Self {
            wanted,
            ..Self::default()
        }
    }

    /// Whom we follow.
    pub fn leader(&self) -> Option<ParticipantId> {
        self.leader
    }

    /// Follows `leader` from now on; whoever we waited for is no longer awaited. False if
    /// we followed them already.
    pub fn start(&mut self, leader: ParticipantId) -> bool {
        self.wanted = Wanted::Nobody;
        self.leader.replace(leader) != Some(leader)
    }

    /// Stops following, and waiting to follow: the user moved on their own (opened a
    /// file, moved the cursor), so a leader arriving later must not take the view away.
    /// Whom we followed, if anyone.
    pub fn stop(&mut self) -> Option<ParticipantId> {
        self.wanted = Wanted::Nobody;
        self.leader_is = Wanted::Nobody;
        self.pending = None;
        self.leader.take()
    }

    /// The members are now `members`. While the leader is among them, remembers who they
    /// are; once they are gone (a dropped connection, or they left), waits for them as
    /// `--follow NAME` waits (the host as the host), so a leader back under a new id is
    /// followed again. The leader's name, when they just went.
    pub fn track_leader<'a>(
        &mut self,
        members: impl IntoIterator<Item = &'a Member>,
    ) -> Option<String> {
        let leader = self.leader?;
        match members.into_iter().find(|m| m.participant == leader) {
            Some(member) => {
                self.leader_is = match member.role {
                    Role::Host => Wanted::Host,
                    Role::Editor | Role::ReadOnly => Wanted::Named(member.name.clone()),
                };
                None
            }
            None => {
                self.leader = None;
                self.pending = None;
                self.wanted = std::mem::take(&mut self.leader_is);
                match &self.wanted {
                    Wanted::Host => Some("the host".to_owned()),
                    Wanted::Named(name) => Some(name.clone()),
                    Wanted::Nobody => None,
                }
            }
        }
    }

    /// A leader was chosen (by the user, or the host asked everyone): waiting for the
    /// person asked for on the command line ends.
    pub fn chosen(&mut self) {
        self.wanted = Wanted::Nobody;
    }

    /// The name of the person we wait for, if it is someone by name.
    pub fn waiting_for(&self) -> Option<&str> {
        match &self.wanted {
            Wanted::Named(name) => Some(name),
            Wanted::Host | Wanted::Nobody => None,
        }
    }

    /// The one we wait for, if they are among `members` now (never `me`). The host is the
    /// host's own user when its editor is in, else the serving process.
    pub fn arrived<'a>(
        &self,
        members: impl IntoIterator<Item = &'a Member>,
        me: ParticipantId,
    ) -> Option<ParticipantId> {
        let mut others = members
            .into_iter()
            .filter(|member| member.participant != me);
        match &self.wanted {
            Wanted::Nobody => None,
            Wanted::Host => others.find(|member| member.role == Role::Host),
            Wanted::Named(name) => others.find(|member| member.name == *name),
        }
        .map(|member| member.participant)
    }

    /// The leader is in a file not open here yet: go to `place` once it is.
    pub fn pend(&mut self, place: LeaderPlace) {
        self.pending = Some(place);
    }

    /// The leader's place in `path`, if we were waiting for that file to open.
    pub fn take_pending(&mut self, path: &str) -> Option<LeaderPlace> {
        self.pending.take_if(|place| place.path == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(participant: ParticipantId, name: &str, role: Role) -> Member {
        Member {
            participant,
            name: name.into(),
            role,
            color: 0,
        }
    }

    #[test]
    fn waits_for_the_host_or_the_person_named_and_never_follows_itself() {
        let members = [
            member(0, "ada", Role::Host),
            member(1, "bob", Role::Editor),
            member(2, "ada", Role::Editor),
        ];
        assert_eq!(Follow::new(Wanted::Host).arrived(&members, 1), Some(0));
        assert_eq!(Follow::new(Wanted::Host).arrived(&members, 0), None);
        let bob = Follow::new(Wanted::Named("bob".into()));
        assert_eq!(bob.waiting_for(), Some("bob"));
        assert_eq!(bob.arrived(&members, 0), Some(1));
        assert_eq!(bob.arrived(&members, 1), None);
        assert_eq!(
            Follow::new(Wanted::Named("ada".into())).arrived(&members, 0),
            Some(2)
        );
        assert_eq!(Follow::new(Wanted::Nobody).arrived(&members, 1), None);
    }

    #[test]
    fn starting_ends_the_wait_and_stopping_says_whom() {
        let mut follow = Follow::new(Wanted::Named("bob".into()));
        assert!(follow.start(3));
        assert!(!follow.start(3));
        assert_eq!(follow.waiting_for(), None);
        assert_eq!(follow.leader(), Some(3));
        assert_eq!(follow.stop(), Some(3));
        assert_eq!(follow.stop(), None);
    }

    #[test]
    fn a_leader_back_under_a_new_id_is_followed_again() {
        let mut follow = Follow::default();
        follow.start(2);
        let before = [member(0, "ada", Role::Host), member(2, "bob", Role::Editor)];
        assert_eq!(follow.track_leader(&before), None);
        // Bob's connection dropped: he is gone, then back as participant 5.
        assert_eq!(follow.track_leader(&before[..1]), Some("bob".into()));
        assert_eq!(follow.leader(), None);
        assert_eq!(follow.waiting_for(), Some("bob"));
        let after = [member(0, "ada", Role::Host), member(5, "bob", Role::Editor)];
        assert_eq!(follow.arrived(&after, 7), Some(5));
        // The host's own user comes back as the host, whatever their name.
        let mut follow = Follow::default();
        follow.start(0);
        follow.track_leader(&before);
        assert_eq!(follow.track_leader(&before[1..]), Some("the host".into()));
        assert_eq!(follow.arrived(&[member(9, "ada", Role::Host)], 2), Some(9));
        // Having stopped by hand, nobody is awaited when the old leader goes.
        let mut follow = Follow::default();
        follow.start(2);
        follow.track_leader(&before);
        follow.stop();
        assert_eq!(follow.track_leader(&before[..1]), None);
        assert_eq!(follow.arrived(&after, 7), None);
    }

    #[test]
    fn moving_by_hand_before_the_host_arrives_ends_the_wait() {
        let host = [member(0, "ada", Role::Host)];
        let mut follow = Follow::new(Wanted::Host);
        assert_eq!(follow.stop(), None);
        assert_eq!(follow.arrived(&host, 1), None);
    }

    #[test]
    fn a_pending_place_waits_for_its_own_file() {
        let mut follow = Follow::default();
        let place = LeaderPlace {
            path: "src/lib.rs".into(),
            anchor: 3,
            head: 5,
            scroll_line: 1,
        };
        follow.pend(place.clone());
        assert_eq!(follow.take_pending("src/main.rs"), None);
        assert_eq!(follow.take_pending("src/lib.rs"), Some(place));
        assert_eq!(follow.take_pending("src/lib.rs"), None);
    }

    #[test]
    fn a_leaders_place_uses_their_carried_selection_in_the_same_file() {
        let presence = Presence {
            seq: 1,
            path: Some("a.rs".into()),
            revision: 0,
            selections: vec![(4, 6)],
            scroll_line: 2,
            following: None,
            latency_ms: None,
            terminal: None,
        };
        let place = |carried| LeaderPlace::of(&presence, carried).unwrap();
        assert_eq!((place(None).anchor, place(None).head), (4, 6));
        let carried = place(Some(("a.rs", (9, 9))));
        assert_eq!(
            (carried.anchor, carried.head, carried.scroll_line),
            (9, 9, 2)
        );
        assert_eq!(place(Some(("b.rs", (9, 9)))).anchor, 4);
        let nowhere = Presence {
            path: None,
            ..presence.clone()
        };
        assert_eq!(LeaderPlace::of(&nowhere, None), None);
    }
}
