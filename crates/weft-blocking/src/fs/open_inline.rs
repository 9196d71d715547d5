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
//!    non-blocking open attempt does: it also keeps the open from waiting for a lease break),
//!    gives the same inode; `O_NONBLOCK` is then cleared, so the file behaves exactly as one
//!    opened by `std`.
//!
//! Cost (strace, per open + close of a cached ext4 file): `openat2(O_PATH)`, `statx`, `close`,
//! `openat2`, `statx`, `fcntl(F_SETFL)`, and the final `close`: 7 syscalls, where `std` makes 2
//! (`openat`, `close`). The `fstatfs` of rule 3 runs once per mount: a mount seen to be local is
//! remembered by its unique mount id (`STATX_MNT_ID_UNIQUE`, Linux 6.8; ids are never reused,
//! and a mount's file system never changes), and the file's own `lseek` probe for seekability is
//! skipped for regular files. The `O_PATH` probe cannot go: no open flag keeps the real open
//! from calling a device's or a FIFO's `open` (a FIFO opened for reading, even `O_NONBLOCK`, wakes
//! a writer blocked in its own `open`; a tty may become the controlling terminal; some tapes
//! rewind on close), and checking the type only after the real open is too late for those.

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

/// A file opened on this thread.
pub(super) struct Opened {
    pub(super) file: File,
    /// A regular file or directory on a local file system: known to be seekable.
    pub(super) seekable: bool,
}

/// The file, opened on this thread, or `None`: use the pool (see the module docs).
pub(super) fn try_open(path: &Path, access: &Access) -> Option<Opened> {
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
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

    use rustix::fs::{fcntl_setfl, fstatfs, openat2, statx, AtFlags, FileType, StatxFlags};
    use rustix::fs::{Mode, OFlags, ResolveFlags, Statx, CWD};

    use super::{Access, Opened};

    impl Access {
        /// The open flags (without `O_NONBLOCK`), or `None` for the pool.
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
            Some(access | self.status_flags() | OFlags::CLOEXEC)
        }

        /// The flags `F_SETFL` sets (the access mode and `O_CLOEXEC` are not among them).
        fn status_flags(&self) -> OFlags {
            if self.append {
                OFlags::APPEND
            } else {
                OFlags::empty()
            }
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

    /// `STATX_MNT_ID_UNIQUE` (Linux 6.8): a 64-bit mount id that is never reused.
    const MNT_ID_UNIQUE: u32 = 0x4000;

    /// Unique ids of mounts seen to be local (0: empty slot), filled round-robin.
    static LOCAL_MOUNTS: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
    static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

    /// Linux: [`try_open`](super::try_open).
    pub(super) fn try_open_linux(path: &Path, access: &Access) -> Option<Opened> {
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
        let st = stat(&probe, StatxFlags::from_bits_retain(MNT_ID_UNIQUE))?;
        let kind = FileType::from_raw_mode(st.stx_mode.into());
        if !harmless(&probe, &st, kind) {
            return None;
        }
        drop(probe);
        let fd: OwnedFd =
            openat2(CWD, path, flags | OFlags::NONBLOCK, Mode::empty(), cached).ok()?;
        if ident(&stat(&fd, StatxFlags::empty())?) != ident(&st) {
            return None; // replaced in between: let the pool open whatever is there now
        }
        // The status flags are exactly those asked for, so no `F_GETFL` is needed.
        fcntl_setfl(&fd, access.status_flags()).ok()?;
        let seekable = matches!(kind, FileType::RegularFile | FileType::Directory);
        Some(Opened {
            file: File::from(fd),
            seekable,
        })
    }

    /// `statx` of an open descriptor (`O_PATH` ones too) with the type and inode, and `extra`.
    fn stat(fd: &OwnedFd, extra: StatxFlags) -> Option<Statx> {
        let want = StatxFlags::TYPE | StatxFlags::INO | extra;
        let st = statx(fd, "", AtFlags::EMPTY_PATH, want).ok()?;
        let got = StatxFlags::from_bits_retain(st.stx_mask);
        got.contains(StatxFlags::TYPE | StatxFlags::INO)
            .then_some(st)
    }

    /// Which inode: device and inode number.
    fn ident(st: &Statx) -> (u32, u32, u64) {
        (st.stx_dev_major, st.stx_dev_minor, st.stx_ino)
    }

    /// Rule 3 of the module docs.
    fn harmless(probe: &OwnedFd, st: &Statx, kind: FileType) -> bool {
        match kind {
            FileType::RegularFile | FileType::Directory => local_mount(probe, st),
            FileType::CharacterDevice => {
                st.stx_rdev_major == MEM_MAJOR && MEM_MINORS.contains(&st.stx_rdev_minor)
            }
            _ => false,
        }
    }

    /// Whether `probe` is on a local file system: remembered per mount (by unique id, when the
    /// kernel gives one), else one `fstatfs`.
    fn local_mount(probe: &OwnedFd, st: &Statx) -> bool {
        let id = (st.stx_mask & MNT_ID_UNIQUE != 0).then_some(st.stx_mnt_id);
        let id = id.filter(|&id| id != 0);
        if let Some(id) = id {
            if LOCAL_MOUNTS.iter().any(|s| s.load(Ordering::Relaxed) == id) {
                return true;
            }
        }
        let local = fstatfs(probe)
            .map(|fs| LOCAL_FS.contains(&(fs.f_type as u64)))
            .unwrap_or(false);
        if let (true, Some(id)) = (local, id) {
            let slot = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % LOCAL_MOUNTS.len();
            LOCAL_MOUNTS[slot].store(id, Ordering::Relaxed);
        }
        local
    }
}
