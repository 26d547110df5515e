//! A ratatui backend that writes as few bytes as a frame needs, because over SSH and slow
//! links every byte of every keystroke's frame is latency.
//!
//! ratatui's `CrosstermBackend` is correct but generous: an absolute move for every run of
//! changed cells, both colors in full whenever either changes, a reset of every attribute
//! at the end of each frame (so the next frame starts by setting them all again), and a
//! cursor show and move after every frame even when the cursor did not change. This
//! backend remembers what the terminal already has (what every cell shows, the cursor's
//! position and visibility, the current colors and attributes) and writes only the
//! difference:
//! - the shortest of an absolute or a relative cursor move, one SGR sequence holding only
//!   the attributes that change, nothing for a cursor that stays put;
//! - a small frame's cells in the order that costs fewest bytes (pen changes cost more
//!   than moves);
//! - text moved sideways on a row (a character typed or deleted mid-line, by you or by
//!   someone else) moved by the terminal itself, insert and delete character, instead of
//!   redrawn ([`shift`]);
//! - a frame that must end where it has already been (the cursor after the character just
//!   typed) saves the cursor there (DECSC) and ends by restoring it (DECRC): two bytes
//!   instead of a move back, and the terminal gets back the pen of the text being typed,
//!   so the next keystroke needs no color change.
//!
//! A frame is collected in memory and written in one `write`; a frame that changes
//! nothing writes nothing at all.
//!
//! Synchronized output (DEC mode 2026: terminals that know it show the whole update at
//! once) wraps the frames that need it: those large enough to reach the terminal in more
//! than one piece (a scroll, a picker opening, a full redraw), where a half-drawn screen
//! could show. A keystroke's few cells travel in one packet and one read, so there its 16
//! bytes would only make every keystroke slower over a slow link.
//!
//! What it assumes of the terminal: ANSI cursor movement (CUP, CUU/CUD/CUF/CUB, CHA), SGR,
//! DECSC/DECRC (VT100) and ICH/DCH (VT102), which every terminal cotype supports has. It
//! never relies on the colors of the blanks an insert or delete opens (terminals differ:
//! GNU screen paints them with the current background only with its `bce` option on, off
//! by default), and where the position
//! after printing is uncertain (a symbol that is not one column wide, the last column
//! with its pending wrap, after an erase) it forgets the position and moves absolutely
//! next time.

mod paint;
mod shift;

use std::cell::Cell as Shared;
use std::io::{self, Write};

