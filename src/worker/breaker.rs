//! Circuit breakers, one per dependency (the NetSuite account, the TikTok shop). A breaker
//! opens after `failures` consecutive "down" failures (timeouts, connection errors, 5xx, a
//! load balancer's 503 page, 401 while the token is refreshed); while open, jobs wait for it
//! without spending attempts. After `open_for` one job at a time probes: its success closes
//! the breaker and everything flows, its failure keeps the breaker open for another round.
//! Breakers are per replica: each replica finds out on its own, with one probe of its own.

use crate::metrics::Metrics;
use parking_lot::Mutex;
use rand::Rng;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct BreakerConfig {
    /// Consecutive down failures that open a breaker.
    pub failures: u32,
    /// How long an open breaker holds jobs before one probes.
    pub open_for: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One job is probing since `since`; a probe lost without an answer (its worker
    /// stopped) is replaced after `open_for`.
    Probing {
        since: Instant,
    },
}

/// Whether a job may run now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Run,
    /// Run as the one probe of a breaker that was open.
    Probe,
    /// Wait this long (a breaker is open) without spending an attempt.
    Wait(Duration),
}

pub struct Breakers {
    cfg: BreakerConfig,
    metrics: Arc<Metrics>,
    states: Mutex<HashMap<String, State>>,
}

impl Breakers {
    pub fn new(cfg: BreakerConfig, metrics: Arc<Metrics>) -> Self {
        Breakers {
            cfg,
            metrics,
            states: Mutex::new(HashMap::new()),
        }
    }

    /// A wait that spreads held jobs over one probe interval, so they do not all come
    /// back in the same instant after a recovery.
    fn spread(&self, base: Duration) -> Duration {
        let jitter_ms = u64::try_from(self.cfg.open_for.as_millis() / 2).unwrap_or(0);
        base + Duration::from_millis(rand::thread_rng().gen_range(0..=jitter_ms))
    }

    /// Admits a job depending on `deps`.
    pub fn admit(&self, deps: &[String]) -> Admission {
        let now = Instant::now();
        let mut states = self.states.lock();
        let mut probe = None;
        for dep in deps {
            match states.get(dep).copied() {
                None | Some(State::Closed { .. }) => {}
                Some(State::Open { until }) if until > now => {
                    return Admission::Wait(self.spread(until - now));
                }
                Some(State::Probing { since }) if now - since < self.cfg.open_for => {
                    return Admission::Wait(self.spread(self.cfg.open_for));
                }
                // Open and due, or a probe gone silent: this job probes (only one
                // dependency at a time; another open one makes it wait).
                Some(_) => {
                    if probe.is_some() {
                        return Admission::Wait(self.spread(self.cfg.open_for));
                    }
                    probe = Some(dep.clone());
                }
            }
        }
        match probe {
            Some(dep) => {
                states.insert(dep, State::Probing { since: now });
                Admission::Probe
            }
            None => Admission::Run,
        }
    }

    /// The dependency answered: its breaker closes.
    pub fn success(&self, deps: &[String]) {
        let mut states = self.states.lock();
        for dep in deps {
            let was_open = !matches!(
                states.insert(dep.clone(), State::Closed { failures: 0 }),
                None | Some(State::Closed { .. })
            );
            if was_open {
                tracing::info!(dependency = %dep, "circuit breaker closed: dependency answers again");
                self.show(dep, false);
            }
        }
    }

    /// A down failure of `dep`; true when its breaker is open now (the job then waits for
    /// it without spending an attempt).
    pub fn failure(&self, dep: &str) -> bool {
        let now = Instant::now();
        let mut states = self.states.lock();
        let state = states
            .entry(dep.to_string())
            .or_insert(State::Closed { failures: 0 });
        let open = match *state {
            State::Closed { failures } if failures + 1 < self.cfg.failures => {
                *state = State::Closed {
                    failures: failures + 1,
                };
                false
            }
            State::Closed { .. } => {
                tracing::warn!(dependency = %dep, "circuit breaker opened: dependency is down");
                self.show(dep, true);
                true
            }
            State::Open { .. } | State::Probing { .. } => true,
        };
        if open {
            // Failures while open (jobs that were already running) push the probe out too.
            *state = State::Open {
                until: now + self.cfg.open_for,
            };
        }
        open
    }

    /// When `dep`'s breaker lets the next probe through, if it is open.
    pub fn wait_for(&self, dep: &str) -> Option<Duration> {
        match self.states.lock().get(dep).copied() {
            Some(State::Open { until }) => {
                Some(self.spread(until.saturating_duration_since(Instant::now())))
            }
            Some(State::Probing { .. }) => Some(self.spread(self.cfg.open_for)),
            _ => None,
        }
    }

    fn show(&self, dep: &str, open: bool) {
        let label = crate::metrics::Dependency {
            dependency: dep.to_string(),
        };
        self.metrics
            .breaker_open
            .get_or_create(&label)
            .set(i64::from(open));
        let mut board = self.metrics.breakers_open.lock();
        if open {
            board.insert(dep.to_string(), crate::queue::now_ms());
        } else {
            board.remove(dep);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breakers(open_for_ms: u64) -> Breakers {
        Breakers::new(
            BreakerConfig {
                failures: 3,
                open_for: Duration::from_millis(open_for_ms),
            },
            Arc::new(Metrics::new()),
        )
    }

    #[test]
    fn opens_after_consecutive_failures_holds_jobs_and_lets_one_probe_through() {
        let b = breakers(100);
        let deps = vec!["netsuite:1".to_string()];
        assert!(!b.failure("netsuite:1"));
        b.success(&deps);
        assert!(!b.failure("netsuite:1"));
        assert!(!b.failure("netsuite:1"));
        assert_eq!(
            b.admit(&deps),
            Admission::Run,
            "not open below the threshold"
        );
        assert!(b.failure("netsuite:1"), "third failure in a row opens");
        assert!(matches!(b.admit(&deps), Admission::Wait(_)));
        assert!(b.metrics.breakers_open.lock().contains_key("netsuite:1"));
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(b.admit(&deps), Admission::Probe, "one probe once due");
        assert!(
            matches!(b.admit(&deps), Admission::Wait(_)),
            "a second job waits while the probe runs"
        );
        assert!(b.failure("netsuite:1"), "a failed probe keeps it open");
        assert!(matches!(b.admit(&deps), Admission::Wait(_)));
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(b.admit(&deps), Admission::Probe);
        b.success(&deps);
        assert_eq!(b.admit(&deps), Admission::Run, "closed after a good probe");
        assert!(b.metrics.breakers_open.lock().is_empty());
    }

    #[test]
    fn a_probe_that_never_answers_is_replaced() {
        let b = breakers(50);
        let deps = vec!["tiktok:s".to_string()];
        for _ in 0..3 {
            b.failure("tiktok:s");
        }
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.admit(&deps), Admission::Probe);
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(
            b.admit(&deps),
            Admission::Probe,
            "the lost probe is replaced"
        );
    }
}
