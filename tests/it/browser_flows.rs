//! Browser walks through the real UI in Debian's headless Chromium, with screenshots kept in
//! `target/test-artifacts/` for people to look at.

use crate::app::TestApp;
use crate::browser::Browser;
use crate::smtp_sink::SmtpSink;
use crate::support::*;
use std::path::PathBuf;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

pub fn artifacts() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The newest six-digit code mailed to `to`, waiting for one newer than `seen` messages.
fn code_for(sink: &SmtpSink, to: &str, seen: usize) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let mails: Vec<_> = sink
            .messages()
            .into_iter()
            .filter(|m| {
                m.to.iter().any(|t| t == to)
                    && m.subject().is_some_and(|s| s.contains("sign-in code"))
            })
            .collect();
        if mails.len() > seen {
            let body = mails.last().unwrap().body();
            let code: String = body
                .split_whitespace()
                .find(|w| w.len() == 6 && w.chars().all(|c| c.is_ascii_digit()))
                .expect("a six-digit code in the mail")
                .to_string();
            return code;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no sign-in code mailed to {to}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn codes_sent(sink: &SmtpSink, to: &str) -> usize {
    sink.messages()
        .iter()
        .filter(|m| {
            m.to.iter().any(|t| t == to) && m.subject().is_some_and(|s| s.contains("sign-in code"))
        })
        .count()
}

async fn sign_in(b: &Browser, base: &str, user: &str, password: &str) {
    b.goto(&format!("{base}/signin")).await.unwrap();
    b.fill("input[name=username]", user).await.unwrap();
    b.fill("input[name=password]", password).await.unwrap();
    b.submit_form("form[action='/signin'] button[type=submit]")
        .await
        .unwrap();
}

async fn enter_code(b: &Browser, code: &str) {
    b.wait_for("input[name=code]", WAIT).await.unwrap();
    b.fill("input[name=code]", code).await.unwrap();
    b.submit_form("form[action='/signin/code'] button[type=submit]")
        .await
        .unwrap();
}

async fn sign_out(b: &Browser) {
    b.submit_form("form[action='/signout'] button")
        .await
        .unwrap();
    b.wait_for("form[action='/signin']", WAIT).await.unwrap();
}

#[tokio::test]
async fn setup_signin_code_lockout_unlock_walk() {
    let app = TestApp::builder().with_mail().start();
    let sink = app.sink();
    for setting in ["lockout_threshold=3", "second_factor=required"] {
        app.ok(&["admin", "policy", "set", setting]);
    }
    let link = text(&app.console(&["admin", "setup-link"]).stdout);
    let token = link
        .trim()
        .split("token=")
        .nth(1)
        .expect("setup link")
        .to_string();
    let base = app.origin.clone();
    let shots = artifacts();
    let b = app.browser(1280, 800).await;

    // First run: the setup page creates the first administrator.
    b.goto(&format!("{base}/setup?token={token}"))
        .await
        .unwrap();
    b.wait_for("input[name=username]", WAIT).await.unwrap();
    b.screenshot(&shots.join("identity-01-setup.png"))
        .await
        .unwrap();
    b.fill("input[name=username]", "chief").await.unwrap();
    b.fill("input[name=email]", "chief@example.test")
        .await
        .unwrap();
    b.fill("input[name=password]", "tidal basin lantern 2219")
        .await
        .unwrap();
    b.fill("input[name=confirm]", "tidal basin lantern 2219")
        .await
        .unwrap();
    b.submit_form("form[action='/setup'] button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("administrator account is ready", WAIT)
        .await
        .unwrap();

    // Sign in with the e-mailed code.
    sign_in(&b, &base, "chief", "tidal basin lantern 2219").await;
    let code = code_for(sink, "chief@example.test", 0);
    b.screenshot(&shots.join("identity-02-code.png"))
        .await
        .unwrap();
    enter_code(&b, &code).await;
    b.wait_for_text("Good to see you, chief", WAIT)
        .await
        .unwrap();
    b.screenshot(&shots.join("identity-03-dashboard.png"))
        .await
        .unwrap();

    // The admin creates a clerk in the UI and reads the temporary password off the page.
    b.goto(&format!("{base}/admin/users")).await.unwrap();
    b.fill("form[action='/admin/users'] input[name=username]", "clerk")
        .await
        .unwrap();
    b.fill(
        "form[action='/admin/users'] input[name=email]",
        "clerk@example.test",
    )
    .await
    .unwrap();
    b.submit_form("form[action='/admin/users'] button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("Temporary password", WAIT).await.unwrap();
    let page = b
        .execute("return document.body.innerText", serde_json::Value::Null)
        .await
        .unwrap();
    let temp = page
        .as_str()
        .unwrap()
        .split("at first sign-in): ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    b.screenshot(&shots.join("identity-04-users.png"))
        .await
        .unwrap();
    sign_out(&b).await;

    // Wrong password three times locks the clerk; then even the right one fails the same way.
    for _ in 0..3 {
        sign_in(&b, &base, "clerk", "not the password at all").await;
        b.wait_for_text("user name or password is wrong", WAIT)
            .await
            .unwrap();
    }
    sign_in(&b, &base, "clerk", &temp).await;
    b.wait_for_text("user name or password is wrong", WAIT)
        .await
        .unwrap();
    b.screenshot(&shots.join("identity-05-locked.png"))
        .await
        .unwrap();
    let list = text(&app.console(&["admin", "user", "list"]).stdout);
    assert!(
        list.lines()
            .any(|l| l.starts_with("clerk") && l.contains("locked")),
        "{list}"
    );
    assert!(
        sink.wait_for(
            |m| m
                .subject()
                .is_some_and(|s| s.contains("account clerk locked")),
            WAIT
        )
        .is_some(),
        "admins are told about the lockout"
    );

    // The admin unlocks the clerk in the UI.
    let seen = codes_sent(sink, "chief@example.test");
    sign_in(&b, &base, "chief", "tidal basin lantern 2219").await;
    enter_code(&b, &code_for(sink, "chief@example.test", seen)).await;
    b.goto(&format!("{base}/admin/users")).await.unwrap();
    b.submit_form("form[action='/admin/users/clerk/unlock'] button")
        .await
        .unwrap();
    b.wait_for_text("clerk unlocked", WAIT).await.unwrap();
    sign_out(&b).await;

    // Now the clerk signs in: code, then the forced change of the temporary password.
    sign_in(&b, &base, "clerk", &temp).await;
    enter_code(&b, &code_for(sink, "clerk@example.test", 0)).await;
    b.wait_for("input[name=new_password]", WAIT).await.unwrap();
    b.screenshot(&shots.join("identity-06-new-password.png"))
        .await
        .unwrap();
    b.fill("input[name=new_password]", "quiet harbour pylon 5531")
        .await
        .unwrap();
    b.fill("input[name=confirm]", "quiet harbour pylon 5531")
        .await
        .unwrap();
    b.submit_form("form[action='/signin/password'] button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("Good to see you, clerk", WAIT)
        .await
        .unwrap();
    // A clerk is not an administrator.
    b.goto(&format!("{base}/admin/users")).await.unwrap();
    b.wait_for_text("do not allow this", WAIT).await.unwrap();

    b.set_window_size(820, 1180).await.unwrap();
    b.goto(&format!("{base}/account")).await.unwrap();
    b.screenshot(&shots.join("identity-07-account-tablet.png"))
        .await
        .unwrap();
    // 401/403 answers show up as console noise; what must never appear is a blocked script or style.
    let errors = b.console_errors().await.unwrap_or_default();
    let csp: Vec<_> = errors
        .iter()
        .filter(|e| e.contains("Refused to") || e.contains("Content Security Policy"))
        .collect();
    assert!(csp.is_empty(), "CSP violations: {csp:?}");
    b.quit().await.unwrap();

    let log = text(&app.console(&["admin", "audit", "--json"]).stdout);
    for event in [
        "setup_completed",
        "second_factor_sent",
        "account_locked",
        "account_unlocked",
        "password_changed",
        "login_succeeded",
    ] {
        assert!(
            log.contains(&format!("\"event\":\"{event}\"")),
            "{event} missing from the security log"
        );
    }
    assert!(app.stop().success());
}
