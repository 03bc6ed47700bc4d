//! The one integration-test binary: every test starts the real `holdfast` binary on 127.0.0.1:0 in a
//! temporary data dir and talks HTTPS to it.
// Test and measurement code: a failed unwrap is a failed test, and the host clock is what it
// measures against (the production rules in Cargo.toml [lints] do not apply here).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods
)]

mod admin_readable;
mod api_schema;
mod app;
mod architecture;
mod audit_chain;
mod backup;
mod browser;
mod browser_a11y;
mod browser_flows;
mod browser_hub;
mod browser_phone;
mod browser_polish;
mod connections;
mod core;
mod crash;
mod docs_commands;
mod doctor;
mod egress;
mod egress_strace;
mod einvoice;
mod fail2ban;
mod feeds;
mod first_run;
mod forwarding;
mod hub_access;
mod hub_api;
mod hub_csv;
mod hub_documents;
mod hub_invoice_document;
mod hub_invoices;
mod hub_money;
mod hub_pages;
mod hub_permissions;
mod hub_readable;
mod hub_records;
mod hub_search;
mod hub_support;
mod hub_validation;
mod i18n;
mod identity_admin;
mod identity_passwords;
mod identity_second_factor;
mod identity_sessions;
mod identity_signin;
mod identity_support;
mod load;
mod mail_words;
mod metrics;
mod operator_routes;
mod pentest;
mod smtp_sink;
mod support;
mod totp;
mod traced;
mod update_apply;
mod update_bundle;
mod update_cli;
mod update_handover;
mod watch;
mod watch_faults;
mod webhooks;
mod words_pages;
