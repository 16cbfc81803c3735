//! Embedded (SQLite) backend of the shared state: locks with an owner and a lease, plain
//! keys with optional expiry, capped lists and parked jobs, in the same database file as
//! the embedded queue. Expired rows read as absent at once and are swept from disk later.

use super::{ParkedJob, StateError, StateStore};
use crate::queue::now_ms;
use crate::queue::sqlite::{DbError, EmbeddedDb, OpenError};
use async_trait::async_trait;
use rusqlite::{params, Connection, OptionalExtension};
use std::sync::Arc;
use std::time::Duration;

fn to_state_error(e: DbError) -> StateError {
    match e {
        DbError::Corrupt { id, reason } => StateError::Corrupt { key: id, reason },
        other => StateError::Unavailable(format!("embedded database: {other}")),
    }
}

fn ttl_ms(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1)
}

fn decode_parked(job_id: &str, json: &str) -> Result<ParkedJob, StateError> {
    serde_json::from_str(json).map_err(|e| StateError::Corrupt {
        key: format!("parked/{job_id}"),
        reason: e.to_string(),
    })
}

/// The state store in the embedded database.
pub struct SqliteState {
    db: Arc<EmbeddedDb>,
}

impl SqliteState {
    pub fn new(db: Arc<EmbeddedDb>) -> Self {
        SqliteState { db }
    }

    /// Opens the database under `data_dir` for the state alone (tests); a service shares
    /// one [`EmbeddedDb`] between queue and state instead.
    pub async fn open(data_dir: &std::path::Path) -> Result<Self, OpenError> {
        Ok(SqliteState::new(EmbeddedDb::open(data_dir).await?))
    }

    async fn call<R, F>(&self, f: F) -> Result<R, StateError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, DbError> + Send + 'static,
    {
        self.db.call(f).await.map_err(to_state_error)
    }

    /// Cheap liveness check, for readiness probes.
    pub async fn ping(&self) -> Result<(), StateError> {
        self.call(|conn| {
            conn.prepare_cached("SELECT 1")?
                .query_row([], |r| r.get::<_, i64>(0))?;
            Ok(())
        })
        .await
    }
}

fn live_value(conn: &Connection, key: &str, now: i64) -> Result<Option<String>, DbError> {
    Ok(conn
        .prepare_cached(
            "SELECT value FROM kv WHERE key = ?1 \
             AND (expires_at_ms IS NULL OR expires_at_ms > ?2)",
        )?
        .query_row(params![key, now], |r| r.get(0))
        .optional()?)
}

