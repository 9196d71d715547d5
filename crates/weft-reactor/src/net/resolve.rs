//! Address targets and host-name resolution off the calling thread.
//!
//! [`ToSocketAddrs`] mirrors `std::net::ToSocketAddrs` for the same common types, but instead
//! of resolving in place it yields either literal socket addresses (never a thread, never a
//! syscall) or a host name and port, which a small pool of resolver threads looks up with the
//! system resolver (`getaddrinfo`) while the calling task waits without blocking its thread.

use std::collections::VecDeque;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::reactor::lock;

/// What an address argument stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Socket addresses, ready to use.
    Addrs(Vec<SocketAddr>),
    /// A host name and port, to be resolved.
    Host(String, u16),
}

/// Types a weft connect accepts as an address: the same as `std::net::ToSocketAddrs`
/// (`SocketAddr`, `(IpAddr, u16)`, `"host:port"`, `("host", port)`, `String`, `&[SocketAddr]`,
/// ...), but turned into a [`Target`] so that host names are resolved off the calling thread.
///
/// It is a separate trait (not `std::net::ToSocketAddrs`) because std's trait can only resolve
/// in place, blocking the thread, and its borrowed inputs cannot move to a resolver thread.
///
/// ```
/// use weft_reactor::net::{Target, ToSocketAddrs};
/// let lit = "127.0.0.1:80".to_target().unwrap();
/// assert_eq!(lit, Target::Addrs(vec!["127.0.0.1:80".parse().unwrap()]));
/// assert_eq!(("example.com", 443).to_target().unwrap(), Target::Host("example.com".into(), 443));
/// ```
pub trait ToSocketAddrs {
    /// The addresses, or the host name to resolve. Fails only on malformed input (e.g. a
    /// missing or invalid port).
    fn to_target(&self) -> io::Result<Target>;
}

impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_target(&self) -> io::Result<Target> {
        (**self).to_target()
    }
}

macro_rules! literal {
    ($($t:ty),*) => {$(
        impl ToSocketAddrs for $t {
            fn to_target(&self) -> io::Result<Target> {
                Ok(Target::Addrs(vec![SocketAddr::from(*self)]))
            }
        }
    )*};
}

literal!(
    SocketAddr,
    SocketAddrV4,
    SocketAddrV6,
    (IpAddr, u16),
    (Ipv4Addr, u16),
    (Ipv6Addr, u16)
);

impl ToSocketAddrs for [SocketAddr] {
    fn to_target(&self) -> io::Result<Target> {
        Ok(Target::Addrs(self.to_vec()))
    }
}

impl ToSocketAddrs for Vec<SocketAddr> {
    fn to_target(&self) -> io::Result<Target> {
        Ok(Target::Addrs(self.clone()))
    }
}

impl ToSocketAddrs for (&str, u16) {
    fn to_target(&self) -> io::Result<Target> {
        let (host, port) = *self;
        Ok(match host.parse::<IpAddr>() {
            Ok(ip) => Target::Addrs(vec![SocketAddr::new(ip, port)]),
            Err(_) => Target::Host(host.to_string(), port),
        })
    }
}

impl ToSocketAddrs for (String, u16) {
    fn to_target(&self) -> io::Result<Target> {
        (self.0.as_str(), self.1).to_target()
    }
}

impl ToSocketAddrs for str {
    fn to_target(&self) -> io::Result<Target> {
        if let Ok(a) = self.parse::<SocketAddr>() {
            return Ok(Target::Addrs(vec![a]));
        }
        let invalid = |what: &str| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid socket address {self:?}: {what}; expected \"host:port\""),
            )
        };
        let (host, port) = self.rsplit_once(':').ok_or_else(|| invalid("no port"))?;
        let port: u16 = port.parse().map_err(|_| invalid("invalid port"))?;
        (host, port).to_target()
    }
}

impl ToSocketAddrs for String {
    fn to_target(&self) -> io::Result<Target> {
        self.as_str().to_target()
    }
}

/// Resolves `target`: literal addresses at once, host names on a resolver thread.
pub(crate) async fn resolve(target: Target) -> io::Result<Vec<SocketAddr>> {
    match target {
        Target::Addrs(a) => Ok(a),
        Target::Host(host, port) => Lookup::start(host, port).await,
    }
}

