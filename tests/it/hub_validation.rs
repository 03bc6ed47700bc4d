//! Hub input validation: invalid values are 422 naming the field and write nothing, malformed JSON
//! and wrong content types get JSON errors, empty values for defaulted fields never cause a server
//! error, and API errors are JSON even for bad ids and unknown paths.
//!
//! Every test has its own data dir and server (tests/it/hub_support.rs). Tests that once exposed a
//! bug keep a `// BUG (fixed):` note saying what it was.

use crate::hub_support::*;
use serde_json::{Value, json};

#[tokio::test]
async fn invalid_input_is_422_naming_the_field_and_nothing_is_written() {
    let env = Env::start();
    env.add_user("anna", "users", USER_PW);
    let api = env.full_token();
    let acme = api.create_id("clients", json!({ "name": "Acme" })).await;
    let p = api
        .create_id("projects", json!({ "name": "P", "client_id": acme }))
        .await;

    let cases: Vec<(&str, Value, &str, &str)> = vec![
        ("clients", json!({}), "name", "required"),
        ("clients", json!({ "name": "   " }), "name", "required"),
        ("clients", json!({ "name": ["Acme"] }), "name", ""),
        ("clients", json!({ "name": { "x": 1 } }), "name", ""),
        ("clients", json!({ "name": "x".repeat(201) }), "name", "200"),
        (
            "clients",
            json!({ "name": "A", "status": "vip" }),
            "status",
            "prospect",
        ),
        (
            "clients",
            json!({ "name": "A", "email": "not-an-email" }),
            "email",
            "e-mail",
        ),
        (
            "clients",
            json!({ "name": "A", "email": "a@b" }),
            "email",
            "e-mail",
        ),
        (
            "clients",
            json!({ "name": "A", "id": 77 }),
            "id",
            "set by holdfast",
        ),
        (
            "clients",
            json!({ "name": "A", "version": 9 }),
            "version",
            "set by holdfast",
        ),
        (
            "clients",
            json!({ "name": "A", "created_at": "2020-01-01" }),
            "created_at",
            "set by holdfast",
        ),
        (
            "clients",
            json!({ "name": "A", "is_admin": true }),
            "is_admin",
            "not a field",
        ),
        (
            "contacts",
            json!({ "name": "N", "client_id": "abc" }),
            "client_id",
            "",
        ),
        (
            "contacts",
            json!({ "name": "N", "client_id": true }),
            "client_id",
            "",
        ),
        (
            "projects",
            json!({ "name": "P", "client_id": acme, "start_date": "2026-02-30" }),
            "start_date",
            "date",
        ),
        (
            "projects",
            json!({ "name": "P", "client_id": acme, "start_date": "2026-2-3" }),
            "start_date",
            "date",
        ),
        (
            "projects",
            json!({ "name": "P", "client_id": acme, "end_date": "tomorrow" }),
            "end_date",
            "date",
        ),
        (
            "projects",
            json!({ "name": "P", "client_id": acme, "budget_hours": 1.5 }),
            "budget_hours",
            "whole",
        ),
        (
            "projects",
            json!({ "name": "P", "client_id": acme, "hourly_rate": 120.5 }),
            "hourly_rate",
            "cents",
        ),
        (
            "projects",
            json!({ "name": "P", "client_id": acme, "hourly_rate": -1 }),
            "hourly_rate",
            "",
        ),
        (
            "projects",
            json!({ "name": "P", "client_id": acme, "currency": "XYZ" }),
            "currency",
            "EUR",
        ),
        (
            "tasks",
            json!({ "title": "T", "project_id": p, "priority": "asap" }),
            "priority",
            "",
        ),
        (
            "time-entries",
            json!({ "user": "anna", "project_id": p, "date": "2026-01-05", "minutes": 0 }),
            "minutes",
            "between",
        ),
        (
            "time-entries",
            json!({ "user": "anna", "project_id": p, "date": "2026-01-05", "minutes": 1441 }),
            "minutes",
            "between",
        ),
        (
            "time-entries",
            json!({ "user": "anna", "project_id": p, "date": "2026-01-05", "minutes": "ninety" }),
            "minutes",
            "whole",
        ),
        (
            "time-entries",
            json!({ "user": "anna", "project_id": p, "date": "2026-01-05", "minutes": 30, "billable": "maybe" }),
            "billable",
            "",
        ),
        (
            "time-entries",
            json!({ "user": "anna", "project_id": p, "date": "05.01.2026", "minutes": 30 }),
            "date",
            "date",
        ),
        (
            "time-entries",
            json!({ "user": "anna", "project_id": p, "date": "2026-01-05", "minutes": 30, "invoice_id": 1 }),
            "invoice_id",
            "set by holdfast",
        ),
        (
            "invoices",
            json!({ "client_id": acme, "status": "paid" }),
            "status",
            "set by holdfast",
        ),
        (
            "invoices",
            json!({ "client_id": acme, "total": 1 }),
            "total",
            "set by holdfast",
        ),
        (
            "documents",
            json!({ "title": "D", "current_version": 3 }),
            "current_version",
            "set by holdfast",
        ),
    ];
    // A well-formed reference to a record that does not exist is refused for the state of the
    // data (409, as the OpenAPI document says), naming the field.
    for (slug, body, field, part) in [
        (
            "contacts",
            json!({ "name": "N", "client_id": 999_999 }),
            "client_id",
            "999999",
        ),
        (
            "projects",
            json!({ "name": "P", "client_id": acme, "manager": "ghost" }),
            "manager",
            "ghost",
        ),
        (
            "tasks",
            json!({ "title": "T", "project_id": 424_242 }),
            "project_id",
            "424242",
        ),
        (
            "time-entries",
            json!({ "user": "ghost", "project_id": p, "date": "2026-01-05", "minutes": 30 }),
            "user",
            "ghost",
        ),
    ] {
        let r = api.post(&format!("/api/v1/{slug}"), body.clone()).await;
        assert_eq!(r.status, 409, "{slug} {body}: {}", r.body);
        assert_eq!(r.json()["error"]["code"], "unresolved_reference");
        assert_eq!(r.json()["error"]["field"], field, "{slug} {body}");
        assert!(r.body.contains(part), "{}", r.body);
    }
    for (slug, body, field, part) in cases {
        let r = api.post(&format!("/api/v1/{slug}"), body.clone()).await;
        assert_eq!(r.status, 422, "POST {slug} {body}: {} {}", r.status, r.body);
        let e = &r.json()["error"];
        assert_eq!(e["code"], "invalid", "{body}: {}", r.body);
        assert_eq!(e["field"], field, "{slug} {body}: {}", r.body);
        let msg = e["message"].as_str().unwrap_or_default();
        assert!(
            !msg.is_empty() && msg.contains(part),
            "{slug} {body}: message `{msg}` should mention `{part}`"
        );
    }
    // Several problems at once: still 422 with a field, and the message names every field.
    let r = api
        .post(
            "/api/v1/clients",
            json!({ "email": "nope", "status": "vip" }),
        )
        .await;
    assert_eq!(r.status, 422);
    let msg = r.json()["error"]["message"].as_str().unwrap().to_string();
    for f in ["name", "email", "status"] {
        assert!(msg.contains(f), "`{msg}` should name {f}");
    }
    assert!(r.json()["error"]["field"].is_string());

    // PATCH is validated the same way.
    let path = format!("/api/v1/clients/{acme}");
    for (body, field) in [
        (json!({ "name": null }), "name"),
        (json!({ "email": "x" }), "email"),
        (json!({ "id": 5 }), "id"),
        (json!({ "is_admin": true }), "is_admin"),
    ] {
        let r = api.patch(&path, body.clone()).await;
        assert_eq!(r.status, 422, "PATCH {body}: {}", r.body);
        assert_eq!(r.json()["error"]["field"], field);
    }
    let r = api.get(&path).await.json();
    assert_eq!(r["name"], "Acme");
    assert_eq!(r["version"], 1, "failed changes wrote nothing");
    for (slug, n) in [
        ("clients", 1),
        ("contacts", 0),
        ("projects", 1),
        ("tasks", 0),
        ("time-entries", 0),
        ("invoices", 0),
        ("documents", 0),
    ] {
        assert_eq!(api.count(slug).await, n, "{slug}: nothing was created");
    }
}

