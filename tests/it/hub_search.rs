//! Hub search: global search over every module limited to what the caller may see, long words
//! matched whole, and search results paged without losing rows.
//!
//! Every test has its own data dir and server (tests/it/hub_support.rs). Tests that once exposed a
//! bug keep a `// BUG (fixed):` note saying what it was.

use crate::hub_support::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;

#[tokio::test]
async fn global_search_finds_every_module_but_only_what_the_caller_may_see() {
    let env = Env::start();
    env.add_user("anna", "users", USER_PW);
    let admin = env.admin().await;
    // A group that may only view clients, made on the admin pages.
    let r = admin
        .form(
            "/admin/groups",
            &[("name", "clients-only"), ("description", "Reception")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = admin
        .form(
            "/admin/groups/clients-only/permissions",
            &[("perm", "clients:view")],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    env.add_user("viv", "clients-only", USER_PW);

    let c = admin
        .create_id("clients", json!({ "name": "Zephyr Works" }))
        .await;
    admin
        .create(
            "contacts",
            json!({ "name": "Zephyr Contact", "client_id": c }),
        )
        .await;
    let p = admin
        .create_id(
            "projects",
            json!({ "name": "Zephyr Rollout", "client_id": c }),
        )
        .await;
    let t = admin
        .create_id(
            "tasks",
            json!({ "title": "Zephyr kickoff", "project_id": p }),
        )
        .await;
    admin
        .create(
            "time-entries",
            json!({ "user": "anna", "project_id": p, "date": "2026-06-01", "minutes": 30, "note": "zephyr workshop" }),
        )
        .await;
    admin
        .create(
            "invoices",
            json!({ "client_id": c, "notes": "zephyr retainer" }),
        )
        .await;
    admin
        .create(
            "documents",
            json!({ "title": "Zephyr NDA", "client_id": c }),
        )
        .await;
    admin
        .create("clients", json!({ "name": "Unrelated" }))
        .await;

    let modules = |r: &R| -> BTreeSet<String> {
        assert_eq!(r.status, 200, "{}", r.body);
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                assert!(i["link"].as_str().unwrap().starts_with("/m/"), "{i}");
                i["module"].as_str().unwrap().to_string()
            })
            .collect()
    };
    let anna = env.session("anna", USER_PW).await;
    let all: BTreeSet<String> = [
        "Clients",
        "Contacts",
        "Projects",
        "Tasks",
        "Time",
        "Invoices",
        "Documents",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(modules(&anna.get("/api/v1/search?q=zeph").await), all);
    let hits = anna.get("/api/v1/search?q=zephyr%20works").await.json();
    assert_eq!(hits["items"][0]["title"], "Zephyr Works");
    assert_eq!(hits["items"][0]["link"], format!("/m/clients/{c}"));
    let page = anna.get("/search?q=zephyr").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Zephyr Rollout"));
    assert!(
        page.body.contains("href=\"/m/projects?q=zephyr\""),
        "no link to every match in a module: {}",
        page.body
    );

    let viv = env.session("viv", USER_PW).await;
    assert_eq!(
        modules(&viv.get("/api/v1/search?q=zeph").await),
        BTreeSet::from(["Clients".to_string()]),
        "no hits from modules viv may not view"
    );
    let page = viv.get("/search?q=zephyr").await;
    assert!(!page.body.contains("Zephyr Rollout") && !page.body.contains("Zephyr NDA"));
    assert!(
        !page.body.contains("/m/projects?q="),
        "a link to a module viv may not view"
    );
    assert_eq!(viv.get("/api/v1/projects").await.status, 403);

    // Tokens cannot search (signed-in people only); nobody anonymous either.
    let r = env.full_token().get("/api/v1/search?q=zephyr").await;
    assert_eq!(r.status, 403, "{}", r.body);
    let r = env.anonymous().get("/api/v1/search?q=zephyr").await;
    assert_eq!(r.status, 401, "{}", r.body);

    // Deleted records leave the index; odd queries are harmless.
    assert_eq!(
        admin.delete(&format!("/api/v1/tasks/{t}")).await.status,
        204
    );
    assert!(!modules(&anna.get("/api/v1/search?q=zephyr").await).contains("Tasks"));
    for q in [
        "%22",
        "-",
        "*",
        "a%20OR%20b",
        "NEAR(",
        "%C5%BC%C3%B3%C5%82w",
    ] {
        let r = anna.get(&format!("/api/v1/search?q={q}")).await;
        assert_eq!(r.status, 200, "q={q}: {}", r.body);
        let r = anna.get(&format!("/api/v1/clients?q={q}")).await;
        assert!(
            r.status == 200 || r.status == 422,
            "list q={q}: {}",
            r.status
        );
    }
}

/// A word longer than the longest prefix index (10 characters) is read by its first 10 letters and
/// each candidate checked for the whole word: what shares only the first letters is not a match,
/// accents and case do not matter, and when the first letters are common but the word is rare the
/// search asks the exact query instead of turning down candidates without end.
#[tokio::test]
async fn long_search_words_match_whole_however_common_their_first_letters() {
    let env = Env::start();
    let s = env.admin().await;
    let names = |rows: Vec<Value>| -> Vec<String> {
        rows.iter()
            .filter_map(|r| r["name"].as_str().map(str::to_string))
            .collect()
    };
    // Oldest first: the rare whole word, then 300 that share its first 12 letters.
    let mut csv = String::from("name\nDocumentation Partners\nÜberweisungsauftrag Büro\n");
    for n in 0..300 {
        csv.push_str(&format!("Documentatio {n:03}\n"));
    }
    csv.push_str("Documentations GmbH\n");
    assert_eq!(s.import("clients", &csv, false).await.status, 201);

    let found = names(s.all("clients", "q=documentation").await);
    assert_eq!(found, vec!["Documentations GmbH", "Documentation Partners"]);
    // A page of one from the newest: the rare word is behind 300 that only share its first letters.
    let r = s.get("/api/v1/clients?q=documentation&limit=1").await;
    assert_eq!(
        names(r.json()["items"].as_array().cloned().unwrap_or_default()),
        vec!["Documentations GmbH"]
    );
    let cursor = r.json()["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let r = s
        .get(&format!(
            "/api/v1/clients?q=documentation&limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        names(r.json()["items"].as_array().cloned().unwrap_or_default()),
        vec!["Documentation Partners"]
    );
    // Without the accent, in capitals, and as a longer prefix; a different ending finds nothing.
    for q in [
        "UBERWEISUNGSAUF",
        "überweisungsauftrag",
        "Uberweisungsauftr%C3%A4ge",
    ] {
        let found = names(s.all("clients", &format!("q={q}")).await);
        let want: Vec<String> = if q.contains("%C3") {
            vec![]
        } else {
            vec!["Überweisungsauftrag Büro".into()]
        };
        assert_eq!(found, want, "q={q}");
    }
    assert!(names(s.all("clients", "q=uberweisungsausgang").await).is_empty());
    // The export counts the same rows.
    let csv = s.get("/api/v1/clients/export.csv?q=documentation").await;
    assert_eq!(csv.body.lines().count(), 3, "{}", csv.body);
    // The global search too.
    let r = s.get("/api/v1/search?q=documentation").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let titles: Vec<String> = r.json()["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i["title"].as_str().map(str::to_string))
        .collect();
    assert_eq!(titles.len(), 2, "{titles:?}");
    assert!(
        titles.iter().all(|t| t.starts_with("Documentation")),
        "{titles:?}"
    );
}

#[tokio::test]
async fn search_results_page_newest_first_and_by_name_without_losing_rows() {
    let env = Env::start();
    let api = env.full_token();
    let mut made = Vec::new();
    for i in 0..9 {
        let name = format!("{} Quartz Works", ["Zeta", "alpha", "Mid"][i % 3]);
        made.push(api.create_id("clients", json!({ "name": name })).await);
        // Non-matching clients in between.
        api.create("clients", json!({ "name": format!("Other {i}") }))
            .await;
    }
    for sort in ["", "name", "-name"] {
        let mut seen: Vec<Value> = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let mut q = format!("q=quar&limit=4&sort={sort}");
            if let Some(c) = &cursor {
                q.push_str(&format!("&cursor={c}"));
            }
            let r = api.get(&format!("/api/v1/clients?{q}")).await;
            assert_eq!(r.status, 200, "{q}: {}", r.body);
            let page = r.json();
            seen.extend(page["items"].as_array().unwrap().clone());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => break,
            }
        }
        let got = ids(&seen);
        let mut want_set = made.clone();
        want_set.sort();
        let mut got_set = got.clone();
        got_set.sort();
        assert_eq!(got_set, want_set, "sort={sort}: every match exactly once");
        let whole = ids(&api.all("clients", &format!("q=quar&sort={sort}")).await);
        assert_eq!(got, whole, "sort={sort}: order across pages");
        if sort.is_empty() {
            let mut newest_first = made.clone();
            newest_first.reverse();
            assert_eq!(got, newest_first);
        }
    }
}

/// Prefix indexes exist for 3, 5 and 8 letters (migration 0016): a word of another length is
/// answered from a shorter index and checked whole, a one- or two-letter word is checked on the rows
/// the other words find, and a query of only such words matches them whole.
#[tokio::test]
async fn words_of_every_length_find_exactly_the_records_that_have_them() {
    let env = Env::start();
    let s = env.admin().await;
    let names = |rows: Vec<Value>| -> Vec<String> {
        let mut n: Vec<String> = rows
            .iter()
            .filter_map(|r| r["name"].as_str().map(str::to_string))
            .collect();
        n.sort();
        n
    };
    // Oldest first: the words to find, then 300 rows that share only their first letters, so the
    // cut query's candidates run past the bound and the exact query answers.
    let mut csv = String::from(
        "name,notes\nDesk Partners,k wing\nDesigners Oy,\nDesignate AB,\nKo Ltd,ab\nAb Design,\n",
    );
    for n in 0..300 {
        csv.push_str(&format!("Dessert {n:03},kitchen\n"));
    }
    assert_eq!(s.import("clients", &csv, false).await.status, 201);
    let find = |q: &'static str| {
        let s = &s;
        async move { names(s.all("clients", &format!("q={q}")).await) }
    };
    // Four letters (cut to three), six and seven (cut to five), nine (cut to eight).
    assert_eq!(find("desk").await, vec!["Desk Partners"]);
    assert_eq!(
        find("design").await,
        vec!["Ab Design", "Designate AB", "Designers Oy"]
    );
    assert_eq!(find("designe").await, vec!["Designers Oy"]);
    assert_eq!(find("designate").await, vec!["Designate AB"]);
    assert!(find("deskt").await.is_empty());
    // A short word narrows what the others find, as a prefix.
    assert_eq!(find("desk%20k").await, vec!["Desk Partners"]);
    assert_eq!(find("design%20a").await, vec!["Ab Design", "Designate AB"]);
    assert!(find("dessert%20w").await.is_empty());
    // Only short words: whole words.
    assert_eq!(
        find("ab").await,
        vec!["Ab Design", "Designate AB", "Ko Ltd"]
    );
    assert_eq!(find("ko").await, vec!["Ko Ltd"]);
    assert!(find("k%20o").await.is_empty());
    // The export and the global search agree with the list.
    let csv = s.get("/api/v1/clients/export.csv?q=design%20a").await;
    assert_eq!(csv.body.lines().count(), 3, "{}", csv.body);
    let r = s.get("/api/v1/search?q=desk%20k").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        r.json()["items"].as_array().map(Vec::len),
        Some(1),
        "{}",
        r.body
    );
}
