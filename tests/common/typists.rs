//! Participants typing through a relay cluster (Session + Driver, as the terminal UI
//! runs them): each types unique tokens and reconnects by itself, so a test or bench can
//! kill, drain and restart nodes under them and then check that every token is on the
//! host's disk exactly once. Used by tests/relay_cluster.rs and benches/relay_cluster.rs.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cotype::client::connection::Connection;
use cotype::client::driver::{Driver, DriverEvent, apply};
use cotype::client::session::Session;
use cotype::link::Link;
use cotype::text::Operation;
use tokio::time::Instant;

pub const PATH: &str = "shared.txt";

/// One participant typing unique tokens, reconnecting by itself as the UI does.
struct Typist {
    index: usize,
    connection: Connection,
    session: Session,
    typed: Arc<Mutex<Vec<String>>>,
    synced: Arc<Mutex<bool>>,
    reconnects: Arc<Mutex<Vec<String>>>,
}

impl Typist {
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
                event = self.connection.next() => {
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
            self.connection.flush(&mut self.session).await;
            *self.synced.lock().unwrap() = self.session.is_synced(PATH);
        }
    }
}

pub async fn join_and_open(link: &Link, name: &str) -> (Driver, Session) {
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
pub struct Crowd {
    typing: tokio::sync::watch::Sender<bool>,
    stop: tokio::sync::watch::Sender<bool>,
    /// Per typist: the tokens it typed.
    pub typed: Vec<Arc<Mutex<Vec<String>>>>,
    synced: Vec<Arc<Mutex<bool>>>,
    /// Per typist: why its connection ended each time ("move" for a Move).
    pub reconnects: Vec<Arc<Mutex<Vec<String>>>>,
    tasks: Vec<tokio::task::JoinHandle<Result<(), String>>>,
}

impl Crowd {
    pub async fn start(links: &[Link]) -> Crowd {
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
                connection: Connection::new(driver),
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

    pub fn check_running(&mut self) {
        for task in &self.tasks {
            assert!(!task.is_finished(), "a typist stopped early");
        }
    }

    /// Stops typing, waits until every typist has its edits acknowledged, and returns
    /// every token typed.
    pub async fn settle(&mut self) -> Vec<String> {
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
pub async fn assert_on_disk_once(link: &Link, dir: &std::path::Path, tokens: &[String]) {
    assert!(tokens.len() > 20, "too little was typed: {}", tokens.len());
    let text = saved_text(link, dir).await;
    let words: Vec<&str> = text.split_whitespace().collect();
    for token in tokens {
        let count = words.iter().filter(|w| **w == token).count();
        assert_eq!(count, 1, "token {token} is on disk {count} times");
    }
}

/// A fresh participant saves the document; the host's file as it then is.
pub async fn saved_text(link: &Link, dir: &std::path::Path) -> String {
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
    std::fs::read_to_string(dir.join(PATH)).unwrap()
}

/// Of the tokens typed, how many are missing from `text` and how many are there more
/// than once.
pub fn lost_and_doubled(text: &str, tokens: &[String]) -> (usize, usize) {
    let mut counts = std::collections::HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word).or_insert(0usize) += 1;
    }
    let lost = tokens
        .iter()
        .filter(|t| !counts.contains_key(t.as_str()))
        .count();
    let doubled = tokens
        .iter()
        .filter(|t| counts.get(t.as_str()).is_some_and(|c| *c > 1))
        .count();
    (lost, doubled)
}

pub fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(PATH), "start\n").unwrap();
    dir
}
