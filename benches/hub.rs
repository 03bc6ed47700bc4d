//! Business hub benchmark (not a test): list, search and detail latency and req/s over the HTTPS API,
//! audited creates/s and the list page's weight, on a generated instance of 100k clients, 200k
//! projects and 2M time entries. Run with `cargo bench --bench hub`; `HOLDFAST_BENCH_SCALE=0.1`
//! scales the counts. Loopback only; every load is bounded in time and count; nothing is asserted.
// Test and measurement code: a failed unwrap is a failed test, and the host clock is what it
// measures against (the production rules in Cargo.toml [lints] do not apply here).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod common;

use common::*;
use holdfast::audit::{Actor, By};
use holdfast::hub::records::{HubError, create_in, validate};
use holdfast::schema::{CLIENTS, ModuleDef, PROJECTS, TIME_ENTRIES};
use serde_json::{Map, Value as Json, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const FULL_CLIENTS: u64 = 100_000;
const FULL_PROJECTS: u64 = 200_000;
const FULL_TIME_ENTRIES: u64 = 2_000_000;
/// Rows per write transaction while generating: large, so that generation is not one fsync per row.
const BATCH: u64 = 10_000;
const USER: &str = "bench";
const PASSWORD: &str = "velvet orchard signal 77";
/// Distinct client "surnames" (pseudo-words): a search for one finds ~0.1% of the clients.
const SURNAMES: u64 = 1_000;
/// Share of the projects that get half of all time entries (busy projects, ~250 entries each at
/// full scale): the time-entry list is measured on those, the expensive case.
const HOT_PROJECT_SHARE: f64 = 0.02;

/// Latency at one connection (no queueing) and at 16 (throughput, with queueing on 2 cores).
const READ_PLAN: [(usize, u64); 2] = [(1, 3), (16, 8)];
const WARMUP_SECONDS: u64 = 2;
const MAX_READS: u64 = 300_000;
const CREATE_SECONDS: u64 = 10;
const EMPTY_CREATE_SECONDS: u64 = 5;
const MAX_CREATES: u64 = 30_000;

const INDUSTRIES: [&str; 20] = [
    "Logistics",
    "Consulting",
    "Engineering",
    "Software",
    "Foods",
    "Textiles",
    "Medical",
    "Construction",
    "Energy",
    "Print",
    "Optics",
    "Furniture",
    "Transport",
    "Design",
    "Electric",
    "Dental",
    "Legal",
    "Accounting",
    "Bakery",
    "Garden",
];
const FORMS: [&str; 8] = ["GmbH", "Sp. z o.o.", "Ltd", "S.A.", "AG", "BV", "Oy", "AB"];
const CITIES: [&str; 15] = [
    "Gdańsk", "Poznań", "Kraków", "Wrocław", "Łódź", "Berlin", "Leipzig", "Vienna", "Prague",
    "Brno", "Dresden", "Katowice", "Lublin", "Toruń", "Opole",
];
const STREETS: [&str; 10] = [
    "Długa",
    "Polna",
    "Hauptstraße",
    "Lipowa",
    "Ringstraße",
    "Ogrodowa",
    "Kwiatowa",
    "Bahnhofstraße",
    "Słoneczna",
    "Mostowa",
];
const CLIENT_NOTES: [&str; 12] = [
    "Prefers invoices by e-mail.",
    "Key account since 2019.",
    "Payment terms 30 days.",
    "Ask for the purchase order number.",
    "Reception closes at 15:00.",
    "Contract renewal every January.",
    "Works with two subcontractors.",
    "Send quarterly reports.",
    "VAT reverse charge applies.",
    "Budget approval by the board.",
    "Prefers phone over e-mail.",
    "New contact person since spring.",
];
const ACTIVITIES: [&str; 20] = [
    "ERP rollout",
    "website relaunch",
    "audit",
    "warehouse move",
    "migration",
    "support contract",
    "training",
    "network upgrade",
    "tax review",
    "brand refresh",
    "data cleanup",
    "office fit-out",
    "security review",
    "payroll setup",
    "inventory count",
    "mobile app",
    "CRM integration",
    "annual report",
    "backup concept",
    "process mapping",
];
const TIME_NOTES: [&str; 24] = [
    "call with the customer",
    "review of the drafts",
    "workshop preparation",
    "on-site visit",
    "travel",
    "documentation",
    "testing",
    "meeting notes",
    "code review",
    "estimate update",
    "status meeting",
    "requirements session",
    "bug fixing",
    "deployment",
    "report writing",
    "invoice check",
    "planning",
    "research",
    "data import",
    "configuration",
    "follow-up e-mails",
    "design iteration",
    "acceptance test",
    "handover",
];

/// A pronounceable pseudo-word ("Karoven"), the same for the same `k`: client surnames that the
/// full-text search can find selectively (no other fixture text contains them).
fn surname(k: u64) -> String {
    const C: &[u8] = b"bdfgklmnprstvz";
    const V: &[u8] = b"aeiou";
    const END: &[u8] = b"nrlsk";
    let mut r = Rng(k.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xA5A5);
    let mut w = String::new();
    for _ in 0..3 {
        w.push(*r.pick(C) as char);
        w.push(*r.pick(V) as char);
    }
    w.push(*r.pick(END) as char);
    let mut cs = w.chars();
    match cs.next() {
        Some(f) => f.to_ascii_uppercase().to_string() + cs.as_str(),
        None => w,
    }
}

fn date(r: &mut Rng) -> String {
    format!(
        "{}-{:02}-{:02}",
        2024 + r.below(3),
        1 + r.below(12),
        1 + r.below(28)
    )
}

fn scale() -> f64 {
    std::env::var("HOLDFAST_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0 && *s <= 10.0)
        .unwrap_or(1.0)
}

/// How fixture rows are written. Both write the same rows (record, full-text entry, "(created)"
/// history line; no audit event, they are fixtures), both after `validate`:
/// - `create_in`: the library's own create, row by row;
/// - `bulk` (default): the same three inserts without reading each row back and without the
///   per-row `max(change_id)` lookup (the generator counts change ids itself). Before the lookups
///   were indexed, `create_in` made generation quadratic (118 rows/s at 46k rows); it is now linear
///   but still slower than `bulk`. `HOLDFAST_BENCH_GENERATOR=create_in` selects the library path.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Generator {
    CreateIn,
    Bulk,
}

struct Gen<'a> {
    inst: &'a holdfast::instances::Instance,
    by: By,
    now: String,
    actor: String,
    next_change: i64,
    mode: Generator,
}

