//! Every copy of a document ends up equal to the host's, whatever the network does.
//!
//! A deterministic simulation: one `AuthoritativeDocument`, 2 to 8 participants typing at
//! once (unique tokens, multi-byte filler, CRLF, multi-cursor edits, deletions), links
//! that are FIFO but delay and interleave freely across senders, and connections that
//! drop, losing whatever was in flight, then come back with a catch-up and a resend.
//! At the end every copy must equal the host's, and every token anyone typed must be
//! in the document exactly once (a lost edit or a twice-applied resend would show).
//!
//! `benches/ot_soak.rs` runs the same simulation for longer.

#[path = "common/rng.rs"]
pub mod rng;

pub mod sim {
    use std::collections::VecDeque;

    use cotype::text::{
        AuthoritativeDocument, Client, EditId, Operation, RemoteEdit, RemoteOutcome, Submission,
        SubmitOutcome,
    };
    use ropey::Rope;

    pub use super::rng::Rng;

    /// Filler never contains a token's characters (brackets, digits, '.').
    const FILLER: &[&str] = &["a", "é", "😀", "漢", "\r\n", "\n", " ", "e\u{301}", "👩‍💻"];

    fn is_token_char(c: char) -> bool {
        matches!(c, '⟦' | '⟧' | '.') || c.is_ascii_digit()
    }

    enum Up {
        Submit(Submission),
        CatchUp(u64),
    }

    enum Down {
        Remote(RemoteEdit),
        Ack(EditId, u64),
        CatchUp(Vec<RemoteEdit>),
    }

    struct Peer {
        rope: Rope,
        client: Client,
        online: bool,
        /// Whether the host sends it broadcasts: from its catch-up on, per connection.
        subscribed: bool,
        up: VecDeque<Up>,
        down: VecDeque<Down>,
        tokens_typed: usize,
    }

    /// What happened, so tests can check the interesting cases really occurred.
    #[derive(Debug, Default, Clone, Copy)]
    pub struct Stats {
        pub local_edits: u64,
        pub applied: u64,
        /// Submissions based on an older revision than the host's: transformed at the host.
        pub rebased_at_host: u64,
        /// Resends the host had already applied.
        pub duplicates: u64,
        pub drops: u64,
        /// Own edits confirmed by the catch-up because their acknowledgement was lost.
        pub confirmed_by_catch_up: u64,
        pub tokens: u64,
        pub final_chars: usize,
    }

    pub struct Simulation {
        rng: Rng,
        host: AuthoritativeDocument,
        peers: Vec<Peer>,
        stats: Stats,
    }

    impl Simulation {
        pub fn new(seed: u64, clients: usize) -> Self {
            let mut rng = Rng::new(seed);
            let initial: String = (0..rng.below(40))
                .map(|_| FILLER[rng.below(FILLER.len())])
                .collect();
            let host = AuthoritativeDocument::new(&initial, 100);
            let peers = (0..clients)
                .map(|i| {
                    let mut instance = [0u8; 16];
                    instance[..8].copy_from_slice(&seed.to_le_bytes());
                    instance[8..].copy_from_slice(&(i as u64).to_le_bytes());
                    Peer {
                        rope: host.rope().clone(),
                        client: Client::new(instance, host.revision()),
                        online: true,
                        subscribed: true,
                        up: VecDeque::new(),
                        down: VecDeque::new(),
                        tokens_typed: 0,
                    }
                })
                .collect();
            Simulation {
                rng,
                host,
                peers,
                stats: Stats::default(),
            }
        }

        /// Runs `steps` random events, then heals the network and checks convergence.
        pub fn run(mut self, steps: usize) -> Result<Stats, String> {
            for _ in 0..steps {
                let i = self.rng.below(self.peers.len());
                match self.rng.below(100) {
                    0..=34 => self.local_edit(i)?,
                    35..=64 => self.deliver_up(i)?,
                    65..=95 => self.deliver_down(i)?,
                    96..=97 => self.drop_connection(i),
                    _ => self.reconnect(i),
                }
            }
            for i in 0..self.peers.len() {
                self.reconnect(i);
            }
            while self
                .peers
                .iter()
                .any(|p| !p.up.is_empty() || !p.down.is_empty())
            {
                let i = self.rng.below(self.peers.len());
                if self.rng.percent(50) {
                    self.deliver_up(i)?;
                } else {
                    self.deliver_down(i)?;
                }
            }
            self.check()?;
            Ok(self.stats)
        }

