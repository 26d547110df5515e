//! Signature help: after `(` or `,` (or another character the host's server names) is
//! typed in insert mode, the signature of the call being typed shows above the cursor,
//! its active parameter highlighted. While it is up, every edit and cursor move asks
//! again once typing pauses (the active parameter moves along); it closes on Esc, on `)`,
//! on leaving insert mode, and when the server says the cursor is no longer in a call.

use std::time::Instant;

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Widget};
use unicode_width::UnicodeWidthStr;

use super::{AskKind, COMPLETION_DELAY, Here, IntelAsk, Popups};
use crate::protocol::hints::SignatureAnswer;
use crate::protocol::message::Response;
use crate::text::LineCol;
use crate::text::position::char_to_line_col;
use crate::tui::keymap::Mode;
use crate::tui::theme::Theme;

/// Typed in any language: a call's opening parenthesis and its argument separator.
const ALWAYS_TRIGGERS: [char; 2] = ['(', ','];
/// The widest the popup gets.
const SIGNATURE_WIDTH: usize = 100;

/// A call being typed: asked about, and once answered, shown.
#[derive(Debug)]
pub(super) struct SignatureHelp {
    path: String,
    /// Where the last question was asked.
    asked_at: LineCol,
    shown: Option<SignatureAnswer>,
}

impl Popups {
    /// The signature shown and its active parameter, for tests: `(label, parameter)`.
    pub fn signature(&self) -> Option<(String, Option<String>)> {
        let answer = self.signature.as_ref()?.shown.as_ref()?;
        let (signature, active) = answer.shown()?;
        let parameter =
            active.map(|range| signature.label.chars().skip(range.start).take(range.len()));
        Some((signature.label.clone(), parameter.map(Iterator::collect)))
    }

    /// Closes signature help (Esc): the key still goes on to the editor.
    pub(super) fn close_signature(&mut self) -> bool {
        self.signature_due = None;
        self.signature.take().is_some()
    }

    fn is_signature_trigger(&self, c: char) -> bool {
        ALWAYS_TRIGGERS.contains(&c) || self.signature_triggers.contains(&c)
    }

    /// After every event: starts, follows or ends signature help.
    pub(super) fn signature_after_input(
        &mut self,
        here: Here<'_>,
        typed: Option<char>,
        now: Instant,
    ) {
        let cursor_at = char_to_line_col(here.rope, here.cursor);
        let elsewhere = self
            .signature
            .as_ref()
            .is_some_and(|help| help.path != here.path);
        if here.mode != Mode::Insert || elsewhere || typed == Some(')') {
            self.close_signature();
            return;
        }
        let started = typed.is_some_and(|c| self.is_signature_trigger(c));
        let moved = self
            .signature
            .as_ref()
            .is_some_and(|help| help.asked_at != cursor_at);
        if !started && !moved {
            return;
        }
        let help = self.signature.get_or_insert_with(|| SignatureHelp {
            path: here.path.to_owned(),
            asked_at: cursor_at,
            shown: None,
        });
        help.asked_at = cursor_at;
        let ask = IntelAsk {
            kind: AskKind::SignatureHelp,
            path: here.path.to_owned(),
            at: cursor_at,
            explicit: false,
            change: None,
        };
        self.signature_due = Some((now + COMPLETION_DELAY, ask));
    }

    /// The host's answer to a signature question: shown if the cursor is still where it
    /// was asked; "not in a call" closes the popup.
    pub(super) fn signature_answer(&mut self, ask: &IntelAsk, response: Response, fresh: bool) {
        let Some(help) = &mut self.signature else {
            return;
        };
        match response {
            Response::Signatures(answer) => {
                for trigger in &answer.triggers {
                    if let Some(c) = single_char(trigger)
                        && !self.signature_triggers.contains(&c)
                    {
                        self.signature_triggers.push(c);
                    }
                }
                if fresh && help.asked_at == ask.at {
                    help.shown = Some(answer);
                }
            }
            // Not in a call any more; or no server to ask (a file with none): stop
            // asking at every move until the next trigger.
            Response::Nothing { .. } | Response::Error { .. } if help.asked_at == ask.at => {
                self.signature = None;
            }
            _ => {}
        }
    }

