//! cotype: pair programming from a terminal, end to end encrypted.
//!
//! The folders show the layers (see docs/ARCHITECTURE.md):
//! `link` and `crypto` hold the secret and what is derived from it; `protocol` is the
//! wire format (the cleartext header the relay routes by, and the encrypted catalog);
//! `text` is pure operational transformation; `relay`, `host` and `client` are the three
//! network roles; `tui` draws the client's state in a terminal and owns no sockets.

pub mod channel;
pub mod client;
pub mod crypto;
pub mod demo;
pub mod host;
pub mod host_control;
pub mod latency;
pub mod link;
pub mod logging;
pub mod net;
pub mod protocol;
pub mod recovery;
pub mod rekey;
pub mod relay;
pub mod roles;
pub mod ssh_guests;
pub mod text;
pub mod tui;
