//! holdfast: a secure on-premises business hub in one binary. This crate root only lists the modules;
//! `docs/ARCHITECTURE.md` is the map.

pub mod access;
pub mod app;
pub mod audit;
pub mod auth;
pub mod backup;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crypto;
pub mod csv;
pub mod egress;
pub mod fsutil;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzz;
pub mod hub;
pub mod i18n;
pub mod instances;
pub mod integrations;
pub mod keys;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod schema;
pub mod sockets;
pub mod storage;
pub mod systemd;
pub mod tls;
pub mod update;
pub mod watch;
pub mod web;
pub mod webhooks;
