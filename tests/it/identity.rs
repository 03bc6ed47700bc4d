//! Identity rules, including the attacks a security officer will try: setup link, sign-in, cookies,
//! enumeration, lockout, e-mailed codes, temporary passwords, password policy, session ending,
//! request forgery, per-route access, vendor support accounts, the security log and throttling.
//!
//! Every test has its own data dir and server. All traffic comes from 127.0.0.1 unless a test
//! binds another loopback address (127.0.0.2) to act as a second client host. The per-address
//! throttle allows 10 failures in a burst, so each test keeps its failures below that.
//! Tests that once exposed a bug keep a `// BUG (fixed):` note saying what it was.

use crate::identity_support::*;
use crate::support::*;
use serde_json::{Value, json};

const ALICE_PW: &str = "velvet horse battery staple 42";
const WRONG_PW: &str = "incorrect donkey battery staple 13";

/// The one body every failed sign-in gets (taken from an unknown user name).
async fn failure_body(hub: &Hub) -> String {
    let r = hub
        .sign_in("nobody-by-that-name", "no such user staple 00")
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    r.body
}

// ---- 1. setup link ------------------------------------------------------------------------------

#[tokio::test]
async fn setup_link_is_single_use_hashed_and_refused_once_an_admin_exists() {
    let hub = Hub::start();
    const SETUP_PW: &str = "first admin staple battery 52";

    // A made-up token gets no form.
    let bogus = hub.get("/setup?token=not-a-real-setup-token", None).await;
    assert!(
        (400..500).contains(&bogus.status),
        "bogus setup token: {}",
        bogus.status
    );
    assert!(hidden_field(&bogus.body, "token").is_none());

    let link = hub.ok(&["admin", "setup-link"]);
    let link = link.trim();
    assert!(link.starts_with("https://"), "{link}");
    let token = link.split("token=").nth(1).expect("token= in the link");
    assert!(token.len() >= 32, "setup token too short: {token}");

    let page = hub.get(&format!("/setup?token={token}"), None).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let pre = set_cookie(&page, PRE).expect("pre-sign-in cookie");
    let csrf = hidden_field(&page.body, "csrf").expect("csrf field");
    assert_eq!(csrf, pre, "the form carries the double-submit token");
    let cookies = format!("{PRE}={pre}");

    // POST with a bogus token (valid CSRF) creates nobody.
    let r = hub
        .form(
            "/setup",
            &cookies,
            &[
                ("csrf", &csrf),
                ("token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
                ("username", "eve"),
                ("email", "eve@example.test"),
                ("password", SETUP_PW),
                ("confirm", SETUP_PW),
            ],
            &[],
        )
        .await;
    assert!(
        (400..500).contains(&r.status),
        "bogus token POST: {}",
        r.status
    );
    assert!(!hub.user_exists("eve"));

    // The real one works once.
    let first = [
        ("csrf", csrf.as_str()),
        ("token", token),
        ("username", ADMIN),
        ("email", ADMIN_EMAIL),
        ("password", SETUP_PW),
        ("confirm", SETUP_PW),
    ];
    let r = hub
        .form("/setup", &cookies, &first, &[("origin", &hub.origin)])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(hub.user_state(ADMIN).contains("admins"));

    // Replaying the same token (another name) is refused and creates no second admin.
    let replay = [
        ("csrf", csrf.as_str()),
        ("token", token),
        ("username", "mallet"),
        ("email", "mallet@example.test"),
        ("password", SETUP_PW),
        ("confirm", SETUP_PW),
    ];
    let r = hub.form("/setup", &cookies, &replay, &[]).await;
    assert!(
        (400..500).contains(&r.status),
        "replayed token: {}",
        r.status
    );
    assert!(!hub.user_exists("mallet"));
    let again = hub.get(&format!("/setup?token={token}"), None).await;
    assert!(
        (400..500).contains(&again.status),
        "used link still shows a form"
    );
    assert!(hidden_field(&again.body, "password").is_none());

    // No new link while an admin exists.
    let refused = hub.refused(&["admin", "setup-link"]);
    assert!(
        refused.contains("already has an administrator"),
        "{refused}"
    );
    assert!(!refused.contains("token="), "{refused}");

    hub.signed_in(ADMIN, SETUP_PW).await;

    // The token is nowhere on disk (db, WAL, keys …) nor in the server log.
    for f in files_below(hub.dir.path()) {
        assert!(
            !file_contains(&f, token.as_bytes()),
            "setup token found in {}",
            f.display()
        );
    }
    assert!(!hub.server.log().contains(token));

    let issued = hub.audit_rows("setup_link_issued", None);
    assert_eq!(issued.len(), 1, "one link issued");
    assert_eq!(issued[0]["actor_kind"], "console");
    let done = hub.audit_rows("setup_completed", Some(ADMIN));
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["source"], "127.0.0.1");
    assert!(!serde_json::to_string(&hub.audit()).unwrap().contains(token));
}

// ---- 2. JSON sign-in, cookie, sign-out ----------------------------------------------------------

