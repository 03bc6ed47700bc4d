//! The pages of every business module: list (search, filters, sort, paging), record card
//! (fields, related records, comments, history with restore), create/edit forms with messages per
//! field, CSV import with a preview; one file per section, the module-specific parts of cards
//! (invoice lines and actions, invoicing a project, document versions) in `card_parts.rs`,
//! post/redirect/get for card actions in `done.rs`. What
//! the sections share (permission checks, cell display, reference titles) lives here.

mod card;
mod card_parts;
mod done;
mod form;
mod import;
mod list;
mod search;

pub use card::*;
pub use card_parts::*;
pub use done::*;
pub use form::*;
pub use import::*;
pub use list::*;
pub use search::*;

use super::WebError;
use super::api::records::{ModuleRef, query_pairs};
use super::pages::{Chrome, Notes, chrome, render, render_refused};
use crate::access::{Action, Permission};
use crate::app::AppState;
use crate::auth::signin::SessionInfo;
use crate::hub::Value;
use crate::hub::csvio::{self, ImportError, Problem};
use crate::hub::money::Locale;
use crate::hub::records::{self, HubError, ListParams};
use crate::hub::views::{self, Row};
use crate::i18n::Tr;
use crate::instances::Instance;
use crate::schema::{self, Kind, ModuleDef};
use crate::web::Ctx;
use crate::web::labels;
use askama::Template;
use axum::extract::{Extension, Multipart, Path, RawForm, RawQuery};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value as Json};
use std::collections::HashMap;

fn can(s: &SessionInfo, def: &ModuleDef, a: Action) -> bool {
    s.grants.allows(Permission::Module(def.module, a))
}

/// Whether the caller may see records of module `m` — asked before a page shows anything of
/// another module (a referenced record's title, related records, a drop-down's choices).
fn sees(s: &SessionInfo, m: crate::access::Module) -> bool {
    s.grants.allows(Permission::Module(m, Action::View))
}

/// Minor units as the locale writes them ("1,234.56" / "1 234,56"), for figures without a currency.
pub fn money(minor: i64, locale: Locale) -> String {
    crate::hub::money::format(minor, locale)
}

/// The amount in column `key` of a row with the row's currency: "1,234.56 EUR".
fn amount_in(row: &Row, key: &str, locale: Locale) -> String {
    let minor = match row.get(key) {
        Some(Value::Integer(i)) => *i,
        _ => 0,
    };
    let currency = match row.get("currency") {
        Some(Value::Text(c)) => c.as_str(),
        _ => "",
    };
    crate::hub::money::format_in(minor, currency, locale)
}

/// Titles of referenced records, and the modules whose records the caller may not see (shown as
/// a bare id without a link).
struct Titles {
    names: HashMap<(&'static str, i64), String>,
    hidden: Vec<crate::access::Module>,
}

/// Titles of every record the rows refer to in modules the caller may see, fetched once per page.
async fn ref_titles(
    inst: &Instance,
    s: &SessionInfo,
    def: &'static ModuleDef,
    rows: &[Row],
) -> Result<Titles, WebError> {
    let hidden: Vec<crate::access::Module> = schema::ALL
        .iter()
        .map(|d| d.module)
        .filter(|m| !sees(s, *m))
        .collect();
    let mut wanted: Vec<(&'static str, i64)> = Vec::new();
    for r in rows {
        for f in def.fields {
            if let (Kind::Ref(m), Some(Value::Integer(id))) = (f.kind, r.get(f.name)) {
                if hidden.contains(&m) {
                    continue;
                }
                let key = (schema::by_module(m).slug, *id);
                if !wanted.contains(&key) {
                    wanted.push(key);
                }
            }
        }
    }
    let names = views::titles(inst, wanted).await?;
    Ok(Titles { names, hidden })
}

struct Cell {
    text: String,
    link: Option<String>,
}

/// Column `name` of a row as a page shows it; amounts in `locale`, with the row's currency.
fn display(def: &ModuleDef, name: &str, row: &Row, titles: &Titles, tr: &Tr) -> Cell {
    let locale = tr.locale;
    let v = row.get(name);
    let kind = def
        .field(name)
        .or_else(|| def.computed_filters.iter().find(|f| f.name == name))
        .map(|f| f.kind);
    let none = || Cell {
        text: "—".into(),
        link: None,
    };
    match (kind, v) {
        (_, None | Some(Value::Null)) => none(),
        (Some(Kind::Ref(m)), Some(Value::Integer(id))) if titles.hidden.contains(&m) => Cell {
            text: format!("#{id}"),
            link: None,
        },
        (Some(Kind::Ref(m)), Some(Value::Integer(id))) => {
            let slug = schema::by_module(m).slug;
            Cell {
                text: titles
                    .names
                    .get(&(slug, *id))
                    .cloned()
                    .unwrap_or_else(|| format!("#{id}")),
                link: Some(format!("/m/{slug}/{id}")),
            }
        }
        (Some(Kind::Bool), Some(Value::Integer(i))) => Cell {
            text: labels::yes_no(tr, *i != 0),
            link: None,
        },
        (Some(Kind::Money), Some(Value::Integer(_))) => Cell {
            text: amount_in(row, name, locale),
            link: None,
        },
        (None, Some(Value::Integer(_))) if ["subtotal", "tax_total", "total"].contains(&name) => {
            Cell {
                text: amount_in(row, name, locale),
                link: None,
            }
        }
        (Some(Kind::Choice(_)), Some(Value::Text(t))) => Cell {
            text: labels::choice(tr, t),
            link: None,
        },
        (_, Some(Value::Integer(i))) => Cell {
            text: i.to_string(),
            link: None,
        },
        (_, Some(Value::Text(t))) => Cell {
            text: t.clone(),
            link: None,
        },
        _ => none(),
    }
}
