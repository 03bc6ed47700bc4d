//! Which old archives to delete, given keep-daily / keep-weekly / keep-monthly counts.
//!
//! The rule, exactly:
//!
//! 1. Archives are ordered newest first by time; equal times are ordered by name, greater name first,
//!    so the outcome never depends on input order.
//! 2. Archives dated after `now` are kept and take no part in the rest: they mean the clock went
//!    backwards, and deleting on a wrong clock is the one mistake a backup tool must not make.
//! 3. Daily: walking the remaining archives newest first, the first archive of each UTC calendar day
//!    is kept, for the first `keep_daily` distinct days met. Days without archives are skipped, not
//!    counted, so a server that was off for a week still keeps `keep_daily` archives.
//! 4. Weekly: the same with ISO 8601 weeks (Monday to Sunday, numbered by ISO week-year, so
//!    2025-12-29 is in 2026-W01), for `keep_weekly` weeks.
//! 5. Monthly: the same with UTC calendar months, for `keep_monthly` months.
//! 6. The newest archive overall is always kept, even when all three counts are zero.
//! 7. An archive is kept if any of 2–6 keeps it; every other archive is returned, in input order.
//!
//! Periods are UTC so that daylight-saving changes and a moved server cannot reshuffle them.

use chrono::{DateTime, Datelike, Utc};

/// Names of the archives to delete under the rule in the module documentation.
pub fn to_delete(
    archives: &[(String, DateTime<Utc>)],
    keep_daily: u32,
    keep_weekly: u32,
    keep_monthly: u32,
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut order: Vec<usize> = (0..archives.len()).collect();
    order.sort_by(|&a, &b| {
        let (name_a, time_a) = &archives[a];
        let (name_b, time_b) = &archives[b];
        time_b.cmp(time_a).then_with(|| name_b.cmp(name_a))
    });

    let mut keep = vec![false; archives.len()];
    if let Some(&newest) = order.first() {
        keep[newest] = true;
    }
    let (future, past): (Vec<usize>, Vec<usize>) =
        order.into_iter().partition(|&i| archives[i].1 > now);
    for i in future {
        keep[i] = true;
    }

    let day = |t: &DateTime<Utc>| (t.year(), t.ordinal());
    let week = |t: &DateTime<Utc>| {
        let w = t.iso_week();
        (w.year(), w.week())
    };
    let month = |t: &DateTime<Utc>| (t.year(), t.month());
    keep_newest_per_period(archives, &past, keep_daily, day, &mut keep);
    keep_newest_per_period(archives, &past, keep_weekly, week, &mut keep);
    keep_newest_per_period(archives, &past, keep_monthly, month, &mut keep);

    archives
        .iter()
        .zip(keep)
        .filter(|(_, kept)| !kept)
        .map(|((name, _), _)| name.clone())
        .collect()
}

