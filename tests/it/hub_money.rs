//! Money as people read and type it: the invoice list's columns, amounts in the currency with the
//! locale's separators (storage and the API stay in integer minor units), the instance's money
//! settings (currency, tax rates, hourly rate, payment terms, locale), and voiding an issued
//! invoice with a confirmed reason.
//!
//! Every test has its own data dir and server (tests/it/hub_support.rs). Tests that once exposed a
//! bug keep a `// BUG (fixed):` note saying what it was.

use crate::hub_support::*;
use serde_json::json;

/// The text inside the tags of an HTML fragment, each tag read as a space, white space collapsed.
fn text_of(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The list page's table: its headers and, per row, each header with its cell's text.
fn table(html: &str) -> Vec<Vec<(String, String)>> {
    let head = html
        .split("<thead>")
        .nth(1)
        .and_then(|h| h.split("</thead>").next())
        .unwrap_or_else(|| panic!("no table head in {html}"));
    let headers: Vec<String> = head
        .split("<th")
        .skip(1)
        .map(|c| text_of(&format!("<th{}", c.split("</th>").next().unwrap_or(""))))
        .collect();
    let body = html
        .split("<tbody>")
        .nth(1)
        .and_then(|b| b.split("</tbody>").next())
        .unwrap_or_default();
    body.split("<tr")
        .skip(1)
        .map(|row| {
            let cells: Vec<String> = row
                .split("<td")
                .skip(1)
                .map(|c| text_of(&format!("<td{}", c.split("</td>").next().unwrap_or(""))))
                .collect();
            assert_eq!(cells.len(), headers.len(), "{headers:?} against {cells:?}");
            headers.iter().cloned().zip(cells).collect()
        })
        .collect()
}

fn cell<'a>(row: &'a [(String, String)], header: &str) -> &'a str {
    row.iter()
        .find(|(h, _)| h == header)
        .map(|(_, c)| c.as_str())
        .unwrap_or_else(|| panic!("no column {header} in {row:?}"))
}

