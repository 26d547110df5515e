//! Members who hold the link and misbehave on purpose. Each attacker here is a real member
//! of a real session (real relay, real host on real files) that builds its frames with the
//! project's own protocol types and sends them raw. Everyone else must carry on unharmed.

mod common;

use std::time::Duration;

use common::{start_host, start_host_with, start_relay, write_tree};
use cotype::channel::Channel;
use cotype::client::Participant;
use cotype::client::driver::Driver;
use cotype::client::headless::{open, run_until};
use cotype::crypto::SessionKeys;
use cotype::host::session::{Approval, HostCommand, HostEvent};
use cotype::link::Link;
use cotype::protocol::frame::FrameSealer;
use cotype::protocol::header::{Header, Kind, Route};
use cotype::protocol::message::{AppliedEdit, EditMessage, FileEntry, Message, Request, Response};
use cotype::protocol::{HOST_ID, ParticipantId};
use cotype::relay::{RelayConfig, TapDirection};
use cotype::text::{EditId, Operation, RemoteEdit};

/// Asks the host for a round trip; `None` if no answer came within 5 s.
async fn ping(participant: &mut Participant) -> Option<()> {
    let answer = async {
        let id = participant.send_request(Request::Ping).await.ok()?;
        match participant.next_response(id).await.ok()? {
            (Response::Pong, true) => Some(()),
            _ => None,
        }
    };
    tokio::time::timeout(Duration::from_secs(5), answer)
        .await
        .ok()
        .flatten()
}

/// A member's raw sealer: its own id, and (for the attacks) any instance and counter.
fn sealer(link: &Link, sender: ParticipantId, instance: [u8; 16], first: u64) -> FrameSealer {
    let keys = SessionKeys::derive(&link.secret, &link.session);
    FrameSealer::new(keys.sending_key_as(0, instance, first), sender)
}

async fn send(channel: &Channel, sealer: &mut FrameSealer, route: Route, message: &Message) {
    let frame = sealer.seal(route, message).expect("seals");
    channel.sender.send_raw(frame).await.expect("sends");
}

/// The attack seen in review: a victim's pings answered, then, after a member sent frames
/// under the victim's instance id with a high counter, unanswered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_cannot_silence_another_by_borrowing_its_instance() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("a.txt", b"a")]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let mut victim = Participant::join(&link, "victim").await.unwrap();
    for _ in 0..3 {
        assert_eq!(
            ping(&mut victim).await,
            Some(()),
            "answered before the attack"
        );
    }
    // Every header carries its sender's instance in the clear (the relay routes by it).
    let victim_instance = relay
        .tapped
        .lock()
        .unwrap()
        .iter()
        .filter(|(direction, _)| *direction == TapDirection::Received)
        .filter_map(|(_, frame)| Header::decode(frame).ok())
        .find(|header| header.sender == victim.id() && header.kind == Kind::Request)
        .expect("the victim's requests crossed the relay")
        .instance;

    let mallory = Participant::join(&link, "mallory").await.unwrap();
    let mallory_id = mallory.id();
    let mallory = mallory.into_channel();
    let request = Message::Request {
        id: 1,
        body: Request::Ping,
    };
    // Under her own id, as the relay stamps it ...
    let mut as_herself = sealer(&link, mallory_id, victim_instance, 1_000_000);
    send(&mallory, &mut as_herself, Route::Host, &request).await;
    // ... and claiming the victim's id, which the relay overwrites with hers.
    let mut as_victim = sealer(&link, victim.id(), victim_instance, 2_000_000);
    send(&mallory, &mut as_victim, Route::Host, &request).await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    for attempt in 0..6 {
        assert_eq!(
            ping(&mut victim).await,
            Some(()),
            "the victim's ping {attempt} after the attack went unanswered"
        );
    }
}

/// A member sends another participant answers to the requests it is about to make (ids
/// are small counters, easy to guess): a file list naming a file that does not exist.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_cannot_answer_in_the_hosts_place() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("real.txt", b"real")]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let mut victim = Participant::join(&link, "victim").await.unwrap();
    let mallory = Participant::join(&link, "mallory").await.unwrap();
    let mallory_id = mallory.id();
    let mallory = mallory.into_channel();
    let mut seal = sealer(&link, mallory_id, [0x4d; 16], 1);
    for id in 1..=20 {
        let forged = Message::Response {
            id,
            done: true,
            body: Response::Files(vec![FileEntry {
                path: "forged.txt".into(),
                size: 6,
            }]),
        };
        send(
            &mallory,
            &mut seal,
            Route::Participant(victim.id()),
            &forged,
        )
        .await;
    }
    // The forged answers reach the victim first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let files = victim.list_files().await.unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["real.txt"], "the victim took a member's answer");
}

