//! Frame time after a keystroke in a large highlighted Rust file.
//!
//! One "keystroke frame" is what the app loop does for a typed character: the app turns
//! the key into an operation, the operation is applied to the rope, the syntax tree is
//! updated incrementally, and the whole screen is rendered and diffed (ratatui's
//! `TestBackend`, so terminal I/O is not measured). The baseline, measured in the same
//! run, renders an empty frame (no document open) on the same screen. The same keystroke
//! in a 1,000-line file shows whether the cost grows with the file.
//!
//! The terminal writer is measured apart: the same keystroke frames, and a full redraw of
//! the screen, written by cotype's `LeanBackend` into memory, against ratatui's own
//! `CrosstermBackend` writing the same frames (the baseline), in time and in bytes.
//!
//! Run: `cargo bench --bench render`. The last line is one JSON object.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cotype::tui::app::App;
use cotype::tui::backend::LeanBackend;
use cotype::tui::compositor::{AppCommand, Event};
use cotype::tui::keymap::Keymap;
use cotype::tui::theme::{ColorMode, Theme};
use ratatui::backend::{Backend, CrosstermBackend, TestBackend};
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use ropey::Rope;

const WIDTH: u16 = 160;
const HEIGHT: u16 = 50;
const SAMPLES: usize = 300;

fn rust_source(lines: usize) -> String {
    let mut out = String::with_capacity(lines * 40);
    let mut n = 0;
    // Eight lines a function.
    while n == 0 || n * 8 < lines {
        out.push_str(&format!(
            "/// Adds things, number {n}.\npub fn add_{n}(a: u64, b: &str) -> u64 {{\n    let s = \"text {n}\";\n    if a > {n} {{ return a + b.len() as u64; }}\n    // a comment\n    a.wrapping_mul(31) ^ s.len() as u64\n}}\n\n"
        ));
        n += 1;
    }
    out
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn new_app() -> App {
    let theme = Theme::load_from("default-dark", None, ColorMode::TrueColor).expect("theme");
    let keymap = Keymap::load_from("default", None).expect("keymap");
    App::new(theme, keymap, 4, (WIDTH, HEIGHT))
}

/// What a frame shows, as text.
fn screen_text(buffer: &Buffer) -> String {
    buffer.content.iter().map(|cell| cell.symbol()).collect()
}

/// Median time of a keystroke frame in a file of `lines` lines, cursor in the middle.
fn keystroke_frames(lines: usize) -> (Duration, Duration) {
    let (keystroke, reparse, _) =
        keystroke_frames_with(lines, TestBackend::new(WIDTH, HEIGHT), |_| 0);
    (keystroke, reparse)
}

/// The same, drawn by `backend`; also the median bytes a frame wrote (`written` reads the
/// backend's total so far) and, last, a full redraw's time and bytes.
fn keystroke_frames_with<B: Backend>(
    lines: usize,
    backend: B,
    written: impl Fn(&B) -> usize,
) -> (Duration, Duration, WriterFigures) {
    let path = "src/big.rs".to_string();
    let mut docs: HashMap<String, Rope> = HashMap::new();
    docs.insert(path.clone(), Rope::from_str(&rust_source(lines)));
    let mut app = new_app();
    app.open_document(&path, &docs[&path], false);
    // Jump to the middle of the file with page-downs, like a user would, then into a
    // function body: find `wrapping_mul` and step onto the start of the match, so each
    // keystroke edits an identifier (`xwrapping_mul`), as typing in code mostly does.
    let key = |code, modifiers| Event::Key(KeyEvent::new(code, modifiers));
    for _ in 0..(lines / 2 / (HEIGHT as usize - 4)) {
        app.handle_event(&key(KeyCode::PageDown, KeyModifiers::NONE), &docs);
    }
    app.handle_event(&key(KeyCode::Char('f'), KeyModifiers::CONTROL), &docs);
    for c in "wrapping_mul".chars() {
        app.handle_event(&key(KeyCode::Char(c), KeyModifiers::NONE), &docs);
    }
    app.handle_event(&key(KeyCode::Esc, KeyModifiers::NONE), &docs);
    app.handle_event(&key(KeyCode::Left, KeyModifiers::NONE), &docs);
    let viewport = Viewport::Fixed(Rect::new(0, 0, WIDTH, HEIGHT));
    let mut terminal =
        Terminal::with_options(backend, TerminalOptions { viewport }).expect("terminal");
    let first = terminal
        .draw(|frame| app.render(frame, &docs))
        .expect("draw");
    // The point is a highlighted file: refuse to report figures for a plain one.
    let screen = screen_text(first.buffer);
    assert!(
        !screen.contains("syntax colors off"),
        "highlighting is off for the {lines}-line file; the figures would mean nothing"
    );
    let mut samples = Vec::with_capacity(SAMPLES);
    let mut frame_bytes = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES {
        let before_bytes = written(terminal.backend());
        // Alternate typing and deleting so the file does not grow.
        let key = if i % 2 == 0 {
            KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)
        } else {
            KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)
        };
        let start = Instant::now();
        for command in app.handle_event(&Event::Key(key), &docs) {
            if let AppCommand::Edit { path, operation } = command {
                let before = docs[&path].clone();
                let rope = docs.get_mut(&path).expect("open document");
                operation.apply(rope).expect("operation fits");
                let after = rope.clone();
                app.local_edit_applied(&path, &before, &operation, &after);
            }
        }
        terminal
            .draw(|frame| app.render(frame, &docs))
            .expect("draw");
        samples.push(start.elapsed());
        frame_bytes.push(written(terminal.backend()) - before_bytes);
    }
    // Nearly every cell changed: the file drawn over an empty screen.
    let empty_app = new_app();
    let no_docs: HashMap<String, Rope> = HashMap::new();
    let mut redraws = Vec::new();
    let mut redraw_bytes = 0;
    for _ in 0..20 {
        terminal
            .draw(|frame| empty_app.render(frame, &no_docs))
            .expect("draw");
        let before_bytes = written(terminal.backend());
        let start = Instant::now();
        terminal
            .draw(|frame| app.render(frame, &docs))
            .expect("draw");
        redraws.push(start.elapsed());
        redraw_bytes = written(terminal.backend()) - before_bytes;
    }
    frame_bytes.sort_unstable();
    let figures = WriterFigures {
        keystroke_bytes: frame_bytes[frame_bytes.len() / 2],
        redraw: median(redraws),
        redraw_bytes,
    };
    // The deferred re-parse of large files runs when typing pauses; time it separately.
    let mut reparse = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        app.idle_work(&docs);
        reparse.push(start.elapsed());
        let edit = KeyEvent::new(KeyCode::Char('y'), KeyModifiers::NONE);
        for command in app.handle_event(&Event::Key(edit), &docs) {
            if let AppCommand::Edit { path, operation } = command {
                let before = docs[&path].clone();
                let rope = docs.get_mut(&path).expect("open document");
                operation.apply(rope).expect("operation fits");
                let after = rope.clone();
                app.local_edit_applied(&path, &before, &operation, &after);
            }
        }
    }
    (median(samples), median(reparse), figures)
}

