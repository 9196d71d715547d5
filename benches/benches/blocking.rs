//! Blocking pool and files (issue 6): weft-blocking vs tokio's `spawn_blocking` / `tokio::fs` vs
//! smol's `blocking::unblock` / `async-fs`.
//!
//! Each runtime runs its own pool on its own executor with 2 workers (weft `Runtime`, tokio
//! `multi_thread`, smol's `async-executor` pool); contenders interleave per round
//! (`weft_benches::runner`, group `blocking`).

use std::future::Future;
use std::hint::black_box;
use std::io::Read as _;
use std::time::{Duration, Instant};

use weft_benches::runner::{Bencher, Workload};
use weft_benches::{tokio_rt, weft_rt, SmolRt, WORKERS};

const GROUP: &str = "blocking";

/// The three runtimes, alive for the whole file.
struct Rts {
    weft: weft_executor::Runtime,
    tokio: tokio::runtime::Runtime,
    smol: SmolRt,
}

/// tokio's `spawn_blocking` bench: N tasks × 100 batches × 16 no-op jobs, each batch joined.
const BATCHES: usize = 100;
const JOBS_PER_BATCH: usize = 16;
const CONCURRENCY: [usize; 3] = [1, 2, 4];

/// tokio's `fs` bench: read 1,000 × 4 KiB from `/dev/zero`.
const BLOCK_COUNT: usize = 1_000;
const BUFFER_SIZE: usize = 4096;
const DEV_ZERO: &str = "/dev/zero";

/// Shortest timed turn of a file contender. The runner gives every contender of a workload the
/// same iteration count, calibrated so that the slowest turn (tokio::fs, 10-50x slower) lasts
/// about 150 ms; weft, async-fs and std then had 3-5 ms turns, which one preemption by another
/// process on the 2 shared cores moved by ±40 % (std itself was "±39 %"). [`iter_turn`] repeats
/// a turn's iterations until it lasts at least this long; the sample stays the time of one
/// iteration.
const MIN_TURN: Duration = Duration::from_millis(50);

/// Times `b.iters()` calls of `f`, repeated until the turn lasts [`MIN_TURN`] (once in
/// `--test` mode), and reports the time of one call.
fn iter_turn<R>(b: &mut Bencher, mut f: impl FnMut() -> R) {
    let min_turn = match weft_benches::rounds::Mode::from_env() {
        weft_benches::rounds::Mode::Test => Duration::ZERO,
        _ => MIN_TURN,
    };
    b.iter_custom(|iters| {
        let start = Instant::now();
        let mut reps = 0u32;
        while reps == 0 || start.elapsed() < min_turn {
            for _ in 0..iters {
                black_box(f());
            }
            reps += 1;
        }
        start.elapsed() / reps
    });
}

/// One outer task's work: [`BATCHES`] times, submit [`JOBS_PER_BATCH`] jobs through `submit`,
/// then await each of them and hand its output to `check`.
async fn batches<J: Future>(submit: impl Fn() -> J, check: impl Fn(J::Output)) {
    for _ in 0..BATCHES {
        let jobs: Vec<_> = (0..JOBS_PER_BATCH).map(|_| submit()).collect();
        for j in jobs {
            check(j.await);
        }
    }
}

/// The weft side of `spawn_blocking/n`: `n` tasks on the weft runtime each run [`batches`] with
/// `submit` and `check`.
fn bench_weft<'a, S, J, C>(
    g: &mut Workload<'a>,
    rt: &'a weft_executor::Runtime,
    id: &str,
    n: usize,
    submit: S,
    check: C,
) where
    S: Fn() -> J + Copy + Send + Sync + 'static,
    J: Future + Send + 'static,
    C: Fn(J::Output) + Copy + Send + Sync + 'static,
{
    g.bench(id, move |b| {
        b.iter(|| {
            rt.block_on(async {
                let outer: Vec<_> = (0..n).map(|_| rt.spawn(batches(submit, check))).collect();
                for t in outer {
                    t.await.unwrap();
                }
            })
        })
    });
}

