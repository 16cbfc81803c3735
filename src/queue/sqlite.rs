//! Embedded (SQLite) backend of the job queue, for a single instance with nothing to
//! install. A job row is waiting while `consumer` is NULL and in flight (a lease) while it
//! names a consumer; ack deletes the row. Retries wait in `delayed`, failures in `dead`.

mod db;
mod private;

pub use db::{DbError, EmbeddedDb, OpenError, DB_FILE, LOCK_FILE};

use super::redis::PendingEntry;
use super::{
    now_ms, DeadLetter, Delivery, EnqueueOutcome, JobEnvelope, JobQueue, QueueError, QueueStats,
};
use async_trait::async_trait;
use db::duration_ms;
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Dead letters are for people to look at; an outage must not let them grow without end.
const DEAD_MAX: i64 = 100_000;
/// A blocked read re-checks at least this often, a safety net under the commit wake-ups.
const READ_RECHECK: Duration = Duration::from_millis(250);

fn to_queue_error(e: DbError) -> QueueError {
    match e {
        DbError::Corrupt { id, reason } => QueueError::Corrupt { id, reason },
        other => QueueError::Unavailable(format!("embedded database: {other}")),
    }
}

fn encode(envelope: &JobEnvelope) -> Result<String, QueueError> {
    serde_json::to_string(envelope).map_err(|e| QueueError::Corrupt {
        id: envelope.id.clone(),
        reason: e.to_string(),
    })
}

fn message_row_id(delivery: &Delivery) -> Result<i64, QueueError> {
    delivery
        .message_id
        .parse()
        .map_err(|_| QueueError::Corrupt {
            id: delivery.message_id.clone(),
            reason: "not a message id of the embedded queue".into(),
        })
}

/// The job queue in the embedded database.
pub struct SqliteQueue {
    db: Arc<EmbeddedDb>,
}

impl SqliteQueue {
    pub fn new(db: Arc<EmbeddedDb>) -> Self {
        SqliteQueue { db }
    }

    /// Opens the database under `data_dir` for the queue alone (tests); a service shares one
    /// [`EmbeddedDb`] between queue and state instead.
    pub async fn open(data_dir: &std::path::Path) -> Result<Self, OpenError> {
        Ok(SqliteQueue::new(EmbeddedDb::open(data_dir).await?))
    }

    pub fn db(&self) -> &Arc<EmbeddedDb> {
        &self.db
    }

    async fn call<R, F>(&self, f: F) -> Result<R, QueueError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, DbError> + Send + 'static,
    {
        self.db.call(f).await.map_err(to_queue_error)
    }

    /// Claims up to `max` waiting jobs for `consumer` in one step.
    async fn claim_waiting(&self, consumer: &str, max: usize) -> Result<Vec<Delivery>, QueueError> {
        let consumer = consumer.to_string();
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        self.call(move |conn| {
            let now = now_ms();
            let rows = lease(
                conn,
                "UPDATE jobs SET consumer = ?1, claimed_at_ms = ?2, \
                   delivery_count = delivery_count + 1 \
                 WHERE id IN (SELECT id FROM jobs WHERE consumer IS NULL ORDER BY id LIMIT ?3) \
                 RETURNING id, body, delivery_count",
                params![consumer, now, limit],
            )?;
            decode_claimed(conn, rows)
        })
        .await
    }

