//! Linux: reads that never block, served from the page cache on the caller's thread
//! (`preadv2(RWF_NOWAIT)`): `WouldBlock` when the bytes must come from the disk, and
//! `Unsupported` on kernels or files that cannot do it. See `unblock/inline.rs`.

use std::io::{self, IoSliceMut};

use rustix::io::{preadv2, ReadWriteFlags};

use super::ArcFile;

/// Reads at the current position and moves it, like `read(2)`, without waiting for the disk.
pub(super) fn read(f: &mut ArcFile, buf: &mut [u8]) -> io::Result<usize> {
    // An offset of `u64::MAX` (-1) means the file's own position.
    read_at(&f.0, buf, u64::MAX)
}

/// Reads at `offset` without moving the position (`pread`), without waiting for the disk.
pub(super) fn read_at(f: &std::fs::File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut bufs = [IoSliceMut::new(buf)];
    loop {
        match preadv2(f, &mut bufs, offset, ReadWriteFlags::NOWAIT) {
            Err(rustix::io::Errno::INTR) => {}
            res => return res.map_err(io::Error::from),
        }
    }
}
