//! Idle connections: watched through the reactor (a waker that probes and evicts), and expired
//! by a sweeper that is a `call_later` callback holding only a `Weak` to the pool.

use std::sync::{Arc, MutexGuard, Weak};
use std::task::{Context, Wake, Waker};
use std::time::Instant;

use super::{lock, Effects, Inner, PoolKey, State};
use crate::proto::h1::io::{Probe, Socket};

/// The waker registered for readability on an idle connection. Readiness on an idle connection
/// means EOF, RST, or bytes that belong to no request: it probes, and evicts unless the probe
/// finds the connection still clean (a spurious wake-up or a TLS session ticket).
struct IdleWatch {
    pool: Weak<Inner>,
    key: PoolKey,
    gen: u64,
}

impl Wake for IdleWatch {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        check(self);
    }
}

/// Starts watching the idle connection `gen` of `key`.
pub(super) fn watch(pool: &Arc<Inner>, key: PoolKey, gen: u64, sock: &Socket) {
    let w = Arc::new(IdleWatch {
        pool: Arc::downgrade(pool),
        key,
        gen,
    });
    register(&w, sock);
}

/// Registers the watcher's waker; if readiness is already there, checks at once.
fn register(w: &Arc<IdleWatch>, sock: &Socket) {
    let waker = Waker::from(w.clone());
    if sock
        .poll_readable(&mut Context::from_waker(&waker))
        .is_ready()
    {
        check(w);
    }
}

fn check(w: &Arc<IdleWatch>) {
    let Some(pool) = w.pool.upgrade() else {
        return;
    };
    let mut st = lock(&pool.state);
    let Some(host) = st.hosts.get_mut(&w.key) else {
        return;
    };
    let Some(pos) = host.idle.iter().position(|i| i.gen == w.gen) else {
        // Checked out (or evicted) since: not ours any more.
        return;
    };
    match host.idle[pos].conn.io.probe() {
        Probe::Alive => {
            let sock = host.idle[pos].conn.io.socket().clone();
            drop(st);
            register(w, &sock);
        }
        Probe::Closed | Probe::Garbage => {
            let idle = host.idle.remove(pos);
            st.idle -= 1;
            let mut fx = Effects::default();
            fx.close.push(idle.conn);
            st.forget(&w.key);
            st.dispatch(&pool.cfg, &mut fx);
            drop(st);
            fx.run();
        }
    }
}

/// Schedules the sweeper if none is pending.
pub(super) fn schedule_sweeper(pool: &Arc<Inner>, st: &mut MutexGuard<'_, State>) {
    if st.sweeper.is_some() {
        return;
    }
    let weak = Arc::downgrade(pool);
    st.sweeper = Some(weft_timer::call_later(pool.cfg.idle_timeout, move || {
        sweep(&weak)
    }));
}

/// Closes every idle connection older than the idle timeout, and reschedules itself for the
/// next one to expire.
fn sweep(weak: &Weak<Inner>) {
    let Some(pool) = weak.upgrade() else {
        return;
    };
    let timeout = pool.cfg.idle_timeout;
    let mut fx = Effects::default();
    let mut st = lock(&pool.state);
    st.sweeper = None;
    let now = Instant::now();
    let mut expired = Vec::new();
    let mut next: Option<Instant> = None;
    for (key, host) in st.hosts.iter_mut() {
        let before = host.idle.len();
        host.idle.retain_mut(|i| {
            let keep = now.duration_since(i.since) < timeout;
            if keep {
                let at = i.since + timeout;
                next = Some(next.map_or(at, |n| n.min(at)));
            }
            keep
        });
        let n = before - host.idle.len();
        if n > 0 {
            expired.push((key.clone(), n));
        }
    }
    // Drop the expired connections' slots (their `Conn`s were dropped by `retain_mut`).
    for (key, n) in expired {
        st.idle -= n;
        for _ in 0..n {
            st.forget(&key);
        }
    }
    st.dispatch(&pool.cfg, &mut fx);
    if let Some(at) = next {
        let weak = weak.clone();
        let delay = at.saturating_duration_since(now);
        st.sweeper = Some(weft_timer::call_later(delay, move || sweep(&weak)));
    }
    drop(st);
    fx.run();
}
