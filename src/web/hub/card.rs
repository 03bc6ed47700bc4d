//! The record card: fields, related records, comments, history with restore; deleting.

use super::*;

struct FieldView {
    label: String,
    text: String,
    link: Option<String>,
}

struct Related {
    label: String,
    items: Vec<(String, String)>,
    new_link: Option<String>,
}

struct Change {
    id: i64,
    at: String,
    actor: String,
    diffs: Vec<(String, String, String)>,
    restorable: bool,
    /// The record's creation: read as "Created by … on …", with no values to compare.
    created: bool,
}

#[derive(Template)]
#[template(path = "hub_detail.html")]
struct DetailPage {
    c: Chrome,
    def: &'static ModuleDef,
    module_label: String,
    singular: String,
    id: i64,
    title: String,
    fields: Vec<FieldView>,
    related: Vec<Related>,
    comments: Vec<views::CommentRow>,
    history: Vec<Change>,
    notes: Notes,
    can_edit: bool,
    can_delete: bool,
    extra_actions: Vec<(String, String)>,
    sub_html: String,
}

/// Module-specific parts of a record card (invoice lines, document versions).
pub struct CardExtras {
    pub actions: Vec<(String, String)>,
    pub html: String,
}

pub async fn detail_page(
    ctx: &Ctx,
    def: &'static ModuleDef,
    id: i64,
    notes: Notes,
) -> Result<Response, WebError> {
    let (state, inst, s) = (&ctx.state, &*ctx.inst, &*ctx.s);
    let row = records::get(inst, def, id).await?;
    let titles = ref_titles(inst, s, def, std::slice::from_ref(&row)).await?;
    let c = chrome(state, inst, Some(s)).await?;
    let tr = c.tr.clone();
    let mut fields: Vec<FieldView> = def
        .fields
        .iter()
        .map(|f| {
            let c = display(def, f.name, &row, &titles, &tr);
            FieldView {
                label: labels::field_name(&tr, def, f.name),
                text: c.text,
                link: c.link,
            }
        })
        .collect();
    for name in def.computed {
        let cell = display(def, name, &row, &titles, &tr);
        if cell.text != "—" {
            fields.push(FieldView {
                label: labels::field_name(&tr, def, name),
                text: cell.text,
                link: cell.link,
            });
        }
    }
    // Related records are listed only from modules the caller may see.
    let visible: Vec<&'static ModuleDef> = schema::ALL
        .iter()
        .copied()
        .filter(|child| sees(s, child.module))
        .collect();
    let views::Card {
        related,
        comments,
        history: hist,
    } = views::card(inst, def, id, visible).await?;
    let related = related
        .into_iter()
        .map(
            |views::Related {
                 module: child,
                 field,
                 items,
             }| Related {
                label: labels::module(&tr, child),
                items: items
                    .into_iter()
                    .map(|(cid, t)| (format!("/m/{}/{cid}", child.slug), t))
                    .collect(),
                new_link: can(s, child, Action::Create)
                    .then(|| format!("/m/{}/new?{field}={id}", child.slug)),
            },
        )
        .collect();
    let mut history: Vec<Change> = Vec::new();
    for h in hist {
        if history.last().map(|c| c.id) != Some(h.change_id) {
            history.push(Change {
                id: h.change_id,
                at: h.at.clone(),
                actor: h.actor.clone(),
                diffs: vec![],
                restorable: false,
                created: false,
            });
        }
        if let Some(ch) = history.last_mut() {
            if h.field == "(created)" {
                ch.created = true;
            } else {
                ch.restorable = true;
                ch.diffs.push((
                    labels::field_name(&tr, def, &h.field),
                    h.old_value.unwrap_or_else(|| "—".into()),
                    h.new_value.unwrap_or_else(|| "—".into()),
                ));
            }
        }
    }
    let extras = crate::web::hub::card_extras(state, inst, s, def, &row, &tr, c.when).await?;
    let locked = match def.module {
        crate::access::Module::Invoices => row.get("status") != Some(&Value::Text("draft".into())),
        crate::access::Module::Time => !matches!(row.get("invoice_id"), None | Some(Value::Null)),
        _ => false,
    };
    let title = match row.get(def.title) {
        Some(Value::Text(t)) => t.clone(),
        _ => format!("{} #{id}", labels::singular(&tr, def)),
    };
    let page = DetailPage {
        module_label: labels::module(&tr, def),
        singular: labels::singular(&tr, def),
        c,
        def,
        id,
        title,
        fields,
        related,
        comments,
        history,
        notes,
        // Issued invoices and billed time are locked: no edit or delete buttons to fail.
        can_edit: can(s, def, Action::Edit) && !locked,
        can_delete: can(s, def, Action::Delete) && !locked,
        extra_actions: extras.actions,
        sub_html: extras.html,
    };
    render_refused(&page, page.notes.failed())
}

