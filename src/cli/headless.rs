//! The headless commands (`ls`, `edit`, `cat`, `search`, `hover`, `peek`, `definition`,
//! `refs`): their arguments and one function each, which joins, asks, and prints what
//! `cotype::client::headless` formats.

use cotype::client::Participant;
use cotype::client::headless::{self, EditAction};
use cotype::protocol::message::TextPosition;
use cotype::protocol::search::SearchQuery;
use cotype::text::LineCol;

use super::links::{Usage, link_and, parse_link};

/// A search that found nothing: exit code 1 and no message, as rg.
#[derive(Debug, thiserror::Error)]
#[error("no match")]
pub struct NoMatch;

#[derive(clap::Args)]
pub struct ParticipantArgs {
    /// Your name as others see it.
    #[arg(long, default_value_t = default_name())]
    pub(crate) name: String,
    /// Accept an http:// link to a relay that is not on this machine.
    #[arg(long)]
    pub(crate) insecure: bool,
}

/// Who you are when `--name` is not given: your login name.
pub fn default_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "guest".into())
}

#[derive(clap::Args)]
pub struct LsArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    #[command(flatten)]
    participant: ParticipantArgs,
}

#[derive(clap::Args)]
pub struct EditArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    /// The file, by its path inside the shared folder.
    #[arg(value_name = "PATH")]
    path: Option<String>,
    /// 1-based LINE:COL, the column counted in characters.
    #[arg(long, value_parser = parse_line_col)]
    at: LineCol,
    #[command(flatten)]
    change: EditChange,
    /// Ask the host to write the file to disk afterwards.
    #[arg(long)]
    save: bool,
    #[command(flatten)]
    participant: ParticipantArgs,
}

/// A 1-based `LINE:COL` position (column in characters).
fn parse_line_col(text: &str) -> Result<LineCol, String> {
    let (line, col) = text
        .split_once(':')
        .ok_or_else(|| format!("'{text}' is not LINE:COL"))?;
    let number = |part: &str| {
        part.parse::<usize>()
            .map_err(|_| format!("'{text}' is not LINE:COL (numbers from 1)"))
    };
    Ok(LineCol {
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
pub struct CatArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    /// The file, by its path inside the shared folder.
    #[arg(value_name = "PATH")]
    path: Option<String>,
    /// The bytes saved on the host's disk, not the text everyone sees now (the two
    /// differ while someone has unsaved edits).
    #[arg(long)]
    disk: bool,
    #[command(flatten)]
    participant: ParticipantArgs,
}

/// How a pattern matches, as rg spells it: shared by `search` and `replace`.
#[derive(clap::Args)]
pub struct MatchArgs {
    /// Take PATTERN (and a replacement) literally, not as a regular expression.
    #[arg(short = 'F', long)]
    fixed_strings: bool,
    #[arg(short = 'i', long)]
    ignore_case: bool,
    /// Only matches surrounded by word boundaries.
    #[arg(short = 'w', long)]
    word_regexp: bool,
    /// Only files matching GLOB, or not matching '!GLOB' (repeatable). Never reaches
    /// files the host hides or ignores.
    #[arg(short = 'g', long = "glob", value_name = "GLOB")]
    globs: Vec<String>,
}

impl MatchArgs {
    /// The query for `pattern`, stopping after `max_matches`.
    pub fn query(self, pattern: String, max_matches: u32) -> SearchQuery {
        SearchQuery {
            pattern,
            fixed_strings: self.fixed_strings,
            ignore_case: self.ignore_case,
            whole_word: self.word_regexp,
            globs: self.globs,
            max_matches,
        }
    }
}

#[derive(clap::Args)]
pub struct SearchArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    /// A regular expression (Rust regex syntax, as rg), or a literal with -F.
    #[arg(value_name = "PATTERN")]
    pattern: Option<String>,
    #[command(flatten)]
    matching: MatchArgs,
    /// Stop after N matches in all (the host allows at most 100,000).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    max_count: u32,
    /// One JSON object per match and line: {"path","line","column","text"}.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    participant: ParticipantArgs,
}

pub const PLACE_HELP: &str = "\
LINE and COL are 1-based; COL counts characters. Answers come from the host's language
server for the file's current text, or from its syntax alone (said on stderr).

Examples:
  cotype hover - src/lib.rs:12:8 < link.txt
  cotype peek - src/lib.rs:12:8 < link.txt";

/// The arguments of the commands that ask about one place in a file.
#[derive(clap::Args)]
pub struct PlaceArgs {
    /// The session link, or '-' to read it from stdin; left out, COTYPE_LINK.
    link: Option<String>,
    /// PATH:LINE:COL, 1-based. Parsed after clap: a link in its place (LINK given alone)
    /// must not be echoed back by clap's error, secret and all.
    #[arg(value_name = "PATH:LINE:COL")]
    at: Option<String>,
    #[command(flatten)]
    participant: ParticipantArgs,
}

/// `src/lib.rs:3:7` (1-based) as the wire's 0-based position; the path may hold colons.
fn parse_place(text: &str) -> Result<TextPosition, String> {
    let mut parts = text.rsplitn(3, ':');
    let (Some(col), Some(line), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(format!(
            "expected PATH:LINE:COL, like src/lib.rs:3:7, not {text:?}"
        ));
    };
    let number = |what: &str, value: &str| match value.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n - 1),
        _ => Err(format!("{what} must be a number from 1, not {value:?}")),
    };
    if path.is_empty() {
        return Err("the path before LINE:COL is empty".into());
    }
    Ok(TextPosition {
        path: path.to_owned(),
        // The headless commands do not open documents: the host answers for its text.
        revision: 0,
        position: LineCol {
            line: number("LINE", line)?,
            col: number("COL", col)?,
        },
    })
}

