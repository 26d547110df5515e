//! `cotype demo` as a user meets it, minus the terminal: the demo starts in-process (relay,
//! host, Ada), a participant joins its link and follows Ada, and sees what the TUI would
//! show — Ada by name, her cursor and selections on the script's text, her fix typed into
//! the document.

use std::collections::BTreeSet;
use std::time::Duration;

use cotype::client::driver::Driver;
use cotype::client::headless::{open, run_until};
use cotype::client::session::SessionEvent;
use cotype::demo::partner::PartnerOptions;
use cotype::demo::{DemoOptions, project};
use cotype::protocol::control::ToRelay;
use cotype::text::Operation;
use ropey::Rope;

/// A correctness wait, not a timing claim: generous for a loaded machine.
const DEADLINE: Duration = Duration::from_secs(90);
/// Plays the script ten times faster than a person would watch it.
const SPEED: f64 = 10.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_participant_sees_ada_select_the_bug_and_type_the_fix() {
    // Shown only when the test fails: what Ada did, step by step.
    let _ = tracing_subscriber::fmt()
        .with_env_filter("cotype=debug")
        .with_test_writer()
        .try_init();
    let demo = cotype::demo::start(DemoOptions {
        partner: PartnerOptions {
            speed: SPEED,
            ..PartnerOptions::default()
        },
        ..DemoOptions::default()
    })
    .await
    .expect("the demo starts");
    let ada = demo.partner_id;

    let (mut driver, mut session) = Driver::join(&demo.link, "newcomer")
        .await
        .expect("the demo's link joins");
    assert!(
        session
            .members
            .get(&ada)
            .is_some_and(|member| member.name == "Ada"),
        "Ada is in the people panel by name: {:?}",
        session.members
    );
    driver.control(&ToRelay::Follow { leader: Some(ada) }).await;

    // Every selection Ada shows before she edits anything, read from the text she selected
    // it in (the bundled file, still unchanged at revision 0).
    let mut selected_before_the_fix = BTreeSet::new();
    let mut paths_seen = BTreeSet::new();
    run_until(&mut driver, &mut session, DEADLINE, |session, event| {
        if let Some(SessionEvent::PresenceChanged { participant }) = event
            && *participant == ada
        {
            let presence = &session.presence[&ada];
            let path = presence.path.clone().expect("Ada's presence names a file");
            paths_seen.insert(path.clone());
            let &(anchor, head) = presence
                .selections
                .first()
                .expect("Ada's presence has a selection");
            if anchor != head && presence.revision == 0 {
                let text = Rope::from_str(project::text_of(&path).expect("a bundled file"));
                selected_before_the_fix
                    .insert(text.slice(anchor.min(head)..anchor.max(head)).to_string());
            }
        }
        Ok(paths_seen.contains("src/pager.rs"))
    })
    .await
    .expect("Ada opens src/pager.rs");
    assert_eq!(
        paths_seen,
        BTreeSet::from([
            "README.md".into(),
            "src/main.rs".into(),
            "src/pager.rs".into()
        ]),
        "Ada walks from the README through the caller to the definition"
    );

    open(&mut driver, &mut session, "src/pager.rs")
        .await
        .expect("the participant opens the file Ada is in");
    let fixed_line = "    let end = (start + per_page).min(items.len());\n";
    let mut selected_after_the_fix = BTreeSet::new();
    run_until(&mut driver, &mut session, DEADLINE, |session, event| {
        if let Some(SessionEvent::PresenceChanged { participant }) = event
            && *participant == ada
        {
            let presence = &session.presence[&ada];
            let &(anchor, head) = presence.selections.first().expect("a selection");
            let document = &session.documents["src/pager.rs"];
            if presence.revision == 0 {
                let text = Rope::from_str(project::text_of("src/pager.rs").expect("bundled"));
                selected_before_the_fix
                    .insert(text.slice(anchor.min(head)..anchor.max(head)).to_string());
            } else if anchor != head
                && presence.path.as_deref() == Some("src/pager.rs")
                && presence.revision == document.ot.revision()
            {
                selected_after_the_fix.insert(
                    document
                        .rope
                        .slice(anchor.min(head)..anchor.max(head))
                        .to_string(),
                );
            }
        }
        let typed = session.documents["src/pager.rs"].rope.line(16) == fixed_line;
        Ok(typed && !selected_after_the_fix.is_empty())
    })
    .await
    .expect("Ada types the fix and points at the test");

    selected_before_the_fix.remove("");
    assert_eq!(
        selected_before_the_fix,
        BTreeSet::from([
            "Only four.".to_string(),
            "page".into(),
            "let start = (number - 1) * per_page;".into(),
            "start + per_page - 1".into(),
        ])
    );
    assert_eq!(
        selected_after_the_fix,
        BTreeSet::from(["pages_cover_every_item_once".to_string()])
    );
    let pager = session.documents["src/pager.rs"].rope.to_string();
    assert!(!pager.contains("per_page - 1"), "the bug is gone:\n{pager}");
    // Ada saves her fix: the project's own tests, run in the demo folder, would see it.
    let on_disk = demo.project_root().join("src/pager.rs");
    let saved = tokio::time::Instant::now() + DEADLINE;
    while !std::fs::read_to_string(&on_disk).is_ok_and(|text| text.contains(fixed_line)) {
        assert!(
            tokio::time::Instant::now() < saved,
            "Ada's fix never reached {}",
            on_disk.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!demo.is_finished(), "the host and Ada are still there");
    let root = demo.project_root().to_path_buf();
    drop(demo);
    assert!(
        !root.exists(),
        "the demo folder is removed when the demo ends"
    );
}

/// The user edits above Ada while she holds the bug selected: she still replaces exactly
/// the text she selected, now one line lower, and nothing is lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ada_types_her_fix_in_the_right_place_while_the_user_edits_above_her() {
    let demo = cotype::demo::start(DemoOptions {
        partner: PartnerOptions {
            speed: SPEED,
            ..PartnerOptions::default()
        },
        ..DemoOptions::default()
    })
    .await
    .expect("the demo starts");
    let ada = demo.partner_id;
    let (mut driver, mut session) = Driver::join(&demo.link, "newcomer")
        .await
        .expect("the demo's link joins");
    open(&mut driver, &mut session, "src/pager.rs")
        .await
        .expect("the participant opens src/pager.rs");

    let note = "// newcomer: reading along\n";
    let mut edited = false;
    run_until(&mut driver, &mut session, DEADLINE, |session, event| {
        if let Some(SessionEvent::PresenceChanged { participant }) = event
            && *participant == ada
            && !edited
        {
            let presence = &session.presence[&ada];
            let document = &session.documents["src/pager.rs"];
            let &(anchor, head) = presence.selections.first().expect("a selection");
            if presence.path.as_deref() == Some("src/pager.rs")
                && document.rope.slice(anchor.min(head)..anchor.max(head)) == "start + per_page - 1"
            {
                let op = Operation::insert(document.rope.len_chars(), 0, note).expect("fits");
                session
                    .local_edit("src/pager.rs", op)
                    .expect("an editor may edit");
                edited = true;
            }
        }
        let rope = &session.documents["src/pager.rs"].rope;
        Ok(edited
            && session.is_synced("src/pager.rs")
            && !rope.to_string().contains("per_page - 1"))
    })
    .await
    .expect("the user edits while Ada has the bug selected, and Ada types her fix");

    // Wait until Ada's last keystroke is in: the line reads exactly as the script promises.
    let fixed_line = "    let end = (start + per_page).min(items.len());\n";
    run_until(&mut driver, &mut session, DEADLINE, |session, _| {
        Ok(session.documents["src/pager.rs"].rope.line(17) == fixed_line)
    })
    .await
    .expect("Ada's fix lands one line lower, intact");
    let text = session.documents["src/pager.rs"].rope.to_string();
    let mut expected = note.to_string();
    expected.push_str(
        &project::text_of("src/pager.rs")
            .expect("bundled")
            .replace("start + per_page - 1", "start + per_page"),
    );
    assert_eq!(text, expected, "both edits, each exactly once");
    assert!(!demo.is_finished(), "Ada carries on after the user's edit");
}

