//! Cutting a long `queues:` list into parts that parse on separate threads.
//!
//! serde-saphyr reads about 10 MB/s, so a 10,000-queue file (1.1 MB) takes
//! ~100 ms of one core, most of the adapter's start-up time. Almost all of it
//! is the `queues:` block sequence, whose items are independent YAML nodes.
//! [`split`] cuts that sequence at item boundaries into `parts` pieces:
//!
//! ```text
//! redis: ...           ┐
//! queues:              │ head: everything but the later items,
//!   - {name: a, ...}   │ parsed as the whole `RawConfig`
//!   - {name: b, ...}   ┘
//!   - {name: c, ...}   ┐ tail 1: a standalone block sequence,
//!   - {name: d, ...}   ┘ parsed as `Vec<RawQueue>`
//! services: ...        → appended to the head
//! ```
//!
//! The cut is only taken where it cannot change the meaning, and the caller
//! checks the outcome (see `config::read_fast`): every part must parse on its
//! own, with serde-saphyr's `strict_indentation`, and yield exactly as many
//! queues as it has item lines; otherwise the file is parsed whole.
//!
//! - An alias to an anchor in another part fails (unknown anchor).
//! - A quoted scalar or flow collection running across a cut leaves one part
//!   unterminated, or continues in the head on a line less indented than the
//!   item, which strict indentation rejects. (serde-saphyr accepts such
//!   under-indented continuations by default; only the whole parse may.)
//! - An "item line" that is really inside a multi-line scalar therefore never
//!   yields a part that parses; a miscount catches anything else.
//! - Files with directives (`%TAG` could change what `!!` means in a part)
//!   or tabs in indentation are never cut.

/// A file cut at item boundaries of its top-level `queues:` sequence.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Split {
    /// The file without the items of the tails (the text after the block is kept).
    pub head: String,
    /// Item lines left in the head.
    pub head_items: usize,
    /// Later runs of items, in file order, each with its item-line count.
    pub tails: Vec<(String, usize)>,
}

/// Cuts `text` into a head and up to `parts - 1` tails of about equal size,
/// or `None` when the file has no long top-level block sequence `queues:` or
/// its shape is not one this module can cut safely.
pub(super) fn split(text: &str, parts: usize, min_part_bytes: usize) -> Option<Split> {
    if parts < 2 || text.len() < 2 * min_part_bytes {
        return None;
    }
    let lines = lines(text);
    if lines.iter().any(|l| l.text.starts_with('%')) {
        return None;
    }
    // The one `queues:` line at column 0 with nothing after it but a comment.
    let mut keys = lines.iter().enumerate().filter(|(_, l)| {
        l.text.strip_prefix("queues:").is_some_and(|rest| {
            is_blank_or_comment(rest) && (rest.is_empty() || rest.starts_with([' ', '\t']))
        })
    });
    let (key_line, _) = keys.next()?;
    if keys.next().is_some() {
        return None;
    }
    // Item indentation: that of the first content line after the key.
    let body = &lines[key_line + 1..];
    let first = body.iter().find(|l| !is_blank_or_comment(l.text))?;
    let indent = first.indent()?;
    if !first.is_item(indent) {
        return None;
    }
    // Item lines up to the end of the block (the first content line less
    // indented, or at column 0 one that is not an item).
    let mut items = Vec::new();
    let mut end = text.len();
    for l in body {
        if is_blank_or_comment(l.text) {
            continue;
        }
        let ind = l.indent()?;
        if ind < indent || (ind == indent && !l.is_item(indent)) {
            end = l.start;
            break;
        }
        if ind == indent {
            items.push(l.start);
        }
    }
    let block_start = items[0];
    let parts = parts.min((end - block_start) / min_part_bytes.max(1));
    if parts < 2 {
        return None;
    }
    // Cut at the first item line at or after each even share of the block.
    let share = (end - block_start) / parts;
    let mut cuts: Vec<usize> = Vec::new();
    for p in 1..parts {
        let target = block_start + p * share;
        let i = items.partition_point(|&s| s < target);
        if i < items.len() && cuts.last().is_none_or(|&c| c < i) && i > 0 {
            cuts.push(i);
        }
    }
    if cuts.is_empty() {
        return None;
    }
    let mut tails = Vec::with_capacity(cuts.len());
    for (n, &c) in cuts.iter().enumerate() {
        let to = cuts.get(n + 1).copied();
        let from_byte = items[c];
        let to_byte = to.map_or(end, |t| items[t]);
        tails.push((
            text[from_byte..to_byte].to_string(),
            to.unwrap_or(items.len()) - c,
        ));
    }
    let cut = items[cuts[0]];
    let mut head = String::with_capacity(cut + text.len() - end);
    head.push_str(&text[..cut]);
    head.push_str(&text[end..]);
    Some(Split {
        head,
        head_items: cuts[0],
        tails,
    })
}