/// `newest_first` must be sorted newest first, so the first archive met in a period is its newest.
fn keep_newest_per_period<P: PartialEq>(
    archives: &[(String, DateTime<Utc>)],
    newest_first: &[usize],
    periods: u32,
    period_of: impl Fn(&DateTime<Utc>) -> P,
    keep: &mut [bool],
) {
    let mut counted = 0;
    let mut last: Option<P> = None;
    for &i in newest_first {
        if counted >= periods {
            break;
        }
        let period = period_of(&archives[i].1);
        if last.as_ref() != Some(&period) {
            keep[i] = true;
            counted += 1;
            last = Some(period);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// "2026-03-10 14:00" or "2026-03-10" (02:00).
    fn at(text: &str) -> DateTime<Utc> {
        let (date, time) = text.split_once(' ').unwrap_or((text, "02:00"));
        let d: Vec<u32> = date.split('-').map(|p| p.parse().unwrap()).collect();
        let t: Vec<u32> = time.split(':').map(|p| p.parse().unwrap()).collect();
        Utc.with_ymd_and_hms(d[0] as i32, d[1], d[2], t[0], t[1], 0)
            .single()
            .unwrap()
    }

    struct Case {
        what: &'static str,
        now: &'static str,
        keep: (u32, u32, u32),
        archives: &'static [&'static str],
        deleted: &'static [&'static str],
    }

    const CASES: &[Case] = &[
        Case {
            what: "daily keeps the newest of each of the last 3 days",
            now: "2026-03-10 15:00",
            keep: (3, 0, 0),
            archives: &[
                "2026-03-10 14:00",
                "2026-03-10 02:00",
                "2026-03-09",
                "2026-03-08",
                "2026-03-05",
            ],
            deleted: &["2026-03-10 02:00", "2026-03-05"],
        },
        Case {
            what: "days without archives do not use up daily slots",
            now: "2026-03-10 15:00",
            keep: (3, 0, 0),
            archives: &["2026-03-10", "2026-03-01", "2026-02-20", "2026-02-19"],
            deleted: &["2026-02-19"],
        },
        Case {
            what: "weekly uses ISO weeks (Mon 03-09 starts W11)",
            now: "2026-03-10 15:00",
            keep: (0, 2, 0),
            archives: &[
                "2026-03-10",
                "2026-03-09",
                "2026-03-08",
                "2026-03-07",
                "2026-03-01",
            ],
            deleted: &["2026-03-09", "2026-03-07", "2026-03-01"],
        },
        Case {
            what: "ISO week-year: 2025-12-29 belongs to 2026-W01",
            now: "2026-01-03 15:00",
            keep: (0, 2, 0),
            archives: &["2026-01-02", "2025-12-29", "2025-12-28", "2025-12-22"],
            deleted: &["2025-12-29", "2025-12-22"],
        },
        Case {
            what: "monthly keeps the newest of each of the last 3 months",
            now: "2026-03-10 15:00",
            keep: (0, 0, 3),
            archives: &[
                "2026-03-10",
                "2026-03-01",
                "2026-02-28",
                "2026-02-01",
                "2026-01-31",
                "2025-12-31",
            ],
            deleted: &["2026-03-01", "2026-02-01", "2025-12-31"],
        },
        Case {
            what: "an archive is kept if any policy keeps it",
            now: "2026-03-10 15:00",
            keep: (2, 2, 2),
            archives: &[
                "2026-03-10 14:00",
                "2026-03-10 02:00",
                "2026-03-09",
                "2026-03-08",
                "2026-03-07",
                "2026-03-01",
                "2026-02-15",
                "2026-01-15",
            ],
            deleted: &["2026-03-10 02:00", "2026-03-07", "2026-03-01", "2026-01-15"],
        },
        Case {
            what: "all counts zero still keeps the newest archive",
            now: "2026-03-10 15:00",
            keep: (0, 0, 0),
            archives: &["2026-03-09", "2026-03-10", "2026-03-08"],
            deleted: &["2026-03-09", "2026-03-08"],
        },
        Case {
            what: "archives from the future (clock went back) are kept and not counted",
            now: "2026-03-10 12:00",
            keep: (1, 0, 0),
            archives: &["2026-03-12", "2026-03-11", "2026-03-10", "2026-03-09"],
            deleted: &["2026-03-09"],
        },
        Case {
            what: "input order does not matter and is kept in the output",
            now: "2026-03-10 15:00",
            keep: (1, 0, 1),
            archives: &["2026-01-05", "2026-03-10", "2026-02-03", "2026-01-20"],
            deleted: &["2026-01-05", "2026-02-03", "2026-01-20"],
        },
        Case {
            what: "a typical 7/4/6 policy over daily backups",
            now: "2026-03-31 23:00",
            keep: (7, 4, 6),
            archives: &[
                "2026-03-31",
                "2026-03-30",
                "2026-03-29",
                "2026-03-28",
                "2026-03-27",
                "2026-03-26",
                "2026-03-25",
                "2026-03-24",
                "2026-03-23",
                "2026-03-22",
                "2026-03-16",
                "2026-03-15",
                "2026-03-08",
                "2026-02-28",
                "2026-02-27",
                "2026-01-31",
                "2025-12-31",
                "2025-11-30",
                "2025-10-31",
                "2025-09-30",
            ],
            deleted: &[
                "2026-03-24",
                "2026-03-23",
                "2026-03-16",
                "2026-03-08",
                "2026-02-27",
                "2025-09-30",
            ],
        },
        Case {
            what: "nothing to do on an empty list",
            now: "2026-03-10 15:00",
            keep: (7, 4, 6),
            archives: &[],
            deleted: &[],
        },
    ];

    #[test]
    fn retention_table() {
        for case in CASES {
            let archives: Vec<(String, DateTime<Utc>)> = case
                .archives
                .iter()
                .map(|a| (a.to_string(), at(a)))
                .collect();
            let (d, w, m) = case.keep;
            let got = to_delete(&archives, d, w, m, at(case.now));
            assert_eq!(got, case.deleted, "{}", case.what);
        }
    }

    #[test]
    fn equal_times_are_decided_by_name() {
        let t = at("2026-03-10");
        for archives in [
            vec![("a".to_string(), t), ("b".to_string(), t)],
            vec![("b".to_string(), t), ("a".to_string(), t)],
        ] {
            assert_eq!(to_delete(&archives, 1, 0, 0, at("2026-03-11")), ["a"]);
        }
    }
}
