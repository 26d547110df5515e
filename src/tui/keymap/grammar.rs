//! Vim's normal-mode grammar: `[count] [operator [count]] motion`, so `3j`, `d2w`, `2dd`
//! and `ciw` mean what vim hands expect.
//!
//! The keymap still decides what each key is (by action name, with the user's overrides):
//! this only strings the actions together. Digits are a count only where the normal table
//! does not bind them (and `0` only inside a count, since it alone is "line start"). After
//! an operator, keys are looked up in the `[operator]` table first (text objects: `i w`),
//! then in the normal table (motions); the operator's own key again means whole lines
//! (`dd`). Anything else cancels the command, as does `esc`.
//!
//! Some commands take the next key as their argument (`fx`, `tx`, `rx`, `dfx`). vim's
//! commands that take one and that the keymap does not bind (`m` marks, `q` macros, `"`
//! registers, `@`, `'` and `` ` ``) swallow theirs, so `ma` is ignored rather than read
//! as `a` (append).

use super::{Action, Key, KeyCodeOrd, KeyResult, Keymap, Mode};

/// What an operator does with the text its motion covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    Delete,
    Change,
    Yank,
}

impl Operator {
    fn of(action: Action) -> Option<Self> {
        Some(match action {
            Action::OperatorDelete => Self::Delete,
            Action::OperatorChange => Self::Change,
            Action::OperatorYank => Self::Yank,
            _ => return None,
        })
    }

    /// The action that names this operator; as a command's target it means whole lines.
    pub fn action(self) -> Action {
        match self {
            Self::Delete => Action::OperatorDelete,
            Self::Change => Action::OperatorChange,
            Self::Yank => Action::OperatorYank,
        }
    }
}

/// A complete normal-mode command. `count` is `None` when none was typed (`G` and `4G`
/// differ); counts before and after the operator multiply, as in vim (`2d3w` is `d6w`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Command {
    pub count: Option<usize>,
    pub operator: Option<Operator>,
    /// The motion or text object, or the operator's own action for whole lines.
    pub action: Action,
    /// The key typed after a command that takes one: the `x` of `fx` or `rx`.
    pub argument: Option<char>,
}

impl Command {
    pub fn times(&self) -> usize {
        self.count.unwrap_or(1)
    }

    /// Whether the command changes the text (a read-only file refuses it).
    pub fn is_edit(&self) -> bool {
        match self.operator {
            Some(operator) => operator != Operator::Yank,
            None => self.action.edits_text(),
        }
    }
}

/// Large enough for any real count, small enough that repeating a motion stays instant.
const MAX_COUNT: usize = 100_000;

/// The part of a command typed so far.
#[derive(Debug, Clone, Default)]
pub(super) struct PendingCommand {
    count: Option<usize>,
    operator: Option<Operator>,
    /// The count typed after the operator (`d3w`).
    motion_count: Option<usize>,
    /// What was typed, for the status line.
    typed: String,
    /// A command waiting for its character argument (`f`, `t`, `r`).
    awaiting: Option<Action>,
    /// An unbound command that takes an argument (`m`, `q`): its argument is dropped too.
    swallow: bool,
}

impl PendingCommand {
    pub(super) fn typed(&self) -> &str {
        &self.typed
    }

    fn count(&self) -> Option<usize> {
        match (self.count, self.motion_count) {
            (None, None) => None,
            (before, after) => Some((before.unwrap_or(1) * after.unwrap_or(1)).clamp(1, MAX_COUNT)),
        }
    }

    fn finish(&mut self, operator: Option<Operator>, action: Action) -> KeyResult {
        self.finish_with(operator, action, None)
    }

    fn finish_with(
        &mut self,
        operator: Option<Operator>,
        action: Action,
        argument: Option<char>,
    ) -> KeyResult {
        let command = Command {
            count: self.count(),
            operator,
            action,
            argument,
        };
        *self = Self::default();
        KeyResult::Command(command)
    }

    /// `action`, typed as `keys`, completes the command, extends it (an operator, an
    /// action waiting for its character) or, with a count, repeats.
    fn take_action(&mut self, action: Action, keys: &[Key]) -> KeyResult {
        if action.takes_char() && (self.operator.is_none() || action.is_motion()) {
            self.awaiting = Some(action);
            self.typed.push_str(&super::join_keys(keys));
            return KeyResult::Pending;
        }
        match (self.operator, Operator::of(action)) {
            (None, Some(operator)) => {
                self.operator = Some(operator);
                self.typed.push_str(&super::join_keys(keys));
                KeyResult::Pending
            }
            // The operator twice: whole lines.
            (Some(operator), Some(again)) if operator == again => {
                self.finish(Some(operator), action)
            }
            (Some(operator), None) if action.is_motion() || action.is_text_object() => {
                self.finish(Some(operator), action)
            }
            (Some(_), _) => {
                *self = PendingCommand::default();
                KeyResult::Unbound
            }
            (None, None) => match action {
                // vim's shorthands are operators with a fixed motion.
                Action::DeleteToLineEnd => self.finish(Some(Operator::Delete), Action::MoveLineEnd),
                Action::ChangeToLineEnd => self.finish(Some(Operator::Change), Action::MoveLineEnd),
                Action::ChangeLine => self.finish(Some(Operator::Change), Action::OperatorChange),
                // Escape drops a count.
                Action::Cancel if self.count.is_some() => {
                    *self = PendingCommand::default();
                    KeyResult::Unbound
                }
                // Motions repeat and `x`/`X` delete that many; other actions ignore a count.
                _ if self.count.is_some() && action.takes_count() => self.finish(None, action),
                _ => {
                    *self = PendingCommand::default();
                    KeyResult::Action(action)
                }
            },
        }
    }
}