/// One line of the file and where it starts.
struct Line<'a> {
    start: usize,
    /// Without the line break (`\n` or `\r\n`).
    text: &'a str,
}

impl Line<'_> {
    /// Leading spaces; `None` when a tab is part of the indentation.
    fn indent(&self) -> Option<usize> {
        let n = self.text.len() - self.text.trim_start_matches(' ').len();
        (!self.text[n..].starts_with('\t')).then_some(n)
    }

    /// `- ...` or a lone `-` at exactly `indent`.
    fn is_item(&self, indent: usize) -> bool {
        let rest = &self.text[indent.min(self.text.len())..];
        rest == "-" || rest.starts_with("- ")
    }
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for l in text.split_inclusive('\n') {
        let body = l.strip_suffix('\n').unwrap_or(l);
        let body = body.strip_suffix('\r').unwrap_or(body);
        out.push(Line { start, text: body });
        start += l.len();
    }
    out
}

fn is_blank_or_comment(s: &str) -> bool {
    let t = s.trim_start_matches([' ', '\t']);
    t.is_empty() || t.starts_with('#')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(n: usize, indent: &str) -> String {
        (0..n)
            .map(|i| format!("{indent}- {{name: q{i:03}, type: list}}\n"))
            .collect()
    }

    #[test]
    fn cuts_at_item_lines_and_keeps_what_follows_the_block() {
        let text = format!(
            "redis: {{url: redis://x}}\nqueues:\n{}services: []\n",
            queues(100, "  ")
        );
        let s = split(&text, 2, 100).unwrap();
        assert_eq!(s.head_items + s.tails[0].1, 100);
        assert!(s.head.ends_with("services: []\n"), "{}", s.head);
        assert!(s.tails[0].0.starts_with("  - {name: q"));
        assert!(!s.tails[0].0.contains("services"));
        // Nothing lost, nothing doubled.
        let rebuilt = s.head.replace("services: []\n", "") + &s.tails[0].0 + "services: []\n";
        assert_eq!(rebuilt, text);
    }

    #[test]
    fn several_parts_in_order() {
        let text = format!("queues:\n{}", queues(400, ""));
        let s = split(&text, 4, 100).unwrap();
        assert_eq!(s.tails.len(), 3);
        assert_eq!(
            s.head_items + s.tails.iter().map(|t| t.1).sum::<usize>(),
            400
        );
        let rebuilt: String = std::iter::once(s.head.as_str())
            .chain(s.tails.iter().map(|t| t.0.as_str()))
            .collect();
        assert_eq!(rebuilt, text);
    }

    #[test]
    fn block_style_items_with_comments_and_crlf() {
        let mut text = String::from("# top\r\nqueues:   # the list\r\n");
        for i in 0..50 {
            text.push_str(&format!(
                "  # queue {i}\r\n  - name: q{i}\r\n    type: list\r\n\r\n"
            ));
        }
        let s = split(&text, 2, 100).unwrap();
        assert_eq!(s.head_items + s.tails[0].1, 50);
        assert!(s.tails[0].0.starts_with("  - name: q"));
    }

    #[test]
    fn refuses_shapes_it_cannot_cut() {
        let long = queues(100, "  ");
        for text in [
            // Small file.
            "queues:\n  - {name: a}\n".to_string(),
            // Flow sequence.
            format!("queues: [{}]\n", "{name: a}, ".repeat(200)),
            // Directive.
            format!("%YAML 1.2\n---\nqueues:\n{long}"),
            // Tab in indentation.
            format!("queues:\n\t- {{name: a}}\n{long}"),
            // Two `queues:` keys (an error the whole parse reports).
            format!("queues:\n{long}queues:\n{long}"),
            // Not a sequence.
            format!("queues:\n  a: 1\n{long}"),
            // Nested, not top-level.
            format!("x:\n  queues:\n{long}"),
        ] {
            assert_eq!(split(&text, 2, 100), None, "{text:.60}");
        }
    }

    #[test]
    fn never_panics_on_odd_text() {
        for text in [
            "",
            "queues:",
            "queues:\n",
            "queues:\n-",
            "queues:\n- \n",
            "queues:\n  -\n  -\n",
        ] {
            for parts in 0..4 {
                let _ = split(text, parts, 0);
                let _ = split(text, parts, 1);
            }
        }
    }
}
