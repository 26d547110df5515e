//! Tests of keymaps: the action table's kinds, the shipped keymaps' bindings and sequences, user
//! overrides by action name, key names, and keys legacy terminals lose.

use super::*;
use ratatui::crossterm::event::{KeyCode, KeyModifiers};

/// The table's kinds agree with what the names and descriptions promise users: the
/// `extend_` actions extend the selection, text objects are the "After an operator"
/// ones, and whatever takes a character says which.
#[test]
fn action_kinds_agree_with_their_names() {
    for &action in Action::ALL {
        let (name, doc) = (action.name(), action.description());
        assert_eq!(
            action.extends_selection(),
            name.starts_with("extend_"),
            "{name}"
        );
        assert_eq!(
            action.is_text_object(),
            doc.starts_with("After an operator"),
            "{name}"
        );
        assert!(!action.is_motion() || action.takes_count(), "{name}");
        assert!(
            !(action.edits_text() && (action.is_motion() || action.extends_selection())),
            "{name}"
        );
    }
}

/// A key bound twice in one mode of a shipped keymap would silently go to the action
/// named last; each key must mean one thing.
#[test]
fn shipped_keymaps_give_each_key_one_action_per_mode() {
    for (name, text) in BUILTIN {
        let table: toml::Table = toml::from_str(text).unwrap();
        for (mode, bindings) in table {
            let mut seen: std::collections::HashMap<String, String> = Default::default();
            for (action, keys) in bindings.as_table().unwrap() {
                let keys: Vec<String> = match keys {
                    toml::Value::String(key) => vec![key.clone()],
                    toml::Value::Array(list) => list
                        .iter()
                        .map(|key| key.as_str().unwrap().to_owned())
                        .collect(),
                    other => panic!("{name}: {action} = {other}"),
                };
                for key in keys {
                    if let Some(first) = seen.insert(key.clone(), action.clone()) {
                        panic!("{name} [{mode}]: {key} is bound to {first} and {action}");
                    }
                }
            }
        }
    }
}

fn press(keymap: &mut Keymap, mode: Mode, key: &str) -> KeyResult {
    keymap.handle_key(mode, Key::parse(key).unwrap())
}

#[test]
fn default_keymap_has_the_promised_bindings() {
    let mut keymap = Keymap::load_from("default", None).unwrap();
    assert_eq!(keymap.initial_mode(), Mode::Insert);
    for (key, action) in [
        ("ctrl-p", Action::OpenFilePicker),
        ("ctrl-s", Action::Save),
        ("ctrl-q", Action::Quit),
        ("F1", Action::ToggleHelp),
        ("ctrl-f", Action::Find),
        ("ctrl-z", Action::Undo),
        ("ctrl-y", Action::Redo),
        ("ctrl-c", Action::Copy),
        ("ctrl-x", Action::Cut),
        ("ctrl-v", Action::Paste),
        ("shift-left", Action::ExtendLeft),
        ("ctrl-right", Action::MoveWordRight),
        ("pagedown", Action::PageDown),
        ("ctrl-end", Action::MoveFileEnd),
        ("alt-f", Action::Follow),
        ("ctrl-t", Action::WorkspaceSearch),
        ("ctrl-b", Action::ToggleFileTree),
    ] {
        assert_eq!(
            press(&mut keymap, Mode::Insert, key),
            KeyResult::Action(action),
            "{key}"
        );
    }
    assert_eq!(
        press(&mut keymap, Mode::Insert, "x"),
        KeyResult::Insert('x')
    );
    assert_eq!(
        press(&mut keymap, Mode::Insert, "X"),
        KeyResult::Insert('X')
    );
}

#[test]
fn vim_keymap_is_modal_with_sequences() {
    let mut keymap = Keymap::load_from("vim", None).unwrap();
    assert_eq!(keymap.initial_mode(), Mode::Normal);
    assert_eq!(
        press(&mut keymap, Mode::Normal, "j"),
        KeyResult::Action(Action::MoveDown)
    );
    assert_eq!(press(&mut keymap, Mode::Normal, "g"), KeyResult::Pending);
    assert_eq!(keymap.pending(), "g");
    assert_eq!(
        press(&mut keymap, Mode::Normal, "g"),
        KeyResult::Action(Action::MoveFileStart)
    );
    assert_eq!(
        press(&mut keymap, Mode::Normal, "G"),
        KeyResult::Action(Action::MoveFileEnd)
    );
    assert_eq!(press(&mut keymap, Mode::Normal, "d"), KeyResult::Pending);
    // The operator twice: the line (see grammar.rs for counts and motions).
    assert_eq!(
        press(&mut keymap, Mode::Normal, "d"),
        KeyResult::Command(Command {
            count: None,
            operator: Some(Operator::Delete),
            action: Action::OperatorDelete,
            argument: None,
        })
    );
    // An unbound key in normal mode never types text.
    assert_eq!(press(&mut keymap, Mode::Normal, "Q"), KeyResult::Unbound);
    assert_eq!(
        press(&mut keymap, Mode::Visual, "l"),
        KeyResult::Action(Action::ExtendRight)
    );
    assert_eq!(
        press(&mut keymap, Mode::Insert, "esc"),
        KeyResult::Action(Action::NormalMode)
    );
    assert_eq!(
        press(&mut keymap, Mode::Insert, "j"),
        KeyResult::Insert('j')
    );
}

