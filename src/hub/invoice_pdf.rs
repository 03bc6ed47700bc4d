//! The invoice document as an A4 PDF, made on the server with krilla and the DejaVu Sans font
//! built into the binary (subset into each file), so that every Latin-extended name prints and
//! copies out as written. Layout first (pages of drawing operations), then drawing. Glyphs are
//! placed one per character from the font's own tables (skrifa): Latin text needs no shaping, and
//! krilla's shaping feature would bring in rustybuzz, which RustSec lists as unmaintained.

use super::invoice_document::{DocStatus, InvoiceDocument};
use crate::i18n::Tr;
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Transform};
use krilla::metadata::Metadata;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::{Font, GlyphId as PdfGlyph, KrillaGlyph};
use rust_embed::RustEmbed;
use skrifa::charmap::Charmap;
use skrifa::instance::{LocationRef, Size};
use skrifa::metrics::GlyphMetrics;
use skrifa::{FontRef, GlyphId, MetadataProvider};
use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;

#[derive(RustEmbed)]
// The licence file beside the fonts is embedded with them.
#[folder = "assets/fonts/"]
struct Fonts;

const REGULAR: &str = "DejaVuSans.ttf";
const BOLD: &str = "DejaVuSans-Bold.ttf";

/// A4 in points, and the margins.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 50.0;
/// Where the body of a page ends (the footer sits below it).
const BODY_END: f32 = PAGE_H - 62.0;
const RIGHT: f32 = PAGE_W - MARGIN;

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("the font {0} is missing from the binary or unreadable")]
    Font(&'static str),
    #[error("the PDF could not be written: {0}")]
    Write(String),
}

/// One drawing operation; `y` is the baseline, measured from the top of the page.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        grey: bool,
        text: String,
    },
    Rule {
        x1: f32,
        x2: f32,
        y: f32,
        width: f32,
    },
    /// A large, light word across the page (DRAFT, VOID).
    Watermark(String),
}

/// One font's character map and advance widths.
struct Face<'a> {
    charmap: Charmap<'a>,
    metrics: GlyphMetrics<'a>,
    units_per_em: f32,
}

impl<'a> Face<'a> {
    fn parse(bytes: &'a [u8], name: &'static str) -> Result<Self, PdfError> {
        let font = FontRef::new(bytes).map_err(|_| PdfError::Font(name))?;
        let units = font
            .metrics(Size::unscaled(), LocationRef::default())
            .units_per_em;
        if units == 0 {
            return Err(PdfError::Font(name));
        }
        Ok(Face {
            charmap: font.charmap(),
            metrics: font.glyph_metrics(Size::unscaled(), LocationRef::default()),
            units_per_em: f32::from(units),
        })
    }

    /// One glyph per character (composed first: "a" + combining ogonek is "ą"), advances in em,
    /// each tied to its character's bytes so the PDF's text copies out as written.
    fn glyphs(&self, text: &str) -> Vec<KrillaGlyph> {
        text.char_indices()
            .map(|(i, c)| {
                let g = self.charmap.map(c).unwrap_or(GlyphId::NOTDEF);
                let advance = self.metrics.advance_width(g).unwrap_or(0.0) / self.units_per_em;
                KrillaGlyph::new(
                    PdfGlyph::new(g.to_u32()),
                    advance,
                    0.0,
                    0.0,
                    0.0,
                    i..i + c.len_utf8(),
                    None,
                )
            })
            .collect()
    }
}

fn nfc(text: &str) -> String {
    text.nfc().collect()
}

struct Faces<'a> {
    regular: Face<'a>,
    bold: Face<'a>,
}

