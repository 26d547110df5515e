//! The headless host's console (`cotype host --headless`): the session's events printed
//! on standard error, the host user's commands read from standard input (`who`,
//! `admit ID`, `adopt-ignores`, …).

use crate::host_control::{HostCommand, HostControl, HostEvent, Person};
use crate::protocol::message::Role;

/// What the console answers to a line it does not understand.
pub const HELP: &str = "\
commands: who | admit ID [read-only] | refuse ID | role ID editor|read-only | remove ID | follow | unsaved | adopt-ignores | term-open [COMMAND] | term-close TID | term-write ID on|off | end";

/// What one line typed at the console asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum ConsoleLine {
    /// A command for the session.
    Command(HostCommand),
    /// `who`: the people in the session, answered by the console itself.
    Who,
    /// An empty line.
    Nothing,
    /// Anything else: the console shows `HELP`.
    Unknown,
}

/// Reads one console line.
pub fn parse(line: &str) -> ConsoleLine {
    let words: Vec<&str> = line.split_whitespace().collect();
    let id = |i: usize| words.get(i).and_then(|w| w.parse::<u32>().ok());
    let role = |word: Option<&&str>| match word.copied() {
        Some("read-only" | "readonly" | "ro") => Some(Role::ReadOnly),
        Some("editor") | None => Some(Role::Editor),
        _ => None,
    };
    let command = match (words.first().copied(), id(1)) {
        (Some("admit"), Some(participant)) => {
            role(words.get(2)).map(|role| HostCommand::Admit { participant, role })
        }
        (Some("refuse"), Some(participant)) => Some(HostCommand::Refuse { participant }),
        (Some("role"), Some(participant)) if words.len() == 3 => {
            role(words.get(2)).map(|role| HostCommand::SetRole { participant, role })
        }
        (Some("remove"), Some(participant)) => Some(HostCommand::Remove { participant }),
        (Some("who"), _) => return ConsoleLine::Who,
        (Some("follow"), _) => Some(HostCommand::FollowMe),
        (Some("unsaved"), _) => Some(HostCommand::CheckUnsaved),
        (Some("adopt-ignores"), _) => Some(HostCommand::AdoptIgnoreFiles),
        (Some("end"), _) => Some(HostCommand::End),
        (Some("term-write"), Some(participant)) => match words.get(2).copied() {
            Some("on") => Some(HostCommand::SetTerminalWriter {
                participant,
                allowed: true,
            }),
            Some("off") => Some(HostCommand::SetTerminalWriter {
                participant,
                allowed: false,
            }),
            _ => None,
        },
        (Some("term-close"), Some(id)) => Some(HostCommand::CloseTerminal { id }),
        (Some("term-open"), _) => {
            let command = line
                .trim_start()
                .strip_prefix("term-open")
                .unwrap_or("")
                .trim();
            Some(HostCommand::OpenTerminal {
                name: None,
                command: (!command.is_empty()).then(|| command.to_owned()),
            })
        }
        (None, _) => return ConsoleLine::Nothing,
        _ => None,
    };
    command.map_or(ConsoleLine::Unknown, ConsoleLine::Command)
}

/// Runs the console: events to standard error (a new link to standard output, like the
/// first one), each line of `lines` carried out, until the lines or the session end.
pub async fn run(control: HostControl, lines: tokio::sync::mpsc::Receiver<String>) {
    run_with(control, lines, None).await
}

/// Given a link (as text), a line to print on stdout right after it (the `ssh:` command
/// for SSH guests, which a rekey changes with the link).
pub type AfterLink = Box<dyn Fn(&str) -> Option<String> + Send>;

/// [`run`], printing `after_link`'s line after each new link.
pub async fn run_with(
    mut control: HostControl,
    mut lines: tokio::sync::mpsc::Receiver<String>,
    after_link: Option<AfterLink>,
) {
    let commands = control.commands.clone();
    let people = control.people.clone();
    tokio::spawn(async move {
        while let Some(event) = control.events.recv().await {
            report(event, after_link.as_ref());
        }
    });
    while let Some(line) = lines.recv().await {
        match parse(&line) {
            ConsoleLine::Command(command) => {
                if commands.send(command).await.is_err() {
                    return;
                }
            }
            ConsoleLine::Who => eprint!("{}", who(&people.borrow())),
            ConsoleLine::Nothing => {}
            ConsoleLine::Unknown => eprintln!("{HELP}"),
        }
    }
}

