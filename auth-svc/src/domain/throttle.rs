//! Slowing down beak guessing: a client that fails too often in a window is refused for a while.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Most clients tracked at once (about 10 MB); beyond it the stalest entries are forgotten first.
const MAX_TRACKED_CLIENTS: usize = 100_000;

/// Whether a client may try to sign in now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThrottleVerdict {
    /// Go ahead.
    Allowed,
    /// Refused until the wait has passed.
    Refused {
        /// How long until the client may try again.
        retry_after: Duration,
    },
}

#[derive(Debug, Clone, Copy)]
struct Record {
    window_started: Instant,
    failures: u32,
    refused_until: Option<Instant>,
}

/// Counts failed sign-ins per client address, in memory (per process).
#[derive(Debug)]
pub struct SignInThrottle {
    max_failures: u32,
    window: Duration,
    capacity: usize,
    records: Mutex<HashMap<IpAddr, Record>>,
}

impl SignInThrottle {
    /// At most `max_failures` failures per `window`; then refused for `window`.
    pub fn new(max_failures: u32, window: Duration) -> Self {
        Self::with_capacity(max_failures, window, MAX_TRACKED_CLIENTS)
    }

    /// As [`SignInThrottle::new`], tracking at most `capacity` clients.
    pub fn with_capacity(max_failures: u32, window: Duration, capacity: usize) -> Self {
        Self {
            max_failures: max_failures.max(1),
            window,
            capacity: capacity.max(2),
            records: Mutex::new(HashMap::new()),
        }
    }

    /// How many clients are tracked now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }

    /// Full: forgets the clients whose window is over and who are not refused; if that frees
    /// less than half, also the clients not refused whose windows started first, and only then
    /// the refused ones refused first, down to exactly half of the table. Each call frees half
    /// of it, so its cost is spread over as many new clients as it makes room for (a flood of
    /// fresh addresses cannot make every failure scan the whole table).
    fn make_room(&self, records: &mut HashMap<IpAddr, Record>, now: Instant) {
        let window = self.window;
        let refused = |record: &Record| record.refused_until.is_some_and(|until| until > now);
        records.retain(|_, record| {
            now.duration_since(record.window_started) < window || refused(record)
        });
        let keep = self.capacity / 2;
        if records.len() > keep {
            // Each entry's place in the order of forgetting: not refused before refused, then
            // the oldest window first, the address breaking ties so the cut is exact.
            let rank = |ip: &IpAddr, record: &Record| (refused(record), record.window_started, *ip);
            let mut ranks: Vec<_> = records
                .iter()
                .map(|(ip, record)| rank(ip, record))
                .collect();
            let cut = records.len() - keep;
            let (_, &mut first_kept, _) = ranks.select_nth_unstable(cut);
            records.retain(|ip, record| rank(ip, record) >= first_kept);
        }
    }

    /// Whether `client` may try now.
    pub fn check(&self, client: IpAddr, now: Instant) -> ThrottleVerdict {
        let records = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match records.get(&client).and_then(|record| record.refused_until) {
            Some(until) if until > now => ThrottleVerdict::Refused {
                retry_after: until - now,
            },
            _ => ThrottleVerdict::Allowed,
        }
    }

    /// Counts a failed attempt of `client`.
    pub fn record_failure(&self, client: IpAddr, now: Instant) {
        let mut records = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if records.len() >= self.capacity && !records.contains_key(&client) {
            self.make_room(&mut records, now);
        }
        let record = records.entry(client).or_insert(Record {
            window_started: now,
            failures: 0,
            refused_until: None,
        });
        if now.duration_since(record.window_started) >= self.window {
            *record = Record {
                window_started: now,
                failures: 0,
                refused_until: None,
            };
        }
        record.failures += 1;
        if record.failures >= self.max_failures {
            record.refused_until = Some(now + self.window);
        }
    }

