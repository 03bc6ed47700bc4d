//! Owns sign-in building blocks: password hashing, policy, TOTP, e-mailed codes and throttling,
//! the sign-in flow, re-authentication, factor enrolment, sessions and account notices.

pub mod codes;
pub mod error;
pub mod password;
pub mod policy;
pub mod throttle;
pub mod totp;

pub use error::AuthError;
pub mod accounts;
pub mod cidr;
pub mod directory;
pub mod enrolment;
pub mod groups;
pub mod inactivity;
pub mod notice;
pub mod notices;
pub mod reauth;
pub mod second_factor;
pub mod services;
pub mod session_info;
pub mod sessions;
pub mod signin;
#[cfg(test)]
pub(crate) mod test_support;
pub mod tokens;
