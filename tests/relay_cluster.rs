//! The relay as a cluster: nodes sharing sessions through a real Redis, a real HAProxy in
//! front, real `cotype relay` processes killed with -9 and drained with SIGTERM, and
//! participants (Session + Driver, as the terminal UI runs them) typing throughout. At
//! the end every token typed must be on the host's disk exactly once.

#[path = "common/cluster.rs"]
mod cluster;
mod common;
#[path = "common/process.rs"]
mod process;
#[path = "common/relay_process.rs"]
mod relay_process;
#[path = "common/typists.rs"]
mod typists;

use std::time::Duration;

use cluster::{Haproxy, Node, RedisServer};
use common::{start_host, via};
use cotype::client::driver::Driver;
use tokio::time::Instant;
use typists::{Crowd, assert_on_disk_once, project};

/// Nodes `{prefix}1` to `{prefix}3` on `redis`, and HAProxy in front of them.
fn three_nodes_behind_haproxy(redis: &RedisServer, prefix: &str) -> (Vec<Node>, Haproxy) {
    let nodes: Vec<Node> = (1..=3)
        .map(|i| Node::start(&format!("{prefix}{i}"), redis))
        .collect();
    let balancer = Haproxy::start(&nodes.iter().collect::<Vec<_>>());
    (nodes, balancer)
}

/// Host on node A, participants on nodes B and C: frames cross through Redis, edits
/// converge, and the nodes' metrics show members held away from the home.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn members_on_three_nodes_converge() {
    let redis = RedisServer::start();
    let monitor = redis.monitor();
    let a = Node::start("a", &redis);
    let b = Node::start("b", &redis);
    let c = Node::start("c", &redis);
    let dir = project();
    let link = start_host(dir.path(), a.address(), "host", &[]).await;
    let links = [
        via(&link, b.address()),
        via(&link, c.address()),
        via(&link, b.address()),
        via(&link, a.address()),
    ];
    let mut crowd = Crowd::start(&links).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    crowd.check_running();
    assert_eq!(a.metric("cotype_cluster_homes"), 1.0);
    let mut b = b;
    let mut a = a;
    assert_eq!(
        b.metric("cotype_cluster_members"),
        2.0,
        "{}\n{}\n{:?}",
        b.running().stderr_so_far().join("\n"),
        a.running().stderr_so_far().join("\n"),
        crowd
            .reconnects
            .iter()
            .map(|r| r.lock().unwrap().clone())
            .collect::<Vec<_>>()
    );
    assert_eq!(c.metric("cotype_cluster_members"), 1.0);
    assert!(b.metric("cotype_cluster_published_total") > 10.0);
    let tokens = crowd.settle().await;
    assert_on_disk_once(&via(&link, c.address()), dir.path(), &tokens).await;
    // Everything Redis saw: records and sealed frames, never what was typed, the file's
    // text or the link's secret.
    let seen = monitor.stop();
    assert!(
        seen.contains("PUBLISH") && seen.contains("cotype:s:{"),
        "MONITOR captured nothing"
    );
    for token in &tokens {
        assert!(!seen.contains(&format!("{token} ")), "Redis saw {token}");
    }
    assert!(!seen.contains("start"), "Redis saw the file's text");
    let keys = cotype::crypto::SessionKeys::derive(&link.secret, &link.session);
    let token_hex: String = keys
        .admission_token()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let token_escaped: String = keys
        .admission_token()
        .iter()
        .map(|b| format!("\\x{b:02x}"))
        .collect();
    assert!(
        !seen.contains(&token_hex) && !seen.contains(&token_escaped[..40]),
        "Redis saw the admission token"
    );
}

