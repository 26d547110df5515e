//! The people panel: who is in the session, where they are, and whom they follow.
//!
//! It draws plain data ([`PersonView`]) that the app builds from the session's member and
//! presence state, so it knows nothing of the protocol.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Borders, Widget};
use unicode_width::UnicodeWidthStr;

use crate::protocol::{HOST_ID, ParticipantId};
use crate::tui::compositor::AppCommand;
use crate::tui::picker::{Picker, PickerItem};
use crate::tui::theme::Theme;

/// One person as the panel shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonView {
    pub id: ParticipantId,
    pub name: String,
    /// Index into the theme's participant colors.
    pub color: usize,
    /// The file they have open.
    pub file: Option<String>,
    /// Name of the person they follow.
    pub following: Option<String>,
    pub read_only: bool,
    /// The host lets them type in shared terminals (shown as `⌨`).
    pub terminal_writer: bool,
    pub is_host: bool,
    /// This is the local user.
    pub is_you: bool,
    /// Round trip to them through the relay, when known.
    pub latency_ms: Option<u32>,
}

/// The names people have on screen: the second and later people of the same name get a
/// number, by participant id (the order they joined): `alice`, `alice (2)`.
pub fn display_names(
    members: impl IntoIterator<Item = (ParticipantId, String)>,
) -> std::collections::HashMap<ParticipantId, String> {
    let mut members: Vec<(ParticipantId, String)> = members.into_iter().collect();
    members.sort_by_key(|(id, _)| *id);
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    members
        .into_iter()
        .map(|(id, name)| {
            let count = seen.entry(name.clone()).or_default();
            *count += 1;
            match *count {
                1 => (id, name),
                n => (id, format!("{name} ({n})")),
            }
        })
        .collect()
}

/// Gives each person their on-screen name ([`display_names`]).
pub fn distinguish_names(people: &mut [PersonView]) {
    let mut names = display_names(people.iter().map(|person| (person.id, person.name.clone())));
    for person in people {
        if let Some(name) = names.remove(&person.id) {
            person.name = name;
        }
    }
}

/// The widest a people panel gets, for very long names (they are cut).
const MAX_WIDTH: u16 = 40;

/// The columns the panel needs for its longest row (name, status and round trip; the file
/// and whom they follow) and its title, with its border, at most [`MAX_WIDTH`]; file paths
/// are shortened to fit what is left.
pub fn panel_width(people: &[PersonView], following: Option<ParticipantId>) -> u16 {
    let title = format!(" People ({}) ", people.len()).width();
    let longest = people
        .iter()
        .map(|person| {
            let mut row = 2 + person.name.width();
            if person.is_you {
                row += " (you)".len();
            }
            if person.is_host {
                row += " host".len();
            }
            if person.read_only {
                row += " read-only".len();
            }
            if following == Some(person.id) {
                row += " ◆ following".width();
            }
            if let Some(ms) = person.latency_ms {
                row += 1 + latency_text(ms).width();
            }
            let file = person.file.as_deref().unwrap_or("no file open");
            let detail = 2
                + file.width()
                + person
                    .following
                    .as_ref()
                    .map_or(0, |leader| 3 + leader.width());
            row.max(detail)
        })
        .max()
        .unwrap_or(0);
    (1 + longest.max(title)).min(MAX_WIDTH as usize) as u16
}

fn latency_text(ms: u32) -> String {
    match ms {
        0 => "<1 ms".to_owned(),
        ms => format!("{ms} ms"),
    }
}

/// Draws the people panel.
pub struct PeopleWidget<'a> {
    pub people: &'a [PersonView],
    pub theme: &'a Theme,
    /// Whom the local user follows, marked in the list.
    pub following: Option<ParticipantId>,
}

