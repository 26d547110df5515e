//! Layers on top of the editor: pickers, prompts, the help overlay.
//!
//! As in helix, the UI is a stack of components. Rendering goes back to front, so a popup
//! draws over what is under it; events go front to back, so the topmost layer that wants
//! a key gets it. A component answers an event with [`EventResult`] and may leave a
//! [`Callback`] that changes the stack (a picker closing itself, a prompt opening a
//! picker). Components ask for effects by pushing [`UiCommand`]s; the app carries out the
//! ones about the view and hands the rest ([`AppCommand`]) to the session.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::{Position, Rect};

use crate::host_control::HostCommand;
use crate::protocol::ParticipantId;
use crate::protocol::search::SearchQuery;
use crate::text::{LineCol, Operation};
use crate::tui::editor::Selection;
use crate::tui::keymap::Keymap;
use crate::tui::theme::Theme;

/// Input the UI reacts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Key(KeyEvent),
    /// Bracketed paste: the whole pasted text at once.
    Paste(String),
    Mouse(MouseEvent),
    Resize(u16, u16),
}

/// What the UI asks the session (and the terminal) to do. The app loop carries these out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppCommand {
    /// A local edit to `path`. The UI has NOT applied it: apply it through the session
    /// (which applies local edits at once), then call `App::local_edit_applied`.
    Edit {
        path: String,
        operation: Operation,
    },
    /// Open `path` (fetch it from the host if needed), then call `App::open_document`.
    Open(String),
    /// Save `path` on the host.
    Save(String),
    /// The tab for `path` was closed; the session may drop the document.
    Close(String),
    /// Put text on the system clipboard: write `terminal::osc52_copy(&text)`.
    CopyToClipboard(String),
    /// My cursor or view moved: send presence (throttled by the session).
    Presence {
        path: String,
        selection: Selection,
        scroll_line: usize,
    },
    Follow(ParticipantId),
    StopFollowing,
    /// Host only: a control for the session being served (follow me, admit, refuse,
    /// roles, removal, …), the same vocabulary the headless console speaks; the serving
    /// task carries it out.
    Host(HostCommand),
    /// Host only: the answer to the prompt about changed ignore files: adopt them as they
    /// are now (files they no longer hide become visible), or keep what they hid at the start.
    IgnoreFiles {
        adopt: bool,
    },
    /// Host only: open what can be done with this person (handled by the app itself).
    ManagePerson(ParticipantId),
    /// Show or hide the shared terminal (the event loop, which knows the terminals).
    ToggleTerminal,
    /// Host only: end the shared terminal shown or last shown (the event loop asks first).
    CloseTerminal,
    /// The host's answer to "end shared terminal `id`?".
    CloseTerminalAnswer {
        id: u32,
        end: bool,
    },
    /// Search all shared files (cancelling the search asked before, if still running).
    WorkspaceSearch(SearchQuery),
    /// Stop the running workspace search (its panel closed).
    CancelSearch,
    /// The workspace's symbols matching a name (the workspace symbol picker's query); the
    /// answer goes to `App::workspace_symbols`.
    WorkspaceSymbols(String),
    /// Replace across the shared files (the search panel's replace); the answer goes to
    /// `App::replace_finished`.
    WorkspaceReplace(crate::protocol::search::ReplaceRequest),
    /// Create, rename or delete a file or folder (`Request::CreatePath`, `MovePath`,
    /// `DeletePath`); the host's answer is shown on the message line.
    FileOperation(crate::protocol::message::Request),
    /// The text of `path` for the search panel's preview: from the open document, else
    /// read from the host (`App::search_preview` takes the answer).
    SearchPreview(String),
    /// Ask the host about the code at a place; the answer goes to `App::intel_answer`.
    Ask(crate::tui::popup::IntelAsk),
    /// Run a keymap action as if its key was pressed (the command palette; handled by the
    /// app itself).
    RunAction(crate::tui::keymap::Action),
    /// Open `path` with the cursor at `at`: a search result, a reference, a definition.
    GoTo {
        path: String,
        at: LineCol,
    },
    /// Ask the host for its changed files, then open the picker of them
    /// (`App::set_git_status`).
    ChangedFiles,
    Quit,
    /// Leave now, whatever is unsaved or unconfirmed (vim's `:q!`).
    ForceQuit,
}

