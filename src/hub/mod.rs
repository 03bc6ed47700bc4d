//! The business hub: records of every module (validation, change history, comments, search),
//! invoices, documents, CSV exchange and the dashboard figures.

pub mod csvio;
pub mod documents;
pub mod einvoice;
pub mod feeds;
pub mod filetype;
pub mod ical;
pub mod invoice_document;
pub mod invoice_pdf;
pub mod invoice_profile;
pub mod invoices;
pub mod journal;
pub mod money;
pub mod problem;
pub mod records;
pub mod settings;
pub mod views;

/// A field's value as records carry it (storage's own type, named here for the layers above).
pub use crate::storage::Value;
