//! The worker: reads jobs from the queue in batches, prefetches the TikTok orders of a
//! batch in one Get Order Detail call, runs handlers concurrently (never two on the same
//! entity), and turns each outcome into ack, retry with backoff, park or dead letter. It
//! also promotes due retries and reclaims jobs whose lease ran out (crashed replicas).

pub mod breaker;
mod lease;

pub use breaker::{Admission, BreakerConfig, Breakers};
pub use lease::{LeaseConfig, Leases};

use crate::history::{self, HistoryEvent};
use crate::jobs::{self, Dependency, JobContext, JobError, Outcome, Prefetched};
use crate::metrics::Kind;
use crate::queue::{now_ms, Delivery, Job, JobEnvelope, JobQueue};
use crate::state::{ParkReason, ParkedJob};
use crate::tiktok::authorization;
use rand::Rng;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// Get Order Detail takes at most 50 ids a call.
const MAX_BATCH: usize = 50;
/// A job handed out this often lost its lease every time (it keeps killing workers).
const MAX_DELIVERIES: u64 = 10;

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts at most before a transient failure is dead-lettered; 0 = no cap, only
    /// the horizon.
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
    /// Transient failures retry until this long after the job first failed.
    pub horizon: Duration,
    /// An order TikTok does not know yet is retried this long after its job was queued.
    pub read_lag: Duration,
}

impl RetryPolicy {
    /// Exponential backoff with equal jitter: half fixed, half random, so replicas that
    /// failed together do not retry in lockstep.
    pub fn delay(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1).min(20)));
        let capped = exp.min(self.max);
        let half = capped / 2;
        let jitter = rand::thread_rng().gen_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }

    /// Backoff of a job that has been failing for `failing_for`: about as long again
    /// (so waits double), capped at `max`, with the same equal jitter.
    pub fn delay_for_age(&self, failing_for: Duration) -> Duration {
        let capped = failing_for.max(self.base).min(self.max);
        let half = capped / 2;
        let jitter = rand::thread_rng().gen_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }
}

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Unique per replica (and per worker in tests): the consumer name in the group.
    pub consumer: String,
    pub concurrency: usize,
    pub retry: RetryPolicy,
    /// Job leases, renewed while a job runs; the entity lock shares them.
    pub lease: LeaseConfig,
    pub shutdown_grace: Duration,
    pub breaker: BreakerConfig,
    /// Breaker names of the dependencies: `netsuite:<account>` and `tiktok:<shop>`.
    pub netsuite_dependency: String,
    pub tiktok_dependency: String,
}

pub struct Worker {
    ctx: Arc<JobContext>,
    queue: Arc<dyn JobQueue>,
    cfg: WorkerConfig,
    leases: Arc<Leases>,
    breakers: Breakers,
}

/// Aborts a helper task when the worker's own future is dropped (a killed replica).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

fn order_id_of(job: &Job) -> Option<&str> {
    job.order_id()
}

fn shop_id_of(job: &Job) -> Option<&str> {
    job.shop_id()
}

impl Worker {
    pub fn new(ctx: Arc<JobContext>, queue: Arc<dyn JobQueue>, cfg: WorkerConfig) -> Arc<Self> {
        let leases = Leases::new(queue.clone(), ctx.state.clone(), &cfg.consumer, cfg.lease);
        let breakers = Breakers::new(cfg.breaker, ctx.metrics.clone());
        Arc::new(Worker {
            ctx,
            queue,
            cfg,
            leases,
            breakers,
        })
    }

    /// Run until `shutdown` is cancelled, then stop reading and let in-flight jobs finish
    /// (up to the grace period; anything still running stays pending and is reclaimed).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let permits = Arc::new(Semaphore::new(self.cfg.concurrency));
        let mut tasks = JoinSet::new();
        let promoter = tokio::spawn(self.clone().promote_loop(shutdown.clone()));
        // Renewals go on through the drain below and stop with this future (or its abort).
        let stop_renewing = CancellationToken::new();
        let _renewer = AbortOnDrop(tokio::spawn(self.leases.clone().run(stop_renewing.clone())));
        let reclaim_every = self.cfg.lease.renew_every.max(Duration::from_millis(200));
        let mut next_reclaim = Instant::now() + reclaim_every;
        let mut read_errors = 0u32;

