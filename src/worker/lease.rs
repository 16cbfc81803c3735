//! Leases of the jobs a worker holds. Every delivery read from the queue is renewed on a
//! heartbeat until the worker is done with it, together with the fenced entity lock its
//! job runs under; another worker reclaims a job only once that heartbeat stopped for a
//! whole lease (crash, kill -9, partition). A delivery whose renewal fails is cancelled
//! here, so its handler stops at its next await point and never acks over the new holder.

use crate::queue::{Delivery, JobQueue};
use crate::state::StateStore;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone, Copy)]
pub struct LeaseConfig {
    /// A job (and its entity lock) whose holder did not renew for this long is taken over.
    pub expiry: Duration,
    /// How often held leases are renewed; well below `expiry`.
    pub renew_every: Duration,
}

/// A fenced entity lock: its key and the holder's token.
type EntityLock = (String, u64);

struct Held {
    delivery_count: u64,
    /// The fenced entity lock (key, token) the job runs under, once taken.
    lock: Option<EntityLock>,
    lost: CancellationToken,
}

/// The leases one worker holds.
pub struct Leases {
    queue: Arc<dyn JobQueue>,
    state: Arc<dyn StateStore>,
    consumer: String,
    cfg: LeaseConfig,
    held: Mutex<HashMap<String, Held>>,
    /// When every held lease was last confirmed; past `expiry` the worker can no longer
    /// vouch for any of them.
    confirmed_at: Mutex<Instant>,
}

/// One held delivery; dropping it stops renewing (the job is finished or abandoned).
pub struct LeaseGuard {
    leases: Arc<Leases>,
    message_id: String,
    /// Cancelled when the lease was lost: the job must stop and leave no outcome.
    pub lost: CancellationToken,
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.leases.held.lock().remove(&self.message_id);
    }
}

impl LeaseGuard {
    /// Renews the entity lock `key` with this lease from now on.
    pub fn set_lock(&self, key: &str, token: u64) {
        if let Some(h) = self.leases.held.lock().get_mut(&self.message_id) {
            h.lock = Some((key.to_string(), token));
        }
    }
}

impl Leases {
    pub fn new(
        queue: Arc<dyn JobQueue>,
        state: Arc<dyn StateStore>,
        consumer: &str,
        cfg: LeaseConfig,
    ) -> Arc<Self> {
        Arc::new(Leases {
            queue,
            state,
            consumer: consumer.to_string(),
            cfg,
            held: Mutex::new(HashMap::new()),
            confirmed_at: Mutex::new(Instant::now()),
        })
    }

    pub fn config(&self) -> LeaseConfig {
        self.cfg
    }

    /// Starts renewing `d`'s lease.
    pub fn hold(self: &Arc<Self>, d: &Delivery) -> LeaseGuard {
        let lost = CancellationToken::new();
        self.held.lock().insert(
            d.message_id.clone(),
            Held {
                delivery_count: d.delivery_count,
                lock: None,
                lost: lost.clone(),
            },
        );
        LeaseGuard {
            leases: self.clone(),
            message_id: d.message_id.clone(),
            lost,
        }
    }

    /// Renews `d`'s lease now; false when it is no longer ours. Called right before the
    /// outcome is written, so the ack (or retry, park, dead letter) that follows happens
    /// within a fresh lease nobody else can have taken over.
    pub async fn confirm(&self, d: &Delivery) -> bool {
        let held = [(d.message_id.clone(), d.delivery_count)];
        match self.queue.renew_leases(&self.consumer, &held).await {
            Ok(answers) => answers.first().copied().unwrap_or(false),
            // The write that follows fails the same way and the job stays pending.
            Err(_) => true,
        }
    }

    /// Renews every held lease each `renew_every` until `stop` is cancelled.
    pub async fn run(self: Arc<Self>, stop: CancellationToken) {
        let mut tick = tokio::time::interval(self.cfg.renew_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {},
                _ = stop.cancelled() => return,
            }
            self.renew_all().await;
        }
    }

    async fn renew_all(&self) {
        let snapshot: Vec<(String, u64, Option<EntityLock>)> = self
            .held
            .lock()
            .iter()
            .map(|(id, h)| (id.clone(), h.delivery_count, h.lock.clone()))
            .collect();
        if snapshot.is_empty() {
            *self.confirmed_at.lock() = Instant::now();
            return;
        }
        let ids: Vec<(String, u64)> = snapshot
            .iter()
            .map(|(id, count, _)| (id.clone(), *count))
            .collect();
        let mut all_confirmed = true;
        match self.queue.renew_leases(&self.consumer, &ids).await {
            Ok(answers) => {
                for ((id, _, lock), ours) in snapshot.iter().zip(answers) {
                    if !ours {
                        self.lose(id, "job lease taken over");
                        continue;
                    }
                    let Some((key, token)) = lock else { continue };
                    match self.state.renew_fenced(key, *token, self.cfg.expiry).await {
                        Ok(true) => {}
                        Ok(false) => self.lose(id, "entity lock taken over"),
                        Err(e) => {
                            all_confirmed = false;
                            tracing::warn!(error = %e, "could not renew an entity lock");
                        }
                    }
                }
            }
            Err(e) => {
                all_confirmed = false;
                tracing::warn!(error = %e, "could not renew job leases");
            }
        }
        if all_confirmed {
            *self.confirmed_at.lock() = Instant::now();
        } else if self.confirmed_at.lock().elapsed() >= self.cfg.expiry {
            // Unconfirmed for a whole lease: another worker may own these jobs by now.
            for (id, _, _) in &snapshot {
                self.lose(id, "leases could not be renewed for a whole lease");
            }
        }
    }

    fn lose(&self, message_id: &str, why: &str) {
        if let Some(h) = self.held.lock().remove(message_id) {
            tracing::warn!(message_id, why, "lease lost; the job stops here");
            h.lost.cancel();
        }
    }
}
