//! Users: the list with states and groups, creating accounts, the actions on one account, ending
//! every session.

use super::*;

struct UserView {
    name: String,
    email: String,
    groups: Vec<String>,
    factor: String,
    factor_label: String,
    states: Vec<(String, &'static str)>,
    locked: bool,
    disabled: bool,
    support: bool,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    c: Chrome,
    notes: Notes,
    users: Vec<UserView>,
    group_names: Vec<String>,
}

async fn users_page(ctx: &Ctx, notes: Notes) -> Result<Response, WebError> {
    let (rows, group_names) = crate::auth::directory::with_groups(&ctx.inst).await?;
    let c = frame(ctx).await?;
    let views = rows
        .into_iter()
        .map(|(u, g)| {
            let mut states = Vec::new();
            if u.locked_at.is_some() {
                states.push((c.t("user-locked"), "bad"));
            }
            if u.disabled_at.is_some() {
                states.push((c.t("user-disabled"), "bad"));
            }
            if let Some(e) = &u.support_expires_at {
                states.push((c.t1("user-support-until", "until", c.when.text(e)), "warn"));
            }
            if u.must_change_password {
                states.push((c.t("user-must-change"), "warn"));
            }
            if states.is_empty() {
                states.push((c.t("user-active"), "ok"));
            }
            UserView {
                locked: u.locked_at.is_some(),
                disabled: u.disabled_at.is_some(),
                support: u.support_expires_at.is_some() && u.disabled_at.is_none(),
                name: u.username,
                email: u.email,
                groups: g,
                factor_label: crate::web::labels::second_factor(&c.tr, &u.second_factor),
                factor: u.second_factor,
                states,
            }
        })
        .collect();
    let page = UsersPage {
        c,
        notes,
        users: views,
        group_names,
    };
    render_refused(&page, page.notes.failed())
}

pub async fn users(ctx: Ctx) -> Result<Response, WebError> {
    users_page(&ctx, Notes::default()).await
}

pub async fn create_user(ctx: Ctx, RawForm(raw): RawForm) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let acc = NewAccount {
        username: value(&f, "username").trim().to_string(),
        email: value(&f, "email").trim().to_string(),
        groups: values(&f, "group"),
        password: None,
        support: None,
    };
    let name = acc.username.clone();
    let b = ctx.by.clone();
    let tr = ctx.words().await?;
    let created = accounts::create_user(&ctx.state.auth, &ctx.inst, b, acc)
        .await
        .map(|created| match created.temporary_password {
            Some(p) => tr.with(
                "user-created-password",
                &[("name", name.into()), ("password", p.expose().into())],
            ),
            None => tr.t1("user-created", "name", name),
        });
    users_page(&ctx, outcome(&ctx.words().await?, created)?).await
}

pub async fn user_action(
    ctx: Ctx,
    Path((name, action)): Path<(String, String)>,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let (svc, inst, b) = (&ctx.state.auth, &ctx.inst, ctx.by.clone());
    let tr = ctx.words().await?;
    let named = |key: &str| tr.t1(key, "name", &name);
    let result: Result<String, AccountError> = match action.as_str() {
        "unlock" => accounts::unlock(svc, inst, b, name.clone())
            .await
            .map(|()| named("user-unlocked")),
        "reset-password" => accounts::reset_password(svc, inst, b, name.clone())
            .await
            .map(|p| {
                tr.with(
                    "user-new-password",
                    &[("name", (&name).into()), ("password", p.expose().into())],
                )
            }),
        "disable" => accounts::set_enabled(inst, b, name.clone(), false)
            .await
            .map(|()| named("user-disabled-done")),
        "enable" => accounts::set_enabled(inst, b, name.clone(), true)
            .await
            .map(|()| named("user-enabled")),
        "revoke" => accounts::revoke_sessions(inst, b, name.clone())
            .await
            .map(|n| {
                tr.with(
                    "user-sessions-ended",
                    &[("name", (&name).into()), ("count", n.into())],
                )
            }),
        "revoke-support" => accounts::revoke_support(inst, b, name.clone())
            .await
            .map(|()| named("user-support-closed")),
        "reset-factor" => crate::auth::enrolment::reset_factor(svc, inst, b, name.clone())
            .await
            .map(|()| named("user-factor-reset")),
        "enrolment-code" => crate::auth::enrolment::issue_code(svc, inst, b, name.clone())
            .await
            .map(|code| {
                tr.with(
                    "user-enrolment-code",
                    &[("name", (&name).into()), ("code", code.expose().into())],
                )
            }),
        "groups" => {
            let f = form_pairs(&raw);
            access_groups::set_membership(inst, b, name.clone(), values(&f, "group"))
                .await
                .map(|()| named("user-groups-saved"))
        }
        _ => return Err(WebError::NotFound),
    };
    users_page(&ctx, outcome(&ctx.words().await?, result)?).await
}

/// `POST /admin/sessions/end-all`: every session of the instance ends, the admin's own too.
pub async fn end_all_sessions(Ctx { inst, by, .. }: Ctx) -> Result<Response, WebError> {
    crate::auth::sessions::end_everyone(&inst, None, by).await?;
    Ok((
        [(
            axum::http::header::SET_COOKIE,
            crate::web::guard::clear_session_cookie(),
        )],
        axum::response::Redirect::to("/signin"),
    )
        .into_response())
}
