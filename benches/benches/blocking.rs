//! Blocking pool and files (issue 6): weft-blocking vs tokio's `spawn_blocking` / `tokio::fs` vs
//! smol's `blocking::unblock` / `async-fs`.
//!
//! Each runtime runs its own pool on its own executor with 2 workers (weft `Runtime`, tokio
//! `multi_thread`, smol's `async-executor` pool).

use std::io::Read as _;

use criterion::{BenchmarkId, Criterion};
use weft_benches::{config, tokio_rt, weft_rt, SmolRt, WORKERS};

/// tokio's `spawn_blocking` bench: N tasks × 100 batches × 16 no-op jobs, each batch joined.
const BATCHES: usize = 100;
const JOBS_PER_BATCH: usize = 16;
const CONCURRENCY: [usize; 3] = [1, 2, 4];

/// tokio's `fs` bench: read 1,000 × 4 KiB from `/dev/zero`.
const BLOCK_COUNT: usize = 1_000;
const BUFFER_SIZE: usize = 4096;
const DEV_ZERO: &str = "/dev/zero";

fn spawn_blocking(c: &mut Criterion) {
    let mut g = c.benchmark_group("blocking_spawn_blocking");

    {
        let rt = weft_rt();
        for n in CONCURRENCY {
            g.bench_with_input(BenchmarkId::new("weft", n), &n, |b, &n| {
                b.iter(|| {
                    rt.block_on(async {
                        let outer: Vec<_> = (0..n)
                            .map(|_| {
                                rt.spawn(async {
                                    for _ in 0..BATCHES {
                                        let jobs: Vec<_> = (0..JOBS_PER_BATCH)
                                            .map(|_| weft_blocking::unblock(|| {}))
                                            .collect();
                                        for j in jobs {
                                            j.await;
                                        }
                                    }
                                })
                            })
                            .collect();
                        for t in outer {
                            t.await.unwrap();
                        }
                    })
                })
            });
        }
    }

    {
        // The same through `weft::spawn_blocking`, which wraps each job in an executor task (like
        // tokio's `spawn_blocking` handle); `weft` above awaits the pool's future directly.
        let rt = weft_rt();
        for n in CONCURRENCY {
            g.bench_with_input(BenchmarkId::new("weft_task", n), &n, |b, &n| {
                b.iter(|| {
                    rt.block_on(async {
                        let outer: Vec<_> = (0..n)
                            .map(|_| {
                                rt.spawn(async {
                                    for _ in 0..BATCHES {
                                        let jobs: Vec<_> = (0..JOBS_PER_BATCH)
                                            .map(|_| weft::spawn_blocking(|| {}))
                                            .collect();
                                        for j in jobs {
                                            j.await.unwrap();
                                        }
                                    }
                                })
                            })
                            .collect();
                        for t in outer {
                            t.await.unwrap();
                        }
                    })
                })
            });
        }
    }

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
                            .map(|_| {
                                rt.spawn(async {
                                    for _ in 0..BATCHES {
                                        let jobs: Vec<_> = (0..JOBS_PER_BATCH)
                                            .map(|_| blocking::unblock(|| {}))
                                            .collect();
                                        for j in jobs {
                                            j.await;
                                        }
                                    }
                                })
                            })
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

fn fs_read(c: &mut Criterion) {
    let mut g = c.benchmark_group("blocking_fs_read_1000x4k");

    {
        let rt = weft_rt();
        g.bench_function("weft", |b| {
            b.iter(|| {
                rt.block_on(async {
                    use futures_lite::AsyncReadExt as _;
                    let mut file = weft::fs::File::open(DEV_ZERO).await.unwrap();
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
                    use futures_lite::AsyncReadExt as _;
                    let mut file = async_fs::File::open(DEV_ZERO).await.unwrap();
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

fn main() {
    let mut c = config().configure_from_args();
    spawn_blocking(&mut c);
    fs_read(&mut c);
    c.final_summary();
}
