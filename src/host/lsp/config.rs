//! Which language server answers for which file: a table from file extension to a list of
//! candidate commands, the first one installed on the host wins.
//!
//! The table is data so that a host can point `.rs` at a pinned rust-analyzer or add a
//! language we did not think of, without touching the bridge.

use std::path::{Path, PathBuf};
use std::time::Duration;

/// A command line that starts a language server speaking LSP on stdin/stdout.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ServerCommand {
    pub program: String,
    pub args: Vec<String>,
}

impl ServerCommand {
    pub fn new(program: &str, args: &[&str]) -> ServerCommand {
        ServerCommand {
            program: program.to_owned(),
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        }
    }

    /// The full command as a user would type it, for messages.
    pub fn display(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.args.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Where the program lives: an explicit path as given, a bare name looked up on PATH.
    pub fn resolve(&self) -> Option<PathBuf> {
        let program = Path::new(&self.program);
        if program.components().count() > 1 {
            return program.is_file().then(|| program.to_path_buf());
        }
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|dir| dir.join(program))
            .find(|candidate| is_executable(candidate))
    }
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// One language: the LSP `languageId` its documents are opened with, the extensions that
/// select it, and the servers to try in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LanguageConfig {
    pub language_id: String,
    /// Without the dot, lower case: `rs`, `py`.
    pub extensions: Vec<String>,
    pub servers: Vec<ServerCommand>,
}

impl LanguageConfig {
    pub fn new(language_id: &str, extensions: &[&str], servers: Vec<ServerCommand>) -> Self {
        LanguageConfig {
            language_id: language_id.to_owned(),
            extensions: extensions.iter().map(|ext| (*ext).to_owned()).collect(),
            servers,
        }
    }
}

#[derive(Clone, Debug)]
pub struct LspConfig {
    pub languages: Vec<LanguageConfig>,
    /// How long one request may take before the user sees `LspError::Timeout`.
    pub request_timeout: Duration,
    /// The `initialize` handshake; rust-analyzer answers it quickly, but a cold JVM-based
    /// server may not.
    pub initialize_timeout: Duration,
    /// At most this many completion items are returned; servers send thousands.
    pub completion_limit: usize,
    /// Lines shown above and below a definition in a peek.
    pub peek_context_lines: usize,
    /// The host trusts the project's code: servers start with their own defaults, which
    /// may build and run it (`lsp::trust` says what changes otherwise).
    pub trust_project: bool,
}

impl Default for LspConfig {
    fn default() -> Self {
        let typescript = ServerCommand::new("typescript-language-server", &["--stdio"]);
        let clangd = ServerCommand::new("clangd", &[]);
        LspConfig {
            languages: vec![
                LanguageConfig::new(
                    "rust",
                    &["rs"],
                    vec![ServerCommand::new("rust-analyzer", &[])],
                ),
                LanguageConfig::new(
                    "python",
                    &["py", "pyi"],
                    vec![
                        ServerCommand::new("pylsp", &[]),
                        ServerCommand::new("pyright-langserver", &["--stdio"]),
                    ],
                ),
                LanguageConfig::new(
                    "typescript",
                    &["ts", "mts", "cts"],
                    vec![typescript.clone()],
                ),
                LanguageConfig::new("typescriptreact", &["tsx"], vec![typescript.clone()]),
                LanguageConfig::new(
                    "javascript",
                    &["js", "mjs", "cjs"],
                    vec![typescript.clone()],
                ),
                LanguageConfig::new("javascriptreact", &["jsx"], vec![typescript]),
                LanguageConfig::new("go", &["go"], vec![ServerCommand::new("gopls", &[])]),
                LanguageConfig::new("c", &["c", "h"], vec![clangd.clone()]),
                LanguageConfig::new(
                    "cpp",
                    &["cc", "cpp", "cxx", "hpp", "hh", "hxx"],
                    vec![clangd],
                ),
            ],
            request_timeout: Duration::from_secs(10),
            initialize_timeout: Duration::from_secs(60),
            completion_limit: 100,
            peek_context_lines: 3,
            trust_project: false,
        }
    }
}

impl LspConfig {
    /// The language a file belongs to, by its extension.
    pub fn language_for(&self, path: &str) -> Option<&LanguageConfig> {
        let extension = extension_of(path)?;
        self.languages
            .iter()
            .find(|language| language.extensions.contains(&extension))
    }

    /// Use `command` (and nothing else) for files ending in `.extension`; a new language
    /// named after the extension is added if none claims it yet.
    pub fn set_server(&mut self, extension: &str, command: ServerCommand) {
        let extension = extension.trim_start_matches('.').to_ascii_lowercase();
        match self
            .languages
            .iter_mut()
            .find(|language| language.extensions.contains(&extension))
        {
            Some(language) => language.servers = vec![command],
            None => self.languages.push(LanguageConfig {
                language_id: extension.clone(),
                extensions: vec![extension],
                servers: vec![command],
            }),
        }
    }
}

/// The lower-case extension of a '/'-separated path, without the dot.
pub(crate) fn extension_of(path: &str) -> Option<String> {
    let file_name = path.rsplit('/').next()?;
    let (stem, extension) = file_name.rsplit_once('.')?;
    (!stem.is_empty() && !extension.is_empty()).then(|| extension.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_choose_languages_case_insensitively() {
        let config = LspConfig::default();
        let id = |path| config.language_for(path).map(|l| l.language_id.as_str());
        assert_eq!(id("src/main.rs"), Some("rust"));
        assert_eq!(id("pkg/Mod.PY"), Some("python"));
        assert_eq!(id("web/app.tsx"), Some("typescriptreact"));
        assert_eq!(id("include/x.hpp"), Some("cpp"));
        assert_eq!(id("build.zig"), None);
        assert_eq!(id(".bashrc"), None, "a dotfile has no extension");
        assert_eq!(id("Makefile"), None);
    }

    #[test]
    fn set_server_overrides_or_adds_a_language() {
        let mut config = LspConfig::default();
        config.set_server(".rs", ServerCommand::new("/opt/ra", &[]));
        config.set_server("zig", ServerCommand::new("zls", &[]));
        let rust = config.language_for("a.rs").expect("rust stays configured");
        assert_eq!(rust.servers, vec![ServerCommand::new("/opt/ra", &[])]);
        let zig = config.language_for("build.zig").expect("zig was added");
        assert_eq!(zig.language_id, "zig");
        assert_eq!(zig.servers[0].display(), "zls");
    }

    #[test]
    fn resolve_finds_programs_on_path_and_rejects_missing_ones() {
        assert!(ServerCommand::new("sh", &[]).resolve().is_some());
        assert!(
            ServerCommand::new("cotype-no-such-server", &[])
                .resolve()
                .is_none()
        );
        assert!(
            ServerCommand::new("/nonexistent/ra", &[])
                .resolve()
                .is_none()
        );
    }
}
