//! Interleaved rounds for the load-style benchmarks (`http_server`, `tcp_echo`): every round
//! runs each contender once, in a rotating order, so machine noise hits all of them alike; the
//! summary is the median and the spread (p10–p90 from 10 rounds, min–max below) over rounds.

use std::fmt;
use std::time::Duration;

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

/// Median and spread of one contender's samples.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Summary {
    /// Median sample.
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Low end of the spread: the 10th percentile from 10 samples (`floor(n / 10)` samples cut
    /// at each end, as `cargo xtask bench` does), else the minimum.
    pub lo: f64,
    /// High end of the spread: the 90th percentile from 10 samples, else the maximum.
    pub hi: f64,
}

impl Summary {
    /// Summarises `samples` (at least one).
    ///
    /// # Panics
    /// If `samples` is empty.
    pub fn of(samples: &[f64]) -> Summary {
        assert!(!samples.is_empty(), "Summary::of needs at least one sample");
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        // p10–p90 from 10 samples, cut symmetrically: floor(n / 10) samples at each end.
        let k = if n >= 10 { n / 10 } else { 0 };
        let (lo, hi) = (s[k], s[n - 1 - k]);
        Summary {
            median,
            min: s[0],
            max: s[n - 1],
            lo,
            hi,
        }
    }

    /// Spread as a fraction of the median: `(hi - lo) / median` (p10–p90 from 10 samples,
    /// min–max below; the rule `cargo xtask bench` applies to each contender's own samples).
    pub fn spread(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.hi - self.lo) / self.median
        }
    }

    /// Whether the spread is beyond ±15 % of the median (issue 19: such a result is marked, not
    /// averaged into a ratio).
    pub fn is_noisy(&self) -> bool {
        self.spread() > 0.30
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}–{}){}",
            si(self.median),
            si(self.lo),
            si(self.hi),
            if self.is_noisy() { " noisy" } else { "" }
        )
    }
}

/// `12345.0` → `"12.3k"`: three significant digits with a k/M suffix.
pub fn si(v: f64) -> String {
    let (v, suffix) = if v >= 1e6 {
        (v / 1e6, "M")
    } else if v >= 1e3 {
        (v / 1e3, "k")
    } else {
        (v, "")
    };
    if v >= 100.0 {
        format!("{v:.0}{suffix}")
    } else if v >= 10.0 {
        format!("{v:.1}{suffix}")
    } else {
        format!("{v:.2}{suffix}")
    }
}

/// The order of contenders in round `round`: rotated by one each round.
pub fn rotation(n: usize, round: usize) -> impl Iterator<Item = usize> {
    (0..n).map(move |i| (i + round) % n)
}

/// The `q`-quantile (0.0–1.0) of sorted `v`, nearest rank; `None` if `v` is empty.
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_median_min_max() {
        let s = Summary::of(&[3.0, 1.0, 2.0]);
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert_eq!(Summary::of(&[1.0, 3.0]).median, 2.0);
        assert!(!Summary::of(&[100.0, 110.0]).is_noisy());
        assert!(Summary::of(&[100.0, 140.0]).is_noisy());
        let mut ten = vec![100.0; 10];
        ten[0] = 10.0;
        ten[9] = 1000.0;
        assert_eq!((Summary::of(&ten).lo, Summary::of(&ten).hi), (100.0, 100.0));
        let mut eleven = vec![100.0; 11];
        eleven[0] = 10.0;
        eleven[10] = 1000.0;
        let s = Summary::of(&eleven);
        assert_eq!((s.lo, s.hi), (100.0, 100.0), "one outlier per side is cut");
        assert!(!s.is_noisy());
    }

    #[test]
    fn quantiles_use_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(quantile(&v, 0.99), Some(99));
        assert_eq!(quantile(&v, 0.5), Some(50));
        assert_eq!(quantile(&v, 1.0), Some(100));
        assert_eq!(quantile::<u32>(&[], 0.5), None);
    }

    #[test]
    fn rotation_visits_everyone_once_per_round() {
        assert_eq!(rotation(3, 1).collect::<Vec<_>>(), [1, 2, 0]);
        assert_eq!(si(123_456.0), "123k");
        assert_eq!(si(1_500.0), "1.50k");
    }
}
