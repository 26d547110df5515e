//! One-shot participant actions for scripts and tests (`cotype edit`), driven through
//! the same session and driver as the TUI.

use std::time::Duration;

use crate::client::ClientError;
use crate::client::driver::{Driver, apply};
use crate::client::session::{Session, SessionEvent};
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
