//! Code actions whose effect is a command of the server, with the real binary and a real
//! pylsp with the pylsp-rope plugin on the host: rope's refactorings are commands
//! (`workspace/executeCommand`) whose edits come back as the server's own requests
//! (`workspace/applyEdit`). `cotype actions --apply` runs one, and its edits reach every
//! file they touch, open or not, and the host's disk.
//!
//! rope runs the project's `.ropeproject/config.py` when it opens a project, so without
//! `--trust-project` the host turns pylsp-rope off: its actions are not offered, and a
//! config.py that leaves a marker never runs (while on a trusting host it does, so the
//! test can fail).
//!
//! pylsp and pylsp-rope must be installed (`pip install pylsp-rope`, as `scripts/test`
//! does); the test fails and says so otherwise.

mod common;

#[path = "common/process.rs"]
mod process;

use std::path::Path;
use std::time::{Duration, Instant};

use cotype::client::driver::Driver;
use cotype::client::headless::{open, run_until};
use cotype::client::request::{ApplyCodeAction, CodeActions};
use cotype::client::{ClientError, Participant};
use cotype::host::session::HostCommand;
use cotype::host::{HostOptions, HostSession};
use cotype::protocol::language;
use cotype::protocol::message::Role;
use cotype::relay::RelayConfig;
use cotype::text::Operation;
use process::{Finished, cotype, run, start_host};

/// A correctness wait for a cold server on a loaded machine, not a timing assertion.
const READY_DEADLINE: Duration = Duration::from_secs(120);
/// How long the untrusting host is watched after the trusting one ran config.py.
const AFTER_THE_TRUSTED_RAN: Duration = Duration::from_secs(10);

const SHAPES: &str = "def double(n):\n    return n * 2\n\n\nprint(double(3))\n";
const MAIN: &str = "from shapes import double\n\nprint(double(4))\n";
const INLINE: &str = "Inline method/variable/parameter";

fn project(marker: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("shapes.py"), SHAPES).expect("shapes.py");
    std::fs::write(dir.path().join("main.py"), MAIN).expect("main.py");
    std::fs::create_dir(dir.path().join(".ropeproject")).expect(".ropeproject");
    std::fs::write(
        dir.path().join(".ropeproject/config.py"),
        format!(
            "open({:?}, 'w').write('the project ran code on the host')\n",
            marker.display().to_string()
        ),
    )
    .expect("config.py");
    dir
}

fn assert_pylsp_rope_installed() {
    let found = run(
        std::process::Command::new("python3").args(["-c", "import pylsp, pylsp_rope"]),
        b"",
    );
    assert_eq!(
        found.code(),
        Some(0),
        "pylsp and pylsp-rope are needed: pip install python-lsp-server pylsp-rope"
    );
}

/// `cotype actions LINK PLACE [more]`.
fn actions(link: &str, place: &str, more: &[&str]) -> Finished {
    run(
        cotype()
            .args(["actions", "--name", "refactorer", link, place])
            .args(more),
        b"",
    )
}

