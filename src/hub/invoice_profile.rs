//! The seller's invoice profile: the legal name, address, tax ID and bank details every invoice
//! document of the instance shows, checked field by field and changed only by an administrator,
//! each change audited in the transaction that makes it.

use super::records::{FieldError, HubError};
use crate::audit::{self, By, Entry, Event};
use crate::clock::stamp;
use crate::instances::Instance;
use crate::storage::invoice_document::{self as store, ProfileRow};
use serde_json::{Map, Value as Json, json};

/// Longest legal name, in characters.
pub const NAME_MAX: usize = 200;
/// Most address lines, and the longest line, in characters.
pub const ADDRESS_LINES_MAX: usize = 4;
pub const ADDRESS_LINE_MAX: usize = 100;
/// Longest tax ID, in characters (the clients' `tax_id` field allows the same).
pub const TAX_ID_MAX: usize = 40;
/// Longest bank account, in characters (an IBAN has at most 34, grouped with spaces 42).
pub const ACCOUNT_MAX: usize = 64;
/// Longest payment details text, in characters and lines.
pub const DETAILS_MAX: usize = 1000;
pub const DETAILS_LINES_MAX: usize = 10;

/// The profile as the document and the admin page use it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub legal_name: String,
    pub address: Vec<String>,
    pub tax_id: String,
    pub bank_account: String,
    pub payment_details: String,
    /// ISO 3166-1 alpha-2, upper case, or empty: EN 16931 needs it for an e-invoice.
    pub country_code: String,
    /// The VAT identifier with its country prefix, without spaces, or empty.
    pub vat_id: String,
}

impl Profile {
    pub(crate) fn from_row(r: ProfileRow) -> Self {
        Profile {
            legal_name: r.legal_name,
            address: lines(&r.address),
            tax_id: r.tax_id,
            bank_account: r.bank_account,
            payment_details: r.payment_details,
            country_code: r.country_code,
            vat_id: r.vat_id,
        }
    }

    fn to_row(&self) -> ProfileRow {
        ProfileRow {
            legal_name: self.legal_name.clone(),
            address: self.address.join("\n"),
            tax_id: self.tax_id.clone(),
            bank_account: self.bank_account.clone(),
            payment_details: self.payment_details.clone(),
            country_code: self.country_code.clone(),
            vat_id: self.vat_id.clone(),
        }
    }