/// The user rewrote the file Ada is headed for (it no longer matches her script): her
/// positions land at the nearest places, she types and saves there, and she plays on to
/// the script's end instead of failing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ada_carries_on_when_the_file_no_longer_matches_her_script() {
    let demo = cotype::demo::start(DemoOptions {
        partner: PartnerOptions {
            speed: SPEED,
            ..PartnerOptions::default()
        },
        ..DemoOptions::default()
    })
    .await
    .expect("the demo starts");
    let ada = demo.partner_id;
    // Nobody has the file open yet, so whoever opens it first (Ada or us) gets this text.
    std::fs::write(demo.project_root().join("src/pager.rs"), "short\n").expect("writable");
    let (mut driver, mut session) = Driver::join(&demo.link, "newcomer")
        .await
        .expect("the demo's link joins");
    driver.control(&ToRelay::Follow { leader: Some(ada) }).await;
    open(&mut driver, &mut session, "src/pager.rs")
        .await
        .expect("the participant opens src/pager.rs");

    let mut typed = false;
    run_until(&mut driver, &mut session, DEADLINE, |session, event| {
        typed = typed || session.documents["src/pager.rs"].rope == "short\nstart + per_page";
        let back_at_the_top = matches!(
            event,
            Some(SessionEvent::PresenceChanged { participant }) if *participant == ada
        ) && session.presence[&ada].path.as_deref() == Some("src/pager.rs")
            && session.presence[&ada].selections == [(0, 0)];
        Ok(typed && back_at_the_top)
    })
    .await
    .expect("Ada types at the end of the short file and plays on to her last step, 1:1");
    assert!(!demo.is_finished(), "Ada is still in the session");
}

