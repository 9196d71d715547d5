//! Cooperative cancellation tokens (tokio-util's `CancellationToken`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::loom::atomic::{AtomicBool, Ordering};
use crate::loom::{Arc, Mutex, Weak};
use crate::waitlist::{WaitList, WakeList};

/// A token that tasks poll or await to learn that they should stop.
///
/// Clones share one state. [`child_token`](CancellationToken::child_token) makes a token that is
/// cancelled with its parent (but cancelling the child leaves the parent alone).
///
/// ```
/// use weft_sync::CancellationToken;
/// # futures_lite::future::block_on(async {
/// let root = CancellationToken::new();
/// let child = root.child_token();
/// root.cancel();
/// child.cancelled().await; // completes: cancelled with its parent
/// assert!(child.is_cancelled());
/// # });
/// ```
#[derive(Clone)]
pub struct CancellationToken {
    node: Arc<Node>,
}

struct Node {
    cancelled: AtomicBool,
    inner: Mutex<Inner>,
    /// Keeps the ancestors alive while a descendant lives, so a grandchild stays reachable from
    /// the root even after the middle token's handles are dropped. Parents only hold `Weak`s to
    /// their children, so there is no cycle.
    _parent: Option<Arc<Node>>,
}

struct Inner {
    waiters: WaitList<()>,
    children: Vec<Weak<Node>>,
    /// Prune dead children when `children.len()` reaches this.
    prune_at: usize,
}

impl Node {
    fn new(cancelled: bool, parent: Option<Arc<Node>>) -> Arc<Node> {
        Arc::new(Node {
            _parent: parent,
            cancelled: AtomicBool::new(cancelled),
            inner: Mutex::new(Inner {
                waiters: WaitList::new(),
                children: Vec::new(),
                prune_at: 8,
            }),
        })
    }
}

impl CancellationToken {
    /// A new, uncancelled root token.
    pub fn new() -> Self {
        CancellationToken {
            node: Node::new(false, None),
        }
    }

    /// Cancels this token and, transitively, all its children; wakes every `cancelled()` waiter.
    /// Idempotent.
    pub fn cancel(&self) {
        let mut stack = vec![self.node.clone()];
        while let Some(node) = stack.pop() {
            let mut wakes = WakeList::new();
            let mut inner = node.inner.lock();
            // The flag is set under the lock, so `child_token` (which checks it under the same
            // lock) either sees it or has registered its child before we take the list.
            if node.cancelled.swap(true, Ordering::SeqCst) {
                continue;
            }
            inner.waiters.notify_all(&mut wakes, |_| {});
            let children = std::mem::take(&mut inner.children);
            drop(inner);
            wakes.wake_all();
            stack.extend(children.iter().filter_map(Weak::upgrade));
        }
    }

    /// `true` once this token (or an ancestor) was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.node.cancelled.load(Ordering::SeqCst)
    }

    /// A child token: cancelled when this one is; cancelling it does not affect this one.
    pub fn child_token(&self) -> CancellationToken {
        let mut inner = self.node.inner.lock();
        if self.node.cancelled.load(Ordering::SeqCst) {
            return CancellationToken {
                node: Node::new(true, None),
            };
        }
        let child = Node::new(false, Some(self.node.clone()));
        if inner.children.len() >= inner.prune_at {
            inner.children.retain(|w| w.strong_count() > 0);
            inner.prune_at = (inner.children.len() * 2).max(8);
        }
        inner.children.push(Arc::downgrade(&child));
        CancellationToken { node: child }
    }

    /// Waits until the token is cancelled.
    ///
    /// # Cancel safety
    /// Cancel-safe: cancellation wakes every waiter, so a dropped waiter takes nothing from
    /// others.
    pub fn cancelled(&self) -> WaitForCancellation<'_> {
        WaitForCancellation {
            token: self,
            key: None,
        }
    }

    /// Owned version of [`cancelled`](CancellationToken::cancelled): the future holds the token,
    /// so it is `'static` and can move into a spawned task.
    ///
    /// # Cancel safety
    /// Cancel-safe, as [`cancelled`](CancellationToken::cancelled).
    ///
    /// ```
    /// use weft_sync::CancellationToken;
    /// # futures_lite::future::block_on(async {
    /// let token = CancellationToken::new();
    /// let wait = token.clone().cancelled_owned();
    /// token.cancel();
    /// wait.await;
    /// # });
    /// ```
    pub fn cancelled_owned(self) -> WaitForCancellationOwned {
        WaitForCancellationOwned {
            token: self,
            key: None,
        }
    }

    /// Owned version of [`run_until_cancelled`](CancellationToken::run_until_cancelled).
    ///
    /// ```
    /// use weft_sync::CancellationToken;
    /// # futures_lite::future::block_on(async {
    /// let token = CancellationToken::new();
    /// assert_eq!(token.clone().run_until_cancelled_owned(async { 1 }).await, Some(1));
    /// token.cancel();
    /// let never = std::future::pending::<()>();
    /// assert_eq!(token.run_until_cancelled_owned(never).await, None);
    /// # });
    /// ```
    pub async fn run_until_cancelled_owned<F: Future>(self, fut: F) -> Option<F::Output> {
        self.run_until_cancelled(fut).await
    }

    /// A guard that cancels the token when dropped (unless [`DropGuard::disarm`]ed).
    pub fn drop_guard(self) -> DropGuard {
        DropGuard { token: Some(self) }
    }

    /// Runs `fut` until it completes (`Some(output)`) or the token is cancelled (`None`; `fut`
    /// is dropped). Cancellation is checked first on every poll, so an already cancelled token
    /// never polls `fut`.
    ///
    /// ```
    /// use weft_sync::CancellationToken;
    /// # futures_lite::future::block_on(async {
    /// let token = CancellationToken::new();
    /// assert_eq!(token.run_until_cancelled(async { 7 }).await, Some(7));
    /// token.cancel();
    /// assert_eq!(token.run_until_cancelled(async { 7 }).await, None);
    /// # });
    /// ```
    ///
    /// # Cancel safety
    /// As cancel-safe as `fut`.
    pub async fn run_until_cancelled<F: Future>(&self, fut: F) -> Option<F::Output> {
        let mut fut = std::pin::pin!(fut);
        let mut cancelled = self.cancelled();
        std::future::poll_fn(|cx| {
            if Pin::new(&mut cancelled).poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            fut.as_mut().poll(cx).map(Some)
        })
        .await
    }
}