impl Gen<'_> {
    /// Writes `rows` in one transaction; returns the ids.
    fn write(&mut self, def: &'static ModuleDef, rows: Vec<Map<String, Json>>) -> Vec<i64> {
        let (by, now, actor, mode) = (&self.by, &self.now, &self.actor, self.mode);
        let mut change = self.next_change;
        let ids = self
            .inst
            .db
            .write_blocking(|tx| -> Result<Vec<i64>, HubError> {
                tx.widen_cache_for_bulk_load(GENERATOR_CACHE_MIB)?;
                let mut ids = Vec::with_capacity(rows.len());
                for input in &rows {
                    let values = validate(def, input, false)?;
                    ids.push(if mode == Generator::CreateIn {
                        create_in(tx, def, &values, by, false)?.id
                    } else {
                        change += 1;
                        bulk_insert(tx, def, &values, now, actor, change - 1)?
                    });
                }
                Ok(ids)
            })
            .expect("fixture rows");
        self.next_change = change;
        ids
    }
}

struct Fixture {
    clients: Vec<i64>,
    projects: Vec<i64>,
    hot_projects: Vec<i64>,
    seconds: f64,
}

fn client_row(r: &mut Rng, i: u64, sur: &str) -> Map<String, Json> {
    let j = json!({
        "name": format!("{sur} {} {}", r.pick(&INDUSTRIES), r.pick(&FORMS)),
        "tax_id": format!("PL{:010}", r.below(10_000_000_000)),
        "email": format!("office{i}@{}.example", sur.to_ascii_lowercase()),
        "phone": format!("+48 {} {:03} {:03}", 500 + r.below(300), r.below(1000), r.below(1000)),
        "address": format!("{} {}\n{:02}-{:03} {}", r.pick(&STREETS), 1 + r.below(200), r.below(100), r.below(1000), r.pick(&CITIES)),
        "status": *r.pick(holdfast::schema::CLIENT_STATUS),
        "notes": format!("{} {}", r.pick(&CLIENT_NOTES), r.pick(&CLIENT_NOTES)),
    });
    j.as_object().cloned().unwrap_or_default()
}