fn spawn_blocking(rts: &Rts) {
    for n in CONCURRENCY {
        let mut g = Workload::new(GROUP, &format!("spawn_blocking/{n}"));
        bench_weft(
            &mut g,
            &rts.weft,
            "weft",
            n,
            || weft_blocking::unblock(|| {}),
            |()| (),
        );
        // The same through `weft::spawn_blocking`, which wraps each job in an executor task
        // (like tokio's `spawn_blocking` handle); `weft` awaits the pool's future directly.
        bench_weft(
            &mut g,
            &rts.weft,
            "weft_task",
            n,
            || weft::spawn_blocking(|| {}),
            |r: Result<(), weft::JoinError>| r.unwrap(),
        );
        g.bench("tokio", |b| {
            b.iter(|| {
                rts.tokio.block_on(async {
                    let mut set = tokio::task::JoinSet::new();
                    for _ in 0..n {
                        set.spawn(async {
                            for _ in 0..BATCHES {
                                let mut inner = tokio::task::JoinSet::new();
                                for _ in 0..JOBS_PER_BATCH {
                                    inner.spawn_blocking(|| {});
                                }
                                inner.join_all().await;
                            }
                        });
                    }
                    set.join_all().await;
                })
            })
        });
        g.bench("smol", |b| {
            b.iter(|| {
                rts.smol.block_on(async {
                    let outer: Vec<_> = (0..n)
                        .map(|_| {
                            rts.smol
                                .spawn(batches(|| blocking::unblock(|| {}), |()| ()))
                        })
                        .collect();
                    for t in outer {
                        t.await;
                    }
                })
            })
        });
        g.run();
    }
}

/// Reads [`BLOCK_COUNT`] × [`BUFFER_SIZE`] bytes from `file` (a `futures-io` reader: weft's and
/// async-fs's `File`), stopping early at end of file.
async fn read_blocks(mut file: impl futures_lite::AsyncRead + Unpin) {
    use futures_lite::AsyncReadExt as _;
    let mut buf = [0u8; BUFFER_SIZE];
    for _ in 0..BLOCK_COUNT {
        if file.read(&mut buf).await.unwrap() == 0 {
            break;
        }
    }
}

/// `fs_read_1000x4k`: 1,000 reads of 4 KiB from `/dev/zero` per iteration, through a file each
/// contender opens once per turn (untimed): the sample is the steady-state read path, not
/// `open`/`close` (whose cost differs by how each runtime closes, and on weft may wake a pool
/// thread).
fn fs_read(rts: &Rts) {
    let mut g = Workload::new(GROUP, "fs_read_1000x4k");
    g.bench("weft", |b| {
        let mut f = rts
            .weft
            .block_on(async { weft::fs::File::open(DEV_ZERO).await.unwrap() });
        iter_turn(b, || rts.weft.block_on(read_blocks(&mut f)));
    });
    g.bench("tokio", |b| {
        let mut file = rts
            .tokio
            .block_on(async { tokio::fs::File::open(DEV_ZERO).await.unwrap() });
        iter_turn(b, || {
            rts.tokio.block_on(async {
                use tokio::io::AsyncReadExt as _;
                let mut buf = [0u8; BUFFER_SIZE];
                for _ in 0..BLOCK_COUNT {
                    if file.read(&mut buf).await.unwrap() == 0 {
                        break;
                    }
                }
            })
        })
    });
    g.bench("smol", |b| {
        let mut f = rts
            .smol
            .block_on(async { async_fs::File::open(DEV_ZERO).await.unwrap() });
        iter_turn(b, || rts.smol.block_on(read_blocks(&mut f)));
    });
    g.bench("std_sync", |b| {
        let mut file = std::fs::File::open(DEV_ZERO).unwrap();
        iter_turn(b, || {
            let mut buf = [0u8; BUFFER_SIZE];
            for _ in 0..BLOCK_COUNT {
                if file.read(&mut buf).unwrap() == 0 {
                    break;
                }
            }
        })
    });
    g.run();
}

