use ratatui::Terminal;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use super::paint::{Layer, Pen};
use super::*;
use ratatui::style::{Color, Modifier};
use unicode_width::UnicodeWidthStr;

/// Just enough of a terminal to replay what the backend writes: the sequences it
/// emits, with an xterm's meaning, onto a grid of (symbol, pen).
struct Screen {
    /// Symbol and pen; the pen is `None` where terminals differ (half of an erased
    /// wide symbol).
    cells: Vec<Vec<(String, Option<Pen>)>>,
    x: u16,
    y: u16,
    pen: Pen,
    cursor_visible: bool,
    /// What DECSC saved: the cursor and the pen.
    saved: Option<(u16, u16, Pen)>,
}

/// What a blank opened by insert or delete character shows: terminals differ in its
/// colors, so a frame that needs the cell must draw it.
const OPENED: &str = "\u{fffd}";

impl Screen {
    fn new(width: u16, height: u16) -> Self {
        Screen {
            cells: vec![vec![(" ".to_owned(), Some(Pen::default())); width.into()]; height.into()],
            x: 0,
            y: 0,
            pen: Pen::default(),
            cursor_visible: true,
            saved: None,
        }
    }

    fn width(&self) -> u16 {
        self.cells[0].len() as u16
    }

    fn height(&self) -> u16 {
        self.cells.len() as u16
    }

