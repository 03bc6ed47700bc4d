//! The EN 16931 e-invoice of an issued invoice in UN/CEFACT CII syntax (the XML inside
//! Factur-X/ZUGFeRD, profile EN 16931), written from the same `InvoiceDocument` as the page and the
//! PDF so that every amount agrees with them to the cent.

use super::invoice_document::{Buyer, DocStatus, InvoiceDocument, Seller, TaxRow};
use super::problem::Conflict;
use super::records::HubError;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

/// ISO 3166-1 alpha-2 codes, as the EN 16931 code list (BR-CL-14) has them, plus its two extra
/// entries: 1A (Kosovo) and XI (Northern Ireland).
const COUNTRIES: &str = "1A AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI \
BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE \
DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS \
GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW \
KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW \
MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO \
RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM \
TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS XI YE YT ZA ZM ZW";

/// The profile's identifier in the document context (Factur-X and ZUGFeRD "EN 16931").
pub const GUIDELINE: &str = "urn:cen.eu:en16931:2017";

const RSM: &str = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100";
const RAM: &str =
    "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100";
const UDT: &str = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100";
const QDT: &str = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100";

/// A two-letter code of the EN 16931 country list (upper case).
pub fn is_country(code: &str) -> bool {
    code.len() == 2 && COUNTRIES.split_ascii_whitespace().any(|c| c == code)
}

/// A VAT identifier as BR-CO-09 wants it: a country prefix (Greece's EL included), then 2–18
/// letters or digits, upper case, without spaces.
pub fn is_vat_id(id: &str) -> bool {
    let b = id.as_bytes();
    (4..=20).contains(&b.len())
        && b.iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && (is_country(&id[..2]) || &id[..2] == "EL")
}

/// Minor units as the XML writes amounts: "-1234.50".
pub fn amount(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let a = minor.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// Thousandths with the trailing zeros cut: 2500 → "2.5", 3000 → "3".
fn quantity(milli: i64) -> String {
    let sign = if milli < 0 { "-" } else { "" };
    let q = milli.unsigned_abs();
    let frac = format!("{:03}", q % 1000);
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{sign}{}", q / 1000)
    } else {
        format!("{sign}{}.{frac}", q / 1000)
    }
}

/// Basis points as a percentage: 2300 → "23.00", 850 → "8.50".
fn percent(bp: i64) -> String {
    amount(bp)
}

/// The VAT category: standard rate above zero, zero-rated at 0 % (EN 16931 code list UNTDID 5305).
/// A 0 % line is taken as zero-rated (Z) rather than exempt (E): an exemption needs a reason the
/// invoice does not record.
fn category(bp: i64) -> &'static str {
    if bp == 0 { "Z" } else { "S" }
}

/// "2026-12-07" → "20261207" (date format 102); anything else is refused.
fn date102(field: &str, iso: &str) -> Result<String, HubError> {
    let b = iso.as_bytes();
    let ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !ok {
        return Err(damaged(format!(
            "the invoice's {field} \"{iso}\" is not a date"
        )));
    }
    Ok(iso.replace('-', ""))
}

/// XML 1.0 has no place for most control characters, escaped or not: they are dropped, line
/// breaks and tabs kept.
fn clean(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .collect()
}

/// The buyer's VAT identifier, when the client's tax ID has the form of one.
fn vat_form(tax_id: &str) -> Option<String> {
    let compact: String = tax_id
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    is_vat_id(&compact).then_some(compact)
}

/// Why an invoice has no e-invoice yet, in words an administrator can act on; `None` when it has.
pub fn refusal(d: &InvoiceDocument) -> Option<Conflict> {
    match d.status {
        DocStatus::Draft => return Some(Conflict::EinvoiceDraft),
        DocStatus::Void => return Some(Conflict::EinvoiceVoid),
        DocStatus::Issued | DocStatus::Paid => {}
    }
    let Some(s) = &d.seller else {
        return Some(Conflict::EinvoiceNoProfile);
    };
    if s.country_code.is_empty() || s.vat_id.is_empty() {
        return Some(Conflict::EinvoiceNoVatId);
    }
    if d.lines.is_empty() {
        return Some(Conflict::EinvoiceNoLines);
    }
    None
}

type Out = Result<(), HubError>;

struct Xml {
    w: Writer<Vec<u8>>,
}

/// An invoice whose stored data cannot make a valid e-invoice (never sent on as one).
fn damaged(english: String) -> HubError {
    HubError::stored_data("conflict-einvoice-damaged", english)
}

