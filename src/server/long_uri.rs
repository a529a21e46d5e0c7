//! Request URIs longer than the Rust HTTP stack can hold, answered with a
//! `Status` instead of a reset stream.
//!
//! The `http` crate (and so hyper, h2 and axum) keeps a URI in at most
//! 65,534 bytes (`http::uri::MAX_LEN`); Go API servers take request lines up
//! to their 1 MiB header limit. A longer URI — in practice a very long label
//! selector — makes hyper answer HTTP/1 with a bare 414 and h2 reset the
//! stream with `PROTOCOL_ERROR`, which the aggregator reports as its own 503.
//!
//! [`LongUri`] sits between TLS and hyper and rewrites only such requests:
//! the request target (HTTP/1 request line, or the HTTP/2 `:path` field) is
//! replaced with [`MARKER`]`<length>`, which the server answers with a 414
//! `Status` naming the length and the limit. Everything else passes through
//! untouched: HTTP/1 is followed line by line (request line, headers, a
//! `Content-Length` body; a chunked body ends the watching), HTTP/2 frame by
//! frame, and only HEADERS + CONTINUATION blocks are read (RFC 9113 §6.2,
//! §6.10).
//!
//! HTTP/2 header blocks are HPACK-compressed against a dynamic table that
//! the client's encoder and h2's decoder keep in step (RFC 7541 §2.3). The
//! rewrite keeps the field's representation, so the two tables stay equal:
//! a literal *without* indexing gets the short marker; a literal *with*
//! incremental indexing gets a marker padded past 4,096 bytes, so that, like
//! the original (larger than any table h2 allows here), it empties the table
//! and is not inserted (RFC 7541 §4.4). A `:path` named through the dynamic
//! table, which no common encoder does for `:path`, is left to h2.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Longest URI the `http` crate takes (`http::uri::MAX_LEN`).
pub const MAX_URI: usize = u16::MAX as usize - 1;
/// The path a too-long target is replaced with; its length follows.
pub const MARKER: &str = "/__qma/uri-too-long/";
/// Most bytes of one request line or header block held while looking at it;
/// past that the connection is passed through (the transport then refuses).
const HOLD_LIMIT: usize = super::TRANSPORT_HEADER_LIMIT + 64 * 1024;
/// Frame payload size every HTTP/2 peer accepts (SETTINGS_MAX_FRAME_SIZE's
/// initial value, which the server does not raise).
const MAX_FRAME: usize = 16_384;
/// h2's HPACK table size (SETTINGS_HEADER_TABLE_SIZE as the server
/// advertises it: the default); a padded marker is longer.
const TABLE_SIZE: usize = 4_096;
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

const HEADERS: u8 = 0x1;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;
const PADDED: u8 = 0x8;
const PRIORITY: u8 = 0x20;

/// A server-side stream that rewrites too-long request targets (see the module docs).
pub struct LongUri<S> {
    inner: S,
    /// Read from `inner`, not yet looked at.
    input: BytesMut,
    /// Looked at, waiting for the reader.
    output: VecDeque<Bytes>,
    mode: Mode,
    eof: bool,
    /// How much of `input` is known to hold no line end (HTTP/1), so that a
    /// line arriving a byte at a time is not searched again from its start.
    scanned: usize,
    /// Where reads from `inner` land.
    scratch: Box<[u8]>,
}

enum Mode {
    /// Not yet known whether this is HTTP/2 (the preface) or HTTP/1.
    Detect,
    /// HTTP/1: what comes next.
    H1(H1),
    /// HTTP/2 after the preface.
    H2 {
        /// Payload bytes of a frame being passed through.
        pass: usize,
        /// Frames of a header block waiting for END_HEADERS.
        block: Vec<Bytes>,
        /// Their payload bytes.
        held: usize,
    },
    /// Nothing more to look at.
    Through,
}

#[derive(Clone, Copy)]
enum H1 {
    RequestLine,
    Headers { length: u64, chunked: bool },
    Body(u64),
}

