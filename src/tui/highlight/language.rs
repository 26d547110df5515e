//! The languages cotype colors: recognized by file name or a Markdown fence's info
//! string, each with its tree-sitter grammar and highlight query.

use std::sync::OnceLock;

use tree_sitter::Query;

/// The languages cotype highlights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    TypeScript,
    Tsx,
    Go,
    C,
    Json,
    Toml,
    Markdown,
    Shell,
}

impl Language {
    pub const ALL: [Language; 11] = [
        Self::Rust,
        Self::Python,
        Self::JavaScript,
        Self::TypeScript,
        Self::Tsx,
        Self::Go,
        Self::C,
        Self::Json,
        Self::Toml,
        Self::Markdown,
        Self::Shell,
    ];

    /// Guesses the language from a file name.
    pub fn from_path(path: &str) -> Option<Self> {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let extension = name
            .rsplit_once('.')
            .map(|(_, ext)| ext.to_ascii_lowercase());
        Some(match extension.as_deref() {
            Some("rs") => Self::Rust,
            Some("py" | "pyi") => Self::Python,
            Some("js" | "mjs" | "cjs" | "jsx") => Self::JavaScript,
            Some("ts" | "mts" | "cts") => Self::TypeScript,
            Some("tsx") => Self::Tsx,
            Some("go") => Self::Go,
            Some("c" | "h") => Self::C,
            Some("json") => Self::Json,
            Some("toml") => Self::Toml,
            Some("md" | "markdown") => Self::Markdown,
            Some("sh" | "bash" | "zsh") => Self::Shell,
            _ => match name {
                "Cargo.lock" | "Pipfile" => Self::Toml,
                ".bashrc" | ".profile" | ".zshrc" | "PKGBUILD" => Self::Shell,
                _ => return None,
            },
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Rust => "rust",
            Self::Python => "python",
            Self::JavaScript => "javascript",
            Self::TypeScript => "typescript",
            Self::Tsx => "tsx",
            Self::Go => "go",
            Self::C => "c",
            Self::Json => "json",
            Self::Toml => "toml",
            Self::Markdown => "markdown",
            Self::Shell => "shell",
        }
    }

    pub(super) fn grammar(self) -> tree_sitter::Language {
        match self {
            Self::Rust => tree_sitter_rust::LANGUAGE.into(),
            Self::Python => tree_sitter_python::LANGUAGE.into(),
            Self::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            Self::TypeScript => tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into(),
            Self::Tsx => tree_sitter_typescript::LANGUAGE_TSX.into(),
            Self::Go => tree_sitter_go::LANGUAGE.into(),
            Self::C => tree_sitter_c::LANGUAGE.into(),
            Self::Json => tree_sitter_json::LANGUAGE.into(),
            Self::Toml => tree_sitter_toml_ng::LANGUAGE.into(),
            Self::Markdown => tree_sitter_md::LANGUAGE.into(),
            Self::Shell => tree_sitter_bash::LANGUAGE.into(),
        }
    }

    /// The highlight query. TypeScript's grammar crate ships only what it adds to
    /// JavaScript, so (as in helix and nvim) the JavaScript query comes first. Python,
    /// JavaScript (and so TypeScript) and C start with cotype's own patterns: their
    /// crates' queries begin with `(identifier) @variable`, which would win (see the files).
    fn query_source(self) -> String {
        match self {
            Self::Rust => tree_sitter_rust::HIGHLIGHTS_QUERY.into(),
            // cotype's patterns first: the first pattern capturing a node wins (see the file).
            Self::Python => format!(
                "{}\n{}",
                include_str!("../queries/python.scm"),
                tree_sitter_python::HIGHLIGHTS_QUERY
            ),
            Self::JavaScript => format!(
                "{}\n{}\n{}",
                include_str!("../queries/javascript.scm"),
                tree_sitter_javascript::HIGHLIGHT_QUERY,
                tree_sitter_javascript::JSX_HIGHLIGHT_QUERY
            ),
            Self::TypeScript => format!(
                "{}\n{}\n{}",
                include_str!("../queries/javascript.scm"),
                tree_sitter_javascript::HIGHLIGHT_QUERY,
                tree_sitter_typescript::HIGHLIGHTS_QUERY
            ),
            Self::Tsx => format!(
                "{}\n{}\n{}\n{}",
                include_str!("../queries/javascript.scm"),
                tree_sitter_javascript::HIGHLIGHT_QUERY,
                tree_sitter_javascript::JSX_HIGHLIGHT_QUERY,
                tree_sitter_typescript::HIGHLIGHTS_QUERY
            ),
            Self::Go => tree_sitter_go::HIGHLIGHTS_QUERY.into(),
            Self::C => format!(
                "{}\n{}",
                include_str!("../queries/c.scm"),
                tree_sitter_c::HIGHLIGHT_QUERY
            ),
            Self::Json => tree_sitter_json::HIGHLIGHTS_QUERY.into(),
            Self::Toml => tree_sitter_toml_ng::HIGHLIGHTS_QUERY.into(),
            Self::Markdown => tree_sitter_md::HIGHLIGHT_QUERY_BLOCK.into(),
            Self::Shell => tree_sitter_bash::HIGHLIGHT_QUERY.into(),
        }
    }

    /// The language a Markdown fence's info string names: ```` ```rust ````, ```` ```py ````,
    /// ```` ```console ````, … (the first word, any case).
    pub fn from_fence(info: &str) -> Option<Self> {
        let tag = info.trim().split([' ', ',', '{']).next().unwrap_or("");
        let extension = match tag.to_ascii_lowercase().as_str() {
            "rust" => "rs",
            "python" | "python3" => "py",
            "javascript" | "node" => "js",
            "typescript" => "ts",
            "golang" => "go",
            "cpp" | "c++" => "c",
            "bash" | "shell" | "console" => "sh",
            other => return Language::from_path(&format!("x.{other}")),
        };
        Language::from_path(&format!("x.{extension}"))
    }

    /// The compiled query, built once per process (compiling takes milliseconds).
    pub(super) fn query(self) -> &'static Query {
        static QUERIES: [OnceLock<Query>; 11] = [const { OnceLock::new() }; 11];
        let index = Self::ALL.iter().position(|l| *l == self).unwrap_or(0);
        QUERIES[index].get_or_init(|| {
            // The queries are shipped with the grammars and tested below; a failure
            // here is a build defect, not user input.
            Query::new(&self.grammar(), &self.query_source())
                .unwrap_or_else(|error| panic!("{} highlight query: {error}", self.name()))
        })
    }
}
