//! Calendar feeds (issue 15): a person's private iCalendar feed behind a feed token, parsed by
//! Python's `icalendar` (PyPI, pinned in `tests/tools/icalendar`); stable UIDs, edits and deletes
//! seen by the feed, revocation, one person's token never showing another's work, the instance's
//! switch, and the audit of use at most once an hour per token.

use crate::hub_support::*;
use serde_json::{Value, json};
use std::path::Path;

const PEOPLE: &[&str] = &[
    "tasks:view",
    "tasks:create",
    "tasks:edit",
    "projects:view",
    "time:view",
];

/// The events of a feed as `icalendar` reads them; panics (failing the test) when it does not parse.
fn parse(env: &Env, ics: &str) -> Vec<Value> {
    let file = env.data().join(format!(
        "feed-{}.ics",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::write(&file, ics).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/icalendar");
    let out = std::process::Command::new("bash")
        .arg(&script)
        .arg(&file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "icalendar refused the feed: {}\n{ics}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn by_uid<'a>(events: &'a [Value], uid_start: &str) -> Option<&'a Value> {
    events
        .iter()
        .find(|e| e["uid"].as_str().unwrap().starts_with(uid_start))
}

/// Switches the caller's feed on from the account page; the feed's path from the URL shown once.
async fn switch_on(who: &Caller<'_>, include_time: bool) -> String {
    let mut fields = vec![("action", "on")];
    if include_time {
        fields.push(("include_time", "1"));
    }
    let r = who.form("/account/calendar", &fields).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let url = input_value(&r.body, "feed_url").unwrap_or_else(|| panic!("no URL in {}", r.body));
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(_, p)| format!("/{p}"))
        .unwrap();
    assert!(path.starts_with("/feed/hfc_"), "{path}");
    path
}

async fn allow(admin: &Caller<'_>, on: bool) {
    let fields: Vec<(&str, &str)> = if on { vec![("allowed", "1")] } else { vec![] };
    let r = admin.form("/admin/feeds", &fields).await;
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn feed(env: &Env, path: &str) -> R {
    env.anonymous().get(path).await
}

/// The raw text meets RFC 5545's framing: CRLF only, no line over 75 octets.
fn assert_framing(ics: &str) {
    assert!(ics.ends_with("\r\n"));
    assert!(!ics.replace("\r\n", "").contains('\n'), "a bare LF");
    for l in ics.split("\r\n") {
        assert!(l.len() <= 75, "{} octets: {l}", l.len());
    }
}

#[tokio::test]
async fn a_feed_shows_the_persons_dated_work_and_follows_edits_and_deletes() {
    let env = Env::start();
    let admin = env.admin().await;
    group(&admin, "planners", PEOPLE).await;
    env.add_user("anna", "planners", USER_PW);
    env.add_user("bert", "planners", USER_PW);
    allow(&admin, true).await;

    let client = admin.create_id("clients", json!({ "name": "Acme" })).await;
    let project = admin
        .create_id(
            "projects",
            json!({ "name": "Website, phase 2", "client_id": client, "manager": "anna",
                    "end_date": "2027-03-31" }),
        )
        .await;
    // Text that needs escaping and folding: commas, semicolons, backslashes, a newline, non-ASCII.
    let long = "Zażółć gęślą jaźń; wireframes, copy \\ images — ".repeat(3);
    let mine = admin
        .create_id(
            "tasks",
            json!({ "title": long, "project_id": project, "assignee": "anna",
                    "due_date": "2027-01-15", "notes": "line one\nline two" }),
        )
        .await;
    let other = admin
        .create_id(
            "tasks",
            json!({ "title": "Bert's secret task", "project_id": project, "assignee": "bert",
                    "due_date": "2027-01-16" }),
        )
        .await;
    admin
        .create(
            "time-entries",
            json!({ "user": "anna", "project_id": project, "date": "2026-12-01", "minutes": 90 }),
        )
        .await;

    let anna = env.session("anna", USER_PW).await;
    let path = switch_on(&anna, true).await;
    let r = feed(&env, &path).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.header("content-type").starts_with("text/calendar"));
    assert_security_headers(&r, "feed");
    assert_framing(&r.body);
    let events = parse(&env, &r.body);
    let task = by_uid(&events, &format!("task-{mine}@")).expect("anna's task");
    assert_eq!(
        task["summary"],
        long.trim(),
        "escaped and folded, read back whole"
    );
    assert_eq!(task["dtstart"], "2027-01-15");
    assert_eq!(task["dtstart_kind"], "date", "an all-day event");
    assert_eq!(task["dtend"], "2027-01-16");
    assert!(task["last_modified"].is_string());
    let deadline = by_uid(&events, &format!("project-end-{project}@")).expect("deadline");
    assert_eq!(deadline["dtstart"], "2027-03-31");
    assert!(
        deadline["summary"]
            .as_str()
            .unwrap()
            .contains("Website, phase 2")
    );
    let time = by_uid(&events, "time-").expect("time entry (asked for)");
    assert!(time["summary"].as_str().unwrap().starts_with("1h 30m"));
    // Bert's task is not in Anna's feed.
    assert!(by_uid(&events, &format!("task-{other}@")).is_none());
    assert!(!r.body.contains("Bert's secret"));

    // An edited due date moves the same event (same UID, new date, higher SEQUENCE).
    let uid = task["uid"].clone();
    let sequence = task["sequence"].as_i64().unwrap();
    let r = admin
        .patch(
            &format!("/api/v1/tasks/{mine}"),
            json!({ "due_date": "2027-02-20" }),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let events = parse(&env, &feed(&env, &path).await.body);
    let moved = by_uid(&events, &format!("task-{mine}@")).expect("still there");
    assert_eq!(moved["uid"], uid, "UID stable across edits");
    assert_eq!(moved["dtstart"], "2027-02-20");
    assert!(moved["sequence"].as_i64().unwrap() > sequence);

    // Deleted: gone from the feed.
    let r = admin.delete(&format!("/api/v1/tasks/{mine}")).await;
    assert!(r.status == 204 || r.status == 200, "{}", r.body);
    let events = parse(&env, &feed(&env, &path).await.body);
    assert!(
        by_uid(&events, &format!("task-{mine}@")).is_none(),
        "deleted"
    );
    assert!(by_uid(&events, &format!("project-end-{project}@")).is_some());
}

#[tokio::test]
async fn a_token_shows_only_its_owners_work_and_stops_when_revoked_or_replaced() {
    let env = Env::start();
    let admin = env.admin().await;
    group(&admin, "planners", PEOPLE).await;
    env.add_user("anna", "planners", USER_PW);
    env.add_user("bert", "planners", USER_PW);
    allow(&admin, true).await;
    let client = admin.create_id("clients", json!({ "name": "Acme" })).await;
    let project = admin
        .create_id("projects", json!({ "name": "P", "client_id": client }))
        .await;
    for (who, title) in [("anna", "Anna's task"), ("bert", "Bert's task")] {
        admin
            .create(
                "tasks",
                json!({ "title": title, "project_id": project, "assignee": who,
                        "due_date": "2027-01-10" }),
            )
            .await;
    }
    let anna = env.session("anna", USER_PW).await;
    let bert = env.session("bert", USER_PW).await;
    let anna_feed = switch_on(&anna, false).await;
    let bert_feed = switch_on(&bert, false).await;
    let a = feed(&env, &anna_feed).await.body;
    let b = feed(&env, &bert_feed).await.body;
    assert!(
        a.contains("Anna's task") && !a.contains("Bert's task"),
        "{a}"
    );
    assert!(
        b.contains("Bert's task") && !b.contains("Anna's task"),
        "{b}"
    );
    // Anna's session cookie on Bert's feed changes nothing: the path's token is the credential.
    let r = anna.get(&bert_feed).await;
    assert!(r.body.contains("Bert's task") && !r.body.contains("Anna's task"));
    // A guessed token, one with the right prefix, and a feed path without the prefix: not found.
    for p in [
        "/feed/hfc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/calendar.ics",
        "/feed/nothing/calendar.ics",
    ] {
        assert_eq!(feed(&env, p).await.status, 404, "{p}");
    }
    // Anna's session does not make an unknown feed hers either.
    let r = anna
        .get("/feed/hfc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/calendar.ics")
        .await;
    assert_eq!(r.status, 404);

    // A new address replaces the old one; switching off ends the new one.
    let renewed = switch_on(&anna, false).await;
    assert_ne!(renewed, anna_feed);
    assert_eq!(feed(&env, &anna_feed).await.status, 404, "replaced");
    assert_eq!(feed(&env, &renewed).await.status, 200);
    let r = anna.form("/account/calendar", &[("action", "off")]).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = feed(&env, &renewed).await;
    assert_eq!(r.status, 404, "revoked: {}", r.body);
    assert!(!r.body.contains("Anna's task"));
    assert_eq!(
        feed(&env, &bert_feed).await.status,
        200,
        "others unaffected"
    );

    let made = env.audit("feed_created");
    assert_eq!(made.len(), 3, "{made:?}");
    let revoked = env.audit("feed_revoked");
    assert_eq!(revoked.len(), 2, "replaced and switched off: {revoked:?}");
    // The token itself never reaches the security log.
    let token = renewed
        .trim_start_matches("/feed/")
        .trim_end_matches("/calendar.ics");
    let all = env.audit_json(&[]);
    assert!(!serde_json::to_string(&all).unwrap().contains(token));
}

#[tokio::test]
async fn forbidding_feeds_turns_every_feed_off_and_hides_the_switch() {
    let env = Env::start();
    let admin = env.admin().await;
    group(&admin, "planners", PEOPLE).await;
    env.add_user("anna", "planners", USER_PW);
    let anna = env.session("anna", USER_PW).await;

    // Off until an administrator allows them.
    let page = anna.get("/account").await.body;
    assert!(
        !page.contains("/account/calendar"),
        "no switch while forbidden"
    );
    let r = anna.form("/account/calendar", &[("action", "on")]).await;
    assert_eq!(r.status, 404, "{}", r.body);

    allow(&admin, true).await;
    assert!(
        anna.get("/account")
            .await
            .body
            .contains("/account/calendar")
    );
    let path = switch_on(&anna, false).await;
    assert_eq!(feed(&env, &path).await.status, 200);

    allow(&admin, false).await;
    assert_eq!(feed(&env, &path).await.status, 404, "forbidden: every feed");
    let page = anna.get("/account").await.body;
    assert!(!page.contains("/account/calendar"));
    let r = anna.get("/account/calendar").await;
    assert!(!r.body.contains("name=\"action\""), "no switch: {}", r.body);
    let r = anna.form("/account/calendar", &[("action", "on")]).await;
    assert_eq!(r.status, 404);

    let changes = env.audit("feeds_setting_changed");
    assert_eq!(changes.len(), 2, "{changes:?}");
    // Only an administrator changes the switch.
    let r = anna.form("/admin/feeds", &[("allowed", "1")]).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(feed(&env, &path).await.status, 404);
}

#[tokio::test]
async fn feed_use_is_audited_once_per_token_and_hour_not_on_every_fetch() {
    let env = Env::start();
    let admin = env.admin().await;
    group(&admin, "planners", PEOPLE).await;
    env.add_user("anna", "planners", USER_PW);
    allow(&admin, true).await;
    let anna = env.session("anna", USER_PW).await;
    let path = switch_on(&anna, false).await;
    for _ in 0..5 {
        assert_eq!(feed(&env, &path).await.status, 200);
    }
    let used = env.audit("feed_used");
    assert_eq!(used.len(), 1, "{used:?}");
    assert_eq!(used[0]["target"], "anna");
    // A new token is a new token: its first use is recorded too.
    let path = switch_on(&anna, false).await;
    for _ in 0..3 {
        assert_eq!(feed(&env, &path).await.status, 200);
    }
    assert_eq!(env.audit("feed_used").len(), 2);
    // A refused fetch records nothing.
    let _ = feed(&env, "/feed/hfc_nope/calendar.ics").await;
    assert_eq!(env.audit("feed_used").len(), 2);
}

#[tokio::test]
async fn a_feed_shows_only_the_kinds_of_records_its_owner_may_view() {
    let env = Env::start();
    let admin = env.admin().await;
    group(&admin, "taskers", &["tasks:view"]).await;
    env.add_user("tess", "taskers", USER_PW);
    allow(&admin, true).await;
    let client = admin.create_id("clients", json!({ "name": "Acme" })).await;
    let project = admin
        .create_id(
            "projects",
            json!({ "name": "Hidden project", "client_id": client, "manager": "tess",
                    "end_date": "2027-03-31" }),
        )
        .await;
    let task = admin
        .create_id(
            "tasks",
            json!({ "title": "Visible task", "project_id": project, "assignee": "tess",
                    "due_date": "2027-01-15" }),
        )
        .await;
    admin
        .create(
            "time-entries",
            json!({ "user": "tess", "project_id": project, "date": "2026-12-01", "minutes": 30 }),
        )
        .await;
    let tess = env.session("tess", USER_PW).await;
    // Time entries asked for, but Tess may not view time entries (nor projects).
    let path = switch_on(&tess, true).await;
    let events = parse(&env, &feed(&env, &path).await.body);
    assert!(by_uid(&events, &format!("task-{task}@")).is_some());
    assert!(by_uid(&events, "project-end-").is_none(), "{events:?}");
    assert!(by_uid(&events, "time-").is_none(), "{events:?}");
}
