//! Session links: `https://RELAY/s/SESSION#KEYS`, where KEYS is the link secret followed
//! by the host's public signing key (`crypto::HostKey`), 64 bytes in base64url.
//!
//! The secret lives only in the fragment, which browsers and HTTP clients never send to a
//! server; cotype itself never puts it on the wire either (the relay gets a token derived
//! from it, see `crypto`). `http://` is accepted only for loopback relays unless the user
//! passes `--insecure`, so a link typo cannot silently downgrade a remote session.

use std::fmt;
use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::crypto::HostKey;

/// Bytes of the session id (public; the relay routes by it).
pub const SESSION_ID_LEN: usize = 16;
/// Bytes of the link secret (private; never leaves the link's fragment).
pub const SECRET_LEN: usize = 32;
/// Bytes of the host's public signing key, after the secret in the fragment.
pub const HOST_KEY_LEN: usize = 32;

/// The public name of a session, chosen at random by the host.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId(pub [u8; SESSION_ID_LEN]);

impl SessionId {
    pub fn random() -> Self {
        let mut bytes = [0u8; SESSION_ID_LEN];
        rand::fill(&mut bytes);
        SessionId(bytes)
    }

    pub fn parse(text: &str) -> Result<Self, LinkError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| LinkError::BadSession)?;
        let bytes: [u8; SESSION_ID_LEN] = bytes.try_into().map_err(|_| LinkError::BadSession)?;
        Ok(SessionId(bytes))
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

/// The link secret. Debug never prints it; it is wiped from memory on drop.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Secret(pub [u8; SECRET_LEN]);

impl Secret {
    pub fn random() -> Self {
        let mut bytes = [0u8; SECRET_LEN];
        rand::fill(&mut bytes);
        Secret(bytes)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A parsed session link.
#[derive(Clone, PartialEq, Eq)]
pub struct Link {
    /// `true` for `https` (TLS), `false` for `http`.
    pub tls: bool,
    /// `host[:port]` of the relay, as written in the link.
    pub relay: String,
    pub session: SessionId,
    pub secret: Secret,
    /// The host's public signing key: frames from the host that it does not verify are
    /// refused, whoever sealed them.
    pub host_key: HostKey,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Deliberately omits the secret: links end up in logs through `{:?}`.
        write!(f, "Link({})", self.redacted())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    #[error("the link is empty: paste the whole link the host gave you")]
    Empty,
    #[error("the link must start with https:// (or http:// for a relay on this machine)")]
    BadScheme,
    #[error("the link names no relay after the scheme")]
    NoRelay,
    #[error("the link has no '/s/SESSION' part: copy the whole link")]
    NoSession,
    #[error("the link's session id is malformed: copy the whole link")]
    BadSession,
    #[error("the link has no secret after '#': copy the whole link")]
    NoSecret,
    #[error(
        "the link's secret is malformed (expected 86 characters of base64url): copy the whole link"
    )]
    BadSecret,
    #[error(
        "the link has no host key (it is from a cotype before 0.3, or cut short): ask the host for a new link"
    )]
    NoHostKey,
    #[error(
        "the link uses http:// for a relay that is not on this machine; use https:// or pass --insecure"
    )]
    InsecureRemote,
}

impl Link {
    pub fn new(
        tls: bool,
        relay: impl Into<String>,
        session: SessionId,
        secret: Secret,
        host_key: HostKey,
    ) -> Self {
        Link {
            tls,
            relay: relay.into(),
            session,
            secret,
            host_key,
        }
    }

