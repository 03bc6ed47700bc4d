//! Backups and updates cover every instance of the appliance, so only the admins of the operator's
//! own instance (`default`) reach them: the route table says so (`holdfast routes`), and the guard
//! refuses every other instance's admins before any handler runs.

use crate::app::{TestApp, add_user_cmd};
use crate::support::{SESSION, eventually, session_cookie, text};
use std::time::Duration;

const PASSWORD: &str = "granite ladder 41 velvet comet";
const OPERATOR: &str = "permission admin, operator instance only";

/// The routes the table reserves for the operator's instance.
const OPERATOR_ROUTES: &[(&str, &str)] = &[
    ("GET", "/admin/backups"),
    ("POST", "/admin/backups/{action}"),
    ("GET", "/admin/backups/download/{index}/{name}"),
    ("GET", "/admin/updates"),
    ("POST", "/admin/updates/verify"),
];

/// `holdfast --instance INSTANCE admin user add NAME --group GROUP --password-stdin`.
fn add_user(app: &TestApp, instance: &str, name: &str, group: &str) {
    add_user_cmd(
        app.command(&["--instance", instance]),
        name,
        &[group],
        PASSWORD,
    );
}

/// A signed-in caller on one host: its cookie and CSRF token.
struct Caller {
    host: &'static str,
    cookie: String,
    csrf: String,
}

async fn sign_in(c: &crate::support::Client, host: &'static str, user: &str) -> Caller {
    let body = serde_json::json!({ "username": user, "password": PASSWORD }).to_string();
    let r = c
        .request(
            "POST",
            host,
            "/api/v1/session",
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .await;
    assert_eq!(r.status, 200, "{user}@{host}: {}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    Caller {
        host,
        cookie: format!("{SESSION}={}", session_cookie(&r).unwrap()),
        csrf: v["csrf_token"].as_str().unwrap().to_string(),
    }
}

/// Calls a route of the table as `who`, with the CSRF token in the body (a form field, or an upload's
/// first part) and a small body of the kind the route reads.
async fn call(c: &crate::support::Client, who: &Caller, method: &str, path: &str) -> u16 {
    let concrete = path
        .replace("{action}", "run")
        .replace("{index}", "0")
        .replace("{name}", "x.hfb");
    if method == "GET" {
        let r = c
            .request(method, who.host, &concrete, &[("cookie", &who.cookie)], b"")
            .await;
        return r.status;
    }
    let (ct, body): (&str, String) = if path.starts_with("/admin/updates") {
        (
            "multipart/form-data; boundary=b0",
            format!(
                "--b0\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n--b0\r\nContent-Disposition: form-data; name=\"bundle\"; filename=\"b.hfu\"\r\n\r\nx\r\n--b0--\r\n",
                who.csrf
            ),
        )
    } else {
        (
            "application/x-www-form-urlencoded",
            format!("csrf={}", who.csrf),
        )
    };
    let body = body.as_bytes();
    let uri = concrete;
    c.request(
        method,
        who.host,
        &uri,
        &[("cookie", &who.cookie), ("content-type", ct)],
        body,
    )
    .await
    .status
}

#[tokio::test]
async fn backups_and_updates_are_for_the_operator_instance_admins_only() {
    let app = TestApp::builder().start();
    let c = app.client.clone();
    let out = app.console(&[
        "instance",
        "create",
        "beta",
        "--hostname",
        "beta.test",
        "--title",
        "Beta Works 3307",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    add_user(&app, "default", "chief", "admins");
    add_user(&app, "default", "olga", "users");
    add_user(&app, "beta", "bea", "admins");
    assert!(
        eventually(Duration::from_secs(15), || async {
            c.get("beta.test", "/signin")
                .await
                .body
                .contains("Beta Works 3307")
        })
        .await,
        "the server never picked up the new instance"
    );

    // The table states the rule for exactly these routes.
    let routes = app.console(&["routes"]);
    assert!(routes.status.success(), "{}", text(&routes.stderr));
    let table = text(&routes.stdout);
    let mut operator: Vec<(String, String)> = table
        .lines()
        .filter(|l| l.trim_end().ends_with(OPERATOR))
        .map(|l| {
            let mut p = l.split_whitespace();
            (p.next().unwrap().to_string(), p.next().unwrap().to_string())
        })
        .collect();
    operator.sort();
    let mut expected: Vec<(String, String)> = OPERATOR_ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    expected.sort();
    assert_eq!(operator, expected, "{table}");

    let chief = sign_in(&c, "localhost", "chief").await;
    let olga = sign_in(&c, "localhost", "olga").await;
    let bea = sign_in(&c, "beta.test", "bea").await;

    // Bea administers her own instance...
    let r = c
        .request("GET", bea.host, "/admin", &[("cookie", &bea.cookie)], b"")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // ...but nothing of the appliance's backups or updates, nor does a plain user of the operator's.
    for (method, path) in OPERATOR_ROUTES {
        for who in [&bea, &olga] {
            let status = call(&c, who, method, path).await;
            assert_eq!(status, 403, "{method} {path} on {}", who.host);
        }
    }
    // The operator's admin sees both pages.
    for path in ["/admin/backups", "/admin/updates"] {
        assert_eq!(call(&c, &chief, "GET", path).await, 200, "{path}");
    }
    assert!(app.stop().success());
}
