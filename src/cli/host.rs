//! `cotype host`: its options, the embedded relay and the host session wired together,
//! the host's own editor or the headless console, and SSH guests.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use cotype::host::{HostOptions, HostSession};
use cotype::host_control::{Approval, HostCommand};

use super::editor::LookArgs;
use super::shutdown_signal;

#[derive(clap::Args)]
pub struct HostArgs {
    /// The folder to share.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Serve without a terminal UI (commands on standard input).
    #[arg(long)]
    pub headless: bool,
    /// Relay as host[:port]; without it an embedded relay runs on 127.0.0.1.
    #[arg(long)]
    relay: Option<String>,
    /// Use plain ws:// to a relay that is not on this machine.
    #[arg(long)]
    insecure: bool,
    /// Also hide paths matching this glob (repeatable).
    #[arg(long = "hide", value_name = "GLOB")]
    hide: Vec<String>,
    /// Your name as others see it (default: config.toml's name, else your login name).
    #[arg(long)]
    name: Option<String>,
    /// Who gets in: `auto` admits everyone with the link, `ask` asks you first
    /// (headless: answer on standard input). Default: ask in the UI, auto headless.
    #[arg(long, value_enum)]
    approve: Option<ApproveArg>,
    #[command(flatten)]
    look: LookArgs,
    /// Do not capture the mouse, even if config.toml asks for it.
    #[arg(long)]
    no_mouse: bool,
    /// Let language servers build and run the project's code (build scripts, proc
    /// macros, `cargo check`, the project's TypeScript) and let members edit the files
    /// that choose your tools. Without it, no member's edit can run code on this machine.
    #[arg(long)]
    trust_project: bool,
    /// Format files with their language server before each save, whoever saves
    /// (config.toml: `format_on_save = true`).
    #[arg(long)]
    format_on_save: bool,
    /// Share a terminal from the start (repeatable), after DIR: COMMAND run by `sh -c` in
    /// the shared folder, or your $SHELL without one. Everyone watches; only you, and whom
    /// you let (`term-write ID on`), type.
    #[arg(long = "terminal", value_name = "COMMAND", num_args = 0..=1, default_missing_value = "")]
    terminals: Vec<String>,
    /// Shared terminals' size until your editor's pane sizes them (headless: always).
    #[arg(long, value_name = "COLSxROWS", default_value = "120x32", value_parser = parse_terminal_size)]
    terminal_size: (u16, u16),
    /// Lines of history a participant gets on opening a shared terminal.
    #[arg(long, value_name = "LINES", default_value_t = 2000)]
    terminal_scrollback: usize,
    /// How much nicer than cotype the programs in shared terminals run (0 to 19; 0: your
    /// own priority). They get all the CPU nothing else wants; when they and the session
    /// both want it, everyone's edits go first.
    #[arg(long, value_name = "N", default_value_t = cotype::host::terminals::PROGRAMS_NICER, value_parser = clap::value_parser!(i32).range(0..=19))]
    terminal_nice: i32,
    /// SSH guests whose key is in this file (OpenSSH authorized_keys lines) get in
    /// without asking (the relay must offer SSH: `cotype relay --ssh-listen`).
    #[arg(long, value_name = "FILE")]
    ssh_authorized_keys: Option<PathBuf>,
}

