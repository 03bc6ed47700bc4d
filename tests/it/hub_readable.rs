//! Pages read as words: recent activity names the record, times show in the instance's time zone
//! with the exact UTC instant kept in `<time datetime>`, a history starts with "Created by … on …",
//! and charts say when there is nothing to draw.

use crate::hub_support::*;
use chrono::{DateTime, Utc};
use serde_json::json;

const WARSAW: &str = "[server]\ntime_zone = \"Europe/Warsaw\"\n";

/// What the pages should show for a stored instant in Warsaw, e.g. "6 Dec 2026, 05:34".
fn warsaw(stamp: &str) -> String {
    let at = DateTime::parse_from_rfc3339(stamp)
        .unwrap()
        .with_timezone(&Utc);
    at.with_timezone(&chrono_tz::Europe::Warsaw)
        .format("%-d %b %Y, %H:%M")
        .to_string()
}

/// The `<time>` element a page shows for `stamp`.
fn time_element(stamp: &str) -> String {
    let at = DateTime::parse_from_rfc3339(stamp)
        .unwrap()
        .with_timezone(&Utc);
    format!(
        "<time datetime=\"{stamp}\" title=\"{} UTC\">{}</time>",
        at.format("%Y-%m-%d %H:%M:%S"),
        warsaw(stamp)
    )
}

/// Stored instants (`2026-12-06T04:34:08.011Z`) that a page shows as text rather than inside a
/// `<time datetime>` attribute.
fn raw_stamps(body: &str) -> Vec<String> {
    let mut found = Vec::new();
    for (i, _) in body.match_indices('>') {
        let rest = &body[i + 1..];
        let candidate: String = rest.chars().take(24).collect();
        if candidate.len() == 24
            && candidate.ends_with('Z')
            && DateTime::parse_from_rfc3339(&candidate).is_ok()
        {
            found.push(candidate);
        }
    }
    found
}

#[tokio::test]
async fn recent_activity_names_the_record_and_times_are_local() {
    let env = Env::with_config(Some(WARSAW));
    let s = env.admin().await;
    let client = s.create("clients", json!({ "name": "Acme Widgets" })).await;
    let id = client["id"].as_i64().unwrap();
    let created_at = client["created_at"].as_str().unwrap().to_string();

    let home = s.get("/").await;
    assert_eq!(home.status, 200);
    assert!(
        home.body
            .contains(&format!("<a href=\"/m/clients/{id}\">Acme Widgets</a>")),
        "{}",
        home.body
    );
    assert!(
        !home.body.contains(&format!("clients #{id}")),
        "{}",
        home.body
    );
    assert!(home.body.contains("created by root"), "{}", home.body);
    assert!(
        home.body.contains(&time_element(&created_at)),
        "{}",
        home.body
    );
    assert_eq!(raw_stamps(&home.body), Vec::<String>::new());

    // The card: "Created by root on <local time>", never "created: — → —".
    let r = s
        .form(&format!("/m/clients/{id}/comments"), &[("body", "Hello")])
        .await;
    assert!(r.status == 303 || r.status == 200, "{}", r.status);
    let card = s.get(&format!("/m/clients/{id}")).await;
    assert_eq!(card.status, 200);
    assert!(
        card.body
            .contains(&format!("Created by root on {}", time_element(&created_at))),
        "{}",
        card.body
    );
    assert!(
        !card.body.contains("<strong>created</strong>"),
        "{}",
        card.body
    );
    assert!(!card.body.contains("— → —"), "{}", card.body);
    // The comment's time too.
    let comment = card
        .body
        .split("<article class=\"comment\">")
        .nth(1)
        .unwrap();
    assert!(comment.contains("<time datetime=\""), "{comment}");
    assert_eq!(raw_stamps(&card.body), Vec::<String>::new());
}