/// After an action on a card: done, a 303 back to the card that says so (post/redirect/get);
/// refused, the card in place with what the user can fix there (a conflict; invalid input, each
/// error worded by `field_error`). Other errors go to the error mapping.
pub async fn card_after(
    ctx: &Ctx,
    def: &'static ModuleDef,
    id: i64,
    outcome: Result<Done, HubError>,
    field_error: fn(&Tr, records::FieldError) -> String,
) -> Result<Response, WebError> {
    let notes = match outcome {
        Ok(done) => return Ok(done.redirect(def, id)),
        Err(HubError::Conflict(said)) => Notes::refused(vec![said.render(&ctx.words().await?)]),
        Err(HubError::Refused(c)) => {
            Notes::refused(vec![crate::web::words::conflict(&ctx.words().await?, &c)])
        }
        Err(HubError::Invalid(e)) => {
            let tr = ctx.words().await?;
            Notes::refused(e.into_iter().map(|e| field_error(&tr, e)).collect())
        }
        Err(e) => return Err(e.into()),
    };
    detail_page(ctx, def, id, notes).await
}

/// A field error on a card with one input: its message alone.
fn message_only(tr: &Tr, e: records::FieldError) -> String {
    labels::problem(tr, &e)
}

pub async fn detail(
    ctx: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
) -> Result<Response, WebError> {
    let notes = match Done::from_query(query.as_deref()) {
        Some(d) => Notes::done(ctx.words().await?.t(&d.message_key())),
        None => Notes::default(),
    };
    detail_page(&ctx, def, id, notes).await
}

pub async fn delete(
    ctx: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    Path(id): Path<i64>,
) -> Result<Response, WebError> {
    match records::delete(&ctx.inst, def, id, ctx.by.clone()).await {
        Ok(()) => Ok(Redirect::to(&format!("/m/{}", def.slug)).into_response()),
        Err(e) => card_after(&ctx, def, id, Err(e), message_only).await,
    }
}

pub async fn comment(
    ctx: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    Path(id): Path<i64>,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let body = crate::web::form::value(&crate::web::form::pairs(&raw), "body");
    match records::add_comment(&ctx.inst, def, id, body, ctx.by.clone()).await {
        Ok(_) => Ok(Done::Commented.redirect(def, id)),
        Err(e) => card_after(&ctx, def, id, Err(e), message_only).await,
    }
}

pub async fn restore(
    ctx: Ctx,
    Extension(ModuleRef(def)): Extension<ModuleRef>,
    Path(id): Path<i64>,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let change = crate::web::form::value(&crate::web::form::pairs(&raw), "change")
        .parse::<i64>()
        .ok()
        .ok_or_else(|| {
            WebError::refused(
                "change",
                crate::i18n::Sentence::new("problem-restore-which", "which change to restore?"),
            )
        })?;
    let restored = records::restore(&ctx.inst, def, id, change, ctx.by.clone())
        .await
        .map(|_| Done::Restored);
    card_after(&ctx, def, id, restored, message_only).await
}
