//! The syslog message format: RFC 5424 header, structured data and MSG, sanitised and bounded,
//! and the RFC 6587 octet-counting frame it travels in.

use std::fmt::Write as _;

use super::ForwardEvent;

/// Facility 10, authpriv (see module docs for why not 13).
pub const FACILITY: u8 = 10;
/// Severity 4 (RFC 5424 table 2).
pub const SEVERITY_WARNING: u8 = 4;
/// Severity 5.
pub const SEVERITY_NOTICE: u8 = 5;
/// Severity 6.
pub const SEVERITY_INFORMATIONAL: u8 = 6;
/// SD-ID of our structured data. 32473 is the private enterprise number reserved for
/// documentation (RFC 5612); swap it for a registered PEN if holdfast obtains one.
pub const SD_ID: &str = "holdfast@32473";
/// Whole-message bound in octets. RFC 5425 §4.3.1 obliges every TLS receiver to accept
/// 2048 octets, and many plain TCP receivers truncate above that, so we never exceed it.
pub const MAX_MESSAGE_LEN: usize = 2048;

// RFC 5424 §6 header field limits.
const MAX_HOSTNAME: usize = 255;
const MAX_APP_NAME: usize = 48;
const MAX_MSGID: usize = 32;
// Our own per-value limits (bytes, before escaping). Chosen so that header plus structured
// data stay well under MAX_MESSAGE_LEN even when every value doubles through escaping.
const MAX_INSTANCE: usize = 64;
const MAX_EVENT: usize = 64;
const MAX_ACTOR: usize = 128;
const MAX_TARGET: usize = 128;
const MAX_SOURCE: usize = 64;
const MAX_OUTCOME: usize = 16;
const MAX_HASH: usize = 128;

const BOM: char = '\u{FEFF}';

/// Syslog severity for a security-log event; see the module docs for the mapping.
pub fn severity_for(event: &str, outcome: &str) -> u8 {
    let event = event.trim().to_ascii_lowercase();
    if event == "account_locked" || event.ends_with("_locked") || event.contains("lockout") {
        return SEVERITY_WARNING;
    }
    if event == "support_granted" {
        return SEVERITY_NOTICE;
    }
    if outcome.trim().eq_ignore_ascii_case("success") {
        SEVERITY_INFORMATIONAL
    } else {
        SEVERITY_NOTICE
    }
}

/// An alert the watch raised travels with its own severity, so a SIEM can page on it:
/// critical → 2 (critical), high → 3 (error), medium → 4 (warning), low → 5 (notice).
pub fn alert_severity(e: &ForwardEvent) -> Option<u8> {
    if e.event != "alert_raised" {
        return None;
    }
    match e.details.get("severity").and_then(|v| v.as_str())? {
        "critical" => Some(2),
        "high" => Some(3),
        "medium" => Some(4),
        _ => Some(SEVERITY_NOTICE),
    }
}

/// Renders one RFC 5424 message (without the octet-count frame), at most
/// [`MAX_MESSAGE_LEN`] octets.
///
/// MSG is sent plain when it is pure ASCII (valid as MSG-ANY and displayed identically by
/// every receiver) and with the UTF-8 BOM required by RFC 5424 §6.4 when it is not, so a
/// receiver that honours the BOM decodes names correctly while the common ASCII case does
/// not show a stray BOM in SIEMs that ignore it.
pub fn format_rfc5424(e: &ForwardEvent, cfg_app: &str, cfg_hostname: &str, pid: u32) -> String {
    let severity = alert_severity(e).unwrap_or_else(|| severity_for(&e.event, &e.outcome));
    let pri = u16::from(FACILITY) * 8 + u16::from(severity);
    let mut out = String::with_capacity(512);
    // Writing to a String cannot fail; the results are ignored deliberately.
    let _ = write!(
        out,
        "<{pri}>1 {} {} {} {pid} {} [{SD_ID}",
        timestamp(&e.at),
        print_ascii(cfg_hostname, MAX_HOSTNAME),
        print_ascii(cfg_app, MAX_APP_NAME),
        print_ascii(&e.event, MAX_MSGID),
    );
    let id = e.id.to_string();
    let params: [(&str, &str, usize); 8] = [
        ("instance", &e.instance, MAX_INSTANCE),
        ("event", &e.event, MAX_EVENT),
        ("actor", &e.actor, MAX_ACTOR),
        ("target", &e.target, MAX_TARGET),
        ("source", &e.source, MAX_SOURCE),
        ("outcome", &e.outcome, MAX_OUTCOME),
        ("id", &id, 20),
        ("hash", &e.hash, MAX_HASH),
    ];
    for (name, value, max) in params {
        out.push(' ');
        out.push_str(name);
        out.push_str("=\"");
        push_param_value(&mut out, value, max);
        out.push('"');
    }
    out.push(']');

    let msg = human_sentence(e);
    let bom_len = if msg.is_ascii() { 0 } else { BOM.len_utf8() };
    // +1 for the SP separating structured data from MSG.
    let room = MAX_MESSAGE_LEN.saturating_sub(out.len() + 1 + bom_len);
    let msg = truncate_utf8(&msg, room);
    if !msg.is_empty() {
        out.push(' ');
        if bom_len > 0 {
            out.push(BOM);
        }
        out.push_str(msg);
    }
    out
}

