//! Administration pages people can read (issue 13, points 9 and 10): the groups page shows the
//! permissions a group has, the security log names events in words with details as label: value
//! pairs and fits the screen at 1280 and 390 px, the admin tables do not scroll the page sideways on
//! a phone, and primary and secondary buttons share one size.

use crate::browser::Browser;
use crate::browser_flows::artifacts;
use crate::hub_support::*;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// The `perm` checkboxes of one group's section on /admin/groups: (value, ticked, disabled).
fn permission_boxes(html: &str, group: &str) -> Vec<(String, bool, bool)> {
    let section = html
        .split("<section class=\"panel\">")
        .find(|s| s.trim_start().starts_with(&format!("<h2>{group} ")))
        .unwrap_or_else(|| panic!("no section for {group}"));
    section
        .split("<input")
        .skip(1)
        .filter_map(|tag| {
            let tag = tag.split('>').next().unwrap_or_default();
            if !tag.contains("name=\"perm\"") {
                return None;
            }
            let value = tag.split("value=\"").nth(1)?.split('"').next()?.to_string();
            let words: Vec<&str> = tag.split_whitespace().collect();
            Some((
                value,
                words.contains(&"checked"),
                words.contains(&"disabled"),
            ))
        })
        .collect()
}

#[tokio::test]
async fn the_groups_page_ticks_the_permissions_each_group_has() {
    let env = Env::start();
    let admin = env.admin().await;
    group(&admin, "bookkeepers", &["invoices:view", "clients:view"]).await;
    let page = admin.get("/admin/groups").await;
    assert_eq!(page.status, 200);

    // admins holds `admin`, which implies every module permission: every box shows ticked.
    let boxes = permission_boxes(&page.body, "admins");
    assert!(boxes.len() > 10, "{boxes:?}");
    let unticked: Vec<_> = boxes.iter().filter(|b| !b.1).collect();
    assert!(
        unticked.is_empty(),
        "the admins group shows permissions it has as unticked: {unticked:?}"
    );
    // Implied ones cannot be unticked one by one (they are not stored: `admin` grants them).
    assert!(
        boxes.iter().filter(|b| b.0 != "admin").all(|b| b.2),
        "{boxes:?}"
    );
    assert!(page.body.contains("included in admin"), "no hint");

    // A plain group shows exactly what it has, each box free to change.
    let boxes = permission_boxes(&page.body, "bookkeepers");
    let ticked: Vec<&str> = boxes.iter().filter(|b| b.1).map(|b| b.0.as_str()).collect();
    assert_eq!(ticked, ["clients:view", "invoices:view"], "{boxes:?}");
    assert!(boxes.iter().all(|b| !b.2), "{boxes:?}");

    // Saving admins as shown keeps exactly `admin` (the disabled boxes are not sent).
    let r = admin
        .form("/admin/groups/admins/permissions", &[("perm", "admin")])
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(permission_boxes(&r.body, "admins").iter().all(|b| b.1));
}

/// A signed-in admin's browser at `width`.
async fn admin_browser(env: &Env, width: u32) -> Browser {
    let b = env.browser(width, 900).await;
    b.goto(&format!("{}/signin", env.origin)).await.unwrap();
    b.fill("input[name=username]", ADMIN).await.unwrap();
    b.fill("input[name=password]", ADMIN_PW).await.unwrap();
    b.submit_form("form[action='/signin'] button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("Good to see you", WAIT).await.unwrap();
    b
}

/// Page and table widths: the document, each `.table-wrap` and the table inside it.
const WIDTHS: &str = r#"
  const d = document.documentElement;
  return { vw: d.clientWidth, page: d.scrollWidth,
    wraps: [...document.querySelectorAll('.table-wrap')].map(w => {
      const t = w.querySelector('table');
      const st = getComputedStyle(w);
      return { label: w.getAttribute('aria-label'), client: w.clientWidth, scroll: w.scrollWidth,
               table: t ? Math.round(t.getBoundingClientRect().width) : 0,
               cue: st.backgroundImage };
    }),
    // What sticks out, for the failure message.
    wide: [...document.querySelectorAll('body *')]
      .filter(e => !e.closest('.table-wrap') && e.getBoundingClientRect().right > d.clientWidth + 0.5)
      .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right)) };
