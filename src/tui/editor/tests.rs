//! Checks that what the editor does agrees with what the action table declares.

use ropey::Rope;

use super::*;
use crate::tui::keymap::{Action, Command, Mode};

/// Applies `input` as the app would once the session accepted its edit.
fn apply(editor: &mut Editor, rope: &mut Rope, input: EditorInput) {
    if let Some(operation) = editor.handle(input, rope).operation {
        operation.apply(rope).unwrap();
        editor.edit_applied(&operation);
    }
}

/// An editor in `mode` with something for every action to act on: a selection in visual
/// mode, a copied line, a change `.` can repeat, an edit to undo and, if `undone`, an
/// undone one to redo.
fn prepared(mode: Mode, undone: bool) -> (Editor, Rope) {
    let mut rope = Rope::from_str("fn main() {\n    call(one, \"two\");\n}\n");
    let mut editor = Editor::new(Mode::Insert);
    editor.set_viewport(40, 10);
    editor.set_selection(&rope, Selection::cursor(17));
    apply(&mut editor, &mut rope, EditorInput::Insert('y'));
    apply(
        &mut editor,
        &mut rope,
        EditorInput::Action(Action::NormalMode),
    );
    apply(&mut editor, &mut rope, EditorInput::Action(Action::Copy));
    apply(
        &mut editor,
        &mut rope,
        EditorInput::Action(Action::DeleteForward),
    );
    if undone {
        apply(&mut editor, &mut rope, EditorInput::Action(Action::Undo));
    }
    editor.mode = mode;
    let selection = match mode {
        Mode::Visual => Selection {
            anchor: 16,
            head: 21,
        },
        _ => Selection::cursor(20),
    };
    editor.set_selection(&rope, selection);
    (editor, rope)
}

/// The inputs that exercise `action`: the key alone and, where vim's grammar gives it
/// one, with a count (and its character argument).
fn inputs(action: Action) -> Vec<EditorInput> {
    let mut inputs = vec![EditorInput::Action(action)];
    if action.takes_count() || action.takes_char() {
        inputs.push(EditorInput::Command(Command {
            count: Some(2),
            operator: None,
            action,
            argument: action.takes_char().then_some('x'),
        }));
    }
    inputs
}

/// Whether the app would refuse `input` on a read-only or still-loading document.
fn refused_when_read_only(input: &EditorInput) -> bool {
    match input {
        EditorInput::Action(action) => action.edits_text(),
        EditorInput::Command(command) => command.is_edit(),
        _ => true,
    }
}

/// An action that changes the text without being declared an edit would get past the
/// read-only and loading checks (`paste_before` did): every input that the editor turns
/// into an edit must be one the app refuses on a read-only document.
#[test]
fn every_input_that_changes_the_text_is_declared_an_edit() {
    for &action in Action::ALL {
        for mode in [Mode::Normal, Mode::Insert, Mode::Visual] {
            for undone in [false, true] {
                for input in inputs(action) {
                    let (mut editor, rope) = prepared(mode, undone);
                    let changed = editor.handle(input.clone(), &rope).operation.is_some();
                    assert!(
                        !changed || refused_when_read_only(&input),
                        "{input:?} changed the text in {mode:?} mode but is not declared an edit"
                    );
                }
            }
        }
    }
}

/// The other way round: an action declared an edit but that never changes the text
/// would be refused on a read-only document for nothing.
#[test]
fn every_action_declared_an_edit_changes_the_text_somewhere() {
    // vim's shorthands reach the editor as operator commands (`D` is `d$`), which the
    // keymap's grammar tests cover.
    let shorthands = [
        Action::DeleteToLineEnd,
        Action::ChangeToLineEnd,
        Action::ChangeLine,
    ];
    for &action in Action::ALL {
        if !action.edits_text() || shorthands.contains(&action) {
            continue;
        }
        let changes = [Mode::Normal, Mode::Insert, Mode::Visual]
            .into_iter()
            .flat_map(|mode| [(mode, false), (mode, true)])
            .any(|(mode, undone)| {
                inputs(action).into_iter().any(|input| {
                    let (mut editor, rope) = prepared(mode, undone);
                    editor.handle(input, &rope).operation.is_some()
                })
            });
        assert!(
            changes,
            "{action} is declared an edit but never changed the text"
        );
    }
}

/// The selection extends (its anchor stays and its head moves) exactly for the actions
/// declared to extend it, whatever their names.
#[test]
fn exactly_the_actions_declared_extending_extend_the_selection() {
    for &action in Action::ALL {
        let (mut editor, rope) = prepared(Mode::Insert, false);
        let before = editor.selection;
        let outcome = editor.handle(EditorInput::Action(action), &rope);
        let after = editor.selection;
        let extended = outcome.navigated
            && outcome.operation.is_none()
            && after.anchor == before.anchor
            && after.head != before.head;
        assert_eq!(
            extended,
            action.extends_selection(),
            "{action}: {before:?} became {after:?}"
        );
    }
}

/// An edit the session refused (read-only, still loading) leaves no undo step: undo
/// then reverts the last edit that did go in.
#[test]
fn a_refused_edit_leaves_no_undo_step() {
    let mut rope = Rope::from_str("abc\n");
    let mut editor = Editor::new(Mode::Insert);
    editor.set_viewport(40, 10);
    apply(&mut editor, &mut rope, EditorInput::Insert('x'));
    apply(
        &mut editor,
        &mut rope,
        EditorInput::Action(Action::MoveRight),
    );
    // Typed, and refused: the text stays as it was.
    let refused = editor.handle(EditorInput::Insert('y'), &rope);
    assert!(refused.operation.is_some());
    assert_eq!(rope, "xabc\n");
    apply(&mut editor, &mut rope, EditorInput::Action(Action::Undo));
    assert_eq!(rope, "abc\n", "undo reverts the accepted edit");
    let nothing = editor.handle(EditorInput::Action(Action::Undo), &rope);
    assert_eq!(nothing.operation, None);
}

/// An undo the session refused leaves the step to undo where it was.
#[test]
fn a_refused_undo_can_be_undone_again() {
    let mut rope = Rope::from_str("abc\n");
    let mut editor = Editor::new(Mode::Insert);
    editor.set_viewport(40, 10);
    apply(&mut editor, &mut rope, EditorInput::Insert('x'));
    let refused = editor.handle(EditorInput::Action(Action::Undo), &rope);
    assert!(refused.operation.is_some());
    apply(&mut editor, &mut rope, EditorInput::Action(Action::Undo));
    assert_eq!(rope, "abc\n");
}
