//! Keys from a byte stream: what a terminal sends, decoded without a terminal of our own.
//!
//! crossterm reads only the process's own terminal; an SSH guest's keys arrive as the
//! bytes of a channel. [`ByteKeys`] turns those bytes into the same events crossterm would
//! give (`Event::Key`, `Event::Paste`), the way crossterm reads them in raw mode: control
//! characters are ctrl-letters, DEL is Backspace, Escape and a character is alt-character,
//! the escape sequences after `ESC [` and `ESC O` go through [`super::input::decode`], and
//! a bracketed paste is one `Paste`. Mouse reports and sequences it does not know are
//! dropped, never typed. A sequence or character cut between two reads waits for the rest;
//! an Escape at the very end of a read is the Escape key (a terminal sends a key's whole
//! sequence in one write).

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";
/// Longer than any key's sequence; a longer run after `ESC [` is dropped as garbage.
const LONGEST_SEQUENCE: usize = 32;
/// A paste larger than this is cut (the rest is dropped, not typed as keys).
const LARGEST_PASTE: usize = 4 << 20;

#[derive(Default)]
pub struct ByteKeys {
    /// Bytes of an unfinished sequence or character from the last read.
    pending: Vec<u8>,
    /// Inside a bracketed paste: what it has so far.
    paste: Option<Vec<u8>>,
}

impl ByteKeys {
    pub fn new() -> Self {
        Self::default()
    }

    /// The events in `bytes` (with what was left over from the last read).
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut input = std::mem::take(&mut self.pending);
        input.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut at = 0;
        while at < input.len() {
            let rest = &input[at..];
            if let Some(paste) = &mut self.paste {
                match find(rest, PASTE_END) {
                    Some(end) => {
                        if paste.len() < LARGEST_PASTE {
                            paste.extend_from_slice(&rest[..end]);
                        }
                        let text = String::from_utf8_lossy(paste).into_owned();
                        self.paste = None;
                        events.push(Event::Paste(text.replace("\r\n", "\n").replace('\r', "\n")));
                        at += end + PASTE_END.len();
                    }
                    None => {
                        // Keep a possible start of the end marker for the next read.
                        let keep = partial_suffix(rest, PASTE_END);
                        if paste.len() < LARGEST_PASTE {
                            paste.extend_from_slice(&rest[..rest.len() - keep]);
                        }
                        self.pending = rest[rest.len() - keep..].to_vec();
                        return events;
                    }
                }
                continue;
            }
            match self.one(rest) {
                Step::Event(event, used) => {
                    events.push(event);
                    at += used;
                }
                Step::Skip(used) => at += used,
                Step::NeedMore => {
                    self.pending = rest.to_vec();
                    return events;
                }
            }
        }
        events
    }

    /// The first event in `bytes` (never empty).
    fn one(&mut self, bytes: &[u8]) -> Step {
        let first = bytes[0];
        if first == 0x1b {
            return self.after_escape(bytes);
        }
        if first < 0x80 {
            return Step::Event(key(control_or_char(first)), 1);
        }
        // A UTF-8 character: wait for the rest of it; bytes that are no character are
        // dropped one by one.
        let len = match first {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => return Step::Skip(1),
        };
        if bytes.len() < len {
            return if bytes[1..].iter().all(|b| b & 0xc0 == 0x80) {
                Step::NeedMore
            } else {
                Step::Skip(1)
            };
        }
        match std::str::from_utf8(&bytes[..len]) {
            Ok(text) => {
                let c = text.chars().next().unwrap_or(' ');
                Step::Event(key(char_key(c)), len)
            }
            Err(_) => Step::Skip(1),
        }
    }

    fn after_escape(&mut self, bytes: &[u8]) -> Step {
        let Some(&second) = bytes.get(1) else {
            return Step::Event(key((KeyCode::Esc, KeyModifiers::NONE)), 1);
        };
        match second {
            b'[' | b'O' => {
                // `ESC O x` is three bytes; `ESC [` runs to a final byte.
                let end = if second == b'O' {
                    (bytes.len() > 2).then_some(2)
                } else {
                    bytes[2..]
                        .iter()
                        .position(|b| (0x40..=0x7e).contains(b))
                        .map(|i| i + 2)
                };
                let Some(end) = end else {
                    if bytes.len() > LONGEST_SEQUENCE {
                        return Step::Skip(2);
                    }
                    return Step::NeedMore;
                };
                let sequence = &bytes[..=end];
                if sequence == PASTE_START {
                    self.paste = Some(Vec::new());
                    return Step::Skip(sequence.len());
                }
                let tail = String::from_utf8_lossy(&sequence[1..]);
                match super::input::decode(&tail) {
                    Some(event) => Step::Event(Event::Key(event), sequence.len()),
                    None => Step::Skip(sequence.len()),
                }
            }
            0x1b => Step::Event(key((KeyCode::Esc, KeyModifiers::NONE)), 1),
            _ => match self.one(&bytes[1..]) {
                Step::Event(Event::Key(mut event), used) => {
                    event.modifiers |= KeyModifiers::ALT;
                    Step::Event(Event::Key(event), used + 1)
                }
                Step::NeedMore => Step::NeedMore,
                _ => Step::Skip(1),
            },
        }
    }
}

