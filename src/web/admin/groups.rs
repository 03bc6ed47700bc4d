//! Groups: the list with permissions, creating and deleting groups, changing their permissions.

use super::*;

struct GroupView(access_groups::GroupRow);

impl GroupView {
    fn has(&self, permission: &str) -> bool {
        self.0.permissions.iter().any(|p| p == permission)
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
    messages: Vec<String>,
    errors: Vec<String>,
    groups: Vec<GroupView>,
    modules: Vec<&'static str>,
    actions: Vec<&'static str>,
}

async fn groups_page(
    state: &AppState,
    inst: &Instance,
    s: &SessionInfo,
    messages: Vec<String>,
    errors: Vec<String>,
) -> Result<Response, WebError> {
    let list = access_groups::list(inst).await?;
    let failed = !errors.is_empty();
    render_refused(
        &GroupsPage {
            c: chrome(state, inst, Some(s)).await?,
            messages,
            errors,
            groups: list.into_iter().map(GroupView).collect(),
            modules: Module::ALL.iter().map(|m| m.as_str()).collect(),
            actions: Action::ALL.iter().map(|a| a.as_str()).collect(),
        },
        failed,
    )
}

pub async fn groups(Ctx { state, inst, s, .. }: Ctx) -> Result<Response, WebError> {
    groups_page(&state, &inst, &s, vec![], vec![]).await
}

pub async fn create_group(
    Ctx {
        state, inst, s, by, ..
    }: Ctx,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let name = value(&f, "name").trim().to_string();
    match access_groups::create(&inst, by, name.clone(), value(&f, "description")).await {
        Ok(()) => {
            groups_page(
                &state,
                &inst,
                &s,
                vec![format!("Group {name} created.")],
                vec![],
            )
            .await
        }
        Err(e) => groups_page(&state, &inst, &s, vec![], vec![shown(e)?]).await,
    }
}

pub async fn group_action(
    Ctx {
        state,
        inst,
        s,
        by: b,
        ..
    }: Ctx,
    Path((name, action)): Path<(String, String)>,
    RawForm(raw): RawForm,
) -> Result<Response, WebError> {
    let result = match action.as_str() {
        "permissions" => {
            let mut perms = Vec::new();
            for p in values(&form_pairs(&raw), "perm") {
                perms.push(
                    p.parse::<Permission>()
                        .map_err(|m| WebError::invalid("perm", m))?,
                );
            }
            access_groups::set_permissions(&inst, b, name.clone(), perms)
                .await
                .map(|()| format!("Permissions of {name} saved."))
        }
        "delete" => access_groups::delete(&inst, b, name.clone())
            .await
            .map(|()| format!("Group {name} deleted.")),
        _ => return Err(WebError::NotFound),
    };
    match result {
        Ok(m) => groups_page(&state, &inst, &s, vec![m], vec![]).await,
        Err(e) => groups_page(&state, &inst, &s, vec![], vec![shown(e)?]).await,
    }
}
