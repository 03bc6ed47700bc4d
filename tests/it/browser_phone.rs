//! Phones (390 px wide) in headless Chromium: the main menu folds into one row until opened, lists
//! become stacked cards that show status and total without sideways scrolling, and a long client
//! name in a filter drop-down does not widen the page. Screenshots land in target/test-artifacts/.

use crate::app::TestApp;
use crate::browser::Browser;
use crate::browser_flows::artifacts;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const PASSWORD: &str = "ferry lantern harbour 31";
const LONG_NAME: &str = "Przedsiębiorstwo Komunikacji Miejskiej i Żeglugi Przybrzeżnej w Gdańsku Spółka z ograniczoną odpowiedzialnością";

async fn js(b: &Browser, script: &str) -> Value {
    b.execute(script, Value::Null).await.unwrap()
}

/// The page's layout facts the assertions read: viewport, page width, top bar, menu and button.
const LAYOUT: &str = r#"
  const box = (sel) => { const e = document.querySelector(sel); if (!e) return null;
    const r = e.getBoundingClientRect(); const st = getComputedStyle(e);
    return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, height: r.height,
             shown: st.display !== 'none' && st.visibility !== 'hidden' && r.width > 0 }; };
  return { vw: window.innerWidth, page: document.documentElement.scrollWidth,
           topbar: box('.topbar'), brand: box('.brand'), nav: box('#mainnav'),
           button: box('.menu-button'),
           // What sticks out of the screen, for the failure message.
           wide: [...document.querySelectorAll('body *')]
             .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 || e.scrollWidth > window.innerWidth)
             .slice(0, 12).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)),
           expanded: (document.querySelector('.menu-button') || {getAttribute: () => null}).getAttribute('aria-expanded') };
"#;

async fn shot(b: &Browser, name: &str) {
    let _ = b
        .screenshot(&artifacts().join(format!("phone-{name}.png")))
        .await;
}

