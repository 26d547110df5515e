//! Definitions and hovers from the syntax tree alone, for languages whose server is not
//! installed on the host. The grammars' own tags queries (`TAGS_QUERY`, the ones GitHub's
//! code navigation uses) say what is a definition; names are matched textually, so an
//! answer may be one of several same-named items and carries no type information. Every
//! answer built from here is flagged `syntactic` so the UI can say so.

use std::sync::OnceLock;

use ropey::Rope;
use tree_sitter::{Language, Parser, Query, QueryCursor, StreamingIterator};

use crate::host::lsp::Range;
use crate::text::LineCol;
use crate::text::position::{byte_to_char, char_to_line_col};

/// One definition found by a tags query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Definition {
    pub name: String,
    /// The tags query's kind: `function`, `method`, `class`, `type`, `module`, …
    pub kind: String,
    /// The name itself.
    pub name_range: Range,
    /// The whole item (for a peek).
    pub item_range: Range,
    /// The item's first line, trimmed: usually the signature.
    pub signature: String,
    /// Its doc comment or docstring, markers stripped.
    pub docs: Option<String>,
    /// Fence name for markdown code blocks.
    pub language: &'static str,
}

impl Definition {
    /// What a hover shows: the signature as code, then the docs.
    pub fn hover_markdown(&self) -> String {
        let mut markdown = format!("```{}\n{}\n```", self.language, self.signature);
        if let Some(docs) = &self.docs {
            markdown.push_str("\n\n");
            markdown.push_str(docs);
        }
        markdown
    }
}

struct Grammar {
    extensions: &'static [&'static str],
    language: Language,
    tags: Query,
    fence: &'static str,
}

fn grammars() -> &'static [Grammar] {
    static GRAMMARS: OnceLock<Vec<Grammar>> = OnceLock::new();
    GRAMMARS.get_or_init(|| {
        let table: [(&[&str], Language, &str, &str); 5] = [
            (
                &["rs"],
                tree_sitter_rust::LANGUAGE.into(),
                tree_sitter_rust::TAGS_QUERY,
                "rust",
            ),
            (
                &["py", "pyi"],
                tree_sitter_python::LANGUAGE.into(),
                tree_sitter_python::TAGS_QUERY,
                "python",
            ),
            (
                &["js", "mjs", "cjs", "jsx"],
                tree_sitter_javascript::LANGUAGE.into(),
                tree_sitter_javascript::TAGS_QUERY,
                "javascript",
            ),
            (
                &["go"],
                tree_sitter_go::LANGUAGE.into(),
                tree_sitter_go::TAGS_QUERY,
                "go",
            ),
            (
                &["c", "h"],
                tree_sitter_c::LANGUAGE.into(),
                tree_sitter_c::TAGS_QUERY,
                "c",
            ),
        ];
        table
            .into_iter()
            .filter_map(|(extensions, language, source, fence)| {
                match Query::new(&language, source) {
                    Ok(tags) => Some(Grammar {
                        extensions,
                        language,
                        tags,
                        fence,
                    }),
                    Err(error) => {
                        tracing::error!(fence, %error, "bundled tags query does not compile");
                        None
                    }
                }
            })
            .collect()
    })
}

fn grammar_for(path: &str) -> Option<&'static Grammar> {
    let extension = crate::host::lsp::extension_of(path)?;
    grammars()
        .iter()
        .find(|grammar| grammar.extensions.contains(&extension.as_str()))
}

/// Whether definitions can be found syntactically in files like `path`.
pub fn supports(path: &str) -> bool {
    grammar_for(path).is_some()
}

/// The identifier under (or just before) the cursor: letters, digits and `_`.
pub fn identifier_at(text: &Rope, position: LineCol) -> Option<String> {
    let line = text.get_line(position.line)?;
    let chars: Vec<char> = line.chars().collect();
    let is_word = |c: &char| c.is_alphanumeric() || *c == '_';
    let mut at = position.col.min(chars.len());
    if !chars.get(at).is_some_and(is_word) && at > 0 && chars.get(at - 1).is_some_and(is_word) {
        at -= 1;
    }
    if !chars.get(at).is_some_and(is_word) {
        return None;
    }
    let start = chars[..at]
        .iter()
        .rposition(|c| !is_word(c))
        .map_or(0, |i| i + 1);
    let end = chars[at..]
        .iter()
        .position(|c| !is_word(c))
        .map_or(chars.len(), |i| at + i);
    Some(chars[start..end].iter().collect())
}

/// The definitions named `name` in `text` (a file like `path`).
pub fn definitions(path: &str, text: &Rope, name: &str) -> Vec<Definition> {
    all_definitions(path, text)
        .into_iter()
        .filter(|definition| definition.name == name)
        .collect()
}