#[tokio::test]
async fn malformed_json_and_wrong_content_types_get_json_errors() {
    let env = Env::start();
    let api = env.full_token();
    let post = |ct: &'static str, body: &'static [u8]| {
        let api = &api;
        async move {
            let h: Vec<(&str, &str)> = if ct.is_empty() {
                vec![]
            } else {
                vec![("content-type", ct)]
            };
            api.send("POST", "/api/v1/clients", &h, body, false).await
        }
    };
    // Malformed JSON → 400, as JSON.
    let bodies: [&'static [u8]; 5] = [b"{\"name\": ", b"{name: 'x'}", b"", b"[1, 2]", b"\"Acme\""];
    for body in bodies {
        let r = post("application/json", body).await;
        assert_eq!(
            r.status,
            400,
            "{:?}: {}",
            String::from_utf8_lossy(body),
            r.body
        );
        assert_eq!(r.code(), "bad_request");
        assert!(r.header("content-type").starts_with("application/json"));
    }
    // Right JSON, wrong or missing content type → 400 (holdfast does not use 415), as JSON.
    for ct in ["text/plain", "application/x-www-form-urlencoded", ""] {
        let r = post(ct, br#"{"name": "Acme"}"#).await;
        assert!(
            r.status == 400 || r.status == 415,
            "content type `{ct}`: {} {}",
            r.status,
            r.body
        );
        assert_eq!(r.status, 400, "holdfast answers 400 for `{ct}`");
        assert!(r.header("content-type").starts_with("application/json"));
        assert_eq!(r.code(), "bad_request");
    }
    // A signed-in browser session: a non-JSON body needs the CSRF header first (403), and with
    // it the wrong type is still a 400.
    let s = env.admin().await;
    let r = s
        .send(
            "POST",
            "/api/v1/clients",
            &[("content-type", "text/plain")],
            br#"{"name": "Acme"}"#,
            false,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.code(), "csrf_failed");
    let r = s
        .send(
            "POST",
            "/api/v1/clients",
            &[("content-type", "text/plain")],
            br#"{"name": "Acme"}"#,
            true,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.code(), "bad_request");
    // JSON from another origin is refused even with the session cookie.
    let r = s
        .send(
            "POST",
            "/api/v1/clients",
            &[
                ("content-type", "application/json"),
                ("origin", "https://evil.example"),
            ],
            br#"{"name": "Acme"}"#,
            false,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    // Same-origin JSON works with the cookie alone.
    assert_eq!(
        s.post("/api/v1/clients", json!({ "name": "Acme" }))
            .await
            .status,
        201
    );
    assert_eq!(api.count("clients").await, 1, "only the good request wrote");
}

// BUG (fixed): src/hub/records.rs:213 (`validate`) — an empty or null value for an optional field
// that has a default and a NOT NULL column (clients.status, projects.hourly_rate/currency,
// tasks.status/priority, time_entries.billable, invoices.currency) is passed on as NULL, and the
// INSERT/UPDATE fails with "NOT NULL constraint failed" → 500 Internal. It hits the JSON API, the
// CSV import (a blank cell in the status column) and the forms (the "—" option of the status
// select). Reproduction: POST /api/v1/clients {"name":"x","status":null} → 500; POST
// /api/v1/clients/import with "name,status\nA,\n" → 500.
#[tokio::test]
async fn empty_values_for_defaulted_fields_never_cause_a_server_error() {
    let env = Env::start();
    let api = env.full_token();
    let c = api.create_id("clients", json!({ "name": "Acme" })).await;
    let p = api
        .create_id("projects", json!({ "name": "P", "client_id": c }))
        .await;
    let mut failures = Vec::new();
    let cases = [
        (
            "POST",
            "/api/v1/clients".to_string(),
            json!({ "name": "x", "status": null }),
        ),
        (
            "POST",
            "/api/v1/clients".to_string(),
            json!({ "name": "x", "status": "" }),
        ),
        (
            "PATCH",
            format!("/api/v1/clients/{c}"),
            json!({ "status": null }),
        ),
        (
            "POST",
            "/api/v1/projects".to_string(),
            json!({ "name": "x", "client_id": c, "hourly_rate": null, "currency": "" }),
        ),
        (
            "POST",
            "/api/v1/tasks".to_string(),
            json!({ "title": "x", "project_id": p, "priority": "" }),
        ),
        (
            "POST",
            "/api/v1/time-entries".to_string(),
            json!({ "user": ADMIN, "project_id": p, "date": "2026-01-05", "minutes": 5, "billable": null }),
        ),
        (
            "POST",
            "/api/v1/invoices".to_string(),
            json!({ "client_id": c, "currency": null }),
        ),
    ];
    for (method, path, body) in cases {
        let r = api.json(method, &path, Some(body.clone())).await;
        if !(r.status == 201 || r.status == 200 || r.status == 422) {
            failures.push(format!("{method} {path} {body} → {} {}", r.status, r.body));
        }
    }
    let r = api
        .import("clients", "name,status\nBlank Status,\n", false)
        .await;
    if !(r.status == 201 || r.status == 422) {
        failures.push(format!(
            "import with a blank status → {} {}",
            r.status, r.body
        ));
    }
    let s = env.admin().await;
    let r = s
        .form("/m/clients", &[("name", "Form"), ("status", "")])
        .await;
    if !(r.status == 303 || r.status == 422) {
        failures.push(format!("form with status — → {}", r.status));
    }
    assert!(
        failures.is_empty(),
        "server errors:\n{}",
        failures.join("\n")
    );
}

// BUG (fixed): src/web/mod.rs:457-466 and the `Path<i64>` extractors of src/web/api/*.rs — the JSON API
// promises `{"error":{…}}` bodies (src/web/error.rs:1-2, OpenAPI `Error` schema), but an id that
// is not a number gets axum's plain-text 400 ("Invalid URL: Cannot parse `abc` to a `i64`") and
// an unknown /api/v1/… path gets the HTML 404 page. Reproduction: GET /api/v1/clients/abc with a
// token → 400 text/plain; GET /api/v1/nonexistent → 404 text/html.
#[tokio::test]
async fn api_errors_are_json_even_for_bad_ids_and_unknown_paths() {
    let env = Env::start();
    let api = env.full_token();
    for path in [
        "/api/v1/clients/abc",
        "/api/v1/clients/99999999999999999999",
        "/api/v1/invoices/abc/lines",
        "/api/v1/nonexistent",
    ] {
        let r = api.get(path).await;
        assert!((400..500).contains(&r.status), "{path}: {}", r.status);
        assert!(
            r.header("content-type").starts_with("application/json"),
            "{path}: {} {} `{}`",
            r.status,
            r.header("content-type"),
            r.body
        );
        assert!(r.json()["error"]["code"].is_string());
    }
}
