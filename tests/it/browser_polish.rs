//! The working day in Polish, in headless Chromium (issue 13, languages): a person picks Polish on
//! their account page and every page they then see speaks it — menus, forms, cards, money typed and
//! shown with the Polish separators, the security log's event names — while another person keeps
//! English; the administrator makes Polish the instance's default and the invoice document follows.
//! Each step is checked at 1280, 820 and 390 px for sideways scrolling, and a screenshot of every
//! step is kept in target/test-artifacts/ (the last one shows where a failure stopped).

use crate::app::TestApp;
use crate::browser::Browser;
use crate::browser_flows::artifacts;
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const PASSWORD: &str = "ferry lantern harbour 31";

async fn text(b: &Browser) -> String {
    b.execute("return document.body.innerText", Value::Null)
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn lang(b: &Browser) -> String {
    b.execute("return document.documentElement.lang", Value::Null)
        .await
        .unwrap()
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A select or date takes its value directly; anything else is typed.
async fn field(b: &Browser, name: &str, value: &str) {
    let sel = format!("[name='{name}']");
    let kind = b
        .execute(
            &format!("const e = document.querySelector(\"{sel}\"); return e.tagName"),
            Value::Null,
        )
        .await
        .unwrap();
    if kind == "SELECT" {
        b.execute(
            &format!("const s = document.querySelector(\"{sel}\"); s.value = arguments[0]; return s.value"),
            json!([value]),
        )
        .await
        .unwrap();
    } else {
        b.fill(&sel, value).await.unwrap();
    }
}

/// The step's screenshot at each width, and no page that scrolls sideways at any of them.
async fn at_every_width(b: &Browser, step: &str) {
    for (w, h) in [(1280, 800), (820, 1180), (390, 844)] {
        b.set_window_size(w, h).await.unwrap();
        let _ = b
            .screenshot(&artifacts().join(format!("polish-{step}-{w}.png")))
            .await;
        let widths = b
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth]",
                Value::Null,
            )
            .await
            .unwrap();
        assert!(
            widths[0].as_f64() <= widths[1].as_f64(),
            "{step} at {w} px scrolls sideways: {widths}"
        );
    }
    b.set_window_size(1280, 800).await.unwrap();
}