    /// Messages a consumer holds without having acked them, oldest first.
    pub async fn pending_for(
        &self,
        consumer: &str,
        max: usize,
    ) -> Result<Vec<PendingEntry>, QueueError> {
        let consumer = consumer.to_string();
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        self.call(move |conn| {
            let now = now_ms();
            let mut stmt = conn.prepare_cached(
                "SELECT id, consumer, claimed_at_ms, delivery_count FROM jobs \
                 WHERE consumer = ?1 ORDER BY id LIMIT ?2",
            )?;
            let rows = stmt
                .query_map(params![consumer, limit], |r| {
                    let claimed: i64 = r.get(2)?;
                    Ok(PendingEntry {
                        message_id: r.get::<_, i64>(0)?.to_string(),
                        consumer: r.get(1)?,
                        idle_ms: u64::try_from(now - claimed).unwrap_or(0),
                        delivery_count: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            Ok(rows)
        })
        .await
    }
}

/// Runs a claiming `UPDATE ... RETURNING id, body, delivery_count`, oldest first.
fn lease(
    conn: &Connection,
    sql: &str,
    args: impl rusqlite::Params,
) -> Result<Vec<(i64, String, i64)>, DbError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt
        .query_map(args, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<Vec<(i64, String, i64)>, _>>()?;
    // RETURNING gives no order; hand jobs out in the order they were queued.
    rows.sort_by_key(|r| r.0);
    Ok(rows)
}

/// Turns claimed rows into deliveries; rows that do not decode are dead-lettered in the
/// same transaction so they cannot come back through reclaim and wedge the queue.
fn decode_claimed(
    conn: &Connection,
    rows: Vec<(i64, String, i64)>,
) -> Result<Vec<Delivery>, DbError> {
    let mut out = Vec::with_capacity(rows.len());
    for (id, body, count) in rows {
        match serde_json::from_str::<JobEnvelope>(&body) {
            Ok(envelope) => out.push(Delivery {
                message_id: id.to_string(),
                envelope,
                delivery_count: u64::try_from(count).unwrap_or(1),
            }),
            Err(e) => {
                tracing::warn!(message_id = id, reason = %e, "dead-lettering corrupt queue entry");
                move_to_dead(conn, id, &body, &format!("corrupt queue entry: {e}"))?;
            }
        }
    }
    Ok(out)
}

fn insert_job(conn: &Connection, body: &str) -> Result<(), DbError> {
    conn.prepare_cached("INSERT INTO jobs (body) VALUES (?1)")?
        .execute([body])?;
    Ok(())
}

fn move_to_dead(conn: &Connection, id: i64, body: &str, error: &str) -> Result<(), DbError> {
    conn.prepare_cached("DELETE FROM jobs WHERE id = ?1")?
        .execute([id])?;
    conn.prepare_cached("INSERT INTO dead (body, error, failed_at_ms) VALUES (?1, ?2, ?3)")?
        .execute(params![body, error, now_ms()])?;
    let newest = conn.last_insert_rowid();
    conn.prepare_cached("DELETE FROM dead WHERE id <= ?1")?
        .execute([newest - DEAD_MAX])?;
    Ok(())
}

#[async_trait]
impl JobQueue for SqliteQueue {
    async fn enqueue_unique(
        &self,
        dedupe_key: &str,
        ttl: Duration,
        envelope: &JobEnvelope,
    ) -> Result<EnqueueOutcome, QueueError> {
        let body = encode(envelope)?;
        let key = dedupe_key.to_string();
        let ttl_ms = duration_ms(ttl).max(1);
        // One savepoint: the mark and the job are committed together or not at all.
        let outcome = self
            .call(move |conn| {
                let now = now_ms();
                let seen: Option<i64> = conn
                    .prepare_cached("SELECT expires_at_ms FROM seen WHERE key = ?1")?
                    .query_row([&key], |r| r.get(0))
                    .optional()?;
                if seen.is_some_and(|expires| expires > now) {
                    return Ok(EnqueueOutcome::Duplicate);
                }
                insert_job(conn, &body)?;
                conn.prepare_cached(
                    "INSERT INTO seen (key, expires_at_ms) VALUES (?1, ?2) \
                     ON CONFLICT(key) DO UPDATE SET expires_at_ms = excluded.expires_at_ms",
                )?
                .execute(params![key, now.saturating_add(ttl_ms)])?;
                Ok(EnqueueOutcome::Enqueued)
            })
            .await?;
        if outcome == EnqueueOutcome::Enqueued {
            self.db.job_ready.notify_waiters();
        }
        Ok(outcome)
    }

    async fn enqueue(&self, envelope: &JobEnvelope) -> Result<(), QueueError> {
        let body = encode(envelope)?;
        self.call(move |conn| insert_job(conn, &body)).await?;
        self.db.job_ready.notify_waiters();
        Ok(())
    }

    async fn read(
        &self,
        consumer: &str,
        max: usize,
        block: Duration,
    ) -> Result<Vec<Delivery>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let deadline = Instant::now() + block;
        loop {
            // Registered before looking, so a commit between the look and the wait still
            // wakes us.
            let ready = self.db.job_ready.notified();
            tokio::pin!(ready);
            ready.as_mut().enable();
            let got = self.claim_waiting(consumer, max).await?;
            let now = Instant::now();
            if !got.is_empty() || now >= deadline {
                return Ok(got);
            }
            let wait = (deadline - now).min(READ_RECHECK);
            let _ = tokio::time::timeout(wait, ready).await;
        }
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), QueueError> {
        let id = message_row_id(delivery)?;
        self.call(move |conn| {
            conn.prepare_cached("DELETE FROM jobs WHERE id = ?1")?
                .execute([id])?;
            Ok(())
        })
        .await
    }

    async fn retry_at(
        &self,
        delivery: &Delivery,
        next: &JobEnvelope,
        run_at_ms: i64,
    ) -> Result<(), QueueError> {
        let id = message_row_id(delivery)?;
        let body = encode(next)?;
        self.call(move |conn| {
            conn.prepare_cached("DELETE FROM jobs WHERE id = ?1")?
                .execute([id])?;
            conn.prepare_cached("INSERT INTO delayed (run_at_ms, body) VALUES (?1, ?2)")?
                .execute(params![run_at_ms, body])?;
            Ok(())
        })
        .await
    }

    async fn dead_letter(&self, delivery: &Delivery, error: &str) -> Result<(), QueueError> {
        let id = message_row_id(delivery)?;
        let body = encode(&delivery.envelope)?;
        let error = error.to_string();
        self.call(move |conn| move_to_dead(conn, id, &body, &error))
            .await
    }

    async fn promote_due(&self, now_ms: i64, max: usize) -> Result<usize, QueueError> {
        if max == 0 {
            return Ok(0);
        }
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let moved = self
            .call(move |conn| {
                let due: Vec<(i64, String)> = conn
                    .prepare_cached(
                        "SELECT id, body FROM delayed WHERE run_at_ms <= ?1 \
                         ORDER BY run_at_ms, id LIMIT ?2",
                    )?
                    .query_map(params![now_ms, limit], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                for (id, body) in &due {
                    insert_job(conn, body)?;
                    conn.prepare_cached("DELETE FROM delayed WHERE id = ?1")?
                        .execute([id])?;
                }
                Ok(due.len())
            })
            .await?;
        if moved > 0 {
            self.db.job_ready.notify_waiters();
        }
        Ok(moved)
    }

    async fn renew_leases(
        &self,
        consumer: &str,
        held: &[(String, u64)],
    ) -> Result<Vec<bool>, QueueError> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let consumer = consumer.to_string();
        let held: Vec<(Option<i64>, i64)> = held
            .iter()
            .map(|(id, count)| (id.parse().ok(), i64::try_from(*count).unwrap_or(-1)))
            .collect();
        self.call(move |conn| {
            let now = now_ms();
            let mut stmt = conn.prepare_cached(
                "UPDATE jobs SET claimed_at_ms = ?1 \
                 WHERE id = ?2 AND consumer = ?3 AND delivery_count = ?4",
            )?;
            let mut out = Vec::with_capacity(held.len());
            for (id, count) in held {
                let renewed = match id {
                    Some(id) => stmt.execute(params![now, id, consumer, count])? == 1,
                    None => false,
                };
                out.push(renewed);
            }
            Ok(out)
        })
        .await
    }

    async fn reclaim_idle(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<Delivery>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let consumer = consumer.to_string();
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let idle_ms = duration_ms(min_idle);
        self.call(move |conn| {
            let now = now_ms();
            // A lease older than `min_idle` belongs to a worker that stopped answering; the
            // delivery count goes up so a job that keeps killing workers is noticed.
            let rows = lease(
                conn,
                "UPDATE jobs SET consumer = ?1, claimed_at_ms = ?2, \
                   delivery_count = delivery_count + 1 \
                 WHERE id IN (SELECT id FROM jobs WHERE consumer IS NOT NULL \
                   AND claimed_at_ms <= ?3 ORDER BY id LIMIT ?4) \
                 RETURNING id, body, delivery_count",
                params![consumer, now, now.saturating_sub(idle_ms), limit],
            )?;
            decode_claimed(conn, rows)
        })
        .await
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        self.call(|conn| {
            let count = |sql: &str| -> Result<u64, DbError> {
                let n: i64 = conn.prepare_cached(sql)?.query_row([], |r| r.get(0))?;
                Ok(u64::try_from(n).unwrap_or(0))
            };
            Ok(QueueStats {
                depth: count("SELECT count(*) FROM jobs")?,
                pending: count("SELECT count(*) FROM jobs WHERE consumer IS NOT NULL")?,
                delayed: count("SELECT count(*) FROM delayed")?,
                dead: count("SELECT count(*) FROM dead")?,
            })
        })
        .await
    }

    async fn dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(max).unwrap_or(i64::MAX);
        let rows: Vec<(i64, String, String, i64)> = self
            .call(move |conn| {
                let rows = conn
                    .prepare_cached(
                        "SELECT id, body, error, failed_at_ms FROM dead ORDER BY id DESC LIMIT ?1",
                    )?
                    .query_map([limit], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })?
                    .collect::<Result<_, _>>()?;
                Ok(rows)
            })
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, body, error, failed_at_ms) in rows {
            match serde_json::from_str(&body) {
                Ok(envelope) => out.push(DeadLetter {
                    id: id.to_string(),
                    envelope,
                    error,
                    failed_at_ms,
                }),
                // A dead-lettered corrupt entry has no envelope to show; it still counts in
                // `stats().dead` and can be discarded by id.
                Err(e) => tracing::debug!(id, reason = %e, "dead letter without a valid envelope"),
            }
        }
        Ok(out)
    }