    pub(super) fn render_signature(
        &self,
        area: Rect,
        cursor: Position,
        theme: &Theme,
        buf: &mut Buffer,
    ) {
        let Some(answer) = self.signature.as_ref().and_then(|help| help.shown.as_ref()) else {
            return;
        };
        let Some((signature, active)) = answer.shown() else {
            return;
        };
        let style = theme.get("ui.popup");
        let active_style = style
            .patch(theme.get("ui.text.match"))
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
        let chars: Vec<char> = signature.label.chars().collect();
        let mut spans = Vec::new();
        match active {
            Some(range) if range.end <= chars.len() => {
                spans.push(Span::styled(
                    chars[..range.start].iter().collect::<String>(),
                    style,
                ));
                spans.push(Span::styled(
                    chars[range.clone()].iter().collect::<String>(),
                    active_style,
                ));
                spans.push(Span::styled(
                    chars[range.end..].iter().collect::<String>(),
                    style,
                ));
            }
            _ => spans.push(Span::styled(signature.label.clone(), style)),
        }
        let line = Line::from(spans);
        let mut title = String::new();
        if answer.signatures.len() > 1 {
            title = format!(" {}/{} ", answer.active + 1, answer.signatures.len());
        }
        let inner_width = line
            .width()
            .max(title.width())
            .clamp(10, SIGNATURE_WIDTH)
            .min(area.width.saturating_sub(2) as usize);
        let (width, height) = (inner_width as u16 + 2, 3);
        // Above the cursor's line, where the completion menu (below it) does not go.
        let y = if cursor.y >= area.y + height {
            cursor.y - height
        } else if cursor.y + 1 + height <= area.bottom() {
            cursor.y + 1
        } else {
            return;
        };
        let x = cursor.x.min(area.right().saturating_sub(width)).max(area.x);
        let popup = Rect::new(x, y, width.min(area.width), height);
        Clear.render(popup, buf);
        let mut block = Block::bordered()
            .border_type(BorderType::Rounded)
            .style(style);
        if !title.is_empty() {
            block = block.title_bottom(Line::from(title).right_aligned());
        }
        let inner = block.inner(popup);
        block.render(popup, buf);
        buf.set_line(inner.x, inner.y, &line, inner.width);
    }
}

fn single_char(text: &str) -> Option<char> {
    let mut chars = text.chars();
    let c = chars.next()?;
    chars.next().is_none().then_some(c)
}

#[cfg(test)]
mod tests {
    use ratatui::crossterm::event::{KeyCode, KeyEvent};
    use ratatui::layout::{Position, Rect};
    use ropey::Rope;

    use super::*;
    use crate::protocol::hints::SignatureItem;
    use crate::tui::popup::KeyOutcome;
    use crate::tui::status::Messages;
    use crate::tui::theme::{ColorMode, Theme};

    const LABEL: &str = "fn area(width: u32, height: u32) -> u32";

    fn answer(active_parameter: u32) -> Response {
        Response::Signatures(SignatureAnswer {
            signatures: vec![SignatureItem {
                label: LABEL.into(),
                parameters: vec![(8, 18), (20, 31)],
                active_parameter: Some(active_parameter),
                documentation: None,
            }],
            active: 0,
            triggers: vec!["(".into(), ",".into(), "<".into()],
        })
    }

    /// Types `text` at the end of `rope` in insert mode, as the app reports it.
    fn typed(popups: &mut Popups, rope: &mut Rope, text: &str, now: Instant) {
        for c in text.chars() {
            rope.insert_char(rope.len_chars(), c);
            let here = Here {
                path: "src/lib.rs",
                rope,
                cursor: rope.len_chars(),
                mode: Mode::Insert,
            };
            popups.after_input(Some(here), Some(c), now);
        }
    }

