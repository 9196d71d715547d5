//! The interleaved runner every non-HTTP group uses (issue 19): a [`Workload`] holds one closure
//! per contender; each round calls every closure once, in a rotating order, so machine noise
//! hits all contenders alike (criterion runs them one after another, which the issue forbids).
//!
//! A contender's closure gets a [`Bencher`] once per round. Whatever it does outside
//! [`Bencher::iter`] is untimed setup for that turn (e.g. starting and stopping background
//! tasks, so they never steal CPU from a peer's turn). Each round yields one sample per
//! contender: nanoseconds per iteration over a fixed iteration count (the same for every
//! contender, calibrated once so that the slowest contender's turn takes about
//! [`target`]), or a value the closure reports itself with [`Bencher::sample`] (bytes, µs of
//! overshoot, ...). After the rounds, the workload prints a table and appends one
//! [`report::record`] per contender.
//!
//! ```no_run
//! use weft_benches::runner::Workload;
//! let mut w = Workload::new("demo", "sum");
//! w.bench("std", |b| b.iter(|| (0..100u64).sum::<u64>()));
//! w.bench("fold", |b| b.iter(|| (0..100u64).fold(0, |a, x| a + x)));
//! w.run();
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use crate::report::{self, Record};
use crate::rounds::{rotation, selected, Mode, Summary};

/// Rounds per workload in `mode`: every contender contributes one sample per round.
pub fn rounds(mode: Mode) -> usize {
    match mode {
        Mode::Test => 1,
        Mode::Quick => 11,
        Mode::Full => 21,
    }
}

/// Target duration of the slowest contender's turn in `mode` (iteration-count calibration).
pub fn target(mode: Mode) -> Duration {
    match mode {
        Mode::Test => Duration::ZERO,
        Mode::Quick => Duration::from_millis(15),
        Mode::Full => Duration::from_millis(100),
    }
}

/// Upper bound on iterations per turn (fast workloads would otherwise loop millions of times).
const MAX_ITERS: u64 = 1_000_000;

/// What a contender's closure gets once per round.
#[derive(Debug)]
pub struct Bencher {
    iters: u64,
    sample: Option<f64>,
}

impl Bencher {
    /// Iterations this turn must run (1 during calibration and in `--test` mode).
    pub fn iters(&self) -> u64 {
        self.iters
    }

    /// Times [`Self::iters`] calls of `f`; the sample is nanoseconds per call.
    pub fn iter<R>(&mut self, mut f: impl FnMut() -> R) {
        let start = Instant::now();
        for _ in 0..self.iters {
            black_box(f());
        }
        self.elapsed(start.elapsed());
    }

    /// `f(iters)` runs the iterations itself and returns how long they took (for workloads
    /// that need per-iteration setup outside the timed part).
    pub fn iter_custom(&mut self, f: impl FnOnce(u64) -> Duration) {
        let d = f(self.iters);
        self.elapsed(d);
    }

    /// Reports this turn's sample directly, in the workload's unit (bytes, µs, ...).
    pub fn sample(&mut self, value: f64) {
        self.sample = Some(value);
    }

    fn elapsed(&mut self, d: Duration) {
        self.sample = Some(d.as_nanos() as f64 / self.iters.max(1) as f64);
    }
}

type Contender<'a> = (String, Box<dyn FnMut(&mut Bencher) + 'a>);

/// One workload of a group: the contenders, measured in interleaved rounds by [`Self::run`].
pub struct Workload<'a> {
    group: String,
    name: String,
    unit: String,
    higher_is_better: bool,
    fixed_iters: Option<u64>,
    max_rounds: Option<usize>,
    contenders: Vec<Contender<'a>>,
}