impl Faces<'_> {
    fn face(&self, bold: bool) -> &Face<'_> {
        if bold { &self.bold } else { &self.regular }
    }

    fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let em: f32 = self
            .face(bold)
            .glyphs(&nfc(text))
            .iter()
            .map(|g| g.x_advance)
            .sum();
        em * size
    }

    /// Greedy word wrap to `max` points; a word wider than a line is cut by characters.
    fn wrap(&self, text: &str, size: f32, bold: bool, max: f32) -> Vec<String> {
        let mut out = Vec::new();
        for para in text.lines() {
            let mut line = String::new();
            for word in para.split_whitespace() {
                let candidate = if line.is_empty() {
                    word.to_string()
                } else {
                    format!("{line} {word}")
                };
                if self.width(&candidate, size, bold) <= max {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    out.push(std::mem::take(&mut line));
                }
                for c in word.chars() {
                    line.push(c);
                    if self.width(&line, size, bold) > max {
                        line.pop();
                        out.push(std::mem::take(&mut line));
                        line.push(c);
                    }
                }
            }
            out.push(line);
        }
        if out.is_empty() {
            out.push(String::new());
        }
        out
    }
}

/// Lays the document out on pages.
struct Layout<'a> {
    faces: &'a Faces<'a>,
    pages: Vec<Vec<Op>>,
    y: f32,
    mark: Option<String>,
}

impl<'a> Layout<'a> {
    fn new(faces: &'a Faces<'a>, mark: Option<String>) -> Self {
        let mut l = Layout {
            faces,
            pages: vec![],
            y: MARGIN,
            mark,
        };
        l.new_page();
        l
    }

    fn new_page(&mut self) {
        let mut ops = Vec::new();
        if let Some(m) = &self.mark {
            ops.push(Op::Watermark(m.clone()));
        }
        self.pages.push(ops);
        self.y = MARGIN;
    }

    /// Starts a new page unless `height` more points fit on this one.
    fn room(&mut self, height: f32) -> bool {
        if self.y + height > BODY_END {
            self.new_page();
            return true;
        }
        false
    }

    fn op(&mut self, op: Op) {
        if let Some(p) = self.pages.last_mut() {
            p.push(op);
        }
    }

    /// Text with its baseline at `y`, wherever the running position is (side-by-side blocks).
    fn text_at(&mut self, x: f32, y: f32, size: f32, (bold, grey): (bool, bool), text: &str) {
        self.op(Op::Text {
            x,
            y,
            size,
            bold,
            grey,
            text: text.to_string(),
        });
    }

    fn text(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        self.text_at(x, self.y, size, (bold, false), text);
    }

    fn grey(&mut self, x: f32, size: f32, text: &str) {
        self.text_at(x, self.y, size, (false, true), text);
    }

    fn right(&mut self, right: f32, size: f32, bold: bool, text: &str) {
        let w = self.faces.width(text, size, bold);
        self.text(right - w, size, bold, text);
    }

    fn rule(&mut self, x1: f32, x2: f32, width: f32) {
        self.op(Op::Rule {
            x1,
            x2,
            y: self.y,
            width,
        });
    }

    /// A wrapped paragraph at `x`, `max` wide, one line after another.
    fn para(&mut self, x: f32, max: f32, size: f32, text: &str) {
        for line in self.faces.wrap(text, size, false, max) {
            self.room(size * 1.4);
            self.y += size * 1.4;
            self.text(x, size, false, &line);
        }
    }

    fn heading(&mut self, text: &str) {
        // The heading, a table header and a first row stay together.
        self.room(64.0);
        self.y += 24.0;
        self.text(MARGIN, 11.0, true, text);
        self.y += 4.0;
        self.rule(MARGIN, RIGHT, 0.5);
    }
}

/// Columns of the lines table: (header, right edge or left start, right-aligned).
const COL_NO: f32 = MARGIN;
const COL_DESC: f32 = MARGIN + 22.0;
const DESC_W: f32 = 196.0;
const COL_QTY: f32 = MARGIN + 268.0;
const COL_PRICE: f32 = MARGIN + 350.0;
const COL_TAX: f32 = MARGIN + 398.0;

