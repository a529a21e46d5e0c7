//! A small inline-SVG plotter: line charts over a shared time axis and
//! scatter plots, with axes, ticks, units, reference lines and a legend
//! beside (never over) the data.
//!
//! Why not `plotters`: without its font features (`ttf`, `ab_glyph`, which
//! load system or bundled fonts) it lays text out with a "naive" estimate
//! (every character 0.7 em wide) and places legends inside the plot area,
//! over the data. What the report needs is little: the browser renders the
//! text, so the layout only has to leave fixed room for labels (a left
//! margin for tick labels, a right column for the legend), and every chart
//! of a group must share the same plot rectangle so their time axes line up
//! vertically. That is simpler to get right by hand, with no dependency.
//!
//! The `<svg>` elements carry no `xmlns`: inline in HTML the parser puts
//! them in the SVG namespace, and the page then holds no URL at all.
//!
//! Long series are reduced first (`reduce`: min and max per bucket, so
//! peaks survive). Non-finite values never reach the SVG: they break a line
//! into segments instead. Axes and their ticks are in `axis`.

use std::fmt::Write as _;

use super::axis::Axis;
use super::fmt::{coord, esc, push_coord, truncate};

/// Width of every chart's view box, px.
pub(crate) const WIDTH: f64 = 1100.0;
/// Left edge of the plot area (room for tick labels and the axis label).
const LEFT: f64 = 78.0;
/// Width of the legend column to the right of the plot area.
const LEGEND_W: f64 = 250.0;
/// Right edge of the plot area.
const RIGHT: f64 = WIDTH - LEGEND_W;
/// Top edge of the plot area (room for the title).
const TOP: f64 = 34.0;
/// Room below the plot area for tick labels and the axis label.
const BOTTOM_PAD: f64 = 46.0;
/// Height of one legend row.
const LEGEND_ROW: f64 = 19.0;
/// Height of a legend label's second line.
const LEGEND_LINE: f64 = 15.0;
/// Characters per legend line (labels wrap onto a second line, then are
/// cut with "…"; the full text is in a tooltip).
const LEGEND_CHARS: usize = 26;

/// The look of a legend entry (and of a scatter point).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Mark {
    /// A line, solid or dashed (`stroke-dasharray`).
    Line {
        dash: Option<&'static str>,
        width: f64,
    },
    /// A filled circle.
    Circle,
    /// A hollow triangle.
    Triangle,
    /// A thick ring around a point (the recommendation).
    Ring,
}

/// A line series.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// Tooltip text.
    pub name: String,
    /// Stroke colour.
    pub color: &'static str,
    /// `stroke-dasharray`, if dashed.
    pub dash: Option<&'static str>,
    /// Stroke width, px.
    pub width: f64,
    /// Points (already downsampled); `None` breaks the line.
    pub points: Vec<Option<(f64, f64)>>,
}

/// A scatter point.
#[derive(Debug, Clone)]
pub(crate) struct Point {
    /// Position.
    pub x: f64,
    /// Position.
    pub y: f64,
    /// Fill or stroke colour.
    pub color: &'static str,
    /// Shape.
    pub mark: Mark,
    /// Tooltip text.
    pub title: String,
    /// Text written beside the point, if any.
    pub label: Option<String>,
}

/// A horizontal or vertical reference line (the SLO, the oracle's cost).
#[derive(Debug, Clone)]
pub(crate) struct RefLine {
    /// Position on its axis.
    pub value: f64,
    /// Text written along it.
    pub label: String,
    /// Stroke colour.
    pub color: &'static str,
    /// `stroke-dasharray`, if dashed.
    pub dash: Option<&'static str>,
}

/// A legend entry.
#[derive(Debug, Clone)]
pub(crate) struct LegendItem {
    /// Text.
    pub label: String,
    /// Colour of the sample.
    pub color: &'static str,
    /// Sample shape.
    pub mark: Mark,
}