// BUG (fixed): src/web/hub/list.rs put the invoice's number in front of the cells and then dropped
// the *last* cell (the total) instead of the number column it replaced: "Status" showed the
// number, "Total" the status, and the amount never appeared.
#[tokio::test]
async fn the_invoice_list_shows_each_column_under_its_header() {
    let env = Env::start();
    env.add_user("anna", "users", USER_PW);
    let api = env.full_token();
    let client = api.create_id("clients", json!({ "name": "Initech" })).await;
    let issued = api
        .create_id(
            "invoices",
            json!({ "client_id": client, "currency": "EUR" }),
        )
        .await;
    let r = api
        .post(
            &format!("/api/v1/invoices/{issued}/lines"),
            json!({ "description": "Audit", "quantity": "2", "unit_price": 90000, "tax_rate": 23 }),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = api
        .post(&format!("/api/v1/invoices/{issued}/issue"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let number = r.json()["number"].as_str().unwrap().to_string();
    let issue_date = r.json()["issue_date"].as_str().unwrap().to_string();
    let draft = api
        .create_id("invoices", json!({ "client_id": client }))
        .await;

    let anna = env.session("anna", USER_PW).await;
    let page = anna.get("/m/invoices").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let rows = table(&page.body);
    let headers: Vec<&str> = rows[0].iter().map(|(h, _)| h.as_str()).collect();
    assert_eq!(
        headers,
        [
            "Invoice",
            "Client",
            "Issue date",
            "Due date",
            "Status",
            "Total"
        ]
    );
    let row_of = |first: &str| {
        rows.iter()
            .find(|r| cell(r, "Invoice") == first)
            .unwrap_or_else(|| panic!("no row {first} in {rows:?}"))
            .clone()
    };
    let i = row_of(&number);
    assert_eq!(cell(&i, "Client"), "Initech");
    assert_eq!(cell(&i, "Issue date"), issue_date);
    assert_eq!(cell(&i, "Status"), "Issued");
    // 2 × 900.00 + 23 % = 2,214.00
    assert_eq!(cell(&i, "Total"), "2,214.00 EUR");
    let d = row_of(&format!("Draft #{draft}"));
    assert_eq!(cell(&d, "Status"), "Draft");
    assert_eq!(cell(&d, "Due date"), "—");
    assert_eq!(cell(&d, "Total"), "0.00 EUR");
}

/// The admin's money settings form with these values (rates as (name, percent), the default by
/// its row).
async fn save_money(
    admin: &Caller<'_>,
    currency: &str,
    hourly: &str,
    terms: &str,
    locale: &str,
    rates: &[(&str, &str)],
    default: &str,
) -> R {
    let mut fields: Vec<(&str, &str)> = vec![
        ("currency", currency),
        ("hourly_rate", hourly),
        ("payment_terms_days", terms),
        ("locale", locale),
        ("tax_default", default),
    ];
    for (n, r) in rates {
        fields.push(("tax_name", n));
        fields.push(("tax_rate", r));
    }
    admin.form("/admin/money", &fields).await
}

fn project_form<'a>(name: &'a str, client: &'a str, hourly: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", name),
        ("client_id", client),
        ("status", "active"),
        ("hourly_rate", hourly),
        ("currency", "EUR"),
    ]
}

// BUG (fixed): the project form read "Hourly rate (cents)" and "Budget (amount, cents)", the card
// showed "Hourly rate (cents) 95.00" for 9500, typing 95.50 was refused as "must be a whole number
// of cents", and the invoice line form asked for a "Unit price (cents)".
#[tokio::test]
async fn money_is_typed_and_shown_in_the_currency_with_the_locales_separators() {
    let env = Env::start();
    env.add_user("anna", "users", USER_PW);
    let api = env.full_token();
    let admin = env.admin().await;
    let anna = env.session("anna", USER_PW).await;
    let client = api.create_id("clients", json!({ "name": "Initech" })).await;
    let c = client.to_string();

    let form = anna
        .get(&format!("/m/projects/new?client_id={client}"))
        .await;
    assert_eq!(form.status, 200, "{}", form.body);
    for (name, label) in [("hourly_rate", "Hourly rate"), ("budget_amount", "Budget")] {
        let l = label_of(&form.body, name);
        assert!(l.contains(label) && !l.contains("cents"), "{name}: {l}");
        assert!(l.contains("inputmode=\"decimal\""), "{name}: {l}");
    }
    assert_eq!(
        input_value(&form.body, "hourly_rate").as_deref(),
        Some("0.00")
    );

    // English: a dot for decimals, commas between thousands.
    let r = anna
        .form("/m/projects", &project_form("Audit", &c, "95.50"))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let id = r.header("location").rsplit('/').next().unwrap().to_string();
    let p = api.get(&format!("/api/v1/projects/{id}")).await.json();
    assert_eq!(p["hourly_rate"], 9550, "stored in minor units: {p}");
    let card = anna.get(&format!("/m/projects/{id}")).await;
    assert!(
        text_of(&card.body).contains("Hourly rate 95.50 EUR"),
        "{}",
        card.body
    );
    let r = anna
        .form("/m/projects", &project_form("Big", &c, "1,234.50"))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let big = r.header("location").rsplit('/').next().unwrap().to_string();
    assert_eq!(
        api.get(&format!("/api/v1/projects/{big}")).await.json()["hourly_rate"],
        123_450
    );
    let edit = anna.get(&format!("/m/projects/{big}/edit")).await;
    assert_eq!(
        input_value(&edit.body, "hourly_rate").as_deref(),
        Some("1234.50")
    );

    // Refused precisely, and nothing is made.
    let before = api.count("projects").await;
    for (typed, says) in [
        ("95,50", "digit groups"),
        ("95.505", "at most 2 decimals"),
        ("12abc", "digits only"),
        ("-5", "0 or more"),
        ("10000000000.01", "at most 10,000,000,000.00"),
    ] {
        let r = anna
            .form("/m/projects", &project_form("Refused", &c, typed))
            .await;
        assert_eq!(r.status, 422, "{typed}: {}", r.body);
        let l = label_of(&r.body, "hourly_rate");
        assert!(l.contains(says), "{typed}: {l}");
        assert!(
            l.contains(&format!("value=\"{typed}\"")),
            "kept as typed: {l}"
        );
    }
    assert_eq!(api.count("projects").await, before);

    // Polish: a comma for decimals, spaces between thousands.
    let r = save_money(
        &admin,
        "EUR",
        "0.00",
        "30",
        "pl",
        &[
            ("Standard", "23"),
            ("Reduced", "8"),
            ("Super-reduced", "5"),
            ("Zero", "0"),
        ],
        "0",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = anna
        .form("/m/projects", &project_form("Polski", &c, "1 234,50"))
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let pl = r.header("location").rsplit('/').next().unwrap().to_string();
    assert_eq!(
        api.get(&format!("/api/v1/projects/{pl}")).await.json()["hourly_rate"],
        123_450
    );
    let card = anna.get(&format!("/m/projects/{pl}")).await;
    assert!(
        card.body.contains("1\u{a0}234,50\u{a0}EUR"),
        "grouped with no-break spaces: {}",
        card.body
    );
    let edit = anna.get(&format!("/m/projects/{id}/edit")).await;
    assert_eq!(
        input_value(&edit.body, "hourly_rate").as_deref(),
        Some("95,50")
    );
    let r = anna
        .form("/m/projects", &project_form("Refused", &c, "1,234.50"))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);

    // Invoice lines: the unit price in the invoice's currency.
    let inv = api
        .create_id(
            "invoices",
            json!({ "client_id": client, "currency": "PLN" }),
        )
        .await;
    let card = anna.get(&format!("/m/invoices/{inv}")).await;
    let l = label_of(&card.body, "unit_price");
    assert!(
        // The instance's default language is Polish here, so is the page.
        l.contains("Cena jedn. (PLN)") && !l.contains("cents"),
        "{l}"
    );
    let r = anna
        .form(
            &format!("/m/invoices/{inv}/lines"),
            &[
                ("description", "Audit"),
                ("quantity", "2"),
                ("unit_price", "95,50"),
                ("tax_rate", "8.00"),
            ],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let lines = api
        .get(&format!("/api/v1/invoices/{inv}/lines"))
        .await
        .json();
    assert_eq!(lines["lines"][0]["unit_price"], 9550);
    assert_eq!(lines["lines"][0]["tax_rate_bp"], 800);
    assert_eq!(lines["total"], 20_628, "2 × 95.50 + 8 %");
    let r = anna.get(&r.header("location")).await;
    assert!(r.body.contains("206,28\u{a0}PLN"), "{}", r.body);
    let r = anna
        .form(
            &format!("/m/invoices/{inv}/lines"),
            &[
                ("description", "Rounded"),
                ("quantity", "1"),
                ("unit_price", "95,505"),
                ("tax_rate", "8.00"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    // The instance writes Polish here: the page says so in Polish.
    assert!(
        r.body.contains("najwyżej 2 miejsca po przecinku"),
        "{}",
        r.body
    );
    let lines = api
        .get(&format!("/api/v1/invoices/{inv}/lines"))
        .await
        .json();
    assert_eq!(lines["lines"].as_array().unwrap().len(), 1, "nothing added");

    // The API keeps integer minor units and says so.
    let doc = env.anonymous().get("/api/v1/openapi.json").await.json();
    let minor = "integer minor units of the invoice's currency, e.g. 9550 = 95.50";
    let schemas = &doc["components"]["schemas"];
    for field in ["subtotal", "tax_total", "total"] {
        assert_eq!(
            schemas["invoice"]["properties"][field]["description"], minor,
            "{field}"
        );
        assert_eq!(schemas["invoice"]["properties"][field]["type"], "integer");
    }
    assert_eq!(
        schemas["invoice_line_input"]["properties"]["unit_price"]["description"],
        minor
    );
    assert!(
        schemas["project_input"]["properties"]["hourly_rate"]["description"]
            .as_str()
            .unwrap()
            .contains("integer minor units"),
        "{}",
        schemas["project_input"]
    );
}

#[tokio::test]
async fn money_settings_are_an_audited_admin_page_used_by_the_forms_and_issuing() {
    let env = Env::start();
    env.add_user("anna", "users", USER_PW);
    let api = env.full_token();
    let admin = env.admin().await;
    let anna = env.session("anna", USER_PW).await;
    let client = api.create_id("clients", json!({ "name": "Initech" })).await;

    // Out of the box: the rates the hub used to assume, 23 % preselected.
    let page = admin.get("/admin/money").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let draft = api
        .create_id("invoices", json!({ "client_id": client }))
        .await;
    let card = anna.get(&format!("/m/invoices/{draft}")).await;
    assert!(
        card.body.contains("<select name=\"tax_rate\">"),
        "{}",
        card.body
    );
    assert!(
        card.body
            .contains("<option value=\"23.00\" selected>Standard (23\u{a0}%)</option>"),
        "{}",
        card.body
    );
    assert!(
        card.body
            .contains("<option value=\"8.00\">Reduced (8\u{a0}%)</option>")
    );

    // Only an administrator sees or changes them, and only with the form's token.
    assert_eq!(anna.get("/admin/money").await.status, 403);
    let r = anna.form("/admin/money", &[("currency", "PLN")]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let no_csrf = admin
        .send(
            "POST",
            "/admin/money",
            &[("content-type", "application/x-www-form-urlencoded")],
            b"currency=PLN&hourly_rate=1&payment_terms_days=1&locale=en&tax_default=0&tax_name=A&tax_rate=1",
            false,
        )
        .await;
    assert_eq!(no_csrf.status, 403, "{}", no_csrf.body);
    assert!(env.audit("settings_changed").is_empty());

    let rates = [
        ("Standard", "23"),
        ("Reduced", "8.5"),
        ("Exempt", "0"),
        ("", ""),
    ];
    let r = save_money(&admin, "PLN", "120.00", "14", "en", &rates, "1").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Saved 4 settings."), "{}", r.body);
    let logged = env.audit("settings_changed");
    assert_eq!(logged.len(), 1, "{logged:?}");
    assert_eq!(logged[0]["actor"], ADMIN);
    let details: serde_json::Value = match &logged[0]["details"] {
        serde_json::Value::String(s) => serde_json::from_str(s).unwrap(),
        other => other.clone(),
    };
    assert_eq!(
        details["money.currency"],
        json!({ "old": "EUR", "new": "PLN" })
    );
    assert_eq!(details["money.payment_terms_days"]["new"], "14");
    assert_eq!(
        details["money.tax_rates"]["new"][1],
        json!({ "name": "Reduced", "rate_bp": 850, "default": true })
    );
    assert!(
        details.get("money.locale").is_none(),
        "unchanged: {details}"
    );

    // The API starts from them too: an invoice or project created without a currency gets the
    // instance's (it used to get EUR whatever the settings said); one that names its own keeps it.
    let inv = api
        .create_id("invoices", json!({ "client_id": client }))
        .await;
    let got = api.get(&format!("/api/v1/invoices/{inv}")).await.json();
    assert_eq!(got["currency"], "PLN", "{got}");
    let own = api
        .create_id(
            "invoices",
            json!({ "client_id": client, "currency": "USD" }),
        )
        .await;
    let got = api.get(&format!("/api/v1/invoices/{own}")).await.json();
    assert_eq!(got["currency"], "USD", "{got}");
    let project = api
        .create_id("projects", json!({ "name": "Audit", "client_id": client }))
        .await;
    let got = api.get(&format!("/api/v1/projects/{project}")).await.json();
    assert_eq!(got["currency"], "PLN", "{got}");

    // The forms start from them.
    let form = anna.get("/m/invoices/new").await;
    assert!(
        form.body.contains("<option value=\"PLN\" selected>"),
        "{}",
        form.body
    );
    let form = anna.get("/m/projects/new").await;
    assert_eq!(
        input_value(&form.body, "hourly_rate").as_deref(),
        Some("120.00")
    );
    let card = anna.get(&format!("/m/invoices/{draft}")).await;
    assert!(
        card.body
            .contains("<option value=\"8.50\" selected>Reduced (8.5\u{a0}%)</option>"),
        "{}",
        card.body
    );
    assert!(
        !card.body.contains("Super-reduced"),
        "removed: {}",
        card.body
    );

    // Issuing without a due date: due after the payment terms.
    let inv = api
        .create_id(
            "invoices",
            json!({ "client_id": client, "issue_date": "2026-03-01" }),
        )
        .await;
    api.post(
        &format!("/api/v1/invoices/{inv}/lines"),
        json!({ "description": "Audit", "quantity": 1, "unit_price": 100, "tax_rate": 0 }),
    )
    .await;
    let r = api
        .post(&format!("/api/v1/invoices/{inv}/issue"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["due_date"], "2026-03-15");

    // Bad input is refused precisely and changes nothing.
    let ok = [("Standard", "23"), ("Reduced", "8.5")];
    for (what, r, says) in [
        (
            "terms",
            save_money(&admin, "PLN", "120.00", "400", "en", &ok, "0").await,
            "Payment terms: must be a whole number of days from 0 to 365",
        ),
        (
            "terms text",
            save_money(&admin, "PLN", "120.00", "two weeks", "en", &ok, "0").await,
            "Payment terms: write a whole number of days",
        ),
        (
            "currency",
            save_money(&admin, "XYZ", "120.00", "14", "en", &ok, "0").await,
            "Currency of new invoices and projects: must be one of",
        ),
        (
            "rate",
            save_money(&admin, "PLN", "120,00", "14", "en", &ok, "0").await,
            "Default hourly rate: the digit groups",
        ),
        (
            "decimals",
            save_money(&admin, "PLN", "120.001", "14", "en", &ok, "0").await,
            "Default hourly rate: write at most 2 decimals",
        ),
        (
            "tax",
            save_money(
                &admin,
                "PLN",
                "120.00",
                "14",
                "en",
                &[("Standard", "123")],
                "0",
            )
            .await,
            "Tax rate Standard: must be at most 100.00",
        ),
        (
            "tax letters",
            save_money(
                &admin,
                "PLN",
                "120.00",
                "14",
                "en",
                &[("Standard", "x")],
                "0",
            )
            .await,
            "Tax rate Standard: write an amount with digits only",
        ),
        (
            "twice",
            save_money(
                &admin,
                "PLN",
                "120.00",
                "14",
                "en",
                &[("A", "1"), ("A", "2")],
                "0",
            )
            .await,
            "Tax rates: A: two rates have this name",
        ),
        (
            "no default",
            save_money(&admin, "PLN", "120.00", "14", "en", &ok, "").await,
            "Default tax rate: choose exactly one default rate",
        ),
        (
            "none",
            save_money(&admin, "PLN", "120.00", "14", "en", &[], "").await,
            "Tax rates: keep between 1 and 20 tax rates",
        ),
        (
            "locale",
            save_money(&admin, "PLN", "120.00", "14", "de", &ok, "0").await,
            "Default language: choose one",
        ),
    ] {
        assert_eq!(r.status, 422, "{what}: {}", r.body);
        assert!(
            r.body.contains(says),
            "{what}: wanted `{says}` in {}",
            r.body
        );
    }
    assert_eq!(env.audit("settings_changed").len(), 1, "nothing changed");
    let page = admin.get("/admin/money").await;
    assert_eq!(
        input_value(&page.body, "payment_terms_days").as_deref(),
        Some("14")
    );
    assert!(page.body.contains("value=\"Exempt\""), "{}", page.body);
}

// BUG (fixed): "Cancel" on an issued invoice voided it at once, without confirmation or reason,
// and the same word meant "leave this form" elsewhere.
#[tokio::test]
async fn voiding_an_issued_invoice_asks_for_a_reason_keeps_the_number_and_is_audited() {
    let env = Env::start();
    env.add_user("anna", "users", USER_PW);
    let api = env.full_token();
    let admin = env.admin().await;
    group(&admin, "viewers", &["invoices:view", "clients:view"]).await;
    env.add_user("vera", "viewers", USER_PW);
    let anna = env.session("anna", USER_PW).await;
    let client = api.create_id("clients", json!({ "name": "Initech" })).await;
    let inv = api
        .create_id("invoices", json!({ "client_id": client }))
        .await;
    api.post(
        &format!("/api/v1/invoices/{inv}/lines"),
        json!({ "description": "Audit", "quantity": 1, "unit_price": 10_000, "tax_rate": 23 }),
    )
    .await;
    let number = api
        .post(&format!("/api/v1/invoices/{inv}/issue"), json!({}))
        .await
        .json()["number"]
        .as_str()
        .unwrap()
        .to_string();
    let status = || async {
        api.get(&format!("/api/v1/invoices/{inv}")).await.json()["status"]
            .as_str()
            .unwrap()
            .to_string()
    };

    // The card offers "Void invoice…" (a page), no "Cancel" that acts at once.
    let card = anna.get(&format!("/m/invoices/{inv}")).await;
    assert!(
        card.body
            .contains(&format!("href=\"/m/invoices/{inv}/void\"")),
        "{}",
        card.body
    );
    assert!(
        !card.body.contains(&format!("/m/invoices/{inv}/do/cancel")),
        "{}",
        card.body
    );
    assert!(!text_of(&card.body).contains("Cancel"), "{}", card.body);
    let confirm = anna.get(&format!("/m/invoices/{inv}/void")).await;
    assert_eq!(confirm.status, 200, "{}", confirm.body);
    assert!(confirm.body.contains("name=\"reason\""), "{}", confirm.body);
    assert!(confirm.body.contains("required"), "{}", confirm.body);

    // The old one-click path no longer voids an issued invoice, in the page or the API.
    let r = anna
        .form(&format!("/m/invoices/{inv}/do/cancel"), &[])
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("voided, with a reason, not cancelled"),
        "{}",
        r.body
    );
    let r = api
        .post(&format!("/api/v1/invoices/{inv}/cancel"), json!({}))
        .await;
    assert_eq!(r.status, 409, "{}", r.body);

    // Without a reason: refused, nothing changed.
    for reason in ["", "   \n "] {
        let r = anna
            .form(&format!("/m/invoices/{inv}/void"), &[("reason", reason)])
            .await;
        assert_eq!(r.status, 422, "{reason:?}: {}", r.body);
        assert!(r.body.contains("say why the invoice is void"), "{}", r.body);
    }
    let r = api
        .post(
            &format!("/api/v1/invoices/{inv}/void"),
            json!({ "reason": " " }),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(status().await, "issued");

    // Without the right to edit invoices: refused, nothing changed.
    let vera = env.session("vera", USER_PW).await;
    assert_eq!(
        vera.get(&format!("/m/invoices/{inv}")).await.status,
        200,
        "vera sees invoices"
    );
    let r = vera
        .form(&format!("/m/invoices/{inv}/void"), &[("reason", "mine")])
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(
        vera.get(&format!("/m/invoices/{inv}/void")).await.status,
        403
    );
    let (_, read_only) = env.token("reader", "invoices:read");
    let r = env
        .bearer(&read_only)
        .post(
            &format!("/api/v1/invoices/{inv}/void"),
            json!({ "reason": "mine" }),
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(status().await, "issued");
    assert!(env.audit("invoice_voided").is_empty());

    // With a reason: void, the number kept, the reason on the card and in the log.
    let r = anna
        .form(
            &format!("/m/invoices/{inv}/void"),
            &[("reason", "Issued to the wrong client")],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
    let v = api.get(&format!("/api/v1/invoices/{inv}")).await.json();
    assert_eq!(v["status"], "void");
    assert_eq!(v["number"], number.as_str(), "the number stays taken");
    assert_eq!(v["void_reason"], "Issued to the wrong client");
    let card = text_of(&anna.get(&format!("/m/invoices/{inv}")).await.body);
    assert!(card.contains("Status Void"), "{card}");
    assert!(
        card.contains("Reason for voiding Issued to the wrong client"),
        "{card}"
    );
    let logged = env.audit("invoice_voided");
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["actor"], "anna");
    assert_eq!(logged[0]["target"], format!("invoices/{inv}"));
    assert!(
        logged[0].to_string().contains("Issued to the wrong client"),
        "{}",
        logged[0]
    );
    let list = table(&anna.get("/m/invoices").await.body);
    let row = list.iter().find(|r| cell(r, "Invoice") == number).unwrap();
    assert_eq!(cell(row, "Status"), "Void");

    // A void invoice is not voided twice; the next issued invoice takes the next number.
    let r = anna
        .form(&format!("/m/invoices/{inv}/void"), &[("reason", "again")])
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body
            .contains("status is Void; this needs an invoice whose status is Issued"),
        "{}",
        r.body
    );
    let next = api
        .create_id("invoices", json!({ "client_id": client }))
        .await;
    api.post(
        &format!("/api/v1/invoices/{next}/lines"),
        json!({ "description": "Audit", "quantity": 1, "unit_price": 1, "tax_rate": 0 }),
    )
    .await;
    let n2 = api
        .post(&format!("/api/v1/invoices/{next}/issue"), json!({}))
        .await
        .json()["number"]
        .clone();
    let year = &number[..4];
    assert_eq!(number, format!("{year}-0001"));
    assert_eq!(n2, format!("{year}-0002"), "no gap, no reuse");
}
