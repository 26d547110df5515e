//! A participant's search query as the host turns it into ripgrep's matcher and `-g`
//! globs: any pattern and any globs give a matcher or an error message, never a panic,
//! and the matcher's matches stay inside one line of the text searched.
#![no_main]

use arbitrary::Arbitrary;
use cotype::host::search::{build_globs, globs_admit};
use cotype::protocol::search::{SearchQuery, build_matcher};
use grep_matcher::Matcher;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input {
    pattern: String,
    fixed_strings: bool,
    ignore_case: bool,
    whole_word: bool,
    globs: Vec<String>,
    haystack: Vec<u8>,
    paths: Vec<String>,
}

fuzz_target!(|input: Input| {
    let query = SearchQuery {
        pattern: input.pattern,
        fixed_strings: input.fixed_strings,
        ignore_case: input.ignore_case,
        whole_word: input.whole_word,
        globs: input.globs.into_iter().take(8).collect(),
        max_matches: 10,
    };
    if let Ok(matcher) = build_matcher(&query) {
        // Matches stay within one line (the searcher relies on it) and inside the text.
        let haystack = &input.haystack;
        let _ = matcher.find_iter(haystack, |found| {
            assert!(found.end() <= haystack.len() && found.start() <= found.end());
            assert!(
                !haystack[found.start()..found.end()].contains(&b'\n'),
                "a match spans lines"
            );
            true
        });
    }
    if let Ok(globs) = build_globs(std::path::Path::new("/shared"), &query.globs) {
        for path in input.paths.iter().take(8) {
            let _ = globs_admit(&globs, path);
        }
    }
});
