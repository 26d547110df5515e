//! A ratatui backend that writes as few bytes as a frame needs, because over SSH and slow
//! links every byte of every keystroke's frame is latency.
//!
//! ratatui's `CrosstermBackend` is correct but generous: an absolute move for every run of
//! changed cells, both colors in full whenever either changes, a reset of every attribute
//! at the end of each frame (so the next frame starts by setting them all again), and a
//! cursor show and move after every frame even when the cursor did not change. This
//! backend remembers what the terminal already has (cursor position and visibility, the
//! current colors and attributes) and writes only the difference: the shortest of an
//! absolute or a relative cursor move, one SGR sequence holding only the attributes that
//! change, nothing for a cursor that stays put. A frame is collected in memory and
//! written in one `write`; a frame that changes nothing writes nothing at all.
//!
//! Synchronized output (DEC mode 2026: terminals that know it show the whole update at
//! once) wraps the frames that need it: those large enough to reach the terminal in more
//! than one piece (a scroll, a picker opening, a full redraw), where a half-drawn screen
//! could show. A keystroke's few cells travel in one packet and one read, so there its 16
//! bytes would only make every keystroke slower over a slow link.
//!
//! What it assumes of the terminal: ANSI cursor movement (CUP, CUU/CUD/CUF/CUB, CHA) and
//! SGR, which every terminal cotype supports has. Where the position after printing is
//! uncertain (a symbol that is not one column wide, the last column with its pending
//! wrap, after an erase) it forgets the position and moves absolutely next time.

use std::cell::Cell as Shared;
use std::fmt::Write as _;
use std::io::{self, Write};

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};
use ratatui::style::{Color, Modifier};
use unicode_width::UnicodeWidthStr;

const BEGIN_SYNCHRONIZED: &[u8] = b"\x1b[?2026h";
/// Frames longer than this are wrapped in synchronized output: well under one TCP
/// segment (about 1,400 bytes), so a shorter frame is not split on its way over SSH.
const SYNCHRONIZE_ABOVE: usize = 1024;
/// Frames changing at most this many cells are drawn in the cheapest order rather than in
/// screen order (the search is quadratic in the cells).
const REORDER_CELLS: usize = 64;
const END_SYNCHRONIZED: &[u8] = b"\x1b[?2026l";

/// The graphic rendition the terminal currently draws with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
struct Pen {
    fg: Color,
    bg: Color,
    underline: Color,
    modifier: Modifier,
}

impl Pen {
    fn of(cell: &Cell) -> Self {
        Pen {
            fg: cell.fg,
            bg: cell.bg,
            underline: cell.underline_color,
            modifier: cell.modifier,
        }
    }
}

pub struct LeanBackend<W: Write> {
    out: W,
    /// The update being built; written and flushed as one piece by `flush`.
    frame: Vec<u8>,
    /// A fixed size (tests), or `None` to ask the terminal.
    fixed_size: Option<Size>,
    /// The width last seen, to know when printing reaches the last column.
    width: Shared<u16>,
    /// Where the terminal's cursor is, when we know it.
    cursor: Option<Position>,
    cursor_visible: Option<bool>,
    /// What the terminal draws with now; `None` until we set it ourselves.
    pen: Option<Pen>,
    synchronized: bool,
}

impl<W: Write> LeanBackend<W> {
    /// A backend for the real terminal behind `out` (its size asked from the terminal).
    pub fn new(out: W) -> Self {
        Self::build(out, None)
    }

    /// A backend for a terminal of a known size, e.g. a byte stream in a test.
    pub fn with_size(out: W, width: u16, height: u16) -> Self {
        Self::build(out, Some(Size { width, height }))
    }

    fn build(out: W, fixed_size: Option<Size>) -> Self {
        LeanBackend {
            out,
            frame: Vec::with_capacity(4096),
            fixed_size,
            width: Shared::new(fixed_size.map_or(0, |s| s.width)),
            cursor: None,
            cursor_visible: None,
            pen: None,
            synchronized: true,
        }
    }

