//! loom model of the write-behind buffers (`src/unblock/overflow.rs`, compiled here against
//! loom's `Arc` and `Mutex`): a writer appends while the job writes and takes full buffers,
//! with room for one buffer (a plain `Unblock`) or for two (a file's queue, which wakes the
//! writer only once half of it is written). Under every interleaving, the bytes written by the
//! job followed by those it leaves in the write buffer are exactly the bytes appended, in
//! order, and a writer left `Pending` was woken (no lost wake-up), also when the job ends
//! early by dropping its guard (a panic); a writer that goes on after its wake-up (at half the
//! queue, while the job takes more) keeps the same order.
//!
//! A module of tests/loom.rs (run with `cargo xtask loom`).

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::task::{Context, Poll, Wake, Waker};

use loom::thread;

use crate::overflow::{CloseOnDrop, Overflow};

/// A waker that remembers it was woken. (Plain atomics: loom tracks the overflow's mutex, which
/// every wake happens after.)
#[derive(Default)]
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.store(true, SeqCst);
    }
}

/// The writer: appends `chunks` in order until one is refused (closed, or `Pending` unless
/// `resume`: then it waits for its waker, spinning, and goes on where it stopped); returns
/// what it appended and whether it was left waiting. (A wake-up that never comes makes a
/// resuming writer spin until loom gives up on the model: a failure, not a hang.)
fn writer(
    o: &Overflow,
    chunks: &[&[u8]],
    cx: &Context<'_>,
    flag: &Flag,
    resume: bool,
) -> (Vec<u8>, bool) {
    let mut sent = Vec::new();
    let (mut i, mut off) = (0, 0);
    while i < chunks.len() {
        let c = &chunks[i][off..];
        match o.poll_append(cx, c) {
            Some(Poll::Ready(n)) => {
                sent.extend_from_slice(&c[..n]);
                off += n;
                if off == chunks[i].len() || !resume {
                    (i, off) = (i + 1, 0);
                }
            }
            Some(Poll::Pending) if resume => {
                while !flag.0.swap(false, SeqCst) {
                    thread::yield_now();
                }
            }
            Some(Poll::Pending) => return (sent, true),
            None => break,
        }
    }
    (sent, false)
}

/// `fail`: the job's first write fails; `panic`: the job stops after its first write by
/// dropping its guard (as an unwinding job does); `depth`: bytes the overflow holds (buffers
/// of 2 bytes); `resume`: a writer woken after `Pending` appends the rest.
fn run(fail: bool, panic: bool, depth: usize, resume: bool) {
    crate::model(move || {
        let o = Overflow::new(Vec::new(), 2, 2, depth);
        let job_o = o.clone();
        let job = thread::spawn(move || {
            let guard = CloseOnDrop(job_o);
            let mut wbuf = b"ab".to_vec(); // the buffer the job was started with
            let mut written = Vec::new();
            let mut first = true;
            loop {
                let failed = fail && first;
                if !failed {
                    written.append(&mut wbuf);
                }
                first = false;
                if panic {
                    drop(guard);
                    return (written, wbuf, true);
                }
                if !guard.0.take_next(&mut wbuf, failed) {
                    return (written, wbuf, false);
                }
            }
        });
        let flag = std::sync::Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        let cx = Context::from_waker(&waker);
        let chunks: &[&[u8]] = if depth > 2 {
            &[b"cd", b"e", b"fg", b"h", b"ij"]
        } else {
            &[b"cd", b"e", b"fg"]
        };
        let (sent, waiting) = writer(&o, chunks, &cx, &flag, resume);
        let (mut written, left, panicked) = job.join().unwrap();
        if waiting {
            assert!(
                flag.0.load(SeqCst),
                "a writer waiting for room was never woken"
            );
        }
        if panicked {
            return; // the value (and its bytes) are lost with the job, as any panic loses them
        }
        written.extend_from_slice(&left);
        let mut want = b"ab".to_vec();
        want.extend_from_slice(&sent);
        assert_eq!(written, want, "bytes lost or reordered");
    });
}

#[test]
fn appended_bytes_are_written_or_left_in_order() {
    run(false, false, 2, false);
}

#[test]
fn after_a_write_error_every_byte_is_left_in_order() {
    run(true, false, 2, false);
}

#[test]
fn a_job_that_stops_wakes_the_waiting_writer() {
    run(false, true, 2, false);
}

#[test]
fn a_queue_of_buffers_is_written_or_left_in_order() {
    run(false, false, 4, false);
}

#[test]
fn after_a_write_error_a_queue_is_left_in_order() {
    run(true, false, 4, false);
}

#[test]
fn a_job_that_stops_wakes_the_writer_waiting_on_a_queue() {
    run(false, true, 4, false);
}

#[test]
fn a_woken_writer_goes_on_in_order() {
    run(false, false, 2, true);
}

#[test]
fn a_writer_woken_at_half_a_queue_goes_on_in_order() {
    run(false, false, 4, true);
}

#[test]
fn a_writer_woken_by_a_write_error_stops_in_order() {
    run(true, false, 4, true);
}
