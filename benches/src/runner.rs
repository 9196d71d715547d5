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
//! The schedule (quick mode): every contender first gets an untimed warm-up turn; calibration
//! then grows the iteration count until the slowest contender's turn lasts about an eighth of
//! [`target`] (150 ms) and scales it up; then [`rounds`] (11) interleaved rounds. A workload
//! whose rounds take more than twice their planned time (see [`crate::plan`]) stops early,
//! after at least 3 rounds, and says so, so that one slow workload cannot blow the suite's
//! budget.
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

use crate::plan::{self, Entry};
use crate::report::{self, Record};
use crate::rounds::{rotation, selected, Mode, Summary};

/// Rounds per workload in `mode` ([`Mode::rounds`]): every contender contributes one sample
/// per round.
pub fn rounds(mode: Mode) -> usize {
    mode.rounds()
}

/// Target duration of the slowest contender's turn in `mode` (iteration-count calibration).
/// Quick mode's 150 ms is ten times the old 15 ms turns, whose samples were dominated by
/// scheduler hiccups of the shared machine (43 of 87 comparisons came out noisy).
pub fn target(mode: Mode) -> Duration {
    match mode {
        Mode::Test => Duration::ZERO,
        Mode::Quick => Duration::from_millis(150),
        Mode::Full => Duration::from_millis(300),
    }
}

/// Upper bound on iterations per turn.
const MAX_ITERS: u64 = 100_000_000;

/// Calibration stops growing the iteration count once the slowest turn lasts this fraction
/// of the target, then scales up linearly.
const PROBE_FRACTION: u32 = 8;

/// Untimed turns per contender the plan counts for warm-up plus calibration probes.
const CALIBRATION_TURNS: f64 = 1.3;

/// A workload stops its rounds early once they took this many times their planned time.
const OVER_BUDGET: f64 = 2.0;

