//! The authenticator-app second factor through the JSON API: enrolment, sign-in with a code, no
//! replay of a code, recovery codes that work once.

use crate::app::TestApp;
use crate::support::*;

const PASSWORD: &str = "orchard lantern basalt 31";

fn code(secret_b32: &str, offset_steps: i64) -> String {
    let secret = data_encoding::BASE32_NOPAD
        .decode(secret_b32.as_bytes())
        .unwrap();
    let now = chrono::Utc::now().timestamp() + offset_steps * 30;
    format!("{:06}", holdfast::auth::totp::code_at(&secret, now))
}

fn session(r: &Resp) -> String {
    format!("{SESSION}={}", session_cookie(r).unwrap())
}

async fn post(c: &Client, path: &str, cookie: Option<&str>, body: &str) -> Resp {
    let mut h = vec![("content-type", "application/json")];
    if let Some(k) = cookie {
        h.push(("cookie", k));
    }
    c.request("POST", "localhost", path, &h, body.as_bytes())
        .await
}

#[tokio::test]
async fn authenticator_app_enrolment_sign_in_and_recovery_codes() {
    let staged = TestApp::builder().prepare();
    staged.ok(&["init"]);
    staged.add_user("tilda", &[], PASSWORD);
    // The strongest policy: only an authenticator app counts. Mail is not even configured.
    staged.ok(&["admin", "policy", "set", "second_factor=required_totp"]);
    let app = staged.start();
    let c = app.client.clone();
    let creds = format!("{{\"username\":\"tilda\",\"password\":\"{PASSWORD}\"}}");

    // The password alone does not even allow enrolling an app (a phished password would bind the
    // attacker's app): a verified step comes first. Mail is off, so only an enrolment code an
    // administrator issues will do.
    let r = post(&c, "/api/v1/session", None, &creds).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["status"], "enrolment_verification_required", "{}", r.body);
    assert_eq!(
        v["verify_with"],
        serde_json::json!(["enrolment_code"]),
        "{}",
        r.body
    );
    let unverified = session(&r);
    for path in ["/api/v1/session/totp", "/api/v1/session/totp/confirm"] {
        let r = post(&c, path, Some(&unverified), r#"{"code":"000000"}"#).await;
        assert!(
            r.status == 401 || r.status == 422,
            "{path} before the verified step: {} {}",
            r.status,
            r.body
        );
        assert!(!r.body.contains("secret"), "{}", r.body);
    }
    let r = c
        .request(
            "GET",
            "localhost",
            "/api/v1/clients",
            &[("cookie", unverified.as_str())],
            b"",
        )
        .await;
    assert_eq!(r.status, 401, "a half-signed-in session reached data");
    // A guessed enrolment code fails; the administrator's code works once.
    let r = post(
        &c,
        "/api/v1/session/enrolment-verify",
        Some(&unverified),
        r#"{"code":"aaaa-bbbb-cccc"}"#,
    )
    .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let out = app.console(&["admin", "user", "enrolment-code", "tilda"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let enrol_code = text(&out.stdout)
        .rsplit(' ')
        .next()
        .unwrap()
        .trim()
        .to_string();
    let r = post(
        &c,
        "/api/v1/session/enrolment-verify",
        Some(&unverified),
        &format!("{{\"code\":\"{enrol_code}\"}}"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("totp_enrollment_required"), "{}", r.body);
    let pending = session(&r);
    assert_ne!(
        pending, unverified,
        "the verified step gets a new session id"
    );
    let r = post(&c, "/api/v1/session/totp", Some(&pending), "{}").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let secret = v["secret"].as_str().unwrap().to_string();
    assert!(v["qr_svg"].as_str().unwrap().contains("<svg"));
    let r = post(
        &c,
        "/api/v1/session/totp/confirm",
        Some(&pending),
        r#"{"code":"000000"}"#,
    )
    .await;
    assert_eq!(r.status, 422, "a wrong code enrolled the app: {}", r.body);
    let r = post(
        &c,
        "/api/v1/session/totp/confirm",
        Some(&pending),
        &format!("{{\"code\":\"{}\"}}", code(&secret, 0)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(v["status"], "signed_in", "{}", r.body);
    let recovery: Vec<String> = v["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert_eq!(recovery.len(), 10);
    let full = session(&r);
    assert_eq!(
        c.request(
            "GET",
            "localhost",
            "/api/v1/clients",
            &[("cookie", full.as_str())],
            b""
        )
        .await
        .status,
        200
    );

    // Next sign-in: the app's code (the one just used cannot be replayed, so take the next step's).
    let r = post(&c, "/api/v1/session", None, &creds).await;
    assert!(r.body.contains("\"totp\""), "{}", r.body);
    let p = session(&r);
    let replay = post(
        &c,
        "/api/v1/session/second-factor",
        Some(&p),
        &format!("{{\"code\":\"{}\"}}", code(&secret, 0)),
    )
    .await;
    assert_eq!(replay.status, 401, "a TOTP code was accepted twice");
    let r = post(
        &c,
        "/api/v1/session/second-factor",
        Some(&p),
        &format!("{{\"code\":\"{}\"}}", code(&secret, 1)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("signed_in"));

    // A recovery code works once.
    let r = post(&c, "/api/v1/session", None, &creds).await;
    let p = session(&r);
    let r = post(
        &c,
        "/api/v1/session/second-factor",
        Some(&p),
        &format!("{{\"code\":\"{}\"}}", recovery[3]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = post(&c, "/api/v1/session", None, &creds).await;
    let p = session(&r);
    let r = post(
        &c,
        "/api/v1/session/second-factor",
        Some(&p),
        &format!("{{\"code\":\"{}\"}}", recovery[3]),
    )
    .await;
    assert_eq!(r.status, 401, "a recovery code was accepted twice");
    let log = text(&app.console(&["admin", "audit", "--json"]).stdout);
    assert!(
        log.contains("second_factor_enrolled")
            && log.contains("recovery_code_used")
            && log.contains("enrolment_code_issued")
            && log.contains("enrolment_verified"),
        "{log}"
    );
    assert!(
        !log.contains(&enrol_code),
        "the enrolment code reached the security log"
    );
    assert!(
        !log.contains(&secret),
        "the TOTP secret reached the security log"
    );
    assert!(app.stop().success());
}
