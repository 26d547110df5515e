//! Where the editor starts: `cotype join` (connect, then take the terminal), the host's
//! own UI (join as the owner, reopen after a crash), and [`join_on`] for any screen.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt as _;

use super::event_loop::ParticipantLoop;
use super::host_side::HostSide;
use super::screen::{Screen, TerminalInput};
use super::{JoinOptions, RunError};
use crate::client::ClientError;
use crate::client::driver::Driver;
use crate::client::follow::Wanted;
use crate::client::session::Session;
use crate::host_control::HostControl;
use crate::link::Link;
use crate::tui::app::App;
use crate::tui::config::Config;
use crate::tui::editor::SaveTidying;
use crate::tui::input::Input;
use crate::tui::keymap::Keymap;
use crate::tui::status::Level;
use crate::tui::terminal::{TerminalOptions, Tui};
use crate::tui::theme::{ColorMode, Theme};

/// The user's choices for the editor, resolved against config.toml.
struct Setup {
    config: Config,
    keymap: Keymap,
    theme: Theme,
    name: String,
}

impl Setup {
    fn load(options: &JoinOptions) -> Result<Self, RunError> {
        let config = Config::load()?;
        let keymap = Keymap::load(options.keymap.as_deref().unwrap_or(&config.keymap))?;
        let theme = Theme::load(
            options.theme.as_deref().unwrap_or(&config.theme),
            ColorMode::detect(),
        )?;
        let name = options
            .name
            .clone()
            .or(config.name.clone())
            .unwrap_or_else(login_name);
        Ok(Self {
            config,
            keymap,
            theme,
            name,
        })
    }

    fn terminal_options(&self, options: &JoinOptions) -> TerminalOptions {
        TerminalOptions {
            mouse: self.config.mouse && !options.no_mouse,
        }
    }

    /// Builds the event loop around a joined session, for a screen of `size`.
    fn start(
        self,
        options: &JoinOptions,
        driver: Driver,
        session: Session,
        size: (u16, u16),
    ) -> ParticipantLoop {
        let follow = match options.follow.clone() {
            Some(name) if name.is_empty() => Wanted::Nobody,
            Some(name) => Wanted::Named(name),
            None if self.config.follow_host_on_join => Wanted::Host,
            None => Wanted::Nobody,
        };
        let mut app = App::new(self.theme, self.keymap, self.config.tab_width.into(), size);
        app.set_save_tidying(SaveTidying {
            trim_trailing_whitespace: self.config.trim_trailing_whitespace,
            insert_final_newline: self.config.insert_final_newline,
        });
        app.set_inlay_hints_enabled(self.config.inlay_hints);
        app.set_semantic_enabled(self.config.semantic_highlighting);
        ParticipantLoop::new(app, driver, session, follow)
    }
}

/// Connects before the terminal is taken, so a wrong link is a plain error message.
async fn connect(link: &Link, name: &str) -> JoinResult {
    let joining = Driver::join(link, name);
    tokio::pin!(joining);
    tokio::select! {
        joined = &mut joining => joined,
        _ = tokio::time::sleep(Duration::from_secs(1)) => {
            // A host that asks before admitting: say why nothing happens yet.
            eprintln!("cotype: waiting for the host to let you in… (ctrl-c gives up)");
            joining.await
        }
    }
}

/// Joins the session behind `link` and runs the editor until the user quits.
pub async fn join(link: &Link, options: JoinOptions) -> Result<(), RunError> {
    let setup = Setup::load(&options)?;
    let (driver, session) = connect(link, &setup.name).await?;
    let mut tui = Tui::enter(setup.terminal_options(&options))?;
    let result = participate(
        setup,
        &options,
        driver,
        session,
        &mut tui,
        &mut Input::new(),
    )
    .await;
    drop(tui);
    result
}

/// [`join`] on any screen and input: a test's `TestBackend` and a channel of events
/// instead of the terminal.
pub async fn join_on(
    link: &Link,
    options: JoinOptions,
    screen: &mut impl Screen,
    input: &mut impl TerminalInput,
) -> Result<(), RunError> {
    let setup = Setup::load(&options)?;
    let (driver, session) = connect(link, &setup.name).await?;
    participate(setup, &options, driver, session, screen, input).await
}

/// [`join_on`] saying hello with `key_pair`: an SSH guest's editor, whose host's SSH
/// server told the session which SSH key the guest behind this key pair proved.
pub async fn join_on_with_key(
    link: &Link,
    options: JoinOptions,
    key_pair: &crate::client::MemberKeyPair,
    screen: &mut impl Screen,
    input: &mut impl TerminalInput,
) -> Result<(), RunError> {
    let setup = Setup::load(&options)?;
    let (driver, session) = Driver::join_with_key(link, &setup.name, key_pair).await?;
    participate(setup, &options, driver, session, screen, input).await
}

/// Runs the editor in a joined session until the user quits.
async fn participate(
    setup: Setup,
    options: &JoinOptions,
    driver: Driver,
    session: Session,
    screen: &mut impl Screen,
    input: &mut impl TerminalInput,
) -> Result<(), RunError> {
    // Equal codes on both sides mean nobody in the middle swapped the link's secret or
    // the host's key.
    let code = driver.verification_code();
    let mut event_loop = setup.start(options, driver, session, screen.size());
    event_loop.app.set_session_card(None, code.clone());
    if let Some(intro) = options.intro.clone() {
        event_loop.app.set_intro(intro);
    }
    event_loop.app.message(
        Level::Info,
        format!("joined; verification code {code} (compare it with the host's; alt-l shows it)"),
    );
    event_loop.run(screen, input).await
}

