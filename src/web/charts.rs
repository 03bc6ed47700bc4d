//! Small server-rendered SVG charts (no script, no chart library): bars with labels, sized to their
//! container by CSS.

use crate::web::html::esc;

/// Vertical bars: (label, value, display text).
pub fn columns(title: &str, bars: &[(String, i64, String)]) -> String {
    let w = 640;
    let h = 220;
    let top = 20;
    let bottom = 40;
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
    let n = bars.len().max(1);
    let slot = (w - 20) as f64 / n as f64;
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\"><title>{}</title><line class=\"axis\" x1=\"10\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>",
        esc(title),
        esc(title),
        h - bottom,
        w - 10,
        h - bottom
    );
    for (i, (label, v, text)) in bars.iter().enumerate() {
        let bh = ((*v as f64 / max as f64) * (h - top - bottom) as f64).round();
        let x = 10.0 + i as f64 * slot + slot * 0.15;
        let bw = slot * 0.7;
        let y = (h - bottom) as f64 - bh;
        out.push_str(&format!(
            "<rect class=\"bar\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\"><title>{}: {}</title></rect>",
            esc(label),
            esc(text)
        ));
        if *v > 0 {
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                x + bw / 2.0,
                y - 4.0,
                esc(text)
            ));
        }
        out.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x + bw / 2.0,
            h - bottom + 16,
            esc(label)
        ));
    }
    out.push_str("</svg>");
    out
}

/// Horizontal progress bars: (label, fraction used, display text); over 100 % is drawn in red.
pub fn progress(title: &str, rows: &[(String, f64, String)]) -> String {
    let w = 640;
    let row_h = 30;
    let h = (rows.len().max(1) * row_h + 10) as i64;
    let label_w = 220.0;
    let bar_w = w as f64 - label_w - 90.0;
    let mut out = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        esc(title),
        esc(title)
    );
    for (i, (label, frac, text)) in rows.iter().enumerate() {
        let y = 8 + i * row_h;
        let filled = (frac.clamp(0.0, 1.0) * bar_w).round();
        let class = if *frac > 1.0 { "bar over" } else { "bar" };
        let short: String = label.chars().take(30).collect();
        out.push_str(&format!(
            "<text x=\"0\" y=\"{}\">{}</text><rect class=\"axis\" x=\"{label_w}\" y=\"{y}\" width=\"{bar_w:.0}\" height=\"16\" fill=\"none\"/><rect class=\"{class}\" x=\"{label_w}\" y=\"{y}\" width=\"{filled:.0}\" height=\"16\"/><text x=\"{:.0}\" y=\"{}\">{}</text>",
            y + 13,
            esc(&short),
            label_w + bar_w + 8.0,
            y + 13,
            esc(text)
        ));
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_labels_and_have_no_script() {
        let svg = columns(
            "Hours",
            &[
                ("<b>".into(), 5, "5 h".into()),
                ("w2".into(), 0, "0 h".into()),
            ],
        );
        assert!(svg.starts_with("<svg") && svg.contains("&lt;b&gt;") && !svg.contains("<script"));
        let p = progress("Budget", &[("Alpha".into(), 1.4, "140 %".into())]);
        assert!(p.contains("bar over"));
    }
}