#[async_trait]
impl StateStore for SqliteState {
    async fn try_lock(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool, StateError> {
        let (key, owner, ttl) = (key.to_string(), owner.to_string(), ttl_ms(ttl));
        self.call(move |conn| {
            let now = now_ms();
            let holder: Option<(String, i64)> = conn
                .prepare_cached("SELECT owner, expires_at_ms FROM locks WHERE key = ?1")?
                .query_row([&key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()?;
            // Free, expired, or already ours (re-entrant, and re-locking extends the lease).
            let free = match &holder {
                None => true,
                Some((who, expires)) => *expires <= now || *who == owner,
            };
            if free {
                conn.prepare_cached(
                    "INSERT INTO locks (key, owner, expires_at_ms) VALUES (?1, ?2, ?3) \
                     ON CONFLICT(key) DO UPDATE SET owner = excluded.owner, \
                       expires_at_ms = excluded.expires_at_ms",
                )?
                .execute(params![key, owner, now.saturating_add(ttl)])?;
            }
            Ok(free)
        })
        .await
    }

    async fn unlock(&self, key: &str, owner: &str) -> Result<(), StateError> {
        let (key, owner) = (key.to_string(), owner.to_string());
        // Compare-and-delete, so a worker whose lease expired cannot free the next holder's lock.
        self.call(move |conn| {
            conn.prepare_cached("DELETE FROM locks WHERE key = ?1 AND owner = ?2")?
                .execute(params![key, owner])?;
            Ok(())
        })
        .await
    }

    async fn lock_fenced(&self, key: &str, ttl: Duration) -> Result<Option<u64>, StateError> {
        let (key, ttl) = (key.to_string(), ttl_ms(ttl));
        self.call(move |conn| {
            let now = now_ms();
            let held: Option<i64> = conn
                .prepare_cached(
                    "SELECT token FROM fenced_locks WHERE key = ?1 AND expires_at_ms > ?2",
                )?
                .query_row(params![key, now], |r| r.get(0))
                .optional()?;
            if held.is_some() {
                return Ok(None);
            }
            let token: i64 = conn
                .prepare_cached(
                    "INSERT INTO fence_seq (id, value) VALUES (1, 1) \
                     ON CONFLICT(id) DO UPDATE SET value = value + 1 RETURNING value",
                )?
                .query_row([], |r| r.get(0))?;
            conn.prepare_cached(
                "INSERT INTO fenced_locks (key, token, expires_at_ms) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(key) DO UPDATE SET token = excluded.token, \
                   expires_at_ms = excluded.expires_at_ms",
            )?
            .execute(params![key, token, now.saturating_add(ttl)])?;
            Ok(u64::try_from(token).ok())
        })
        .await
    }

    async fn renew_fenced(&self, key: &str, token: u64, ttl: Duration) -> Result<bool, StateError> {
        let (key, ttl) = (key.to_string(), ttl_ms(ttl));
        let token = i64::try_from(token).unwrap_or(-1);
        self.call(move |conn| {
            let now = now_ms();
            // An expired lock is not renewed even by its own token: someone may hold it
            // (or be about to) with a newer one.
            let n = conn
                .prepare_cached(
                    "UPDATE fenced_locks SET expires_at_ms = ?3 \
                     WHERE key = ?1 AND token = ?2 AND expires_at_ms > ?4",
                )?
                .execute(params![key, token, now.saturating_add(ttl), now])?;
            Ok(n == 1)
        })
        .await
    }

    async fn unlock_fenced(&self, key: &str, token: u64) -> Result<bool, StateError> {
        let key = key.to_string();
        let token = i64::try_from(token).unwrap_or(-1);
        self.call(move |conn| {
            let n = conn
                .prepare_cached("DELETE FROM fenced_locks WHERE key = ?1 AND token = ?2")?
                .execute(params![key, token])?;
            Ok(n == 1)
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<String>, StateError> {
        let key = key.to_string();
        self.call(move |conn| live_value(conn, &key, now_ms()))
            .await
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), StateError> {
        let (key, value) = (key.to_string(), value.to_string());
        let ttl = ttl.map(ttl_ms);
        self.call(move |conn| {
            let expires = ttl.map(|t| now_ms().saturating_add(t));
            conn.prepare_cached(
                "INSERT INTO kv (key, value, expires_at_ms) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, \
                   expires_at_ms = excluded.expires_at_ms",
            )?
            .execute(params![key, value, expires])?;
            Ok(())
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), StateError> {
        let key = key.to_string();
        self.call(move |conn| {
            conn.prepare_cached("DELETE FROM kv WHERE key = ?1")?
                .execute([key])?;
            Ok(())
        })
        .await
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, StateError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let keys = keys.to_vec();
        self.call(move |conn| {
            let now = now_ms();
            keys.iter().map(|k| live_value(conn, k, now)).collect()
        })
        .await
    }

    async fn list_push(&self, key: &str, entry: &str, max_len: usize) -> Result<(), StateError> {
        let (key, entry) = (key.to_string(), entry.to_string());
        let keep = i64::try_from(max_len.max(1)).unwrap_or(i64::MAX);
        self.call(move |conn| {
            conn.prepare_cached("INSERT INTO lists (key, entry) VALUES (?1, ?2)")?
                .execute(params![key, entry])?;
            // Keep the newest `keep`: drop everything at or below the (keep+1)-th newest id.
            conn.prepare_cached(
                "DELETE FROM lists WHERE key = ?1 AND id <= \
                 (SELECT id FROM lists WHERE key = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
            )?
            .execute(params![key, keep])?;
            Ok(())
        })
        .await
    }

    async fn list_range(&self, key: &str) -> Result<Vec<String>, StateError> {
        let key = key.to_string();
        self.call(move |conn| {
            let entries = conn
                .prepare_cached("SELECT entry FROM lists WHERE key = ?1 ORDER BY id")?
                .query_map([key], |r| r.get(0))?
                .collect::<Result<Vec<String>, _>>()?;
            Ok(entries)
        })
        .await
    }

    async fn park(&self, parked: &ParkedJob) -> Result<(), StateError> {
        let json = serde_json::to_string(parked).map_err(|e| StateError::Corrupt {
            key: format!("parked/{}", parked.envelope.id),
            reason: e.to_string(),
        })?;
        let job_id = parked.envelope.id.clone();
        let at = parked.parked_at_ms;
        self.call(move |conn| {
            conn.prepare_cached(
                "INSERT INTO parked (job_id, body, parked_at_ms) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(job_id) DO UPDATE SET body = excluded.body, \
                   parked_at_ms = excluded.parked_at_ms",
            )?
            .execute(params![job_id, json, at])?;
            Ok(())
        })
        .await
    }

    async fn parked(&self) -> Result<Vec<ParkedJob>, StateError> {
        let rows: Vec<(String, String)> = self
            .call(|conn| {
                let rows = conn
                    .prepare_cached("SELECT job_id, body FROM parked")?
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                Ok(rows)
            })
            .await?;
        let mut jobs = Vec::with_capacity(rows.len());
        for (job_id, json) in rows {
            match decode_parked(&job_id, &json) {
                Ok(job) => jobs.push(job),
                // One bad entry must not hide every other parked job from the unparker.
                Err(e) => tracing::warn!(%job_id, error = %e, "skipping corrupt parked job"),
            }
        }
        jobs.sort_by(|a, b| {
            a.parked_at_ms
                .cmp(&b.parked_at_ms)
                .then_with(|| a.envelope.id.cmp(&b.envelope.id))
        });
        Ok(jobs)
    }

    /// Counted inside SQLite: the bodies never leave the database.
    async fn parked_counts(&self) -> Result<Vec<(String, u64)>, StateError> {
        self.call(|conn| {
            let rows = conn
                .prepare_cached(
                    "SELECT json_extract(body, '$.reason.kind') AS kind, COUNT(*) FROM parked \
                     GROUP BY kind ORDER BY kind",
                )?
                .query_map([], |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                        u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                    ))
                })?
                .collect::<Result<_, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn unpark(&self, job_id: &str) -> Result<Option<ParkedJob>, StateError> {
        let id = job_id.to_string();
        // Read and remove in one savepoint, so two unparkers never both re-run the same job.
        let json: Option<String> = self
            .call(move |conn| {
                let json: Option<String> = conn
                    .prepare_cached("SELECT body FROM parked WHERE job_id = ?1")?
                    .query_row([&id], |r| r.get(0))
                    .optional()?;
                if json.is_some() {
                    conn.prepare_cached("DELETE FROM parked WHERE job_id = ?1")?
                        .execute([&id])?;
                }
                Ok(json)
            })
            .await?;
        json.map(|j| decode_parked(job_id, &j)).transpose()
    }

    async fn hash_set(&self, key: &str, field: &str, value: &str) -> Result<(), StateError> {
        let (key, field, value) = (key.to_string(), field.to_string(), value.to_string());
        self.call(move |conn| {
            conn.prepare_cached(
                "INSERT INTO hashes (key, field, value) VALUES (?1, ?2, ?3) \
                 ON CONFLICT(key, field) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![key, field, value])?;
            Ok(())
        })
        .await
    }

    async fn hash_delete(&self, key: &str, fields: &[String]) -> Result<(), StateError> {
        if fields.is_empty() {
            return Ok(());
        }
        let (key, fields) = (key.to_string(), fields.to_vec());
        self.call(move |conn| {
            let mut stmt =
                conn.prepare_cached("DELETE FROM hashes WHERE key = ?1 AND field = ?2")?;
            for f in &fields {
                stmt.execute(params![key, f])?;
            }
            Ok(())
        })
        .await
    }

    async fn hash_delete_if(
        &self,
        key: &str,
        field: &str,
        expected: &str,
    ) -> Result<bool, StateError> {
        let (key, field, expected) = (key.to_string(), field.to_string(), expected.to_string());
        self.call(move |conn| {
            let n = conn
                .prepare_cached("DELETE FROM hashes WHERE key = ?1 AND field = ?2 AND value = ?3")?
                .execute(params![key, field, expected])?;
            Ok(n == 1)
        })
        .await
    }

    async fn hash_all(&self, key: &str) -> Result<Vec<(String, String)>, StateError> {
        let key = key.to_string();
        self.call(move |conn| {
            let rows = conn
                .prepare_cached("SELECT field, value FROM hashes WHERE key = ?1 ORDER BY field")?
                .query_map([key], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<Result<Vec<(String, String)>, _>>()?;
            Ok(rows)
        })
        .await
    }

    async fn incr_by(&self, key: &str, by: u64) -> Result<u64, StateError> {
        let by = i64::try_from(by).unwrap_or(i64::MAX);
        let key = key.to_string();
        self.call(move |conn| {
            let now = now_ms();
            let current: i64 = live_value(conn, &key, now)?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            let next = current.saturating_add(by);
            conn.prepare_cached(
                "INSERT INTO kv (key, value, expires_at_ms) VALUES (?1, ?2, NULL) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires_at_ms = NULL",
            )?
            .execute(params![key, next.to_string()])?;
            Ok(next.max(0) as u64)
        })
        .await
    }

    async fn raise_to(&self, key: &str, value: u64) -> Result<bool, StateError> {
        let key = key.to_string();
        self.call(move |conn| {
            let current: Option<u64> =
                live_value(conn, &key, now_ms())?.and_then(|v| v.parse().ok());
            if current.is_some_and(|c| c >= value) {
                return Ok(false);
            }
            conn.prepare_cached(
                "INSERT INTO kv (key, value, expires_at_ms) VALUES (?1, ?2, NULL) \
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value, expires_at_ms = NULL",
            )?
            .execute(params![key, value.to_string()])?;
            Ok(true)
        })
        .await
    }
}