fn project_row(r: &mut Rng, client: i64, sur: &str) -> Map<String, Json> {
    let start = date(r);
    let j = json!({
        "name": format!("{sur} {} {}", r.pick(&ACTIVITIES), 2024 + r.below(3)),
        "client_id": client,
        "manager": USER,
        "status": *r.pick(holdfast::schema::PROJECT_STATUS),
        "start_date": start,
        "end_date": if r.below(2) == 0 { Json::Null } else { json!(date(r)) },
        "budget_hours": 10 + r.below(2000),
        "budget_amount": 100_000 + r.below(50_000_000),
        "hourly_rate": 5_000 + r.below(20_000),
        "currency": *r.pick(&["EUR", "PLN", "USD"]),
        "notes": format!("Scope: {}.", r.pick(&ACTIVITIES)),
    });
    j.as_object().cloned().unwrap_or_default()
}

fn time_row(r: &mut Rng, project: i64) -> Map<String, Json> {
    let j = json!({
        "user": USER,
        "project_id": project,
        "date": date(r),
        "minutes": 15 * (1 + r.below(32)),
        "billable": r.below(5) != 0,
        "note": format!("{}, {}", r.pick(&TIME_NOTES), r.pick(&TIME_NOTES)),
    });
    j.as_object().cloned().unwrap_or_default()
}

