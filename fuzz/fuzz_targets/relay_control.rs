//! The relay's side of the wire: control messages and data-frame headers from several
//! connections at once, through the relay's own frame handling (create, join, resume,
//! admission, follow, removal, routing, slow-reader drops). Raw bytes and well-formed
//! messages alike; the relay must never panic, every frame it sends must decode, and
//! once every connection has closed nobody may be left in a session or in a queue.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use arbitrary::Arbitrary;
use cotype::crypto::admission_verifier;
use cotype::protocol::control::{self, FromRelay, ToRelay};
use cotype::protocol::header::{HEADER_LEN, Header, Kind, Route};
use cotype::relay::{OfflineConnection, Relay, RelayConfig};
use libfuzzer_sys::fuzz_target;

const CONNECTIONS: usize = 4;

#[derive(Arbitrary, Debug)]
enum Step {
    Control {
        who: u8,
        message: Control,
    },
    Data {
        who: u8,
        kind: u8,
        route: u8,
        target: u8,
        claimed_sender: u8,
        len: u16,
    },
    Raw {
        who: u8,
        bytes: Vec<u8>,
    },
    /// The relay's frames to this connection are written to its socket.
    Drain {
        who: u8,
    },
    /// The connection ends; a new one takes its place.
    Reconnect {
        who: u8,
    },
}

/// Tokens come from a small alphabet so that joins with the right token happen.
#[derive(Arbitrary, Debug)]
enum Control {
    Create {
        session: u8,
        token: u8,
        resume_token: u8,
    },
    Resume {
        session: u8,
        resume_token: u8,
    },
    Join {
        session: u8,
        token: u8,
    },
    Follow {
        leader: Option<u8>,
    },
    Admit {
        participant: u8,
    },
    Remove {
        participant: u8,
    },
    RotateToken {
        token: u8,
        epoch: u32,
    },
    End,
    Refuse {
        participant: u8,
    },
    Ping {
        nonce: u64,
    },
}

fn token(byte: u8) -> [u8; 32] {
    [byte % 4; 32]
}

fn session(byte: u8) -> [u8; 16] {
    [byte % 2; 16]
}

impl Control {
    fn message(&self) -> ToRelay {
        let participant = |p: &u8| u32::from(*p % 8);
        match self {
            Control::Create {
                session: s,
                token: t,
                resume_token: r,
            } => ToRelay::Create {
                session: session(*s),
                verifier: admission_verifier(&token(*t)),
                resume_verifier: admission_verifier(&token(r.wrapping_add(4))),
            },
            Control::Resume {
                session: s,
                resume_token: r,
            } => ToRelay::Resume {
                session: session(*s),
                resume_token: token(r.wrapping_add(4)),
            },
            Control::Join {
                session: s,
                token: t,
            } => ToRelay::Join {
                session: session(*s),
                token: token(*t),
            },
            Control::Follow { leader } => ToRelay::Follow {
                leader: leader.as_ref().map(participant),
            },
            Control::Admit { participant: p } => ToRelay::Admit {
                participant: participant(p),
            },
            Control::Remove { participant: p } => ToRelay::Remove {
                participant: participant(p),
            },
            Control::RotateToken { token: t, epoch } => ToRelay::RotateToken {
                verifier: admission_verifier(&token(*t)),
                epoch: *epoch,
            },
            Control::End => ToRelay::End,
            Control::Refuse { participant: p } => ToRelay::Refuse {
                participant: participant(p),
            },
            Control::Ping { nonce } => ToRelay::Ping { nonce: *nonce },
        }
    }
}

fn data_frame(kind: u8, route: u8, target: u8, sender: u8, len: u16) -> Vec<u8> {
    let route = match route % 4 {
        0 => Route::Host,
        1 => Route::Participant(u32::from(target % 8)),
        2 => Route::Everyone,
        _ => Route::Followers,
    };
    let header = Header {
        kind: Kind::from_byte(1 + kind % 7).expect("kinds 1 to 7 exist"),
        route,
        epoch: 0,
        sender: u32::from(sender % 8),
        instance: [sender; 16],
        counter: 1,
    };
    let mut frame = header.encode().to_vec();
    frame.resize(HEADER_LEN + usize::from(len % 6000), 0xa5);
    frame
}

/// Every frame the relay sends is a control message a member can decode, or a data frame
/// whose header decodes.
fn check_sent(connection: &mut OfflineConnection) {
    for frame in connection.sent() {
        match control::is_control(&frame) {
            Ok(true) => {
                control::decode::<FromRelay>(&frame).expect("the relay's control frames decode");
            }
            Ok(false) => {
                Header::decode(&frame)
                    .expect("the relay forwards only frames whose header decodes");
            }
            Err(e) => panic!("the relay sent an undecodable frame: {e}"),
        }
    }
}

fn gauge(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in the metrics"))
}

fuzz_target!(|input: (Vec<u8>, Vec<Step>)| {
    let (raw, steps) = input;
    // Decoding alone: either message type, from anyone's bytes.
    if let Ok(message) = control::decode::<ToRelay>(&raw) {
        assert_eq!(
            control::decode::<ToRelay>(&control::encode(&message)),
            Ok(message)
        );
    }
    if let Ok(message) = control::decode::<FromRelay>(&raw) {
        assert_eq!(
            control::decode::<FromRelay>(&control::encode(&message)),
            Ok(message)
        );
    }

    // Small bounds, so that full sessions, full queues and oversized frames happen.
    let relay = Relay::new(RelayConfig {
        max_participants: 2,
        max_pending: 2,
        max_frame: 4096,
        queue_frames: 8,
        queue_bytes: 8192,
        total_queue_bytes: 24 * 1024,
        ..RelayConfig::default()
    });
    let address =
        |slot: usize| SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + slot as u8)), 40000);
    let mut connections: Vec<OfflineConnection> = (0..CONNECTIONS)
        .map(|slot| relay.offline_connection(address(slot)))
        .collect();
    for step in steps.iter().take(256) {
        let (who, frame) = match step {
            Step::Control { who, message } => (who, control::encode(&message.message())),
            Step::Data {
                who,
                kind,
                route,
                target,
                claimed_sender,
                len,
            } => (
                who,
                data_frame(*kind, *route, *target, *claimed_sender, *len),
            ),
            Step::Raw { who, bytes } => (who, bytes.clone()),
            Step::Drain { who } => {
                check_sent(&mut connections[usize::from(*who) % CONNECTIONS]);
                continue;
            }
            Step::Reconnect { who } => {
                let slot = usize::from(*who) % CONNECTIONS;
                connections[slot] = relay.offline_connection(address(slot));
                continue;
            }
        };
        connections[usize::from(*who) % CONNECTIONS].receive(&frame);
    }
    for connection in &mut connections {
        connection.close();
    }
    let metrics = relay.metrics_text();
    assert_eq!(
        gauge(&metrics, "cotype_relay_participants_active"),
        0,
        "{metrics}"
    );
    assert_eq!(
        gauge(&metrics, "cotype_relay_participants_pending"),
        0,
        "{metrics}"
    );
    assert_eq!(gauge(&metrics, "cotype_relay_queued_bytes"), 0, "{metrics}");
});
