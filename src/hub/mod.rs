//! The business hub: records of every module (validation, change history, comments, search),
//! invoices, documents, CSV exchange and the dashboard figures.

pub mod csvio;
pub mod documents;
pub mod filetype;
pub mod invoices;
pub mod records;
pub mod views;
