//! The words pages use for the schema's names: modules, fields, choice values, second factors, in
//! the reader's language. The schema keeps its English labels for the API, CSV and OpenAPI; pages
//! look up `module-…`, `field-…` and `choice-…` keys, and the catalogue test walks the schema so
//! that no field can lack a label in either language.

use crate::i18n::Tr;
use crate::schema::ModuleDef;

/// A module's name as a heading: "Clients".
pub fn module(tr: &Tr, def: &ModuleDef) -> String {
    tr.t(&module_key(def))
}

/// One record of a module: "client".
pub fn singular(tr: &Tr, def: &ModuleDef) -> String {
    tr.t(&singular_key(def))
}

/// A field's (or a computed column's) label; a name the schema does not know is shown readable.
pub fn field_name(tr: &Tr, def: &ModuleDef, name: &str) -> String {
    if knows(def, name) {
        tr.t(&field_key(def, name))
    } else if name == "updated_at" {
        tr.t("field-updated-at")
    } else {
        human(name)
    }
}

/// A choice value as people read it: "on_hold" → "On hold".
pub fn choice(tr: &Tr, value: &str) -> String {
    if is_code(value) {
        return value.to_string();
    }
    tr.t(&choice_key(value))
}

/// Currency codes ("EUR") are the same in every language.
fn is_code(value: &str) -> bool {
    value.len() == 3 && value.bytes().all(|b| b.is_ascii_uppercase())
}

/// A second factor as its owner reads it: "authenticator app".
pub fn second_factor(tr: &Tr, kind: &str) -> String {
    match kind {
        "totp" => tr.t("factor-totp"),
        "email" => tr.t("factor-email"),
        _ => tr.t("factor-none"),
    }
}

/// Why a typed amount was refused, with examples written in the reader's own way.
pub fn money_problem(tr: &Tr, e: &crate::hub::money::MoneyError) -> String {
    use crate::hub::money::{MoneyError, format, format_plain};
    let l = tr.locale;
    match e {
        MoneyError::Empty => tr.t("money-empty"),
        MoneyError::Negative => tr.t("money-negative"),
        MoneyError::NotANumber(_) => tr.t1("money-not-a-number", "example", format_plain(9550, l)),
        MoneyError::TooManyDecimals => tr.t("money-decimals"),
        MoneyError::BadGrouping(_) => tr.with(
            "money-grouping",
            &[
                ("grouped", format(123_450, l).into()),
                ("plain", format_plain(123_450, l).into()),
            ],
        ),
        MoneyError::TooLarge { max, .. } => tr.t1("money-too-large", "max", format(*max, l)),
    }
}

/// A refused field's message in the reader's language when the domain named its kind; the
/// domain's own (English) sentence otherwise.
pub fn problem(tr: &Tr, e: &crate::hub::records::FieldError) -> String {
    match &e.problem {
        Some(p) => p.message().render(tr),
        None => e.message.clone(),
    }
}

/// Yes or no.
pub fn yes_no(tr: &Tr, yes: bool) -> String {
    tr.t(if yes { "value-yes" } else { "value-no" })
}

fn knows(def: &ModuleDef, name: &str) -> bool {
    def.field(name).is_some()
        || def.computed.contains(&name)
        || def.computed_filters.iter().any(|f| f.name == name)
}

pub fn module_key(def: &ModuleDef) -> String {
    format!("module-{}", def.slug)
}

pub fn singular_key(def: &ModuleDef) -> String {
    format!("module-{}-one", def.slug)
}

pub fn field_key(def: &ModuleDef, name: &str) -> String {
    format!("field-{}-{name}", def.slug)
}

pub fn choice_key(value: &str) -> String {
    format!("choice-{value}")
}

/// Every key this file can ask for, so the catalogue test can check them in each language.
pub fn every_key() -> Vec<String> {
    let mut keys = vec![
        "money-empty".to_string(),
        "money-negative".into(),
        "money-not-a-number".into(),
        "money-decimals".into(),
        "money-grouping".into(),
        "money-too-large".into(),
        "factor-totp".into(),
        "factor-email".into(),
        "factor-none".into(),
        "value-yes".into(),
        "field-updated-at".into(),
        "value-no".into(),
    ];
    for def in crate::schema::ALL {
        keys.push(module_key(def));
        keys.push(singular_key(def));
        for f in def.fields.iter().chain(def.computed_filters.iter()) {
            keys.push(field_key(def, f.name));
            if let crate::schema::Kind::Choice(values) = f.kind {
                keys.extend(values.iter().filter(|v| !is_code(v)).map(|v| choice_key(v)));
            }
        }
        keys.extend(def.computed.iter().map(|c| field_key(def, c)));
    }
    keys.extend(super::hub::Done::every_key());
    keys.extend(
        crate::backup::engine::Made::ALL
            .iter()
            .map(|m| m.key().to_string()),
    );
    keys.extend(
        crate::hub::problem::Problem::KEYS
            .iter()
            .map(|k| k.to_string()),
    );
    keys.extend(super::admin::alert_keys());
    keys.extend(
        crate::audit::Event::ALL
            .iter()
            .map(|e| super::admin::event_key(*e)),
    );
    for key in crate::auth::policy::KEYS {
        keys.push(format!("policy-{key}"));
        keys.push(format!("policy-{key}-help"));
    }
    keys.extend(
        crate::auth::policy::Departure::ALL
            .iter()
            .map(|d| d.key().to_string()),
    );
    keys.extend(
        super::error::STATUS_KEYS
            .iter()
            .map(|c| format!("status-{c}")),
    );
    keys.extend(super::words::every_key());
    keys.sort();
    keys.dedup();
    keys
}

/// "on_hold" → "On hold": for names that have no label of their own.
pub fn human(s: &str) -> String {
    let t = s.replace('_', " ");
    let mut c = t.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => t,
    }
}