    fn answer_due(popups: &mut Popups, rope: &Rope, response: Response) {
        let later = Instant::now() + COMPLETION_DELAY * 2;
        let ask = std::iter::from_fn(|| popups.due_ask(later))
            .find(|ask| ask.kind == AskKind::SignatureHelp)
            .expect("signature help asked");
        let here = Here {
            path: "src/lib.rs",
            rope,
            cursor: rope.len_chars(),
            mode: Mode::Insert,
        };
        popups.answer(&ask, response, Some(here), &mut Messages::default());
    }

    #[test]
    fn typing_a_call_shows_the_signature_with_the_parameter_being_typed() {
        let mut popups = Popups::default();
        let mut rope = Rope::from_str("let a = ");
        let now = Instant::now();
        typed(&mut popups, &mut rope, "area(", now);
        answer_due(&mut popups, &rope, answer(0));
        assert_eq!(
            popups.signature(),
            Some((LABEL.to_owned(), Some("width: u32".to_owned())))
        );
        typed(&mut popups, &mut rope, "2, ", now);
        answer_due(&mut popups, &rope, answer(1));
        assert_eq!(
            popups.signature().unwrap().1.as_deref(),
            Some("height: u32")
        );

        // Drawn above the cursor's row, the active parameter marked.
        let theme = Theme::load_from("default-dark", None, ColorMode::TrueColor).unwrap();
        let area = Rect::new(0, 0, 60, 10);
        let mut buf = Buffer::empty(area);
        popups.render_signature(area, Position::new(20, 5), &theme, &mut buf);
        let row: String = (0..60).map(|x| buf[(x, 3)].symbol()).collect();
        assert!(row.contains(LABEL), "{row:?}");
        let at = row[..row.find("height").unwrap()].chars().count() as u16;
        assert!(buf[(at, 3)].modifier.contains(Modifier::UNDERLINED));
        assert!(!buf[(at - 3, 3)].modifier.contains(Modifier::UNDERLINED));

        // `)` ends it.
        typed(&mut popups, &mut rope, "3)", now);
        assert_eq!(popups.signature(), None);
        assert!(!popups.is_open());
    }

    #[test]
    fn esc_leaving_the_call_or_insert_mode_closes_it() {
        let now = Instant::now();
        for how in ["esc", "left the call", "normal mode"] {
            let mut popups = Popups::default();
            let mut rope = Rope::from_str("");
            typed(&mut popups, &mut rope, "area(", now);
            answer_due(&mut popups, &rope, answer(0));
            assert!(popups.is_open(), "{how}");
            match how {
                "esc" => {
                    let esc = KeyEvent::from(KeyCode::Esc);
                    assert_eq!(popups.handle_key(&esc), KeyOutcome::Pass);
                }
                "left the call" => {
                    rope.remove(4..5);
                    let here = Here {
                        path: "src/lib.rs",
                        rope: &rope,
                        cursor: 4,
                        mode: Mode::Insert,
                    };
                    popups.after_input(Some(here), None, now);
                    let nothing = Response::Nothing {
                        reason: "no call".into(),
                    };
                    answer_due(&mut popups, &rope, nothing);
                }
                _ => {
                    let here = Here {
                        path: "src/lib.rs",
                        rope: &rope,
                        cursor: 4,
                        mode: Mode::Normal,
                    };
                    popups.after_input(Some(here), None, now);
                }
            }
            assert_eq!(popups.signature(), None, "{how}");
        }
    }

    #[test]
    fn the_servers_trigger_characters_start_it_too() {
        let mut popups = Popups::default();
        let mut rope = Rope::from_str("");
        let now = Instant::now();
        typed(&mut popups, &mut rope, "Vec<", now);
        assert!(popups.signature_due.is_none(), "`<` is no trigger yet");
        typed(&mut popups, &mut rope, "f(", now);
        answer_due(&mut popups, &rope, answer(0));
        popups.close();
        typed(&mut popups, &mut rope, "<", now);
        assert!(popups.signature_due.is_some(), "rust-analyzer named `<`");
    }
}