fn human_sentence(e: &ForwardEvent) -> String {
    let mut s = safe_text(&e.event, MAX_EVENT).replace('_', " ");
    if s.is_empty() {
        s.push_str("event");
    }
    if !e.actor.is_empty() {
        s.push_str(" by ");
        s.push_str(&safe_text(&e.actor, MAX_ACTOR));
    }
    if !e.target.is_empty() && e.target != e.actor {
        s.push_str(" on ");
        s.push_str(&safe_text(&e.target, MAX_TARGET));
    }
    if !e.source.is_empty() {
        s.push_str(" from ");
        s.push_str(&safe_text(&e.source, MAX_SOURCE));
    }
    if !e.outcome.is_empty() {
        s.push_str(": ");
        s.push_str(&safe_text(&e.outcome, MAX_OUTCOME));
    }
    let has_details = match &e.details {
        serde_json::Value::Null => false,
        serde_json::Value::Object(m) => !m.is_empty(),
        _ => true,
    };
    if has_details {
        s.push_str(" details=");
        // Compact JSON escapes control characters itself; safe_text catches the Unicode
        // separators and bidi controls JSON leaves raw. The caller truncates to fit.
        s.push_str(&safe_text(&e.details.to_string(), MAX_MESSAGE_LEN));
    }
    s
}

