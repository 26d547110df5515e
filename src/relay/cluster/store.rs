//! What a cluster keeps in Redis: session records (verifiers, epoch, home node, the next
//! participant id), member ids, node liveness. Never a frame, never a token.

use std::sync::LazyLock;

use crate::relay::session::SessionKey;

/// A node's liveness key lives this long unless renewed (renewed every second).
pub const NODE_TTL_MS: u64 = 3000;

fn hex(session: &SessionKey) -> String {
    session.iter().map(|b| format!("{b:02x}")).collect()
}

/// The session's record: `verifier`, `resume` (both SHA-256, as the relay holds them),
/// `epoch`, `home` (node name), `next` (next participant id).
pub fn record_key(session: &SessionKey) -> String {
    format!("cotype:s:{{{}}}", hex(session))
}

/// Participant id -> node, for the ids the home handed out.
pub fn members_key(session: &SessionKey) -> String {
    format!("cotype:s:{{{}}}:m", hex(session))
}

pub fn node_key(node: &str) -> String {
    format!("cotype:node:{node}")
}

/// KEYS: record. ARGV: verifier, resume, home, ttl ms. 1 if created, 0 if it exists.
pub static CREATE: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'verifier', ARGV[1], 'resume', ARGV[2], 'epoch', 0, 'home', ARGV[3], 'next', 1)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
",
    )
});

/// KEYS: record, members. ARGV: new home, ttl ms. Takes the session over: returns
/// {old home, next id, member ids...}, or nil when there is no record.
pub static CLAIM: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local old = redis.call('HGET', KEYS[1], 'home') or ''
local next = redis.call('HGET', KEYS[1], 'next') or '1'
redis.call('HSET', KEYS[1], 'home', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
local ids = redis.call('HKEYS', KEYS[2])
redis.call('DEL', KEYS[2])
local answer = {old, next}
for _, id in ipairs(ids) do table.insert(answer, id) end
return answer
",
    )
});

/// KEYS: node. ARGV: boot id, ttl ms. Takes or renews the node's name: 1, or 0 when
/// another process holds it.
pub static NODE_BEAT: LazyLock<redis::Script> = LazyLock::new(|| {
    redis::Script::new(
        r"
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
",
    )
});

/// A session record as read from Redis.
pub struct Record {
    pub verifier: [u8; 32],
    pub resume: [u8; 32],
    pub epoch: u32,
    pub home: String,
}

impl Record {
    pub fn parse(fields: &std::collections::HashMap<String, Vec<u8>>) -> Option<Record> {
        let bytes32 =
            |name: &str| -> Option<[u8; 32]> { fields.get(name)?.as_slice().try_into().ok() };
        let text =
            |name: &str| -> Option<String> { String::from_utf8(fields.get(name)?.clone()).ok() };
        Some(Record {
            verifier: bytes32("verifier")?,
            resume: bytes32("resume")?,
            epoch: text("epoch")?.parse().ok()?,
            home: text("home")?,
        })
    }
}