use ratatui::backend::{Backend, ClearType, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

use paint::{Painter, Pen, Shift};

const BEGIN_SYNCHRONIZED: &[u8] = b"\x1b[?2026h";
/// Frames longer than this are wrapped in synchronized output: well under one TCP
/// segment (about 1,400 bytes), so a shorter frame is not split on its way over SSH.
const SYNCHRONIZE_ABOVE: usize = 1024;
const END_SYNCHRONIZED: &[u8] = b"\x1b[?2026l";
/// Frames changing at most this many cells are drawn in the cheapest order rather than in
/// screen order (the search is quadratic in the cells).
const REORDER_CELLS: usize = 64;
/// Frames changing more rows than this are drawn without looking for shifted text (a
/// scroll or a full redraw, where trying each row would cost more time than it saves).
const SHIFT_ROWS: usize = 4;

pub struct LeanBackend<W: Write> {
    out: W,
    /// The update being built; written and flushed as one piece by `flush`.
    frame: Vec<u8>,
    /// A fixed size (tests), or `None` to ask the terminal.
    fixed_size: Option<Size>,
    /// The size last seen.
    size: Shared<Size>,
    /// What each cell of the terminal shows, row by row, where we know it.
    shown: Vec<Option<Cell>>,
    /// The size `shown` describes.
    shown_size: Size,
    /// Cells to draw, collected until the frame's cursor is known (at `flush`).
    pending: Vec<(u16, u16, Cell)>,
    /// Where the frame leaves the cursor, once ratatui says so.
    target: Option<Position>,
    /// Whether the frame leaves the cursor visible, once ratatui says so.
    want_visible: Option<bool>,
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
            size: Shared::new(fixed_size.unwrap_or_default()),
            shown: Vec::new(),
            shown_size: Size::default(),
            pending: Vec::new(),
            target: None,
            want_visible: None,
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
        self.shown.fill(None);
    }

    /// Makes `shown` describe a screen of the current size, knowing nothing of a new one.
    fn fit_shown(&mut self) {
        let size = self.size.get();
        if self.shown_size != size {
            self.shown = vec![None; usize::from(size.width) * usize::from(size.height)];
            self.shown_size = size;
        }
    }

    fn shown_row(&self, y: u16) -> &[Option<Cell>] {
        let width = usize::from(self.shown_size.width);
        let start = usize::from(y) * width;
        self.shown.get(start..start + width).unwrap_or(&[])
    }

    /// Writes the pending cells into the frame, ending with the cursor at `target` (if
    /// known), and records what the screen shows now.
    fn paint_pending(&mut self, target: Option<Position>) {
        self.fit_shown();
        let size = self.shown_size;
        let mut cells = std::mem::take(&mut self.pending);
        cells.retain(|&(x, y, _)| x < size.width && y < size.height);
        // A later cell for the same place wins (ratatui draws each place once a frame,
        // but `draw` may be called more than once before a flush).
        let mut seen = std::collections::HashSet::new();
        let mut deduplicated = Vec::with_capacity(cells.len());
        for (x, y, cell) in cells.into_iter().rev() {
            if seen.insert((x, y)) {
                deduplicated.push((x, y, cell));
            }
        }
        deduplicated.reverse();
        let cells = deduplicated;

        let start = Painter::new(self.cursor, self.pen, size.width);
        let painter = if cells.is_empty() {
            let mut painter = start;
            if let Some(target) = target {
                painter.move_to(target);
            }
            painter
        } else {
            self.plan(start, &cells, target)
        };
        for (x, y, cell) in cells {
            let index = usize::from(y) * usize::from(size.width) + usize::from(x);
            self.shown[index] = Some(cell);
        }
        self.frame.extend_from_slice(&painter.out);
        self.cursor = painter.cursor;
        self.pen = painter.pen;
    }

    /// The cheapest bytes found for `cells`: with each row's shift tried where text moved
    /// sideways, kept if it saves bytes.
    fn plan(
        &self,
        start: Painter,
        cells: &[(u16, u16, Cell)],
        target: Option<Position>,
    ) -> Painter {
        let mut rows: Vec<u16> = cells.iter().map(|&(_, y, _)| y).collect();
        rows.sort_unstable();
        rows.dedup();
        let rest = target.and_then(|target| self.rest_pen(cells, target));
        let mut best = self.paint(&start, &[], cells, target, rest);
        if rows.len() > SHIFT_ROWS {
            return best;
        }
        let mut chosen: Vec<(u16, Vec<Shift>)> = Vec::new();
        for &y in &rows {
            let old = self.shown_row(y);
            let mut new: Vec<Cell> = old.iter().map(|c| c.clone().unwrap_or_default()).collect();
            for (x, _, cell) in cells.iter().filter(|&&(_, row, _)| row == y) {
                new[usize::from(*x)] = cell.clone();
            }
            let Some(shifts) = shift::best_shift(y, old, &new, start.cursor) else {
                continue;
            };
            let mut trial = chosen.clone();
            trial.push((y, shifts));
            let trial_cells = self.cells_after_shifts(cells, &trial);
            let painted = self.paint(&start, &trial, &trial_cells, target, rest);
            if painted.out.len() < best.out.len() {
                best = painted;
                chosen = trial;
            }
        }
        best
    }

    /// The cells still to draw once `shifts` moved their rows: on those rows, every cell
    /// the shifts did not bring into place; elsewhere, the frame's cells.
    fn cells_after_shifts(
        &self,
        cells: &[(u16, u16, Cell)],
        shifts: &[(u16, Vec<Shift>)],
    ) -> Vec<(u16, u16, Cell)> {
        let mut left: Vec<(u16, u16, Cell)> = cells
            .iter()
            .filter(|(_, y, _)| !shifts.iter().any(|(row, _)| row == y))
            .cloned()
            .collect();
        for (y, row_shifts) in shifts {
            let mut row = self.shown_row(*y).to_vec();
            let mut new: Vec<Option<Cell>> = row.clone();
            for (x, _, cell) in cells.iter().filter(|(_, row, _)| row == y) {
                new[usize::from(*x)] = Some(cell.clone());
            }
            for &shift in row_shifts {
                shift::apply(&mut row, shift);
            }
            for (x, (now, wanted)) in row.iter().zip(&new).enumerate() {
                if let Some(wanted) = wanted
                    && now.as_ref() != Some(wanted)
                {
                    left.push((x as u16, *y, wanted.clone()));
                }
            }
        }
        left
    }

    /// The bytes for one way of drawing the frame: `shifts` first, then `cells`, ending at
    /// `target`.
    ///
    /// Where the frame ends, the terminal will most likely next print a character typed
    /// there, in the pen of the text before it (`rest`). If the frame passes by that place
    /// with that pen, or can step aside to it cheaply, it saves the cursor there and ends
    /// by restoring it; otherwise it moves back and leaves the pen as it is.
    fn paint(
        &self,
        start: &Painter,
        shifts: &[(u16, Vec<Shift>)],
        cells: &[(u16, u16, Cell)],
        target: Option<Position>,
        rest: Option<Pen>,
    ) -> Painter {
        let mut painter = start.clone();
        for (_, row_shifts) in shifts {
            for &shift in row_shifts {
                painter.shift(shift);
            }
        }
        let order = draw_order(&painter, cells);
        let Some(target) = target else {
            for &i in &order {
                let (x, y, ref cell) = cells[i];
                painter.put(Position { x, y }, cell);
            }
            return painter;
        };
        let rest = rest.filter(|pen| pen.survives_save());
        if order.len() > REORDER_CELLS {
            // A large frame: the few bytes a saved cursor spares are not worth the walk.
            for &i in &order {
                let (x, y, ref cell) = cells[i];
                painter.put(Position { x, y }, cell);
            }
            painter.move_to(target);
            return painter;
        }
        // Walk the order once to find the cheapest place to save the cursor, if any.
        let mut walk = painter.clone();
        walk.out.clear();
        let mut best: Option<(usize, usize)> = None; // (cost, before which cell)
        for (step, &i) in order.iter().enumerate() {
            let (x, y, ref cell) = cells[i];
            let at = Position { x, y };
            if rest.is_some() && walk.pen == rest {
                // Stepping aside to the target, saving there and going on to this
                // cell, instead of going straight to it; plus the restore at the end.
                let detour = walk.move_len(target) + 2 + paint::move_len(Some(target), at) + 2;
                let cost = detour.saturating_sub(walk.move_len(at));
                if best.is_none_or(|(c, _)| cost < c) {
                    best = Some((cost, step));
                }
            }
            walk.put(at, cell);
            // Only the cursor and the pen matter on this walk; its bytes need not pile up.
            walk.out.clear();
        }
        let end_cost = walk.move_len(target) + rest.map_or(0, |rest| walk.pen_len(rest));
        let save_before = best
            .filter(|&(cost, _)| cost < end_cost)
            .map(|(_, step)| step);
        let mut saved_pen = None;
        for (step, &i) in order.iter().enumerate() {
            if Some(step) == save_before {
                painter.move_to(target);
                painter.save();
                saved_pen = painter.pen;
            }
            let (x, y, ref cell) = cells[i];
            painter.put(Position { x, y }, cell);
        }
        match saved_pen {
            Some(pen) => painter.restore(target, pen),
            None => painter.move_to(target),
        }
        painter
    }

    /// The pen of the text just before `target` once the frame is drawn: what a character
    /// typed there will most likely be drawn with. The most common of the three cells
    /// before it, the nearest among equals, so that one odd cell (someone's cursor on the
    /// character just typed) does not decide.
    fn rest_pen(&self, cells: &[(u16, u16, Cell)], target: Position) -> Option<Pen> {
        let pen_at = |x: u16| {
            cells
                .iter()
                .rev()
                .find(|&&(cx, cy, _)| (cx, cy) == (x, target.y))
                .map(|(_, _, cell)| cell)
                .or_else(|| self.shown_row(target.y).get(usize::from(x))?.as_ref())
                .map(Pen::of)
        };
        let before: Vec<Pen> = (1..=3)
            .filter_map(|back| target.x.checked_sub(back))
            .filter_map(pen_at)
            .collect();
        before.iter().copied().max_by_key(|pen| {
            let count = before.iter().filter(|other| *other == pen).count();
            let nearest = before.len() - before.iter().position(|other| other == pen).unwrap_or(0);
            (count, nearest)
        })
    }

    fn erase(&mut self, sequence: &[u8], all: bool) {
        self.paint_pending(None);
        let mut painter = Painter::new(self.cursor, self.pen, self.shown_size.width);
        painter.erase(sequence);
        self.frame.extend_from_slice(&painter.out);
        self.cursor = painter.cursor;
        self.pen = painter.pen;
        // A whole-screen erase leaves blanks in the default colors; the others, anything
        // we stop keeping track of.
        let blank = all.then(Cell::default);
        self.shown.fill(blank);
    }
}

