//! The border between cotype's units and the language server's: root-relative '/' paths
//! against `file://` URIs, and (line, char column) against LSP's (line, UTF-16 column).
//!
//! Every path a server hands back passes through `Root::place`, which is where host paths
//! outside the shared folder are reduced to a bare file name.

use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use lsp_types::Uri;
use ropey::Rope;

use super::{LspError, Position, Range};

/// The shared folder, canonical, with its URI.
#[derive(Clone, Debug)]
pub(crate) struct Root {
    dir: PathBuf,
    uri: Uri,
}

/// Where a path from a server lies, as far as the participants may know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Place {
    /// Inside the shared folder: relative with '/' separators, and the host path to read.
    Workspace { relative: String, absolute: PathBuf },
    /// Outside it (a standard library, a dependency in the user's home): only the name.
    External {
        file_name: String,
        absolute: PathBuf,
    },
}

impl Root {
    pub(crate) fn new(dir: &Path) -> std::io::Result<Root> {
        let dir = dir.canonicalize()?;
        let uri = uri_from_path(&dir).ok_or_else(|| {
            std::io::Error::other(format!("{} cannot be written as a file URI", dir.display()))
        })?;
        Ok(Root { dir, uri })
    }

    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The host path of a root-relative path; refuses anything that could step outside
    /// (absolute paths, `..`), since the relative path came from a participant.
    pub(crate) fn absolute(&self, relative: &str) -> Result<PathBuf, LspError> {
        let outside = || LspError::OutsideRoot {
            path: relative.to_owned(),
        };
        let path = Path::new(relative);
        if relative.is_empty() {
            return Err(outside());
        }
        for component in path.components() {
            if !matches!(component, Component::Normal(_) | Component::CurDir) {
                return Err(outside());
            }
        }
        Ok(self.dir.join(path))
    }

    pub(crate) fn uri_for(&self, relative: &str) -> Result<Uri, LspError> {
        let absolute = self.absolute(relative)?;
        uri_from_path(&absolute).ok_or_else(|| LspError::OutsideRoot {
            path: relative.to_owned(),
        })
    }

    /// Classifies a URI from a server; `None` for URIs that are not files at all.
    pub(crate) fn place(&self, uri: &Uri) -> Option<Place> {
        let absolute = url::Url::parse(uri.as_str()).ok()?.to_file_path().ok()?;
        // Servers may answer with the path as they found it or canonicalized; compare
        // both against the canonical root so a symlinked root still counts as inside.
        let canonical = absolute.canonicalize().unwrap_or_else(|_| absolute.clone());
        for candidate in [&absolute, &canonical] {
            if let Ok(relative) = candidate.strip_prefix(&self.dir) {
                let parts: Option<Vec<&str>> = relative
                    .components()
                    .map(|component| match component {
                        Component::Normal(part) => part.to_str(),
                        _ => None,
                    })
                    .collect();
                if let Some(parts) = parts.filter(|parts| !parts.is_empty()) {
                    return Some(Place::Workspace {
                        relative: parts.join("/"),
                        absolute: candidate.clone(),
                    });
                }
            }
        }
        let file_name = absolute.file_name()?.to_string_lossy().into_owned();
        Some(Place::External {
            file_name,
            absolute,
        })
    }
}

pub(crate) fn uri_from_path(path: &Path) -> Option<Uri> {
    let url = url::Url::from_file_path(path).ok()?;
    Uri::from_str(url.as_str()).ok()
}

// Position conversion. TODO(text merge): these two delegate to `crate::text::position`
// once branch `text` lands; until then they are private to the bridge.

/// A (line, char column) position as the server counts it, clamped into the text.
pub(crate) fn to_lsp(text: &Rope, position: Position) -> lsp_types::Position {
    let line_count = text.len_lines();
    let line = (position.line as usize).min(line_count.saturating_sub(1));
    let line_text = text.line(line);
    let column = (position.column as usize).min(line_text.len_chars());
    let utf16: usize = line_text.chars().take(column).map(char::len_utf16).sum();
    lsp_types::Position::new(line as u32, utf16 as u32)
}

/// The (line, char column) of a server's position, clamped into the text; a column in the
/// middle of a surrogate pair lands on the character it splits.
pub(crate) fn from_lsp(text: &Rope, position: lsp_types::Position) -> Position {
    let line_count = text.len_lines();
    let line = (position.line as usize).min(line_count.saturating_sub(1));
    let mut remaining = position.character as usize;
    let mut column = 0u32;
    for ch in text.line(line).chars() {
        if remaining == 0 || ch == '\n' || ch == '\r' {
            break;
        }
        remaining = remaining.saturating_sub(ch.len_utf16());
        column += 1;
    }
    Position {
        line: line as u32,
        column,
    }
}

pub(crate) fn range_from_lsp(text: &Rope, range: lsp_types::Range) -> Range {
    Range {
        start: from_lsp(text, range.start),
        end: from_lsp(text, range.end),
    }
}

/// Without the text (a file we cannot read), the best we can do is to pass the numbers
/// through: exact for ASCII lines.
pub(crate) fn range_passthrough(range: lsp_types::Range) -> Range {
    let position = |p: lsp_types::Position| Position {
        line: p.line,
        column: p.character,
    };
    Range {
        start: position(range.start),
        end: position(range.end),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_cannot_escape_the_root() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = Root::new(dir.path()).expect("root");
        assert!(root.absolute("src/main.rs").is_ok());
        for bad in ["", "../etc/passwd", "/etc/passwd", "src/../../x"] {
            assert!(
                matches!(root.absolute(bad), Err(LspError::OutsideRoot { .. })),
                "{bad:?} must be refused"
            );
        }
    }

    #[test]
    fn places_inside_keep_their_relative_path_and_outside_only_the_name() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("src")).expect("mkdir");
        std::fs::write(dir.path().join("src/my lib.rs"), "").expect("write");
        let root = Root::new(dir.path()).expect("root");
        let inside = root.uri_for("src/my lib.rs").expect("uri");
        assert!(
            inside.as_str().contains("my%20lib.rs"),
            "{}",
            inside.as_str()
        );
        assert!(matches!(
            root.place(&inside),
            Some(Place::Workspace { relative, .. }) if relative == "src/my lib.rs"
        ));
        let outside =
            Uri::from_str("file:///home/someone/.rustup/toolchains/lib/rust/vec.rs").expect("uri");
        assert!(matches!(
            root.place(&outside),
            Some(Place::External { file_name, .. }) if file_name == "vec.rs"
        ));
    }

    #[test]
    fn columns_count_utf16_units_on_the_wire_and_chars_here() {
        // '𝔸' is one char and two UTF-16 units; 'é' is one of each.
        let text = Rope::from_str("let 𝔸é = 1;\nx\n");
        let after_astral = Position { line: 0, column: 5 };
        let wire = to_lsp(&text, after_astral);
        assert_eq!(wire, lsp_types::Position::new(0, 6));
        assert_eq!(from_lsp(&text, wire), after_astral);
        assert_eq!(
            from_lsp(&text, lsp_types::Position::new(0, 7)),
            Position { line: 0, column: 6 }
        );
        // Past the end of a line or the text: clamped, never a panic.
        assert_eq!(
            from_lsp(&text, lsp_types::Position::new(1, 40)),
            Position { line: 1, column: 1 }
        );
        assert_eq!(
            to_lsp(&text, Position { line: 9, column: 9 }),
            lsp_types::Position::new(2, 0)
        );
    }
}