impl Widget for PeopleWidget<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        // A part the terminal has no room for (see `App::regions`) draws nothing.
        if area.is_empty() {
            return;
        }
        let theme = self.theme;
        let base = theme.get("ui.background").patch(theme.get("ui.text"));
        let dim = base.patch(theme.get("comment"));
        let block = Block::default()
            .borders(Borders::LEFT)
            .title(format!(" People ({}) ", self.people.len()))
            .style(base)
            .border_style(base.patch(theme.get("ui.linenr")));
        let inner = block.inner(area);
        block.render(area, buf);
        let width = inner.width as usize;
        let mut y = inner.y;
        for person in self.people {
            if y + 1 >= inner.bottom() {
                break;
            }
            let color = match theme.participant(person.color) {
                Color::Reset => Style::default(),
                color => Style::default().fg(color),
            };
            let mut x = inner.x;
            let mut put = |text: &str, style: Style, x: &mut u16| {
                let room = (inner.right().saturating_sub(*x)) as usize;
                let (next, _) = buf.set_stringn(*x, y, text, room, style);
                *x = next;
            };
            put("● ", base.patch(color), &mut x);
            put(
                &person.name,
                base.patch(color).add_modifier(Modifier::BOLD),
                &mut x,
            );
            if person.is_you {
                put(" (you)", dim, &mut x);
            }
            if person.is_host {
                put(" host", base.patch(theme.get("info")), &mut x);
            }
            if person.read_only {
                put(" read-only", base.patch(theme.get("warning")), &mut x);
            }
            if person.terminal_writer {
                put(" ⌨", base.patch(theme.get("warning")), &mut x);
            }
            if self.following == Some(person.id) {
                put(
                    " ◆ following",
                    base.patch(theme.get("ui.text.focus")),
                    &mut x,
                );
            }
            // On the name row when it fits there, else at the end of the detail row.
            let mut latency_below = None;
            if let Some(ms) = person.latency_ms {
                let latency = latency_text(ms);
                let lx = inner.right().saturating_sub(latency.width() as u16);
                if lx > x {
                    buf.set_string(lx, y, latency, dim);
                } else {
                    latency_below = Some(latency);
                }
            }
            y += 1;
            let file = person.file.as_deref().unwrap_or("no file open");
            let detail = match &person.following {
                Some(leader) => format!("  {file} → {leader}"),
                None => format!("  {file}"),
            };
            let mut room = width;
            if let Some(latency) = latency_below {
                room = room.saturating_sub(latency.width() + 1);
                let lx = inner.right().saturating_sub(latency.width() as u16);
                buf.set_stringn(lx, y, &latency, width, dim);
            }
            buf.set_stringn(inner.x, y, ellipsize_start(&detail, room), room, dim);
            y += 2;
        }
    }
}

/// Cuts text from the start so the end (the file name) stays visible: `…/tui/editor.rs`.
fn ellipsize_start(text: &str, width: usize) -> String {
    if text.width() <= width || width == 0 {
        return text.to_owned();
    }
    let mut kept: Vec<char> = Vec::new();
    let mut used = 1;
    for c in text.chars().rev() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > width {
            break;
        }
        used += w;
        kept.push(c);
    }
    kept.reverse();
    format!("…{}", kept.into_iter().collect::<String>())
}

/// A picker of the other people; choosing one starts following them.
pub fn follow_picker(people: &[PersonView]) -> Picker {
    let items = people
        .iter()
        // Nor the host's serving process (present when no host user is): it has no
        // cursor and no file, so there is nothing to follow.
        .filter(|person| !person.is_you && person.id != HOST_ID)
        .map(|person| PickerItem {
            label: match &person.file {
                Some(file) => format!("{}  ({file})", person.name),
                None => person.name.clone(),
            },
            command: AppCommand::Follow(person.id),
        })
        .collect();
    Picker::new(
        Picker::PEOPLE,
        "Follow",
        items,
        "nobody else is here yet; share the link",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(buf: &Buffer, y: u16) -> String {
        (0..buf.area.width)
            .map(|x| buf[(x, y)].symbol())
            .collect::<String>()
    }

    #[test]
    fn latency_moves_below_when_the_name_row_is_full() {
        let theme =
            Theme::load_from("default-dark", None, crate::tui::theme::ColorMode::NoColor).unwrap();
        let person = |id, name: &str, latency_ms| PersonView {
            id,
            name: name.into(),
            color: 0,
            file: None,
            following: None,
            read_only: false,
            terminal_writer: false,
            is_host: id == 0,
            is_you: false,
            latency_ms,
        };
        let people = [person(0, "hostie", Some(0)), person(1, "ada", Some(37))];
        let area = Rect::new(0, 0, 26, 8);
        let mut buf = Buffer::empty(area);
        PeopleWidget {
            people: &people,
            theme: &theme,
            following: Some(0),
        }
        .render(area, &mut buf);
        assert_eq!(row(&buf, 1), "│● hostie host ◆ following");
        assert_eq!(row(&buf, 2), "│  no file open      <1 ms");
        assert_eq!(row(&buf, 4), "│● ada               37 ms");
        assert_eq!(row(&buf, 5), "│  no file open           ");
    }

    #[test]
    fn long_paths_keep_their_file_name() {
        assert_eq!(ellipsize_start("  src/tui/editor.rs", 11), "…/editor.rs");
        assert_eq!(ellipsize_start("short", 12), "short");
    }
}
