//! Blocking pool and files (issue 6): weft-blocking vs tokio's `spawn_blocking` / `tokio::fs` vs
//! smol's `blocking::unblock` / `async-fs`.
//!
//! Each runtime runs its own pool on its own executor with 2 workers (weft `Runtime`, tokio
//! `multi_thread`, smol's `async-executor` pool).

use std::future::Future;
use std::io::Read as _;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion};
use weft_benches::{config, tokio_rt, weft_rt, SmolRt, WORKERS};

/// tokio's `spawn_blocking` bench: N tasks × 100 batches × 16 no-op jobs, each batch joined.
const BATCHES: usize = 100;
const JOBS_PER_BATCH: usize = 16;
const CONCURRENCY: [usize; 3] = [1, 2, 4];

/// tokio's `fs` bench: read 1,000 × 4 KiB from `/dev/zero`.
const BLOCK_COUNT: usize = 1_000;
const BUFFER_SIZE: usize = 4096;
const DEV_ZERO: &str = "/dev/zero";

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

/// The weft side of `blocking_spawn_blocking`: for each concurrency `n`, `n` tasks on a weft
/// runtime each run [`batches`] with `submit` and `check`.
fn bench_weft<S, J, C>(g: &mut BenchmarkGroup<'_, WallTime>, id: &str, submit: S, check: C)
where
    S: Fn() -> J + Copy + Send + Sync + 'static,
    J: Future + Send + 'static,
    C: Fn(J::Output) + Copy + Send + Sync + 'static,
{
    let rt = weft_rt();
    for n in CONCURRENCY {
        g.bench_with_input(BenchmarkId::new(id, n), &n, |b, &n| {
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
}

fn spawn_blocking(c: &mut Criterion) {
    let mut g = c.benchmark_group("blocking_spawn_blocking");

    bench_weft(&mut g, "weft", || weft_blocking::unblock(|| {}), |()| ());
    // The same through `weft::spawn_blocking`, which wraps each job in an executor task (like
    // tokio's `spawn_blocking` handle); `weft` above awaits the pool's future directly.
    bench_weft(
        &mut g,
        "weft_task",
        || weft::spawn_blocking(|| {}),
        |r: Result<(), weft::JoinError>| r.unwrap(),
    );

    {
        let rt = tokio_rt();
        for n in CONCURRENCY {
            g.bench_with_input(BenchmarkId::new("tokio", n), &n, |b, &n| {
                b.iter(|| {
                    rt.block_on(async {
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
        }
    }

    {
        let rt = SmolRt::new(WORKERS);
        for n in CONCURRENCY {
            g.bench_with_input(BenchmarkId::new("smol", n), &n, |b, &n| {
                b.iter(|| {
                    rt.block_on(async {
                        let outer: Vec<_> = (0..n)
                            .map(|_| rt.spawn(batches(|| blocking::unblock(|| {}), |()| ())))
                            .collect();
                        for t in outer {
                            t.await;
                        }
                    })
                })
            });
        }
    }
    g.finish();
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

fn fs_read(c: &mut Criterion) {
    let mut g = c.benchmark_group("blocking_fs_read_1000x4k");

    {
        let rt = weft_rt();
        g.bench_function("weft", |b| {
            b.iter(|| {
                rt.block_on(async {
                    read_blocks(weft::fs::File::open(DEV_ZERO).await.unwrap()).await
                })
            })
        });
    }
    {
        let rt = tokio_rt();
        g.bench_function("tokio", |b| {
            b.iter(|| {
                rt.block_on(async {
                    use tokio::io::AsyncReadExt as _;
                    let mut file = tokio::fs::File::open(DEV_ZERO).await.unwrap();
                    let mut buf = [0u8; BUFFER_SIZE];
                    for _ in 0..BLOCK_COUNT {
                        if file.read(&mut buf).await.unwrap() == 0 {
                            break;
                        }
                    }
                })
            })
        });
    }
    {
        let rt = SmolRt::new(WORKERS);
        g.bench_function("smol", |b| {
            b.iter(|| {
                rt.block_on(async {
                    read_blocks(async_fs::File::open(DEV_ZERO).await.unwrap()).await
                })
            })
        });
    }
    g.bench_function("std_sync", |b| {
        b.iter(|| {
            let mut file = std::fs::File::open(DEV_ZERO).unwrap();
            let mut buf = [0u8; BUFFER_SIZE];
            for _ in 0..BLOCK_COUNT {
                if file.read(&mut buf).unwrap() == 0 {
                    break;
                }
            }
        })
    });
    g.finish();
}

/// Sequential workloads on a real file (issue 17): a 32 MiB file read in 4 KiB reads, and
/// 8 MiB written in 4 KiB writes then flushed (not synced: page cache speed, the pool overhead
/// is what is measured).
const BIG_FILE: usize = 32 * 1024 * 1024;
const WRITE_TOTAL: usize = 8 * 1024 * 1024;

fn big_file() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("weft-bench-32m-{}", std::process::id()));
    let data: Vec<u8> = (0..BIG_FILE).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, data).unwrap();
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

fn fs_read_32m(c: &mut Criterion) {
    let path = big_file();
    let mut g = c.benchmark_group("blocking_fs_read_32m_4k");
    {
        let rt = weft_rt();
        let p = path.clone();
        g.bench_function("weft", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let f = weft::fs::File::open(&p).await.unwrap();
                    assert_eq!(read_all_4k(f).await, BIG_FILE);
                })
            })
        });
    }
    {
        let rt = SmolRt::new(WORKERS);
        let p = path.clone();
        g.bench_function("smol", |b| {
            b.iter(|| {
                rt.block_on(async {
                    let f = async_fs::File::open(&p).await.unwrap();
                    assert_eq!(read_all_4k(f).await, BIG_FILE);
                })
            })
        });
    }
    {
        let rt = tokio_rt();
        let p = path.clone();
        g.bench_function("tokio", |b| {
            b.iter(|| {
                rt.block_on(async {
                    use tokio::io::AsyncReadExt as _;
                    let mut f = tokio::fs::File::open(&p).await.unwrap();
                    let mut buf = [0u8; BUFFER_SIZE];
                    while f.read(&mut buf).await.unwrap() != 0 {}
                })
            })
        });
    }
    g.bench_function("std_sync", |b| {
        b.iter(|| {
            let mut f = std::fs::File::open(&path).unwrap();
            let mut buf = [0u8; BUFFER_SIZE];
            while f.read(&mut buf).unwrap() != 0 {}
        })
    });
    g.finish();
    let _ = std::fs::remove_file(&path);
}

fn fs_write_seq(c: &mut Criterion) {
    use std::io::Write as _;
    let path = std::env::temp_dir().join(format!("weft-bench-write-{}", std::process::id()));
    let mut g = c.benchmark_group("blocking_fs_write_8m_4k");
    {
        let rt = weft_rt();
        let p = path.clone();
        g.bench_function("weft", |b| {
            b.iter(|| {
                rt.block_on(async { write_all_4k(weft::fs::File::create(&p).await.unwrap()).await })
            })
        });
    }
    {
        let rt = SmolRt::new(WORKERS);
        let p = path.clone();
        g.bench_function("smol", |b| {
            b.iter(|| {
                rt.block_on(async { write_all_4k(async_fs::File::create(&p).await.unwrap()).await })
            })
        });
    }
    {
        let rt = tokio_rt();
        let p = path.clone();
        g.bench_function("tokio", |b| {
            b.iter(|| {
                rt.block_on(async {
                    use tokio::io::AsyncWriteExt as _;
                    let mut f = tokio::fs::File::create(&p).await.unwrap();
                    let buf = [7u8; BUFFER_SIZE];
                    for _ in 0..WRITE_TOTAL / BUFFER_SIZE {
                        f.write_all(&buf).await.unwrap();
                    }
                    f.flush().await.unwrap();
                })
            })
        });
    }
    g.bench_function("std_sync", |b| {
        b.iter(|| {
            let mut f = std::fs::File::create(&path).unwrap();
            let buf = [7u8; BUFFER_SIZE];
            for _ in 0..WRITE_TOTAL / BUFFER_SIZE {
                f.write_all(&buf).unwrap();
            }
            f.flush().unwrap();
        })
    });
    g.finish();
    let _ = std::fs::remove_file(&path);
}

fn main() {
    let mut c = config().configure_from_args();
    spawn_blocking(&mut c);
    fs_read(&mut c);
    fs_read_32m(&mut c);
    fs_write_seq(&mut c);
    c.final_summary();
}
