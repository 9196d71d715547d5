//! Property tests: random interleavings of acquire / put / get / send / recv, polls, drops of
//! pending futures and releases, checked against a simple reference model. Futures are driven by
//! hand with counting wakers, so the tests also check that no wake-up is lost (a waiter that
//! could proceed was woken) and none is needed (a future that was not woken does not progress).

#![cfg(not(loom))]

mod common;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::task::Poll;

use common::Driven;
use proptest::prelude::*;
use weft_sync::channel::broadcast;
use weft_sync::{channel, OwnedSemaphorePermit, Queue, Semaphore};

#[derive(Debug, Clone)]
enum SemOp {
    Acquire(usize),
    Poll(usize),
    DropPending(usize),
    Release(usize),
    TryAcquire(usize),
    AddPermits(usize),
    /// Poll every woken future (what an executor would do).
    Drain,
    Close,
}

fn sem_op() -> impl Strategy<Value = SemOp> {
    prop_oneof![
        3 => (1usize..=3).prop_map(SemOp::Acquire),
        2 => any::<usize>().prop_map(SemOp::Poll),
        2 => any::<usize>().prop_map(SemOp::DropPending),
        3 => any::<usize>().prop_map(SemOp::Release),
        1 => (1usize..=2).prop_map(SemOp::TryAcquire),
        1 => (1usize..=2).prop_map(SemOp::AddPermits),
        2 => Just(SemOp::Drain),
        1 => Just(SemOp::Close),
    ]
}

type Acq = Driven<Result<OwnedSemaphorePermit, weft_sync::AcquireError>>;