    /// Parses a link. `allow_insecure` permits `http://` to a non-loopback relay.
    pub fn parse(text: &str, allow_insecure: bool) -> Result<Self, LinkError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(LinkError::Empty);
        }
        let (tls, rest) = if let Some(rest) = text.strip_prefix("https://") {
            (true, rest)
        } else if let Some(rest) = text.strip_prefix("http://") {
            (false, rest)
        } else {
            return Err(LinkError::BadScheme);
        };
        let (before_fragment, fragment) = match rest.split_once('#') {
            Some((before, fragment)) => (before, Some(fragment)),
            None => (rest, None),
        };
        let (relay, path) = match before_fragment.split_once('/') {
            Some((relay, path)) => (relay, path),
            None => (before_fragment, ""),
        };
        if relay.is_empty() {
            return Err(LinkError::NoRelay);
        }
        let session_text = path
            .strip_prefix("s/")
            .map(|s| s.trim_end_matches('/'))
            .filter(|s| !s.is_empty())
            .ok_or(LinkError::NoSession)?;
        let session = SessionId::parse(session_text)?;
        let secret_text = fragment
            .filter(|f| !f.is_empty())
            .ok_or(LinkError::NoSecret)?;
        let mut secret_bytes = URL_SAFE_NO_PAD
            .decode(secret_text)
            .map_err(|_| LinkError::BadSecret)?;
        let length = secret_bytes.len();
        if length != SECRET_LEN + HOST_KEY_LEN {
            secret_bytes.zeroize();
            return Err(if length == SECRET_LEN {
                LinkError::NoHostKey
            } else {
                LinkError::BadSecret
            });
        }
        let mut secret = Secret([0u8; SECRET_LEN]);
        secret.0.copy_from_slice(&secret_bytes[..SECRET_LEN]);
        let mut host_key = HostKey([0u8; HOST_KEY_LEN]);
        host_key.0.copy_from_slice(&secret_bytes[SECRET_LEN..]);
        secret_bytes.zeroize();
        if !tls && !allow_insecure && !is_loopback(relay) {
            return Err(LinkError::InsecureRemote);
        }
        Ok(Link {
            tls,
            relay: relay.to_string(),
            session,
            secret,
            host_key,
        })
    }

    /// The full link, secret included. Print it only where the user asked for it.
    pub fn to_url(&self) -> String {
        let mut keys = zeroize::Zeroizing::new([0u8; SECRET_LEN + HOST_KEY_LEN]);
        keys[..SECRET_LEN].copy_from_slice(&self.secret.0);
        keys[SECRET_LEN..].copy_from_slice(&self.host_key.0);
        format!(
            "{}#{}",
            self.redacted(),
            URL_SAFE_NO_PAD.encode(keys.as_ref())
        )
    }

    /// The link without its secret: safe for logs and error messages.
    pub fn redacted(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/s/{}", self.relay, self.session)
    }

    /// The WebSocket address of the relay (the secret is not part of it).
    pub fn websocket_url(&self) -> String {
        let scheme = if self.tls { "wss" } else { "ws" };
        format!("{scheme}://{}/ws", self.relay)
    }
}

/// Where a link comes from: an argument, `-` for standard input, or `COTYPE_LINK`.
/// Reading from stdin or the environment keeps the secret out of `ps` output.
pub fn resolve_link_text(argument: Option<&str>) -> anyhow::Result<String> {
    match argument {
        Some("-") => {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text)?;
            Ok(text.trim().to_string())
        }
        Some(text) => Ok(text.to_string()),
        None => std::env::var("COTYPE_LINK").map_err(|_| {
            anyhow::anyhow!(
                "no link given: pass it as an argument, as '-' on stdin, or in COTYPE_LINK"
            )
        }),
    }
}

/// Reads a relay address as the host gives it: `https://relay.example.com`,
/// `wss://…`, `http://127.0.0.1:7420`, or bare `host[:port]` (TLS unless on loopback).
/// Returns whether to use TLS and the `host[:port]` part.
pub fn parse_relay_address(text: &str, allow_insecure: bool) -> Result<(bool, String), LinkError> {
    let text = text.trim().trim_end_matches('/');
    let (tls, rest) = if let Some(rest) = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("wss://"))
    {
        (Some(true), rest)
    } else if let Some(rest) = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("ws://"))
    {
        (Some(false), rest)
    } else if text.contains("://") {
        return Err(LinkError::BadScheme);
    } else {
        (None, text)
    };
    if rest.is_empty() || rest.contains('/') {
        return Err(LinkError::NoRelay);
    }
    let tls = tls.unwrap_or(!is_loopback(rest));
    if !tls && !allow_insecure && !is_loopback(rest) {
        return Err(LinkError::InsecureRemote);
    }
    Ok((tls, rest.to_string()))
}

