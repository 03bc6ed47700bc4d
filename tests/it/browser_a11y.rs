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
        ("admin-journal", "/admin/journal".to_string()),
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
    // On a phone the menu opens over the page: its links are checked too.
    b.goto(&format!("{base}/")).await.unwrap();
    b.click(".menu-button").await.unwrap();
    problems.extend(axe(&b, "menu-open-390").await);
    b.quit().await.unwrap();

    // A person whose system prefers dark colours gets the dark scheme: the same rules hold.
    let b = Browser::start_dark(1280, 800).await.unwrap();
    let dark = b
        .execute(
            "return matchMedia('(prefers-color-scheme: dark)').matches",
            Value::Null,
        )
        .await
        .unwrap();
    assert_eq!(dark, true, "the browser did not take the dark scheme");
    b.goto(&format!("{base}/signin")).await.unwrap();
    problems.extend(axe(&b, "dark-signin").await);
    sign_in(&b, &base).await;
    for (w, h) in [WIDTHS[0], WIDTHS[2]] {
        b.set_window_size(w, h).await.unwrap();
        for (name, path) in &pages {
            b.goto(&format!("{base}{path}")).await.unwrap();
            problems.extend(axe(&b, &format!("dark-{name}-{w}")).await);
            checked += 1;
        }
    }
    b.quit().await.unwrap();
    assert!(checked >= 5 * 30, "only {checked} pages checked");
    assert!(
        problems.is_empty(),
        "{} WCAG 2.1 A/AA violations (screenshots and HTML in target/test-artifacts/a11y-*):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The focused element, and whether a person can see that it has the focus.
const FOCUS: &str = r#"
  const e = document.activeElement;
  if (!e || e === document.body) return { none: true };
  const st = getComputedStyle(e); const r = e.getBoundingClientRect();
  return { matches: e.matches(arguments[0]), what: e.outerHTML.slice(0, 140),
    focus_visible: e.matches(':focus-visible'), focus: e.matches(':focus'), within: e.matches(':focus-within'), outline: st.outlineStyle + ' ' + st.outlineWidth,
    ring: (st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) > 0) || st.boxShadow !== 'none',
    on_screen: r.width > 0 && r.height > 0 && r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth };
"#;

/// Presses Tab until the focus reaches an element matching `css` (at most 80 presses); at every stop
/// on the way the focused element must show a focus ring and be on the screen.
async fn tab_to(b: &Browser, css: &str) {
    for _ in 0..80 {
        b.press(TAB).await.unwrap();
        let f = b.execute(FOCUS, json!([css])).await.unwrap();
        if f["none"] == true {
            continue;
        }
        assert!(
            f["ring"] == true && f["on_screen"] == true,
            "the focus is not visible on the way to {css}: {f}"
        );
        if f["matches"] == true {
            return;
        }
    }
    panic!("80 presses of Tab did not reach {css}");
}

/// Waits until the address matches `pattern` (a regular expression, in the page) and the page has
/// loaded.
async fn wait_address(b: &Browser, pattern: &str) {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let at = b
            .execute(
                "return document.readyState === 'complete' && new RegExp(arguments[0]).test(location.pathname) ? location.pathname : null",
                json!([pattern]),
            )
            .await
            .unwrap_or(Value::Null);
        if !at.is_null() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the address never matched {pattern}: {:?}",
            b.current_url().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn sign_in_create_a_client_and_issue_an_invoice_with_the_keyboard_alone() {
    let staged = crate::app::TestApp::builder().prepare();
    staged.ok(&["init"]);
    staged.add_user("office", &["admins", "users"], PASSWORD);
    let app = staged.start();
    let base = app.origin.clone();
    let b = app.browser(1280, 800).await;

    // The first Tab on any page reaches the skip link, which shows itself and leads to the content.
    b.goto(&format!("{base}/signin")).await.unwrap();
    tab_to(&b, "a.skip[href='#main']").await;
    tab_to(&b, "input[name=username]").await;
    b.press("office").await.unwrap();
    tab_to(&b, "input[name=password]").await;
    b.press(PASSWORD).await.unwrap();
    b.press(ENTER).await.unwrap();
    b.wait_for_text("Good to see you", WAIT).await.unwrap();

    // A client: the menu, the list's "New client", the form, saved with the Space bar.
    tab_to(&b, "#mainnav a[href='/m/clients']").await;
    b.press(ENTER).await.unwrap();
    wait_address(&b, "^/m/clients$").await;
    tab_to(&b, "a[href='/m/clients/new']").await;
    b.press(ENTER).await.unwrap();
    wait_address(&b, "^/m/clients/new$").await;
    tab_to(&b, "input[name=name]").await;
    b.press("Harbourside Ferries").await.unwrap();
    tab_to(&b, "form.form-grid button[type=submit]").await;
    // Shift+Tab goes back a field, with its ring showing; Tab returns to the button.
    b.press_shift_tab(1).await.unwrap();
    let back = b
        .execute(FOCUS, json!(["form.form-grid button[type=submit]"]))
        .await
        .unwrap();
    assert!(
        back["matches"] == false && back["ring"] == true && back["on_screen"] == true,
        "Shift+Tab: {back}"
    );
    tab_to(&b, "form.form-grid button[type=submit]").await;
    b.press(" ").await.unwrap();
    wait_address(&b, "^/m/clients/[0-9]+$").await;
    b.wait_for_text("Harbourside Ferries", WAIT).await.unwrap();

    // An invoice for it: the client picked in the drop-down by typing its name.
    tab_to(&b, "#mainnav a[href='/m/invoices']").await;
    b.press(ENTER).await.unwrap();
    wait_address(&b, "^/m/invoices$").await;
    tab_to(&b, "a[href='/m/invoices/new']").await;
    b.press(ENTER).await.unwrap();
    wait_address(&b, "^/m/invoices/new$").await;
    tab_to(&b, "select[name=client_id]").await;
    b.press("Harbour").await.unwrap();
    let picked = b
        .execute(
            "const s = document.querySelector('select[name=client_id]'); return s.options[s.selectedIndex].text",
            Value::Null,
        )
        .await
        .unwrap();
    assert_eq!(picked, "Harbourside Ferries");
    tab_to(&b, "form.form-grid button[type=submit]").await;
    b.press(ENTER).await.unwrap();
    wait_address(&b, "^/m/invoices/[0-9]+$").await;

    // A line, then issue.
    tab_to(&b, "input[name=description]").await;
    b.press("Harbour survey").await.unwrap();
    tab_to(&b, "input[name=unit_price]").await;
    b.press("120.50").await.unwrap();
    tab_to(&b, "form[action$='/lines'] button[type=submit]").await;
    b.press(" ").await.unwrap();
    b.wait_for_text("Harbour survey", WAIT).await.unwrap();
    wait_address(&b, "^/m/invoices/[0-9]+$").await;
    tab_to(&b, "form[action$='/do/issue'] button").await;
    b.press(ENTER).await.unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let status = b
            .execute(
                "return [...document.querySelectorAll('dl.fields .tag')].map(t => t.innerText).join(' ')",
                Value::Null,
            )
            .await
            .unwrap_or(Value::Null);
        if status
            .as_str()
            .is_some_and(|s| s.to_lowercase().contains("issued"))
        {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the invoice was not issued: {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = b.screenshot(&artifacts().join("keyboard-issued.png")).await;
    b.quit().await.unwrap();
}
