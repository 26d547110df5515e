//! Shared setup for the integration tests: a real relay on port 0, a real host on a real
//! folder, real participants over real WebSockets. Nothing here is mocked.
#![allow(dead_code, clippy::type_complexity)]

pub mod tmux;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use cotype::host::session::{Approval, HostControl};
use cotype::host::{HostOptions, HostSession};
use cotype::link::Link;
use cotype::relay::{Relay, RelayConfig, Tap, TapDirection};

/// Every frame the relay received or sent, in order.
pub type TappedFrames = Arc<Mutex<Vec<(TapDirection, Vec<u8>)>>>;

pub struct TestRelay {
    pub address: SocketAddr,
    pub relay: Relay,
    pub tapped: TappedFrames,
}

pub async fn start_relay(config: RelayConfig) -> TestRelay {
    let tapped = Arc::new(Mutex::new(Vec::new()));
    let sink = tapped.clone();
    let tap: Tap = Arc::new(move |direction, frame: &[u8]| {
        sink.lock().unwrap().push((direction, frame.to_vec()));
    });
    let config = RelayConfig {
        tap: Some(tap),
        ..config
    };
    let (address, relay) = cotype::relay::spawn("127.0.0.1:0".parse().unwrap(), config)
        .await
        .expect("relay starts");
    TestRelay {
        address,
        relay,
        tapped,
    }
}

/// Starts a host on `dir` against `relay` and serves it in the background.
pub async fn start_host(dir: &Path, relay: SocketAddr, name: &str, hide: &[&str]) -> Link {
    start_host_with(dir, relay, name, hide, Approval::Auto)
        .await
        .0
}

/// Like `start_host`, also returning the host user's controls.
pub async fn start_host_with(
    dir: &Path,
    relay: SocketAddr,
    name: &str,
    hide: &[&str],
    approval: Approval,
) -> (Link, HostControl) {
    let mut session = HostSession::start(HostOptions {
        root: dir.to_path_buf(),
        relay: relay.to_string(),
        insecure: false,
        hide: hide.iter().map(|s| s.to_string()).collect(),
        name: name.to_string(),
        approval,
        trust_project: false,
    })
    .await
    .expect("host starts");
    let link = session.link.clone();
    let control = session.control().expect("control is taken once");
    tokio::spawn(async move {
        let _ = session.run().await;
    });
    (link, control)
}

/// Writes `files` (relative path, contents) under `root`, creating folders.
pub fn write_tree(root: &Path, files: &[(&str, &[u8])]) {
    for (path, contents) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
}

/// Whether `needle` occurs anywhere in `haystack`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A TCP proxy in front of the relay whose connections can be cut on demand, to drop a
/// member's link mid-session the way a flaky network does. New connections are accepted
/// after a cut, so the member can come back.
pub struct CuttableProxy {
    pub address: SocketAddr,
    cut: tokio::sync::broadcast::Sender<()>,
    /// New connections are closed at once until then (`cut_for`).
    refusing_until: Arc<Mutex<Option<std::time::Instant>>>,
}

impl CuttableProxy {
    pub async fn start(target: SocketAddr) -> CuttableProxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (cut, _) = tokio::sync::broadcast::channel(4);
        let cut_sender = cut.clone();
        let refusing_until = Arc::new(Mutex::new(None));
        let refusing = refusing_until.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let refused = refusing
                    .lock()
                    .unwrap()
                    .is_some_and(|until| std::time::Instant::now() < until);
                if refused {
                    continue;
                }
                let mut cut = cut_sender.subscribe();
                tokio::spawn(async move {
                    let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = cut.recv() => {}
                    }
                });
            }
        });
        CuttableProxy {
            address,
            cut,
            refusing_until,
        }
    }

    /// Drops every connection through the proxy, as a network failure would.
    pub fn cut(&self) {
        let _ = self.cut.send(());
    }

    /// Cuts, and closes every new connection at once for `outage`: the network stays down
    /// a while, so whoever was cut off is away that long before getting back.
    pub fn cut_for(&self, outage: std::time::Duration) {
        *self.refusing_until.lock().unwrap() = Some(std::time::Instant::now() + outage);
        self.cut();
    }
}

