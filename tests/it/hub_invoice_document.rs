//! The invoice a client receives: the document page and its PDF (seller, buyer, number, dates,
//! lines, tax summary by rate, totals, payment details), parties frozen at issue, DRAFT/PAID/VOID
//! marks, who may open them, and the invoice profile only an administrator changes (audited,
//! checked field by field).
//!
//! The PDF is judged by poppler (`pdfinfo`, `pdftotext`), not by holdfast's own reading of it.

use crate::hub_support::*;
use serde_json::json;
use std::process::Command;

const SELLER: &str = "Żółta Łódź Spółka z o.o.";
const BUYER: &str = "Ćma-Źródło Łąki sp. j.";
const IBAN: &str = "PL61 1090 1014 0000 0712 1981 2874";

fn profile_fields(name: &str) -> Vec<(&'static str, String)> {
    vec![
        ("legal_name", name.to_string()),
        (
            "address",
            "ul. Świętokrzyska 12\n00-916 Warszawa".to_string(),
        ),
        ("tax_id", "PL5260250995".to_string()),
        ("bank_account", IBAN.to_string()),
        (
            "payment_details",
            "Bank Przykładowy S.A., SWIFT WBKPPLPP".to_string(),
        ),
    ]
}

async fn save_profile(c: &Caller<'_>, fields: &[(&'static str, String)]) -> R {
    let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.form("/admin/invoice-profile", &f).await
}

/// `pdfinfo` must accept the file; `pdftotext` gives its text.
fn poppler(env: &Env, name: &str, pdf: &[u8]) -> (String, String) {
    let path = env.data().join(name);
    std::fs::write(&path, pdf).unwrap();
    let info = Command::new("pdfinfo")
        .arg(&path)
        .output()
        .expect("pdfinfo (Debian poppler-utils) is installed by the test set-up");
    assert!(
        info.status.success(),
        "pdfinfo refused {name}: {}",
        String::from_utf8_lossy(&info.stderr)
    );
    let text = Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext");
    assert!(text.status.success(), "pdftotext failed on {name}");
    (
        String::from_utf8_lossy(&info.stdout).into_owned(),
        String::from_utf8(text.stdout).expect("pdftotext writes UTF-8"),
    )
}

