//! The command line: parses arguments and hands over to a role. Nothing else lives here.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use cotype::client::ClientError;

mod cli;

use cli::headless::{self, NoMatch, PLACE_HELP};
use cli::links::Usage;

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
    Relay(cli::relay::RelayArgs),
    /// Share a folder and edit it in the terminal UI with the people you invite. With
    /// --headless, serve only: the link is the first line of standard output.
    #[command(
        after_help = "Examples:\n  cotype host .\n  cotype host ~/src/app --relay relay.example.com --hide 'secrets/**'\n  cotype host . --headless --approve auto\n\nIn the UI: alt-l shows the link and the verification code, alt-m the people (admit, read-only, remove), alt-shift-f asks everyone to follow you, ctrl-q ends the session.\n\nHeadless, standard input takes: who | admit ID [read-only] | refuse ID | role ID editor|read-only |\nremove ID | follow | unsaved | end. end, Ctrl-C or SIGTERM end the session at once."
    )]
    Host(cli::host::HostArgs),
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
    Join(cli::editor::JoinArgs),
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
    Demo(cli::editor::DemoArgs),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    // While the editor owns the terminal, a log line on stderr would tear the screen.
    cotype::logging::init(match &cli.command {
        Command::Join(_) | Command::Demo(_) => true,
        Command::Host(args) => !args.headless,
        _ => false,
    });
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
        Command::Relay(args) => cli::relay::relay(args).await,
        Command::Host(args) => cli::host::host(args).await,
        Command::Demo(args) => cli::editor::demo(args).await,
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
        Command::Join(args) => cli::editor::join(args).await,
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
