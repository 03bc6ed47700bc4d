//! The OpenAPI document against the running server (issue 11): schemathesis (PyPI, pinned in
//! `tests/tools/schemathesis`) generates requests from the document — valid ones the server must
//! take, invalid ones it must refuse — with a token of every module scope, checks every answer
//! against the documented responses, and follows the document's links from the records it creates.

use crate::app::TestApp;
use crate::hub_support::*;
use std::path::Path;
use std::process::Command;

fn number_before(text: &str, label: &str) -> Option<u64> {
    let at = text.find(label)?;
    text[..at].split_whitespace().last()?.parse().ok()
}

/// What to read first when the run fails, put last because a long failure is shown by its tail:
/// schemathesis' errors section and the server's lines about connections that ended early,
/// warnings, errors and panics.
fn trouble(text: &str, log: &str) -> String {
    let errors = ["FAILURES", "ERRORS"]
        .iter()
        .filter_map(|h| text.find(h))
        .min()
        .map(|at| &text[at..])
        .and_then(|rest| rest.find("SUMMARY").map(|end| &rest[..end]))
        .unwrap_or("(no errors section)");
    let server: Vec<&str> = log
        .lines()
        .filter(|l| {
            [
                "WARN",
                "ERROR",
                "panicked",
                "TLS handshake",
                "connection ",
                "idle connection",
            ]
            .iter()
            .any(|k| l.contains(k))
        })
        .collect();
    format!(
        "==== schemathesis' errors:\n{errors}\n==== the server's lines about connections, warnings and errors ({} lines):\n{}",
        server.len(),
        server.join("\n")
    )
}

#[test]
fn schemathesis_finds_no_difference_between_the_document_and_the_server() {
    // At debug, the server says why each connection ended: if a case errors (a connection cut),
    // the failure shows the server's side too.
    let env = Env {
        app: TestApp::builder()
            .with_admin()
            .log("info,holdfast::web::server=debug")
            .start(),
    };
    let (_, token) = env.token("schemathesis", ALL_SCOPES);
    let report = env.data().join("schemathesis-report");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/schemathesis");
    let out = Command::new("bash")
        .arg(&script)
        .arg(format!("https://127.0.0.1:{}", env.server.addr.port()))
        .arg(&report)
        .env("SCHEMATHESIS_TOKEN", &token)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "schemathesis reported problems:\n{text}\n{}",
        trouble(&text, &env.server.log())
    );
    // Every phase ran and generated cases; none failed or errored.
    for phase in ["Coverage", "Fuzzing", "Stateful"] {
        assert!(
            text.contains(&format!("✅ {phase}")),
            "{phase} did not pass:\n{text}"
        );
    }
    let generated = number_before(&text, "generated,").unwrap_or(0);
    let passed = number_before(&text, "passed,").unwrap_or(0);
    assert!(generated > 1000, "too few cases:\n{text}");
    assert_eq!(generated, passed, "{text}");
    // The stateful phase followed links from records it created.
    let covered = number_before(&text, "covered /").unwrap_or(0);
    assert!(
        covered >= 10,
        "the stateful phase followed {covered} links:\n{text}"
    );
    let junit = std::fs::read_dir(&report)
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.file_name().to_string_lossy().starts_with("junit"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .expect("a JUnit report");
    assert!(junit.contains(r#"errors="0" failures="0""#), "{junit}");
    // The token never reaches the report or the output.
    assert!(!text.contains(&token));
    assert!(!junit.contains(&token));
}
