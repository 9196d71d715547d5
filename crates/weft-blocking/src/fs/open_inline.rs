//! Opens that cannot wait, done on the caller's thread (Linux): no pool round trip for opening a
//! cached local file, which is what a `File::open` + a few cached reads used to spend most of
//! their time on (one thread hand-off each way, milliseconds on a loaded machine).
//!
//! An open can wait for the disk (a path lookup not in the dentry cache), for a server (NFS,
//! FUSE), or for a peer (a FIFO waits for its other end, a tty for carrier), and opening some
//! devices has side effects. So the caller's thread only opens when all of these hold, and
//! otherwise the pool does the open as before (any failure here just means "use the pool"):
//!
//! 1. the options create or truncate nothing and set no custom flags (those may write);
//! 2. `openat2(O_PATH, RESOLVE_CACHED)` succeeds: every path component is in the kernel's
//!    lookup cache (else `EAGAIN`), and an `O_PATH` open calls no driver or file system `open`;
//! 3. that inode is a regular file or directory on a local file system (ext2/3/4, xfs, btrfs,
//!    tmpfs, f2fs), or one of the memory devices (`/dev/null`, `zero`, `full`, `random`,
//!    `urandom`), whose `open` never waits and has no side effect;
//! 4. the real open, again with `RESOLVE_CACHED` and with `O_NONBLOCK` (as io_uring's
//!    non-blocking open attempt does), gives the same inode; `O_NONBLOCK` is then cleared, so the
//!    file behaves exactly as one opened by `std`.

use std::fs::File;
use std::path::Path;

#[cfg(target_os = "linux")]
use linux::try_open_linux;

/// What the options ask for; only plain opens of existing files qualify (rule 1).
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Access {
    pub(super) read: bool,
    pub(super) write: bool,
    pub(super) append: bool,
    /// Set by `create`, `create_new`, `truncate` or `custom_flags`: always the pool.
    pub(super) pool_only: bool,
}

/// The file, opened on this thread, or `None`: use the pool (see the module docs).
pub(super) fn try_open(path: &Path, access: &Access) -> Option<File> {
    #[cfg(target_os = "linux")]
    return try_open_linux(path, access);
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (path, access);
        None
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::fs::File;
    use std::os::fd::OwnedFd;
    use std::path::Path;

    use rustix::fs::{fcntl_getfl, fcntl_setfl, fstat, fstatfs, openat2, FileType};
    use rustix::fs::{Mode, OFlags, ResolveFlags, Stat, CWD};

    use super::Access;

    impl Access {
        pub(super) fn flags(&self) -> Option<OFlags> {
            if self.pool_only {
                return None;
            }
            let access = match (self.read, self.write || self.append) {
                (true, false) => OFlags::RDONLY,
                (false, true) => OFlags::WRONLY,
                (true, true) => OFlags::RDWR,
                (false, false) => return None, // `std` reports the error: let the pool do it
            };
            let append = if self.append {
                OFlags::APPEND
            } else {
                OFlags::empty()
            };
            Some(access | append | OFlags::CLOEXEC)
        }
    }

    /// Local file systems whose `open` of a regular file or directory does no I/O (`f_type`).
    const LOCAL_FS: [u64; 6] = [
        0xEF53,      // ext2/3/4
        0x5846_5342, // xfs
        0x9123_683E, // btrfs
        0x0102_1994, // tmpfs (and devtmpfs)
        0xF2F5_2010, // f2fs
        0x8584_58F6, // ramfs
    ];

    /// Major number of the memory devices; the minors whose `open` does nothing.
    const MEM_MAJOR: u32 = 1;
    const MEM_MINORS: [u32; 5] = [3, 5, 7, 8, 9]; // null, zero, full, random, urandom

    /// Linux: [`try_open`](super::try_open).
    pub(super) fn try_open_linux(path: &Path, access: &Access) -> Option<File> {
        let flags = access.flags()?;
        let cached = ResolveFlags::CACHED;
        let probe = openat2(
            CWD,
            path,
            OFlags::PATH | OFlags::CLOEXEC,
            Mode::empty(),
            cached,
        )
        .ok()?;
        let st = fstat(&probe).ok()?;
        if !harmless(&probe, &st) {
            return None;
        }
        drop(probe);
        let fd: OwnedFd =
            openat2(CWD, path, flags | OFlags::NONBLOCK, Mode::empty(), cached).ok()?;
        let again = fstat(&fd).ok()?;
        if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino) {
            return None; // replaced in between: let the pool open whatever is there now
        }
        let fl = fcntl_getfl(&fd).ok()?;
        fcntl_setfl(&fd, fl - OFlags::NONBLOCK).ok()?;
        Some(File::from(fd))
    }

    /// Rule 3 of the module docs.
    fn harmless(probe: &OwnedFd, st: &Stat) -> bool {
        match FileType::from_raw_mode(st.st_mode) {
            FileType::RegularFile | FileType::Directory => fstatfs(probe)
                .map(|fs| LOCAL_FS.contains(&(fs.f_type as u64)))
                .unwrap_or(false),
            FileType::CharacterDevice => {
                let dev = st.st_rdev;
                rustix::fs::major(dev) == MEM_MAJOR && MEM_MINORS.contains(&rustix::fs::minor(dev))
            }
            _ => false,
        }
    }
}