/// Through HAProxy (round-robin, no stickiness), mid-typing: the node holding the host
/// is killed with -9 (and started again), then the node holding the most participants
/// (of a session now homed elsewhere). Every member comes back and nothing typed is lost
/// or doubled. (Drains: `rolling_restart_of_every_node`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_nine_the_home_then_a_members_node() {
    let redis = RedisServer::start();
    let (mut nodes, balancer) = three_nodes_behind_haproxy(&redis, "n");
    let dir = project();
    let link = start_host(dir.path(), balancer.address(), "host", &[]).await;
    let mut crowd = Crowd::start(&vec![link.clone(); 4]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let with_connections = nodes
        .iter()
        .filter(|n| n.metric("cotype_relay_connections_open") > 0.0)
        .count();
    assert!(with_connections >= 2, "the balancer used one node only");
    let homed = |nodes: &[Node]| {
        nodes
            .iter()
            .position(|n| n.process.is_some() && n.metric("cotype_cluster_homes") == 1.0)
    };

    // The home dies.
    let home = homed(&nodes).expect("a node homes the session");
    let killed_at = Instant::now();
    nodes[home].kill_nine();
    let new_home = loop {
        if let Some(new_home) = homed(&nodes) {
            break new_home;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(20),
            "no node took the session over"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    eprintln!("home taken over {:?} after kill -9", killed_at.elapsed());
    nodes[home].restart();
    tokio::time::sleep(Duration::from_secs(4)).await;
    crowd.check_running();

    // Then the node where the most participants are (members of a session homed elsewhere).
    let (busiest, members) = (0..nodes.len())
        .filter(|i| *i != new_home)
        .map(|i| (i, nodes[i].metric("cotype_cluster_members")))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    assert!(members >= 1.0, "no participant away from the home");
    eprintln!(
        "killing {} with {members} participants",
        nodes[busiest].name
    );
    let reconnects = |crowd: &Crowd| -> Vec<usize> {
        crowd
            .reconnects
            .iter()
            .map(|r| r.lock().unwrap().len())
            .collect()
    };
    let before = reconnects(&crowd);
    nodes[busiest].kill_nine();
    tokio::time::sleep(Duration::from_secs(6)).await;
    crowd.check_running();
    let tokens = crowd.settle().await;
    let dropped = reconnects(&crowd)
        .iter()
        .zip(&before)
        .filter(|(after, before)| after > before)
        .count();
    assert!(
        dropped as f64 >= members,
        "{dropped} typists reconnected after the second kill, {members} were on that node"
    );
    assert_on_disk_once(&link, dir.path(), &tokens).await;
}

/// Redis is killed and started again (empty) mid-session: the home keeps serving its
/// local members, members on the other node are moved and come back when Redis does;
/// the metrics show the outage; nothing typed is lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_restart_mid_session() {
    let mut redis = RedisServer::start();
    let a = Node::start("a", &redis);
    let b = Node::start("b", &redis);
    let dir = project();
    let link = start_host(dir.path(), a.address(), "host", &[]).await;
    let links = [via(&link, a.address()), via(&link, b.address())];
    let mut crowd = Crowd::start(&links).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.kill();
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(a.metric("cotype_cluster_redis_up"), 0.0);
    assert!(a.metric("cotype_cluster_redis_outages_total") >= 1.0);
    // A joiner at the node that cannot reach Redis is turned away with the reason.
    let refused = Driver::join(&via(&link, b.address()), "late").await;
    let Err(cotype::client::ClientError::Moved {
        reason: Some(reason),
        ..
    }) = refused.as_ref().map(|_| ())
    else {
        panic!("a join while Redis is down: {:?}", refused.err());
    };
    assert!(reason.contains("cluster store"), "{reason}");
    let local_typed = crowd.typed[0].lock().unwrap().len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        crowd.typed[0].lock().unwrap().len() > local_typed,
        "the member on the home stopped typing"
    );
    crowd.check_running();
    redis.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while a.metric("cotype_cluster_redis_up") != 1.0 || b.metric("cotype_cluster_redis_up") != 1.0 {
        assert!(
            Instant::now() < deadline,
            "the nodes did not see Redis back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(4)).await;
    crowd.check_running();
    let tokens = crowd.settle().await;
    assert_on_disk_once(&via(&link, b.address()), dir.path(), &tokens).await;
    assert!(
        b.metric("cotype_cluster_members") >= 1.0
            || b.metric("cotype_cluster_moves_sent_total") >= 1.0
    );
}

/// A rolling restart through HAProxy while four participants type: each of the three
/// nodes in turn drains on SIGTERM (/healthz 503, members told to move), exits, starts
/// again and turns healthy before the next. Every typist was told to move at least once,
/// none gave up, and every token typed is on the host's disk exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rolling_restart_of_every_node() {
    let redis = RedisServer::start();
    let (mut nodes, balancer) = three_nodes_behind_haproxy(&redis, "r");
    let dir = project();
    let link = start_host(dir.path(), balancer.address(), "host", &[]).await;
    let mut crowd = Crowd::start(&vec![link.clone(); 4]).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    for node in &mut nodes {
        let typed_before: usize = crowd.typed.iter().map(|t| t.lock().unwrap().len()).sum();
        node.running().signal(15);
        let deadline = Instant::now() + Duration::from_secs(5);
        while node.http("/healthz").0 != 503 {
            assert!(
                Instant::now() < deadline,
                "{}: /healthz did not turn 503",
                node.name
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let exited = node
            .running()
            .wait_exit(Duration::from_secs(15))
            .unwrap_or_else(|| panic!("{} did not exit after draining", node.name));
        assert!(exited.success(), "{} drain exit: {exited:?}", node.name);
        node.restart();
        // HAProxy marks it up again after two good checks (300 ms apart).
        tokio::time::sleep(Duration::from_secs(3)).await;
        crowd.check_running();
        let typed_after: usize = crowd.typed.iter().map(|t| t.lock().unwrap().len()).sum();
        assert!(
            typed_after > typed_before,
            "typing stopped while {} restarted",
            node.name
        );
    }
    let homes: f64 = nodes.iter().map(|n| n.metric("cotype_cluster_homes")).sum();
    assert_eq!(homes, 1.0, "the session is homed on exactly one node");
    let tokens = crowd.settle().await;
    for (index, reasons) in crowd.reconnects.iter().enumerate() {
        let reasons = reasons.lock().unwrap();
        assert!(
            reasons.iter().any(|r| r == "move"),
            "typist {index} was never told to move: {reasons:?}"
        );
    }
    assert_on_disk_once(&link, dir.path(), &tokens).await;
}

/// The leak test through a cluster: the host on node A, two participants on B and C read
/// files whose names and contents carry markers. No marker, name or secret is in any
/// frame any of the three nodes sent or received (each node's tap), nor in anything
/// Redis ran (`redis-cli MONITOR`), though the files did cross Redis.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nothing_readable_crosses_the_cluster() {
    use common::{contains, start_relay, write_tree};
    use cotype::client::Participant;
    let markers: [&str; 5] = [
        "MARKER-FILENAME-7f3a",
        "MARKER-CONTENT-91c2",
        "MARKER-HOSTNAME-4be0",
        "MARKER-GUESTNAME-d85e",
        "MARKER-DIRNAME-0a9b",
    ];
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            (
                "MARKER-FILENAME-7f3a.rs",
                b"let x = \"MARKER-CONTENT-91c2\";\n",
            ),
            ("MARKER-DIRNAME-0a9b/lib.rs", b"// MARKER-CONTENT-91c2\n"),
        ],
    );
    let redis = RedisServer::start();
    let monitor = redis.monitor();
    let mut nodes = Vec::new();
    for name in ["la", "lb", "lc"] {
        let node = start_relay(cotype::relay::RelayConfig::default()).await;
        node.relay
            .join_cluster(cotype::relay::cluster::ClusterConfig::new(
                redis.url(),
                name,
            ))
            .await
            .expect("the node joins the cluster");
        nodes.push(node);
    }
    let link = start_host(dir.path(), nodes[0].address, "MARKER-HOSTNAME-4be0", &[]).await;
    let mut guest = Participant::join(&via(&link, nodes[1].address), "MARKER-GUESTNAME-d85e")
        .await
        .unwrap();
    let mut other = Participant::join(&via(&link, nodes[2].address), "second")
        .await
        .unwrap();
    assert!(guest.members().any(|m| m.name == "MARKER-HOSTNAME-4be0"));
    assert_eq!(guest.list_files().await.unwrap().len(), 2);
    let mut contents = Vec::new();
    guest
        .read_file("MARKER-FILENAME-7f3a.rs", &mut contents)
        .await
        .unwrap();
    assert!(
        contains(&contents, b"MARKER-CONTENT-91c2"),
        "the file crossed"
    );
    other.list_files().await.unwrap();

    let seen = monitor.stop();
    assert!(seen.contains("PUBLISH"), "nothing crossed Redis");
    let secret_text = link.to_url();
    let secret_text = secret_text.split('#').nth(1).unwrap().to_string();
    let secret_hex: String = link.secret.0.iter().map(|b| format!("{b:02x}")).collect();
    let secret_escaped: String = link.secret.0[..10]
        .iter()
        .map(|b| format!("\\x{b:02x}"))
        .collect();
    for marker in markers {
        assert!(!seen.contains(marker), "Redis saw {marker}");
    }
    for secret in [&secret_text, &secret_hex, &secret_escaped] {
        assert!(!seen.contains(secret), "Redis saw the link's secret");
    }
    for node in &nodes {
        let tapped = node.tapped.lock().unwrap().clone();
        assert!(tapped.len() > 5, "the tap saw the traffic");
        for (direction, frame) in &tapped {
            for marker in markers {
                assert!(
                    !contains(frame, marker.as_bytes()),
                    "{marker} crossed a node in the clear ({direction:?})"
                );
            }
            assert!(
                !contains(frame, &link.secret.0),
                "the raw secret crossed a node"
            );
            assert!(
                !contains(frame, secret_text.as_bytes()),
                "the link's secret crossed a node"
            );
        }
    }
}