/// Once the bug is fixed Ada keeps working, one small task per task period, so someone who
/// joins late still sees her type: a second participant who arrives after the fix opens
/// shelf.toml and watches her change the list's order twice, each change saved. The
/// period is shortened here as `COTYPE_DEMO_TASK_SECONDS` shortens it for `cotype demo`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_visitor_sees_ada_keep_working_after_the_fix() {
    let demo = cotype::demo::start(DemoOptions {
        partner: PartnerOptions {
            speed: SPEED,
            task_period: Duration::from_secs(1),
            ..PartnerOptions::default()
        },
        ..DemoOptions::default()
    })
    .await
    .expect("the demo starts");
    let (mut first, mut first_session) = Driver::join(&demo.link, "early")
        .await
        .expect("the demo's link joins");
    open(&mut first, &mut first_session, "src/pager.rs")
        .await
        .expect("the first participant opens src/pager.rs");
    run_until(&mut first, &mut first_session, DEADLINE, |session, _| {
        Ok(!session.documents["src/pager.rs"]
            .rope
            .to_string()
            .contains("per_page - 1"))
    })
    .await
    .expect("Ada fixes the bug");

    let (mut late, mut late_session) = Driver::join(&demo.link, "late")
        .await
        .expect("a late visitor joins");
    open(&mut late, &mut late_session, "shelf.toml")
        .await
        .expect("the late visitor opens shelf.toml");
    let ada = demo.partner_id;
    let mut orders = Vec::new();
    run_until(&mut late, &mut late_session, DEADLINE, |session, event| {
        if let Some(SessionEvent::RemoteEdit { path, .. }) = event
            && path == "shelf.toml"
        {
            let text = session.documents["shelf.toml"].rope.to_string();
            let order = ["\"author\"", "\"title\"", "\"year\""]
                .into_iter()
                .find(|order| text.contains(&format!("sort = {order}")));
            if let Some(order) = order
                && orders.last() != Some(&order)
            {
                orders.push(order);
            }
        }
        Ok(orders.len() >= 2)
    })
    .await
    .expect("Ada changes the order twice while the late visitor watches");
    assert!(
        orders.windows(2).all(|pair| pair[0] != pair[1]),
        "{orders:?}"
    );
    assert!(
        late_session
            .members
            .get(&ada)
            .is_some_and(|member| member.name == "Ada"),
        "Ada is there for the late visitor"
    );
    // Her tasks are saved, as her fix was.
    let on_disk = demo.project_root().join("shelf.toml");
    let saved = tokio::time::Instant::now() + DEADLINE;
    let changed =
        |text: String| text.contains("sort = \"title\"") || text.contains("sort = \"year\"");
    while !std::fs::read_to_string(&on_disk).is_ok_and(changed) {
        assert!(
            tokio::time::Instant::now() < saved,
            "Ada's change never reached {}",
            on_disk.display()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The documented contract of presence: it goes out only once the host has confirmed the
/// sender's edits, so its positions are in the host's text at its revision. A watcher
/// following Ada sees every presence of hers and every edit she typed, in the order they
/// arrive; a presence sent while she still had a typed character on its way would put
/// her cursor just after that character at a revision that does not contain it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adas_presence_never_runs_ahead_of_her_confirmed_typing() {
    use cotype::channel::Incoming;
    use cotype::protocol::header::Route;
    use cotype::protocol::message::{EditMessage, Message, Request};
    use cotype::text::Assoc;

    let demo = cotype::demo::start(DemoOptions {
        partner: PartnerOptions {
            speed: SPEED,
            ..PartnerOptions::default()
        },
        ..DemoOptions::default()
    })
    .await
    .expect("the demo starts");
    let ada = demo.partner_id;
    let mut watcher = cotype::client::Participant::join(&demo.link, "watcher")
        .await
        .expect("the demo's link joins")
        .into_channel();
    watcher
        .sender
        .control(&ToRelay::Follow { leader: Some(ada) })
        .await
        .unwrap();
    let open = Message::Request {
        id: 1,
        body: Request::OpenDocument {
            path: "src/pager.rs".into(),
        },
    };
    watcher.sender.send(Route::Host, &open).await.unwrap();

    // (revision, head) of each presence of Ada's in src/pager.rs, and for each character
    // she typed: the presences that had arrived before it, and where it went.
    let mut presences: Vec<(u64, usize)> = Vec::new();
    let mut typed: Vec<(usize, u64, usize)> = Vec::new();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let incoming = tokio::time::timeout_at(deadline, watcher.recv())
            .await
            .expect("Ada types and saves her fix in time");
        let Incoming::Message { header, message } = incoming else {
            continue;
        };
        match message {
            Message::Presence(presence)
                if header.sender == ada && presence.path.as_deref() == Some("src/pager.rs") =>
            {
                let head = presence.selections.first().map_or(0, |&(_, head)| head);
                presences.push((presence.revision, head));
            }
            Message::Edit(EditMessage::Applied { edits }) => {
                for applied in edits.into_iter().filter(|e| e.by == ada) {
                    let op = &applied.edit.op;
                    // Where the character went: the first place the edit moves.
                    let at = (0..=op.base_len())
                        .find(|&pos| op.transform_position(pos, Assoc::After) != pos)
                        .unwrap_or(0);
                    typed.push((presences.len(), applied.edit.revision, at));
                }
            }
            Message::Event(cotype::protocol::message::Event::Saved { by, .. }) if by == ada => {
                break;
            }
            _ => {}
        }
    }
    assert!(typed.len() > 5 && !presences.is_empty(), "{typed:?}");
    for (arrived_before, revision, at) in typed {
        let ahead = presences[..arrived_before]
            .iter()
            .find(|&&(seen_at, head)| seen_at < revision && head == at + 1);
        assert_eq!(
            ahead, None,
            "Ada's presence showed her after the character she typed at {at} before the host \
             confirmed it (revision {revision})"
        );
    }
}