impl<S> LongUri<S> {
    /// Wraps the server side of a connection.
    pub fn new(inner: S) -> LongUri<S> {
        LongUri {
            inner,
            input: BytesMut::new(),
            output: VecDeque::new(),
            mode: Mode::Detect,
            eof: false,
            scanned: 0,
            scratch: vec![0; 16 * 1024].into_boxed_slice(),
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    fn emit(&mut self, n: usize) {
        if n > 0 {
            self.output.push_back(self.input.split_to(n).freeze());
        }
    }

    /// Moves what can be decided from `input` to `output`.
    fn process(&mut self) {
        loop {
            let progressed = match self.mode {
                Mode::Through => {
                    let n = self.input.len();
                    self.emit(n);
                    false
                }
                Mode::Detect => self.detect(),
                Mode::H1(state) => self.h1(state),
                Mode::H2 { .. } => self.h2(),
            };
            if !progressed || self.input.is_empty() {
                return;
            }
        }
    }

    fn detect(&mut self) -> bool {
        let n = self.input.len().min(PREFACE.len());
        if self.input[..n] != PREFACE[..n] {
            self.mode = Mode::H1(H1::RequestLine);
            return true;
        }
        if n < PREFACE.len() {
            return false;
        }
        self.emit(PREFACE.len());
        self.mode = Mode::H2 {
            pass: 0,
            block: Vec::new(),
            held: 0,
        };
        true
    }

    fn h1(&mut self, state: H1) -> bool {
        if let H1::Body(left) = state {
            let n = (self.input.len() as u64).min(left) as usize;
            self.emit(n);
            self.mode = Mode::H1(if left == n as u64 {
                H1::RequestLine
            } else {
                H1::Body(left - n as u64)
            });
            return n > 0;
        }
        let Some(end) = self.input[self.scanned..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| i + self.scanned)
        else {
            self.scanned = self.input.len();
            if self.input.len() > HOLD_LIMIT {
                self.mode = Mode::Through;
                return true;
            }
            return false;
        };
        self.scanned = 0;
        let line = &self.input[..=end];
        let next = match state {
            H1::RequestLine => {
                if let Some(rewritten) = h1_request_line(line) {
                    self.input.advance(end + 1);
                    self.output.push_back(rewritten);
                    self.mode = Mode::H1(H1::Headers {
                        length: 0,
                        chunked: false,
                    });
                    return true;
                }
                // Blank lines before a request are ignored by parsers.
                if line.iter().all(|b| b.is_ascii_whitespace()) {
                    H1::RequestLine
                } else {
                    H1::Headers {
                        length: 0,
                        chunked: false,
                    }
                }
            }
            H1::Headers { length, chunked } => {
                if line == b"\r\n" || line == b"\n" {
                    match (chunked, length) {
                        (true, _) => {
                            self.emit(end + 1);
                            self.mode = Mode::Through;
                            return true;
                        }
                        (false, 0) => H1::RequestLine,
                        (false, n) => H1::Body(n),
                    }
                } else {
                    let (length, chunked) = h1_header(line, length, chunked);
                    H1::Headers { length, chunked }
                }
            }
            H1::Body(_) => unreachable!("handled above"),
        };
        self.emit(end + 1);
        self.mode = Mode::H1(next);
        true
    }

    fn h2(&mut self) -> bool {
        let Mode::H2 { pass, block, held } = &mut self.mode else {
            return false;
        };
        if *pass > 0 {
            let n = (*pass).min(self.input.len());
            *pass -= n;
            self.emit(n);
            return n > 0;
        }
        if self.input.len() < 9 {
            return false;
        }
        let len = usize::from(self.input[0]) << 16
            | usize::from(self.input[1]) << 8
            | usize::from(self.input[2]);
        let ty = self.input[3];
        let flags = self.input[4];
        let in_block = !block.is_empty();
        let header_frame = (!in_block && ty == HEADERS) || (in_block && ty == CONTINUATION);
        if !header_frame {
            if in_block {
                // Not what RFC 9113 §6.10 allows: let h2 see it as sent.
                let frames = std::mem::take(block);
                self.output.extend(frames);
            }
            *pass = len;
            self.emit(9);
            return true;
        }
        if *held + len > HOLD_LIMIT {
            let frames = std::mem::take(block);
            self.output.extend(frames);
            self.mode = Mode::Through;
            return true;
        }
        if self.input.len() < 9 + len {
            return false;
        }
        *held += len;
        block.push(self.input.split_to(9 + len).freeze());
        if flags & END_HEADERS != 0 {
            let frames = std::mem::take(block);
            *held = 0;
            match h2_rewrite(&frames) {
                Some(rewritten) => self.output.extend(rewritten),
                None => self.output.extend(frames),
            }
        }
        true
    }
}

/// The request line with a too-long target replaced, if it has one.
fn h1_request_line(line: &[u8]) -> Option<Bytes> {
    if line.len() <= MAX_URI {
        return None;
    }
    let text = line.strip_suffix(b"\n")?;
    let text = text.strip_suffix(b"\r").unwrap_or(text);
    let first = text.iter().position(|&b| b == b' ')?;
    let last = text.iter().rposition(|&b| b == b' ')?;
    let target = text.get(first + 1..last)?;
    if target.len() <= MAX_URI {
        return None;
    }
    let mut out = Vec::with_capacity(first + 64 + text.len() - last);
    out.extend_from_slice(&text[..=first]);
    out.extend_from_slice(format!("{MARKER}{}", target.len()).as_bytes());
    out.extend_from_slice(&text[last..]);
    out.extend_from_slice(b"\r\n");
    Some(Bytes::from(out))
}

/// Notes `Content-Length` and `Transfer-Encoding` from a header line.
fn h1_header(line: &[u8], length: u64, chunked: bool) -> (u64, bool) {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return (length, chunked);
    };
    let name = &line[..colon];
    let value = String::from_utf8_lossy(&line[colon + 1..]);
    let value = value.trim();
    if name.eq_ignore_ascii_case(b"content-length") {
        // An unparsable length is hyper's to refuse; stop counting then.
        return (value.parse().unwrap_or(u64::MAX), chunked);
    }
    if name.eq_ignore_ascii_case(b"transfer-encoding") {
        return (length, true);
    }
    (length, chunked)
}

/// The frames of a header block with a too-long `:path` replaced, if it has one.
fn h2_rewrite(frames: &[Bytes]) -> Option<Vec<Bytes>> {
    let first = frames.first()?;
    let flags = first[4];
    let stream = &first[5..9];
    let mut payload = &first[9..];
    let mut pad = 0;
    if flags & PADDED != 0 {
        pad = usize::from(*payload.first()?);
        payload = &payload[1..];
    }
    let priority = if flags & PRIORITY != 0 {
        let p = payload.get(..5)?;
        payload = &payload[5..];
        Some(p)
    } else {
        None
    };
    let payload = payload.get(..payload.len().checked_sub(pad)?)?;
    // One frame (every ordinary request) is walked where it lies.
    let fragment: std::borrow::Cow<'_, [u8]> = if frames.len() == 1 {
        payload.into()
    } else {
        let mut all = payload.to_vec();
        for f in &frames[1..] {
            all.extend_from_slice(&f[9..]);
        }
        all.into()
    };
    let path = find_long_path(&fragment)?;
    let mut value = format!("{MARKER}{}", path.length);
    if path.indexed {
        value.push_str("?pad=");
        while value.len() <= TABLE_SIZE {
            value.push('x');
        }
    }
    let mut block = fragment[..path.start].to_vec();
    hpack_string(&mut block, value.as_bytes());
    block.extend_from_slice(&fragment[path.end..]);

