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
/// `epoch`, `home` (node name), `next` (next participant id), and while the host is away
/// `away_until` (Redis clock, ms): the end of its grace period, when the record expires
/// whatever becomes of the home.
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
redis.call('HDEL', KEYS[1], 'away_until')
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

/// KEYS: record, members. ARGV: grace left, ms. The host left: both keys expire at the
/// end of its grace period (by Redis's clock, the same for every node), so a home killed
/// meanwhile cannot make the session outlive it. Returns the deadline (ms).
const HOST_AWAY: &str = r"
local now = redis.call('TIME')
local deadline = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) + tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'away_until', deadline)
redis.call('PEXPIREAT', KEYS[1], deadline)
redis.call('PEXPIREAT', KEYS[2], deadline)
return deadline
";

/// KEYS: record, members. ARGV: ttl ms. Renews both, never past the host's grace deadline.
const RENEW: &str = r"
local deadline = redis.call('HGET', KEYS[1], 'away_until')
if deadline then
  redis.call('PEXPIREAT', KEYS[2], deadline)
  return 0
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
";

fn eval(script: &str, session: &SessionKey, arg: u64) -> redis::Cmd {
    let mut command = redis::cmd("EVAL");
    command
        .arg(script)
        .arg(2)
        .arg(record_key(session))
        .arg(members_key(session))
        .arg(arg);
    command
}

/// The host of `session` left, with `grace_ms` of its grace period left (`HOST_AWAY`).
pub fn host_away(session: &SessionKey, grace_ms: u64) -> redis::Cmd {
    eval(HOST_AWAY, session, grace_ms)
}

/// The host is back: the records live on heartbeats again.
pub fn host_back(session: &SessionKey, ttl_ms: u64) -> redis::Cmd {
    let mut command = redis::cmd("EVAL");
    command
        .arg("redis.call('HDEL', KEYS[1], 'away_until') return redis.call('PEXPIRE', KEYS[1], ARGV[1])")
        .arg(1)
        .arg(record_key(session))
        .arg(ttl_ms);
    command
}

/// Keeps a session's records (`RENEW`).
pub fn renew(session: &SessionKey, ttl_ms: u64) -> redis::Cmd {
    eval(RENEW, session, ttl_ms)
}

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
