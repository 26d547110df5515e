//! The command line: parses arguments and hands over to a role. Nothing else lives here.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use cotype::client::ClientError;
use cotype::host::{HostOptions, HostSession};
use cotype::host_control::{Approval, HostCommand};
use cotype::relay::{Relay, RelayConfig};

mod cli;

use cli::headless::{self, NoMatch, PLACE_HELP};
use cli::links::{Usage, parse_link};

const AFTER_HELP: &str = "\
Exit codes: 0 success (also when the reader of the output stops early, as `| head`),
1 other error, or `search` or `replace` found nothing, 2 usage, 3 relay unreachable or connection
lost, 4 wrong link or session gone, 5 the host refused the request (hidden or missing
file).

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
    Relay(RelayArgs),
    /// Share a folder and edit it in the terminal UI with the people you invite. With
    /// --headless, serve only: the link is the first line of standard output.
    #[command(
        after_help = "Examples:\n  cotype host .\n  cotype host ~/src/app --relay relay.example.com --hide 'secrets/**'\n  cotype host . --headless --approve auto\n\nIn the UI: alt-l shows the link and the verification code, alt-m the people (admit, read-only, remove), alt-shift-f asks everyone to follow you, ctrl-q ends the session.\n\nHeadless, standard input takes: who | admit ID [read-only] | refuse ID | role ID editor|read-only |\nremove ID | follow | unsaved | end. end, Ctrl-C or SIGTERM end the session at once."
    )]
    Host(HostArgs),
    /// List the files the host shares, one path per line.
    #[command(
        after_help = "Examples:\n  cotype ls 'https://relay.example.com/s/…#…'\n  COTYPE_LINK=… cotype ls"
    )]
    Ls(headless::LsArgs),
    /// Make one edit in a shared file, as a participant, and wait until the host has it.
    #[command(
        after_help = "Examples:\n  cotype edit LINK src/main.rs --at 3:1 --insert '// reviewed\n' --save\n  cotype edit LINK notes.md --at 1:5 --delete 3"
    )]
    #[command(
        override_usage = "cotype edit [OPTIONS] --at <AT> <--insert <INSERT>|--delete <DELETE>> [LINK] <PATH>"
    )]
    Edit(headless::EditArgs),
    /// Open the shared folder in the terminal editor, with the others' cursors in it.
    #[command(
        after_help = "Examples:\n  cotype join 'https://relay.example.com/s/…#…'\n  cotype join - --name ada --follow bob < link.txt\n  COTYPE_LINK=… cotype join --keymap vim --theme sixteen\n\nBy default you follow the host on joining; any move of your own stops following.\nctrl-q quits, F1 lists the keys (see `cotype keys`). Logs go to cotype.log in the state folder."
    )]
    Join(JoinArgs),
    /// Print the key bindings `cotype join` uses, with your overrides applied.
    #[command(after_help = "Examples:\n  cotype keys\n  cotype keys --keymap vim")]
    Keys {
        /// Key bindings to show (default: the one config.toml chooses).
        #[arg(long, value_name = "NAME")]
        keymap: Option<String>,
    },
    /// Print the exact bytes of a shared file.
    #[command(after_help = "Examples:\n  cotype cat - src/main.rs < link.txt")]
    #[command(override_usage = "cotype cat [OPTIONS] [LINK] <PATH>")]
    Cat(headless::CatArgs),
    /// Watch a shared terminal: `--dump` prints its screen as text; without it, its
    /// screen on stdout kept current, and your stdin's lines typed into it when the host
    /// lets you (exit code 5 when it does not).
    #[command(
        after_help = "Examples:\n  cotype term LINK --dump\n  cotype term LINK --terminal build\n  echo 'cargo test' | cotype term LINK"
    )]
    #[command(override_usage = "cotype term [OPTIONS] [LINK]")]
    Term(cli::term::TermArgs),
    /// Try cotype in one command: a session on a small bundled project, with Ada, a
    /// scripted partner, finding and fixing its bug while you watch, follow or edit.
    #[command(
        after_help = "Examples:\n  cotype demo\n  cotype demo --keymap vim --theme sixteen --name sam\n\nEverything runs on this machine (relay, host, Ada); nothing is configured or sent\nelsewhere. The project is a fresh copy in a temporary folder, removed when you quit."
    )]
    Demo(DemoArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  cotype completions bash > ~/.local/share/bash-completion/completions/cotype\n  cotype completions zsh > ~/.zfunc/_cotype"
    )]
    Completions { shell: clap_complete::Shell },
    /// Search the host's shared files; prints path:line:column:text as `rg --vimgrep` does.
    #[command(
        after_help = "Lines are sorted by path, line and column. Columns count bytes, as in rg.\n\nExamples:\n  cotype search - 'fn \\w+\\(' -g '*.rs' < link.txt\n  cotype search - TODO -i --json < link.txt"
    )]
    #[command(override_usage = "cotype search [OPTIONS] [LINK] <PATTERN>")]
    Search(headless::SearchArgs),
    /// Show what the host's language server says about the symbol at PATH:LINE:COL.
    #[command(after_help = PLACE_HELP, override_usage = "cotype hover [OPTIONS] [LINK] <PATH:LINE:COL>")]
    Hover(headless::PlaceArgs),
    /// Print where the symbol at PATH:LINE:COL is defined, then the lines around it.
    #[command(after_help = PLACE_HELP, override_usage = "cotype peek [OPTIONS] [LINK] <PATH:LINE:COL>")]
    Peek(headless::PlaceArgs),
    /// Print where the symbol at PATH:LINE:COL is defined, as path:line:col.
    #[command(after_help = PLACE_HELP, override_usage = "cotype definition [OPTIONS] [LINK] <PATH:LINE:COL>")]
    Definition(headless::PlaceArgs),
    /// List every use of the symbol at PATH:LINE:COL as path:line:col: context.
    #[command(after_help = PLACE_HELP, override_usage = "cotype refs [OPTIONS] [LINK] <PATH:LINE:COL>")]
    Refs(headless::PlaceArgs),
    /// Replace across the host's shared files, as shared edits; prints
    /// path:line:column:new line for each change, as `rg --replace --vimgrep`.
    #[command(
        after_help = "Exit code 1 when nothing matched. Never touches files the host hides or ignores;
