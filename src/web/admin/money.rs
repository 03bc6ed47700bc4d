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
    let c = frame(ctx).await?;
    // Amounts on the page are written the way its reader reads them.
    let l = c.tr.locale;
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
                m.locale.code().to_string(),
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
        c,
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
fn read_form(f: &[(String, String)], tr: &crate::i18n::Tr) -> Result<MoneySettings, Vec<String>> {
    let shown_in = tr.locale;
    let named = |field: &str, problem: String| format!("{}: {problem}", label(tr, field));
    let mut errors = Vec::new();
    let hourly_rate =
        match fmt_money::parse(&value(f, "hourly_rate"), shown_in, crate::schema::MONEY_MAX) {
            Ok(v) => v,
            Err(e) => {
                errors.push(named(
                    "hourly_rate",
                    crate::web::labels::money_problem(tr, &e),
                ));
                0
            }
        };
    let terms_text = value(f, "payment_terms_days");
    let payment_terms_days = match terms_text.trim().parse::<i64>() {
        Ok(d) => d,
        Err(_) => {
            errors.push(named(
                "payment_terms_days",
                tr.t1(
                    "money-terms-invalid",
                    "max",
                    money_settings::PAYMENT_TERMS_MAX,
                ),
            ));
            0
        }
    };
    let locale = match Locale::parse(&value(f, "locale")) {
        Some(l) => l,
        None => {
            errors.push(named("locale", tr.t("money-locale-invalid")));
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
                errors.push(named("tax_rates", tr.t("money-default-rate-empty")));
            }
            continue;
        }
        if name.trim().is_empty() {
            errors.push(named(
                "tax_rates",
                tr.t1("money-rate-needs-name", "row", i + 1),
            ));
            continue;
        }
        match fmt_money::parse(rate, shown_in, money_settings::TAX_RATE_MAX_BP) {
            Ok(bp) => tax_rates.push(TaxRate {
                name: name.trim().to_string(),
                rate_bp: bp,
                is_default,
            }),
            Err(e) => errors.push(tr.with(
                "money-rate-invalid",
                &[
                    ("name", name.trim().into()),
                    ("problem", crate::web::labels::money_problem(tr, &e).into()),
                    ("example", fmt_money::format_percent(850, shown_in).into()),
                ],
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

fn label(tr: &crate::i18n::Tr, field: &str) -> String {
    tr.t(match field {
        "currency" => "money-currency",
        "hourly_rate" => "money-hourly-rate",
        "payment_terms_days" => "money-terms",
        "locale" => "money-locale",
        "tax_rates" => "money-tax-rates",
        "tax_default" => "money-default-rate",
        _ => "money-settings",
    })
}

/// `POST /admin/money`: saves every changed setting in one audited change; anything refused
/// changes nothing and the form comes back with what was typed.
pub async fn save_money(ctx: Ctx, RawForm(raw): RawForm) -> Result<Response, WebError> {
    let f = form_pairs(&raw);
    let tr = ctx.words().await?;
    let settings = match read_form(&f, &tr) {
        Ok(s) => s,
        Err(errors) => return money_page(&ctx, Notes::refused(errors), Some(&f)).await,
    };
    match money_settings::save(&ctx.inst, settings, ctx.by.clone()).await {
        Ok(n) => money_page(&ctx, Notes::done(tr.count("saved-settings", n)), None).await,
        Err(HubError::Invalid(errs)) => {
            let errors = errs
                .into_iter()
                .map(|e| format!("{}: {}", label(&tr, &e.field), e.message))
                .collect();
            money_page(&ctx, Notes::refused(errors), Some(&f)).await
        }
        Err(e) => Err(e.into()),
    }
}
