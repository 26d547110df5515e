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

    /// How many bytes the shortest move to `to` takes (0 if the cursor is there).
    pub fn move_len(&self, to: Position) -> usize {
        move_len(self.cursor, to)
    }

    pub fn move_to(&mut self, to: Position) {
        if let Some(from) = self.cursor.filter(|&from| from != to) {
            let relative = Move::Relative(from);
            if relative.len(to) < Move::Absolute.len(to) {
                relative.write(&mut self.out, to);
                self.cursor = Some(to);
                return;
            }
        }
        if self.cursor != Some(to) {
            Move::Absolute.write(&mut self.out, to);
        }
        self.cursor = Some(to);
    }

    /// The shortest SGR sequence turning the current pen into `to` (nothing if it is).
    fn write_pen(&self, out: &mut Vec<u8>, to: Pen) {
        if self.pen == Some(to) {
            return;
        }
        SCRATCH.with(|scratch| {
            let (full, changes) = &mut *scratch.borrow_mut();
            full.clear();
            full.push('0');
            push_pen(full, Pen::default(), to);
            let mut params: &str = full;
            if let Some(from) = self.pen {
                changes.clear();
                push_pen(changes, from, to);
                if changes.len() < full.len() {
                    params = changes;
                }
            }
            out.extend_from_slice(b"\x1b[");
            if params != "0" {
                out.extend_from_slice(params.as_bytes());
            }
            out.push(b'm');
        });
    }

    /// How many bytes turning the current pen into `to` takes.
    pub fn pen_len(&self, to: Pen) -> usize {
        PEN_SCRATCH.with(|scratch| {
            let bytes = &mut *scratch.borrow_mut();
            bytes.clear();
            self.write_pen(bytes, to);
            bytes.len()
        })
    }

    pub fn set_pen(&mut self, to: Pen) {
        let mut out = std::mem::take(&mut self.out);
        self.write_pen(&mut out, to);
        self.out = out;
        self.pen = Some(to);
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
        write_counted(&mut self.out, count, command);
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

/// How many bytes the shortest move from `from` (if known) to `to` takes.
pub(super) fn move_len(from: Option<Position>, to: Position) -> usize {
    match from {
        Some(from) if from == to => 0,
        Some(from) => Move::Relative(from).len(to).min(Move::Absolute.len(to)),
        None => Move::Absolute.len(to),
    }
}

thread_local! {
    /// Room to spell SGR parameters in without allocating for every cell: a frame weighs
    /// many candidate orders, each cell's cost spelled out.
    static SCRATCH: std::cell::RefCell<(String, String)> =
        std::cell::RefCell::new((String::with_capacity(64), String::with_capacity(64)));
    static PEN_SCRATCH: std::cell::RefCell<Vec<u8>> =
        std::cell::RefCell::new(Vec::with_capacity(64));
}

/// The two ways to move the cursor.
#[derive(Clone, Copy)]
enum Move {
    /// `ESC [ row ; col H`, shortened where the defaults allow.
    Absolute,
    /// From a known place: a vertical step, then a carriage return, a horizontal step or
    /// an absolute column, whichever is shortest.
    Relative(Position),
}

impl Move {
    fn len(self, to: Position) -> usize {
        match self {
            Move::Absolute => match (to.x, to.y) {
                (0, 0) => 3,
                (0, y) => 3 + digits(y + 1),
                (x, y) => 4 + digits(y + 1) + digits(x + 1),
            },
            Move::Relative(from) => {
                let vertical = if to.y == from.y {
                    0
                } else {
                    counted_len(to.y.abs_diff(from.y))
                };
                vertical + horizontal(from.x, to.x).1
            }
        }
    }

    fn write(self, out: &mut Vec<u8>, to: Position) {
        use std::io::Write as _;
        let _ = match self {
            Move::Absolute => match (to.x, to.y) {
                (0, 0) => write!(out, "\x1b[H"),
                (0, y) => write!(out, "\x1b[{}H", y + 1),
                (x, y) => write!(out, "\x1b[{};{}H", y + 1, x + 1),
            },
            Move::Relative(from) => {
                match to.y.cmp(&from.y) {
                    std::cmp::Ordering::Equal => {}
                    std::cmp::Ordering::Greater => write_counted(out, to.y - from.y, 'B'),
                    std::cmp::Ordering::Less => write_counted(out, from.y - to.y, 'A'),
                }
                match horizontal(from.x, to.x).0 {
                    Horizontal::Stay => {}
                    Horizontal::Return => out.push(b'\r'),
                    Horizontal::Right(n) => write_counted(out, n, 'C'),
                    Horizontal::Left(n) => write_counted(out, n, 'D'),
                    Horizontal::Column(x) => {
                        let _ = write!(out, "\x1b[{}G", x + 1);
                    }
                }
                Ok(())
            }
        };
    }
}

enum Horizontal {
    Stay,
    Return,
    Right(u16),
    Left(u16),
    Column(u16),
}

/// The shortest horizontal move from column `from` to `to`, and its length.
fn horizontal(from: u16, to: u16) -> (Horizontal, usize) {
    if to == from {
        return (Horizontal::Stay, 0);
    }
    if to == 0 {
        return (Horizontal::Return, 1);
    }
    let step = counted_len(to.abs_diff(from));
    let column = 3 + digits(to + 1);
    if column < step {
        (Horizontal::Column(to), column)
    } else if to > from {
        (Horizontal::Right(to - from), step)
    } else {
        (Horizontal::Left(from - to), step)
    }
}

fn digits(n: u16) -> usize {
    n.checked_ilog10().map_or(1, |log| log as usize + 1)
}

/// The length of `ESC [ n X` with the count left out when it is one (the default).
fn counted_len(n: u16) -> usize {
    if n == 1 { 3 } else { 3 + digits(n) }
}

fn write_counted(out: &mut Vec<u8>, n: u16, command: char) {
    use std::io::Write as _;
    let _ = if n == 1 {
        write!(out, "\x1b[{command}")
    } else {
        write!(out, "\x1b[{n}{command}")
    };
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
        Color::Indexed(index) => {
            let _ = write!(out, "{extended};5;{index}");
            return;
        }
        Color::Rgb(r, g, b) => {
            let _ = write!(out, "{extended};2;{r};{g};{b}");
            return;
        }
        named => crate::tui::theme::ansi_number(named).unwrap_or_default(),
    };
    let _ = match layer {
        Layer::Underline => write!(out, "{extended};5;{named}"),
        _ if named < 8 => write!(out, "{}", base + named),
        _ => write!(out, "{}", bright + named - 8),
    };
}
