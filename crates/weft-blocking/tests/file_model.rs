//! `fs::File` against `std::fs::File` as a model: random sequences of reads (single and runs of
//! 4 KiB reads, which grow the fills and start read-ahead), writes, seeks, flushes, `set_len`
//! and positional reads must give the same bytes, positions, errors and final file, with reads
//! from the page cache on the calling thread and with every fill on the pool.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures_lite::future::block_on;
use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use proptest::prelude::*;
use weft_blocking::fs::{File, OpenOptions};

#[derive(Debug, Clone)]
enum Op {
    /// Read up to `n` bytes (until EOF).
    Read(usize),
    /// `n` sequential 4 KiB reads (stopping at EOF).
    Read4k(usize),
    /// Write `len` bytes derived from `seed`.
    Write(usize, u8),
    Seek(SeekFrom),
    Flush,
    SetLen(u64),
    /// The logical position (`seek(Current(0))`).
    Position,
    /// A positional read of `n` bytes at `offset` (Unix), which must not move the position.
    ReadAt(usize, u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop_oneof![1..16usize, 4096..=4096usize, 1..300_000usize].prop_map(Op::Read),
        3 => (1..80usize).prop_map(Op::Read4k),
        2 => (1..20_000usize, any::<u8>()).prop_map(|(n, s)| Op::Write(n, s)),
        2 => prop_oneof![
            (0..400_000u64).prop_map(SeekFrom::Start),
            (-200_000..200_000i64).prop_map(SeekFrom::Current),
            (-200_000..10_000i64).prop_map(SeekFrom::End),
        ]
        .prop_map(Op::Seek),
        1 => Just(Op::Flush),
        1 => (0..400_000u64).prop_map(Op::SetLen),
        2 => Just(Op::Position),
        1 => (1..70_000usize, 0..400_000u64).prop_map(|(n, o)| Op::ReadAt(n, o)),
    ]
}

fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// What one operation produced, to compare between the two files.
#[derive(PartialEq)]
enum Out {
    Bytes(Vec<u8>),
    Pos(Result<u64, std::io::ErrorKind>),
    Done,
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The length and a checksum: the bytes themselves would flood the report.
            Out::Bytes(b) => write!(
                f,
                "{} bytes (sum {})",
                b.len(),
                b.iter().map(|&x| x as u64).sum::<u64>()
            ),
            Out::Pos(p) => write!(f, "position {p:?}"),
            Out::Done => f.write_str("done"),
        }
    }
}

fn temp_pair() -> (PathBuf, PathBuf) {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir();
    let tag = format!("weft-model-{}-{n}", std::process::id());
    (
        dir.join(format!("{tag}-weft")),
        dir.join(format!("{tag}-std")),
    )
}

/// Reads up to `n` bytes (fewer only at EOF): a `File` read returns at most what one buffer
/// holds, `std`'s returns all `n` on a regular file.
async fn weft_read(f: &mut File, n: usize) -> Vec<u8> {
    let mut out = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match f.read(&mut out[got..]).await.unwrap() {
            0 => break,
            k => got += k,
        }
    }
    out.truncate(got);
    out
}

async fn weft_step(f: &mut File, op: &Op) -> Out {
    match op {
        Op::Read(n) => Out::Bytes(weft_read(f, *n).await),
        Op::Read4k(count) => {
            let mut out = Vec::new();
            for _ in 0..*count {
                let block = weft_read(f, 4096).await;
                out.extend_from_slice(&block);
                if block.len() < 4096 {
                    break;
                }
            }
            Out::Bytes(out)
        }
        Op::Write(len, seed) => {
            f.write_all(&bytes(*len, *seed)).await.unwrap();
            Out::Done
        }
        Op::Seek(to) => Out::Pos(f.seek(*to).await.map_err(|e| e.kind())),
        Op::Flush => {
            f.flush().await.unwrap();
            Out::Done
        }
        Op::SetLen(n) => {
            f.set_len(*n).await.unwrap();
            Out::Done
        }
        Op::Position => Out::Pos(f.seek(SeekFrom::Current(0)).await.map_err(|e| e.kind())),
        Op::ReadAt(n, offset) => {
            let mut out = vec![0u8; *n];
            let k = f.read_at(&mut out, *offset).await.unwrap();
            out.truncate(k);
            Out::Bytes(out)
        }
    }
}