/// `120x32` as (columns, rows).
fn parse_terminal_size(text: &str) -> Result<(u16, u16), String> {
    let parsed = text
        .split_once(['x', 'X', '×'])
        .and_then(|(cols, rows)| Some((cols.trim().parse().ok()?, rows.trim().parse().ok()?)));
    match parsed {
        Some((cols, rows)) if (2..=1000).contains(&cols) && (2..=500).contains(&rows) => {
            Ok((cols, rows))
        }
        _ => Err(format!("{text:?} is not a terminal size like 120x32")),
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ApproveArg {
    Auto,
    Ask,
}

/// `cotype host`: starts the embedded relay unless `--relay` names one, the host session
/// against it, and the host's own editor (or, `--headless`, the console on stdin).
pub async fn host(args: HostArgs) -> anyhow::Result<()> {
    let HostArgs {
        dir,
        headless,
        relay,
        insecure,
        hide,
        name,
        approve,
        look: LookArgs { keymap, theme },
        no_mouse,
        trust_project,
        format_on_save,
        terminals,
        terminal_size,
        terminal_scrollback,
        terminal_nice,
        ssh_authorized_keys,
    } = args;
    // In the UI someone is there to answer; headless, the link is the invitation.
    let approval = match approve {
        Some(ApproveArg::Auto) => Approval::Auto,
        Some(ApproveArg::Ask) => Approval::Ask,
        None if headless => Approval::Auto,
        None => Approval::Ask,
    };
    // Without --relay, one runs in this process; the host only connects to it.
    let (relay, _embedded_relay) = match relay {
        Some(relay) => (relay, None),
        None => {
            let (address, relay) = cotype::roles::embedded_relay().await?;
            (address, Some(relay))
        }
    };
    let session = HostSession::start(HostOptions {
        root: dir.clone(),
        relay,
        insecure,
        hide,
        name: name.clone().unwrap_or_else(super::headless::default_name),
        approval,
        trust_project,
    })
    .await?;
    let mut session = session;
    // A config.toml the editor cannot read is reported when the editor starts.
    let configured = cotype::tui::config::Config::load().is_ok_and(|c| c.format_on_save);
    session.set_format_on_save(format_on_save || configured);
    session.set_terminal_options(cotype::host::terminals::TerminalOptions {
        cols: terminal_size.0,
        rows: terminal_size.1,
        scrollback: terminal_scrollback,
        programs_nicer: terminal_nice,
    });
    for command in terminals {
        let command = (!command.trim().is_empty()).then_some(command);
        session.open_terminal(command).await?;
    }
    if !headless {
        let options = cotype::tui::run::JoinOptions {
            name,
            follow: Some(String::new()),
            keymap,
            theme,
            no_mouse,
            intro: None,
        };
        let ssh = offer_ssh(&session, &dir, ssh_authorized_keys).await;
        let guests = session.ssh_guests();
        let leaving = ssh.clone();
        let mut hosted = cotype::roles::host_ui(session)?;
        hosted.ssh_command = ssh.map(|offer| -> cotype::tui::run::SshCommandFor {
            Box::new(move |link: &str| {
                let link = cotype::link::Link::parse(link, true).ok()?;
                Some(format!(
                    "{}\nGuests' ssh shows this host key: {}",
                    offer.command_for(&link),
                    offer.fingerprint
                ))
            })
        });
        let result = cotype::tui::run::host(hosted, options).await;
        let_ssh_guests_leave(&guests, leaving.as_ref()).await;
        if result.is_ok() {
            eprintln!("cotype: the session is over; its link no longer works.");
        }
        return result.map_err(Into::into);
    }
    let ssh = offer_ssh(&session, &dir, ssh_authorized_keys).await;
    serve_headless(session, ssh).await
}

/// Serves guests who join with OpenSSH alone, when the relay is an SSH jump host; `None`
/// (said on stderr when `--ssh-authorized-keys` asked for them) when it is not.
async fn offer_ssh(
    session: &HostSession,
    root: &std::path::Path,
    authorized_keys: Option<PathBuf>,
) -> Option<cotype::ssh_guests::SshOffer> {
    let asked = authorized_keys.is_some();
    let options = cotype::ssh_guests::SshGuestsOptions {
        link: session.link_updates(),
        relay_proof: session.relay_proof(),
        root: root.to_path_buf(),
        guests: session.ssh_guests(),
        authorized_keys,
    };
    match cotype::ssh_guests::start(options).await {
        Ok(offer) => Some(offer),
        Err(e) if asked => {
            eprintln!("cotype: no SSH guests: {e:#}");
            None
        }
        Err(e) => {
            tracing::info!("no SSH guests: {e:#}");
            None
        }
    }
}

/// `cotype host --headless`: the link on stdout, the console on stdin and stderr, until
/// the console's `end` or a signal.
async fn serve_headless(
    mut session: HostSession,
    ssh: Option<cotype::ssh_guests::SshOffer>,
) -> anyhow::Result<()> {
    let shutdown = shutdown_signal();
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{}", session.link.to_url())?;
    stdout.flush()?;
    // Guests with OpenSSH alone, when the relay is also a jump host.
    // A removal's rekey changes the guests' token: the console prints the new command
    // after the new link.
    let mut after_link: Option<cotype::host::console::AfterLink> = None;
    let leaving = ssh.clone();
    if let Some(offer) = ssh {
        writeln!(stdout, "ssh: {}", offer.command)?;
        stdout.flush()?;
        eprintln!("SSH guests see this host key: {}", offer.fingerprint);
        after_link = Some(Box::new(move |link: &str| {
            let link = cotype::link::Link::parse(link, true).ok()?;
            Some(format!("ssh: {}", offer.command_for(&link)))
        }));
    }
    eprintln!(
        "sharing; verification code {} (compare it with your participants). Type 'help' for commands; Ctrl-C ends the session.",
        session.verification_code()
    );
    let control = session
        .control()
        .context("the session's controls are taken")?;
    let commands = control.commands.clone();
    tokio::spawn(cotype::host::console::run_with(
        control,
        cotype::host::console::stdin_lines(),
        after_link,
    ));
    let guests = session.ssh_guests();
    let run = session.run();
    tokio::pin!(run);
    let result = tokio::select! {
        result = &mut run => result,
        _ = shutdown => {
            // End it at the relay too, so participants hear it ended instead of
            // waiting for the host to come back; a stuck session does not hold us.
            let _ = commands.send(HostCommand::End).await;
            tokio::time::timeout(Duration::from_secs(2), &mut run)
                .await
                .unwrap_or(Ok(()))
        }
    };
    let_ssh_guests_leave(&guests, leaving.as_ref()).await;
    result
}

/// The session ended: SSH guests' editors (threads of this process) hear it and give
/// their terminals back (the normal screen, a last line) before the process exits.
async fn let_ssh_guests_leave(
    guests: &cotype::host_control::SshGuests,
    offer: Option<&cotype::ssh_guests::SshOffer>,
) {
    if guests.is_empty() {
        return;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    while !guests.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Editors still open (a guest reading the "session is gone" message) are hung up.
    if let Some(offer) = offer {
        offer.hang_up_all("the host ended the session");
    }
    // Their last frames still go out through the SSH channels.
    tokio::time::sleep(Duration::from_millis(300)).await;
}
