//! Backups of the whole appliance (the operator's instance only, see `Access::Operator`):
//! destinations, runs, verification, downloads.

use super::*;

struct DestView {
    index: usize,
    path: String,
    last_success: String,
    size: String,
    verified: String,
    error: Option<String>,
    archives: Vec<(String, String, String)>,
}

#[derive(Template)]
#[template(path = "admin_backups.html")]
struct BackupsPage {
    c: Chrome,
    messages: Vec<String>,
    warnings: Vec<String>,
    schedule: String,
    exported: String,
    dests: Vec<DestView>,
}

/// Problems an admin must see: a failing destination, or no success for 26 hours.
pub fn backup_warnings(state: &AppState, tr: &crate::i18n::Tr) -> Vec<String> {
    let st = crate::backup::status::load(&state.config.data_dir);
    let limit = crate::clock::stamp(state.clock.now() - chrono::Duration::hours(26));
    let when = crate::web::time::Shown {
        tz: state.config.time_zone,
        locale: tr.locale,
    };
    let mut out = Vec::new();
    for dest in &state.config.backup.destinations {
        let ds = st
            .destinations
            .get(&dest.display().to_string())
            .cloned()
            .unwrap_or_default();
        let place = || ("place", crate::i18n::Arg::from(dest.display().to_string()));
        match &ds.last_success {
            None => out.push(tr.with("banner-backup-never", &[place()])),
            Some(t) if *t < limit => out.push(tr.with(
                "banner-backup-old",
                &[place(), ("last", when.text(t).into())],
            )),
            _ => {}
        }
        if let (Some(e), Some(at)) = (&ds.last_error, &ds.last_error_at)
            && ds.last_success.as_ref().is_none_or(|s| s < at)
        {
            out.push(tr.with("banner-backup-failed", &[place(), ("error", e.into())]));
        }
        if let Some(e) = &ds.last_verify_error {
            out.push(tr.with(
                "banner-backup-verify-failed",
                &[place(), ("error", e.into())],
            ));
        }
    }
    out
}

async fn backups_page(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    messages: Vec<String>,
) -> Result<Response, WebError> {
    let st = crate::backup::status::load(&state.config.data_dir);
    let c = chrome(state, inst, Some(s)).await?;
    let mb = |b: u64| {
        format!(
            "{} MB",
            crate::hub::money::format_quantity((b / 100_000) as i64 * 100, c.tr.locale)
        )
    };
    let dests = state
        .config
        .backup
        .destinations
        .iter()
        .enumerate()
        .map(|(index, d)| {
            let ds = st
                .destinations
                .get(&d.display().to_string())
                .cloned()
                .unwrap_or_default();
            DestView {
                index,
                path: d.display().to_string(),
                last_success: ds
                    .last_success
                    .map(|t| c.when.text(&t))
                    .unwrap_or_else(|| c.t("tokens-never")),
                size: ds.last_size.map(mb).unwrap_or_else(|| "—".into()),
                verified: match (ds.last_verified, ds.last_verify_seconds) {
                    (Some(t), Some(sec)) => c.t2(
                        "backups-verified-took",
                        "at",
                        c.when.text(&t),
                        "seconds",
                        format!("{sec:.1}"),
                    ),
                    _ => c.t("tokens-never"),
                },
                error: ds.last_error,
                archives: crate::backup::engine::list(d)
                    .into_iter()
                    .rev()
                    .map(|(n, _, size)| {
                        let made = c.t(crate::backup::engine::Made::of(&n).key());
                        (n, mb(size), made)
                    })
                    .collect(),
            }
        })
        .collect();
    let (h, m) = state.config.backup.schedule;
    render(&BackupsPage {
        messages,
        warnings: backup_warnings(state, &c.tr),
        schedule: format!("{h:02}:{m:02}"),
        exported: crate::backup::keyfile::exported_at(&state.config.data_dir)
            .map(|t| c.when.text(&t))
            .unwrap_or_else(|| c.t("backups-not-exported")),
        dests,
        c,
    })
}

pub async fn backups(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    backups_page(&state, &inst, &s, vec![]).await
}

pub async fn backup_action(
    Ctx { state, inst, s, .. }: Ctx,
    Path(action): Path<String>,
) -> Result<Response, WebError> {
    let lines = match action.as_str() {
        "run" => {
            crate::backup::job::run_all(
                &state.config,
                &state.clock,
                &state.registry,
                &state.auth.mail_wakeup,
                &state.auth.words(),
                crate::backup::engine::Made::Hand,
            )
            .await
            .0
        }
        "verify" => {
            let (config, clock) = (state.config.clone(), state.clock.clone());
            tokio::task::spawn_blocking(move || crate::backup::job::verify_newest(&config, &clock))
                .await
                .map_err(|e| WebError::Internal(e.to_string()))?
                .map_err(|e| WebError::Internal(format!("{e:#}")))?
        }
        _ => return Err(WebError::NotFound),
    };
    backups_page(&state, &inst, &s, lines).await
}

/// Streams an archive (it is encrypted: only the recovery code or this server's key opens it).
pub async fn backup_download(
    Ctx {
        state, inst, by: b, ..
    }: Ctx,
    Path((index, name)): Path<(usize, String)>,
) -> Result<Response, WebError> {
    audit::log::record(
        &inst,
        b.now,
        Entry::new(Event::DataExported, b.actor, name.clone(), b.source)
            .with(json!({ "backup_archive": true })),
    )
    .await?;
    let dest = state
        .config
        .backup
        .destinations
        .get(index)
        .ok_or(WebError::NotFound)?;
    if !crate::backup::engine::list(dest)
        .iter()
        .any(|(n, _, _)| *n == name)
    {
        return Err(WebError::NotFound);
    }
    let file = tokio::fs::File::open(dest.join(&name))
        .await
        .map_err(|_| WebError::NotFound)?;
    let body = axum::body::Body::new(file_body::FileBody { file, done: false });
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// A file sent in 1 MiB chunks, so a large archive never sits in memory.
mod file_body {
    use std::pin::Pin;
    use std::task::{Context, Poll};
    use tokio::io::{AsyncRead, ReadBuf};

    pub struct FileBody {
        pub file: tokio::fs::File,
        pub done: bool,
    }

    impl http_body::Body for FileBody {
        type Data = bytes::Bytes;
        type Error = std::io::Error;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
        ) -> Poll<Option<Result<http_body::Frame<bytes::Bytes>, std::io::Error>>> {
            if self.done {
                return Poll::Ready(None);
            }
            let mut buf = vec![0u8; 1 << 20];
            let mut rb = ReadBuf::new(&mut buf);
            match Pin::new(&mut self.file).poll_read(cx, &mut rb) {
                Poll::Ready(Ok(())) => {
                    let n = rb.filled().len();
                    if n == 0 {
                        self.done = true;
                        return Poll::Ready(None);
                    }
                    buf.truncate(n);
                    Poll::Ready(Some(Ok(http_body::Frame::data(bytes::Bytes::from(buf)))))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Some(Err(e))),
                Poll::Pending => Poll::Pending,
            }
        }
    }
}