/// The state shared by a lookup's future and the resolver thread doing it.
#[derive(Default)]
struct Slot {
    result: Option<io::Result<Vec<SocketAddr>>>,
    waker: Option<Waker>,
}

/// A host-name lookup running on a resolver thread. Dropping it abandons the lookup (the
/// thread finishes it and discards the answer).
struct Lookup {
    slot: Arc<Mutex<Slot>>,
}

impl Lookup {
    fn start(host: String, port: u16) -> Lookup {
        let slot = Arc::new(Mutex::new(Slot::default()));
        let job_slot = slot.clone();
        pool().submit(Box::new(move || {
            let res = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
                .map(|it| it.collect::<Vec<_>>());
            let waker = {
                let mut s = lock(&job_slot);
                s.result = Some(res);
                s.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        }));
        Lookup { slot }
    }
}

impl Future for Lookup {
    type Output = io::Result<Vec<SocketAddr>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut s = lock(&self.slot);
        if let Some(r) = s.result.take() {
            return Poll::Ready(r);
        }
        match &s.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => s.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// A small elastic pool of resolver threads: a thread is started when a lookup finds none idle
/// (up to [`MAX_THREADS`]), and an idle thread exits after [`IDLE`].
struct Pool {
    state: Mutex<PoolState>,
    cv: Condvar,
}

#[derive(Default)]
struct PoolState {
    jobs: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

const MAX_THREADS: usize = 8;
const IDLE: Duration = Duration::from_secs(10);

fn pool() -> &'static Pool {
    static POOL: Pool = Pool {
        state: Mutex::new(PoolState {
            jobs: VecDeque::new(),
            threads: 0,
            idle: 0,
        }),
        cv: Condvar::new(),
    };
    &POOL
}

impl Pool {
    fn submit(&'static self, job: Job) {
        let mut st = lock(&self.state);
        st.jobs.push_back(job);
        if st.idle == 0 && st.threads < MAX_THREADS {
            let spawned = std::thread::Builder::new()
                .name("weft-resolver".into())
                .spawn(move || self.run());
            match spawned {
                Ok(_) => st.threads += 1,
                // With no thread at all the lookup would never run: do it here instead.
                Err(_) if st.threads == 0 => {
                    let job = st.jobs.pop_back();
                    drop(st);
                    if let Some(job) = job {
                        job();
                    }
                    return;
                }
                Err(_) => {}
            }
        }
        drop(st);
        self.cv.notify_one();
    }

    fn run(&'static self) {
        let mut st = lock(&self.state);
        loop {
            if let Some(job) = st.jobs.pop_front() {
                drop(st);
                job();
                st = lock(&self.state);
                continue;
            }
            st.idle += 1;
            let (g, timeout) = self
                .cv
                .wait_timeout(st, IDLE)
                .unwrap_or_else(|e| e.into_inner());
            st = g;
            st.idle -= 1;
            if timeout.timed_out() && st.jobs.is_empty() {
                st.threads -= 1;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_never_need_a_lookup() {
        let v6: SocketAddr = "[::1]:8080".parse().unwrap();
        assert_eq!("[::1]:8080".to_target().unwrap(), Target::Addrs(vec![v6]));
        assert_eq!(("::1", 8080).to_target().unwrap(), Target::Addrs(vec![v6]));
        assert_eq!(
            (String::from("10.0.0.1"), 1).to_target().unwrap(),
            Target::Addrs(vec!["10.0.0.1:1".parse().unwrap()])
        );
        let list = [v6, "127.0.0.1:1".parse().unwrap()];
        assert_eq!(list[..].to_target().unwrap(), Target::Addrs(list.to_vec()));
        assert_eq!(
            String::from("localhost:99").to_target().unwrap(),
            Target::Host("localhost".into(), 99)
        );
    }

    #[test]
    fn malformed_input_says_what_is_wrong() {
        let e = "localhost".to_target().unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(e.to_string().contains("no port"), "{e}");
        let e = "localhost:http".to_target().unwrap_err();
        assert!(e.to_string().contains("invalid port"), "{e}");
    }
}
