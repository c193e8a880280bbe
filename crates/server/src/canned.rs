//! The answers hyper writes by itself, before any of our code runs — 414
//! for a URL over 64 KiB, 431 for oversized headers, 400 for a request line
//! that does not parse — are an empty body. This wrapper around each
//! connection recognises them on the way out and writes the same status
//! with our JSON `{"error", "message"}` body instead.
//!
//! Recognising is safe because every error answer our router makes carries
//! a `content-type` (the last-resort layer in `api.rs` sees to it): an
//! error head without one can only be hyper's own.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use clickledger_domain::ErrorCode;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct JsonCanned<IO> {
    io: IO,
    /// A rewritten answer still to be written, and how much of it is.
    pending: Vec<u8>,
    written: usize,
}

impl<IO> JsonCanned<IO> {
    pub fn new(io: IO) -> Self {
        JsonCanned {
            io,
            pending: Vec::new(),
            written: 0,
        }
    }
}

/// The JSON answer replacing `head`, if `head` is one of hyper's own.
pub fn rewrite(head: &[u8]) -> Option<Vec<u8>> {
    if !(head.starts_with(b"HTTP/1.1 4") || head.starts_with(b"HTTP/1.0 4")) {
        return None;
    }
    let end = head.windows(4).position(|w| w == b"\r\n\r\n")?;
    if end + 4 != head.len() {
        return None; // a body follows: not a canned answer
    }
    let text = std::str::from_utf8(&head[..end]).ok()?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let status: u16 = status_line.get(9..12)?.parse().ok()?;
    let mut kept = Vec::new();
    for line in lines {
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        match name.as_str() {
            "content-type" | "transfer-encoding" => return None,
            "content-length" if line.split(':').nth(1).map(str::trim) != Some("0") => return None,
            "content-length" | "connection" => {}
            _ => kept.push(line),
        }
    }
    let code = ErrorCode::for_status(status);
    let message = match status {
        414 => "the URL is longer than 64 KiB, the most the tracker reads; send fewer or shorter parameters",
        431 => "the request headers are too large",
        _ => "the request line or headers do not parse as HTTP/1.1",
    };
    let body = crate::api::ApiError::new(code, message).body().to_string();
    let mut out = format!("{status_line}\r\n");
    for line in kept {
        out.push_str(line);
        out.push_str("\r\n");
    }
    out.push_str(&format!(
        "content-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ));
    Some(out.into_bytes())
}

impl<IO: AsyncWrite + Unpin> JsonCanned<IO> {
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.pending.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.pending[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.written += n;
        }
        self.pending.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for JsonCanned<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for JsonCanned<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        if let Some(replacement) = rewrite(buf) {
            // taken whole: the replacement is ours to write from here
            self.pending = replacement;
            let _ = self.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_pending(cx))?;
        // A canned answer is a head alone, in one slice. Every answer passes
        // here (redirects included), so the check allocates nothing.
        let mut filled = bufs.iter().filter(|b| !b.is_empty());
        if let (Some(only), None) = (filled.next(), filled.next()) {
            if let Some(replacement) = rewrite(only) {
                self.pending = replacement;
                let _ = self.poll_pending(cx)?;
                return Poll::Ready(Ok(only.len()));
            }
        }
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_hyper_heads_are_rewritten() {
        let canned = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: Tue, 01 Dec 2026 18:00:00 GMT\r\n\r\n";
        let out = String::from_utf8(rewrite(canned).unwrap()).unwrap();
        assert!(
            out.starts_with("HTTP/1.1 414 URI Too Long\r\ndate: "),
            "{out}"
        );
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        assert!(head.contains("content-type: application/json"));
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["error"], "uri_too_long");
        assert!(v["message"].as_str().unwrap().contains("64 KiB"));
        // ours: typed, or with a body, or not an error
        for ours in [
            &b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}",
            b"HTTP/1.1 302 Found\r\nlocation: https://a.example/\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 400 Bad Request\r\ncontent-length: 7\r\n\r\n",
        ] {
            assert!(rewrite(ours).is_none(), "{}", String::from_utf8_lossy(ours));
        }
    }
}
