//! Mails in their reader's language (issue 13, languages): the account notices, the e-mailed
//! codes and the administrators' notices reach each person in the language they picked, else in
//! the instance's default, with times in the server's time zone written their way. Read from a
//! real SMTP sink.

use crate::app::TestApp;
use crate::identity_support::*;
use crate::support::*;
use serde_json::json;

const OLA_PW: &str = "orchard lantern 71 quince";
const OLA_PW2: &str = "meadow thimble 88 walnut";
const ED_PW: &str = "pebble compass 42 fennel";
const ED_PW2: &str = "harbour violin 19 saffron";
const NEL_PW: &str = "juniper ribbon 63 almond";

/// A signed-in session: (cookie value, CSRF token).
async fn session(hub: &Hub, name: &str, password: &str) -> (String, String) {
    let r = hub.sign_in(name, password).await;
    assert_eq!(r.status, 200, "sign-in of {name}: {}", r.body);
    let csrf = json_of(&r)["csrf_token"].as_str().unwrap().to_string();
    (session_cookie(&r).expect("a session cookie"), csrf)
}

/// `POST /account/language` as the person's browser would send it.
async fn pick_language(hub: &Hub, (cookie, csrf): &(String, String), code: &str) {
    let r = hub
        .form(
            "/account/language",
            &format!("{SESSION}={cookie}"),
            &[("csrf", csrf), ("language", code)],
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.body);
}

