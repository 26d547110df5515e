//! Seeing a row's change as text moved sideways, which the terminal can do by itself.
//!
//! A character typed or deleted in the middle of a line moves the rest of the line by one
//! cell: redrawn cell by cell that is the whole rest of the line, with a pen change for
//! every color in it. The terminal's insert-character (ICH) and delete-character (DCH)
//! move those cells in three or four bytes. Both act up to the right margin, where a row
//! usually ends with something that must stay put (a name flag, the edge of a panel), so
//! a shift is paired with the opposite one where the moved text ends: a delete there
//! before the insert (what falls off the margin is the delete's blank), or an insert
//! there after the delete. Whatever the pair does not bring into place is drawn as usual.

use ratatui::buffer::{Cell, CellDiffOption};
use ratatui::layout::Position;
use unicode_width::UnicodeWidthStr;

use super::paint::Shift;

/// The widest shift looked for: a word typed, pasted or deleted at once.
const WIDEST: u16 = 8;

/// The shifts that bring the row `old` closest to `new`, if they leave fewer cells to draw
/// than drawing every changed one; `near` (the cursor) breaks ties, so the first shift
/// starts close to it.
pub(super) fn best_shift(
    y: u16,
    old: &[Option<Cell>],
    new: &[Cell],
    near: Option<Position>,
) -> Option<Vec<Shift>> {
    let width = new.len();
    if old.len() != width || !shiftable(old, new) {
        return None;
    }
    let same: Vec<bool> = (0..width)
        .map(|i| old[i].as_ref() == Some(&new[i]))
        .collect();
    let first = same.iter().position(|same| !same)?;
    let changed = same.iter().filter(|same| !**same).count();
    let distance = |x: usize| match near {
        Some(near) if near.y == y => (near.x as usize).abs_diff(x),
        _ => 0,
    };
    let at = |x: usize| Position { x: x as u16, y };
    // (cells left to draw, distance of the first shift from the cursor, the shifts)
    let mut best: Option<(usize, usize, Vec<Shift>)> = None;
    let mut consider = |left: usize, first_at: usize, shifts: Vec<Shift>| {
        let key = (left, distance(first_at));
        if best.as_ref().is_none_or(|(l, d, _)| key < (*l, *d)) {
            best = Some((key.0, key.1, shifts));
        }
    };
    let old_is = |i: usize, cell: &Cell| old[i].as_ref() == Some(cell);
    for count in 1..=WIDEST.min((width - first) as u16 / 2) {
        let k = count as usize;
        // Inserted at `first`; the moved text ends before `end` in the new row, from
        // which the old row stays where it was (a delete at `end - k` keeps it there).
        let mut moved_wrong = 0;
        let mut rest_wrong = (first + k..width).filter(|&i| !same[i]).count();
        for end in first + k..=width {
            let left = k + moved_wrong + rest_wrong;
            let shifts = if end < width {
                vec![
                    Shift::Delete {
                        at: at(end - k),
                        count,
                    },
                    Shift::Insert {
                        at: at(first),
                        count,
                    },
                ]
            } else {
                vec![Shift::Insert {
                    at: at(first),
                    count,
                }]
            };
            consider(left, if end < width { end - k } else { first }, shifts);
            if end < width {
                moved_wrong += usize::from(!old_is(end - k, &new[end]));
                rest_wrong -= usize::from(!same[end]);
            }
        }
        // Deleted at `first`; the moved text ends before `end`, where the blanks an
        // insert opens (and those the delete brought in at the margin) are drawn.
        let mut moved_wrong = 0;
        let mut rest_wrong = (first + k..width).filter(|&i| !same[i]).count();
        for end in first..=width - k {
            let left = moved_wrong + k + rest_wrong;
            let mut shifts = vec![Shift::Delete {
                at: at(first),
                count,
            }];
            if end < width - k {
                shifts.push(Shift::Insert { at: at(end), count });
            }
            consider(left, first, shifts);
            if end < width - k {
                moved_wrong += usize::from(!old_is(end + k, &new[end]));
                rest_wrong -= usize::from(!same[end + k]);
            }
        }
    }
    best.filter(|(left, _, _)| *left < changed)
        .map(|(_, _, shifts)| shifts)
}

