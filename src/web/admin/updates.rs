//! The admin's update page: installed version, trust settings, the update history, and a bundle
//! upload that is verified (never installed) so the change board can check a bundle from a browser.

use crate::app::AppState;
use crate::audit::{self, Entry, Event};
use crate::auth::signin::SessionInfo;
use crate::instances::Instance;
use crate::update::{apply, bundle, state, trust};
use crate::web::Ctx;
use crate::web::WebError;
use crate::web::pages::{Chrome, chrome, render};
use askama::Template;
use axum::extract::Multipart;
use axum::response::Response;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

struct HistoryRow {
    at: String,
    action: String,
    version: String,
    outcome: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "admin_updates.html")]
struct UpdatesPage {
    c: Chrome,
    messages: Vec<String>,
    problems: Vec<String>,
    report: Vec<String>,
    installed: String,
    binary: String,
    epoch: u32,
    keys: String,
    threshold: usize,
    upload_limit_mib: u64,
    last_update: Option<String>,
    interrupted: Option<String>,
    history: Vec<HistoryRow>,
}

/// The largest bundle the page accepts: `[update] max_bundle_bytes` (the route's body limit adds
/// only the multipart framing to it).
pub(in crate::web) fn max_bundle_bytes(config: &crate::config::Config) -> u64 {
    config.update.max_bundle_bytes
}

fn upload_limit(state: &AppState) -> u64 {
    max_bundle_bytes(&state.config)
}

async fn page(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    messages: Vec<String>,
    problems: Vec<String>,
    report: Vec<String>,
) -> Result<Response, WebError> {
    let dir = state.config.data_dir.clone();
    let st = state::load(&dir).unwrap_or_default();
    let c = chrome(state, inst, Some(s)).await?;
    let keys = trust::trusted_keys(&state.config.update)
        .map(|k| k.key_ids().collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|e| c.tr.t1("updates-no-keys", "reason", e));
    let interrupted = apply::interrupted(&dir).map(|j| {
        c.tr.with(
            "updates-interrupted",
            &[
                ("from", j.from_version.as_str().into()),
                ("to", j.to_version.as_str().into()),
                ("step", j.step.name().into()),
            ],
        )
    });
    render(&UpdatesPage {
        c,
        messages,
        problems,
        report,
        installed: crate::update::state::installed_version(&st)
            .map(|v| v.to_string())
            .unwrap_or_else(|e| e.to_string()),
        binary: env!("CARGO_PKG_VERSION").into(),
        epoch: st.security_epoch,
        keys,
        threshold: state.config.update.threshold,
        upload_limit_mib: upload_limit(state) / 1024 / 1024,
        last_update: apply::last_completed(&dir).map(|j| apply::describe_last(&j)),
        interrupted,
        history: st
            .history
            .iter()
            .rev()
            .take(50)
            .map(|h| HistoryRow {
                at: h.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                action: h.action.clone(),
                version: h.version.clone().unwrap_or_default(),
                outcome: h.outcome.clone(),
                detail: h.detail.clone(),
            })
            .collect(),
    })
}

pub async fn show(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    page(&state, &inst, &s, vec![], vec![], vec![]).await
}

/// Streams the upload into a private file (never all in memory), refusing it past the limit.
async fn receive(form: &mut Multipart, dest: &std::path::Path, max: u64) -> Result<u64, String> {
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| format!("upload: {e}"))?
    {
        if field.name() != Some("bundle") {
            continue;
        }
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(dest)
            .map_err(|e| format!("cannot store the upload: {e}"))?;
        let mut field = field;
        let mut n: u64 = 0;
        while let Some(chunk) = field.chunk().await.map_err(|e| format!("upload: {e}"))? {
            n += chunk.len() as u64;
            if n > max {
                // Read the rest before answering, so that the client gets the answer.
                while let Ok(Some(_)) = field.chunk().await {}
                crate::web::documents::drain(form).await;
                return Err(format!(
                    "the bundle is larger than the {} MiB this page accepts; verify it on the server with `holdfast update verify`",
                    max / 1024 / 1024
                ));
            }
            out.write_all(&chunk)
                .map_err(|e| format!("cannot store the upload: {e}"))?;
        }
        if n == 0 {
            return Err("choose a bundle file (.hfu)".into());
        }
        return Ok(n);
    }
    Err("choose a bundle file (.hfu)".into())
}