/// A TCP proxy in front of the relay whose downstream (relay to member) carries at most
/// `bytes_per_second`, as a slow connection does. It reads the relay at once and holds
/// what the slow link has not carried yet, so that backlog (what a real link's buffers
/// and the relay's queue would hold) is measured: `most_waiting`.
pub struct SlowLink {
    pub address: SocketAddr,
    most_waiting: Arc<std::sync::atomic::AtomicUsize>,
}

impl SlowLink {
    pub async fn start(target: SocketAddr, bytes_per_second: usize) -> SlowLink {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let most_waiting = Arc::new(AtomicUsize::new(0));
        let most = most_waiting.clone();
        tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let Ok(outbound) = tokio::net::TcpStream::connect(target).await else {
                    continue;
                };
                let (mut from_member, mut to_member) = inbound.into_split();
                let (mut from_relay, mut to_relay) = outbound.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut from_member, &mut to_relay).await;
                });
                let waiting = Arc::new(AtomicUsize::new(0));
                let (chunks, mut carried) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
                let (counted, most) = (waiting.clone(), most.clone());
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 64 * 1024];
                    while let Ok(n) = from_relay.read(&mut buffer).await {
                        if n == 0 || chunks.send(buffer[..n].to_vec()).is_err() {
                            break;
                        }
                        let now = counted.fetch_add(n, Ordering::Relaxed) + n;
                        most.fetch_max(now, Ordering::Relaxed);
                    }
                });
                tokio::spawn(async move {
                    // A twentieth of a second's worth at a time.
                    let slice = (bytes_per_second / 20).max(1);
                    while let Some(chunk) = carried.recv().await {
                        for piece in chunk.chunks(slice) {
                            if to_member.write_all(piece).await.is_err() {
                                return;
                            }
                            waiting.fetch_sub(piece.len(), Ordering::Relaxed);
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                    }
                });
            }
        });
        SlowLink {
            address,
            most_waiting,
        }
    }

    /// The most bytes the link has had waiting to be carried to the member at once.
    pub fn most_waiting(&self) -> usize {
        self.most_waiting.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The same link, reaching the relay through `address` (e.g. a proxy).
pub fn via(link: &Link, address: SocketAddr) -> Link {
    let mut link = link.clone();
    link.relay = address.to_string();
    link
}

/// A relay on a thread and runtime of its own for the rest of the test, for tests that
/// drive real binaries from plain (not async) code.
pub fn relay_on_thread(config: RelayConfig) -> SocketAddr {
    let (address, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime for the relay");
        runtime.block_on(async move {
            let (bound, _relay) = cotype::relay::spawn("127.0.0.1:0".parse().unwrap(), config)
                .await
                .expect("relay starts");
            address.send(bound).unwrap();
            std::future::pending::<()>().await;
        });
    });
    receiver.recv().expect("the relay's address")
}

/// Runs `git ARGS` in `dir`, failing the test on error.
pub fn git(dir: &Path, args: &[&str]) {
    let output = std::process::Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("git must be installed to run the git tests");
    assert!(
        output.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A place in `path` (0-based line and column) in the text as it is now.
pub fn at(path: &str, line: usize, col: usize) -> cotype::protocol::message::TextPosition {
    cotype::protocol::message::TextPosition {
        path: path.to_owned(),
        revision: cotype::protocol::message::CURRENT_TEXT,
        position: cotype::text::LineCol { line, col },
    }
}

/// The text of `path` under `root` on disk.
pub fn read(root: &Path, path: &str) -> String {
    std::fs::read_to_string(root.join(path)).expect("read")
}

/// Types `text` at the end of `session`'s copy of `path` (sent on the next run).
pub fn type_at_end(session: &mut cotype::client::session::Session, path: &str, text: &str) {
    let len = session.documents[path].rope.len_chars();
    session
        .local_edit(
            path,
            cotype::text::Operation::insert(len, len, text).unwrap(),
        )
        .unwrap();
}

/// Runs `session` until every edit of `path` is sent and confirmed by the host.
pub async fn wait_synced(
    driver: &mut cotype::client::driver::Driver,
    session: &mut cotype::client::session::Session,
    path: &str,
) {
    cotype::client::headless::run_until(
        driver,
        session,
        std::time::Duration::from_secs(60),
        |session, _| Ok(session.is_synced(path) && !session.has_outbox()),
    )
    .await
    .unwrap();
}