        fn check(&mut self) -> Result<(), String> {
            let truth = self.host.rope().to_string();
            for (i, p) in self.peers.iter().enumerate() {
                if p.client.has_pending() {
                    return Err(format!("client {i} still has unacknowledged edits"));
                }
                if p.client.revision() != self.host.revision() {
                    return Err(format!(
                        "client {i} is at revision {}, the host at {}",
                        p.client.revision(),
                        self.host.revision()
                    ));
                }
                if p.rope != *self.host.rope() {
                    return Err(format!(
                        "client {i} diverged:\n  client: {:?}\n  host:   {:?}",
                        p.rope.to_string(),
                        truth
                    ));
                }
                for k in 0..p.tokens_typed {
                    let token = token(i, k);
                    let found = truth.matches(&token).count();
                    if found != 1 {
                        return Err(format!("token {token} is in the document {found} times"));
                    }
                    self.stats.tokens += 1;
                }
            }
            self.stats.final_chars = self.host.rope().len_chars();
            Ok(())
        }

        fn local_edit(&mut self, i: usize) -> Result<(), String> {
            let p = &mut self.peers[i];
            let rng = &mut self.rng;
            let chars: Vec<char> = p.rope.chars().collect();
            let len = chars.len();
            let op = match rng.below(10) {
                0..=3 => {
                    let at = outside_tokens(&chars, rng.below(len + 1));
                    let text = token(i, p.tokens_typed);
                    p.tokens_typed += 1;
                    Operation::insert(len, at, &text)
                }
                4..=5 => {
                    let at = outside_tokens(&chars, rng.below(len + 1));
                    let pieces = 1 + rng.below(4);
                    Operation::insert(len, at, &filler(rng, pieces))
                }
                6..=8 => {
                    // Delete a run of filler only, so tokens survive by construction and
                    // only a bug can remove one.
                    let start = rng.below(len + 1);
                    let mut end = start;
                    let want = 1 + rng.below(6);
                    while end < len && end - start < want && !is_token_char(chars[end]) {
                        end += 1;
                    }
                    Operation::delete(len, start..end)
                }
                _ => {
                    // Two cursors typing at once, one of them a token.
                    let a = outside_tokens(&chars, rng.below(len + 1));
                    let b = outside_tokens(&chars, rng.below(len + 1));
                    let text = token(i, p.tokens_typed);
                    p.tokens_typed += 1;
                    Operation::from_edits(len, [(a..a, text), (b..b, filler(rng, 2))])
                }
            }
            .map_err(|e| format!("building a local edit: {e}"))?;
            op.apply(&mut p.rope).map_err(|e| e.to_string())?;
            self.stats.local_edits += 1;
            if let Some(s) = p.client.local_edit(op).map_err(|e| e.to_string())? {
                send(p, s);
            }
            Ok(())
        }

        fn deliver_up(&mut self, i: usize) -> Result<(), String> {
            let Some(msg) = self.peers[i].up.pop_front() else {
                return Ok(());
            };
            match msg {
                Up::Submit(s) => {
                    if s.base_revision < self.host.revision() {
                        self.stats.rebased_at_host += 1;
                    }
                    let id = s.id;
                    match self
                        .host
                        .submit(s)
                        .map_err(|e| format!("host refused: {e}"))?
                    {
                        SubmitOutcome::Applied(edit) => {
                            self.stats.applied += 1;
                            for p in self.peers.iter_mut().filter(|p| p.subscribed) {
                                p.down.push_back(Down::Remote(edit.clone()));
                            }
                        }
                        SubmitOutcome::Duplicate { revision } => {
                            self.stats.duplicates += 1;
                            self.peers[i].down.push_back(Down::Ack(id, revision));
                        }
                    }
                }
                Up::CatchUp(revision) => {
                    let edits = self
                        .host
                        .edits_since(revision)
                        .map_err(|e| format!("catch-up: {e}"))?;
                    let p = &mut self.peers[i];
                    p.down.push_back(Down::CatchUp(edits));
                    p.subscribed = true;
                }
            }
            Ok(())
        }

