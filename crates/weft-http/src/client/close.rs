//! [`weft_reactor::AsyncClose`] for [`Response`]: aiohttp's `await resp.release()` /
//! `async with session.get(..) as resp`.

use std::time::Duration;

use weft_reactor::AsyncClose;

use super::response::{Response, DRAIN_BUDGET};
use crate::error::Error;

/// How long [`Response::close`](AsyncClose::close) waits for the rest of a small body.
pub const CLOSE_DRAIN_TIMEOUT: Duration = Duration::from_secs(1);

impl AsyncClose for Response {
    type Error = Error;

    /// Releases the response by the pool's reuse rules: reads and discards the rest of the body
    /// when it is at most 64 KiB (waiting up to [`CLOSE_DRAIN_TIMEOUT`], and the client's read
    /// timeout, for it to arrive), so the connection goes back to the pool if it may be reused;
    /// a larger, unknown-length-and-long, failing or stalled body closes the connection instead.
    /// Never fails: a connection that cannot be reused is simply closed.
    ///
    /// Unlike dropping the response (which only drains what has already arrived), this waits
    /// for a small body still on its way, so the connection is kept.
    async fn close(mut self) -> Result<(), Error> {
        if self
            .content_length()
            .is_some_and(|n| n > DRAIN_BUDGET as u64)
        {
            return Ok(()); // too big to drain: dropping closes the connection
        }
        let drain = async {
            let mut left = DRAIN_BUDGET;
            while let Ok(Some(chunk)) = self.chunk().await {
                match left.checked_sub(chunk.len()) {
                    Some(l) => left = l,
                    None => break,
                }
            }
        };
        let _ = weft_timer::timeout(CLOSE_DRAIN_TIMEOUT, drain).await;
        Ok(())
    }
}
