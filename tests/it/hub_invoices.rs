//! Hub invoices: built from billable time with integer money to the cent, gap-free numbers, and
//! issued invoices locked.
//!
//! Every test has its own data dir and server (tests/it/hub_support.rs). Tests that once exposed a
//! bug keep a `// BUG (fixed):` note saying what it was.

use crate::hub_support::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[tokio::test]
async fn invoices_from_time_with_integer_money_gap_free_numbers_and_locked_issued_invoices() {
    let env = Env::start();
    env.add_user("anna", "users", USER_PW);
    let api = env.full_token();
    let client = api.create_id("clients", json!({ "name": "Initech" })).await;
    let project = api
        .create_id(
            "projects",
            json!({ "name": "TPS reports", "client_id": client, "hourly_rate": 12000, "currency": "EUR" }),
        ).await;
    let other = api
        .create_id(
            "projects",
            json!({ "name": "Other", "client_id": client, "hourly_rate": 10000 }),
        )
        .await;
    let entry = |project: i64, date: &str, minutes: i64, billable: bool| json!({ "user": "anna", "project_id": project, "date": date, "minutes": minutes, "billable": billable, "note": "work" });
    let e60 = api
        .create_id("time-entries", entry(project, "2026-11-02", 60, true))
        .await;
    let e30 = api
        .create_id("time-entries", entry(project, "2026-11-03", 30, true))
        .await;
    let unbillable = api
        .create_id("time-entries", entry(project, "2026-11-04", 45, false))
        .await;
    let elsewhere = api
        .create_id("time-entries", entry(other, "2026-11-04", 120, true))
        .await;

    // 90 billable minutes at 120.00/h = 180.00 net, 23 % = 41.40 tax, 221.40 total.
    let r = api
        .post(
            "/api/v1/invoices/from-project",
            json!({ "project_id": project, "tax_rate": 23 }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let inv = r.json();
    let inv_id = inv["id"].as_i64().unwrap();
    assert_eq!(inv["status"], "draft");
    assert!(inv["number"].is_null(), "a draft has no number");
    assert_eq!(inv["client_id"], client);
    assert_eq!(inv["project_id"], project);
    let lines = inv["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "one line per billable entry: {inv}");
    let nets: Vec<i64> = lines.iter().map(|l| l["net"].as_i64().unwrap()).collect();
    let taxes: Vec<i64> = lines.iter().map(|l| l["tax"].as_i64().unwrap()).collect();
    assert_eq!(nets, vec![12000, 6000]);
    assert_eq!(taxes, vec![2760, 1380]);
    for l in lines {
        assert_eq!(l["unit_price"], 12000);
        assert_eq!(l["tax_rate_bp"], 2300);
    }
    assert_eq!(
        (&inv["subtotal"], &inv["tax_total"], &inv["total"]),
        (&json!(18000), &json!(4140), &json!(22140))
    );
    for v in [&inv["subtotal"], &inv["tax_total"], &inv["total"]] {
        assert!(v.is_i64(), "money is integer cents: {v}");
    }

    // The entries are billed now: locked against change and deletion; the others are not.
    for e in [e60, e30] {
        let t = api.get(&format!("/api/v1/time-entries/{e}")).await.json();
        assert_eq!(t["invoice_id"], inv_id);
        let r = api
            .patch(
                &format!("/api/v1/time-entries/{e}"),
                json!({ "minutes": 1 }),
            )
            .await;
        assert_eq!(r.status, 409, "billed entry changed: {}", r.body);
        assert_eq!(
            api.delete(&format!("/api/v1/time-entries/{e}"))
                .await
                .status,
            409
        );
    }
    for e in [unbillable, elsewhere] {
        assert!(api.get(&format!("/api/v1/time-entries/{e}")).await.json()["invoice_id"].is_null());
    }
    let again = api
        .post(
            "/api/v1/invoices/from-project",
            json!({ "project_id": project, "tax_rate": 23 }),
        )
        .await;
    assert_eq!(again.status, 409, "nothing left to bill: {}", again.body);
    assert_eq!(
        api.post(
            "/api/v1/invoices/from-project",
            json!({ "project_id": 999_999 })
        )
        .await
        .status,
        404
    );

    // Lines on the draft: 2.5 × 19.99 = 49.975 → 49.98 (half up); 8 % of 49.98 = 4.00.
    let r = api
        .post(
            &format!("/api/v1/invoices/{inv_id}/lines"),
            json!({ "description": "Travel", "quantity": "2.5", "unit_price": 1999, "tax_rate": 8 }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let with = r.json();
    let travel = with["lines"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (travel["net"].as_i64(), travel["tax"].as_i64()),
        (Some(4998), Some(400))
    );
    assert_eq!(
        (&with["subtotal"], &with["tax_total"], &with["total"]),
        (&json!(22998), &json!(4540), &json!(27538))
    );
    let bad = api
        .post(
            &format!("/api/v1/invoices/{inv_id}/lines"),
            json!({ "description": "x", "quantity": "abc", "unit_price": 100, "tax_rate": 23 }),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert_eq!(bad.json()["error"]["field"], "quantity");
    let bad = api
        .post(
            &format!("/api/v1/invoices/{inv_id}/lines"),
            json!({ "description": "x", "quantity": 1, "unit_price": -5, "tax_rate": 23 }),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let r = api
        .delete(&format!("/api/v1/invoices/{inv_id}/lines/{}", travel["id"]))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["total"], 22140);
    assert_eq!(r.json()["lines"].as_array().unwrap().len(), 2);
    assert_eq!(
        api.delete(&format!("/api/v1/invoices/{inv_id}/lines/{}", travel["id"]))
            .await
            .status,
        404
    );
    let got = api.get(&format!("/api/v1/invoices/{inv_id}/lines")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.json()["lines"].as_array().unwrap().len(), 2);

    // Issue: number YYYY-0001, dates fixed; then it is locked.
    let r = api
        .post(&format!("/api/v1/invoices/{inv_id}/issue"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let issued = r.json();
    assert_eq!(issued["status"], "issued");
    let year = issued["issue_date"].as_str().unwrap()[..4].to_string();
    assert_eq!(issued["number"], format!("{year}-0001"));
    assert!(issued["due_date"].is_string());
    assert!(issued["issued_at"].is_string());
    let path = format!("/api/v1/invoices/{inv_id}");
    for (what, r) in [
        (
            "PATCH",
            api.patch(&path, json!({ "notes": "changed" })).await,
        ),
        ("DELETE", api.delete(&path).await),
        (
            "add line",
            api.post(
                &format!("{path}/lines"),
                json!({ "description": "late", "quantity": 1, "unit_price": 1, "tax_rate": 0 }),
            )
            .await,
        ),
        (
            "remove line",
            api.delete(&format!("{path}/lines/{}", lines[0]["id"]))
                .await,
        ),
        (
            "issue again",
            api.post(&format!("{path}/issue"), json!({})).await,
        ),
    ] {
        assert_eq!(r.status, 409, "{what} on an issued invoice: {}", r.body);
        assert_eq!(r.code(), "conflict");
    }
    assert_eq!(api.get(&path).await.json()["total"], 22140);
    let r = api.post(&format!("{path}/paid"), json!({})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "paid");
    assert!(r.json()["paid_at"].is_string());
    assert_eq!(
        api.post(&format!("{path}/cancel"), json!({})).await.status,
        409
    );
    assert_eq!(
        api.post(&format!("{path}/refund"), json!({})).await.status,
        404
    );

    // A draft without lines cannot be issued; a cancelled draft takes no number.
    let draft = api.create("invoices", json!({ "client_id": client })).await;
    let draft_id = draft["id"].as_i64().unwrap();
    assert_eq!(draft["status"], "draft");
    let r = api
        .post(&format!("/api/v1/invoices/{draft_id}/issue"), json!({}))
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    api.post(
        &format!("/api/v1/invoices/{draft_id}/lines"),
        json!({ "description": "Setup fee", "quantity": 1, "unit_price": 50000, "tax_rate": "23" }),
    )
    .await;
    let r = api
        .post(&format!("/api/v1/invoices/{draft_id}/cancel"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "cancelled");
    assert!(r.json()["number"].is_null());
    assert_eq!(
        api.post(&format!("/api/v1/invoices/{draft_id}/issue"), json!({}))
            .await
            .status,
        409
    );

    // The next issued invoice gets the next number: no gap.
    let r = api
        .post(
            "/api/v1/invoices/from-project",
            json!({ "project_id": other, "tax_rate": "8.5" }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let second = r.json();
    // 120 min at 100.00/h = 200.00; 8.5 % = 17.00.
    assert_eq!(
        (&second["subtotal"], &second["tax_total"], &second["total"]),
        (&json!(20000), &json!(1700), &json!(21700))
    );
    let second_id = second["id"].as_i64().unwrap();
    let r = api
        .post(&format!("/api/v1/invoices/{second_id}/issue"), json!({}))
        .await;
    assert_eq!(r.json()["number"], format!("{year}-0002"), "{}", r.body);

    // Voiding an issued invoice (with a reason) releases its time: it can be billed again.
    let r = api
        .post(&format!("/api/v1/invoices/{second_id}/cancel"), json!({}))
        .await;
    assert_eq!(
        r.status, 409,
        "an issued invoice is voided, not cancelled: {}",
        r.body
    );
    let r = api
        .post(
            &format!("/api/v1/invoices/{second_id}/void"),
            json!({ "reason": "billed twice" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["status"], "void");
    assert_eq!(
        r.json()["number"],
        format!("{year}-0002"),
        "an issued number stays taken"
    );
    let t = api
        .get(&format!("/api/v1/time-entries/{elsewhere}"))
        .await
        .json();
    assert!(t["invoice_id"].is_null(), "released: {t}");
    assert_eq!(
        api.patch(
            &format!("/api/v1/time-entries/{elsewhere}"),
            json!({ "note": "corrected" })
        )
        .await
        .status,
        200
    );
    let r = api
        .post(
            "/api/v1/invoices/from-project",
            json!({ "project_id": other, "tax_rate": 23 }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let third_id = r.id();
    let r = api
        .post(&format!("/api/v1/invoices/{third_id}/issue"), json!({}))
        .await;
    assert_eq!(r.json()["number"], format!("{year}-0003"), "{}", r.body);

    let numbers: BTreeSet<String> = api
        .all("invoices", "")
        .await
        .iter()
        .filter_map(|i| i["number"].as_str().map(str::to_string))
        .collect();
    let want: BTreeSet<String> = (1..=3).map(|n| format!("{year}-{n:04}")).collect();
    assert_eq!(numbers, want, "consecutive and unique");
    let cancelled = api
        .all("invoices", "")
        .await
        .into_iter()
        .filter(|i| i["status"] == "cancelled" || i["status"] == "void")
        .count();
    assert_eq!(cancelled, 2);
    assert_eq!(env.audit("invoice_issued").len(), 3);

    // The list filters by status (outstanding invoices are `status=issued`), in the API, the CSV
    // export and OpenAPI; a status that does not exist or a computed column is refused by name.
    let ids = |rows: Vec<Value>| -> BTreeSet<i64> {
        rows.iter().filter_map(|i| i["id"].as_i64()).collect()
    };
    for (status, want) in [
        ("issued", vec![third_id]),
        ("paid", vec![inv_id]),
        ("cancelled", vec![draft_id]),
        ("void", vec![second_id]),
        ("draft", vec![]),
    ] {
        assert_eq!(
            ids(api.all("invoices", &format!("status={status}")).await),
            want.into_iter().collect::<BTreeSet<i64>>(),
            "status={status}"
        );
    }
    let nobody = api
        .create_id("clients", json!({ "name": "No invoices" }))
        .await;
    assert_eq!(
        ids(api
            .all("invoices", &format!("status=cancelled&client_id={client}"))
            .await),
        [draft_id].into_iter().collect::<BTreeSet<i64>>(),
        "status and client together"
    );
    assert!(
        ids(api
            .all("invoices", &format!("status=cancelled&client_id={nobody}"))
            .await)
        .is_empty()
    );
    for bad in ["status=unpaid", "total=22140", "number=x"] {
        let r = api.get(&format!("/api/v1/invoices?{bad}")).await;
        assert_eq!(r.status, 422, "{bad}: {}", r.body);
        let field = bad.split('=').next().unwrap_or_default();
        assert_eq!(r.json()["error"]["field"], field, "{bad}: {}", r.body);
    }
    let csv = api.get("/api/v1/invoices/export.csv?status=paid").await;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(
        csv.body.lines().count(),
        2,
        "header and the paid invoice: {}",
        csv.body
    );
    assert!(csv.body.contains(&format!("{year}-0001")), "{}", csv.body);
    let doc = env.anonymous().get("/api/v1/openapi.json").await.json();
    let params = doc["paths"]["/api/v1/invoices"]["get"]["parameters"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let status = params
        .iter()
        .find(|p| p["name"] == "status" && p["in"] == "query")
        .unwrap_or_else(|| panic!("no status parameter: {params:?}"));
    assert_eq!(
        status["schema"]["enum"],
        json!(["draft", "issued", "paid", "cancelled", "void"])
    );
}

// BUG (fixed): src/hub/invoices.rs:286 — `from_project` turns minutes into hours with integer division
// (`e.minutes * 1000 / 60`), so every entry that is not a multiple of 3.6 minutes loses money:
// 10 minutes at 120.00/h is billed as 0.166 h = 19.92 instead of 20.00, 20 minutes as 39.96.
// Reproduction: project hourly_rate 12000, time entries of 10 and 20 minutes, POST
// /api/v1/invoices/from-project → subtotal 5988 instead of 6000.
#[tokio::test]
async fn invoice_from_project_bills_partial_hours_to_the_cent() {
    let env = Env::start();
    let api = env.full_token();
    let client = api.create_id("clients", json!({ "name": "Hooli" })).await;
    let project = api
        .create_id(
            "projects",
            json!({ "name": "Nucleus", "client_id": client, "hourly_rate": 12000 }),
        )
        .await;
    for minutes in [10, 20] {
        api.create(
            "time-entries",
            json!({ "user": ADMIN, "project_id": project, "date": "2026-11-05", "minutes": minutes }),
        )
        .await;
    }
    let r = api
        .post(
            "/api/v1/invoices/from-project",
            json!({ "project_id": project, "tax_rate": 0 }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let inv = r.json();
    let nets: Vec<i64> = inv["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["net"].as_i64().unwrap())
        .collect();
    assert_eq!(nets, vec![2000, 4000], "10 and 20 minutes at 120.00/h");
    assert_eq!(inv["subtotal"], 6000);
}

// BUG (fixed): after an action on a card the page stayed on the action's address
// (`/m/invoices/1/do/issue`), so a reload answered a blank 405 and the back button re-posted.
// Now every card action answers 303 to the card, which says what happened by a fixed key, and a
// GET on an action's address leads back to the card.
#[tokio::test]
async fn card_actions_redirect_to_the_card_and_their_addresses_lead_back_to_it() {
    let env = Env::start();
    let s = env.admin().await;
    let client = s.create_id("clients", json!({ "name": "Initech" })).await;
    let inv = s
        .create_id(
            "invoices",
            json!({ "client_id": client, "currency": "EUR" }),
        )
        .await;
    let card = format!("/m/invoices/{inv}");
    // (action address, form fields, outcome key, sentence on the card)
    type Case<'a> = (String, Vec<(&'a str, &'a str)>, &'a str, &'a str);
    let cases: Vec<Case> = vec![
        (
            format!("{card}/lines"),
            vec![
                ("description", "Audit"),
                ("quantity", "1"),
                ("unit_price", "100.00"),
                ("tax_rate", "23"),
            ],
            "line-added",
            "Line added.",
        ),
        (
            format!("{card}/comments"),
            vec![("body", "Sent by post <b>today</b>")],
            "commented",
            "Comment added.",
        ),
        (
            format!("{card}/do/issue"),
            vec![],
            "issued",
            "Invoice issued.",
        ),
        (format!("{card}/do/paid"), vec![], "paid", "Marked paid."),
    ];
    for (action, fields, key, message) in cases {
        let r = s.form(&action, &fields).await;
        assert_eq!(r.status, 303, "{action}: {}", r.body);
        assert_eq!(
            r.header("location"),
            format!("{card}?done={key}"),
            "{action}"
        );
        let shown = s.get(&r.header("location")).await;
        assert_eq!(shown.status, 200);
        assert!(shown.body.contains(message), "{action}: {}", shown.body);
        // A reload of the action's address: back to the card, not a blank 405.
        let again = s.get(&action).await;
        assert_eq!(again.status, 303, "GET {action}: {}", again.body);
        assert_eq!(again.header("location"), card, "GET {action}");
    }
    // The outcome key is looked up, never echoed: an unknown one shows nothing.
    let odd = s.get(&format!("{card}?done=%3Cscript%3Ealert(1)")).await;
    assert_eq!(odd.status, 200);
    assert!(!odd.body.contains("<script>alert"), "{}", odd.body);
    assert!(!odd.body.contains("alert(1)"), "{}", odd.body);
    // A refusal still renders in place (422), with what to fix.
    let r = s.form(&format!("{card}/do/issue"), &[]).await;
    assert_eq!(r.status, 422, "{}", r.body);
    // GET on other action addresses, and one for a module that does not exist.
    for path in [
        format!("{card}/delete"),
        format!("{card}/restore"),
        format!("{card}/lines/1/delete"),
        format!("/m/documents/{inv}/upload"),
    ] {
        let r = s.get(&path).await;
        assert_eq!(r.status, 303, "GET {path}");
        assert!(r.header("location").starts_with("/m/"), "GET {path}");
    }
    assert_eq!(s.get("/m/nothing/1/delete").await.status, 404);
}
