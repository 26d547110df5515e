//! One key press as keymaps name it: normalized from terminal events, parsed from and
//! written as names like `ctrl-s` or `shift-g`.

use std::fmt;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// One key press with its modifiers, normalized so that `G` and `shift-g` are the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub code: KeyCodeOrd,
    pub ctrl: bool,
    pub alt: bool,
    pub shift: bool,
}

/// `KeyCode` restricted to what keymaps bind, ordered for stable listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyCodeOrd {
    Char(char),
    F(u8),
    Enter,
    Tab,
    Backspace,
    Delete,
    Insert,
    Esc,
    Left,
    Right,
    Up,
    Down,
    Home,
    End,
    PageUp,
    PageDown,
}

impl Key {
    /// Normalizes a terminal key event; `None` for keys no keymap can bind.
    pub fn from_event(event: &KeyEvent) -> Option<Self> {
        let code = match event.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(c),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            KeyCode::Enter => KeyCodeOrd::Enter,
            KeyCode::Tab => KeyCodeOrd::Tab,
            // Terminals send shift-tab as its own key.
            KeyCode::BackTab => {
                return Some(Self {
                    code: KeyCodeOrd::Tab,
                    ctrl: event.modifiers.contains(KeyModifiers::CONTROL),
                    alt: event.modifiers.contains(KeyModifiers::ALT),
                    shift: true,
                });
            }
            KeyCode::Backspace => KeyCodeOrd::Backspace,
            KeyCode::Delete => KeyCodeOrd::Delete,
            KeyCode::Insert => KeyCodeOrd::Insert,
            KeyCode::Esc => KeyCodeOrd::Esc,
            KeyCode::Left => KeyCodeOrd::Left,
            KeyCode::Right => KeyCodeOrd::Right,
            KeyCode::Up => KeyCodeOrd::Up,
            KeyCode::Down => KeyCodeOrd::Down,
            KeyCode::Home => KeyCodeOrd::Home,
            KeyCode::End => KeyCodeOrd::End,
            KeyCode::PageUp => KeyCodeOrd::PageUp,
            KeyCode::PageDown => KeyCodeOrd::PageDown,
            _ => return None,
        };
        Some(Self::new(code, event.modifiers).normalized())
    }

    fn new(code: KeyCodeOrd, modifiers: KeyModifiers) -> Self {
        Self {
            code,
            ctrl: modifiers.contains(KeyModifiers::CONTROL),
            alt: modifiers.contains(KeyModifiers::ALT),
            shift: modifiers.contains(KeyModifiers::SHIFT),
        }
    }

    /// For characters, the shift is in the character itself (`G`, `?`).
    fn normalized(mut self) -> Self {
        if let KeyCodeOrd::Char(c) = self.code {
            if self.shift && c.is_ascii_lowercase() {
                self.code = KeyCodeOrd::Char(c.to_ascii_uppercase());
            }
            self.shift = false;
        }
        self
    }

    /// Whether a terminal without extended keys still tells this key apart: tmux and
    /// GNU screen by default, plain xterm. Their legacy encoding has no ctrl-shift letters
    /// (ctrl-shift-k arrives as ctrl-k), no ctrl with digits or punctuation, and ctrl-h,
    /// ctrl-i, ctrl-j and ctrl-m are backspace, tab and enter; ctrl or shift on enter,
    /// backspace or esc is lost. Alt is an escape before the key, so alt keys survive;
    /// arrows, home, end, page keys, delete and F keys carry their modifiers in xterm's
    /// form, which tmux passes on by default.
    pub fn survives_legacy_terminals(&self) -> bool {
        match self.code {
            KeyCodeOrd::Char(c) if self.ctrl => {
                c == ' ' || (c.is_ascii_lowercase() && !matches!(c, 'h' | 'i' | 'j' | 'm'))
            }
            KeyCodeOrd::Char(_) => true,
            KeyCodeOrd::Enter | KeyCodeOrd::Backspace | KeyCodeOrd::Esc => {
                !self.ctrl && !self.shift
            }
            KeyCodeOrd::Tab => !self.ctrl,
            _ => true,
        }
    }

    /// The character this key types, if it is plain text input.
    pub fn typed_char(&self) -> Option<char> {
        match self.code {
            KeyCodeOrd::Char(c) if !self.ctrl && !self.alt => Some(c),
            _ => None,
        }
    }

    /// Parses `ctrl-s`, `shift-left`, `alt-f`, `F1`, `pagedown`, `G`, `space`, `C-x`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut shift = false;
        let mut rest = text;
        while let Some((prefix, tail)) = rest.split_once('-') {
            if tail.is_empty() {
                break; // the key itself is '-'
            }
            match prefix.to_ascii_lowercase().as_str() {
                "ctrl" | "c" => ctrl = true,
                "alt" | "a" | "meta" | "m" => alt = true,
                "shift" | "s" => shift = true,
                other => return Err(format!("unknown modifier {other:?}")),
            }
            rest = tail;
        }
        let lower = rest.to_ascii_lowercase();
        let code = match lower.as_str() {
            "enter" | "ret" | "return" => KeyCodeOrd::Enter,
            "tab" => KeyCodeOrd::Tab,
            "backspace" | "bs" => KeyCodeOrd::Backspace,
            "delete" | "del" => KeyCodeOrd::Delete,
            "insert" | "ins" => KeyCodeOrd::Insert,
            "esc" | "escape" => KeyCodeOrd::Esc,
            "left" => KeyCodeOrd::Left,
            "right" => KeyCodeOrd::Right,
            "up" => KeyCodeOrd::Up,
            "down" => KeyCodeOrd::Down,
            "home" => KeyCodeOrd::Home,
            "end" => KeyCodeOrd::End,
            "pageup" | "pgup" => KeyCodeOrd::PageUp,
            "pagedown" | "pgdown" | "pgdn" => KeyCodeOrd::PageDown,
            "space" => KeyCodeOrd::Char(' '),
            "minus" => KeyCodeOrd::Char('-'),
            _ => {
                let mut chars = rest.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => KeyCodeOrd::Char(c),
                    _ => match lower.strip_prefix('f').map(str::parse::<u8>) {
                        Some(Ok(n)) if (1..=24).contains(&n) => KeyCodeOrd::F(n),
                        _ => return Err(format!("unknown key {rest:?}")),
                    },
                }
            }
        };
        Ok(Self {
            code,
            ctrl,
            alt,
            shift,
        }
        .normalized())
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        if self.shift {
            f.write_str("shift-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("space"),
            // With ctrl or alt, as the docs write it: ctrl-shift-k, alt-shift-f (`G` alone).
            KeyCodeOrd::Char(c) if (self.ctrl || self.alt) && c.is_ascii_uppercase() => {
                write!(f, "shift-{}", c.to_ascii_lowercase())
            }
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::F(n) => write!(f, "F{n}"),
            other => {
                let name = match other {
                    KeyCodeOrd::Enter => "enter",
                    KeyCodeOrd::Tab => "tab",
                    KeyCodeOrd::Backspace => "backspace",
                    KeyCodeOrd::Delete => "delete",
                    KeyCodeOrd::Insert => "insert",
                    KeyCodeOrd::Esc => "esc",
                    KeyCodeOrd::Left => "left",
                    KeyCodeOrd::Right => "right",
                    KeyCodeOrd::Up => "up",
                    KeyCodeOrd::Down => "down",
                    KeyCodeOrd::Home => "home",
                    KeyCodeOrd::End => "end",
                    KeyCodeOrd::PageUp => "pageup",
                    _ => "pagedown",
                };
                f.write_str(name)
            }
        }
    }
}
