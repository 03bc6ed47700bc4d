//! The daily work in the real UI, in headless Chromium at desktop and tablet widths: a client, a
//! project, time, an invoice built from it and issued, a document uploaded and downloaded, clients
//! exported and imported again into a fresh instance. Screenshots land in target/test-artifacts/.

use crate::app::TestApp;
use crate::browser::Browser;
use crate::browser_flows::artifacts;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const PASSWORD: &str = "ledger harbour window 64";

/// A fresh instance with the `office` administrator, serving.
fn office() -> TestApp {
    let staged = TestApp::builder().prepare();
    staged.ok(&["init"]);
    staged.add_user("office", &["admins", "users"], PASSWORD);
    staged.start()
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

/// Resizing waits for the page to report its new viewport; on a loaded machine that can take more
/// than one try.
async fn resize(b: &Browser, w: u32, h: u32) {
    let mut last = String::new();
    for _ in 0..3 {
        match b.set_window_size(w, h).await {
            Ok(()) => return,
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    panic!("cannot resize the browser window to {w}x{h}: {last}");
}

async fn shoot(b: &Browser, name: &str) {
    let dir = artifacts();
    resize(b, 1280, 800).await;
    b.screenshot(&dir.join(format!("hub-{name}-desktop.png")))
        .await
        .unwrap();
    resize(b, 820, 1180).await;
    b.screenshot(&dir.join(format!("hub-{name}-tablet.png")))
        .await
        .unwrap();
    resize(b, 1280, 800).await;
}

async fn field(b: &Browser, name: &str, value: &str) {
    let sel = format!("[name='{name}']");
    let kind = b
        .execute(&format!("const e = document.querySelector(\"{sel}\"); return e.tagName + ':' + (e.type || '')"), serde_json::Value::Null)
        .await
        .unwrap();
    // Selects and date pickers take a value directly; typing into them depends on the locale.
    if kind == "SELECT:select-one" || kind == "INPUT:date" {
        b.execute(
            &format!("const s = document.querySelector(\"{sel}\"); s.value = arguments[0]; return s.value"),
            serde_json::json!([value]),
        )
        .await
        .unwrap();
    } else {
        b.fill(&sel, value).await.unwrap();
    }
}

async fn save(b: &Browser) {
    b.submit_form("form.form-grid button[type=submit]")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_working_day_in_the_hub() {
    let app = office();
    let base = app.origin.clone();
    let b = app.browser(1280, 800).await;
    sign_in(&b, &base).await;
    shoot(&b, "dashboard").await;

    // A client.
    b.goto(&format!("{base}/m/clients/new")).await.unwrap();
    field(&b, "name", "Harbourside Ferries").await;
    field(&b, "email", "desk@harbourside.example").await;
    field(&b, "phone", "+48 58 000 11 22").await;
    save(&b).await;
    b.wait_for_text("Harbourside Ferries", WAIT).await.unwrap();
    let client_id = b.record_id().await.unwrap();
    shoot(&b, "client-card").await;

    // A project for it, with an hourly rate.
    b.goto(&format!("{base}/m/projects/new?client_id={client_id}"))
        .await
        .unwrap();
    field(&b, "name", "Timetable redesign").await;
    field(&b, "hourly_rate", "150.00").await;
    field(&b, "manager", "office").await;
    save(&b).await;
    b.wait_for_text("Timetable redesign", WAIT).await.unwrap();
    let project_id = b.record_id().await.unwrap();

    // Time on it.
    b.goto(&format!(
        "{base}/m/time-entries/new?project_id={project_id}"
    ))
    .await
    .unwrap();
    field(&b, "user", "office").await;
    field(&b, "date", "2026-11-20").await;
    field(&b, "minutes", "90").await;
    field(&b, "note", "Workshop with the operations team").await;
    save(&b).await;
    b.wait_for_text("Workshop with the operations team", WAIT)
        .await
        .unwrap();
    b.goto(&format!("{base}/m/time-entries")).await.unwrap();
    shoot(&b, "time-list").await;

    // Build the invoice from the unbilled time, then issue it.
    b.goto(&format!("{base}/m/projects/{project_id}"))
        .await
        .unwrap();
    b.submit_form(&format!(
        "form[action='/m/projects/{project_id}/invoice'] button"
    ))
    .await
    .unwrap();
    b.wait_for_text("Lines", WAIT).await.unwrap();
    b.wait_for_text("Workshop with the operations team", WAIT)
        .await
        .unwrap();
    // 90 min at 150.00 = 225.00 net, 23 % tax = 51.75, total 276.75.
    b.wait_for_text("276.75", WAIT).await.unwrap();
    let invoice_id = b.record_id().await.unwrap();
    b.submit_form(&format!(
        "form[action='/m/invoices/{invoice_id}/do/issue'] button"
    ))
    .await
    .unwrap();
    b.wait_for_text("issued", WAIT).await.unwrap();
    let text = b
        .execute("return document.body.innerText", serde_json::Value::Null)
        .await
        .unwrap();
    let year = chrono::Utc::now().format("%Y").to_string();
    assert!(
        text.as_str().unwrap().contains(&format!("{year}-0001")),
        "no invoice number on the card"
    );
    shoot(&b, "invoice").await;

    // A document: upload through the page, download it back.
    b.goto(&format!("{base}/m/documents/new?client_id={client_id}"))
        .await
        .unwrap();
    field(&b, "title", "Signed contract").await;
    save(&b).await;
    b.wait_for_text("No file uploaded yet", WAIT).await.unwrap();
    let doc_id = b.record_id().await.unwrap();
    let pdf_path = app.data().join("contract.pdf");
    let pdf = b"%PDF-1.4\n% contract between the parties: lighthouse-quartz-2207\n%%EOF\n";
    std::fs::write(&pdf_path, pdf).unwrap();
    let input = b.find("input[type=file][name=file]").await.unwrap();
    input.send_keys(pdf_path.to_str().unwrap()).await.unwrap();
    b.submit_form("form[enctype='multipart/form-data'] button[type=submit]")
        .await
        .unwrap();
    b.wait_for_text("new version was uploaded", WAIT)
        .await
        .unwrap();
    let fetched = b
        .execute(
            "const r = await fetch(arguments[0]); const t = await r.text(); return [r.status, r.headers.get('content-disposition'), t];",
            serde_json::json!([format!("/m/documents/{doc_id}/download/1")]),
        )
        .await
        .unwrap();
    assert_eq!(fetched[0], 200, "{fetched}");
    assert!(
        fetched[1].as_str().unwrap().starts_with("attachment"),
        "{fetched}"
    );
    assert_eq!(fetched[2].as_str().unwrap().as_bytes(), &pdf[..]);
    shoot(&b, "document").await;

    // Clients list, then export them through the page's button (as the browser would fetch it).
    b.goto(&format!("{base}/m/clients")).await.unwrap();
    shoot(&b, "clients-list").await;
    let href = b
        .find("a[href^='/api/v1/clients/export.csv']")
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    let csv = b
        .execute(
            "const r = await fetch(arguments[0]); return await r.text();",
            serde_json::json!([href]),
        )
        .await
        .unwrap();
    let csv = csv.as_str().unwrap().to_string();
    assert!(
        csv.contains("Harbourside Ferries") && csv.contains("'+48 58 000 11 22"),
        "{csv}"
    );
    b.quit().await.unwrap();
    assert!(app.stop().success());

    // A fresh instance: import the file on the import page (check, preview, confirm).
    let app2 = office();
    let base2 = app2.origin.clone();
    let b = app2.browser(1280, 800).await;
    sign_in(&b, &base2).await;
    let csv_path = app2.data().join("clients.csv");
    std::fs::write(&csv_path, &csv).unwrap();
    b.goto(&format!("{base2}/m/clients/import")).await.unwrap();
    b.find("input[type=file][name=file]")
        .await
        .unwrap()
        .send_keys(csv_path.to_str().unwrap())
        .await
        .unwrap();
    b.submit_form("form[enctype='multipart/form-data'] input[type=file] ~ button, form[enctype='multipart/form-data'] button").await.unwrap();
    b.wait_for_text("all good", WAIT).await.unwrap();
    shoot(&b, "import-preview").await;
    b.submit_form("form[enctype='multipart/form-data'] input[name=confirm] ~ button")
        .await
        .unwrap();
    b.wait_for_text("Imported 1 row", WAIT).await.unwrap();
    b.goto(&format!("{base2}/m/clients/{client_id}"))
        .await
        .unwrap();
    b.wait_for_text("Harbourside Ferries", WAIT).await.unwrap();
    b.wait_for_text("+48 58 000 11 22", WAIT).await.unwrap();
    b.quit().await.unwrap();
    assert!(app2.stop().success());
}