/// A headless command on a session whose host admits people one by one would otherwise
/// wait in silence.
pub fn say_waiting() {
    eprintln!("cotype: waiting for the host to let you in…");
}

async fn join_at(place: PlaceArgs) -> anyhow::Result<(Participant, TextPosition)> {
    let (link, at) = link_and(
        place.link,
        place.at,
        "PATH:LINE:COL",
        place.participant.insecure,
    )?;
    let at = parse_place(&at).map_err(Usage)?;
    let client =
        Participant::join_telling(&link, &place.participant.name, &mut say_waiting).await?;
    Ok((client, at))
}

/// Standard output, buffered, for the headless commands' results.
fn stdout() -> std::io::BufWriter<std::io::StdoutLock<'static>> {
    std::io::BufWriter::new(std::io::stdout().lock())
}

/// `cotype ls`: the shared files, one path per line.
pub async fn ls(args: LsArgs) -> anyhow::Result<()> {
    let link = parse_link(args.link.as_deref(), args.participant.insecure)?;
    let mut client =
        Participant::join_telling(&link, &args.participant.name, &mut say_waiting).await?;
    let files = client.list_files().await?;
    headless::print_files(&mut stdout(), &files)?;
    Ok(())
}

/// `cotype edit`: one edit, confirmed by the host (and saved, if asked).
pub async fn edit(args: EditArgs) -> anyhow::Result<()> {
    let EditArgs {
        link,
        path,
        at,
        change,
        save,
        participant,
    } = args;
    let (link, path) = link_and(link, path, "PATH", participant.insecure)?;
    let (mut driver, mut session) =
        cotype::client::driver::Driver::join_telling(&link, &participant.name, &mut say_waiting)
            .await?;
    let action = match (change.insert, change.delete) {
        (Some(text), _) => EditAction::Insert(text),
        (None, Some(count)) => EditAction::Delete(count),
        (None, None) => unreachable!("clap requires one of --insert and --delete"),
    };
    let revision = headless::edit(&mut driver, &mut session, &path, at, &action, save).await?;
    headless::print_edited(&path, revision, save);
    Ok(())
}

/// `cotype cat`: a shared file's exact bytes, as everyone sees it or as saved on disk.
pub async fn cat(args: CatArgs) -> anyhow::Result<()> {
    let (link, path) = link_and(args.link, args.path, "PATH", args.participant.insecure)?;
    let mut client =
        Participant::join_telling(&link, &args.participant.name, &mut say_waiting).await?;
    let mut stdout = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
    if args.disk {
        client.read_saved_file(&path, &mut stdout).await?;
    } else {
        client.read_file(&path, &mut stdout).await?;
    }
    Ok(())
}

/// `cotype search`: matches in the shared files, as `rg --vimgrep` (or `--json`).
pub async fn search(args: SearchArgs) -> anyhow::Result<()> {
    let (link, pattern) = link_and(
        args.link,
        args.pattern,
        "PATTERN",
        args.participant.insecure,
    )?;
    let mut client =
        Participant::join_telling(&link, &args.participant.name, &mut say_waiting).await?;
    let query = args.matching.query(pattern, args.max_count);
    let mut hits = Vec::new();
    let summary = client
        .search(query, |batch| {
            hits.extend(batch);
            std::ops::ControlFlow::Continue(())
        })
        .await?;
    let found = !hits.is_empty();
    headless::print_search(&mut stdout(), hits, &summary, args.json)?;
    if !found {
        return Err(NoMatch.into());
    }
    Ok(())
}

/// `cotype hover`: what the language server says about the symbol at a place.
pub async fn hover(place: PlaceArgs) -> anyhow::Result<()> {
    let (mut client, at) = join_at(place).await?;
    let hover = client.hover(at).await?;
    headless::print_hover(&mut stdout(), hover)?;
    Ok(())
}

/// `cotype peek`: where the symbol is defined, with the lines around it.
pub async fn peek(place: PlaceArgs) -> anyhow::Result<()> {
    let (mut client, at) = join_at(place).await?;
    let peeked = client.peek(at).await?;
    headless::print_peek(&mut stdout(), &peeked)?;
    Ok(())
}

/// `cotype definition`: where the symbol is defined, as path:line:col.
pub async fn definition(place: PlaceArgs) -> anyhow::Result<()> {
    let (mut client, at) = join_at(place).await?;
    let found = client.definition(at).await?;
    headless::print_definitions(&mut stdout(), &found)?;
    Ok(())
}

/// `cotype refs`: every use of the symbol, as path:line:col: context.
pub async fn refs(place: PlaceArgs) -> anyhow::Result<()> {
    let (mut client, at) = join_at(place).await?;
    let references = client.references(at).await?;
    headless::print_references(&mut stdout(), &references)?;
    Ok(())
}
