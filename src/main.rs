//! The command line: parses arguments and hands over to a role. Nothing else lives here.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use cotype::client::{ClientError, Participant};
use cotype::host::{HostOptions, HostSession};
use cotype::link::{Link, resolve_link_text};
use cotype::relay::{Relay, RelayConfig};

const AFTER_HELP: &str = "\
Exit codes: 0 success, 1 other error, 2 usage, 3 relay unreachable or connection lost,
4 wrong link or session gone, 5 the host refused the request (hidden or missing file).

A LINK argument may be '-' (read from stdin) or left out (read from COTYPE_LINK), so the
secret need not appear in the process list.";

#[derive(Parser)]
#[command(name = "cotype", version, about = "Pair programming from a terminal, end to end encrypted.", after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a blind relay that routes encrypted frames between hosts and participants.
    #[command(
        after_help = "Examples:\n  cotype relay --listen 0.0.0.0:443 --tls-cert cert.pem --tls-key key.pem --metrics 127.0.0.1:9100"
    )]
    Relay {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7420")]
        listen: SocketAddr,
        /// PEM certificate chain; with --tls-key, the relay speaks TLS (wss://).
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// PEM private key for --tls-cert.
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Most participants in one session.
        #[arg(long, default_value_t = 64)]
        max_participants: usize,
        /// Largest frame accepted, in bytes.
        #[arg(long, default_value_t = cotype::protocol::DEFAULT_MAX_FRAME)]
        max_frame: usize,
        /// Serve Prometheus metrics on this address at /metrics (keep it private).
        #[arg(long)]
        metrics: Option<SocketAddr>,
    },
    /// Share a folder. Prints the link as the first line of standard output.
    #[command(
        after_help = "Examples:\n  cotype host . --headless\n  cotype host ~/src/app --headless --relay relay.example.com --hide 'secrets/**'"
    )]
    Host {
        /// The folder to share.
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Serve without a terminal UI.
        #[arg(long)]
        headless: bool,
        /// Relay as host[:port]; without it an embedded relay runs on 127.0.0.1.
        #[arg(long)]
        relay: Option<String>,
        /// Use plain ws:// to a relay that is not on this machine.
        #[arg(long)]
        insecure: bool,
        /// Also hide paths matching this glob (repeatable).
        #[arg(long = "hide", value_name = "GLOB")]
        hide: Vec<String>,
        /// Your name as others see it.
        #[arg(long, default_value_t = default_name())]
        name: String,
    },
    /// List the files the host shares, one path per line.
    #[command(
        after_help = "Examples:\n  cotype ls 'https://relay.example.com/s/…#…'\n  COTYPE_LINK=… cotype ls"
    )]
    Ls {
        link: Option<String>,
        #[command(flatten)]
        participant: ParticipantArgs,
    },
    /// Make one edit in a shared file, as a participant, and wait until the host has it.
    #[command(
        after_help = "Examples:\n  cotype edit LINK src/main.rs --at 3:1 --insert '// reviewed\n' --save\n  cotype edit LINK notes.md --at 1:5 --delete 3"
    )]
    Edit {
        link: String,
        path: String,
        /// 1-based LINE:COL, the column counted in characters.
        #[arg(long, value_parser = parse_line_col)]
        at: cotype::text::LineCol,
        #[command(flatten)]
        change: EditChange,
        /// Ask the host to write the file to disk afterwards.
        #[arg(long)]
        save: bool,
        #[command(flatten)]
        participant: ParticipantArgs,
    },
    /// Open the shared folder in the terminal editor, with the others' cursors in it.
    #[command(
        after_help = "Examples:\n  cotype join 'https://relay.example.com/s/…#…'\n  cotype join - --name ada --follow bob < link.txt\n  COTYPE_LINK=… cotype join --keymap vim --theme sixteen\n\nBy default you follow the host on joining; any move of your own stops following.\nctrl-q quits, F1 lists the keys (see `cotype keys`). Logs go to cotype.log in the state folder."
    )]
    Join {
        link: Option<String>,
        /// Follow this person (by name) instead of the host.
        #[arg(long, value_name = "NAME")]
        follow: Option<String>,
        /// Key bindings: default (modeless) or vim, or a file in your keymaps folder.
        #[arg(long, value_name = "NAME")]
        keymap: Option<String>,
        /// Color theme: default-dark, default-light, sixteen, or a file in your themes folder.
        #[arg(long, value_name = "NAME")]
        theme: Option<String>,
        /// Do not capture the mouse, even if config.toml asks for it.
        #[arg(long)]
        no_mouse: bool,
        /// Your name as others see it (default: config.toml's name, else your login name).
        #[arg(long)]
        name: Option<String>,
        /// Accept an http:// link to a relay that is not on this machine.
        #[arg(long)]
        insecure: bool,
    },
    /// Print the key bindings `cotype join` uses, with your overrides applied.
    #[command(after_help = "Examples:\n  cotype keys\n  cotype keys --keymap vim")]
    Keys {
        /// Key bindings to show (default: the one config.toml chooses).
        #[arg(long, value_name = "NAME")]
        keymap: Option<String>,
    },
    /// Print the exact bytes of a shared file.
    #[command(after_help = "Examples:\n  cotype cat - src/main.rs < link.txt")]
    Cat {
        link: String,
        path: String,
        #[command(flatten)]
        participant: ParticipantArgs,
    },
}