#[tokio::test]
async fn on_a_phone_the_menu_folds_and_lists_show_status_and_total_without_sideways_scrolling() {
    let staged = TestApp::builder().prepare();
    staged.ok(&["init"]);
    staged.add_user("pocket", &["admins", "users"], PASSWORD);
    let app = staged.start();
    let base = app.origin.clone();
    let b = app.browser(390, 844).await;

    b.goto(&format!("{base}/signin")).await.unwrap();
    b.fill("input[name=username]", "pocket").await.unwrap();
    b.fill("input[name=password]", PASSWORD).await.unwrap();
    b.submit_form("form[action='/signin'] button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("Good to see you", WAIT).await.unwrap();

    // Every signed-in page: one row (brand, instance, the Menu button), the links hidden.
    for page in ["/", "/m/clients", "/account"] {
        b.goto(&format!("{base}{page}")).await.unwrap();
        let l = js(&b, LAYOUT).await;
        shot(&b, &format!("menu-closed{}", page.replace('/', "-"))).await;
        assert_eq!(l["button"]["shown"], true, "{page}: {l}");
        assert_eq!(l["nav"]["shown"], false, "{page}: {l}");
        assert_eq!(l["expanded"], "false", "{page}: {l}");
        // One row: the button sits level with the brand, the bar no taller than one control row.
        let (bt, br) = (
            l["button"]["top"].as_f64().unwrap(),
            l["brand"]["bottom"].as_f64().unwrap(),
        );
        assert!(bt < br, "{page}: the button wrapped to a second row: {l}");
        assert!(
            l["topbar"]["height"].as_f64().unwrap() < 90.0,
            "{page}: the top bar is more than one row: {l}"
        );
        assert!(l["page"].as_f64() <= l["vw"].as_f64(), "{page}: {l}");
    }
    // Opened, every link is there and inside the screen; Escape folds it again.
    b.click(".menu-button").await.unwrap();
    let l = js(&b, LAYOUT).await;
    shot(&b, "menu-open").await;
    assert_eq!(l["expanded"], "true", "{l}");
    assert_eq!(l["nav"]["shown"], true, "{l}");
    assert!(l["nav"]["right"].as_f64() <= l["vw"].as_f64(), "{l}");
    let links = js(
        &b,
        "return [...document.querySelectorAll('#mainnav a, #mainnav button')].map(a => { const r = a.getBoundingClientRect(); return [a.textContent.trim(), r.width > 0 && r.right <= window.innerWidth]; })",
    )
    .await;
    for name in ["Dashboard", "Invoices", "Search", "Sign out"] {
        assert!(
            links
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l[0] == name && l[1] == true),
            "{name} is not visible in the open menu: {links}"
        );
    }
    b.click(".menu-button").await.unwrap();
    assert_eq!(js(&b, LAYOUT).await["nav"]["shown"], false);

    // A client with a long name and a draft invoice for it. The required marker sits on the line
    // of its field's name, not on a line of its own.
    b.goto(&format!("{base}/m/clients/new")).await.unwrap();
    let marker = js(
        &b,
        "const m = document.querySelector('label .req'); const l = m.closest('label'); return { marker: m.getBoundingClientRect().top, label: l.getBoundingClientRect().top }",
    )
    .await;
    let (m, l) = (
        marker["marker"].as_f64().unwrap(),
        marker["label"].as_f64().unwrap(),
    );
    assert!(
        m - l < 8.0,
        "the required marker is on its own line: {marker}"
    );
    b.fill("[name='name']", LONG_NAME).await.unwrap();
    b.submit_form("form.form-grid button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("Żeglugi", WAIT).await.unwrap();
    let client_id = b.record_id().await.unwrap();
    b.goto(&format!("{base}/m/invoices/new?client_id={client_id}"))
        .await
        .unwrap();
    b.execute(
        "const s = document.querySelector(\"[name='client_id']\"); s.value = arguments[0]; return s.value",
        json!([client_id]),
    )
    .await
    .unwrap();
    b.submit_form("form.form-grid button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("draft", WAIT).await.unwrap();

    // The list: stacked cards; status and total inside the screen, the page no wider than it.
    b.goto(&format!("{base}/m/invoices")).await.unwrap();
    shot(&b, "invoice-list").await;
    let cells = js(
        &b,
        r#"const row = document.querySelector('table.data tbody tr');
           const out = {};
           for (const td of row.querySelectorAll('td')) {
             const r = td.getBoundingClientRect();
             out[td.dataset.label] = { text: td.innerText, left: r.left, right: r.right, width: r.width,
               label: getComputedStyle(td, '::before').content };
           }
           return { vw: window.innerWidth, page: document.documentElement.scrollWidth, cells: out };"#,
    )
    .await;
    let vw = cells["vw"].as_f64().unwrap();
    assert!(
        cells["page"].as_f64().unwrap() <= vw,
        "the list page scrolls sideways: {cells}"
    );
    for label in ["Invoice", "Status", "Total"] {
        let c = &cells["cells"][label];
        assert!(c.is_object(), "no {label} cell: {cells}");
        assert!(
            c["width"].as_f64().unwrap() > 0.0
                && c["left"].as_f64().unwrap() >= 0.0
                && c["right"].as_f64().unwrap() <= vw,
            "{label} is not inside the screen: {cells}"
        );
    }
    let status = cells["cells"]["Status"]["text"].as_str().unwrap();
    assert!(status.to_lowercase().contains("draft"), "{cells}");
    let total = cells["cells"]["Total"]["text"].as_str().unwrap();
    assert!(
        total.contains("EUR") && total.chars().any(|c| c.is_ascii_digit()),
        "{cells}"
    );
    // Each stacked cell names its column (the table header is for screen readers only here).
    assert_eq!(cells["cells"]["Total"]["label"], "\"Total\"", "{cells}");
    // The client filter lists the long name, and stays inside the screen.
    let select = js(
        &b,
        "const s = document.querySelector(\"select[name='client_id']\"); const r = s.getBoundingClientRect(); return { right: r.right, options: s.options.length };",
    )
    .await;
    assert!(select["options"].as_u64().unwrap() >= 2, "{select}");
    assert!(select["right"].as_f64().unwrap() <= vw, "{select}");

    // The "no backup yet" banner links to the page that fixes it.
    let banner = js(
        &b,
        "const a = document.querySelector('.banner a'); return a ? [a.closest('.banner').innerText, a.getAttribute('href')] : null",
    )
    .await;
    assert!(
        banner[0]
            .as_str()
            .unwrap()
            .contains("No backup has reached"),
        "{banner}"
    );
    assert_eq!(banner[1], "/admin/backups", "{banner}");

    // On a desktop nothing folds: the links show and the button does not; the client filter keeps
    // a sensible width whatever the longest name.
    b.set_window_size(1280, 800).await.unwrap();
    b.goto(&format!("{base}/m/invoices")).await.unwrap();
    let l = js(&b, LAYOUT).await;
    shot(&b, "desktop").await;
    assert_eq!(l["button"]["shown"], false, "{l}");
    assert_eq!(l["nav"]["shown"], true, "{l}");
    assert!(l["page"].as_f64() <= l["vw"].as_f64(), "{l}");
    let width = js(
        &b,
        "return document.querySelector(\"select[name='client_id']\").getBoundingClientRect().width",
    )
    .await;
    assert!(
        width.as_f64().unwrap() <= 330.0,
        "the filter grows with the longest client name: {width}"
    );
    let head = js(
        &b,
        "const h = document.querySelector('table.data thead'); return h.getBoundingClientRect().height",
    )
    .await;
    assert!(
        head.as_f64().unwrap() > 10.0,
        "the table header shows on a desktop"
    );
    b.quit().await.unwrap();
}
