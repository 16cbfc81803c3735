//! Client-side pacing so one process never exceeds TikTok's per-API, per-shop QPS: a
//! sliding one-second window per API path, handing out future send slots to waiters.

use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

/// The server's window and ours may start a hair apart (network jitter); keep a margin so
/// a call scheduled exactly one second after its predecessor is not counted in its window.
const WINDOW: Duration = Duration::from_millis(1_010);

pub struct ApiRateLimiter {
    per_second: usize,
    /// Per API path: the send slots of the most recent `per_second` calls, oldest first.
    slots: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl ApiRateLimiter {
    pub fn new(per_second: u32) -> Self {
        ApiRateLimiter {
            per_second: per_second.max(1) as usize,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Claims the next free slot for `api` and returns when it may be used.
    fn reserve(&self, api: &str) -> Instant {
        let now = Instant::now();
        let mut slots = self.slots.lock();
        let window = slots.entry(api.to_string()).or_default();
        let at = if window.len() < self.per_second {
            now
        } else {
            // The call `per_second` places back must be a full window old.
            let oldest = window[window.len() - self.per_second];
            (oldest + WINDOW).max(now)
        };
        window.push_back(at);
        while window.len() > self.per_second {
            window.pop_front();
        }
        at
    }

    /// Waits until a call to `api` fits in the budget. Slots are claimed in arrival order,
    /// so a burst is spread over the following seconds instead of stampeding.
    pub async fn acquire(&self, api: &str) {
        let at = self.reserve(api);
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_more_than_the_budget_in_any_window() {
        let limiter = ApiRateLimiter::new(5);
        let slots: Vec<Instant> = (0..23).map(|_| limiter.reserve("/a")).collect();
        for (i, slot) in slots.iter().enumerate().skip(5) {
            assert!(*slot >= slots[i - 5] + WINDOW, "slot {i} too early");
        }
        assert!(slots[22] >= slots[0] + WINDOW * 4);
    }

    #[test]
    fn apis_have_separate_budgets() {
        let limiter = ApiRateLimiter::new(1);
        let a = limiter.reserve("/a");
        let b = limiter.reserve("/b");
        assert!(b < a + Duration::from_millis(100));
        let a2 = limiter.reserve("/a");
        assert!(a2 >= a + WINDOW);
    }

    #[tokio::test]
    async fn acquire_waits_for_the_window() {
        let limiter = ApiRateLimiter::new(10);
        let start = Instant::now();
        for _ in 0..11 {
            limiter.acquire("/a").await;
        }
        assert!(start.elapsed() >= Duration::from_secs(1));
    }
}