/// The order to draw `cells` in from the painter's state: for a small frame (a keystroke's
/// few cells spread over the text, the status line and a flag, in a few colors) the
/// cheapest next cell each time, screen order among equals; for a large one screen order.
fn draw_order(start: &Painter, cells: &[(u16, u16, Cell)]) -> Vec<usize> {
    if cells.len() > REORDER_CELLS {
        let mut order: Vec<usize> = (0..cells.len()).collect();
        order.sort_by_key(|&i| (cells[i].1, cells[i].0));
        return order;
    }
    let mut painter = start.clone();
    let mut left: Vec<usize> = (0..cells.len()).collect();
    left.sort_by_key(|&i| (cells[i].1, cells[i].0));
    let mut order = Vec::with_capacity(cells.len());
    // A frame has few pens: each change between two of them is spelled out once.
    let mut pen_changes: Vec<(Option<Pen>, Pen, usize)> = Vec::new();
    while !left.is_empty() {
        let next = (0..left.len())
            .min_by_key(|&j| {
                let (x, y, ref cell) = cells[left[j]];
                let to = Pen::of(cell);
                let pen_len = match pen_changes
                    .iter()
                    .find(|(from, pen, _)| *from == painter.pen && *pen == to)
                {
                    Some(&(_, _, len)) => len,
                    None => {
                        let len = painter.pen_len(to);
                        pen_changes.push((painter.pen, to, len));
                        len
                    }
                };
                (painter.move_len(Position { x, y }) + pen_len, j)
            })
            .unwrap_or(0);
        let i = left.remove(next);
        let (x, y, ref cell) = cells[i];
        painter.put(Position { x, y }, cell);
        painter.out.clear();
        order.push(i);
    }
    order
}

