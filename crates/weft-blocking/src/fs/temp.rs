//! Temporary files and directories, removed when dropped (`aiofiles.tempfile`, Python's
//! `tempfile`): [`tempfile`], [`NamedTempFile`], [`TempDir`].

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncSeek, AsyncWrite};

use super::{on_path, File};
use crate::BlockingPool;

/// Name prefix of everything created here.
const PREFIX: &str = "weft-tmp-";
/// Attempts at finding an unused name before giving up.
const ATTEMPTS: u32 = 100;

/// A fresh name: random (std's `RandomState` keys), a per-process counter and the time.
fn unique_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    format!("{PREFIX}{:016x}", h.finish())
}

/// Runs `create(dir/unique name)` until it does not fail with `AlreadyExists` (on a pool thread).
fn create_unique<T>(
    dir: &Path,
    create: impl Fn(&Path) -> io::Result<T>,
) -> io::Result<(PathBuf, T)> {
    for _ in 0..ATTEMPTS {
        let path = dir.join(unique_name());
        match create(&path) {
            Ok(v) => return Ok((path, v)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no unused temporary name found in {ATTEMPTS} attempts"),
    ))
}

fn new_file_options() -> std::fs::OpenOptions {
    let mut o = std::fs::OpenOptions::new();
    o.read(true).write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o
}

/// Removes a path when dropped: on a pool thread in the background, or, if the pool refuses
/// the job (shut down, no thread), right where the job is dropped. So nothing leaks.
struct Remove {
    path: PathBuf,
    dir: bool,
}

impl Drop for Remove {
    fn drop(&mut self) {
        let _ = if self.dir {
            std::fs::remove_dir_all(&self.path)
        } else {
            std::fs::remove_file(&self.path)
        };
    }
}

fn remove_in_background(r: Remove) {
    BlockingPool::global().run(move || drop(r)).detach();
}

/// Creates an anonymous temporary file in [`std::env::temp_dir`], open for reading and writing
/// (`aiofiles.tempfile.TemporaryFile`). It has no name you can open again: on Unix it is
/// unlinked right after creation, on Windows it is deleted when closed, so it disappears when
/// the [`File`] is dropped, even if the process crashes (Unix).
///
/// Not cancel-safe: dropped after the job started, the file is created and then closed (and so
/// removed).
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// # futures_lite::future::block_on(async {
/// let mut f = weft_blocking::fs::tempfile().await?;
/// f.write_all(b"scratch").await?;
/// f.seek(std::io::SeekFrom::Start(0)).await?;
/// let mut s = String::new();
/// f.read_to_string(&mut s).await?;
/// assert_eq!(s, "scratch");
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub async fn tempfile() -> io::Result<File> {
    tempfile_in(std::env::temp_dir()).await
}

/// [`tempfile`] in the directory `dir`.
pub async fn tempfile_in(dir: impl AsRef<Path>) -> io::Result<File> {
    let f = on_path("create a temporary file in", dir.as_ref(), |dir| {
        #[cfg_attr(not(windows), allow(unused_mut))]
        let mut o = new_file_options();
        #[cfg(windows)]
        std::os::windows::fs::OpenOptionsExt::custom_flags(&mut o, 0x0400_0000); // DELETE_ON_CLOSE
        let (_path, f) = create_unique(dir, |p| o.open(p))?;
        #[cfg(unix)]
        std::fs::remove_file(&_path)?;
        Ok(f)
    })
    .await?;
    Ok(File::from_std(f))
}

/// A temporary file with a name ([`path`](Self::path)), removed when dropped
/// (`aiofiles.tempfile.NamedTemporaryFile`). It is a [`File`] (`AsyncRead`, `AsyncBufRead`,
/// `AsyncWrite`, `AsyncSeek`), created with mode `0o600` on Unix.
///
/// **Removal:** dropping it closes the file (buffered writes are written, as for [`File`]) and
/// removes the path on the blocking pool in the background; [`close`](Self::close) does the
/// same and waits, reporting errors; [`keep`](Self::keep) keeps the file.
///
/// ```
/// use futures_lite::AsyncWriteExt;
/// use weft_blocking::fs::{self, NamedTempFile};
/// # futures_lite::future::block_on(async {
/// let mut f = NamedTempFile::new().await?;
/// f.write_all(b"config").await?;
/// f.flush().await?;
/// assert_eq!(fs::read(f.path()).await?, b"config");
/// let path = f.path().to_owned();
/// f.close().await?;
/// assert!(!fs::exists(&path).await);
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct NamedTempFile {
    /// `None` only after `keep`/`close` took it.
    file: Option<File>,
    path: Option<PathBuf>,
}

impl NamedTempFile {
    /// Creates a new named temporary file in [`std::env::temp_dir`]. Not cancel-safe: if
    /// dropped after the job started, the file is created and stays (a leftover in the temp
    /// directory).
    pub async fn new() -> io::Result<NamedTempFile> {
        NamedTempFile::new_in(std::env::temp_dir()).await
    }

    /// [`new`](Self::new) in the directory `dir`.
    pub async fn new_in(dir: impl AsRef<Path>) -> io::Result<NamedTempFile> {
        let (path, f) = on_path("create a temporary file in", dir.as_ref(), |dir| {
            let o = new_file_options();
            create_unique(dir, |p| o.open(p))
        })
        .await?;
        Ok(NamedTempFile {
            file: Some(File::from_std(f)),
            path: Some(path),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        self.path.as_deref().expect("NamedTempFile: path taken")
    }

    /// The open file.
    pub fn as_file(&self) -> &File {
        self.file.as_ref().expect("NamedTempFile: file taken")
    }

    /// The open file, mutably.
    pub fn as_file_mut(&mut self) -> &mut File {
        self.file.as_mut().expect("NamedTempFile: file taken")
    }

    /// Keeps the file: returns it and its path, and nothing is removed.
    pub fn keep(mut self) -> (File, PathBuf) {
        let file = self.file.take().expect("NamedTempFile: file taken");
        let path = self.path.take().expect("NamedTempFile: path taken");
        (file, path)
    }

    /// Flushes and closes the file, then removes it, reporting errors (dropping does the same
    /// in the background and ignores them). Not cancel-safe: dropped midway, the removal still
    /// happens in the background.
    pub async fn close(mut self) -> io::Result<()> {
        let mut file = self.file.take().expect("NamedTempFile: file taken");
        let flushed = futures_lite::AsyncWriteExt::flush(&mut file).await;
        drop(file);
        let path = self.path.take().expect("NamedTempFile: path taken");
        let removed = on_path("remove temporary file", &path, |p| std::fs::remove_file(p)).await;
        flushed.and(removed)
    }

    fn pin_file(self: Pin<&mut Self>) -> Pin<&mut File> {
        Pin::new(self.get_mut().as_file_mut())
    }
}

impl Drop for NamedTempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            remove_in_background(Remove { path, dir: false });
        }
    }
}

