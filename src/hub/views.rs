//! What the pages show around records, read in one snapshot each: the titles of referenced
//! records, the choices of a reference field, a record's card (related records, comments,
//! history) and search across modules. Reads only; changes go through `records`.

use crate::instances::Instance;
use crate::schema::{Kind, ModuleDef};
use crate::storage::StorageError;
use crate::storage::records::{self as store, ListQuery};
use std::collections::HashMap;

pub use crate::storage::records::{CommentRow, HistoryRow, Row};

/// How many records a reference field offers as choices.
const CHOICES: usize = 500;

/// The titles of the records `wanted` names (module slug, id); those that do not exist are left out.
pub async fn titles(
    inst: &Instance,
    wanted: Vec<(&'static str, i64)>,
) -> Result<HashMap<(&'static str, i64), String>, StorageError> {
    inst.db
        .read(move |c| {
            let mut out = HashMap::new();
            for (slug, id) in wanted {
                if let Some(d) = crate::schema::by_slug(slug)
                    && let Some(t) = store::title_of(c, d, id)?
                {
                    out.insert((slug, id), t);
                }
            }
            Ok(out)
        })
        .await
}

/// The first records of `def` by title, and the title of `current` when it is not among them
/// (a form must always offer the value it holds).
pub async fn choices(
    inst: &Instance,
    def: &'static ModuleDef,
    current: Option<i64>,
) -> Result<(Vec<Row>, Option<(i64, String)>), StorageError> {
    inst.db
        .read(move |c| {
            let q = ListQuery {
                sort: Some(def.title),
                limit: CHOICES,
                ..Default::default()
            };
            let rows = store::list(c, def, &q)?;
            let mut extra = None;
            if let Some(id) = current.filter(|id| !rows.iter().any(|r| r.id == *id))
                && let Some(title) = store::title_of(c, def, id)?
            {
                extra = Some((id, title));
            }
            Ok((rows, extra))
        })
        .await
}

/// The records of another module that point at one record through a reference field.
pub struct Related {
    pub module: &'static ModuleDef,
    pub field: &'static str,
    /// (id, title), newest first, at most 20.
    pub items: Vec<(i64, String)>,
}

/// What a record's card shows beside its fields.
pub struct Card {
    pub related: Vec<Related>,
    pub comments: Vec<CommentRow>,
    pub history: Vec<HistoryRow>,
}

/// The card of record `id` of `def`: records of the `visible` modules that refer to it, its
/// comments and its change history.
pub async fn card(
    inst: &Instance,
    def: &'static ModuleDef,
    id: i64,
    visible: Vec<&'static ModuleDef>,
) -> Result<Card, StorageError> {
    let (slug, module) = (def.slug, def.module);
    inst.db
        .read(move |c| {
            let mut related = Vec::new();
            for child in visible {
                for f in child.fields.iter().filter(|f| f.kind == Kind::Ref(module)) {
                    related.push(Related {
                        module: child,
                        field: f.name,
                        items: store::children(c, child, f.name, id, 20)?,
                    });
                }
            }
            Ok(Card {
                related,
                comments: store::comments(c, slug, id)?,
                history: store::history(c, slug, id)?,
            })
        })
        .await
}

/// Whether `q` holds a word search can look for.
pub fn searchable(q: &str) -> bool {
    store::fts_query(q).is_some()
}

/// The best `limit` matches of `text` across the `visible` modules: (module slug, id, title).
pub async fn search(
    inst: &Instance,
    text: String,
    visible: Vec<&'static ModuleDef>,
    limit: usize,
) -> Result<Vec<(&'static str, i64, String)>, StorageError> {
    inst.db
        .read(move |c| store::search_all(c, &text, &visible, limit))
        .await
}

/// The dashboard's figures, read in one snapshot (each is shown only to those who may see the
/// module behind it; the caller decides).
pub struct Figures {
    /// (Monday of the week, minutes logged) since `from`.
    pub weeks: Vec<(String, i64)>,
    /// (project id, name, budget hours, minutes used) of the active projects.
    pub burn: Vec<(i64, String, i64, i64)>,
    /// Outstanding invoice amounts by days past due: not yet, 1–30, 31–60, 61–90, over 90.
    pub aged: [i64; 5],
    pub due: Vec<crate::storage::dashboard::DueTask>,
    /// The latest changes, each with its record's title (none once the record is deleted).
    pub recent: Vec<(crate::storage::dashboard::Change, Option<String>)>,
}

/// The dashboard's figures: hours since `from`, tasks due until `until`, invoices aged at `today`
/// (dates as `YYYY-MM-DD`).
pub async fn dashboard(
    inst: &Instance,
    from: String,
    until: String,
    today: String,
) -> Result<Figures, StorageError> {
    use crate::storage::dashboard as d;
    inst.db
        .read(move |c| {
            Ok(Figures {
                weeks: d::hours_per_week(c, &from)?,
                burn: d::budget_burn(c, 8)?,
                aged: d::outstanding_by_age(c, &today)?,
                due: d::tasks_due(c, &until, 10)?,
                recent: d::recent_changes(c, 12)?
                    .into_iter()
                    .map(|change| {
                        let title = match crate::schema::by_slug(&change.0) {
                            Some(def) => store::title_of(c, def, change.1)?,
                            None => None,
                        };
                        Ok((change, title))
                    })
                    .collect::<Result<_, StorageError>>()?,
            })
        })
        .await
}