/// One plot area of a chart: its lines, points and horizontal reference
/// lines. Several panels stack into small multiples over one time axis.
#[derive(Debug, Clone, Default)]
pub(crate) struct Panel {
    /// Name and colour written beside the panel (small multiples).
    pub label: Option<(String, &'static str)>,
    /// Lines.
    pub series: Vec<Series>,
    /// Scatter points.
    pub points: Vec<Point>,
    /// Horizontal reference lines (values on the chart's `y`).
    pub hlines: Vec<RefLine>,
}

/// One chart: one plot area (or a stack of panels sharing both axes) with
/// axes, series, points, reference lines and a legend column on the right.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    /// Unique within the page (the `<svg>` element's id).
    pub id: String,
    /// Heading inside the image.
    pub title: String,
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis (every panel's).
    pub y: Axis,
    /// Height of the view box of a one-panel chart, px (grown to fit the
    /// legend).
    pub height: f64,
    /// Height of each panel's plot area when there are several, px.
    pub panel_height: f64,
    /// The plot areas, top to bottom; never empty.
    pub panels: Vec<Panel>,
    /// Vertical reference lines (values on `x`), across every panel.
    pub vlines: Vec<RefLine>,
    /// Legend entries: top of the legend column for one panel, below the
    /// panel labels for several.
    pub legend: Vec<LegendItem>,
    /// Written in the plot area when there is nothing to draw.
    pub empty: Option<String>,
}

/// Vertical gap between stacked panels.
const GAP: f64 = 20.0;

impl Chart {
    /// An empty one-panel chart on these axes.
    pub(crate) fn new(id: &str, title: &str, x: Axis, y: Axis, height: f64) -> Chart {
        Chart {
            id: id.to_owned(),
            title: title.to_owned(),
            x,
            y,
            height,
            panel_height: 72.0,
            panels: vec![Panel::default()],
            vlines: Vec::new(),
            legend: Vec::new(),
            empty: None,
        }
    }

    /// The first (for one-panel charts: the) panel.
    pub(crate) fn main(&mut self) -> &mut Panel {
        if self.panels.is_empty() {
            self.panels.push(Panel::default());
        }
        &mut self.panels[0]
    }

    fn px(&self, x: f64) -> f64 {
        LEFT + self.x.frac(x) * (RIGHT - LEFT)
    }

    fn py(&self, y: f64, top: f64, bottom: f64) -> f64 {
        bottom - self.y.frac(y) * (bottom - top)
    }