        tracing::info!(consumer = %self.cfg.consumer, concurrency = self.cfg.concurrency, "worker started");
        // Loading the token now (re)seeds the shared record from configuration, so tokens an
        // operator installed after a deauthorization show at once, before any job runs.
        let _ = self.ctx.tiktok.token_status().await;
        loop {
            let first = tokio::select! {
                p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = shutdown.cancelled() => break,
            };
            if shutdown.is_cancelled() {
                break;
            }
            // Read ahead of free permits: a burst waiting on NetSuite is then fetched from
            // TikTok in batches of up to 50 instead of one order per freed permit. Jobs
            // waiting here for a permit keep their leases, and the order sync refuses to
            // write a read older than the last one written.
            let want = MAX_BATCH.min(2 * self.cfg.concurrency).max(1);
            let batch = if Instant::now() >= next_reclaim {
                next_reclaim = Instant::now() + reclaim_every;
                self.queue
                    .reclaim_idle(&self.cfg.consumer, self.cfg.lease.expiry, want)
                    .await
                    .inspect(|d| {
                        if !d.is_empty() {
                            tracing::warn!(
                                count = d.len(),
                                "reclaimed jobs whose lease expired (a stopped worker)"
                            );
                        }
                    })
            } else {
                // Short block so shutdown is noticed quickly without cancelling a read
                // (a cancelled read could leave delivered entries unseen until reclaimed).
                self.queue
                    .read(&self.cfg.consumer, want, Duration::from_millis(500))
                    .await
            };
            let deliveries = match batch {
                Ok(d) => {
                    read_errors = 0;
                    d
                }
                Err(e) => {
                    read_errors += 1;
                    let wait = Duration::from_millis(200 * u64::from(read_errors.min(10)));
                    tracing::error!(error = %e, "queue read failed; backing off");
                    drop(first);
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {},
                        _ = shutdown.cancelled() => break,
                    }
                    continue;
                }
            };
            if deliveries.is_empty() {
                continue;
            }
            self.dispatch(deliveries, first, &permits, &mut tasks).await;
            while tasks.try_join_next().is_some() {}
        }

        tracing::info!(in_flight = tasks.len(), "worker draining");
        let drained = tokio::time::timeout(self.cfg.shutdown_grace, async {
            while tasks.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                left = tasks.len(),
                "grace period over; unfinished jobs stay pending and will be reclaimed"
            );
            tasks.abort_all();
        }
        stop_renewing.cancel();
        promoter.abort();
        tracing::info!(consumer = %self.cfg.consumer, "worker stopped");
    }

    async fn promote_loop(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {},
                _ = shutdown.cancelled() => return,
            }
            if let Err(e) = self.queue.promote_due(now_ms(), 500).await {
                tracing::warn!(error = %e, "could not promote due retries");
            }
        }
    }

    /// Fetch the batch's orders in as few TikTok calls as possible, then start a task per job.
    async fn dispatch(
        self: &Arc<Self>,
        deliveries: Vec<Delivery>,
        first: OwnedSemaphorePermit,
        permits: &Arc<Semaphore>,
        tasks: &mut JoinSet<()>,
    ) {
        // Leases from the moment of the read: jobs waiting for a permit are held too.
        let held: Vec<_> = deliveries
            .into_iter()
            .map(|d| {
                let guard = self.leases.hold(&d);
                (d, guard)
            })
            .collect();
        let batch: Vec<Delivery> = held.iter().map(|(d, _)| d.clone()).collect();
        let prefetched = Arc::new(self.prefetch(&batch).await);
        let mut first = Some(first);
        for (d, guard) in held {
            let permit = match first.take() {
                Some(p) => p,
                None => match permits.clone().acquire_owned().await {
                    Ok(p) => p,
                    Err(_) => return,
                },
            };
            if guard.lost.is_cancelled() {
                // Its lease went while it waited; whoever holds it now runs it.
                continue;
            }
            let me = self.clone();
            let pre = prefetched.clone();
            let span = tracing::info_span!(
                "job",
                job_id = %d.envelope.id,
                kind = d.envelope.job.kind(),
                attempt = d.envelope.attempt,
                order_id = order_id_of(&d.envelope.job).unwrap_or(""),
            );
            tasks.spawn(
                async move {
                    me.handle(d, &pre, &guard).await;
                    drop(guard);
                    drop(permit);
                }
                .instrument(span),
            );
        }
    }

    async fn prefetch(&self, deliveries: &[Delivery]) -> Prefetched {
        let shop = self.ctx.tiktok.shop_id().to_string();
        let mut ids: Vec<String> = Vec::new();
        for d in deliveries {
            // Only order syncs batch their reads.
            if let Job::OrderSync {
                shop_id, order_id, ..
            } = &d.envelope.job
            {
                if *shop_id == shop && !ids.contains(order_id) {
                    ids.push(order_id.clone());
                }
            }
        }
        if ids.len() < 2 {
            // A lone job fetches its own order; nothing to batch.
            return HashMap::new();
        }
        if self.shop_deauthorized(&shop).await.unwrap_or(false) {
            // No TikTok calls for a deauthorized shop; the jobs park themselves.
            return HashMap::new();
        }
        let fetched = self.ctx.tiktok.get_orders(&ids).await;
        let (outcome, error) = match &fetched {
            Ok(_) => ("ok", None),
            Err(e) => ("error", Some(e.to_string())),
        };
        let events = ids
            .iter()
            .map(|id| {
                let event = HistoryEvent::TiktokCall {
                    endpoint: crate::tiktok::client::GET_ORDER_DETAIL_PATH.into(),
                    outcome: outcome.into(),
                    orders_in_call: ids.len(),
                    error: error.clone(),
                };
                (id.clone(), event)
            })
            .collect();
        history::record_many(self.ctx.state.as_ref(), events).await;
        match fetched {
            Ok(orders) => orders.into_iter().map(|o| (o.id.clone(), o)).collect(),
            Err(e) => {
                tracing::warn!(error = %e, count = ids.len(), "batched order fetch failed; jobs fetch their own");
                HashMap::new()
            }
        }
    }

    /// Whether TikTok revoked the app's access to `shop_id` (topic 6) and no newer tokens
    /// replaced the revoked ones.
    async fn shop_deauthorized(&self, shop_id: &str) -> Result<bool, crate::state::StateError> {
        if authorization::deauthorization(self.ctx.state.as_ref(), shop_id)
            .await?
            .is_none()
        {
            return Ok(false);
        }
        // Loading the token reseeds the shared record when configuration carries new
        // tokens, which is how a re-authorization shows.
        let _ = self.ctx.tiktok.token_status().await;
        authorization::is_deauthorized(self.ctx.state.as_ref(), shop_id).await
    }

    /// Runs the job's handler unless its shop is deauthorized: then the job is parked, not
    /// failed, because the order is real and must sync once the merchant authorizes again.
    async fn run_job(
        &self,
        env: &JobEnvelope,
        prefetched: &Prefetched,
    ) -> Result<Outcome, JobError> {
        if let Some(shop_id) = shop_id_of(&env.job) {
            if self.shop_deauthorized(shop_id).await? {
                tracing::warn!(
                    shop_id,
                    "shop deauthorized on TikTok; job parked until the shop is authorized again"
                );
                return Ok(Outcome::Parked(ParkReason::ShopDeauthorized {
                    shop_id: shop_id.to_string(),
                }));
            }
        }
        jobs::run(&self.ctx, env, prefetched).await
    }

    /// Adds a job run to its order's history.
    async fn record_run(
        &self,
        env: &JobEnvelope,
        outcome: &str,
        detail: &str,
        took: Option<Duration>,
    ) {
        let Some(order_id) = order_id_of(&env.job) else {
            return;
        };
        let event = HistoryEvent::JobRun {
            job_id: env.id.clone(),
            job_kind: env.job.kind().into(),
            attempt: env.attempt,
            outcome: outcome.into(),
            detail: detail.into(),
            duration_ms: took.map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        };
        history::record(self.ctx.state.as_ref(), order_id, event).await;
    }

    async fn handle(&self, d: Delivery, prefetched: &Prefetched, lease: &lease::LeaseGuard) {
        let env = &d.envelope;
        let kind = env.job.kind();
        if d.delivery_count > MAX_DELIVERIES {
            // Its lease ran out again and again without an answer: it keeps killing workers.
            let why = format!(
                "delivered {} times without completing (worker crashes?)",
                d.delivery_count
            );
            self.finish_dead(&d, &why).await;
            return;
        }
        // Every job reads or writes both sides; while either is down it waits here.
        let deps = [
            self.cfg.netsuite_dependency.clone(),
            self.cfg.tiktok_dependency.clone(),
        ];
        match self.breakers.admit(&deps) {
            Admission::Run => {}
            Admission::Probe => tracing::info!("job probes a dependency whose breaker was open"),
            Admission::Wait(wait) => {
                self.hold(&d, wait).await;
                return;
            }
        }
        let lock_key = env.job.entity_key().map(|k| format!("entity:{k}"));
        let mut lock_token = None;
        if let Some(key) = &lock_key {
            match self.ctx.state.lock_fenced(key, self.cfg.lease.expiry).await {
                Ok(Some(token)) => {
                    lease.set_lock(key, token);
                    lock_token = Some(token);
                }
                Ok(None) => {
                    // Another job is on this entity: run again shortly, same attempt.
                    let wait = rand::thread_rng().gen_range(200..600);
                    self.ctx.metrics.job(kind, "deferred");
                    if let Err(e) = self.queue.retry_at(&d, env, now_ms() + wait).await {
                        tracing::error!(error = %e, "could not defer job; it stays pending");
                    }
                    return;
                }
                Err(e) => {
                    self.finish_error(&d, JobError::Transient(format!("entity lock: {e}")))
                        .await;
                    return;
                }
            }
        }

        let started = Instant::now();
        let result = tokio::select! {
            r = self.run_job(env, prefetched) => Some(r),
            _ = lease.lost.cancelled() => None,
        };
        let still_ours = match result {
            // The lease went (this worker stalled or lost Redis for a whole lease): another
            // worker may run the job now, so this copy stops and writes no outcome.
            None => false,
            Some(_) => self.leases.confirm(&d).await,
        };
        if let (Some(key), Some(token)) = (&lock_key, lock_token) {
            // Fenced: a no-op if a newer holder has the lock by now.
            if let Err(e) = self.ctx.state.unlock_fenced(key, token).await {
                tracing::warn!(error = %e, "could not release entity lock; it expires by itself");
            }
        }
        let Some(result) = result.filter(|_| still_ours) else {
            tracing::warn!("job lease lost mid-run; its new holder finishes it");
            self.ctx.metrics.job(kind, "lease_lost");
            return;
        };
        match &result {
            Err(JobError::Down { dependency, .. }) => {
                self.breakers.failure(self.dependency(*dependency));
            }
            // It got an answer (a verdict on the job is still an answer).
            _ => self.breakers.success(&deps),
        }
        self.ctx
            .metrics
            .job_duration
            .get_or_create(&Kind { kind: kind.into() })
            .observe(started.elapsed().as_secs_f64());
        let took = Some(started.elapsed());

        match result {
            Ok(Outcome::Done(what)) => {
                tracing::info!(what, "job done");
                self.ctx.metrics.job(kind, "done");
                self.record_run(env, "done", &what, took).await;
                if matches!(env.job, Job::OrderSync { .. }) {
                    let secs = (now_ms() - env.enqueued_at_ms).max(0) as f64 / 1000.0;
                    self.ctx.metrics.order_latency.observe(secs);
                }
                self.ack(&d).await;
            }
            Ok(Outcome::Skipped(why)) => {
                tracing::info!(why, "job skipped");
                self.ctx.metrics.job(kind, "skipped");
                self.record_run(env, "skipped", &why, took).await;
                self.ack(&d).await;
            }
            Ok(Outcome::Parked(reason)) => {
                tracing::warn!(
                    reason = reason.label(),
                    "job parked until its reason resolves"
                );
                let parked = ParkedJob {
                    envelope: env.clone(),
                    reason,
                    parked_at_ms: now_ms(),
                };
                // Park first, then ack: a crash in between re-runs the job, which parks again.
                match self.ctx.state.park(&parked).await {
                    Ok(()) => {
                        self.ctx.metrics.job(kind, "parked");
                        let detail = serde_json::to_string(&parked.reason).unwrap_or_default();
                        self.record_run(env, "parked", &detail, took).await;
                        self.ack(&d).await;
                    }
                    Err(e) => {
                        self.finish_error(&d, JobError::Transient(format!("park: {e}")))
                            .await
                    }
                }
            }
            Err(e) => self.finish_error(&d, e).await,
        }
    }

    async fn ack(&self, d: &Delivery) {
        if let Err(e) = self.queue.ack(d).await {
            // The job stays pending and is reclaimed later; handlers are idempotent.
            tracing::error!(error = %e, "ack failed; job will be reclaimed and re-run");
        }
    }

    fn dependency(&self, dep: Dependency) -> &str {
        match dep {
            Dependency::NetSuite => &self.cfg.netsuite_dependency,
            Dependency::TikTok => &self.cfg.tiktok_dependency,
        }
    }

    /// Puts the job back, same attempt, for `wait`: a dependency it needs is down.
    async fn hold(&self, d: &Delivery, wait: Duration) {
        self.ctx.metrics.job(d.envelope.job.kind(), "held");
        let run_at = now_ms() + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
        if let Err(e) = self.queue.retry_at(d, &d.envelope, run_at).await {
            tracing::error!(error = %e, "could not hold job; it stays pending");
        }
    }

    async fn finish_error(&self, d: &Delivery, err: JobError) {
        let env = &d.envelope;
        let kind = env.job.kind();
        let now = now_ms();
        let since = env.retry_since_ms.unwrap_or(now);
        let age = |from: i64| Duration::from_millis(u64::try_from(now - from).unwrap_or(0));
        // A dependency that is down costs a job one attempt at most: while its breaker is
        // open the job waits for the breaker, and later down failures of a job that failed
        // before back off by how long it has been failing (doubling in effect). The horizon
        // still runs.
        if let JobError::Down { dependency, .. } = &err {
            let breaker_wait = self.breakers.wait_for(self.dependency(*dependency));
            if (breaker_wait.is_some() || env.retry_since_ms.is_some())
                && age(since) < self.cfg.retry.horizon
            {
                let wait = breaker_wait.unwrap_or_else(|| self.cfg.retry.delay_for_age(age(since)));
                let next = JobEnvelope {
                    last_error: Some(err.to_string()),
                    retry_since_ms: Some(since),
                    ..env.clone()
                };
                tracing::warn!(error = %err, wait_ms = wait.as_millis() as u64, "dependency down; job waits without spending an attempt");
                self.ctx.metrics.job(kind, "held");
                let run_at = now + i64::try_from(wait.as_millis()).unwrap_or(i64::MAX / 2);
                if let Err(e) = self.queue.retry_at(d, &next, run_at).await {
                    tracing::error!(error = %e, "could not hold job; it stays pending");
                }
                return;
            }
        }
        let within_horizon = match &err {
            JobError::NotYetVisible(_) => age(env.enqueued_at_ms) < self.cfg.retry.read_lag,
            _ => age(since) < self.cfg.retry.horizon,
        };
        let under_cap =
            self.cfg.retry.max_attempts == 0 || env.attempt < self.cfg.retry.max_attempts;
        if err.is_retryable() && within_horizon && under_cap {
            let wait = self.cfg.retry.delay(env.attempt);
            let next = JobEnvelope {
                attempt: env.attempt + 1,
                last_error: Some(err.to_string()),
                retry_since_ms: Some(since),
                ..env.clone()
            };
            tracing::warn!(error = %err, retry_in_ms = wait.as_millis() as u64, "job failed; will retry");
            self.ctx.metrics.job(kind, "retried");
            self.record_run(env, "retry_scheduled", &err.to_string(), None)
                .await;
            if let Err(e) = self
                .queue
                .retry_at(d, &next, now + wait.as_millis() as i64)
                .await
            {
                tracing::error!(error = %e, "could not schedule retry; job stays pending");
            }
        } else {
            let why = match &err {
                _ if !err.is_retryable() => err.to_string(),
                JobError::NotYetVisible(_) => format!(
                    "still not visible after {} s: {err}",
                    self.cfg.retry.read_lag.as_secs()
                ),
                _ if !under_cap => format!("gave up after {} attempts: {err}", env.attempt),
                _ => format!(
                    "gave up after retrying for {} s ({} attempts): {err}",
                    age(since).as_secs(),
                    env.attempt
                ),
            };
            self.finish_dead(d, &why).await;
        }
    }

    async fn finish_dead(&self, d: &Delivery, why: &str) {
        tracing::error!(error = why, "job moved to the dead-letter stream");
        self.ctx.metrics.job(d.envelope.job.kind(), "dead");
        self.record_run(&d.envelope, "dead", why, None).await;
        if let Err(e) = self.queue.dead_letter(d, why).await {
            tracing::error!(error = %e, "could not dead-letter job; it stays pending");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped_with_jitter() {
        let p = RetryPolicy {
            max_attempts: 8,
            base: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            horizon: Duration::from_secs(3600),
            read_lag: Duration::from_secs(60),
        };
        for _ in 0..50 {
            let d1 = p.delay(1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d3 = p.delay(3);
            assert!(d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400));
            let d9 = p.delay(9);
            assert!(d9 >= Duration::from_millis(500) && d9 <= Duration::from_millis(1000));
        }
        let spread: std::collections::HashSet<_> = (0..50).map(|_| p.delay(4)).collect();
        assert!(spread.len() > 5, "jitter must spread retries");
    }
}