    fn fields(&self) -> [(&'static str, String); 7] {
        [
            ("legal_name", self.legal_name.clone()),
            ("address", self.address.join("\n")),
            ("tax_id", self.tax_id.clone()),
            ("bank_account", self.bank_account.clone()),
            ("payment_details", self.payment_details.clone()),
            ("country_code", self.country_code.clone()),
            ("vat_id", self.vat_id.clone()),
        ]
    }
}

/// What the administrator typed, field by field, before any check.
#[derive(Debug, Clone, Default)]
pub struct ProfileInput {
    pub legal_name: String,
    pub address: String,
    pub tax_id: String,
    pub bank_account: String,
    pub payment_details: String,
    pub country_code: String,
    pub vat_id: String,
}

/// Non-empty, trimmed lines of a multi-line text.
pub(crate) fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn has_control(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// One line of text up to `max` characters without control characters.
fn one_line(
    errors: &mut Vec<FieldError>,
    field: &str,
    label: &str,
    text: &str,
    max: usize,
) -> String {
    let t = text.trim();
    if has_control(t) {
        push(
            errors,
            field,
            format!("{label} is one line without control characters"),
        );
    } else if t.chars().count() > max {
        push(
            errors,
            field,
            format!("{label} has at most {max} characters"),
        );
    }
    t.to_string()
}

fn push(errors: &mut Vec<FieldError>, field: &str, message: String) {
    errors.push(FieldError {
        field: field.into(),
        message,
        problem: None,
    });
}

/// An IBAN's check digits (ISO 13616, mod 97 = 1) over its letters and digits.
fn iban_ok(compact: &str) -> bool {
    if !(15..=34).contains(&compact.len()) || !compact.chars().all(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut rem: u32 = 0;
    for c in tail.chars().chain(head.chars()) {
        let v = match c.to_digit(36) {
            Some(v) => v,
            None => return false,
        };
        // Letters count as two digits (A = 10 … Z = 35).
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// Checks every field; all problems at once, nothing changed when there is one.
pub fn check(input: &ProfileInput) -> Result<Profile, HubError> {
    let mut errors = Vec::new();
    let legal_name = one_line(
        &mut errors,
        "legal_name",
        "the legal name",
        &input.legal_name,
        NAME_MAX,
    );
    if legal_name.is_empty() && errors.is_empty() {
        push(
            &mut errors,
            "legal_name",
            format!("write the seller's legal name (1–{NAME_MAX} characters)"),
        );
    }
    let address_text = input.address.replace("\r\n", "\n");
    let address = lines(&address_text);
    if address_text.chars().any(|c| c.is_control() && c != '\n') {
        push(
            &mut errors,
            "address",
            "the address may not contain control characters (line breaks excepted)".into(),
        );
    } else if address.len() > ADDRESS_LINES_MAX {
        push(
            &mut errors,
            "address",
            format!("the address has at most {ADDRESS_LINES_MAX} lines"),
        );
    } else if let Some(n) = address
        .iter()
        .position(|l| l.chars().count() > ADDRESS_LINE_MAX)
    {
        push(
            &mut errors,
            "address",
            format!(
                "address line {} is longer than {ADDRESS_LINE_MAX} characters",
                n + 1
            ),
        );
    }
    let tax_id = one_line(
        &mut errors,
        "tax_id",
        "the tax ID",
        &input.tax_id,
        TAX_ID_MAX,
    );
    let bank_account = one_line(
        &mut errors,
        "bank_account",
        "the bank account",
        &input.bank_account,
        ACCOUNT_MAX,
    );
    let compact: String = bank_account
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let b = compact.as_bytes();
    let looks_iban = b.len() >= 4
        && b[0].is_ascii_alphabetic()
        && b[1].is_ascii_alphabetic()
        && b[2].is_ascii_digit()
        && b[3].is_ascii_digit();
    if !has_control(&bank_account) && bank_account.chars().count() <= ACCOUNT_MAX {
        if looks_iban && !iban_ok(&compact) {
            push(
                &mut errors,
                "bank_account",
                "this IBAN's check digits do not match: check it for a typing error".into(),
            );
        } else if !looks_iban
            && !bank_account
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '-' | '/'))
        {
            push(
                &mut errors,
                "bank_account",
                "the bank account has only letters, digits, spaces, '-' and '/'".into(),
            );
        }
    }
    let details = input.payment_details.replace("\r\n", "\n");
    let details = details.trim().to_string();
    if details.chars().any(|c| c.is_control() && c != '\n') {
        push(
            &mut errors,
            "payment_details",
            "the payment details may not contain control characters (line breaks excepted)".into(),
        );
    } else if details.chars().count() > DETAILS_MAX {
        push(
            &mut errors,
            "payment_details",
            format!("the payment details have at most {DETAILS_MAX} characters"),
        );
    } else if details.lines().count() > DETAILS_LINES_MAX {
        push(
            &mut errors,
            "payment_details",
            format!("the payment details have at most {DETAILS_LINES_MAX} lines"),
        );
    }
    let country_code = input.country_code.trim().to_ascii_uppercase();
    if !country_code.is_empty() && !crate::hub::einvoice::is_country(&country_code) {
        push(
            &mut errors,
            "country_code",
            "the country is a two-letter ISO 3166-1 code, such as PL or DE".into(),
        );
    }
    let vat_id: String = input
        .vat_id
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if !vat_id.is_empty() && !crate::hub::einvoice::is_vat_id(&vat_id) {
        push(
            &mut errors,
            "vat_id",
            "the VAT ID is a two-letter country prefix and 2–18 letters or digits, such as PL5260250995".into(),
        );
    }
    if !errors.is_empty() {
        return Err(HubError::Invalid(errors));
    }
    Ok(Profile {
        legal_name,
        address,
        tax_id,
        bank_account,
        payment_details: details,
        country_code,
        vat_id,
    })
}

/// The profile, `None` until an administrator first saves one.
pub async fn get(inst: &Instance) -> Result<Option<Profile>, HubError> {
    Ok(inst.db.read(store::profile).await?.map(Profile::from_row))
}

/// Saves the profile; the security log gets the fields that changed, before and after. Returns
/// how many fields changed (0: nothing written, nothing logged).
pub async fn set(inst: &Instance, input: ProfileInput, by: By) -> Result<usize, HubError> {
    let new = check(&input)?;
    inst.db
        .write(move |tx| -> Result<usize, HubError> {
            let old = store::profile(tx)?.map(Profile::from_row);
            let old_fields = old.as_ref().map(Profile::fields);
            let mut from = Map::new();
            let mut to = Map::new();
            for (i, (name, value)) in new.fields().into_iter().enumerate() {
                let before = old_fields.as_ref().map(|f| f[i].1.clone());
                if before.as_deref() != Some(value.as_str()) {
                    from.insert(name.into(), before.map_or(Json::Null, Json::String));
                    to.insert(name.into(), Json::String(value));
                }
            }
            if to.is_empty() {
                return Ok(0);
            }
            store::set_profile(tx, &new.to_row(), &stamp(by.now))?;
            let changed = to.len();
            audit::write(
                tx,
                by.now,
                Entry::new(
                    Event::InvoiceProfileChanged,
                    by.actor.clone(),
                    "invoice_profile",
                    by.source.clone(),
                )
                .with(json!({ "from": from, "to": to })),
            )?;
            Ok(changed)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ProfileInput {
        ProfileInput {
            legal_name: "Żółta Łódź sp. z o.o.".into(),
            address: "ul. Świętokrzyska 12\r\n\r\n00-916 Warszawa\n".into(),
            tax_id: "PL5260250995".into(),
            bank_account: "PL61 1090 1014 0000 0712 1981 2874".into(),
            payment_details: "Bank Przykładowy S.A.\nSWIFT: WBKPPLPP".into(),
            country_code: "pl".into(),
            vat_id: "PL 526 025 09 95".into(),
        }
    }

    #[test]
    fn a_good_profile_is_kept_with_its_lines() {
        let p = check(&input()).unwrap();
        assert_eq!(p.address, vec!["ul. Świętokrzyska 12", "00-916 Warszawa"]);
        assert_eq!(p.legal_name, "Żółta Łódź sp. z o.o.");
        assert_eq!(
            (p.country_code.as_str(), p.vat_id.as_str()),
            ("PL", "PL5260250995")
        );
    }

    #[test]
    fn iban_check_digits() {
        assert!(iban_ok("PL61109010140000071219812874"));
        assert!(iban_ok("DE89370400440532013000"));
        assert!(!iban_ok("DE89370400440532013001"));
        let mut i = input();
        i.bank_account = "PL62 1090 1014 0000 0712 1981 2874".into();
        let e = check(&i).unwrap_err().to_string();
        assert!(
            e.contains("bank_account") && e.contains("check digits"),
            "{e}"
        );
        i.bank_account = "12 3456 7890".into();
        assert!(
            check(&i).is_ok(),
            "a national account number without IBAN form"
        );
        i.bank_account = "12;drop".into();
        assert!(check(&i).is_err());
    }

    #[test]
    fn every_bad_field_is_named() {
        let i = ProfileInput {
            legal_name: "A\u{7}B".into(),
            address: "1\n2\n3\n4\n5".into(),
            tax_id: "x".repeat(TAX_ID_MAX + 1),
            bank_account: String::new(),
            payment_details: "ok\u{1b}[31m".into(),
            country_code: "XQ".into(),
            vat_id: "5260250995".into(),
        };
        let HubError::Invalid(errors) = check(&i).unwrap_err() else {
            panic!("not a field error");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "legal_name",
                "address",
                "tax_id",
                "payment_details",
                "country_code",
                "vat_id"
            ]
        );
        let mut i = input();
        i.legal_name = "   ".into();
        assert!(check(&i).unwrap_err().to_string().contains("legal name"));
        i = input();
        i.address = format!("{}\nx", "y".repeat(ADDRESS_LINE_MAX + 1));
        assert!(check(&i).unwrap_err().to_string().contains("line 1"));
    }
}
