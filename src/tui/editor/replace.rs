//! Find and replace in the file as desktop editors offer it (ctrl-h): a query that is
//! literal or a regular expression, with case and whole-word toggles; find the next or
//! previous match, replace the one selected, or replace all of them.
//!
//! Replace all is vim's `:%s///g` underneath ([`Editor::substitute`]): one operation
//! through the session (others see it merged with what they type at that moment) and one
//! undo step. Matches are found line by line, as `:s` finds them, so a pattern never
//! spans a line break; they are found again in the text as it is now whenever asked, so
//! what others type moves and changes them live.

use std::ops::Range;

use regex::{Regex, RegexBuilder};

use super::substitute::{LineRange, ReplacementSyntax, SubstituteRequest};
use super::*;
use crate::text::Assoc;

/// What to look for, as the find-and-replace prompt's toggles say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FindOptions {
    pub query: String,
    /// The query is a regular expression (Rust's syntax, as workspace search uses).
    pub regex: bool,
    pub match_case: bool,
    /// Only where the match starts and ends at word edges.
    pub whole_word: bool,
}

impl FindOptions {
    /// The pattern these options describe; `None` for an empty query, the regex
    /// parser's complaint for an invalid one.
    pub fn pattern(&self) -> Result<Option<Regex>, String> {
        if self.query.is_empty() {
            return Ok(None);
        }
        let mut source = if self.regex {
            self.query.clone()
        } else {
            regex::escape(&self.query)
        };
        if self.whole_word {
            source = format!(r"\b(?:{source})\b");
        }
        RegexBuilder::new(&source)
            .case_insensitive(!self.match_case)
            .size_limit(crate::protocol::search::PATTERN_SIZE_LIMIT)
            .build()
            .map(Some)
            .map_err(|error| {
                // The parser's message spans lines with a caret under the fault; the
                // prompt has one line, so keep its last.
                let text = error.to_string();
                let last = text.lines().last().unwrap_or_default().trim();
                format!("invalid pattern: {last}")
            })
    }

    /// The request that replaces matches of `pattern` with `replacement` everywhere.
    pub fn replace_all(&self, pattern: Regex, replacement: &str) -> SubstituteRequest {
        SubstituteRequest {
            range: LineRange::All,
            pattern,
            replacement: replacement.to_owned(),
            global: true,
            confirm: false,
            syntax: if self.regex {
                ReplacementSyntax::Dollar
            } else {
                ReplacementSyntax::Literal
            },
        }
    }
}

/// Every match of `pattern` in `rope`, as char ranges, line by line. An empty match is
/// skipped (a pattern like `x*` would otherwise match between every two characters).
pub fn all_matches(rope: &Rope, pattern: &Regex) -> Vec<Range<usize>> {
    lines_matches(rope, pattern, 0, rope.len_lines())
}

/// The matches on lines `first..last`.
pub fn lines_matches(rope: &Rope, pattern: &Regex, first: usize, last: usize) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    for line in first..last.min(rope.len_lines()) {
        let text = line_content(rope, line).to_string();
        let start = rope.line_to_char(line);
        let mut chars_before = 0;
        let mut counted_to = 0;
        for found in pattern.find_iter(&text).filter(|found| !found.is_empty()) {
            chars_before += text[counted_to..found.start()].chars().count();
            counted_to = found.start();
            let at = start + chars_before;
            out.push(at..at + found.as_str().chars().count());
        }
    }
    out
}

/// Where the selection stands among `matches`: the number (from 1) of the match it
/// selects, if it selects one.
pub fn match_number(matches: &[Range<usize>], selection: Selection) -> Option<usize> {
    let selected = selection.range();
    matches
        .iter()
        .position(|found| *found == selected)
        .map(|index| index + 1)
}

impl Editor {
    /// Selects the next (or previous) match of `pattern` after (before) the selection,
    /// going round the end of the file.
    pub fn select_next_match(&mut self, rope: &Rope, pattern: &Regex, forward: bool) -> Outcome {
        let mut outcome = Outcome {
            navigated: true,
            ..Outcome::default()
        };
        let matches = all_matches(rope, pattern);
        let selected = self.selection.range();
        let found = if forward {
            matches
                .iter()
                .find(|found| found.start >= selected.end && *found != &selected)
                .or_else(|| matches.first())
        } else {
            matches
                .iter()
                .rev()
                .find(|found| found.end <= selected.start && *found != &selected)
                .or_else(|| matches.last())
        };
        match found {
            Some(found) => self.select_found(rope, found.clone()),
            None => outcome.message = Some(format!("no match for {}", pattern.as_str())),
        }
        outcome
    }

