//! Rules about roles.

use ates_token::Role;

/// Why a role change is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RoleChangeRefused {
    /// aTES would be left without an admin.
    #[error("the last admin cannot stop being an admin")]
    LastAdmin,
}

/// Whether an account may go from `current` to `new` while `admins` accounts are admins (the
/// count matters only when `current` is admin).
pub fn check_role_change(current: Role, new: Role, admins: i64) -> Result<(), RoleChangeRefused> {
    if current == Role::Admin && new != Role::Admin && admins <= 1 {
        return Err(RoleChangeRefused::LastAdmin);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_admin_keeps_the_role_and_anyone_else_may_change() {
        assert_eq!(
            check_role_change(Role::Admin, Role::Worker, 1),
            Err(RoleChangeRefused::LastAdmin)
        );
        assert_eq!(check_role_change(Role::Admin, Role::Worker, 2), Ok(()));
        assert_eq!(check_role_change(Role::Admin, Role::Admin, 1), Ok(()));
        assert_eq!(check_role_change(Role::Worker, Role::Admin, 0), Ok(()));
        assert_eq!(
            check_role_change(Role::Manager, Role::Accountant, 1),
            Ok(())
        );
    }
}