    let mut out = Vec::new();
    let mut chunks = block.chunks(MAX_FRAME - 5).peekable();
    let mut head = true;
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        let (ty, mut f) = if head {
            (HEADERS, flags & (END_STREAM | PRIORITY))
        } else {
            (CONTINUATION, 0)
        };
        if last {
            f |= END_HEADERS;
        }
        let prio: &[u8] = if head { priority.unwrap_or(&[]) } else { &[] };
        let len = prio.len() + chunk.len();
        let mut frame = Vec::with_capacity(9 + len);
        frame.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        frame.push(ty);
        frame.push(f);
        frame.extend_from_slice(stream);
        frame.extend_from_slice(prio);
        frame.extend_from_slice(chunk);
        out.push(Bytes::from(frame));
        head = false;
    }
    Some(out)
}

/// Where a too-long `:path` value sits in a header block.
#[derive(Debug, PartialEq, Eq)]
struct LongPath {
    /// First byte of the value's string representation (its length prefix).
    start: usize,
    /// One past its last byte.
    end: usize,
    /// Decoded length of the value.
    length: usize,
    /// Whether the field is a literal with incremental indexing.
    indexed: bool,
}

/// `:path` Huffman-coded (RFC 7541 Appendix B: 29 bits and 3 of EOS padding).
const PATH_HUFFMAN: [u8; 4] = [0xb9, 0x58, 0xd3, 0x3f];

