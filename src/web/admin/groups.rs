//! Groups: the list with permissions, creating and deleting groups, changing their permissions.

use super::*;

struct GroupView(access_groups::GroupRow);

impl GroupView {
    fn has(&self, permission: &str) -> bool {
        self.0.permissions.iter().any(|p| p == permission)
    }

    /// `admin` grants every module permission without storing them: the page shows them ticked
    /// (and fixed), not unticked as if the group lacked them.
    fn implied(&self) -> bool {
        self.has("admin")
    }
}

impl std::ops::Deref for GroupView {
    type Target = access_groups::GroupRow;
    fn deref(&self) -> &access_groups::GroupRow {
        &self.0
    }
}

#[derive(Template)]
#[template(path = "admin_groups.html")]
struct GroupsPage {
    c: Chrome,
    notes: Notes,
    groups: Vec<GroupView>,
    modules: Vec<&'static str>,
    actions: Vec<&'static str>,
}

async fn groups_page(ctx: &Ctx, notes: Notes) -> Result<Response, WebError> {
    let list = access_groups::list(&ctx.inst).await?;
    let page = GroupsPage {
        c: frame(ctx).await?,
        notes,
        groups: list.into_iter().map(GroupView).collect(),
        modules: Module::ALL.iter().map(|m| m.as_str()).collect(),
        actions: Action::ALL.iter().map(|a| a.as_str()).collect(),
    };
    render_refused(&page, page.notes.failed())
}

pub async fn groups(ctx: Ctx) -> Result<Response, WebError> {
    groups_page(&ctx, Notes::default()).await
}

pub async fn create_group(ctx: Ctx, RawForm(raw): RawForm) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let name = value(&f, "name").trim().to_string();
    let tr = ctx.words().await?;
    let created = access_groups::create(
        &ctx.inst,
        ctx.by.clone(),
        name.clone(),
        value(&f, "description"),
    )
    .await
    .map(|()| tr.t1("groups-created", "group", &name));
    groups_page(&ctx, outcome(&ctx.words().await?, created)?).await
}

pub async fn group_action(
    ctx: Ctx,
    Path((name, action)): Path<(String, String)>,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let b = ctx.by.clone();
    let tr = ctx.words().await?;
    let result = match action.as_str() {
        "permissions" => {
            let mut perms = Vec::new();
            for p in values(&form_pairs(&raw), "perm") {
                perms.push(
                    p.parse::<Permission>()
                        .map_err(|m| WebError::invalid("perm", m))?,
                );
            }
            access_groups::set_permissions(&ctx.inst, b, name.clone(), perms)
                .await
                .map(|()| tr.t1("groups-saved", "group", &name))
        }
        "delete" => access_groups::delete(&ctx.inst, b, name.clone())
            .await
            .map(|()| tr.t1("groups-deleted", "group", &name)),
        _ => return Err(WebError::NotFound),
    };
    groups_page(&ctx, outcome(&ctx.words().await?, result)?).await
}
