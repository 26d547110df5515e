//! Hover text from the host's language server, rendered as markdown in a popup (fenced
//! code highlighted by the editor's tree-sitter highlighter). The server is another
//! program, and through the host a participant's screen shows what it wrote.
#![no_main]

use std::sync::OnceLock;

use cotype::tui::markdown::render;
use cotype::tui::theme::{ColorMode, Theme};
use libfuzzer_sys::fuzz_target;
use unicode_width::UnicodeWidthStr;

fn theme() -> &'static Theme {
    static THEME: OnceLock<Theme> = OnceLock::new();
    THEME.get_or_init(|| Theme::load("default-dark", ColorMode::TrueColor).expect("built-in theme"))
}

fuzz_target!(|data: &[u8]| {
    let Some((&width, rest)) = data.split_first() else {
        return;
    };
    let Ok(markdown) = std::str::from_utf8(rest) else {
        return;
    };
    let width = usize::from(width % 120);
    let lines = render(markdown, width, theme());
    // Text is wrapped to the popup; only code may run past its edge (it is cut there).
    let width = width.max(8);
    for line in &lines {
        let is_code =
            line.spans.iter().any(|span| span.style.bg.is_some()) || markdown.contains("```");
        if !is_code {
            let columns: usize = line.spans.iter().map(|span| span.content.width()).sum();
            assert!(
                columns <= width,
                "a {columns}-column line in a {width}-column popup: {line:?}"
            );
        }
    }
});
