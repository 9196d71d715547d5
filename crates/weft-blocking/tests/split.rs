//! A plain `Unblock` split across two tasks (`futures_lite::io::split`): one reading, one
//! writing. Both halves wait for the same pool job; when it ends, both must be woken.

mod common;
use common::within;

use std::future::Future;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use weft_blocking::Unblock;

/// A blocking value whose reads wait for bytes the test hands over, and say when they start.
struct Gate {
    data: Receiver<u8>,
    reading: Sender<()>,
    written: Arc<Mutex<Vec<u8>>>,
}

impl Read for Gate {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let _ = self.reading.send(());
        match self.data.recv() {
            Ok(b) => {
                buf[0] = b;
                Ok(1)
            }
            Err(_) => Ok(0),
        }
    }
}

impl Write for Gate {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A task's waker: each wake-up is a message on the channel.
struct Task(Mutex<Sender<()>>);

impl Wake for Task {
    fn wake(self: Arc<Self>) {
        let _ = self.0.lock().unwrap().send(());
    }
}

fn task() -> (Waker, Receiver<()>) {
    let (tx, rx) = mpsc::channel();
    (Waker::from(Arc::new(Task(Mutex::new(tx)))), rx)
}

fn poll<F: Future + Unpin>(f: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(f).poll(&mut Context::from_waker(waker))
}

#[test]
fn split_halves_are_both_woken_when_the_shared_job_ends() {
    within(
        "the reading half is woken after the writing half waited too",
        || {
            let (data, data_rx) = mpsc::channel();
            let (reading_tx, reading) = mpsc::channel();
            let written = Arc::new(Mutex::new(Vec::new()));
            let gate = Gate {
                data: data_rx,
                reading: reading_tx,
                written: written.clone(),
            };
            let (mut r, mut w) = futures_lite::io::split(Unblock::new(gate));
            let (reader, reader_woken) = task();
            let (writer, writer_woken) = task();

            let mut buf = [0u8; 4];
            let mut read = r.read(&mut buf);
            assert!(poll(&mut read, &reader).is_pending());
            reading.recv().unwrap(); // the fill is on the pool, waiting for a byte
            let mut write = w.write(b"ping");
            // One value, one operation at a time: the write waits for the same job.
            assert!(poll(&mut write, &writer).is_pending());
            data.send(b'x').unwrap(); // the fill ends

            // Before the fix only the writer (the last to poll the job) was woken.
            reader_woken.recv().unwrap();
            match poll(&mut read, &reader) {
                Poll::Ready(Ok(n)) => assert_eq!(n, 1),
                other => panic!("read after its wake-up: {other:?}"),
            }
            drop(read);
            assert_eq!(buf[0], b'x');
            writer_woken.recv().unwrap();
            match poll(&mut write, &writer) {
                Poll::Ready(Ok(n)) => assert_eq!(n, 4),
                other => panic!("write after its wake-up: {other:?}"),
            }
            drop(write);
            futures_lite::future::block_on(w.flush()).unwrap();
            assert_eq!(&*written.lock().unwrap(), b"ping");
        },
    );
}
