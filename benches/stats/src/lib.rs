//! The statistics of the weft benchmark suite (issue 19), in one place for both sides: the
//! bench binaries (`weft-benches`, which print their own tables) and `cargo xtask bench` (which
//! writes `docs/benchmarks.md`). No dependencies, so xtask can use it without pulling in the
//! runtimes the bench crate depends on.
//!
//! - [`Stats`]: median and spread of one contender's samples (p10–p90 from 10 samples, min–max
//!   below), with *noisy* (spread beyond ±15 %) and *bimodal* marks.
//! - [`compare`]: weft against one peer from **paired rounds**: the runner interleaves
//!   contenders, so weft's and the peer's samples of the same round met the same machine state;
//!   the per-round ratios cancel the noise that hits both. Without pairs (different sample
//!   counts, fewer than 3 rounds, a zero sample) it falls back to the ratio of the medians.
//! - [`Comparison::decide`]: the verdict rule. A clean ratio holds when it is at most the
//!   target (1.0 = "≤ the peer", or a target an issue names, e.g. 1.3× std). A noisy or bimodal
//!   paired ratio is never averaged into a number that counts, but it still decides when the
//!   whole interval of per-round ratios lies on one side: **hold** when their p90 (the maximum
//!   below 10 rounds) is at most the target, **miss** when their p10 (the minimum below 10
//!   rounds) is above the target × 1.15; otherwise no verdict.
//!
//! ```
//! use weft_bench_stats::{compare, Decision};
//! // weft wins every round by about 10x, but the machine noise makes the ratios scatter.
//! let weft = [25.0, 30.0, 27.0, 60.0, 26.0];
//! let peer = [300.0, 310.0, 290.0, 400.0, 900.0];
//! let c = compare(&weft, &peer, false);
//! assert_eq!(c.decide(1.0), Decision::Holds);
//! assert!(c.describe(1.0).contains("weft ahead in 5/5 rounds"), "{}", c.describe(1.0));
//! ```

#![forbid(unsafe_code)]

use std::fmt;

/// Spread limit of a clean result: ±15 %, i.e. `(hi - lo) / median ≤ 0.30`.
pub const NOISE_LIMIT: f64 = 0.30;

/// Fewest rounds a paired ratio needs.
pub const MIN_PAIRS: usize = 3;

/// A noisy ratio misses only when its p10 exceeds the target by this factor (the noise limit's
/// ±15 %): a scattered ratio just above the target is not called a miss.
pub const MISS_MARGIN: f64 = 1.15;

/// Median and spread of one contender's samples (or of per-round ratios), with the marks the
/// tables show.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Number of samples.
    pub n: usize,
    /// Median sample.
    pub median: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
    /// Low end of the spread: the minimum below 10 samples, else p10 ([`trimmed_range`]).
    pub lo: f64,
    /// High end of the spread: the maximum below 10 samples, else p90.
    pub hi: f64,
    /// Spread beyond ±15 % of the median ([`NOISE_LIMIT`]).
    pub noisy: bool,
    /// Two clusters of samples with a gap between them ([`is_bimodal`]).
    pub bimodal: bool,
}

impl Stats {
    /// Statistics of `samples`.
    ///
    /// # Panics
    /// If `samples` is empty (every caller has at least one sample per contender).
    pub fn of(samples: &[f64]) -> Stats {
        assert!(!samples.is_empty(), "Stats::of needs at least one sample");
        let mut s = samples.to_vec();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        let (lo, hi) = trimmed_range(&s);
        Stats {
            n,
            median,
            min: s[0],
            max: s[n - 1],
            lo,
            hi,
            noisy: median > 0.0 && (hi - lo) / median > NOISE_LIMIT,
            bimodal: is_bimodal(&s),
        }
    }

    /// Clean enough to enter a ratio: neither noisy nor bimodal.
    pub fn clean(&self) -> bool {
        !self.noisy && !self.bimodal
    }

    /// The spread as a fraction of the median, `(hi - lo) / median` (0 for a zero median).
    pub fn spread(&self) -> f64 {
        if self.median == 0.0 {
            0.0
        } else {
            (self.hi - self.lo) / self.median
        }
    }

    /// Whether the spread is beyond ±15 % of the median (the same as the `noisy` field).
    pub fn is_noisy(&self) -> bool {
        self.noisy
    }

    /// Half the spread relative to the median, in percent (the "±x %" shown).
    pub fn pm_percent(&self) -> f64 {
        self.spread() / 2.0 * 100.0
    }

    /// Name of the spread's ends: `p10`/`p90` from 10 samples, `min`/`max` below.
    fn ends(&self) -> (&'static str, &'static str) {
        if self.n >= 10 {
            ("p10", "p90")
        } else {
            ("best", "worst")
        }
    }
}

impl fmt::Display for Stats {
    /// `median (lo–hi)`, plus ` noisy` / ` bimodal`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.bimodal {
            " bimodal"
        } else if self.noisy {
            " noisy"
        } else {
            ""
        };
        write!(
            f,
            "{} ({}–{}){mark}",
            si(self.median),
            si(self.lo),
            si(self.hi)
        )
    }
}

