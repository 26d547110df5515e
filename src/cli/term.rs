//! `cotype term`: a shared terminal from the command line. `--dump` prints its screen as
//! text; without it the screen is drawn on stdout and kept current, and stdin's lines are
//! typed into the terminal when the host lets us (refused with exit code 5 otherwise).

use std::io::Write;
use std::time::Duration;

use cotype::client::{ClientError, Participant};
use cotype::protocol::message::TerminalId;

use super::headless::{ParticipantArgs, say_waiting};
use super::links::parse_link;

/// How long a joiner waits to hear of the terminal it asked for: the host names them all
/// right after its welcome.
const FIND_WAIT: Duration = Duration::from_secs(5);

#[derive(clap::Args)]
pub struct TermArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    /// Which shared terminal, by name (default: the first one open).
    #[arg(long = "terminal", value_name = "NAME")]
    terminal: Option<String>,
    /// Print the terminal's screen as plain text, as it is at this moment (a program just
    /// started may not have printed yet), and exit.
    #[arg(long)]
    dump: bool,
    #[command(flatten)]
    participant: ParticipantArgs,
}

pub async fn term(args: TermArgs) -> anyhow::Result<()> {
    let link = parse_link(args.link.as_deref(), args.participant.insecure)?;
    let mut client =
        Participant::join_telling(&link, &args.participant.name, &mut say_waiting).await?;
    let id = find(&mut client, args.terminal.as_deref()).await?;
    client.watch_terminal(id).await;
    let screen = client.terminal_screen(id, |_| true).await?;
    if args.dump {
        let mut out = std::io::stdout().lock();
        for line in screen.trim_end_matches('\n').lines() {
            writeln!(out, "{}", line.trim_end()).map_err(ClientError::Output)?;
        }
        return Ok(());
    }
    stream(&mut client, id).await
}

/// The terminal called `name` (any: the first), or an error naming those open.
async fn find(client: &mut Participant, name: Option<&str>) -> anyhow::Result<TerminalId> {
    if let Ok(found) = tokio::time::timeout(FIND_WAIT, client.find_terminal(name)).await {
        return Ok(found?);
    }
    let open: Vec<String> = client
        .session
        .terminals
        .list
        .values()
        .filter(|view| view.exited.is_none())
        .map(|view| view.name.clone())
        .collect();
    let open = if open.is_empty() {
        "none is open".to_owned()
    } else {
        format!("open: {}", open.join(", "))
    };
    Err(ClientError::Host(match name {
        Some(name) => format!("no shared terminal named {name} ({open})"),
        None => format!("no shared terminal ({open})"),
    })
    .into())
}

/// Draws the terminal on stdout and keeps it current; stdin's lines become keystrokes.
async fn stream(client: &mut Participant, id: TerminalId) -> anyhow::Result<()> {
    let mut lines = cotype::host::console::stdin_lines();
    let mut stdin_open = true;
    let mut shown: Option<vt100::Screen> = None;
    loop {
        let Some(view) = client.session.terminals.list.get(&id) else {
            return Ok(());
        };
        if let Some(parser) = view.emulator.as_ref() {
            let screen = parser.screen();
            let bytes = match &shown {
                Some(before) => screen.state_diff(before),
                None => screen.state_formatted(),
            };
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes)
                .and_then(|()| out.flush())
                .map_err(ClientError::Output)?;
            shown = Some(screen.clone());
        }
        if let Some(code) = view.exited {
            eprintln!(
                "\r\ncotype: the terminal's program ended{}",
                code.map(|code| format!(" (exit code {code})"))
                    .unwrap_or_default()
            );
            return Ok(());
        }
        tokio::select! {
            changed = client.next_terminal_change() => match changed {
                Ok(()) | Err(ClientError::HostTimeout) => {}
                Err(error) => return Err(error.into()),
            },
            line = lines.recv(), if stdin_open => match line {
                Some(line) => {
                    let keys = format!("{line}\r");
                    if client.type_in_terminal(id, keys.as_bytes()).await.is_err() {
                        return Err(ClientError::Host(
                            "you may not type in this terminal; ask the host for write access"
                                .into(),
                        )
                        .into());
                    }
                }
                None => stdin_open = false,
            },
        }
    }
}