/// vim's commands that take a key after them and that cotype does not have: marks (`m`,
/// `'`, `` ` ``), macros (`q`, `@`) and registers (`"`).
fn unbound_takes_char(key: Key) -> bool {
    matches!(key.typed_char(), Some('m' | 'q' | '"' | '@' | '\'' | '`'))
}

impl Keymap {
    pub(super) fn handle_normal(&mut self, key: Key) -> KeyResult {
        if let Some(action) = self.command.awaiting.take() {
            let operator = self.command.operator;
            return match key.typed_char() {
                Some(c) => self.command.finish_with(operator, action, Some(c)),
                // Escape (or any key that types nothing) cancels.
                None => {
                    self.command = PendingCommand::default();
                    KeyResult::Unbound
                }
            };
        }
        if self.command.swallow {
            self.command = PendingCommand::default();
            return KeyResult::Unbound;
        }
        if let Some(digit) = self.count_digit(key) {
            let slot = if self.command.operator.is_some() {
                &mut self.command.motion_count
            } else {
                &mut self.command.count
            };
            *slot = Some((slot.unwrap_or(0) * 10 + digit).min(MAX_COUNT));
            self.command.typed.push_str(&key.to_string());
            return KeyResult::Pending;
        }
        let before = self.pending.clone();
        let result = match self.command.operator {
            Some(_) => {
                let mut keys = self.pending.clone();
                keys.push(key);
                let table = if self.knows(Mode::Operator, &keys) {
                    Mode::Operator
                } else {
                    Mode::Normal
                };
                self.resolve(table, key)
            }
            None => self.resolve(Mode::Normal, key),
        };
        let action = match result {
            KeyResult::Action(action) => action,
            KeyResult::Pending => return KeyResult::Pending,
            KeyResult::Unbound if before.is_empty() && unbound_takes_char(key) => {
                self.command.swallow = true;
                self.command.typed.push_str(&key.to_string());
                return KeyResult::Pending;
            }
            other => {
                self.command = PendingCommand::default();
                return other;
            }
        };
        let keys: Vec<Key> = before.into_iter().chain([key]).collect();
        self.command.take_action(action, &keys)
    }

    /// The digit `key` adds to a count, if it is one here.
    fn count_digit(&self, key: Key) -> Option<usize> {
        let KeyCodeOrd::Char(c @ '0'..='9') = key.code else {
            return None;
        };
        if key.ctrl || key.alt || !self.pending.is_empty() {
            return None;
        }
        let counting = if self.command.operator.is_some() {
            self.command.motion_count.is_some()
        } else {
            self.command.count.is_some()
        };
        if c == '0' && !counting {
            return None;
        }
        // A digit the user bound keeps its binding (except `0` inside a count).
        if c != '0' && self.knows(Mode::Normal, &[key]) {
            return None;
        }
        c.to_digit(10).map(|digit| digit as usize)
    }