anyone typing in a changed file keeps their text (the host merges both).

Examples:
  cotype replace - 'old_name' 'new_name' -w -g '*.rs' --dry-run < link.txt
  cotype replace - '(\\w+)\\.unwrap\\(\\)' '$1.expect(\"checked\")' --save < link.txt"
    )]
    #[command(override_usage = "cotype replace [OPTIONS] [LINK] <PATTERN> <REPLACEMENT>")]
    Replace(cli::workspace_changes::ReplaceArgs),
    /// Rename the symbol at PATH:LINE:COL everywhere the host's language server finds
    /// it, as shared edits; prints path:line:column of each change.
    #[command(
        after_help = "Exit code 1 when the server cannot rename there (its reason on stderr). Refused whole
if it would touch a file the host hides or ignores; anyone typing meanwhile keeps their text.

Examples:
  cotype rename - src/geometry.rs:4:8 surface < link.txt
  cotype rename - src/lib.rs:12:5 parse_header --save < link.txt"
    )]
    #[command(override_usage = "cotype rename [OPTIONS] [LINK] <PATH:LINE:COL> <NEW_NAME>")]
    Rename(cli::language_edits::RenameArgs),
    /// Format a shared file with the host's language server, as one shared edit.
    #[command(
        after_help = "Exit code 1 when no server on the host formats that file.

Examples:
  cotype format - src/lib.rs --save < link.txt"
    )]
    #[command(override_usage = "cotype format [OPTIONS] [LINK] <PATH>")]
    Format(cli::language_edits::FormatArgs),
    /// List the language server's code actions at PATH:LINE:COL (fixes first), or apply
    /// one with --apply N.
    #[command(after_help = "Exit code 1 when there are none.

Examples:
  cotype actions - src/lib.rs:7:9 < link.txt
  cotype actions - src/lib.rs:7:9 --apply 1 --save < link.txt")]
    #[command(override_usage = "cotype actions [OPTIONS] [LINK] <PATH:LINE:COL>")]
    Actions(cli::language_edits::ActionsArgs),
    /// List symbols as path:line:column:kind:name: the workspace's matching QUERY, or
    /// with --file one file's outline.
    #[command(
        after_help = "Exit code 1 when none. Symbols in files the host hides are never listed.