    /// Replaces the match the selection holds, if it holds one, and selects the next;
    /// otherwise selects the next match first, as VS Code's replace does.
    pub fn replace_selected_match(&mut self, rope: &Rope, request: &SubstituteRequest) -> Outcome {
        let matches = all_matches(rope, &request.pattern);
        let Some(number) = match_number(&matches, self.selection) else {
            return self.select_next_match(rope, &request.pattern, true);
        };
        let found = matches[number - 1].clone();
        let mut outcome = Outcome {
            navigated: true,
            ..Outcome::default()
        };
        let Some((range, text)) = substitute::replacement_at(rope, request, found.start) else {
            return outcome;
        };
        self.end_typing_group();
        self.selection = Selection::cursor(found.start);
        let Some(operation) = self.multi_edit(rope, vec![(range, text.as_str())]) else {
            return outcome;
        };
        let after_replacement = operation.transform_position(found.end, Assoc::After);
        let mut after = rope.clone();
        if operation.apply(&mut after).is_ok() {
            let next = all_matches(&after, &request.pattern);
            let next = next
                .iter()
                .find(|next| next.start >= after_replacement)
                .or_else(|| next.first());
            self.selection = Selection::cursor(after_replacement);
            if let Some(next) = next {
                self.select_found(&after, next.clone());
            }
        }
        outcome.operation = Some(operation);
        outcome
    }