    /// Whether some binding in `mode` starts with (or is) `keys`.
    fn knows(&self, mode: Mode, keys: &[Key]) -> bool {
        self.modes.get(&mode).is_some_and(|table| {
            table
                .values()
                .flatten()
                .any(|sequence| sequence.starts_with(keys))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(keymap: &mut Keymap, keys: &str) -> Vec<KeyResult> {
        keys.split_whitespace()
            .map(|key| keymap.handle_key(Mode::Normal, Key::parse(key).unwrap()))
            .collect()
    }

    fn last(keymap: &mut Keymap, keys: &str) -> KeyResult {
        *press(keymap, keys).last().unwrap()
    }

    fn command(count: Option<usize>, operator: Option<Operator>, action: Action) -> KeyResult {
        KeyResult::Command(Command {
            count,
            operator,
            action,
            argument: None,
        })
    }

    #[test]
    fn counts_operators_and_text_objects_make_commands() {
        let mut vim = Keymap::load_from("vim", None).unwrap();
        use Action as A;
        use Operator::*;
        assert_eq!(last(&mut vim, "j"), KeyResult::Action(A::MoveDown));
        assert_eq!(last(&mut vim, "0"), KeyResult::Action(A::MoveLineStart));
        assert_eq!(
            last(&mut vim, "1 0 j"),
            command(Some(10), None, A::MoveDown)
        );
        assert_eq!(
            last(&mut vim, "4 g g"),
            command(Some(4), None, A::MoveFileStart)
        );
        assert_eq!(
            last(&mut vim, "d w"),
            command(None, Some(Delete), A::MoveWordRight)
        );
        assert_eq!(
            last(&mut vim, "2 d 3 w"),
            command(Some(6), Some(Delete), A::MoveWordRight)
        );
        assert_eq!(
            last(&mut vim, "3 d d"),
            command(Some(3), Some(Delete), A::OperatorDelete)
        );
        assert_eq!(
            last(&mut vim, "c i w"),
            command(None, Some(Change), A::InnerWord)
        );
        assert_eq!(
            last(&mut vim, "y a w"),
            command(None, Some(Yank), A::AroundWord)
        );
        assert_eq!(
            last(&mut vim, "d g g"),
            command(None, Some(Delete), A::MoveFileStart)
        );
        assert_eq!(
            last(&mut vim, "D"),
            command(None, Some(Delete), A::MoveLineEnd)
        );
        assert_eq!(
            last(&mut vim, "S"),
            command(None, Some(Change), A::OperatorChange)
        );
        // Outside an operator, `i` still inserts.
        assert_eq!(last(&mut vim, "i"), KeyResult::Action(A::InsertMode));
    }

    #[test]
    fn the_status_line_shows_the_pending_command_and_escape_cancels_it() {
        let mut vim = Keymap::load_from("vim", None).unwrap();
        press(&mut vim, "2 d");
        assert_eq!(vim.pending(), "2d");
        press(&mut vim, "3 g");
        assert_eq!(vim.pending(), "2d3g");
        assert_eq!(last(&mut vim, "esc"), KeyResult::Unbound);
        assert_eq!(vim.pending(), "");
        // The next key starts afresh.
        assert_eq!(
            last(&mut vim, "w"),
            KeyResult::Action(Action::MoveWordRight)
        );
        press(&mut vim, "5");
        assert_eq!(last(&mut vim, "esc"), KeyResult::Unbound);
        assert_eq!(last(&mut vim, "j"), KeyResult::Action(Action::MoveDown));
        // A key that is no motion cancels the operator and does nothing.
        assert_eq!(last(&mut vim, "d p"), KeyResult::Unbound);
        assert_eq!(vim.pending(), "");
    }

    #[test]
    fn commands_take_the_next_key_as_their_argument_and_unbound_ones_swallow_it() {
        let mut vim = Keymap::load_from("vim", None).unwrap();
        let with = |count, operator, action, c| {
            KeyResult::Command(Command {
                count,
                operator,
                action,
                argument: Some(c),
            })
        };
        assert_eq!(press(&mut vim, "f"), [KeyResult::Pending]);
        assert_eq!(vim.pending(), "f");
        assert_eq!(last(&mut vim, "x"), with(None, None, Action::FindChar, 'x'));
        assert_eq!(
            last(&mut vim, "2 d t ;"),
            with(Some(2), Some(Operator::Delete), Action::TillChar, ';')
        );
        assert_eq!(
            last(&mut vim, "3 r a"),
            with(Some(3), None, Action::ReplaceChar, 'a')
        );
        // Escape cancels; after an operator, `r` is no motion and cancels it.
        assert_eq!(last(&mut vim, "f esc"), KeyResult::Unbound);
        assert_eq!(last(&mut vim, "d r"), KeyResult::Unbound);
        // `ma` is a mark in vim: unbound here, and the `a` is not append.
        assert_eq!(
            press(&mut vim, "m a"),
            [KeyResult::Pending, KeyResult::Unbound]
        );
        assert_eq!(last(&mut vim, "a"), KeyResult::Action(Action::AppendMode));
        assert_eq!(
            last(&mut vim, "\" a"),
            KeyResult::Unbound,
            "a register name"
        );
    }

    #[test]
    fn bound_digits_and_renamed_operators_follow_the_users_keymap() {
        let mut vim = Keymap::load_from("vim", None).unwrap();
        vim.apply_overrides(
            "overrides",
            "[normal]\nsave = \"1\"\noperator_delete = \"q\"\n[operator]\ninner_word = \"I\"\n",
        )
        .unwrap();
        assert_eq!(last(&mut vim, "1"), KeyResult::Action(Action::Save));
        assert_eq!(
            last(&mut vim, "2 q I"),
            command(Some(2), Some(Operator::Delete), Action::InnerWord)
        );
        assert_eq!(
            last(&mut vim, "q q"),
            command(None, Some(Operator::Delete), Action::OperatorDelete)
        );
        assert_eq!(last(&mut vim, "d"), KeyResult::Unbound);
    }
}