/// Seen in review: a crafted "applied edit" turned `<=` into `>=` on one participant's
/// screen while the host's document and disk kept `<=`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_applied_edit_never_changes_anyones_text() {
    const ORIGINAL: &str = "if amount <= balance:\n    pay(amount)\n";
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), &[("bank.py", ORIGINAL.as_bytes())]);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let (mut driver, mut victim) = Driver::join(&link, "victim").await.unwrap();
    open(&mut driver, &mut victim, "bank.py").await.unwrap();
    let revision = victim.documents["bank.py"].ot.revision();

    let mallory = Participant::join(&link, "mallory").await.unwrap();
    let mallory_id = mallory.id();
    let mallory = mallory.into_channel();
    let at = ORIGINAL.find('<').unwrap();
    let forged = Message::Edit(EditMessage::Applied {
        edits: vec![AppliedEdit {
            path: "bank.py".into(),
            edit: RemoteEdit {
                revision: revision + 1,
                author: EditId {
                    instance: [0x4d; 16],
                    seq: 1,
                },
                op: Operation::replace(ORIGINAL.chars().count(), at..at + 1, ">").unwrap(),
            },
            by: HOST_ID,
        }],
    });
    let mut seal = sealer(&link, mallory_id, [0x4d; 16], 1);
    send(
        &mallory,
        &mut seal,
        Route::Participant(victim.me.participant),
        &forged,
    )
    .await;
    send(&mallory, &mut seal, Route::Everyone, &forged).await;

    // Give the forgery every chance to arrive, then check what the victim holds.
    let _ = run_until(
        &mut driver,
        &mut victim,
        Duration::from_secs(2),
        |session, _| Ok(session.documents["bank.py"].rope != ORIGINAL),
    )
    .await;
    assert_eq!(victim.documents["bank.py"].rope.to_string(), ORIGINAL);
    assert_eq!(victim.documents["bank.py"].ot.revision(), revision);
    // The session still works: a real edit from the victim lands everywhere.
    let len = ORIGINAL.chars().count();
    victim
        .local_edit(
            "bank.py",
            Operation::insert(len, len, "# checked\n").unwrap(),
        )
        .unwrap();
    run_until(&mut driver, &mut victim, Duration::from_secs(10), |s, _| {
        Ok(s.is_synced("bank.py") && !s.has_outbox())
    })
    .await
    .unwrap();
    let mut reader = Participant::join(&link, "reader").await.unwrap();
    let mut bytes = Vec::new();
    reader.read_file("bank.py", &mut bytes).await.unwrap();
    assert_eq!(
        String::from_utf8(bytes).unwrap(),
        format!("{ORIGINAL}# checked\n")
    );
}

