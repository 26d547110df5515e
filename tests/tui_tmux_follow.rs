//! A follower is shown where following took it: the leader moves far down a file, the
//! follower's view and cursor go with her, and on the leader's screen the follower's flag
//! is beside her own text, not an edge marker for a place the follower left.

mod common;

use common::tmux::{HeadlessHost, Tmux, flag_near, picker_chose};
use std::path::Path;

#[test]
fn the_leader_sees_her_follower_where_following_took_him() {
    let (root, host) = share_a_long_file();
    let home = root.path().join("home");

    let tmux = Tmux::named("follow");
    join(&tmux, &home, "ada", &host.link, "");
    join(&tmux, &home, "bob", &host.link, "--follow ada");

    open_long_file(&tmux, "ada");
    // Far down: line 95, beyond the first screen.
    for _ in 0..94 {
        tmux.keys("ada", &["Down"]);
    }
    tmux.wait("bob", "bob taken to line 95", |s| s.contains("95:1"));
    let screen = tmux.wait("ada", "bob's flag beside her line", |s| {
        flag_near(s, "line 95", "bob")
    });
    assert!(
        !screen.contains("▲ bob") && !screen.contains("▼ bob"),
        "bob is drawn as if elsewhere:\n{screen}"
    );
    tmux.keys("ada", &["C-q"]);
    tmux.keys("bob", &["C-q"]);
}

/// A leader whose connection drops comes back under a new id; her follower follows her
/// again without doing anything (he used to go on "following" the id she had, and stayed
/// where she left him).
#[test]
fn a_follower_follows_his_leader_again_after_her_connection_drops() {
    let (root, host) = share_a_long_file();
    let home = root.path().join("home");
    // Ada reaches the relay through a proxy whose connections the test can cut.
    let link = cotype::link::Link::parse(&host.link, false).unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let proxy = runtime.block_on(common::CuttableProxy::start(link.relay.parse().unwrap()));
    let ada_link = common::via(&link, proxy.address).to_url();

    let tmux = Tmux::named("follow-again");
    join(&tmux, &home, "ada", &ada_link, "");
    join(&tmux, &home, "bob", &host.link, "--follow ada");

    open_long_file(&tmux, "ada");
    for _ in 0..9 {
        tmux.keys("ada", &["Down"]);
    }
    tmux.wait("bob", "bob taken to line 10", |s| s.contains("10:1"));

    proxy.cut_for(std::time::Duration::from_secs(2));
    tmux.wait("bob", "word that ada is away", |s| {
        s.contains("ada is away")
    });
    tmux.wait("bob", "following ada again", |s| {
        s.contains("following ada; move to stop")
    });
    // Ada moves on after her reconnect: bob goes with her.
    for _ in 0..50 {
        tmux.keys("ada", &["Down"]);
    }
    tmux.wait("ada", "ada on line 60", |s| s.contains("60:1"));
    tmux.wait("bob", "bob taken to line 60", |s| s.contains("60:1"));
    tmux.keys("ada", &["C-q"]);
    tmux.keys("bob", &["C-q"]);
}

/// A host sharing `long.txt` (lines "line 1" to "line 120"); the folder also holds `home`,
/// the HOME of the people joining (no user config).
fn share_a_long_file() -> (tempfile::TempDir, HeadlessHost) {
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let text: String = (1..=120).map(|n| format!("line {n}\n")).collect();
    std::fs::write(project.join("long.txt"), text).unwrap();
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let host = HeadlessHost::start(&project, Some(&home));
    (root, host)
}

/// `name` joins through `link` in a tmux window of their own, and is in once the people
/// panel shows them.
fn join(tmux: &Tmux, home: &Path, name: &str, link: &str, extra: &str) {
    let bin = env!("CARGO_BIN_EXE_cotype");
    tmux.shell(name, home);
    tmux.text(
        name,
        &format!("COTYPE_LINK='{link}' {bin} join --name {name} {extra}; echo {name}-exited-$?"),
    );
    tmux.keys(name, &["Enter"]);
    tmux.wait(name, "itself in the people panel", |s| {
        s.contains(&format!("{name} (you)"))
    });
}

fn open_long_file(tmux: &Tmux, name: &str) {
    tmux.keys(name, &["C-p"]);
    tmux.wait(name, "the picker", |s| s.contains("Open file"));
    tmux.text(name, "long");
    tmux.wait(name, "the match", |s| picker_chose(s, "long.txt"));
    tmux.keys(name, &["Enter"]);
    tmux.wait(name, "the file", |s| s.contains("line 1"));
}