#[tokio::test]
async fn a_working_day_in_polish_from_the_account_page_to_the_invoice_document() {
    let staged = TestApp::builder().prepare();
    staged.ok(&["init"]);
    staged.add_user("anna", &["admins", "users"], PASSWORD);
    staged.add_user("tom", &["users"], PASSWORD);
    let app = staged.start();
    let base = app.origin.clone();
    let b = app.browser(1280, 800).await;

    b.goto(&format!("{base}/signin")).await.unwrap();
    b.fill("input[name=username]", "anna").await.unwrap();
    b.fill("input[name=password]", PASSWORD).await.unwrap();
    b.submit_form("form[action='/signin'] button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("Good to see you", WAIT).await.unwrap();
    assert_eq!(lang(&b).await, "en");

    // The person picks Polish on their own page.
    b.goto(&format!("{base}/account")).await.unwrap();
    field(&b, "language", "pl").await;
    b.submit_form("form[action='/account/language'] button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("Zapisano język.", WAIT).await.unwrap();
    assert_eq!(lang(&b).await, "pl");
    at_every_width(&b, "account").await;

    b.goto(&format!("{base}/")).await.unwrap();
    let home = text(&b).await;
    assert!(home.contains("Dobrze Cię widzieć, anna"), "{home}");
    assert!(
        home.contains("Pulpit") && home.contains("Klienci"),
        "{home}"
    );
    assert!(!home.contains("Good to see you"), "{home}");
    at_every_width(&b, "dashboard").await;

    // A client through the Polish form.
    b.goto(&format!("{base}/m/clients/new")).await.unwrap();
    let form = text(&b).await;
    assert!(
        form.contains("Nowy rekord: klient") && form.contains("Nazwa"),
        "{form}"
    );
    field(&b, "name", "Zakład Energetyczny Łódź").await;
    b.submit_form("form.form-grid button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("Szczegóły", WAIT).await.unwrap();
    let client_id = b.record_id().await.unwrap();
    at_every_width(&b, "client-card").await;

    // An invoice with an amount typed the Polish way, issued.
    b.goto(&format!("{base}/m/invoices/new?client_id={client_id}"))
        .await
        .unwrap();
    b.submit_form("form.form-grid button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("Pozycje", WAIT).await.unwrap();
    field(&b, "description", "Konsultacje").await;
    field(&b, "quantity", "2").await;
    field(&b, "unit_price", "1 234,50").await;
    b.submit_form("form[action$='/lines'] button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("Dodano pozycję.", WAIT).await.unwrap();
    let card = text(&b).await;
    // 2 × 1 234,50 = 2 469,00 net, written with a no-break space between the groups.
    assert!(card.contains("2\u{a0}469,00"), "{card}");
    b.submit_form("form[action$='/do/issue'] button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("Faktura wystawiona.", WAIT).await.unwrap();
    assert!(text(&b).await.contains("Wystawiona"));
    at_every_width(&b, "invoice-card").await;

    // The list names the columns in Polish.
    b.goto(&format!("{base}/m/invoices")).await.unwrap();
    // Headers may be drawn in capitals by the style sheet: compare without case.
    let list = text(&b).await.to_lowercase();
    assert!(
        list.contains("faktura") && list.contains("brutto") && list.contains("ostatnia zmiana"),
        "{list}"
    );
    at_every_width(&b, "invoice-list").await;

    // The invoice document is written in the instance's language: English until the
    // administrator makes Polish the default, Polish after.
    let invoice_id = b
        .execute(
            "return document.querySelector('table a[href^=\"/m/invoices/\"]').getAttribute('href').split('/')[3]",
            Value::Null,
        )
        .await
        .unwrap();
    let invoice_id = invoice_id.as_str().unwrap().to_string();
    b.goto(&format!("{base}/m/invoices/{invoice_id}/document"))
        .await
        .unwrap();
    let doc = text(&b).await.to_lowercase();
    assert!(
        doc.contains("karta faktury"),
        "the frame follows the reader: {doc}"
    );
    assert!(
        doc.contains("seller") && doc.contains("tax summary"),
        "{doc}"
    );
    b.goto(&format!("{base}/admin/money")).await.unwrap();
    field(&b, "locale", "pl").await;
    b.submit_form("form[action='/admin/money'] button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("Zapisano", WAIT).await.unwrap();
    b.goto(&format!("{base}/m/invoices/{invoice_id}/document"))
        .await
        .unwrap();
    let doc = text(&b).await.to_lowercase();
    assert!(
        doc.contains("sprzedawca")
            && doc.contains("podsumowanie vat")
            && doc.contains("do zapłaty"),
        "{doc}"
    );
    // Amounts follow the language too: 3 036,87 with a no-break space.
    assert!(doc.contains("3\u{a0}036,87"), "{doc}");
    at_every_width(&b, "invoice-document").await;

    // The security log names what happened in Polish; the exports keep the codes.
    b.goto(&format!("{base}/admin/log")).await.unwrap();
    let log = text(&b).await;
    assert!(
        log.contains("Wystawiono fakturę") && log.contains("Zalogowano"),
        "{log}"
    );
    assert!(!log.contains("invoice_issued"), "{log}");
    at_every_width(&b, "security-log").await;

    // An unknown address answers in the instance's language (now Polish).
    b.goto(&format!("{base}/no-such-page")).await.unwrap();
    let missing = text(&b).await;
    assert!(missing.contains("Ta strona nie istnieje."), "{missing}");
    b.quit().await.unwrap();

    // Another person who never picked a language reads the instance's default, now Polish; once
    // they pick English, English it is, whatever the default.
    let tom = app.browser(1280, 800).await;
    tom.goto(&format!("{base}/signin")).await.unwrap();
    assert_eq!(lang(&tom).await, "pl");
    assert!(text(&tom).await.contains("Zaloguj się"));
    tom.fill("input[name=username]", "tom").await.unwrap();
    tom.fill("input[name=password]", PASSWORD).await.unwrap();
    tom.submit_form("form[action='/signin'] button[type=submit]")
        .await
        .unwrap();
    tom.wait_for_text("Dobrze Cię widzieć", WAIT).await.unwrap();
    tom.goto(&format!("{base}/account")).await.unwrap();
    field(&tom, "language", "en").await;
    tom.submit_form("form[action='/account/language'] button[type=submit]")
        .await
        .unwrap();
    tom.wait_for_text("Language saved.", WAIT).await.unwrap();
    assert_eq!(lang(&tom).await, "en");
    tom.quit().await.unwrap();
}