    fn feed(&mut self, bytes: &[u8]) {
        let text = std::str::from_utf8(bytes).expect("the backend writes UTF-8");
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '\x1b' if chars.peek() == Some(&'7') => {
                    chars.next();
                    self.saved = Some((self.x, self.y, self.pen));
                }
                '\x1b' if chars.peek() == Some(&'8') => {
                    chars.next();
                    let (x, y, pen) = self.saved.expect("DECRC after DECSC");
                    (self.x, self.y, self.pen) = (x, y, pen);
                }
                '\x1b' => {
                    assert_eq!(chars.next(), Some('['), "only CSI sequences");
                    let mut params = String::new();
                    let command = loop {
                        let c = chars.next().expect("a complete sequence");
                        if c.is_ascii_digit() || c == ';' || c == '?' {
                            params.push(c);
                        } else {
                            break c;
                        }
                    };
                    self.csi(&params, command);
                }
                '\r' => self.x = 0,
                c => {
                    assert!(!c.is_control(), "unexpected control {c:?}");
                    let wide = unicode_width::UnicodeWidthChar::width(c) == Some(2);
                    let (x, y) = (self.x as usize, self.y as usize);
                    self.overwrite(x, y);
                    self.cells[y][x] = (c.to_string(), Some(self.pen));
                    if wide && x + 1 < self.width() as usize {
                        self.overwrite(x + 1, y);
                        self.cells[y][x + 1] = (String::new(), Some(self.pen));
                    }
                    self.x = (self.x + if wide { 2 } else { 1 }).min(self.width() - 1);
                }
            }
        }
    }

    /// Writing over either half of a wide symbol erases all of it, as terminals do.
    fn overwrite(&mut self, x: usize, y: usize) {
        let row = &mut self.cells[y];
        if row[x].0.is_empty() && x > 0 {
            row[x - 1] = (" ".to_owned(), None);
        }
        if row[x].0.width() == 2 && x + 1 < row.len() {
            row[x + 1] = (" ".to_owned(), None);
        }
    }

    fn csi(&mut self, params: &str, command: char) {
        let numbers: Vec<u16> = params.split(';').map(|p| p.parse().unwrap_or(0)).collect();
        let n = numbers[0].max(1);
        let (width, height) = (self.width(), self.height());
        match command {
            'H' => {
                self.y = numbers[0].max(1) - 1;
                self.x = numbers.get(1).copied().unwrap_or(1).max(1) - 1;
            }
            'A' => self.y = self.y.saturating_sub(n),
            'B' => self.y = (self.y + n).min(height - 1),
            'C' => self.x = (self.x + n).min(width - 1),
            'D' => self.x = self.x.saturating_sub(n),
            'G' => self.x = n - 1,
            'J' if params == "2" => {
                for row in &mut self.cells {
                    row.fill((" ".to_owned(), Some(self.pen)));
                }
            }
            'm' => self.sgr(&numbers),
            '@' | 'P' => {
                let row = &mut self.cells[self.y as usize];
                let x = self.x as usize;
                let count = usize::from(n).min(row.len() - x);
                let opened = (OPENED.to_owned(), None);
                if command == '@' {
                    row[x..].rotate_right(count);
                    row[x..x + count].fill(opened);
                } else {
                    row[x..].rotate_left(count);
                    let end = row.len();
                    row[end - count..].fill(opened);
                }
            }
            'h' | 'l' if params == "?2026" => {}
            'h' if params == "?25" => self.cursor_visible = true,
            'l' if params == "?25" => self.cursor_visible = false,
            other => panic!("unexpected sequence {params:?}{other}"),
        }
    }

    fn sgr(&mut self, numbers: &[u16]) {
        let mut codes = numbers.iter().copied();
        let extended = |codes: &mut dyn Iterator<Item = u16>| match codes.next() {
            Some(5) => Color::Indexed(codes.next().unwrap() as u8),
            Some(2) => {
                let mut channel = || codes.next().unwrap() as u8;
                Color::Rgb(channel(), channel(), channel())
            }
            other => panic!("bad extended color {other:?}"),
        };
        const NAMED: [Color; 16] = [
            Color::Black,
            Color::Red,
            Color::Green,
            Color::Yellow,
            Color::Blue,
            Color::Magenta,
            Color::Cyan,
            Color::Gray,
            Color::DarkGray,
            Color::LightRed,
            Color::LightGreen,
            Color::LightYellow,
            Color::LightBlue,
            Color::LightMagenta,
            Color::LightCyan,
            Color::White,
        ];
        let pen = &mut self.pen;
        while let Some(code) = codes.next() {
            match code {
                0 => *pen = Pen::default(),
                1..=9 => {
                    let bit = Modifier::from_bits_truncate(1 << (code - 1));
                    pen.modifier |= bit;
                }
                22 => pen.modifier -= Modifier::BOLD | Modifier::DIM,
                23 => pen.modifier -= Modifier::ITALIC,
                24 => pen.modifier -= Modifier::UNDERLINED,
                25 => pen.modifier -= Modifier::SLOW_BLINK | Modifier::RAPID_BLINK,
                27 => pen.modifier -= Modifier::REVERSED,
                28 => pen.modifier -= Modifier::HIDDEN,
                29 => pen.modifier -= Modifier::CROSSED_OUT,
                30..=37 => pen.fg = NAMED[usize::from(code - 30)],
                90..=97 => pen.fg = NAMED[usize::from(code - 90 + 8)],
                40..=47 => pen.bg = NAMED[usize::from(code - 40)],
                100..=107 => pen.bg = NAMED[usize::from(code - 100 + 8)],
                38 => pen.fg = extended(&mut codes),
                48 => pen.bg = extended(&mut codes),
                58 => pen.underline = extended(&mut codes),
                39 => pen.fg = Color::Reset,
                49 => pen.bg = Color::Reset,
                59 => pen.underline = Color::Reset,
                other => panic!("unexpected SGR {other}"),
            }
        }
    }

    /// Asserts that the screen shows `buffer`, symbols and colors, cell by cell.
    fn assert_shows(&self, buffer: &Buffer, frame: usize) {
        for y in 0..self.height() {
            for x in 0..self.width() {
                let cell = &buffer[(x, y)];
                let (symbol, pen) = &self.cells[y as usize][x as usize];
                if x > 0 && buffer[(x - 1, y)].symbol().width() == 2 {
                    continue; // covered by the wide symbol before it
                }
                // A named underline color is sent as its index: the same color.
                let expected = Pen {
                    underline: indexed(cell.underline_color),
                    ..Pen::of(cell)
                };
                assert_eq!(
                    (symbol.as_str(), pen.unwrap_or(expected)),
                    (cell.symbol(), expected),
                    "frame {frame}, cell ({x}, {y})"
                );
            }
        }
    }
}

fn indexed(color: Color) -> Color {
    let mut text = String::new();
    super::paint::color(&mut text, color, Layer::Underline);
    match text.strip_prefix("58;5;") {
        Some(index) => Color::Indexed(index.parse().unwrap()),
        None => color,
    }
}

/// A repeatable stream of numbers below a bound (xorshift), so a failing frame can be
/// replayed.
fn numbers_from(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |bound: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % bound as u64) as usize
    }
}

fn terminal(width: u16, height: u16) -> Terminal<LeanBackend<Vec<u8>>> {
    Terminal::new(LeanBackend::with_size(Vec::new(), width, height)).unwrap()
}

fn take(terminal: &mut Terminal<LeanBackend<Vec<u8>>>) -> Vec<u8> {
    std::mem::take(terminal.backend_mut().writer_mut())
}

#[test]
fn a_frame_identical_to_the_last_writes_nothing() {
    let mut terminal = terminal(30, 4);
    let draw = |frame: &mut ratatui::Frame<'_>| {
        frame.buffer_mut().set_string(
            2,
            1,
            "fn main() {}",
            Style::new().fg(Color::Rgb(200, 100, 0)),
        );
        frame.set_cursor_position((5, 1));
    };
    terminal.draw(draw).unwrap();
    assert!(!take(&mut terminal).is_empty());
    terminal.draw(draw).unwrap();
    assert_eq!(take(&mut terminal), b"");
}