/// A sign-in from 127.0.0.2, an address the person never used.
async fn from_elsewhere(hub: &Hub, name: &str, password: &str) {
    let r = hub.sign_in_from(ip("127.0.0.2"), name, password).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

/// "6.12.2026, 05:34" somewhere in `text`: a time as Polish writes it.
fn has_polish_time(text: &str) -> bool {
    text.split(|c: char| c.is_whitespace() || c == '(')
        .any(|w| {
            let parts: Vec<&str> = w.trim_end_matches(',').split('.').collect();
            parts.len() == 3
                && parts.iter().all(|p| p.chars().all(|c| c.is_ascii_digit()))
                && parts[1].len() == 2
                && parts[2].len() == 4
        })
}

// BUG (fixed): every mail was English, whatever language its reader picked, with times as raw
// UTC stamps ("2026-12-07T05:34:08.011Z").
#[tokio::test]
async fn each_person_gets_mail_in_their_language_else_the_instances() {
    let hub = Hub {
        app: TestApp::builder()
            .with_mail()
            .config("[server]\ntime_zone = \"Europe/Warsaw\"\n")
            .start(),
    };
    hub.add_admin();
    hub.add_user("ola", &["users"], OLA_PW);
    hub.add_user("ed", &["users"], ED_PW);
    hub.add_user("nel", &["users"], NEL_PW);

    // Ola reads Polish, Ed English; Nel picks nothing while the instance's default is Polish.
    let ola = session(&hub, "ola", OLA_PW).await;
    pick_language(&hub, &ola, "pl").await;
    let ed = session(&hub, "ed", ED_PW).await;
    pick_language(&hub, &ed, "en").await;
    session(&hub, "nel", NEL_PW).await;
    let admin = session(&hub, ADMIN, ADMIN_PW).await;
    let money = [
        ("csrf", admin.1.as_str()),
        ("currency", "PLN"),
        ("hourly_rate", "0"),
        ("payment_terms_days", "14"),
        ("locale", "pl"),
        ("tax_default", "0"),
        ("tax_name", "VAT"),
        ("tax_rate", "23"),
    ];
    let r = hub
        .form(
            "/admin/money",
            &format!("{SESSION}={}", admin.0),
            &money,
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);

    // A sign-in from a new address.
    from_elsewhere(&hub, "ola", OLA_PW).await;
    let m = hub.wait_mail("ola@example.test", "logowanie z nowego adresu");
    let body = m.body();
    assert!(
        body.contains("Na Twoje konto holdfast „ola” zalogowano się")
            && body.contains("z adresu 127.0.0.2")
            && body.contains("(Europe/Warsaw)")
            && has_polish_time(&body)
            && body.contains("Jeśli to nie Ty, natychmiast powiadom administratora"),
        "{body}"
    );
    assert!(!body.contains("Your holdfast account"), "{body}");
    from_elsewhere(&hub, "ed", ED_PW).await;
    let body = hub
        .wait_mail("ed@example.test", "sign-in from a new address")
        .body();
    assert!(
        body.contains("Your holdfast account \"ed\" was signed in on")
            && body.contains("(Europe/Warsaw)")
            && !has_polish_time(&body)
            && body.contains("If this was not you"),
        "{body}"
    );
    from_elsewhere(&hub, "nel", NEL_PW).await;
    let body = hub
        .wait_mail("nel@example.test", "logowanie z nowego adresu")
        .body();
    assert!(body.contains("„nel”"), "{body}");

    // A password change.
    let r = hub.change_password(&ola.0, Some(OLA_PW), OLA_PW2).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let ola_cookie = session_cookie(&r).unwrap_or(ola.0.clone());
    let body = hub
        .wait_mail("ola@example.test", "zmieniono Twoje hasło")
        .body();
    assert!(
        body.contains("Hasło do Twojego konta holdfast „ola” zostało zmienione"),
        "{body}"
    );
    let r = hub.change_password(&ed.0, Some(ED_PW), ED_PW2).await;
    assert_eq!(r.status, 200, "{}", r.body);
    hub.wait_mail("ed@example.test", "your password was changed");

    // E-mailed codes as the second factor, then a sign-in that needs one.
    let r = hub
        .api(
            "POST",
            "/api/v1/session/second-factor/method",
            Some(&ola_cookie),
            Some(json!({ "current_password": OLA_PW2, "method": "email" })),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = hub
        .wait_mail("ola@example.test", "zmieniono Twój drugi składnik")
        .body();
    assert!(body.contains("kody wysyłane e-mailem"), "{body}");
    let r = hub.sign_in("ola", OLA_PW2).await;
    assert_eq!(
        json_of(&r)["status"],
        "second_factor_required",
        "{}",
        r.body
    );
    let pending = session_cookie(&r).unwrap();
    let m = hub.wait_mail("ola@example.test", "kod logowania");
    let body = m.body();
    assert!(
        body.starts_with("Twój kod logowania do holdfast: ")
            && body.contains("Kod jest ważny przez 10 minut i tylko dla logowania"),
        "{body}"
    );
    let code = code_in(&body).unwrap();
    let r = hub.code(&pending, &code).await;
    assert_eq!(r.status, 200, "the Polish mail's code signs in: {}", r.body);
    assert_eq!(json_of(&r)["status"], "signed_in", "{}", r.body);
}

// BUG (fixed): the administrators' notices (an account locked) were English for everyone.
#[tokio::test]
async fn administrators_read_a_lockout_in_their_own_language() {
    let hub = Hub::with_mail();
    hub.add_admin();
    hub.add_user("ada", &["admins"], OLA_PW);
    hub.add_user("kim", &["users"], ED_PW);
    hub.policy("lockout_threshold=3");
    let ada = session(&hub, "ada", OLA_PW).await;
    pick_language(&hub, &ada, "pl").await;
    for i in 0..3 {
        let r = hub.sign_in("kim", &format!("not kim's password {i}")).await;
        assert_eq!(r.status, 401, "{}", r.body);
    }
    let body = hub
        .wait_mail("ada@example.test", "zablokowano konto kim")
        .body();
    assert!(
        body.contains("Konto „kim” zostało zablokowane")
            && body.contains("po 3 nieudanych próbach logowania"),
        "{body}"
    );
    // The instance's default is English, and so is the other administrator's copy.
    let body = hub.wait_mail(ADMIN_EMAIL, "account kim locked").body();
    assert!(body.contains("The account \"kim\" was locked on"), "{body}");
}

// BUG (fixed): an alert mail carried the alert's English summary and the admin's test mail was
// English, for an administrator who reads holdfast in Polish; the alerts page showed the English
// summary too. The console (and so the API and syslog) keep the English one.
#[tokio::test]
async fn alert_summaries_and_the_test_mail_are_in_the_administrators_language() {
    let hub = Hub::with_mail();
    hub.add_admin();
    hub.add_user("ada", &["admins"], OLA_PW);
    let ada = session(&hub, "ada", OLA_PW).await;
    pick_language(&hub, &ada, "pl").await;

    // A new administrator: a high alert, mailed at once to each administrator in their language.
    hub.add_user("newboss", &["admins"], ED_PW);
    let about_newboss = |to: &'static str, text: &'static str| {
        hub.sink()
            .wait_for(
                move |m| m.to.iter().any(|t| t == to) && m.body().contains(text),
                MAIL_WAIT,
            )
            .unwrap_or_else(|| panic!("no alert mail to {to} saying {text}"))
    };
    let pl = about_newboss("ada@example.test", "Nowy administrator „newboss”");
    assert!(
        pl.subject()
            .unwrap_or_default()
            .contains("Nowy administrator"),
        "{:?}",
        pl.subject()
    );
    assert!(!pl.body().contains("created by"), "{}", pl.body());
    about_newboss(ADMIN_EMAIL, "New administrator \"newboss\" created by");

    // The alerts page words it for her; the console keeps the English for scripts and the SIEM.
    let cookie = format!("{SESSION}={}", ada.0);
    let r = hub.get("/admin/alerts", Some(&ada.0)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(
        r.body
            .contains("Nowy administrator „newboss”, utworzony przez"),
        "{}",
        r.body
    );
    // What an alert is about is named in her words too ("token API „…”"), while the console keeps
    // the stable subject that folds repeats ("token …").
    hub.ok(&[
        "admin",
        "token",
        "create",
        "--service",
        "ledger",
        "--scopes",
        "clients:read",
    ]);
    let named = eventually(MAIL_WAIT, || {
        let hub = &hub;
        let cookie = ada.0.clone();
        async move {
            let r = hub.get("/admin/alerts", Some(&cookie)).await;
            r.body.contains("token API „ledger”")
        }
    })
    .await;
    assert!(named, "the token alert is not named in Polish");
    let alerts: Vec<serde_json::Value> = hub
        .ok(&["admin", "alerts", "--json"])
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let english = alerts
        .iter()
        .find(|a| a["subject"] == "newboss")
        .unwrap_or_else(|| panic!("no alert about newboss: {alerts:?}"));
    assert!(
        english["summary"]
            .as_str()
            .unwrap()
            .starts_with("New administrator \"newboss\" created by"),
        "{english}"
    );
    assert!(
        alerts.iter().any(|a| a["subject"] == "token ledger"),
        "{alerts:?}"
    );

    // Her test mail is written in her language.
    let r = hub
        .form(
            "/admin/mail/test",
            &cookie,
            &[("csrf", &ada.1), ("to", "desk@example.test")],
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let body = hub
        .wait_mail("desk@example.test", "wiadomość testowa")
        .body();
    assert!(
        body.contains("poczta z holdfast do ciebie dociera"),
        "{body}"
    );
}
