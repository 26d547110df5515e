//! The border between cotype's units and the language server's: root-relative '/' paths
//! against `file://` URIs, and (line, char column) against LSP's (line, UTF-16 column).
//!
//! Every path a server hands back passes through `Root::place`, which is where host paths
//! outside the shared folder are reduced to a bare file name.

use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use lsp_types::Uri;
use ropey::Rope;

use super::{LspError, Range};
use crate::text::LineCol;
use crate::text::position::{self, LspEncoding};

/// The shared folder, canonical, with its URI.
#[derive(Clone, Debug)]
pub struct Root {
    dir: PathBuf,
    uri: Uri,
}

/// Where a path from a server lies, as far as the participants may know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place {
    /// Inside the shared folder: relative with '/' separators, and the host path to read.
    Workspace { relative: String, absolute: PathBuf },
    /// Outside it (a standard library, a dependency in the user's home): only the name.
    External {
        file_name: String,
        absolute: PathBuf,
    },
}

impl Root {
    pub fn new(dir: &Path) -> std::io::Result<Root> {
        let dir = dir.canonicalize()?;
        let uri = uri_from_path(&dir).ok_or_else(|| {
            std::io::Error::other(format!("{} cannot be written as a file URI", dir.display()))
        })?;
        Ok(Root { dir, uri })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub(crate) fn uri(&self) -> &Uri {
        &self.uri
    }

    /// The host path of a root-relative path; refuses anything that could step outside
    /// (absolute paths, `..`, a symlink that leads out), since the relative path came
    /// from a participant.
    pub(crate) fn absolute(&self, relative: &str) -> Result<PathBuf, LspError> {
        let outside = || LspError::NotShared {
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
        let absolute = self.dir.join(path);
        // A file that does not exist yet cannot lead anywhere; one that does must really
        // be inside.
        if let Ok(real) = absolute.canonicalize()
            && !real.starts_with(&self.dir)
        {
            return Err(outside());
        }
        Ok(absolute)
    }

    pub(crate) fn uri_for(&self, relative: &str) -> Result<Uri, LspError> {
        let absolute = self.absolute(relative)?;
        uri_from_path(&absolute).ok_or_else(|| LspError::NotShared {
            path: relative.to_owned(),
        })
    }

    /// Classifies a URI from a server; `None` for URIs that are not files at all.
    pub fn place(&self, uri: &Uri) -> Option<Place> {
        let absolute = url::Url::parse(uri.as_str()).ok()?.to_file_path().ok()?;
        // Judged by where the file really is: a symlink inside the folder that points out
        // of it is outside. A path that does not exist (yet) is judged as written.
        let real = absolute.canonicalize().unwrap_or_else(|_| absolute.clone());
        if let Ok(relative) = real.strip_prefix(&self.dir) {
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
                    absolute: real,
                });
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

/// A (line, char column) in the server's negotiated unit, clamped into the text.
pub(crate) fn to_lsp(text: &Rope, position: LineCol, encoding: LspEncoding) -> lsp_types::Position {
    position::char_to_lsp_in(text, position::line_col_to_char(text, position), encoding)
}

/// A server's position as (line, char column), clamped into the text.
pub(crate) fn from_lsp(text: &Rope, at: lsp_types::Position, encoding: LspEncoding) -> LineCol {
    position::char_to_line_col(text, position::lsp_to_char_in(text, at, encoding))
}

pub fn range_from_lsp(text: &Rope, range: lsp_types::Range, encoding: LspEncoding) -> Range {
    Range {
        start: from_lsp(text, range.start, encoding),
        end: from_lsp(text, range.end, encoding),
    }
}

/// Without the text (a file we cannot or may not read), the best we can do is to pass
/// the numbers through: exact for ASCII lines.
pub(crate) fn range_passthrough(range: lsp_types::Range) -> Range {
    let position = |p: lsp_types::Position| LineCol {
        line: p.line as usize,
        col: p.character as usize,
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
                matches!(root.absolute(bad), Err(LspError::NotShared { .. })),
                "{bad:?} must be refused"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_that_lead_out_of_the_root_are_outside() {
        let dir = tempfile::tempdir().expect("temp dir");
        let elsewhere = tempfile::tempdir().expect("temp dir");
        std::fs::write(elsewhere.path().join("secret.rs"), "").expect("write");
        std::os::unix::fs::symlink(elsewhere.path(), dir.path().join("link")).expect("symlink");
        let root = Root::new(dir.path()).expect("root");
        assert!(matches!(
            root.absolute("link/secret.rs"),
            Err(LspError::NotShared { .. })
        ));
        let uri = uri_from_path(&dir.path().join("link/secret.rs")).expect("uri");
        assert!(matches!(
            root.place(&uri),
            Some(Place::External { file_name, .. }) if file_name == "secret.rs"
        ));
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
    fn positions_convert_in_the_negotiated_unit_and_clamp() {
        // '𝔸' is one char and two UTF-16 units; 'é' is one of each.
        let text = Rope::from_str("let 𝔸é = 1;\nx\n");
        let after_astral = LineCol { line: 0, col: 5 };
        let utf16 = to_lsp(&text, after_astral, LspEncoding::Utf16);
        assert_eq!(utf16, lsp_types::Position::new(0, 6));
        assert_eq!(from_lsp(&text, utf16, LspEncoding::Utf16), after_astral);
        let utf32 = to_lsp(&text, after_astral, LspEncoding::Utf32);
        assert_eq!(utf32, lsp_types::Position::new(0, 5));
        // Past the end of a line or the text: clamped, never a panic.
        assert_eq!(
            from_lsp(&text, lsp_types::Position::new(1, 40), LspEncoding::Utf16),
            LineCol { line: 1, col: 1 }
        );
        assert_eq!(
            to_lsp(&text, LineCol { line: 9, col: 9 }, LspEncoding::Utf16),
            lsp_types::Position::new(2, 0)
        );
    }
}
