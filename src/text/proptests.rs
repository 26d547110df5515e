//! Property tests of the algebra every copy relies on to converge: random documents with
//! multi-byte chars, combining marks and CRLF, random concurrent operations.

use proptest::prelude::*;
use ropey::Rope;

use super::operation::{Assoc, Operation, OperationBuilder, char_len};
use super::undo::UndoHistory;

const PIECES: &[&str] = &[
    "a",
    "b",
    " ",
    "é",
    "e\u{301}",
    "😀",
    "漢",
    "\r\n",
    "\n",
    "\t",
    "👩‍💻",
];

fn doc() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..24).prop_map(|p| p.concat())
}

/// A recipe that becomes an operation for whatever document length it meets.
type Recipe = Vec<(u8, usize, String)>;

fn recipe() -> impl Strategy<Value = Recipe> {
    prop::collection::vec((0u8..3, 0usize..6, doc()), 0..8)
}

fn op_for(len: usize, recipe: &Recipe) -> Operation {
    let mut b = OperationBuilder::new();
    let mut left = len;
    for (kind, n, text) in recipe {
        match kind {
            0 => {
                let n = (*n).min(left);
                b = b.retain(n);
                left -= n;
            }
            1 => {
                let n = (*n).min(left);
                b = b.delete(n);
                left -= n;
            }
            _ => b = b.insert(text),
        }
    }
    b.retain(left).build()
}

fn apply(op: &Operation, text: &str) -> String {
    op.apply_to_string(text)
        .expect("lengths match by construction")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn transform_converges_in_both_orders(text in doc(), ra in recipe(), rb in recipe()) {
        let len = char_len(&text);
        let (a, b) = (op_for(len, &ra), op_for(len, &rb));
        let (a2, b2) = Operation::transform(&a, &b).unwrap();
        prop_assert_eq!(apply(&b2, &apply(&a, &text)), apply(&a2, &apply(&b, &text)));
    }

    #[test]
    fn compose_equals_applying_in_sequence(text in doc(), ra in recipe(), rb in recipe()) {
        let a = op_for(char_len(&text), &ra);
        let middle = apply(&a, &text);
        let b = op_for(char_len(&middle), &rb);
        let ab = a.compose(&b).unwrap();
        prop_assert_eq!(apply(&ab, &text), apply(&b, &middle));
        let mut rope = Rope::from_str(&text);
        ab.apply(&mut rope).unwrap();
        prop_assert_eq!(rope.to_string(), apply(&b, &middle));
    }

    #[test]
    fn invert_undoes(text in doc(), ra in recipe()) {
        let a = op_for(char_len(&text), &ra);
        let before = Rope::from_str(&text);
        let inverse = a.invert(&before).unwrap();
        prop_assert_eq!(apply(&inverse, &apply(&a, &text)), text);
    }

    #[test]
    fn changes_replayed_in_order_equal_apply(text in doc(), ra in recipe()) {
        let a = op_for(char_len(&text), &ra);
        let mut rope = Rope::from_str(&text);
        for change in a.changes() {
            rope.remove(change.range.clone());
            rope.insert(change.range.start, change.text);
        }
        prop_assert_eq!(rope.to_string(), apply(&a, &text));
    }

    #[test]
    fn wire_round_trip(text in doc(), ra in recipe()) {
        let a = op_for(char_len(&text), &ra);
        let bytes = postcard::to_allocvec(&a).unwrap();
        prop_assert_eq!(postcard::from_bytes::<Operation>(&bytes).unwrap(), a);
    }

    /// A caret moves exactly as a one-char insert at the caret would be transformed.
    #[test]
    fn positions_move_like_inserted_text(text in doc(), ra in recipe(), at in 0usize..40) {
        let len = char_len(&text);
        let a = op_for(len, &ra);
        let pos = at.min(len);
        let caret = Operation::insert(len, pos, "|").unwrap();
        let (_, caret_after) = Operation::transform(&a, &caret).unwrap();
        let (caret_before, _) = Operation::transform(&caret, &a).unwrap();
        let start = |op: &Operation| op.changes().next().map(|c| c.range.start);
        prop_assert_eq!(start(&caret_after), Some(a.transform_position(pos, Assoc::After)));
        prop_assert_eq!(start(&caret_before), Some(a.transform_position(pos, Assoc::Before)));
    }

    /// Undoing all of my steps removes all of my text and none of anyone else's; redoing
    /// them all brings back exactly the text before the undos.
    #[test]
    fn undo_takes_back_only_my_text(
        text in "[a-z ]{0,12}",
        events in prop::collection::vec((any::<bool>(), any::<bool>(), 0usize..64, 1usize..4), 0..24),
    ) {
        let mut rope = Rope::from_str(&text);
        let mut history = UndoHistory::new();
        for (local, group_ends, at, n) in events {
            let len = rope.len_chars();
            let at = at % (len + 1);
            if local {
                let op = Operation::insert(len, at, &"L".repeat(n)).unwrap();
                history.record_local(&op, &rope).unwrap();
                op.apply(&mut rope).unwrap();
                if group_ends {
                    history.end_group();
                }
            } else {
                // Others insert "R"s, or delete some of the original lowercase text.
                let op = if group_ends {
                    Operation::insert(len, at, &"R".repeat(n)).unwrap()
                } else {
                    let end = (at + n).min(len);
                    let deletable = rope.slice(at..end).chars().all(|c| c.is_ascii_lowercase() || c == ' ');
                    if !deletable { continue; }
                    Operation::delete(len, at..end).unwrap()
                };
                op.apply(&mut rope).unwrap();
                history.on_remote(&op).unwrap();
            }
        }
        let before_undo = rope.to_string();
        let count = |s: &str, c: char| s.chars().filter(|&x| x == c).count();
        while let Some(op) = history.undo(&rope).unwrap() {
            op.apply(&mut rope).unwrap();
        }
        let undone = rope.to_string();
        prop_assert_eq!(count(&undone, 'L'), 0);
        prop_assert_eq!(count(&undone, 'R'), count(&before_undo, 'R'));
        while let Some(op) = history.redo(&rope).unwrap() {
            op.apply(&mut rope).unwrap();
        }
        prop_assert_eq!(rope.to_string(), before_undo);
    }
}
