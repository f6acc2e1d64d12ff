//! Who may read which books.

use ates_token::Role;
use uuid::Uuid;

/// Why a statement may not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("only admins and accountants may read another account's statement")]
pub struct StatementRefused;

/// Whether `caller` with `role` may read the statement of `account`: everyone reads their own;
/// admins and accountants read anyone's.
pub fn check_statement_access(
    caller: Uuid,
    role: Role,
    account: Uuid,
) -> Result<(), StatementRefused> {
    if caller == account || matches!(role, Role::Admin | Role::Accountant) {
        Ok(())
    } else {
        Err(StatementRefused)
    }
}

/// The roles that see management's earnings and every balance.
pub const BOOKKEEPERS: &[Role] = &[Role::Admin, Role::Accountant];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everyone_reads_their_own_statement_and_bookkeepers_read_anyones() {
        let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
        for role in Role::ALL {
            assert!(check_statement_access(me, role, me).is_ok(), "{role}");
        }
        assert!(check_statement_access(me, Role::Admin, other).is_ok());
        assert!(check_statement_access(me, Role::Accountant, other).is_ok());
        assert!(check_statement_access(me, Role::Manager, other).is_err());
        assert!(check_statement_access(me, Role::Worker, other).is_err());
    }
}