/// The spread's ends of sorted samples: min–max below 10 samples; from 10, p10–p90 taken
/// symmetrically, cutting `floor(n / 10)` samples at each end (10 or 11 samples: the second
/// smallest to the second largest; 21: the third). Nearest-rank p10 of 10 samples would be the
/// minimum while its p90 cuts the maximum, a lopsided spread.
pub fn trimmed_range(sorted: &[f64]) -> (f64, f64) {
    let n = sorted.len();
    let k = if n >= 10 { n / 10 } else { 0 };
    (sorted[k], sorted[n - 1 - k])
}

/// Bimodal: the sorted samples split at their widest gap into two clusters of at least two
/// samples each (and at least a fifth of them), the gap wider than 25 % of the median and
/// wider than twice the spread inside either cluster. Needs at least 4 samples.
pub fn is_bimodal(sorted: &[f64]) -> bool {
    let n = sorted.len();
    if n < 4 {
        return false;
    }
    let median = sorted[n / 2];
    if median <= 0.0 {
        return false;
    }
    let (mut best, mut at) = (0.0, 0);
    for i in 0..n - 1 {
        let gap = sorted[i + 1] - sorted[i];
        if gap > best {
            best = gap;
            at = i + 1; // the upper cluster starts here
        }
    }
    let min_cluster = 2.max(n.div_ceil(5));
    if at < min_cluster || n - at < min_cluster {
        return false;
    }
    let inner = (sorted[at - 1] - sorted[0]).max(sorted[n - 1] - sorted[at]);
    best / median > 0.25 && best > 2.0 * inner
}

/// A cost ratio of weft against one peer, or why it is not a number that counts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Ratio {
    /// weft's cost / the peer's cost (time / time, or rate⁻¹ / rate⁻¹): below 1 = weft better.
    Value(f64),
    /// The per-round ratios (or, unpaired, either result) spread beyond ±15 %.
    Noisy,
    /// The per-round ratios (or, unpaired, either result) form two clusters.
    Bimodal,
}

/// weft against one peer.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    /// The ratio, or noisy / bimodal.
    pub ratio: Ratio,
    /// ± half the spread of the ratio, in percent of it.
    pub pm_percent: f64,
    /// From paired rounds (else the ratio of the two medians).
    pub paired: bool,
    /// The per-round ratios' statistics (paired only): median, p10–p90 or min–max.
    pub rounds: Option<Stats>,
    /// The per-round ratios in round order (paired only; empty otherwise).
    pub per_round: Vec<f64>,
}

/// What a comparison says about a target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// weft's cost / the peer's is at most the target.
    Holds,
    /// weft's cost / the peer's is above the target.
    Misses,
    /// The per-round ratios lie on both sides of the target (or the medians are noisy).
    Unclear,
}

/// weft's samples against a peer's, in round order; `higher_is_better` for rates (the ratio is
/// then the peer's rate over weft's, so below 1 is still weft better). Paired per round when
/// both have the same number (at least [`MIN_PAIRS`]) of positive samples, else the ratio of
/// the medians, refused when either contender is noisy or bimodal.
///
/// # Panics
/// If either slice is empty.
pub fn compare(weft: &[f64], peer: &[f64], higher_is_better: bool) -> Comparison {
    let pairable = weft.len() == peer.len()
        && weft.len() >= MIN_PAIRS
        && weft.iter().chain(peer).all(|&x| x > 0.0);
    let cost_ratio = |w: f64, p: f64| if higher_is_better { p / w } else { w / p };
    if pairable {
        let ratios: Vec<f64> = weft
            .iter()
            .zip(peer)
            .map(|(&w, &p)| cost_ratio(w, p))
            .collect();
        let st = Stats::of(&ratios);
        let ratio = if st.bimodal {
            Ratio::Bimodal
        } else if st.noisy {
            Ratio::Noisy
        } else {
            Ratio::Value(st.median)
        };
        return Comparison {
            ratio,
            pm_percent: st.pm_percent(),
            paired: true,
            rounds: Some(st),
            per_round: ratios,
        };
    }
    let (a, b) = (Stats::of(weft), Stats::of(peer));
    let ratio = if a.bimodal || b.bimodal {
        Ratio::Bimodal
    } else if a.noisy || b.noisy || a.median == 0.0 || b.median == 0.0 {
        // A zero median has no ratio either: refused like a noisy one.
        Ratio::Noisy
    } else {
        Ratio::Value(cost_ratio(a.median, b.median))
    };
    Comparison {
        ratio,
        pm_percent: a.pm_percent() + b.pm_percent(),
        paired: false,
        rounds: None,
        per_round: Vec::new(),
    }
}

impl Comparison {
    /// Whether the ratio is a clean number (neither noisy nor bimodal): only those enter
    /// averages such as the headline chart.
    pub fn clean(&self) -> bool {
        matches!(self.ratio, Ratio::Value(_))
    }

