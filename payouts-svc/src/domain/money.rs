//! Money as people read it.

/// Cents as dollars with the sign and two decimals: `$12.34`, `-$0.50`.
pub fn dollars(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}${}.{:02}", cents / 100, cents % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_read_as_dollars_with_sign_and_two_decimals() {
        assert_eq!(dollars(1_234), "$12.34");
        assert_eq!(dollars(5), "$0.05");
        assert_eq!(dollars(0), "$0.00");
        assert_eq!(dollars(-50), "-$0.50");
        assert_eq!(dollars(i64::MIN), "-$92233720368547758.08");
    }
}