/// A 1-based `LINE:COL` position (column in characters).
fn parse_line_col(text: &str) -> Result<cotype::text::LineCol, String> {
    let (line, col) = text
        .split_once(':')
        .ok_or_else(|| format!("'{text}' is not LINE:COL"))?;
    let number = |part: &str| {
        part.parse::<usize>()
            .map_err(|_| format!("'{text}' is not LINE:COL (numbers from 1)"))
    };
    Ok(cotype::text::LineCol {
        line: number(line)?,
        col: number(col)?,
    })
}

#[derive(clap::Args)]
#[group(required = true, multiple = false)]
struct EditChange {
    /// Text to insert at the position (`\n` is not interpreted: pass a real newline).
    #[arg(long)]
    insert: Option<String>,
    /// Number of characters to delete from the position.
    #[arg(long)]
    delete: Option<usize>,
}

#[derive(clap::Args)]
struct ParticipantArgs {
    /// Your name as others see it.
    #[arg(long, default_value_t = default_name())]
    name: String,
    /// Accept an http:// link to a relay that is not on this machine.
    #[arg(long)]
    insecure: bool,
}

fn default_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "guest".into())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // While the editor owns the terminal, a log line on stderr would tear the screen.
    init_logging(matches!(cli.command, Command::Join { .. }));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cotype: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let code = match (
                error.downcast_ref::<ClientError>(),
                error.downcast_ref::<cotype::link::LinkError>(),
            ) {
                (Some(client), _) => client.exit_code(),
                (None, Some(_)) => 4,
                (None, None) => 1,
            };
            eprintln!("cotype: {error:#}");
            ExitCode::from(code)
        }
    }
}

fn init_logging(to_file: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("COTYPE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    if !to_file {
        builder.with_writer(std::io::stderr).init();
        return;
    }
    let file = cotype::tui::terminal::log_file_path().and_then(|path| {
        std::fs::create_dir_all(path.parent()?).ok()?;
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()
    });
    match file {
        Some(file) => builder
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .init(),
        None => builder.with_writer(std::io::sink).init(),
    }
}