Examples:
  cotype symbols - --file src/lib.rs < link.txt
  cotype symbols - parse < link.txt"
    )]
    #[command(override_usage = "cotype symbols [OPTIONS] [LINK] [QUERY]")]
    Symbols(cli::language_edits::SymbolsArgs),
    /// List the host's changed shared files as path:XY, XY as `git status --porcelain`
    /// prints it (" M" changed, "M " staged, "??" untracked, " D" deleted, ...).
    #[command(
        after_help = "Changes on the host's disk (saved text); hidden and ignored files are never
listed. Exit code 1 when the shared folder is not in a git repository.

Examples:
  cotype changes - < link.txt
  cotype changes --branch - < link.txt"
    )]
    Changes(cli::git::ChangesArgs),
    /// Create a file (or with --folder a folder) in the shared folder.
    #[command(after_help = "Examples:
  cotype new - src/util.rs --content '// helpers\n' < link.txt
  cotype new - docs/notes --folder < link.txt")]
    #[command(override_usage = "cotype new [OPTIONS] [LINK] <PATH>")]
    New(cli::workspace_changes::NewArgs),
    /// Rename or move a shared file or folder; everyone's open tabs follow.
    #[command(after_help = "Examples:
  cotype mv - src/util.rs src/helpers.rs < link.txt")]
    #[command(override_usage = "cotype mv [OPTIONS] [LINK] <FROM> <TO>")]
    Mv(cli::workspace_changes::MvArgs),
    /// Delete a shared file or folder; open tabs of it keep their text (saving writes it
    /// again).
    #[command(after_help = "Examples:
  cotype rm - src/old.rs < link.txt")]
    #[command(override_usage = "cotype rm [OPTIONS] [LINK] <PATH>")]
    Rm(cli::workspace_changes::RmArgs),
}

#[derive(clap::Args)]
struct RelayArgs {
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
    /// Most participants in one session waiting for the host to let them in (apart
    /// from the admitted ones).
    #[arg(long, env = "COTYPE_RELAY_MAX_PENDING", default_value_t = 16)]
    max_pending: usize,
    /// Most open connections [default: the open-file limit less 64].
    #[arg(long, env = "COTYPE_RELAY_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Most open connections from one IP address (IPv6: one /64).
    #[arg(
        long,
        env = "COTYPE_RELAY_MAX_CONNECTIONS_PER_IP",
        default_value_t = 256
    )]
    max_connections_per_ip: usize,
    /// New sessions one IP address may create per minute.
    #[arg(
        long,
        env = "COTYPE_RELAY_SESSIONS_PER_IP_PER_MINUTE",
        default_value_t = 30
    )]
    sessions_per_ip_per_minute: u32,
    /// Join attempts (right or wrong) one IP address may make per minute.
    #[arg(
        long,
        env = "COTYPE_RELAY_JOINS_PER_IP_PER_MINUTE",
        default_value_t = 120
    )]
    joins_per_ip_per_minute: u32,
    /// Bytes queued for all receivers together, in MiB, before those with a backlog
    /// are dropped as too slow (each receiver may queue 8 MiB).
    #[arg(long, env = "COTYPE_RELAY_MAX_QUEUED_MIB", default_value_t = 512)]
    max_queued_mib: usize,
    /// Largest frame accepted, in bytes.
    #[arg(long, default_value_t = cotype::protocol::DEFAULT_MAX_FRAME)]
    max_frame: usize,
    /// Serve Prometheus metrics on this address at /metrics, and /healthz for a load
    /// balancer (200 serving, 503 draining); keep it private.
    #[arg(long)]
    metrics: Option<SocketAddr>,
    /// Also be an SSH jump host on this address, so guests join with OpenSSH alone
    /// (`ssh -J`); it only forwards their end-to-end encrypted bytes to the session's host.
    /// Not with --redis: a guest's jump and its host's gateway must meet on one node.
    #[arg(long, value_name = "ADDR", conflicts_with = "redis")]
    ssh_listen: Option<SocketAddr>,
    /// Join a cluster of relays sharing sessions through this Redis (or Valkey):
    /// redis://HOST:PORT[/DB]. Needs --metrics (the balancer checks /healthz there).
    #[arg(long, env = "COTYPE_RELAY_REDIS", requires = "metrics")]
    redis: Option<String>,
    /// This node's name in the cluster, unique among the nodes [default: HOSTNAME-PORT].
    #[arg(long, requires = "redis")]
    node_name: Option<String>,
    /// With --redis, how long SIGTERM waits for members to move before exiting.
    #[arg(long, default_value_t = 30)]
    drain_timeout: u64,
}

