//! Profiling driver for `weft::fs::File` reads and writes (docs/bench-notes/blocking.md): run
//! one workload `n` times under `strace -f -c` or `valgrind --tool=callgrind`, weft or std.
//!
//! `cargo run --release -p weft-blocking --example fs_profile -- <weft|std> <zero|file|write|overwrite|open> [n]`
//! (`open`: open and close a cached 4 KiB file, no read; `overwrite`: like `write`, but into
//! the same cached 4 MiB file in place, no truncate, so no writeback starts at each close.)

use std::io::{Read, Write};

use futures_lite::{AsyncReadExt, AsyncWriteExt};

const BLOCK: usize = 4096;
const BLOCKS: usize = 1000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let who = args.get(1).map_or("weft", String::as_str).to_string();
    let what = args.get(2).map_or("zero", String::as_str).to_string();
    let n: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1);
    let path = std::env::temp_dir().join(format!("weft-fs-profile-{}", std::process::id()));
    if what == "file" || what == "overwrite" {
        std::fs::write(&path, vec![1u8; BLOCK * BLOCKS]).unwrap();
    }
    if what == "open" {
        std::fs::write(&path, [1u8; BLOCK]).unwrap();
    }
    let src = if what == "zero" {
        "/dev/zero".into()
    } else {
        path.clone()
    };
    let mut buf = [0u8; BLOCK];
    for _ in 0..n {
        match (who.as_str(), what.as_str()) {
            ("std", "write") => {
                let mut f = std::fs::File::create(&path).unwrap();
                for _ in 0..BLOCKS {
                    f.write_all(&buf).unwrap();
                }
                f.flush().unwrap();
            }
            ("std", "overwrite") => {
                let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
                for _ in 0..BLOCKS {
                    f.write_all(&buf).unwrap();
                }
                f.flush().unwrap();
            }
            (_, "overwrite") => futures_lite::future::block_on(async {
                let mut f = weft_blocking::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .await
                    .unwrap();
                for _ in 0..BLOCKS {
                    f.write_all(&buf).await.unwrap();
                }
                f.flush().await.unwrap();
            }),
            ("std", "open") => drop(std::fs::File::open(&path).unwrap()),
            (_, "open") => futures_lite::future::block_on(async {
                drop(weft_blocking::fs::File::open(&path).await.unwrap());
            }),
            ("std", _) => {
                let mut f = std::fs::File::open(&src).unwrap();
                for _ in 0..BLOCKS {
                    f.read_exact(&mut buf).unwrap();
                }
            }
            (_, "write") => futures_lite::future::block_on(async {
                let mut f = weft_blocking::fs::File::create(&path).await.unwrap();
                for _ in 0..BLOCKS {
                    f.write_all(&buf).await.unwrap();
                }
                f.flush().await.unwrap();
            }),
            _ => futures_lite::future::block_on(async {
                let mut f = weft_blocking::fs::File::open(&src).await.unwrap();
                for _ in 0..BLOCKS {
                    f.read_exact(&mut buf).await.unwrap();
                }
            }),
        }
    }
    let _ = std::fs::remove_file(&path);
}
