//! Chaos, ten runs: six typists, every link through a fault-injecting proxy, the host
//! paused, one typist killed and replaced (see `tests/common/chaos.rs`). Prints each run's
//! counts and, last, one JSON object with the totals: faults injected, reconnects, edits,
//! divergences (must be 0) and lost tokens (must be 0).
//!
//! Run: `cargo bench --bench chaos` (about 15 minutes). Without `--bench` (as `cargo test
//! --all-targets` runs it) one short run. `COTYPE_CHAOS_SEED=N` starts at seed N.

#[path = "../tests/common/chaos.rs"]
mod chaos;
#[path = "../tests/common/process.rs"]
mod process;

use std::time::Duration;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (runs, typing) = if full {
        (10, Duration::from_secs(40))
    } else {
        (1, Duration::from_secs(10))
    };
    let first: u64 = std::env::var("COTYPE_CHAOS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    // Every seed types for the same time, so the runs' figures compare.
    let timing = chaos::Timing {
        typing,
        tokens_at_least: 0,
        reconnects_at_least: 0,
        settle: Duration::from_secs(60),
    };
    let mut total = chaos::Report::default();
    let mut failed = Vec::new();
    for seed in first..first + runs {
        let report = chaos::run_blocking(seed, timing, chaos::FaultPlan::default());
        println!("{}", report.json());
        for problem in &report.problems {
            println!("  seed {seed}: {problem}");
        }
        if !report.problems.is_empty() {
            failed.push(seed);
        }
        total.faults_injected += report.faults_injected;
        total.delayed_chunks += report.delayed_chunks;
        total.stalls += report.stalls;
        total.cuts += report.cuts;
        total.half_opens += report.half_opens;
        total.host_pauses += report.host_pauses;
        total.kills += report.kills;
        total.reconnects += report.reconnects;
        total.edits += report.edits;
        total.undos += report.undos;
        total.pastes += report.pastes;
        total.tokens += report.tokens;
        total.divergences += report.divergences;
        total.lost += report.lost;
        total.refused += report.refused;
        total.host_rss_peak_kib = total.host_rss_peak_kib.max(report.host_rss_peak_kib);
        total.seconds += report.seconds;
    }
    println!(
        "{runs} runs: {} faults injected ({} stalls, {} cuts, {} half-open, {} host pauses, {} kills; {} chunks delayed), {} reconnects, {} edits ({} undos, {} pastes), {} tokens checked; divergences {}, lost {}, refused {}; failed seeds {failed:?}",
        total.faults_injected,
        total.stalls,
        total.cuts,
        total.half_opens,
        total.host_pauses,
        total.kills,
        total.delayed_chunks,
        total.reconnects,
        total.edits,
        total.undos,
        total.pastes,
        total.tokens,
        total.divergences,
        total.lost,
        total.refused
    );
    println!(
        "{{\"bench\":\"chaos\",\"runs\":{runs},\"first_seed\":{first},\"failed_runs\":{},\"faults_injected\":{},\"stalls\":{},\"cuts\":{},\"half_opens\":{},\"host_pauses\":{},\"kills\":{},\"delayed_chunks\":{},\"reconnects\":{},\"edits\":{},\"undos\":{},\"pastes\":{},\"tokens\":{},\"divergences\":{},\"lost\":{},\"refused\":{},\"host_rss_peak_kib\":{},\"seconds\":{:.0}}}",
        failed.len(),
        total.faults_injected,
        total.stalls,
        total.cuts,
        total.half_opens,
        total.host_pauses,
        total.kills,
        total.delayed_chunks,
        total.reconnects,
        total.edits,
        total.undos,
        total.pastes,
        total.tokens,
        total.divergences,
        total.lost,
        total.refused,
        total.host_rss_peak_kib,
        total.seconds
    );
    assert!(failed.is_empty(), "chaos failed for seeds {failed:?}");
}
