//! The connection pool: per-host and total limits, LIFO idle lists watched through the reactor,
//! a cancel-safe FIFO waiter queue that hands over either a connection or a permit to connect,
//! an idle sweeper that is a timer callback (no task), and statistics.
//!
//! Capacity is counted in *slots*: a slot is taken when a connect starts and given back when the
//! connection is closed (or the connect fails or is cancelled). Every change that frees a slot or
//! makes a connection idle runs [`State::dispatch`] under the lock, so a waiter that could
//! proceed never stays queued (the invariant behind newcomers not overtaking waiters).

mod idle;
mod key;
mod waiters;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use key::KeyMap;
pub(crate) use key::{KeyCache, PoolKey};
use waiters::{Ticket, Waiters};

use crate::proto::h1::io::Conn;

/// Pool limits and timing.
#[derive(Debug, Clone)]
pub(crate) struct PoolConfig {
    pub(crate) max_per_host: usize,
    pub(crate) max_total: usize,
    pub(crate) max_idle_per_host: usize,
    pub(crate) idle_timeout: Duration,
}

/// A snapshot of the pool's counters, from [`Client::pool_stats`](crate::Client::pool_stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Connections open or being opened.
    pub open: usize,
    /// Open connections sitting idle in the pool.
    pub idle: usize,
    /// Open connections carrying a request (or connecting).
    pub in_use: usize,
    /// Requests waiting for a connection slot.
    pub waiting: usize,
    /// Connections created since the client was built.
    pub connections_created: u64,
    /// Requests that reused a pooled connection.
    pub connections_reused: u64,
}

#[derive(Default)]
struct Host {
    /// Slots taken for this key (open or connecting).
    open: usize,
    /// Idle connections, oldest first (checkout pops the newest: LIFO).
    idle: Vec<Idle>,
}

struct Idle {
    conn: Conn,
    since: Instant,
    gen: u64,
}

enum Grant {
    Reuse(Conn),
    Connect,
}

#[derive(Default)]
struct State {
    hosts: KeyMap<Host>,
    open: usize,
    idle: usize,
    waiters: Waiters<PoolKey, Grant>,
    /// The generation counter of idle entries.
    seq: u64,
    sweeper: Option<weft_timer::TimerHandle>,
}

pub(crate) struct Inner {
    cfg: PoolConfig,
    state: Mutex<State>,
    created: AtomicU64,
    reused: AtomicU64,
}

/// What a dispatch produced: wakers to wake and connections to close, after unlocking.
#[derive(Default)]
struct Effects {
    wake: Vec<Waker>,
    close: Vec<Conn>,
}

impl Effects {
    fn run(self) {
        drop(self.close);
        for w in self.wake {
            w.wake();
        }
    }
}

impl State {
    fn host_open(&self, key: &PoolKey) -> usize {
        self.hosts.get(key).map_or(0, |h| h.open)
    }

    fn reserve(&mut self, key: &PoolKey) {
        self.open += 1;
        self.hosts.entry(key.clone()).or_default().open += 1;
    }

    /// Gives a slot back (its connection was closed or never made).
    fn forget(&mut self, key: &PoolKey) {
        self.open -= 1;
        if let Some(h) = self.hosts.get_mut(key) {
            h.open -= 1;
            if h.open == 0 && h.idle.is_empty() {
                self.hosts.remove(key);
            }
        }
    }

    /// Closes the oldest idle connection of any host, freeing its slot.
    fn evict_oldest_idle(&mut self, fx: &mut Effects) -> bool {
        let oldest = self
            .hosts
            .iter()
            .filter_map(|(k, h)| h.idle.first().map(|i| (i.since, k.clone())))
            .min_by_key(|(since, _)| *since);
        let Some((_, key)) = oldest else {
            return false;
        };
        let host = self.hosts.get_mut(&key).expect("key just found");
        let idle = host.idle.remove(0);
        self.idle -= 1;
        fx.close.push(idle.conn);
        self.forget(&key);
        true
    }

