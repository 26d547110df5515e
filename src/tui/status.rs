//! The bars around the editor: tabs of open files above, the status line and the message
//! area below.
//!
//! Connection trouble is shown, not hidden: the status line always says whether the link
//! is up, and while reconnecting how many of your edits wait to be sent, so a user knows
//! their typing is kept.

use std::time::{Duration, Instant};

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::widgets::Widget;
use unicode_width::UnicodeWidthStr;

use crate::tui::keymap::Mode;
use crate::tui::theme::Theme;

/// The state of the link to the relay, as the session reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectionState {
    Connecting,
    Connected,
    /// The link dropped; edits keep working locally and are sent when it is back.
    Reconnecting {
        attempt: u32,
        /// Local edits not yet acknowledged by the host.
        unsent_edits: usize,
    },
    /// We are connected but the host's link dropped; the relay holds the session for it.
    /// Edits wait until the host is back.
    HostAway,
    /// Given up; `reason` says what happened and what to do.
    Disconnected {
        reason: String,
    },
}

/// Everything the status line shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusView<'a> {
    pub connection: &'a ConnectionState,
    pub mode: Mode,
    /// Modal keymaps show the mode; modeless ones do not.
    pub show_mode: bool,
    pub file: Option<&'a str>,
    /// Unsaved changes on the host.
    pub modified: bool,
    pub read_only: bool,
    /// The file's text is still arriving: how much of it came, in percent.
    pub loading: Option<u8>,
    /// Line and column, both from one.
    pub position: Option<(usize, usize)>,
    pub following: Option<&'a str>,
    /// Keys typed so far of a sequence (`g`), shown so the user knows one is pending.
    pub pending_keys: &'a str,
    /// The host's git branch, when the shared folder is in a repository.
    pub branch: Option<&'a str>,
}

pub struct StatusLine<'a> {
    pub view: StatusView<'a>,
    pub theme: &'a Theme,
}

impl Widget for StatusLine<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        // A part the terminal has no room for (see `App::regions`) draws nothing.
        if area.is_empty() {
            return;
        }
        let theme = self.theme;
        let view = self.view;
        let base = theme.get("ui.statusline");
        buf.set_style(area, base);
        let mut left: Vec<(String, Style)> = Vec::new();
        if view.show_mode {
            let mode = format!(" {} ", view.mode.name().to_uppercase());
            left.push((mode, base.add_modifier(Modifier::BOLD | Modifier::REVERSED)));
        }
        let (connection, connection_style) = match view.connection {
            ConnectionState::Connecting => ("connecting…".to_owned(), theme.get("info")),
            ConnectionState::Connected => ("●".to_owned(), theme.get("string")),
            ConnectionState::Reconnecting {
                attempt,
                unsent_edits,
            } => (
                format!("reconnecting (try {attempt}, {unsent_edits} edits kept)"),
                theme.get("warning"),
            ),
            ConnectionState::HostAway => ("host reconnecting…".to_owned(), theme.get("warning")),
            ConnectionState::Disconnected { reason } => {
                (format!("disconnected: {reason}"), theme.get("error"))
            }
        };
        // Syntax colors on the bar's background: kept only where they read (in 16 colors a
        // green dot on a white bar does not).
        left.push((
            format!(" {connection} "),
            theme.readable(base.patch(connection_style)),
        ));
        let file = view.file.unwrap_or("no file");
        left.push((format!(" {file}"), base.add_modifier(Modifier::BOLD)));
        if view.modified {
            left.push((" [+]".into(), base));
        }
        if view.read_only {
            left.push((
                " [read-only]".into(),
                theme.readable(base.patch(theme.get("warning"))),
            ));
        }
        if let Some(percent) = view.loading {
            let label = format!(" loading {percent}% (read-only until complete)");
            left.push((label, theme.readable(base.patch(theme.get("warning")))));
        }

        let mut right = String::new();
        if !view.pending_keys.is_empty() {
            right.push_str(&format!("{} ", view.pending_keys));
        }
        if let Some(leader) = view.following {
            right.push_str(&format!("following {leader} "));
        }
        if let Some(branch) = view.branch {
            right.push_str(&format!("⎇ {branch} "));
        }
        // The one part that changes with every keystroke, in its own style: the shipped
        // themes draw it in the text's colors, so typing costs no color change on the
        // way to it (bytes per keystroke are latency over a slow link).
        let position = view
            .position
            .map(|(line, col)| format!(" {line}:{col} "))
            .unwrap_or_default();
        let right_width = (right.width() + position.width()) as u16;
        let right_x = area.right().saturating_sub(right_width);
        let mut x = area.x;
        for (text, style) in left {
            let room = right_x.saturating_sub(x) as usize;
            if room == 0 {
                break;
            }
            let (next, _) = buf.set_stringn(x, area.y, &text, room, style);
            x = next;
        }
        if right_x >= x {
            let (after, _) = buf.set_stringn(right_x, area.y, &right, right.width(), base);
            let position_style = theme.get("ui.statusline.position");
            buf.set_stringn(after, area.y, &position, position.width(), position_style);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

/// The last message for the user, shown under the status line until it expires, and the
/// ones before it (help shows them whole: the line may be too narrow for a long one).
#[derive(Debug, Clone, Default)]
pub struct Messages {
    current: Option<(Level, String, Instant)>,
    /// Every message said, oldest first, at most [`HISTORY`].
    history: std::collections::VecDeque<(Level, String)>,
}

/// How many past messages are kept for help to show.
const HISTORY: usize = 50;

/// How long a message stays (errors stay until replaced).
const MESSAGE_TIME: Duration = Duration::from_secs(5);

impl Messages {
    pub fn push(&mut self, level: Level, text: impl Into<String>) {
        let text = text.into();
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back((level, text.clone()));
        self.current = Some((level, text, Instant::now()));
    }

    /// The messages said so far, newest first.
    pub fn history(&self) -> impl Iterator<Item = (Level, &str)> {
        self.history
            .iter()
            .rev()
            .map(|(level, text)| (*level, text.as_str()))
    }

    /// Takes back `text` if it is still the message shown (a notice an answer outdated).
    pub fn retract(&mut self, text: &str) {
        if self
            .current
            .as_ref()
            .is_some_and(|(_, shown, _)| shown == text)
        {
            self.current = None;
        }
    }

    pub fn current(&self) -> Option<(Level, &str)> {
        self.current
            .as_ref()
            .map(|(level, text, _)| (*level, text.as_str()))
    }

    /// Drops an expired message; true if the screen needs a redraw.
    pub fn expire(&mut self, now: Instant) -> bool {
        match &self.current {
            Some((level, _, since))
                if *level != Level::Error && now.duration_since(*since) >= MESSAGE_TIME =>
            {
                self.current = None;
                true
            }
            _ => false,
        }
    }

    /// When the current message will expire, for the app's timer.
    pub fn deadline(&self) -> Option<Instant> {
        match &self.current {
            Some((level, _, since)) if *level != Level::Error => Some(*since + MESSAGE_TIME),
            _ => None,
        }
    }
}

pub struct MessageArea<'a> {
    pub messages: &'a Messages,
    pub theme: &'a Theme,
}