    /// Panel rectangles (top, bottom) and the total height.
    fn layout(&self) -> (Vec<(f64, f64)>, f64) {
        let n = self.panels.len().max(1);
        if n == 1 {
            let h = self
                .height
                .max(TOP + self.legend_height() + 8.0)
                .max(TOP + BOTTOM_PAD + 60.0);
            return (vec![(TOP, h - BOTTOM_PAD)], h);
        }
        let ph = self.panel_height.max(30.0);
        let rects: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                (
                    TOP + i as f64 * (ph + GAP),
                    TOP + i as f64 * (ph + GAP) + ph,
                )
            })
            .collect();
        let bottom = rects[n - 1].1;
        let h = (bottom + BOTTOM_PAD).max(bottom + 14.0 + self.legend_height());
        (rects, h)
    }

    /// The `<svg>` element.
    pub(crate) fn render(&self) -> String {
        let (rects, h) = self.layout();
        let (first_top, last_bottom) = (rects[0].0, rects[rects.len() - 1].1);
        let mut s = String::with_capacity(16 * 1024);
        let title = esc(&self.title);
        let _ = write!(
            s,
            r##"<svg class="plot" id="{id}" viewBox="0 0 {w} {h}" role="img" aria-label="{title}" font-family="system-ui, -apple-system, 'Segoe UI', 'DejaVu Sans', Arial, sans-serif" font-size="12"><title>{title}</title><rect width="{w}" height="{h}" fill="#fff"/><text x="{LEFT}" y="20" font-size="14" font-weight="600" fill="#222">{title}</text>"##,
            id = esc(&self.id),
            w = coord(WIDTH),
            h = coord(h),
        );
        for (i, &(top, bottom)) in rects.iter().enumerate() {
            self.axes(&mut s, top, bottom, i + 1 == rects.len());
        }
        self.axis_labels(&mut s, h, first_top, last_bottom);
        for r in &self.vlines {
            let x = self.px(r.value);
            line(&mut s, x, first_top, x, last_bottom, r.color, r.dash, 1.5);
            let anchor = if x > RIGHT - 160.0 { "end" } else { "start" };
            let dx = if anchor == "end" { -5.0 } else { 5.0 };
            text(&mut s, x + dx, first_top + 13.0, anchor, r.color, &r.label);
        }
        for (panel, &(top, bottom)) in self.panels.iter().zip(&rects) {
            self.panel(&mut s, panel, top, bottom);
        }
        if let Some(note) = &self.empty {
            text(
                &mut s,
                (LEFT + RIGHT) / 2.0,
                (first_top + last_bottom) / 2.0,
                "middle",
                "#666",
                note,
            );
        }
        let x0 = RIGHT + 22.0;
        let legend_top = if rects.len() > 1 {
            for (panel, &(top, bottom)) in self.panels.iter().zip(&rects) {
                if let Some((label, color)) = &panel.label {
                    let lines = wrap(label, LEGEND_CHARS - 2);
                    let y = (top + bottom) / 2.0 - LEGEND_LINE * (lines.len() - 1) as f64 / 2.0;
                    s.push_str("<g>");
                    let _ = write!(s, "<title>{}</title>", esc(label));
                    line(&mut s, x0, y, x0 + 26.0, y, color, None, 3.0);
                    legend_text(&mut s, x0 + 34.0, y, &lines, "600");
                    s.push_str("</g>");
                }
            }
            last_bottom + 14.0
        } else {
            TOP + 8.0
        };
        self.legend(&mut s, legend_top);
        s.push_str("</svg>");
        s
    }

    fn panel(&self, s: &mut String, panel: &Panel, top: f64, bottom: f64) {
        for r in &panel.hlines {
            let y = self.py(r.value, top, bottom);
            line(s, LEFT, y, RIGHT, y, r.color, r.dash, 1.5);
            text(s, RIGHT - 4.0, y - 5.0, "end", r.color, &r.label);
        }
        for series in &panel.series {
            self.path(s, series, top, bottom);
        }
        let on = |p: &Point| p.x.is_finite() && p.y.is_finite();
        for p in panel.points.iter().filter(|p| on(p)) {
            let (x, y) = (self.px(p.x), self.py(p.y, top, bottom));
            s.push_str("<g>");
            let _ = write!(s, "<title>{}</title>", esc(&p.title));
            marker(s, x, y, p.mark, p.color);
            s.push_str("</g>");
        }
        for p in panel.points.iter().filter(|p| on(p)) {
            if let Some(label) = &p.label {
                let (x, y) = (self.px(p.x), self.py(p.y, top, bottom));
                let (tx, ty, anchor) = self.place_label(panel, label, x, y, top, bottom);
                text_weight(s, tx, ty, anchor, "#111", label, "600");
            }
        }
    }

    /// Where a point's label goes: right or left of it, above or below,
    /// whichever covers the fewest other points and reference lines and
    /// stays inside the plot area.
    fn place_label(
        &self,
        panel: &Panel,
        label: &str,
        x: f64,
        y: f64,
        top: f64,
        bottom: f64,
    ) -> (f64, f64, &'static str) {
        let w = 7.0 * label.chars().count() as f64;
        let others: Vec<(f64, f64)> = panel
            .points
            .iter()
            .filter(|p| p.x.is_finite() && p.y.is_finite())
            .map(|p| (self.px(p.x), self.py(p.y, top, bottom)))
            .filter(|(px, py)| (px - x).abs() > 0.5 || (py - y).abs() > 0.5)
            .collect();
        let hs: Vec<f64> = panel
            .hlines
            .iter()
            .map(|r| self.py(r.value, top, bottom))
            .collect();
        let vs: Vec<f64> = self.vlines.iter().map(|r| self.px(r.value)).collect();
        let options = [
            (14.0, -12.0, "start"),
            (14.0, 24.0, "start"),
            (-14.0, -12.0, "end"),
            (-14.0, 24.0, "end"),
            (14.0, -30.0, "start"),
            (14.0, 42.0, "start"),
        ];
        let mut best = (f64::INFINITY, options[0]);
        for (k, &(dx, dy, anchor)) in options.iter().enumerate() {
            let (tx, ty) = (x + dx, y + dy);
            let (x0, x1) = if anchor == "start" {
                (tx, tx + w)
            } else {
                (tx - w, tx)
            };
            let (y0, y1) = (ty - 13.0, ty + 4.0);
            let mut score = k as f64 * 0.1;
            if x0 < LEFT || x1 > RIGHT || y0 < top || y1 > bottom {
                score += 100.0;
            }
            score += 3.0
                * others
                    .iter()
                    .filter(|(px, py)| {
                        *px > x0 - 7.0 && *px < x1 + 7.0 && *py > y0 - 7.0 && *py < y1 + 7.0
                    })
                    .count() as f64;
            score += 2.0
                * hs.iter()
                    .filter(|h| **h > y0 - 2.0 && **h < y1 + 2.0)
                    .count() as f64;
            score += 2.0
                * vs.iter()
                    .filter(|v| **v > x0 - 2.0 && **v < x1 + 2.0)
                    .count() as f64;
            if score < best.0 {
                best = (score, (dx, dy, anchor));
            }
        }
        let (dx, dy, anchor) = best.1;
        (x + dx, y + dy, anchor)
    }

    fn axes(&self, s: &mut String, top: f64, bottom: f64, x_labels: bool) {
        s.push_str(r##"<g stroke="#e3e3e3" stroke-width="1">"##);
        for (v, _) in &self.y.ticks {
            let y = self.py(*v, top, bottom);
            let _ = write!(
                s,
                r#"<line x1="{}" y1="{}" x2="{}" y2="{}"/>"#,
                coord(LEFT),
                coord(y),
                coord(RIGHT),
                coord(y)
            );
        }
        for (v, _) in &self.x.ticks {
            let x = self.px(*v);
            let _ = write!(
                s,
                r#"<line x1="{}" y1="{}" x2="{}" y2="{}"/>"#,
                coord(x),
                coord(top),
                coord(x),
                coord(bottom)
            );
        }
        s.push_str("</g>");
        let _ = write!(
            s,
            r##"<path d="M{l} {t}V{b}H{r}" fill="none" stroke="#555" stroke-width="1"/>"##,
            l = coord(LEFT),
            t = coord(top),
            b = coord(bottom),
            r = coord(RIGHT),
        );
        let _ = write!(s, r##"<g fill="#444" font-size="12">"##);
        let mut last_y = f64::INFINITY;
        for (v, label) in &self.y.ticks {
            let y = self.py(*v, top, bottom);
            if last_y - y < 14.0 {
                continue; // too close to the label below it
            }
            last_y = y;
            let _ = write!(
                s,
                r#"<text x="{}" y="{}" text-anchor="end" dy="0.32em">{}</text>"#,
                coord(LEFT - 6.0),
                coord(y),
                esc(label)
            );
        }
        if x_labels {
            let mut last_end = f64::NEG_INFINITY;
            for (v, label) in &self.x.ticks {
                let x = self.px(*v);
                let half = 3.6 * label.chars().count() as f64;
                if x - half < last_end + 6.0 {
                    continue; // would overlap its neighbour
                }
                last_end = x + half;
                let _ = write!(
                    s,
                    r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
                    coord(x),
                    coord(bottom + 16.0),
                    esc(label)
                );
            }
        }
        s.push_str("</g>");
    }

    fn axis_labels(&self, s: &mut String, h: f64, top: f64, bottom: f64) {
        let _ = write!(
            s,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#222" font-size="13">{}</text>"##,
            coord((LEFT + RIGHT) / 2.0),
            coord((bottom + BOTTOM_PAD - 8.0).min(h - 8.0)),
            esc(&self.x.label)
        );
        let (cx, cy) = (16.0, (top + bottom) / 2.0);
        let _ = write!(
            s,
            r##"<text x="{cx}" y="{cy}" transform="rotate(-90 {cx} {cy})" text-anchor="middle" fill="#222" font-size="13">{}</text>"##,
            esc(&self.y.label),
            cx = coord(cx),
            cy = coord(cy),
        );
    }

    fn path(&self, s: &mut String, series: &Series, top: f64, bottom: f64) {
        let mut d = String::with_capacity(series.points.len() * 12);
        let mut pen_down = false;
        let mut drawn = 0;
        for p in &series.points {
            match p {
                Some((x, y)) if x.is_finite() && y.is_finite() => {
                    d.push(if pen_down { 'L' } else { 'M' });
                    push_coord(&mut d, self.px(*x));
                    d.push(' ');
                    push_coord(&mut d, self.py(*y, top, bottom));
                    pen_down = true;
                    drawn += 1;
                }
                _ => pen_down = false,
            }
        }
        if drawn == 0 {
            return;
        }
        let dash = series
            .dash
            .map(|d| format!(r#" stroke-dasharray="{d}""#))
            .unwrap_or_default();
        let _ = write!(
            s,
            r#"<path d="{d}" fill="none" stroke="{c}" stroke-width="{w}"{dash} stroke-linejoin="round"><title>{t}</title></path>"#,
            c = series.color,
            w = coord(series.width),
            t = esc(&series.name),
        );
        if drawn == 1 {
            // A lone point draws nothing as a path: show it as a dot.
            if let Some(Some((x, y))) = series.points.iter().find(|p| p.is_some()) {
                marker(
                    s,
                    self.px(*x),
                    self.py(*y, top, bottom),
                    Mark::Circle,
                    series.color,
                );
            }
        }
    }

    fn legend_height(&self) -> f64 {
        self.legend
            .iter()
            .map(|i| LEGEND_ROW + LEGEND_LINE * (wrap(&i.label, LEGEND_CHARS).len() - 1) as f64)
            .sum()
    }

    fn legend(&self, s: &mut String, top: f64) {
        let x0 = RIGHT + 22.0;
        let mut y = top;
        for item in &self.legend {
            let lines = wrap(&item.label, LEGEND_CHARS);
            s.push_str("<g>");
            let _ = write!(s, "<title>{}</title>", esc(&item.label));
            match item.mark {
                Mark::Line { dash, width } => {
                    line(s, x0, y, x0 + 26.0, y, item.color, dash, width + 0.4)
                }
                m => marker(s, x0 + 13.0, y, m, item.color),
            }
            legend_text(s, x0 + 34.0, y, &lines, "normal");
            s.push_str("</g>");
            y += LEGEND_ROW + LEGEND_LINE * (lines.len() - 1) as f64;
        }
    }
}

/// A legend label over one or two lines.
fn legend_text(s: &mut String, x: f64, y: f64, lines: &[String], weight: &str) {
    let _ = write!(
        s,
        r##"<text x="{}" y="{}" dy="0.32em" fill="#222" font-weight="{weight}">"##,
        coord(x),
        coord(y)
    );
    for (i, l) in lines.iter().enumerate() {
        if i == 0 {
            s.push_str(&esc(l));
        } else {
            let _ = write!(
                s,
                r#"<tspan x="{}" dy="{}">{}</tspan>"#,
                coord(x),
                coord(LEGEND_LINE),
                esc(l)
            );
        }
    }
    s.push_str("</text>");
}

/// `label` over at most two lines of `max` characters, broken after a
/// `/`, `,` or space where possible, else after `-` or `=`, the rest cut
/// with "…".
pub(crate) fn wrap(label: &str, max: usize) -> Vec<String> {
    let chars: Vec<char> = label.chars().collect();
    if chars.len() <= max {
        return vec![label.to_owned()];
    }
    let after = |seps: &[char]| {
        (max / 2..=max)
            .rev()
            .find(|&i| seps.contains(&chars[i - 1]))
    };
    let cut = after(&['/', ' ', ','])
        .or_else(|| after(&['-', '=']))
        .unwrap_or(max);
    let first: String = chars[..cut].iter().collect();
    let rest: String = chars[cut..].iter().collect();
    vec![
        first.trim_end().to_owned(),
        truncate(rest.trim_start(), max),
    ]
}

#[allow(clippy::too_many_arguments)]
fn line(
    s: &mut String,
    x1: f64,
    y1: f64,
    x2: f64,
    y2: f64,
    color: &str,
    dash: Option<&str>,
    width: f64,
) {
    let dash = dash
        .map(|d| format!(r#" stroke-dasharray="{}""#, esc(d)))
        .unwrap_or_default();
    let _ = write!(
        s,
        r#"<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="{}"{dash}/>"#,
        coord(x1),
        coord(y1),
        coord(x2),
        coord(y2),
        esc(color),
        coord(width)
    );
}

fn text(s: &mut String, x: f64, y: f64, anchor: &str, color: &str, body: &str) {
    text_weight(s, x, y, anchor, color, body, "normal");
}

fn text_weight(
    s: &mut String,
    x: f64,
    y: f64,
    anchor: &str,
    color: &str,
    body: &str,
    weight: &str,
) {
    let _ = write!(
        s,
        r##"<text x="{}" y="{}" text-anchor="{anchor}" fill="{}" font-weight="{weight}" stroke="#fff" stroke-width="3" paint-order="stroke">{}</text>"##,
        coord(x),
        coord(y),
        esc(color),
        esc(body)
    );
}

fn marker(s: &mut String, x: f64, y: f64, mark: Mark, color: &str) {
    let c = esc(color);
    let _ = match mark {
        Mark::Circle => write!(
            s,
            r##"<circle cx="{}" cy="{}" r="5" fill="{c}" stroke="#fff" stroke-width="1"/>"##,
            coord(x),
            coord(y)
        ),
        Mark::Triangle => write!(
            s,
            r#"<path d="M{} {}L{} {}L{} {}Z" fill="none" stroke="{c}" stroke-width="2"/>"#,
            coord(x),
            coord(y - 6.0),
            coord(x + 5.5),
            coord(y + 4.0),
            coord(x - 5.5),
            coord(y + 4.0)
        ),
        Mark::Ring => write!(
            s,
            r#"<circle cx="{}" cy="{}" r="10" fill="none" stroke="{c}" stroke-width="2.5"/>"#,
            coord(x),
            coord(y)
        ),
        Mark::Line { dash, width } => {
            line(s, x - 13.0, y, x + 13.0, y, color, dash, width);
            Ok(())
        }
    };
}
