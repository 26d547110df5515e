//! Terminal input, with crossterm's one misreading of Escape undone.
//!
//! When Escape and the next key reach us in one read (typing fast over SSH, or tmux
//! `send-keys`), the bytes are `ESC ESC [ A`. crossterm 0.29 takes the two ESC bytes as one
//! Escape and hands over the rest, `[` and `A`, as typed characters, which would put
//! `[A` into a shared file (crossterm-rs/crossterm#1124, open). A person cannot type `[`
//! within a couple of milliseconds of Escape, so characters that arrive that fast after an
//! Escape and start with `[` or `O` are the rest of a key's sequence: they are decoded
//! into that key, or dropped if they are not a key we know (a mouse report, say), never
//! typed.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::StreamExt;
use ratatui::crossterm::event::{
    Event, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};

/// Characters this soon after an Escape belong to the same read.
const SAME_READ: Duration = Duration::from_millis(3);
/// Longer than any key's sequence (`[1;5P`, `[24;8~`).
const LONGEST_SEQUENCE: usize = 12;

pub struct Input {
    stream: EventStream,
    ready: VecDeque<std::io::Result<Event>>,
    /// After an Escape: the characters that came with it so far, and until when more
    /// count as part of its read. Kept here, not in a future, so `next` stays
    /// cancel-safe (the event loop drops it whenever another branch wins).
    after_escape: Option<(Event, String, tokio::time::Instant)>,
}

impl Input {
    pub fn new() -> Self {
        Self {
            stream: EventStream::new(),
            ready: VecDeque::new(),
            after_escape: None,
        }
    }

    /// The next event; `None` when the terminal is gone. Cancel-safe.
    pub async fn next(&mut self) -> Option<std::io::Result<Event>> {
        loop {
            if let Some(event) = self.ready.pop_front() {
                return Some(event);
            }
            let Some((_, tail, deadline)) = &mut self.after_escape else {
                let event = self.stream.next().await?;
                match &event {
                    Ok(Event::Key(KeyEvent {
                        code: KeyCode::Esc,
                        kind: KeyEventKind::Press,
                        ..
                    })) => {
                        let deadline = tokio::time::Instant::now() + SAME_READ;
                        self.after_escape = Some((event.ok()?, String::new(), deadline));
                        continue;
                    }
                    _ => return Some(event),
                }
            };
            let deadline = *deadline;
            // `None`: nothing more arrived with the Escape.
            let next = if tail.len() < LONGEST_SEQUENCE {
                tokio::time::timeout_at(deadline, self.stream.next())
                    .await
                    .ok()
                    .flatten()
            } else {
                None
            };
            // State changes only from here, after the await.
            let (escape, mut tail, _) = self.after_escape.take()?;
            let mut after = None;
            match next {
                Some(Ok(Event::Key(KeyEvent {
                    code: KeyCode::Char(c),
                    kind: KeyEventKind::Press,
                    ..
                }))) if !tail.is_empty() || c == '[' || c == 'O' => {
                    tail.push(c);
                    if !(tail.len() > 1 && is_final(c)) {
                        self.after_escape = Some((escape, tail, deadline));
                        continue;
                    }
                }
                Some(other) => after = Some(other),
                None => {}
            }
            self.ready.push_back(Ok(escape));
            if !tail.is_empty() {
                match decode(&tail) {
                    Some(key) => self.ready.push_back(Ok(Event::Key(key))),
                    None => tracing::debug!(
                        "dropped an unknown sequence that arrived with an Escape: {tail:?}"
                    ),
                }
            }
            self.ready.extend(after);
        }
    }
}

impl Default for Input {
    fn default() -> Self {
        Self::new()
    }
}

fn is_final(c: char) -> bool {
    matches!(c, '@'..='~') && c != '['
}

