//! Pages in the reader's language beyond the templates (issue 13, languages): error pages follow
//! the signed-in person's language, and the sentences the domain writes (password refusals, CSV
//! import problems) reach pages in it.

use crate::hub_support::*;

const OLA_PW: &str = "orchard lantern 71 quince";

// BUG (fixed): error pages were always in the instance's default language, even for a person
// who picked another one.
#[tokio::test]
async fn a_signed_in_persons_error_pages_are_in_their_language() {
    let env = Env::start();
    env.add_user("ola", "users", OLA_PW);
    let ola = env.session("ola", OLA_PW).await;
    let r = ola.form("/account/language", &[("language", "pl")]).await;
    assert_eq!(r.status, 303, "{}", r.body);

    // A page no route knows, and a record that does not exist: both in Polish for her.
    let r = ola.get("/no-such-page").await;
    assert_eq!(r.status, 404);
    assert!(
        r.body.contains("<html lang=\"pl\"") && r.body.contains("Nie znaleziono"),
        "{}",
        r.body
    );
    let r = ola.get("/m/clients/987654").await;
    assert_eq!(r.status, 404);
    assert!(r.body.contains("Nie znaleziono"), "{}", r.body);

    // The instance's default stays English: for a visitor without a session, for someone who
    // picked nothing, and for a cookie that is no session.
    let r = env.anonymous().get("/no-such-page").await;
    assert_eq!(r.status, 404);
    assert!(
        r.body.contains("<html lang=\"en\"") && r.body.contains("Not found"),
        "{}",
        r.body
    );
    let admin = env.admin().await;
    let r = admin.get("/no-such-page").await;
    assert!(r.body.contains("Not found"), "{}", r.body);
    let forged = Caller {
        env: &env,
        auth: Auth::Session {
            cookie: "x".repeat(43),
            csrf: String::new(),
        },
    };
    let r = forged.get("/no-such-page").await;
    assert!(r.body.contains("Not found"), "{}", r.body);

    // Once she signs out, her old cookie no longer chooses the language.
    let r = ola.send("DELETE", "/api/v1/session", &[], b"", true).await;
    assert!(r.status < 300, "sign-out: {} {}", r.status, r.body);
    let r = ola.get("/no-such-page").await;
    assert!(r.body.contains("Not found"), "{}", r.body);
}

