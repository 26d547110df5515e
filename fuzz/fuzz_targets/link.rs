//! Session links and relay addresses, as pasted by a person or read from `COTYPE_LINK`.
#![no_main]

use cotype::link::{Link, SessionId, is_loopback, parse_relay_address};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    for allow_insecure in [false, true] {
        if let Ok(link) = Link::parse(text, allow_insecure) {
            // A parsed link prints back to a link that parses to the same thing, and its
            // redacted form never holds the secret.
            let url = link.to_url();
            assert_eq!(Link::parse(&url, allow_insecure).as_ref(), Ok(&link));
            // The secret is only ever in the fragment (a relay name may contain the
            // same characters, so compare the forms, not substrings).
            let scheme = if link.tls { "https" } else { "http" };
            let redacted = format!("{scheme}://{}/s/{}", link.relay, link.session);
            assert_eq!(link.redacted(), redacted);
            assert_eq!(format!("{link:?}"), format!("Link({redacted})"));
            assert_eq!(
                url.split_once('#').map(|(before, _)| before),
                Some(redacted.as_str())
            );
            let _ = link.websocket_url();
            // http only for this machine, unless the user said otherwise.
            assert!(link.tls || allow_insecure || is_loopback(&link.relay));
        }
        if let Ok((tls, relay)) = parse_relay_address(text, allow_insecure) {
            assert!(!relay.is_empty() && !relay.contains('/'));
            assert!(tls || allow_insecure || is_loopback(&relay));
        }
    }
    if let Ok(session) = SessionId::parse(text) {
        assert_eq!(SessionId::parse(&session.to_string()), Ok(session));
    }
});
