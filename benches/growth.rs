//! Cost growth benchmark (not a test): one instance grown in place through 0.1M, 1M, 2M and 10M
//! time entries (clients and projects in the hub bench's proportion) and measured at each size:
//! audited creates/s, list and search p95 and detail reads/s over HTTPS, `holdfast backup run`
//! MB/s, database size and server RSS. Prints a table and draws the chart as an SVG (docs/growth.svg).
//! Run with `cargo bench --bench growth`; `HOLDFAST_GROWTH_SIZES=0.01,0.05` (millions of time
//! entries) and `HOLDFAST_GROWTH_SECONDS=2` make a short run, `HOLDFAST_GROWTH_SVG=PATH` writes the
//! chart elsewhere. Loopback only; every load is bounded in time and count; servers are stopped by
//! PID; nothing is asserted.
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
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Millions of time entries at each measured size.
const DEFAULT_SIZES: [f64; 4] = [0.1, 1.0, 2.0, 10.0];
/// The largest size the benchmark accepts (disk: ~0.9 GB per million time entries, and backups).
const MAX_MILLIONS: f64 = 20.0;
/// Seconds of each measurement (one at 1 connection and one at 16 per read).
const DEFAULT_SECONDS: u64 = 8;
const WARMUP: Duration = Duration::from_secs(1);
const MAX_READS: u64 = 300_000;
/// Creates per size at most this share of the time entries generated so far (and `MAX_CREATES`):
/// the API's own rows stay a small part of the instance.
const CREATE_SHARE: f64 = 0.05;
/// Free disk kept besides the estimated need, in bytes.
const DISK_MARGIN: u64 = 3_000_000_000;

fn sizes() -> Vec<f64> {
    let Ok(text) = std::env::var("HOLDFAST_GROWTH_SIZES") else {
        return DEFAULT_SIZES.to_vec();
    };
    let v: Vec<f64> = text
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<f64>()
                .expect("HOLDFAST_GROWTH_SIZES: numbers")
        })
        .collect();
    assert!(
        !v.is_empty()
            && v.iter().all(|m| *m > 0.0 && *m <= MAX_MILLIONS)
            && v.windows(2).all(|w| w[0] < w[1]),
        "HOLDFAST_GROWTH_SIZES: increasing sizes in millions of time entries, each at most {MAX_MILLIONS}"
    );
    v
}

fn seconds() -> u64 {
    std::env::var("HOLDFAST_GROWTH_SECONDS")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|s| (1..=120).contains(s))
        .unwrap_or(DEFAULT_SECONDS)
}