#[derive(clap::Args)]
struct HostArgs {
    /// The folder to share.
    #[arg(default_value = ".")]
    dir: PathBuf,
    /// Serve without a terminal UI (commands on standard input).
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

/// How the editor looks and what its keys do: `host`, `join` and `demo` take these.
#[derive(clap::Args)]
struct LookArgs {
    /// Key bindings: default (modeless) or vim, or a file in your keymaps folder.
    #[arg(long, value_name = "NAME")]
    keymap: Option<String>,
    /// Color theme: default-dark, default-light, sixteen, or a file in your themes folder.
    #[arg(long, value_name = "NAME")]
    theme: Option<String>,
}

#[derive(clap::Args)]
struct DemoArgs {
    #[command(flatten)]
    look: LookArgs,
    /// Your name as the others see it (default: config.toml's name, else your login name).
    #[arg(long)]
    name: Option<String>,
    /// How much faster than a person Ada plays her script (for tests and impatience).
    #[arg(long, env = "COTYPE_DEMO_SPEED", default_value_t = 1.0, hide = true)]
    speed: f64,
    /// Seconds from the start of one of Ada's tasks to the next, once the bug is fixed
    /// (tests shorten it).
    #[arg(
        long,
        env = "COTYPE_DEMO_TASK_SECONDS",
        default_value_t = 20.0,
        hide = true
    )]
    task_seconds: f64,
}

#[derive(clap::Args)]
struct JoinArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    /// Follow this person (by name) instead of the host.
    #[arg(long, value_name = "NAME")]
    follow: Option<String>,
    #[command(flatten)]
    look: LookArgs,
    /// Do not capture the mouse, even if config.toml asks for it.
    #[arg(long)]
    no_mouse: bool,
    /// Your name as others see it (default: config.toml's name, else your login name).
    #[arg(long)]
    name: Option<String>,
    /// Accept an http:// link to a relay that is not on this machine.
    #[arg(long)]
    insecure: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // While the editor owns the terminal, a log line on stderr would tear the screen.
    cotype::logging::init(matches!(
        cli.command,
        Command::Join(_)
            | Command::Demo(_)
            | Command::Host(HostArgs {
                headless: false,
                ..
            })
    ));
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("cotype: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Whatever still runs (a task blocked on I/O) is not waited for past this.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // Whoever read our output stopped (`| head`): a normal end, with nothing to say.
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) if error.is::<NoMatch>() => ExitCode::from(1),
        Err(error) => {
            eprintln!("cotype: {}", describe(&error));
            ExitCode::from(exit_code(&error))
        }
    }
}

/// The documented exit code for `error` (see `AFTER_HELP`).
fn exit_code(error: &anyhow::Error) -> u8 {
    if let Some(client) = error.downcast_ref::<ClientError>() {
        return client.exit_code();
    }
    if error.is::<cotype::link::LinkError>() {
        return 4;
    }
    if error.is::<Usage>() {
        return 2;
    }
    // The host's own connection to its relay.
    if let Some(cotype::net::NetError::Unreachable { .. }) = error.downcast_ref() {
        return 3;
    }
    1
}