    async fn replay_dead(&self, id: &str) -> Result<bool, QueueError> {
        let Ok(row_id) = id.parse::<i64>() else {
            return Ok(false);
        };
        let id = id.to_string();
        // Read, remove and re-queue in one savepoint: two admins replaying at once make one job.
        let replayed = self
            .call(move |conn| {
                let body: Option<String> = conn
                    .prepare_cached("SELECT body FROM dead WHERE id = ?1")?
                    .query_row([row_id], |r| r.get(0))
                    .optional()?;
                let Some(body) = body else {
                    return Ok(false);
                };
                let mut envelope: JobEnvelope =
                    serde_json::from_str(&body).map_err(|e| DbError::Corrupt {
                        id: id.clone(),
                        reason: e.to_string(),
                    })?;
                envelope.attempt = 1;
                envelope.last_error = None;
                envelope.retry_since_ms = None;
                let fresh = serde_json::to_string(&envelope).map_err(|e| DbError::Corrupt {
                    id: id.clone(),
                    reason: e.to_string(),
                })?;
                conn.prepare_cached("DELETE FROM dead WHERE id = ?1")?
                    .execute([row_id])?;
                insert_job(conn, &fresh)?;
                Ok(true)
            })
            .await?;
        if replayed {
            self.db.job_ready.notify_waiters();
        }
        Ok(replayed)
    }

    async fn discard_dead(&self, id: &str) -> Result<bool, QueueError> {
        let Ok(row_id) = id.parse::<i64>() else {
            return Ok(false);
        };
        self.call(move |conn| {
            let n = conn
                .prepare_cached("DELETE FROM dead WHERE id = ?1")?
                .execute([row_id])?;
            Ok(n > 0)
        })
        .await
    }

    async fn ping(&self) -> Result<(), QueueError> {
        self.call(|conn| {
            conn.prepare_cached("SELECT 1")?
                .query_row([], |r| r.get::<_, i64>(0))?;
            Ok(())
        })
        .await
    }
}