/// The home's admission limits hold for joiners on every node: with `--max-pending 2`, two
/// joiners on node B wait for the host on A, and a third joiner, on B or on A, is turned
/// away with the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_waiting_room_refuses_joiners_on_any_node() {
    use cotype::crypto::{SessionKeys, admission_verifier};
    use cotype::link::{Secret, SessionId};
    use cotype::protocol::control::{ErrorCode, FromRelay, ToRelay};
    use futures_util::StreamExt;
    use relay_process::{next_control, send_control, ws_from};

    let redis = RedisServer::start();
    let a = Node::start_with("wa", &redis, &["--max-pending", "2"]);
    let b = Node::start_with("wb", &redis, &["--max-pending", "2"]);
    let session = SessionId::random();
    let keys = SessionKeys::derive(&Secret::random(), &session);
    let local = "127.0.0.1".parse().unwrap();
    let (mut host_tx, mut host_rx) = ws_from(local, a.address()).await.unwrap().split();
    send_control(
        &mut host_tx,
        &ToRelay::Create {
            session: session.0,
            verifier: keys.admission_verifier(),
            resume_verifier: admission_verifier(&[9; 32]),
        },
    )
    .await;
    assert!(matches!(
        next_control(&mut host_rx).await,
        Some(FromRelay::Welcome { .. })
    ));
    let join = ToRelay::Join {
        session: session.0,
        token: keys.admission_token(),
    };
    let mut waiting = Vec::new();
    for _ in 0..2 {
        let (mut tx, mut rx) = ws_from(local, b.address()).await.unwrap().split();
        send_control(&mut tx, &join).await;
        let welcome = next_control(&mut rx).await;
        assert!(
            matches!(welcome, Some(FromRelay::Welcome { .. })),
            "{welcome:?}"
        );
        waiting.push((tx, rx));
    }
    for node in [&b, &a] {
        let (mut tx, mut rx) = ws_from(local, node.address()).await.unwrap().split();
        send_control(&mut tx, &join).await;
        match next_control(&mut rx).await {
            Some(FromRelay::Error {
                code: ErrorCode::SessionFull,
                message,
                ..
            }) => assert!(message.contains("waiting to join"), "{message}"),
            other => panic!("a third joiner on {} got {other:?}", node.name),
        }
    }
}