/// What the host's own editor is handed by whoever started the session (`roles::host_ui`):
/// the editor talks to the session only through these, never to a `HostSession`.
pub struct HostedSession {
    /// The link to share, as text.
    pub link: String,
    pub verification_code: String,
    /// The session's controls: commands in, events out.
    pub control: HostControl,
    /// The task serving the session; it ends when the session does.
    pub serving: tokio::task::JoinHandle<anyhow::Result<()>>,
    /// Joins the session as the host's own user (the proof that it is stays inside).
    pub join_as_owner:
        Box<dyn Fn(String) -> futures_util::future::LocalBoxFuture<'static, JoinResult>>,
    /// The `ssh` command for guests with OpenSSH alone, for a link (as text), when the
    /// relay is an SSH jump host (`ssh_guests`); shown on the session card.
    pub ssh_command: Option<SshCommandFor>,
}

/// Makes the SSH guests' command for the link given as text (it changes with a rekey).
pub type SshCommandFor = Box<dyn Fn(&str) -> Option<String> + Send>;

/// A joined connection and the session state it feeds.
pub type JoinResult = Result<(Driver, Session), ClientError>;

/// Runs the host's own editor in a served session until the host ends the session.
///
/// The host's user joins its own session as a participant proven by the session's
/// `OwnerKey`: it edits through the same path as everyone (so its edits are sequenced like
/// anyone's), appears to the others as the host, and drives the session's controls.
///
/// The session runs in its own task and outlives the editor: if the editor panics (a bug),
/// the panic hook gives the terminal back, the session goes on serving everyone, and the
/// host's user chooses on standard input to reopen the editor or end the session cleanly.
pub async fn host(hosted: HostedSession, options: JoinOptions) -> Result<(), RunError> {
    let HostedSession {
        link,
        verification_code: code,
        control,
        serving,
        join_as_owner,
        ssh_command,
    } = hosted;
    let mut side = HostSide {
        commands: control.commands,
        events: control.events,
        serving,
        ssh_command,
    };
    let mut first = true;
    loop {
        let setup = Setup::load(&options)?;
        let joined = tokio::select! {
            joined = join_as_owner(setup.name.clone()) => joined,
            served = &mut side.serving => {
                return Err(RunError::Host(match served {
                    Ok(Err(error)) => error,
                    Ok(Ok(())) => anyhow::anyhow!("the session ended"),
                    Err(panic) => anyhow::anyhow!("the host stopped: {panic}"),
                }))
            }
        };
        let (driver, session) = joined?;
        let mut tui = Tui::enter(setup.terminal_options(&options))?;
        let mut event_loop = setup.start(&options, driver, session, tui.size());
        let ssh = side.ssh_command.as_ref().and_then(|ssh| ssh(&link));
        event_loop.app.set_ssh_command(ssh);
        event_loop.host = Some(side);
        event_loop
            .app
            .set_session_card(Some(link.clone()), code.clone());
        if first {
            event_loop.app.show_session_card();
        }
        let greeting = if first {
            format!("sharing; verification code {code}; alt-l shows the link, alt-m the people")
        } else {
            "the editor is back; the session went on meanwhile".to_owned()
        };
        event_loop.app.message(Level::Info, greeting);
        first = false;
        let outcome = AssertUnwindSafe(event_loop.run(&mut tui, &mut Input::new()))
            .catch_unwind()
            .await;
        drop(tui);
        let Some(taken) = event_loop.host.take() else {
            return outcome
                .unwrap_or_else(|_| Err(RunError::Host(anyhow::anyhow!("the session ended"))));
        };
        side = taken;
        // The editor's connection leaves the session before a new one joins.
        drop(event_loop);
        let panic = match outcome {
            Ok(result) => {
                side.end().await;
                return result;
            }
            Err(panic) => panic,
        };
        eprintln!(
            "\ncotype: the editor stopped on a bug ({}); the session goes on serving everyone.\n\
             Press Enter to reopen the editor, or type `end` and Enter to end the session.",
            panic_message(panic.as_ref())
        );
        match after_a_crash(&mut side.serving).await {
            AfterCrash::Reopen => continue,
            AfterCrash::End => {
                side.end().await;
                return Ok(());
            }
            AfterCrash::SessionOver(result) => return result,
        }
    }
}

/// What the host's user chose after the editor crashed.
enum AfterCrash {
    Reopen,
    End,
    /// The session ended by itself meanwhile.
    SessionOver(Result<(), RunError>),
}

async fn after_a_crash(serving: &mut tokio::task::JoinHandle<anyhow::Result<()>>) -> AfterCrash {
    // A plain thread, not tokio's stdin: a read that never ends must not hold up the
    // runtime's shutdown when the session ends first.
    let (line_sender, line) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut text = String::new();
        let read = std::io::stdin().read_line(&mut text);
        let _ = line_sender.send(read.map(|_| text));
    });
    tokio::select! {
        line = line => match line {
            Ok(Ok(text)) if text.trim() == "end" => AfterCrash::End,
            // End of input (no terminal left to draw on): the session is over.
            Ok(Ok(text)) if text.is_empty() => AfterCrash::End,
            Ok(Ok(_)) => AfterCrash::Reopen,
            _ => AfterCrash::End,
        },
        served = serving => AfterCrash::SessionOver(match served {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(RunError::Host(error)),
            Err(panic) => Err(RunError::Host(anyhow::anyhow!("the host stopped: {panic}"))),
        }),
    }
}

/// The text a panic was raised with, as the default hook prints it.
fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|text| (*text).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".to_owned())
}

fn login_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "guest".into())
}
