//! What the host hides stays hidden end to end: through the real relay, a participant
//! neither sees nor reads secrets, ignored files, `--hide` matches or anything outside the
//! shared folder, whatever path it makes up; each refusal is an answer, not a disconnect.

mod common;

use std::os::unix::fs::symlink;

use common::{start_host, start_relay, write_tree};
use cotype::client::{ClientError, Participant};
use cotype::relay::RelayConfig;

/// Planted in every file the participant must never read.
const HIDDEN_MARKER: &str = "HIDDEN-CONTENT-5d1e";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hidden_files_are_neither_listed_nor_served_and_the_session_carries_on() {
    let outside = tempfile::tempdir().unwrap();
    write_tree(outside.path(), &[("outside.txt", HIDDEN_MARKER.as_bytes())]);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let secret = HIDDEN_MARKER.as_bytes();
    write_tree(
        root,
        &[
            ("README.md", b"# shared\n"),
            ("src/main.rs", b"fn main() {}\n"),
            (".gitignore", b"build/\n"),
            (".env", secret),
            (".env.local", secret),
            ("id_rsa", secret),
            ("server.key", secret),
            ("cert.pem", secret),
            (".git/config", secret),
            ("build/out.txt", secret),
            ("secret/plan.txt", secret),
            ("secret/deeper/more.txt", secret),
        ],
    );
    symlink(outside.path().join("outside.txt"), root.join("link_out")).unwrap();
    symlink(root.join("src/main.rs"), root.join("link_in")).unwrap();
    symlink(root.join(".env"), root.join("link_to_env")).unwrap();
    symlink(outside.path(), root.join("outside_dir")).unwrap();

    let relay = start_relay(RelayConfig::default()).await;
    let link = start_host(root, relay.address, "host", &["secret/**"]).await;
    let mut guest = Participant::join(&link, "guest").await.unwrap();

    let listed: Vec<String> = guest
        .list_files()
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.path)
        .collect();
    assert_eq!(
        listed,
        [".gitignore", "README.md", "link_in", "src/main.rs"],
        "only the shared files are listed"
    );

    let mut through_link = Vec::new();
    guest.read_file("link_in", &mut through_link).await.unwrap();
    assert_eq!(
        through_link, b"fn main() {}\n",
        "a link to a shared file inside reads as its target"
    );

    let refused = [
        ".env",
        ".env.local",
        "id_rsa",
        "server.key",
        "cert.pem",
        ".git/config",
        "build/out.txt",
        "secret/plan.txt",
        "secret/deeper/more.txt",
        "link_out",
        "link_to_env",
        "outside_dir/outside.txt",
        "../outside.txt",
        "/etc/passwd",
        "sub/../../x",
        "src/../.env",
        "./.env",
        "a\u{0}b",
        "C:\\x",
        "",
    ];
    for path in refused {
        let mut leaked = Vec::new();
        match guest.read_file(path, &mut leaked).await {
            Err(ClientError::Host(message)) => {
                assert!(
                    !message.contains(HIDDEN_MARKER),
                    "{path:?}: the refusal quotes the file: {message}"
                );
            }
            other => panic!("{path:?} was not refused by the host: {other:?}"),
        }
        assert!(leaked.is_empty(), "{path:?}: bytes were written");
        // The refusal was an answer; the session carries on.
        let mut readme = Vec::new();
        guest
            .read_file("README.md", &mut readme)
            .await
            .unwrap_or_else(|e| panic!("after {path:?}, reading a shared file failed: {e}"));
        assert_eq!(readme, b"# shared\n");
    }

    // A hidden file and a missing one are refused alike, so refusals do not reveal
    // which secrets exist.
    let mut sink = Vec::new();
    let hidden = guest.read_file(".env", &mut sink).await.unwrap_err();
    let missing = guest
        .read_file(".env.missing", &mut sink)
        .await
        .unwrap_err();
    assert_eq!(
        hidden.to_string().replace(".env", "PATH"),
        missing.to_string().replace(".env.missing", "PATH")
    );

    assert_eq!(
        guest.list_files().await.unwrap().len(),
        listed.len(),
        "the session still serves"
    );
}
