//! The command palette (ctrl-shift-p, or alt-x where the terminal does not deliver
//! ctrl-shift): every action by its name, with what it does and the keys it has now,
//! fuzzy matched; choosing one runs it. Actions run from here before come first.
//!
//! It is the fuzzy [`Picker`] over the `actions!` table, so it can never list an action
//! that does not exist, nor miss one added later.

use crate::tui::compositor::AppCommand;
use crate::tui::keymap::{Action, Keymap, Mode};
use crate::tui::picker::{Picker, PickerItem};

/// How many recently run actions the palette remembers.
pub const RECENT_LIMIT: usize = 20;

/// The palette's id among the layers.
pub const ID: &str = "command-palette";

/// Whether `action` can run on its own from the palette: not a text object, an operator
/// or an action that waits for a character (they only mean something after or before
/// another key), nor the palette itself.
pub fn runs_alone(action: Action) -> bool {
    !action.is_text_object()
        && !action.takes_char()
        && !matches!(
            action,
            Action::OperatorDelete
                | Action::OperatorChange
                | Action::OperatorYank
                | Action::CommandPalette
        )
}

/// The row for `action`: its name, what it does, and its keys in `mode` if it has any.
pub fn label(action: Action, keymap: &Keymap, mode: Mode) -> String {
    let keys = keymap
        .keys_for(mode, action)
        .map(|keys| format!("  [{keys}]"))
        .unwrap_or_default();
    format!("{} — {}{keys}", action.name(), action.description())
}

/// The palette for `mode`, `recent` actions (newest first) at the top, then the rest in
/// the table's order; typing ranks by fuzzy score, recent first among equals.
pub fn palette(keymap: &Keymap, mode: Mode, recent: &[Action], query: &str) -> Picker {
    let rest = Action::ALL
        .iter()
        .filter(|action| !recent.contains(*action));
    let items = recent
        .iter()
        .chain(rest)
        .copied()
        .filter(|&action| runs_alone(action))
        .map(|action| PickerItem {
            label: label(action, keymap, mode),
            command: AppCommand::RunAction(action),
        })
        .collect();
    let mut picker = Picker::ranked(ID, "Run", items, "no actions");
    picker.set_query(query);
    picker
}

/// `recent` with `action` moved to the front.
pub fn remember(recent: &mut Vec<Action>, action: Action) {
    recent.retain(|&other| other != action);
    recent.insert(0, action);
    recent.truncate(RECENT_LIMIT);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_runnable_action_with_its_keys_and_recent_first() {
        let keymap = Keymap::load_from("default", None).unwrap();
        let picker = palette(&keymap, Mode::Insert, &[], "");
        let labels = picker.matched_labels();
        let runnable = Action::ALL.iter().filter(|&&a| runs_alone(a)).count();
        assert_eq!(labels.len(), runnable);
        assert!(labels.contains(&"save — Save the file on the host  [ctrl-s]"));
        assert!(!labels.iter().any(|label| label.starts_with("inner_word")));

        let mut recent = Vec::new();
        remember(&mut recent, Action::Save);
        remember(&mut recent, Action::GotoLine);
        remember(&mut recent, Action::Save);
        assert_eq!(recent, vec![Action::Save, Action::GotoLine]);
        let picker = palette(&keymap, Mode::Insert, &recent, "");
        assert!(picker.matched_labels()[0].starts_with("save "));
        assert!(picker.matched_labels()[1].starts_with("goto_line "));
    }

    #[test]
    fn fuzzy_names_find_the_action() {
        let keymap = Keymap::load_from("vim", None).unwrap();
        let picker = palette(&keymap, Mode::Normal, &[], "gotoline");
        assert!(
            picker.matched_labels()[0].starts_with("goto_line "),
            "{:?}",
            picker.matched_labels()
        );
        let picker = palette(&keymap, Mode::Normal, &[], "togpeop");
        assert!(picker.matched_labels()[0].starts_with("toggle_people "));
    }
}