/// The actions listed at `place` once pylsp answers with some.
fn listed_once_ready(link: &str, place: &str) -> String {
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        let listed = actions(link, place, &[]);
        if listed.code() == Some(0) {
            return listed.stdout_text();
        }
        assert!(
            Instant::now() < deadline,
            "pylsp never listed actions at {place}: {} {}",
            listed.stdout_text(),
            listed.stderr
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_rope_refactoring_runs_as_a_server_command_and_changes_every_file() {
    assert_pylsp_rope_installed();
    let markers = tempfile::tempdir().expect("temp dir");
    let trusted_marker = markers.path().join("trusted-host-ran-it");
    let untrusted_marker = markers.path().join("untrusted-host-ran-it");
    let trusted = project(&trusted_marker);
    let untrusted = project(&untrusted_marker);
    let (_trusted_host, trusted_link) = start_host(trusted.path(), &["--trust-project"]);
    let (_untrusted_host, untrusted_link) = start_host(untrusted.path(), &[]);

    // On `double`'s definition, rope offers to inline it: a command of the server's.
    let listed = listed_once_ready(&trusted_link, "shapes.py:1:5");
    let line = listed
        .lines()
        .find(|line| line.contains(INLINE))
        .unwrap_or_else(|| panic!("pylsp-rope offered no inline: {listed}"));
    assert!(
        !line.contains("not applied"),
        "a command the server runs is applicable: {line}"
    );
    let number = line.split(':').next().unwrap().to_owned();
    assert!(
        trusted_marker.exists(),
        "rope opened the trusting host's project and ran its config.py (the attack is real here)"
    );

    let applied = actions(
        &trusted_link,
        "shapes.py:1:5",
        &["--apply", &number, "--save"],
    );
    assert_eq!(
        applied.code(),
        Some(0),
        "{} {}",
        applied.stdout_text(),
        applied.stderr
    );
    let shapes = std::fs::read_to_string(trusted.path().join("shapes.py")).unwrap();
    let main = std::fs::read_to_string(trusted.path().join("main.py")).unwrap();
    assert!(
        !shapes.contains("def double") && shapes.contains("print(3 * 2)"),
        "the definition is gone and its call inlined: {shapes:?}"
    );
    assert!(
        !main.contains("double") && main.contains("print(4 * 2)"),
        "the module nobody had open changed too: {main:?}"
    );
    let printed = applied.stdout_text();
    assert!(
        printed.contains("main.py:") && printed.contains("shapes.py:"),
        "each changed place is printed: {printed}"
    );

    // The untrusting host offers no rope action, and rope never ran its config.py.
    let listed = actions(&untrusted_link, "shapes.py:1:5", &[]);
    assert!(
        !listed.stdout_text().contains(INLINE),
        "pylsp-rope is off without --trust-project: {}",
        listed.stdout_text()
    );
    std::thread::sleep(AFTER_THE_TRUSTED_RAN);
    assert!(
        !untrusted_marker.exists(),
        "the untrusting host ran the project's .ropeproject/config.py"
    );
}

/// Bob applies rope's inline while Ada types at the end of `main.py`, which she has open:
/// the command's edits, computed for the text of the moment it was sent, are transformed
/// against her typing, and her copy ends as the host's. Made read-only, Bob is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_action_lands_while_someone_types_and_read_only_members_are_refused() {
    assert_pylsp_rope_installed();
    let markers = tempfile::tempdir().expect("temp dir");
    let dir = project(&markers.path().join("ran"));
    let relay = common::start_relay(RelayConfig::default()).await;
    let mut host = HostSession::start(HostOptions {
        root: dir.path().to_path_buf(),
        relay: relay.address.to_string(),
        insecure: false,
        hide: Vec::new(),
        name: "host".to_owned(),
        approval: Default::default(),
        trust_project: true,
    })
    .await
    .expect("host starts");
    let link = host.link.clone();
    let control = host.control().expect("control");
    tokio::spawn(async move {
        let _ = host.run().await;
    });
    let mut bob = Participant::join(&link, "bob").await.expect("bob joins");
    let at = common::at("shapes.py", 0, 4);
    let deadline = Instant::now() + READY_DEADLINE;
    loop {
        let listed = bob.request(CodeActions(at.clone())).await;
        if let Ok(actions) = &listed
            && actions.iter().any(|a| a.title == INLINE && a.applicable)
        {
            break;
        }
        assert!(Instant::now() < deadline, "no inline offered: {listed:?}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let (mut ada_driver, mut ada) = Driver::join(&link, "ada").await.expect("ada joins");
    open(&mut ada_driver, &mut ada, "main.py")
        .await
        .expect("ada opens main.py");
    run_until(
        &mut ada_driver,
        &mut ada,
        Duration::from_secs(30),
        |s, _| Ok(s.documents.get("main.py").is_some_and(|d| d.rope == MAIN)),
    )
    .await
    .expect("ada has main.py's text");
    let asked = bob
        .send(ApplyCodeAction(language::ApplyCodeAction {
            at: at.clone(),
            title: INLINE.into(),
            save: false,
        }))
        .await
        .expect("sent");
    let applied = std::sync::atomic::AtomicBool::new(false);
    let typing = async {
        let mut typed = 0;
        while !applied.load(std::sync::atomic::Ordering::Relaxed) && typed < 300 {
            let len = ada.documents["main.py"].rope.len_chars();
            ada.local_edit("main.py", Operation::insert(len, 0, "# ada\n").unwrap())
                .unwrap();
            typed += 1;
            // A fast typist's pace: a command whose text changed after the server offered
            // it is not sent (its arguments name places in the older text) but asked
            // again, and rope's refactoring would never start under a keystroke each 2 ms.
            let _ = run_until(
                &mut ada_driver,
                &mut ada,
                Duration::from_millis(40),
                |_, _| Ok(false),
            )
            .await;
        }
        typed
    };
    let answering = async {
        let answer = bob.next_answer::<ApplyCodeAction>(asked).await;
        applied.store(true, std::sync::atomic::Ordering::Relaxed);
        answer
    };
    let (typed, answer) = tokio::join!(typing, answering);
    let (summary, _) = answer.expect("the command's edits are made");
    assert_eq!(summary.files, 2, "{summary:?}");
    assert!(typed > 0);
    run_until(
        &mut ada_driver,
        &mut ada,
        Duration::from_secs(30),
        |s, _| {
            let text = s.documents["main.py"].rope.to_string();
            Ok(s.is_synced("main.py") && !text.contains("double") && text.contains("print(4 * 2)"))
        },
    )
    .await
    .unwrap_or_else(|e| {
        panic!(
            "Ada's copy is {:?}: {e}",
            ada.documents["main.py"].rope.to_string()
        )
    });
    let adas = ada.documents["main.py"].rope.to_string();
    assert_eq!(
        adas.matches("# ada\n").count(),
        typed,
        "every line Ada typed is kept: {adas:?}"
    );
    let mut shared = Vec::new();
    bob.read_file("main.py", &mut shared).await.expect("read");
    assert_eq!(
        String::from_utf8(shared).unwrap(),
        adas,
        "Ada's copy is the host's"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("main.py")).unwrap(),
        MAIN,
        "not saved unless asked"
    );

    control
        .commands
        .send(HostCommand::SetRole {
            participant: bob.id(),
            role: Role::ReadOnly,
        })
        .await
        .expect("role");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let refused = bob
        .request(ApplyCodeAction(language::ApplyCodeAction {
            at: common::at("shapes.py", 0, 0),
            title: INLINE.into(),
            save: true,
        }))
        .await;
    assert!(
        matches!(&refused, Err(ClientError::Host(message)) if message.contains("read-only")),
        "{refused:?}"
    );
}
