//! Downsampling of long series before they become SVG paths: a 24-hour run
//! at 5 s ticks has 17,280 points per series; a plot is ~800 px wide.

/// Buckets [`downsample`] reduces a series to: two points per bucket at
/// most, about one point per pixel of the plot area.
pub(crate) const BUCKETS: usize = 400;

/// Reduces `(x, y)` points to at most two per bucket (the minimum and the
/// maximum, in order), `buckets` buckets of equal count; a bucket with no
/// finite value becomes a gap (`None`), and so does any non-finite point
/// when no reduction is needed.
pub(crate) fn downsample(points: &[(f64, f64)], buckets: usize) -> Vec<Option<(f64, f64)>> {
    let ok = |p: &(f64, f64)| p.0.is_finite() && p.1.is_finite();
    let mut out: Vec<Option<(f64, f64)>> = Vec::new();
    let push = |out: &mut Vec<Option<(f64, f64)>>, p: Option<(f64, f64)>| {
        if p.is_some() || matches!(out.last(), Some(Some(_))) {
            out.push(p);
        }
    };
    let buckets = buckets.max(1);
    if points.len() <= 2 * buckets {
        for p in points {
            push(&mut out, ok(p).then_some(*p));
        }
        return out;
    }
    for b in 0..buckets {
        let lo = b * points.len() / buckets;
        let hi = ((b + 1) * points.len() / buckets).min(points.len());
        let chunk = &points[lo..hi];
        let mut min: Option<usize> = None;
        let mut max: Option<usize> = None;
        for (i, p) in chunk.iter().enumerate() {
            if !ok(p) {
                continue;
            }
            if min.is_none_or(|m| p.1 < chunk[m].1) {
                min = Some(i);
            }
            if max.is_none_or(|m| p.1 > chunk[m].1) {
                max = Some(i);
            }
        }
        match (min, max) {
            (Some(a), Some(b)) if a == b => push(&mut out, Some(chunk[a])),
            (Some(a), Some(b)) => {
                push(&mut out, Some(chunk[a.min(b)]));
                push(&mut out, Some(chunk[a.max(b)]));
            }
            _ => push(&mut out, None),
        }
    }
    out
}