fn table_header(l: &mut Layout, currency: &str, tr: &Tr) {
    l.y += 14.0;
    l.text(COL_NO, 8.5, true, "#");
    l.text(COL_DESC, 8.5, true, &tr.t("invdoc-description"));
    l.right(COL_QTY, 8.5, true, &tr.t("invdoc-quantity"));
    l.right(
        COL_PRICE,
        8.5,
        true,
        &tr.t1("invdoc-unit-price", "currency", currency),
    );
    l.right(COL_TAX, 8.5, true, &tr.t("invdoc-tax-rate"));
    l.right(RIGHT, 8.5, true, &tr.t1("invdoc-net", "currency", currency));
    l.y += 4.0;
    l.rule(MARGIN, RIGHT, 0.5);
}

fn party(l: &mut Layout, x: f32, heading: &str, name: &str, lines: &[String]) -> f32 {
    let w = (PAGE_W - 2.0 * MARGIN) / 2.0 - 12.0;
    let mut y = l.y + 12.0;
    l.text_at(x, y, 8.5, (false, true), heading);
    for n in l.faces.wrap(name, 11.0, true, w) {
        y += 15.0;
        l.text_at(x, y, 11.0, (true, false), &n);
    }
    for line in lines {
        for part in l.faces.wrap(line, 9.5, false, w) {
            y += 13.0;
            l.text_at(x, y, 9.5, (false, false), &part);
        }
    }
    y
}