fn parse_link(argument: Option<&str>, insecure: bool) -> anyhow::Result<Link> {
    let text = resolve_link_text(argument)?;
    Ok(Link::parse(&text, insecure)?)
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Relay {
            listen,
            tls_cert,
            tls_key,
            max_participants,
            max_frame,
            metrics,
        } => {
            let tls = match (tls_cert, tls_key) {
                (Some(cert), Some(key)) => Some(cotype::net::server_tls_config(&cert, &key)?),
                _ => None,
            };
            let relay = Relay::new(RelayConfig {
                max_participants,
                max_frame,
                ..RelayConfig::default()
            });
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let scheme = if tls.is_some() { "wss" } else { "ws" };
            eprintln!(
                "cotype relay listening on {scheme}://{}",
                listener.local_addr()?
            );
            if let Some(metrics) = metrics {
                let metrics_listener = tokio::net::TcpListener::bind(metrics)
                    .await
                    .with_context(|| format!("cannot listen on {metrics}"))?;
                eprintln!(
                    "metrics on http://{}/metrics",
                    metrics_listener.local_addr()?
                );
                tokio::spawn(relay.clone().serve_metrics(metrics_listener));
            }
            tokio::select! {
                result = relay.serve(listener, tls) => result?,
                _ = shutdown_signal() => eprintln!("cotype relay stopping"),
            }
            Ok(())
        }
        Command::Host {
            dir,
            headless,
            relay,
            insecure,
            hide,
            name,
        } => {
            if !headless {
                anyhow::bail!("the host's terminal UI is not built yet; use --headless");
            }
            let session = HostSession::start(HostOptions {
                root: dir,
                relay,
                insecure,
                hide,
                name,
            })
            .await?;
            let mut stdout = std::io::stdout();
            writeln!(stdout, "{}", session.link.to_url())?;
            stdout.flush()?;
            eprintln!(
                "sharing; verification code {} (compare it with your participants). Ctrl-C ends the session.",
                session.verification_code()
            );
            tokio::select! {
                result = session.run() => result,
                _ = shutdown_signal() => Ok(()),
            }
        }
        Command::Ls { link, participant } => {
            let link = parse_link(link.as_deref(), participant.insecure)?;
            let mut client = Participant::join(&link, &participant.name).await?;
            let files = client.list_files().await?;
            let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
            for file in files {
                writeln!(stdout, "{}", file.path)?;
            }
            stdout.flush()?;
            Ok(())
        }
        Command::Edit {
            link,
            path,
            at,
            change,
            save,
            participant,
        } => {
            use cotype::client::headless::{EditAction, edit};
            let link = parse_link(Some(&link), participant.insecure)?;
            let (mut driver, mut session) =
                cotype::client::driver::Driver::join(&link, &participant.name).await?;
            let action = match (change.insert, change.delete) {
                (Some(text), _) => EditAction::Insert(text),
                (None, Some(count)) => EditAction::Delete(count),
                (None, None) => unreachable!("clap requires one of --insert and --delete"),
            };
            let revision = edit(&mut driver, &mut session, &path, at, &action, save).await?;
            eprintln!(
                "{path}: edit applied at revision {revision}{}",
                if save { ", saved" } else { "" }
            );
            Ok(())
        }
        Command::Join {
            link,
            follow,
            keymap,
            theme,
            no_mouse,
            name,
            insecure,
        } => {
            let options = cotype::tui::run::JoinOptions {
                name,
                follow,
                keymap,
                theme,
                no_mouse,
            };
            run_join(link, insecure, options).await
        }
        Command::Keys { keymap } => {
            let keymap = cotype::tui::run::load_keymap(keymap.as_deref())?;
            print!("{}", cotype::tui::keymap::format_bindings(&keymap));
            Ok(())
        }
        Command::Cat {
            link,
            path,
            participant,
        } => {
            let link = parse_link(Some(&link), participant.insecure)?;
            let mut client = Participant::join(&link, &participant.name).await?;
            let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            client.read_file(&path, &mut stdout).await?;
            Ok(())
        }
    }
}

async fn run_join(
    link: Option<String>,
    insecure: bool,
    options: cotype::tui::run::JoinOptions,
) -> anyhow::Result<()> {
    use cotype::tui::run::RunError;
    let link = parse_link(link.as_deref(), insecure)?;
    match cotype::tui::run::join(&link, options).await {
        Ok(()) => Ok(()),
        // Keep the client error as it is, so the exit code says what went wrong.
        Err(RunError::Client(error)) => Err(error.into()),
        Err(error) => Err(error.into()),
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut terminate = signal(SignalKind::terminate()).ok();
        let mut hangup = signal(SignalKind::hangup()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match terminate.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
            _ = async { match hangup.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
