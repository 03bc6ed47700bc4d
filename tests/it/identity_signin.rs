//! Sign-in as an attacker tries it: the one-time setup link, JSON sign-in with its host-only strict
//! cookie and sign-out, no user enumeration, lockout (shared by wrong passwords and wrong codes), and
//! the per-address and per-session throttles.
//!
//! Every test has its own data dir and server (tests/it/identity_support.rs). All traffic comes from
//! 127.0.0.1 unless a test binds another loopback address (127.0.0.2) to act as a second client host.
//! The per-address throttle allows 10 failures in a burst, so each test keeps its failures below that.
//! Tests that once exposed a bug keep a `// BUG (fixed):` note saying what it was.

use crate::identity_support::*;
use crate::support::*;
use serde_json::json;

const ALICE_PW: &str = "velvet horse battery staple 42";
const WRONG_PW: &str = "incorrect donkey battery staple 13";

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
