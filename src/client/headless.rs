//! The headless commands' side of the client: one-shot actions for scripts and tests
//! (`cotype edit`), driven through the same session and driver as the TUI, and what
//! `cotype ls/cat/search/hover/peek/definition/refs/edit` print. Printing is plain
//! writes to stdout and stderr: nothing here knows a terminal.

use std::io::Write;
use std::time::Duration;

use crate::client::ClientError;
use crate::client::driver::{Driver, apply};
use crate::client::intel::{Definitions, HoverText, Peeked};
use crate::client::session::{Session, SessionEvent};
use crate::protocol::message::{FileEntry, ReferenceHit, TextLocation};
use crate::protocol::search::{SearchHit, SearchSummary};
use crate::text::{LineCol, Operation, position};

/// What `cotype edit` changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EditAction {
    Insert(String),
    Delete(usize),
}

/// Runs the driver until `done` says the session reached the wanted state.
pub async fn run_until(
    driver: &mut Driver,
    session: &mut Session,
    limit: Duration,
    mut done: impl FnMut(&mut Session, Option<&SessionEvent>) -> Result<bool, ClientError>,
) -> Result<(), ClientError> {
    let deadline = tokio::time::Instant::now() + limit;
    driver.flush(session).await;
    if done(session, None)? {
        return Ok(());
    }
    loop {
        let event = tokio::time::timeout_at(deadline, driver.next())
            .await
            .map_err(|_| ClientError::HostTimeout)?;
        if let Some(fatal) = apply(session, event) {
            return Err(fatal);
        }
        while let Some(event) = session.next_event() {
            if done(session, Some(&event))? {
                driver.flush(session).await;
                return Ok(());
            }
        }
        if done(session, None)? {
            driver.flush(session).await;
            return Ok(());
        }
        driver.flush(session).await;
    }
}

/// Opens `path`, waiting for its text.
pub async fn open(
    driver: &mut Driver,
    session: &mut Session,
    path: &str,
) -> Result<(), ClientError> {
    let path = &crate::protocol::message::normal_path(path);
    session.open_document(path);
    run_until(
        driver,
        session,
        crate::client::HOST_TIMEOUT,
        |session, event| match event {
            Some(SessionEvent::Failed { message, .. }) => Err(ClientError::Host(message.clone())),
            _ => Ok(session.documents.contains_key(path)),
        },
    )
    .await
}

/// Makes one edit at a 1-based `line:column` (column in characters), waits until the
/// host has it, and saves if asked. Returns the revision the document reached.
pub async fn edit(
    driver: &mut Driver,
    session: &mut Session,
    path: &str,
    at: LineCol,
    action: &EditAction,
    save: bool,
) -> Result<u64, ClientError> {
    let path = &crate::protocol::message::normal_path(path);
    open(driver, session, path).await?;
    let document = &session.documents[path];
    if document.read_only {
        return Err(ClientError::Host(
            "you are read-only in this session: the host did not let you edit".into(),
        ));
    }
    let rope = &document.rope;
    let index = one_based_position(rope, at).map_err(ClientError::Host)?;
    let op = match action {
        EditAction::Insert(text) => Operation::insert(rope.len_chars(), index, text),
        EditAction::Delete(count) => {
            if index + count > rope.len_chars() {
                return Err(ClientError::Host(format!(
                    "cannot delete {count} characters at {}:{}: the file ends {} characters later",
                    at.line,
                    at.col,
                    rope.len_chars() - index
                )));
            }
            Operation::delete(rope.len_chars(), index..index + count)
        }
    }
    .map_err(|e| ClientError::Host(e.to_string()))?;
    session
        .local_edit(path, op)
        .map_err(|e| ClientError::Host(e.to_string()))?;
    run_until(
        driver,
        session,
        crate::client::HOST_TIMEOUT,
        |session, event| match event {
            Some(SessionEvent::EditRefused { reason, .. }) => {
                Err(ClientError::Host(reason.clone()))
            }
            _ => Ok(session.is_synced(path)),
        },
    )
    .await?;
    if save {
        session.save(path);
        let mut saved = false;
        run_until(
            driver,
            session,
            crate::client::HOST_TIMEOUT,
            |_, event| match event {
                Some(SessionEvent::Saved { .. }) => {
                    saved = true;
                    Ok(true)
                }
                Some(SessionEvent::Failed { message, .. }) => {
                    Err(ClientError::Host(message.clone()))
                }
                _ => Ok(saved),
            },
        )
        .await?;
    }
    Ok(session.documents[path].ot.revision())
}