/// Walks an HPACK block (RFC 7541 §6) for a `:path` literal whose value
/// is longer than [`MAX_URI`]. `None` when there is none or the block is
/// malformed (h2 will say so).
fn find_long_path(b: &[u8]) -> Option<LongPath> {
    let mut i = 0;
    while i < b.len() {
        let first = b[i];
        let (prefix, indexed) = match first {
            f if f & 0x80 != 0 => {
                i = hpack_int(b, i, 7)?.1;
                continue;
            }
            f if f & 0xc0 == 0x40 => (6, true),
            f if f & 0xe0 == 0x20 => {
                i = hpack_int(b, i, 5)?.1;
                continue;
            }
            _ => (4, false),
        };
        let (name_index, next) = hpack_int(b, i, prefix)?;
        i = next;
        let is_path = if name_index == 0 {
            let (huffman, name, next) = hpack_str(b, i)?;
            i = next;
            name == if huffman { &PATH_HUFFMAN[..] } else { b":path" }
        } else {
            // Static table entries 4 and 5 are `:path` (RFC 7541 Appendix A).
            name_index == 4 || name_index == 5
        };
        let start = i;
        let (huffman, value, end) = hpack_str(b, i)?;
        i = end;
        if !is_path {
            continue;
        }
        // A Huffman code is 5 to 30 bits a byte: decode only what could be long.
        let length = if !huffman {
            value.len()
        } else if value.len() * 8 / 5 <= MAX_URI {
            continue;
        } else {
            loona_hpack::huffman::HuffmanDecoder::new()
                .decode(value)
                .ok()?
                .len()
        };
        if length > MAX_URI {
            return Some(LongPath {
                start,
                end,
                length,
                indexed,
            });
        }
    }
    None
}

/// An HPACK integer with an `n`-bit prefix at `b[i]`: (value, next index).
fn hpack_int(b: &[u8], mut i: usize, n: u32) -> Option<(usize, usize)> {
    let max = (1usize << n) - 1;
    let mut v = usize::from(*b.get(i)?) & max;
    i += 1;
    if v < max {
        return Some((v, i));
    }
    let mut shift = 0;
    loop {
        let byte = *b.get(i)?;
        i += 1;
        v = v.checked_add(usize::from(byte & 0x7f).checked_shl(shift)?)?;
        if byte & 0x80 == 0 || shift > 28 {
            return (byte & 0x80 == 0).then_some((v, i));
        }
        shift += 7;
    }
}

/// An HPACK string at `b[i]`: (Huffman-coded, bytes, next index).
fn hpack_str(b: &[u8], i: usize) -> Option<(bool, &[u8], usize)> {
    let huffman = *b.get(i)? & 0x80 != 0;
    let (len, start) = hpack_int(b, i, 7)?;
    let end = start.checked_add(len)?;
    Some((huffman, b.get(start..end)?, end))
}

/// Appends `s` as a plain (not Huffman-coded) HPACK string.
fn hpack_string(out: &mut Vec<u8>, s: &[u8]) {
    let mut len = s.len();
    if len < 127 {
        out.push(len as u8);
    } else {
        out.push(127);
        len -= 127;
        while len >= 128 {
            out.push((len % 128) as u8 | 0x80);
            len /= 128;
        }
        out.push(len as u8);
    }
    out.extend_from_slice(s);
}

impl<S: AsyncRead + Unpin> AsyncRead for LongUri<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if let Some(chunk) = this.output.front_mut() {
                let n = chunk.len().min(buf.remaining());
                buf.put_slice(&chunk[..n]);
                chunk.advance(n);
                if chunk.is_empty() {
                    this.output.pop_front();
                }
                return Poll::Ready(Ok(()));
            }
            if this.eof {
                // Whatever is held at the end goes as it came.
                let n = this.input.len();
                this.emit(n);
                if this.output.is_empty() {
                    return Poll::Ready(Ok(()));
                }
                continue;
            }
            if this.input.is_empty() && matches!(this.mode, Mode::Through) {
                // Nothing more to look at: read straight into the caller's buffer.
                return Pin::new(&mut this.inner).poll_read(cx, buf);
            }
            let mut rb = ReadBuf::new(&mut this.scratch);
            match Pin::new(&mut this.inner).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    if rb.filled().is_empty() {
                        this.eof = true;
                        continue;
                    }
                    this.input.extend_from_slice(rb.filled());
                    this.process();
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for LongUri<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests;