/// What components ask for: view changes the app handles itself, or session commands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UiCommand {
    Find {
        query: String,
        forward: bool,
    },
    App(AppCommand),
    /// Something for the message line (a layer's confirmation).
    Notice(String),
    /// vim's `/` prompt closed: on a match (enter) or back where it started (escape).
    FindEnd {
        cancelled: bool,
    },
    /// A command typed on vim's command line (the text after `:`).
    Ex(String),
    /// What was typed in the go-to-line prompt (`120`, `120:5`).
    GoToLine(String),
    /// The answer to the match a `:s///c` shows.
    SubstituteAnswer(crate::tui::editor::SubstituteAnswer),
    /// The find-and-replace prompt asks for a step in the active file.
    FindReplace {
        options: crate::tui::editor::FindOptions,
        replacement: String,
        step: crate::tui::find_replace::ReplaceStep,
    },
    /// The find-and-replace prompt closed: its matches are no longer marked.
    FindReplaceClosed,
    /// Open the command palette with this query (help's "type to run").
    OpenPalette(String),
}

/// A change to the layer stack, run after the event is handled.
pub type Callback = Box<dyn FnOnce(&mut Compositor)>;

/// The callback a layer returns to close itself.
pub fn close_layer(id: &'static str) -> Callback {
    Box::new(move |compositor| {
        compositor.remove(id);
    })
}

pub enum EventResult {
    Consumed(Option<Callback>),
    Ignored(Option<Callback>),
}

/// What components may use while handling an event.
pub struct Context<'a> {
    pub commands: &'a mut Vec<UiCommand>,
    pub keymap: &'a Keymap,
}

/// What components may read while rendering.
pub struct RenderContext<'a> {
    pub theme: &'a Theme,
    pub keymap: &'a Keymap,
}

/// One layer of the UI.
pub trait Component {
    /// Handles an event; `Ignored` passes it to the layer below.
    fn handle_event(&mut self, event: &Event, cx: &mut Context<'_>) -> EventResult;

    /// Draws into `buf` within `area`; changes nothing.
    fn render(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>);

    /// Where the terminal cursor should be, if this layer has one.
    fn cursor(&self, _area: Rect) -> Option<Position> {
        None
    }

    /// A name, so the app can find or replace a layer (one picker at a time).
    fn id(&self) -> &'static str;

    /// The layer itself, for layers the app feeds after they opened (search results
    /// streaming in); see [`Compositor::find_mut`].
    fn as_any_mut(&mut self) -> Option<&mut dyn std::any::Any> {
        None
    }
}

/// The stack of layers above the base (the editor and its panels).
#[derive(Default)]
pub struct Compositor {
    layers: Vec<Box<dyn Component>>,
}

impl Compositor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Pushes a layer, replacing one with the same id (so a key never stacks two pickers).
    pub fn push(&mut self, layer: Box<dyn Component>) {
        self.remove(layer.id());
        self.layers.push(layer);
    }

    pub fn pop(&mut self) -> Option<Box<dyn Component>> {
        self.layers.pop()
    }

    pub fn remove(&mut self, id: &str) -> Option<Box<dyn Component>> {
        let index = self.layers.iter().position(|layer| layer.id() == id)?;
        Some(self.layers.remove(index))
    }

    /// The layer named `id`, if it is open and a `T`.
    pub fn find_mut<T: 'static>(&mut self, id: &str) -> Option<&mut T> {
        let layer = self.layers.iter_mut().find(|layer| layer.id() == id)?;
        layer.as_any_mut()?.downcast_mut::<T>()
    }

    pub fn contains(&self, id: &str) -> bool {
        self.layers.iter().any(|layer| layer.id() == id)
    }

    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// Offers the event to the layers, topmost first; true if one consumed it.
    pub fn handle_event(&mut self, event: &Event, cx: &mut Context<'_>) -> bool {
        let mut callbacks = Vec::new();
        let mut consumed = false;
        for index in (0..self.layers.len()).rev() {
            match self.layers[index].handle_event(event, cx) {
                EventResult::Consumed(callback) => {
                    callbacks.extend(callback);
                    consumed = true;
                    break;
                }
                EventResult::Ignored(callback) => callbacks.extend(callback),
            }
        }
        for callback in callbacks {
            callback(self);
        }
        consumed
    }

    /// Draws the layers bottom to top.
    pub fn render(&self, area: Rect, buf: &mut Buffer, cx: &RenderContext<'_>) {
        for layer in &self.layers {
            layer.render(area, buf, cx);
        }
    }

    /// The cursor of the topmost layer that has one.
    pub fn cursor(&self, area: Rect) -> Option<Position> {
        self.layers
            .iter()
            .rev()
            .find_map(|layer| layer.cursor(area))
    }
}

/// A centered rectangle `width` x `height` inside `area`, clamped to it.
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    }
}

/// A one-line text input (picker query, find prompt): the editing keys every prompt has.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LineInput {
    pub text: String,
    /// Cursor as a char index into `text`.
    pub cursor: usize,
}

