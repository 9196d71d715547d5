//! Async files and directories: a mirror of [`std::fs`] running on the blocking pool
//! (`weft::fs`, the `aiofiles` equivalent).
//!
//! Every function runs the matching `std::fs` call on the global [`BlockingPool`](crate::BlockingPool) through
//! [`unblock`]. Errors are [`std::io::Error`]s with the same
//! [`ErrorKind`](io::ErrorKind) as `std::fs` and a message naming the operation and the path,
//! e.g. `failed to open /x/y: No such file or directory (os error 2)`. The underlying error is
//! kept: downcast [`io::Error::get_ref`] to [`PathError`] to get the path and the source.
//!
//! # Cancel-safety
//!
//! The free functions and the `File`/`OpenOptions`/`DirEntry` methods here are **not
//! cancel-safe in the "nothing happened" sense**: dropping the future before the pool has started
//! the call means it never runs, but once started it runs to completion on the pool and only its
//! result is lost (a `write` may have written the file, a `rename` may have renamed it). This is
//! the same as asyncio's `run_in_executor` and `aiofiles`. [`File`]'s `AsyncRead`/`AsyncWrite`/
//! `AsyncSeek` poll methods and the [`ReadDir`] stream *are* cancel-safe: an interrupted read,
//! write or directory batch completes in the background and its result is kept for the next call.
//!
//! ```
//! # futures_lite::future::block_on(async {
//! let dir = std::env::temp_dir().join(format!("weft-fs-doc-{}", std::process::id()));
//! weft_blocking::fs::create_dir_all(&dir).await?;
//! let path = dir.join("hello.txt");
//! weft_blocking::fs::write(&path, "hi").await?;
//! assert_eq!(weft_blocking::fs::read_to_string(&path).await?, "hi");
//! weft_blocking::fs::remove_dir_all(&dir).await?;
//! # std::io::Result::Ok(()) }).unwrap();
//! ```

use std::error::Error;
use std::ffi::OsString;
use std::fmt;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};

pub use std::fs::{FileType, Metadata, Permissions};

use crate::pool::Unblocked;
use crate::{unblock, Unblock};

mod close;
mod mode;
#[cfg(target_os = "linux")]
mod nowait;
mod open_inline;
mod temp;

pub use crate::error::NotSeekable;
pub use temp::{tempdir, tempfile, tempfile_in, NamedTempFile, TempDir};

/// The error inside an `io::Error` returned by this module: which operation failed on which
/// path(s), and the underlying error (also available as [`Error::source`]).
#[derive(Debug)]
pub struct PathError {
    op: &'static str,
    path: PathBuf,
    to: Option<PathBuf>,
    source: io::Error,
}

impl PathError {
    /// The operation, e.g. `"open"`.
    pub fn op(&self) -> &'static str {
        self.op
    }
    /// The path the operation was on (the source path for copy/rename/hard_link).
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// The destination path for copy/rename/hard_link.
    pub fn to(&self) -> Option<&Path> {
        self.to.as_deref()
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to {} {}", self.op, self.path.display())?;
        if let Some(to) = &self.to {
            write!(f, " to {}", to.display())?;
        }
        write!(f, ": {}", self.source)
    }
}

impl Error for PathError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

fn wrap(op: &'static str, path: &Path, to: Option<&Path>, e: io::Error) -> io::Error {
    io::Error::new(
        e.kind(),
        PathError {
            op,
            path: path.to_owned(),
            to: to.map(Path::to_owned),
            source: e,
        },
    )
}

/// Runs `f` on the global pool; a pool that cannot run it (shut down, no thread) is an
/// `io::Error` carrying the [`PoolError`](crate::PoolError).
async fn run<T, F>(f: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    unblock(f).checked().await?
}