impl Widget for MessageArea<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        // A part the terminal has no room for (see `App::regions`) draws nothing.
        if area.is_empty() {
            return;
        }
        let base = self
            .theme
            .get("ui.background")
            .patch(self.theme.get("ui.text"));
        buf.set_style(area, base);
        if let Some((level, text)) = self.messages.current() {
            let style = match level {
                Level::Info => base,
                Level::Warning => base.patch(self.theme.get("warning")),
                Level::Error => base.patch(self.theme.get("error")),
            };
            // The whole row is written: nothing of a longer message before stays behind.
            let text = fit(text, area.width as usize);
            let pad = (area.width as usize).saturating_sub(text.width());
            let row = format!("{text}{}", " ".repeat(pad));
            buf.set_stringn(area.x, area.y, row, area.width as usize, style);
        }
    }
}

/// `text` on one row of `width` columns: whole if it fits, else cut with an ellipsis
/// (help lists messages whole).
pub fn fit(text: &str, width: usize) -> String {
    let text = text.replace(['\n', '\r', '\t'], " ");
    if text.width() <= width {
        return text;
    }
    let mut out = String::new();
    let mut used = 0;
    for c in text.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    if width > 0 {
        out.push('…');
    }
    out
}

/// One open file in the tab bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TabView<'a> {
    pub path: &'a str,
    pub modified: bool,
}

pub struct Tabs<'a> {
    pub tabs: &'a [TabView<'a>],
    pub active: usize,
    pub theme: &'a Theme,
}

impl Tabs<'_> {
    fn labels(&self) -> Vec<String> {
        self.tabs
            .iter()
            .map(|tab| {
                let name = tab.path.rsplit('/').next().unwrap_or(tab.path);
                format!(" {name}{} ", if tab.modified { " +" } else { "" })
            })
            .collect()
    }

    /// The tabs drawn in `area`: each one's index and the columns its label covers. The
    /// mouse finds the tab under a click with it.
    pub fn layout(&self, area: Rect) -> Vec<(usize, std::ops::Range<u16>)> {
        let labels = self.labels();
        // Show file names; keep the active tab in view when there are more than fit.
        let mut first = 0;
        while first < self.active
            && labels[first..=self.active]
                .iter()
                .map(|l| l.width() + 1)
                .sum::<usize>()
                > area.width as usize
        {
            first += 1;
        }
        let mut x = area.x;
        let mut layout = Vec::new();
        for (index, label) in labels.iter().enumerate().skip(first) {
            let room = area.right().saturating_sub(x);
            if room == 0 {
                break;
            }
            let end = x + u16::try_from(label.width()).unwrap_or(u16::MAX).min(room);
            layout.push((index, x..end));
            x = end.saturating_add(1).min(area.right());
        }
        layout
    }
}

impl Widget for Tabs<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        // A part the terminal has no room for (see `App::regions`) draws nothing.
        if area.is_empty() {
            return;
        }
        let theme = self.theme;
        let inactive = theme.get("ui.tab");
        let active = inactive.patch(theme.get("ui.tab.active"));
        buf.set_style(area, inactive);
        let labels = self.labels();
        for (index, columns) in self.layout(area) {
            let style = if index == self.active {
                active
            } else {
                inactive
            };
            let room = columns.len();
            buf.set_stringn(columns.start, area.y, &labels[index], room, style);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_messages_expire_and_errors_stay() {
        let mut messages = Messages::default();
        messages.push(Level::Info, "saved");
        let later = Instant::now() + MESSAGE_TIME + Duration::from_millis(1);
        assert!(messages.expire(later));
        assert_eq!(messages.current(), None);
        messages.push(Level::Error, "save failed");
        assert!(!messages.expire(later + MESSAGE_TIME));
        assert_eq!(messages.current(), Some((Level::Error, "save failed")));
    }
}