#[test]
fn typing_one_character_writes_that_character_and_no_more() {
    let mut terminal = terminal(30, 4);
    let style = Style::new()
        .fg(Color::Indexed(244))
        .bg(Color::Rgb(0, 0, 40));
    let line = |text: &'static str| {
        move |frame: &mut ratatui::Frame<'_>| {
            frame.buffer_mut().set_string(0, 2, text, style);
            frame.set_cursor_position((text.len() as u16, 2));
        }
    };
    terminal.draw(line("// notes:")).unwrap();
    take(&mut terminal);
    terminal.draw(line("// notes:q")).unwrap();
    // The pen and the cursor are already where the character goes, and the cursor
    // ends up after it by itself.
    assert_eq!(take(&mut terminal), b"q");
    // A cursor that moves without any cell changing is one short move.
    terminal
        .draw(|frame| {
            frame.buffer_mut().set_string(0, 2, "// notes:q", style);
            frame.set_cursor_position((3, 2));
        })
        .unwrap();
    assert_eq!(take(&mut terminal), b"\x1b[7D");
}

#[test]
fn large_frames_are_wrapped_in_synchronized_output() {
    let mut terminal = terminal(80, 24);
    terminal
        .draw(|frame| {
            let area = frame.area();
            for y in 0..area.height {
                let style = Style::new().fg(Color::Indexed(y as u8));
                frame.buffer_mut().set_string(0, y, "x".repeat(80), style);
            }
        })
        .unwrap();
    let bytes = take(&mut terminal);
    assert!(bytes.len() > SYNCHRONIZE_ABOVE);
    assert!(bytes.starts_with(BEGIN_SYNCHRONIZED) && bytes.ends_with(END_SYNCHRONIZED));
}

/// Random frames with random colors and attributes, replayed onto a model terminal:
/// whatever moves and pen changes the backend chose, the screen shows each frame.
#[test]
fn the_screen_shows_every_frame_whatever_changed() {
    let (width, height) = (24, 6);
    let mut terminal = terminal(width, height);
    let mut screen = Screen::new(width, height);
    let mut random = numbers_from(0x2545_f491_4f6c_dd1d_u64);
    let colors = [
        Color::Reset,
        Color::Red,
        Color::LightCyan,
        Color::Indexed(17),
        Color::Rgb(1, 2, 3),
        Color::Rgb(250, 128, 0),
    ];
    let modifiers = [
        Modifier::empty(),
        Modifier::BOLD,
        Modifier::DIM,
        Modifier::BOLD | Modifier::ITALIC,
        Modifier::UNDERLINED | Modifier::REVERSED,
        Modifier::SLOW_BLINK | Modifier::CROSSED_OUT,
    ];
    let words = ["a", "fn", "x = 1;", "世界", "│▶", "        ", "zz"];
    let mut previous = Buffer::empty(ratatui::layout::Rect::new(0, 0, width, height));
    for frame_number in 0..2000 {
        let mut next = previous.clone();
        for _ in 0..random(6) {
            let style = Style::new()
                .fg(colors[random(colors.len())])
                .bg(colors[random(colors.len())])
                .underline_color(colors[random(colors.len())])
                .add_modifier(modifiers[random(modifiers.len())]);
            let (x, y) = (random(width.into()) as u16, random(height.into()) as u16);
            next.set_string(x, y, words[random(words.len())], style);
        }
        // A symbol written over the hidden half of a wide one leaves a buffer no
        // terminal can show (ratatui's own limit, whatever the backend): keep the
        // frames drawable.
        for y in 0..height {
            for x in 1..width {
                if next[(x - 1, y)].symbol().width() == 2 {
                    next[(x, y)].reset();
                }
            }
        }
        let cursor =
            (random(3) > 0).then(|| (random(width.into()) as u16, random(height.into()) as u16));
        let completed = terminal
            .draw(|frame| {
                frame.buffer_mut().merge(&next);
                if let Some(cursor) = cursor {
                    frame.set_cursor_position(cursor);
                }
            })
            .unwrap();
        let shown = completed.buffer.clone();
        screen.feed(&take(&mut terminal));
        screen.assert_shows(&shown, frame_number);
        assert_eq!(
            screen.cursor_visible,
            cursor.is_some(),
            "frame {frame_number}"
        );
        if let Some((x, y)) = cursor {
            assert_eq!((screen.x, screen.y), (x, y), "cursor, frame {frame_number}");
        }
        previous = shown;
    }
}