/// Tells the console's user what happened in the session.
fn report(event: HostEvent, after_link: Option<&AfterLink>) {
    match event {
        HostEvent::JoinRequest { participant, name } => eprintln!(
            "{name} (id {participant}) asks to join: 'admit {participant}', 'admit {participant} read-only' or 'refuse {participant}'"
        ),
        HostEvent::MemberJoined(m) => {
            eprintln!("{} (id {}) joined as {:?}", m.name, m.participant, m.role)
        }
        HostEvent::MemberLeft(m) => eprintln!("{} (id {}) left", m.name, m.participant),
        HostEvent::RoleChanged(m) => eprintln!("{} is now {:?}", m.name, m.role),
        HostEvent::Rekeyed {
            link,
            verification_code,
        } => {
            // The new link is printed on stdout, like the first one.
            println!("{link}");
            if let Some(line) = after_link.and_then(|after_link| after_link(&link)) {
                println!("{line}");
            }
            eprintln!(
                "keys rotated; the old link no longer works. New verification code {verification_code}"
            );
        }
        HostEvent::Unsaved { paths } if paths.is_empty() => {
            eprintln!("every open file is saved")
        }
        HostEvent::Unsaved { paths } => {
            eprintln!("unsaved edits in: {}", paths.join(", "))
        }
        HostEvent::IgnoreFilesChanged { paths } => eprintln!(
            "{} changed; files hidden before stay hidden. 'adopt-ignores' applies the files as they are now",
            paths.join(", ")
        ),
        HostEvent::TerminalOpened { id } => eprintln!("shared terminal {id} opened"),
        HostEvent::TerminalFailed { message } => eprintln!("{message}"),
        HostEvent::TerminalEnding { id, name } => {
            eprintln!("ending shared terminal {id} ({name}): its program is stopped")
        }
        HostEvent::TerminalWriter {
            member,
            allowed: true,
        } => eprintln!(
            "{} (id {}) may now type in shared terminals: they run commands as you on this machine, and hidden-file rules do not apply in a shell",
            member.name, member.participant
        ),
        HostEvent::TerminalWriter {
            member,
            allowed: false,
        } => eprintln!(
            "{} (id {}) may no longer type in shared terminals",
            member.name, member.participant
        ),
        HostEvent::Ended => eprintln!("session ended"),
    }
}

/// Lines of standard input, read on a thread of their own. A read from a terminal or an
/// open pipe cannot be cancelled: on tokio's blocking pool (`tokio::io::stdin`) it would
/// hold up the runtime's shutdown, and so the process's exit, until one more line came.
/// This thread is detached, and the process exits without waiting for it.
pub fn stdin_lines() -> tokio::sync::mpsc::Receiver<String> {
    use std::io::BufRead;
    let (lines, receiver) = tokio::sync::mpsc::channel(16);
    let reader = std::thread::Builder::new()
        .name("stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { return };
                if lines.blocking_send(line).is_err() {
                    return;
                }
            }
        });
    if let Err(e) = reader {
        eprintln!("cotype: cannot read commands from stdin: {e}");
    }
    receiver
}

/// The console's `who`: one line per person, with id, name, role and open files.
pub fn who(people: &[Person]) -> String {
    let mut text = format!("{} in the session:\n", people.len());
    for person in people {
        let m = &person.member;
        let role = match m.role {
            _ if !person.admitted => "waiting to be let in",
            Role::Host => "host",
            Role::Editor => "editor",
            Role::ReadOnly => "read-only",
        };
        let files = if person.open.is_empty() {
            "no file open".to_owned()
        } else {
            format!("open: {}", person.open.join(", "))
        };
        let viewing = match &person.viewing {
            Some(path) => format!("; viewing {path}"),
            None => String::new(),
        };
        text.push_str(&format!(
            "  {} (id {}), {role}; {files}{viewing}\n",
            m.name, m.participant
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_lines_become_commands() {
        assert_eq!(
            parse("adopt-ignores"),
            ConsoleLine::Command(HostCommand::AdoptIgnoreFiles)
        );
        assert_eq!(
            parse("admit 3 read-only"),
            ConsoleLine::Command(HostCommand::Admit {
                participant: 3,
                role: Role::ReadOnly
            })
        );
        assert_eq!(
            parse("  admit 3  "),
            ConsoleLine::Command(HostCommand::Admit {
                participant: 3,
                role: Role::Editor
            })
        );
        assert_eq!(parse("who"), ConsoleLine::Who);
        assert_eq!(parse("   "), ConsoleLine::Nothing);
        // `role` needs the role; an id that is no number is no command.
        assert_eq!(parse("role 3"), ConsoleLine::Unknown);
        assert_eq!(parse("remove ada"), ConsoleLine::Unknown);
        assert_eq!(parse("admit 3 owner"), ConsoleLine::Unknown);
    }
}
