//! The headless commands that change code through the host's language server (`rename`,
//! `format`, `actions`) and `symbols`. Each joins, asks the host once (twice for `actions --apply`),
//! prints every change as `path:line:column` and exits 1 when the server could not make
//! it (the host's sentence on stderr says why).

use cotype::client::ClientError;
use cotype::client::request::{ApplyCodeAction, CodeActions, Format, Rename};
use cotype::protocol::language::{self, EditSummary, RenameRequest};
use cotype::protocol::message::{CURRENT_TEXT, TextPosition};

use super::headless::{NoMatch, ParticipantArgs, parse_place};
use super::links::{Usage, link_and};
use super::workspace_changes::{join, link_and_two};

#[derive(clap::Args)]
pub struct RenameArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    /// PATH:LINE:COL of the symbol, 1-based.
    #[arg(value_name = "PATH:LINE:COL")]
    at: Option<String>,
    #[arg(value_name = "NEW_NAME")]
    new_name: Option<String>,
    /// Write every changed file to the host's disk (otherwise the changes are shared and
    /// unsaved, like typing).
    #[arg(long)]
    save: bool,
    #[command(flatten)]
    participant: ParticipantArgs,
}

#[derive(clap::Args)]
pub struct FormatArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    #[arg(value_name = "PATH")]
    path: Option<String>,
    /// Write the file to the host's disk afterwards.
    #[arg(long)]
    save: bool,
    #[command(flatten)]
    participant: ParticipantArgs,
}

#[derive(clap::Args)]
pub struct ActionsArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    /// PATH:LINE:COL, 1-based.
    #[arg(value_name = "PATH:LINE:COL")]
    at: Option<String>,
    /// Apply the action numbered N in the list (from 1).
    #[arg(long, value_name = "N")]
    apply: Option<usize>,
    /// With --apply: write every changed file to the host's disk afterwards.
    #[arg(long, requires = "apply")]
    save: bool,
    #[command(flatten)]
    participant: ParticipantArgs,
}

/// A place as the host has it now: the headless commands have no document open.
fn place_now(text: &str) -> anyhow::Result<TextPosition> {
    let mut at = parse_place(text).map_err(Usage)?;
    at.revision = CURRENT_TEXT;
    Ok(at)
}

/// The host's refusal (the server cannot do it there) is exit code 1, not 5.
fn refused(error: ClientError) -> anyhow::Error {
    match error {
        ClientError::Host(message) => anyhow::anyhow!(message),
        other => other.into(),
    }
}

fn print_places(summary: &EditSummary) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for place in &summary.places {
        writeln!(out, "{}:{}:{}", place.path, place.line, place.column)?;
    }
    out.flush()?;
    Ok(())
}

fn say_done(what: &str, summary: &EditSummary, save: bool) {
    let files = summary.files;
    let plural = if files == 1 { "" } else { "s" };
    if save {
        eprintln!(
            "cotype: {what} in {files} file{plural}; saved {}",
            summary.saved
        );
    } else {
        eprintln!("cotype: {what} in {files} file{plural} (shared, not saved: add --save)");
    }
}

/// `cotype rename`: renames the symbol at a place everywhere the host's server finds it.
pub async fn rename(args: RenameArgs) -> anyhow::Result<()> {
    let (link, at, new_name) = link_and_two(
        args.link,
        args.at,
        args.new_name,
        ["PATH:LINE:COL", "NEW_NAME"],
        args.participant.insecure,
    )?;
    let at = place_now(&at)?;
    let mut client = join(&link, &args.participant).await?;
    let renamed = client
        .request(Rename(RenameRequest {
            at,
            new_name,
            save: args.save,
        }))
        .await;
    client.leave().await;
    let summary = renamed.map_err(refused)?;
    print_places(&summary)?;
    say_done("renamed", &summary, args.save);
    Ok(())
}

/// `cotype format`: formats a file with its language server on the host.
pub async fn format(args: FormatArgs) -> anyhow::Result<()> {
    let (link, path) = link_and(args.link, args.path, "PATH", args.participant.insecure)?;
    let path = cotype::protocol::message::normal_path(&path);
    let mut client = join(&link, &args.participant).await?;
    let formatted = client
        .request(Format {
            path: path.clone(),
            save: args.save,
        })
        .await;
    client.leave().await;
    let summary = formatted.map_err(refused)?;
    if summary.files == 0 {
        eprintln!("cotype: {path} is already formatted");
        return Ok(());
    }
    print_places(&summary)?;
    say_done("formatted", &summary, args.save);
    Ok(())
}

