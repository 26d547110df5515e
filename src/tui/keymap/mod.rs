//! Keys are data: a table from key sequences to named actions, per mode.
//!
//! Keymap files (`keymaps/*.toml`, and the user's own in the config folder) map an action
//! name to the keys that trigger it, per mode:
//!
//! ```toml
//! [insert]
//! save = "ctrl-s"
//! open_file_picker = ["ctrl-p", "ctrl-o"]
//! ```
//!
//! Because the action is the key of the table, a user file overrides by action name: it
//! replaces the keys of the actions it names and leaves the rest alone (`save = []`
//! unbinds). The same table lists the active bindings for `cotype keys` and the help
//! overlay. Modeless keymaps have only an `[insert]` table; modal ones add `[normal]` and
//! `[visual]` and start in normal mode. A binding may be a sequence (`"g g"`).
//!
//! In normal mode, keys follow vim's grammar ([`grammar`]): a count, an operator, a
//! motion or (from the `[operator]` table) a text object: `3j`, `d2w`, `ciw`.

use std::collections::BTreeMap;
use std::path::Path;

use ratatui::crossterm::event::KeyEvent;

mod actions;
mod grammar;
mod key;
pub use actions::Action;
pub use grammar::{Command, Operator};
pub use key::{Key, KeyCodeOrd};

#[derive(Debug, thiserror::Error)]
pub enum KeymapError {
    #[error(
        "no keymap named {name:?}; built-in keymaps are default and vim, user keymaps go in {user_dir}"
    )]
    NotFound { name: String, user_dir: String },
    #[error("cannot read keymap {path}: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("keymap {name:?} is not valid TOML: {message}")]
    Toml { name: String, message: String },
    #[error(
        "keymap {name:?}: unknown mode [{mode}]; modes are normal, insert, visual and operator"
    )]
    UnknownMode { name: String, mode: String },
    #[error("keymap {name:?}: unknown action {action:?}; `cotype keys` lists the actions")]
    UnknownAction { name: String, action: String },
    #[error("keymap {name:?}: cannot read key {key:?} for {action}: {reason}")]
    BadKey {
        name: String,
        action: String,
        key: String,
        reason: String,
    },
}

/// Editing modes. Modeless keymaps live entirely in `Insert`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    Normal,
    Insert,
    Visual,
    /// Vim's operator-pending mode: the keymap is in it between an operator (`d`) and its
    /// motion; its table holds what only follows an operator (text objects), and the
    /// normal table supplies the motions. The editor itself is never in it.
    Operator,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Insert => "insert",
            Self::Visual => "visual",
            Self::Operator => "operator",
        }
    }

    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "normal" => Self::Normal,
            "insert" => Self::Insert,
            "visual" => Self::Visual,
            "operator" => Self::Operator,
            _ => return None,
        })
    }
}

/// One active binding, for listings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub mode: Mode,
    /// Space-separated key sequence, e.g. `ctrl-s` or `g g`.
    pub keys: String,
    pub action: Action,
}

/// What a key press meant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyResult {
    Action(Action),
    /// An action with a count or an operator (vim's normal mode): `3j`, `d2w`, `dd`.
    Command(Command),
    /// The key starts a longer sequence; wait for the next one.
    Pending,
    /// Insert this character (insert mode, no binding).
    Insert(char),
    /// Nothing is bound; the pending sequence was dropped.
    Unbound,
}

type Table = BTreeMap<Action, Vec<Vec<Key>>>;

/// A loaded keymap plus the keys pressed so far of a sequence.
#[derive(Debug, Clone)]
pub struct Keymap {
    name: String,
    modes: BTreeMap<Mode, Table>,
    pending: Vec<Key>,
    /// Count and operator typed so far in normal mode.
    command: grammar::PendingCommand,
}

const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../../keymaps/default.toml")),
    ("vim", include_str!("../../../keymaps/vim.toml")),
];