/// The key a sequence after ESC stands for: `[A`, `[1;5C`, `[3~`, `[15;2~`, `OP`, `[Z`.
pub fn decode(tail: &str) -> Option<KeyEvent> {
    // Split after the first char, not the first byte: any text may reach here.
    let introducer_len = tail.chars().next()?.len_utf8();
    let (introducer, rest) = tail.split_at(introducer_len);
    let final_char = rest.chars().last()?;
    let params = &rest[..rest.len() - final_char.len_utf8()];
    let mut numbers = params.split(';').map(|part| part.parse::<u8>().ok());
    let first = numbers.next().flatten();
    let modifiers = match numbers.next() {
        Some(Some(m)) if m >= 1 => {
            let bits = m - 1;
            let mut modifiers = KeyModifiers::NONE;
            modifiers.set(KeyModifiers::SHIFT, bits & 1 != 0);
            modifiers.set(KeyModifiers::ALT, bits & 2 != 0);
            modifiers.set(KeyModifiers::CONTROL, bits & 4 != 0);
            modifiers
        }
        None => KeyModifiers::NONE,
        _ => return None,
    };
    let code = match (introducer, final_char, first) {
        (_, 'A', _) => KeyCode::Up,
        (_, 'B', _) => KeyCode::Down,
        (_, 'C', _) => KeyCode::Right,
        (_, 'D', _) => KeyCode::Left,
        (_, 'H', _) => KeyCode::Home,
        (_, 'F', _) => KeyCode::End,
        (_, 'P', _) => KeyCode::F(1),
        (_, 'Q', _) => KeyCode::F(2),
        (_, 'R', _) => KeyCode::F(3),
        (_, 'S', _) => KeyCode::F(4),
        ("[", 'Z', _) => return Some(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
        ("[", '~', Some(n)) => match n {
            1 | 7 => KeyCode::Home,
            2 => KeyCode::Insert,
            3 => KeyCode::Delete,
            4 | 8 => KeyCode::End,
            5 => KeyCode::PageUp,
            6 => KeyCode::PageDown,
            11..=15 => KeyCode::F(n - 10),
            17..=21 => KeyCode::F(n - 11),
            23 | 24 => KeyCode::F(n - 12),
            _ => return None,
        },
        _ => return None,
    };
    Some(KeyEvent::new(code, modifiers))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> Option<KeyEvent> {
        Some(KeyEvent::new(code, modifiers))
    }

    #[test]
    fn the_keys_a_terminal_sends_are_decoded() {
        assert_eq!(decode("[A"), key(KeyCode::Up, KeyModifiers::NONE));
        assert_eq!(decode("OD"), key(KeyCode::Left, KeyModifiers::NONE));
        assert_eq!(decode("[1~"), key(KeyCode::Home, KeyModifiers::NONE));
        assert_eq!(decode("[3~"), key(KeyCode::Delete, KeyModifiers::NONE));
        assert_eq!(decode("[6~"), key(KeyCode::PageDown, KeyModifiers::NONE));
        assert_eq!(decode("OP"), key(KeyCode::F(1), KeyModifiers::NONE));
        assert_eq!(decode("[15~"), key(KeyCode::F(5), KeyModifiers::NONE));
        assert_eq!(decode("[24~"), key(KeyCode::F(12), KeyModifiers::NONE));
        assert_eq!(decode("[1;5C"), key(KeyCode::Right, KeyModifiers::CONTROL));
        assert_eq!(
            decode("[1;6H"),
            key(KeyCode::Home, KeyModifiers::CONTROL | KeyModifiers::SHIFT)
        );
        assert_eq!(decode("[3;3~"), key(KeyCode::Delete, KeyModifiers::ALT));
        assert_eq!(decode("[Z"), key(KeyCode::BackTab, KeyModifiers::SHIFT));
    }

    #[test]
    fn what_is_not_a_key_is_not_guessed() {
        // A mouse report, a bracketed paste's start, nonsense: dropped, never typed.
        assert_eq!(decode("[<0;10;5M"), None);
        assert_eq!(decode("[200~"), None);
        assert_eq!(decode("[9~"), None);
        assert_eq!(decode("[1;x~"), None);
    }

    /// Found by the fuzz target `terminal_input`: an empty tail, or one starting with a
    /// multi-byte char, panicked on a byte split.
    #[test]
    fn any_text_is_decoded_or_refused_without_a_panic() {
        assert_eq!(decode(""), None);
        assert_eq!(decode("é"), None);
        assert_eq!(decode("[é"), None);
    }
}