/// Every definition the tags query finds, in file order; empty for unsupported files and
/// for text the parser gives up on.
pub fn all_definitions(path: &str, text: &Rope) -> Vec<Definition> {
    let Some(grammar) = grammar_for(path) else {
        return Vec::new();
    };
    let source = text.to_string();
    let mut parser = Parser::new();
    if parser.set_language(&grammar.language).is_err() {
        return Vec::new();
    }
    let Some(tree) = parser.parse(&source, None) else {
        return Vec::new();
    };
    let query = &grammar.tags;
    let names = query.capture_names();
    let to_position = |byte: usize| char_to_line_col(text, byte_to_char(text, byte));
    let to_range = |node: tree_sitter::Node| Range {
        start: to_position(node.start_byte()),
        end: to_position(node.end_byte()),
    };

    let mut definitions = Vec::new();
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(query, tree.root_node(), source.as_bytes());
    while let Some(found) = matches.next() {
        let mut name_node = None;
        let mut item = None;
        let mut docs = Vec::new();
        for capture in found.captures() {
            match names[capture.index as usize] {
                "name" => name_node = Some(capture.node),
                "doc" => docs.push(capture.node),
                other => {
                    if let Some(kind) = other.strip_prefix("definition.") {
                        item = Some((kind, capture.node));
                    }
                }
            }
        }
        let (Some(name_node), Some((kind, item_node))) = (name_node, item) else {
            continue;
        };
        let Some(name) = source.get(name_node.byte_range()) else {
            continue;
        };
        let signature = source
            .get(item_node.byte_range())
            .and_then(|item| item.lines().next())
            .unwrap_or_default()
            .trim()
            .to_owned();
        let docs: Vec<String> = docs
            .iter()
            .filter_map(|node| source.get(node.byte_range()))
            .map(strip_comment)
            .filter(|doc| !doc.is_empty())
            .collect();
        definitions.push(Definition {
            name: name.to_owned(),
            kind: kind.to_owned(),
            name_range: to_range(name_node),
            item_range: to_range(item_node),
            signature,
            docs: (!docs.is_empty()).then(|| docs.join("\n")),
            language: grammar.fence,
        });
    }
    definitions.sort_by_key(|definition| definition.name_range.start);
    definitions.dedup_by(|a, b| a.name_range == b.name_range);
    definitions
}

/// A comment or docstring without its markers (`//`, `///`, `#`, `/* */`, quotes).
fn strip_comment(raw: &str) -> String {
    let trimmed = raw.trim();
    let trimmed = ["\"\"\"", "'''"]
        .iter()
        .find_map(|quote| {
            trimmed
                .strip_prefix(quote)
                .and_then(|rest| rest.strip_suffix(quote))
        })
        .unwrap_or(trimmed);
    let trimmed = trimmed
        .strip_prefix("/*")
        .and_then(|rest| rest.strip_suffix("*/"))
        .unwrap_or(trimmed);
    trimmed
        .lines()
        .map(|line| {
            line.trim()
                .trim_start_matches("///")
                .trim_start_matches("//!")
                .trim_start_matches("//")
                .trim_start_matches('#')
                .trim_start_matches('*')
                .trim()
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bundled_tags_query_compiles() {
        for path in ["a.rs", "a.py", "a.js", "a.go", "a.c"] {
            assert!(
                supports(path),
                "{path} should have a grammar and a tags query"
            );
        }
        assert!(!supports("a.zig"));
    }

    #[test]
    fn identifier_at_finds_the_word_under_or_before_the_cursor() {
        let text = Rope::from_str("x := add(a, b)\n");
        assert_eq!(
            identifier_at(&text, LineCol { line: 0, col: 5 }).as_deref(),
            Some("add")
        );
        assert_eq!(
            identifier_at(&text, LineCol { line: 0, col: 8 }).as_deref(),
            Some("add")
        );
        assert_eq!(identifier_at(&text, LineCol { line: 0, col: 2 }), None);
        assert_eq!(identifier_at(&text, LineCol { line: 7, col: 0 }), None);
    }

    #[test]
    fn go_definitions_carry_signature_docs_and_char_ranges() {
        // 'é' before the name makes byte and char columns differ on that line.
        let text = Rope::from_str(
            "package m\n\n// Add sums two numbers.\nfunc Add(a, b int) int { return a + b }\n\ntype é struct{}\nfunc (é) Méthod() {}\n",
        );
        let add = definitions("m.go", &text, "Add");
        assert_eq!(add.len(), 1, "{add:?}");
        assert_eq!(add[0].kind, "function");
        assert_eq!(add[0].signature, "func Add(a, b int) int { return a + b }");
        assert_eq!(add[0].docs.as_deref(), Some("Add sums two numbers."));
        assert_eq!(add[0].name_range.start, LineCol { line: 3, col: 5 });
        let method = definitions("m.go", &text, "Méthod");
        assert_eq!(method.len(), 1, "{method:?}");
        assert_eq!(method[0].name_range.start, LineCol { line: 6, col: 9 });
        assert_eq!(method[0].name_range.end, LineCol { line: 6, col: 15 });
        assert!(
            method[0]
                .hover_markdown()
                .starts_with("```go\nfunc (é) Méthod() {}\n```")
        );
    }
}