/// ... but never before this many rounds.
const MIN_ROUNDS: usize = 3;

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
    expect_turn: Option<Duration>,
    warm_up: bool,
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
            expect_turn: None,
            warm_up: true,
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

    /// The expected length of one turn, for the schedule ([`crate::plan`]) of a workload with
    /// [`Self::iters`] (a calibrated workload's turn is [`target`]). Also the base of its
    /// over-budget stop.
    pub fn expect_turn(&mut self, d: Duration) -> &mut Self {
        self.expect_turn = Some(d);
        self
    }

    /// Skips the untimed warm-up turn of a workload with [`Self::iters`] (e.g. one fresh child
    /// process per sample: nothing to warm up).
    pub fn no_warm_up(&mut self) -> &mut Self {
        self.warm_up = false;
        self
    }

    /// The workload's entry in the dry schedule for `mode`.
    pub fn plan(&self, mode: Mode) -> Entry {
        let (turn, warm_up_turns) = match self.fixed_iters {
            Some(_) => (
                self.expect_turn.unwrap_or(target(mode)),
                if self.warm_up { 1.0 } else { 0.0 },
            ),
            None => (target(mode), CALIBRATION_TURNS),
        };
        Entry {
            id: self.id(),
            contenders: self.contenders.len(),
            rounds: rounds(mode).min(self.max_rounds.unwrap_or(usize::MAX)),
            turn,
            warm_up_turns,
        }
    }

    /// Adds a contender: `f` is called once per round (and to warm up and calibrate).
    pub fn bench(&mut self, contender: &str, f: impl FnMut(&mut Bencher) + 'a) -> &mut Self {
        self.contenders.push((contender.to_string(), Box::new(f)));
        self
    }

    /// The name `group/workload`, which positional filters match.
    pub fn id(&self) -> String {
        format!("{}/{}", self.group, self.name)
    }

    /// Runs the rounds (unless filtered out), prints the table and records the results.
    /// Returns the summaries (empty when filtered out). With `--plan` it only prints its
    /// schedule entry ([`crate::plan`]).
    pub fn run(&mut self) -> Vec<(String, Summary)> {
        let id = self.id();
        if self.contenders.is_empty() {
            return Vec::new();
        }
        if !selected(&id) {
            return Vec::new();
        }
        let mode = Mode::from_env();
        if plan::requested() {
            self.plan(mode).print();
            return Vec::new();
        }
        let (iters, samples) = self.measure(mode);
        self.print_and_record(iters, &samples)
    }

    /// The rounds alone: the iteration count and each contender's samples.
    fn measure(&mut self, mode: Mode) -> (u64, Vec<Vec<f64>>) {
        let iters = match (mode, self.fixed_iters) {
            (Mode::Test, Some(n)) => n,
            (_, Some(n)) => {
                if self.warm_up {
                    self.turn_all(n);
                }
                n
            }
            (Mode::Test, None) => 1,
            (_, None) => self.calibrate(target(mode)),
        };
        let n = self.contenders.len();
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); n];
        let plan = self.plan(mode);
        let budget = plan.seconds() * OVER_BUDGET;
        let start = Instant::now();
        for round in 0..plan.rounds {
            if mode != Mode::Test && round >= MIN_ROUNDS && start.elapsed().as_secs_f64() > budget {
                println!(
                    "  ({}: stopped after {round} of {} rounds: over {OVER_BUDGET}x its planned \
                     {:.1} s)",
                    self.id(),
                    plan.rounds,
                    plan.seconds()
                );
                break;
            }
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

    /// One untimed turn of every contender with `iters` iterations; returns the slowest
    /// turn's wall time (setup included: it is what the schedule pays).
    fn turn_all(&mut self, iters: u64) -> Duration {
        let mut slowest = Duration::from_nanos(1);
        for (_, f) in &mut self.contenders {
            let start = Instant::now();
            f(&mut Bencher {
                iters,
                sample: None,
            });
            slowest = slowest.max(start.elapsed());
        }
        slowest
    }

    /// A warm-up turn of 1 iteration each, then probes with a growing iteration count until
    /// the slowest turn lasts `target / PROBE_FRACTION`; returns the count that makes it last
    /// about `target`.
    fn calibrate(&mut self, target: Duration) -> u64 {
        self.turn_all(1);
        let probe = target / PROBE_FRACTION;
        let mut iters = 1u64;
        loop {
            let slowest = self.turn_all(iters);
            let scaled = |to: Duration| iters as u128 * to.as_nanos() / slowest.as_nanos();
            if slowest >= probe || iters >= MAX_ITERS {
                return scaled(target).clamp(1, u128::from(MAX_ITERS)) as u64;
            }
            // Aim the next probe at `probe`, growing at least 2x and at most 64x.
            iters = scaled(probe).clamp(u128::from(iters) * 2, u128::from(iters) * 64) as u64;
            iters = iters.min(MAX_ITERS);
        }
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
        // weft/peer by the paired rule `cargo xtask bench` writes on the page.
        let weft = self
            .contenders
            .iter()
            .zip(samples)
            .find(|((n, _), s)| n == "weft" && !s.is_empty())
            .map(|(_, s)| s);
        for ((name, _), s) in self.contenders.iter().zip(samples) {
            let Some(summary) = out.iter().find(|(n, _)| n == name).map(|(_, s)| s) else {
                continue;
            };
            let ratio = match weft {
                Some(w) if name != "weft" => {
                    let (goal, _) = weft_bench_stats::target(&self.group, name);
                    let c = weft_bench_stats::compare(w, s, self.higher_is_better);
                    let goal_text = if goal == 1.0 {
                        String::new()
                    } else {
                        format!(" [target ≤ {goal}×]")
                    };
                    format!("  weft/{name} {}{goal_text}", c.describe(goal))
                }
                _ => String::new(),
            };
            let s = summary;
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

    #[test]
    fn the_plan_counts_rounds_turns_and_warm_up() {
        let mut w = Workload::new("runner_selftest", "plan");
        w.bench("weft", |b| b.sample(1.0))
            .bench("peer", |b| b.sample(1.0));
        let e = w.plan(Mode::Quick);
        assert_eq!((e.contenders, e.rounds), (2, 11));
        assert_eq!(e.turn, target(Mode::Quick));
        assert!((e.seconds() - 2.0 * 12.3 * 0.15).abs() < 1e-9, "{e:?}");
        w.iters(1)
            .max_rounds(3)
            .expect_turn(Duration::from_secs(2))
            .no_warm_up();
        let e = w.plan(Mode::Quick);
        assert_eq!((e.rounds, e.turn), (3, Duration::from_secs(2)));
        assert_eq!(e.seconds(), 2.0 * 3.0 * 2.0);
    }
}