/// A terminal that counts what it is sent and keeps none of it.
#[derive(Clone, Default)]
struct Counted {
    total: std::rc::Rc<std::cell::Cell<usize>>,
}

impl std::io::Write for Counted {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.total.set(self.total.get() + bytes.len());
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

struct WriterFigures {
    keystroke_bytes: usize,
    redraw: Duration,
    redraw_bytes: usize,
}

fn empty_frames() -> Duration {
    let docs: HashMap<String, Rope> = HashMap::new();
    let app = new_app();
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let start = Instant::now();
        terminal
            .draw(|frame| app.render(frame, &docs))
            .expect("draw");
        samples.push(start.elapsed());
    }
    median(samples)
}

fn main() {
    let empty = empty_frames();
    let (small, _) = keystroke_frames(1_000);
    let (large, reparse) = keystroke_frames(100_000);
    let lean_count = Counted::default();
    let (lean, _, lean_figures) = keystroke_frames_with(
        100_000,
        LeanBackend::with_size(lean_count.clone(), WIDTH, HEIGHT),
        |_| lean_count.total.get(),
    );
    let crossterm_count = Counted::default();
    let (crossterm, _, crossterm_figures) = keystroke_frames_with(
        100_000,
        CrosstermBackend::new(crossterm_count.clone()),
        |_| crossterm_count.total.get(),
    );
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("screen {WIDTH}x{HEIGHT}, median of {SAMPLES} frames");
    println!("empty frame (baseline):            {:.3} ms", ms(empty));
    println!("keystroke frame, 1,000-line file:   {:.3} ms", ms(small));
    println!("keystroke frame, 100,000-line file: {:.3} ms", ms(large));
    println!(
        "deferred re-parse when typing pauses, 100,000-line file: {:.3} ms",
        ms(reparse)
    );
    println!(
        "ratio large/empty: {:.1}x, large/small: {:.2}x (target: under 2 ms, flat in file length)",
        ms(large) / ms(empty),
        ms(large) / ms(small)
    );
    println!(
        "terminal writer, 100,000-line file (cotype's LeanBackend / ratatui's CrosstermBackend):"
    );
    println!(
        "  keystroke frame {:.3} ms / {:.3} ms ({:.2}x), {} / {} bytes",
        ms(lean),
        ms(crossterm),
        ms(lean) / ms(crossterm),
        lean_figures.keystroke_bytes,
        crossterm_figures.keystroke_bytes
    );
    println!(
        "  the file drawn over an empty screen {:.3} ms / {:.3} ms ({:.2}x), {} / {} bytes",
        ms(lean_figures.redraw),
        ms(crossterm_figures.redraw),
        ms(lean_figures.redraw) / ms(crossterm_figures.redraw),
        lean_figures.redraw_bytes,
        crossterm_figures.redraw_bytes
    );
    println!(
        "{{\"bench\":\"render\",\"width\":{WIDTH},\"height\":{HEIGHT},\"samples\":{SAMPLES},\"empty_frame_ms\":{:.4},\"keystroke_1k_lines_ms\":{:.4},\"keystroke_100k_lines_ms\":{:.4},\"ratio_to_empty\":{:.2},\"ratio_100k_to_1k\":{:.2},\"idle_reparse_100k_lines_ms\":{:.3},\"lean_keystroke_ms\":{:.4},\"crossterm_keystroke_ms\":{:.4},\"lean_keystroke_bytes\":{},\"crossterm_keystroke_bytes\":{},\"lean_redraw_ms\":{:.3},\"crossterm_redraw_ms\":{:.3},\"lean_redraw_bytes\":{},\"crossterm_redraw_bytes\":{}}}",
        ms(empty),
        ms(small),
        ms(large),
        ms(large) / ms(empty),
        ms(large) / ms(small),
        ms(reparse),
        ms(lean),
        ms(crossterm),
        lean_figures.keystroke_bytes,
        crossterm_figures.keystroke_bytes,
        ms(lean_figures.redraw),
        ms(crossterm_figures.redraw),
        lean_figures.redraw_bytes,
        crossterm_figures.redraw_bytes
    );
}