/// `cotype actions`: the server's code actions at a place, numbered; `--apply N` applies
/// one. Exit 1 when there are none.
pub async fn actions(args: ActionsArgs) -> anyhow::Result<()> {
    let (link, at) = link_and(
        args.link,
        args.at,
        "PATH:LINE:COL",
        args.participant.insecure,
    )?;
    let at = place_now(&at)?;
    let mut client = join(&link, &args.participant).await?;
    let listed = client.request(CodeActions(at.clone())).await;
    let actions = match listed {
        Ok(actions) => actions,
        Err(error) => {
            client.leave().await;
            return Err(refused(error));
        }
    };
    let Some(number) = args.apply else {
        client.leave().await;
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for (index, action) in actions.iter().enumerate() {
            writeln!(out, "{}", action_line(index + 1, action))?;
        }
        out.flush()?;
        if actions.is_empty() {
            return Err(NoMatch.into());
        }
        return Ok(());
    };
    let Some(action) = number.checked_sub(1).and_then(|index| actions.get(index)) else {
        client.leave().await;
        return Err(Usage(format!(
            "there are {} actions there; --apply takes a number from 1 to {}",
            actions.len(),
            actions.len()
        ))
        .into());
    };
    let applied = client
        .request(ApplyCodeAction(language::ApplyCodeAction {
            at,
            title: action.title.clone(),
            save: args.save,
        }))
        .await;
    client.leave().await;
    let summary = applied.map_err(refused)?;
    print_places(&summary)?;
    say_done(
        &format!("applied \u{201c}{}\u{201d}", action.title),
        &summary,
        args.save,
    );
    Ok(())
}

/// `3: [fix] Change it to be mutable (quickfix)`.
fn action_line(number: usize, action: &language::CodeActionItem) -> String {
    let mut line = format!("{number}: ");
    if action.fix {
        line.push_str("[fix] ");
    }
    line.push_str(&action.title);
    if let Some(kind) = action.kind.as_deref().filter(|kind| !kind.is_empty()) {
        line.push_str(&format!(" ({kind})"));
    }
    if !action.applicable {
        line.push_str(" [an editor command; not applied by cotype]");
    }
    line
}

#[derive(clap::Args)]
pub struct SymbolsArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    /// Only symbols whose name contains QUERY (the server's own matching for the
    /// workspace; case-insensitive for a file).
    #[arg(value_name = "QUERY")]
    query: Option<String>,
    /// One file's outline instead of the workspace's symbols.
    #[arg(long, value_name = "PATH")]
    file: Option<String>,
    #[command(flatten)]
    participant: ParticipantArgs,
}

/// `cotype symbols`: `path:line:column:kind:name`, one a line; exit 1 when none.
pub async fn symbols(args: SymbolsArgs) -> anyhow::Result<()> {
    use super::links::{looks_like_link, parse_link};
    // A lone positional that is not a link is the query (the link from COTYPE_LINK).
    let (link, query) = match (args.link, args.query) {
        (Some(only), None) if !looks_like_link(&only) => (None, Some(only)),
        pair => pair,
    };
    let link = parse_link(link.as_deref(), args.participant.insecure)?;
    let mut client = join(&link, &args.participant).await?;
    let path = args
        .file
        .as_deref()
        .map(cotype::protocol::message::normal_path);
    let query = query.unwrap_or_default();
    let listed = client
        .request(cotype::client::request::Symbols {
            path: path.clone(),
            query: query.clone(),
        })
        .await;
    client.leave().await;
    let mut symbols = listed.map_err(refused)?;
    if path.is_some() && !query.is_empty() {
        let query = query.to_lowercase();
        symbols.retain(|symbol| symbol.name.to_lowercase().contains(&query));
    }
    use std::io::Write;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for symbol in &symbols {
        let start = symbol.location.range.start;
        writeln!(
            out,
            "{}:{}:{}:{}:{}",
            symbol.location.path,
            start.line + 1,
            start.col + 1,
            symbol.kind,
            symbol.name
        )?;
    }
    out.flush()?;
    if symbols.is_empty() {
        return Err(NoMatch.into());
    }
    Ok(())
}
