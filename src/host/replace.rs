//! Workspace replace: which changes a `Request::Replace` makes, file by file, over exactly
//! the files search reads (the same index, the same `-g` globs, the same matcher), so a
//! replace never reaches a file the host hides or ignores.
//!
//! Planning reads; it changes nothing. The session applies a plan as the host's own edits
//! (`host::session::replacing`), so anyone typing in one of the files at the same moment
//! has their edit transformed against the replace, as against anyone's typing.
//!
//! Like `rg --replace`: matches are found line by line, each line's matches are replaced
//! together, `$1`/`${name}`/`$$` in the replacement refer to the pattern's groups (unless
//! the pattern is a literal, `-F`, whose replacement is literal too). One difference:
//! empty matches (`x*` between characters) are not replaced, since inserting text between
//! every two characters is never what a workspace replace means.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use grep_matcher::Matcher;
use grep_regex::RegexMatcher;

use super::documents::{BeforeRead, ReadAhead};
use super::search::{build_globs, globs_admit, line_text};
use super::workspace::Workspace;
use crate::protocol::search::{
    DEFAULT_MAX_MATCHES, Exclusion, ReplaceHit, ReplaceRequest, SearchError, build_file_matcher,
    build_matcher, line_replacements, replaced_line,
};

/// How much nicer than the session the planning threads run (Linux): reading and
/// matching a thousand files must not keep a member's keystroke waiting for a core.
const PLANNERS_NICER: i32 = 5;

/// The most changes one replace may make, whatever it asks for.
pub const MAX_REPLACE_CHANGES: u32 = 100_000;

/// Why a replace was refused, as a sentence for the person who asked.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReplaceError {
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(
        "this replace would change more than {limit} matches; nothing was changed (narrow it with a glob or a more specific pattern)"
    )]
    TooMany { limit: u32 },
}

/// The changes in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChanges {
    pub path: String,
    /// The text's length in chars when planned: the edits apply to that text.
    pub base_chars: usize,
    /// Char ranges of the planned-on text and what replaces each, in order.
    pub edits: Vec<(Range<usize>, String)>,
    /// The same changes as listed to people, one per match.
    pub hits: Vec<ReplaceHit>,
    /// The file as read from disk, if nobody had it open: the session opens its document
    /// from this instead of reading it again on its loop.
    pub read: Option<ReadAhead>,
}

#[derive(Debug, Default)]
pub struct ReplacePlan {
    /// Sorted by path.
    pub files: Vec<FileChanges>,
    /// Files with matches left alone, with why.
    pub skipped: Vec<String>,
}

impl ReplacePlan {
    pub fn changes(&self) -> usize {
        self.files.iter().map(|file| file.hits.len()).sum()
    }
}

/// The changes `request` makes. `open` holds the shared text of documents open on the host
/// (read instead of the disk: the replace changes what everyone sees); `refusal` says why
/// a file may not be changed by the asker, if it may not.
pub fn plan(
    workspace: &Workspace,
    request: &ReplaceRequest,
    open: &HashMap<String, ropey::Rope>,
    refusal: impl Fn(&str) -> Option<String> + Sync,
) -> Result<ReplacePlan, ReplaceError> {
    let matcher = build_matcher(&request.query)?;
    let file_matcher = build_file_matcher(&request.query)?;
    let globs = build_globs(workspace.root(), &request.query.globs)?;
    let limit = match request.query.max_matches {
        0 => DEFAULT_MAX_MATCHES,
        asked => asked.min(MAX_REPLACE_CHANGES),
    };
    let files: Vec<String> = workspace
        .searchable_files()
        .into_iter()
        .filter(|path| globs_admit(&globs, path))
        .filter(|path| {
            !request
                .excluded
                .iter()
                .any(|excluded| matches!(excluded, Exclusion::File { path: p } if p == path))
        })
        .collect();
    let replacement = Replacement {
        text: request.replacement.as_bytes(),
        literal: request.query.fixed_strings,
    };
    let next = AtomicUsize::new(0);
    let changes = AtomicUsize::new(0);
    let found = Mutex::new(ReplacePlan::default());
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(files.len())
        .max(1);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                // When the session loop wants a core these threads hold, it goes first.
                crate::host::priority::nicer(PLANNERS_NICER);
                while let Some(path) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
                    if changes.load(Ordering::Relaxed) > limit as usize {
                        return;
                    }
                    let (text, before) = match open.get(path) {
                        Some(rope) => (rope.to_string(), None),
                        None => match read_text(workspace, path, &file_matcher) {
                            Some((text, before)) => (text, Some(before)),
                            None => continue,
                        },
                    };
                    let Some(mut file) = plan_file(path, &text, &matcher, &replacement, request)
                    else {
                        continue;
                    };
                    file.read = before.map(|before| ReadAhead::new(&text, before));
                    let mut plan = found.lock().unwrap_or_else(|e| e.into_inner());
                    match refusal(path) {
                        Some(reason) => plan.skipped.push(reason),
                        None => {
                            changes.fetch_add(file.hits.len(), Ordering::Relaxed);
                            plan.files.push(file);
                        }
                    }
                }
            });
        }
    });
    let mut plan = found.into_inner().unwrap_or_else(|e| e.into_inner());
    if plan.changes() > limit as usize {
        return Err(ReplaceError::TooMany { limit });
    }
    plan.files.sort_by(|a, b| a.path.cmp(&b.path));
    plan.skipped.sort();
    Ok(plan)
}

