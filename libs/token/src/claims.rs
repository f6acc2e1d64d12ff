//! What a token says about its bearer, and the one-line role checks handlers use.

use serde::{Deserialize, Serialize};
use tonic::Status;
use uuid::Uuid;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages accounts; may do everything.
    Admin,
    /// Reshuffles tasks; never assigned tasks.
    Manager,
    /// Reads accounting; can be assigned tasks.
    Accountant,
    /// Any other employee; can be assigned tasks.
    Worker,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Manager, Role::Accountant, Role::Worker];

    /// The role with this claim value (`"admin"`, ...).
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == raw)
    }

    /// The role an account event carries (`ates.auth.events.v1.AccountRole`); `None` for an
    /// unspecified or unknown value.
    pub fn from_account_role(raw: i32) -> Option<Self> {
        use ates_contracts::ates::auth::events::v1::AccountRole;
        match AccountRole::try_from(raw).ok()? {
            AccountRole::Admin => Some(Role::Admin),
            AccountRole::Manager => Some(Role::Manager),
            AccountRole::Accountant => Some(Role::Accountant),
            AccountRole::Worker => Some(Role::Worker),
            AccountRole::Unspecified => None,
        }
    }

    /// The claim value (`"admin"`, ...).
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Manager => "manager",
            Role::Accountant => "accountant",
            Role::Worker => "worker",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// The claims of an aTES access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Public id of the account.
    pub sub: Uuid,
    /// The account's role when the token was issued.
    pub role: Role,
    /// Issuer: auth's configured name.
    pub iss: String,
    /// Audience: the aTES services.
    pub aud: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Not valid before, seconds since the epoch.
    pub nbf: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Unique token id.
    pub jti: Uuid,
}

/// The verified claims of the caller, or UNAUTHENTICATED when the request carries none (the
/// [`crate::AuthLayer`] was not in front of the handler, or the method is public).
pub fn caller<T>(request: &tonic::Request<T>) -> Result<&Claims, Status> {
    request
        .extensions()
        .get::<Claims>()
        .ok_or_else(|| Status::unauthenticated("this method needs a bearer access token"))
}

/// The caller's claims if its role is one of `allowed`; PERMISSION_DENIED otherwise.
///
/// ```text
/// let caller = require_role(&request, &[Role::Admin, Role::Manager])?;
/// ```
pub fn require_role<'r, T>(
    request: &'r tonic::Request<T>,
    allowed: &[Role],
) -> Result<&'r Claims, Status> {
    let claims = caller(request)?;
    if allowed.contains(&claims.role) {
        Ok(claims)
    } else {
        let allowed: Vec<&str> = allowed.iter().map(|role| role.as_str()).collect();
        Err(Status::permission_denied(format!(
            "role {} may not call this method; allowed: {}",
            claims.role,
            allowed.join(", ")
        )))
    }
}
