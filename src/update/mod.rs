//! Offline updates: the signed bundle format and its verification (`bundle`).
//!
//! The vendor-side signer (`sign.rs`, beside this file) is deliberately not declared here: it is
//! compiled only into the `holdfast-release` binary through `#[path]`, so the appliance binary
//! never contains private-key code.

pub mod bundle;
pub mod state;
