//! The host's link dies while it sends: the host resumes the session instead of ending
//! it, and what it was sending reaches the participant after all. A headless request made
//! while the host is away is answered once it is back, or fails when it is gone.

mod common;

use std::time::{Duration, Instant};

use common::{CuttableProxy, start_host_with, start_relay, via, write_tree};
use cotype::client::ClientError;
use cotype::client::Participant;
use cotype::client::driver::{Driver, apply};
use cotype::client::session::SessionEvent;
use cotype::host::session::Approval;
use cotype::relay::RelayConfig;

/// 40 MB: more pieces than the host's outgoing queue holds, so the host is still sending
/// (waiting on the queue) when its connection is cut.
fn big_text() -> String {
    let mut text = String::with_capacity(40 << 20);
    let mut i = 0u64;
    while text.len() < 40 << 20 {
        text.push_str(&format!("line {i:09} of a large file, ünïcode and all\r\n"));
        i += 1;
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_host_cut_off_while_streaming_a_large_document_resumes_and_the_joiner_gets_all_of_it() {
    let dir = tempfile::tempdir().unwrap();
    let text = big_text();
    write_tree(dir.path(), &[("big.txt", text.as_bytes())]);
    let relay = start_relay(RelayConfig::default()).await;
    let proxy = CuttableProxy::start(relay.address).await;
    // The host reaches the relay through the proxy; the joiner goes straight to it.
    let (link, control) =
        start_host_with(dir.path(), proxy.address, "host", &[], Approval::Auto).await;
    let mut direct = link.clone();
    direct.relay = relay.address.to_string();
    let _control = control;

    let (mut driver, mut session) = Driver::join(&direct, "joiner").await.unwrap();
    session.open_document("big.txt");
    driver.flush(&mut session).await;
    let mut cut = false;
    let opened = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let event = driver.next().await;
            if let Some(fatal) = apply(&mut session, event) {
                panic!("the joiner lost the session: {fatal}");
            }
            while let Some(event) = session.next_event() {
                match event {
                    // The text has started to arrive: the host is in the middle of
                    // sending it.
                    SessionEvent::DocumentLoading { .. }
                        if !cut
                            && session
                                .loading("big.txt")
                                .is_some_and(|l| l.received_bytes > 0) =>
                    {
                        proxy.cut();
                        cut = true;
                    }
                    SessionEvent::DocumentOpened { path } if path == "big.txt" => return,
                    _ => {}
                }
            }
            driver.flush(&mut session).await;
        }
    })
    .await;
    assert!(cut, "the link was cut while the document was arriving");
    opened.expect("the joiner got the document within two minutes");
    let received = session.documents["big.txt"].rope.to_string();
    assert!(
        received == text,
        "the joiner's copy differs: {} bytes of {}",
        received.len(),
        text.len()
    );
    // The host resumed rather than ended: an edit still goes through it.
    let op = cotype::text::Operation::insert(
        session.documents["big.txt"].rope.len_chars(),
        0,
        "after the cut ",
    )
    .unwrap();
    session.local_edit("big.txt", op).unwrap();
    cotype::client::headless::run_until(
        &mut driver,
        &mut session,
        Duration::from_secs(60),
        |s, _| Ok(s.is_synced("big.txt")),
    )
    .await
    .expect("the host acknowledges an edit after resuming");
}

/// A host behind a proxy, a participant straight at the relay: the proxy cuts the host
/// alone. Returns the participant and what keeps the host and the proxy alive.
async fn host_behind_a_proxy(
    dir: &std::path::Path,
    relay: RelayConfig,
) -> (Participant, CuttableProxy, impl Sized) {
    write_tree(
        dir,
        &[
            ("notes.txt", b"hello\n"),
            ("src/main.rs", b"fn main() {}\n"),
        ],
    );
    let relay = start_relay(relay).await;
    let proxy = CuttableProxy::start(relay.address).await;
    let (link, control) = start_host_with(dir, proxy.address, "host", &[], Approval::Auto).await;
    let participant = Participant::join(&via(&link, relay.address), "asker")
        .await
        .unwrap();
    (participant, proxy, (relay, control))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_made_while_the_host_reconnects_is_answered_once_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let (mut participant, proxy, _keep) =
        host_behind_a_proxy(dir.path(), RelayConfig::default()).await;
    assert_eq!(participant.list_files().await.unwrap().len(), 2);

    // The host's network is down for 3 s; `cotype ls` asks in the middle of it.
    proxy.cut_for(Duration::from_secs(3));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let asked = Instant::now();
    let files = tokio::time::timeout(Duration::from_secs(20), participant.list_files())
        .await
        .expect("answered once the host is back, not after the 30 s a silent host gets")
        .expect("the host's answer");
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["notes.txt", "src/main.rs"]);
    println!("answered after {:.1} s", asked.elapsed().as_secs_f64());
    // And the session goes on as before.
    assert_eq!(participant.list_files().await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_made_while_the_host_is_gone_for_good_fails_when_its_grace_ends() {
    let dir = tempfile::tempdir().unwrap();
    let relay = RelayConfig {
        host_grace: Duration::from_secs(2),
        ..RelayConfig::default()
    };
    let (mut participant, proxy, _keep) = host_behind_a_proxy(dir.path(), relay).await;
    proxy.cut_for(Duration::from_secs(600));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let error = tokio::time::timeout(Duration::from_secs(20), participant.list_files())
        .await
        .expect("told within the relay's grace period, not after the host timeout")
        .expect_err("no host to answer");
    assert!(
        matches!(&error, ClientError::SessionGone(reason) if reason.contains("did not come back")),
        "the error says the host is gone: {error:?}"
    );
}