    /// Whether large frames are wrapped in synchronized output (on by default).
    pub fn set_synchronized(&mut self, on: bool) {
        self.synchronized = on;
    }

    pub fn writer(&self) -> &W {
        &self.out
    }

    pub fn writer_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Writes bytes outside any frame (e.g. an OSC 52 clipboard sequence), at once.
    pub fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.flush()?;
        self.out.write_all(bytes)?;
        self.out.flush()
    }

    /// Forgets everything known about the terminal, so the next frame sets the cursor and
    /// the pen explicitly (after something else wrote to the terminal).
    pub fn forget(&mut self) {
        self.cursor = None;
        self.cursor_visible = None;
        self.pen = None;
    }

    /// The shortest sequence moving the cursor to `to` (empty if it is there).
    fn move_bytes(&self, to: Position) -> String {
        if self.cursor == Some(to) {
            return String::new();
        }
        let mut best = String::with_capacity(12);
        absolute_move(&mut best, to);
        if let Some(from) = self.cursor {
            let mut relative = String::with_capacity(12);
            relative_move(&mut relative, from, to);
            if relative.len() < best.len() {
                best = relative;
            }
        }
        best
    }

    fn move_to(&mut self, to: Position) {
        let bytes = self.move_bytes(to);
        self.frame.extend_from_slice(bytes.as_bytes());
        self.cursor = Some(to);
    }

    /// The shortest SGR sequence turning the current pen into `to` (empty if it is).
    fn pen_bytes(&self, to: Pen) -> String {
        if self.pen == Some(to) {
            return String::new();
        }
        let mut full = String::from("0");
        push_pen(&mut full, Pen::default(), to);
        let params = match self.pen {
            Some(from) => {
                let mut changes = String::new();
                push_pen(&mut changes, from, to);
                if changes.len() < full.len() {
                    changes
                } else {
                    full
                }
            }
            None => full,
        };
        let params = if params == "0" { "" } else { &params };
        format!("\x1b[{params}m")
    }

    fn set_pen(&mut self, to: Pen) {
        let bytes = self.pen_bytes(to);
        self.frame.extend_from_slice(bytes.as_bytes());
        self.pen = Some(to);
    }

    fn put(&mut self, x: u16, y: u16, cell: &Cell) {
        self.move_to(Position { x, y });
        self.set_pen(Pen::of(cell));
        let symbol = cell.symbol();
        self.frame.extend_from_slice(symbol.as_bytes());
        // After the last column the cursor waits there with a wrap pending; after a wide
        // or zero-width symbol, terminals disagree on where it went.
        self.cursor =
            (symbol.width() == 1 && x + 1 < self.width.get()).then_some(Position { x: x + 1, y });
    }

    /// Resets colors before an erase: terminals erase with the current background. Erases
    /// come with resizes, which may have moved the cursor: the next move is absolute.
    fn erase(&mut self, sequence: &[u8]) {
        self.set_pen(Pen::default());
        self.frame.extend_from_slice(sequence);
        self.cursor = None;
    }
}

/// `ESC [ row ; col H`, shortened where the defaults allow.
fn absolute_move(out: &mut String, to: Position) {
    let _ = match (to.x, to.y) {
        (0, 0) => write!(out, "\x1b[H"),
        (0, y) => write!(out, "\x1b[{}H", y + 1),
        (x, y) => write!(out, "\x1b[{};{}H", y + 1, x + 1),
    };
}

/// A vertical move, then the shortest horizontal one (carriage return, relative or
/// absolute column).
fn relative_move(out: &mut String, from: Position, to: Position) {
    let _ = match to.y.cmp(&from.y) {
        std::cmp::Ordering::Equal => Ok(()),
        std::cmp::Ordering::Greater => counted(out, to.y - from.y, 'B'),
        std::cmp::Ordering::Less => counted(out, from.y - to.y, 'A'),
    };
    if to.x == from.x {
        return;
    }
    if to.x == 0 {
        out.push('\r');
        return;
    }
    let mut step = String::new();
    let _ = if to.x > from.x {
        counted(&mut step, to.x - from.x, 'C')
    } else {
        counted(&mut step, from.x - to.x, 'D')
    };
    let mut column = String::new();
    let _ = write!(column, "\x1b[{}G", to.x + 1);
    out.push_str(if column.len() < step.len() {
        &column
    } else {
        &step
    });
}