enum Step {
    Event(Event, usize),
    Skip(usize),
    NeedMore,
}

fn key((code, modifiers): (KeyCode, KeyModifiers)) -> Event {
    Event::Key(KeyEvent::new(code, modifiers))
}

/// An ASCII byte as crossterm reads it in raw mode.
fn control_or_char(byte: u8) -> (KeyCode, KeyModifiers) {
    match byte {
        b'\r' | b'\n' => (KeyCode::Enter, KeyModifiers::NONE),
        b'\t' => (KeyCode::Tab, KeyModifiers::NONE),
        0x7f | 0x08 => (KeyCode::Backspace, KeyModifiers::NONE),
        0x00 => (KeyCode::Char(' '), KeyModifiers::CONTROL),
        0x01..=0x1a => (
            KeyCode::Char(char::from(byte - 0x01 + b'a')),
            KeyModifiers::CONTROL,
        ),
        0x1c..=0x1f => (
            KeyCode::Char(char::from(byte - 0x1c + b'4')),
            KeyModifiers::CONTROL,
        ),
        _ => char_key(char::from(byte)),
    }
}

/// A typed character; capitals carry shift, as crossterm reports them.
fn char_key(c: char) -> (KeyCode, KeyModifiers) {
    let modifiers = if c.is_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    (KeyCode::Char(c), modifiers)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// How many bytes at the end of `bytes` could begin `marker`.
fn partial_suffix(bytes: &[u8], marker: &[u8]) -> usize {
    (1..marker.len())
        .rev()
        .find(|&n| n <= bytes.len() && bytes.ends_with(&marker[..n]))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(bytes: &[u8]) -> Vec<Event> {
        ByteKeys::new().feed(bytes)
    }

    fn k(code: KeyCode, modifiers: KeyModifiers) -> Event {
        key((code, modifiers))
    }

    #[test]
    fn typing_controls_and_sequences_are_keys() {
        let none = KeyModifiers::NONE;
        assert_eq!(
            keys(b"aB\r\x7f\x11\x1b[A\x1bOP\x1b[3~\tz"),
            vec![
                k(KeyCode::Char('a'), none),
                k(KeyCode::Char('B'), KeyModifiers::SHIFT),
                k(KeyCode::Enter, none),
                k(KeyCode::Backspace, none),
                k(KeyCode::Char('q'), KeyModifiers::CONTROL),
                k(KeyCode::Up, none),
                k(KeyCode::F(1), none),
                k(KeyCode::Delete, none),
                k(KeyCode::Tab, none),
                k(KeyCode::Char('z'), none),
            ]
        );
        assert_eq!(keys(b"\x1b"), vec![k(KeyCode::Esc, none)]);
        assert_eq!(
            keys(b"\x1bx"),
            vec![k(KeyCode::Char('x'), KeyModifiers::ALT)]
        );
        assert_eq!(keys("é".as_bytes()), vec![k(KeyCode::Char('é'), none)]);
    }

    #[test]
    fn a_sequence_or_character_cut_between_reads_waits_for_the_rest() {
        let mut decoder = ByteKeys::new();
        assert_eq!(decoder.feed(b"\x1b[1;5"), vec![]);
        assert_eq!(
            decoder.feed(b"C"),
            vec![k(KeyCode::Right, KeyModifiers::CONTROL)]
        );
        let e_acute = "é".as_bytes();
        assert_eq!(decoder.feed(&e_acute[..1]), vec![]);
        assert_eq!(
            decoder.feed(&e_acute[1..]),
            vec![k(KeyCode::Char('é'), KeyModifiers::NONE)]
        );
    }

    #[test]
    fn a_bracketed_paste_is_one_event_even_across_reads() {
        let mut decoder = ByteKeys::new();
        assert_eq!(decoder.feed(b"\x1b[200~one\r\ntw"), vec![]);
        assert_eq!(decoder.feed(b"o\x1b[20"), vec![]);
        assert_eq!(
            decoder.feed(b"1~x"),
            vec![
                Event::Paste("one\ntwo".into()),
                k(KeyCode::Char('x'), KeyModifiers::NONE)
            ]
        );
    }

    #[test]
    fn mouse_reports_and_garbage_are_dropped_never_typed() {
        assert_eq!(keys(b"\x1b[<0;10;5M"), vec![]);
        assert_eq!(keys(b"\xff\xfe"), vec![]);
        let long = [b"\x1b[".as_slice(), &[b'1'; 40]].concat();
        let events = keys(&long);
        assert!(
            events.iter().all(|event| !matches!(
                event,
                Event::Key(KeyEvent {
                    code: KeyCode::Char('['),
                    ..
                })
            )),
            "{events:?}"
        );
    }
}