/// The host's grace period is in Redis, not only in its home's memory: two hosts leave a
/// node (`--host-grace 4`) that is then killed with -9. One comes back within the grace
/// period, to another node, and resumes. The other does not, and at the end of its grace
/// period its session is over everywhere, as on a single relay: a joiner is told it
/// ended (not to move while waiting for a host that will not come), and the host coming
/// back late is told so too and would create it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_hosts_grace_period_outlives_its_home() {
    use cotype::crypto::{SessionKeys, admission_verifier};
    use cotype::link::{Secret, SessionId};
    use cotype::protocol::control::{ErrorCode, FromRelay, ToRelay};
    use futures_util::StreamExt;
    use relay_process::{next_control, send_control, ws_from};

    let redis = RedisServer::start();
    let grace = ["--host-grace", "4"];
    let mut a = Node::start_with("ga", &redis, &grace);
    let b = Node::start_with("gb", &redis, &grace);
    let c = Node::start_with("gc", &redis, &grace);
    let local = "127.0.0.1".parse().unwrap();
    let mut sessions = Vec::new();
    for resume in [[1u8; 32], [2u8; 32]] {
        let session = SessionId::random();
        let keys = SessionKeys::derive(&Secret::random(), &session);
        let (mut tx, mut rx) = ws_from(local, a.address()).await.unwrap().split();
        send_control(
            &mut tx,
            &ToRelay::Create {
                session: session.0,
                verifier: keys.admission_verifier(),
                resume_verifier: admission_verifier(&resume),
            },
        )
        .await;
        assert!(matches!(
            next_control(&mut rx).await,
            Some(FromRelay::Welcome { .. })
        ));
        sessions.push((session, keys, resume, tx, rx));
    }
    // Both hosts' connections drop; then their home dies.
    let mut sessions: Vec<_> = sessions
        .into_iter()
        .map(|(session, keys, resume, tx, rx)| {
            drop((tx, rx));
            (session, keys, resume)
        })
        .collect();
    let left = Instant::now();
    tokio::time::sleep(Duration::from_millis(500)).await;
    a.kill_nine();
    let ask = |node: std::net::SocketAddr, message: ToRelay| async move {
        let (mut tx, mut rx) = ws_from(local, node).await.unwrap().split();
        send_control(&mut tx, &message).await;
        (next_control(&mut rx).await, tx, rx)
    };

    // Within the grace period: the first host resumes on another node.
    let (resumed, _tx, _rx) = ask(
        b.address(),
        ToRelay::Resume {
            session: sessions[0].0.0,
            resume_token: sessions[0].2,
        },
    )
    .await;
    assert!(
        matches!(resumed, Some(FromRelay::Welcome { .. })),
        "the host back within its grace period got {resumed:?}"
    );

    // Past it (4 s after the hosts left): the second session is over on every node.
    tokio::time::sleep_until(left + Duration::from_millis(4500)).await;
    let (session, keys, resume) = sessions.pop().unwrap();
    let (joined, ..) = ask(
        c.address(),
        ToRelay::Join {
            session: session.0,
            token: keys.admission_token(),
        },
    )
    .await;
    assert!(
        matches!(
            joined,
            Some(FromRelay::Error {
                code: ErrorCode::NoSession,
                ..
            })
        ),
        "a joiner after the grace period got {joined:?}"
    );
    let (late, ..) = ask(
        b.address(),
        ToRelay::Resume {
            session: session.0,
            resume_token: resume,
        },
    )
    .await;
    assert!(
        matches!(
            late,
            Some(FromRelay::Error {
                code: ErrorCode::NoSession,
                ..
            })
        ),
        "the host back after its grace period got {late:?}"
    );
    // The session whose host came back lives on at its new home.
    let (session, keys, _) = &sessions[0];
    let (joined, ..) = ask(
        c.address(),
        ToRelay::Join {
            session: session.0,
            token: keys.admission_token(),
        },
    )
    .await;
    assert!(
        matches!(joined, Some(FromRelay::Welcome { .. })),
        "a joiner of the resumed session got {joined:?}"
    );
}

