//! Indentation from the syntax tree, for Enter: helix's approach with an indents query per
//! language (`queries/indents/*.scm`), in its "hybrid" form: the tree says how many levels
//! deeper (or shallower) the new line is than the line the cursor is on, and that line's
//! own indentation is the base, so a file indented its own way keeps its way.
//!
//! The captures, as in helix:
//! - `@indent`: the node's lines after its first are one level in (several such nodes
//!   starting on the same line count once: `foo(bar(` opens one level, not two);
//! - `@outdent`: a line starting with this node (`}`) is one level out again;
//! - `@extend`: the node reaches the end of the line it ends on, so a line typed right
//!   after it still belongs to it (Python's blocks end where the indentation does);
//! - `@extend.prevent-once`: after this node the nearest `@extend` does not extend (a
//!   line after `return` in Python's `if` goes back out of the `if`).
//!
//! Where the tree has an error around the cursor (code being typed rarely parses) it
//! says nothing, and the editor falls back to its bracket and colon rule.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use ropey::Rope;
use tree_sitter::{Node, Query, QueryCursor, StreamingIterator, Tree};

use super::Language;

/// A document's syntax tree as the editor needs it to indent (cheap to copy: trees are
/// shared, not cloned).
#[derive(Clone)]
pub struct IndentTree {
    tree: Tree,
    query: &'static Query,
}

impl std::fmt::Debug for IndentTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndentTree").finish_non_exhaustive()
    }
}

impl IndentTree {
    pub(super) fn new(tree: &Tree, language: Language) -> Option<Self> {
        Some(Self {
            tree: tree.clone(),
            query: indent_query(language)?,
        })
    }

    /// How many levels deeper than the line holding char `at` a line break inserted at
    /// `at` makes the new line (negative: shallower); `None` where the tree cannot tell.
    pub fn new_line_levels(&self, rope: &Rope, at: usize) -> Option<isize> {
        let at = at.min(rope.len_chars());
        let row = rope.char_to_line(at);
        let line_start = rope.line_to_char(row);
        let line_end = line_start + rope.line(row).len_chars();
        let first = (line_start..at).find(|&c| !is_blank(rope.char(c)))?;
        let this_line = self.levels(rope.char_to_byte(first), row, Position::Inside)?;
        // The new line starts with what followed the cursor on its line, if anything.
        let rest = (at..line_end).find(|&c| !is_blank(rope.char(c)) && !is_break(rope.char(c)));
        let new_line = match rest {
            Some(rest) => self.levels(rope.char_to_byte(rest), row + 1, Position::Inside)?,
            None => {
                let last = (line_start..at).rev().find(|&c| !is_blank(rope.char(c)))?;
                let after = rope.char_to_byte(last) + rope.char(last).len_utf8();
                self.levels(after, row + 1, Position::After)?
            }
        };
        Some(new_line as isize - this_line as isize)
    }

    /// The indentation level the tree gives a line `row` whose first character is at
    /// `byte` (or, `Position::After`, an empty line after the text ending at `byte`).
    fn levels(&self, byte: usize, row: usize, position: Position) -> Option<usize> {
        let root = self.tree.root_node();
        let deepest = match position {
            Position::Inside => root.descendant_for_byte_range(byte, byte + 1)?,
            Position::After => root.descendant_for_byte_range(byte - 1, byte)?,
        };
        let mut rows = BTreeSet::new();
        let mut outdent = false;
        let mut extend_prevented = false;
        let mut node = Some(deepest);
        while let Some(current) = node {
            if current.is_error() || current.is_missing() {
                return None;
            }
            let captures = self.captures(current);
            let starts_before = current.start_byte() < byte && current.start_position().row < row;
            let contains = match position {
                Position::Inside => byte < current.end_byte(),
                Position::After => {
                    byte < current.end_byte()
                        || current.end_byte() == byte && {
                            let extends = captures.contains(&"extend");
                            let prevented = extends && extend_prevented;
                            if prevented {
                                extend_prevented = false;
                            }
                            extends && !prevented
                        }
                }
            };
            if captures.contains(&"indent") && starts_before && contains {
                rows.insert(current.start_position().row);
            }
            if captures.contains(&"outdent") && current.start_byte() == byte {
                outdent = true;
            }
            if captures.contains(&"extend.prevent-once") {
                extend_prevented = true;
            }
            node = current.parent();
        }
        Some(rows.len().saturating_sub(usize::from(outdent)))
    }

    /// The capture names the indents query gives `node` itself (not its descendants).
    fn captures(&self, node: Node) -> Vec<&'static str> {
        let mut cursor = QueryCursor::new();
        cursor.set_max_start_depth(Some(0));
        let names = self.query.capture_names();
        let mut found = Vec::new();
        let mut matches = cursor.matches(self.query, node, &[] as &[u8]);
        while let Some(matched) = matches.next() {
            for capture in matched.captures() {
                if capture.node == node {
                    found.push(names[capture.index as usize]);
                }
            }
        }
        found
    }
}

/// Where the line being indented is, relative to the byte given.
#[derive(Clone, Copy)]
enum Position {
    /// Its first character is there.
    Inside,
    /// It is empty, right after the text ending there.
    After,
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

fn is_break(c: char) -> bool {
    matches!(c, '\n' | '\r')
}

/// The language's indents query, if cotype has one, compiled once per process.
pub(super) fn indent_query(language: Language) -> Option<&'static Query> {
    let source = indent_source(language)?;
    static QUERIES: [OnceLock<Query>; Language::ALL.len()] =
        [const { OnceLock::new() }; Language::ALL.len()];
    let index = Language::ALL.iter().position(|l| *l == language)?;
    Some(QUERIES[index].get_or_init(|| {
        // Shipped with cotype and compiled by the tests: a failure is a build defect.
        Query::new(&language.grammar(), source)
            .unwrap_or_else(|error| panic!("{} indents query: {error}", language.name()))
    }))
}

fn indent_source(language: Language) -> Option<&'static str> {
    Some(match language {
        Language::Rust => include_str!("../queries/indents/rust.scm"),
        Language::Python => include_str!("../queries/indents/python.scm"),
        Language::Json => include_str!("../queries/indents/json.scm"),
        _ => return None,
    })
}
