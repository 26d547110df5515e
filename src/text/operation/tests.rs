//! Tests of operations: building in one normal form, applying by chars, composing, inverting and
//! transforming concurrent edits.

use super::*;

fn op(parts: &[Component]) -> Operation {
    Operation::try_from(parts.to_vec()).unwrap()
}

#[test]
fn builders_normalize_to_one_form() {
    let a = OperationBuilder::new()
        .retain(2)
        .retain(0)
        .delete(1)
        .insert("é")
        .insert("")
        .insert("x")
        .retain(1)
        .build();
    assert_eq!(
        a.components(),
        &[
            Component::Retain(2),
            Component::Insert("éx".into()),
            Component::Delete(1),
            Component::Retain(1)
        ]
    );
    assert_eq!((a.base_len(), a.target_len()), (4, 5));
    assert_eq!(a, Operation::replace(4, 2..3, "éx").unwrap());
}

#[test]
fn apply_edits_by_chars_not_bytes() {
    let mut rope = Rope::from_str("a😀b\r\nc");
    Operation::replace(6, 1..2, "漢字")
        .unwrap()
        .apply(&mut rope)
        .unwrap();
    assert_eq!(rope.to_string(), "a漢字b\r\nc");
    let s = Operation::delete(7, 3..5)
        .unwrap()
        .apply_to_string("a漢字b\r\nc")
        .unwrap();
    assert_eq!(s, "a漢字\nc");
}

#[test]
fn apply_refuses_a_different_document_and_leaves_it_alone() {
    let mut rope = Rope::from_str("hello");
    let edit = Operation::insert(4, 0, "x").unwrap();
    assert_eq!(
        edit.apply(&mut rope),
        Err(OtError::LengthMismatch {
            expected: 4,
            actual: 5
        })
    );
    assert_eq!(rope.to_string(), "hello");
    assert!(edit.apply_to_string("hello").is_err());
}

#[test]
fn builders_refuse_bad_ranges() {
    assert!(matches!(
        Operation::insert(3, 4, "x"),
        Err(OtError::BadRange { .. })
    ));
    #[allow(clippy::reversed_empty_ranges)]
    let reversed = 2..1;
    assert!(matches!(
        Operation::delete(3, reversed),
        Err(OtError::BadRange { .. })
    ));
    assert!(matches!(
        Operation::from_edits(5, [(0..2, "a"), (1..3, "b")]),
        Err(OtError::Overlap { .. })
    ));
}

#[test]
fn multi_cursor_edit_in_any_order() {
    let edit = Operation::from_edits(5, [(4..5, "E"), (0..0, "<"), (2..3, "")]).unwrap();
    assert_eq!(edit.apply_to_string("abcde").unwrap(), "<abdE");
}

#[test]
fn deserializing_recomputes_lengths_and_refuses_overflow() {
    let bytes =
        postcard::to_allocvec(&vec![Component::Retain(usize::MAX), Component::Retain(1)]).unwrap();
    assert!(postcard::from_bytes::<Operation>(&bytes).is_err());
    let edit = Operation::replace(3, 1..2, "ü").unwrap();
    let bytes = postcard::to_allocvec(&edit).unwrap();
    assert_eq!(postcard::from_bytes::<Operation>(&bytes).unwrap(), edit);
    // A peer that sends an unnormalized form gets the normal form.
    let loose = vec![
        Component::Retain(1),
        Component::Delete(1),
        Component::Insert("ü".into()),
        Component::Retain(0),
        Component::Retain(1),
    ];
    let bytes = postcard::to_allocvec(&loose).unwrap();
    assert_eq!(postcard::from_bytes::<Operation>(&bytes).unwrap(), edit);
}

#[test]
fn changes_replay_in_order_reproduces_the_operation() {
    let before = "ab😀cd\r\nef";
    let edit =
        Operation::from_edits(9, [(0..1, "X"), (2..3, ""), (5..7, "\n"), (9..9, "!")]).unwrap();
    let mut rope = Rope::from_str(before);
    let changes: Vec<_> = edit.changes().collect();
    assert_eq!(changes.len(), 4);
    for c in &changes {
        rope.remove(c.range.clone());
        rope.insert(c.range.start, c.text);
    }
    assert_eq!(rope.to_string(), edit.apply_to_string(before).unwrap());
    assert_eq!(
        changes[1],
        Change {
            range: 2..3,
            text: ""
        }
    );
}

#[test]
fn positions_follow_the_text() {
    let edit = op(&[
        Component::Retain(2),
        Component::Insert("xy".into()),
        Component::Retain(1),
        Component::Delete(2),
        Component::Retain(1),
    ]);
    assert_eq!(edit.transform_position(1, Assoc::After), 1);
    assert_eq!(edit.transform_position(2, Assoc::Before), 2);
    assert_eq!(edit.transform_position(2, Assoc::After), 4);
    assert_eq!(edit.transform_position(3, Assoc::Before), 5);
    assert_eq!(edit.transform_position(4, Assoc::After), 5);
    assert_eq!(edit.transform_position(5, Assoc::After), 5);
    assert_eq!(edit.transform_position(6, Assoc::After), 6);
    assert_eq!(edit.transform_position(600, Assoc::After), 6);
}

#[test]
fn invert_restores_deleted_multibyte_text() {
    let before = Rope::from_str("a👩‍💻b");
    let edit = Operation::replace(5, 1..4, "z").unwrap();
    let mut after = before.clone();
    edit.apply(&mut after).unwrap();
    let inverse = edit.invert(&before).unwrap();
    inverse.apply(&mut after).unwrap();
    assert_eq!(after, before);
}

#[test]
fn concurrent_inserts_at_one_spot_put_the_first_argument_first() {
    let a = Operation::insert(2, 1, "A").unwrap();
    let b = Operation::insert(2, 1, "B").unwrap();
    let (a2, b2) = Operation::transform(&a, &b).unwrap();
    let ab = b2
        .apply_to_string(&a.apply_to_string("xy").unwrap())
        .unwrap();
    let ba = a2
        .apply_to_string(&b.apply_to_string("xy").unwrap())
        .unwrap();
    assert_eq!(ab, "xABy");
    assert_eq!(ba, "xABy");
}
