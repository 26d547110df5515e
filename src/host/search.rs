//! Workspace search for participants, with ripgrep's own crates, over exactly the files the
//! host shares.
//!
//! The files come from [`Workspace`]'s index, the same one that answers listings and reads,
//! so search cannot reach a file a participant could not open. Within those files it behaves
//! like `rg --vimgrep`: one result per match (several per line possible), 1-based line and
//! byte column, binary files skipped the way ripgrep skips them (stop at the first NUL byte),
//! `-g` globs with `!` excludes. One deliberate difference: in ripgrep a `-g` glob overrides
//! `.gitignore`; here a participant's globs only narrow the shared files, never widen them.
//! Symbolic links are not searched (their targets are, under their own names), as ripgrep
//! does without `-L`.
//!
//! Results stream in batches from several threads, so batches arrive in no fixed order; a
//! caller that wants a stable order sorts by (path, line, column).

use std::io;
use std::ops::ControlFlow;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use grep_matcher::Matcher;
use grep_regex::RegexMatcher;
use grep_searcher::{BinaryDetection, Searcher, SearcherBuilder, Sink, SinkMatch};
use ignore::overrides::{Override, OverrideBuilder};

use super::workspace::Workspace;
use crate::protocol::search::{SearchError, SearchHit, SearchQuery, SearchSummary, build_matcher};

/// Longest line text returned with a match, in chars; the line and column stay exact.
pub const MAX_MATCH_TEXT_CHARS: usize = 500;

/// Most matches in one batch: at [`MAX_MATCH_TEXT_CHARS`] each, a batch stays far below a
/// frame's size.
pub const MAX_BATCH_LEN: usize = 256;

/// How long a worker holds matches before sending them, so that many small files with a
/// match each do not become one frame per file.
const BATCH_DELAY: Duration = Duration::from_millis(20);

/// The current text of documents whose shared text differs from the disk (unsaved
/// edits), by path: search reads these instead of the file, so it finds what everyone
/// sees. Ropes clone in constant time, sharing their text.
pub type SharedTexts = std::collections::HashMap<String, ropey::Rope>;

/// Searches every shared file for `query`, handing matches to `on_batch` as they are found.
/// A file with unsaved edits is searched in its shared text from `texts`.
///
/// `on_batch` runs on the calling thread; returning `Break` ends the search early and the
/// summary counts what was delivered. Setting `cancel` (from any thread) ends it with
/// [`SearchError::Cancelled`].
pub fn search(
    workspace: &Workspace,
    query: &SearchQuery,
    texts: &SharedTexts,
    cancel: &AtomicBool,
    mut on_batch: impl FnMut(Vec<SearchHit>) -> ControlFlow<()>,
) -> Result<SearchSummary, SearchError> {
    let matcher = build_matcher(query)?;
    let globs = build_globs(workspace.root(), &query.globs)?;
    let files: Vec<String> = workspace
        .searchable_files()
        .into_iter()
        .filter(|path| globs_admit(&globs, path))
        .collect();
    let searcher = SearcherBuilder::new()
        .line_number(true)
        .binary_detection(BinaryDetection::quit(b'\0'))
        .build();
    let shared = Shared {
        workspace,
        texts,
        files: &files,
        next_file: AtomicUsize::new(0),
        files_searched: AtomicUsize::new(0),
        budget: AtomicUsize::new(query.max_matches as usize),
        truncated: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        cancel,
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(files.len())
        .max(1);
    let mut delivered = 0;
    std::thread::scope(|scope| {
        // Bounded, so a slow consumer (a network link) holds the workers back instead of
        // letting results pile up in memory.
        let (sender, receiver) = mpsc::sync_channel(64);
        for _ in 0..threads {
            let worker = Worker {
                shared: &shared,
                matcher: matcher.clone(),
                searcher: searcher.clone(),
                sender: sender.clone(),
            };
            scope.spawn(move || worker.run());
        }
        drop(sender);
        for batch in &receiver {
            if cancel.load(Ordering::Relaxed) {
                break;
            }
            delivered += batch.len();
            if on_batch(batch).is_break() {
                break;
            }
        }
        shared.stop.store(true, Ordering::Relaxed);
        // Dropping the receiver wakes any worker blocked on a full channel.
        drop(receiver);
    });
    if cancel.load(Ordering::Relaxed) {
        return Err(SearchError::Cancelled);
    }
    Ok(SearchSummary {
        matches: delivered as u64,
        files_searched: shared.files_searched.load(Ordering::Relaxed) as u64,
        truncated: shared.truncated.load(Ordering::Relaxed),
        limit: query.max_matches,
        cancelled: false,
    })
}

/// The `-g` globs of a query, relative to `root`; see [`globs_admit`].
pub fn build_globs(root: &Path, globs: &[String]) -> Result<Override, SearchError> {
    let mut builder = OverrideBuilder::new(root);
    for glob in globs {
        builder
            .add(glob)
            .map_err(|error| SearchError::InvalidGlob {
                glob: glob.clone(),
                reason: error.to_string(),
            })?;
    }
    builder.build().map_err(|error| SearchError::InvalidGlob {
        glob: globs.join(" "),
        reason: error.to_string(),
    })
}

/// Whether ripgrep's walk would reach `path` with these `-g` globs: no folder above it is
/// excluded, and the file itself is not.
pub fn globs_admit(globs: &Override, path: &str) -> bool {
    let folders = path.match_indices('/').map(|(end, _)| &path[..end]);
    let folder_excluded = folders
        .into_iter()
        .any(|folder| globs.matched(folder, true).is_ignore());
    !folder_excluded && !globs.matched(path, false).is_ignore()
}

/// What the workers share.
struct Shared<'a> {
    workspace: &'a Workspace,
    texts: &'a SharedTexts,
    files: &'a [String],
    next_file: AtomicUsize,
    files_searched: AtomicUsize,
    /// Matches still allowed before the cap.
    budget: AtomicUsize,
    truncated: AtomicBool,
    /// Set when the caller stopped listening or the cap was reached.
    stop: AtomicBool,
    cancel: &'a AtomicBool,
}