/// `path`'s changes in `text` as it is now: a file someone edited after [`plan`] read it
/// is planned again before it is changed, so the replace meets their text, not the old.
pub fn plan_text(
    path: &str,
    text: &str,
    request: &ReplaceRequest,
) -> Result<Option<FileChanges>, ReplaceError> {
    let matcher = build_matcher(&request.query)?;
    let replacement = Replacement {
        text: request.replacement.as_bytes(),
        literal: request.query.fixed_strings,
    };
    Ok(plan_file(path, text, &matcher, &replacement, request))
}

/// A file's text from the disk, if it is text and has a match at all (most files have
/// none: they are read once and left), and its stamp from before the read. `file_matcher`
/// is `build_file_matcher`'s: a line anchor matches at every line of the whole file, as
/// line by line.
fn read_text(
    workspace: &Workspace,
    path: &str,
    file_matcher: &RegexMatcher,
) -> Option<(String, BeforeRead)> {
    let before = BeforeRead::take(workspace, path)?;
    let bytes = workspace
        .read(path)
        .map_err(|error| tracing::debug!(%path, %error, "skipped during replace"))
        .ok()?;
    if !file_matcher.is_match(&bytes).unwrap_or(false) {
        return None;
    }
    Some((String::from_utf8(bytes).ok()?, before))
}

struct Replacement<'a> {
    text: &'a [u8],
    /// Taken as it is (`-F`), not interpolated.
    literal: bool,
}

/// One file's changes, or `None` if nothing in it changes.
fn plan_file(
    path: &str,
    text: &str,
    matcher: &RegexMatcher,
    replacement: &Replacement<'_>,
    request: &ReplaceRequest,
) -> Option<FileChanges> {
    let mut edits = Vec::new();
    let mut hits = Vec::new();
    let mut line_start_char = 0usize;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let line_number = index as u64 + 1;
        let content = line.strip_suffix('\n').unwrap_or(line);
        let bytes = content.as_bytes();
        let found = line_replacements(
            matcher,
            bytes,
            replacement.text,
            replacement.literal,
            |start| {
                !request
                    .excluded
                    .iter()
                    .any(|excluded| excluded.covers(path, line_number, start as u64 + 1))
            },
        );
        if !found.is_empty() {
            let after = replaced_line(bytes, &found);
            let before = line_text(bytes);
            let after = line_text(&after);
            for (range, with) in found {
                let start = line_start_char + content[..range.start].chars().count();
                let len = content[range.clone()].chars().count();
                edits.push((
                    start..start + len,
                    String::from_utf8_lossy(&with).into_owned(),
                ));
                hits.push(ReplaceHit {
                    path: path.to_owned(),
                    line: line_number,
                    column: range.start as u64 + 1,
                    before: before.clone(),
                    after: after.clone(),
                });
            }
        }
        line_start_char += line.chars().count();
    }
    (!hits.is_empty()).then(|| FileChanges {
        path: path.to_owned(),
        base_chars: line_start_char,
        edits,
        hits,
        read: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::search::SearchQuery;

    fn request(pattern: &str, replacement: &str, literal: bool) -> ReplaceRequest {
        let mut query = SearchQuery::literal(pattern);
        query.fixed_strings = literal;
        ReplaceRequest {
            query,
            replacement: replacement.into(),
            excluded: Vec::new(),
            dry_run: true,
            save: false,
        }
    }

    fn changes(text: &str, request: &ReplaceRequest) -> Option<FileChanges> {
        let matcher = build_matcher(&request.query).unwrap();
        let replacement = Replacement {
            text: request.replacement.as_bytes(),
            literal: request.query.fixed_strings,
        };
        plan_file("a.txt", text, &matcher, &replacement, request)
    }

    #[test]
    fn groups_are_interpolated_in_regex_mode_and_char_ranges_count_chars() {
        let asked = request(r"(\w+)=(\d+)", "$2=$1", false);
        let file = changes("é x=1 y=22\nz=3\n", &asked).unwrap();
        assert_eq!(file.hits.len(), 3);
        assert_eq!(file.hits[0].after, "é 1=x 22=y");
        assert_eq!((file.hits[0].line, file.hits[0].column), (1, 4));
        assert_eq!(file.hits[2].after, "3=z");
        let text = "é x=1 y=22\nz=3\n";
        let op = crate::text::Operation::from_edits(file.base_chars, file.edits.clone()).unwrap();
        assert_eq!(op.apply_to_string(text).unwrap(), "é 1=x 22=y\n3=z\n");
    }

    #[test]
    fn a_literal_replacement_stays_literal_and_exclusions_hold() {
        let mut asked = request("a.b", "$1", true);
        asked.excluded.push(Exclusion::Match {
            path: "a.txt".into(),
            line: 2,
            column: 1,
        });
        let file = changes("a.b axb\na.b\n", &asked).unwrap();
        assert_eq!(file.hits.len(), 1);
        assert_eq!(file.hits[0].after, "$1 axb");
        assert!(changes("nothing\n", &asked).is_none());
    }

    #[test]
    fn empty_matches_change_nothing() {
        assert!(changes("abc\n", &request("x*", "-", false)).is_none());
    }

    #[test]
    fn anchors_match_at_every_line_in_files_nobody_has_open() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.txt"), "x foo\nfoo y\nend foo\n").unwrap();
        let workspace = Workspace::open(dir.path(), &[]).unwrap();
        let plan = |pattern: &str| {
            let asked = request(pattern, "bar", false);
            let plan = super::plan(&workspace, &asked, &HashMap::new(), |_| None).unwrap();
            plan.files
                .iter()
                .flat_map(|file| file.hits.iter().map(|hit| (hit.line, hit.after.clone())))
                .collect::<Vec<_>>()
        };
        assert_eq!(plan("^foo"), [(2, "bar y".to_owned())]);
        assert_eq!(
            plan("foo$"),
            [(1, "x bar".to_owned()), (3, "end bar".to_owned())]
        );
    }
}