    /// Forgets the failures of `client` after it signed in.
    pub fn record_success(&self, client: IpAddr) {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const TWO: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn a_client_is_refused_after_the_limit_and_others_are_not() {
        let throttle = SignInThrottle::new(3, Duration::from_secs(60));
        let now = Instant::now();
        for _ in 0..2 {
            throttle.record_failure(ONE, now);
            assert_eq!(throttle.check(ONE, now), ThrottleVerdict::Allowed);
        }
        throttle.record_failure(ONE, now);
        assert_eq!(
            throttle.check(ONE, now),
            ThrottleVerdict::Refused {
                retry_after: Duration::from_secs(60)
            }
        );
        assert_eq!(throttle.check(TWO, now), ThrottleVerdict::Allowed);
        assert_eq!(
            throttle.check(ONE, now + Duration::from_secs(61)),
            ThrottleVerdict::Allowed
        );
    }

    #[test]
    fn failures_in_an_old_window_do_not_count() {
        let throttle = SignInThrottle::new(3, Duration::from_secs(60));
        let start = Instant::now();
        throttle.record_failure(ONE, start);
        throttle.record_failure(ONE, start);
        let later = start + Duration::from_secs(61);
        throttle.record_failure(ONE, later);
        assert_eq!(throttle.check(ONE, later), ThrottleVerdict::Allowed);
    }

    fn nth(index: u32) -> IpAddr {
        IpAddr::V4(std::net::Ipv4Addr::from(0x0a01_0000 + index))
    }

    #[test]
    fn a_flood_of_new_clients_stays_within_the_capacity() {
        let throttle = SignInThrottle::with_capacity(2, Duration::from_secs(60), 100);
        let start = Instant::now();
        for index in 0..10_000_u32 {
            throttle.record_failure(nth(index), start + Duration::from_millis(u64::from(index)));
            assert!(throttle.tracked() <= 100, "{} tracked", throttle.tracked());
        }
        // The newest are still counted.
        throttle.record_failure(nth(9_999), start + Duration::from_secs(10));
        assert!(matches!(
            throttle.check(nth(9_999), start + Duration::from_secs(10)),
            ThrottleVerdict::Refused { .. }
        ));
    }

    #[test]
    fn making_room_forgets_finished_windows_before_a_refused_client() {
        let throttle = SignInThrottle::with_capacity(2, Duration::from_secs(60), 100);
        let start = Instant::now();
        for index in 0..99 {
            throttle.record_failure(nth(index), start);
        }
        let refused_at = start + Duration::from_secs(50);
        throttle.record_failure(ONE, refused_at);
        throttle.record_failure(ONE, refused_at);
        let later = start + Duration::from_secs(70);
        throttle.record_failure(TWO, later);
        assert_eq!(throttle.tracked(), 2);
        assert_eq!(
            throttle.check(ONE, later),
            ThrottleVerdict::Refused {
                retry_after: Duration::from_secs(40)
            }
        );
    }

    #[test]
    fn a_full_table_of_live_clients_forgets_exactly_half_and_keeps_the_refused() {
        let throttle = SignInThrottle::with_capacity(3, Duration::from_secs(60), 100);
        let start = Instant::now();
        // ONE is refused, with the oldest window of all.
        for _ in 0..3 {
            throttle.record_failure(ONE, start);
        }
        // 99 clients whose windows started at the same instant: ties everywhere.
        for index in 0..99 {
            throttle.record_failure(nth(index), start + Duration::from_secs(1));
        }
        assert_eq!(throttle.tracked(), 100);
        throttle.record_failure(TWO, start + Duration::from_secs(2));
        assert_eq!(throttle.tracked(), 51);
        assert!(matches!(
            throttle.check(ONE, start + Duration::from_secs(2)),
            ThrottleVerdict::Refused { .. }
        ));
    }

    #[test]
    fn a_success_forgets_the_failures() {
        let throttle = SignInThrottle::new(2, Duration::from_secs(60));
        let now = Instant::now();
        throttle.record_failure(ONE, now);
        throttle.record_success(ONE);
        throttle.record_failure(ONE, now);
        assert_eq!(throttle.check(ONE, now), ThrottleVerdict::Allowed);
    }
}
