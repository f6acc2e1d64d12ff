//! auth's rules, free of storage and transport: emails, beaks, sign-in throttling.

pub mod beak;
mod email;
mod throttle;

pub use beak::{Beak, BeakDigester};
pub use email::{Email, EmailError};
pub use throttle::{SignInThrottle, ThrottleVerdict};
