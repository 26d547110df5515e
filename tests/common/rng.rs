//! splitmix64: a tiny seedable generator, the same sequence on every machine and every
//! `rand` version, so a failing seed reruns exactly. Shared by the convergence simulation
//! and the chaos harness (each includes this file with `#[path]`).
#![allow(dead_code)]

use std::time::Duration;

#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }

    pub fn millis(&mut self, range: std::ops::Range<u64>) -> Duration {
        Duration::from_millis(range.start + self.next_u64() % (range.end - range.start))
    }

    /// A fresh generator for a part of the run (a connection, a participant).
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}