    fn grant(&mut self, qpos: usize, g: Grant, fx: &mut Effects) {
        if let Some(waker) = self.waiters.grant(qpos, g) {
            fx.wake.push(waker);
        }
    }

    /// Hands free slots to queued waiters, in FIFO order, as long as any can proceed.
    fn dispatch(&mut self, cfg: &PoolConfig, fx: &mut Effects) {
        let mut i = 0;
        while let Some(pos) = self.waiters.next_live(i) {
            let key = self.waiters.key_at(pos).clone();
            if self.host_open(&key) >= cfg.max_per_host {
                i = pos + 1;
                continue;
            }
            if self.open >= cfg.max_total && !self.evict_oldest_idle(fx) {
                break;
            }
            self.reserve(&key);
            // The granted waiter leaves the queue: `pos` is now the next one.
            self.grant(pos, Grant::Connect, fx);
            i = pos;
        }
    }

    /// The first queued waiter for `key`, if any.
    fn first_waiter_for(&mut self, key: &PoolKey) -> Option<usize> {
        self.waiters.first(|k| k == key)
    }
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The shared pool.
#[derive(Clone)]
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

impl Pool {
    pub(crate) fn new(cfg: PoolConfig) -> Pool {
        Pool {
            inner: Arc::new(Inner {
                cfg,
                state: Mutex::new(State::default()),
                created: AtomicU64::new(0),
                reused: AtomicU64::new(0),
            }),
        }
    }

    /// Waits for a connection for `key` or a permit to open one. Cancel-safe: dropping the
    /// future while it waits, or after it was granted something it never returned, loses no slot
    /// and no connection (both go to the next waiter).
    pub(crate) fn checkout(&self, key: PoolKey) -> Checkout {
        Checkout {
            pool: self.inner.clone(),
            key,
            waiter: None,
        }
    }

    /// The counters.
    pub(crate) fn stats(&self) -> PoolStats {
        let st = lock(&self.inner.state);
        let waiting = st.waiters.waiting();
        PoolStats {
            open: st.open,
            idle: st.idle,
            in_use: st.open - st.idle,
            waiting,
            connections_created: self.inner.created.load(Ordering::Relaxed),
            connections_reused: self.inner.reused.load(Ordering::Relaxed),
        }
    }
}

impl Inner {
    /// Returns a reusable connection: to the first waiter for its key, else to the idle list.
    fn checkin(self: &Arc<Self>, key: PoolKey, conn: Conn) {
        let mut fx = Effects::default();
        let mut st = lock(&self.state);
        if let Some(pos) = st.first_waiter_for(&key) {
            self.reused.fetch_add(1, Ordering::Relaxed);
            st.grant(pos, Grant::Reuse(conn), &mut fx);
            drop(st);
            return fx.run();
        }
        let host = st.hosts.entry(key.clone()).or_default();
        if host.idle.len() >= self.cfg.max_idle_per_host {
            fx.close.push(conn);
            st.forget(&key);
            st.dispatch(&self.cfg, &mut fx);
            drop(st);
            return fx.run();
        }
        st.seq += 1;
        let gen = st.seq;
        let sock = conn.io.socket().clone();
        st.hosts
            .get_mut(&key)
            .expect("inserted above")
            .idle
            .push(Idle {
                conn,
                since: Instant::now(),
                gen,
            });
        st.idle += 1;
        idle::schedule_sweeper(self, &mut st);
        // Total-limit waiters for other hosts may be able to use this slot by eviction.
        st.dispatch(&self.cfg, &mut fx);
        drop(st);
        fx.run();
        idle::watch(self, key, gen, &sock);
    }

