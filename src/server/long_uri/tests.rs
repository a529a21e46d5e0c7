use super::*;
use tokio::io::AsyncReadExt;

/// Hands out at most `step` bytes per read, to exercise every split.
struct Trickle<'a> {
    data: &'a [u8],
    step: usize,
}

impl AsyncRead for Trickle<'_> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self.step.min(self.data.len()).min(buf.remaining());
        buf.put_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Poll::Ready(Ok(()))
    }
}

async fn through(data: &[u8], step: usize) -> Vec<u8> {
    let mut out = Vec::new();
    LongUri::new(Trickle { data, step })
        .read_to_end(&mut out)
        .await
        .unwrap();
    out
}

fn frame(ty: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    f.push(ty);
    f.push(flags);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A header block as frames of at most `max` payload bytes.
fn frames(block: &[u8], stream: u32, end_stream: bool, max: usize) -> Vec<u8> {
    let chunks: Vec<_> = block.chunks(max).collect();
    let mut out = Vec::new();
    for (i, c) in chunks.iter().enumerate() {
        let mut flags = if i + 1 == chunks.len() {
            END_HEADERS
        } else {
            0
        };
        if i == 0 && end_stream {
            flags |= END_STREAM;
        }
        out.extend(frame(
            if i == 0 { HEADERS } else { CONTINUATION },
            flags,
            stream,
            c,
        ));
    }
    out
}

/// Splits an HTTP/2 byte stream after the preface into (type, flags, stream, payload).
fn parse(mut b: &[u8]) -> Vec<(u8, u8, u32, Vec<u8>)> {
    assert!(b.starts_with(PREFACE));
    b = &b[PREFACE.len()..];
    let mut out = Vec::new();
    while !b.is_empty() {
        let len = usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]);
        let stream = u32::from_be_bytes([b[5], b[6], b[7], b[8]]);
        assert!(len <= MAX_FRAME, "frame of {len} bytes");
        out.push((b[3], b[4], stream, b[9..9 + len].to_vec()));
        b = &b[9 + len..];
    }
    out
}

/// The decoded header lists of every block in an HTTP/2 byte stream.
fn decode_all(b: &[u8]) -> Vec<Vec<(String, String)>> {
    let mut dec = loona_hpack::Decoder::new();
    let mut lists = Vec::new();
    let mut block = Vec::new();
    for (ty, flags, _, payload) in parse(b) {
        if ty == HEADERS || ty == CONTINUATION {
            block.extend(payload);
            if flags & END_HEADERS != 0 {
                let list = dec.decode(&block).unwrap();
                lists.push(
                    list.into_iter()
                        .map(|(n, v)| {
                            (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap())
                        })
                        .collect(),
                );
                block.clear();
            }
        }
    }
    lists
}

fn long_path(n: usize) -> String {
    let mut p = String::from(
        "/apis/external.metrics.k8s.io/v1beta1/namespaces/ai/queue_depth?labelSelector=queue+in+%28a",
    );
    while p.len() < n {
        p.push_str("%2Cq");
    }
    p
}