fn write_err(e: std::io::Error) -> HubError {
    damaged(format!("the e-invoice cannot be written: {e}"))
}

impl Xml {
    fn open_with(&mut self, name: &str, attrs: &[(&str, &str)]) -> Out {
        let mut start = BytesStart::new(name);
        for a in attrs {
            // quick-xml escapes attribute values (quotes, '<', '&') as it writes them.
            start.push_attribute(*a);
        }
        self.w.write_event(Event::Start(start)).map_err(write_err)
    }

    fn open(&mut self, name: &str) -> Out {
        self.open_with(name, &[])
    }

    fn close(&mut self, name: &str) -> Out {
        self.w
            .write_event(Event::End(BytesEnd::new(name)))
            .map_err(write_err)
    }

    fn leaf_with(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) -> Out {
        self.open_with(name, attrs)?;
        // BytesText::new escapes '<', '>', '&', quotes.
        self.w
            .write_event(Event::Text(BytesText::new(&clean(text))))
            .map_err(write_err)?;
        self.close(name)
    }

    fn leaf(&mut self, name: &str, text: &str) -> Out {
        self.leaf_with(name, &[], text)
    }

    fn date(&mut self, name: &str, yyyymmdd: &str) -> Out {
        self.open(name)?;
        self.leaf_with("udt:DateTimeString", &[("format", "102")], yyyymmdd)?;
        self.close(name)
    }

    fn address(&mut self, lines: &[String], country: &str) -> Out {
        self.open("ram:PostalTradeAddress")?;
        let names = ["ram:LineOne", "ram:LineTwo", "ram:LineThree"];
        for (i, name) in names.iter().enumerate() {
            // A fourth line joins the third: CII has three.
            let text = if i == 2 {
                lines.get(2..).map(|l| l.join(", ")).unwrap_or_default()
            } else {
                lines.get(i).cloned().unwrap_or_default()
            };
            if !text.is_empty() {
                self.leaf(name, &text)?;
            }
        }
        self.leaf("ram:CountryID", country)?;
        self.close("ram:PostalTradeAddress")
    }

    fn seller(&mut self, s: &Seller) -> Out {
        self.open("ram:SellerTradeParty")?;
        self.leaf("ram:Name", &s.name)?;
        self.address(&s.address, &s.country_code)?;
        self.open("ram:SpecifiedTaxRegistration")?;
        self.leaf_with("ram:ID", &[("schemeID", "VA")], &s.vat_id)?;
        self.close("ram:SpecifiedTaxRegistration")?;
        let compact: String = s.tax_id.chars().filter(|c| !c.is_whitespace()).collect();
        if !compact.is_empty() && !compact.eq_ignore_ascii_case(&s.vat_id) {
            // A national tax number beside the VAT ID (BT-32, "FC": fiscal number).
            self.open("ram:SpecifiedTaxRegistration")?;
            self.leaf_with("ram:ID", &[("schemeID", "FC")], &s.tax_id)?;
            self.close("ram:SpecifiedTaxRegistration")?;
        }
        self.close("ram:SellerTradeParty")
    }

    fn buyer(&mut self, b: &Buyer, country: &str) -> Out {
        self.open("ram:BuyerTradeParty")?;
        self.leaf("ram:Name", &b.name)?;
        let vat = vat_form(&b.tax_id);
        if vat.is_none() && !b.tax_id.trim().is_empty() {
            // Not a VAT identifier (no country prefix): the buyer's legal registration (BT-47).
            self.open("ram:SpecifiedLegalOrganization")?;
            self.leaf("ram:ID", b.tax_id.trim())?;
            self.close("ram:SpecifiedLegalOrganization")?;
        }
        self.address(&b.address, country)?;
        if !b.email.is_empty() {
            self.open("ram:URIUniversalCommunication")?;
            self.leaf_with("ram:URIID", &[("schemeID", "EM")], &b.email)?;
            self.close("ram:URIUniversalCommunication")?;
        }
        if let Some(v) = vat {
            self.open("ram:SpecifiedTaxRegistration")?;
            self.leaf_with("ram:ID", &[("schemeID", "VA")], &v)?;
            self.close("ram:SpecifiedTaxRegistration")?;
        }
        self.close("ram:BuyerTradeParty")
    }