pub async fn verify(
    Ctx {
        state, inst, s, ip, ..
    }: Ctx,
    mut form: Multipart,
) -> Result<Response, WebError> {
    let dir = state.config.data_dir.join("update").join("uploads");
    crate::fsutil::ensure_private_dir(&dir)
        .map_err(|e| WebError::Internal(format!("{}: {e}", dir.display())))?;
    let mut id = [0u8; 12];
    getrandom::fill(&mut id).map_err(|e| WebError::Internal(e.to_string()))?;
    let file = dir.join(format!("{}.hfu", hex::encode(id)));
    let received = receive(&mut form, &file, upload_limit(&state)).await;
    // Stamped after the upload: the bundle is judged against the time it finished arriving.
    let b = crate::web::by(&s, ip, &state);
    let now = b.now;
    let tr = crate::web::pages::words(
        &state,
        crate::web::pages::reader_locale(&inst, Some(&s)).await?,
    );
    let outcome = match received {
        Err(msg) => Err(msg),
        Ok(_) => {
            let cfg = state.config.update.clone();
            let data_dir = state.config.data_dir.clone();
            let path = file.clone();
            let tr = tr.clone();
            tokio::task::spawn_blocking(move || -> Result<Vec<String>, String> {
                let st = state::load(&data_dir).map_err(|e| e.to_string())?;
                let keys = trust::trusted_keys(&cfg).map_err(|e| e.to_string())?;
                let policy = trust::policy(&cfg, &st, now).map_err(|e| e.to_string())?;
                let v = bundle::verify(&path, &keys, &policy).map_err(|e| e.to_string())?;
                let m = v.manifest();
                let mut lines = vec![
                    tr.with(
                        "updates-report-version",
                        &[
                            ("product", m.product.as_str().into()),
                            ("arch", m.arch.as_str().into()),
                            ("version", m.version.to_string().into()),
                            ("from", m.min_from.to_string().into()),
                            ("epoch", m.security_epoch.to_string().into()),
                        ],
                    ),
                    tr.with(
                        "updates-report-dates",
                        &[
                            ("created", m.created_at.to_rfc3339().into()),
                            ("expires", m.expires_at.to_rfc3339().into()),
                        ],
                    ),
                ];
                for f in &m.files {
                    lines.push(tr.with(
                        "updates-report-payload",
                        &[
                            ("path", f.path.as_str().into()),
                            ("bytes", f.size.to_string().into()),
                            ("sha256", hex::encode(f.sha256).into()),
                        ],
                    ));
                }
                lines.push(tr.t1("updates-report-signed", "keys", v.signed_by().join(", ")));
                if let Some(n) = &m.notes {
                    lines.push(tr.t1("updates-report-notes", "notes", n));
                }
                Ok(lines)
            })
            .await
            .map_err(|e| WebError::Internal(e.to_string()))?
        }
    };
    let _ = std::fs::remove_file(&file);
    let (ok, detail) = match &outcome {
        Ok(lines) => (true, lines.first().cloned().unwrap_or_default()),
        Err(e) => (false, e.clone()),
    };
    let data_dir = state.config.data_dir.clone();
    let entry_detail = detail.clone();
    let _ = tokio::task::spawn_blocking(move || {
        state::note(
            &data_dir,
            now,
            "verify",
            None,
            if ok { "accepted" } else { "refused" },
            format!("uploaded in the admin console: {entry_detail}"),
        )
    })
    .await;
    let event = if ok {
        Event::UpdateVerified
    } else {
        Event::UpdateRefused
    };
    let mut e = Entry::new(event, b.actor, "update", b.source)
        .with(serde_json::json!({ "upload": true, "detail": detail }));
    if !ok {
        e = e.failed();
    }
    audit::log::record(&inst, now, e).await?;
    match outcome {
        Ok(lines) => {
            page(
                &state,
                &inst,
                &s,
                vec![tr.t("updates-bundle-ok")],
                vec![],
                lines,
            )
            .await
        }
        Err(e) => {
            page(
                &state,
                &inst,
                &s,
                vec![],
                vec![tr.t1("updates-bundle-refused", "reason", e)],
                vec![],
            )
            .await
        }
    }
}