impl LineInput {
    /// Applies an editing key; true if the key edited or moved.
    pub fn handle_key(&mut self, key: &KeyEvent) -> bool {
        use ratatui::crossterm::event::{KeyCode, KeyModifiers};
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let len = self.text.chars().count();
        match key.code {
            KeyCode::Char('u') if ctrl => {
                self.text = self.text.chars().skip(self.cursor).collect();
                self.cursor = 0;
            }
            KeyCode::Char('w') if ctrl => {
                let chars: Vec<char> = self.text.chars().collect();
                let mut start = self.cursor;
                while start > 0 && chars[start - 1] == ' ' {
                    start -= 1;
                }
                while start > 0 && chars[start - 1] != ' ' {
                    start -= 1;
                }
                self.text = chars[..start].iter().chain(&chars[self.cursor..]).collect();
                self.cursor = start;
            }
            KeyCode::Char('a') if ctrl => self.cursor = 0,
            KeyCode::Char('e') if ctrl => self.cursor = len,
            KeyCode::Char(c) if !ctrl && !key.modifiers.contains(KeyModifiers::ALT) => {
                self.insert(&c.to_string())
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.remove_at(self.cursor);
            }
            KeyCode::Delete if self.cursor < len => self.remove_at(self.cursor),
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(len),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = len,
            _ => return false,
        }
        true
    }

    /// Inserts text at the cursor (typing, or a paste with its line breaks dropped).
    pub fn insert(&mut self, text: &str) {
        let text: String = text.chars().filter(|c| !c.is_control()).collect();
        let byte = self.byte_at(self.cursor);
        self.text.insert_str(byte, &text);
        self.cursor += text.chars().count();
    }

    fn remove_at(&mut self, char_index: usize) {
        let byte = self.byte_at(char_index);
        self.text.remove(byte);
    }

    fn byte_at(&self, char_index: usize) -> usize {
        self.text
            .char_indices()
            .nth(char_index)
            .map_or(self.text.len(), |(byte, _)| byte)
    }

    /// Display column of the cursor.
    pub fn cursor_col(&self) -> usize {
        use unicode_width::UnicodeWidthStr;
        self.text[..self.byte_at(self.cursor)].width()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};

    struct Layer {
        id: &'static str,
        wants: char,
        log: std::rc::Rc<std::cell::RefCell<Vec<&'static str>>>,
    }

    impl Component for Layer {
        fn handle_event(&mut self, event: &Event, _cx: &mut Context<'_>) -> EventResult {
            self.log.borrow_mut().push(self.id);
            match event {
                Event::Key(key) if key.code == KeyCode::Char(self.wants) => {
                    EventResult::Consumed(Some(Box::new(|c: &mut Compositor| {
                        c.pop();
                    })))
                }
                _ => EventResult::Ignored(None),
            }
        }
        fn render(&self, area: Rect, buf: &mut Buffer, _cx: &RenderContext<'_>) {
            buf.set_string(area.x, area.y, self.id, ratatui::style::Style::default());
        }
        fn id(&self) -> &'static str {
            self.id
        }
    }

    #[test]
    fn events_go_front_to_back_and_rendering_back_to_front() {
        let log = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
        let mut compositor = Compositor::new();
        for (id, wants) in [("bottom", 'b'), ("top", 't')] {
            compositor.push(Box::new(Layer {
                id,
                wants,
                log: log.clone(),
            }));
        }
        let keymap = Keymap::load_from("default", None).unwrap();
        let mut commands = Vec::new();
        let mut cx = Context {
            commands: &mut commands,
            keymap: &keymap,
        };
        let key = |c| Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        // 'b' passes the top layer, is consumed by the bottom one, whose callback pops the
        // top layer.
        assert!(compositor.handle_event(&key('b'), &mut cx));
        assert_eq!(*log.borrow(), vec!["top", "bottom"]);
        assert!(!compositor.contains("top") && compositor.contains("bottom"));
        assert!(!compositor.handle_event(&key('x'), &mut cx));

        compositor.push(Box::new(Layer {
            id: "top",
            wants: 't',
            log: log.clone(),
        }));
        let theme = Theme::load_from(
            "default-dark",
            None,
            crate::tui::theme::ColorMode::TrueColor,
        )
        .unwrap();
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 1));
        compositor.render(
            buf.area,
            &mut buf,
            &RenderContext {
                theme: &theme,
                keymap: &keymap,
            },
        );
        // The top layer drew last, over the bottom one.
        let row: String = buf.content.iter().map(|cell| cell.symbol()).collect();
        assert_eq!(row, "toptom");
    }

    #[test]
    fn line_input_edits_with_multibyte_text() {
        let mut input = LineInput::default();
        input.insert("größe");
        let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
        input.handle_key(&key(KeyCode::Left));
        input.handle_key(&key(KeyCode::Backspace));
        assert_eq!((input.text.as_str(), input.cursor), ("gröe", 3));
        input.handle_key(&KeyEvent::new(KeyCode::Char('w'), KeyModifiers::CONTROL));
        assert_eq!((input.text.as_str(), input.cursor), ("e", 0));
    }
}