impl Shared<'_> {
    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.cancel.load(Ordering::Relaxed)
    }

    /// Takes one match from the budget; false when the cap is reached.
    fn take_one(&self) -> bool {
        let taken = self
            .budget
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        if !taken {
            self.truncated.store(true, Ordering::Relaxed);
            self.stop.store(true, Ordering::Relaxed);
        }
        taken
    }
}

struct Worker<'a> {
    shared: &'a Shared<'a>,
    matcher: RegexMatcher,
    searcher: Searcher,
    sender: mpsc::SyncSender<Vec<SearchHit>>,
}

impl Worker<'_> {
    fn run(mut self) {
        let shared = self.shared;
        let mut pending = Pending {
            matches: Vec::new(),
            since: None,
            sent_any: false,
        };
        while !shared.should_stop() {
            let Some(path) = shared
                .files
                .get(shared.next_file.fetch_add(1, Ordering::Relaxed))
            else {
                break;
            };
            // Judged again now, as for a read: the disk may have changed since the walk (a
            // file swapped for a link to a secret must not be followed).
            let disk_path = match shared.workspace.resolve(path) {
                Ok(disk_path) => disk_path,
                Err(error) => {
                    tracing::debug!(%path, %error, "skipped during search");
                    continue;
                }
            };
            shared.files_searched.fetch_add(1, Ordering::Relaxed);
            let mut sink = FileSink {
                path,
                shared,
                matcher: &self.matcher,
                sender: &self.sender,
                pending: &mut pending,
            };
            let result = match shared.texts.get(path.as_str()) {
                Some(text) => {
                    self.searcher
                        .search_reader(&self.matcher, RopeReader::new(text), &mut sink)
                }
                None => self
                    .searcher
                    .search_path(&self.matcher, disk_path, &mut sink),
            };
            if let Err(error) = result {
                // A file made unreadable since the walk: the others still count.
                tracing::debug!(%path, %error, "skipped during search");
            }
            // The first results go out at once, so the participant sees something quickly;
            // after that, matches from small files are gathered briefly.
            let ready = !pending.sent_any
                || pending
                    .since
                    .is_some_and(|since| since.elapsed() >= BATCH_DELAY);
            if !pending.matches.is_empty() && ready && !pending.send(&self.sender) {
                shared.stop.store(true, Ordering::Relaxed);
            }
        }
        if !pending.matches.is_empty() {
            pending.send(&self.sender);
        }
    }
}

/// A rope's bytes as a reader, chunk by chunk, so a document's shared text is searched
/// as it is, without a contiguous copy.
struct RopeReader<'a> {
    chunks: ropey::iter::Chunks<'a>,
    current: &'a [u8],
}

impl<'a> RopeReader<'a> {
    fn new(rope: &'a ropey::Rope) -> Self {
        RopeReader {
            chunks: rope.chunks(),
            current: &[],
        }
    }
}

