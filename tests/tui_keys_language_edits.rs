//! Undo of a rename, code action or format: the host makes the change for the person who
//! asked, and in their editor it is one undo step of theirs per file, taken back (and
//! made again) through the shared text like typing, in both keymaps, without touching
//! what others typed meanwhile.

mod key_markup;

use cotype::text::Operation;
use key_markup::*;

/// `area` renamed to `surface` in both places of `let a = area(1) + area(2);`.
fn rename(harness: &Harness) -> Operation {
    let text = harness.rope.to_string();
    let len = harness.rope.len_chars();
    let mut edits: Vec<(std::ops::Range<usize>, &str)> = Vec::new();
    for (at, _) in text.match_indices("area") {
        let start = harness.rope.byte_to_char(at);
        edits.push((start..start + 4, "surface"));
    }
    assert_eq!(edits.len(), 2);
    Operation::from_edits(len, edits).unwrap()
}

fn undo_a_rename(keymap: &str, typing: &str, undo: &str, redo: &str) {
    let mut harness = Harness::new(keymap, "let a = area(1) + area(2);#[|]#");
    harness.press(typing);
    assert_eq!(
        harness.rope.to_string(),
        "let a = area(1) + area(2); // mine"
    );
    let renamed = rename(&harness);
    harness.made_for_me(renamed);
    // Bob types at the start while the rename is applied.
    let len = harness.rope.len_chars();
    harness.remote(Operation::insert(len, 0, "bob ").unwrap());
    assert_eq!(
        harness.rope.to_string(),
        "bob let a = surface(1) + surface(2); // mine"
    );
    // One step takes back both changes of the rename, and only them.
    harness.press(undo);
    assert_eq!(
        harness.rope.to_string(),
        "bob let a = area(1) + area(2); // mine",
        "{keymap}: undo takes back the rename"
    );
    harness.press(redo);
    assert_eq!(
        harness.rope.to_string(),
        "bob let a = surface(1) + surface(2); // mine",
        "{keymap}: redo makes it again"
    );
    // The step before it is my typing.
    harness.press(undo).press(undo);
    assert_eq!(
        harness.rope.to_string(),
        "bob let a = area(1) + area(2);",
        "{keymap}: then my typing"
    );
}

#[test]
fn a_rename_is_one_undo_step_of_whoever_asked_for_it() {
    undo_a_rename("default", " // mine", "<ctrl-z>", "<ctrl-y>");
    undo_a_rename("vim", "a // mine<esc>", "u", "<ctrl-r>");
}

#[test]
fn someone_elses_rename_is_not_mine_to_undo() {
    let mut harness = Harness::new("default", "let a = area(1) + area(2);#[|]#");
    let renamed = rename(&harness);
    harness.remote(renamed);
    harness.press("<ctrl-z>");
    assert_eq!(harness.rope.to_string(), "let a = surface(1) + surface(2);");
}