#[tokio::test]
async fn json_sign_in_sets_a_host_only_strict_cookie_and_sign_out_kills_it() {
    let hub = Hub::start();
    hub.add_user("alice", &["users"], ALICE_PW);

    // A cookie planted by an attacker before sign-in is not adopted (no session fixation).
    const PLANTED: &str = "planted-by-attacker-0000000000000000000000";
    let planted = format!("{SESSION}={PLANTED}");
    let creds = json!({ "username": "alice", "password": ALICE_PW }).to_string();
    let r = hub
        .req(
            "POST",
            "/api/v1/session",
            &[("content-type", "application/json"), ("cookie", &planted)],
            creds.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_ne!(session_cookie(&r).unwrap(), PLANTED);
    assert_eq!(hub.whoami(PLANTED).await.status, 401);

    let r = hub.sign_in("alice", ALICE_PW).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = json_of(&r);
    assert_eq!(body["status"], "signed_in");
    let csrf = body["csrf_token"].as_str().expect("csrf_token").to_string();
    let line = set_cookie_line(&r, SESSION).expect("session cookie");
    let mut attrs = line.split(';').map(str::trim);
    let (name, token) = attrs.next().unwrap().split_once('=').unwrap();
    assert_eq!(name, "__Host-hf_session");
    assert!(token.len() >= 32, "session token too short");
    let attrs: Vec<&str> = attrs.collect();
    for want in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(attrs.contains(&want), "cookie lacks {want}: {line}");
    }
    assert!(
        !attrs
            .iter()
            .any(|a| a.to_ascii_lowercase().starts_with("domain")),
        "__Host- cookies must not name a Domain: {line}"
    );
    let token = token.to_string();

    let me = hub.whoami(&token).await;
    assert_eq!(me.status, 200);
    let me = json_of(&me);
    assert_eq!(me["status"], "signed_in");
    assert_eq!(me["username"], "alice");
    let perms: Vec<&str> = me["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(perms.contains(&"clients:view"), "{perms:?}");
    assert!(!perms.contains(&"admin"), "{perms:?}");

    // Sign out (scripts send the CSRF token in a header).
    let cookie = format!("{SESSION}={token}");
    let out = hub
        .req(
            "DELETE",
            "/api/v1/session",
            &[("cookie", &cookie), ("x-csrf-token", &csrf)],
            b"",
        )
        .await;
    assert_eq!(out.status, 200, "{}", out.body);
    assert_eq!(json_of(&out)["status"], "signed_out");
    let cleared = set_cookie_line(&out, SESSION).expect("cookie cleared");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // The browser is told to drop what it stored for the origin (ASVS V14.3.1).
    assert_eq!(out.header("clear-site-data"), "\"cookies\", \"storage\"");

    let after = hub.whoami(&token).await;
    assert_eq!(after.status, 401, "old cookie after sign-out");
    assert_eq!(json_of(&after)["error"]["code"], "unauthenticated");
    let again = hub
        .api("DELETE", "/api/v1/session", Some(&token), None)
        .await;
    assert_eq!(again.status, 401);
    assert_eq!(hub.audit_rows("signed_out", Some("alice")).len(), 1);
}

// ---- 3. no user enumeration ---------------------------------------------------------------------

#[tokio::test]
async fn failed_sign_ins_are_identical_for_unknown_wrong_locked_and_disabled() {
    let hub = Hub::start();
    hub.policy("lockout_threshold=3");
    const DAVE_PW: &str = "amber battery horse staple 31";
    const ERIN_PW: &str = "cobalt battery horse staple 32";
    const FRANK_PW: &str = "indigo battery horse staple 33";
    hub.add_user("dave", &["users"], DAVE_PW);
    hub.add_user("erin", &["users"], ERIN_PW);
    hub.add_user("frank", &["users"], FRANK_PW);

    let unknown = hub.sign_in("nosuchuser", DAVE_PW).await;
    let wrong = hub.sign_in("dave", WRONG_PW).await;
    for i in 0..3 {
        let r = hub.sign_in("erin", &format!("erin wrong guess {i}")).await;
        assert_eq!(r.status, 401);
    }
    assert!(hub.user_state("erin").contains("locked"));
    let locked = hub.sign_in("erin", ERIN_PW).await;
    hub.ok(&["admin", "user", "disable", "frank"]);
    let disabled = hub.sign_in("frank", FRANK_PW).await;

    let cases = [
        ("unknown user", &unknown),
        ("wrong password", &wrong),
        ("locked account, right password", &locked),
        ("disabled account, right password", &disabled),
    ];
    let header_names = |r: &Resp| {
        let mut n: Vec<String> = r
            .headers
            .keys()
            .map(|k| k.as_str().to_string())
            .filter(|k| k != "date")
            .collect();
        n.sort();
        n
    };
    for (what, r) in cases {
        assert_eq!(r.status, 401, "{what}: {}", r.body);
        assert_eq!(r.body, unknown.body, "{what} differs from an unknown user");
        assert_eq!(header_names(r), header_names(&unknown), "{what} headers");
        assert!(set_cookie(r, SESSION).is_none(), "{what} got a session");
    }
    assert_eq!(json_of(&unknown)["error"]["code"], "sign_in_failed");
}

// ---- 4. lockout -----------------------------------------------------------------------------------

#[tokio::test]
async fn lockout_refuses_the_right_password_until_unlocked_and_mails_the_admins() {
    let hub = Hub::with_mail();
    hub.add_admin();
    hub.policy("lockout_threshold=3");
    const CAROL_PW: &str = "copper lantern harbour staple 44";
    hub.add_user("carol", &["users"], CAROL_PW);
    let baseline = failure_body(&hub).await;

    for i in 0..3 {
        let r = hub
            .sign_in("carol", &format!("carol wrong guess {i}"))
            .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.body, baseline);
    }
    let r = hub.sign_in("carol", CAROL_PW).await;
    assert_eq!(
        r.status, 401,
        "locked account must refuse the right password"
    );
    assert_eq!(
        r.body, baseline,
        "a locked account looks like a wrong password"
    );
    assert!(hub.user_state("carol").contains("locked"));

    let locked_mail = hub.wait_mail(ADMIN_EMAIL, "locked");
    assert!(locked_mail.subject().unwrap().contains("carol"));
    assert!(locked_mail.body().contains("carol"));
    assert!(!locked_mail.body().contains(CAROL_PW));

    let out = hub.ok(&["admin", "user", "unlock", "carol"]);
    assert!(out.contains("unlocked"), "{out}");
    assert!(!hub.user_state("carol").contains("locked"));
    hub.signed_in("carol", CAROL_PW).await;

    // The console queued the unlock notice; any failed sign-in wakes the server's mail sender
    // (otherwise it polls every 30 s).
    let nudge = hub.sign_in(ADMIN, "nudge the mail sender staple 01").await;
    assert_eq!(nudge.status, 401);
    let unlock_mail = hub.wait_mail(ADMIN_EMAIL, "unlocked");
    assert!(unlock_mail.subject().unwrap().contains("carol"));

    let locked = hub.audit_rows("account_locked", Some("carol"));
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0]["actor_kind"], "system");
    let unlocked = hub.audit_rows("account_unlocked", Some("carol"));
    assert_eq!(unlocked.len(), 1);
    assert_eq!(unlocked[0]["actor_kind"], "console");
}

// ---- 5. e-mailed code ---------------------------------------------------------------------------