fn counted(out: &mut String, n: u16, command: char) -> std::fmt::Result {
    if n == 1 {
        write!(out, "\x1b[{command}")
    } else {
        write!(out, "\x1b[{n}{command}")
    }
}

/// SGR parameters turning `from` into `to`, each preceded by `;` unless `out` is empty.
fn push_pen(out: &mut String, from: Pen, to: Pen) {
    let param = |out: &mut String, text: std::fmt::Arguments<'_>| {
        if !out.is_empty() {
            out.push(';');
        }
        let _ = out.write_fmt(text);
    };
    let removed = from.modifier - to.modifier;
    let mut added = to.modifier - from.modifier;
    // Bold and dim are switched off together (22), and both blinks (25): whichever of a
    // pair stays on is switched on again.
    let off = [
        (Modifier::BOLD | Modifier::DIM, 22),
        (Modifier::ITALIC, 23),
        (Modifier::UNDERLINED, 24),
        (Modifier::SLOW_BLINK | Modifier::RAPID_BLINK, 25),
        (Modifier::REVERSED, 27),
        (Modifier::HIDDEN, 28),
        (Modifier::CROSSED_OUT, 29),
    ];
    for (group, code) in off {
        if removed.intersects(group) {
            param(out, format_args!("{code}"));
            added |= to.modifier & group;
        }
    }
    let on = [
        (Modifier::BOLD, 1),
        (Modifier::DIM, 2),
        (Modifier::ITALIC, 3),
        (Modifier::UNDERLINED, 4),
        (Modifier::SLOW_BLINK, 5),
        (Modifier::RAPID_BLINK, 6),
        (Modifier::REVERSED, 7),
        (Modifier::HIDDEN, 8),
        (Modifier::CROSSED_OUT, 9),
    ];
    for (modifier, code) in on {
        if added.contains(modifier) {
            param(out, format_args!("{code}"));
        }
    }
    if to.fg != from.fg {
        let mut text = String::new();
        color(&mut text, to.fg, Layer::Foreground);
        param(out, format_args!("{text}"));
    }
    if to.bg != from.bg {
        let mut text = String::new();
        color(&mut text, to.bg, Layer::Background);
        param(out, format_args!("{text}"));
    }
    if to.underline != from.underline {
        let mut text = String::new();
        color(&mut text, to.underline, Layer::Underline);
        param(out, format_args!("{text}"));
    }
}

#[derive(Clone, Copy)]
enum Layer {
    Foreground,
    Background,
    Underline,
}

/// The SGR parameters of one color. The 16 named colors use their short codes (30–37,
/// 90–97 and the background's 40–47, 100–107); underline colors exist only indexed.
fn color(out: &mut String, color: Color, layer: Layer) {
    let (base, bright, reset, extended) = match layer {
        Layer::Foreground => (30, 90, 39, 38),
        Layer::Background => (40, 100, 49, 48),
        Layer::Underline => (0, 0, 59, 58),
    };
    let named = match color {
        Color::Reset => {
            let _ = write!(out, "{reset}");
            return;
        }
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => 8,
        Color::LightRed => 9,
        Color::LightGreen => 10,
        Color::LightYellow => 11,
        Color::LightBlue => 12,
        Color::LightMagenta => 13,
        Color::LightCyan => 14,
        Color::White => 15,
        Color::Indexed(index) => {
            let _ = write!(out, "{extended};5;{index}");
            return;
        }
        Color::Rgb(r, g, b) => {
            let _ = write!(out, "{extended};2;{r};{g};{b}");
            return;
        }
    };
    let _ = match layer {
        Layer::Underline => write!(out, "{extended};5;{named}"),
        _ if named < 8 => write!(out, "{}", base + named),
        _ => write!(out, "{}", bright + named - 8),
    };
}