/// Runs `f(path)` on the pool and names the path in its error.
async fn on_path<T, F>(op: &'static str, path: &Path, f: F) -> io::Result<T>
where
    F: FnOnce(&Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let path = path.to_owned();
    run(move || f(&path).map_err(|e| wrap(op, &path, None, e))).await
}

async fn on_paths<T, F>(op: &'static str, from: &Path, to: &Path, f: F) -> io::Result<T>
where
    F: FnOnce(&Path, &Path) -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    let (from, to) = (from.to_owned(), to.to_owned());
    run(move || f(&from, &to).map_err(|e| wrap(op, &from, Some(&to), e))).await
}

/// Reads a whole file ([`std::fs::read`]). Not cancel-safe (see the module docs).
pub async fn read(path: impl AsRef<Path>) -> io::Result<Vec<u8>> {
    on_path("read", path.as_ref(), |p| std::fs::read(p)).await
}

/// Reads a whole UTF-8 file ([`std::fs::read_to_string`]). Not cancel-safe (see the module docs).
pub async fn read_to_string(path: impl AsRef<Path>) -> io::Result<String> {
    on_path("read", path.as_ref(), |p| std::fs::read_to_string(p)).await
}

/// Creates or truncates a file and writes `contents` ([`std::fs::write`]).
/// Not cancel-safe (see the module docs).
pub async fn write(path: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> io::Result<()> {
    let data = contents.as_ref().to_vec();
    on_path("write", path.as_ref(), move |p| std::fs::write(p, data)).await
}

/// Copies a file, returning the bytes copied ([`std::fs::copy`]).
/// Not cancel-safe (see the module docs).
pub async fn copy(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<u64> {
    on_paths("copy", from.as_ref(), to.as_ref(), |a, b| {
        std::fs::copy(a, b)
    })
    .await
}

/// Renames a file or directory ([`std::fs::rename`]). Not cancel-safe (see the module docs).
pub async fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    on_paths("rename", from.as_ref(), to.as_ref(), |a, b| {
        std::fs::rename(a, b)
    })
    .await
}

/// Creates a hard link `to` pointing at `from` ([`std::fs::hard_link`]).
/// Not cancel-safe (see the module docs).
pub async fn hard_link(from: impl AsRef<Path>, to: impl AsRef<Path>) -> io::Result<()> {
    on_paths("hard link", from.as_ref(), to.as_ref(), |a, b| {
        std::fs::hard_link(a, b)
    })
    .await
}

/// Removes a file ([`std::fs::remove_file`]). Not cancel-safe (see the module docs).
pub async fn remove_file(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("remove file", path.as_ref(), |p| std::fs::remove_file(p)).await
}

/// Removes an empty directory ([`std::fs::remove_dir`]). Not cancel-safe (see the module docs).
pub async fn remove_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("remove directory", path.as_ref(), |p| {
        std::fs::remove_dir(p)
    })
    .await
}

/// Removes a directory and everything in it ([`std::fs::remove_dir_all`]).
/// Not cancel-safe (see the module docs).
pub async fn remove_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("remove directory", path.as_ref(), |p| {
        std::fs::remove_dir_all(p)
    })
    .await
}

/// Creates a directory ([`std::fs::create_dir`]). Not cancel-safe (see the module docs).
pub async fn create_dir(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("create directory", path.as_ref(), |p| {
        std::fs::create_dir(p)
    })
    .await
}

/// Creates a directory and its missing parents ([`std::fs::create_dir_all`]).
/// Not cancel-safe (see the module docs).
pub async fn create_dir_all(path: impl AsRef<Path>) -> io::Result<()> {
    on_path("create directory", path.as_ref(), |p| {
        std::fs::create_dir_all(p)
    })
    .await
}

/// Metadata, following symlinks ([`std::fs::metadata`]). Cancel-safe (read-only).
pub async fn metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    on_path("get metadata of", path.as_ref(), |p| std::fs::metadata(p)).await
}

/// Metadata of the link itself ([`std::fs::symlink_metadata`]). Cancel-safe (read-only).
pub async fn symlink_metadata(path: impl AsRef<Path>) -> io::Result<Metadata> {
    on_path("get metadata of", path.as_ref(), |p| {
        std::fs::symlink_metadata(p)
    })
    .await
}

/// The canonical absolute path ([`std::fs::canonicalize`]). Cancel-safe (read-only).
pub async fn canonicalize(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    on_path("canonicalize", path.as_ref(), |p| std::fs::canonicalize(p)).await
}

/// The target of a symbolic link ([`std::fs::read_link`]). Cancel-safe (read-only).
pub async fn read_link(path: impl AsRef<Path>) -> io::Result<PathBuf> {
    on_path("read link", path.as_ref(), |p| std::fs::read_link(p)).await
}

/// Whether a path exists, with errors other than "not found" reported
/// ([`std::fs::exists`]). Cancel-safe (read-only).
pub async fn try_exists(path: impl AsRef<Path>) -> io::Result<bool> {
    on_path("check existence of", path.as_ref(), |p| p.try_exists()).await
}