impl fmt::Debug for NamedTempFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamedTempFile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl AsyncRead for NamedTempFile {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.pin_file().poll_read(cx, buf)
    }
}

impl AsyncBufRead for NamedTempFile {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.pin_file().poll_fill_buf(cx)
    }
    fn consume(self: Pin<&mut Self>, amt: usize) {
        self.pin_file().consume(amt)
    }
}

impl AsyncWrite for NamedTempFile {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.pin_file().poll_write(cx, buf)
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.pin_file().poll_flush(cx)
    }
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.pin_file().poll_close(cx)
    }
}

impl AsyncSeek for NamedTempFile {
    fn poll_seek(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        pos: SeekFrom,
    ) -> Poll<io::Result<u64>> {
        self.pin_file().poll_seek(cx, pos)
    }
}

/// A temporary directory, removed with everything in it when dropped
/// (`aiofiles.tempfile.TemporaryDirectory`). Created with mode `0o700` on Unix.
///
/// Dropping it removes the directory on the blocking pool in the background;
/// [`close`](Self::close) removes it and waits, reporting errors; [`keep`](Self::keep) keeps it.
///
/// ```
/// use weft_blocking::fs::{self, TempDir};
/// # futures_lite::future::block_on(async {
/// let dir = TempDir::new().await?;
/// fs::write(dir.path().join("a.txt"), "a").await?;
/// assert!(fs::is_file(dir.path().join("a.txt")).await);
/// let path = dir.path().to_owned();
/// dir.close().await?;
/// assert!(!fs::exists(&path).await);
/// # std::io::Result::Ok(()) }).unwrap();
/// ```
pub struct TempDir {
    path: Option<PathBuf>,
}

/// Creates a new temporary directory in [`std::env::temp_dir`] (same as [`TempDir::new`]).
pub async fn tempdir() -> io::Result<TempDir> {
    TempDir::new().await
}

impl TempDir {
    /// Creates a new temporary directory in [`std::env::temp_dir`]. Not cancel-safe: if dropped
    /// after the job started, the directory is created and stays.
    pub async fn new() -> io::Result<TempDir> {
        TempDir::new_in(std::env::temp_dir()).await
    }

    /// [`new`](Self::new) in the directory `dir`.
    pub async fn new_in(dir: impl AsRef<Path>) -> io::Result<TempDir> {
        let (path, ()) = on_path("create a temporary directory in", dir.as_ref(), |dir| {
            let mut b = std::fs::DirBuilder::new();
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            create_unique(dir, |p| b.create(p))
        })
        .await?;
        Ok(TempDir { path: Some(path) })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        self.path.as_deref().expect("TempDir: path taken")
    }

    /// Keeps the directory: returns its path, and nothing is removed.
    pub fn keep(mut self) -> PathBuf {
        self.path.take().expect("TempDir: path taken")
    }

    /// Removes the directory and everything in it, reporting errors (dropping does the same in
    /// the background and ignores them). Not cancel-safe: dropped after the job started, the
    /// removal still completes.
    pub async fn close(mut self) -> io::Result<()> {
        let path = self.path.take().expect("TempDir: path taken");
        on_path("remove temporary directory", &path, |p| {
            std::fs::remove_dir_all(p)
        })
        .await
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            remove_in_background(Remove { path, dir: true });
        }
    }
}

impl fmt::Debug for TempDir {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TempDir").field(&self.path).finish()
    }
}
