//! WebSocket transport shared by the three roles: connecting (with TLS) and TLS setup.
//!
//! Frames are WebSocket binary messages; nothing here looks inside them.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};

use crate::link::Link;

pub type ClientSocket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Environment variable naming an extra PEM CA certificate to trust, for relays with a
/// private or self-signed certificate (on-premises use; also the TLS tests).
pub const CA_CERT_ENV: &str = "COTYPE_CA_CERT";

#[derive(Debug, thiserror::Error)]
pub enum NetError {
    #[error("cannot reach the relay at {relay}: {reason}")]
    Unreachable { relay: String, reason: String },
    #[error("cannot read TLS file {path}: {reason}")]
    TlsFile { path: String, reason: String },
    #[error("TLS setup failed: {0}")]
    Tls(String),
}

/// The WebSocket limits for a given maximum frame size. Tungstenite's own cap is set
/// above ours so that an oversized frame reaches our check, which answers with a reason
/// instead of a bare disconnect; the hard cap still bounds memory.
pub fn websocket_config(max_frame: usize) -> WebSocketConfig {
    let hard_cap = max_frame.saturating_mul(2).max(64 * 1024);
    WebSocketConfig::default()
        .max_message_size(Some(hard_cap))
        .max_frame_size(Some(hard_cap))
}

fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Client TLS: the web's roots, plus the CA in `COTYPE_CA_CERT` if set.
pub fn client_tls_config() -> Result<Arc<rustls::ClientConfig>, NetError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = std::env::var_os(CA_CERT_ENV) {
        for cert in read_certificates(Path::new(&path))? {
            roots
                .add(cert)
                .map_err(|e| NetError::Tls(format!("{}: {e}", Path::new(&path).display())))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Server TLS from PEM files (certificate chain and private key).
pub fn server_tls_config(
    cert_path: &Path,
    key_path: &Path,
) -> Result<Arc<rustls::ServerConfig>, NetError> {
    let certs = read_certificates(cert_path)?;
    let key_pem = std::fs::read(key_path).map_err(|e| NetError::TlsFile {
        path: key_path.display().to_string(),
        reason: e.to_string(),
    })?;
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|e| NetError::TlsFile {
            path: key_path.display().to_string(),
            reason: e.to_string(),
        })?
        .ok_or_else(|| NetError::TlsFile {
            path: key_path.display().to_string(),
            reason: "no private key in the file".into(),
        })?;
    let config = rustls::ServerConfig::builder_with_provider(crypto_provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| NetError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| NetError::Tls(e.to_string()))?;
    Ok(Arc::new(config))
}

fn read_certificates(
    path: &Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, NetError> {
    let file_error = |reason: String| NetError::TlsFile {
        path: path.display().to_string(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| file_error(e.to_string()))?;
    let certs = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| file_error(e.to_string()))?;
    if certs.is_empty() {
        return Err(file_error("no certificate in the file".into()));
    }
    Ok(certs)
}

/// How long opening a connection (TCP, TLS and the WebSocket handshake) may take. A relay
/// (or something in between) that accepts and then says nothing would otherwise hold a
/// participant's or host's reconnect forever.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Opens a WebSocket to the link's relay.
pub async fn connect(link: &Link, max_frame: usize) -> Result<ClientSocket, NetError> {
    let url = link.websocket_url();
    let connector = if link.tls {
        Some(Connector::Rustls(client_tls_config()?))
    } else {
        Some(Connector::Plain)
    };
    let unreachable = |reason: String| NetError::Unreachable {
        relay: link.relay.clone(),
        reason,
    };
    let connecting = tokio_tungstenite::connect_async_tls_with_config(
        url,
        Some(websocket_config(max_frame)),
        true,
        connector,
    );
    let (socket, _response) = tokio::time::timeout(CONNECT_TIMEOUT, connecting)
        .await
        .map_err(|_| unreachable(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())))?
        .map_err(|e| unreachable(e.to_string()))?;
    Ok(socket)
}
