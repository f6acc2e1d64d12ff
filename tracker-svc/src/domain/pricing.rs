//! Task prices: fixed once at creation, whole dollars, independent of the assignee.

use rand::Rng;

/// Fee per assignment, in dollars (both ends included).
pub const FEE_DOLLARS: std::ops::RangeInclusive<i64> = 10..=20;
/// Reward on completion, in dollars (both ends included).
pub const REWARD_DOLLARS: std::ops::RangeInclusive<i64> = 20..=40;

/// A task's prices in cents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prices {
    /// Charged to the assignee for every assignment.
    pub fee_cents: i64,
    /// Credited to the assignee on completion.
    pub reward_cents: i64,
}

impl Prices {
    /// Draws both prices uniformly in whole dollars.
    pub fn draw<R: Rng + ?Sized>(rng: &mut R) -> Self {
        Self {
            fee_cents: rng.random_range(FEE_DOLLARS) * 100,
            reward_cents: rng.random_range(REWARD_DOLLARS) * 100,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    proptest! {
        #[test]
        fn prices_are_whole_dollars_within_their_bounds(seed in any::<u64>()) {
            let prices = Prices::draw(&mut rand::rngs::StdRng::seed_from_u64(seed));
            prop_assert!((1_000..=2_000).contains(&prices.fee_cents));
            prop_assert!((2_000..=4_000).contains(&prices.reward_cents));
            prop_assert_eq!(prices.fee_cents % 100, 0);
            prop_assert_eq!(prices.reward_cents % 100, 0);
        }
    }

    #[test]
    fn every_whole_dollar_price_including_both_ends_is_drawn() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut fees = std::collections::BTreeSet::new();
        let mut rewards = std::collections::BTreeSet::new();
        for _ in 0..5_000 {
            let prices = Prices::draw(&mut rng);
            fees.insert(prices.fee_cents / 100);
            rewards.insert(prices.reward_cents / 100);
        }
        assert_eq!(
            fees.into_iter().collect::<Vec<_>>(),
            FEE_DOLLARS.collect::<Vec<_>>()
        );
        assert_eq!(
            rewards.into_iter().collect::<Vec<_>>(),
            REWARD_DOLLARS.collect::<Vec<_>>()
        );
    }
}