/// Sequential workloads on a real file (issues 17, 19): a 32 MiB file read in 4 KiB reads, and
/// 32 MiB written in 4 KiB writes then flushed (not synced: page cache speed, the pool overhead
/// is what is measured).
const BIG_FILE: usize = 32 * 1024 * 1024;
const WRITE_TOTAL: usize = 32 * 1024 * 1024;

/// A 32 MiB file in the page cache, written back to the disk before the rounds start: dirty
/// pages of a just-written file are written back (by the kernel's flusher threads, on the same
/// 2 cores) during whichever rounds happen to run then.
fn big_file(name: &str) -> std::path::PathBuf {
    use std::io::Write as _;
    let path = std::env::temp_dir().join(format!("weft-bench-{name}-{}", std::process::id()));
    let data: Vec<u8> = (0..BIG_FILE).map(|i| (i % 251) as u8).collect();
    let mut f = std::fs::File::create(&path).unwrap();
    f.write_all(&data).unwrap();
    f.sync_all().unwrap();
    path
}

/// Reads `file` to the end in [`BUFFER_SIZE`] reads; returns the byte count.
async fn read_all_4k(mut file: impl futures_lite::AsyncRead + Unpin) -> usize {
    use futures_lite::AsyncReadExt as _;
    let mut buf = [0u8; BUFFER_SIZE];
    let mut total = 0;
    loop {
        match file.read(&mut buf).await.unwrap() {
            0 => return total,
            n => total += n,
        }
    }
}

/// Writes [`WRITE_TOTAL`] bytes in [`BUFFER_SIZE`] writes, then flushes.
async fn write_all_4k(mut file: impl futures_lite::AsyncWrite + Unpin) {
    use futures_lite::AsyncWriteExt as _;
    let buf = [7u8; BUFFER_SIZE];
    for _ in 0..WRITE_TOTAL / BUFFER_SIZE {
        file.write_all(&buf).await.unwrap();
    }
    file.flush().await.unwrap();
}

fn fs_read_32m(rts: &Rts) {
    let path = big_file("32m");
    let p = &path;
    let mut g = Workload::new(GROUP, "fs_read_32m_4k");
    g.bench("weft", |b| {
        iter_turn(b, || {
            rts.weft.block_on(async {
                let f = weft::fs::File::open(p).await.unwrap();
                assert_eq!(read_all_4k(f).await, BIG_FILE);
            })
        })
    });
    g.bench("tokio", |b| {
        iter_turn(b, || {
            rts.tokio.block_on(async {
                use tokio::io::AsyncReadExt as _;
                let mut f = tokio::fs::File::open(p).await.unwrap();
                let mut buf = [0u8; BUFFER_SIZE];
                while f.read(&mut buf).await.unwrap() != 0 {}
            })
        })
    });
    g.bench("smol", |b| {
        iter_turn(b, || {
            rts.smol.block_on(async {
                let f = async_fs::File::open(p).await.unwrap();
                assert_eq!(read_all_4k(f).await, BIG_FILE);
            })
        })
    });
    g.bench("std_sync", |b| {
        iter_turn(b, || {
            let mut f = std::fs::File::open(p).unwrap();
            let mut buf = [0u8; BUFFER_SIZE];
            while f.read(&mut buf).unwrap() != 0 {}
        })
    });
    g.run();
    drop(g);
    let _ = std::fs::remove_file(&path);
}