/// Lines edited in the middle, as people type and delete, with a name flag and a panel
/// edge at the end of each row that must stay put: whatever the backend shifted, saved
/// and restored, the screen shows every frame. It did shift and restore (or this test
/// would not test them), and an insert mid-line costs far less than the rest of the line.
#[test]
fn text_moved_sideways_is_shown_exactly() {
    let (width, height) = (48, 6);
    let mut terminal = terminal(width, height);
    let mut screen = Screen::new(width, height);
    let mut random = numbers_from(0x9e37_79b9_7f4a_7c15_u64);
    let styles = [
        Style::new().fg(Color::Indexed(249)).bg(Color::Indexed(234)),
        Style::new()
            .fg(Color::Indexed(102))
            .bg(Color::Indexed(234))
            .add_modifier(Modifier::ITALIC),
        Style::new()
            .fg(Color::Rgb(200, 120, 40))
            .bg(Color::Indexed(234)),
    ];
    let mut lines: Vec<Vec<char>> = (0..height)
        .map(|y| {
            format!("fn item_{y}(x: u32) -> u32 {{ x }}")
                .chars()
                .collect()
        })
        .collect();
    let (mut shifted, mut restored, mut mid_line_bytes) = (0, 0, Vec::new());
    for frame_number in 0..1500 {
        let y = random(height.into());
        let line = &mut lines[y];
        let at = random(line.len() + 1);
        let count = 1 + random(3);
        let inserted = random(2) == 0 && line.len() + count < 36;
        if inserted {
            for _ in 0..count {
                line.insert(at, char::from(b'a' + random(26) as u8));
            }
        } else {
            let end = (at + count).min(line.len());
            line.drain(at..end);
        }
        let cursor = (
            at as u16 + if inserted { count as u16 } else { 0 },
            y as u16,
        );
        let completed = terminal
            .draw(|frame| {
                let buffer = frame.buffer_mut();
                for (row, line) in lines.iter().enumerate() {
                    let row = row as u16;
                    buffer.set_style(Rect::new(0, row, width, 1), styles[0]);
                    for (x, c) in line.iter().enumerate() {
                        let style = styles[usize::from(*c as u8) % styles.len()];
                        buffer[(x as u16, row)].set_char(*c).set_style(style);
                    }
                    buffer.set_string(40, row, "ada", Style::new().bg(Color::Indexed(212)));
                    buffer.set_string(width - 1, row, "│", Style::new());
                }
                frame.set_cursor_position(cursor);
            })
            .unwrap();
        let shown = completed.buffer.clone();
        let bytes = take(&mut terminal);
        let text = String::from_utf8_lossy(&bytes);
        if text.contains('@') || text.contains('P') {
            shifted += 1;
        }
        if text.contains("\x1b8") {
            restored += 1;
        }
        if frame_number > 0 && inserted && count == 1 && at + 10 < lines[y].len() {
            mid_line_bytes.push(bytes.len());
        }
        screen.feed(&bytes);
        screen.assert_shows(&shown, frame_number);
        assert_eq!((screen.x, screen.y), cursor, "cursor, frame {frame_number}");
    }
    assert!(shifted > 300, "rows shifted in only {shifted} frames");
    assert!(
        restored > 100,
        "the cursor restored in only {restored} frames"
    );
    // One character typed with ten or more after it: the character, a shift pair and a
    // move or two, not the ten cells and their colors.
    let worst = mid_line_bytes.iter().max().copied().unwrap_or(0);
    assert!(
        !mid_line_bytes.is_empty() && worst < 60,
        "{mid_line_bytes:?}"
    );
}

/// The keystroke case the bytes benchmark measures, exactly: a character typed at the end
/// of a comment writes the character, saves the cursor, updates the column in the status
/// line and restores the cursor with the comment's pen (so the next character needs no
/// color change at all).
#[test]
fn typing_saves_the_cursor_around_the_status_line() {
    let mut terminal = terminal(40, 4);
    let comment = Style::new()
        .fg(Color::Indexed(102))
        .bg(Color::Indexed(234))
        .add_modifier(Modifier::ITALIC);
    let status = Style::new().fg(Color::Indexed(249)).bg(Color::Indexed(236));
    let frame = |text: &'static str| {
        move |frame: &mut ratatui::Frame<'_>| {
            frame.buffer_mut().set_string(0, 0, text, comment);
            let column = format!("1:{} ", text.len() + 1);
            frame.buffer_mut().set_string(34, 3, column, status);
            frame.set_cursor_position((text.len() as u16, 0));
        }
    };
    terminal.draw(frame("// notes:")).unwrap();
    take(&mut terminal);
    terminal.draw(frame("// notes:q")).unwrap();
    take(&mut terminal);
    terminal.draw(frame("// notes:qQ")).unwrap();
    assert_eq!(
        String::from_utf8(take(&mut terminal)).unwrap(),
        "Q\x1b7\x1b[4;38H\x1b[0;38;5;249;48;5;236m2\x1b8"
    );
}
