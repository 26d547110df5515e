//! A follower is shown where following took it: the leader moves far down a file, the
//! follower's view and cursor go with her, and on the leader's screen the follower's flag
//! is beside her own text, not an edge marker for a place the follower left.

mod common;

use common::tmux::{HeadlessHost, Tmux, flag_near, picker_chose};

#[test]
fn the_leader_sees_her_follower_where_following_took_him() {
    let bin = env!("CARGO_BIN_EXE_cotype");
    let root = tempfile::tempdir().unwrap();
    let project = root.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let text: String = (1..=120).map(|n| format!("line {n}\n")).collect();
    std::fs::write(project.join("long.txt"), text).unwrap();
    let home = root.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let host = HeadlessHost::start(&project, Some(&home));

    let tmux = Tmux::named("follow");
    let join = |name: &str, extra: &str| {
        tmux.shell(name, &home);
        tmux.text(
            name,
            &format!(
                "COTYPE_LINK='{}' {bin} join --name {name} {extra}; echo {name}-exited-$?",
                host.link
            ),
        );
        tmux.keys(name, &["Enter"]);
        tmux.wait(name, "itself in the people panel", |s| {
            s.contains(&format!("{name} (you)"))
        });
    };
    join("ada", "");
    join("bob", "--follow ada");

    tmux.keys("ada", &["C-p"]);
    tmux.wait("ada", "the picker", |s| s.contains("Open file"));
    tmux.text("ada", "long");
    tmux.wait("ada", "the match", |s| picker_chose(s, "long.txt"));
    tmux.keys("ada", &["Enter"]);
    tmux.wait("ada", "the file", |s| s.contains("line 1"));
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
