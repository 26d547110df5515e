//! One search's shape, for every side: the query a participant sends (the body of
//! `Request::Search`), the matcher built from it (the host searches with it, the search
//! panel highlights with the same one, so both agree on a match's extent), one match, and
//! how a search ended.

use grep_matcher::{Captures, Matcher};
use grep_regex::{RegexMatcher, RegexMatcherBuilder};
use serde::{Deserialize, Serialize};

/// The cap the host applies when a query asks for none (`max_matches: 0`).
pub const DEFAULT_MAX_MATCHES: u32 = 10_000;

/// The largest compiled pattern anyone's search, find or substitute may build. ripgrep's
/// default (100 MiB, about a second and 140 MB for `\w{2000}`) would let one member's query
/// hold the host's memory and a core; 8 MiB still takes `\w{50}` and any literal list a
/// person types, and refuses larger ones at once.
pub const PATTERN_SIZE_LIMIT: usize = 8 << 20;
/// The cache a search's lazy DFA may grow to (ripgrep's default is 1 GiB).
const PATTERN_DFA_LIMIT: usize = 64 << 20;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    pub pattern: String,
    /// Search for `pattern` literally (`rg -F`).
    pub fixed_strings: bool,
    pub ignore_case: bool,
    /// Only matches surrounded by non-word characters (`rg -w`).
    pub whole_word: bool,
    /// `rg -g` globs: a file must match one of the plain globs (if any are given) and none
    /// of the `!` ones; a folder matching a `!` glob is skipped with all it holds.
    pub globs: Vec<String>,
    /// Search stops after this many matches and reports `truncated`; 0 asks for the
    /// host's default ([`DEFAULT_MAX_MATCHES`]).
    pub max_matches: u32,
}

impl SearchQuery {
    /// A literal, case-sensitive search with the default cap.
    pub fn literal(pattern: impl Into<String>) -> SearchQuery {
        SearchQuery {
            pattern: pattern.into(),
            fixed_strings: true,
            ignore_case: false,
            whole_word: false,
            globs: Vec::new(),
            max_matches: DEFAULT_MAX_MATCHES,
        }
    }
}

/// One match, as `rg --vimgrep` prints it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SearchHit {
    /// Relative to the shared folder, with '/' separators.
    pub path: String,
    /// 1-based line, and 1-based byte column of the match in its line.
    pub line: u64,
    pub column: u64,
    /// The line without its line ending, cut to the host's `MAX_MATCH_TEXT_CHARS`; invalid
    /// UTF-8 is replaced with U+FFFD.
    pub text: String,
}

/// A workspace replace (`Request::Replace`): every match of `query` in the shared files,
/// less the exclusions, becomes `replacement`. With `query.fixed_strings` the replacement
/// is literal; otherwise `$1`, `${name}` and `$$` refer to the pattern's groups, as in
/// `rg --replace`. `query.max_matches` caps the changes (0: the host's default); a replace
/// with more is refused whole, never done in part.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplaceRequest {
    pub query: SearchQuery,
    pub replacement: String,
    /// Files and single matches to leave as they are, as a preview listed them.
    pub excluded: Vec<Exclusion>,
    /// Only list what would change.
    pub dry_run: bool,
    /// Write each changed file to the host's disk afterwards (otherwise the change is
    /// shared, unsaved, like anyone's typing).
    pub save: bool,
}

/// What a replace leaves alone.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Exclusion {
    File {
        path: String,
    },
    /// One match, by its 1-based line and byte column as the preview gave them.
    Match {
        path: String,
        line: u64,
        column: u64,
    },
}

impl Exclusion {
    /// Whether this leaves out the match at `path:line:column`.
    pub fn covers(&self, at: &str, at_line: u64, at_column: u64) -> bool {
        match self {
            Exclusion::File { path } => path == at,
            Exclusion::Match { path, line, column } => {
                path == at && *line == at_line && *column == at_column
            }
        }
    }
}

/// One change a replace makes (or would make), as `rg --replace --vimgrep` prints it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ReplaceHit {
    pub path: String,
    /// 1-based line and byte column of the match, in the text before the replace.
    pub line: u64,
    pub column: u64,
    /// The line before and after every replacement in it (cut as `SearchHit::text`).
    pub before: String,
    pub after: String,
}

/// How a replace ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplaceSummary {
    /// Matches replaced (or, in a dry run, to be replaced) and the files they are in.
    pub changes: u64,
    pub files: u64,
    /// The changes were made (not a dry run, and nothing refused).
    pub applied: bool,
    /// Files written to disk (with `save`).
    pub saved: u64,
    /// Files with matches the host left alone, each with why (a sentence).
    pub skipped: Vec<String>,
}

/// How a search ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchSummary {
    /// Matches delivered.
    pub matches: u64,
    pub files_searched: u64,
    /// The search stopped at `limit` matches; more exist.
    pub truncated: bool,
    /// The most matches asked for (0: the host's default).
    pub limit: u32,
    /// The asker stopped the search before the host finished it.
    pub cancelled: bool,
}

