//! [`PollTimes`]: debug mode's time of each registered task's last poll, next to the shard's
//! entries rather than in every task's allocation (4 bytes there would cost 16 per task with
//! malloc's rounding, in every mode). Outside debug mode it stays empty.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The last poll start of the task in each slot of one shard, in milliseconds since [`epoch`]
/// (wrapping, 0: never polled or not timed), indexed like the shard's slots.
#[derive(Default)]
pub(super) struct PollTimes(Vec<u32>);

/// The instant poll times count from (the first timed poll of the process).
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl PollTimes {
    /// A new task takes slot `key`: never polled.
    pub(super) fn reset(&mut self, key: usize) {
        if self.0.len() <= key {
            self.0.resize(key + 1, 0);
        }
        self.0[key] = 0;
    }

    /// The task in slot `key` started a poll at `at`.
    pub(super) fn set(&mut self, key: usize, at: Instant) {
        // Truncation to u32 is the wrap-around `since` undoes (49 days).
        let ms = (at.saturating_duration_since(epoch()).as_millis() as u32).max(1);
        if let Some(t) = self.0.get_mut(key) {
            *t = ms;
        }
    }

    /// Time since the last timed poll of slot `key` started, to the millisecond; `None` if it
    /// never was.
    pub(super) fn since(&self, key: usize, now: Instant) -> Option<Duration> {
        match self.0.get(key).copied().unwrap_or(0) {
            0 => None,
            at => {
                let now = now.saturating_duration_since(epoch()).as_millis() as u32;
                // A poll recorded after `now` was read (racing the dump) reads as just now.
                let ago = match now.wrapping_sub(at) {
                    d if d > u32::MAX / 2 => 0,
                    d => d,
                };
                Some(Duration::from_millis(u64::from(ago)))
            }
        }
    }
}