impl<W: Write> Backend for LeanBackend<W> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.pending
            .extend(content.map(|(x, y, cell)| (x, y, cell.clone())));
        Ok(())
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.want_visible = Some(false);
        Ok(())
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        self.want_visible = Some(true);
        Ok(())
    }

    fn get_cursor_position(&mut self) -> io::Result<Position> {
        // Known from what we wrote; asking the terminal would mean reading its answer
        // from the input stream the event loop owns.
        Ok(self.target.or(self.cursor).unwrap_or_default())
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.target = Some(position.into());
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
        // A partial erase acts from the cursor: it must be where ratatui put it.
        if clear_type != ClearType::All
            && let Some(target) = self.target.take()
        {
            self.paint_pending(Some(target));
        }
        self.erase(sequence, clear_type == ClearType::All);
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
        self.size.set(size);
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
        let target = self.target.take();
        if !self.pending.is_empty() || target.is_some_and(|t| self.cursor != Some(t)) {
            self.paint_pending(target);
        }
        if let Some(visible) = self.want_visible.take()
            && self.cursor_visible != Some(visible)
        {
            self.frame
                .extend_from_slice(if visible { b"\x1b[?25h" } else { b"\x1b[?25l" });
            self.cursor_visible = Some(visible);
        }
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
mod tests;
