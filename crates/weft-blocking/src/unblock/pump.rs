//! The iterator pump of an [`Unblock`]: a pool thread runs the iterator and sends its items
//! through a bounded `crossbeam-channel`; the async side receives them as a [`Stream`].

use std::any::Any;
use std::pin::Pin;
use std::sync::atomic::{fence, AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crossbeam_channel::{Receiver, Sender, TryRecvError};
use futures_core::Stream;

use super::{State, Unblock};

/// A [`Pipe`] with its item type erased (the state machine does not know `T::Item`). Dropping
/// it closes the queue: the pump's next `send` fails and it stops.
pub(super) type Erased = Box<dyn Any + Send + Sync>;

/// The consumer's waker, set only while the consumer waits on an empty queue.
#[derive(Default)]
struct Signal {
    waiting: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Signal {
    /// Called by the pump after each send and when it finishes.
    fn notify(&self) {
        // Pairs with the fence in `Pipe::poll_recv`: either the consumer sees the item, or we
        // see `waiting` and wake it.
        fence(SeqCst);
        if self.waiting.load(SeqCst) && self.waiting.swap(false, SeqCst) {
            let w = self.waker.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(w) = w {
                w.wake();
            }
        }
    }
}

/// The receiving end of the pump.
pub(super) struct Pipe<I> {
    rx: Receiver<I>,
    signal: Arc<Signal>,
}

/// The sending end, owned by the pump job.
struct Feed<I> {
    tx: Option<Sender<I>>,
    signal: Arc<Signal>,
}

impl<I> Feed<I> {
    /// Blocks while the queue is full; false once the consumer has gone.
    fn send(&self, item: I) -> bool {
        let sent = self.tx.as_ref().is_some_and(|tx| tx.send(item).is_ok());
        self.signal.notify();
        sent
    }

    /// No more items: the consumer sees the end once the queue is empty.
    fn finish(&mut self) {
        self.tx = None;
        self.signal.notify();
    }
}

impl<I> Drop for Feed<I> {
    fn drop(&mut self) {
        self.finish(); // also when the iterator panics: the consumer must not wait forever
    }
}

fn pipe<I>(cap: usize) -> (Feed<I>, Pipe<I>) {
    let (tx, rx) = crossbeam_channel::bounded(cap);
    let signal = Arc::new(Signal::default());
    let feed = Feed {
        tx: Some(tx),
        signal: signal.clone(),
    };
    (feed, Pipe { rx, signal })
}

impl<I> Pipe<I> {
    /// The next item, `Ready(None)` once the pump finished and the queue is empty.
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<I>> {
        match self.rx.try_recv() {
            Ok(item) => return Poll::Ready(Some(item)),
            Err(TryRecvError::Disconnected) => return Poll::Ready(None),
            Err(TryRecvError::Empty) => {}
        }
        *self.signal.waker.lock().unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
        self.signal.waiting.store(true, SeqCst);
        fence(SeqCst);
        match self.rx.try_recv() {
            Ok(item) => Poll::Ready(Some(item)),
            Err(TryRecvError::Disconnected) => Poll::Ready(None),
            Err(TryRecvError::Empty) => Poll::Pending,
        }
    }
}

impl<T> Stream for Unblock<T>
where
    T: Iterator + Send + 'static,
    T::Item: Send + 'static,
{
    type Item = T::Item;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T::Item>> {
        let this = self.get_mut();
        loop {
            if let State::Streaming(pipe, _) = &this.state {
                let p = pipe
                    .downcast_ref::<Pipe<T::Item>>()
                    .expect("Unblock: pipe item type");
                match p.poll_recv(cx) {
                    Poll::Ready(Some(item)) => return Poll::Ready(Some(item)),
                    Poll::Pending => return Poll::Pending,
                    Poll::Ready(None) => {
                        // The pump finished: wait for it to hand the iterator back.
                        let State::Streaming(_, job) =
                            std::mem::replace(&mut this.state, State::Lost(None))
                        else {
                            unreachable!()
                        };
                        this.state = State::Busy(job);
                    }
                }
            }
            match this.poll_idle(cx) {
                Poll::Pending => return Poll::Pending,
                // The iterator was lost (a panic, or the pool never ran the pump): end the stream.
                Poll::Ready(Err(_)) => return Poll::Ready(None),
                Poll::Ready(Ok(())) => {}
            }
            let core = this.core();
            if core.iter_done {
                core.iter_done = false;
                return Poll::Ready(None);
            }
            let (mut feed, rx) = pipe::<T::Item>(core.cap);
            let State::Idle(mut core) = std::mem::replace(&mut this.state, State::Lost(None))
            else {
                unreachable!()
            };
            let job = this.pool.run(move || {
                let io = core.io();
                loop {
                    match io.next() {
                        Some(item) => {
                            if !feed.send(item) {
                                break;
                            }
                        }
                        None => {
                            core.iter_done = true;
                            break;
                        }
                    }
                }
                feed.finish();
                core
            });
            this.state = State::Streaming(Box::new(rx), job);
        }
    }
}