/// Rows whose every cell is one plain column wide, old and new: only there does moving
/// cells move exactly the symbols (a wide symbol cut in half by a shift is redrawn
/// differently by every terminal).
fn shiftable(old: &[Option<Cell>], new: &[Cell]) -> bool {
    let plain =
        |cell: &Cell| cell.diff_option == CellDiffOption::None && cell.symbol().width() == 1;
    old.iter().all(|cell| cell.as_ref().is_some_and(plain)) && new.iter().all(plain)
}

/// What a row shows after `shift`: cells moved, blanks of unknown colors (`None`) where
/// the terminal opened them.
pub(super) fn apply(row: &mut [Option<Cell>], shift: Shift) {
    match shift {
        Shift::Insert { at, count } => {
            let (x, k) = (at.x as usize, count as usize);
            if x < row.len() {
                let k = k.min(row.len() - x);
                row[x..].rotate_right(k);
                row[x..x + k].fill(None);
            }
        }
        Shift::Delete { at, count } => {
            let (x, k) = (at.x as usize, count as usize);
            if x < row.len() {
                let k = k.min(row.len() - x);
                row[x..].rotate_left(k);
                let end = row.len();
                row[end - k..].fill(None);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(text: &str) -> Vec<Cell> {
        text.chars()
            .map(|c| {
                let mut cell = Cell::default();
                cell.set_char(c);
                cell
            })
            .collect()
    }

    fn after(old: &str, shifts: &[Shift]) -> String {
        let mut cells: Vec<Option<Cell>> = row(old).into_iter().map(Some).collect();
        for &shift in shifts {
            apply(&mut cells, shift);
        }
        cells
            .iter()
            .map(|cell| cell.as_ref().map_or("?", |c| c.symbol()).to_owned())
            .collect()
    }

    fn shifts_for(old: &str, new: &str, cursor_x: u16) -> Option<Vec<Shift>> {
        let old_cells: Vec<Option<Cell>> = row(old).into_iter().map(Some).collect();
        best_shift(
            0,
            &old_cells,
            &row(new),
            Some(Position { x: cursor_x, y: 0 }),
        )
    }

    #[test]
    fn a_character_typed_mid_line_is_one_insert_paired_with_a_delete_before_the_flag() {
        let (old, new) = ("// notes:qQ      bob|", "// notes:RqQ     bob|");
        let shifts = shifts_for(old, new, 11).expect("a shift");
        // The delete goes where the cursor is (cheapest to reach), the insert where R goes.
        assert_eq!(
            shifts,
            vec![
                Shift::Delete {
                    at: Position { x: 11, y: 0 },
                    count: 1
                },
                Shift::Insert {
                    at: Position { x: 9, y: 0 },
                    count: 1
                },
            ]
        );
        // Only R's cell is left to draw; the flag and the margin are where they were.
        assert_eq!(after(old, &shifts), "// notes:?qQ     bob|");
    }

    #[test]
    fn a_word_deleted_mid_line_is_one_delete_paired_with_an_insert() {
        let (old, new) = ("let total = a + b;   ada|", "let t = a + b;       ada|");
        let shifts = shifts_for(old, new, 5).expect("a shift");
        let shown = after(old, &shifts);
        let left = shown
            .chars()
            .zip(new.chars())
            .filter(|(shown, new)| shown != new)
            .count();
        assert_eq!(left, 4, "only the opened blanks are drawn: {shown:?}");
        assert!(shown.ends_with("ada|"));
    }

    #[test]
    fn changes_that_are_not_moves_are_drawn() {
        assert_eq!(shifts_for("abcdef", "abXdef", 2), None);
        assert_eq!(shifts_for("abcdef", "abcdef", 2), None);
        // A wide symbol anywhere on the row: no shifting.
        assert_eq!(shifts_for("ab界def ", "abX界def", 2), None);
    }
}
