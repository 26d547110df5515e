//! What the relay spends on people it does not know: open files, connections per address
//! and in total, new sessions and join attempts per address, and bytes queued for receivers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::mpsc;

use super::lock;
use super::session::Outgoing;

/// Descriptors kept free for everything that is not a client connection: the listeners,
/// the metrics endpoint and its scrapers, the runtime, standard streams, log files.
pub const RESERVED_FDS: u64 = 64;

/// The soft open-file limit (`None` where it cannot be read).
#[cfg(unix)]
pub fn fd_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we pass and nothing else.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    // rlim_t is not u64 on every platform.
    #[allow(clippy::unnecessary_cast)]
    Some(limit.rlim_cur as u64)
}

#[cfg(not(unix))]
pub fn fd_limit() -> Option<u64> {
    None
}

/// Raises the soft open-file limit to the hard one (many systems start processes at 1,024
/// with a far higher hard limit). Returns the soft limit now in force.
#[cfg(unix)]
pub fn raise_fd_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain syscalls on local structs.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    #[allow(clippy::unnecessary_cast)]
    Some(limit.rlim_cur as u64)
}

#[cfg(not(unix))]
pub fn raise_fd_limit() -> Option<u64> {
    None
}

/// Connections that must have closed (since the most open) before the relay hands freed
/// memory back to the system.
pub const TRIM_AFTER_CLOSED: usize = 256;

/// Hands memory freed inside the allocator back to the system. glibc returns a thread
/// arena's free pages only from the top of its heap, so after many connections close, most
/// of what they used stays resident, held by a few live allocations above it, until
/// `malloc_trim` releases the free pages wherever they are.
pub fn return_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory inside the allocator.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The default cap on open connections: what the open-file limit leaves after
/// [`RESERVED_FDS`], at most 100,000.
pub fn default_max_connections() -> usize {
    match fd_limit() {
        Some(limit) => limit.saturating_sub(RESERVED_FDS).clamp(16, 100_000) as usize,
        None => 10_000,
    }
}

/// The peer the per-address limits count: an IPv4 address as it is (also when it arrives
/// IPv4-mapped), an IPv6 address by its /64, the block one subscriber usually holds whole.
pub fn peer_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut segments = v6.segments();
                segments[4..].fill(0);
                IpAddr::V6(segments.into())
            }
        },
    }
}

/// Why a connection was turned away at accept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Crowded {
    Total,
    PerAddress,
}

/// Open connections, in total and per peer address.
#[derive(Default)]
pub struct Connections {
    per_address: Mutex<HashMap<IpAddr, usize>>,
    total: AtomicUsize,
}

/// One open connection's place; dropping it frees the place.
pub struct ConnectionSlot {
    connections: Arc<Connections>,
    address: IpAddr,
}

impl Connections {
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    pub fn try_open(
        self: &Arc<Self>,
        address: IpAddr,
        max_total: usize,
        max_per_address: usize,
    ) -> Result<ConnectionSlot, Crowded> {
        let mut per_address = lock(&self.per_address);
        if self.total.load(Ordering::Relaxed) >= max_total {
            return Err(Crowded::Total);
        }
        let count = per_address.entry(address).or_insert(0);
        if *count >= max_per_address {
            return Err(Crowded::PerAddress);
        }
        *count += 1;
        self.total.fetch_add(1, Ordering::Relaxed);
        Ok(ConnectionSlot {
            connections: self.clone(),
            address,
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut per_address = lock(&self.connections.per_address);
        if let Some(count) = per_address.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                per_address.remove(&self.address);
            }
        }
        self.connections.total.fetch_sub(1, Ordering::Relaxed);
    }
}

