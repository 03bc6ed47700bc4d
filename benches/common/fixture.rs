//! The business hub's generated instance, shared by benches/hub.rs and benches/growth.rs: the
//! console setup (user, API token), the fixture rows (clients, projects, time entries in the hub
//! bench's proportions, deterministic), written in large transactions and grown in place, and the
//! audited-create load over HTTPS.

use super::*;
use holdfast::audit::{Actor, By};
use holdfast::hub::records::{HubError, create_in, validate};
use holdfast::instances::Instance;
use holdfast::schema::{CLIENTS, ModuleDef, PROJECTS, TIME_ENTRIES};
use serde_json::{Map, Value as Json, json};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Rows per write transaction while generating: large, so that generation is not one fsync per row.
pub const BATCH: u64 = 10_000;
pub const USER: &str = "bench";
pub const PASSWORD: &str = "velvet orchard signal 77";
/// Distinct client "surnames" (pseudo-words): a search for one finds ~0.1% of the clients.
pub const SURNAMES: u64 = 1_000;
/// Share of the projects that get half of all time entries (busy projects, ~250 entries each at
/// the hub bench's full scale): the time-entry list is measured on those, the expensive case.
pub const HOT_PROJECT_SHARE: f64 = 0.02;
/// Clients and projects per time entry (the hub bench's 100k / 200k / 2M).
pub const CLIENTS_PER_TIME_ENTRY: f64 = 0.05;
pub const PROJECTS_PER_TIME_ENTRY: f64 = 0.1;
/// At most this many creates per create run, whatever its duration.
pub const MAX_CREATES: u64 = 30_000;