/// The error and its causes on one line, each said once: many errors here already name
/// their cause in their own message (`cannot share DIR: No such file…`).
fn describe(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

/// Whether the error is a write to a closed pipe, however deep in the chain.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        let io = match cause.downcast_ref::<ClientError>() {
            Some(ClientError::Output(io)) => Some(io),
            _ => cause.downcast_ref::<std::io::Error>(),
        };
        io.is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Relay(args) => relay(args).await,
        Command::Host(args) => host(args).await,
        Command::Demo(args) => demo(args).await,
        Command::Completions { shell } => {
            use clap::CommandFactory;
            // Into memory first: the generator panics on a failed write (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "cotype", &mut script);
            std::io::stdout().write_all(&script)?;
            Ok(())
        }
        Command::Ls(args) => headless::ls(args).await,
        Command::Edit(args) => headless::edit(args).await,
        Command::Join(args) => join(args).await,
        Command::Keys { keymap } => {
            let keymap = cotype::tui::run::load_keymap(keymap.as_deref())?;
            write!(
                std::io::stdout(),
                "{}",
                cotype::tui::keymap::format_bindings(&keymap)
            )?;
            Ok(())
        }
        Command::Cat(args) => headless::cat(args).await,
        Command::Term(args) => cli::term::term(args).await,
        Command::Search(args) => headless::search(args).await,
        Command::Hover(place) => headless::hover(place).await,
        Command::Peek(place) => headless::peek(place).await,
        Command::Definition(place) => headless::definition(place).await,
        Command::Refs(place) => headless::refs(place).await,
        Command::Replace(args) => cli::workspace_changes::replace(args).await,
        Command::New(args) => cli::workspace_changes::new(args).await,
        Command::Mv(args) => cli::workspace_changes::mv(args).await,
        Command::Rm(args) => cli::workspace_changes::rm(args).await,
        Command::Rename(args) => cli::language_edits::rename(args).await,
        Command::Format(args) => cli::language_edits::format(args).await,
        Command::Actions(args) => cli::language_edits::actions(args).await,
        Command::Symbols(args) => cli::language_edits::symbols(args).await,
        Command::Changes(args) => cli::git::changes(args).await,
    }
}

/// `cotype relay`: serves until Ctrl-C, SIGTERM or SIGHUP.
async fn relay(args: RelayArgs) -> anyhow::Result<()> {
    let RelayArgs {
        listen,
        tls_cert,
        tls_key,
        max_participants,
        max_pending,
        max_connections,
        max_connections_per_ip,
        sessions_per_ip_per_minute,
        joins_per_ip_per_minute,
        max_queued_mib,
        max_frame,
        metrics,
        ssh_listen,
        redis,
        node_name,
        drain_timeout,
    } = args;
    let tls = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => Some(cotype::net::server_tls_config(&cert, &key)?),
        _ => None,
    };
    // Each connection is a file descriptor: take all the system allows.
    let fd_limit = cotype::relay::limits::raise_fd_limit();
    let defaults = RelayConfig::default();
    let max_connections = max_connections.unwrap_or(defaults.max_connections);
    if let Some(limit) = fd_limit
        && max_connections as u64 + cotype::relay::limits::RESERVED_FDS > limit
    {
        eprintln!(
            "warning: --max-connections {max_connections} leaves too few of the {limit} open files allowed; raise `ulimit -n`"
        );
    }
    let relay = Relay::new(RelayConfig {
        max_participants,
        max_pending,
        max_connections,
        max_connections_per_ip,
        sessions_per_ip_per_minute,
        joins_per_ip_per_minute,
        total_queue_bytes: max_queued_mib.saturating_mul(1 << 20),
        max_frame,
        ..defaults
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    if let Some(redis_url) = &redis {
        let node_name = node_name.unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "relay".into());
            format!("{host}-{}", listen.port())
        });
        relay
            .join_cluster(cotype::relay::cluster::ClusterConfig {
                redis_url: redis_url.clone(),
                node_name: node_name.clone(),
            })
            .await?;
        eprintln!("cotype relay node {node_name} in the cluster at {redis_url}");
    }
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
    if let Some(ssh_listen) = ssh_listen {
        let key_path = directories::ProjectDirs::from("dev", "cotype", "cotype")
            .map(|dirs| {
                dirs.state_dir()
                    .unwrap_or_else(|| dirs.data_local_dir())
                    .join("relay-ssh-host-key")
            })
            .context("no state folder for the relay's SSH host key")?;
        let host_key = cotype::crypto::ssh::load_or_create_host_key(&key_path)?;
        let ssh_listener = tokio::net::TcpListener::bind(ssh_listen)
            .await
            .with_context(|| format!("cannot listen on {ssh_listen}"))?;
        eprintln!(
            "SSH jump host on {} (host key {})",
            ssh_listener.local_addr()?,
            cotype::crypto::ssh::fingerprint(host_key.public_key())
        );
        tokio::spawn(relay.clone().serve_ssh(ssh_listener, host_key));
    }
    let serving = relay.clone();
    tokio::select! {
        result = serving.serve(listener, tls) => result?,
        _ = shutdown_signal() => {
            if redis.is_some() {
                drain(&relay, Duration::from_secs(drain_timeout)).await;
            } else {
                eprintln!("cotype relay stopping");
            }
        }
    }
    Ok(())
}

