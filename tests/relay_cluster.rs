//! The relay as a cluster: nodes sharing sessions through a real Redis, a real HAProxy in
//! front, real `cotype relay` processes killed with -9 and drained with SIGTERM, and
//! participants (Session + Driver, as the terminal UI runs them) typing throughout. At
//! the end every token typed must be on the host's disk exactly once.

#[path = "common/cluster.rs"]
mod cluster;
mod common;
#[path = "common/process.rs"]
mod process;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cluster::{Haproxy, Node, RedisServer};
use common::{start_host, via};
use cotype::client::driver::{Driver, DriverEvent, apply};
use cotype::client::session::Session;
use cotype::link::Link;
use cotype::text::Operation;
use tokio::time::Instant;

const PATH: &str = "shared.txt";

type Reconnect = std::pin::Pin<Box<dyn std::future::Future<Output = (Driver, DriverEvent)> + Send>>;

/// One participant typing unique tokens, reconnecting by itself as the UI does.
struct Typist {
    index: usize,
    driver: Option<Driver>,
    reconnect: Option<Reconnect>,
    session: Session,
    typed: Arc<Mutex<Vec<String>>>,
    synced: Arc<Mutex<bool>>,
    reconnects: Arc<Mutex<Vec<String>>>,
}

impl Typist {
    /// The next driver event; safe to drop at any await point and call again.
    async fn next(&mut self) -> DriverEvent {
        if self.reconnect.is_none()
            && let Some(mut driver) = self.driver.take_if(|driver| !driver.is_connected())
        {
            self.reconnect = Some(Box::pin(async move {
                let event = driver.next().await;
                (driver, event)
            }));
        }
        if let Some(reconnect) = &mut self.reconnect {
            let (driver, event) = reconnect.await;
            self.reconnect = None;
            self.driver = Some(driver);
            return event;
        }
        match &mut self.driver {
            Some(driver) => driver.next().await,
            None => std::future::pending().await,
        }
    }

    fn type_token(&mut self) {
        let Some(document) = self.session.documents.get(PATH) else {
            return;
        };
        let len = document.rope.len_chars();
        let mut typed = self.typed.lock().unwrap();
        let token = format!(" t{}x{} ", self.index, typed.len());
        let op = Operation::insert(len, len, &token).expect("an insert");
        self.session.local_edit(PATH, op).expect("a local edit");
        typed.push(token.trim().to_string());
    }

    async fn run(
        mut self,
        mut typing: tokio::sync::watch::Receiver<bool>,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), String> {
        let mut next_key = Instant::now() + Duration::from_millis(50);
        loop {
            let type_now = *typing.borrow();
            tokio::select! {
                _ = tokio::time::sleep_until(next_key), if type_now => {
                    self.type_token();
                    next_key = Instant::now() + Duration::from_millis(120 + 40 * self.index as u64);
                }
                event = self.next() => {
                    match &event {
                        DriverEvent::Disconnected { reason } => self.reconnects.lock().unwrap().push(reason.clone()),
                        DriverEvent::Relay(cotype::protocol::control::FromRelay::Move { .. }) => {
                            self.reconnects.lock().unwrap().push("move".into());
                        }
                        _ => {}
                    }
                    if let Some(fatal) = apply(&mut self.session, event) {
                        return Err(format!("typist {} lost the session: {fatal}", self.index));
                    }
                    while self.session.next_event().is_some() {}
                }
                _ = typing.changed() => {}
                _ = stop.changed() => return Ok(()),
            }
            if let Some(driver) = &mut self.driver {
                driver.flush(&mut self.session).await;
            }
            *self.synced.lock().unwrap() = self.session.is_synced(PATH);
        }
    }
}

async fn join_and_open(link: &Link, name: &str) -> (Driver, Session) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let attempt = async {
            let (mut driver, mut session) =
                Driver::join(link, name).await.map_err(|e| e.to_string())?;
            cotype::client::headless::open(&mut driver, &mut session, PATH)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((driver, session))
        };
        match tokio::time::timeout(Duration::from_secs(20), attempt).await {
            Ok(Ok(joined)) => return joined,
            Ok(Err(e)) if Instant::now() > deadline => panic!("{name} cannot join: {e}"),
            _ if Instant::now() > deadline => panic!("{name} cannot join: timed out"),
            _ => tokio::time::sleep(Duration::from_millis(300)).await,
        }
    }
}

/// Typists started on the given links, and what they typed.
struct Crowd {
    typing: tokio::sync::watch::Sender<bool>,
    stop: tokio::sync::watch::Sender<bool>,
    typed: Vec<Arc<Mutex<Vec<String>>>>,
    synced: Vec<Arc<Mutex<bool>>>,
    reconnects: Vec<Arc<Mutex<Vec<String>>>>,
    tasks: Vec<tokio::task::JoinHandle<Result<(), String>>>,
}

