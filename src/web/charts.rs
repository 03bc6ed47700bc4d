//! Small server-rendered SVG charts (no script, no chart library): labelled horizontal bars, sized
//! to their container by CSS, with an explicit empty state.
//!
//! The drawing is 360 units wide and CSS shows it between the narrowest panel a page lays out
//! (`.grid2` columns are at least 320 px, less 40 px of padding) and `.chart`'s `max-width`, so
//! text drawn at `FONT` units is never smaller than 12 px on screen (the unit test checks the sum).

use crate::web::html::esc;

/// Width of the drawing, in SVG units.
const VIEW_W: f64 = 360.0;
/// Text size in SVG units.
const FONT: f64 = 16.0;
/// An average glyph of the UI font is about this wide, in ems: enough to reserve room for labels.
const GLYPH: f64 = 0.6;
const ROW_H: f64 = 30.0;
const BAR_H: f64 = 18.0;

/// The opening of a chart: size, accessible name and text size.
fn open(title: &str, h: f64, class: &str) -> String {
    format!(
        "<svg class=\"{class}\" viewBox=\"0 0 {VIEW_W} {h}\" font-size=\"{FONT}\" role=\"img\" aria-label=\"{}\"><title>{}</title>",
        esc(title),
        esc(title)
    )
}

/// What a chart with nothing to show says instead of an empty frame (`no_data`, in the reader's
/// language: "No data yet").
fn empty(title: &str, no_data: &str) -> String {
    let mut out = open(&format!("{title}: {no_data}"), 60.0, "chart empty");
    out.push_str(&format!(
        "<text x=\"{}\" y=\"36\" text-anchor=\"middle\">{}</text></svg>",
        VIEW_W / 2.0,
        esc(no_data)
    ));
    out
}

/// Text cut to `chars` characters, with an ellipsis when it was longer.
fn cut(s: &str, chars: usize) -> String {
    if s.chars().count() <= chars {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(chars.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// One row per entry: label, a bar `fraction` of the track long (over 1 drawn full and marked),
/// the display text after it.
fn rows(title: &str, entries: &[(String, f64, String)]) -> String {
    let longest = |f: &dyn Fn(&(String, f64, String)) -> usize| {
        entries.iter().map(f).max().unwrap_or(0) as f64
    };
    let em = FONT * GLYPH;
    // Labels get at most 40 % of the width (longer ones are cut, and whole in the tooltip).
    let label_chars = longest(&|e| e.0.chars().count()).min((VIEW_W * 0.4 / em).floor());
    let label_w = label_chars * em + 8.0;
    let value_w = longest(&|e| e.2.chars().count()) * em + 8.0;
    let track = (VIEW_W - label_w - value_w).max(40.0);
    let h = entries.len() as f64 * ROW_H + 6.0;
    let mut out = open(title, h, "chart");
    for (i, (label, frac, text)) in entries.iter().enumerate() {
        let y = 4.0 + i as f64 * ROW_H;
        let base = y + BAR_H - 4.0;
        let filled = (frac.clamp(0.0, 1.0) * track).round();
        let class = if *frac > 1.0 { "bar over" } else { "bar" };
        out.push_str(&format!(
            "<g><title>{}: {}</title><text x=\"0\" y=\"{base}\">{}</text><rect class=\"track\" x=\"{label_w}\" y=\"{y}\" width=\"{track:.0}\" height=\"{BAR_H}\"/><rect class=\"{class}\" x=\"{label_w}\" y=\"{y}\" width=\"{filled:.0}\" height=\"{BAR_H}\"/><text x=\"{:.0}\" y=\"{base}\">{}</text></g>",
            esc(label),
            esc(text),
            esc(&cut(label, label_chars as usize)),
            label_w + track + 6.0,
            esc(text)
        ));
    }
    out.push_str("</svg>");
    out
}

/// Amounts per label: (label, value, display text), each bar scaled to the largest value. All
/// zero (or none) is "No data yet".
pub fn bars(title: &str, no_data: &str, bars: &[(String, i64, String)]) -> String {
    let max = bars.iter().map(|b| b.1).max().unwrap_or(0);
    if max <= 0 {
        return empty(title, no_data);
    }
    let entries: Vec<(String, f64, String)> = bars
        .iter()
        .map(|(l, v, t)| (l.clone(), *v as f64 / max as f64, t.clone()))
        .collect();
    rows(title, &entries)
}

/// Progress per label: (label, fraction used, display text); over 100 % is drawn in red. None is
/// "No data yet".
pub fn progress(title: &str, no_data: &str, entries: &[(String, f64, String)]) -> String {
    if entries.is_empty() {
        return empty(title, no_data);
    }
    rows(title, entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charts_escape_labels_and_have_no_script() {
        let svg = bars(
            "Hours",
            "No data yet",
            &[
                ("<b>".into(), 5, "5 h".into()),
                ("w2".into(), 0, "0 h".into()),
            ],
        );
        assert!(svg.starts_with("<svg") && svg.contains("&lt;b&gt;") && !svg.contains("<script"));
        let p = progress(
            "Budget",
            "No data yet",
            &[("Alpha".into(), 1.4, "140 %".into())],
        );
        assert!(p.contains("bar over"));
    }

    #[test]
    fn text_is_readable_at_the_narrowest_width() {
        // The narrowest a chart is drawn, in CSS px: a 320 px `.grid2` column less its padding.
        let narrowest = 320.0 - 40.0;
        let smallest = FONT * narrowest / VIEW_W;
        assert!(smallest >= 12.0, "{smallest}");
        let svg = bars(
            "Hours",
            "No data yet",
            &[("01 Dec".into(), 90, "1.5 h".into())],
        );
        assert!(svg.contains(&format!("viewBox=\"0 0 {VIEW_W} ")), "{svg}");
        assert!(svg.contains(&format!("font-size=\"{FONT}\"")), "{svg}");
    }

    #[test]
    fn nothing_to_show_says_so() {
        for svg in [
            bars("Hours", "No data yet", &[]),
            bars(
                "Hours",
                "No data yet",
                &[("01 Dec".into(), 0, "0.0 h".into())],
            ),
            progress("Budget", "No data yet", &[]),
        ] {
            assert!(svg.contains(">No data yet</text>"), "{svg}");
            assert!(svg.contains(": No data yet\""), "{svg}");
        }
    }

    #[test]
    fn long_labels_are_cut_and_kept_whole_in_the_tooltip() {
        let long = "A project with a very long name indeed".to_string();
        let svg = progress(
            "Budget",
            "No data yet",
            &[(long.clone(), 0.5, "50 %".into())],
        );
        assert!(
            svg.contains(&format!("<title>{long}: 50 %</title>")),
            "{svg}"
        );
        assert!(svg.contains('…'), "{svg}");
    }
}
