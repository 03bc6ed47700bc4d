//! Hub permissions: what the users group may do, and API tokens limited to their scopes, revocable,
//! audited and kept from the admin routes.
//!
//! Every test has its own data dir and server (tests/it/hub_support.rs). Tests that once exposed a
//! bug keep a `// BUG (fixed):` note saying what it was.

use crate::hub_support::*;
use serde_json::json;

#[tokio::test]
async fn users_group_can_view_create_and_edit_but_not_delete_export_or_import() {
    let env = Env::start();
    env.add_user("anna", "users", USER_PW);
    let anna = env.session("anna", USER_PW).await;

    let c = anna
        .create("clients", json!({ "name": "Anna's client" }))
        .await;
    let id = c["id"].as_i64().unwrap();
    let path = format!("/api/v1/clients/{id}");
    assert_eq!(anna.get(&path).await.status, 200);
    assert_eq!(anna.get("/api/v1/clients").await.status, 200);
    let r = anna
        .patch(&path, json!({ "notes": "met at the fair" }))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let p = anna
        .create("projects", json!({ "name": "Fair", "client_id": id }))
        .await;
    anna.create(
        "time-entries",
        json!({ "user": "anna", "project_id": p["id"], "date": "2026-05-04", "minutes": 15 }),
    )
    .await;

    let r = anna.delete(&path).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.code(), "forbidden");
    assert_eq!(anna.get(&path).await.status, 200, "still there");
    let r = anna.get("/api/v1/clients/export.csv").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!r.body.contains("Anna's client"));
    let before = anna.count("clients").await;
    let r = anna.import("clients", "name\nSneaky Import\n", false).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = anna.import("clients", "name\nSneaky Import\n", true).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(anna.count("clients").await, before);

    // The pages agree: no delete, no import.
    assert_eq!(anna.get("/m/clients/import").await.status, 403);
    let r = anna.form(&format!("/m/clients/{id}/delete"), &[]).await;
    assert_eq!(r.status, 403);
    assert_eq!(anna.get(&path).await.status, 200);
    let card = anna.get(&format!("/m/clients/{id}")).await;
    assert_eq!(card.status, 200);
    assert!(!card.body.contains("/delete\""), "no delete button");
    let list = anna.get("/m/clients").await;
    assert!(!list.body.contains("export.csv"), "no export link");
    // Nor the admin pages or the security log.
    assert_eq!(anna.get("/admin/users").await.status, 403);
    assert_eq!(anna.get("/api/v1/audit").await.status, 403);
}

#[tokio::test]
async fn tokens_are_limited_to_their_scopes_revocable_audited_and_kept_from_admin() {
    let env = Env::start();
    let full = env.full_token();
    let c = full
        .create(
            "clients",
            json!({ "name": "Globex", "email": "x@globex.example" }),
        )
        .await;
    let id = c["id"].as_i64().unwrap();
    full.create("projects", json!({ "name": "Hidden", "client_id": id }))
        .await;

    let (rid, rtok) = env.token("crm-reader", "clients:read");
    let reader = env.bearer(&rtok);
    assert_eq!(reader.get("/api/v1/clients").await.status, 200);
    assert_eq!(
        reader.get(&format!("/api/v1/clients/{id}")).await.json()["name"],
        "Globex"
    );
    let csv = reader.get("/api/v1/clients/export.csv").await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(csv.header("content-type").starts_with("text/csv"));
    assert!(csv.body.contains("Globex"));
    for (method, path) in [
        ("POST", "/api/v1/clients".to_string()),
        ("PATCH", format!("/api/v1/clients/{id}")),
        ("DELETE", format!("/api/v1/clients/{id}")),
        ("POST", "/api/v1/clients/import".to_string()),
        ("GET", "/api/v1/projects".to_string()),
        ("GET", "/api/v1/projects/1".to_string()),
        ("GET", "/api/v1/invoices".to_string()),
        ("GET", "/api/v1/audit".to_string()),
        ("GET", "/api/v1/search?q=globex".to_string()),
    ] {
        let r = reader
            .send(
                method,
                &path,
                &[("content-type", "application/json")],
                br#"{"name": "Changed"}"#,
                false,
            )
            .await;
        assert_eq!(r.status, 403, "{method} {path}: {}", r.body);
        assert_eq!(r.code(), "forbidden", "{method} {path}");
    }
    assert_eq!(
        reader.get(&format!("/api/v1/clients/{id}")).await.json()["name"],
        "Globex",
        "nothing changed"
    );
    // Tokens are for the API only: no pages, no admin pages.
    for path in [
        "/admin",
        "/admin/users",
        "/admin/tokens",
        "/admin/log",
        "/m/clients",
        "/search?q=x",
    ] {
        let r = reader.get(path).await;
        assert_eq!(r.status, 403, "token on {path}: {}", r.status);
    }
    let (_, everything) = env.token("all-modules", ALL_SCOPES);
    let r = env.bearer(&everything).get("/api/v1/audit").await;
    assert_eq!(
        r.status, 403,
        "even a token with every module scope is no admin"
    );
    assert_eq!(
        env.bearer(&everything).get("/admin/users").await.status,
        403
    );

    // Unknown and malformed tokens.
    for t in [
        "hft_thisisnotarealtoken000000000000000000000",
        "not-even-prefixed",
    ] {
        let r = env.bearer(t).get("/api/v1/clients").await;
        assert_eq!(r.status, 401, "{t}: {}", r.body);
        assert_eq!(r.code(), "unauthenticated");
    }

    // Use is in the security log.
    let used = env.audit("token_used");
    assert!(
        used.iter()
            .any(|r| r["target"] == "crm-reader" && r["actor_kind"] == "token"),
        "token_used rows: {used:?}"
    );

    // Revoked: 401 from then on.
    env.ok(&["admin", "token", "revoke", &rid.to_string()]);
    let r = reader.get("/api/v1/clients").await;
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.code(), "unauthenticated");
    assert_eq!(reader.get("/api/v1/clients/export.csv").await.status, 401);
    assert!(!env.audit("token_revoked").is_empty());
}