/// Members told to move (their node drains) connect again at once, each at a random
/// moment within the time the relay gave (`Move { within_ms }`, 1 s): all back within it
/// (plus the time to join), and spread over it rather than all at the same instant (a
/// stampede on the next node) or after a backoff. HAProxy sends every connection to the
/// first node up; the operator disables that node in HAProxy, then sends it SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn drained_members_come_back_spread_within_the_move_window() {
    use cotype::client::driver::{DriverEvent, apply};
    use cotype::protocol::control::FromRelay;

    const MEMBERS: usize = 8;
    let redis = RedisServer::start();
    let a = Node::start("ma", &redis);
    let mut b = Node::start("mb", &redis);
    let c = Node::start("mc", &redis);
    let balancer = Haproxy::start_first(&[&b, &c]);
    let dir = project();
    let link = start_host(dir.path(), a.address(), "host", &[]).await;
    let link = via(&link, balancer.address());
    let (back, mut returns) = tokio::sync::mpsc::unbounded_channel();
    for index in 0..MEMBERS {
        let (mut driver, mut session) =
            typists::join_and_open(&link, &format!("mover{index}")).await;
        let back = back.clone();
        tokio::spawn(async move {
            let mut moved = None;
            loop {
                match driver.next().await {
                    DriverEvent::Relay(FromRelay::Move { within_ms }) => {
                        moved.get_or_insert((Instant::now(), within_ms));
                    }
                    event @ DriverEvent::Reconnected { .. } => {
                        let _ = back.send((moved.take(), Instant::now()));
                        apply(&mut session, event);
                    }
                    event => {
                        if apply(&mut session, event).is_some() {
                            return;
                        }
                    }
                }
            }
        });
    }
    assert_eq!(b.metric("cotype_cluster_members"), MEMBERS as f64);
    balancer.disable("mb");
    b.running().signal(15);
    let mut arrivals = Vec::new();
    for _ in 0..MEMBERS {
        let (moved, at) = tokio::time::timeout(Duration::from_secs(20), returns.recv())
            .await
            .expect("every member comes back")
            .unwrap();
        let (moved_at, within_ms) = moved.expect("told to move before reconnecting");
        let took = at - moved_at;
        eprintln!("back {took:?} after the move");
        assert!(
            took < Duration::from_millis(u64::from(within_ms)) + Duration::from_millis(1500),
            "a member came back {took:?} after being told to move within {within_ms} ms"
        );
        arrivals.push(at);
    }
    let spread = *arrivals.iter().max().unwrap() - *arrivals.iter().min().unwrap();
    assert!(
        spread >= Duration::from_millis(300),
        "{MEMBERS} members came back within {spread:?} of each other: not spread over the move window"
    );
    assert_eq!(c.metric("cotype_cluster_members"), MEMBERS as f64);
}