impl Keymap {
    /// Loads a keymap by name (user `keymaps/NAME.toml` in the config folder first, then
    /// the built-in ones) and applies the user's `keymaps/overrides.toml` if present.
    pub fn load(name: &str) -> Result<Self, KeymapError> {
        let dir = crate::tui::config::config_dir().map(|dir| dir.join("keymaps"));
        Self::load_from(name, dir.as_deref())
    }

    pub fn load_from(name: &str, user_dir: Option<&Path>) -> Result<Self, KeymapError> {
        let user_file = |stem: &str| -> Result<Option<String>, KeymapError> {
            let Some(dir) = user_dir else { return Ok(None) };
            if stem.contains(['/', '\\']) || stem.starts_with('.') {
                return Ok(None);
            }
            let path = dir.join(format!("{stem}.toml"));
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some(text)),
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(KeymapError::Read { path, source }),
            }
        };
        let text = match user_file(name)? {
            Some(text) => text,
            None => BUILTIN
                .iter()
                .find(|(builtin, _)| *builtin == name)
                .map(|(_, text)| (*text).to_owned())
                .ok_or_else(|| KeymapError::NotFound {
                    name: name.into(),
                    user_dir: user_dir
                        .map(|dir| dir.display().to_string())
                        .unwrap_or_else(|| "(no config folder)".into()),
                })?,
        };
        let mut keymap = Self::from_toml(name, &text)?;
        if let Some(overrides) = user_file("overrides")? {
            keymap.apply_overrides("overrides", &overrides)?;
        }
        Ok(keymap)
    }

    pub fn from_toml(name: &str, text: &str) -> Result<Self, KeymapError> {
        let mut keymap = Self {
            name: name.into(),
            modes: BTreeMap::new(),
            pending: Vec::new(),
            command: Default::default(),
        };
        keymap.apply_overrides(name, text)?;
        Ok(keymap)
    }

    /// Replaces the keys of each action the TOML names, mode by mode.
    pub fn apply_overrides(&mut self, source: &str, text: &str) -> Result<(), KeymapError> {
        let table: toml::Table = toml::from_str(text).map_err(|error| KeymapError::Toml {
            name: source.into(),
            message: error.to_string(),
        })?;
        for (mode_name, bindings) in table {
            let mode = Mode::from_name(&mode_name).ok_or_else(|| KeymapError::UnknownMode {
                name: source.into(),
                mode: mode_name.clone(),
            })?;
            let toml::Value::Table(bindings) = bindings else {
                return Err(KeymapError::UnknownMode {
                    name: source.into(),
                    mode: mode_name,
                });
            };
            let mode_table = self.modes.entry(mode).or_default();
            for (action_name, keys) in bindings {
                let action =
                    Action::from_name(&action_name).ok_or_else(|| KeymapError::UnknownAction {
                        name: source.into(),
                        action: action_name.clone(),
                    })?;
                let bad_key = |key: String, reason: String| KeymapError::BadKey {
                    name: source.into(),
                    action: action_name.clone(),
                    key,
                    reason,
                };
                let key_texts: Vec<String> = match keys {
                    toml::Value::String(single) => vec![single],
                    toml::Value::Array(list) => list
                        .into_iter()
                        .map(|item| match item {
                            toml::Value::String(text) => Ok(text),
                            other => Err(bad_key(other.to_string(), "not a string".into())),
                        })
                        .collect::<Result<_, _>>()?,
                    other => return Err(bad_key(other.to_string(), "not a string".into())),
                };
                let mut sequences = Vec::new();
                for text in key_texts {
                    let sequence = text
                        .split_whitespace()
                        .map(Key::parse)
                        .collect::<Result<Vec<_>, _>>()
                        .map_err(|reason| bad_key(text.clone(), reason))?;
                    if sequence.is_empty() {
                        return Err(bad_key(text, "empty".into()));
                    }
                    sequences.push(sequence);
                }
                // A key given to this action is taken from any other in the mode: what
                // the user binds last wins, so an override never silently loses.
                for (other, their) in mode_table.iter_mut() {
                    if *other != action {
                        their.retain(|sequence| !sequences.contains(sequence));
                    }
                }
                mode_table.insert(action, sequences);
            }
        }
        Ok(())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The mode a session starts in: normal for modal keymaps, insert for modeless ones.
    pub fn initial_mode(&self) -> Mode {
        if self.is_modal() {
            Mode::Normal
        } else {
            Mode::Insert
        }
    }

    pub fn is_modal(&self) -> bool {
        self.modes.contains_key(&Mode::Normal)
    }

    /// Feeds one key press in `mode`.
    pub fn handle(&mut self, mode: Mode, event: &KeyEvent) -> KeyResult {
        let Some(key) = Key::from_event(event) else {
            self.pending.clear();
            self.command = Default::default();
            return KeyResult::Unbound;
        };
        self.handle_key(mode, key)
    }

    pub fn handle_key(&mut self, mode: Mode, key: Key) -> KeyResult {
        if mode == Mode::Normal {
            return self.handle_normal(key);
        }
        self.command = Default::default();
        self.resolve(mode, key)
    }

    /// Looks `key` up in `mode`'s table, continuing a pending sequence.
    fn resolve(&mut self, mode: Mode, key: Key) -> KeyResult {
        self.pending.push(key);
        let mut prefix_of_longer = false;
        let mut exact = None;
        if let Some(table) = self.modes.get(&mode) {
            for (action, sequences) in table {
                for sequence in sequences {
                    if *sequence == self.pending {
                        exact = Some(*action);
                    } else if sequence.starts_with(&self.pending) {
                        prefix_of_longer = true;
                    }
                }
            }
        }
        if let Some(action) = exact {
            self.pending.clear();
            return KeyResult::Action(action);
        }
        if prefix_of_longer {
            return KeyResult::Pending;
        }
        let was_sequence = self.pending.len() > 1;
        self.pending.clear();
        match key.typed_char() {
            Some(c) if mode == Mode::Insert && !was_sequence => KeyResult::Insert(c),
            _ => KeyResult::Unbound,
        }
    }

    /// The keys typed so far of an unfinished sequence or command (shown in the status
    /// line, as vim's showcmd): `g`, `2d`.
    pub fn pending(&self) -> String {
        format!("{}{}", self.command.typed(), join_keys(&self.pending))
    }

    /// Every active binding, by mode then action.
    pub fn bindings(&self) -> Vec<Binding> {
        let mut out = Vec::new();
        for (mode, table) in &self.modes {
            for (action, sequences) in table {
                for sequence in sequences {
                    out.push(Binding {
                        mode: *mode,
                        keys: join_keys(sequence),
                        action: *action,
                    });
                }
            }
        }
        out
    }

    /// The keys for `action` in `mode`, e.g. `"ctrl-s"`, for hints in messages.
    pub fn keys_for(&self, mode: Mode, action: Action) -> Option<String> {
        let sequence = self.modes.get(&mode)?.get(&action)?.first()?;
        Some(join_keys(sequence))
    }
}

fn join_keys(keys: &[Key]) -> String {
    keys.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text `cotype keys` prints: one line per binding, grouped by mode.
pub fn format_bindings(keymap: &Keymap) -> String {
    let mut out = String::new();
    let mut last_mode = None;
    for binding in keymap.bindings() {
        if last_mode != Some(binding.mode) {
            if keymap.is_modal() {
                out.push_str(&format!("[{}]\n", binding.mode.name()));
            }
            last_mode = Some(binding.mode);
        }
        out.push_str(&format!(
            "  {:<16} {:<24} {}\n",
            binding.keys,
            binding.action.name(),
            binding.action.description()
        ));
    }
    out
}

#[cfg(test)]
mod tests;