fn layout(doc: &InvoiceDocument, faces: &Faces, tr: &Tr) -> Vec<Vec<Op>> {
    let mut l = Layout::new(faces, doc.watermark(tr));
    let cur = doc.currency.as_str();

    l.y += 20.0;
    l.text(MARGIN, 20.0, true, &doc.title(tr));
    if let Some(m) = doc.mark(tr) {
        l.right(RIGHT, 16.0, true, &m);
    }
    let facts = doc.facts(tr);
    l.y += 8.0;
    for (k, v) in &facts {
        l.y += 13.0;
        l.grey(MARGIN, 9.0, k);
        l.text(MARGIN + 90.0, 9.0, false, v);
    }
    if doc.status == DocStatus::Draft {
        l.y += 13.0;
        l.grey(MARGIN, 9.0, &tr.t("invdoc-draft-warning"));
    }
    l.y += 10.0;
    l.rule(MARGIN, RIGHT, 0.5);

    let mut seller_lines = Vec::new();
    let seller_name = match &doc.seller {
        Some(s) => {
            seller_lines.extend(s.address.iter().cloned());
            if !s.tax_id.is_empty() {
                seller_lines.push(tr.t1("invdoc-tax-id", "id", &s.tax_id));
            }
            s.name.clone()
        }
        None => {
            seller_lines.push(tr.t("invdoc-seller-missing"));
            "—".into()
        }
    };
    let mut buyer_lines = doc.buyer.address.clone();
    if !doc.buyer.tax_id.is_empty() {
        buyer_lines.push(tr.t1("invdoc-tax-id", "id", &doc.buyer.tax_id));
    }
    if !doc.buyer.email.is_empty() {
        buyer_lines.push(doc.buyer.email.clone());
    }
    let mid = MARGIN + (PAGE_W - 2.0 * MARGIN) / 2.0 + 12.0;
    let a = party(
        &mut l,
        MARGIN,
        &tr.t("invdoc-seller"),
        &seller_name,
        &seller_lines,
    );
    let b = party(
        &mut l,
        mid,
        &tr.t("invdoc-buyer"),
        &doc.buyer.name,
        &buyer_lines,
    );
    l.y = a.max(b) + 12.0;

    l.heading(&tr.t("invdoc-lines"));
    table_header(&mut l, cur, tr);
    for (i, line) in doc.lines.iter().enumerate() {
        let desc = faces.wrap(&line.description, 9.0, false, DESC_W);
        let h = desc.len() as f32 * 12.0 + 4.0;
        if l.room(h + 4.0) {
            table_header(&mut l, cur, tr);
        }
        l.y += 14.0;
        let top = l.y;
        l.text(COL_NO, 9.0, false, &(i + 1).to_string());
        l.right(COL_QTY, 9.0, false, &doc.quantity(line.quantity_milli));
        l.right(COL_PRICE, 9.0, false, &doc.amount(line.unit_price));
        l.right(COL_TAX, 9.0, false, &doc.rate(line.tax_rate_bp));
        l.right(RIGHT, 9.0, false, &doc.amount(line.net));
        for (k, part) in desc.iter().enumerate() {
            l.y = top + k as f32 * 12.0;
            l.text(COL_DESC, 9.0, false, part);
        }
        l.y += 4.0;
        l.rule(MARGIN, RIGHT, 0.25);
    }
    if doc.lines.is_empty() {
        l.y += 14.0;
        l.grey(COL_DESC, 9.0, &tr.t("invdoc-no-lines"));
    }

    l.heading(&tr.t("invdoc-tax-summary"));
    let (c_net, c_tax) = (RIGHT - 200.0, RIGHT - 100.0);
    l.room(20.0);
    l.y += 14.0;
    l.text(MARGIN, 8.5, true, &tr.t("invdoc-rate"));
    l.right(c_net, 8.5, true, &tr.t1("invdoc-net", "currency", cur));
    l.right(c_tax, 8.5, true, &tr.t1("invdoc-tax", "currency", cur));
    l.right(RIGHT, 8.5, true, &tr.t1("invdoc-gross", "currency", cur));
    for t in &doc.taxes {
        l.room(14.0);
        l.y += 13.0;
        l.text(MARGIN, 9.0, false, &doc.rate(t.rate_bp));
        l.right(c_net, 9.0, false, &doc.amount(t.net));
        l.right(c_tax, 9.0, false, &doc.amount(t.tax));
        l.right(RIGHT, 9.0, false, &doc.amount(t.gross));
    }

    l.room(60.0);
    l.y += 12.0;
    l.rule(RIGHT - 230.0, RIGHT, 0.5);
    for (label, amount, bold) in [
        (tr.t("invdoc-total-net"), doc.subtotal, false),
        (tr.t("invdoc-tax-total"), doc.tax_total, false),
        (tr.t("invdoc-total"), doc.total, true),
    ] {
        let size = if bold { 12.0 } else { 9.5 };
        l.y += size + 5.0;
        l.text(RIGHT - 230.0, size, bold, &label);
        l.right(RIGHT, size, bold, &doc.money(amount));
    }

    l.heading(&tr.t("invdoc-payment"));
    if let Some(note) = doc.payment_note(tr) {
        l.para(MARGIN, RIGHT - MARGIN, 9.5, &note);
    }
    for (label, value) in doc.payment(tr) {
        l.para(MARGIN, RIGHT - MARGIN, 9.5, &format!("{label}: {value}"));
    }
    if let Some(s) = &doc.seller
        && !s.payment_details.is_empty()
    {
        l.y += 4.0;
        l.para(MARGIN, RIGHT - MARGIN, 9.0, &s.payment_details);
    }

    if let Some(n) = &doc.notes {
        l.heading(&tr.t("invdoc-notes"));
        l.para(MARGIN, RIGHT - MARGIN, 9.0, n);
    }

    let total = l.pages.len();
    let title = doc.title(tr);
    for (i, page) in l.pages.iter_mut().enumerate() {
        page.push(Op::Text {
            x: MARGIN,
            y: PAGE_H - 34.0,
            size: 8.0,
            bold: false,
            grey: true,
            text: tr.with(
                "invdoc-page",
                &[
                    ("title", title.clone().into()),
                    ("page", (i + 1).to_string().into()),
                    ("pages", total.to_string().into()),
                ],
            ),
        });
    }
    l.pages
}

