//! Owns sign-in building blocks: password hashing, policy, TOTP, e-mailed codes and throttling.

pub mod codes;
pub mod error;
pub mod password;
pub mod policy;
pub mod throttle;
pub mod totp;

pub use error::AuthError;
pub mod accounts;
pub mod cidr;
pub mod second_factor;
pub mod services;
pub mod signin;