#[tokio::test]
async fn emailed_code_signs_in_with_a_new_session_id_and_works_once() {
    let hub = Hub::with_mail();
    hub.add_admin();
    hub.policy("second_factor=required");
    const GINA_PW: &str = "quartz meadow staple 55 green";
    hub.add_user("gina", &["users"], GINA_PW);

    let r = hub.sign_in("gina", GINA_PW).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        json_of(&r),
        json!({ "status": "second_factor_required", "methods": ["email"] })
    );
    let pending = session_cookie(&r).expect("pending cookie");
    let me = json_of(&hub.whoami(&pending).await);
    assert_eq!(me["status"], "second_factor_required");
    // The half session cannot skip the code: no pages, no password change.
    let r = hub.get("/", Some(&pending)).await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), "/signin/code");
    let r = hub
        .change_password(&pending, Some(GINA_PW), "skipping the code staple 59")
        .await;
    assert_eq!(r.status, 401, "password change before the code: {}", r.body);

    let code = hub.wait_code("gina@example.test", 0);
    let r = hub.code(&pending, &code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json_of(&r)["status"], "signed_in");
    let full = session_cookie(&r).expect("new cookie");
    assert_ne!(
        full, pending,
        "the session id must change after the second factor"
    );
    assert_eq!(json_of(&hub.whoami(&full).await)["status"], "signed_in");
    assert_eq!(
        hub.whoami(&pending).await.status,
        401,
        "pending session ended"
    );

    // The code is spent: neither the old nor the new cookie can use it again.
    assert_eq!(hub.code(&pending, &code).await.status, 401);
    assert_eq!(hub.code(&full, &code).await.status, 401);
    assert_eq!(json_of(&hub.whoami(&full).await)["status"], "signed_in");

    let ok = hub.audit_rows("login_succeeded", Some("gina"));
    assert_eq!(ok.len(), 1);
    assert!(ok[0]["details"].as_str().unwrap().contains("email"));
    assert_eq!(hub.audit_rows("second_factor_sent", Some("gina")).len(), 1);
}

#[tokio::test]
async fn five_wrong_codes_end_the_attempt_even_for_the_right_code() {
    let hub = Hub::with_mail();
    hub.add_admin();
    hub.policy("second_factor=required");
    hub.policy("lockout_threshold=20");
    const HANK_PW: &str = "pebble orchard staple 56 grey";
    hub.add_user("hank", &["users"], HANK_PW);

    let r = hub.sign_in("hank", HANK_PW).await;
    let pending = session_cookie(&r).unwrap();
    let code = hub.wait_code("hank@example.test", 0);
    for i in 0..5 {
        let r = hub.code(&pending, &wrong_code(&code, i)).await;
        assert_eq!(r.status, 401, "wrong code {i}: {}", r.body);
    }
    let sixth = hub.code(&pending, &code).await;
    assert_eq!(
        sixth.status, 401,
        "the attempt must be over after 5 wrong codes"
    );
    assert!(session_cookie(&sixth).is_none());
    assert_eq!(hub.whoami(&pending).await.status, 401);
    assert_eq!(
        hub.audit_rows("second_factor_failed", Some("hank")).len(),
        5
    );

    // Only that attempt ended: a fresh sign-in with its own code works.
    assert!(!hub.user_state("hank").contains("locked"));
    let r = hub.sign_in("hank", HANK_PW).await;
    let pending2 = session_cookie(&r).unwrap();
    let code2 = hub.wait_code("hank@example.test", 1);
    let r = hub.code(&pending2, &code2).await;
    assert_eq!(json_of(&r)["status"], "signed_in", "{}", r.body);
}

#[tokio::test]
async fn a_code_only_works_for_the_sign_in_attempt_it_was_sent_for() {
    let hub = Hub::with_mail();
    hub.add_admin();
    hub.policy("second_factor=required");
    const IVY_PW: &str = "copper lagoon staple 57 teal";
    hub.add_user("ivy", &["users"], IVY_PW);

    let a = session_cookie(&hub.sign_in("ivy", IVY_PW).await).unwrap();
    let code_a = hub.wait_code("ivy@example.test", 0);
    let b = session_cookie(&hub.sign_in("ivy", IVY_PW).await).unwrap();
    let code_b = hub.wait_code("ivy@example.test", 1);
    assert_ne!(a, b);
    assert_ne!(
        code_a, code_b,
        "two attempts got the same code (1 in a million)"
    );

    let r = hub.code(&b, &code_a).await;
    assert_eq!(r.status, 401, "attempt A's code must not finish attempt B");
    assert!(session_cookie(&r).is_none());
    assert_eq!(hub.code(&a, &code_b).await.status, 401);

    // Each code still finishes its own attempt.
    assert_eq!(json_of(&hub.code(&a, &code_a).await)["status"], "signed_in");
    assert_eq!(json_of(&hub.code(&b, &code_b).await)["status"], "signed_in");
}

#[tokio::test]
async fn wrong_codes_and_wrong_passwords_share_the_lockout_counter() {
    let hub = Hub::with_mail();
    hub.add_admin();
    hub.policy("second_factor=required");
    hub.policy("lockout_threshold=3");
    const JACK_PW: &str = "saffron canyon staple 58 red";
    hub.add_user("jack", &["users"], JACK_PW);
    let baseline = failure_body(&hub).await;

    assert_eq!(hub.sign_in("jack", WRONG_PW).await.status, 401);
    let pending = session_cookie(&hub.sign_in("jack", JACK_PW).await).unwrap();
    let code = hub.wait_code("jack@example.test", 0);
    for i in 0..2 {
        assert_eq!(hub.code(&pending, &wrong_code(&code, i)).await.status, 401);
    }
    assert!(
        hub.user_state("jack").contains("locked"),
        "1 wrong password + 2 wrong codes = threshold 3"
    );
    assert_eq!(hub.audit_rows("account_locked", Some("jack")).len(), 1);
    let r = hub.code(&pending, &code).await;
    assert_eq!(r.status, 401, "the right code after the lock");
    let r = hub.sign_in("jack", JACK_PW).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, baseline);
    hub.wait_mail(ADMIN_EMAIL, "jack locked");
}

// ---- 6. temporary password ----------------------------------------------------------------------