/// How long a draining node keeps saying so on /healthz at least.
const DRAIN_NOTICE: Duration = Duration::from_secs(2);

/// A cluster node's exit: members are told to move to other nodes; it exits when none
/// is left (but not before `DRAIN_NOTICE`), after `timeout`, or at a second signal.
async fn drain(relay: &Relay, timeout: Duration) {
    eprintln!("cotype relay draining: members move to other nodes (a second signal stops at once)");
    relay.drain();
    let gone = async {
        // /healthz answers 503 for a while even when everyone moved at once, so a
        // balancer that polls it sees the drain instead of a node that just vanished.
        tokio::time::sleep(DRAIN_NOTICE.min(timeout)).await;
        while relay.open_connections() > 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::select! {
        _ = gone => eprintln!("cotype relay drained"),
        _ = tokio::time::sleep(timeout) => eprintln!("cotype relay stopping: drain timeout reached"),
        _ = shutdown_signal() => eprintln!("cotype relay stopping"),
    }
    relay.leave_cluster().await;
}

/// `cotype host`: starts the embedded relay unless `--relay` names one, the host session
/// against it, and the host's own editor (or, `--headless`, the console on stdin).
async fn host(args: HostArgs) -> anyhow::Result<()> {
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
        terminals,
        terminal_size,
        terminal_scrollback,
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
        name: name.clone().unwrap_or_else(cli::headless::default_name),
        approval,
        trust_project,
    })
    .await?;
    let mut session = session;
    session.set_terminal_options(cotype::host::terminals::TerminalOptions {
        cols: terminal_size.0,
        rows: terminal_size.1,
        scrollback: terminal_scrollback,
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

/// `cotype demo`: a host on a copy of the demo project with a scripted partner, joined
/// in the editor.
async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    let DemoArgs {
        look: LookArgs { keymap, theme },
        name,
        speed,
        task_seconds,
    } = args;
    let demo = cotype::demo::start(cotype::demo::DemoOptions {
        partner: cotype::demo::partner::PartnerOptions {
            speed,
            // Half a second at least; a value that is no duration keeps the default.
            task_period: Duration::try_from_secs_f64(task_seconds)
                .unwrap_or(cotype::demo::partner::TASK_PERIOD)
                .max(Duration::from_millis(500)),
            ..Default::default()
        },
        ..Default::default()
    })
    .await?;
    eprintln!(
        "cotype demo: a copy of the project is in {} (removed when the demo ends).",
        demo.project_root().display()
    );
    let options = cotype::tui::run::JoinOptions {
        name,
        // Ada is the one to watch; any key of your own stops following her.
        follow: Some(cotype::demo::partner::PartnerOptions::default().name),
        keymap,
        theme,
        no_mouse: false,
        // Short enough for 80 columns with the keys added.
        intro: Some("Ada is a scripted partner working on this project".into()),
    };
    let result = cotype::tui::run::join(&demo.link, options).await;
    let root = demo.project_root().display().to_string();
    drop(demo);
    eprintln!("cotype demo: ended; {root} is removed.");
    match result {
        Ok(()) => Ok(()),
        Err(cotype::tui::run::RunError::Client(error)) => Err(error.into()),
        Err(error) => Err(error.into()),
    }
}

/// `cotype join`: the editor in the session behind the link.
async fn join(args: JoinArgs) -> anyhow::Result<()> {
    let JoinArgs {
        link,
        follow,
        look: LookArgs { keymap, theme },
        no_mouse,
        name,
        insecure,
    } = args;
    let options = cotype::tui::run::JoinOptions {
        name,
        follow,
        keymap,
        theme,
        no_mouse,
        intro: None,
    };
    run_join(link, insecure, options).await
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ApproveArg {
    Auto,
    Ask,
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

/// Resolves on Ctrl-C, SIGTERM or SIGHUP. The handlers are installed when this is called,
/// not when first awaited: a signal that comes right after the host printed its link still
/// ends it cleanly.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let kinds = [
            SignalKind::interrupt(),
            SignalKind::terminate(),
            SignalKind::hangup(),
        ];
        let mut signals: Vec<_> = kinds.into_iter().filter_map(|k| signal(k).ok()).collect();
        async move {
            if signals.is_empty() {
                return std::future::pending().await;
            }
            let received = signals.iter_mut().map(|s| Box::pin(s.recv()));
            futures_util::future::select_all(received).await;
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