    fn tax(&mut self, t: &TaxRow) -> Out {
        self.open("ram:ApplicableTradeTax")?;
        self.leaf("ram:CalculatedAmount", &amount(t.tax))?;
        self.leaf("ram:TypeCode", "VAT")?;
        self.leaf("ram:BasisAmount", &amount(t.net))?;
        self.leaf("ram:CategoryCode", category(t.rate_bp))?;
        self.leaf("ram:RateApplicablePercent", &percent(t.rate_bp))?;
        self.close("ram:ApplicableTradeTax")
    }
}

/// The buyer's country: the prefix of the client's VAT ID when it has one, else the seller's
/// (the client record keeps its address as free text, without a country of its own).
pub fn buyer_country(b: &Buyer, seller_country: &str) -> String {
    match vat_form(&b.tax_id) {
        Some(v) if &v[..2] == "EL" => "GR".into(),
        Some(v) => v[..2].to_string(),
        None => seller_country.to_string(),
    }
}

/// The CII XML of an issued (or paid) invoice; a draft, a void invoice or an incomplete seller
/// profile is refused with the reason ([`refusal`]).
pub fn build(d: &InvoiceDocument) -> Result<Vec<u8>, HubError> {
    if let Some(why) = refusal(d) {
        return Err(HubError::Refused(why));
    }
    let (Some(seller), Some(number), Some(issue)) = (&d.seller, &d.number, &d.issue_date) else {
        return Err(damaged(
            "an issued invoice without a number or issue date has no e-invoice".into(),
        ));
    };
    // The header must be the sum of its parts (BR-CO-10, BR-CO-14, BR-CO-15): the stored totals
    // are, by construction; a difference means damaged data, never sent on.
    let net: i64 = d.lines.iter().map(|l| l.net).sum();
    let tax: i64 = d.taxes.iter().map(|t| t.tax).sum();
    if net != d.subtotal || tax != d.tax_total || d.subtotal + d.tax_total != d.total {
        return Err(damaged(format!(
            "invoice {number}: its totals do not add up from its lines; it is not written as an e-invoice"
        )));
    }
    let mut x = Xml {
        w: Writer::new_with_indent(Vec::new(), b' ', 1),
    };
    x.w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .map_err(write_err)?;
    let root = "rsm:CrossIndustryInvoice";
    x.open_with(
        root,
        &[
            ("xmlns:rsm", RSM),
            ("xmlns:qdt", QDT),
            ("xmlns:ram", RAM),
            ("xmlns:udt", UDT),
        ],
    )?;
    x.open("rsm:ExchangedDocumentContext")?;
    x.open("ram:GuidelineSpecifiedDocumentContextParameter")?;
    x.leaf("ram:ID", GUIDELINE)?;
    x.close("ram:GuidelineSpecifiedDocumentContextParameter")?;
    x.close("rsm:ExchangedDocumentContext")?;

    x.open("rsm:ExchangedDocument")?;
    x.leaf("ram:ID", number)?;
    // 380: commercial invoice.
    x.leaf("ram:TypeCode", "380")?;
    x.date("ram:IssueDateTime", &date102("issue date", issue)?)?;
    if let Some(n) = &d.notes {
        x.open("ram:IncludedNote")?;
        x.leaf("ram:Content", n)?;
        x.close("ram:IncludedNote")?;
    }
    x.close("rsm:ExchangedDocument")?;

    x.open("rsm:SupplyChainTradeTransaction")?;
    for (i, l) in d.lines.iter().enumerate() {
        x.open("ram:IncludedSupplyChainTradeLineItem")?;
        x.open("ram:AssociatedDocumentLineDocument")?;
        x.leaf("ram:LineID", &(i + 1).to_string())?;
        x.close("ram:AssociatedDocumentLineDocument")?;
        x.open("ram:SpecifiedTradeProduct")?;
        x.leaf("ram:Name", &l.description)?;
        x.close("ram:SpecifiedTradeProduct")?;
        // A price is never negative (BR-27): a credit line carries its sign in the quantity.
        let (qty, price) = if l.unit_price < 0 {
            (-l.quantity_milli, -l.unit_price)
        } else {
            (l.quantity_milli, l.unit_price)
        };
        x.open("ram:SpecifiedLineTradeAgreement")?;
        x.open("ram:NetPriceProductTradePrice")?;
        x.leaf("ram:ChargeAmount", &amount(price))?;
        x.close("ram:NetPriceProductTradePrice")?;
        x.close("ram:SpecifiedLineTradeAgreement")?;
        x.open("ram:SpecifiedLineTradeDelivery")?;
        // C62: "one" (a unit without a name; the invoice records none).
        x.leaf_with("ram:BilledQuantity", &[("unitCode", "C62")], &quantity(qty))?;
        x.close("ram:SpecifiedLineTradeDelivery")?;
        x.open("ram:SpecifiedLineTradeSettlement")?;
        x.open("ram:ApplicableTradeTax")?;
        x.leaf("ram:TypeCode", "VAT")?;
        x.leaf("ram:CategoryCode", category(l.tax_rate_bp))?;
        x.leaf("ram:RateApplicablePercent", &percent(l.tax_rate_bp))?;
        x.close("ram:ApplicableTradeTax")?;
        x.open("ram:SpecifiedTradeSettlementLineMonetarySummation")?;
        x.leaf("ram:LineTotalAmount", &amount(l.net))?;
        x.close("ram:SpecifiedTradeSettlementLineMonetarySummation")?;
        x.close("ram:SpecifiedLineTradeSettlement")?;
        x.close("ram:IncludedSupplyChainTradeLineItem")?;
    }

    x.open("ram:ApplicableHeaderTradeAgreement")?;
    x.seller(seller)?;
    x.buyer(&d.buyer, &buyer_country(&d.buyer, &seller.country_code))?;
    x.close("ram:ApplicableHeaderTradeAgreement")?;
    // Delivery details are optional in EN 16931; the element is not.
    x.open("ram:ApplicableHeaderTradeDelivery")?;
    x.close("ram:ApplicableHeaderTradeDelivery")?;

    x.open("ram:ApplicableHeaderTradeSettlement")?;
    x.leaf("ram:PaymentReference", number)?;
    x.leaf("ram:InvoiceCurrencyCode", &d.currency)?;
    let account: String = seller
        .bank_account
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    if !account.is_empty() {
        x.open("ram:SpecifiedTradeSettlementPaymentMeans")?;
        // 30: credit transfer (58, SEPA credit transfer, is for euro transfers only).
        x.leaf("ram:TypeCode", "30")?;
        x.open("ram:PayeePartyCreditorFinancialAccount")?;
        let b = account.as_bytes();
        let iban = b.len() >= 15
            && b[0].is_ascii_alphabetic()
            && b[1].is_ascii_alphabetic()
            && b[2].is_ascii_digit()
            && b[3].is_ascii_digit();
        if iban {
            x.leaf("ram:IBANID", &account)?;
        } else {
            x.leaf("ram:ProprietaryID", seller.bank_account.trim())?;
        }
        x.close("ram:PayeePartyCreditorFinancialAccount")?;
        x.close("ram:SpecifiedTradeSettlementPaymentMeans")?;
    }
    for t in &d.taxes {
        x.tax(t)?;
    }
    let details = seller.payment_details.trim();
    if d.due_date.is_some() || !details.is_empty() {
        x.open("ram:SpecifiedTradePaymentTerms")?;
        if !details.is_empty() {
            x.leaf("ram:Description", details)?;
        }
        if let Some(due) = &d.due_date {
            x.date("ram:DueDateDateTime", &date102("due date", due)?)?;
        }
        x.close("ram:SpecifiedTradePaymentTerms")?;
    }
    x.open("ram:SpecifiedTradeSettlementHeaderMonetarySummation")?;
    x.leaf("ram:LineTotalAmount", &amount(d.subtotal))?;
    x.leaf("ram:TaxBasisTotalAmount", &amount(d.subtotal))?;
    x.leaf_with(
        "ram:TaxTotalAmount",
        &[("currencyID", &d.currency)],
        &amount(d.tax_total),
    )?;
    x.leaf("ram:GrandTotalAmount", &amount(d.total))?;
    x.leaf("ram:DuePayableAmount", &amount(d.total))?;
    x.close("ram:SpecifiedTradeSettlementHeaderMonetarySummation")?;
    x.close("ram:ApplicableHeaderTradeSettlement")?;
    x.close("rsm:SupplyChainTradeTransaction")?;
    x.close(root)?;
    Ok(x.w.into_inner())
}

