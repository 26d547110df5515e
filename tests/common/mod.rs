//! Shared setup for the integration tests: a real relay on port 0, a real host on a real
//! folder, real participants over real WebSockets. Nothing here is mocked.
#![allow(dead_code, clippy::type_complexity)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};

use cotype::host::{HostOptions, HostSession};
use cotype::link::Link;
use cotype::relay::{Relay, RelayConfig, Tap, TapDirection};

pub struct TestRelay {
    pub address: SocketAddr,
    pub relay: Relay,
    /// Every frame the relay received or sent, in order.
    pub tapped: Arc<Mutex<Vec<(TapDirection, Vec<u8>)>>>,
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
    let session = HostSession::start(HostOptions {
        root: dir.to_path_buf(),
        relay: Some(relay.to_string()),
        insecure: false,
        hide: hide.iter().map(|s| s.to_string()).collect(),
        name: name.to_string(),
    })
    .await
    .expect("host starts");
    let link = session.link.clone();
    tokio::spawn(async move {
        let _ = session.run().await;
    });
    link
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
