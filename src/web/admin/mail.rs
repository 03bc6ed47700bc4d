//! Mail: the outbox and the test message.

use super::*;

#[derive(Template)]
#[template(path = "admin_mail.html")]
struct MailPage {
    c: Chrome,
    notes: Notes,
    state: String,
    mails: Vec<crate::mail::MailRow>,
}

async fn mail_page(ctx: &Ctx, notes: Notes) -> Result<Response, WebError> {
    let mails = crate::mail::recent(&ctx.inst, 50).await?;
    let c = frame(ctx).await?;
    render(&MailPage {
        state: mail_state(&ctx.state, &c.tr),
        c,
        notes,
        mails,
    })
}

pub async fn mail(ctx: Ctx) -> Result<Response, WebError> {
    mail_page(&ctx, Notes::default()).await
}

pub async fn mail_test(ctx: Ctx, RawForm(raw): RawForm) -> Result<Response, WebError> {
    let to = value(&form_pairs(&raw), "to").trim().to_string();
    let tr = ctx.words().await?;
    if ctx.state.config.mail.is_none() {
        return mail_page(&ctx, Notes::refused(vec![mail_state(&ctx.state, &tr)])).await;
    }
    if let Err(e) = accounts::validate_email(&to) {
        let said = crate::web::words::account_error(&tr, &e).unwrap_or_else(|| e.to_string());
        return mail_page(&ctx, Notes::refused(vec![said])).await;
    }
    crate::mail::send_test(&ctx.inst, ctx.by.clone(), to.clone(), &tr).await?;
    ctx.state.auth.wake_mail();
    let queued = tr.t1("mail-test-queued", "to", to);
    mail_page(&ctx, Notes::done(queued)).await
}
