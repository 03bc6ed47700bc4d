//! Mail: the outbox and the test message.

use super::*;

#[derive(Template)]
#[template(path = "admin_mail.html")]
struct MailPage {
    c: Chrome,
    messages: Vec<String>,
    errors: Vec<String>,
    state: String,
    mails: Vec<crate::mail::MailRow>,
}

async fn mail_page(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    messages: Vec<String>,
    errors: Vec<String>,
) -> Result<Response, WebError> {
    let mails = crate::mail::recent(inst, 50).await?;
    render(&MailPage {
        c: chrome(state, inst, Some(s)).await?,
        messages,
        errors,
        state: mail_state(state),
        mails,
    })
}

pub async fn mail(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    mail_page(&state, &inst, &s, vec![], vec![]).await
}

pub async fn mail_test(
    Ctx {
        state,
        inst,
        s,
        by: b,
        ..
    }: Ctx,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let to = value(&form_pairs(&raw), "to").trim().to_string();
    if state.config.mail.is_none() {
        return mail_page(&state, &inst, &s, vec![], vec![mail_state(&state)]).await;
    }
    if let Err(e) = accounts::validate_email(&to) {
        return mail_page(&state, &inst, &s, vec![], vec![e.to_string()]).await;
    }
    crate::mail::send_test(&inst, b, to.clone()).await?;
    state.auth.wake_mail();
    mail_page(
        &state,
        &inst,
        &s,
        vec![format!(
            "Test message to {to} queued; its state appears below."
        )],
        vec![],
    )
    .await
}