fn font_bytes(name: &'static str) -> Result<Cow<'static, [u8]>, PdfError> {
    Fonts::get(name).map(|f| f.data).ok_or(PdfError::Font(name))
}

/// A release build borrows the embedded bytes; a debug build reads the file and owns them.
fn krilla_font(bytes: Cow<'static, [u8]>, name: &'static str) -> Result<Font, PdfError> {
    let data: krilla::Data = match bytes {
        Cow::Borrowed(b) => b.into(),
        Cow::Owned(v) => v.into(),
    };
    Font::new(data, 0).ok_or(PdfError::Font(name))
}

/// The document as PDF bytes.
pub fn render(doc: &InvoiceDocument, tr: &Tr) -> Result<Vec<u8>, PdfError> {
    let regular_bytes = font_bytes(REGULAR)?;
    let bold_bytes = font_bytes(BOLD)?;
    let faces = Faces {
        regular: Face::parse(&regular_bytes, REGULAR)?,
        bold: Face::parse(&bold_bytes, BOLD)?,
    };
    let regular = krilla_font(regular_bytes.clone(), REGULAR)?;
    let bold = krilla_font(bold_bytes.clone(), BOLD)?;
    let pages = layout(doc, &faces, tr);

    let mut pdf = Document::new();
    pdf.set_metadata(
        Metadata::new()
            .title(doc.title(tr))
            .creator("holdfast".to_string())
            .language("en".to_string()),
    );
    let settings =
        PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| PdfError::Write("page size".into()))?;
    let black = Fill {
        paint: rgb::Color::new(0, 0, 0).into(),
        ..Fill::default()
    };
    let grey = Fill {
        paint: rgb::Color::new(90, 90, 90).into(),
        ..Fill::default()
    };
    let faint = Fill {
        paint: rgb::Color::new(225, 225, 225).into(),
        ..Fill::default()
    };
    for ops in pages {
        let mut page = pdf.start_page_with(settings.clone());
        let mut surface = page.surface();
        for op in ops {
            match op {
                Op::Watermark(word) => {
                    let word = word.as_str();
                    let size = 110.0;
                    let w = faces.width(word, size, true);
                    surface.push_transform(&Transform::from_rotate_at(
                        -45.0,
                        PAGE_W / 2.0,
                        PAGE_H / 2.0,
                    ));
                    surface.set_fill(Some(faint.clone()));
                    surface.draw_glyphs(
                        Point::from_xy((PAGE_W - w) / 2.0, PAGE_H / 2.0 + size * 0.35),
                        &faces.bold.glyphs(word),
                        bold.clone(),
                        word,
                        size,
                        false,
                    );
                    surface.pop();
                }
                Op::Text {
                    x,
                    y,
                    size,
                    bold: is_bold,
                    grey: is_grey,
                    text,
                } => {
                    if text.is_empty() {
                        continue;
                    }
                    surface.set_fill(Some(if is_grey { grey.clone() } else { black.clone() }));
                    let font = if is_bold {
                        bold.clone()
                    } else {
                        regular.clone()
                    };
                    let text = nfc(&text);
                    surface.draw_glyphs(
                        Point::from_xy(x, y),
                        &faces.face(is_bold).glyphs(&text),
                        font,
                        &text,
                        size,
                        false,
                    );
                }
                Op::Rule { x1, x2, y, width } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(x1, y);
                    pb.line_to(x2, y);
                    if let Some(path) = pb.finish() {
                        surface.set_fill(None);
                        surface.set_stroke(Some(Stroke {
                            paint: rgb::Color::new(120, 120, 120).into(),
                            width,
                            ..Stroke::default()
                        }));
                        surface.draw_path(&path);
                        surface.set_stroke(None);
                    }
                }
            }
        }
        surface.finish();
        page.finish();
    }
    pdf.finish().map_err(|e| PdfError::Write(e.to_string()))
}

#[cfg(test)]
mod tests {
    fn en() -> crate::i18n::Tr {
        crate::i18n::Tr::new(
            std::sync::Arc::new(crate::i18n::Catalogue::embedded()),
            crate::i18n::Locale::En,
        )
    }

    use super::*;
    use crate::hub::invoice_document::{Buyer, DocLine, Seller, tax_summary};

