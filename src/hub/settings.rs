//! The instance's money settings: the currency new invoices start in, the named tax rates (one the
//! default), the default hourly rate of new projects, the payment terms that set an issued
//! invoice's due date, and the default locale amounts are written in. Read by the pages and by
//! issuing; changed by an admin, audited in the same transaction.

use super::money::Locale;
use super::records::{FieldError, HubError};
use crate::audit::{self, By, Entry, Event};
use crate::clock::stamp;
use crate::instances::Instance;
use crate::schema::{CURRENCIES, MONEY_MAX};
use crate::storage::settings as kv;
use crate::storage::tax_rates;
use crate::storage::{Connection, StorageError};
use serde_json::json;

pub use crate::storage::tax_rates::TaxRateRow as TaxRate;

const CURRENCY: &str = "money.currency";
const HOURLY_RATE: &str = "money.hourly_rate";
const PAYMENT_TERMS: &str = "money.payment_terms_days";
const LOCALE: &str = crate::storage::settings::DEFAULT_LOCALE;

/// Longest payment terms, in days.
pub const PAYMENT_TERMS_MAX: i64 = 365;
/// Most tax rates an instance keeps.
pub const TAX_RATES_MAX: usize = 20;
/// Longest name of a tax rate, in characters.
pub const TAX_NAME_MAX: usize = 40;
/// Largest tax rate, in hundredths of a percent (100 %).
pub const TAX_RATE_MAX_BP: i64 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MoneySettings {
    pub currency: String,
    /// Minor units per hour.
    pub hourly_rate: i64,
    pub payment_terms_days: i64,
    pub locale: Locale,
    pub tax_rates: Vec<TaxRate>,
}

impl MoneySettings {
    /// The rate a new invoice line starts with (the first one if none is marked, 0 % if none).
    pub fn default_rate_bp(&self) -> i64 {
        self.tax_rates
            .iter()
            .find(|r| r.is_default)
            .or(self.tax_rates.first())
            .map(|r| r.rate_bp)
            .unwrap_or(0)
    }

    /// Every problem of these settings, each with the form field it belongs to.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut out = Vec::new();
        let mut bad = |field: &str, message: String| {
            out.push(FieldError {
                field: field.into(),
                message,
                problem: None,
            })
        };
        if !CURRENCIES.contains(&self.currency.as_str()) {
            bad(
                "currency",
                format!("must be one of {}", CURRENCIES.join(", ")),
            );
        }
        if !(0..=MONEY_MAX).contains(&self.hourly_rate) {
            bad("hourly_rate", "is out of range".into());
        }
        if !(0..=PAYMENT_TERMS_MAX).contains(&self.payment_terms_days) {
            bad(
                "payment_terms_days",
                format!("must be a whole number of days from 0 to {PAYMENT_TERMS_MAX}"),
            );
        }
        if self.tax_rates.is_empty() || self.tax_rates.len() > TAX_RATES_MAX {
            bad(
                "tax_rates",
                format!("keep between 1 and {TAX_RATES_MAX} tax rates"),
            );
        }
        for (i, r) in self.tax_rates.iter().enumerate() {
            let n = r.name.chars().count();
            if r.name.trim().is_empty() || n > TAX_NAME_MAX || r.name.chars().any(char::is_control)
            {
                bad(
                    "tax_rates",
                    format!("rate {}: a name of 1–{TAX_NAME_MAX} characters", i + 1),
                );
            }
            if !(0..=TAX_RATE_MAX_BP).contains(&r.rate_bp) {
                bad(
                    "tax_rates",
                    format!("{}: a rate from 0 to 100 %", r.name.trim()),
                );
            }
            if self.tax_rates[..i].iter().any(|o| o.name == r.name) {
                bad(
                    "tax_rates",
                    format!("{}: two rates have this name", r.name.trim()),
                );
            }
        }
        if self.tax_rates.iter().filter(|r| r.is_default).count() != 1 {
            bad("tax_default", "choose exactly one default rate".into());
        }
        out
    }
}

/// The settings as stored, built-in defaults where nothing is stored (also inside a transaction).
pub fn read(conn: &Connection) -> Result<MoneySettings, StorageError> {
    let text = |key: &str| kv::get(conn, key);
    let number = |key: &str, default: i64| -> Result<i64, StorageError> {
        Ok(text(key)?.and_then(|v| v.parse().ok()).unwrap_or(default))
    };
    Ok(MoneySettings {
        currency: text(CURRENCY)?.unwrap_or_else(|| "EUR".into()),
        hourly_rate: number(HOURLY_RATE, 0)?,
        payment_terms_days: number(PAYMENT_TERMS, 30)?,
        locale: read_locale(conn)?,
        tax_rates: tax_rates::list(conn)?,
    })
}