/// Whether `path` exists (following symlinks); `false` on any error, like Python's
/// `os.path.exists` / `aiofiles.os.path.exists`. Use [`try_exists`] to see errors.
/// Cancel-safe (read-only).
///
/// ```
/// # futures_lite::future::block_on(async {
/// assert!(weft_blocking::fs::exists("Cargo.toml").await);
/// assert!(!weft_blocking::fs::exists("no/such/file").await);
/// # });
/// ```
pub async fn exists(path: impl AsRef<Path>) -> bool {
    try_exists(path).await.unwrap_or(false)
}

/// Whether `path` is a regular file (following symlinks); `false` on any error
/// (`os.path.isfile`). Cancel-safe (read-only).
///
/// ```
/// # futures_lite::future::block_on(async {
/// assert!(weft_blocking::fs::is_file("Cargo.toml").await);
/// assert!(!weft_blocking::fs::is_file("src").await);
/// # });
/// ```
pub async fn is_file(path: impl AsRef<Path>) -> bool {
    metadata(path).await.is_ok_and(|m| m.is_file())
}

/// Whether `path` is a directory (following symlinks); `false` on any error
/// (`os.path.isdir`). Cancel-safe (read-only).
///
/// ```
/// # futures_lite::future::block_on(async {
/// assert!(weft_blocking::fs::is_dir("src").await);
/// assert!(!weft_blocking::fs::is_dir("Cargo.toml").await);
/// # });
/// ```
pub async fn is_dir(path: impl AsRef<Path>) -> bool {
    metadata(path).await.is_ok_and(|m| m.is_dir())
}

/// Opens a file with a Python/`aiofiles.open` mode string: `"r"` (read), `"w"` (write, create,
/// truncate), `"a"` (append, create), `"x"` (write, create, fail if it exists), each optionally
/// with `+` (read and write) and `b` or `t` (accepted and ignored: pick text or bytes by
/// method, `read_to_string`/[`File::lines`] or `read`/`read_to_end`). An invalid mode is an
/// `InvalidInput` error naming the valid ones. Not cancel-safe (see [`OpenOptions::open`]).
///
/// ```
/// use futures_lite::{AsyncWriteExt, StreamExt};
/// # futures_lite::future::block_on(async {
/// let dir = weft_blocking::fs::TempDir::new().await?;
/// let path = dir.path().join("log.txt");
/// let mut f = weft_blocking::fs::open(&path, "a").await?; // aiofiles.open(path, "a")
/// f.write_all(b"one\ntwo\n").await?;
/// f.flush().await?;
/// let lines: Vec<String> = weft_blocking::fs::open(&path, "r").await?.lines().try_collect().await?;
/// assert_eq!(lines, ["one", "two"]);
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[doc(alias = "aiofiles.open")]
pub async fn open(path: impl AsRef<Path>, mode: &str) -> io::Result<File> {
    let path = path.as_ref();
    let opts = OpenOptions::from_mode(mode).map_err(|e| wrap("open", path, None, e))?;
    opts.open(path).await
}

/// Changes permissions ([`std::fs::set_permissions`]). Not cancel-safe (see the module docs).
pub async fn set_permissions(path: impl AsRef<Path>, perm: Permissions) -> io::Result<()> {
    on_path("set permissions of", path.as_ref(), move |p| {
        std::fs::set_permissions(p, perm)
    })
    .await
}

/// Creates a symbolic link `link` pointing at `original` (Unix).
/// Not cancel-safe (see the module docs).
#[cfg(unix)]
pub async fn symlink(original: impl AsRef<Path>, link: impl AsRef<Path>) -> io::Result<()> {
    on_paths("symlink", original.as_ref(), link.as_ref(), |a, b| {
        std::os::unix::fs::symlink(a, b)
    })
    .await
}

/// Entries fetched per pool job by [`ReadDir`].
const READ_DIR_BATCH: usize = 64;

struct DirState {
    iter: std::fs::ReadDir,
    dir: PathBuf,
    batch: std::collections::VecDeque<io::Result<DirEntry>>,
    done: bool,
}

/// Opens a directory listing as a [`Stream`] of [`DirEntry`] ([`std::fs::read_dir`]).
/// Not cancel-safe in the "nothing happened" sense (it only opens the directory, so dropping it
/// is harmless).
///
/// ```
/// use futures_lite::StreamExt;
/// # futures_lite::future::block_on(async {
/// let mut entries = weft_blocking::fs::read_dir(".").await?;
/// while let Some(entry) = entries.try_next().await? {
///     let _name = entry.file_name();
/// }
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub async fn read_dir(path: impl AsRef<Path>) -> io::Result<ReadDir> {
    let iter = on_path("read directory", path.as_ref(), |p| std::fs::read_dir(p)).await?;
    Ok(ReadDir(ReadDirInner::Idle(Some(Box::new(DirState {
        iter,
        dir: path.as_ref().to_owned(),
        batch: Default::default(),
        done: false,
    })))))
}