impl<'a> Workload<'a> {
    /// A workload `name` of `group` (the chart it appears in), measured in ns/iter by default.
    pub fn new(group: &str, name: &str) -> Workload<'a> {
        Workload {
            group: group.to_string(),
            name: name.to_string(),
            unit: "ns/iter".to_string(),
            higher_is_better: false,
            fixed_iters: None,
            max_rounds: None,
            contenders: Vec::new(),
        }
    }

    /// Sets the unit of the samples and whether larger is better (for [`Bencher::sample`]).
    pub fn unit(&mut self, unit: &str, higher_is_better: bool) -> &mut Self {
        self.unit = unit.to_string();
        self.higher_is_better = higher_is_better;
        self
    }

    /// Fixes the iteration count of every turn (no calibration), e.g. 1 for workloads whose
    /// closure does a fixed, large amount of work or reports its own sample.
    pub fn iters(&mut self, n: u64) -> &mut Self {
        self.fixed_iters = Some(n.max(1));
        self
    }

    /// Caps the rounds (for expensive workloads, e.g. one child process per sample).
    pub fn max_rounds(&mut self, n: usize) -> &mut Self {
        self.max_rounds = Some(n.max(1));
        self
    }

    /// Adds a contender: `f` is called once per round (and once to calibrate).
    pub fn bench(&mut self, contender: &str, f: impl FnMut(&mut Bencher) + 'a) -> &mut Self {
        self.contenders.push((contender.to_string(), Box::new(f)));
        self
    }

    /// The name `group/workload`, which positional filters match.
    pub fn id(&self) -> String {
        format!("{}/{}", self.group, self.name)
    }

    /// Runs the rounds (unless filtered out), prints the table and records the results.
    /// Returns the summaries (empty when filtered out).
    pub fn run(&mut self) -> Vec<(String, Summary)> {
        let id = self.id();
        if !selected(&id) || self.contenders.is_empty() {
            return Vec::new();
        }
        let (iters, samples) = self.measure(Mode::from_env());
        self.print_and_record(iters, &samples)
    }

    /// The rounds alone: the iteration count and each contender's samples.
    fn measure(&mut self, mode: Mode) -> (u64, Vec<Vec<f64>>) {
        let iters = match (mode, self.fixed_iters) {
            (_, Some(n)) => n,
            (Mode::Test, None) => 1,
            (_, None) => self.calibrate(target(mode)),
        };
        let n = self.contenders.len();
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n];
        let rounds = rounds(mode).min(self.max_rounds.unwrap_or(usize::MAX));
        for round in 0..rounds {
            for i in rotation(n, round) {
                let mut b = Bencher {
                    iters,
                    sample: None,
                };
                (self.contenders[i].1)(&mut b);
                if let Some(s) = b.sample {
                    samples[i].push(s);
                }
            }
        }
        (iters, samples)
    }

    /// One turn of each contender with 1 iteration (also the warm-up); returns the iteration
    /// count that makes the slowest turn last about `target`.
    fn calibrate(&mut self, target: Duration) -> u64 {
        let mut slowest = Duration::from_nanos(1);
        for (_, f) in &mut self.contenders {
            let start = Instant::now();
            f(&mut Bencher {
                iters: 1,
                sample: None,
            });
            slowest = slowest.max(start.elapsed());
        }
        (target.as_nanos() / slowest.as_nanos()).clamp(1, MAX_ITERS as u128) as u64
    }

    fn print_and_record(&self, iters: u64, samples: &[Vec<f64>]) -> Vec<(String, Summary)> {
        println!(
            "{} ({}, {} round(s) x {iters} iteration(s))",
            self.id(),
            self.unit,
            samples.first().map_or(0, Vec::len)
        );
        let mut out = Vec::new();
        for ((name, _), s) in self.contenders.iter().zip(samples) {
            if s.is_empty() {
                println!("  {name:<16} no sample (the closure reported nothing)");
                continue;
            }
            let summary = Summary::of(s);
            report::record(&Record {
                group: &self.group,
                workload: &self.name,
                contender: name,
                unit: &self.unit,
                higher_is_better: self.higher_is_better,
                samples: s,
            });
            out.push((name.clone(), summary));
        }
        let weft = out.iter().find(|(n, _)| n == "weft").map(|(_, s)| s.median);
        for (name, s) in &out {
            let ratio = match weft {
                Some(w) if name != "weft" && s.median > 0.0 && w > 0.0 => {
                    let r = if self.higher_is_better {
                        s.median / w
                    } else {
                        w / s.median
                    };
                    format!("  weft/{name} {r:.2}")
                }
                _ => String::new(),
            };
            println!("  {name:<16} {s}{ratio}");
        }
        out
    }
}

impl std::fmt::Debug for Workload<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workload")
            .field("id", &self.id())
            .field("unit", &self.unit)
            .field("contenders", &self.contenders.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bencher_reports_ns_per_iteration_or_a_direct_sample() {
        let mut b = Bencher {
            iters: 4,
            sample: None,
        };
        b.iter_custom(|n| Duration::from_nanos(100 * n));
        assert_eq!(b.sample, Some(100.0));
        b.sample(7.0);
        assert_eq!(b.sample, Some(7.0));
    }

    #[test]
    fn every_contender_runs_once_per_round_with_the_same_iteration_count() {
        let (mut a, mut c) = (Vec::new(), Vec::new());
        {
            let mut w = Workload::new("runner_selftest", "counts");
            w.iters(3)
                .bench("weft", |b| {
                    a.push(b.iters());
                    b.sample(1.0)
                })
                .bench("peer", |b| {
                    c.push(b.iters());
                    b.sample(2.0)
                });
            let (iters, samples) = w.measure(Mode::Quick);
            assert_eq!(iters, 3);
            assert_eq!(samples, [vec![1.0; 11], vec![2.0; 11]]);
        }
        assert!(!a.is_empty());
        assert_eq!(a.len(), c.len());
        assert!(a.iter().chain(&c).all(|&n| n == 3));
    }
}