#[tokio::test]
async fn temporary_password_must_be_changed_before_anything_else() {
    let hub = Hub::start();
    let temp = hub.add_temp_user("bob", &["admins"]);
    assert!(temp.len() >= 20, "temporary password too short: {temp}");
    assert!(hub.user_state("bob").contains("must change password"));

    let r = hub.sign_in("bob", &temp).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json_of(&r), json!({ "status": "password_change_required" }));
    let pending = session_cookie(&r).unwrap();
    assert_eq!(
        json_of(&hub.whoami(&pending).await)["status"],
        "password_change_required"
    );

    // Nothing that needs a full session is reachable yet.
    for path in ["/admin", "/"] {
        let r = hub.get(path, Some(&pending)).await;
        assert_eq!(r.status, 303, "{path} with a half session: {}", r.status);
        assert_eq!(r.header("location"), "/signin/password");
    }
    assert_eq!(
        hub.get("/signin/password", Some(&pending)).await.status,
        200
    );

    for weak in ["qwerty123456", "short", temp.as_str()] {
        let r = hub.change_password(&pending, None, weak).await;
        assert_eq!(r.status, 422, "weak password `{weak}`: {}", r.body);
        let err = &json_of(&r)["error"];
        assert_eq!(err["code"], "invalid");
        assert!(err["field"].is_string(), "no field: {}", r.body);
    }

    const BOB_PW: &str = "chosen by himself staple 61";
    let r = hub.change_password(&pending, None, BOB_PW).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json_of(&r)["status"], "signed_in");
    let full = session_cookie(&r).unwrap();
    assert_ne!(full, pending);
    assert_eq!(hub.whoami(&pending).await.status, 401);
    assert_eq!(hub.get("/admin", Some(&full)).await.status, 200);

    assert_eq!(hub.sign_in("bob", &temp).await.status, 401);
    hub.signed_in("bob", BOB_PW).await;
    assert!(!hub.user_state("bob").contains("must change password"));
}

#[tokio::test]
async fn a_refused_new_password_is_reported_against_the_field_that_was_sent() {
    // BUG (fixed): src/web/error.rs (From<AccountError>): PasswordRejected always maps to field
    // "password", but POST /api/v1/session/password takes `new_password` (the wrong current
    // password is correctly reported as `current_password`). A client cannot mark the right input.
    let hub = Hub::start();
    let temp = hub.add_temp_user("bea", &["users"]);
    let pending = session_cookie(&hub.sign_in("bea", &temp).await).unwrap();
    let r = hub.change_password(&pending, None, "qwerty123456").await;
    assert_eq!(r.status, 422);
    assert_eq!(json_of(&r)["error"]["field"], "new_password", "{}", r.body);
}

// ---- 7. password policy -------------------------------------------------------------------------

#[tokio::test]
async fn password_policy_refuses_bad_settings_common_names_and_reuse() {
    let hub = Hub::start();
    let before = hub.ok(&["admin", "policy", "show"]);

    let msg = hub.refused(&["admin", "policy", "set", "password_min_length=7"]);
    assert!(msg.contains("8–128"), "allowed range missing: {msg}");
    let msg = hub.refused(&["admin", "policy", "set", "lockout_threshold=0"]);
    assert!(msg.contains("1–100"), "{msg}");
    let msg = hub.refused(&["admin", "policy", "set", "second_factor=sometimes"]);
    assert!(msg.contains("required"), "choices missing: {msg}");
    assert_eq!(
        hub.ok(&["admin", "policy", "show"]),
        before,
        "policy changed"
    );
    assert!(hub.audit_rows("policy_changed", None).is_empty());

    // Common password and one containing the user name are refused at creation.
    let out = hub.console_in(
        &[
            "admin",
            "user",
            "add",
            "kim",
            "--email",
            "kim@example.test",
            "--password-stdin",
        ],
        "qwerty123456\n",
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("common"),
        "{}",
        text(&out.stderr)
    );
    let out = hub.console_in(
        &[
            "admin",
            "user",
            "add",
            "mallory",
            "--email",
            "m.q@example.test",
            "--password-stdin",
        ],
        "Mallory likes long walks 42\n",
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("user name"),
        "{}",
        text(&out.stderr)
    );
    assert!(!hub.user_exists("kim") && !hub.user_exists("mallory"));

    // History, through the API: A → B, then back to A is refused.
    const PW_A: &str = "first granite staple 71 slate";
    const PW_B: &str = "second granite staple 72 slate";
    hub.add_user("lena", &["users"], PW_A);
    let s = hub.signed_in("lena", PW_A).await;
    let r = hub.change_password(&s, Some(PW_A), PW_B).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json_of(&r)["status"], "password_changed");
    let r = hub.change_password(&s, Some(PW_B), PW_A).await;
    assert_eq!(r.status, 422, "reusing A: {}", r.body);
    assert!(
        json_of(&r)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("used recently")
    );
    let r = hub.change_password(&s, Some(PW_B), "qwerty123456").await;
    assert_eq!(r.status, 422);
    let r = hub
        .change_password(&s, Some(PW_B), "lena likes granite staple 73")
        .await;
    assert_eq!(r.status, 422, "contains the user name: {}", r.body);
    let r = hub
        .change_password(&s, None, "third granite staple 77 slate")
        .await;
    assert_eq!(r.status, 422, "current password required");
    assert_eq!(json_of(&r)["error"]["field"], "current_password");

    assert_eq!(hub.sign_in("lena", PW_A).await.status, 401);
    hub.signed_in("lena", PW_B).await;
}

// ---- 8. sessions end ------------------------------------------------------------------------------