/// A directory listing: a [`Stream`] of `io::Result<DirEntry>`, from [`read_dir`].
///
/// Entries are fetched on the pool in batches of 64. The stream is cancel-safe: a batch in
/// flight when a `next()` future is dropped is kept for the next call.
pub struct ReadDir(ReadDirInner);

enum ReadDirInner {
    Idle(Option<Box<DirState>>),
    Busy(Unblocked<Box<DirState>>),
}

impl Stream for ReadDir {
    type Item = io::Result<DirEntry>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match &mut this.0 {
                ReadDirInner::Busy(job) => match std::task::ready!(job.poll_checked(cx)) {
                    Ok(st) => this.0 = ReadDirInner::Idle(Some(st)),
                    Err(why) => {
                        // The listing was dropped with the job: report why, then end.
                        this.0 = ReadDirInner::Idle(None);
                        return Poll::Ready(Some(Err(why.into())));
                    }
                },
                ReadDirInner::Idle(st) => {
                    let Some(s) = st.as_mut() else {
                        return Poll::Ready(None);
                    };
                    if let Some(item) = s.batch.pop_front() {
                        return Poll::Ready(Some(item));
                    }
                    if s.done {
                        return Poll::Ready(None);
                    }
                    let mut s = st.take().expect("checked above");
                    this.0 = ReadDirInner::Busy(unblock(move || {
                        for _ in 0..READ_DIR_BATCH {
                            match s.iter.next() {
                                Some(Ok(e)) => s.batch.push_back(Ok(DirEntry(Arc::new(e)))),
                                Some(Err(e)) => {
                                    let e = wrap("read an entry of", &s.dir, None, e);
                                    s.batch.push_back(Err(e))
                                }
                                None => {
                                    s.done = true;
                                    break;
                                }
                            }
                        }
                        s
                    }));
                }
            }
        }
    }
}

impl fmt::Debug for ReadDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadDir").finish_non_exhaustive()
    }
}

/// An entry of a [`ReadDir`] listing (cheap to clone).
#[derive(Clone)]
pub struct DirEntry(Arc<std::fs::DirEntry>);

impl DirEntry {
    /// The full path: the listed directory joined with [`file_name`](Self::file_name).
    pub fn path(&self) -> PathBuf {
        self.0.path()
    }

    /// The bare file name.
    pub fn file_name(&self) -> OsString {
        self.0.file_name()
    }

    /// Metadata of the entry (not following symlinks). Cancel-safe (read-only).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let e = self.0.clone();
        run(move || {
            e.metadata()
                .map_err(|err| wrap("get metadata of", &e.path(), None, err))
        })
        .await
    }

    /// The entry's file type (usually free on Linux). Cancel-safe (read-only).
    pub async fn file_type(&self) -> io::Result<FileType> {
        let e = self.0.clone();
        run(move || {
            e.file_type()
                .map_err(|err| wrap("get file type of", &e.path(), None, err))
        })
        .await
    }
}

impl fmt::Debug for DirEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("DirEntry").field(&self.0.path()).finish()
    }
}