impl<W: Write> Backend for LeanBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        let mut cells: Vec<(u16, u16, &Cell)> = content.collect();
        if cells.len() > REORDER_CELLS {
            for (x, y, cell) in cells {
                self.put(x, y, cell);
            }
            return Ok(());
        }
        // A keystroke's few cells are spread over the screen (the text, the status line,
        // a flag) in a few colors: drawn in the order that costs the fewest bytes from
        // where the cursor is and what the pen holds (a 256-color or RGB pen change costs
        // more than most moves), screen order among equals.
        while !cells.is_empty() {
            let cost = |&(x, y, cell): &(u16, u16, &Cell)| {
                self.move_bytes(Position { x, y }).len() + self.pen_bytes(Pen::of(cell)).len()
            };
            let next = (0..cells.len())
                .min_by_key(|&i| (cost(&cells[i]), i))
                .unwrap_or(0);
            let (x, y, cell) = cells.remove(next);
            self.put(x, y, cell);
        }
        Ok(())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        if self.cursor_visible != Some(false) {
            self.frame.extend_from_slice(b"\x1b[?25l");
            self.cursor_visible = Some(false);
        }
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        if self.cursor_visible != Some(true) {
            self.frame.extend_from_slice(b"\x1b[?25h");
            self.cursor_visible = Some(true);
        }
        Ok(())
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        // Known from what we wrote; asking the terminal would mean reading its answer
        // from the input stream the event loop owns.
        Ok(self.cursor.unwrap_or_default())
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.move_to(position.into());
        Ok(())
    }

    fn clear(&mut self) -> io::Result<()> {
        self.clear_region(ClearType::All)
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        let sequence: &[u8] = match clear_type {
            ClearType::All => b"\x1b[2J",
            ClearType::AfterCursor => b"\x1b[J",
            ClearType::BeforeCursor => b"\x1b[1J",
            ClearType::CurrentLine => b"\x1b[2K",
            ClearType::UntilNewLine => b"\x1b[K",
        };
        self.erase(sequence);
        Ok(())
    }

    fn size(&self) -> io::Result<Size> {
        let size = match self.fixed_size {
            Some(size) => size,
            None => {
                let (width, height) = ratatui::crossterm::terminal::size()?;
                Size { width, height }
            }
        };
        self.width.set(size.width);
        Ok(size)
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        match self.fixed_size {
            Some(size) => Ok(WindowSize {
                columns_rows: size,
                pixels: Size::default(),
            }),
            None => {
                let size = ratatui::crossterm::terminal::window_size()?;
                Ok(WindowSize {
                    columns_rows: Size {
                        width: size.columns,
                        height: size.rows,
                    },
                    pixels: Size {
                        width: size.width,
                        height: size.height,
                    },
                })
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.frame.is_empty() {
            return Ok(());
        }
        if self.synchronized && self.frame.len() > SYNCHRONIZE_ABOVE {
            let mut wrapped = Vec::with_capacity(self.frame.len() + BEGIN_SYNCHRONIZED.len() * 2);
            wrapped.extend_from_slice(BEGIN_SYNCHRONIZED);
            wrapped.extend_from_slice(&self.frame);
            wrapped.extend_from_slice(END_SYNCHRONIZED);
            self.out.write_all(&wrapped)?;
        } else {
            self.out.write_all(&self.frame)?;
        }
        self.frame.clear();
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use ratatui::Terminal;
    use ratatui::buffer::Buffer;
    use ratatui::style::Style;

    use super::*;

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
    }

    impl Screen {
        fn new(width: u16, height: u16) -> Self {
            Screen {
                cells: vec![
                    vec![(" ".to_owned(), Some(Pen::default())); width.into()];
                    height.into()
                ],
                x: 0,
                y: 0,
                pen: Pen::default(),
                cursor_visible: true,
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
        super::color(&mut text, color, Layer::Underline);
        match text.strip_prefix("58;5;") {
            Some(index) => Color::Indexed(index.parse().unwrap()),
            None => color,
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
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut random = move |bound: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % bound as u64) as usize
        };
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
            let cursor = (random(3) > 0)
                .then(|| (random(width.into()) as u16, random(height.into()) as u16));
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
}