/// `fs_write_32m_4k`: 32 MiB in 4 KiB writes, then a flush (no `fsync`, for everyone), over
/// the same 32 MiB file, opened for writing without truncating it. Truncating (`File::create`)
/// made ext4 start writing the file back at every close (its `auto_da_alloc` rule for files
/// truncated and rewritten), so rounds measured the disk queue; overwriting cached pages in
/// place measures the write path alone.
fn fs_write_seq(rts: &Rts) {
    use std::io::Write as _;
    let path = big_file("write");
    let p = &path;
    let mut g = Workload::new(GROUP, "fs_write_32m_4k");
    g.bench("weft", |b| {
        iter_turn(b, || {
            rts.weft.block_on(async {
                let f = weft::fs::OpenOptions::new().write(true).open(p).await;
                write_all_4k(f.unwrap()).await
            })
        })
    });
    g.bench("tokio", |b| {
        iter_turn(b, || {
            rts.tokio.block_on(async {
                use tokio::io::AsyncWriteExt as _;
                let f = tokio::fs::OpenOptions::new().write(true).open(p).await;
                let mut f = f.unwrap();
                let buf = [7u8; BUFFER_SIZE];
                for _ in 0..WRITE_TOTAL / BUFFER_SIZE {
                    f.write_all(&buf).await.unwrap();
                }
                f.flush().await.unwrap();
            })
        })
    });
    g.bench("smol", |b| {
        iter_turn(b, || {
            rts.smol.block_on(async {
                let f = async_fs::OpenOptions::new().write(true).open(p).await;
                write_all_4k(f.unwrap()).await
            })
        })
    });
    g.bench("std_sync", |b| {
        iter_turn(b, || {
            let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
            let buf = [7u8; BUFFER_SIZE];
            for _ in 0..WRITE_TOTAL / BUFFER_SIZE {
                f.write_all(&buf).unwrap();
            }
            f.flush().unwrap();
        })
    });
    g.run();
    drop(g);
    let _ = std::fs::remove_file(&path);
}

/// `WEFT_FS_PROFILE=<weft|smol|std>,<write|read>,<n>`: instead of the rounds, runs one
/// contender's `fs_write_32m_4k` (or `fs_read_32m_4k`) turn `n` times, so `strace -f -c` or
/// `perf stat` count one contender alone (futex calls, context switches per 32 MiB).
fn profile(rts: &Rts, spec: &str) {
    use std::io::Write as _;
    let mut it = spec.split(',');
    let who = it.next().unwrap_or("weft");
    let what = it.next().unwrap_or("write");
    let n: usize = it.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let path = big_file("profile");
    let p = &path;
    let start = Instant::now();
    for _ in 0..n {
        match (who, what) {
            ("weft", "write") => rts.weft.block_on(async {
                let f = weft::fs::OpenOptions::new().write(true).open(p).await;
                write_all_4k(f.unwrap()).await
            }),
            ("smol", "write") => rts.smol.block_on(async {
                let f = async_fs::OpenOptions::new().write(true).open(p).await;
                write_all_4k(f.unwrap()).await
            }),
            ("std", "write") => {
                let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
                let buf = [7u8; BUFFER_SIZE];
                for _ in 0..WRITE_TOTAL / BUFFER_SIZE {
                    f.write_all(&buf).unwrap();
                }
                f.flush().unwrap();
            }
            ("weft", _) => rts.weft.block_on(async {
                let f = weft::fs::File::open(p).await.unwrap();
                assert_eq!(read_all_4k(f).await, BIG_FILE);
            }),
            ("smol", _) => rts.smol.block_on(async {
                let f = async_fs::File::open(p).await.unwrap();
                assert_eq!(read_all_4k(f).await, BIG_FILE);
            }),
            _ => {
                let mut f = std::fs::File::open(p).unwrap();
                let mut buf = [0u8; BUFFER_SIZE];
                while f.read(&mut buf).unwrap() != 0 {}
            }
        }
    }
    println!(
        "{who} {what}: {:?} per turn",
        start.elapsed() / n.max(1) as u32
    );
    let _ = std::fs::remove_file(&path);
}

fn main() {
    let rts = Rts {
        weft: weft_rt(),
        tokio: tokio_rt(),
        smol: SmolRt::new(WORKERS),
    };
    if let Ok(spec) = std::env::var("WEFT_FS_PROFILE") {
        profile(&rts, &spec);
        return;
    }
    spawn_blocking(&rts);
    fs_read(&rts);
    fs_read_32m(&rts);
    fs_write_seq(&rts);
}