/// New sessions per peer address: a token bucket of `per_minute` tokens refilled evenly
/// over a minute.
pub struct PerAddressRate {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl PerAddressRate {
    pub fn new(per_minute: u32) -> Self {
        PerAddressRate {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `address`; false when it has none left.
    pub fn allow(&self, address: IpAddr) -> bool {
        let capacity = self.per_minute as f64;
        let mut buckets = lock(&self.buckets);
        let now = Instant::now();
        let (tokens, since) = buckets.entry(address).or_insert((capacity, now));
        *tokens = (*tokens + since.elapsed().as_secs_f64() * capacity / 60.0).min(capacity);
        *since = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Forgets addresses whose buckets have refilled (they are as good as new).
    pub fn forget_full(&self) {
        let capacity = self.per_minute as f64;
        lock(&self.buckets).retain(|_, (tokens, since)| {
            *tokens + since.elapsed().as_secs_f64() * capacity / 60.0 < capacity
        });
    }
}

/// Bytes queued for all receivers together.
#[derive(Default)]
pub struct QueuedBytes {
    bytes: AtomicUsize,
}

impl QueuedBytes {
    pub fn get(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// A connection's outgoing queue, bounded in frames and in bytes (its own and everyone's
/// together). Bytes count from the moment a frame is queued until the writer has flushed
/// it to the socket, so a peer that stops reading holds at most its budget.
#[derive(Clone)]
pub struct OutQueue {
    sender: mpsc::Sender<Outgoing>,
    queued: Arc<AtomicUsize>,
    budget: usize,
    total: Arc<QueuedBytes>,
    total_budget: usize,
    /// Where frames go at once instead of the queue (`forwarding`).
    forward: Option<Arc<dyn Fn(bytes::Bytes) + Send + Sync>>,
}

/// The writer's end: releases bytes once they are written.
pub struct Release {
    queued: Arc<AtomicUsize>,
    total: Arc<QueuedBytes>,
}

impl OutQueue {
    pub fn new(
        frames: usize,
        budget: usize,
        total: Arc<QueuedBytes>,
        total_budget: usize,
    ) -> (OutQueue, mpsc::Receiver<Outgoing>, Release) {
        let (sender, receiver) = mpsc::channel(frames);
        let queued = Arc::new(AtomicUsize::new(0));
        let release = Release {
            queued: queued.clone(),
            total: total.clone(),
        };
        (
            OutQueue {
                sender,
                queued,
                budget,
                total,
                total_budget,
                forward: None,
            },
            receiver,
            release,
        )
    }

    /// This queue hands every frame to `to` at once, in the sender's order, while its
    /// receiver is open: for a member on another cluster node, whose frames the home
    /// publishes (`to` queues them for Redis, which they would otherwise reach through
    /// this queue and a task per member draining it as fast as it fills). Nothing is
    /// held, so nothing counts against the bounds; the receiver still tells whoever holds
    /// it that the member was removed (closed) and is closed to stop the frames.
    pub fn forwarding(self, to: impl Fn(bytes::Bytes) + Send + Sync + 'static) -> OutQueue {
        OutQueue {
            forward: Some(Arc::new(to)),
            ..self
        }
    }

    /// Queues `frame` unless that would pass a frame or byte bound; false if it did not.
    pub fn try_send(&self, frame: bytes::Bytes) -> bool {
        if let Some(forward) = &self.forward {
            if self.sender.is_closed() {
                return false;
            }
            forward(frame);
            return true;
        }
        let len = frame.len();
        let mine = self.queued.fetch_add(len, Ordering::Relaxed) + len;
        let everyone = self.total.bytes.fetch_add(len, Ordering::Relaxed) + len;
        // One frame always fits an empty queue, whatever its size.
        let fits = mine == len || (mine <= self.budget && everyone <= self.total_budget);
        if fits && self.sender.try_send(Outgoing::Frame(frame)).is_ok() {
            return true;
        }
        self.queued.fetch_sub(len, Ordering::Relaxed);
        self.total.bytes.fetch_sub(len, Ordering::Relaxed);
        false
    }

    /// Bytes queued for this connection and not yet written.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }
}

impl Release {
    pub fn written(&self, bytes: usize) {
        self.queued.fetch_sub(bytes, Ordering::Relaxed);
        self.total.bytes.fetch_sub(bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_address_and_total_caps_free_their_places_on_drop() {
        let connections = Arc::new(Connections::default());
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let first = connections.try_open(a, 3, 2).unwrap();
        let _second = connections.try_open(a, 3, 2).unwrap();
        assert_eq!(
            connections.try_open(a, 3, 2).err(),
            Some(Crowded::PerAddress)
        );
        let _third = connections.try_open(b, 3, 2).unwrap();
        assert_eq!(connections.try_open(b, 3, 2).err(), Some(Crowded::Total));
        drop(first);
        let _again = connections.try_open(a, 3, 2).unwrap();
        assert_eq!(connections.open(), 3);
    }

    #[test]
    fn queued_bytes_are_bounded_per_connection_and_in_total_until_written() {
        let total = Arc::new(QueuedBytes::default());
        let (one, mut one_rx, one_release) = OutQueue::new(100, 10, total.clone(), 15);
        let (two, _two_rx, _) = OutQueue::new(100, 10, total.clone(), 15);
        let frame = |n: usize| bytes::Bytes::from(vec![0u8; n]);
        assert!(one.try_send(frame(6)));
        assert!(!one.try_send(frame(6)), "past its own budget");
        assert!(one.try_send(frame(4)));
        assert!(two.try_send(frame(5)));
        assert!(!two.try_send(frame(1)), "past the total budget");
        assert_eq!(total.get(), 15);
        // The writer takes and writes the first frame: its bytes are free again.
        let Some(Outgoing::Frame(written)) = one_rx.try_recv().ok() else {
            panic!("a frame was queued")
        };
        one_release.written(written.len());
        assert_eq!((one.queued(), total.get()), (4, 9));
        assert!(two.try_send(frame(1)));
        // An oversized frame still fits an empty queue, not a busy one.
        let (three, _three_rx, _) = OutQueue::new(100, 10, total.clone(), 1000);
        assert!(three.try_send(frame(50)));
        assert!(!three.try_send(frame(1)));
    }

    #[test]
    fn a_forwarding_queue_hands_frames_on_in_order_until_its_receiver_closes() {
        let total = Arc::new(QueuedBytes::default());
        let (queue, mut rx, _) = OutQueue::new(2, 10, total.clone(), 10);
        let handed = Arc::new(Mutex::new(Vec::new()));
        let to = handed.clone();
        let queue = queue.forwarding(move |frame: bytes::Bytes| lock(&to).push(frame[0]));
        // Past the queue's frame and byte bounds: nothing is held, nothing counted.
        for i in 0..5u8 {
            assert!(queue.try_send(bytes::Bytes::from(vec![i; 8])));
        }
        assert_eq!(*lock(&handed), vec![0, 1, 2, 3, 4]);
        assert_eq!((queue.queued(), total.get()), (0, 0));
        assert!(rx.try_recv().is_err(), "nothing went through the channel");
        rx.close();
        assert!(!queue.try_send(bytes::Bytes::from_static(&[9])));
        assert_eq!(lock(&handed).len(), 5);
    }

    #[test]
    fn ipv6_peers_count_by_their_slash_64() {
        let key = |text: &str| peer_key(text.parse().unwrap()).to_string();
        assert_eq!(key("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2:bbbb::9"), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:3::1"), "2001:db8:1:3::");
        assert_eq!(key("::ffff:10.0.0.1"), "10.0.0.1");
        assert_eq!(key("10.0.0.1"), "10.0.0.1");
    }

    #[test]
    fn session_creation_is_limited_per_address() {
        let limiter = PerAddressRate::new(3);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!((0..3).all(|_| limiter.allow(a)));
        assert!(!limiter.allow(a));
        assert!(limiter.allow(b));
        limiter.forget_full();
        assert_eq!(lock(&limiter.buckets).len(), 2);
    }
}
