//! Guests with nothing but OpenSSH: a relay with `--ssh-listen`, a headless host, and the
//! real `ssh` client (a generated key, a throwaway known_hosts) in a tmux pane, pasting
//! the command the host printed.
//!
//! - sam joins through the relay's jump host, is admitted like any participant, opens a
//!   file with ctrl-p, types and saves: the text is on the host's disk and another
//!   participant (`cotype cat`) reads it; ctrl-q ends the SSH session and the pane's
//!   shell is back on the normal screen.
//! - a guest with a wrong user name (token) is refused by the host's SSH server.
//!
//! The test fails (never skips) when ssh, ssh-keygen or tmux is missing; scripts/test
//! installs them.

mod common;
#[path = "common/process.rs"]
mod process;

use std::path::Path;
use std::process::Command;

use common::tmux::Tmux;
use process::{Running, cotype, run};

/// A relay on free ports with an SSH jump host; its WebSocket and SSH addresses.
fn start_relay(home: &Path) -> (Running, String, String) {
    let mut command = cotype();
    command.env("HOME", home).args([
        "relay",
        "--listen",
        "127.0.0.1:0",
        "--ssh-listen",
        "127.0.0.1:0",
    ]);
    let mut relay = Running::spawn(command);
    let listening = relay.stderr_line_with("listening on ws://");
    let address = listening.rsplit("ws://").next().unwrap().trim().to_owned();
    let ssh = relay.stderr_line_with("SSH jump host on ");
    let ssh = ssh["SSH jump host on ".len()..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    (relay, address, ssh)
}

/// An ssh_config for the jump connection (the printed command pins the host's key
/// itself): the generated key, and the relay's key accepted into a throwaway file.
fn ssh_config(home: &Path) -> std::path::PathBuf {
    let key = home.join("id_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .expect("ssh-keygen must be installed (scripts/test installs openssh-client)");
    assert!(made.success());
    let config = home.join("ssh_config");
    std::fs::write(
        &config,
        format!(
            "Host *\n  IdentityFile {}\n  IdentitiesOnly yes\n  UserKnownHostsFile {}\n  \
             StrictHostKeyChecking accept-new\n  LogLevel ERROR\n",
            key.display(),
            home.join("known_hosts").display()
        ),
    )
    .unwrap();
    config
}

#[test]
fn a_guest_with_only_ssh_opens_a_file_types_and_saves() {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("notes.txt"), "first line\n").unwrap();
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    let (_relay, relay_address, _ssh_address) = start_relay(&home);
    let mut host_command = cotype();
    host_command
        .env("HOME", &home)
        .arg("host")
        .arg(&project)
        .args([
            "--headless",
            "--relay",
            &relay_address,
            "--name",
            "hostie",
            "--approve",
            "auto",
        ]);
    let mut host = Running::spawn(host_command);
    let link = host.next_stdout_line();
    assert!(link.contains('#'), "the host printed no link: {link}");
    let ssh_line = host.next_stdout_line();
    let command = ssh_line
        .strip_prefix("ssh: ")
        .unwrap_or_else(|| panic!("the host printed no ssh command after its link: {ssh_line}"));
    assert!(
        command.starts_with("ssh -t -J 127.0.0.1:") && command.contains("KnownHostsCommand"),
        "{command}"
    );
    let config = ssh_config(&home);

    // A wrong token: refused by the host's SSH server (the key and jump are fine).
    let (_, target) = command.rsplit_once(' ').unwrap();
    let (user, session) = target.split_once('@').unwrap();
    let wrong_user = format!("{}0", &user[..user.len() - 1]);
    let wrong_user = if wrong_user == user {
        format!("{}1", &user[..user.len() - 1])
    } else {
        wrong_user
    };
    let wrong = command.replace(target, &format!("{wrong_user}@{session}"));
    let refused = run(
        Command::new("sh").arg("-c").arg(format!(
            "{} -F {} -o BatchMode=yes -o ConnectTimeout=20 true",
            wrong.replacen("ssh -t", "ssh -T", 1),
            config.display()
        )),
        b"",
    );
    assert!(
        !refused.status.success() && refused.stderr.contains("Permission denied"),
        "a wrong token must be refused: {:?} {}",
        refused.status,
        refused.stderr
    );

    // sam pastes the command (with his ssh_config and name) into a shell.
    let tmux = Tmux::named("ssh-guest");
    tmux.shell("sam", &home);
    let pasted = command.replacen(
        "ssh -t",
        &format!("ssh -t -F {} -o SetEnv=COTYPE_NAME=sam", config.display()),
        1,
    );
    tmux.text("sam", &format!("{pasted}; echo sam-exited-$?"));
    tmux.keys("sam", &["Enter"]);
    tmux.wait("sam", "the editor with sam in the people panel", |s| {
        s.contains("sam (you)")
    });

    tmux.keys("sam", &["C-p"]);
    tmux.wait("sam", "the file picker", |s| s.contains("Open file"));
    tmux.text("sam", "notes");
    tmux.wait("sam", "the match in the picker", |s| {
        s.contains("notes.txt")
    });
    tmux.keys("sam", &["Enter"]);
    tmux.wait("sam", "the opened file", |s| s.contains("first line"));
    let typed = "typed over ssh 42 ";
    tmux.text("sam", typed);
    tmux.wait("sam", "his own text", |s| s.contains(typed));
    tmux.keys("sam", &["C-s"]);
    tmux.wait("sam", "the save confirmed", |s| {
        s.contains("saved notes.txt")
    });
    let on_disk = std::fs::read_to_string(project.join("notes.txt")).unwrap();
    assert_eq!(on_disk, format!("{typed}first line\n"));

    // Another participant reads what sam typed.
    let cat = run(
        cotype()
            .env("HOME", &home)
            .args(["cat", &link, "notes.txt"]),
        b"",
    );
    assert!(
        cat.stdout_text().contains(typed),
        "another participant sees sam's text: {}",
        cat.stderr
    );

    // ctrl-q ends the guest's editor and its SSH session; the shell is back.
    tmux.keys("sam", &["C-q"]);
    tmux.wait("sam", "the shell after quitting", |s| {
        s.contains("sam-exited-0")
    });
    assert_eq!(
        tmux.run(&["display", "-p", "-t", "sam", "#{alternate_on}"])
            .trim(),
        "0",
        "the pane is back on the normal screen"
    );
}
