//! Markdown's injected grammars: its inline markup and the languages of its fenced code,
//! parsed per frame for the screen only and painted over the block grammar's colors.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ropey::Rope;
use tree_sitter::{Node, Parser, Query, Tree};

use super::highlights::Highlights;
use super::{Language, parse_rope};
use crate::text::position::char_to_point;

/// Markdown's inline grammar and fenced code are highlighted from trees parsed per frame,
/// for the screen only: inline text by paragraph, a fence's code from at most this many
/// bytes above the screen (from the fence's start when it is nearer) to the screen's end.
const INJECTION_CONTEXT_BYTES: usize = 64 * 1024;
/// All parses of one frame's injections together stop after this; what is left is shown
/// in the Markdown colors alone. A safety net: the bytes parsed are bounded anyway (the
/// screen plus [`INJECTION_CONTEXT_BYTES`] per fence) and a screen's worth takes well
/// under a millisecond, but a loaded machine may deschedule the thread for a while, and
/// that must not take the colors away.
const INJECTION_BUDGET: Duration = Duration::from_millis(100);

/// A grammar parsed inside a Markdown document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Injected {
    /// tree-sitter-md's inline grammar (emphasis, code spans, links) in `inline` nodes.
    Inline,
    /// A fenced code block whose info string names a language.
    Code(Language),
}

impl Injected {
    fn grammar(self) -> tree_sitter::Language {
        match self {
            Self::Inline => tree_sitter_md::INLINE_LANGUAGE.into(),
            Self::Code(language) => language.grammar(),
        }
    }

    fn query(self) -> &'static Query {
        static INLINE: OnceLock<Query> = OnceLock::new();
        match self {
            Self::Inline => INLINE.get_or_init(|| {
                Query::new(&self.grammar(), tree_sitter_md::HIGHLIGHT_QUERY_INLINE)
                    .unwrap_or_else(|error| panic!("markdown inline highlight query: {error}"))
            }),
            Self::Code(language) => language.query(),
        }
    }
}

thread_local! {
    /// Parsers for injected grammars, kept between frames (creating one is cheap, but
    /// not free at every frame).
    static INJECTION_PARSERS: std::cell::RefCell<Vec<(Injected, Parser)>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

/// Colors the inline markup and the fenced code of the Markdown `tree` within `out`'s
/// range, over the block grammar's colors.
pub(super) fn paint_injections(out: &mut Highlights, tree: &Tree, rope: &Rope, end: usize) {
    let start = out.start_byte;
    let mut found = Vec::new();
    let mut pending = vec![tree.root_node()];
    while let Some(node) = pending.pop() {
        match node.kind() {
            "inline" | "pipe_table_cell" => found.push((Injected::Inline, node)),
            "fenced_code_block" => {
                let mut cursor = node.walk();
                let info = node
                    .children(&mut cursor)
                    .find(|child| child.kind() == "info_string");
                let content = node
                    .children(&mut cursor)
                    .find(|child| child.kind() == "code_fence_content");
                let language = info
                    .map(|info| rope.byte_slice(info.byte_range()).to_string())
                    .and_then(|info| Language::from_fence(&info))
                    .filter(|language| *language != Language::Markdown);
                if let (Some(language), Some(content)) = (language, content) {
                    found.push((Injected::Code(language), content));
                }
            }
            _ => {
                let mut child = node.first_child_for_byte(start);
                while let Some(current) = child {
                    if current.start_byte() >= end {
                        break;
                    }
                    pending.push(current);
                    child = current.next_sibling();
                }
            }
        }
    }
    found.sort_by_key(|(_, node)| node.start_byte());
    let deadline = Instant::now() + INJECTION_BUDGET;
    let mut offsets: Vec<(Injected, u32)> = Vec::new();
    INJECTION_PARSERS.with_borrow_mut(|parsers| {
        for (injected, node) in found {
            let ranges = injection_ranges(node, rope, start, end);
            if ranges.is_empty() {
                continue;
            }
            let index = match parsers.iter().position(|(kind, _)| *kind == injected) {
                Some(index) => index,
                None => {
                    let mut parser = Parser::new();
                    if parser.set_language(&injected.grammar()).is_err() {
                        continue;
                    }
                    parsers.push((injected, parser));
                    parsers.len() - 1
                }
            };
            let parser = &mut parsers[index].1;
            if parser.set_included_ranges(&ranges).is_err() {
                continue;
            }
            let Some(injected_tree) = parse_rope(parser, rope, None, deadline) else {
                parser.reset();
                break;
            };
            // Each query's names are added once per frame, however many injections use it.
            let query = injected.query();
            let offset = match offsets.iter().find(|(kind, _)| *kind == injected) {
                Some((_, offset)) => *offset,
                None => {
                    let offset = out.add_names(query);
                    offsets.push((injected, offset));
                    offset
                }
            };
            out.paint(query, offset, &injected_tree, rope, end);
        }
    });
}

/// The document ranges an injected parse reads for `node`: the node without its named
/// children (the `> ` of a block quote, the indentation of a list item), clipped to the
/// screen's end and to [`INJECTION_CONTEXT_BYTES`] above `start`, from a line's start.
fn injection_ranges(node: Node, rope: &Rope, start: usize, end: usize) -> Vec<tree_sitter::Range> {
    let earliest = start.saturating_sub(INJECTION_CONTEXT_BYTES);
    let earliest = rope.line_to_byte(rope.byte_to_line(earliest.min(rope.len_bytes())));
    let mut pieces = Vec::new();
    let mut from = node.start_byte();
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        pieces.push(from..child.start_byte());
        from = child.end_byte();
    }
    pieces.push(from..node.end_byte());
    let point = |byte: usize| char_to_point(rope, rope.byte_to_char(byte));
    pieces
        .into_iter()
        .map(|piece| piece.start.max(earliest)..piece.end.min(end).min(rope.len_bytes()))
        .filter(|piece| piece.start < piece.end)
        .map(|piece| tree_sitter::Range {
            start_byte: piece.start,
            end_byte: piece.end,
            start_point: point(piece.start),
            end_point: point(piece.end),
        })
        .collect()
}
