//! What the git gutter adds to a keystroke frame. Each participant diffs the host's index
//! text against its live copy after every change (`client::git::LineChanges`, recomputed
//! when a frame needs it), so a keystroke in a large file pays for one line diff of the
//! whole text. Measured: the median keystroke frame (key, edit applied, screen rendered
//! into ratatui's `TestBackend`) in a file with a git base whose index differs from the
//! text in a few places, against the same frames in the same file without a base (the
//! baseline, same run), at 10,000 and 100,000 lines.
//!
//! Run: `cargo bench --bench git_gutter` (without `--bench`: a few frames). The last line
//! is one JSON object.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use cotype::protocol::git::GitBase;
use cotype::tui::app::App;
use cotype::tui::compositor::{AppCommand, Event};
use cotype::tui::keymap::Keymap;
use cotype::tui::theme::{ColorMode, Theme};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use ropey::Rope;

const WIDTH: u16 = 160;
const HEIGHT: u16 = 50;

/// Plain text (no syntax colors, so the frame is mostly the gutter's cost and drawing).
fn text(lines: usize) -> String {
    (0..lines)
        .map(|n| format!("line {n}: some words of text to compare, {}\n", n * 7))
        .collect()
}

/// The same text as the index might hold it: every 1,000th line different.
fn index_text(lines: usize) -> String {
    (0..lines)
        .map(|n| {
            if n % 1000 == 500 {
                format!("line {n} as committed\n")
            } else {
                format!("line {n}: some words of text to compare, {}\n", n * 7)
            }
        })
        .collect()
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Types a character or deletes one, as the app loop does.
fn keystroke(app: &mut App, docs: &mut HashMap<String, Rope>, i: usize) {
    let key = if i.is_multiple_of(2) {
        KeyEvent::new(KeyCode::Char('x'), KeyModifiers::NONE)
    } else {
        KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)
    };
    for command in app.handle_event(&Event::Key(key), docs) {
        if let AppCommand::Edit { path, operation } = command {
            let before = docs[&path].clone();
            let rope = docs.get_mut(&path).expect("open document");
            operation.apply(rope).expect("operation fits");
            let after = rope.clone();
            app.local_edit_applied(&path, &before, &operation, &after);
        }
    }
}

/// What typing costs in a `lines`-line file, with or without a git base: the median
/// keystroke frame; when typing pauses, the UI thread's part (idle work and a frame);
/// and how long until the marks for the paused text are on screen (a large file's
/// comparison runs on a thread of its own meanwhile).
fn keystroke_frames(
    lines: usize,
    with_base: bool,
    samples_wanted: usize,
) -> (Duration, Duration, Duration) {
    let theme = Theme::load_from("default-dark", None, ColorMode::TrueColor).expect("theme");
    let keymap = Keymap::load_from("default", None).expect("keymap");
    let mut app = App::new(theme, keymap, 4, (WIDTH, HEIGHT));
    let path = "notes.txt".to_string();
    let mut docs: HashMap<String, Rope> = HashMap::new();
    docs.insert(path.clone(), Rope::from_str(&text(lines)));
    app.open_document(&path, &docs[&path], false);
    if with_base {
        let base = GitBase {
            index: Some(index_text(lines)),
            head: None,
            head_is_index: true,
        };
        app.set_git_base(&path, Some(base));
    }
    let viewport = Viewport::Fixed(Rect::new(0, 0, WIDTH, HEIGHT));
    let mut terminal = Terminal::with_options(
        TestBackend::new(WIDTH, HEIGHT),
        TerminalOptions { viewport },
    )
    .expect("terminal");
    terminal
        .draw(|frame| app.render(frame, &docs))
        .expect("draw");
    let mut samples = Vec::with_capacity(samples_wanted);
    for i in 0..samples_wanted {
        let start = Instant::now();
        keystroke(&mut app, &mut docs, i);
        terminal
            .draw(|frame| app.render(frame, &docs))
            .expect("draw");
        samples.push(start.elapsed());
    }
    let mut idle = Vec::new();
    let mut marks = Vec::new();
    for i in 0..samples_wanted.min(20) {
        keystroke(&mut app, &mut docs, i);
        let start = Instant::now();
        app.idle_work(&docs);
        terminal
            .draw(|frame| app.render(frame, &docs))
            .expect("draw");
        idle.push(start.elapsed());
        // The loop wakes at `next_deadline` to take a comparison finished on its thread
        // (`tick` says when marks came); other deadlines (a message's) do not count.
        let soon = |deadline: &Instant| {
            deadline.saturating_duration_since(Instant::now()) <= Duration::from_millis(50)
        };
        while let Some(deadline) = app.next_deadline().filter(soon) {
            std::thread::sleep(
                deadline
                    .saturating_duration_since(Instant::now())
                    .max(Duration::from_millis(1)),
            );
            if app.tick(Instant::now()) || start.elapsed() > Duration::from_secs(2) {
                break;
            }
        }
        let frame = terminal
            .draw(|frame| app.render(frame, &docs))
            .expect("draw");
        marks.push(start.elapsed());
        if with_base && i == 0 {
            // The first line changed: its mark must be on screen, or nothing was measured.
            let first_row: String = (0..8)
                .map(|x| frame.buffer[(x, 1)].symbol().to_owned())
                .collect();
            assert!(first_row.contains('~'), "no gutter mark: {first_row:?}");
        }
    }
    (median(samples), median(idle), median(marks))
}

fn main() {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    // Without `--bench` (`cargo test --all-targets`): a few frames, as a smoke run.
    let samples = if std::env::args().any(|arg| arg == "--bench") {
        200
    } else {
        6
    };
    let mut json = Vec::new();
    println!("screen {WIDTH}x{HEIGHT}, median of {samples} keystroke frames");
    for lines in [10_000, 100_000] {
        let (plain, plain_idle, _) = keystroke_frames(lines, false, samples);
        let (gutter, gutter_idle, gutter_marks) = keystroke_frames(lines, true, samples);
        let ratio = gutter.as_secs_f64() / plain.as_secs_f64();
        println!(
            "{lines} lines: keystroke frame without a git base (baseline) {:.3} ms, with the gutter {:.3} ms: {ratio:.2}x (+{:.3} ms)",
            ms(plain),
            ms(gutter),
            ms(gutter.saturating_sub(plain))
        );
        println!(
            "{lines} lines: when typing pauses, the UI thread's idle work and a frame: {:.3} ms without a base, {:.3} ms with the gutter; the marks on screen after {:.3} ms",
            ms(plain_idle),
            ms(gutter_idle),
            ms(gutter_marks)
        );
        json.push(format!(
            "\"lines_{lines}\":{{\"baseline_ms\":{:.3},\"gutter_ms\":{:.3},\"ratio\":{ratio:.2},\"idle_baseline_ms\":{:.3},\"idle_gutter_ms\":{:.3},\"marks_after_pause_ms\":{:.3}}}",
            ms(plain),
            ms(gutter),
            ms(plain_idle),
            ms(gutter_idle),
            ms(gutter_marks)
        ));
    }
    println!("{{\"bench\":\"git_gutter\",{}}}", json.join(","));
}