    fn select_found(&mut self, rope: &Rope, found: Range<usize>) {
        self.selection = Selection {
            anchor: found.start,
            head: found.end,
        };
        self.desired_col = None;
        self.ensure_cursor_visible(rope);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(query: &str, regex: bool, match_case: bool, whole_word: bool) -> FindOptions {
        FindOptions {
            query: query.into(),
            regex,
            match_case,
            whole_word,
        }
    }

    /// `text` after replacing every match of `find` with `replacement`, applied as the app
    /// applies an edit the session accepted.
    fn replaced_all(text: &str, find: &FindOptions, replacement: &str) -> String {
        let mut rope = Rope::from_str(text);
        let mut editor = Editor::new(Mode::Insert);
        let pattern = find.pattern().unwrap().unwrap();
        let outcome = editor.handle(
            EditorInput::Substitute(find.replace_all(pattern, replacement)),
            &rope,
        );
        if let Some(operation) = outcome.operation {
            operation.apply(&mut rope).unwrap();
            editor.edit_applied(&operation);
        }
        rope.to_string()
    }

    #[test]
    fn literal_queries_are_not_regexes_and_ignore_case_unless_asked() {
        let text = "a.b axb A.B\n";
        assert_eq!(
            replaced_all(text, &options("a.b", false, false, false), "X"),
            "X axb X\n"
        );
        assert_eq!(
            replaced_all(text, &options("a.b", false, true, false), "X"),
            "X axb A.B\n"
        );
        assert_eq!(
            replaced_all(text, &options("a.b", true, true, false), "X"),
            "X X A.B\n"
        );
        // Without regex, `$1` in the replacement is text.
        assert_eq!(
            replaced_all("ab\n", &options("a", false, true, false), "$1"),
            "$1b\n"
        );
    }

    #[test]
    fn whole_word_matches_only_whole_words() {
        let text = "cat concat cats cat_x cat\n";
        assert_eq!(
            replaced_all(text, &options("cat", false, true, true), "dog"),
            "dog concat cats cat_x dog\n"
        );
        // With a regex alternation, the word edges hold around all of it.
        assert_eq!(
            replaced_all("ab a b abc\n", &options("a|b", true, true, true), "_"),
            "ab _ _ abc\n"
        );
    }

    #[test]
    fn regex_replacements_take_dollar_groups() {
        let find = options(r"(\w+)=(\w+)", true, true, false);
        assert_eq!(replaced_all("x=1 y=22\n", &find, "$2=$1"), "1=x 22=y\n");
        // `$1_` is group 1 then `_` (not a group named `1_`); `$$` is a dollar; `${2}`
        // a group; `$&` the match; a group the pattern lacks stays as typed.
        assert_eq!(
            replaced_all("k=v\n", &find, "$1_${2}$$ [$&] $7"),
            "k_v$ [k=v] $7\n"
        );
        let named = options(r"(?P<key>\w+):", true, true, false);
        assert_eq!(replaced_all("a: b:\n", &named, "${key} ->"), "a -> b ->\n");
        // `\n` is a line break, `\t` a tab.
        assert_eq!(
            replaced_all("a,b\n", &options(",", true, true, false), r"\n\t"),
            "a\n\tb\n"
        );
    }

    #[test]
    fn an_invalid_regex_says_why_in_one_line_and_an_empty_query_finds_nothing() {
        let error = options("(", true, false, false).pattern().unwrap_err();
        assert!(error.starts_with("invalid pattern: "), "{error}");
        assert!(!error.contains('\n'));
        assert!(matches!(
            options("", true, false, false).pattern(),
            Ok(None)
        ));
        // The same text is fine as a literal.
        assert!(
            options("(", false, false, false)
                .pattern()
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn replace_all_is_one_edit_and_one_undo_step() {
        let mut rope = Rope::from_str("one two one\none\n");
        let mut editor = Editor::new(Mode::Insert);
        let find = options("one", false, true, false);
        let pattern = find.pattern().unwrap().unwrap();
        let outcome = editor.handle(
            EditorInput::Substitute(find.replace_all(pattern, "1")),
            &rope,
        );
        let operation = outcome.operation.expect("one operation");
        operation.apply(&mut rope).unwrap();
        editor.edit_applied(&operation);
        assert_eq!(rope.to_string(), "1 two 1\n1\n");
        let undo = editor
            .handle(EditorInput::Action(crate::tui::keymap::Action::Undo), &rope)
            .operation
            .expect("undo");
        undo.apply(&mut rope).unwrap();
        editor.edit_applied(&undo);
        assert_eq!(rope.to_string(), "one two one\none\n");
    }

    #[test]
    fn replace_one_replaces_the_selected_match_and_moves_to_the_next() {
        let mut rope = Rope::from_str("foo bar foo foo\n");
        let mut editor = Editor::new(Mode::Insert);
        editor.set_viewport(40, 10);
        let find = options("foo", false, true, false);
        let request = find.replace_all(find.pattern().unwrap().unwrap(), "baz");
        // Nothing selected: the first press selects the next match, replacing nothing.
        editor.set_selection(&rope, Selection::cursor(2));
        let outcome = editor.replace_selected_match(&rope, &request);
        assert!(outcome.operation.is_none());
        assert_eq!(editor.selection.range(), 8..11);
        // Now it replaces that one and selects the one after it.
        let operation = editor
            .replace_selected_match(&rope, &request)
            .operation
            .unwrap();
        operation.apply(&mut rope).unwrap();
        editor.edit_applied(&operation);
        assert_eq!(rope.to_string(), "foo bar baz foo\n");
        assert_eq!(editor.selection.range(), 12..15);
        // Find goes round the end of the file, both ways.
        editor.select_next_match(&rope, &request.pattern, true);
        assert_eq!(editor.selection.range(), 0..3);
        editor.select_next_match(&rope, &request.pattern, false);
        assert_eq!(editor.selection.range(), 12..15);
    }

    #[test]
    fn matches_are_char_ranges_on_multibyte_lines_and_skip_empty_ones() {
        let rope = Rope::from_str("größe x\nx größe\n");
        let pattern = options("x", false, true, false).pattern().unwrap().unwrap();
        assert_eq!(all_matches(&rope, &pattern), vec![6..7, 8..9]);
        let empty = options("y*", true, true, false).pattern().unwrap().unwrap();
        assert!(all_matches(&rope, &empty).is_empty());
        assert_eq!(
            match_number(&[6..7, 8..9], Selection { anchor: 9, head: 8 }),
            Some(2)
        );
    }
}
