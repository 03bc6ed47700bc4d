//! The hub's JSON API as documented: list parameters read exactly as the OpenAPI document states,
//! the OpenAPI document covering every API route, and the runnable examples of `docs/api.md`.
//!
//! Every test has its own data dir and server (tests/it/hub_support.rs). Tests that once exposed a
//! bug keep a `// BUG (fixed):` note saying what it was.

use crate::hub_support::*;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// The list parameters as the OpenAPI document states them (schemathesis ST201/ST202 on the old
/// main): an empty filter was read as "no filter", an over-long user filter was taken, and a
/// cursor of the documented shape that holdfast had not made was refused.
#[tokio::test]
async fn api_list_parameters_are_read_exactly_as_documented() {
    let env = Env::start();
    let api = env.full_token();
    let client = api.create_id("clients", json!({ "name": "Acme" })).await;
    let project = api
        .create_id("projects", json!({ "name": "Roof", "client_id": client }))
        .await;
    for (path, field) in [
        ("/api/v1/invoices?issue_date_to=", "issue_date_to"),
        (
            "/api/v1/projects/export.csv?start_date_to=",
            "start_date_to",
        ),
        ("/api/v1/time-entries?user=", "user"),
        ("/api/v1/clients?cursor=", "cursor"),
        ("/api/v1/clients?status=", "status"),
    ] {
        let r = api.get(path).await;
        assert_eq!(r.status, 422, "{path}: {}", r.body);
        assert_eq!(r.json()["error"]["field"], field, "{path}");
    }
    let long = "a".repeat(65);
    for path in [
        format!("/api/v1/tasks/export.csv?assignee={long}"),
        format!("/api/v1/time-entries?user={long}"),
    ] {
        let r = api.get(&path).await;
        assert_eq!(r.status, 422, "{path}: {}", r.body);
    }
    // Empty `q` and `sort` are documented as "no search" and "default order".
    assert_eq!(api.get("/api/v1/clients?q=&sort=").await.status, 200);
    // Any cursor of the documented shape is a position, also one holdfast did not make.
    for cursor in [".1", "x41.7", "-5.0", "xff.999999999999999999"] {
        let r = api
            .get(&format!("/api/v1/projects?sort=name&cursor={cursor}"))
            .await;
        assert_eq!(r.status, 200, "{cursor}: {}", r.body);
    }
    for cursor in ["abc", "x4.1", "1.-1"] {
        let r = api.get(&format!("/api/v1/projects?cursor={cursor}")).await;
        assert_eq!(r.status, 422, "{cursor}: {}", r.body);
    }
    // Paging by name with the cursor holdfast made walks every record once.
    for n in 0..4 {
        api.create_id(
            "projects",
            json!({ "name": format!("P{n}"), "client_id": client }),
        )
        .await;
    }
    let mut seen = vec![];
    let mut next = String::new();
    loop {
        let r = api
            .get(&format!("/api/v1/projects?sort=name&limit=2{next}"))
            .await
            .json();
        seen.extend(ids(r["items"].as_array().unwrap()));
        match r["next_cursor"].as_str() {
            Some(c) => next = format!("&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert!(seen.contains(&project));
    // Pages keep reading a filter form's empty fields as "no filter".
    let admin = env.admin().await;
    let r = admin.get("/m/projects?status=&start_date_to=").await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn openapi_document_lists_every_api_route_with_its_method() {
    let env = Env::start();
    let r = env.anonymous().get("/api/v1/openapi.json").await;
    assert_eq!(r.status, 200, "public");
    assert!(r.header("content-type").starts_with("application/json"));
    let doc = r.json();
    let version = doc["openapi"].as_str().unwrap_or_default();
    assert!(version.starts_with("3.0."), "openapi: {version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    let paths = doc["paths"].as_object().expect("paths");
    let routes: Vec<(String, String)> = route_table()
        .into_iter()
        .filter(|(_, p)| p.starts_with("/api/v1/"))
        .collect();
    assert!(routes.len() > 50, "{routes:?}");
    let mut missing = Vec::new();
    for (method, path) in &routes {
        let op = &paths.get(path).unwrap_or(&Value::Null)[method.to_ascii_lowercase()];
        if !op.is_object() {
            missing.push(format!("{method} {path}"));
            continue;
        }
        assert!(
            op["responses"].is_object(),
            "{method} {path} has no responses"
        );
        for param in path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        {
            assert!(
                op["parameters"]
                    .as_array()
                    .is_some_and(|ps| ps.iter().any(|p| p["name"] == param && p["in"] == "path")),
                "{method} {path}: path parameter {param} undeclared"
            );
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from openapi.json: {missing:?}"
    );
    // Nothing documented that does not exist.
    for (path, ops) in paths {
        for m in ops.as_object().unwrap().keys() {
            assert!(
                routes
                    .iter()
                    .any(|(rm, rp)| rp == path && rm.eq_ignore_ascii_case(m)),
                "documented but not routed: {m} {path}"
            );
        }
    }
    // Every module has a schema with its required fields.
    let schemas = &doc["components"]["schemas"];
    for (name, req) in [
        ("client", "name"),
        ("contact", "client_id"),
        ("project", "client_id"),
        ("task", "project_id"),
        ("time_entry", "minutes"),
        ("invoice", "client_id"),
        ("document", "title"),
    ] {
        assert!(
            schemas[name]["required"]
                .as_array()
                .is_some_and(|r| r.contains(&json!(req))),
            "schema {name}: {}",
            schemas[name]
        );
    }
    assert!(doc["components"]["securitySchemes"]["token"].is_object());
}

struct Example {
    line: usize,
    method: String,
    path: String,
    body: Option<String>,
    status: u16,
}

/// The runnable examples of the guide: ```http blocks (METHOD PATH, optional JSON body) each
/// followed by a line `→ NNN`.
fn examples(md: &str) -> Vec<Example> {
    let lines: Vec<&str> = md.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim() == "```http" {
            let start = i + 1;
            let mut j = start;
            while lines[j].trim() != "```" {
                j += 1;
            }
            let block = &lines[start..j];
            let mut first = block[0].split_whitespace();
            let method = first.next().unwrap().to_string();
            let path = first.next().unwrap().to_string();
            let body = block[1..].join("\n");
            let body = (!body.trim().is_empty()).then_some(body);
            let mut k = j + 1;
            while lines[k].trim().is_empty() {
                k += 1;
            }
            let status = lines[k]
                .trim()
                .strip_prefix('→')
                .unwrap_or_else(|| panic!("docs/api.md:{}: no `→ NNN` after the block", k + 1))
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap();
            out.push(Example {
                line: start,
                method,
                path,
                body,
                status,
            });
            i = k;
        }
        i += 1;
    }
    out
}

#[tokio::test]
async fn api_guide_examples_run_in_order_against_a_fresh_server() {
    let md = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md"))
        .expect("docs/api.md");
    let ex = examples(&md);
    assert!(ex.len() >= 10, "only {} runnable examples", ex.len());
    let methods: BTreeSet<&str> = ex.iter().map(|e| e.method.as_str()).collect();
    for m in ["GET", "POST", "PATCH", "DELETE"] {
        assert!(methods.contains(m), "no {m} example");
    }
    assert!(ex.iter().any(|e| e.path.contains("from-project")));
    assert!(ex.iter().any(|e| e.path.ends_with("/issue")));
    assert!(ex.iter().any(|e| e.status == 422));
    assert!(ex.iter().any(|e| e.path.contains('?')), "a filter example");

    let env = Env::start();
    env.add_user("anna", "users", USER_PW); // the guide's time entries are anna's
    let (_, token) = env.token("docs", ALL_SCOPES);
    let api = env.bearer(&token);
    let mut last: Option<i64> = None;
    let mut last_by: BTreeMap<String, i64> = BTreeMap::new();
    for e in &ex {
        let mut path = e.path.clone();
        let mut body = e.body.clone();
        for (k, v) in &last_by {
            let ph = format!("{{last_id:{k}}}");
            path = path.replace(&ph, &v.to_string());
            body = body.map(|b| b.replace(&ph, &v.to_string()));
        }
        if let Some(id) = last {
            path = path.replace("{last_id}", &id.to_string());
            body = body.map(|b| b.replace("{last_id}", &id.to_string()));
        }
        assert!(
            !path.contains('{') && !body.as_deref().unwrap_or("").contains("{last_id"),
            "docs/api.md:{}: unresolved placeholder in {path} {body:?}",
            e.line
        );
        let r = match &body {
            Some(b) => {
                serde_json::from_str::<Value>(b).unwrap_or_else(|err| {
                    panic!("docs/api.md:{}: body is not JSON ({err}): {b}", e.line)
                });
                api.send(
                    &e.method,
                    &path,
                    &[("content-type", "application/json")],
                    b.as_bytes(),
                    false,
                )
                .await
            }
            None => api.send(&e.method, &path, &[], b"", false).await,
        };
        assert_eq!(
            r.status, e.status,
            "docs/api.md:{}: {} {path} answered {}: {}",
            e.line, e.method, r.status, r.body
        );
        if r.status == 201
            && let Some(id) = serde_json::from_str::<Value>(&r.body)
                .ok()
                .and_then(|j| j["id"].as_i64())
        {
            last = Some(id);
            let module = path
                .trim_start_matches("/api/v1/")
                .split(['/', '?'])
                .next()
                .unwrap();
            last_by.insert(module.to_string(), id);
        }
    }
}
