//! Hub module pages: every page renders with the security headers, forms mark the bad field, and
//! reference selects keep the record's own value beyond the first 500 offered.
//!
//! Every test has its own data dir and server (tests/it/hub_support.rs). Tests that once exposed a
//! bug keep a `// BUG (fixed):` note saying what it was.

use crate::hub_support::*;
use serde_json::json;

#[tokio::test]
async fn every_module_page_renders_with_security_headers_and_forms_mark_the_bad_field() {
    let env = Env::start();
    let s = env.admin().await;
    let c = s
        .create_id("clients", json!({ "name": "Page Client" }))
        .await;
    let p = s
        .create_id(
            "projects",
            json!({ "name": "Page Project", "client_id": c }),
        )
        .await;
    let mut records: Vec<(&str, i64, &str)> = vec![
        ("clients", c, "Page Client"),
        ("projects", p, "Page Project"),
    ];
    let contact = s
        .create(
            "contacts",
            json!({ "name": "Page Contact", "client_id": c }),
        )
        .await;
    records.push(("contacts", contact["id"].as_i64().unwrap(), "Page Contact"));
    let task = s
        .create("tasks", json!({ "title": "Page Task", "project_id": p }))
        .await;
    records.push(("tasks", task["id"].as_i64().unwrap(), "Page Task"));
    let te = s
        .create(
            "time-entries",
            json!({ "user": ADMIN, "project_id": p, "date": "2026-07-01", "minutes": 42, "note": "Page Time" }),
        )
        .await;
    records.push(("time-entries", te["id"].as_i64().unwrap(), "Page Time"));
    let inv = s.create("invoices", json!({ "client_id": c })).await;
    records.push(("invoices", inv["id"].as_i64().unwrap(), "Page Client"));
    let doc = s
        .create(
            "documents",
            json!({ "title": "Page Document", "client_id": c }),
        )
        .await;
    records.push(("documents", doc["id"].as_i64().unwrap(), "Page Document"));

    for (slug, id, text) in &records {
        for path in [
            format!("/m/{slug}"),
            format!("/m/{slug}/new"),
            format!("/m/{slug}/{id}"),
            format!("/m/{slug}/{id}/edit"),
            format!("/m/{slug}/import"),
        ] {
            let r = s.get(&path).await;
            assert_eq!(r.status, 200, "{path}: {}", r.status);
            assert!(r.header("content-type").starts_with("text/html"), "{path}");
            assert_security_headers(&r, &path);
        }
        let card = s.get(&format!("/m/{slug}/{id}")).await;
        assert!(card.body.contains(text), "/m/{slug}/{id} shows `{text}`");
        let list = s.get(&format!("/m/{slug}")).await;
        assert!(
            list.body.contains(&format!("/m/{slug}/{id}")),
            "/m/{slug} links the record"
        );
    }
    // Invoices filter by their computed status on the page too: the draft shows under "draft" only.
    let inv_link = format!("/m/invoices/{}", inv["id"]);
    let drafts = s.get("/m/invoices?status=draft").await;
    assert!(
        drafts.body.contains("<select name=\"status\">"),
        "status filter offered"
    );
    assert!(
        drafts.body.contains("<option value=\"draft\" selected>"),
        "chosen status kept"
    );
    assert!(drafts.body.contains(&inv_link), "the draft is listed");
    let issued = s.get("/m/invoices?status=issued").await;
    assert_eq!(issued.status, 200);
    assert!(
        !issued.body.contains(&inv_link),
        "a draft is not outstanding"
    );
    let home = s.get("/").await;
    assert!(
        home.body.contains("/m/invoices?status=issued"),
        "dashboard links the outstanding list"
    );
    assert_eq!(s.get("/m/clients/987654").await.status, 404);
    assert_eq!(s.get("/m/nonsense").await.status, 404);
    // Not signed in: pages send to the sign-in page.
    let r = env.anonymous().get("/m/clients").await;
    assert!(r.status == 303 || r.status == 302, "{}", r.status);
    assert!(r.header("location").starts_with("/signin"));

    // The form with a missing required field and a bad e-mail: 422, messages next to the fields,
    // typed values kept, nothing created.
    let before = s.count("clients").await;
    let r = s
        .form(
            "/m/clients",
            &[
                ("name", ""),
                ("email", "not-an-email"),
                ("phone", "+48 1"),
                ("status", "active"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.status);
    assert_security_headers(&r, "422 form");
    let name = label_of(&r.body, "name");
    assert!(
        name.contains("field-error") && name.contains("is required"),
        "{name}"
    );
    assert!(name.contains("aria-invalid=\"true\""), "{name}");
    let email = label_of(&r.body, "email");
    assert!(email.contains("is not an e-mail address"), "{email}");
    assert!(
        email.contains("value=\"not-an-email\""),
        "typed value kept: {email}"
    );
    assert!(!label_of(&r.body, "phone").contains("field-error"));
    assert_eq!(s.count("clients").await, before);

    // Other modules' forms mark their own required fields.
    let r = s.form("/m/time-entries", &[("note", "x")]).await;
    assert_eq!(r.status, 422);
    for f in ["user", "project_id", "date", "minutes"] {
        assert!(
            label_of(&r.body, f).contains("is required"),
            "time entry form: {f} not marked"
        );
    }

    // A good form creates and redirects to the card; an edit with a stale version is refused.
    let r = s
        .form(
            "/m/clients",
            &[("name", "Formed Client"), ("status", "prospect")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let loc = r.header("location");
    assert!(loc.starts_with("/m/clients/"), "{loc}");
    let new_id = loc.rsplit('/').next().unwrap().to_string();
    let r = s
        .form(
            &format!("/m/clients/{new_id}"),
            &[("name", "Edited"), ("status", "active"), ("_version", "1")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.status);
    let r = s
        .form(
            &format!("/m/clients/{new_id}"),
            &[
                ("name", "Stale Edit"),
                ("status", "active"),
                ("_version", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "stale edit: {}", r.status);
    assert!(r.body.contains("changed by someone else"));
    assert_eq!(
        s.get(&format!("/api/v1/clients/{new_id}")).await.json()["name"],
        "Edited"
    );
}

/// A reference select offers the first 500 records by name; the record's own value and a chosen
/// filter are always among them, so editing a project of a client far down the alphabet keeps its
/// client instead of silently taking the first one offered.
#[tokio::test]
async fn reference_selects_keep_the_current_record_beyond_the_first_500() {
    let env = Env::start();
    let s = env.admin().await;
    let mut csv = String::from("name\n");
    for n in 0..520 {
        csv.push_str(&format!("Aardvark {n:03}\n"));
    }
    assert_eq!(s.import("clients", &csv, false).await.status, 201);
    let zulu = s.create_id("clients", json!({ "name": "Zulu Ltd" })).await;
    let project = s
        .create_id("projects", json!({ "name": "Far down", "client_id": zulu }))
        .await;
    let chosen = format!("<option value=\"{zulu}\" selected>Zulu Ltd</option>");
    let edit = s.get(&format!("/m/projects/{project}/edit")).await;
    assert_eq!(edit.status, 200);
    assert!(edit.body.contains(&chosen), "edit form keeps the client");
    let new = s.get(&format!("/m/projects/new?client_id={zulu}")).await;
    assert!(new.body.contains(&chosen), "a new project for that client");
    let list = s.get(&format!("/m/projects?client_id={zulu}")).await;
    assert!(
        list.body.contains(&chosen),
        "the filter shows what it filters by"
    );
    // The form as the browser sends it back leaves the project where it was.
    let r = s
        .form(
            &format!("/m/projects/{project}"),
            &[
                ("name", "Far down"),
                ("client_id", &zulu.to_string()),
                ("status", "planned"),
                ("_version", "1"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let p = s.get(&format!("/api/v1/projects/{project}")).await.json();
    assert_eq!(p["client_id"], zulu);
}