        fn deliver_down(&mut self, i: usize) -> Result<(), String> {
            let p = &mut self.peers[i];
            let Some(msg) = p.down.pop_front() else {
                return Ok(());
            };
            match msg {
                Down::Remote(edit) => {
                    remote(p, edit)?;
                }
                Down::Ack(id, revision) => {
                    let next = p
                        .client
                        .on_ack(id, revision)
                        .map_err(|e| format!("client {i} ack: {e}"))?;
                    if let Some(s) = next {
                        send(p, s);
                    }
                }
                Down::CatchUp(edits) => {
                    for edit in edits {
                        if remote(p, edit)? {
                            self.stats.confirmed_by_catch_up += 1;
                        }
                    }
                }
            }
            Ok(())
        }

        fn drop_connection(&mut self, i: usize) {
            let p = &mut self.peers[i];
            if p.online {
                p.online = false;
                p.subscribed = false;
                p.up.clear();
                p.down.clear();
                self.stats.drops += 1;
            }
        }

        fn reconnect(&mut self, i: usize) {
            let p = &mut self.peers[i];
            if !p.online {
                p.online = true;
                p.up.push_back(Up::CatchUp(p.client.revision()));
                if let Some(s) = p.client.resend_after_reconnect() {
                    p.up.push_back(Up::Submit(s));
                }
            }
        }
    }

    fn token(client: usize, k: usize) -> String {
        format!("⟦{client}.{k}⟧")
    }

    fn filler(rng: &mut Rng, pieces: usize) -> String {
        (0..pieces)
            .map(|_| FILLER[rng.below(FILLER.len())])
            .collect()
    }

    /// Moves `at` to the start of the token it falls inside, if any.
    fn outside_tokens(chars: &[char], at: usize) -> usize {
        for j in (0..at).rev() {
            match chars[j] {
                '⟧' => return at,
                '⟦' => return j,
                _ => {}
            }
        }
        at
    }

    /// An offline client's submissions are lost; the resend on reconnect carries them.
    fn send(p: &mut Peer, s: Submission) {
        if p.online {
            p.up.push_back(Up::Submit(s));
        }
    }

    /// Returns whether the edit confirmed the client's own outstanding one.
    fn remote(p: &mut Peer, edit: RemoteEdit) -> Result<bool, String> {
        match p
            .client
            .on_remote(edit)
            .map_err(|e| format!("remote edit: {e}"))?
        {
            RemoteOutcome::Apply(op) => {
                op.apply(&mut p.rope)
                    .map_err(|e| format!("applying a remote edit: {e}"))?;
                Ok(false)
            }
            RemoteOutcome::Confirmed { send: next } => {
                if let Some(s) = next {
                    send(p, s);
                }
                Ok(true)
            }
            RemoteOutcome::AlreadySeen => Ok(false),
        }
    }
}

#[test]
fn every_copy_converges_and_no_edit_is_lost_or_doubled() {
    let mut total = sim::Stats::default();
    for seed in 0..120u64 {
        let clients = 2 + (seed % 7) as usize;
        let stats = sim::Simulation::new(seed, clients)
            .run(400)
            .unwrap_or_else(|e| panic!("seed {seed} with {clients} clients: {e}"));
        total.local_edits += stats.local_edits;
        total.applied += stats.applied;
        total.rebased_at_host += stats.rebased_at_host;
        total.duplicates += stats.duplicates;
        total.drops += stats.drops;
        total.confirmed_by_catch_up += stats.confirmed_by_catch_up;
        total.tokens += stats.tokens;
    }
    eprintln!("{total:?}");
    // The run must have exercised what it claims to test.
    assert!(total.rebased_at_host > 1000, "{total:?}");
    assert!(total.drops > 100, "{total:?}");
    assert!(total.duplicates > 10, "{total:?}");
    assert!(total.confirmed_by_catch_up > 10, "{total:?}");
    assert!(total.tokens > 5000, "{total:?}");
}
