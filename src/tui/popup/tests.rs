//! Tests of the completion menu's filter and the word a completion replaces.

use super::*;

fn item(label: &str) -> Completion {
    Completion {
        label: label.into(),
        detail: None,
        insert_text: label.into(),
    }
}

#[test]
fn completions_filter_by_prefix_first_then_by_letters_in_order() {
    let mut menu = CompletionMenu {
        path: "a.rs".into(),
        line: 0,
        anchor: 0,
        items: ["area", "perimeter", "Area2", "scale", "parse_area"]
            .map(item)
            .to_vec(),
        shown: Vec::new(),
        selected: 0,
    };
    menu.filter("ar");
    let labels: Vec<_> = menu.shown.iter().map(|&i| &menu.items[i].label).collect();
    assert_eq!(labels, ["area", "Area2", "parse_area"]);
    menu.selected = 2;
    menu.filter("are");
    assert_eq!(menu.items[menu.shown[menu.selected]].label, "parse_area");
    menu.filter("xyz");
    assert!(menu.shown.is_empty());
}

#[test]
fn the_word_before_the_cursor_is_what_a_completion_replaces() {
    let rope = Rope::from_str("let x = shape.ar");
    assert_eq!(prefix(&rope, 16), "ar");
    assert_eq!(word_start(&rope, 14), 14);
    assert_eq!(prefix(&rope, 13), "shape");
}
