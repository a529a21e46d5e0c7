//! The lexical layer under both formats: a cursor over one line, the
//! character classes of metric and label names, Go-compatible float values,
//! and the excerpts that error messages quote.

/// A position in one line. Positions only ever stop at ASCII bytes or the
/// end of the line (every predicate treats all bytes >= 0x80 alike), so the
/// `get` calls below always succeed; they fall back to empty rather than
/// panic.
pub(super) struct Cursor<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(s: &'a str) -> Self {
        Cursor { s, pos: 0 }
    }

    pub(super) fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    pub(super) fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }

    /// Steps over one byte (an ASCII byte just seen with `peek`).
    pub(super) fn bump(&mut self) {
        self.advance(1);
    }

    pub(super) fn advance(&mut self, n: usize) {
        self.pos = self.pos.saturating_add(n).min(self.s.len());
    }

    pub(super) fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.bump();
        }
        hit
    }

    pub(super) fn skip_blank(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.bump();
        }
    }

    pub(super) fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or_default()
    }

    pub(super) fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a str {
        let rest = self.s.as_bytes().get(self.pos..).unwrap_or_default();
        let n = rest.iter().position(|&b| !keep(b)).unwrap_or(rest.len());
        let start = self.pos;
        self.pos += n;
        self.s.get(start..self.pos).unwrap_or_default()
    }

    /// At a `"`: the text up to the closing quote (not unescaped) and whether
    /// it contains a backslash; `None` if the line ends first. A backslash
    /// escapes whatever byte follows it (promlex.l: `\"(\\.|[^\\"])*\"`).
    pub(super) fn take_quoted(&mut self) -> Option<(&'a str, bool)> {
        let bytes = self.s.as_bytes();
        let start = self.pos + 1;
        let mut i = start;
        let mut escaped = false;
        loop {
            let rest = bytes.get(i..)?;
            i += rest.iter().position(|&b| b == b'"' || b == b'\\')?;
            if bytes.get(i) == Some(&b'"') {
                let inner = self.s.get(start..i)?;
                self.pos = i + 1;
                return Some((inner, escaped));
            }
            escaped = true;
            i += 2;
        }
    }
}

const NAME_START: u8 = 1;
const NAME_CONTINUE: u8 = 2;
const LABEL_START: u8 = 4;
const LABEL_CONTINUE: u8 = 8;

/// Character classes: metric names `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names
/// `[a-zA-Z_][a-zA-Z0-9_]*`.
static CLASSES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let letter = b.is_ascii_alphabetic() || b == b'_';
        let mut class = 0;
        if letter || b == b':' {
            class |= NAME_START | NAME_CONTINUE;
        }
        if letter {
            class |= LABEL_START | LABEL_CONTINUE;
        }
        if b.is_ascii_digit() {
            class |= NAME_CONTINUE | LABEL_CONTINUE;
        }
        table[i] = class;
        i += 1;
    }
    table
};

fn class(b: u8) -> u8 {
    // A u8 index into a 256-entry table cannot be out of bounds.
    CLASSES[usize::from(b)]
}

pub(super) fn is_name_start(b: u8) -> bool {
    class(b) & NAME_START != 0
}

pub(super) fn is_name_continue(b: u8) -> bool {
    class(b) & NAME_CONTINUE != 0
}

pub(super) fn is_label_start(b: u8) -> bool {
    class(b) & LABEL_START != 0
}

pub(super) fn is_label_continue(b: u8) -> bool {
    class(b) & LABEL_CONTINUE != 0
}

/// The metric name of a HELP/TYPE/UNIT line: plain or quoted (escapes are
/// fine here, the name is not returned unescaped). `None` if there is none.
pub(super) fn metadata_name<'a>(c: &mut Cursor<'a>) -> Option<&'a str> {
    match c.peek()? {
        b'"' => c.take_quoted().map(|(raw, _)| raw),
        b if is_name_start(b) => Some(c.take_while(is_name_continue)),
        _ => None,
    }
}

/// Parses a float as upstream's `parseFloat` does: Go's
/// `strconv.ParseFloat(s, 64)`, after rejecting `p`, `P` and `_` (so no hex
/// floats and no digit separators). Go's decimal syntax is Rust's; the
/// differences handled here are that Go does not accept a signed NaN and
/// reports out-of-range values as errors instead of infinities.
pub(super) fn parse_float(s: &str) -> Option<f64> {
    let bytes = s.as_bytes();
    let unsigned = match bytes.first() {
        Some(b'+' | b'-') => bytes.get(1..).unwrap_or_default(),
        _ => bytes,
    };
    match unsigned.first() {
        Some(b'n' | b'N') => {
            return bytes.eq_ignore_ascii_case(b"nan").then_some(f64::NAN);
        }
        Some(b'i' | b'I') => {
            if unsigned.eq_ignore_ascii_case(b"inf") || unsigned.eq_ignore_ascii_case(b"infinity") {
                let negative = bytes.first() == Some(&b'-');
                return Some(if negative {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                });
            }
            return None;
        }
        _ => {}
    }
    if bytes.iter().any(|b| matches!(b, b'p' | b'P' | b'_')) {
        return None;
    }
    let v: f64 = s.parse().ok()?;
    // Only the literals above may be infinite; "1e400" is ErrRange in Go.
    v.is_finite().then_some(v)
}

/// At most 64 characters of `s`, for error messages.
pub(super) fn excerpt(s: &str) -> String {
    s.chars().take(64).collect()
}
