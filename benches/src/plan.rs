//! The dry schedule (`--plan`): every bench file, run with `--plan` next to its mode flag,
//! prints one [`Entry`] line per workload it would run (after the filters) and runs nothing.
//! `cargo xtask bench` sums them into the projected duration it prints before the run, so the
//! quick budget (issue 19: under 10 minutes on 2 cores) is checked from the schedule itself, not
//! from a stopwatch on a loaded machine.
//!
//! A workload's projected time is `contenders × (rounds + warm_up_turns) × turn`, where `turn`
//! is the calibrated turn length ([`crate::runner::target`]) or, for workloads whose turn is a
//! fixed amount of work, the estimate the bench file declares.
//!
//! ```
//! use std::time::Duration;
//! use weft_benches::plan::Entry;
//! let e = Entry { id: "sync/mutex".into(), contenders: 3, rounds: 11, turn: Duration::from_millis(150), warm_up_turns: 1.0 };
//! assert_eq!(e.seconds(), 3.0 * 12.0 * 0.15);
//! assert_eq!(Entry::parse(&e.line()), Some(e));
//! ```

use std::time::Duration;

/// The flag that asks a bench file for its schedule instead of a run.
pub const FLAG: &str = "--plan";

/// Prefix of a schedule line on stdout.
const PREFIX: &str = "weft-bench-plan";

/// Whether this process was asked for its schedule (`--plan` among the arguments).
pub fn requested() -> bool {
    std::env::args().any(|a| a == FLAG)
}

/// One workload of the schedule.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// `group/workload`.
    pub id: String,
    /// Contenders, each running once per round.
    pub contenders: usize,
    /// Interleaved rounds (samples per contender).
    pub rounds: usize,
    /// Expected length of one contender's turn.
    pub turn: Duration,
    /// Untimed turns per contender on top of the rounds (warm-up and calibration).
    pub warm_up_turns: f64,
}

impl Entry {
    /// Projected wall time of the workload, in seconds.
    pub fn seconds(&self) -> f64 {
        self.contenders as f64 * (self.rounds as f64 + self.warm_up_turns) * self.turn.as_secs_f64()
    }

    /// The stdout line (tab-separated): prefix, id, contenders, rounds, turn in ms, warm-up
    /// turns, projected seconds.
    pub fn line(&self) -> String {
        format!(
            "{PREFIX}\t{}\t{}\t{}\t{}\t{}\t{:.3}",
            self.id,
            self.contenders,
            self.rounds,
            self.turn.as_millis(),
            self.warm_up_turns,
            self.seconds()
        )
    }

    /// Parses [`Self::line`]; `None` for any other line.
    pub fn parse(line: &str) -> Option<Entry> {
        let f: Vec<&str> = line.trim_end().split('\t').collect();
        if f.len() != 7 || f[0] != PREFIX {
            return None;
        }
        Some(Entry {
            id: f[1].to_string(),
            contenders: f[2].parse().ok()?,
            rounds: f[3].parse().ok()?,
            turn: Duration::from_millis(f[4].parse().ok()?),
            warm_up_turns: f[5].parse().ok()?,
        })
    }

    /// Prints [`Self::line`] (the caller applies the filters).
    pub fn print(&self) {
        println!("{}", self.line());
    }
}
