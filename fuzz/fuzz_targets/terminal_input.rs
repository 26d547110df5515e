//! Where bytes from the terminal become keys: the escape-sequence tails that arrive with
//! an Escape (`tui::input::decode`), key names in keymap files (`Key::parse`), and key
//! presses fed through the built-in keymaps (vim's counts and operators included).
#![no_main]

use std::sync::OnceLock;

use cotype::tui::input::decode;
use cotype::tui::keymap::{Key, Keymap, Mode};
use libfuzzer_sys::fuzz_target;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

fn keymaps() -> &'static [Keymap; 2] {
    static KEYMAPS: OnceLock<[Keymap; 2]> = OnceLock::new();
    KEYMAPS.get_or_init(|| {
        [
            Keymap::load_from("default", None).expect("the default keymap loads"),
            Keymap::load_from("vim", None).expect("the vim keymap loads"),
        ]
    })
}

/// A key press from two bytes: which key, and its modifiers.
fn key_event(code: u8, modifiers: u8) -> KeyEvent {
    let code = match code {
        0..=0x7f => KeyCode::Char(char::from(code)),
        0x80 => KeyCode::Esc,
        0x81 => KeyCode::Enter,
        0x82 => KeyCode::Tab,
        0x83 => KeyCode::BackTab,
        0x84 => KeyCode::Backspace,
        0x85 => KeyCode::Delete,
        0x86 => KeyCode::Left,
        0x87 => KeyCode::Right,
        0x88 => KeyCode::Up,
        0x89 => KeyCode::Down,
        0x8a => KeyCode::Home,
        0x8b => KeyCode::End,
        0x8c => KeyCode::PageUp,
        0x8d => KeyCode::PageDown,
        0x8e => KeyCode::Insert,
        0x90..=0x9f => KeyCode::F(code - 0x8f),
        _ => KeyCode::Char(['é', '漢', '😀', '\u{301}'][usize::from(code % 4)]),
    };
    KeyEvent::new(code, KeyModifiers::from_bits_truncate(modifiers & 0b111))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(event) = decode(&text) {
        // Whatever a sequence decodes to is a key a keymap can take.
        let _ = Key::from_event(&event);
    }
    for word in text.split_whitespace() {
        if let Ok(key) = Key::parse(word) {
            let _ = key.typed_char();
            let _ = key.survives_legacy_terminals();
        }
    }
    if let Some(&first) = data.first() {
        let mut keymap = keymaps()[usize::from(first & 1)].clone();
        let mut mode = keymap.initial_mode();
        for pair in data.chunks_exact(2).take(64) {
            if pair[1] & 0x80 != 0 {
                mode = [Mode::Normal, Mode::Insert, Mode::Visual, Mode::Operator]
                    [usize::from(pair[1] >> 3) % 4];
            }
            let _ = keymap.handle(mode, &key_event(pair[0], pair[1]));
            let _ = keymap.pending();
        }
    }
});