/// Options and flags for opening a [`File`] (mirror of [`std::fs::OpenOptions`]).
///
/// ```
/// # futures_lite::future::block_on(async {
/// use weft_blocking::fs::OpenOptions;
/// let path = std::env::temp_dir().join(format!("weft-oo-doc-{}", std::process::id()));
/// let f = OpenOptions::new().append(true).create(true).open(&path).await?;
/// drop(f);
/// weft_blocking::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions, open_inline::Access);

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// Options for a Python/C mode string (`"r"`, `"w+"`, `"ab"`, `"x"`; see [`open`]).
    ///
    /// ```
    /// let opts = weft_blocking::fs::OpenOptions::from_mode("r+b")?; // read and write, no create
    /// assert!(weft_blocking::fs::OpenOptions::from_mode("rw").is_err());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn from_mode(mode: &str) -> io::Result<OpenOptions> {
        mode::parse(mode)
    }

    /// All options off (like [`std::fs::OpenOptions::new`]).
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new(), open_inline::Access::default())
    }
    /// Open for reading.
    pub fn read(&mut self, on: bool) -> &mut Self {
        self.0.read(on);
        self.1.read = on;
        self
    }
    /// Open for writing.
    pub fn write(&mut self, on: bool) -> &mut Self {
        self.0.write(on);
        self.1.write = on;
        self
    }
    /// Append to the end (implies write).
    pub fn append(&mut self, on: bool) -> &mut Self {
        self.0.append(on);
        self.1.append = on;
        self
    }
    /// Truncate to 0 bytes on open.
    pub fn truncate(&mut self, on: bool) -> &mut Self {
        self.0.truncate(on);
        self.1.pool_only |= on;
        self
    }
    /// Create the file if missing.
    pub fn create(&mut self, on: bool) -> &mut Self {
        self.0.create(on);
        self.1.pool_only |= on;
        self
    }
    /// Create the file, failing if it exists.
    pub fn create_new(&mut self, on: bool) -> &mut Self {
        self.0.create_new(on);
        self.1.pool_only |= on;
        self
    }
    /// Unix permission bits for a created file.
    #[cfg(unix)]
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.0, mode);
        self
    }
    /// Extra `open(2)` flags (Unix).
    #[cfg(unix)]
    pub fn custom_flags(&mut self, flags: i32) -> &mut Self {
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut self.0, flags);
        self.1.pool_only |= flags != 0;
        self
    }

    /// Opens `path` with these options. Not cancel-safe: if dropped after the open started, the
    /// file may be created and is then closed.
    ///
    /// On Linux, an open that cannot wait (no create or truncate, every path component in the
    /// kernel's lookup cache, a regular file or directory on a local file system, or
    /// `/dev/null`, `/dev/zero`, `/dev/urandom`...) runs on the calling thread with no pool
    /// round trip; everything else (FIFOs, ttys, NFS, FUSE) is opened on the pool.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        if let Some(o) = open_inline::try_open(path.as_ref(), &self.1) {
            // A cached local file (or /dev/zero, ...): opened here, no pool round trip.
            let seekable = o.seekable.then_some(true);
            return Ok(File::with_seekable(o.file, seekable));
        }
        let opts = self.0.clone();
        let f = on_path("open", path.as_ref(), move |p| opts.open(p)).await?;
        Ok(File::from_std(f))
    }
}

/// `Read`/`Write`/`Seek` through a shared `std::fs::File` (they work on `&File`).
struct ArcFile(Arc<std::fs::File>);

impl Read for ArcFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self.0).read(buf)
    }
}
impl Write for ArcFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self.0).write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        (&*self.0).flush()
    }
}
impl Seek for ArcFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        (&*self.0).seek(pos)
    }
}

/// An open file with [`AsyncRead`], [`AsyncBufRead`], [`AsyncWrite`] and [`AsyncSeek`].
///
/// I/O goes through a buffer (see [`Unblock`]) and the position seen by
/// [`seek`](futures_lite::AsyncSeekExt::seek) is always the logical one: where your reads,
/// writes and seeks left it, not where read-ahead left the OS cursor.
///
/// **Reads of cached bytes** (Linux) run on the calling thread: with nothing buffered, a read
/// first tries `preadv2(RWF_NOWAIT)`, which returns what the page cache holds without waiting
/// for the disk (see [`set_inline_reads`](Self::set_inline_reads)); seeks to a known offset are
/// an `lseek` there too. The rest of this paragraph is the pool path, for bytes not cached.
///
/// **Reads** start with one pool job per 8 KiB. While the file is read sequentially (buffers used
/// up by reads, no seek or write in between), fills grow to 128 KiB (and to the caller's buffer
/// size, up to 128 KiB), and from the second such fill on the next buffer is read on the pool while
/// the caller consumes the current one (double buffering), so small sequential reads rarely wait.
/// A seek, write, `set_len`, `try_clone`, `into_std`, EOF or read error ends the streak: the next
/// read is a plain 8 KiB fill. Read-ahead is only done on seekable files (not on pipes, ttys or
/// sockets opened as a `File`, whose reads can wait for a peer), and stops after a short read.
/// On such an unseekable file, a write or a (failing) seek after a partial read keeps the unread
/// input for the next read: input and output are separate streams there. A seek there fails at
/// once with an `io::Error` of kind `NotSeekable` around [`NotSeekable`],
/// even while a read is in flight (which, on a FIFO with no writer, may never end).
/// Read bytes, and EOF or errors, come out in order; the bytes live in the `File`, so a dropped
/// read future loses none. A sequentially read `File` holds two buffers of up to 128 KiB.
///
/// **Writes** are buffered: 8 KiB, doubling up to 128 KiB while the file is written
/// sequentially (a seek starts again at 8 KiB); a write after reads lands at the logical position
/// (unread read-ahead is given back to the OS first). While a full buffer is written on the pool,
/// writes fill more buffers instead of waiting, which the same pool job writes in turn: a
/// sequentially written `File` runs up to 1 MiB ahead of the disk (then waits until half of it
/// is written), so it holds at most 1 MiB + 128 KiB of unwritten bytes; the drop rule below
/// covers them all, and a write error is returned by the next write, flush or close.
///
/// **The drop rule:** bytes written with `write`/`write_all` and not yet flushed are *not lost*
/// when the `File` is dropped: the drop hands them to the blocking pool, which writes them (in
/// order, after any operation still in flight) and then closes the file, as
/// `std::io::BufWriter<std::fs::File>` does on drop. That write happens in the background, so
/// another reader may briefly not see it and its errors are lost: call
/// [`flush`](futures_lite::AsyncWriteExt::flush) (to hand bytes to the OS and see errors) or
/// [`sync_all`](Self::sync_all) (to reach the disk) before dropping when that matters.
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use weft_blocking::fs::File;
/// # futures_lite::future::block_on(async {
/// let path = std::env::temp_dir().join(format!("weft-file-doc-{}", std::process::id()));
/// let mut f = File::create(&path).await?;
/// f.write_all(b"hello").await?;
/// f.flush().await?;
/// let mut s = String::new();
/// File::open(&path).await?.read_to_string(&mut s).await?;
/// assert_eq!(s, "hello");
/// weft_blocking::fs::remove_file(&path).await?;
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct File {
    io: Unblock<ArcFile>,
    file: Arc<std::fs::File>,
}

