//! auth's rules, free of storage and transport: emails, beaks, roles, who a client is and
//! sign-in throttling, and the sealing of signing keys at rest.

pub mod beak;
mod client;
mod email;
mod roles;
mod sealing;
mod throttle;

pub use beak::{Beak, BeakDigester};
pub use client::{ForwardingHeader, TrustedProxies, throttle_key};
pub use email::{Email, EmailError};
pub use roles::{RoleChangeRefused, check_role_change};
pub use sealing::{KeySeal, SealError};
pub use throttle::{SignInThrottle, ThrottleVerdict};
