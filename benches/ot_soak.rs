//! Soak and throughput of the editing engine.
//!
//! 1. A long soak of the convergence simulation (tests/convergence.rs): many seeds, long
//!    runs, 10 participants, drops and reconnects; any divergence aborts the bench.
//! 2. Host sequencing throughput: 10 participants submit concurrently (each round, all
//!    ten edit the same revision, so the k-th is transformed past k-1 others) into a
//!    100 KB document. Baseline, in the same run: raw `Rope::insert` of the same texts.
//!
//! Run: `cargo bench --bench ot_soak`. The last line is one JSON object of the figures.

use std::hint::black_box;
use std::time::Instant;

use cotype::text::{AuthoritativeDocument, EditId, Operation, Submission};
use ropey::Rope;

#[allow(dead_code)]
#[path = "../tests/convergence.rs"]
mod convergence;

use convergence::sim::{Rng, Simulation};

const CLIENTS: usize = 10;

fn soak() -> (u64, u64, f64) {
    let started = Instant::now();
    let (seeds, steps) = (60u64, 5_000usize);
    let mut edits = 0;
    for seed in 0..seeds {
        let stats = Simulation::new(1_000_000 + seed, CLIENTS)
            .run(steps)
            .unwrap_or_else(|e| panic!("soak seed {seed}: {e}"));
        edits += stats.local_edits;
    }
    (seeds * steps as u64, edits, started.elapsed().as_secs_f64())
}

/// Submissions as 10 concurrent participants would send them, plus the (position, text)
/// of each for the baseline.
fn workload(initial: &str, rounds: u64) -> (Vec<Submission>, Vec<(usize, String)>) {
    let mut rng = Rng::new(7);
    let mut scratch = AuthoritativeDocument::new(initial, 0);
    let mut submissions = Vec::new();
    let mut baseline = Vec::new();
    for round in 0..rounds {
        let base_revision = scratch.revision();
        let len = scratch.rope().len_chars();
        let mut this_round = Vec::with_capacity(CLIENTS);
        for client in 0..CLIENTS {
            let at = rng.below(len + 1);
            let op = if rng.percent(75) {
                let text = ["x", "let ", "é", "😀", "\n    "][rng.below(5)];
                baseline.push((at, text.to_string()));
                Operation::insert(len, at, text)
            } else {
                baseline.push((at, String::new()));
                Operation::delete(len, at..(at + 3).min(len))
            }
            .expect("positions are inside the document");
            this_round.push(Submission {
                id: EditId {
                    instance: [client as u8; 16],
                    seq: round,
                },
                base_revision,
                op,
            });
        }
        for s in &this_round {
            scratch.submit(s.clone()).expect("the workload is valid");
        }
        submissions.extend(this_round);
    }
    (submissions, baseline)
}

fn main() {
    let (soak_steps, soak_edits, soak_secs) = soak();
    println!(
        "soak: {soak_steps} simulated events ({soak_edits} local edits, {CLIENTS} participants) \
         converged in {soak_secs:.2} s"
    );

    let line = "    let value = compute(&input, 42); // a line of code\n";
    let initial = line.repeat(100_000 / line.len());
    let (submissions, baseline) = workload(&initial, 20_000);
    let count = submissions.len();

    let mut host = AuthoritativeDocument::new(&initial, 0);
    let started = Instant::now();
    for s in submissions {
        black_box(host.submit(s).expect("the workload is valid"));
    }
    let host_secs = started.elapsed().as_secs_f64();

    let mut rope = Rope::from_str(&initial);
    let started = Instant::now();
    for (at, text) in &baseline {
        let at = (*at).min(rope.len_chars());
        if text.is_empty() {
            rope.remove(at..(at + 3).min(rope.len_chars()));
        } else {
            rope.insert(at, text);
        }
    }
    black_box(&rope);
    let rope_secs = started.elapsed().as_secs_f64();

    let host_rate = count as f64 / host_secs;
    let rope_rate = count as f64 / rope_secs;
    let ratio = rope_rate / host_rate;
    println!(
        "host sequencing: {count} submissions from {CLIENTS} concurrent participants: \
         {host_rate:.0}/s; raw Rope edits: {rope_rate:.0}/s; sequencing costs {ratio:.1}x a raw edit"
    );
    println!(
        "{{\"soak_events\":{soak_steps},\"soak_local_edits\":{soak_edits},\"soak_seconds\":{soak_secs:.3},\
         \"clients\":{CLIENTS},\"submissions\":{count},\"host_submissions_per_sec\":{host_rate:.0},\
         \"rope_edits_per_sec\":{rope_rate:.0},\"host_cost_vs_rope_edit\":{ratio:.2}}}"
    );
}
