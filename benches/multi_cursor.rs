//! A keystroke with 50 cursors in a 100,000-line highlighted Rust file.
//!
//! One frame is what the app loop does for a typed key: the app turns it into one
//! operation (every cursor's edit in it), the operation is applied to the rope, the syntax
//! tree follows it, and the screen is rendered and diffed (ratatui's `TestBackend`, so
//! terminal I/O is not measured). The cursors are 50 lines one under the other
//! (ctrl-alt-down 49 times, from line 50,000); keystrokes alternate typing `x` and
//! backspace so the file does not grow. Counted too: edits the keystroke sends (one
//! operation is one `Submit` frame on the wire) and that operation's encoded size.
//! Baseline, in the same run: the same keystrokes with one cursor.
//!
//! Run: `cargo bench --bench multi_cursor` (target: frame < 2 ms, one edit). Without
//! `--bench` it takes a few samples. Last line: one JSON object.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cotype::tui::app::App;
use cotype::tui::compositor::{AppCommand, Event};
use cotype::tui::keymap::Keymap;
use cotype::tui::theme::{ColorMode, Theme};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ropey::Rope;

const WIDTH: u16 = 160;
const HEIGHT: u16 = 50;
const LINES: usize = 100_000;
const CURSORS: usize = 50;
const PATH: &str = "src/big.rs";

fn rust_source(lines: usize) -> String {
    let mut out = String::with_capacity(lines * 40);
    let mut n = 0;
    while n * 8 < lines {
        out.push_str(&format!(
            "/// Adds things, number {n}.\npub fn add_{n}(a: u64, b: &str) -> u64 {{\n    let s = \"text {n}\";\n    if a > {n} {{ return a + b.len() as u64; }}\n    // a comment\n    a.wrapping_mul(31) ^ s.len() as u64\n}}\n\n"
        ));
        n += 1;
    }
    out
}

fn percentile(mut samples: Vec<Duration>, p: f64) -> Duration {
    samples.sort();
    samples[((samples.len() - 1) as f64 * p) as usize]
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
    Event::Key(KeyEvent::new(code, modifiers))
}

/// What came of the keystrokes: frame times, edits sent per keystroke, bytes of an edit.
struct Frames {
    times: Vec<Duration>,
    most_edits: usize,
    edit_bytes: usize,
}

/// Frames of `samples` keystrokes with `cursors` cursors from the file's middle line.
fn frames(cursors: usize, samples: usize) -> Frames {
    let mut docs: HashMap<String, Rope> = HashMap::new();
    docs.insert(PATH.into(), Rope::from_str(&rust_source(LINES)));
    let theme = Theme::load_from("default-dark", None, ColorMode::TrueColor).expect("theme");
    let keymap = Keymap::load_from("default", None).expect("keymap");
    let mut app = App::new(theme, keymap, 4, (WIDTH, HEIGHT));
    app.open_document(PATH, &docs[PATH], false);
    app.handle_event(&key(KeyCode::Char('g'), KeyModifiers::CONTROL), &docs);
    for c in (LINES / 2).to_string().chars() {
        app.handle_event(&key(KeyCode::Char(c), KeyModifiers::NONE), &docs);
    }
    app.handle_event(&key(KeyCode::Enter, KeyModifiers::NONE), &docs);
    let below = KeyModifiers::CONTROL | KeyModifiers::ALT;
    for _ in 1..cursors {
        app.handle_event(&key(KeyCode::Down, below), &docs);
    }
    let mut terminal = Terminal::new(TestBackend::new(WIDTH, HEIGHT)).expect("terminal");
    terminal
        .draw(|frame| app.render(frame, &docs))
        .expect("draw");
    let mut figures = Frames {
        times: Vec::with_capacity(samples),
        most_edits: 0,
        edit_bytes: 0,
    };
    for i in 0..samples {
        let pressed = if i % 2 == 0 {
            key(KeyCode::Char('x'), KeyModifiers::NONE)
        } else {
            key(KeyCode::Backspace, KeyModifiers::NONE)
        };
        let start = Instant::now();
        let mut edits = 0;
        for command in app.handle_event(&pressed, &docs) {
            if let AppCommand::Edit { path, operation } = command {
                edits += 1;
                figures.edit_bytes = operation.encoded_size();
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
        figures.times.push(start.elapsed());
        figures.most_edits = figures.most_edits.max(edits);
        if i % 2 == 0 {
            let typed = docs[PATH].to_string().matches("\nx").count();
            assert_eq!(typed, cursors, "every cursor typed");
        }
    }
    figures
}

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let samples = if full { 300 } else { 10 };
    let one = frames(1, samples);
    let many = frames(CURSORS, samples);
    assert_eq!(many.most_edits, 1, "one keystroke, one edit on the wire");
    let (one_p50, many_p50) = (
        percentile(one.times.clone(), 0.5),
        percentile(many.times.clone(), 0.5),
    );
    let many_p99 = percentile(many.times.clone(), 0.99);
    let ratio = many_p50.as_secs_f64() / one_p50.as_secs_f64();
    println!("keystroke frame, {LINES}-line highlighted file, {WIDTH}x{HEIGHT}, {samples} keys");
    println!(
        "  {CURSORS} cursors: p50 {:.3} ms, p99 {:.3} ms; {} edit per keystroke, {} bytes",
        ms(many_p50),
        ms(many_p99),
        many.most_edits,
        many.edit_bytes
    );
    println!("  1 cursor (baseline): p50 {:.3} ms", ms(one_p50));
    println!("  ratio {ratio:.2}x (target: frame < 2 ms)");
    println!(
        "{{\"bench\":\"multi_cursor\",\"lines\":{LINES},\"cursors\":{CURSORS},\"frame_p50_ms\":{:.3},\"frame_p99_ms\":{:.3},\"one_cursor_p50_ms\":{:.3},\"ratio\":{ratio:.3},\"edits_per_key\":{},\"edit_bytes\":{}}}",
        ms(many_p50),
        ms(many_p99),
        ms(one_p50),
        many.most_edits,
        many.edit_bytes
    );
}
