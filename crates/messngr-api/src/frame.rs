//! The envelope, made in one place: one JSON value per line, at most
//! [`MAX_LINE`] bytes, and the [`Reply`] every answer is wrapped in.
//!
//! Both ends use these functions — the daemon's server and both clients —
//! so the line format, the size limit and the error a garbled line gets
//! are defined once.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorKind};

/// Longest request line the daemon reads, newline included (a request is a
/// few hundred bytes; a `deliver` of [`crate::MAX_DELIVER_TEXT`] bytes in hex
/// a few tens of KiB).
pub const MAX_LINE: usize = 256 * 1024;

/// Longest reply line a client reads. The daemon keeps a page under
/// [`PAGE_BYTES`]; one message's view is at most a few hundred KiB (a 64 KiB
/// message of control characters, each written `\u0001`, with its raw bytes).
pub const MAX_REPLY_LINE: usize = 16 * 1024 * 1024;

/// What the daemon puts in one page at most (its messages' JSON): a page
/// with more is cut at its oldest messages, which count as older.
pub const PAGE_BYTES: usize = 4 * 1024 * 1024;

/// An answer: `{"ok": T}` or `{"error": {"kind": …, "message": …}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reply<T> {
    /// It worked.
    Ok(T),
    /// It did not.
    Error(ApiError),
}

impl<T> From<Result<T, ApiError>> for Reply<T> {
    fn from(r: Result<T, ApiError>) -> Self {
        match r {
            Ok(t) => Reply::Ok(t),
            Err(e) => Reply::Error(e),
        }
    }
}

impl<T> From<Reply<T>> for Result<T, ApiError> {
    fn from(r: Reply<T>) -> Self {
        match r {
            Reply::Ok(t) => Ok(t),
            Reply::Error(e) => Err(e),
        }
    }
}

/// Why a line could not be read as what was expected.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// Longer than [`MAX_REPLY_LINE`].
    #[error("a line over {MAX_REPLY_LINE} bytes")]
    TooLong,
    /// Not UTF-8 JSON of the expected shape.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
}

impl From<FrameError> for ApiError {
    fn from(e: FrameError) -> Self {
        ApiError::new(
            ErrorKind::BadRequest,
            format!("cannot read the request: {e}"),
        )
    }
}

/// `value` as one line, newline included.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut line = serde_json::to_vec(value).unwrap_or_else(|e| {
        // Only a map with non-string keys fails; none of the API's types
        // has one. Say so rather than send nothing.
        let e = ApiError::new(ErrorKind::BadRequest, format!("cannot encode: {e}"));
        serde_json::to_vec(&Reply::<()>::Error(e)).unwrap_or_default()
    });
    line.push(b'\n');
    line
}

/// Reads one line (without its newline) as a `T`.
pub fn decode<T: DeserializeOwned>(line: &[u8]) -> Result<T, FrameError> {
    if line.len() > MAX_REPLY_LINE {
        return Err(FrameError::TooLong);
    }
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    Ok(serde_json::from_slice(line)?)
}

/// Reads one line of at most `max` bytes into `buf` (cleared first).
/// `Ok(false)`: the other side closed before a line began.
pub fn read_line(
    r: &mut impl std::io::BufRead,
    buf: &mut Vec<u8>,
    max: usize,
) -> Result<bool, ReadError> {
    use std::io::{BufRead, Read};
    buf.clear();
    let n = r.take(max as u64 + 1).read_until(b'\n', buf)?;
    finish(n, buf, max)
}

/// [`read_line`] for tokio readers (the daemon's server, the async client).
#[cfg(feature = "tokio")]
pub async fn read_line_async(
    r: &mut (impl tokio::io::AsyncBufRead + Unpin),
    buf: &mut Vec<u8>,
    max: usize,
) -> Result<bool, ReadError> {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    buf.clear();
    let n = r.take(max as u64 + 1).read_until(b'\n', buf).await?;
    finish(n, buf, max)
}

fn finish(n: usize, buf: &[u8], max: usize) -> Result<bool, ReadError> {
    if n == 0 {
        return Ok(false);
    }
    if buf.last() != Some(&b'\n') {
        return Err(if buf.len() > max {
            ReadError::TooLong
        } else {
            ReadError::Cut
        });
    }
    Ok(true)
}

/// Why no whole line could be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Longer than allowed.
    #[error("a line over the size limit ({MAX_LINE} bytes for a request)")]
    TooLong,
    /// The other side closed in the middle of a line.
    #[error("the connection closed in the middle of a line")]
    Cut,
    /// The socket failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_have_their_documented_form() {
        let ok: Reply<i64> = Reply::Ok(7);
        assert_eq!(encode(&ok), b"{\"ok\":7}\n");
        let err: Reply<i64> = Reply::Error(ApiError::new(ErrorKind::NotFound, "no message 9"));
        assert_eq!(
            String::from_utf8(encode(&err)).unwrap(),
            "{\"error\":{\"kind\":\"not_found\",\"message\":\"no message 9\"}}\n"
        );
        let back: Reply<i64> = decode(b"{\"ok\":7}\n").unwrap();
        assert_eq!(Result::from(back).ok(), Some(7));
    }

    #[test]
    fn a_line_is_limited_and_must_be_whole() {
        let mut buf = Vec::new();
        let mut long = vec![b'x'; MAX_LINE + 10];
        long.push(b'\n');
        assert!(matches!(
            read_line(&mut &long[..], &mut buf, MAX_LINE),
            Err(ReadError::TooLong)
        ));
        assert!(read_line(&mut &long[..], &mut buf, MAX_REPLY_LINE).unwrap());
        assert!(matches!(
            read_line(&mut &b"{\"ok\":1}"[..], &mut buf, MAX_LINE),
            Err(ReadError::Cut)
        ));
        assert!(!read_line(&mut &b""[..], &mut buf, MAX_LINE).unwrap());
        assert!(read_line(&mut &b"{}\n{}\n"[..], &mut buf, MAX_LINE).unwrap());
        assert_eq!(buf, b"{}\n");
        assert!(matches!(
            decode::<Reply<i64>>(&vec![b' '; MAX_REPLY_LINE + 1]),
            Err(FrameError::TooLong)
        ));
    }
}