#[tokio::test]
async fn sessions_end_on_password_change_disable_and_admin_revoke() {
    let hub = Hub::start();
    const PW1: &str = "violet harbour staple 81 moss";
    const PW2: &str = "violet harbour staple 82 moss";
    hub.add_user("mona", &["users"], PW1);
    let s1 = hub.signed_in("mona", PW1).await;
    let s2 = hub.signed_in("mona", PW1).await;

    let r = hub.change_password(&s1, Some(PW1), PW2).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(hub.whoami(&s2).await.status, 401, "other session survives");
    assert_eq!(hub.whoami(&s1).await.status, 200, "changing session ended");
    assert_eq!(hub.sign_in("mona", PW1).await.status, 401);

    hub.ok(&["admin", "user", "disable", "mona"]);
    assert_eq!(hub.whoami(&s1).await.status, 401, "disabled user's cookie");
    assert_eq!(hub.sign_in("mona", PW2).await.status, 401);

    hub.ok(&["admin", "user", "enable", "mona"]);
    let s3 = hub.signed_in("mona", PW2).await;
    let out = hub.ok(&["admin", "user", "revoke", "mona"]);
    assert!(out.contains("ended 1 session"), "{out}");
    assert_eq!(hub.whoami(&s3).await.status, 401, "revoked cookie");

    // Revoking is not locking; a reset ends sessions as well.
    let s4 = hub.signed_in("mona", PW2).await;
    hub.ok(&["admin", "user", "reset-password", "mona"]);
    assert_eq!(hub.whoami(&s4).await.status, 401, "session after a reset");

    let changed = hub.audit_rows("password_changed", Some("mona"));
    assert!(
        changed[0]["details"]
            .as_str()
            .unwrap()
            .contains("\"other_sessions_revoked\":1")
    );
    assert_eq!(hub.audit_rows("user_disabled", Some("mona")).len(), 1);
    assert_eq!(hub.audit_rows("session_revoked", Some("mona")).len(), 1);
}

// ---- 9. request forgery -------------------------------------------------------------------------

#[tokio::test]
async fn forged_requests_are_refused_without_token_or_with_a_foreign_origin() {
    let hub = Hub::start();
    const NINA_PW: &str = "tundra beacon staple 91 pine";
    hub.add_user("nina", &["users"], NINA_PW);

    let page = hub.get("/signin", None).await;
    let pre = set_cookie(&page, PRE).expect("pre cookie");
    let csrf = hidden_field(&page.body, "csrf").expect("csrf field");
    let pre_cookie = format!("{PRE}={pre}");
    let good = [
        ("csrf", csrf.as_str()),
        ("username", "nina"),
        ("password", NINA_PW),
    ];
    let no_token = [("username", "nina"), ("password", NINA_PW)];
    let wrong_token = [
        ("csrf", "forged-token-forged-token-forged"),
        ("username", "nina"),
        ("password", NINA_PW),
    ];

    // Sign-in form: no pre-cookie, no field, wrong field, foreign origin, cross-site fetch.
    type Pairs<'a> = &'a [(&'a str, &'a str)];
    let attempts: [(&str, &str, Pairs, Pairs); 6] = [
        ("no pre-cookie", "", &good, &[]),
        ("no csrf field", &pre_cookie, &no_token, &[]),
        ("wrong csrf field", &pre_cookie, &wrong_token, &[]),
        (
            "foreign Origin",
            &pre_cookie,
            &good,
            &[("origin", "https://evil.example")],
        ),
        ("null Origin", &pre_cookie, &good, &[("origin", "null")]),
        (
            "cross-site fetch",
            &pre_cookie,
            &good,
            &[("sec-fetch-site", "cross-site")],
        ),
    ];
    for (what, cookies, fields, extra) in attempts {
        let r = hub.form("/signin", cookies, fields, extra).await;
        assert_eq!(r.status, 403, "{what}");
        assert!(session_cookie(&r).is_none(), "{what}");
    }
    // The genuine form works (same origin).
    let r = hub
        .form("/signin", &pre_cookie, &good, &[("origin", &hub.origin)])
        .await;
    assert_eq!(r.status, 303, "genuine sign-in form: {}", r.body);
    assert_eq!(r.header("location"), "/");
    let s = session_cookie(&r).unwrap();
    let s_cookie = format!("{SESSION}={s}");
    let home = hub.get("/", Some(&s)).await;
    assert_eq!(home.status, 200);
    let s_csrf = hidden_field(&home.body, "csrf").expect("csrf on the signed-in page");
    assert_eq!(s_csrf, json_of(&hub.whoami(&s).await)["csrf_token"]);

    // Sign-out and the password form: no token, wrong token, the pre-cookie token.
    for path in ["/signout", "/signin/password"] {
        for fields in [
            vec![],
            vec![("csrf", "forged-token-forged-token-forged")],
            vec![("csrf", csrf.as_str())],
        ] {
            let r = hub.form(path, &s_cookie, &fields, &[]).await;
            assert_eq!(r.status, 403, "{path} with {fields:?}");
        }
    }
    assert_eq!(hub.whoami(&s).await.status, 200, "still signed in");

    // JSON from a foreign origin, even with good credentials or a live session.
    let body = json!({ "username": "nina", "password": NINA_PW }).to_string();
    let r = hub
        .req(
            "POST",
            "/api/v1/session",
            &[
                ("content-type", "application/json"),
                ("origin", "https://evil.example"),
            ],
            body.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 403, "JSON sign-in from evil.example");
    assert!(session_cookie(&r).is_none());
    let r = hub
        .req(
            "DELETE",
            "/api/v1/session",
            &[
                ("content-type", "application/json"),
                ("cookie", &s_cookie),
                ("origin", "https://evil.example"),
                ("x-csrf-token", &s_csrf),
            ],
            b"",
        )
        .await;
    assert_eq!(r.status, 403, "JSON sign-out from evil.example");
    // A "simple" cross-site request (text/plain, no token) cannot reach the API either.
    let pw = json!({ "current_password": NINA_PW, "new_password": "attacker chosen staple 99" })
        .to_string();
    let r = hub
        .req(
            "POST",
            "/api/v1/session/password",
            &[("content-type", "text/plain"), ("cookie", &s_cookie)],
            pw.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 403, "text/plain password change");
    let r = hub
        .req("DELETE", "/api/v1/session", &[("cookie", &s_cookie)], b"")
        .await;
    assert_eq!(r.status, 403, "DELETE without token");
    assert_eq!(hub.whoami(&s).await.status, 200, "still signed in");
    assert_eq!(
        hub.sign_in("nina", NINA_PW).await.status,
        200,
        "password unchanged"
    );

    // The genuine sign-out form works.
    let r = hub
        .form(
            "/signout",
            &s_cookie,
            &[("csrf", &s_csrf)],
            &[("origin", &hub.origin)],
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), "/signin");
    assert_eq!(hub.whoami(&s).await.status, 401);
}