fn generate(dir: &Path, counts: (u64, u64, u64), mode: Generator) -> Fixture {
    let (n_clients, n_projects, n_time) = counts;
    let inst = open_instance(dir, "default");
    let now = chrono::Utc::now();
    let mut g = Gen {
        inst: &inst,
        by: By {
            actor: Actor::Console,
            source: "console".into(),
            now,
        },
        now: holdfast::clock::stamp(now),
        actor: Actor::Console.name(),
        next_change: next_change_id(&inst),
        mode,
    };
    let started = Instant::now();
    let mut r = Rng(0x601D_F457);
    let mut clients = Vec::with_capacity(n_clients as usize);
    let mut client_surname = Vec::with_capacity(n_clients as usize);
    let t = Instant::now();
    for start in (0..n_clients).step_by(BATCH as usize) {
        let rows: Vec<_> = (start..(start + BATCH).min(n_clients))
            .map(|i| {
                let s = r.below(SURNAMES);
                client_surname.push(s);
                client_row(&mut r, i, &surname(s))
            })
            .collect();
        clients.extend(g.write(&CLIENTS, rows));
    }
    println!(
        "generate {n_clients} clients ({mode:?}): {:.1} s, {:.0} rows/s",
        t.elapsed().as_secs_f64(),
        n_clients as f64 / t.elapsed().as_secs_f64()
    );
    let mut projects = Vec::with_capacity(n_projects as usize);
    let t = Instant::now();
    for start in (0..n_projects).step_by(BATCH as usize) {
        let rows: Vec<_> = (start..(start + BATCH).min(n_projects))
            .map(|_| {
                let c = r.below(clients.len() as u64) as usize;
                project_row(&mut r, clients[c], &surname(client_surname[c]))
            })
            .collect();
        projects.extend(g.write(&PROJECTS, rows));
    }
    println!(
        "generate {n_projects} projects ({mode:?}): {:.1} s, {:.0} rows/s",
        t.elapsed().as_secs_f64(),
        n_projects as f64 / t.elapsed().as_secs_f64()
    );
    let hot = ((projects.len() as f64 * HOT_PROJECT_SHARE).ceil() as usize).max(1);
    let t = Instant::now();
    let mut last_report = Instant::now();
    for start in (0..n_time).step_by(BATCH as usize) {
        let rows: Vec<_> = (start..(start + BATCH).min(n_time))
            .map(|_| {
                let p = if r.below(2) == 0 {
                    r.below(hot as u64)
                } else {
                    r.below(projects.len() as u64)
                };
                time_row(&mut r, projects[p as usize])
            })
            .collect();
        g.write(&TIME_ENTRIES, rows);
        if last_report.elapsed() > Duration::from_secs(30) {
            last_report = Instant::now();
            eprintln!(
                "  … {} time entries, {:.0} s",
                start + BATCH,
                t.elapsed().as_secs_f64()
            );
        }
    }
    println!(
        "generate {n_time} time entries ({mode:?}): {:.1} s, {:.0} rows/s",
        t.elapsed().as_secs_f64(),
        n_time as f64 / t.elapsed().as_secs_f64()
    );
    let seconds = started.elapsed().as_secs_f64();
    // What the library's own create costs on the instance as it is now (one transaction, no fsync per
    // row), without HTTP or commits.
    let probe: Vec<_> = (0..200)
        .map(|i| client_row(&mut r, n_clients + i, "Probe"))
        .collect();
    let t = Instant::now();
    let mut done = 0u64;
    let limit = Instant::now() + Duration::from_secs(20);
    g.mode = Generator::CreateIn;
    for chunk in probe.chunks(10) {
        if Instant::now() > limit {
            break;
        }
        clients.extend(g.write(&CLIENTS, chunk.to_vec()));
        done += chunk.len() as u64;
    }
    println!(
        "library create_in on the generated instance (records, search index, history; no audit, no HTTP, 10 rows per commit): {:.0} rows/s ({done} rows in {:.2} s)",
        done as f64 / t.elapsed().as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    inst.db.checkpoint().expect("checkpoint");
    Fixture {
        clients,
        hot_projects: projects[..hot].to_vec(),
        projects,
        seconds,
    }
}

fn print_run(what: &str, conns: usize, t: &Timed) {
    println!(
        "{what}, {conns} connection(s): p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, {:.0} req/s ({} ok, {} failed, {:.1} s, {:.1} KiB/response)",
        t.pct(50.0),
        t.pct(95.0),
        t.pct(99.0),
        t.rate(),
        t.ok,
        t.failed,
        t.seconds,
        t.bytes as f64 / t.ok.max(1) as f64 / 1024.0
    );
}

/// Audited creates over the API: `conns` keep-alive connections for `secs` seconds.
fn creates(
    rt: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
    bearer: &str,
    conns: usize,
    secs: u64,
) -> Timed {
    let b = bearer.to_string();
    let make: Arc<dyn Fn(u64) -> Req + Send + Sync> = Arc::new(move |n| {
        Req::post_json(
            "/api/v1/clients",
            format!(
                "{{\"name\":\"Bench Create {n} {conns}\",\"status\":\"prospect\",\"email\":\"create{n}@bench.example\",\"notes\":\"Created by the hub benchmark.\"}}"
            ),
        )
        .header("authorization", b.clone())
    });
    rt.block_on(timed_load(
        addr,
        tls.clone(),
        make,
        201,
        conns,
        Duration::from_secs(secs),
        MAX_CREATES,
    ))
}

fn main() {
    let scale = scale();
    let n = |full: u64| ((full as f64 * scale).round() as u64).max(10);
    let counts = (n(FULL_CLIENTS), n(FULL_PROJECTS), n(FULL_TIME_ENTRIES));
    let mode = match std::env::var("HOLDFAST_BENCH_GENERATOR").as_deref() {
        Ok("create_in") => Generator::CreateIn,
        _ => Generator::Bulk,
    };
    println!(
        "hub benchmark, scale {scale} ({} clients, {} projects, {} time entries), load {}",
        counts.0,
        counts.1,
        counts.2,
        loadavg()
    );

    let dir = private_dir();
    console(dir.path(), &["init"], None);
    console(
        dir.path(),
        &[
            "admin",
            "user",
            "add",
            USER,
            "--email",
            "bench@example.test",
            "--group",
            "admins",
            "--password-stdin",
        ],
        Some(PASSWORD),
    );
    let out = console(
        dir.path(),
        &[
            "admin",
            "token",
            "create",
            "--service",
            "bench",
            "--scopes",
            "clients:read,clients:write,projects:read,projects:write,time:read,time:write",
        ],
        None,
    );
    let token = out
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("hft_"))
        .expect("token printed")
        .to_string();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let bearer = format!("Bearer {token}");
    let early_creates = {
        // The same creates on the still empty instance: what the one writer (group commit: one
        // fsync per batch of queued creates) allows, before the instance's size comes into play.
        let server = start(dir.path());
        let tls = tls_config(dir.path());
        let t = creates(&rt, server.addr, &tls, &bearer, 16, EMPTY_CREATE_SECONDS);
        print_run(
            "POST /api/v1/clients on the empty instance (same audited create)",
            16,
            &t,
        );
        server.stop();
        t.ok as usize
    };

    let fx = generate(dir.path(), counts, mode);
    let db = dir.path().join("instances/default/db.sqlite");
    let db_bytes = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!(
        "generation total: {:.1} s; database {:.0} MB (db.sqlite after checkpoint); load {}",
        fx.seconds,
        db_bytes as f64 / 1e6,
        loadavg()
    );

    let server = start(dir.path());
    let tls = tls_config(dir.path());
    let addr = server.addr;

    // Page weight: the list page as a signed-in browser gets it, plus the assets it links.
    let n_clients = fx.clients.len() + early_creates;
    let cookie = rt.block_on(async {
        let mut s = connect(addr, &tls).await.expect("connect");
        let body = format!("{{\"username\":\"{USER}\",\"password\":\"{PASSWORD}\"}}");
        let (status, headers, _) = send(&mut s, &Req::post_json("/api/v1/session", body))
            .await
            .expect("sign in");
        assert_eq!(status, 200, "sign-in failed");
        let cookie = headers
            .get("set-cookie")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .expect("session cookie")
            .to_string();
        let (status, headers, html) = send(&mut s, &Req::get("/m/clients").header("cookie", &cookie))
            .await
            .expect("list page");
        assert_eq!(status, 200, "GET /m/clients");
        let text = String::from_utf8_lossy(&html).into_owned();
        let mut assets: Vec<String> = Vec::new();
        for pat in ["href=\"/assets/", "src=\"/assets/"] {
            for (i, _) in text.match_indices(pat) {
                let start = i + pat.len() - "/assets/".len();
                if let Some(end) = text[start..].find('"') {
                    let p = text[start..start + end].to_string();
                    if !assets.contains(&p) {
                        assets.push(p);
                    }
                }
            }
        }
        let (mut css, mut js, mut other) = (0usize, 0usize, 0usize);
        for a in &assets {
            let (st, _, b) = send(&mut s, &Req::get(a.clone()).header("cookie", &cookie))
                .await
                .expect("asset");
            if st != 200 {
                continue;
            }
            if a.ends_with(".css") {
                css += b.len();
            } else if a.ends_with(".js") {
                js += b.len();
            } else {
                other += b.len();
            }
        }
        let enc = headers
            .get("content-encoding")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("none");
        println!(
            "page weight GET /m/clients (signed in, {n_clients}-client list, content-encoding {enc}): HTML {:.1} KiB + CSS {:.1} KiB = {:.1} KiB; also linked: JS {:.1} KiB, other {:.1} KiB ({} assets)",
            html.len() as f64 / 1024.0,
            css as f64 / 1024.0,
            (html.len() + css) as f64 / 1024.0,
            js as f64 / 1024.0,
            other as f64 / 1024.0,
            assets.len()
        );
        cookie
    });

    let clients = Arc::new(fx.clients.clone());
    let hot = Arc::new(fx.hot_projects.clone());
    let all_projects = Arc::new(fx.projects.clone());
    type Make = Arc<dyn Fn(u64) -> Req + Send + Sync>;
    let with_auth = |f: Box<dyn Fn(u64) -> String + Send + Sync>| -> Make {
        let b = bearer.clone();
        Arc::new(move |n| Req::get(f(n)).header("authorization", b.clone()))
    };
    let with_cookie = |f: Box<dyn Fn(u64) -> String + Send + Sync>| -> Make {
        let c = cookie.clone();
        Arc::new(move |n| Req::get(f(n)).header("cookie", c.clone()))
    };
    let pick = |n: u64, len: usize| (Rng(n ^ 0x5EED).next_u64() % len as u64) as usize;
    let reads: Vec<(String, Make)> = vec![
        (
            "GET /api/v1/clients?limit=50 (newest first)".into(),
            with_auth(Box::new(|_| "/api/v1/clients?limit=50".into())),
        ),
        (
            "GET /api/v1/clients?sort=name&limit=50".into(),
            with_auth(Box::new(|_| "/api/v1/clients?sort=name&limit=50".into())),
        ),
        (
            "GET /api/v1/time-entries?sort=-updated_at&limit=50 (2M rows, most recently changed first)"
                .into(),
            with_auth(Box::new(|_| {
                "/api/v1/time-entries?sort=-updated_at&limit=50".into()
            })),
        ),
        (
            "GET /api/v1/time-entries?project_id=<random busy project>&limit=50".into(),
            with_auth(Box::new({
                let hot = hot.clone();
                move |n| {
                    format!(
                        "/api/v1/time-entries?project_id={}&limit=50",
                        hot[pick(n, hot.len())]
                    )
                }
            })),
        ),
        (
            "GET /api/v1/time-entries?project_id=<random project of all>&limit=50".into(),
            with_auth(Box::new({
                let all = all_projects.clone();
                move |n| {
                    format!(
                        "/api/v1/time-entries?project_id={}&limit=50",
                        all[pick(n, all.len())]
                    )
                }
            })),
        ),
        (
            format!(
                "GET /api/v1/clients?q=<random client surname, 1 of {SURNAMES}> (full text, ~{:.0} hits)",
                counts.0 as f64 / SURNAMES as f64
            ),
            with_auth(Box::new(move |n| {
                format!(
                    "/api/v1/clients?q={}",
                    surname(Rng(n).next_u64() % SURNAMES)
                )
            })),
        ),
        (
            format!(
                "GET /api/v1/clients?q=<random industry word, 1 of 20> (full text, ~{:.0} hits)",
                counts.0 as f64 / 20.0
            ),
            with_auth(Box::new(|n| {
                format!(
                    "/api/v1/clients?q={}",
                    INDUSTRIES[(Rng(n).next_u64() % 20) as usize]
                )
            })),
        ),
        (
            format!(
                "GET /api/v1/time-entries?q=design (full text, a note word in ~{:.0} entries)",
                counts.2 as f64 / 12.0
            ),
            with_auth(Box::new(|_| "/api/v1/time-entries?q=design".into())),
        ),
        (
            format!(
                "GET /api/v1/time-entries?q={USER} (full text, the user name: in all {} entries)",
                counts.2
            ),
            with_auth(Box::new(|_| format!("/api/v1/time-entries?q={USER}"))),
        ),
        (
            format!(
                "GET /api/v1/time-entries?q=documentation (full text, 13 letters: read by its first 10, each match checked whole; ~{:.0} entries)",
                counts.2 as f64 / 12.0
            ),
            with_auth(Box::new(|_| "/api/v1/time-entries?q=documentation".into())),
        ),
        (
            "GET /api/v1/search?q=<random client surname> (global search, signed in: every module)"
                .into(),
            with_cookie(Box::new(move |n| {
                format!("/api/v1/search?q={}", surname(Rng(n).next_u64() % SURNAMES))
            })),
        ),
        (
            "GET /api/v1/search?q=<random industry word> (global search, signed in; \"design\" also in time-entry notes)"
                .into(),
            with_cookie(Box::new(|n| {
                format!(
                    "/api/v1/search?q={}",
                    INDUSTRIES[(Rng(n).next_u64() % 20) as usize]
                )
            })),
        ),
        (
            "GET /api/v1/clients/<random id> (detail)".into(),
            with_auth(Box::new({
                let clients = clients.clone();
                move |n| format!("/api/v1/clients/{}", clients[pick(n, clients.len())])
            })),
        ),
    ];
    for (what, make) in &reads {
        rt.block_on(timed_load(
            addr,
            tls.clone(),
            make.clone(),
            200,
            16,
            Duration::from_secs(WARMUP_SECONDS),
            MAX_READS,
        ));
        for (conns, secs) in READ_PLAN {
            let t = rt.block_on(timed_load(
                addr,
                tls.clone(),
                make.clone(),
                200,
                conns,
                Duration::from_secs(secs),
                MAX_READS,
            ));
            print_run(what, conns, &t);
        }
    }

    // The whole time-entry list as CSV: one request, read to the end (the server sends it a page
    // at a time). Once, not a load: it is what an admin's "Export" does.
    let (rss_before, peak_before) = (server.rss_mib(), peak_rss_mib(server.child.id()));
    let export = rt.block_on(async {
        let mut s = connect(addr, &tls).await?;
        let started = Instant::now();
        let (status, _, body) = send(
            &mut s,
            &Req::get("/api/v1/time-entries/export.csv").header("authorization", bearer.clone()),
        )
        .await?;
        Some((status, body.len(), started.elapsed()))
    });
    match export {
        Some((status, bytes, took)) => println!(
            "GET /api/v1/time-entries/export.csv (every entry): status {status}, {:.1} MiB in {:.1} s ({:.0} rows/s); server RSS {:.1} → {:.1} MiB, peak {:.1} → {:.1} MiB",
            bytes as f64 / 1048576.0,
            took.as_secs_f64(),
            counts.2 as f64 / took.as_secs_f64(),
            rss_before,
            server.rss_mib(),
            peak_before,
            peak_rss_mib(server.child.id())
        ),
        None => println!("GET /api/v1/time-entries/export.csv: no answer"),
    }

    for conns in [16, 64] {
        let t = creates(&rt, addr, &tls, &bearer, conns, CREATE_SECONDS);
        print_run(
            "POST /api/v1/clients on the generated instance (audited create: record, search index, history, audit event; group-committed: every create is durable before its 201)",
            conns,
            &t,
        );
    }
    println!(
        "server RSS after the run: {:.1} MiB (peak {:.1} MiB); load {}",
        server.rss_mib(),
        peak_rss_mib(server.child.id()),
        loadavg()
    );
    server.stop();
    if std::env::var_os("HOLDFAST_BENCH_KEEP").is_some() {
        // For looking at query plans afterwards; the caller removes it.
        println!("data dir kept: {}", dir.keep().display());
    }
}