/// An editor deletes the lines of `.gitignore` that hide two files and saves: the host
/// must not start serving them. Its user is told, and only their decision unhides them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_gitignore_does_not_unhide_files() {
    const IGNORES: &str = "secrets.txt\nconfig/local.yml\n*.log\n";
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (".gitignore", IGNORES.as_bytes()),
            ("secrets.txt", b"password=hunter2\n"),
            ("config/local.yml", b"token: abc\n"),
            ("src/main.rs", b"fn main() {}\n"),
        ],
    );
    let relay = start_relay(RelayConfig::default()).await;
    let (link, mut control) =
        start_host_with(dir.path(), relay.address, "host", &[], Approval::Auto).await;
    let listed = |files: Vec<FileEntry>| -> Vec<String> {
        files.into_iter().map(|f| f.path).collect::<Vec<_>>()
    };
    let mut reader = Participant::join(&link, "reader").await.unwrap();
    assert_eq!(
        listed(reader.list_files().await.unwrap()),
        [".gitignore", "src/main.rs"]
    );

    // The editor keeps only `*.log`, and saves through the session.
    let (mut driver, mut editor) = Driver::join(&link, "editor").await.unwrap();
    open(&mut driver, &mut editor, ".gitignore").await.unwrap();
    let kept = "*.log\n";
    let cut = IGNORES.len() - kept.len();
    editor
        .local_edit(
            ".gitignore",
            Operation::delete(IGNORES.len(), 0..cut).unwrap(),
        )
        .unwrap();
    editor.save(".gitignore");
    run_until(
        &mut driver,
        &mut editor,
        Duration::from_secs(10),
        |_, event| {
            Ok(matches!(
                event,
                Some(cotype::client::session::SessionEvent::Saved { .. })
            ))
        },
    )
    .await
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".gitignore")).unwrap(),
        kept
    );

    // The host's user hears of it once the watcher has seen the change.
    let told = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match control.events.recv().await {
                Some(HostEvent::IgnoreFilesChanged { paths }) => break paths,
                Some(_) => continue,
                None => panic!("the session ended"),
            }
        }
    })
    .await
    .expect("the host's user is told within 10 s");
    assert_eq!(told, [".gitignore"]);
    // A file created now under a removed rule is hidden too.
    std::fs::write(dir.path().join("config/other.log"), "log").unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        listed(reader.list_files().await.unwrap()),
        [".gitignore", "src/main.rs"]
    );
    let mut bytes = Vec::new();
    let refused = reader.read_file("secrets.txt", &mut bytes).await;
    assert!(refused.is_err() && bytes.is_empty(), "{refused:?}");

    // The host's user decides: the files as written now apply.
    control
        .commands
        .send(HostCommand::AdoptIgnoreFiles)
        .await
        .unwrap();
    let mut now_listed = Vec::new();
    for _ in 0..50 {
        now_listed = listed(reader.list_files().await.unwrap());
        if now_listed.len() > 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        now_listed,
        [
            ".gitignore",
            "config/local.yml",
            "secrets.txt",
            "src/main.rs"
        ]
    );
}

/// A member who asks for far more than a person could (dozens of searches at once,
/// hundreds of open files) is refused with a reason; others are answered as usual.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_member_cannot_take_the_host_from_the_others() {
    use cotype::host::rate::{OPEN_DOCUMENTS, SEARCHES_IN_FLIGHT};
    use cotype::protocol::search::SearchQuery;
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<(String, Vec<u8>)> = (0..OPEN_DOCUMENTS + 20)
        .map(|i| {
            let text = format!("needle {i}\n").repeat(200);
            (format!("f/{i:04}.txt"), text.into_bytes())
        })
        .collect();
    let tree: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(path, text)| (path.as_str(), text.as_slice()))
        .collect();
    write_tree(dir.path(), &tree);
    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(dir.path(), relay.address, "host", &[]).await;
    let mut flooder = Participant::join(&link, "flooder").await.unwrap();
    let mut bystander = Participant::join(&link, "bystander").await.unwrap();

    let search = Request::Search(SearchQuery {
        pattern: "needle".into(),
        fixed_strings: true,
        ignore_case: false,
        whole_word: false,
        globs: Vec::new(),
        max_matches: 0,
    });
    let mut ids = Vec::new();
    for _ in 0..40 {
        ids.push(flooder.send_request(search.clone()).await.unwrap());
    }
    let (mut refused, mut finished) = (0, 0);
    for id in ids {
        loop {
            match flooder.next_response(id).await.unwrap() {
                (Response::Error { message }, true) => {
                    assert!(message.contains("searches are still running"), "{message}");
                    refused += 1;
                    break;
                }
                (_, true) => {
                    finished += 1;
                    break;
                }
                (_, false) => {}
            }
        }
    }
    assert!(refused > 0, "40 searches at once were all taken on");
    assert!(finished >= SEARCHES_IN_FLIGHT, "{finished} finished");
    // Meanwhile and after, the others are served.
    assert_eq!(ping(&mut bystander).await, Some(()));
    assert_eq!(bystander.list_files().await.unwrap().len(), files.len());

    // Open documents: the one past the bound is refused with a reason.
    for (i, (path, _)) in files.iter().enumerate() {
        let id = flooder
            .send_request(Request::OpenDocument { path: path.clone() })
            .await
            .unwrap();
        let last = loop {
            let (body, done) = flooder.next_response(id).await.unwrap();
            if done {
                break body;
            }
        };
        match last {
            Response::Error { message } => {
                assert_eq!(i, OPEN_DOCUMENTS, "refused at {i}: {message}");
                assert!(message.contains("close some first"), "{message}");
                break;
            }
            _ => assert!(i < OPEN_DOCUMENTS, "file {i} opened past the bound"),
        }
    }
    assert_eq!(
        ping(&mut flooder).await,
        Some(()),
        "the flooder itself carries on"
    );
}
