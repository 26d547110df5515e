//! One guest's SSH connection, ended here at the host: authentication by the link's guest
//! user name, one session channel with a terminal, and the editor running for the guest
//! in this process, joined to the session like any participant.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use ratatui::crossterm::event::Event;
use russh::server::{Auth, ChannelOpenHandle, Handle, Handler, Msg, Session};
use russh::{Channel, ChannelId};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::sync::{oneshot, watch};

use super::entry;
use super::screen::{ChannelScreen, ENTER, LEAVE, SharedSize};
use crate::client::MemberKeyPair;
use crate::crypto::ssh::{fingerprint, is_guest_user};
use crate::host_control::{SshGuest, SshGuests};
use crate::link::Link;
use crate::tui::byte_input::ByteKeys;
use crate::tui::run::JoinOptions;

/// The longest name a guest may give (`SetEnv=COTYPE_NAME=…`).
const LONGEST_NAME: usize = 32;

/// What every guest's SSH server shares: the link as it is now, the session's record of
/// SSH guests, and the keys admitted without asking.
pub(super) struct GuestContext {
    pub(super) link: watch::Receiver<Link>,
    pub(super) guests: SshGuests,
    /// Fingerprints from `--ssh-authorized-keys`.
    pub(super) authorized: HashSet<String>,
    /// Where each running editor's screen goes, by its hello key: the host hangs them all
    /// up when it exits (`SshOffer::hang_up_all`).
    pub(super) screens: Mutex<HashMap<[u8; 32], UnboundedSender<Vec<u8>>>>,
}