#[test]
fn integers_and_strings_read_back() {
    for v in [0usize, 1, 126, 127, 128, 255, 16_383, 65_535, 1 << 21] {
        let mut b = Vec::new();
        hpack_string(&mut b, &vec![b'a'; v]);
        let (huffman, s, end) = hpack_str(&b, 0).unwrap();
        assert!(!huffman);
        assert_eq!((s.len(), end), (v, b.len()));
    }
    // Truncated or absurd input is None, never a panic.
    assert_eq!(hpack_int(&[0x7f], 0, 7), None);
    assert_eq!(
        hpack_int(&[0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0, 7),
        None
    );
    assert_eq!(hpack_str(&[0x05, b'a'], 0), None);
    assert_eq!(find_long_path(&[0x44, 0x7f]), None);
}

#[test]
fn the_huffman_form_of_path_is_right() {
    let decoded = loona_hpack::huffman::HuffmanDecoder::new()
        .decode(&PATH_HUFFMAN)
        .unwrap();
    assert_eq!(decoded, b":path");
}

#[test]
fn finds_only_long_paths_in_every_representation() {
    let long = long_path(70_000);
    let mut value = Vec::new();
    hpack_string(&mut value, long.as_bytes());
    // Without indexing, static name 4; with incremental indexing; never
    // indexed; and a literal name, plain and Huffman-coded.
    for (prefix, indexed) in [
        (vec![0x04], false),
        (vec![0x44], true),
        (vec![0x14], false),
        (vec![0x00, 0x05, b':', b'p', b'a', b't', b'h'], false),
        ([vec![0x40, 0x84], PATH_HUFFMAN.to_vec()].concat(), true),
    ] {
        let mut block = vec![0x82, 0x87]; // :method GET, :scheme https
        block.extend(&prefix);
        let start = block.len();
        block.extend(&value);
        let end = block.len();
        block.extend([0x41, 0x01, b'h']); // :authority h
        assert_eq!(
            find_long_path(&block),
            Some(LongPath {
                start,
                end,
                length: long.len(),
                indexed
            }),
            "{prefix:x?}"
        );
    }
    // A path at the limit, and a long value of another field, are left alone.
    let mut block = vec![0x04];
    hpack_string(
        &mut block,
        long_path(MAX_URI).as_bytes()[..MAX_URI].as_ref(),
    );
    block.push(0x0f); // literal without indexing, name index 15+ ...
    block.push(0x0b); // ... = 26 (content-encoding)
    hpack_string(&mut block, long.as_bytes());
    assert_eq!(find_long_path(&block), None);
}

#[tokio::test]
async fn http2_long_paths_become_the_marker_and_the_tables_stay_in_step() {
    let long = long_path(100 * 1024);
    let mut enc = loona_hpack::Encoder::new();
    let req = |path: &str| {
        vec![
            (b":method".to_vec(), b"GET".to_vec()),
            (b":scheme".to_vec(), b"https".to_vec()),
            (b":authority".to_vec(), b"adapter.example:6443".to_vec()),
            (b":path".to_vec(), path.as_bytes().to_vec()),
            (b"accept".to_vec(), b"application/json".to_vec()),
            (b"x-remote-user".to_vec(), b"system:aggregator".to_vec()),
        ]
    };
    let encode = |enc: &mut loona_hpack::Encoder, h: &Vec<(Vec<u8>, Vec<u8>)>| {
        enc.encode(h.iter().map(|(n, v)| (n.as_slice(), v.as_slice())))
    };
    let short = req("/apis/external.metrics.k8s.io/v1beta1");
    let big = req(&long);
    let mut input = PREFACE.to_vec();
    input.extend(frame(0x4, 0, 0, &[])); // SETTINGS
    input.extend(frames(&encode(&mut enc, &short), 1, true, 16_384));
    input.extend(frames(&encode(&mut enc, &big), 3, true, 16_384));
    input.extend(frame(0x8, 0, 0, &[0, 0, 0x10, 0])); // WINDOW_UPDATE
    input.extend(frames(&encode(&mut enc, &short), 5, true, 16_384));
    // The same long path sent with incremental indexing (an encoder that
    // indexes everything), then a request that uses the dynamic table.
    let mut block = vec![0x82, 0x87, 0x44];
    hpack_string(&mut block, long.as_bytes());
    input.extend(frames(&block, 7, true, 16_384));
    // That insertion emptied the client's table (and so must it h2's).
    let mut enc = loona_hpack::Encoder::new();
    input.extend(frames(&encode(&mut enc, &short), 9, true, 16_384));

    for step in [1, 7, 4096, 1 << 20] {
        let out = through(&input, step).await;
        let lists = decode_all(&out);
        assert_eq!(lists.len(), 5);
        let path =
            |l: &Vec<(String, String)>| l.iter().find(|(n, _)| n == ":path").unwrap().1.clone();
        let marker = format!("{MARKER}{}", long.len());
        assert_eq!(path(&lists[0]), "/apis/external.metrics.k8s.io/v1beta1");
        assert_eq!(path(&lists[1]), marker);
        // Every other field of the rewritten request is unchanged.
        let others = |l: &Vec<(String, String)>| {
            l.iter()
                .filter(|(n, _)| n != ":path")
                .cloned()
                .collect::<Vec<_>>()
        };
        assert_eq!(others(&lists[1]), others(&lists[0]));
        assert_eq!(lists[2], lists[0], "the dynamic table is still in step");
        assert!(path(&lists[3]).starts_with(&format!("{marker}?pad=")));
        assert!(path(&lists[3]).len() > TABLE_SIZE);
        assert_eq!(lists[4], lists[0], "in step after an indexed rewrite too");
        // Frames other than header blocks went through as they were.
        let frames = parse(&out);
        assert!(frames.iter().any(|f| f.0 == 0x8 && f.3 == [0, 0, 0x10, 0]));
        assert!(
            frames
                .iter()
                .filter(|f| f.0 == HEADERS)
                .all(|f| f.1 & END_STREAM != 0)
        );
    }
    // Nothing long: byte for byte the same.
    let mut enc = loona_hpack::Encoder::new();
    let mut plain = PREFACE.to_vec();
    plain.extend(frames(&encode(&mut enc, &short), 1, true, 16_384));
    assert_eq!(through(&plain, 3).await, plain);
}

#[tokio::test]
async fn http1_long_targets_become_the_marker_bodies_and_chunks_pass() {
    let long = long_path(70_000);
    let body = format!("GET {long} HTTP/1.1\r\n");
    let input = format!(
        "GET /ok HTTP/1.1\r\nHost: a\r\n\r\n\
         GET {long} HTTP/1.1\r\nHost: a\r\n\r\n\
         POST /x HTTP/1.1\r\ncontent-length: {}\r\n\r\n{body}\
         GET /after HTTP/1.1\r\nHost: a\r\n\r\n\
         POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n\
         GET {long} HTTP/1.1\r\n\r\n",
        body.len()
    );
    // The long target becomes the marker; a body that looks like a request
    // is left alone; after a chunked body nothing is looked at any more.
    let expected = input.replacen(&long, &format!("{MARKER}{}", long.len()), 1);
    for step in [1, 5, 16_384, 1 << 20] {
        let out = String::from_utf8(through(input.as_bytes(), step).await).unwrap();
        assert_eq!(out.len(), expected.len(), "step {step}");
        assert!(out == expected, "step {step}");
    }
}

#[tokio::test]
async fn not_http_at_all_passes_unchanged() {
    for data in [
        &b""[..],
        b"PRI * HTTP/2",
        b"\x16\x03\x01garbage\n\n",
        &[0u8; 100],
    ] {
        assert_eq!(through(data, 3).await, data);
    }
}