#[tokio::test]
async fn sign_in_form_still_works_with_a_half_finished_sign_in_cookie() {
    // BUG (fixed): src/web/guard.rs (guard, CSRF check): when a pending session cookie is present
    // (second factor or forced password change not finished), POST /signin expects that session's
    // CSRF token, but GET /signin (src/web/signin_pages.rs signin_form) renders the pre-cookie
    // token. A user who abandons the code/password step and goes back to /signin gets 403 on
    // every submit until the pending cookie expires (10 min).
    let hub = Hub::start();
    let temp = hub.add_temp_user("olaf", &["users"]);
    const OLAF_PW: &str = "marble fjord staple 62 white";
    hub.add_user("pia", &["users"], OLAF_PW);
    let pending = session_cookie(&hub.sign_in("olaf", &temp).await).unwrap();

    let page = hub.get("/signin", Some(&pending)).await;
    assert_eq!(page.status, 200);
    let csrf = hidden_field(&page.body, "csrf").unwrap();
    let mut cookies = format!("{SESSION}={pending}");
    if let Some(pre) = set_cookie(&page, PRE) {
        cookies.push_str(&format!("; {PRE}={pre}"));
    }
    let r = hub
        .form(
            "/signin",
            &cookies,
            &[("csrf", &csrf), ("username", "pia"), ("password", OLAF_PW)],
            &[("origin", &hub.origin)],
        )
        .await;
    assert_eq!(
        r.status, 303,
        "sign-in form with a pending cookie: {}",
        r.status
    );
}

// ---- 10. per-route access -------------------------------------------------------------------------

#[tokio::test]
async fn every_protected_route_refuses_anonymous_callers_and_admin_routes_refuse_users() {
    let hub = Hub::start();
    const OLGA_PW: &str = "cedar prism staple 63 olive";
    hub.add_user("olga", &["users"], OLGA_PW);
    let user = hub.signed_in("olga", OLGA_PW).await;
    let user_csrf = json_of(&hub.whoami(&user).await)["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();

    let table = routes(&hub);
    assert!(table.len() >= 10, "{table:?}");
    let (mut protected, mut admin) = (0, 0);
    for (method, path, access) in &table {
        if path.contains("{*") || path.contains("{version}") {
            assert_eq!(access, "public", "{method} {path}");
        }
        let concrete = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "alice" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        let api = concrete.starts_with("/api/");
        let (ct, body): (&str, &[u8]) = if api {
            ("application/json", b"{}")
        } else {
            ("application/x-www-form-urlencoded", b"csrf=x")
        };
        let unsafe_method = method != "GET";
        if access != "public" {
            protected += 1;
            for cookie in [
                None,
                Some("__Host-hf_session=forged-session-token-value-000000"),
            ] {
                let mut h = Vec::new();
                if unsafe_method {
                    h.push(("content-type", ct));
                }
                if let Some(c) = cookie {
                    h.push(("cookie", c));
                }
                let r = hub
                    .req(
                        method,
                        &concrete,
                        &h,
                        if unsafe_method { body } else { b"" },
                    )
                    .await;
                let what = format!("{method} {concrete} ({access}) cookie={cookie:?}");
                assert!(!(200..300).contains(&r.status), "{what}: {}", r.status);
                if api {
                    assert_eq!(r.status, 401, "{what}");
                } else {
                    assert!(
                        (r.status == 303 && r.header("location") == "/signin")
                            || r.status == 401
                            || r.status == 403,
                        "{what}: {} {}",
                        r.status,
                        r.header("location")
                    );
                }
            }
        }
        if access == "permission admin" {
            admin += 1;
            let cookie = format!("{SESSION}={user}");
            let mut h = vec![("cookie", cookie.as_str()), ("x-csrf-token", &user_csrf)];
            if unsafe_method {
                h.push(("content-type", ct));
            }
            let r = hub
                .req(
                    method,
                    &concrete,
                    &h,
                    if unsafe_method { body } else { b"" },
                )
                .await;
            assert_eq!(r.status, 403, "{method} {concrete} as a plain user");
        }
    }
    assert!(protected >= 8, "only {protected} protected routes");
    assert!(admin >= 1, "no admin route in the table");
    // Public state-changing routes are only the sign-in and setup entry points.
    let public_posts: Vec<&str> = table
        .iter()
        .filter(|(m, _, a)| m != "GET" && a == "public")
        .map(|(_, p, _)| p.as_str())
        .collect();
    for p in &public_posts {
        assert!(
            ["/signin", "/setup", "/api/v1/session"].contains(p),
            "unexpected public {p}"
        );
    }
    assert_eq!(hub.whoami(&user).await.status, 200);
}

// ---- 11. support accounts -------------------------------------------------------------------------

#[tokio::test]
async fn support_account_is_network_bound_needs_a_code_is_audited_and_revocable() {
    let hub = Hub::with_mail();
    hub.add_admin();
    // Stricter than "optional": support still needs its second factor with the policy off.
    hub.policy("second_factor=off");
    let baseline = failure_body(&hub).await;

    let out = hub.ok(&[
        "admin",
        "support",
        "grant",
        "--hours",
        "2",
        "--from",
        "10.99.0.0/24",
        "--email",
        "vendor@example.test",
    ]);
    let tp1 = temporary_password(&out);
    let r = hub.sign_in("vendor-support", &tp1).await;
    assert_eq!(r.status, 401, "support account from outside its network");
    assert_eq!(r.body, baseline);

    let out = hub.ok(&[
        "admin",
        "support",
        "grant",
        "--hours",
        "2",
        "--from",
        "127.0.0.1/32",
        "--name",
        "vs2",
        "--email",
        "vendor2@example.test",
    ]);
    let tp2 = temporary_password(&out);
    let r = hub.sign_in("vs2", &tp2).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        json_of(&r),
        json!({ "status": "second_factor_required", "methods": ["email"] })
    );
    let pending = session_cookie(&r).unwrap();
    let code = hub.wait_code("vendor2@example.test", 0);
    let r = hub.code(&pending, &code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    // The granted password is temporary, so the vendor must choose one next.
    assert_eq!(json_of(&r)["status"], "password_change_required");
    const VS_PW: &str = "engineer own choice staple 64";
    let r = hub
        .change_password(&session_cookie(&r).unwrap(), None, VS_PW)
        .await;
    assert_eq!(json_of(&r)["status"], "signed_in", "{}", r.body);
    let s = session_cookie(&r).unwrap();
    let me = json_of(&hub.whoami(&s).await);
    assert_eq!(me["support"], true);
    assert_eq!(me["username"], "vs2");

    // The cookie is useless from another address, and so is the password.
    let other = ip("127.0.0.2");
    let cookie = format!("{SESSION}={s}");
    let stolen = hub
        .req_from(other, "GET", "/api/v1/session", &[("cookie", &cookie)], b"")
        .await;
    assert_eq!(stolen.status, 401, "support cookie replayed from 127.0.0.2");
    let r = hub.sign_in_from(other, "vs2", VS_PW).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body, baseline);
    assert_eq!(hub.whoami(&s).await.status, 200);

    // Everything vs2 did is logged as support.
    let mine: Vec<Value> = hub
        .audit()
        .into_iter()
        .filter(|r| r["actor"] == "vs2")
        .collect();
    let events: Vec<&str> = mine.iter().map(|r| r["event"].as_str().unwrap()).collect();
    for e in ["login_succeeded", "password_changed", "second_factor_sent"] {
        assert!(events.contains(&e), "{e} missing from {events:?}");
    }
    for r in &mine {
        assert_eq!(r["actor_kind"], "support", "{r}");
    }
    let granted = hub.audit_rows("support_granted", Some("vs2"));
    assert!(
        granted[0]["details"]
            .as_str()
            .unwrap()
            .contains("127.0.0.1/32")
    );

    hub.ok(&["admin", "support", "revoke", "--name", "vs2"]);
    assert_eq!(hub.whoami(&s).await.status, 401, "revoked support session");
    assert_eq!(hub.sign_in("vs2", VS_PW).await.status, 401);
    assert_eq!(hub.audit_rows("support_revoked", Some("vs2")).len(), 1);

    for hours in ["169", "0"] {
        let msg = hub.refused(&[
            "admin",
            "support",
            "grant",
            "--hours",
            hours,
            "--from",
            "127.0.0.1/32",
            "--name",
            "vs3",
            "--email",
            "vendor3@example.test",
        ]);
        assert!(msg.contains("168"), "{msg}");
    }
    assert!(!hub.user_exists("vs3"));
    // No code was ever mailed for the refused vendor-support attempt.
    assert!(
        !hub.sink()
            .messages()
            .iter()
            .any(|m| m.to.iter().any(|t| t == "vendor@example.test"))
    );
}