pub async fn get(inst: &Instance) -> Result<MoneySettings, HubError> {
    Ok(inst.db.read(read).await?)
}

/// The locale amounts are written in for everyone (until a person picks their own).
pub async fn locale(inst: &Instance) -> Result<Locale, HubError> {
    Ok(inst.db.read(read_locale).await?)
}

/// `locale` inside a read or transaction the caller already holds.
pub fn read_locale(conn: &Connection) -> Result<Locale, StorageError> {
    Ok(kv::get(conn, LOCALE)?
        .and_then(|c| Locale::parse(&c))
        .unwrap_or_default())
}

/// Saves the settings that differ from the stored ones, with one `settings_changed` event naming
/// each change (old and new), in the same transaction. Invalid settings change nothing. Returns
/// how many settings changed.
pub async fn save(inst: &Instance, new: MoneySettings, by: By) -> Result<usize, HubError> {
    let problems = new.problems();
    if !problems.is_empty() {
        return Err(HubError::Invalid(problems));
    }
    inst.db
        .write(move |tx| -> Result<usize, HubError> {
            let old = read(tx)?;
            let now = stamp(by.now);
            let mut changes = serde_json::Map::new();
            let pairs = [
                (CURRENCY, old.currency.clone(), new.currency.clone()),
                (
                    HOURLY_RATE,
                    old.hourly_rate.to_string(),
                    new.hourly_rate.to_string(),
                ),
                (
                    PAYMENT_TERMS,
                    old.payment_terms_days.to_string(),
                    new.payment_terms_days.to_string(),
                ),
                (LOCALE, old.locale.code().into(), new.locale.code().into()),
            ];
            for (key, was, now_value) in pairs {
                if was != now_value {
                    kv::set(tx, key, &now_value, &now)?;
                    changes.insert(key.into(), json!({ "old": was, "new": now_value }));
                }
            }
            if old.tax_rates != new.tax_rates {
                tax_rates::replace(tx, &new.tax_rates)?;
                let list = |rates: &[TaxRate]| -> Vec<serde_json::Value> {
                    rates
                        .iter()
                        .map(|r| json!({ "name": r.name, "rate_bp": r.rate_bp, "default": r.is_default }))
                        .collect()
                };
                changes.insert(
                    "money.tax_rates".into(),
                    json!({ "old": list(&old.tax_rates), "new": list(&new.tax_rates) }),
                );
            }
            let count = changes.len();
            if count > 0 {
                audit::write(
                    tx,
                    by.now,
                    Entry::new(
                        Event::SettingsChanged,
                        by.actor.clone(),
                        "settings/money",
                        by.source.clone(),
                    )
                    .with(serde_json::Value::Object(changes)),
                )?;
            }
            Ok(count)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> MoneySettings {
        MoneySettings {
            currency: "PLN".into(),
            hourly_rate: 15_000,
            payment_terms_days: 14,
            locale: Locale::Pl,
            tax_rates: vec![
                TaxRate {
                    name: "Standard".into(),
                    rate_bp: 2300,
                    is_default: true,
                },
                TaxRate {
                    name: "Zero".into(),
                    rate_bp: 0,
                    is_default: false,
                },
            ],
        }
    }

    #[test]
    fn settings_are_checked_field_by_field() {
        assert!(sample().problems().is_empty());
        assert_eq!(sample().default_rate_bp(), 2300);
        let fields = |s: MoneySettings| -> Vec<String> {
            s.problems().into_iter().map(|e| e.field).collect()
        };
        let mut s = sample();
        s.currency = "XYZ".into();
        assert_eq!(fields(s), ["currency"]);
        let mut s = sample();
        s.payment_terms_days = 366;
        assert_eq!(fields(s), ["payment_terms_days"]);
        let mut s = sample();
        s.hourly_rate = -1;
        assert_eq!(fields(s), ["hourly_rate"]);
        let mut s = sample();
        s.tax_rates[1].is_default = true;
        assert_eq!(fields(s), ["tax_default"]);
        let mut s = sample();
        s.tax_rates[1].name = "Standard".into();
        assert_eq!(fields(s), ["tax_rates"]);
        let mut s = sample();
        s.tax_rates[1].rate_bp = 10_001;
        assert_eq!(fields(s), ["tax_rates"]);
        let mut s = sample();
        s.tax_rates.clear();
        assert_eq!(fields(s), ["tax_rates", "tax_default"]);
    }
}