"#;

async fn js(b: &Browser, script: &str) -> Value {
    b.execute(script, Value::Null).await.unwrap()
}

#[tokio::test]
async fn the_security_log_reads_in_words_and_fits_the_screen() {
    let env = Env::start();
    let admin = env.admin().await;
    // Events with details of several shapes: a failed sign-in, a group with a list of permissions.
    let _ = env
        .anonymous()
        .post(
            "/api/v1/session",
            json!({ "username": ADMIN, "password": "not the password" }),
        )
        .await;
    // A long unbroken value in the details (the group's description) must wrap, not widen the table.
    let long = "Z".repeat(180);
    let r = admin
        .form(
            "/admin/groups",
            &[("name", "field-auditors"), ("description", &long)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin
        .form(
            "/admin/groups/field-auditors/permissions",
            &[
                ("perm", "clients:view"),
                ("perm", "clients:create"),
                ("perm", "invoices:view"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    for width in [1280, 390] {
        let b = admin_browser(&env, width).await;
        b.goto(&format!("{}/admin/log", env.origin)).await.unwrap();
        let _ = b
            .screenshot(&artifacts().join(format!("admin-log-{width}.png")))
            .await;
        let facts = js(
            &b,
            r#"const t = document.querySelector('table.data');
               const f = document.querySelector('form[action="/admin/log"]');
               const cells = [...t.querySelectorAll('tbody td')].map(td => td.innerText);
               return { text: cells.join('\n'),
                        filters_first: !!(f.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_FOLLOWING),
                        pairs: t.querySelectorAll('dl.pairs dt').length,
                        options: [...f.querySelectorAll('select[name=type] option')].map(o => [o.value, o.text]),
                        row_display: getComputedStyle(t.querySelector('tbody tr')).display };"#,
        )
        .await;
        let text = facts["text"].as_str().unwrap();
        assert!(
            text.contains(&long),
            "{width}: the long description is not shown"
        );
        for code in ["login_succeeded", "login_failed", "permission_changed"] {
            assert!(
                !text.contains(code),
                "{width}: raw event code {code}:\n{text}"
            );
        }
        for phrase in ["Signed in", "Sign-in failed", "Permissions changed"] {
            assert!(text.contains(phrase), "{width}: no `{phrase}`:\n{text}");
        }
        assert!(
            !text.contains("{\"") && !text.contains("\":"),
            "{width}: raw JSON in the details:\n{text}"
        );
        assert!(facts["pairs"].as_u64().unwrap() >= 3, "{facts}");
        assert_eq!(facts["filters_first"], true, "{facts}");
        // The event filter offers words, and sends the code.
        let options = facts["options"].as_array().unwrap();
        assert!(
            options
                .iter()
                .any(|o| o[0] == "login_failed" && o[1] == "Sign-in failed"),
            "{facts}"
        );
        let w = js(&b, WIDTHS).await;
        assert!(
            w["page"].as_f64() <= w["vw"].as_f64(),
            "{width}: the page scrolls sideways: {w}"
        );
        let wrap = &w["wraps"][0];
        assert!(
            wrap["scroll"].as_f64() <= wrap["client"].as_f64(),
            "{width}: the log table is wider than its area: {w}"
        );
        if width == 390 {
            assert_eq!(facts["row_display"], "block", "not stacked: {facts}");
        } else {
            assert_eq!(facts["row_display"], "table-row", "{facts}");
        }
        b.quit().await.unwrap();
    }
}

#[tokio::test]
async fn admin_tables_do_not_scroll_the_page_sideways_on_a_phone_nor_at_all_on_a_desktop() {
    let env = Env::start();
    let admin = env.admin().await;
    env.token("a-connected-service-with-a-long-name", ALL_SCOPES);
    group(&admin, "bookkeepers", &["invoices:view"]).await;
    env.add_user("someone-with-a-long-user-name", "users", USER_PW);
    let b = admin_browser(&env, 390).await;
    for page in [
        "/admin/users",
        "/admin/tokens",
        "/admin/mail",
        "/admin/backups",
        "/admin/groups",
        "/admin/log",
        "/account",
    ] {
        b.goto(&format!("{}{page}", env.origin)).await.unwrap();
        let name = page.trim_start_matches('/').replace('/', "-");
        let _ = b
            .screenshot(&artifacts().join(format!("phone-{name}.png")))
            .await;
        let w = js(&b, WIDTHS).await;
        assert!(
            w["page"].as_f64() <= w["vw"].as_f64(),
            "{page}: the page scrolls sideways at 390 px: {w}"
        );
        // A table wider than the screen scrolls inside its box, and shows that it does.
        for wrap in w["wraps"].as_array().unwrap() {
            if wrap["scroll"].as_f64() > wrap["client"].as_f64() {
                assert!(
                    wrap["cue"].as_str().unwrap().contains("gradient"),
                    "{page}: a table scrolls sideways with no cue: {wrap}"
                );
            }
        }
    }
    b.quit().await.unwrap();

    // On a desktop the same tables fit their area: nothing to scroll at all.
    let b = admin_browser(&env, 1280).await;
    for page in [
        "/admin/users",
        "/admin/tokens",
        "/admin/groups",
        "/admin/log",
    ] {
        b.goto(&format!("{}{page}", env.origin)).await.unwrap();
        let w = js(&b, WIDTHS).await;
        assert!(w["page"].as_f64() <= w["vw"].as_f64(), "{page}: {w}");
        for wrap in w["wraps"].as_array().unwrap() {
            assert!(
                wrap["scroll"].as_f64() <= wrap["client"].as_f64(),
                "{page}: a table is wider than its area at 1280 px: {wrap}"
            );
        }
    }
    b.quit().await.unwrap();
}

#[tokio::test]
async fn primary_and_secondary_buttons_share_one_size_on_every_page() {
    let env = Env::start();
    let admin = env.admin().await;
    let client = admin
        .create_id("clients", json!({ "name": "Harbourside Ferries" }))
        .await;
    let invoice = admin
        .create_id("invoices", json!({ "client_id": client }))
        .await;
    let b = admin_browser(&env, 1280).await;
    let mut heights = std::collections::BTreeSet::new();
    for page in [
        format!("/m/clients/{client}"),
        format!("/m/invoices/{invoice}"),
        "/m/clients".to_string(),
        "/admin/users".to_string(),
        "/admin/log".to_string(),
        "/account".to_string(),
    ] {
        b.goto(&format!("{}{page}", env.origin)).await.unwrap();
        let found = js(
            &b,
            r#"const shown = e => e.getBoundingClientRect().width > 0;
               const buttons = [...document.querySelectorAll('.button')].filter(shown).map(e => {
                 const st = getComputedStyle(e); const r = e.getBoundingClientRect();
                 return { text: e.innerText.trim(), kind: e.className, height: Math.round(r.height),
                          font: st.fontSize, weight: st.fontWeight, radius: st.borderTopLeftRadius,
                          padding: st.paddingLeft }; });
               // Buttons of no class of the pair (nor the text-like .link and the menu button).
               const stray = [...document.querySelectorAll('button')].filter(shown)
                 .filter(e => !e.matches('.button, .link, .menu-button')).map(e => e.outerHTML.slice(0, 120));
               return { buttons, stray };"#,
        )
        .await;
        let buttons = found["buttons"].as_array().unwrap();
        assert!(!buttons.is_empty(), "{page}: no buttons: {found}");
        let first = &buttons[0];
        for b in buttons {
            for key in ["height", "font", "weight", "radius", "padding"] {
                assert_eq!(
                    b[key], first[key],
                    "{page}: `{}` and `{}` differ in {key}: {found}",
                    b["text"], first["text"]
                );
            }
        }
        assert_eq!(found["stray"], json!([]), "{page}: {found}");
        heights.insert(first["height"].as_i64().unwrap());
    }
    // And one height across pages.
    assert_eq!(
        heights.len(),
        1,
        "button heights differ between pages: {heights:?}"
    );
    b.quit().await.unwrap();
}
