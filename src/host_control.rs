//! What the host's user and a running host session say to each other: the commands a
//! user gives, the events the session reports and who is in it. Both `host/` (which
//! carries them out) and the user interfaces (the host's own editor in `tui/`, the
//! headless console in `host/console.rs`) use this vocabulary, so neither needs the other.
//!
//! Both user interfaces send [`HostCommand`] itself (the editor as `AppCommand::Host`), so
//! a new control is a variant here and its handler in `HostSession::on_command`
//! (`host/session/members.rs`); the console's word for it (`console::parse`) and the
//! editor's menu entry or key (`tui/host_controls.rs`, the keymap) only produce it.

use crate::protocol::ParticipantId;
use crate::protocol::message::{Member, Role};

/// Who gets in: everyone with the link, or whoever the host admits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Approval {
    #[default]
    Auto,
    Ask,
}

/// What the host's user (or a test) tells a running session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostCommand {
    Admit {
        participant: ParticipantId,
        role: Role,
    },
    Refuse {
        participant: ParticipantId,
    },
    SetRole {
        participant: ParticipantId,
        role: Role,
    },
    /// Disconnects the participant and rotates the keys, so its link and keys stop working.
    Remove {
        participant: ParticipantId,
    },
    FollowMe,
    /// Asks which files have edits not saved to disk (answered by `HostEvent::Unsaved`):
    /// ending the session loses them.
    CheckUnsaved,
    /// Accepts the ignore files (`.gitignore`, `.ignore`) as they are now: rules someone
    /// removed from them stop hiding files. Without it, hiding only grows.
    AdoptIgnoreFiles,
    /// Starts a shared terminal in the shared folder: `command` by `sh -c`, or the
    /// user's `$SHELL`.
    OpenTerminal {
        name: Option<String>,
        command: Option<String>,
    },
    CloseTerminal {
        id: u32,
    },
    /// Lets a member type in the shared terminals (they run commands as the host's
    /// user), or stops it.
    SetTerminalWriter {
        participant: ParticipantId,
        allowed: bool,
    },
    End,
}

/// What a running session tells the host's user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostEvent {
    /// Someone with the link asks to join (`Approval::Ask`).
    JoinRequest {
        participant: ParticipantId,
        name: String,
    },
    MemberJoined(Member),
    MemberLeft(Member),
    RoleChanged(Member),
    /// Keys were rotated after a removal: share this new link from now on.
    Rekeyed {
        link: String,
        verification_code: String,
    },
    /// Open files whose edits are not on disk (after `HostCommand::CheckUnsaved`).
    Unsaved {
        paths: Vec<String>,
    },
    /// Ignore files changed during the session (`HostCommand::AdoptIgnoreFiles` applies
    /// them as written); until then, what they hid stays hidden.
    IgnoreFilesChanged {
        paths: Vec<String>,
    },
    TerminalOpened {
        id: u32,
    },
    TerminalFailed {
        message: String,
    },
    /// A terminal's program is being ended (`HostCommand::CloseTerminal`); everyone is
    /// told `Closed` once it has.
    TerminalEnding {
        id: u32,
        name: String,
    },
    TerminalWriter {
        member: Member,
        allowed: bool,
    },
    Ended,
}

/// The host user's handle on a running session.
pub struct HostControl {
    pub commands: tokio::sync::mpsc::Sender<HostCommand>,
    pub events: tokio::sync::mpsc::UnboundedReceiver<HostEvent>,
    /// Who is in the session (and who waits to be let in) now, kept current by the session.
    pub people: tokio::sync::watch::Receiver<Vec<Person>>,
}

/// One person in the session, as the host knows them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub member: Member,
    /// False while they wait for the host's user to let them in.
    pub admitted: bool,
    /// The files they opened (and have not closed), sorted.
    pub open: Vec<String>,
    /// The file their presence says they look at.
    pub viewing: Option<String>,
}

/// The SSH guests this process serves (`ssh_guests`), by the X25519 public key their
/// editor says hello with: what the host's SSH server learned of each. The session reads
/// it when a hello arrives, so the approval prompt shows the guest's SSH key, and a key
/// the host listed (`--ssh-authorized-keys`) gets in without asking. Only this process
/// writes it: a joiner cannot claim an SSH key it did not prove to the SSH server.
#[derive(Clone, Default)]
pub struct SshGuests(
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<[u8; 32], SshGuest>>>,
);

/// What the host's SSH server knows of one guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshGuest {
    /// The SHA-256 fingerprint of the key the guest proved it holds (`SHA256:…`); `None`
    /// when it authenticated with the link's token alone.
    pub fingerprint: Option<String>,
    /// The key is in the host's `--ssh-authorized-keys`: admitted without asking.
    pub authorized: bool,
}

impl SshGuests {
    fn map(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<[u8; 32], SshGuest>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn insert(&self, hello_key: [u8; 32], guest: SshGuest) {
        self.map().insert(hello_key, guest);
    }

    pub fn remove(&self, hello_key: &[u8; 32]) {
        self.map().remove(hello_key);
    }

    pub fn get(&self, hello_key: &[u8; 32]) -> Option<SshGuest> {
        self.map().get(hello_key).cloned()
    }

    /// How many guests are connected (their editors running) now.
    pub fn len(&self) -> usize {
        self.map().len()
    }

    pub fn is_empty(&self) -> bool {
        self.map().is_empty()
    }
}
