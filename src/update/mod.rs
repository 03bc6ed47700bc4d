//! Offline updates: the signed bundle format and its verification (`bundle`), and applying one with
//! a journal and automatic rollback (`apply`, `journal`, `runtime`, `probe`); events the console
//! hands to the service when it cannot open the security log itself (`handover`).
//!
//! The vendor-side signer (`sign.rs`, beside this file) is deliberately not declared here: it is
//! compiled only into the `holdfast-release` binary through `#[path]`, so the appliance binary
//! never contains private-key code.

pub mod apply;
pub mod bundle;
pub mod handover;
pub mod journal;
pub mod probe;
pub mod record_file;
pub mod runtime;
pub mod state;
pub mod trust;