impl File {
    /// Opens a file read-only. Not cancel-safe (see [`OpenOptions::open`]).
    pub async fn open(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new().read(true).open(path).await
    }

    /// Creates or truncates a file, write-only. Not cancel-safe (see [`OpenOptions::open`]).
    pub async fn create(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .await
    }

    /// Creates a new file read-write, failing if it exists. Not cancel-safe.
    pub async fn create_new(path: impl AsRef<Path>) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await
    }

    /// Same as [`OpenOptions::new`].
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// The file's lines as a [`Stream`] of `io::Result<String>`, without the `\n` (or `\r\n`)
    /// (`async for line in f`; Python keeps the newline). A line that is not UTF-8 is an
    /// `InvalidData` error. Reads go through the file's buffer and read-ahead, so this is as fast
    /// as reading the bytes. To keep the `File`, use `futures_lite::AsyncBufReadExt::lines` on
    /// `&mut file`. The stream is cancel-safe: the bytes of a partial line stay in it.
    ///
    /// ```
    /// use futures_lite::StreamExt;
    /// # futures_lite::future::block_on(async {
    /// let mut lines = weft_blocking::fs::File::open("Cargo.toml").await?.lines();
    /// let first = lines.next().await.unwrap()?;
    /// assert_eq!(first, "[package]");
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    pub fn lines(self) -> futures_lite::io::Lines<File> {
        futures_lite::AsyncBufReadExt::lines(self)
    }

    /// Wraps an open `std::fs::File` (its current position is kept).
    pub fn from_std(file: std::fs::File) -> File {
        File::with_seekable(file, None)
    }

    /// [`from_std`](Self::from_std), with whether the file is seekable when already known
    /// (`None`: ask the OS, one `lseek`).
    fn with_seekable(file: std::fs::File, seekable: Option<bool>) -> File {
        let file = Arc::new(file);
        #[allow(unused_mut)] // only Linux installs the page-cache read
        let mut io = Unblock::new(ArcFile(file.clone())).file_mode();
        #[cfg(target_os = "linux")]
        io.set_nowait(nowait::read);
        // `lseek(fd, 0, SEEK_CUR)` never waits: it fails (ESPIPE) on a pipe, tty or socket.
        let seekable = seekable.unwrap_or_else(|| (&*file).stream_position().is_ok());
        io.set_seekable(seekable);
        if !seekable {
            // Reads and writes are separate streams, and a read there can wait for the peer,
            // so writes get their own side and never wait for it.
            io.split_writes(Box::new(ArcFile(file.clone())), true);
        }
        File { io, file }
    }

    /// Whether reads of bytes the page cache already holds run on the calling thread (on by
    /// default; Linux only, elsewhere this does nothing).
    ///
    /// On Linux a read with nothing buffered first tries `preadv2(RWF_NOWAIT)` on the calling
    /// thread: a read that never waits for the disk, returning what the page cache holds. It
    /// costs one syscall (a fill of 8 KiB up to 128 KiB, like a pool fill) instead of a pool
    /// round trip, so sequential small reads of cached files run at `std::fs` speed. Bytes not
    /// in the cache come from the pool as before (with its read-ahead). The position rules are
    /// the same either way. Turn it off to keep every read off the calling thread (a cached
    /// 128 KiB fill is a ~10 µs copy there).
    ///
    /// ```
    /// use futures_lite::AsyncReadExt;
    /// # futures_lite::future::block_on(async {
    /// let mut f = weft_blocking::fs::File::open("Cargo.toml").await?;
    /// f.set_inline_reads(false); // every fill is a pool job
    /// let mut s = String::new();
    /// f.read_to_string(&mut s).await?;
    /// assert!(s.contains("weft-blocking"));
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    pub fn set_inline_reads(&mut self, on: bool) {
        self.io.set_inline(on);
    }

    /// Writes buffered bytes, moves the OS cursor back over unread read-ahead (seekable files
    /// only), and waits for in-flight work, so the OS file matches the logical state.
    async fn settle(&mut self) -> io::Result<()> {
        self.io.settle().await
    }

    /// Flushes buffered writes, then syncs data and metadata to disk
    /// ([`std::fs::File::sync_all`]). Cancel-safe: if dropped, the sync still completes and no
    /// data is lost.
    pub async fn sync_all(&mut self) -> io::Result<()> {
        futures_lite::AsyncWriteExt::flush(&mut self.io).await?;
        let f = self.file.clone();
        run(move || f.sync_all()).await
    }

    /// Flushes buffered writes, then syncs data to disk ([`std::fs::File::sync_data`]).
    /// Cancel-safe like [`sync_all`](Self::sync_all).
    pub async fn sync_data(&mut self) -> io::Result<()> {
        futures_lite::AsyncWriteExt::flush(&mut self.io).await?;
        let f = self.file.clone();
        run(move || f.sync_data()).await
    }

    /// Truncates or extends the file ([`std::fs::File::set_len`]) after writing buffered bytes;
    /// the position is unchanged. Not cancel-safe: if dropped after it started, the size still
    /// changes.
    pub async fn set_len(&mut self, size: u64) -> io::Result<()> {
        self.settle().await?;
        let f = self.file.clone();
        run(move || f.set_len(size)).await
    }

    /// Reads up to `buf.len()` bytes at `offset` without moving the position (`pread`, like
    /// [`std::os::unix::fs::FileExt::read_at`]); returns how many (0 at end of file). Bytes you
    /// wrote and not yet flushed are written first, so the read sees them; read-ahead is kept
    /// (a positional read does not move the OS cursor). On Linux, bytes in the page cache are
    /// read on the calling thread without blocking (`preadv2(RWF_NOWAIT)`); otherwise one pool
    /// job per call reads into a pool-side buffer that is then copied into `buf`. Cancel-safe (a dropped read changes
    /// nothing; the pending writes it flushed stay written).
    ///
    /// ```
    /// use futures_lite::AsyncWriteExt;
    /// # futures_lite::future::block_on(async {
    /// let mut f = weft_blocking::fs::tempfile().await?;
    /// f.write_all(b"hello world").await?;
    /// let mut buf = [0u8; 5];
    /// assert_eq!(f.read_at(&mut buf, 6).await?, 5);
    /// assert_eq!(&buf, b"world");
    /// f.write_all_at(b"W", 6).await?;
    /// f.read_exact_at(&mut buf, 6).await?;
    /// assert_eq!(&buf, b"World");
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    #[cfg(unix)]
    pub async fn read_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<usize> {
        futures_lite::AsyncWriteExt::flush(&mut self.io).await?;
        #[allow(unused_mut)]
        let mut cached = 0;
        #[cfg(target_os = "linux")]
        if self.io.inline_reads() {
            match nowait::read_at(&self.file, buf, offset) {
                // All of it, or end of file: the page cache had it, no pool trip.
                Ok(n) if n == buf.len() || n == 0 => return Ok(n),
                // Part of it was cached: the pool reads the rest, as `pread` would have.
                Ok(n) => cached = n,
                Err(_) => {} // not cached (or not supported): the pool reads it
            }
        }
        let f = self.file.clone();
        let len = buf.len() - cached;
        let at = offset + cached as u64;
        let read = run(move || {
            let mut data = vec![0u8; len];
            let n = std::os::unix::fs::FileExt::read_at(&*f, &mut data, at)?;
            Ok((n, data))
        })
        .await;
        match read {
            Ok((n, data)) => {
                buf[cached..cached + n].copy_from_slice(&data[..n]);
                Ok(cached + n)
            }
            // Like `pread`: the bytes before an error are a short read, the error comes next.
            Err(_) if cached > 0 => Ok(cached),
            Err(e) => Err(e),
        }
    }

    /// Reads exactly `buf.len()` bytes at `offset` without moving the position (an
    /// `UnexpectedEof` error if the file ends first), in one pool job. Same rules as
    /// [`read_at`](Self::read_at).
    #[cfg(unix)]
    pub async fn read_exact_at(&mut self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        futures_lite::AsyncWriteExt::flush(&mut self.io).await?;
        let f = self.file.clone();
        let len = buf.len();
        let data = run(move || {
            let mut data = vec![0u8; len];
            std::os::unix::fs::FileExt::read_exact_at(&*f, &mut data, offset)?;
            Ok(data)
        })
        .await?;
        buf.copy_from_slice(&data);
        Ok(())
    }

    /// Writes up to `buf.len()` bytes at `offset` without moving the position (`pwrite`, like
    /// [`std::os::unix::fs::FileExt::write_at`]); returns how many. Buffered writes go out
    /// first and read-ahead is dropped (the OS cursor is moved back over it), so later reads
    /// see the new bytes. On Linux, a file opened in append mode appends instead (a `pwrite`
    /// quirk). Not cancel-safe: dropped after the job started, the bytes are still written.
    #[cfg(unix)]
    pub async fn write_at(&mut self, buf: &[u8], offset: u64) -> io::Result<usize> {
        self.settle().await?;
        let f = self.file.clone();
        let data = buf.to_vec();
        run(move || std::os::unix::fs::FileExt::write_at(&*f, &data, offset)).await
    }

    /// Writes all of `buf` at `offset` without moving the position, in one pool job. Same rules
    /// as [`write_at`](Self::write_at).
    #[cfg(unix)]
    pub async fn write_all_at(&mut self, buf: &[u8], offset: u64) -> io::Result<()> {
        self.settle().await?;
        let f = self.file.clone();
        let data = buf.to_vec();
        run(move || std::os::unix::fs::FileExt::write_all_at(&*f, &data, offset)).await
    }

    /// Metadata of the open file (buffered writes not yet flushed are not counted in its size).
    /// Cancel-safe (read-only).
    pub async fn metadata(&self) -> io::Result<Metadata> {
        let f = self.file.clone();
        run(move || f.metadata()).await
    }

    /// Changes the file's permissions. Not cancel-safe (see the module docs).
    pub async fn set_permissions(&self, perm: Permissions) -> io::Result<()> {
        let f = self.file.clone();
        run(move || f.set_permissions(perm)).await
    }

    /// A second handle to the same open file (sharing the OS cursor), after writing buffered
    /// bytes and rewinding read-ahead. Cancel-safe.
    pub async fn try_clone(&mut self) -> io::Result<File> {
        self.settle().await?;
        let f = self.file.clone();
        let clone = run(move || f.try_clone()).await?;
        Ok(File::from_std(clone))
    }

    /// Writes buffered bytes, rewinds read-ahead and returns the `std::fs::File`.
    /// Cancel-safe (dropping the future drops the `File`, which persists buffered bytes).
    pub async fn into_std(mut self) -> io::Result<std::fs::File> {
        self.settle().await?;
        let File { io, file } = self;
        drop(io.into_inner().await);
        match Arc::try_unwrap(file) {
            Ok(f) => Ok(f),
            Err(shared) => run(move || shared.try_clone()).await,
        }
    }
}

impl From<std::fs::File> for File {
    fn from(f: std::fs::File) -> File {
        File::from_std(f)
    }
}

impl fmt::Debug for File {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("File")
            .field("file", &self.file)
            .field("io", &self.io)
            .finish()
    }
}

impl AsyncRead for File {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl AsyncBufRead for File {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().io).poll_fill_buf(cx)
    }
    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.io).consume(amt)
    }
}

impl AsyncWrite for File {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_close(cx)
    }
}

impl AsyncSeek for File {
    fn poll_seek(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        Pin::new(&mut self.io).poll_seek(cx, pos)
    }
}