impl GuestContext {
    /// Gives every guest's terminal back with a last line and ends their SSH sessions
    /// (their editors' threads end with the process).
    pub(super) fn hang_up_all(&self, why: &str) {
        let screens = std::mem::take(&mut *lock(&self.screens));
        for (_, screen) in screens {
            let mut goodbye = LEAVE.to_vec();
            goodbye.extend_from_slice(format!("cotype: {why}\r\n").as_bytes());
            let _ = screen.send(goodbye);
            // Dropping the last sender ends the channel once this is written.
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(super) struct Guest {
    context: Arc<GuestContext>,
    /// The fingerprint of the key the guest proved it holds, if it used one.
    key: Option<String>,
    name: Option<String>,
    keymap: Option<String>,
    size: SharedSize,
    channel: Option<ChannelId>,
    /// Keys for the guest's editor; dropped (the editor ends) when the guest hangs up.
    keys_in: Option<UnboundedSender<Event>>,
    decoder: ByteKeys,
    /// Dropped when the guest hangs up (or this server ends): the editor stops, even
    /// while it still waits for the host's approval.
    connected: Option<oneshot::Sender<()>>,
    /// Told when the guest passed authentication (`serve_guest` hangs up on one that
    /// does not in time).
    on_authenticated: Option<oneshot::Sender<()>>,
}

impl Guest {
    pub(super) fn new(context: Arc<GuestContext>, on_authenticated: oneshot::Sender<()>) -> Self {
        Self {
            context,
            key: None,
            name: None,
            keymap: None,
            size: Arc::new(Mutex::new((80, 24))),
            channel: None,
            keys_in: None,
            decoder: ByteKeys::new(),
            connected: None,
            on_authenticated: Some(on_authenticated),
        }
    }

    fn authenticated(&mut self) {
        if let Some(told) = self.on_authenticated.take() {
            let _ = told.send(());
        }
    }

    fn admits(&self, user: &str) -> bool {
        let link = self.context.link.borrow();
        is_guest_user(&link.secret, &link.session, user)
    }

    fn set_size(&self, columns: u32, rows: u32) {
        let size = (
            u16::try_from(columns).unwrap_or(u16::MAX).max(1),
            u16::try_from(rows).unwrap_or(u16::MAX).max(1),
        );
        *self
            .size
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = size;
    }

    /// Starts the guest's editor on its own thread (the editor's loop is not `Send`),
    /// drawing into `channel` through `handle`.
    fn start_editor(&mut self, handle: Handle, channel: ChannelId) {
        let (keys_in, keys) = unbounded_channel();
        self.keys_in = Some(keys_in);
        let (frames, mut frames_out) = unbounded_channel::<Vec<u8>>();
        tokio::spawn(async move {
            while let Some(bytes) = frames_out.recv().await {
                if handle.data(channel, bytes).await.is_err() {
                    break;
                }
            }
            let _ = handle.exit_status_request(channel, 0).await;
            let _ = handle.eof(channel).await;
            let _ = handle.close(channel).await;
        });
        let short_key = self
            .key
            .as_deref()
            .and_then(|key| key.strip_prefix("SHA256:"))
            .map(|key| key.chars().take(6).collect::<String>());
        let default_name = match short_key {
            Some(key) => format!("ssh-{key}"),
            None => "ssh-guest".to_owned(),
        };
        let given = (self.name.clone(), self.keymap.clone(), default_name);
        let link = self.context.link.clone();
        let size = self.size.clone();
        // The session knows this guest by the key pair its editor says hello with.
        let key_pair = MemberKeyPair::generate();
        let registered = Registered {
            context: self.context.clone(),
            hello_key: key_pair.public(),
        };
        lock(&self.context.screens).insert(registered.hello_key, frames.clone());
        self.context.guests.insert(
            registered.hello_key,
            SshGuest {
                authorized: self
                    .key
                    .as_ref()
                    .is_some_and(|key| self.context.authorized.contains(key)),
                fingerprint: self.key.clone(),
            },
        );
        let (connected, hung_up) = oneshot::channel();
        self.connected = Some(connected);
        let spawned = std::thread::Builder::new()
            .name("cotype-ssh-guest".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(runtime) = runtime {
                    runtime.block_on(async move {
                        tokio::select! {
                            () = run_editor(link, given, key_pair, size, keys, frames) => {}
                            _ = hung_up => tracing::debug!("an SSH guest hung up"),
                        }
                    });
                }
                drop(registered);
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start an SSH guest's editor: {e}");
        }
    }
}

/// A guest's entry in the session's record of SSH guests, removed when its editor ends.
struct Registered {
    context: Arc<GuestContext>,
    hello_key: [u8; 32],
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.context.guests.remove(&self.hello_key);
        lock(&self.context.screens).remove(&self.hello_key);
    }
}

/// The guest's editor, from the waiting message to giving its terminal back.
async fn run_editor(
    link: watch::Receiver<Link>,
    (name, keymap, default_name): (Option<String>, Option<String>, String),
    key_pair: MemberKeyPair,
    size: SharedSize,
    mut keys: tokio::sync::mpsc::UnboundedReceiver<Event>,
    frames: UnboundedSender<Vec<u8>>,
) {
    if frames.send(ENTER.to_vec()).is_err() {
        return;
    }
    let Some((name, keymap)) = entry::ask(name, keymap, default_name, &mut keys, &frames).await
    else {
        let _ = frames.send(LEAVE.to_vec());
        return;
    };
    let options = JoinOptions {
        name: Some(name),
        follow: None,
        keymap: Some(keymap),
        theme: None,
        no_mouse: true,
        intro: None,
    };
    let greeting = b"cotype: waiting for the host to let you in...\r\n";
    if frames.send(greeting.to_vec()).is_err() {
        return;
    }
    // The link as it is now: a rekey while the guest answered changed its secret.
    let link = link.borrow().clone();
    let result = match ChannelScreen::new(frames.clone(), size) {
        Ok(mut screen) => {
            crate::tui::run::join_on_with_key(&link, options, &key_pair, &mut screen, &mut keys)
                .await
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    };
    let mut goodbye = LEAVE.to_vec();
    match result {
        Ok(()) => goodbye.extend_from_slice(b"cotype: you left the session.\r\n"),
        Err(e) => goodbye.extend_from_slice(format!("cotype: {e}\r\n").as_bytes()),
    }
    let _ = frames.send(goodbye);
}

/// A name as a guest may give it: printable, trimmed, not too long.
pub(super) fn clean_name(text: &str) -> Option<String> {
    let name: String = text
        .chars()
        .filter(|c| !c.is_control())
        .take(LONGEST_NAME)
        .collect();
    let name = name.trim();
    (!name.is_empty()).then(|| name.to_owned())
}

impl Handler for Guest {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        _offer: russh::server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(if self.admits(user) {
            Auth::Accept
        } else {
            Auth::reject()
        })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: russh::server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        if !self.admits(user) {
            return Ok(Auth::reject());
        }
        self.key = Some(fingerprint(key.public_key));
        self.authenticated();
        Ok(Auth::Accept)
    }

    /// For a guest without a key: the user name alone, asking nothing.
    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _submethods: &str,
        _response: Option<russh::server::Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        if !self.admits(user) {
            return Ok(Auth::reject());
        }
        self.authenticated();
        Ok(Auth::Accept)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel.is_some() {
            reply
                .reject(russh::ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        }
        self.channel = Some(channel.id());
        reply.accept().await;
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        columns: u32,
        rows: u32,
        _pixel_width: u32,
        _pixel_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.set_size(columns, rows);
        session.channel_success(channel)
    }

    async fn env_request(
        &mut self,
        _channel: ChannelId,
        variable: &str,
        value: &str,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        match variable {
            "COTYPE_NAME" => self.name = clean_name(value),
            "COTYPE_KEYMAP" if matches!(value, "default" | "vim") => {
                self.keymap = Some(value.to_owned())
            }
            _ => {}
        }
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channel != Some(channel) || self.keys_in.is_some() {
            return session.channel_failure(channel);
        }
        session.channel_success(channel)?;
        self.start_editor(session.handle(), channel);
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Only the editor runs here.
        session.channel_failure(channel)
    }

    async fn data(
        &mut self,
        _channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(keys_in) = &self.keys_in {
            for event in self.decoder.feed(data) {
                let _ = keys_in.send(event);
            }
        }
        Ok(())
    }

    async fn window_change_request(
        &mut self,
        _channel: ChannelId,
        columns: u32,
        rows: u32,
        _pixel_width: u32,
        _pixel_height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.set_size(columns, rows);
        if let Some(keys_in) = &self.keys_in {
            let (width, height) = *self.size.lock().unwrap_or_else(|p| p.into_inner());
            let _ = keys_in.send(Event::Resize(width, height));
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.keys_in = None;
        Ok(())
    }

    async fn channel_close(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.keys_in = None;
        self.connected = None;
        Ok(())
    }
}