    fn doc(lines: usize) -> InvoiceDocument {
        let lines: Vec<DocLine> = (0..lines)
            .map(|i| DocLine {
                description: format!("Konsultacje {i}: zażółć gęślą jaźń, a long description that wraps onto a second line of the table"),
                quantity_milli: 1500,
                unit_price: 10_000,
                tax_rate_bp: if i % 2 == 0 { 2300 } else { 800 },
                net: 15_000,
                tax: if i % 2 == 0 { 3_450 } else { 1_200 },
            })
            .collect();
        InvoiceDocument {
            id: 1,
            status: DocStatus::Issued,
            number: Some("2026-0001".into()),
            issue_date: Some("2026-12-01".into()),
            due_date: Some("2026-12-31".into()),
            paid_at: None,
            currency: "PLN".into(),
            locale: crate::hub::money::Locale::Pl,
            seller: Some(Seller {
                name: "Żółta Łódź sp. z o.o.".into(),
                address: vec!["ul. Świętokrzyska 12".into(), "00-916 Warszawa".into()],
                tax_id: "PL5260250995".into(),
                bank_account: "PL61 1090 1014 0000 0712 1981 2874".into(),
                payment_details: "Przelew w ciągu 30 dni.".into(),
                ..Seller::default()
            }),
            buyer: Buyer {
                name: "Ćma Źródło Ńówka".into(),
                address: vec!["Kraków".into()],
                tax_id: String::new(),
                email: String::new(),
            },
            taxes: tax_summary(&lines),
            subtotal: lines.iter().map(|l| l.net).sum(),
            tax_total: lines.iter().map(|l| l.tax).sum(),
            total: lines.iter().map(|l| l.net + l.tax).sum(),
            lines,
            notes: Some("Dziękujemy.".into()),
        }
    }

    #[test]
    fn a_pdf_is_made_and_long_invoices_break_onto_numbered_pages() {
        let bytes = render(&doc(3), &en()).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        let regular = font_bytes(REGULAR).unwrap();
        let bold = font_bytes(BOLD).unwrap();
        let faces = Faces {
            regular: Face::parse(&regular, REGULAR).unwrap(),
            bold: Face::parse(&bold, BOLD).unwrap(),
        };
        assert_eq!(layout(&doc(3), &faces, &en()).len(), 1);
        let pages = layout(&doc(60), &faces, &en());
        assert!(pages.len() > 2, "{} pages", pages.len());
        for (i, page) in pages.iter().enumerate() {
            let footer = format!("page {} of {}", i + 1, pages.len());
            assert!(
                page.iter()
                    .any(|op| matches!(op, Op::Text { text, .. } if text.ends_with(&footer)))
            );
            for op in page {
                if let Op::Text { y, text, .. } = op
                    && !text.contains(" · page ")
                {
                    assert!(*y <= BODY_END, "{text} at {y} runs into the footer");
                }
            }
        }
        // Every Polish letter has its own glyph (none falls back to the empty .notdef), and a
        // decomposed letter is composed first.
        for c in "ąćęłńóśźżĄĆĘŁŃÓŚŹŻ".chars() {
            let g = faces.regular.charmap.map(c);
            assert!(g.is_some_and(|g| g != GlyphId::NOTDEF), "{c}");
            assert!(faces.bold.charmap.map(c).is_some(), "{c}");
        }
        assert_eq!(
            faces.width("a\u{328}", 9.0, false),
            faces.width("ą", 9.0, false)
        );
        // A word wider than the column is cut, never drawn past it.
        let long = "x".repeat(400);
        for part in faces.wrap(&long, 9.0, false, DESC_W) {
            assert!(faces.width(&part, 9.0, false) <= DESC_W);
        }
    }

    #[test]
    fn drafts_and_void_invoices_carry_a_watermark_on_every_page() {
        let regular = font_bytes(REGULAR).unwrap();
        let bold = font_bytes(BOLD).unwrap();
        let faces = Faces {
            regular: Face::parse(&regular, REGULAR).unwrap(),
            bold: Face::parse(&bold, BOLD).unwrap(),
        };
        let mut d = doc(60);
        d.status = DocStatus::Draft;
        let pages = layout(&d, &faces, &en());
        assert!(
            pages
                .iter()
                .all(|p| p.contains(&Op::Watermark("DRAFT".into())))
        );
        d.status = DocStatus::Issued;
        assert!(
            layout(&d, &faces, &en())
                .iter()
                .all(|p| !p.iter().any(|o| matches!(o, Op::Watermark(_))))
        );
    }
}