/// A char index from a 1-based line and column, or why it is outside the file.
pub fn one_based_position(rope: &ropey::Rope, at: LineCol) -> Result<usize, String> {
    let lines = rope.len_lines();
    if at.line == 0 || at.col == 0 {
        return Err(format!(
            "{}:{} — lines and columns start at 1",
            at.line, at.col
        ));
    }
    if at.line > lines {
        return Err(format!(
            "line {} is outside the file, which has {lines} lines",
            at.line
        ));
    }
    let line_start = rope.line_to_char(at.line - 1);
    let line_len = position::line_content_chars(rope, at.line - 1);
    if at.col > line_len + 1 {
        return Err(format!(
            "column {} is outside line {}, which has {line_len} characters",
            at.col, at.line
        ));
    }
    Ok(line_start + at.col - 1)
}

// ----- what the headless commands print (stdout for results, stderr for notes)

/// Said on stderr when the host answered from syntax alone.
pub const SYNTACTIC_NOTE: &str =
    "cotype: note: answered from syntax alone; the host has no language server for this file";

fn written(result: std::io::Result<()>) -> Result<(), ClientError> {
    result.map_err(ClientError::Output)
}

/// `cotype ls`: one shared path a line.
pub fn print_files(out: &mut impl Write, files: &[FileEntry]) -> Result<(), ClientError> {
    for file in files {
        written(writeln!(out, "{}", file.path))?;
    }
    written(out.flush())
}

/// `cotype search`: the matches sorted by place (batches come from several threads on the
/// host; sorted, the output is stable), as `rg --vimgrep` prints them or one JSON object
/// a line, then on stderr why some were left out, if they were.
pub fn print_search(
    out: &mut impl Write,
    mut hits: Vec<SearchHit>,
    summary: &SearchSummary,
    json: bool,
) -> Result<(), ClientError> {
    hits.sort_by(|a, b| (&a.path, a.line, a.column).cmp(&(&b.path, b.line, b.column)));
    for hit in &hits {
        if json {
            serde_json::to_writer(&mut *out, hit).map_err(|e| ClientError::Output(e.into()))?;
            written(writeln!(out))?;
        } else {
            written(writeln!(
                out,
                "{}:{}:{}:{}",
                hit.path, hit.line, hit.column, hit.text
            ))?;
        }
    }
    written(out.flush())?;
    if let Some(notice) = summary.notice() {
        eprintln!("cotype: {notice}");
    }
    Ok(())
}

/// `cotype hover`: the documentation as the host wrote it.
pub fn print_hover(out: &mut impl Write, hover: Option<HoverText>) -> Result<(), ClientError> {
    match hover {
        Some(hover) => {
            if hover.syntactic {
                eprintln!("{SYNTACTIC_NOTE}");
            }
            written(writeln!(out, "{}", hover.markdown.trim()))
        }
        None => {
            eprintln!("cotype: nothing to show there");
            Ok(())
        }
    }
}

/// `cotype peek`: each definition's place, then its lines; a blank line between them.
pub fn print_peek(out: &mut impl Write, peeked: &Peeked) -> Result<(), ClientError> {
    if peeked.syntactic {
        eprintln!("{SYNTACTIC_NOTE}");
    }
    if peeked.views.is_empty() {
        eprintln!("cotype: no definition found there");
    }
    for (n, view) in peeked.views.iter().enumerate() {
        if n > 0 {
            written(writeln!(out))?;
        }
        written(writeln!(out, "{}", location_line(&view.location)))?;
        for line in &view.lines {
            written(writeln!(out, "{line}"))?;
        }
    }
    written(out.flush())
}

/// `cotype definition`: one place a line.
pub fn print_definitions(out: &mut impl Write, found: &Definitions) -> Result<(), ClientError> {
    if found.syntactic {
        eprintln!("{SYNTACTIC_NOTE}");
    }
    if found.locations.is_empty() {
        eprintln!("cotype: no definition found there");
    }
    for location in &found.locations {
        written(writeln!(out, "{}", location_line(location)))?;
    }
    written(out.flush())
}

/// `cotype refs`: each use's place and its line.
pub fn print_references(
    out: &mut impl Write,
    references: &[ReferenceHit],
) -> Result<(), ClientError> {
    if references.is_empty() {
        eprintln!("cotype: no references found there");
    }
    for reference in references {
        written(writeln!(
            out,
            "{}: {}",
            location_line(&reference.location),
            reference.context_line.trim()
        ))?;
    }
    written(out.flush())
}

/// `cotype edit`: on stderr, the revision the edit made.
pub fn print_edited(path: &str, revision: u64, saved: bool) {
    eprintln!(
        "{path}: edit applied at revision {revision}{}",
        if saved { ", saved" } else { "" }
    );
}

/// `path:line:col`, 1-based, as the place arguments are written.
pub fn location_line(location: &TextLocation) -> String {
    let start = location.range.start;
    let outside = if location.external {
        " (outside the shared folder)"
    } else {
        ""
    };
    format!(
        "{}:{}:{}{outside}",
        location.path,
        start.line + 1,
        start.col + 1
    )
}
