//! The host's link dies while it sends: the host resumes the session instead of ending
//! it, and what it was sending reaches the participant after all.

mod common;

use std::time::Duration;

use common::{CuttableProxy, start_host_with, start_relay, write_tree};
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