impl Default for CancellationToken {
    fn default() -> Self {
        CancellationToken::new()
    }
}

impl fmt::Debug for CancellationToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancellationToken")
            .field("is_cancelled", &self.is_cancelled())
            .finish()
    }
}

/// Future returned by [`CancellationToken::cancelled`].
#[must_use = "futures do nothing unless polled"]
pub struct WaitForCancellation<'a> {
    token: &'a CancellationToken,
    key: Option<usize>,
}

impl Node {
    /// The poll of a `cancelled()` future whose waiter key is `key`.
    fn poll_cancelled(&self, key: &mut Option<usize>, cx: &mut Context<'_>) -> Poll<()> {
        if key.is_none() && self.cancelled.load(Ordering::SeqCst) {
            return Poll::Ready(());
        }
        let mut wakes = WakeList::new();
        let mut inner = self.inner.lock();
        inner.waiters.poll_until(key, cx.waker(), &mut wakes, || {
            self.cancelled.load(Ordering::SeqCst)
        })
    }

    /// The drop of a `cancelled()` future.
    fn forget_waiter(&self, key: &mut Option<usize>) {
        if let Some(key) = key.take() {
            let mut wakes = WakeList::new();
            self.inner.lock().waiters.remove(key, &mut wakes);
        }
    }
}

impl Future for WaitForCancellation<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.token.node.poll_cancelled(&mut this.key, cx)
    }
}

impl Drop for WaitForCancellation<'_> {
    fn drop(&mut self) {
        self.token.node.forget_waiter(&mut self.key);
    }
}

/// Future returned by [`CancellationToken::cancelled_owned`].
#[must_use = "futures do nothing unless polled"]
pub struct WaitForCancellationOwned {
    token: CancellationToken,
    key: Option<usize>,
}

impl Future for WaitForCancellationOwned {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.token.node.poll_cancelled(&mut this.key, cx)
    }
}

impl Drop for WaitForCancellationOwned {
    fn drop(&mut self) {
        self.token.node.forget_waiter(&mut self.key);
    }
}

impl fmt::Debug for WaitForCancellationOwned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellationOwned")
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for WaitForCancellation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitForCancellation")
            .finish_non_exhaustive()
    }
}

/// Cancels its token when dropped. Created by [`CancellationToken::drop_guard`].
#[must_use = "the token is cancelled as soon as the guard is dropped"]
#[derive(Debug)]
pub struct DropGuard {
    token: Option<CancellationToken>,
}

impl DropGuard {
    /// Returns the token without cancelling it.
    pub fn disarm(mut self) -> CancellationToken {
        self.token.take().expect("token present until drop")
    }
}

impl Drop for DropGuard {
    fn drop(&mut self) {
        if let Some(t) = self.token.take() {
            t.cancel();
        }
    }
}