#[tokio::test]
async fn the_security_log_and_sessions_show_local_times() {
    let env = Env::with_config(Some(WARSAW));
    let s = env.admin().await;
    let newest = env.audit("user_created");
    let stamp = newest.last().unwrap()["at"].as_str().unwrap().to_string();
    let log = s.get("/admin/log").await;
    assert_eq!(log.status, 200);
    assert!(log.body.contains(&time_element(&stamp)), "{}", log.body);
    assert_eq!(raw_stamps(&log.body), Vec::<String>::new());
    let account = s.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(
        account.body.contains("<time datetime=\""),
        "{}",
        account.body
    );
    assert_eq!(raw_stamps(&account.body), Vec::<String>::new());
    // A second sign-in is told about the first, at a local time.
    let again = env.admin().await;
    let home = again.get("/").await;
    assert!(
        home.body
            .contains("Your previous sign-in was at <time datetime=\""),
        "{}",
        home.body
    );
    assert_eq!(raw_stamps(&home.body), Vec::<String>::new());
}

#[test]
fn an_unknown_time_zone_is_refused_with_the_key_named() {
    let dir = crate::support::data_dir();
    let config = dir.path().join("holdfast.toml");
    std::fs::write(&config, "[server]\ntime_zone = \"Mars/Olympus\"\n").unwrap();
    let mut cmd = crate::app::bin_command(std::path::Path::new(crate::support::BIN));
    cmd.arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(dir.path())
        .args(["instance", "list"])
        .env_remove("HOLDFAST_CONFIG");
    let out = crate::app::run_with_stdin(cmd, "");
    assert!(!out.status.success());
    let err = crate::support::text(&out.stderr);
    assert!(
        err.contains("server.time_zone") && err.contains("Mars/Olympus"),
        "{err}"
    );
}

#[tokio::test]
async fn empty_charts_say_no_data_yet_and_text_is_drawn_large_enough() {
    let env = Env::start();
    let s = env.admin().await;
    let home = s.get("/").await;
    assert_eq!(home.status, 200);
    // Hours per week, outstanding invoices and budget burn: nothing logged, issued or budgeted.
    assert_eq!(
        home.body.matches(">No data yet</text>").count(),
        3,
        "{}",
        home.body
    );
    // With data, the bars are drawn with their labels; text is 16 units in a 360-unit drawing
    // (at least 12.4 px at the narrowest panel, src/web/charts.rs).
    let client = s.create_id("clients", json!({ "name": "Chart Co" })).await;
    let project = s
        .create_id(
            "projects",
            json!({ "name": "Chart Project", "client_id": client, "budget_hours": 10 }),
        )
        .await;
    let today = Utc::now().date_naive().format("%Y-%m-%d").to_string();
    s.create(
        "time-entries",
        json!({ "user": ADMIN, "project_id": project, "date": today, "minutes": 90 }),
    )
    .await;
    let home = s.get("/").await;
    assert_eq!(
        home.body.matches(">No data yet</text>").count(),
        1,
        "only the invoices chart is empty now: {}",
        home.body
    );
    assert!(home.body.contains(">1.5 h</text>"), "{}", home.body);
    assert!(home.body.contains(">Chart Project</text>"), "{}", home.body);
    for svg in home.body.split("<svg").skip(1) {
        assert!(svg.starts_with(" class=\"chart"), "{svg}");
        assert!(svg.contains("viewBox=\"0 0 360 "), "{svg}");
        assert!(svg.contains("font-size=\"16\""), "{svg}");
    }
}

#[tokio::test]
async fn recent_activity_names_only_records_the_reader_may_see() {
    // Names now show where ids did: a record of a module the reader may not open must not appear,
    // not even by name.
    let env = Env::start();
    let admin = env.admin().await;
    let r = admin
        .form(
            "/admin/groups",
            &[("name", "projects-only"), ("description", "readable test")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin
        .form(
            "/admin/groups/projects-only/permissions",
            &[("perm", "projects:view")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let client = admin
        .create_id("clients", json!({ "name": "Secret Client" }))
        .await;
    let project = admin
        .create_id(
            "projects",
            json!({ "name": "Visible Project", "client_id": client }),
        )
        .await;
    env.add_user("pat", "projects-only", USER_PW);
    let pat = env.session("pat", USER_PW).await;
    let home = pat.get("/").await;
    assert_eq!(home.status, 200);
    assert!(
        home.body.contains(&format!(
            "<a href=\"/m/projects/{project}\">Visible Project</a>"
        )),
        "{}",
        home.body
    );
    assert!(!home.body.contains("Secret Client"), "{}", home.body);
    assert!(!home.body.contains("/m/clients/"), "{}", home.body);
}
