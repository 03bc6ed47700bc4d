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

use common::fixture::*;
use common::*;
use holdfast::schema::CLIENTS;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const FULL_CLIENTS: u64 = 100_000;
const FULL_PROJECTS: u64 = 200_000;
const FULL_TIME_ENTRIES: u64 = 2_000_000;

/// Latency at one connection (no queueing) and at 16 (throughput, with queueing on 2 cores).
const READ_PLAN: [(usize, u64); 2] = [(1, 3), (16, 8)];
const WARMUP_SECONDS: u64 = 2;
const MAX_READS: u64 = 300_000;
const CREATE_SECONDS: u64 = 10;
const EMPTY_CREATE_SECONDS: u64 = 5;

fn scale() -> f64 {
    std::env::var("HOLDFAST_BENCH_SCALE")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0 && *s <= 10.0)
        .unwrap_or(1.0)
}

struct Fixture {
    clients: Vec<i64>,
    projects: Vec<i64>,
    hot_projects: Vec<i64>,
    seconds: f64,
}

fn generate(dir: &Path, counts: Counts, mode: Generator) -> Fixture {
    let inst = open_instance(dir, "default");
    let mut fx = HubFixture::new(mode, false);
    let seconds = fx.grow(&inst, counts).total();
    // What the library's own create costs on the instance as it is now (one transaction, no fsync per
    // row), without HTTP or commits.
    let probe: Vec<_> = (0..200)
        .map(|i| client_row(&mut fx.r, counts.clients + i, "Probe"))
        .collect();
    let mut g = Gen::new(&inst, Generator::CreateIn);
    let t = Instant::now();
    let mut done = 0u64;
    let limit = Instant::now() + Duration::from_secs(20);
    for chunk in probe.chunks(10) {
        if Instant::now() > limit {
            break;
        }
        fx.clients.extend(g.write(&CLIENTS, chunk.to_vec()));
        done += chunk.len() as u64;
    }
    println!(
        "library create_in on the generated instance (records, search index, history; no audit, no HTTP, 10 rows per commit): {:.0} rows/s ({done} rows in {:.2} s)",
        done as f64 / t.elapsed().as_secs_f64(),
        t.elapsed().as_secs_f64()
    );
    inst.db.checkpoint().expect("checkpoint");
    Fixture {
        hot_projects: fx.hot_projects().to_vec(),
        clients: fx.clients,
        projects: fx.projects,
        seconds,
    }
}

fn main() {
    let scale = scale();
    let n = |full: u64| ((full as f64 * scale).round() as u64).max(10);
    let counts = Counts {
        clients: n(FULL_CLIENTS),
        projects: n(FULL_PROJECTS),
        time_entries: n(FULL_TIME_ENTRIES),
    };
    let mode = Generator::from_env();
    println!(
        "hub benchmark, scale {scale} ({} clients, {} projects, {} time entries), load {}",
        counts.clients,
        counts.projects,
        counts.time_entries,
        loadavg()
    );

    let dir = private_dir();
    let token = init_with_token(dir.path());

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
        let cookie = session_cookie(addr, &tls).await;
        let mut s = connect(addr, &tls).await.expect("connect");
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
                counts.clients as f64 / SURNAMES as f64
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
                counts.clients as f64 / 20.0
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
                counts.time_entries as f64 / 12.0
            ),
            with_auth(Box::new(|_| "/api/v1/time-entries?q=design".into())),
        ),
        (
            format!(
                "GET /api/v1/time-entries?q={USER} (full text, the user name: in all {} entries)",
                counts.time_entries
            ),
            with_auth(Box::new(|_| format!("/api/v1/time-entries?q={USER}"))),
        ),
        (
            format!(
                "GET /api/v1/time-entries?q=documentation (full text, 13 letters: read by its first 10, each match checked whole; ~{:.0} entries)",
                counts.time_entries as f64 / 12.0
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
            counts.time_entries as f64 / took.as_secs_f64(),
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