/// Bytes free on the file system holding `path` (`df`), 0 when unknown.
fn free_bytes(path: &Path) -> u64 {
    std::process::Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(path)
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .nth(1)
                .and_then(|l| l.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn gb(bytes: u64) -> f64 {
    bytes as f64 / 1e9
}

/// One read measure: p95 at 1 connection (the request's own cost), p95 and req/s at 16.
#[derive(Clone, Copy, Default)]
struct Read {
    p50_1: f64,
    p95_1: f64,
    p95_16: f64,
    rate_16: f64,
}

type Make = Arc<dyn Fn(u64) -> Req + Send + Sync>;

fn measure_read(
    rt: &tokio::runtime::Runtime,
    addr: std::net::SocketAddr,
    tls: &Arc<rustls::ClientConfig>,
    what: &str,
    make: Make,
    secs: u64,
) -> Read {
    let run = |conns: usize, d: Duration| {
        rt.block_on(timed_load(
            addr,
            tls.clone(),
            make.clone(),
            200,
            conns,
            d,
            MAX_READS,
        ))
    };
    run(16, WARMUP);
    let one = run(1, Duration::from_secs(secs));
    print_run(what, 1, &one);
    let many = run(16, Duration::from_secs(secs));
    print_run(what, 16, &many);
    Read {
        p50_1: one.pct(50.0),
        p95_1: one.pct(95.0),
        p95_16: many.pct(95.0),
        rate_16: many.rate(),
    }
}

/// Everything measured at one size.
struct Row {
    millions: f64,
    clients: u64,
    projects: u64,
    time_entries: u64,
    generate_seconds: f64,
    /// Bulk generator seconds per time entry in this step (the write path without HTTP).
    insert_us: f64,
    start_seconds: f64,
    creates: f64,
    create_p95: f64,
    list: Read,
    common: Read,
    rare: Read,
    global: Read,
    detail: Read,
    rss_mib: f64,
    peak_mib: f64,
    db_bytes: u64,
    inst_bytes: u64,
    backup: Option<(f64, u64)>,
}

impl Row {
    fn backup_mbps(&self) -> Option<f64> {
        self.backup
            .map(|(s, _)| self.inst_bytes as f64 / 1e6 / s.max(1e-9))
    }
}

fn main() {
    let run_started = Instant::now();
    let sizes = sizes();
    let secs = seconds();
    let svg_path = std::env::var_os("HOLDFAST_GROWTH_SVG")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/growth.svg"));
    let mode = Generator::from_env();
    let dir = private_dir();
    let data = dir.path();
    println!(
        "growth benchmark: sizes {sizes:?} million time entries (clients {:.0}%, projects {:.0}% of them), {secs} s per measurement, generator {mode:?}; load {}; {:.0} GB free",
        CLIENTS_PER_TIME_ENTRY * 100.0,
        PROJECTS_PER_TIME_ENTRY * 100.0,
        loadavg(),
        gb(free_bytes(data))
    );
    let token = init_with_token(data);
    let bearer = format!("Bearer {token}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let inst_dir = data.join("instances/default");
    let mut fx = HubFixture::new(mode, true);
    let mut rows: Vec<Row> = Vec::new();
    let mut created = 0u64;
    let mut generate_total = 0.0;

    for &millions in &sizes {
        let target = Counts::for_time_entries((millions * 1e6).round() as u64);
        let now_bytes = dir_bytes(&inst_dir);
        let per_entry = if fx.time_count() > 0 {
            now_bytes as f64 / fx.time_count() as f64
        } else {
            1_000.0
        };
        let grow_bytes =
            (per_entry * 1.2 * target.time_entries.saturating_sub(fx.time_count()) as f64) as u64;
        let free = free_bytes(data);
        if free < grow_bytes + DISK_MARGIN {
            println!(
                "stopping before {millions}M: ~{:.1} GB more needed, {:.1} GB free",
                gb(grow_bytes + DISK_MARGIN),
                gb(free)
            );
            break;
        }
        println!(
            "\n== {millions}M time entries: {} clients, {} projects (load {}) ==",
            target.clients,
            target.projects,
            loadavg()
        );
        let before = fx.time_count();
        let inst = open_instance(data, "default");
        let took = fx.grow(&inst, target);
        drop(inst);
        generate_total += took.total();
        let added = fx.time_count() - before;
        let db_bytes = db_bytes(&inst_dir);
        let inst_bytes = dir_bytes(&inst_dir);
        println!(
            "grown in {:.1} s (generation so far {generate_total:.0} s); database {:.0} MB, instance dir {:.0} MB; load {}",
            took.total(),
            db_bytes as f64 / 1e6,
            inst_bytes as f64 / 1e6,
            loadavg()
        );

        // A fresh server per size: the instance was grown through the library with no server.
        let t = Instant::now();
        let server = start(data);
        let start_seconds = t.elapsed().as_secs_f64();
        let addr = server.addr;
        let tls = tls_config(data);
        let cookie = rt.block_on(session_cookie(addr, &tls));
        println!("server started in {start_seconds:.2} s");
        let with_auth = |f: Box<dyn Fn(u64) -> String + Send + Sync>| -> Make {
            let b = bearer.clone();
            Arc::new(move |n| Req::get(f(n)).header("authorization", b.clone()))
        };
        let pick = |n: u64, len: usize| (Rng(n ^ 0x5EED).next_u64() % len as u64) as usize;
        let entries = fx.time_count() + created;
        let list = measure_read(
            &rt,
            addr,
            &tls,
            &format!("GET /api/v1/time-entries?limit=50 (newest first, {entries} entries)"),
            with_auth(Box::new(|_| "/api/v1/time-entries?limit=50".into())),
            secs,
        );
        let common = measure_read(
            &rt,
            addr,
            &tls,
            &format!(
                "GET /api/v1/time-entries?q=design (common word: ~{:.0} entries)",
                entries as f64 * 0.082
            ),
            with_auth(Box::new(|_| "/api/v1/time-entries?q=design".into())),
            secs,
        );
        let rare = measure_read(
            &rt,
            addr,
            &tls,
            &format!(
                "GET /api/v1/clients?q=<random surname> (rare word: 1 of {SURNAMES}, ~{:.0} clients)",
                target.clients as f64 / SURNAMES as f64
            ),
            with_auth(Box::new(|n| {
                format!(
                    "/api/v1/clients?q={}",
                    surname(Rng(n).next_u64() % SURNAMES)
                )
            })),
            secs,
        );
        let global = measure_read(
            &rt,
            addr,
            &tls,
            "GET /api/v1/search?q=<random surname> (global search, signed in)",
            {
                let c = cookie.clone();
                Arc::new(move |n| {
                    Req::get(format!(
                        "/api/v1/search?q={}",
                        surname(Rng(n).next_u64() % SURNAMES)
                    ))
                    .header("cookie", c.clone())
                })
            },
            secs,
        );
        let ids = Arc::new(fx.time_entries.clone());
        let detail = measure_read(
            &rt,
            addr,
            &tls,
            "GET /api/v1/time-entries/<random id> (detail)",
            with_auth(Box::new({
                let ids = ids.clone();
                move |n| format!("/api/v1/time-entries/{}", ids[pick(n, ids.len())])
            })),
            secs,
        );
        drop(ids);
        // Creates last, so that the reads see the generated instance only; time entries, the
        // module that grows most.
        let projects = Arc::new(fx.projects.clone());
        let body: Arc<dyn Fn(u64) -> String + Send + Sync> = Arc::new(move |n| {
            let p = projects[pick(n, projects.len())];
            format!(
                "{{\"user\":\"{USER}\",\"project_id\":{p},\"date\":\"2026-{:02}-{:02}\",\"minutes\":{},\"note\":\"{}, {}\"}}",
                1 + n % 12,
                1 + n % 28,
                15 * (1 + n % 32),
                TIME_NOTES[(n % 24) as usize],
                TIME_NOTES[(n / 24 % 24) as usize]
            )
        });
        let max_creates = ((fx.time_count() as f64 * CREATE_SHARE) as u64).clamp(100, MAX_CREATES);
        let c = create_load(
            &rt,
            addr,
            &tls,
            &bearer,
            "/api/v1/time-entries",
            body,
            (16, Duration::from_secs(secs), max_creates),
        );
        print_run(
            &format!("POST /api/v1/time-entries (audited create, at most {max_creates})"),
            16,
            &c,
        );
        created += c.ok;
        let (rss_mib, peak_mib) = (server.rss_mib(), peak_rss_mib(server.child.id()));
        println!(
            "server RSS {rss_mib:.1} MiB (peak {peak_mib:.1} MiB); load {}",
            loadavg()
        );
        server.stop();

        // The backup as an admin runs it, to the default destination; the archive is removed
        // afterwards (it is about the instance's size, and the run writes three such copies).
        let inst_bytes_now = dir_bytes(&inst_dir);
        let free = free_bytes(data);
        let backup = if free > 3 * inst_bytes_now + DISK_MARGIN {
            let t = Instant::now();
            let out = console(data, &["backup", "run", "--all"], None);
            let s = t.elapsed().as_secs_f64();
            let archive: PathBuf = out
                .split_whitespace()
                .find(|w| w.ends_with(".hfb"))
                .map(PathBuf::from)
                .expect("archive path in the output");
            let archive_bytes = std::fs::metadata(&archive).map(|m| m.len()).unwrap_or(0);
            std::fs::remove_file(&archive).expect("remove the archive");
            println!(
                "holdfast backup run --all: {s:.1} s, {:.0} MB/s over the {:.0} MB instance (archive {:.0} MB, removed)",
                inst_bytes_now as f64 / 1e6 / s,
                inst_bytes_now as f64 / 1e6,
                archive_bytes as f64 / 1e6
            );
            Some((s, archive_bytes))
        } else {
            println!(
                "backup skipped: {:.1} GB free, ~{:.1} GB needed",
                gb(free),
                gb(3 * inst_bytes_now + DISK_MARGIN)
            );
            None
        };
        let row = Row {
            millions,
            clients: target.clients,
            projects: target.projects,
            time_entries: fx.time_count() + created,
            generate_seconds: took.total(),
            insert_us: took.time_entries / added.max(1) as f64 * 1e6,
            start_seconds,
            creates: c.rate(),
            create_p95: c.pct(95.0),
            list,
            common,
            rare,
            global,
            detail,
            rss_mib,
            peak_mib,
            db_bytes,
            inst_bytes: inst_bytes_now,
            backup,
        };
        rows.push(row);
    }

    println!("\n{}", table(&rows));
    if rows.is_empty() {
        return;
    }
    std::fs::write(&svg_path, chart(&rows)).expect("write the chart");
    println!(
        "chart written to {}\nwhole run {:.0} s (generation {generate_total:.0} s); load at the end {}",
        svg_path.display(),
        run_started.elapsed().as_secs_f64(),
        loadavg()
    );
    if std::env::var_os("HOLDFAST_BENCH_KEEP").is_some() {
        // For looking at query plans afterwards; the caller removes it.
        println!("data dir kept: {}", dir.keep().display());
    }
}

/// The figures as a Markdown table, one column per size.
fn table(rows: &[Row]) -> String {
    let mut t = String::from("| measure |");
    for r in rows {
        let _ = write!(t, " {}M |", r.millions);
    }
    t.push_str("\n|---|");
    for _ in rows {
        t.push_str("---:|");
    }
    let mut line = |name: &str, cell: &dyn Fn(&Row) -> String| {
        let _ = write!(t, "\n| {name} |");
        for r in rows {
            let _ = write!(t, " {} |", cell(r));
        }
    };
    line("clients / projects / time entries", &|r| {
        format!("{} / {} / {}", r.clients, r.projects, r.time_entries)
    });
    line("generation of this step (s)", &|r| {
        format!("{:.0}", r.generate_seconds)
    });
    line("bulk insert, µs per time entry", &|r| {
        format!("{:.0}", r.insert_us)
    });
    line("server start (s)", &|r| format!("{:.2}", r.start_seconds));
    line("audited creates/s, 16 conn. (p95 ms)", &|r| {
        format!("{:.0} ({:.1})", r.creates, r.create_p95)
    });
    let read = |x: &Read| format!("{:.2} ({:.2}) / {:.1}", x.p95_1, x.p50_1, x.p95_16);
    line(
        "list newest 50, p95 (p50) ms at 1 conn. / p95 at 16",
        &|r| read(&r.list),
    );
    line("search common word, p95 ms", &|r| read(&r.common));
    line("search rare word, p95 ms", &|r| read(&r.rare));
    line("global search, p95 ms", &|r| read(&r.global));
    line("detail reads/s, 16 conn. (p95 ms at 1)", &|r| {
        format!("{:.0} ({:.2})", r.detail.rate_16, r.detail.p95_1)
    });
    line("backup MB/s (s)", &|r| match (r.backup_mbps(), r.backup) {
        (Some(m), Some((s, _))) => format!("{m:.0} ({s:.1})"),
        _ => "—".into(),
    });
    line("database size (MB)", &|r| {
        format!("{:.0}", r.db_bytes as f64 / 1e6)
    });
    line("server RSS MiB (peak)", &|r| {
        format!("{:.0} ({:.0})", r.rss_mib, r.peak_mib)
    });
    t
}

/// One line of the chart: a name, a colour, and a value per size (None: not measured).
struct Series {
    name: &'static str,
    colour: &'static str,
    dash: &'static str,
    values: Vec<Option<f64>>,
}

/// Each series relative to its first measured value.
fn relative(values: Vec<Option<f64>>) -> Vec<Option<f64>> {
    let first = values.iter().flatten().copied().find(|v| *v > 0.0);
    values
        .into_iter()
        .map(|v| match (v, first) {
            (Some(v), Some(f)) if v > 0.0 => Some(v / f),
            _ => None,
        })
        .collect()
}

/// Two panels on a log-log grid: per-request (and per-MB, per-row) costs, and whole-instance
/// quantities, each relative to its figure at the smallest size, with ∝ log n and ∝ n for reference.
fn chart(rows: &[Row]) -> String {
    let n: Vec<f64> = rows.iter().map(|r| r.millions * 1e6).collect();
    let inv = |v: f64| if v > 0.0 { Some(1.0 / v) } else { None };
    let log_ref = Series {
        name: "∝ log n (reference)",
        colour: "#888888",
        dash: "6 4",
        values: n.iter().map(|x| Some(x.ln() / n[0].ln())).collect(),
    };
    let lin_ref = |name| Series {
        name,
        colour: "#bbbbbb",
        dash: "2 4",
        values: n.iter().map(|x| Some(x / n[0])).collect(),
    };
    let s = |name, colour, values: Vec<Option<f64>>| Series {
        name,
        colour,
        dash: "",
        values: relative(values),
    };
    let per_request = vec![
        s(
            "audited create (1 / creates per s)",
            "#1f77b4",
            rows.iter().map(|r| inv(r.creates)).collect(),
        ),
        s(
            "list newest 50 (p95, 1 conn.)",
            "#ff7f0e",
            rows.iter().map(|r| Some(r.list.p95_1)).collect(),
        ),
        s(
            "search, common word (p95)",
            "#2ca02c",
            rows.iter().map(|r| Some(r.common.p95_1)).collect(),
        ),
        s(
            "search, rare word (p95)",
            "#d62728",
            rows.iter().map(|r| Some(r.rare.p95_1)).collect(),
        ),
        s(
            "global search (p95)",
            "#9467bd",
            rows.iter().map(|r| Some(r.global.p95_1)).collect(),
        ),
        s(
            "detail (1 / reads per s)",
            "#8c564b",
            rows.iter().map(|r| inv(r.detail.rate_16)).collect(),
        ),
        s(
            "backup (s per MB)",
            "#e377c2",
            rows.iter().map(|r| r.backup_mbps().and_then(inv)).collect(),
        ),
        s(
            "bulk insert (s per time entry)",
            "#17becf",
            rows.iter().map(|r| Some(r.insert_us)).collect(),
        ),
        log_ref,
        lin_ref("∝ n (reference)"),
    ];
    let whole = vec![
        s(
            "database size",
            "#1f77b4",
            rows.iter().map(|r| Some(r.db_bytes as f64)).collect(),
        ),
        s(
            "backup time",
            "#e377c2",
            rows.iter().map(|r| r.backup.map(|(s, _)| s)).collect(),
        ),
        s(
            "server RSS after the run",
            "#ff7f0e",
            rows.iter().map(|r| Some(r.rss_mib)).collect(),
        ),
        s(
            "server start",
            "#2ca02c",
            rows.iter().map(|r| Some(r.start_seconds)).collect(),
        ),
        lin_ref("∝ n (reference)"),
    ];
    let all = per_request.iter().chain(whole.iter());
    let values: Vec<f64> = all
        .flat_map(|s| s.values.iter().flatten().copied())
        .collect();
    let lo = values.iter().copied().fold(0.5, f64::min);
    let hi = values.iter().copied().fold(2.0, f64::max);
    let (y0, y1) = (lo.log10().floor(), hi.log10().ceil());
    let (x0, x1) = {
        let (a, b) = (n[0].log10(), n[n.len() - 1].log10());
        if b - a < 0.1 {
            (a - 0.5, b + 0.5)
        } else {
            (a - 0.08 * (b - a), b + 0.08 * (b - a))
        }
    };
    const W: f64 = 1000.0;
    const H: f64 = 660.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"{W}\" height=\"{H}\" fill=\"white\"/>\n<text x=\"{}\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">How each cost grows with the instance (cargo bench --bench growth): × its value at {}M time entries, log–log</text>\n",
        W / 2.0,
        rows[0].millions
    );
    let panels = [
        (
            60.0,
            "Per request, per MB, per row (× the first size)",
            &per_request,
        ),
        (560.0, "Whole instance (× the first size)", &whole),
    ];
    for (left, title, series) in panels {
        let (top, width, height) = (50.0, 400.0, 360.0);
        let px = |x: f64| left + (x.log10() - x0) / (x1 - x0) * width;
        let py = |y: f64| top + height - (y.log10() - y0) / (y1 - y0) * height;
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"middle\" font-weight=\"bold\">{title}</text>",
            left + width / 2.0,
            top - 8.0
        );
        let _ = writeln!(
            svg,
            "<rect x=\"{left}\" y=\"{top}\" width=\"{width}\" height=\"{height}\" fill=\"none\" stroke=\"#444\"/>"
        );
        // y grid at 1, 2, 5 × 10^k; x ticks at the measured sizes.
        let mut k = y0 as i32;
        while k as f64 <= y1 {
            for m in [1.0, 2.0, 5.0] {
                let v = m * 10f64.powi(k);
                if v.log10() < y0 - 1e-9 || v.log10() > y1 + 1e-9 {
                    continue;
                }
                let y = py(v);
                let _ = writeln!(
                    svg,
                    "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{}\" y2=\"{y:.1}\" stroke=\"#{}\"/>\n<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}×</text>",
                    left + width,
                    if m == 1.0 { "999" } else { "e4e4e4" },
                    left - 6.0,
                    y + 4.0,
                    if v < 1.0 {
                        format!("{v}")
                    } else {
                        format!("{v:.0}")
                    }
                );
            }
            k += 1;
        }
        for r in rows {
            let x = px(r.millions * 1e6);
            let _ = writeln!(
                svg,
                "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#e4e4e4\"/>\n<text x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}M</text>",
                top + height,
                top + height + 16.0,
                r.millions
            );
        }
        let _ = writeln!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">time entries (log scale; clients 5%, projects 10% of them)</text>\n<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 {} {})\">× the value at the first size (log scale)</text>",
            left + width / 2.0,
            top + height + 34.0,
            left - 42.0,
            top + height / 2.0,
            left - 42.0,
            top + height / 2.0
        );
        for (i, s) in series.iter().enumerate() {
            let pts: Vec<(f64, f64)> = s
                .values
                .iter()
                .zip(&n)
                .filter_map(|(v, x)| v.map(|v| (px(*x), py(v))))
                .collect();
            let path: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
            let _ = writeln!(
                svg,
                "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" stroke-dasharray=\"{}\"/>",
                path.join(" "),
                s.colour,
                if s.dash.is_empty() { 2.0 } else { 1.5 },
                s.dash
            );
            if s.dash.is_empty() {
                for (x, y) in &pts {
                    let _ = writeln!(
                        svg,
                        "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"{}\"/>",
                        s.colour
                    );
                }
            }
            // Legend under the panel.
            let (lx, ly) = (left, top + height + 58.0 + i as f64 * 18.0);
            let _ = writeln!(
                svg,
                "<line x1=\"{lx}\" y1=\"{:.1}\" x2=\"{}\" y2=\"{:.1}\" stroke=\"{}\" stroke-width=\"2\" stroke-dasharray=\"{}\"/>\n<text x=\"{}\" y=\"{}\">{}</text>",
                ly - 4.0,
                lx + 22.0,
                ly - 4.0,
                s.colour,
                s.dash,
                lx + 28.0,
                ly,
                s.name
            );
        }
    }
    svg.push_str("</svg>\n");
    svg
}