/// Polls every pending future that was woken, until none is; woken futures must complete
/// (permits are handed off, so a wake-up always means "granted").
fn drain_sem(pending: &mut Vec<(usize, Acq)>, held: &mut Vec<OwnedSemaphorePermit>) {
    loop {
        let Some(i) = pending.iter().position(|(_, d)| d.woken()) else {
            return;
        };
        match pending[i].1.poll() {
            Poll::Ready(r) => {
                held.push(r.expect("not closed"));
                pending.remove(i);
            }
            Poll::Pending => panic!("woken acquire was not granted"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn semaphore_matches_model(initial in 0usize..4, ops in prop::collection::vec(sem_op(), 1..60)) {
        let sem = Arc::new(Semaphore::new(initial));
        let mut total = initial;
        let mut pending: Vec<(usize, Acq)> = Vec::new(); // (need, future), in FIFO order
        let mut held: Vec<OwnedSemaphorePermit> = Vec::new();
        let mut closed = false;
        for op in ops {
            match op {
                SemOp::Close => {
                    sem.close();
                    closed = true;
                    // Every pending acquire is woken: granted before the close (Ok) or failed.
                    for (_, mut d) in pending.drain(..) {
                        prop_assert!(d.woken(), "close must wake every waiter");
                        match d.poll() {
                            Poll::Ready(Ok(p)) => held.push(p),
                            Poll::Ready(Err(e)) => prop_assert!(e.is_closed()),
                            Poll::Pending => prop_assert!(false, "woken by close but pending"),
                        }
                    }
                }
                SemOp::Acquire(_) if closed => {
                    let mut d = Driven::new(sem.clone().acquire_owned());
                    prop_assert!(matches!(d.poll(), Poll::Ready(Err(_))), "acquire after close");
                }
                SemOp::TryAcquire(_) if closed => {
                    prop_assert_eq!(
                        sem.clone().try_acquire_owned().unwrap_err(),
                        weft_sync::TryAcquireError::Closed
                    );
                }
                SemOp::Acquire(n) => {
                    let mut d = Driven::new(sem.clone().acquire_many_owned(n));
                    match d.poll() {
                        Poll::Ready(r) => {
                            // Only allowed when nobody is queued (strict FIFO).
                            prop_assert!(pending.iter().all(|(_, d)| d.woken()));
                            held.push(r.unwrap());
                        }
                        Poll::Pending => pending.push((n, d)),
                    }
                }
                SemOp::Poll(i) if !pending.is_empty() => {
                    let i = i % pending.len();
                    let woken = pending[i].1.woken();
                    match pending[i].1.poll() {
                        Poll::Ready(r) => {
                            prop_assert!(woken, "completed without a wake-up");
                            held.push(r.unwrap());
                            pending.remove(i);
                        }
                        Poll::Pending => prop_assert!(!woken, "woken but not granted"),
                    }
                }
                SemOp::DropPending(i) if !pending.is_empty() => {
                    let i = i % pending.len();
                    pending.remove(i);
                }
                SemOp::Release(i) if !held.is_empty() => {
                    let i = i % held.len();
                    drop(held.remove(i));
                }
                SemOp::TryAcquire(n) => {
                    if let Ok(p) = sem.clone().try_acquire_many_owned(n) {
                        prop_assert!(
                            pending.iter().all(|(_, d)| d.woken()),
                            "try_acquire barged past waiters"
                        );
                        held.push(p);
                    }
                }
                SemOp::AddPermits(n) => {
                    sem.add_permits(n);
                    total += n;
                }
                SemOp::Drain => {
                    drain_sem(&mut pending, &mut held);
                    // No wake-up lost: the head of the queue cannot be satisfiable.
                    if let Some((need, _)) = pending.iter().find(|(_, d)| !d.woken()) {
                        prop_assert!(*need > sem.available_permits(), "head waiter starved");
                    }
                }
                _ => {}
            }
            // No permit lost or duplicated (a woken pending future holds its granted permits).
            let in_use: usize = held.iter().map(|p| p.num_permits()).sum::<usize>()
                + pending.iter().filter(|(_, d)| d.woken()).map(|(n, _)| n).sum::<usize>();
            prop_assert_eq!(sem.available_permits() + in_use, total);
        }
        drop(pending);
        drop(held);
        prop_assert_eq!(sem.available_permits(), total);
    }
}

#[derive(Debug, Clone)]
enum QOp {
    Put,
    Get,
    Poll(usize),
    DropPending(usize),
    TryPut,
    TryGet,
    Close,
    Drain,
    /// `shutdown(true)` (queues only).
    ShutdownNow,
    /// `task_done()` for an item gotten and not yet marked done (queues only).
    TaskDone,
    /// Polls a fresh `join()` once: ready iff no item is unfinished (queues only).
    Join,
}

fn q_op() -> impl Strategy<Value = QOp> {
    prop_oneof![
        6 => Just(QOp::Put),
        6 => Just(QOp::Get),
        4 => any::<usize>().prop_map(QOp::Poll),
        4 => any::<usize>().prop_map(QOp::DropPending),
        2 => Just(QOp::TryPut),
        2 => Just(QOp::TryGet),
        1 => Just(QOp::Close),
        4 => Just(QOp::Drain),
    ]
}

fn queue_op() -> impl Strategy<Value = QOp> {
    prop_oneof![
        20 => q_op(),
        1 => Just(QOp::ShutdownNow),
        3 => Just(QOp::TaskDone),
        2 => Just(QOp::Join),
    ]
}

/// What a pending queue/channel future resolves to.
enum Done {
    Put(Result<(), u32>),
    Got(Result<u32, ()>),
}

struct Pend {
    is_put: bool,
    value: u32,
    d: Driven<Done>,
}

/// Abstracts over `Queue` and the bounded channel so one model checks both.
trait Target: Clone + Send + 'static {
    fn put(&self, v: u32) -> Driven<Done>;
    fn get(&self) -> Driven<Done>;
    fn try_put(&self, v: u32) -> Result<(), (bool, u32)>; // (closed?, item)
    fn try_get(&self) -> Result<u32, bool>; // Err(closed?)
    fn len(&self) -> usize;
    fn close(&self);
    /// The asyncio extras: `shutdown(true)`, `task_done`, unfinished count, a join future.
    fn extras(&self) -> Option<&dyn QueueExtras> {
        None
    }
}

trait QueueExtras {
    fn shutdown_now(&self);
    fn task_done(&self) -> bool;
    fn unfinished(&self) -> usize;
    fn join_ready(&self) -> bool;
}

impl<S: weft_sync::QueueStore<u32> + Send + 'static> QueueExtras
    for weft_sync::GenericQueue<u32, S>
{
    fn shutdown_now(&self) {
        self.shutdown(true)
    }
    fn task_done(&self) -> bool {
        weft_sync::GenericQueue::task_done(self).is_ok()
    }
    fn unfinished(&self) -> usize {
        self.unfinished_tasks()
    }
    fn join_ready(&self) -> bool {
        let mut j = self.join();
        common::poll_once(&mut Box::pin(&mut j)).is_ready()
    }
}

impl<S: weft_sync::QueueStore<u32> + Send + 'static> Target for weft_sync::GenericQueue<u32, S> {
    fn put(&self, v: u32) -> Driven<Done> {
        let q = self.clone();
        Driven::new(async move { Done::Put(q.put(v).await.map_err(|e| e.0)) })
    }
    fn get(&self) -> Driven<Done> {
        let q = self.clone();
        Driven::new(async move { Done::Got(q.get().await.map_err(|_| ())) })
    }
    fn try_put(&self, v: u32) -> Result<(), (bool, u32)> {
        self.try_put(v).map_err(|e| match e {
            weft_sync::QueueError::Full(v) => (false, v),
            weft_sync::QueueError::ShutDown(v) => (true, v),
            _ => unreachable!(),
        })
    }
    fn try_get(&self) -> Result<u32, bool> {
        weft_sync::GenericQueue::try_get(self)
            .map_err(|e| matches!(e, weft_sync::QueueError::ShutDown(())))
    }
    fn len(&self) -> usize {
        weft_sync::GenericQueue::len(self)
    }
    fn close(&self) {
        self.shutdown(false)
    }
    fn extras(&self) -> Option<&dyn QueueExtras> {
        Some(self)
    }
}

#[derive(Clone)]
struct Chan(channel::Sender<u32>, channel::Receiver<u32>);

impl Target for Chan {
    fn put(&self, v: u32) -> Driven<Done> {
        let tx = self.0.clone();
        Driven::new(async move { Done::Put(tx.send(v).await.map_err(|e| e.0)) })
    }
    fn get(&self) -> Driven<Done> {
        let rx = self.1.clone();
        Driven::new(async move { Done::Got(rx.recv().await.map_err(|_| ())) })
    }
    fn try_put(&self, v: u32) -> Result<(), (bool, u32)> {
        self.0
            .try_send(v)
            .map_err(|e| (e.is_closed(), e.into_inner()))
    }
    fn try_get(&self) -> Result<u32, bool> {
        self.1
            .try_recv()
            .map_err(|e| e == channel::TryRecvError::Closed)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn close(&self) {
        self.0.close();
    }
}

struct Model {
    next: u32,
    put_ok: BTreeSet<u32>,
    got: Vec<u32>,
    closed: bool,
    /// `shutdown(true)` happened: items may be discarded from then on.
    immediate: bool,
    /// Successful `task_done` calls.
    done: usize,
}

impl Model {
    fn finish(&mut self, p: Pend, out: Done) -> Result<(), TestCaseError> {
        match out {
            Done::Put(Ok(())) => {
                prop_assert!(p.is_put);
                prop_assert!(self.put_ok.insert(p.value));
            }
            Done::Put(Err(v)) => {
                prop_assert!(self.closed, "put failed on an open queue");
                prop_assert_eq!(v, p.value, "failed put must return its item");
            }
            Done::Got(Ok(v)) => {
                prop_assert!(!self.immediate, "get succeeded after shutdown(true)");
                self.got.push(v)
            }
            Done::Got(Err(())) => prop_assert!(self.closed, "get failed on an open queue"),
        }
        Ok(())
    }
}

fn drain_q(pending: &mut Vec<Pend>, m: &mut Model) -> Result<(), TestCaseError> {
    loop {
        let Some(i) = pending.iter().position(|p| p.d.woken()) else {
            return Ok(());
        };
        match pending[i].d.poll() {
            Poll::Ready(out) => {
                let p = pending.remove(i);
                m.finish(p, out)?;
            }
            Poll::Pending => prop_assert!(false, "woken queue future made no progress"),
        }
    }
}

fn run_queue_model<Q: Target>(q: Q, cap: usize, ops: Vec<QOp>) -> Result<(), TestCaseError> {
    let mut m = Model {
        next: 0,
        put_ok: BTreeSet::new(),
        got: Vec::new(),
        closed: false,
        immediate: false,
        done: 0,
    };
    let mut pending: Vec<Pend> = Vec::new();
    for op in ops {
        match op {
            QOp::Put | QOp::TryPut => {
                let v = m.next;
                m.next += 1;
                if matches!(op, QOp::TryPut) {
                    match q.try_put(v) {
                        Ok(()) => {
                            m.put_ok.insert(v);
                        }
                        Err((closed, back)) => {
                            prop_assert_eq!(back, v);
                            prop_assert_eq!(closed, m.closed);
                        }
                    }
                } else {
                    let mut d = q.put(v);
                    match d.poll() {
                        Poll::Ready(out) => m.finish(
                            Pend {
                                is_put: true,
                                value: v,
                                d,
                            },
                            out,
                        )?,
                        Poll::Pending => pending.push(Pend {
                            is_put: true,
                            value: v,
                            d,
                        }),
                    }
                }
            }
            QOp::Get => {
                let mut d = q.get();
                match d.poll() {
                    Poll::Ready(out) => m.finish(
                        Pend {
                            is_put: false,
                            value: 0,
                            d,
                        },
                        out,
                    )?,
                    Poll::Pending => pending.push(Pend {
                        is_put: false,
                        value: 0,
                        d,
                    }),
                }
            }
            QOp::ShutdownNow => {
                if let Some(x) = q.extras() {
                    m.closed = true;
                    m.immediate = true;
                    x.shutdown_now();
                }
            }
            QOp::TaskDone => {
                if let Some(x) = q.extras() {
                    if m.done < m.got.len() {
                        prop_assert!(x.task_done(), "task_done failed for a gotten item");
                        m.done += 1;
                    }
                }
            }
            QOp::Join => {
                if let Some(x) = q.extras() {
                    prop_assert_eq!(x.join_ready(), x.unfinished() == 0);
                }
            }
            QOp::TryGet => match q.try_get() {
                Ok(v) => {
                    prop_assert!(!m.immediate, "try_get succeeded after shutdown(true)");
                    m.got.push(v)
                }
                Err(closed) => prop_assert!(!closed || m.closed),
            },
            QOp::Poll(i) if !pending.is_empty() => {
                let i = i % pending.len();
                let woken = pending[i].d.woken();
                match pending[i].d.poll() {
                    Poll::Ready(out) => {
                        prop_assert!(woken, "completed without a wake-up");
                        let p = pending.remove(i);
                        m.finish(p, out)?;
                    }
                    Poll::Pending => prop_assert!(!woken),
                }
            }
            QOp::DropPending(i) if !pending.is_empty() => {
                let i = i % pending.len();
                pending.remove(i);
            }
            QOp::Close => {
                m.closed = true;
                q.close();
            }
            QOp::Drain => {
                drain_q(&mut pending, &mut m)?;
                // No lost wake-ups.
                if pending.iter().any(|p| !p.is_put) {
                    prop_assert_eq!(q.len(), 0, "getter waits while items are queued");
                }
                if pending.iter().any(|p| p.is_put) {
                    prop_assert_eq!(q.len(), cap, "putter waits while there is room");
                }
            }
            _ => {}
        }
        if !m.immediate {
            // Conservation: every completed put is either gotten or still queued (items handed
            // to a woken getter that has not run yet count as queued).
            prop_assert_eq!(m.put_ok.len(), m.got.len() + q.len());
            if let Some(x) = q.extras() {
                prop_assert_eq!(x.unfinished(), m.put_ok.len() - m.done);
            }
        } else {
            // After shutdown(true) only items handed to not-yet-resumed getters remain (and
            // they will be discarded).
            prop_assert!(q.len() <= pending.iter().filter(|p| !p.is_put).count());
        }
        prop_assert!(q.len() <= cap, "capacity exceeded");
    }
    drop(pending);
    // Drain everything left: the union of gotten and drained items is exactly what was put, once
    // (after shutdown(true), a subset: the rest was discarded and counted as done).
    while let Ok(v) = q.try_get() {
        prop_assert!(!m.immediate);
        m.got.push(v);
    }
    let got: BTreeSet<u32> = m.got.iter().copied().collect();
    prop_assert_eq!(got.len(), m.got.len(), "an item was delivered twice");
    if m.immediate {
        prop_assert!(got.is_subset(&m.put_ok), "an item came from nowhere");
        prop_assert_eq!(q.len(), 0);
        if let Some(x) = q.extras() {
            // Discarded items count as done: only gotten, unmarked items remain unfinished.
            prop_assert_eq!(x.unfinished(), m.got.len() - m.done);
            prop_assert_eq!(x.join_ready(), m.got.len() == m.done);
        }
    } else {
        prop_assert_eq!(got, m.put_ok, "an item was lost");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn queue_matches_model(cap in 1usize..4, ops in prop::collection::vec(queue_op(), 1..60)) {
        run_queue_model(Queue::<u32>::bounded(cap), cap, ops)?;
    }

    #[test]
    fn lifo_queue_matches_model(cap in 1usize..4, ops in prop::collection::vec(queue_op(), 1..60)) {
        run_queue_model(weft_sync::LifoQueue::<u32>::bounded(cap), cap, ops)?;
    }

    #[test]
    fn priority_queue_matches_model(
        cap in 1usize..4,
        ops in prop::collection::vec(queue_op(), 1..60),
    ) {
        run_queue_model(weft_sync::PriorityQueue::<u32>::bounded(cap), cap, ops)?;
    }

    #[test]
    fn bounded_channel_matches_model(cap in 1usize..4, ops in prop::collection::vec(q_op(), 1..60)) {
        let (tx, rx) = channel::bounded(cap);
        run_queue_model(Chan(tx, rx), cap, ops)?;
    }
}

#[derive(Debug, Clone)]
enum MutexOp {
    Lock,
    Poll(usize),
    DropPending(usize),
    Unlock,
    TryLock,
    Drain,
}

fn mutex_op() -> impl Strategy<Value = MutexOp> {
    prop_oneof![
        3 => Just(MutexOp::Lock),
        2 => any::<usize>().prop_map(MutexOp::Poll),
        2 => any::<usize>().prop_map(MutexOp::DropPending),
        3 => Just(MutexOp::Unlock),
        1 => Just(MutexOp::TryLock),
        2 => Just(MutexOp::Drain),
    ]
}

type Lock = Driven<weft_sync::OwnedMutexGuard<u32>>;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The barging `Mutex`: never two holders, and no lost wake-up: once every woken waiter has
    /// run, a free lock has no one waiting for it.
    #[test]
    fn mutex_matches_model(ops in prop::collection::vec(mutex_op(), 1..80)) {
        let m = Arc::new(weft_sync::Mutex::new(0u32));
        let mut pending: Vec<Lock> = Vec::new();
        let mut held: Option<weft_sync::OwnedMutexGuard<u32>> = None;
        for op in ops {
            match op {
                MutexOp::Lock => {
                    let mut d = Driven::new(m.clone().lock_owned());
                    match d.poll() {
                        Poll::Ready(g) => {
                            prop_assert!(held.is_none(), "two holders");
                            held = Some(g);
                        }
                        Poll::Pending => pending.push(d),
                    }
                }
                MutexOp::Poll(i) if !pending.is_empty() => {
                    let i = i % pending.len();
                    if let Poll::Ready(g) = pending[i].poll() {
                        prop_assert!(held.is_none(), "two holders");
                        held = Some(g);
                        pending.remove(i);
                    }
                }
                MutexOp::DropPending(i) if !pending.is_empty() => {
                    let i = i % pending.len();
                    pending.remove(i);
                }
                MutexOp::Unlock => {
                    if let Some(mut g) = held.take() {
                        *g += 1;
                    }
                }
                MutexOp::TryLock => {
                    if let Ok(g) = m.clone().try_lock_owned() {
                        prop_assert!(held.is_none(), "two holders");
                        held = Some(g);
                    }
                }
                MutexOp::Drain => {
                    // What an executor does: poll woken futures until none is woken.
                    while let Some(i) = pending.iter().position(|d| d.woken()) {
                        if let Poll::Ready(g) = pending[i].poll() {
                            prop_assert!(held.is_none(), "two holders");
                            held = Some(g);
                            pending.remove(i);
                        }
                    }
                    if held.is_none() {
                        prop_assert!(pending.is_empty(), "lock free, waiters asleep: lost wake-up");
                    }
                }
                _ => {}
            }
            prop_assert!(held.is_none() || m.locked(), "held but not locked()");
        }
        drop(pending);
        drop(held);
        prop_assert!(m.try_lock().is_ok());
    }
}

#[derive(Debug, Clone)]
enum BcOp {
    Send,
    TryRecv(usize),
    /// Polls a `recv` future once, keeping it pending (or taking its result).
    Recv(usize),
    Clone(usize),
    Subscribe,
    DropRx(usize),
    DropTx,
}

fn bc_op() -> impl Strategy<Value = BcOp> {
    prop_oneof![
        4 => Just(BcOp::Send),
        4 => any::<usize>().prop_map(BcOp::TryRecv),
        2 => any::<usize>().prop_map(BcOp::Recv),
        1 => any::<usize>().prop_map(BcOp::Clone),
        1 => Just(BcOp::Subscribe),
        1 => any::<usize>().prop_map(BcOp::DropRx),
        1 => Just(BcOp::DropTx),
    ]
}

/// The outcome of one read in the reference model.
fn bc_expected(
    next: &mut u64,
    tail: u64,
    cap: u64,
    closed: bool,
) -> Result<u64, broadcast::TryRecvError> {
    let oldest = tail.saturating_sub(cap);
    if *next < oldest {
        let missed = oldest - *next;
        *next = oldest;
        return Err(broadcast::TryRecvError::Lagged(missed));
    }
    if *next < tail {
        *next += 1;
        return Ok(*next - 1);
    }
    Err(if closed {
        broadcast::TryRecvError::Closed
    } else {
        broadcast::TryRecvError::Empty
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Broadcast against a reference: every receiver sees every message in order or the exact
    /// number it missed, `len` on both sides, and a message is alive exactly while the ring holds
    /// it and some live receiver still has to read it.
    #[test]
    fn broadcast_matches_model(cap in 1usize..5, ops in prop::collection::vec(bc_op(), 1..80)) {
        let (tx, rx) = broadcast::channel::<Arc<u64>>(cap);
        let mut tx = Some(tx);
        let mut sent: Vec<Arc<u64>> = Vec::new();
        // (receiver, its position in the model)
        let mut rxs: Vec<(broadcast::Receiver<Arc<u64>>, u64)> = vec![(rx, 0)];
        let cap64 = cap as u64;
        let check = |got: Result<Arc<u64>, broadcast::TryRecvError>,
                     want: Result<u64, broadcast::TryRecvError>|
         -> Result<(), TestCaseError> {
            prop_assert_eq!(got.map(|m| *m), want);
            Ok(())
        };
        for op in ops {
            let tail = sent.len() as u64;
            match op {
                BcOp::Send => {
                    if let Some(tx) = &tx {
                        let m = Arc::new(tail);
                        match tx.send(m.clone()) {
                            Ok(n) => {
                                prop_assert_eq!(n, rxs.len());
                                sent.push(m);
                            }
                            Err(_) => prop_assert!(rxs.is_empty(), "send failed with receivers"),
                        }
                    }
                }
                BcOp::TryRecv(i) if !rxs.is_empty() => {
                    let n = rxs.len();
                    let (rx, next) = &mut rxs[i % n];
                    let got = rx.try_recv();
                    check(got, bc_expected(next, tail, cap64, tx.is_none()))?;
                }
                BcOp::Recv(i) if !rxs.is_empty() => {
                    let n = rxs.len();
                    let (rx, next) = &mut rxs[i % n];
                    let want = bc_expected(next, tail, cap64, tx.is_none());
                    let mut f = std::pin::pin!(rx.recv());
                    let polled = f
                        .as_mut()
                        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()));
                    match (polled, want) {
                        (Poll::Pending, Err(broadcast::TryRecvError::Empty)) => {}
                        (Poll::Ready(got), want) => {
                            let got = got.map_err(|e| match e {
                                broadcast::RecvError::Closed => broadcast::TryRecvError::Closed,
                                broadcast::RecvError::Lagged(n) => broadcast::TryRecvError::Lagged(n),
                            });
                            check(got, want)?;
                        }
                        (Poll::Pending, want) => prop_assert!(false, "recv pending, expected {:?}", want),
                    }
                }
                BcOp::Clone(i) if !rxs.is_empty() => {
                    let (rx, next) = &rxs[i % rxs.len()];
                    let c = (rx.clone(), *next);
                    rxs.push(c);
                }
                BcOp::Subscribe => {
                    if let Some(tx) = &tx {
                        rxs.push((tx.subscribe(), tail));
                    }
                }
                BcOp::DropRx(i) if !rxs.is_empty() => {
                    rxs.remove(i % rxs.len());
                }
                BcOp::DropTx => tx = None,
                _ => {}
            }
            let tail = sent.len() as u64;
            let oldest = tail.saturating_sub(cap64);
            for (p, m) in sent.iter().enumerate() {
                let p = p as u64;
                let kept = p >= oldest && rxs.iter().any(|(_, next)| *next <= p);
                prop_assert_eq!(Arc::strong_count(m), 1 + usize::from(kept), "message {}", p);
            }
            for (rx, next) in &rxs {
                prop_assert_eq!(rx.len() as u64, tail - (*next).max(oldest));
            }
            if let Some(tx) = &tx {
                let kept = (oldest..tail).filter(|p| rxs.iter().any(|(_, n)| n <= p)).count();
                prop_assert_eq!(tx.len(), kept);
                prop_assert_eq!(tx.receiver_count(), rxs.len());
            }
        }
    }
}
