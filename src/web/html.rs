//! Escaping text for the bits of HTML and SVG the handlers build by hand (templates escape their own).

/// `s` safe inside an element or a quoted attribute.
pub fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}