    /// The number shown: the clean ratio, or for a noisy / bimodal paired one the median of the
    /// per-round ratios (shown, never averaged); `None` for a refused unpaired ratio.
    pub fn value(&self) -> Option<f64> {
        match (self.ratio, self.rounds) {
            (Ratio::Value(v), _) => Some(v),
            (_, Some(st)) => Some(st.median),
            _ => None,
        }
    }

    /// The verdict against `target` (1.0 = "≤ the peer"; see the crate docs for the rule).
    pub fn decide(&self, target: f64) -> Decision {
        match (self.ratio, self.rounds) {
            (Ratio::Value(v), _) if v <= target => Decision::Holds,
            (Ratio::Value(_), _) => Decision::Misses,
            (_, Some(st)) if st.hi <= target => Decision::Holds,
            (_, Some(st)) if st.lo > target * MISS_MARGIN => Decision::Misses,
            _ => Decision::Unclear,
        }
    }

    /// The ratio as text: `0.85 ±3 %`, `0.85 ±3 %, medians` (unpaired), or for a noisy or
    /// bimodal paired ratio e.g. `0.08 (noisy ±73 %, weft ahead in 11/11 rounds, p90 0.14)`:
    /// the median of the per-round ratios (shown, never averaged) and [`Self::note`].
    pub fn describe(&self, target: f64) -> String {
        match (self.note(target), self.value()) {
            (None, v) => {
                let how = if self.paired { "" } else { ", medians" };
                format!(
                    "{:.2} ±{:.0} %{how}",
                    v.unwrap_or(f64::NAN),
                    self.pm_percent
                )
            }
            (Some(note), Some(v)) => format!("{v:.2} ({note})"),
            (Some(note), None) => note,
        }
    }

    /// Why a ratio is not a clean number and what its rounds still say about `target`:
    /// `noisy ±73 %, weft ahead in 11/11 rounds, p90 0.14` (a hold), `..., weft behind in 5/5
    /// rounds, best 1.20` (a miss), `..., p10–p90 0.85–1.12` (no verdict), or `noisy ±20 %,
    /// medians` (unpaired: no rounds to decide from). `None` for a clean ratio.
    pub fn note(&self, target: f64) -> Option<String> {
        let mark = match self.ratio {
            Ratio::Value(_) => return None,
            Ratio::Noisy => format!("noisy ±{:.0} %", self.pm_percent),
            Ratio::Bimodal => "bimodal".to_string(),
        };
        let Some(st) = self.rounds else {
            return Some(format!("{mark}, medians"));
        };
        let n = st.n;
        let (lo_name, hi_name) = st.ends();
        let count = |f: &dyn Fn(f64) -> bool| self.per_round.iter().filter(|&&r| f(r)).count();
        let (within, beyond) = (count(&|r| r <= target), count(&|r| r > target));
        let detail = match (self.decide(target), target == 1.0) {
            (Decision::Holds, true) => {
                format!("weft ahead in {within}/{n} rounds, {hi_name} {:.2}", st.hi)
            }
            (Decision::Holds, false) => {
                format!(
                    "within {target}× in {within}/{n} rounds, {hi_name} {:.2}",
                    st.hi
                )
            }
            (Decision::Misses, true) => {
                format!("weft behind in {beyond}/{n} rounds, {lo_name} {:.2}", st.lo)
            }
            (Decision::Misses, false) => {
                format!(
                    "beyond {target}× in {beyond}/{n} rounds, {lo_name} {:.2}",
                    st.lo
                )
            }
            (Decision::Unclear, _) => {
                format!("{lo_name}–{hi_name} {:.2}–{:.2}", st.lo, st.hi)
            }
        };
        Some(format!("{mark}, {detail}"))
    }
}

/// Targets other than "≤ the peer" that an issue names: (group, contender prefix, the most
/// weft's cost / the contender's may be, the issue). They apply to reference contenders
/// (e.g. `std_sync`, the synchronous floor) too.
pub const TARGETS: &[(&str, &str, f64, &str)] = &[("blocking", "std", 1.3, "issue 17")];

/// The target of weft against `contender` in `group`: 1.0 ("≤ the peer") unless [`TARGETS`]
/// names another, with the issue that names it.
///
/// ```
/// assert_eq!(weft_bench_stats::target("blocking", "std_sync"), (1.3, Some("issue 17")));
/// assert_eq!(weft_bench_stats::target("blocking", "smol"), (1.0, None));
/// ```
pub fn target(group: &str, contender: &str) -> (f64, Option<&'static str>) {
    TARGETS
        .iter()
        .find(|(g, c, _, _)| *g == group && contender.starts_with(c))
        .map_or((1.0, None), |(_, _, t, issue)| (*t, Some(*issue)))
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

/// The `q`-quantile (0.0–1.0) of sorted `v`, nearest rank; `None` if `v` is empty.
pub fn quantile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

#[cfg(test)]
mod tests;
