//! The headless commands that change the shared folder: `replace` across the workspace,
//! and `new`, `mv`, `rm` for files and folders. Each joins, asks the host once, prints
//! what it did and exits like the others (5 when the host refuses).

use cotype::client::Participant;
use cotype::protocol::search::ReplaceRequest;

use super::headless::{MatchArgs, NoMatch, ParticipantArgs, say_waiting};
use super::links::{Usage, link_and, looks_like_link, parse_link};

#[derive(clap::Args)]
pub struct ReplaceArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    /// A regular expression (Rust regex syntax, as rg), or a literal with -F.
    #[arg(value_name = "PATTERN")]
    pattern: Option<String>,
    /// What each match becomes: `$1`, `${name}` name the pattern's groups (`$$` is a
    /// `$`); with -F it is taken literally.
    #[arg(value_name = "REPLACEMENT")]
    replacement: Option<String>,
    #[command(flatten)]
    matching: MatchArgs,
    /// Print what would change; change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write every changed file to the host's disk (otherwise the changes are shared and
    /// unsaved, like typing).
    #[arg(long)]
    save: bool,
    /// Refuse (change nothing) if there are more than N matches (at most 100,000).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_count: u32,
    #[command(flatten)]
    participant: ParticipantArgs,
}

/// The link and two more positionals, the link optional (as `link_and` for one).
fn link_and_two(
    first: Option<String>,
    second: Option<String>,
    third: Option<String>,
    names: [&str; 2],
    insecure: bool,
) -> anyhow::Result<(cotype::link::Link, String, String)> {
    let (link, a, b) = match (first, second, third) {
        (link, Some(a), Some(b)) => (link, a, b),
        (Some(a), Some(b), None) if !looks_like_link(&a) => (None, a, b),
        (Some(_), Some(_), None) => {
            return Err(Usage(format!("{} is missing after {}", names[1], names[0])).into());
        }
        _ => return Err(Usage(format!("{} and {} are missing", names[0], names[1])).into()),
    };
    Ok((parse_link(link.as_deref(), insecure)?, a, b))
}

async fn join(
    link: &cotype::link::Link,
    participant: &ParticipantArgs,
) -> anyhow::Result<Participant> {
    Ok(Participant::join_telling(link, &participant.name, &mut say_waiting).await?)
}

/// `cotype replace`: every change as `path:line:column:new line`, as
/// `rg --replace --vimgrep` prints it; exit 1 when nothing matched.
pub async fn replace(args: ReplaceArgs) -> anyhow::Result<()> {
    let (link, pattern, replacement) = link_and_two(
        args.link,
        args.pattern,
        args.replacement,
        ["PATTERN", "REPLACEMENT"],
        args.participant.insecure,
    )?;
    let mut client = join(&link, &args.participant).await?;
    let request = ReplaceRequest {
        query: args.matching.query(pattern, args.max_count),
        replacement,
        excluded: Vec::new(),
        dry_run: args.dry_run,
        save: args.save,
    };
    let (hits, summary) = client.replace(request).await?;
    client.leave().await;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for hit in &hits {
        use std::io::Write;
        writeln!(
            out,
            "{}:{}:{}:{}",
            hit.path, hit.line, hit.column, hit.after
        )?;
    }
    std::io::Write::flush(&mut out)?;
    for skipped in &summary.skipped {
        eprintln!("cotype: left alone: {skipped}");
    }
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let changes = plural(summary.changes, "match", "matches");
    let files = plural(summary.files, "file", "files");
    if summary.changes > 0 {
        if args.dry_run {
            eprintln!("cotype: would replace {changes} in {files} (dry run: nothing changed)");
        } else if args.save {
            eprintln!(
                "cotype: replaced {changes} in {files}; saved {}",
                summary.saved
            );
        } else {
            eprintln!("cotype: replaced {changes} in {files} (shared, not saved: add --save)");
        }
    }
    if summary.changes == 0 {
        return Err(NoMatch.into());
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct NewArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    /// The new file's (or folder's) path inside the shared folder; the folders above it
    /// are created as needed.
    #[arg(value_name = "PATH")]
    path: Option<String>,
    /// Create a folder, not a file.
    #[arg(long, conflicts_with = "content")]
    folder: bool,
    /// The new file's text (otherwise it is empty).
    #[arg(long, value_name = "TEXT")]
    content: Option<String>,
    #[command(flatten)]
    participant: ParticipantArgs,
}

/// `cotype new`: creates a file or a folder through the host.
pub async fn new(args: NewArgs) -> anyhow::Result<()> {
    let (link, path) = link_and(args.link, args.path, "PATH", args.participant.insecure)?;
    let mut client = join(&link, &args.participant).await?;
    let done = client
        .create_path(&path, args.folder, args.content.as_deref().unwrap_or(""))
        .await;
    client.leave().await;
    eprintln!("cotype: {}", done?);
    Ok(())
}

#[derive(clap::Args)]
pub struct MvArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    #[arg(value_name = "FROM")]
    from: Option<String>,
    /// The new path (not existing yet); folders above it are created as needed.
    #[arg(value_name = "TO")]
    to: Option<String>,
    #[command(flatten)]
    participant: ParticipantArgs,
}

/// `cotype mv`: renames or moves a file or a folder through the host.
pub async fn mv(args: MvArgs) -> anyhow::Result<()> {
    let (link, from, to) = link_and_two(
        args.link,
        args.from,
        args.to,
        ["FROM", "TO"],
        args.participant.insecure,
    )?;
    let mut client = join(&link, &args.participant).await?;
    let done = client.move_path(&from, &to).await;
    client.leave().await;
    eprintln!("cotype: {}", done?);
    Ok(())
}

#[derive(clap::Args)]
pub struct RmArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    /// The file or folder to delete (a folder with everything in it).
    #[arg(value_name = "PATH")]
    path: Option<String>,
    #[command(flatten)]
    participant: ParticipantArgs,
}

/// `cotype rm`: deletes a file or a folder through the host.
pub async fn rm(args: RmArgs) -> anyhow::Result<()> {
    let (link, path) = link_and(args.link, args.path, "PATH", args.participant.insecure)?;
    let mut client = join(&link, &args.participant).await?;
    let done = client.delete_path(&path).await;
    client.leave().await;
    eprintln!("cotype: {}", done?);
    Ok(())
}
