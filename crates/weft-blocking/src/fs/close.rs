//! [`weft_reactor::AsyncClose`] for [`File`]: `await f.close()` of aiofiles.

use std::io;

use futures_lite::AsyncWriteExt;
use weft_reactor::AsyncClose;

use super::File;

impl AsyncClose for File {
    type Error = io::Error;

    /// Flushes buffered writes (so their errors are seen, unlike the drop rule's background
    /// write), waits for in-flight work, then closes the file. It does not `fsync`: call
    /// [`File::sync_all`] first when the bytes must reach the disk.
    ///
    /// ```
    /// use futures_lite::AsyncWriteExt;
    /// use weft_reactor::AsyncClose;
    /// # futures_lite::future::block_on(async {
    /// let path = std::env::temp_dir().join(format!("weft-close-doc-{}", std::process::id()));
    /// let mut f = weft_blocking::fs::File::create(&path).await?;
    /// f.write_all(b"kept").await?;
    /// f.close().await?; // flushed: the bytes are there now
    /// assert_eq!(std::fs::read(&path)?, b"kept");
    /// weft_blocking::fs::remove_file(&path).await?;
    /// # std::io::Result::Ok(()) }).unwrap();
    /// ```
    async fn close(mut self) -> io::Result<()> {
        self.flush().await?;
        self.settle().await
    }
}
