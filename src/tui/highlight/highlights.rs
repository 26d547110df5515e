//! Running a highlight query over the bytes on screen: which capture colors each byte,
//! querying only the nodes that overlap the range, reading node text from the rope.

use ropey::Rope;
use tree_sitter::{Node, Query, QueryCursor, StreamingIterator, TextProvider, Tree};

/// Styles per byte of a range of the document: the capture index that colors each byte,
/// and the scope name of each index (a Markdown document's captures come from several
/// queries: its block grammar, its inline grammar and the languages of its code fences).
#[derive(Debug, Clone, Default)]
pub struct Highlights {
    pub(super) start_byte: usize,
    pub(super) captures: Vec<Option<u32>>,
    pub(super) names: Vec<&'static str>,
}

impl Highlights {
    /// The capture coloring `byte`, if any.
    pub fn capture_at(&self, byte: usize) -> Option<u32> {
        let index = byte.checked_sub(self.start_byte)?;
        self.captures.get(index).copied().flatten()
    }

    /// Scope names by capture index (for `Theme::capture_styles`).
    pub fn capture_names(&self) -> &[&'static str] {
        &self.names
    }

    /// The scope name coloring `byte`, if any.
    pub fn scope_at(&self, byte: usize) -> Option<&'static str> {
        self.capture_at(byte)
            .and_then(|index| self.names.get(index as usize).copied())
    }

    /// Adds `query`'s capture names; returns the index its first capture gets.
    pub(super) fn add_names(&mut self, query: &'static Query) -> u32 {
        let offset = self.names.len() as u32;
        self.names
            .extend(query.capture_names().iter().map(|name| scope_name(name)));
        offset
    }

    /// Runs `query` (whose names start at `offset`) over `tree` for the highlighted range
    /// up to `end`; a capture overrides what an earlier (outer, or injecting) one set.
    pub(super) fn paint(
        &mut self,
        query: &Query,
        offset: u32,
        tree: &Tree,
        rope: &Rope,
        end: usize,
    ) {
        let start = self.start_byte;
        let mut cursor = QueryCursor::new();
        cursor.set_byte_range(start..end);
        // A query cursor walks every child of a node before the range to reach it, so on
        // a file that is one long list (100,000 lines of top-level items, a huge JSON
        // array) that walk costs milliseconds per frame. So wide nodes are not queried
        // themselves: only their children that overlap the range are.
        let mut roots = Vec::new();
        collect_query_roots(tree.root_node(), start, end, &mut roots);
        // A single node may be captured by several patterns; as in tree-sitter-highlight,
        // the earliest pattern wins, while nested (inner) nodes override outer ones.
        for root in roots {
            let mut last_node: Option<(usize, usize)> = None;
            let mut captures = cursor.captures(query, root, RopeText(rope));
            while let Some((found, index)) = captures.next() {
                let capture = found.captures()[*index];
                let range = capture.node.byte_range();
                let key = (range.start, range.end);
                if last_node == Some(key) {
                    continue;
                }
                last_node = Some(key);
                let from = range.start.max(start) - start;
                let to = range.end.min(end).saturating_sub(start);
                if from < to {
                    self.captures[from..to].fill(Some(capture.index + offset));
                }
            }
        }
    }
}

/// The scope a grammar's capture name stands for. tree-sitter-md's queries use
/// nvim-treesitter's old `text.*` names; cotype's themes, like helix's, use `markup.*`.
fn scope_name(capture: &'static str) -> &'static str {
    match capture {
        "text.title" => "markup.heading",
        "text.literal" => "markup.raw",
        "text.emphasis" => "markup.italic",
        "text.strong" => "markup.bold",
        "text.uri" => "markup.link.url",
        "text.reference" => "markup.link.text",
        other => other,
    }
}

/// Children above this count make a node "wide": its children are queried instead.
const WIDE_NODE: u32 = 32;

/// The nodes to run the highlight query on for `start..end`: `node` itself unless it is
/// wide, otherwise (recursively) its children that overlap the range.
fn collect_query_roots<'tree>(
    node: Node<'tree>,
    start: usize,
    end: usize,
    out: &mut Vec<Node<'tree>>,
) {
    if node.child_count() <= WIDE_NODE {
        out.push(node);
        return;
    }
    let mut child = node.first_child_for_byte(start);
    while let Some(current) = child {
        if current.start_byte() >= end {
            break;
        }
        collect_query_roots(current, start, end, out);
        child = current.next_sibling();
    }
}

/// Lets queries read node text (for `#match?` and `#eq?`) straight from the rope.
struct RopeText<'a>(&'a Rope);

impl<'a> TextProvider<&'a [u8]> for RopeText<'a> {
    type I = RopeChunks<'a>;

    fn text(&mut self, node: Node) -> Self::I {
        let range = node.byte_range();
        let end = range.end.min(self.0.len_bytes());
        let start = range.start.min(end);
        RopeChunks {
            chunks: self.0.byte_slice(start..end).chunks(),
        }
    }
}

struct RopeChunks<'a> {
    chunks: ropey::iter::Chunks<'a>,
}

impl<'a> Iterator for RopeChunks<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<Self::Item> {
        self.chunks.next().map(str::as_bytes)
    }
}