fn std_step(f: &mut std::fs::File, op: &Op) -> Out {
    match op {
        Op::Read(n) => {
            let mut out = Vec::new();
            Read::by_ref(f)
                .take(*n as u64)
                .read_to_end(&mut out)
                .unwrap();
            Out::Bytes(out)
        }
        Op::Read4k(count) => {
            let mut out = Vec::new();
            Read::by_ref(f)
                .take(*count as u64 * 4096)
                .read_to_end(&mut out)
                .unwrap();
            Out::Bytes(out)
        }
        Op::Write(len, seed) => {
            f.write_all(&bytes(*len, *seed)).unwrap();
            Out::Done
        }
        Op::Seek(to) => Out::Pos(f.seek(*to).map_err(|e| e.kind())),
        Op::Flush => {
            f.flush().unwrap();
            Out::Done
        }
        Op::SetLen(n) => {
            f.set_len(*n).unwrap();
            Out::Done
        }
        Op::Position => Out::Pos(f.stream_position().map_err(|e| e.kind())),
        Op::ReadAt(n, offset) => {
            let mut out = vec![0u8; *n];
            let mut got = 0;
            // `read_at` on a regular file returns everything up to EOF in one call.
            while got < *n {
                match std::os::unix::fs::FileExt::read_at(&*f, &mut out[got..], offset + got as u64)
                    .unwrap()
                {
                    0 => break,
                    k => got += k,
                }
            }
            out.truncate(got);
            Out::Bytes(out)
        }
    }
}

fn run_model(initial: usize, inline: bool, ops: &[Op]) -> Result<(), TestCaseError> {
    let (wp, sp) = temp_pair();
    let start = bytes(initial, 7);
    std::fs::write(&wp, &start).unwrap();
    std::fs::write(&sp, &start).unwrap();
    let mut s = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&sp)
        .unwrap();
    let result = block_on(async {
        let mut f = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&wp)
            .await
            .unwrap();
        f.set_inline_reads(inline);
        for (i, op) in ops.iter().enumerate() {
            let w = weft_step(&mut f, op).await;
            let m = std_step(&mut s, op);
            if w != m {
                return Err(format!("step {i} ({op:?}) differs: weft {w:?}, std {m:?}"));
            }
        }
        let end = f.seek(SeekFrom::Current(0)).await.unwrap();
        f.flush().await.unwrap();
        let std_end = s.stream_position().unwrap();
        if end != std_end {
            return Err(format!("final position: weft {end}, std {std_end}"));
        }
        Ok(())
    });
    let (wb, sb) = (std::fs::read(&wp).unwrap(), std::fs::read(&sp).unwrap());
    let _ = std::fs::remove_file(&wp);
    let _ = std::fs::remove_file(&sp);
    result.map_err(TestCaseError::fail)?;
    prop_assert!(
        wb == sb,
        "final files differ ({} vs {} bytes)",
        wb.len(),
        sb.len()
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn file_agrees_with_std(
        initial in 0..300_000usize,
        inline in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        run_model(initial, inline, &ops)?;
    }
}

/// Found by the model: a seek that fails (a target before the start) dropped the read-ahead
/// without moving the cursor back over it, so the position jumped to the end of the buffer.
#[test]
fn failed_seek_after_a_partial_read_keeps_the_position() {
    let ops = [
        Op::SetLen(28_673),
        Op::Read(1),
        Op::Seek(SeekFrom::Current(-2)),
        Op::Position,
        Op::Read(1),
        Op::Seek(SeekFrom::End(-40_000)),
        Op::Position,
    ];
    for inline in [true, false] {
        run_model(0, inline, &ops).unwrap();
    }
}

/// Read-ahead, then a write, a backward seek, `set_len` and more sequential reads.
#[test]
fn read_ahead_then_write_then_read_agrees_with_std() {
    let ops = [
        Op::Read4k(70),
        Op::Write(5000, 3),
        Op::Read4k(10),
        Op::Seek(SeekFrom::Current(-9000)),
        Op::Read(20_000),
        Op::SetLen(100_000),
        Op::Read4k(40),
        Op::Position,
    ];
    for inline in [true, false] {
        run_model(400_000, inline, &ops).unwrap();
    }
}
