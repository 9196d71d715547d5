//! Interleaved rounds for the load-style benchmarks (`http_server`, `tcp_echo`): every round
//! runs each contender once, in a rotating order, so machine noise hits all of them alike; the
//! summary is the median and the spread (p10–p90 from 10 rounds, min–max below) over rounds.
//! The statistics ([`Summary`], [`quantile`], [`si`]) and the paired verdict rule
//! ([`weft_bench_stats::compare`]) are the `weft-bench-stats` crate's, shared with
//! `cargo xtask bench`, so a binary's printed table and the page agree.

use std::time::Duration;

pub use weft_bench_stats::{quantile, si, Stats as Summary};

/// How long a load-style benchmark runs, from its command line (`cargo bench -- --quick`) or
/// the `WEFT_BENCH_QUICK=1` environment variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// `--test` (what `cargo xtask bench -- --test` passes): one tiny round, a smoke test.
    Test,
    /// `--quick`: 11 interleaved rounds of short turns; the whole suite projects to about 7–8
    /// minutes on 2 cores (`cargo xtask bench --quick` prints the schedule's projection).
    Quick,
    /// Default: more and longer rounds.
    Full,
}

impl Mode {
    /// Reads the mode from the process arguments and environment.
    pub fn from_env() -> Mode {
        let args: Vec<String> = std::env::args().collect();
        if args.iter().any(|a| a == "--test") {
            Mode::Test
        } else if args.iter().any(|a| a == "--quick")
            || std::env::var_os("WEFT_BENCH_QUICK").is_some_and(|v| v != "0")
        {
            Mode::Quick
        } else {
            Mode::Full
        }
    }

    /// Rounds: each contender runs once per round, so this is the samples per contender. 11
    /// in quick mode: from 10 samples the spread is p10–p90 (the second smallest to the second
    /// largest of 10 or 11: one outlier round on each side is cut), and 11 gives an exact
    /// median.
    pub fn rounds(self) -> usize {
        match self {
            Mode::Test => 1,
            Mode::Quick => 11,
            Mode::Full => 21,
        }
    }

    /// Time budget of one contender's turn in a round, for duration-bounded load workloads
    /// (`http_server`).
    pub fn turn(self) -> Duration {
        match self {
            Mode::Test => Duration::from_millis(200),
            Mode::Quick => Duration::from_millis(500),
            Mode::Full => Duration::from_secs(2),
        }
    }
}

/// Whether the benchmark `name` should run: criterion-style filters (positional arguments, as in
/// `cargo bench -p weft-benches -- sync_mpsc`) select the benchmarks whose name contains one of
/// them; with no filter everything runs.
pub fn selected(name: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

/// The order of contenders in round `round`: rotated by one each round.
pub fn rotation(n: usize, round: usize) -> impl Iterator<Item = usize> {
    (0..n).map(move |i| (i + round) % n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_visits_everyone_once_per_round() {
        assert_eq!(rotation(3, 1).collect::<Vec<_>>(), [1, 2, 0]);
    }
}
