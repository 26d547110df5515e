//! What a guest is asked on entry when its ssh command did not say (`-o SetEnv=…`): its
//! name and its keymap, typed on plain lines before the editor starts.

use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// The longest line a guest may type here.
const LONGEST_LINE: usize = 64;

/// Asks what `name` and `keymap` leave open; `None` when the guest gave up (ctrl-c,
/// ctrl-d, escape) or hung up. An empty name is `default_name`; the keymap is `default`
/// unless the guest picks vim (never the host user's own configured one).
pub(super) async fn ask(
    name: Option<String>,
    keymap: Option<String>,
    default_name: String,
    keys: &mut UnboundedReceiver<Event>,
    frames: &UnboundedSender<Vec<u8>>,
) -> Option<(String, String)> {
    let name = match name {
        Some(name) => name,
        None => {
            let prompt = format!("Your name (enter: {default_name}): ");
            let typed = read_line(&prompt, keys, frames).await?;
            super::guest::clean_name(&typed).unwrap_or(default_name)
        }
    };
    let keymap = match keymap {
        Some(keymap) => keymap,
        None => {
            show(frames, "Keys: enter for the default keymap, v for vim: ")?;
            loop {
                match next_key(keys).await? {
                    key if gives_up(&key) => return None,
                    KeyEvent {
                        code: KeyCode::Char('v' | 'V'),
                        ..
                    } => break "vim".to_owned(),
                    KeyEvent {
                        code: KeyCode::Enter | KeyCode::Char('d' | 'D'),
                        ..
                    } => break "default".to_owned(),
                    _ => {}
                }
            }
        }
    };
    show(frames, "\r\n")?;
    Some((name, keymap))
}

fn show(frames: &UnboundedSender<Vec<u8>>, text: &str) -> Option<()> {
    frames.send(text.as_bytes().to_vec()).ok()
}

fn gives_up(key: &KeyEvent) -> bool {
    key.code == KeyCode::Esc
        || (key.modifiers.contains(KeyModifiers::CONTROL)
            && matches!(key.code, KeyCode::Char('c' | 'd')))
}

/// The next key pressed (a paste counts as nothing); `None` when the guest hung up.
async fn next_key(keys: &mut UnboundedReceiver<Event>) -> Option<KeyEvent> {
    loop {
        if let Event::Key(key) = keys.recv().await?
            && key.kind != KeyEventKind::Release
        {
            return Some(key);
        }
    }
}

/// One line typed after `prompt`, echoed; `None` when the guest gave up or hung up.
async fn read_line(
    prompt: &str,
    keys: &mut UnboundedReceiver<Event>,
    frames: &UnboundedSender<Vec<u8>>,
) -> Option<String> {
    show(frames, prompt)?;
    let mut line = String::new();
    loop {
        let key = next_key(keys).await?;
        match key.code {
            _ if gives_up(&key) => return None,
            KeyCode::Enter => {
                show(frames, "\r\n")?;
                return Some(line);
            }
            KeyCode::Backspace if line.pop().is_some() => show(frames, "\x08 \x08")?,
            KeyCode::Char(c)
                if !c.is_control()
                    && !key
                        .modifiers
                        .intersects(KeyModifiers::CONTROL | KeyModifiers::ALT)
                    && line.chars().count() < LONGEST_LINE =>
            {
                line.push(c);
                show(frames, c.encode_utf8(&mut [0; 4]))?;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::byte_input::ByteKeys;
    use tokio::sync::mpsc::unbounded_channel;

    /// Feeds `typed` as a terminal would send it and answers the questions with it.
    async fn answer(
        name: Option<&str>,
        keymap: Option<&str>,
        typed: &[u8],
    ) -> (Option<(String, String)>, String) {
        let (keys_in, mut keys) = unbounded_channel();
        for event in ByteKeys::new().feed(typed) {
            keys_in.send(event).unwrap();
        }
        drop(keys_in);
        let (frames, mut shown) = unbounded_channel();
        let answered = ask(
            name.map(str::to_owned),
            keymap.map(str::to_owned),
            "ssh-abc".to_owned(),
            &mut keys,
            &frames,
        )
        .await;
        drop(frames);
        let mut screen = Vec::new();
        while let Some(bytes) = shown.recv().await {
            screen.extend(bytes);
        }
        (answered, String::from_utf8_lossy(&screen).into_owned())
    }

    #[tokio::test]
    async fn a_typed_name_with_a_correction_and_vim() {
        let (answered, screen) = answer(None, None, b"samx\x7f\rv").await;
        assert_eq!(answered, Some(("sam".to_owned(), "vim".to_owned())));
        assert!(screen.contains("Your name (enter: ssh-abc): samx\x08 \x08\r\n"));
    }

    #[tokio::test]
    async fn enter_alone_takes_the_defaults() {
        let (answered, _) = answer(None, None, b"\r\r").await;
        assert_eq!(answered, Some(("ssh-abc".to_owned(), "default".to_owned())));
    }

    #[tokio::test]
    async fn what_the_command_gave_is_not_asked() {
        let (answered, screen) = answer(Some("ada"), Some("vim"), b"").await;
        assert_eq!(answered, Some(("ada".to_owned(), "vim".to_owned())));
        assert!(!screen.contains("Your name"));
    }

    #[tokio::test]
    async fn ctrl_c_or_a_hang_up_leaves() {
        assert_eq!(answer(None, None, b"sa\x03").await.0, None);
        assert_eq!(answer(Some("ada"), None, b"\x04").await.0, None);
        assert_eq!(answer(None, None, b"sam").await.0, None, "hung up mid-name");
    }

    #[tokio::test]
    async fn control_and_escape_bytes_are_not_part_of_a_name() {
        let (answered, _) = answer(None, Some("default"), b"s\x1b[Aa\x01m\r").await;
        assert_eq!(answered, Some(("sam".to_owned(), "default".to_owned())));
    }
}
