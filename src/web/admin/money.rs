//! The money settings page: currency of new invoices, tax rates (one the default), default hourly
//! rate, payment terms and the default locale amounts are written in.

use super::*;
use crate::hub::money::{self as fmt_money, Locale};
use crate::hub::records::HubError;
use crate::hub::settings::{self as money_settings, MoneySettings, TaxRate};

struct RateRow {
    name: String,
    rate: String,
    is_default: bool,
}

#[derive(Template)]
#[template(path = "admin_money.html")]
struct MoneyPage {
    c: Chrome,
    notes: Notes,
    currencies: Vec<String>,
    currency: String,
    hourly_rate: String,
    payment_terms_days: String,
    locales: Vec<(String, String)>,
    locale: String,
    rates: Vec<RateRow>,
    example: String,
}

/// Empty rows below the rates, for adding new ones.
const NEW_ROWS: usize = 2;

/// The page as stored (`form` absent) or as the admin sent it (a refused form is shown again
/// with what was typed, so nothing has to be typed twice).
async fn money_page(
    ctx: &Ctx,
    notes: Notes,
    form: Option<&[(String, String)]>,
) -> Result<Response, WebError> {
    let m = money_settings::get(&ctx.inst).await?;
    let l = m.locale;
    let (currency, hourly_rate, payment_terms_days, locale, rates) = match form {
        None => {
            let mut rates: Vec<RateRow> = m
                .tax_rates
                .iter()
                .map(|r| RateRow {
                    name: r.name.clone(),
                    rate: fmt_money::format_percent(r.rate_bp, l)
                        .trim_end_matches('%')
                        .trim_end_matches('\u{a0}')
                        .to_string(),
                    is_default: r.is_default,
                })
                .collect();
            rates.extend((0..NEW_ROWS).map(|_| RateRow {
                name: String::new(),
                rate: String::new(),
                is_default: false,
            }));
            (
                m.currency.clone(),
                fmt_money::format_plain(m.hourly_rate, l),
                m.payment_terms_days.to_string(),
                l.code().to_string(),
                rates,
            )
        }
        Some(f) => {
            let names = values(f, "tax_name");
            let typed = values(f, "tax_rate");
            let default = value(f, "tax_default");
            let rates = names
                .iter()
                .enumerate()
                .map(|(i, n)| RateRow {
                    name: n.clone(),
                    rate: typed.get(i).cloned().unwrap_or_default(),
                    is_default: default == i.to_string(),
                })
                .collect();
            (
                value(f, "currency"),
                value(f, "hourly_rate"),
                value(f, "payment_terms_days"),
                value(f, "locale"),
                rates,
            )
        }
    };
    let page = MoneyPage {
        c: frame(ctx).await?,
        notes,
        currencies: crate::schema::CURRENCIES
            .iter()
            .map(|c| c.to_string())
            .collect(),
        currency,
        hourly_rate,
        payment_terms_days,
        locales: Locale::ALL
            .iter()
            .map(|l| (l.code().to_string(), l.name().to_string()))
            .collect(),
        locale,
        rates,
        example: fmt_money::format(123_450, l),
    };
    render_refused(&page, page.notes.failed())
}

pub async fn money(ctx: Ctx) -> Result<Response, WebError> {
    money_page(&ctx, Notes::default(), None).await
}

/// The settings a form asks for, read in the locale the page was shown in; every problem, each
/// worded with its field's label.
fn read_form(f: &[(String, String)], shown_in: Locale) -> Result<MoneySettings, Vec<String>> {
    let mut errors = Vec::new();
    let hourly_rate =
        match fmt_money::parse(&value(f, "hourly_rate"), shown_in, crate::schema::MONEY_MAX) {
            Ok(v) => v,
            Err(e) => {
                errors.push(format!("Default hourly rate: {e}"));
                0
            }
        };
    let terms_text = value(f, "payment_terms_days");
    let payment_terms_days = match terms_text.trim().parse::<i64>() {
        Ok(d) => d,
        Err(_) => {
            errors.push(format!(
                "Payment terms: write a whole number of days from 0 to {}",
                money_settings::PAYMENT_TERMS_MAX
            ));
            0
        }
    };
    let locale = match Locale::parse(&value(f, "locale")) {
        Some(l) => l,
        None => {
            errors.push("Language of amounts: choose one of the offered languages".into());
            shown_in
        }
    };
    let names = values(f, "tax_name");
    let typed = values(f, "tax_rate");
    let default = value(f, "tax_default");
    let mut tax_rates = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let rate = typed.get(i).map(String::as_str).unwrap_or("");
        let is_default = default == i.to_string();
        if name.trim().is_empty() && rate.trim().is_empty() {
            if is_default {
                errors.push("Tax rates: the default rate needs a name and a rate".into());
            }
            continue;
        }
        if name.trim().is_empty() {
            errors.push(format!("Tax rates: row {} needs a name", i + 1));
            continue;
        }
        match fmt_money::parse(rate, shown_in, money_settings::TAX_RATE_MAX_BP) {
            Ok(bp) => tax_rates.push(TaxRate {
                name: name.trim().to_string(),
                rate_bp: bp,
                is_default,
            }),
            Err(e) => errors.push(format!(
                "Tax rate {}: {} (a percentage from 0 to 100, like {})",
                name.trim(),
                e,
                fmt_money::format_percent(850, shown_in)
            )),
        }
    }
    if errors.is_empty() {
        Ok(MoneySettings {
            currency: value(f, "currency"),
            hourly_rate,
            payment_terms_days,
            locale,
            tax_rates,
        })
    } else {
        Err(errors)
    }
}

fn label(field: &str) -> &'static str {
    match field {
        "currency" => "Currency of new invoices",
        "hourly_rate" => "Default hourly rate",
        "payment_terms_days" => "Payment terms",
        "tax_rates" => "Tax rates",
        "tax_default" => "Default tax rate",
        _ => "Settings",
    }
}

/// `POST /admin/money`: saves every changed setting in one audited change; anything refused
/// changes nothing and the form comes back with what was typed.
pub async fn save_money(ctx: Ctx, RawForm(raw): RawForm) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let shown_in = money_settings::locale(&ctx.inst).await?;
    let settings = match read_form(&f, shown_in) {
        Ok(s) => s,
        Err(errors) => return money_page(&ctx, Notes::refused(errors), Some(&f)).await,
    };
    match money_settings::save(&ctx.inst, settings, ctx.by.clone()).await {
        Ok(0) => money_page(&ctx, Notes::done("Nothing changed."), None).await,
        Ok(n) => money_page(&ctx, Notes::done(format!("Saved {n} setting(s).")), None).await,
        Err(HubError::Invalid(errs)) => {
            let errors = errs
                .into_iter()
                .map(|e| format!("{}: {}", label(&e.field), e.message))
                .collect();
            money_page(&ctx, Notes::refused(errors), Some(&f)).await
        }
        Err(e) => Err(e.into()),
    }
}
