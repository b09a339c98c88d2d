//! `--plot out.svg`: the SRAM sweep as an SVG chart (weights MB on a log₂ x axis, TFLOPS on y),
//! one marked point per sweep entry.
//!
//! Written by hand: the chart is one polyline, circles and a few labels (~100 lines of text
//! output). A plotting crate (plotters) would bring a font stack and many dependencies for it.

use crate::report::SramRow;
use std::fmt::Write as _;

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 420.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;

/// Escape text for XML content and attribute values.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A weight size as an axis label: 0.125, 4.5, 128.
fn axis_mb(mb: f64) -> String {
    if mb >= 10.0 {
        format!("{mb:.0}")
    } else if mb >= 1.0 {
        format!("{mb:.1}")
    } else {
        format!("{mb:.3}")
    }
}

/// A "nice" upper bound for an axis: 1, 2 or 5 × 10ⁿ at or above `v`.
fn nice_ceiling(v: f64) -> f64 {
    if !v.is_finite() || v <= 0.0 {
        return 1.0;
    }
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if m * p >= v {
            return m * p;
        }
    }
    10.0 * p
}

/// The chart of `rows` (any order; drawn by ascending weight size) with `title` (e.g. the
/// backend and "CPU figures, not Neural Engine figures").
pub fn sram_chart(rows: &[SramRow], title: &str) -> String {
    let mut pts: Vec<&SramRow> = rows
        .iter()
        .filter(|r| r.weight_mb > 0.0 && r.tflops.is_finite())
        .collect();
    pts.sort_by(|a, b| a.weight_mb.total_cmp(&b.weight_mb));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let (lx_min, lx_max) = match (pts.first(), pts.last()) {
        (Some(a), Some(b)) if b.weight_mb > a.weight_mb => (a.weight_mb.log2(), b.weight_mb.log2()),
        (Some(a), _) => (a.weight_mb.log2() - 1.0, a.weight_mb.log2() + 1.0),
        _ => (0.0, 1.0),
    };
    let y_max = nice_ceiling(pts.iter().map(|r| r.tflops).fold(0.0, f64::max));
    let x = |mb: f64| LEFT + (mb.log2() - lx_min) / (lx_max - lx_min) * plot_w;
    let y = |t: f64| TOP + plot_h - t.max(0.0) / y_max * plot_h;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">
<title>{}</title>
<rect width="100%" height="100%" fill="white"/>
<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>"#,
        xml_escape(title),
        WIDTH / 2.0,
        xml_escape(title)
    );
    // Axes and grid.
    let _ = writeln!(
        s,
        r#"<g class="axes" stroke="black"><line x1="{LEFT}" y1="{0}" x2="{1}" y2="{0}"/><line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{0}"/></g>"#,
        TOP + plot_h,
        LEFT + plot_w
    );
    for i in 0..=4 {
        let t = y_max * f64::from(i) / 4.0;
        let _ = writeln!(
            s,
            r##"<g class="ytick"><line x1="{LEFT}" y1="{0:.1}" x2="{1}" y2="{0:.1}" stroke="#ddd"/><text x="{2}" y="{3:.1}" text-anchor="end">{t}</text></g>"##,
            y(t),
            LEFT + plot_w,
            LEFT - 6.0,
            y(t) + 4.0
        );
    }
    for r in &pts {
        let _ = writeln!(
            s,
            r#"<text class="xtick" x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
            x(r.weight_mb),
            TOP + plot_h + 16.0,
            axis_mb(r.weight_mb)
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">weights (MB, log scale)</text>
<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">TFLOPS</text>"#,
        LEFT + plot_w / 2.0,
        HEIGHT - 14.0,
        TOP + plot_h / 2.0,
        TOP + plot_h / 2.0
    );
    let line: Vec<String> = pts
        .iter()
        .map(|r| format!("{:.1},{:.1}", x(r.weight_mb), y(r.tflops)))
        .collect();
    let _ = writeln!(
        s,
        r##"<polyline class="sweep" fill="none" stroke="#1f77b4" stroke-width="2" points="{}"/>"##,
        line.join(" ")
    );
    for r in &pts {
        let _ = writeln!(
            s,
            r##"<circle class="point" cx="{:.1}" cy="{:.1}" r="4" fill="#1f77b4" data-channels="{}" data-weight-mb="{}" data-tflops="{}" data-ms="{}"><title>{} ch, {} MB: {:.4} TFLOPS, {:.4} ms</title></circle>"##,
            x(r.weight_mb),
            y(r.tflops),
            r.channels,
            r.weight_mb,
            r.tflops,
            r.ms_per_eval,
            r.channels,
            r.weight_mb,
            r.tflops,
            r.ms_per_eval
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_ceilings() {
        assert_eq!(nice_ceiling(3.97), 5.0);
        assert_eq!(nice_ceiling(0.0123), 0.02);
        assert_eq!(nice_ceiling(10.0), 10.0);
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(f64::NAN), 1.0);
    }

    #[test]
    fn axis_labels() {
        assert_eq!(axis_mb(0.125), "0.125");
        assert_eq!(axis_mb(4.5), "4.5");
        assert_eq!(axis_mb(128.0), "128");
    }

    #[test]
    fn escapes_titles() {
        assert_eq!(
            xml_escape(r#"a<b & "c"'"#),
            "a&lt;b &amp; &quot;c&quot;&apos;"
        );
    }
}