async fn invoice_with_lines(c: &Caller<'_>, client: i64) -> i64 {
    let inv = c
        .create_id(
            "invoices",
            json!({ "client_id": client, "currency": "PLN", "notes": "Dziękujemy za współpracę." }),
        )
        .await;
    // 2.5 × 1,234.50 = 3,086.25 at 23 % (709.84); 1 × 100.00 at 8 % (8.00); 3 × 0.99 = 2.97 at 23 % (0.68).
    for (d, q, p, t) in [
        ("Konsultacje: zażółć gęślą jaźń", "2.5", 123_450, "23"),
        ("Szkolenie", "1", 10_000, "8"),
        ("Materiały", "3", 99, "23"),
    ] {
        let r = c
            .post(
                &format!("/api/v1/invoices/{inv}/lines"),
                json!({ "description": d, "quantity": q, "unit_price": p, "tax_rate": t }),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    inv
}

#[tokio::test]
async fn an_issued_invoice_has_a_document_and_a_pdf_with_both_parties_lines_tax_summary_and_totals()
{
    let env = Env::start();
    let admin = env.admin().await;
    let r = save_profile(&admin, &profile_fields(SELLER)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Invoice profile saved"), "{}", r.body);
    let client = admin
        .create_id(
            "clients",
            json!({ "name": BUYER, "address": "ul. Żółkiewskiego 5\n31-539 Kraków", "tax_id": "PL6770065406", "email": "faktury@example.test" }),
        )
        .await;
    let inv = invoice_with_lines(&admin, client).await;

    // A draft is labelled as one, never titled like the invoice it is not yet.
    let page = admin.get(&format!("/m/invoices/{inv}/document")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("<title>Draft invoice (not issued)"),
        "{}",
        page.body
    );
    assert!(page.body.contains("DRAFT"));
    assert!(!page.body.contains("Invoice #"), "{}", page.body);
    let pdf = admin.get(&format!("/m/invoices/{inv}/document.pdf")).await;
    assert_eq!(pdf.status, 200);
    assert_eq!(
        pdf.header("content-disposition"),
        format!("attachment; filename=\"invoice-draft-{inv}.pdf\"")
    );
    let (_, text) = poppler(&env, "draft.pdf", &pdf.bytes);
    assert!(
        text.contains("DRAFT") && text.contains("Draft invoice"),
        "{text}"
    );

    let issued = admin
        .post(&format!("/api/v1/invoices/{inv}/issue"), json!({}))
        .await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let issued = issued.json();
    let number = issued["number"].as_str().unwrap().to_string();
    assert_eq!(issued["total"], 390_774, "{issued}");

    let page = admin.get(&format!("/m/invoices/{inv}/document")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let b = &page.body;
    for want in [
        format!("<title>Invoice {number}"),
        format!("<h1 id=\"doc-title\">Invoice {number}</h1>"),
        SELLER.to_string(),
        "ul. Świętokrzyska 12".into(),
        "Tax ID: PL5260250995".into(),
        BUYER.to_string(),
        "ul. Żółkiewskiego 5".into(),
        "31-539 Kraków".into(),
        "Tax ID: PL6770065406".into(),
        issued["issue_date"].as_str().unwrap().to_string(),
        issued["due_date"].as_str().unwrap().to_string(),
        "Konsultacje: zażółć gęślą jaźń".into(),
        // Lines: quantity, unit price, rate, net.
        "<td class=\"num\">2.5</td><td class=\"num\">1,234.50</td><td class=\"num\">23%</td><td class=\"num\">3,086.25</td>".into(),
        // Tax summary, highest rate first: 23 % = 3,086.25 + 2.97 net, 709.84 + 0.68 tax.
        "<tr><td>23%</td><td class=\"num\">3,089.22</td><td class=\"num\">710.52</td><td class=\"num\">3,799.74</td></tr><tr><td>8%</td><td class=\"num\">100.00</td><td class=\"num\">8.00</td><td class=\"num\">108.00</td></tr>".into(),
        "<dd>3,189.22 PLN</dd>".into(),
        "<dd>718.52 PLN</dd>".into(),
        "3,907.74 PLN".into(),
        format!("<dt>Payment reference</dt><dd>{number}</dd>"),
        IBAN.into(),
        "Bank Przykładowy S.A., SWIFT WBKPPLPP".into(),
        "Dziękujemy za współpracę.".into(),
    ] {
        assert!(b.contains(&want), "document lacks {want}: {b}");
    }
    assert!(
        !b.contains("DRAFT"),
        "an issued invoice is not marked draft"
    );
    assert!(
        b.contains("/document.css"),
        "the print stylesheet is linked"
    );
    assert!(
        !b.contains("<style") && !b.contains("style=\""),
        "the CSP forbids inline styles"
    );
    assert_security_headers(&page, "invoice document");
    let card = admin.get(&format!("/m/invoices/{inv}")).await;
    assert!(
        card.body
            .contains(&format!("href=\"/m/invoices/{inv}/document\""))
    );
    assert!(
        card.body
            .contains(&format!("href=\"/m/invoices/{inv}/document.pdf\""))
    );

    let pdf = admin.get(&format!("/m/invoices/{inv}/document.pdf")).await;
    assert_eq!(pdf.status, 200, "{}", pdf.body);
    assert_eq!(pdf.header("content-type"), "application/pdf");
    assert_eq!(
        pdf.header("content-disposition"),
        format!("attachment; filename=\"invoice-{number}.pdf\"")
    );
    assert!(pdf.header("content-security-policy").contains("sandbox"));
    let (info, text) = poppler(&env, "issued.pdf", &pdf.bytes);
    assert!(info.contains(&format!("Invoice {number}")), "{info}");
    assert!(
        info.contains("Page size:") && info.contains("595.28 x 841.89"),
        "A4: {info}"
    );
    for want in [
        format!("Invoice {number}"),
        SELLER.to_string(),
        BUYER.to_string(),
        "31-539 Kraków".into(),
        "zażółć gęślą jaźń".into(),
        "3,907.74 PLN".into(),
        "710.52".into(),
        format!("Payment reference: {number}"),
        format!("Bank account: {IBAN}"),
    ] {
        assert!(text.contains(&want), "PDF text lacks {want}: {text}");
    }

    // What was issued stays as issued: later changes to the profile and the client leave it alone.
    let r = save_profile(&admin, &profile_fields("Nowa Nazwa S.A.")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin
        .patch(
            &format!("/api/v1/clients/{client}"),
            json!({ "name": "Renamed Client" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let page = admin.get(&format!("/m/invoices/{inv}/document")).await;
    assert!(
        page.body.contains(SELLER) && page.body.contains(BUYER),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Nowa Nazwa") && !page.body.contains("Renamed Client"));

    // Paid and void invoices say so on the page and in the PDF.
    let r = admin
        .post(&format!("/api/v1/invoices/{inv}/paid"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let page = admin.get(&format!("/m/invoices/{inv}/document")).await;
    assert!(
        page.body.contains("<p class=\"doc-status\">PAID</p>"),
        "{}",
        page.body
    );
    let (_, text) = poppler(
        &env,
        "paid.pdf",
        &admin
            .get(&format!("/m/invoices/{inv}/document.pdf"))
            .await
            .bytes,
    );
    assert!(text.contains("PAID"), "{text}");

    let other = invoice_with_lines(&admin, client).await;
    admin
        .post(&format!("/api/v1/invoices/{other}/issue"), json!({}))
        .await;
    let r = admin
        .post(
            &format!("/api/v1/invoices/{other}/void"),
            json!({ "reason": "wrong client address" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let page = admin.get(&format!("/m/invoices/{other}/document")).await;
    assert!(
        page.body.contains("<p class=\"doc-status\">VOID</p>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("do not pay it"));
    let (_, text) = poppler(
        &env,
        "void.pdf",
        &admin
            .get(&format!("/m/invoices/{other}/document.pdf"))
            .await
            .bytes,
    );
    assert!(
        text.contains("VOID") && text.contains("do not pay it"),
        "{text}"
    );
    assert!(
        text.contains("Renamed Client"),
        "issued after the rename: {text}"
    );

    assert_eq!(admin.get("/m/invoices/999999/document").await.status, 404);
    assert_eq!(
        admin.get("/m/invoices/999999/document.pdf").await.status,
        404
    );
}

#[tokio::test]
async fn the_document_and_its_pdf_need_the_right_to_see_invoices_and_clients() {
    let env = Env::start();
    let admin = env.admin().await;
    for (group, perms) in [
        ("invoices-only", vec!["invoices:view"]),
        ("clients-only", vec!["clients:view"]),
    ] {
        let r = admin.form("/admin/groups", &[("name", group)]).await;
        assert_eq!(r.status, 200, "{}", r.body);
        let fields: Vec<(&str, &str)> = perms.iter().map(|p| ("perm", *p)).collect();
        let r = admin
            .form(&format!("/admin/groups/{group}/permissions"), &fields)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    env.add_user("ivo", "invoices-only", USER_PW);
    env.add_user("cleo", "clients-only", USER_PW);
    env.add_user("anna", "users", USER_PW);
    let client = admin.create_id("clients", json!({ "name": BUYER })).await;
    let inv = invoice_with_lines(&admin, client).await;
    admin
        .post(&format!("/api/v1/invoices/{inv}/issue"), json!({}))
        .await;
    let page = format!("/m/invoices/{inv}/document");
    let pdf = format!("/m/invoices/{inv}/document.pdf");

    for user in ["ivo", "cleo"] {
        let c = env.session(user, USER_PW).await;
        for path in [&page, &pdf] {
            let r = c.get(path).await;
            assert_eq!(r.status, 403, "{user} {path}: {}", r.body);
            assert!(!r.body.contains(BUYER) && !r.bytes.starts_with(b"%PDF"));
        }
    }
    // The invoice card of someone who may see invoices but not clients offers no link.
    let ivo = env.session("ivo", USER_PW).await;
    let card = ivo.get(&format!("/m/invoices/{inv}")).await;
    assert_eq!(card.status, 200, "{}", card.body);
    assert!(!card.body.contains("document.pdf"), "{}", card.body);

    // Without a session: to sign-in, nothing of the invoice; a bearer token is for /api/ only.
    for path in [&page, &pdf] {
        let r = env.anonymous().get(path).await;
        assert_ne!(r.status, 200, "{path}");
        assert!(!r.body.contains(BUYER) && !r.bytes.starts_with(b"%PDF"));
        let r = env.full_token().get(path).await;
        assert_ne!(r.status, 200, "token on {path}");
        assert!(!r.bytes.starts_with(b"%PDF"));
    }

    let anna = env.session("anna", USER_PW).await;
    assert_eq!(anna.get(&page).await.status, 200);
    let r = anna.get(&pdf).await;
    assert_eq!(r.status, 200);
    assert!(r.bytes.starts_with(b"%PDF-"));
}

#[tokio::test]
async fn the_invoice_profile_is_changed_only_by_an_administrator_checked_and_audited() {
    let env = Env::start();
    env.add_user("anna", "users", USER_PW);
    let admin = env.admin().await;
    let anna = env.session("anna", USER_PW).await;

    // A user who is not an administrator can neither see nor change it.
    assert_eq!(anna.get("/admin/invoice-profile").await.status, 403);
    let r = save_profile(&anna, &profile_fields("Fraud Ltd")).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(env.audit("invoice_profile_changed").is_empty());
    let page = admin.get("/admin/invoice-profile").await;
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("Fraud Ltd"));

    // Without the form's CSRF token an administrator's browser is refused too.
    let body = serde_urlencoded::to_string([("legal_name", "Forged Ltd")]).unwrap();
    let r = admin
        .send(
            "POST",
            "/admin/invoice-profile",
            &[("content-type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
            false,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.body);

    let r = save_profile(&admin, &profile_fields(SELLER)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rows = env.audit("invoice_profile_changed");
    assert_eq!(rows.len(), 1, "{rows:?}");
    let row = rows[0].to_string();
    assert!(row.contains(ADMIN) && row.contains(IBAN), "{row}");
    let page = admin.get("/admin/invoice-profile").await;
    assert!(
        page.body.contains(SELLER) && page.body.contains(IBAN),
        "{}",
        page.body
    );

    // The same values again change nothing and log nothing.
    let r = save_profile(&admin, &profile_fields(SELLER)).await;
    assert!(r.body.contains("Nothing changed."), "{}", r.body);
    assert_eq!(env.audit("invoice_profile_changed").len(), 1);

    // Bad input: every problem named, nothing saved, nothing logged.
    let mut bad = profile_fields(&"N".repeat(201));
    bad[1].1 = "1\n2\n3\n4\n5".into();
    bad[2].1 = "PL\u{1b}[31m123".into();
    bad[3].1 = "PL62 1090 1014 0000 0712 1981 2874".into();
    let r = save_profile(&admin, &bad).await;
    assert_eq!(r.status, 422, "{}", r.body);
    for want in [
        "the legal name has at most 200 characters",
        "the address has at most 4 lines",
        "the tax ID is one line without control characters",
        "check digits do not match",
    ] {
        assert!(r.body.contains(want), "no \"{want}\" in {}", r.body);
    }
    for (field, value) in [
        ("payment_details", "a\u{0}b".to_string()),
        ("payment_details", "x".repeat(1001)),
        ("legal_name", "   ".to_string()),
        ("address", format!("{}\nok", "y".repeat(101))),
    ] {
        let mut one = profile_fields("Changed Name sp. j.");
        for f in one.iter_mut() {
            if f.0 == field {
                f.1 = value.clone();
            }
        }
        let r = save_profile(&admin, &one).await;
        assert_eq!(r.status, 422, "{field}: {}", r.body);
    }
    assert_eq!(env.audit("invoice_profile_changed").len(), 1);
    let page = admin.get("/admin/invoice-profile").await;
    assert!(page.body.contains(SELLER) && !page.body.contains("Changed Name"));
}