/// The download's name: the PDF's, ending in `.xml`.
pub fn file_name(d: &InvoiceDocument) -> String {
    let pdf = d.file_name();
    format!("{}.xml", pdf.strip_suffix(".pdf").unwrap_or(&pdf))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::invoice_document::{DocLine, tax_summary};
    use crate::hub::money::Locale;

    fn doc(status: DocStatus) -> InvoiceDocument {
        let lines = vec![
            DocLine {
                description: "Consulting <&> \"quoted\"\u{7}".into(),
                quantity_milli: 2500,
                unit_price: 123_450,
                tax_rate_bp: 2300,
                net: 308_625,
                tax: 70_984,
            },
            DocLine {
                description: "Books".into(),
                quantity_milli: 1000,
                unit_price: 1000,
                tax_rate_bp: 0,
                net: 1000,
                tax: 0,
            },
        ];
        InvoiceDocument {
            id: 3,
            status,
            number: Some("2026-0001".into()),
            issue_date: Some("2026-12-07".into()),
            due_date: Some("2026-12-21".into()),
            paid_at: None,
            currency: "PLN".into(),
            locale: Locale::Pl,
            seller: Some(Seller {
                name: "A & B".into(),
                address: vec!["1".into(), "2".into(), "3".into(), "4".into()],
                tax_id: "526-025-09-95".into(),
                bank_account: "PL61 1090 1014 0000 0712 1981 2874".into(),
                payment_details: String::new(),
                country_code: "PL".into(),
                vat_id: "PL5260250995".into(),
            }),
            buyer: Buyer {
                name: "C".into(),
                address: vec![],
                tax_id: "DE 123456789".into(),
                email: String::new(),
            },
            taxes: tax_summary(&lines),
            subtotal: 309_625,
            tax_total: 70_984,
            total: 380_609,
            lines,
            notes: None,
        }
    }

    #[test]
    fn amounts_quantities_and_rates_are_plain_decimals() {
        assert_eq!(amount(123_450), "1234.50");
        assert_eq!(amount(-5), "-0.05");
        assert_eq!(amount(0), "0.00");
        assert_eq!(quantity(2500), "2.5");
        assert_eq!(quantity(3000), "3");
        assert_eq!(quantity(-1005), "-1.005");
        assert_eq!(percent(850), "8.50");
    }

    #[test]
    fn country_and_vat_id_forms() {
        assert!(is_country("PL") && is_country("XI") && !is_country("XQ") && !is_country("pl"));
        assert!(is_vat_id("PL5260250995") && is_vat_id("EL123456789"));
        assert!(!is_vat_id("5260250995") && !is_vat_id("PL") && !is_vat_id("ŻŁ12345"));
        let b = Buyer {
            tax_id: "EL 123456789".into(),
            ..Buyer::default()
        };
        assert_eq!(buyer_country(&b, "PL"), "GR");
        assert_eq!(buyer_country(&Buyer::default(), "PL"), "PL");
    }

    #[test]
    fn text_is_escaped_and_control_characters_dropped() {
        let xml = String::from_utf8(build(&doc(DocStatus::Issued)).unwrap()).unwrap();
        assert!(
            xml.contains("Consulting &lt;&amp;&gt; &quot;quoted&quot;</ram:Name>"),
            "{xml}"
        );
        assert!(xml.contains("<ram:Name>A &amp; B</ram:Name>"));
        assert!(xml.contains("<ram:LineThree>3, 4</ram:LineThree>"));
        assert!(xml.contains("<ram:CategoryCode>Z</ram:CategoryCode>"));
        assert!(xml.contains("<ram:ID schemeID=\"VA\">DE123456789</ram:ID>"));
        assert!(xml.contains("<ram:CountryID>DE</ram:CountryID>"));
        assert!(xml.contains("<ram:IBANID>PL61109010140000071219812874</ram:IBANID>"));
        assert!(xml.contains("<ram:GrandTotalAmount>3806.09</ram:GrandTotalAmount>"));
    }

    #[test]
    fn drafts_void_invoices_and_bad_totals_are_refused() {
        assert!(matches!(
            build(&doc(DocStatus::Draft)),
            Err(HubError::Refused(Conflict::EinvoiceDraft))
        ));
        assert!(matches!(
            build(&doc(DocStatus::Void)),
            Err(HubError::Refused(Conflict::EinvoiceVoid))
        ));
        let mut d = doc(DocStatus::Paid);
        assert!(build(&d).is_ok());
        d.total += 1;
        assert!(build(&d).unwrap_err().to_string().contains("do not add up"));
        let mut d = doc(DocStatus::Issued);
        if let Some(s) = d.seller.as_mut() {
            s.vat_id.clear();
        }
        assert!(build(&d).unwrap_err().to_string().contains("VAT ID"));
        assert_eq!(file_name(&d), "invoice-2026-0001.xml");
    }
}
