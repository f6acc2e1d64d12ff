//! Between the API's proto types and auth's own; a bad field becomes INVALID_ARGUMENT naming it.

use ates_contracts::ates::auth::v1 as api;
use ates_token::Role;
use uuid::Uuid;

pub use ates_contracts::time::timestamp;

use crate::domain::Email;
use crate::error::AuthError;
use crate::storage::accounts::AccountRow;

pub fn account(row: &AccountRow) -> api::Account {
    api::Account {
        account_id: row.public_id.to_string(),
        email: row.email.clone(),
        role: api_role(row.role()) as i32,
        created_at: Some(timestamp(row.created_at)),
        updated_at: Some(timestamp(row.updated_at)),
    }
}

pub fn api_role(role: Role) -> api::Role {
    match role {
        Role::Admin => api::Role::Admin,
        Role::Manager => api::Role::Manager,
        Role::Accountant => api::Role::Accountant,
        Role::Worker => api::Role::Worker,
    }
}

pub fn role(raw: i32) -> Result<Role, AuthError> {
    let invalid = || AuthError::InvalidArgument {
        field: "role",
        reason: "must be one of ROLE_ADMIN, ROLE_MANAGER, ROLE_ACCOUNTANT, ROLE_WORKER".to_owned(),
    };
    match api::Role::try_from(raw).map_err(|_| invalid())? {
        api::Role::Admin => Ok(Role::Admin),
        api::Role::Manager => Ok(Role::Manager),
        api::Role::Accountant => Ok(Role::Accountant),
        api::Role::Worker => Ok(Role::Worker),
        api::Role::Unspecified => Err(invalid()),
    }
}

pub fn account_id(raw: &str) -> Result<Uuid, AuthError> {
    Ok(ates_server::input::required_uuid("account_id", raw)?)
}

pub fn email(raw: &str) -> Result<Email, AuthError> {
    Email::parse(raw).map_err(|error| AuthError::InvalidArgument {
        field: "email",
        reason: error.to_string(),
    })
}