    /// Closes a connection (or gives back the slot of a failed connect).
    fn release_slot(&self, key: &PoolKey, conn: Option<Conn>) {
        let mut fx = Effects::default();
        fx.close.extend(conn);
        let mut st = lock(&self.state);
        st.forget(key);
        st.dispatch(&self.cfg, &mut fx);
        drop(st);
        fx.run();
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = st.sweeper.take() {
            h.cancel();
        }
    }
}

/// What a checkout yields.
pub(crate) enum Slot {
    /// A pooled connection.
    Reused(Pooled),
    /// A slot to open a new connection in.
    Connect(ConnectPermit),
}

/// The future of [`Pool::checkout`].
pub(crate) struct Checkout {
    pool: Arc<Inner>,
    key: PoolKey,
    waiter: Option<Ticket>,
}

impl Checkout {
    fn slot(&self, g: Grant, reused: bool) -> Slot {
        match g {
            Grant::Reuse(conn) => Slot::Reused(Pooled {
                pool: self.pool.clone(),
                key: self.key.clone(),
                conn: Some(conn),
                reused,
            }),
            Grant::Connect => Slot::Connect(ConnectPermit {
                pool: Some(self.pool.clone()),
                key: self.key.clone(),
            }),
        }
    }
}

impl Future for Checkout {
    type Output = Slot;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Slot> {
        let this = &mut *self;
        let cfg = &this.pool.cfg;
        let mut fx = Effects::default();
        let mut st = lock(&this.pool.state);
        if let Some(t) = this.waiter {
            if let Some(g) = st.waiters.poll(t, cx.waker()) {
                this.waiter = None;
                drop(st);
                return Poll::Ready(this.slot(g, true));
            }
            return Poll::Pending;
        }
        if let Some(host) = st.hosts.get_mut(&this.key) {
            if let Some(idle) = host.idle.pop() {
                st.idle -= 1;
                if idle.since.elapsed() >= cfg.idle_timeout {
                    // Expired: its slot becomes ours to connect in.
                    drop(st);
                    drop(idle);
                    return Poll::Ready(this.slot(Grant::Connect, false));
                }
                drop(st);
                this.pool.reused.fetch_add(1, Ordering::Relaxed);
                return Poll::Ready(this.slot(Grant::Reuse(idle.conn), true));
            }
        }
        if st.host_open(&this.key) < cfg.max_per_host
            && (st.open < cfg.max_total || st.evict_oldest_idle(&mut fx))
        {
            st.reserve(&this.key);
            drop(st);
            fx.run();
            return Poll::Ready(this.slot(Grant::Connect, false));
        }
        this.waiter = Some(st.waiters.push(this.key.clone(), cx.waker().clone()));
        Poll::Pending
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let Some(t) = self.waiter.take() else {
            return;
        };
        let grant = lock(&self.pool.state).waiters.cancel(t);
        match grant {
            None => {}
            Some(Grant::Reuse(conn)) => self.pool.checkin(self.key.clone(), conn),
            Some(Grant::Connect) => self.pool.release_slot(&self.key, None),
        }
    }
}

/// A slot to open a connection in; dropping it gives the slot back.
pub(crate) struct ConnectPermit {
    pool: Option<Arc<Inner>>,
    key: PoolKey,
}

impl ConnectPermit {
    /// The key this slot is for.
    pub(crate) fn key(&self) -> &PoolKey {
        &self.key
    }

    /// Turns the slot into a pooled connection.
    pub(crate) fn complete(mut self, conn: Conn) -> Pooled {
        let pool = self.pool.take().expect("permit used once");
        pool.created.fetch_add(1, Ordering::Relaxed);
        Pooled {
            pool,
            key: self.key.clone(),
            conn: Some(conn),
            reused: false,
        }
    }
}

impl Drop for ConnectPermit {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.take() {
            pool.release_slot(&self.key, None);
        }
    }
}

/// A connection checked out of the pool. Dropping it closes the connection; call
/// [`release`](Pooled::release) to return it for reuse.
pub(crate) struct Pooled {
    pool: Arc<Inner>,
    key: PoolKey,
    conn: Option<Conn>,
    reused: bool,
}

impl Pooled {
    /// The connection.
    pub(crate) fn conn(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("connection present until release")
    }

    /// Whether it came from the idle list (or a handover) rather than a fresh connect.
    pub(crate) fn is_reused(&self) -> bool {
        self.reused
    }

    /// Returns the connection to the pool for reuse.
    pub(crate) fn release(mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.checkin(self.key.clone(), conn);
        }
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.release_slot(&self.key, Some(conn));
        }
    }
}