/// Characters that could break a line-oriented log view or spoof what an analyst sees
/// (control characters, Unicode line separators, bidirectional overrides).
pub(super) fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' | '\u{FEFF}'
        )
        || ('\u{202A}'..='\u{202E}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

fn safe_text(raw: &str, max_bytes: usize) -> String {
    truncate_utf8(raw, max_bytes)
        .chars()
        .map(|c| if is_unsafe_char(c) { '\u{FFFD}' } else { c })
        .collect()
}

/// PARAM-VALUE per RFC 5424 §6.3.3: only `"`, `\` and `]` need escaping.
fn push_param_value(out: &mut String, raw: &str, max_bytes: usize) {
    for c in truncate_utf8(raw, max_bytes).chars() {
        match c {
            '"' | '\\' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c if is_unsafe_char(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// PRINTUSASCII (%d33-126) field, or NILVALUE when nothing is left. Offending characters
/// become `_` rather than disappearing so that sanitising stays visible.
fn print_ascii(raw: &str, max_chars: usize) -> String {
    let s: String = raw
        .trim()
        .chars()
        .take(max_chars)
        .map(|c| if c.is_ascii_graphic() { c } else { '_' })
        .collect();
    if s.is_empty() { "-".to_string() } else { s }
}

pub(super) fn truncate_utf8(s: &str, max_bytes: usize) -> &str {
    if s.len() <= max_bytes {
        return s;
    }
    let mut end = max_bytes;
    // A UTF-8 character is at most 4 bytes, so this steps back at most 3 times.
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Passes the timestamp through when it matches RFC 5424's TIMESTAMP grammar, otherwise
/// sends NILVALUE so the collector uses its receive time instead of rejecting the message.
fn timestamp(at: &str) -> &str {
    if valid_timestamp(at.as_bytes()) {
        at
    } else {
        "-"
    }
}

fn valid_timestamp(b: &[u8]) -> bool {
    fn num(b: &[u8], at: usize, len: usize, min: u32, max: u32) -> bool {
        let Some(digits) = b.get(at..at + len) else {
            return false;
        };
        if !digits.iter().all(u8::is_ascii_digit) {
            return false;
        }
        let v = digits
            .iter()
            .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
        (min..=max).contains(&v)
    }
    let fixed = num(b, 0, 4, 0, 9999)
        && b.get(4) == Some(&b'-')
        && num(b, 5, 2, 1, 12)
        && b.get(7) == Some(&b'-')
        && num(b, 8, 2, 1, 31)
        && b.get(10) == Some(&b'T')
        && num(b, 11, 2, 0, 23)
        && b.get(13) == Some(&b':')
        && num(b, 14, 2, 0, 59)
        && b.get(16) == Some(&b':')
        && num(b, 17, 2, 0, 59);
    if !fixed {
        return false;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
        if !(1..=6).contains(&digits) {
            return false;
        }
        i += 1 + digits;
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            num(b, i + 1, 2, 0, 23)
                && b.get(i + 3) == Some(&b':')
                && num(b, i + 4, 2, 0, 59)
                && i + 6 == b.len()
        }
        _ => false,
    }
}

/// RFC 6587 §3.4.1 octet-counting frame: `MSG-LEN SP SYSLOG-MSG`.
pub(super) fn frame(msg: &str) -> Vec<u8> {
    let mut f = Vec::with_capacity(msg.len() + 6);
    f.extend_from_slice(msg.len().to_string().as_bytes());
    f.push(b' ');
    f.extend_from_slice(msg.as_bytes());
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::forward::test_support::event;

    #[test]
    fn golden_message() {
        let got = format_rfc5424(
            &event(42, "login_failed", "failure"),
            "holdfast",
            "hub01.example",
            4242,
        );
        let want = "<85>1 2026-11-22T10:00:00.123Z hub01.example holdfast 4242 login_failed \
            [holdfast@32473 instance=\"acme\" event=\"login_failed\" actor=\"alice\" \
            target=\"alice\" source=\"192.0.2.7\" outcome=\"failure\" id=\"42\" hash=\"ab12\"] \
            login failed by alice from 192.0.2.7: failure details={\"reason\":\"bad_password\"}";
        assert_eq!(got, want);
    }

    #[test]
    fn param_values_are_escaped() {
        let mut e = event(1, "login", "success");
        e.actor = r#"a"b\c]d"#.to_string();
        e.target = "x\ny".to_string();
        let got = format_rfc5424(&e, "holdfast", "h", 1);
        assert!(got.contains(r#" actor="a\"b\\c\]d" "#), "{got}");
        assert!(got.contains(" target=\"x\u{FFFD}y\" "), "{got}");
        assert!(!got.contains('\n'));
    }

    #[test]
    fn severity_and_pri() {
        assert_eq!(severity_for("login", "success"), 6);
        assert_eq!(severity_for("login_failed", "failure"), 5);
        assert_eq!(severity_for("account_locked", "success"), 4);
        assert_eq!(severity_for("totp_lockout", "failure"), 4);
        assert_eq!(severity_for("support_granted", "success"), 5);
        assert_eq!(severity_for("login", "weird"), 5);
        let pri = |ev, out| {
            let m = format_rfc5424(&event(1, ev, out), "a", "h", 1);
            m[..m.find('>').unwrap() + 1].to_string()
        };
        assert_eq!(pri("login", "success"), "<86>");
        assert_eq!(pri("account_locked", "success"), "<84>");
        assert_eq!(pri("support_granted", "success"), "<85>");
    }

    #[test]
    fn header_fields_are_sanitised() {
        let e = event(1, "login", "success");
        let got = format_rfc5424(&e, "hold fast", "my host\tname", 7);
        assert!(
            got.starts_with("<86>1 2026-11-22T10:00:00.123Z my_host_name hold_fast 7 login ["),
            "{got}"
        );
        let got = format_rfc5424(&e, "", "  ", 7);
        assert!(
            got.starts_with("<86>1 2026-11-22T10:00:00.123Z - - 7 login ["),
            "{got}"
        );
        let got = format_rfc5424(&e, "hölldfast", "h", 7);
        assert!(got.contains(" h_lldfast 7 "), "{got}");
    }

    #[test]
    fn msgid_is_truncated_and_sanitised() {
        let long = "a_very_long_event_name_exceeding_thirty_two_characters";
        let got = format_rfc5424(&event(1, long, "success"), "holdfast", "h", 1);
        let msgid = got.split(' ').nth(5).unwrap();
        assert_eq!(msgid, &long[..32]);
        let got = format_rfc5424(&event(1, "odd event\u{e9}", "success"), "holdfast", "h", 1);
        assert_eq!(got.split(' ').nth(5).unwrap(), "odd_event_");
    }

    #[test]
    fn timestamps_are_validated() {
        for ok in [
            "2026-11-22T10:00:00.123Z",
            "2026-11-22T10:00:00Z",
            "2026-11-22T10:00:00.123456+01:00",
        ] {
            assert!(valid_timestamp(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "",
            "2026-11-22 10:00:00Z",
            "2026-13-22T10:00:00Z",
            "2026-11-22T10:00:00.1234567Z",
            "2026-11-22T10:00:00.123Zx",
        ] {
            assert!(!valid_timestamp(bad.as_bytes()), "{bad}");
        }
        let mut e = event(1, "login", "success");
        e.at = "yesterday".to_string();
        assert!(format_rfc5424(&e, "a", "h", 1).starts_with("<86>1 - h a 1 login "));
    }

    #[test]
    fn oversized_input_stays_within_bound() {
        let big = "\"]\\é".repeat(2000);
        let e = ForwardEvent {
            at: "2026-11-22T10:00:00.123Z".to_string(),
            instance: big.clone(),
            event: big.clone(),
            actor: big.clone(),
            target: big.clone(),
            source: big.clone(),
            outcome: big.clone(),
            details: serde_json::json!({ "k": big.clone() }),
            id: i64::MIN,
            hash: big.clone(),
        };
        let got = format_rfc5424(&e, &big, &"h".repeat(1000), u32::MAX);
        assert!(got.len() <= MAX_MESSAGE_LEN, "{}", got.len());
        assert!(got.contains(&format!(" id=\"{}\" ", i64::MIN)));
        // Non-ASCII MSG carries the BOM right after the structured data.
        assert!(got.contains("] \u{FEFF}"));
    }

    #[test]
    fn ascii_message_has_no_bom() {
        let got = format_rfc5424(&event(1, "login", "success"), "a", "h", 1);
        assert!(!got.contains('\u{FEFF}'));
    }
}
