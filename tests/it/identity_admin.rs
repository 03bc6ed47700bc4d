//! Administration seen from outside: per-route access for anonymous callers and users, vendor
//! support accounts (network-bound, code required, audited, revocable), and the security log
//! (intact, append-only, filterable, free of secrets).
//!
//! Every test has its own data dir and server (tests/it/identity_support.rs). All traffic comes from
//! 127.0.0.1 unless a test binds another loopback address (127.0.0.2) to act as a second client host.
//! The per-address throttle allows 10 failures in a burst, so each test keeps its failures below that.
//! Tests that once exposed a bug keep a `// BUG (fixed):` note saying what it was.

use crate::identity_support::*;
use crate::support::*;
use serde_json::{Value, json};

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
                } else if access.starts_with("feed token") {
                    // A calendar feed's credential is the token in its path; a made-up one (or a
                    // session cookie) finds nothing.
                    assert_eq!(r.status, 404, "{what}");
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