impl SearchSummary {
    /// What to tell the user about results left out, if any.
    pub fn notice(&self) -> Option<String> {
        self.truncated.then(|| {
            format!(
                "search stopped after {} matches; narrow it with a glob or a more specific pattern",
                thousands(self.matches)
            )
        })
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SearchError {
    #[error("nothing to search for; type a word or a pattern")]
    EmptyPattern,
    #[error(
        "`{pattern}` is not a valid regular expression: {reason}\n(turn on fixed strings to search for it literally)"
    )]
    InvalidPattern { pattern: String, reason: String },
    #[error("`{glob}` is not a valid file glob: {reason}")]
    InvalidGlob { glob: String, reason: String },
    #[error("search cancelled")]
    Cancelled,
}

/// The matcher ripgrep would build for the same flags.
pub fn build_matcher(query: &SearchQuery) -> Result<RegexMatcher, SearchError> {
    build_with(query, RegexMatcherBuilder::new())
}

/// The same matcher with `^` and `$` matching at every line's start and end: it finds in
/// a whole file what [`build_matcher`]'s finds line by line (neither ever matches across
/// a line end), so it tells at once whether a file has any match at all.
pub fn build_file_matcher(query: &SearchQuery) -> Result<RegexMatcher, SearchError> {
    let mut builder = RegexMatcherBuilder::new();
    builder.multi_line(true);
    build_with(query, builder)
}

fn build_with(
    query: &SearchQuery,
    mut builder: RegexMatcherBuilder,
) -> Result<RegexMatcher, SearchError> {
    if query.pattern.is_empty() {
        return Err(SearchError::EmptyPattern);
    }
    builder
        .case_insensitive(query.ignore_case)
        .word(query.whole_word)
        .fixed_strings(query.fixed_strings)
        .size_limit(PATTERN_SIZE_LIMIT)
        .dfa_size_limit(PATTERN_DFA_LIMIT)
        // Lets the searcher find candidate lines fast and keeps matches within one line.
        .line_terminator(Some(b'\n'))
        .build(&query.pattern)
        .map_err(|error| SearchError::InvalidPattern {
            pattern: query.pattern.clone(),
            reason: error.to_string(),
        })
}

/// The replacements in one line (without its line ending), in order: each non-empty match
/// `keep` accepts (given its byte offset) with what it becomes: `replacement` as it is
/// when `literal`, else with `$1`, `${name}` and `$$` interpolated from the match's groups
/// as `rg --replace` does. The host replaces with this and the search panel previews with
/// it, so both agree on every change.
pub fn line_replacements(
    matcher: &RegexMatcher,
    line: &[u8],
    replacement: &[u8],
    literal: bool,
    mut keep: impl FnMut(usize) -> bool,
) -> Vec<(std::ops::Range<usize>, Vec<u8>)> {
    let mut found = Vec::new();
    let Ok(mut caps) = matcher.new_captures() else {
        return found;
    };
    let _ = matcher.captures_iter(line, &mut caps, |caps| {
        let Some(whole) = caps.get(0).filter(|whole| !whole.is_empty()) else {
            return true;
        };
        if !keep(whole.start()) {
            return true;
        }
        let mut with = Vec::new();
        if literal {
            with.extend_from_slice(replacement);
        } else {
            caps.interpolate(
                |name| matcher.capture_index(name),
                line,
                replacement,
                &mut with,
            );
        }
        found.push((whole.start()..whole.end(), with));
        true
    });
    found
}

/// `line` with `replacements` (from [`line_replacements`]) made.
pub fn replaced_line(line: &[u8], replacements: &[(std::ops::Range<usize>, Vec<u8>)]) -> Vec<u8> {
    let mut after = Vec::with_capacity(line.len());
    let mut at = 0;
    for (range, with) in replacements {
        after.extend_from_slice(&line[at..range.start]);
        after.extend_from_slice(with);
        at = range.end;
    }
    after.extend_from_slice(&line[at..]);
    after
}

/// 10000 as "10,000".
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_notice_reads_like_the_issue_says() {
        let summary = SearchSummary {
            matches: 10_000,
            files_searched: 12,
            truncated: true,
            limit: 10_000,
            cancelled: false,
        };
        assert_eq!(
            summary.notice().as_deref(),
            Some(
                "search stopped after 10,000 matches; narrow it with a glob or a more specific pattern"
            )
        );
        assert_eq!(
            SearchSummary {
                truncated: false,
                ..summary
            }
            .notice(),
            None
        );
    }

    #[test]
    fn a_pattern_too_large_to_compile_is_refused_and_a_usual_one_is_not() {
        let query = |pattern: &str| SearchQuery {
            pattern: pattern.into(),
            fixed_strings: false,
            ignore_case: false,
            whole_word: false,
            globs: Vec::new(),
            max_matches: 10,
        };
        // Unicode word characters, two thousand of them: ripgrep's default limit lets
        // this take about a second and 140 MB before it gives up.
        match build_matcher(&query(r"\w{2000}")) {
            Err(SearchError::InvalidPattern { reason, .. }) => {
                assert!(reason.contains("size limit"), "{reason}")
            }
            other => panic!("expected a refusal, got {:?}", other.map(|_| ())),
        }
        assert!(build_matcher(&query(r"\w{50}")).is_ok());
        assert!(build_matcher(&query("(foo|bar|baz){100}")).is_ok());
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