impl std::io::Read for RopeReader<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.next() {
                Some(chunk) => self.current = chunk.as_bytes(),
                None => return Ok(0),
            }
        }
        let n = buffer.len().min(self.current.len());
        buffer[..n].copy_from_slice(&self.current[..n]);
        self.current = &self.current[n..];
        Ok(n)
    }
}

struct Pending {
    matches: Vec<SearchHit>,
    since: Option<Instant>,
    sent_any: bool,
}

impl Pending {
    /// False when the receiver is gone (the search is over).
    fn send(&mut self, sender: &mpsc::SyncSender<Vec<SearchHit>>) -> bool {
        self.since = None;
        self.sent_any = true;
        sender.send(std::mem::take(&mut self.matches)).is_ok()
    }

    fn push(&mut self, found: SearchHit) {
        self.since.get_or_insert_with(Instant::now);
        self.matches.push(found);
    }
}

/// Receives the matching lines of one file from the searcher.
struct FileSink<'a, 'w> {
    path: &'a str,
    shared: &'a Shared<'a>,
    matcher: &'a RegexMatcher,
    sender: &'a mpsc::SyncSender<Vec<SearchHit>>,
    pending: &'w mut Pending,
}

impl Sink for FileSink<'_, '_> {
    type Error = io::Error;

    fn matched(&mut self, _: &Searcher, found: &SinkMatch<'_>) -> Result<bool, io::Error> {
        if self.shared.should_stop() {
            return Ok(false);
        }
        let line = found.bytes();
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let mut columns = Vec::new();
        let mut first_empty = None;
        self.matcher
            .find_iter(line, |m| {
                if m.is_empty() {
                    first_empty.get_or_insert(m.start());
                } else {
                    columns.push(m.start());
                }
                true
            })
            .map_err(io::Error::other)?;
        // A pattern that can match nothing (`x*`) still says "this line"; one result for it.
        if columns.is_empty() {
            columns.extend(first_empty);
        }
        let text = line_text(line);
        let line_number = found.line_number().unwrap_or(0);
        for column in columns {
            if !self.shared.take_one() {
                return Ok(false);
            }
            self.pending.push(SearchHit {
                path: self.path.to_owned(),
                line: line_number,
                column: column as u64 + 1,
                text: text.clone(),
            });
            if self.pending.matches.len() >= MAX_BATCH_LEN && !self.pending.send(self.sender) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The line as shown to the participant: no `\r`, at most [`MAX_MATCH_TEXT_CHARS`] chars.
pub(crate) fn line_text(line: &[u8]) -> String {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = String::from_utf8_lossy(line);
    match text.char_indices().nth(MAX_MATCH_TEXT_CHARS) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::search::SearchQuery;

    #[test]
    fn long_lines_are_cut_on_a_char_boundary() {
        let line = "é".repeat(MAX_MATCH_TEXT_CHARS + 10);
        let text = line_text(line.as_bytes());
        assert_eq!(text.chars().count(), MAX_MATCH_TEXT_CHARS);
        assert_eq!(line_text(b"short\r"), "short");
    }

    #[test]
    fn invalid_patterns_and_globs_are_explained() {
        let mut query = SearchQuery::literal("fn (");
        query.fixed_strings = false;
        let error = build_matcher(&query).unwrap_err();
        assert!(matches!(&error, SearchError::InvalidPattern { pattern, .. } if pattern == "fn ("));
        assert!(
            error.to_string().contains("turn on fixed strings"),
            "{error}"
        );
        query.fixed_strings = true;
        assert!(build_matcher(&query).is_ok());
        query.pattern.clear();
        assert_eq!(
            build_matcher(&query).unwrap_err(),
            SearchError::EmptyPattern
        );
        let error = build_globs(Path::new("/"), &["src/[".to_owned()]).unwrap_err();
        assert!(matches!(error, SearchError::InvalidGlob { glob, .. } if glob == "src/["));
    }

    #[test]
    fn globs_follow_ripgrep_semantics() {
        let globs =
            build_globs(Path::new("/"), &["*.rs".to_owned(), "!vendor".to_owned()]).unwrap();
        assert!(globs_admit(&globs, "src/main.rs"));
        assert!(!globs_admit(&globs, "src/main.py"));
        assert!(!globs_admit(&globs, "vendor/lib.rs"));
        assert!(!globs_admit(&globs, "a/vendor/lib.rs"));
        let excludes_only = build_globs(Path::new("/"), &["!*.md".to_owned()]).unwrap();
        assert!(globs_admit(&excludes_only, "src/main.py"));
        assert!(!globs_admit(&excludes_only, "docs/readme.md"));
    }
}
