//! [`retry`]: exponential backoff with jitter, the loop every HTTP and database client needs.

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// How [`retry`] spaces and bounds its attempts.
///
/// Attempt `k` (counting from 1) that fails is followed by a delay of
/// `min(base * factor^(k-1), max_delay)`; with jitter on (the default) the delay is drawn
/// uniformly from `[delay/2, delay]` ("equal jitter"), so many clients retrying together spread
/// out while each still backs off exponentially.
///
/// ```
/// use std::time::Duration;
/// use weft_executor::RetryPolicy;
///
/// let p = RetryPolicy::exponential(Duration::from_millis(100))
///     .max_attempts(5)
///     .max_delay(Duration::from_secs(2))
///     .jitter(false);
/// assert_eq!(p.delay(1), Duration::from_millis(100));
/// assert_eq!(p.delay(2), Duration::from_millis(200));
/// assert_eq!(p.delay(9), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    base: Duration,
    factor: f64,
    max_attempts: u32,
    max_delay: Duration,
    jitter: bool,
}

impl RetryPolicy {
    /// Exponential backoff starting at `base`, doubling each time; defaults: 3 attempts in all,
    /// delays capped at 30 s, jitter on.
    pub fn exponential(base: Duration) -> RetryPolicy {
        RetryPolicy {
            base,
            factor: 2.0,
            max_attempts: 3,
            max_delay: Duration::from_secs(30),
            jitter: true,
        }
    }

    /// The same delay between every attempt.
    pub fn fixed(delay: Duration) -> RetryPolicy {
        RetryPolicy::exponential(delay).factor(1.0)
    }

    /// Total number of attempts, the first included (`1` = no retry; `0` is treated as 1).
    pub fn max_attempts(mut self, n: u32) -> RetryPolicy {
        self.max_attempts = n.max(1);
        self
    }

    /// Upper bound for one delay.
    pub fn max_delay(mut self, d: Duration) -> RetryPolicy {
        self.max_delay = d;
        self
    }

    /// Multiplier between consecutive delays (default 2; values below 1 are treated as 1).
    pub fn factor(mut self, f: f64) -> RetryPolicy {
        self.factor = if f.is_finite() && f >= 1.0 { f } else { 1.0 };
        self
    }

    /// Randomize each delay within `[delay/2, delay]` (default on).
    pub fn jitter(mut self, on: bool) -> RetryPolicy {
        self.jitter = on;
        self
    }

    /// The configured number of attempts.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The delay after failed attempt `attempt` (1-based), before jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(1024) as i32;
        let secs = self.base.as_secs_f64() * self.factor.powi(exp);
        let cap = self.max_delay.as_secs_f64();
        if !secs.is_finite() || secs >= cap {
            self.max_delay
        } else {
            Duration::from_secs_f64(secs)
        }
    }

    fn jittered(&self, attempt: u32) -> Duration {
        let d = self.delay(attempt);
        if !self.jitter || d.is_zero() {
            return d;
        }
        let mut h = RandomState::new().build_hasher();
        h.write_u32(attempt);
        let unit = (h.finish() >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
        d.mul_f64(0.5 + 0.5 * unit)
    }
}

/// Calls `op` until it returns `Ok`, at most [`RetryPolicy::max_attempts`] times, sleeping
/// (with `weft_timer::sleep`, so virtual time works in tests) between attempts. Returns the
/// first `Ok` or the last `Err`.
///
/// Cancel-safety: dropping it drops the attempt in flight (or the sleep); no further attempt
/// starts. Whether an attempt is safe to abandon is `op`'s business.
///
/// ```
/// use std::time::Duration;
/// use weft_executor::{retry, RetryPolicy};
///
/// weft_executor::run(async {
///     let mut calls = 0;
///     let policy = RetryPolicy::exponential(Duration::from_millis(1)).max_attempts(4);
///     let r = retry(policy, || {
///         calls += 1;
///         let n = calls;
///         async move { if n < 3 { Err("flaky") } else { Ok(n) } }
///     })
///     .await;
///     assert_eq!(r, Ok(3));
/// });
/// ```
pub async fn retry<T, E, Fut, Op>(policy: RetryPolicy, op: Op) -> Result<T, E>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    retry_if(policy, op, |_: &E| true).await
}

/// Like [`retry`], but only errors for which `should_retry` returns true are retried; any other
/// error is returned at once (e.g. retry timeouts and 503s, not 404s).
///
/// ```
/// use std::time::Duration;
/// use weft_executor::{retry_if, RetryPolicy};
///
/// weft_executor::run(async {
///     let mut calls = 0;
///     let r: Result<(), &str> = retry_if(
///         RetryPolicy::exponential(Duration::from_millis(1)).max_attempts(5),
///         || { calls += 1; async { Err("not found") } },
///         |e| *e != "not found",
///     )
///     .await;
///     assert_eq!((r, calls), (Err("not found"), 1));
/// });
/// ```
pub async fn retry_if<T, E, Fut, Op, P>(
    policy: RetryPolicy,
    mut op: Op,
    mut should_retry: P,
) -> Result<T, E>
where
    Op: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    P: FnMut(&E) -> bool,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                if attempt >= policy.max_attempts || !should_retry(&e) {
                    return Err(e);
                }
                let d = policy.jittered(attempt);
                drop(e);
                weft_timer::sleep(d).await;
                attempt += 1;
            }
        }
    }
}
