//! The user's `config.toml`: the few choices a user makes once (theme, keymap, name, mouse)
//! instead of on every command line. Command-line flags win over it. See docs/CONFIG.md.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid cotype config: {message} (see docs/CONFIG.md)")]
    Parse { path: PathBuf, message: String },
}

/// The settings in `config.toml`; every field is optional in the file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Theme name: a file in `themes/` of the config folder, or a built-in theme.
    pub theme: String,
    /// Keymap name: `default` (modeless) or `vim`, or a file in `keymaps/`.
    pub keymap: String,
    /// Display name shown to the others; `None` means the login name.
    pub name: Option<String>,
    /// Capture the mouse (click, drag-select, scroll).
    pub mouse: bool,
    /// Columns per tab stop when rendering tabs.
    pub tab_width: u16,
    /// Whether to follow the host on joining (as in Live Share).
    pub follow_host_on_join: bool,
    /// Saving removes blanks at the ends of lines first (an edit everyone sees).
    pub trim_trailing_whitespace: bool,
    /// Saving adds a line break after the last line when it has none.
    pub insert_final_newline: bool,
    /// Show the language server's inlay hints (types, parameter names) between the
    /// characters from the start; `toggle_inlay_hints` switches them for the session.
    /// Off by default: with them, your columns no longer look like your partners'.
    pub inlay_hints: bool,
    /// Lay the language server's colors (what each name is: a function, a parameter, a
    /// type) over tree-sitter's.
    pub semantic_highlighting: bool,
    /// `cotype host` only: every save (whoever saves) is formatted by the file's language
    /// server first, as `--format-on-save` does.
    pub format_on_save: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            theme: crate::tui::theme::DEFAULT_THEME.into(),
            keymap: "default".into(),
            name: None,
            mouse: false,
            tab_width: 4,
            follow_host_on_join: true,
            trim_trailing_whitespace: false,
            insert_final_newline: false,
            inlay_hints: false,
            semantic_highlighting: false,
            format_on_save: false,
        }
    }
}

impl Config {
    /// Reads `config.toml` from the config folder; a missing file means the defaults.
    pub fn load() -> Result<Self, ConfigError> {
        match config_dir() {
            Some(dir) => Self::load_from(&dir.join("config.toml")),
            None => Ok(Self::default()),
        }
    }

    pub fn load_from(path: &Path) -> Result<Self, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.into(),
                    source,
                });
            }
        };
        toml::from_str(&text).map_err(|error| ConfigError::Parse {
            path: path.into(),
            message: error.message().to_owned(),
        })
    }
}

/// The user's config folder (e.g. `~/.config/cotype` on Linux).
pub fn config_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("dev", "cotype", "cotype").map(|dirs| dirs.config_dir().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_means_defaults_and_fields_override() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        assert_eq!(Config::load_from(&path).unwrap(), Config::default());
        std::fs::write(
            &path,
            "theme = \"sixteen\"\nkeymap = \"vim\"\nmouse = true\n",
        )
        .unwrap();
        let config = Config::load_from(&path).unwrap();
        assert_eq!(
            (config.theme.as_str(), config.keymap.as_str(), config.mouse),
            ("sixteen", "vim", true)
        );
        assert_eq!(config.tab_width, 4);
    }

    #[test]
    fn the_save_tidying_settings_are_off_unless_set() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        let config = Config::load_from(&path).unwrap();
        assert!(!config.trim_trailing_whitespace && !config.insert_final_newline);
        std::fs::write(
            &path,
            "trim_trailing_whitespace = true\ninsert_final_newline = true\n",
        )
        .unwrap();
        let config = Config::load_from(&path).unwrap();
        assert!(config.trim_trailing_whitespace && config.insert_final_newline);
    }

    #[test]
    fn a_misspelled_setting_is_reported_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "thme = \"sixteen\"\n").unwrap();
        let message = Config::load_from(&path).unwrap_err().to_string();
        assert!(message.contains("thme"), "{message}");
    }
}