// BUG (fixed): a Polish page refused a password and listed a CSV file's problems in English
// ("Use at least 12 characters.", "unknown column").
#[tokio::test]
async fn password_refusals_and_import_problems_are_in_the_readers_language() {
    let env = Env::start();
    let admin = env.admin().await;
    let r = admin.form("/account/language", &[("language", "pl")]).await;
    assert_eq!(r.status, 303, "{}", r.body);

    // A password the policy refuses on the account page.
    let r = admin
        .form(
            "/account/password",
            &[
                ("current_password", crate::app::ADMIN_PW),
                ("new_password", "root1"),
                ("confirm", "root1"),
            ],
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("Użyj co najmniej 12 znaków.")
            && r.body
                .contains("Hasło nie może zawierać Twojej nazwy użytkownika."),
        "{}",
        r.body
    );
    assert!(!r.body.contains("Use at least"), "{}", r.body);
    // The API keeps its English sentence.
    let r = admin
        .post(
            "/api/v1/session/password",
            serde_json::json!({ "current_password": crate::app::ADMIN_PW, "new_password": "root1" }),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("Use at least 12 characters."), "{}", r.body);

    // A CSV file with an unknown column, a repeated one and a refused value.
    let csv = "name,colour,email,email\nAcme,red,not-an-address,x@example.test\n";
    let (ct, body) = multipart_form(
        &admin.csrf(),
        "file",
        "clients.csv",
        "text/csv",
        csv.as_bytes(),
    );
    let r = admin
        .send(
            "POST",
            "/m/clients/import",
            &[("content-type", &ct)],
            &body,
            false,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(
        r.body.contains("nieznana kolumna") && r.body.contains("kolumna występuje dwa razy"),
        "{}",
        r.body
    );
    assert!(
        !r.body.contains("unknown column") && !r.body.contains("column appears twice"),
        "{}",
        r.body
    );
    // The same file over the API is described in English.
    let r = admin.import("clients", csv, true).await;
    assert!(r.body.contains("unknown column"), "{}", r.body);
}

// BUG (fixed): a calendar feed's events read "Project deadline: …", "Project: …", "Task" for a
// person who reads holdfast in Polish.
#[tokio::test]
async fn a_calendar_feed_is_written_in_its_owners_language() {
    let env = Env::start();
    let admin = env.admin().await;
    let r = admin.form("/admin/feeds", &[("allowed", "1")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let client = admin
        .create_id("clients", serde_json::json!({ "name": "Acme" }))
        .await;
    let project = admin
        .create_id(
            "projects",
            serde_json::json!({ "name": "Strona", "client_id": client, "manager": "root",
                    "end_date": "2027-03-31" }),
        )
        .await;
    admin
        .create_id(
            "tasks",
            serde_json::json!({ "title": "Makiety", "project_id": project, "assignee": "root",
                    "due_date": "2027-01-15" }),
        )
        .await;
    let r = admin.form("/account/language", &[("language", "pl")]).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let r = admin.form("/account/calendar", &[("action", "on")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let url = input_value(&r.body, "feed_url").unwrap_or_else(|| panic!("no URL in {}", r.body));
    let path = format!(
        "/{}",
        url.split_once("://").unwrap().1.split_once('/').unwrap().1
    );
    let ics = env.anonymous().get(&path).await;
    assert_eq!(ics.status, 200, "{}", ics.body);
    let text = ics.body.replace("\r\n ", "");
    for want in [
        "SUMMARY:Termin projektu: Strona",
        "CATEGORIES:Zadanie",
        "CATEGORIES:Termin projektu",
        "DESCRIPTION:Projekt: Strona\\nStatus: ",
    ] {
        assert!(text.contains(want), "{want} in\n{text}");
    }
    assert!(!text.contains("Project deadline"), "{text}");

    // A refused change (the client still has a project) is told in Polish on the card, and in
    // English over the API.
    let r = admin
        .form(&format!("/m/clients/{client}/delete"), &[])
        .await;
    assert_ne!(r.status, 303, "{}", r.body);
    assert!(
        r.body.contains(
            "Nie można usunąć tego rekordu (klient): inne rekordy wciąż się do niego odwołują."
        ),
        "{}",
        r.body
    );
    let r = admin.delete(&format!("/api/v1/clients/{client}")).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body.contains("this client cannot be deleted"),
        "{}",
        r.body
    );
}

// BUG (fixed): on a Polish page, an invoice refused for its state ("add at least one line before
// issuing"), a user name or a network the rules refuse, and a policy value out of range were
// written in English.
#[tokio::test]
async fn refusals_of_invoices_accounts_and_policy_are_in_the_readers_language() {
    let env = Env::start();
    let admin = env.admin().await;
    let r = admin.form("/account/language", &[("language", "pl")]).await;
    assert_eq!(r.status, 303, "{}", r.body);

    // Issuing a draft without lines: the card says why, in Polish; the API in English.
    let client = admin
        .create_id("clients", serde_json::json!({ "name": "Acme" }))
        .await;
    let inv = admin
        .create_id("invoices", serde_json::json!({ "client_id": client }))
        .await;
    let r = admin
        .form(&format!("/m/invoices/{inv}/do/issue"), &[])
        .await;
    assert!(
        r.body
            .contains("Przed wystawieniem dodaj co najmniej jedną pozycję."),
        "{} {}",
        r.status,
        r.body
    );
    assert!(!r.body.contains("add at least one line"), "{}", r.body);
    let r = admin
        .post(
            &format!("/api/v1/invoices/{inv}/issue"),
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(
        r.body.contains("add at least one line before issuing"),
        "{}",
        r.body
    );
    // A line with no quantity: the card's sentence names it, in Polish.
    let r = admin
        .form(
            &format!("/m/invoices/{inv}/lines"),
            &[
                ("description", "Audyt"),
                ("quantity", "0"),
                ("unit_price", "100,00"),
                ("tax_rate", "23"),
            ],
        )
        .await;
    assert!(
        r.body.contains("Ilość musi być większa od 0."),
        "{} {}",
        r.status,
        r.body
    );
    assert!(!r.body.contains("must be more than 0"), "{}", r.body);
    // The security log's filter with a time it cannot read.
    let r = admin.get("/admin/log?from=yesterday").await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert!(r.body.contains("„yesterday” nie jest czasem"), "{}", r.body);
    // A draft's e-invoice, refused in Polish on the error page.
    let r = admin.get(&format!("/m/invoices/{inv}/einvoice.xml")).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert!(r.body.contains("Szkic nie ma e-faktury"), "{}", r.body);

    // A user name the rules refuse.
    let r = admin
        .form(
            "/admin/users",
            &[
                ("username", "a"),
                ("email", "a@example.test"),
                ("group", "users"),
            ],
        )
        .await;
    assert!(
        r.body.contains("Użyj 2–64 liter, cyfr"),
        "{} {}",
        r.status,
        r.body
    );
    assert!(!r.body.contains("use 2–64 letters"), "{}", r.body);

    // A webhook to a plain-http address on the internet.
    let r = admin
        .form(
            "/admin/webhooks",
            &[
                ("url", "http://n8n.example.com/hook"),
                ("events", "*"),
                ("scopes", "clients:read"),
            ],
        )
        .await;
    assert!(
        r.body.contains("Przyjmowane są tylko adresy https://"),
        "{} {}",
        r.status,
        r.body
    );

    // A refused sign-in: the log page words the stored reason ("wrong password") for her.
    let r = env
        .anonymous()
        .post(
            "/api/v1/session",
            serde_json::json!({ "username": crate::app::ADMIN, "password": "not the password at all" }),
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.body);
    let r = admin.get("/admin/log?type=login_failed").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("błędne hasło"), "{}", r.body);
    assert!(!r.body.contains("wrong password"), "{}", r.body);

    // An alert threshold out of range, named by its label.
    let r = admin
        .form("/admin/alerts/rules", &[("spray_accounts", "0")])
        .await;
    assert!(
        r.body.contains("jest poza dozwolonym zakresem"),
        "{} {}",
        r.status,
        r.body
    );
}