/// Whether `host[:port]` names this machine.
pub fn is_loopback(relay: &str) -> bool {
    let host = if let Some(rest) = relay.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        relay.rsplit_once(':').map_or(relay, |(h, _)| h)
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Link {
        Link::new(
            true,
            "relay.example.com",
            SessionId([7; SESSION_ID_LEN]),
            Secret([9; SECRET_LEN]),
            HostKey([5; HOST_KEY_LEN]),
        )
    }

    #[test]
    fn round_trips_through_text() {
        let link = sample();
        let text = link.to_url();
        assert_eq!(
            text,
            "https://relay.example.com/s/BwcHBwcHBwcHBwcHBwcHBw#CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQ"
        );
        assert_eq!(Link::parse(&text, false).unwrap(), link);
    }

    #[test]
    fn debug_and_redacted_never_show_the_secret() {
        let link = sample();
        let secret_text = URL_SAFE_NO_PAD.encode(link.secret.0);
        assert!(!format!("{link:?}").contains(&secret_text));
        assert!(!link.redacted().contains(&secret_text));
        assert!(!link.websocket_url().contains(&secret_text));
    }

    #[test]
    fn precise_errors_for_malformed_links() {
        let good = sample().to_url();
        let (without_secret, _) = good.split_once('#').unwrap();
        assert_eq!(Link::parse("", false), Err(LinkError::Empty));
        assert_eq!(
            Link::parse("ftp://x/s/a#b", false),
            Err(LinkError::BadScheme)
        );
        assert_eq!(
            Link::parse("https:///s/a#b", false),
            Err(LinkError::NoRelay)
        );
        assert_eq!(
            Link::parse("https://relay#b", false),
            Err(LinkError::NoSession)
        );
        assert_eq!(Link::parse(without_secret, false), Err(LinkError::NoSecret));
        assert_eq!(
            Link::parse(&format!("{without_secret}#"), false),
            Err(LinkError::NoSecret)
        );
        assert_eq!(
            Link::parse(&good[..good.len() - 3], false),
            Err(LinkError::BadSecret)
        );
        assert_eq!(
            Link::parse("https://relay/s/short#CQkJ", false),
            Err(LinkError::BadSession)
        );
        // A link of the format before host keys: the secret alone.
        let (_, keys) = good.split_once('#').unwrap();
        let secret_only = URL_SAFE_NO_PAD.encode(&URL_SAFE_NO_PAD.decode(keys).unwrap()[..32]);
        assert_eq!(
            Link::parse(&format!("{without_secret}#{secret_only}"), false),
            Err(LinkError::NoHostKey)
        );
        let err = Link::parse(without_secret, false).unwrap_err().to_string();
        assert_eq!(err, "the link has no secret after '#': copy the whole link");
    }

    #[test]
    fn relay_addresses_as_hosts_write_them() {
        assert_eq!(
            parse_relay_address("relay.example.com", false),
            Ok((true, "relay.example.com".into()))
        );
        assert_eq!(
            parse_relay_address("127.0.0.1:7420", false),
            Ok((false, "127.0.0.1:7420".into()))
        );
        assert_eq!(
            parse_relay_address("https://localhost:9/", false),
            Ok((true, "localhost:9".into()))
        );
        assert_eq!(
            parse_relay_address("ws://relay.example.com", false),
            Err(LinkError::InsecureRemote)
        );
        assert_eq!(
            parse_relay_address("ws://relay.example.com", true),
            Ok((false, "relay.example.com".into()))
        );
        assert_eq!(
            parse_relay_address("ftp://x", false),
            Err(LinkError::BadScheme)
        );
    }

    #[test]
    fn plain_http_only_for_loopback_or_when_asked() {
        let link = sample().to_url();
        let remote = link.replacen("https://", "http://", 1);
        assert_eq!(Link::parse(&remote, false), Err(LinkError::InsecureRemote));
        assert!(Link::parse(&remote, true).is_ok());
        for host in ["127.0.0.1:4000", "localhost:1", "[::1]:9"] {
            let local = remote.replacen("relay.example.com", host, 1);
            let parsed = Link::parse(&local, false).unwrap();
            assert_eq!(parsed.websocket_url(), format!("ws://{host}/ws"));
        }
    }
}