#[tokio::test]
async fn a_required_second_factor_fails_closed_when_mail_is_not_configured() {
    // BUG (fixed): src/auth/signin.rs methods_for(): when no [mail] is configured it returns no
    // methods, so password_step signs the user in with the password alone, although the policy
    // says `second_factor=required` and support accounts are promised "a second factor at every
    // sign-in" (src/cli/admin.rs). Neither `admin policy set second_factor=required` nor
    // `admin support grant` refuses without mail. Either refusing those, or refusing the sign-in,
    // would satisfy this test.
    let hub = Hub::start();
    hub.add_admin();
    let policy = hub.console(&["admin", "policy", "set", "second_factor=required"]);
    let admin_outcome = if policy.status.success() {
        json_of(&hub.sign_in(ADMIN, ADMIN_PW).await)
            .get("status")
            .cloned()
            .unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    hub.ok(&["admin", "policy", "set", "second_factor=off"]);
    let grant = hub.console(&[
        "admin",
        "support",
        "grant",
        "--hours",
        "2",
        "--from",
        "127.0.0.0/8",
        "--email",
        "vendor@example.test",
    ]);
    let support_outcome = if grant.status.success() {
        let tp = temporary_password(&text(&grant.stdout));
        json_of(&hub.sign_in("vendor-support", &tp).await)
            .get("status")
            .cloned()
            .unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    let bypass = ["signed_in", "password_change_required"];
    assert!(
        !bypass.iter().any(|b| admin_outcome == *b)
            && !bypass.iter().any(|b| support_outcome == *b),
        "second factor skipped without mail: admin under `required` -> {admin_outcome}, \
         support account -> {support_outcome}"
    );
}

#[tokio::test]
async fn required_totp_policy_does_not_accept_emailed_codes() {
    // BUG (fixed): src/auth/signin.rs methods_for(): under `second_factor=required_totp` a user without
    // TOTP is offered (and signed in with) an e-mailed code, although SecondFactorMode::RequiredTotp
    // is documented as "e-mailed codes are not accepted" (src/auth/policy.rs) and the policy note
    // tells admins that `required_totp` avoids e-mail as a factor.
    let hub = Hub::with_mail();
    hub.add_admin();
    hub.policy("second_factor=required_totp");
    const QUIN_PW: &str = "totp only sparrow staple 65";
    hub.add_user("quin", &["users"], QUIN_PW);
    let r = hub.sign_in("quin", QUIN_PW).await;
    let body = json_of(&r);
    assert_ne!(
        body["status"], "signed_in",
        "no second factor at all: {body}"
    );
    let methods = body["methods"].as_array().cloned().unwrap_or_default();
    assert!(
        !methods.contains(&json!("email")),
        "e-mail offered under required_totp: {body}"
    );
    // The e-mailed code only proves it is quin before an app is enrolled; it never signs in.
    assert_eq!(body["status"], "enrolment_verification_required", "{body}");
    let pending = session_cookie(&r).expect("pending cookie");
    let code = hub.wait_code("quin@example.test", 0);
    let r = hub
        .api(
            "POST",
            "/api/v1/session/enrolment-verify",
            Some(&pending),
            Some(json!({ "code": code })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        json_of(&r)["status"],
        "totp_enrollment_required",
        "{}",
        r.body
    );
}

// ---- 12. security log -----------------------------------------------------------------------------

#[tokio::test]
async fn security_log_is_intact_append_only_filterable_and_free_of_secrets() {
    let hub = Hub::with_mail();
    hub.add_admin();
    const PAT_PW: &str = "sequoia ribbon staple 66 blue";
    const PAT_PW2: &str = "sequoia ribbon staple 67 blue";
    const PAT_WRONG: &str = "pat wrong sequoia staple 68";
    const GHOST_PW: &str = "ghost user sequoia staple 69";
    const RAY_PW: &str = "chose sequoia staple 70 ochre";
    hub.add_user("pat", &["users"], PAT_PW);
    let temp = hub.add_temp_user("ray", &["users"]);

    let admin = hub.signed_in(ADMIN, ADMIN_PW).await;
    let s = hub.signed_in("pat", PAT_PW).await;
    assert_eq!(hub.sign_in("pat", PAT_WRONG).await.status, 401);
    assert_eq!(hub.sign_in("ghost", GHOST_PW).await.status, 401);
    assert_eq!(
        hub.change_password(&s, Some(PAT_PW), PAT_PW2).await.status,
        200
    );
    let pending = session_cookie(&hub.sign_in("ray", &temp).await).unwrap();
    let r = hub.change_password(&pending, None, RAY_PW).await;
    let ray = session_cookie(&r).unwrap();
    hub.policy("second_factor=required");
    let p2 = session_cookie(&hub.sign_in("pat", PAT_PW2).await).unwrap();
    let code = hub.wait_code("pat@example.test", 0);
    assert_eq!(hub.code(&p2, &wrong_code(&code, 0)).await.status, 401);
    let s2 = session_cookie(&hub.code(&p2, &code).await).unwrap();

    let verify = hub.ok(&["admin", "audit", "verify"]);
    assert!(verify.contains("intact"), "{verify}");

    // No route can change or delete the log.
    for (method, path, _) in routes(&hub) {
        if path.contains("audit") {
            assert!(
                method == "GET" || method == "HEAD",
                "{method} {path} writes to the security log"
            );
        }
    }
    let cookie = format!("{SESSION}={admin}");
    let csrf = json_of(&hub.whoami(&admin).await)["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    for (method, path) in [
        ("DELETE", "/api/v1/audit"),
        ("DELETE", "/api/v1/audit/1"),
        ("PATCH", "/api/v1/audit/1"),
        ("PUT", "/api/v1/audit/1"),
        ("POST", "/api/v1/audit"),
    ] {
        let r = hub
            .req(
                method,
                path,
                &[
                    ("cookie", &cookie),
                    ("x-csrf-token", &csrf),
                    ("content-type", "application/json"),
                ],
                b"{}",
            )
            .await;
        assert!(
            r.status == 404 || r.status == 405,
            "{method} {path} as admin: {}",
            r.status
        );
    }
    let refused = hub.refused(&["admin", "audit", "delete"]);
    assert!(!refused.is_empty());

    // The type filter.
    let failed = hub.ok(&["admin", "audit", "--json", "--type", "login_failed"]);
    let rows: Vec<Value> = failed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(rows.len() >= 2, "{failed}");
    assert!(rows.iter().all(|r| r["event"] == "login_failed"));
    assert!(
        rows.iter()
            .any(|r| r["target"] == "ghost" && r["actor_kind"] == "anonymous")
    );
    assert!(rows.iter().all(|r| r["outcome"] == "failure"));
    hub.refused(&["admin", "audit", "--type", "no_such_event"]);

    // No password, code or session token anywhere in the log or the server log.
    let json_log = hub.ok(&["admin", "audit", "--json", "--limit", "100000"]);
    let table_log = hub.ok(&["admin", "audit", "--limit", "100000"]);
    let server_log = hub.server.log();
    let secrets = [
        ADMIN_PW, PAT_PW, PAT_PW2, PAT_WRONG, GHOST_PW, RAY_PW, &temp, &code, &admin, &s, &pending,
        &ray, &p2, &s2,
    ];
    for secret in secrets {
        for (name, log) in [
            ("audit --json", &json_log),
            ("audit", &table_log),
            ("server log", &server_log),
        ] {
            assert!(!log.contains(secret), "`{secret}` appears in the {name}");
        }
    }
    let verify2 = hub.ok(&["admin", "audit", "verify"]);
    assert!(verify2.contains("intact"), "{verify2}");
}

// ---- 13. throttle -----------------------------------------------------------------------------

#[tokio::test]
async fn rapid_failures_from_one_address_are_throttled_with_retry_after() {
    let hub = Hub::start();
    const QUINN_PW: &str = "glacier ember staple 74 mint";
    hub.add_user("quinn", &["users"], QUINN_PW);

    let mut statuses = Vec::new();
    let mut throttled = None;
    for i in 0..12 {
        let r = hub
            .sign_in(&format!("ghost-{i}"), &format!("spray password {i}"))
            .await;
        statuses.push(r.status);
        if r.status == 429 && throttled.is_none() {
            throttled = Some(r);
        }
    }
    let t = throttled.unwrap_or_else(|| panic!("no 429 in {statuses:?}"));
    let wait: u64 = t
        .header("retry-after")
        .parse()
        .expect("retry-after seconds");
    assert!((1..=60).contains(&wait), "retry-after {wait}");
    assert_eq!(json_of(&t)["error"]["code"], "throttled");
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");

    // Even the right password is held back from this address: the throttle is no oracle.
    let r = hub.sign_in("quinn", QUINN_PW).await;
    assert_eq!(r.status, 429);
    assert!(session_cookie(&r).is_none());
    // Another address is not affected.
    let r = hub.sign_in_from(ip("127.0.0.2"), "quinn", QUINN_PW).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(json_of(&r)["status"], "signed_in");
}

#[tokio::test]
async fn guessing_the_current_password_through_a_session_is_limited() {
    // BUG (fixed): src/auth/accounts.rs change_password(): a wrong `current_password` is neither counted
    // toward lockout, nor throttled per address, nor audited. Whoever holds a session cookie
    // (unattended workstation, stolen cookie) can guess the password at Argon2 speed without
    // limit: 12 guesses below all get 422 and the account (threshold 3) stays unlocked.
    let hub = Hub::start();
    hub.policy("lockout_threshold=3");
    const RITA_PW: &str = "walnut dune staple 75 sand";
    hub.add_user("rita", &["users"], RITA_PW);
    let s = hub.signed_in("rita", RITA_PW).await;
    let mut statuses = Vec::new();
    for i in 0..12 {
        let r = hub
            .change_password(
                &s,
                Some(&format!("rita guess {i}")),
                "next dune staple 76 sand",
            )
            .await;
        statuses.push(r.status);
    }
    let limited = statuses.contains(&429)
        || hub.user_state("rita").contains("locked")
        || hub.whoami(&s).await.status == 401;
    assert!(
        limited,
        "12 wrong current passwords were neither throttled nor locked: {statuses:?}"
    );
}