#[test]
fn user_overrides_replace_keys_by_action_name() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("overrides.toml"),
        "[insert]\nsave = [\"F2\", \"ctrl-w\"]\nquit = []\n",
    )
    .unwrap();
    let mut keymap = Keymap::load_from("default", Some(dir.path())).unwrap();
    assert_eq!(
        press(&mut keymap, Mode::Insert, "F2"),
        KeyResult::Action(Action::Save)
    );
    assert_eq!(
        press(&mut keymap, Mode::Insert, "ctrl-s"),
        KeyResult::Unbound
    );
    assert_eq!(
        press(&mut keymap, Mode::Insert, "ctrl-q"),
        KeyResult::Unbound
    );
    // Untouched actions keep their keys.
    assert_eq!(
        press(&mut keymap, Mode::Insert, "ctrl-p"),
        KeyResult::Action(Action::OpenFilePicker)
    );
    let listing = format_bindings(&keymap);
    assert!(
        listing.contains("F2") && !listing.contains("ctrl-s "),
        "{listing}"
    );
}

#[test]
fn mistakes_in_keymaps_are_named() {
    let error = Keymap::from_toml("k", "[insert]\nsavee = \"ctrl-s\"\n").unwrap_err();
    assert!(error.to_string().contains("savee"), "{error}");
    let error = Keymap::from_toml("k", "[insert]\nsave = \"ctrl-bogus\"\n").unwrap_err();
    assert!(error.to_string().contains("bogus"), "{error}");
    let error = Keymap::from_toml("k", "[command]\nsave = \"s\"\n").unwrap_err();
    assert!(error.to_string().contains("command"), "{error}");
}

#[test]
fn keys_round_trip_through_their_names() {
    for text in [
        "ctrl-s",
        "shift-left",
        "alt-f",
        "F1",
        "pagedown",
        "G",
        "space",
        "ctrl-home",
        "ctrl-shift-k",
        "alt-shift-f",
        "ctrl-shift-end",
    ] {
        assert_eq!(Key::parse(text).unwrap().to_string(), text);
    }
    assert_eq!(Key::parse("C-x").unwrap(), Key::parse("ctrl-x").unwrap());
    assert_eq!(Key::parse("shift-g").unwrap(), Key::parse("G").unwrap());
    let event = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
    assert_eq!(Key::from_event(&event), Some(Key::parse("G").unwrap()));
}

/// In tmux with its defaults (no extended keys), GNU screen or plain xterm,
/// ctrl-shift-k arrives as ctrl-k: an action bound only to such keys cannot be used
/// there, or does something else. Every action of a shipped keymap has a key that
/// arrives as itself.
#[test]
fn every_shipped_action_has_a_key_legacy_terminals_deliver() {
    assert!(
        !Key::parse("ctrl-shift-k")
            .unwrap()
            .survives_legacy_terminals()
    );
    assert!(
        Key::parse("alt-shift-f")
            .unwrap()
            .survives_legacy_terminals()
    );
    assert!(
        !Key::parse("ctrl-backspace")
            .unwrap()
            .survives_legacy_terminals()
    );
    assert!(!Key::parse("ctrl-.").unwrap().survives_legacy_terminals());
    assert!(
        Key::parse("ctrl-shift-left")
            .unwrap()
            .survives_legacy_terminals()
    );
    let mut missing = Vec::new();
    for (name, _) in BUILTIN {
        let keymap = Keymap::load_from(name, None).unwrap();
        let mut actions: Vec<(Mode, Action)> = keymap
            .bindings()
            .iter()
            .map(|binding| (binding.mode, binding.action))
            .collect();
        actions.dedup();
        for (mode, action) in actions {
            let delivered = keymap.bindings().iter().any(|binding| {
                binding.mode == mode
                    && binding.action == action
                    && binding
                        .keys
                        .split(' ')
                        .all(|key| Key::parse(key).is_ok_and(|key| key.survives_legacy_terminals()))
            });
            if !delivered {
                missing.push(format!("{name} [{}] {}", mode.name(), action.name()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "only keys legacy terminals lose: {missing:#?}"
    );
}

#[test]
fn every_builtin_keymap_lets_a_new_user_save_quit_and_find_help() {
    for (name, _) in BUILTIN {
        let keymap = Keymap::load_from(name, None).unwrap();
        for action in [Action::Save, Action::Quit, Action::ToggleHelp] {
            assert!(
                keymap.keys_for(keymap.initial_mode(), action).is_some(),
                "{name} does not bind {action} in its first mode"
            );
        }
    }
}