impl Crowd {
    async fn start(links: &[Link]) -> Crowd {
        let (typing, typing_rx) = tokio::sync::watch::channel(true);
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let mut crowd = Crowd {
            typing,
            stop,
            typed: Vec::new(),
            synced: Vec::new(),
            reconnects: Vec::new(),
            tasks: Vec::new(),
        };
        for (index, link) in links.iter().enumerate() {
            let (driver, session) = join_and_open(link, &format!("typist{index}")).await;
            let typist = Typist {
                index,
                driver: Some(driver),
                reconnect: None,
                session,
                typed: Arc::new(Mutex::new(Vec::new())),
                synced: Arc::new(Mutex::new(false)),
                reconnects: Arc::new(Mutex::new(Vec::new())),
            };
            crowd.typed.push(typist.typed.clone());
            crowd.synced.push(typist.synced.clone());
            crowd.reconnects.push(typist.reconnects.clone());
            crowd
                .tasks
                .push(tokio::spawn(typist.run(typing_rx.clone(), stop_rx.clone())));
        }
        crowd
    }

    fn check_running(&mut self) {
        for task in &self.tasks {
            assert!(!task.is_finished(), "a typist stopped early");
        }
    }

    /// Stops typing, waits until every typist has its edits acknowledged, and returns
    /// every token typed.
    async fn settle(&mut self) -> Vec<String> {
        self.typing.send_replace(false);
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            for task in &self.tasks {
                if task.is_finished() {
                    let task = self.tasks.iter_mut().find(|t| t.is_finished()).unwrap();
                    panic!("a typist ended: {:?}", task.await);
                }
            }
            if self.synced.iter().all(|s| *s.lock().unwrap()) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "typists did not get their edits acknowledged"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        self.stop.send_replace(true);
        self.typed
            .iter()
            .flat_map(|t| t.lock().unwrap().clone())
            .collect()
    }
}

/// A fresh participant saves the document; the host's file must then hold every token
/// exactly once.
async fn assert_on_disk_once(link: &Link, dir: &std::path::Path, tokens: &[String]) {
    assert!(tokens.len() > 20, "too little was typed: {}", tokens.len());
    let (mut driver, mut session) = join_and_open(link, "checker").await;
    session.save(PATH);
    cotype::client::headless::run_until(
        &mut driver,
        &mut session,
        Duration::from_secs(30),
        |_, event| {
            Ok(matches!(
                event,
                Some(cotype::client::session::SessionEvent::Saved { by: None, .. })
            ))
        },
    )
    .await
    .expect("the checker saves");
    let text = std::fs::read_to_string(dir.join(PATH)).unwrap();
    let words: Vec<&str> = text.split_whitespace().collect();
    for token in tokens {
        let count = words.iter().filter(|w| **w == token).count();
        assert_eq!(count, 1, "token {token} is on disk {count} times");
    }
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(PATH), "start\n").unwrap();
    dir
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

/// Through HAProxy (round-robin, no stickiness): the node holding the host is killed with
/// -9, then another node drains on SIGTERM (/healthz 503, members told to move). Every
/// member comes back and nothing typed is lost or doubled.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_nine_and_drain_through_the_balancer() {
    let redis = RedisServer::start();
    let mut nodes = vec![
        Node::start("n1", &redis),
        Node::start("n2", &redis),
        Node::start("n3", &redis),
    ];
    let balancer = Haproxy::start(&nodes.iter().collect::<Vec<_>>());
    let dir = project();
    let link = start_host(dir.path(), balancer.address(), "host", &[]).await;
    let links = vec![link.clone(); 4];
    let mut crowd = Crowd::start(&links).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let with_connections = nodes
        .iter()
        .filter(|n| n.metric("cotype_relay_connections_open") > 0.0)
        .count();
    assert!(with_connections >= 2, "the balancer used one node only");

    // The home dies.
    let home = nodes
        .iter()
        .position(|n| n.metric("cotype_cluster_homes") == 1.0)
        .expect("a node homes the session");
    let killed_at = Instant::now();
    nodes[home].kill_nine();
    let taken_over = |nodes: &[Node]| {
        nodes
            .iter()
            .enumerate()
            .any(|(i, n)| i != home && n.metric("cotype_cluster_homes") == 1.0)
    };
    while !taken_over(&nodes) {
        assert!(
            killed_at.elapsed() < Duration::from_secs(20),
            "no node took the session over"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("home taken over {:?} after kill -9", killed_at.elapsed());
    tokio::time::sleep(Duration::from_secs(4)).await;
    crowd.check_running();

    // Another node drains.
    let draining = (0..3).find(|i| *i != home).unwrap();
    nodes[draining].running().signal(15);
    let deadline = Instant::now() + Duration::from_secs(5);
    while nodes[draining].http("/healthz").0 != 503 {
        assert!(Instant::now() < deadline, "/healthz did not turn 503");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let exited = nodes[draining]
        .running()
        .wait_exit(Duration::from_secs(15))
        .expect("the drained node exits");
    assert!(exited.success(), "drain exit: {exited:?}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    crowd.check_running();
    let tokens = crowd.settle().await;
    let moved: usize = crowd
        .reconnects
        .iter()
        .map(|r| r.lock().unwrap().len())
        .sum();
    assert!(
        moved > 0,
        "nobody had to reconnect: the test proved nothing"
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
    let Err(cotype::client::ClientError::Closed(Some(reason))) = refused.as_ref().map(|_| ())
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
