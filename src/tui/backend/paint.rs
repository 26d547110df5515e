//! The bytes of a frame: cursor moves, pen changes, cells, and the terminal's own editing
//! of a row (insert and delete character), each in its shortest spelling, with the
//! terminal's state (cursor, pen) tracked as they are written.

use std::fmt::Write as _;

use ratatui::buffer::Cell;
use ratatui::layout::Position;
use ratatui::style::{Color, Modifier};
use unicode_width::UnicodeWidthStr;

/// The graphic rendition the terminal draws with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(super) struct Pen {
    pub fg: Color,
    pub bg: Color,
    pub underline: Color,
    pub modifier: Modifier,
}

impl Pen {
    pub fn of(cell: &Cell) -> Self {
        Pen {
            fg: cell.fg,
            bg: cell.bg,
            underline: cell.underline_color,
            modifier: cell.modifier,
        }
    }

    /// Whether DECSC/DECRC keep this pen whole everywhere: they save the colors and
    /// attributes, but not every terminal saves an underline color.
    pub fn survives_save(self) -> bool {
        self.underline == Color::Reset
    }
}

/// The terminal shifting part of a row by itself, from `at` to the right margin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shift {
    /// Insert `count` blanks at `at` (ICH): the cells there move right, the last fall off.
    Insert { at: Position, count: u16 },
    /// Delete `count` cells at `at` (DCH): the cells after move left, blanks enter at the
    /// right margin.
    Delete { at: Position, count: u16 },
}

/// Bytes for the terminal, and what the terminal's cursor and pen are after them.
#[derive(Clone, Debug)]
pub(super) struct Painter {
    pub out: Vec<u8>,
    /// Where the cursor is, when known (not after a wide symbol or a pending wrap).
    pub cursor: Option<Position>,
    /// What the terminal draws with; `None` until set by us.
    pub pen: Option<Pen>,
    /// The screen's width, to know when printing reaches the last column.
    width: u16,
}

impl Painter {
    pub fn new(cursor: Option<Position>, pen: Option<Pen>, width: u16) -> Self {
        Painter {
            out: Vec::with_capacity(256),
            cursor,
            pen,
            width,
        }
    }

    /// The shortest sequence moving the cursor to `to` (empty if it is there).
    pub fn move_bytes(&self, to: Position) -> String {
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

    pub fn move_to(&mut self, to: Position) {
        let bytes = self.move_bytes(to);
        self.out.extend_from_slice(bytes.as_bytes());
        self.cursor = Some(to);
    }

    /// The shortest SGR sequence turning the current pen into `to` (empty if it is).
    pub fn pen_bytes(&self, to: Pen) -> String {
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

    pub fn set_pen(&mut self, to: Pen) {
        let bytes = self.pen_bytes(to);
        self.out.extend_from_slice(bytes.as_bytes());
        self.pen = Some(to);
    }

    /// What drawing `cell` at `at` costs from here, in bytes besides its symbol.
    pub fn cost(&self, at: Position, cell: &Cell) -> usize {
        self.move_bytes(at).len() + self.pen_bytes(Pen::of(cell)).len()
    }

    pub fn put(&mut self, at: Position, cell: &Cell) {
        self.move_to(at);
        self.set_pen(Pen::of(cell));
        let symbol = cell.symbol();
        self.out.extend_from_slice(symbol.as_bytes());
        // After the last column the cursor waits there with a wrap pending; after a wide
        // or zero-width symbol, terminals disagree on where it went.
        self.cursor = (symbol.width() == 1 && at.x + 1 < self.width)
            .then_some(Position { x: at.x + 1, ..at });
    }

    /// ICH or DCH at the shift's column; the cursor stays where it is.
    pub fn shift(&mut self, shift: Shift) {
        let (at, count, command) = match shift {
            Shift::Insert { at, count } => (at, count, '@'),
            Shift::Delete { at, count } => (at, count, 'P'),
        };
        self.move_to(at);
        let mut text = String::new();
        let _ = counted(&mut text, count, command);
        self.out.extend_from_slice(text.as_bytes());
    }

    /// DECSC: the terminal remembers the cursor and the pen.
    pub fn save(&mut self) {
        self.out.extend_from_slice(b"\x1b7");
    }

    /// DECRC: back to where `save` was written, with the pen it had there.
    pub fn restore(&mut self, saved: Position, pen: Pen) {
        self.out.extend_from_slice(b"\x1b8");
        self.cursor = Some(saved);
        self.pen = Some(pen);
    }

    /// An erase sequence, with the default colors (terminals erase with the current
    /// background). Erases come with resizes, which may have moved the cursor: the next
    /// move is absolute.
    pub fn erase(&mut self, sequence: &[u8]) {
        self.set_pen(Pen::default());
        self.out.extend_from_slice(sequence);
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

/// `ESC [ n X`, with the count left out when it is one (the default).
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
    for (from, to, layer) in [
        (from.fg, to.fg, Layer::Foreground),
        (from.bg, to.bg, Layer::Background),
        (from.underline, to.underline, Layer::Underline),
    ] {
        if to != from {
            let mut text = String::new();
            color(&mut text, to, layer);
            param(out, format_args!("{text}"));
        }
    }
}

#[derive(Clone, Copy)]
pub(super) enum Layer {
    Foreground,
    Background,
    Underline,
}

/// The SGR parameters of one color. The 16 named colors use their short codes (30–37,
/// 90–97 and the background's 40–47, 100–107); underline colors exist only indexed.
pub(super) fn color(out: &mut String, color: Color, layer: Layer) {
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
