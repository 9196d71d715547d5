//! 1,000 concurrent connections served on one `block_on`, spawning nothing.

mod common;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::{Poll, Waker};

use common::{raise_fd_limit, LocalTasks};
use futures_lite::{AsyncReadExt, AsyncWriteExt};
use weft_reactor::block_on;
use weft_reactor::net::{TcpListener, TcpStream};

const CONNS: usize = 1000;

/// A counter whose waiter is woken on every change.
#[derive(Default)]
struct Counter {
    n: Cell<usize>,
    waiter: RefCell<Option<Waker>>,
}

impl Counter {
    fn add(&self, d: isize) {
        self.n.set(self.n.get().checked_add_signed(d).unwrap());
        if let Some(w) = self.waiter.borrow_mut().take() {
            w.wake();
        }
    }
    async fn wait_for(&self, target: usize) {
        futures_lite::future::poll_fn(|cx| {
            if self.n.get() == target {
                Poll::Ready(())
            } else {
                *self.waiter.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

#[test]
fn thousand_concurrent_connections_on_one_block_on() {
    // Each connection uses two fds in this process (client and server side).
    let limit = raise_fd_limit(4 * CONNS as libc::rlim_t + 256);
    assert!(
        limit >= 2 * CONNS as libc::rlim_t + 64,
        "RLIMIT_NOFILE hard limit {limit} is too low for this test"
    );
    let tasks = LocalTasks::new();
    let open = Rc::new(Counter::default()); // server handlers alive
    let echoed = Rc::new(Counter::default()); // clients that got their echo
    let served = Rc::new(Counter::default()); // server handlers finished
    let returned: Rc<RefCell<Vec<TcpStream>>> = Rc::default();

    block_on(tasks.run_until(async {
        let listener = Rc::new(TcpListener::bind("127.0.0.1:0").unwrap());
        let addr = listener.local_addr().unwrap();
        let spawner = tasks.clone();
        let (open2, served2) = (open.clone(), served.clone());
        tasks.spawn(async move {
            for _ in 0..CONNS {
                let (mut s, _) = listener.accept().await.unwrap();
                let (open, served) = (open2.clone(), served2.clone());
                spawner.spawn(async move {
                    open.add(1);
                    let mut buf = [0u8; 8];
                    s.read_exact(&mut buf).await.unwrap();
                    s.write_all(&buf).await.unwrap();
                    // Stay open until the client closes: all connections are live at once.
                    let mut rest = Vec::new();
                    s.read_to_end(&mut rest).await.unwrap();
                    assert!(rest.is_empty());
                    open.add(-1);
                    served.add(1);
                });
            }
        });

        for i in 0..CONNS {
            let mut c = TcpStream::connect(addr).await.unwrap();
            let (echoed, returned) = (echoed.clone(), returned.clone());
            tasks.spawn(async move {
                let msg = (i as u64).to_le_bytes();
                c.write_all(&msg).await.unwrap();
                let mut back = [0u8; 8];
                c.read_exact(&mut back).await.unwrap();
                assert_eq!(back, msg);
                returned.borrow_mut().push(c);
                echoed.add(1);
            });
        }
        echoed.wait_for(CONNS).await;
        open.wait_for(CONNS).await;
        assert_eq!(returned.borrow().len(), CONNS);
        // Close every client; every server handler must see EOF and finish.
        returned.borrow_mut().clear();
        served.wait_for(CONNS).await;
        assert_eq!(open.n.get(), 0);
    }));
    assert_eq!(served.n.get(), CONNS);
}
