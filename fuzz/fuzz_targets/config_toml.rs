//! The user's TOML files: `config.toml`, themes and keymaps (a user's own, or one
//! downloaded from someone else). A bad file is an error message, never a panic.
#![no_main]

use cotype::tui::config::Config;
use cotype::tui::keymap::{Keymap, format_bindings};
use cotype::tui::theme::{ColorMode, Theme};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match which % 3 {
        // What `Config::load_from` does with the file's text.
        0 => {
            let _ = toml::from_str::<Config>(text).map(|config| config.tab_width);
        }
        1 => {
            let mode = [ColorMode::TrueColor, ColorMode::Ansi256, ColorMode::NoColor]
                [usize::from(which / 3) % 3];
            if let Ok(theme) = Theme::from_toml("fuzzed", text, mode) {
                for scope in [
                    "ui.text",
                    "keyword",
                    "markup.heading",
                    "diagnostic.error",
                    "",
                ] {
                    let _ = theme.get(scope);
                }
                for index in 0..theme.participant_count() + 1 {
                    let _ = theme.participant(index);
                }
                let _ = theme.capture_styles(&["keyword.control", "string", "x.y.z.w"]);
            }
        }
        _ => {
            if let Ok(keymap) = Keymap::from_toml("fuzzed", text) {
                let _ = format_bindings(&keymap);
                for binding in keymap.bindings() {
                    let _ = keymap.keys_for(binding.mode, binding.action);
                }
            }
        }
    }
});