pub const INDUSTRIES: [&str; 20] = [
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
/// Time-entry notes: two of these per entry, so a word of one ("design") is in ~8% of entries.
pub const TIME_NOTES: [&str; 24] = [
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
pub fn surname(k: u64) -> String {
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

pub fn client_row(r: &mut Rng, i: u64, sur: &str) -> Map<String, Json> {
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

/// How fixture rows are written. Both write the same rows (record, full-text entry, "(created)"
/// history line; no audit event, they are fixtures), both after `validate`:
/// - `create_in`: the library's own create, row by row;
/// - `bulk` (default): the same three inserts without reading each row back and without the
///   per-row `max(change_id)` lookup (the generator counts change ids itself). Before the lookups
///   were indexed, `create_in` made generation quadratic (118 rows/s at 46k rows); it is now linear
///   but still slower than `bulk`. `HOLDFAST_BENCH_GENERATOR=create_in` selects the library path.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Generator {
    CreateIn,
    Bulk,
}

impl Generator {
    /// The generator `HOLDFAST_BENCH_GENERATOR` names (`create_in`), else `Bulk`.
    pub fn from_env() -> Self {
        match std::env::var("HOLDFAST_BENCH_GENERATOR").as_deref() {
            Ok("create_in") => Generator::CreateIn,
            _ => Generator::Bulk,
        }
    }
}

/// Writes fixture rows into one opened instance, counting history change ids itself.
pub struct Gen<'a> {
    inst: &'a Instance,
    by: By,
    now: String,
    actor: String,
    next_change: i64,
    pub mode: Generator,
}

impl<'a> Gen<'a> {
    /// Reads the instance's next change id now: open a new `Gen` after the server wrote anything.
    pub fn new(inst: &'a Instance, mode: Generator) -> Self {
        let now = chrono::Utc::now();
        Gen {
            inst,
            by: By {
                actor: Actor::Console,
                source: "console".into(),
                now,
            },
            now: holdfast::clock::stamp(now),
            actor: Actor::Console.name(),
            next_change: next_change_id(inst),
            mode,
        }
    }

    /// Writes `rows` in one transaction; returns the ids.
    pub fn write(&mut self, def: &'static ModuleDef, rows: Vec<Map<String, Json>>) -> Vec<i64> {
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

/// How many rows of each kind an instance holds.
#[derive(Clone, Copy, Debug)]
pub struct Counts {
    pub clients: u64,
    pub projects: u64,
    pub time_entries: u64,
}

impl Counts {
    /// Clients and projects in the hub bench's proportion to `time_entries`.
    pub fn for_time_entries(time_entries: u64) -> Self {
        Counts {
            clients: ((time_entries as f64 * CLIENTS_PER_TIME_ENTRY).round() as u64).max(10),
            projects: ((time_entries as f64 * PROJECTS_PER_TIME_ENTRY).round() as u64).max(10),
            time_entries: time_entries.max(10),
        }
    }
}

/// Seconds spent writing each kind of row in one `grow` call.
#[derive(Clone, Copy, Debug, Default)]
pub struct Grown {
    pub clients: f64,
    pub projects: f64,
    pub time_entries: f64,
}

impl Grown {
    pub fn total(&self) -> f64 {
        self.clients + self.projects + self.time_entries
    }
}

/// The generated rows so far and the generator's state: `grow` adds rows up to new counts, so one
/// instance can be measured at several sizes. Grown from nothing in one call, the rows are the
/// same as in one call with the final counts (same random sequence), as the hub bench makes them.
pub struct HubFixture {
    pub r: Rng,
    pub clients: Vec<i64>,
    client_surname: Vec<u64>,
    pub projects: Vec<i64>,
    /// Time-entry ids, kept only when asked (`keep_time_ids`): 8 bytes per entry.
    pub time_entries: Vec<i64>,
    time_count: u64,
    keep_time_ids: bool,
    pub mode: Generator,
}

impl HubFixture {
    pub fn new(mode: Generator, keep_time_ids: bool) -> Self {
        HubFixture {
            r: Rng(0x601D_F457),
            clients: Vec::new(),
            client_surname: Vec::new(),
            projects: Vec::new(),
            time_entries: Vec::new(),
            time_count: 0,
            keep_time_ids,
            mode,
        }
    }

    /// The busy projects: the first `HOT_PROJECT_SHARE` of the projects so far (a growing instance
    /// keeps its earlier busy projects and adds more).
    pub fn hot_projects(&self) -> &[i64] {
        let hot = ((self.projects.len() as f64 * HOT_PROJECT_SHARE).ceil() as usize)
            .clamp(1, self.projects.len().max(1));
        &self.projects[..hot.min(self.projects.len())]
    }

    pub fn time_count(&self) -> u64 {
        self.time_count
    }

    /// Adds clients, then projects, then time entries until the generated rows reach `to`
    /// (creates made over the API are not counted), and checkpoints the WAL into the database.
    /// Prints each kind's time and rate.
    pub fn grow(&mut self, inst: &Instance, to: Counts) -> Grown {
        let mode = self.mode;
        let mut g = Gen::new(inst, mode);
        let mut took = Grown::default();
        let from = self.clients.len() as u64;
        let t = Instant::now();
        for start in (from..to.clients).step_by(BATCH as usize) {
            let r = &mut self.r;
            let surnames = &mut self.client_surname;
            let rows: Vec<_> = (start..(start + BATCH).min(to.clients))
                .map(|i| {
                    let s = r.below(SURNAMES);
                    surnames.push(s);
                    client_row(r, i, &surname(s))
                })
                .collect();
            self.clients.extend(g.write(&CLIENTS, rows));
        }
        took.clients = t.elapsed().as_secs_f64();
        report(
            "clients",
            to.clients.saturating_sub(from),
            mode,
            took.clients,
        );

        let from = self.projects.len() as u64;
        let t = Instant::now();
        for start in (from..to.projects).step_by(BATCH as usize) {
            let rows: Vec<_> = (start..(start + BATCH).min(to.projects))
                .map(|_| {
                    let c = self.r.below(self.clients.len() as u64) as usize;
                    project_row(
                        &mut self.r,
                        self.clients[c],
                        &surname(self.client_surname[c]),
                    )
                })
                .collect();
            self.projects.extend(g.write(&PROJECTS, rows));
        }
        took.projects = t.elapsed().as_secs_f64();
        report(
            "projects",
            to.projects.saturating_sub(from),
            mode,
            took.projects,
        );

        let hot = self.hot_projects().len() as u64;
        let from = self.time_count;
        let t = Instant::now();
        let mut last_report = Instant::now();
        for start in (from..to.time_entries).step_by(BATCH as usize) {
            let rows: Vec<_> = (start..(start + BATCH).min(to.time_entries))
                .map(|_| {
                    let p = if self.r.below(2) == 0 {
                        self.r.below(hot)
                    } else {
                        self.r.below(self.projects.len() as u64)
                    };
                    time_row(&mut self.r, self.projects[p as usize])
                })
                .collect();
            self.time_count += rows.len() as u64;
            let ids = g.write(&TIME_ENTRIES, rows);
            if self.keep_time_ids {
                self.time_entries.extend(ids);
            }
            if last_report.elapsed() > Duration::from_secs(30) {
                last_report = Instant::now();
                eprintln!(
                    "  … {} time entries, {:.0} s",
                    self.time_count,
                    t.elapsed().as_secs_f64()
                );
            }
        }
        took.time_entries = t.elapsed().as_secs_f64();
        report(
            "time entries",
            to.time_entries.saturating_sub(from),
            mode,
            took.time_entries,
        );
        inst.db.checkpoint().expect("checkpoint");
        took
    }
}

fn report(what: &str, added: u64, mode: Generator, seconds: f64) {
    println!(
        "generate {added} {what} ({mode:?}): {seconds:.1} s, {:.0} rows/s",
        added as f64 / seconds.max(1e-9)
    );
}

/// `holdfast init`, an admin user (`USER`, `PASSWORD`) and an API token with read/write scopes
/// for clients, projects and time, through the console; returns the token.
pub fn init_with_token(dir: &Path) -> String {
    console(dir, &["init"], None);
    console(
        dir,
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
        dir,
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
    out.lines()
        .map(str::trim)
        .find(|l| l.starts_with("hft_"))
        .expect("token printed")
        .to_string()
}

/// One line per load run: p50/p95/p99, req/s, counts, response size.
pub fn print_run(what: &str, conns: usize, t: &Timed) {
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

/// Audited creates of clients over the API (`bearer`: "Bearer hft_…"): `conns` keep-alive
/// connections for `secs` seconds, at most `MAX_CREATES`.
pub fn creates(
    rt: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
    bearer: &str,
    conns: usize,
    secs: u64,
) -> Timed {
    let body = Arc::new(move |n: u64| {
        format!(
            "{{\"name\":\"Bench Create {n} {conns}\",\"status\":\"prospect\",\"email\":\"create{n}@bench.example\",\"notes\":\"Created by the hub benchmark.\"}}"
        )
    });
    create_load(
        rt,
        addr,
        tls,
        bearer,
        "/api/v1/clients",
        body,
        (conns, Duration::from_secs(secs), MAX_CREATES),
    )
}

/// Audited creates over the API: POSTs `body(n)` to `path` (201 expected) from `conns` keep-alive
/// connections, bounded by the duration and the count in `plan` (connections, duration, count).
pub fn create_load(
    rt: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
    bearer: &str,
    path: &'static str,
    body: Arc<dyn Fn(u64) -> String + Send + Sync>,
    plan: (usize, Duration, u64),
) -> Timed {
    let b = bearer.to_string();
    let make: Arc<dyn Fn(u64) -> Req + Send + Sync> =
        Arc::new(move |n| Req::post_json(path, body(n)).header("authorization", b.clone()));
    let (conns, duration, max) = plan;
    rt.block_on(timed_load(
        addr,
        tls.clone(),
        make,
        201,
        conns,
        duration,
        max,
    ))
}

/// Signs `USER` in over the API; returns the session cookie (`name=value`) for the endpoints that
/// take a session and not a token (the global search, the pages).
pub async fn session_cookie(addr: std::net::SocketAddr, tls: &Arc<rustls::ClientConfig>) -> String {
    let mut s = connect(addr, tls).await.expect("connect");
    let body = format!("{{\"username\":\"{USER}\",\"password\":\"{PASSWORD}\"}}");
    let (status, headers, _) = send(&mut s, &Req::post_json("/api/v1/session", body))
        .await
        .expect("sign in");
    assert_eq!(status, 200, "sign-in failed");
    headers
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_string()
}
