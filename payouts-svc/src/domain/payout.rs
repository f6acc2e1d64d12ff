//! What an account is paid at the close of a business date.
//!
//! At the close of date D an account is paid its balance through D: everything it earned on D
//! and every earlier date (fees and rewards, as far as payouts has heard), minus everything paid
//! to it at earlier closes. Closes happen in date order, so "earlier closes" are all of them.
//! A zero or negative balance is not paid; a negative one carries over to the next close.

/// The payout due: `earned_through_cents - paid_before_cents` when that is positive.
pub fn amount_due(earned_through_cents: i64, paid_before_cents: i64) -> Option<i64> {
    earned_through_cents
        .checked_sub(paid_before_cents)
        .filter(|due| *due > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn positive_balances_are_paid_and_zero_or_negative_ones_are_not() {
        assert_eq!(amount_due(2_500, 0), Some(2_500));
        assert_eq!(amount_due(2_500, 1_000), Some(1_500));
        assert_eq!(amount_due(1_000, 1_000), None);
        assert_eq!(amount_due(-300, 0), None);
        assert_eq!(amount_due(i64::MIN, 1), None);
    }

    proptest! {
        /// Over any run of days, what has been paid after each close is exactly the highest
        /// balance reached so far (never more than was earned at some point, nothing positive
        /// left unpaid), so a negative day carries over and is never paid twice.
        #[test]
        fn closes_pay_exactly_the_highest_balance_reached(
            days in proptest::collection::vec(-4_000_i64..4_000, 1..40)
        ) {
            let (mut earned, mut paid, mut highest) = (0_i64, 0_i64, 0_i64);
            for day in days {
                earned += day;
                highest = highest.max(earned);
                if let Some(due) = amount_due(earned, paid) {
                    paid += due;
                }
                prop_assert_eq!(paid, highest);
                prop_assert!(earned - paid <= 0, "a close leaves nothing positive unpaid");
            }
        }
    }
}
