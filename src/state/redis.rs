//! Redis backend of the shared state: per-entity locks, plain keys with optional expiry, and
//! the parked-jobs hash. Keys use the same `{prefix}` hash tag as the queue, so one
//! deployment stays in one Redis Cluster slot.

use super::{ParkedJob, StateError, StateStore};
use crate::queue::redis::{bounded, key_base, open_manager};
use async_trait::async_trait;
use redis::aio::ConnectionManager;
use redis::{RedisError, Script};
use std::time::Duration;

const CALL_TIMEOUT: Duration = Duration::from_millis(1500);

/// Re-entrant for the same owner, which also extends the lease: a worker that renews its
/// lock must not lose it to its own earlier acquisition.
const TRY_LOCK_LUA: &str = r"
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

/// Compare-and-delete, so a worker whose lease expired cannot free the next holder's lock.
const UNLOCK_LUA: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// A fenced lock holds its token as the value. Tokens come from one counter per
/// deployment (bounded state, and larger than any token given before for any key).
const LOCK_FENCED_LUA: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], token, 'PX', ARGV[1])
return token
";

/// Extend only while the caller's token is the one held.
const RENEW_FENCED_LUA: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
";

/// Read and remove in one step, so two unparkers never both re-run the same job. The
/// per-reason count (KEYS[2], field = label kept in KEYS[3]) goes down with it.
const UNPARK_LUA: &str = r"
local value = redis.call('HGET', KEYS[1], ARGV[1])
if value then
  redis.call('HDEL', KEYS[1], ARGV[1])
  local label = redis.call('HGET', KEYS[3], ARGV[1])
  if label then
    redis.call('HDEL', KEYS[3], ARGV[1])
    if redis.call('HINCRBY', KEYS[2], label, -1) <= 0 then
      redis.call('HDEL', KEYS[2], label)
    end
  end
end
return value
";

/// Park (or re-park under another reason) and keep the per-reason counts in step, so a
/// scrape reads a few small fields instead of every parked job.
const PARK_LUA: &str = r"
local old = redis.call('HGET', KEYS[3], ARGV[1])
if old then
  if redis.call('HINCRBY', KEYS[2], old, -1) <= 0 then
    redis.call('HDEL', KEYS[2], old)
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
return 1
";

/// Compare-and-delete of one hash field.
const HASH_DELETE_IF_LUA: &str = r"
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
";

/// Raise a counter only upwards.
const RAISE_TO_LUA: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then
  redis.call('SET', KEYS[1], ARGV[1])
  return 1
end
return 0
";

fn unavailable(err: RedisError) -> StateError {
    StateError::Unavailable(err.to_string())
}

fn ttl_ms(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

/// The state store on Redis.
pub struct RedisState {
    conn: ConnectionManager,
    base: String,
    parked_key: String,
    /// reason label → parked jobs (kept by the park/unpark scripts).
    parked_counts_key: String,
    /// job id → reason label of each parked job.
    parked_reasons_key: String,
    park_script: Script,
    try_lock_script: Script,
    unlock_script: Script,
    lock_fenced_script: Script,
    renew_fenced_script: Script,
    unpark_script: Script,
    hash_delete_if_script: Script,
    raise_to_script: Script,
}

impl RedisState {
    /// Connects now; later outages fail only the calls made during them.
    pub async fn connect(url: &str, key_prefix: &str) -> Result<Self, StateError> {
        let (_, conn) = open_manager(url).await.map_err(unavailable)?;
        let base = key_base(key_prefix);
        let state = RedisState {
            conn,
            parked_key: format!("{base}:parked"),
            parked_counts_key: format!("{base}:parked-counts"),
            parked_reasons_key: format!("{base}:parked-reasons"),
            park_script: Script::new(PARK_LUA),
            base,
            try_lock_script: Script::new(TRY_LOCK_LUA),
            unlock_script: Script::new(UNLOCK_LUA),
            lock_fenced_script: Script::new(LOCK_FENCED_LUA),
            renew_fenced_script: Script::new(RENEW_FENCED_LUA),
            unpark_script: Script::new(UNPARK_LUA),
            hash_delete_if_script: Script::new(HASH_DELETE_IF_LUA),
            raise_to_script: Script::new(RAISE_TO_LUA),
        };
        state.index_parked().await?;
        Ok(state)
    }

    /// Jobs parked by a version that kept no counts get their labels once, at start-up
    /// (HSCAN in pages, so even a large hash never loads at once); afterwards the scripts
    /// keep the counts and this finds nothing to do.
    async fn index_parked(&self) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        let (total, indexed): (u64, u64) = bounded(
            CALL_TIMEOUT,
            redis::pipe()
                .cmd("HLEN")
                .arg(&self.parked_key)
                .cmd("HLEN")
                .arg(&self.parked_reasons_key)
                .query_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        if total == indexed {
            return Ok(());
        }
        // The pipelined EVALSHA below needs the script loaded.
        bounded(
            CALL_TIMEOUT,
            self.park_script.prepare_invoke().load_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        let mut cursor: u64 = 0;
        loop {
            let (next, page): (u64, Vec<(String, String)>) = bounded(
                CALL_TIMEOUT,
                redis::cmd("HSCAN")
                    .arg(&self.parked_key)
                    .arg(cursor)
                    .arg("COUNT")
                    .arg(500)
                    .query_async(&mut conn),
            )
            .await
            .map_err(unavailable)?;
            // Re-parking the same value through the script counts it exactly once.
            let invocations: Vec<_> = page
                .iter()
                .filter_map(|(job_id, json)| {
                    let parked = decode_parked(job_id, json).ok()?;
                    let mut inv = self.park_script.key(&self.parked_key);
                    inv.key(&self.parked_counts_key)
                        .key(&self.parked_reasons_key)
                        .arg(job_id)
                        .arg(json)
                        .arg(parked.reason.label());
                    Some(inv)
                })
                .collect();
            if !invocations.is_empty() {
                let mut pipe = redis::pipe();
                for inv in &invocations {
                    pipe.invoke_script(inv).ignore();
                }
                bounded(CALL_TIMEOUT, pipe.exec_async(&mut conn))
                    .await
                    .map_err(unavailable)?;
            }
            if next == 0 {
                break;
            }
            cursor = next;
        }
        tracing::info!(parked = total, "counted parked jobs by reason");
        Ok(())
    }

    fn lock_key(&self, key: &str) -> String {
        format!("{}:lock:{key}", self.base)
    }

    fn fenced_key(&self, key: &str) -> String {
        format!("{}:fenced:{key}", self.base)
    }

    fn hash_key(&self, key: &str) -> String {
        format!("{}:hash:{key}", self.base)
    }

    fn kv_key(&self, key: &str) -> String {
        format!("{}:kv:{key}", self.base)
    }

    /// Cheap liveness check, for readiness probes.
    pub async fn ping(&self) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        bounded(CALL_TIMEOUT, redis::cmd("PING").exec_async(&mut conn))
            .await
            .map_err(unavailable)
    }
}

fn decode_parked(job_id: &str, json: &str) -> Result<ParkedJob, StateError> {
    serde_json::from_str(json).map_err(|e| StateError::Corrupt {
        key: format!("parked/{job_id}"),
        reason: e.to_string(),
    })
}

#[async_trait]
impl StateStore for RedisState {
    async fn try_lock(&self, key: &str, owner: &str, ttl: Duration) -> Result<bool, StateError> {
        let mut conn = self.conn.clone();
        let taken: i64 = bounded(
            CALL_TIMEOUT,
            self.try_lock_script
                .key(self.lock_key(key))
                .arg(owner)
                .arg(ttl_ms(ttl))
                .invoke_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        Ok(taken == 1)
    }

    async fn unlock(&self, key: &str, owner: &str) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        let _: i64 = bounded(
            CALL_TIMEOUT,
            self.unlock_script
                .key(self.lock_key(key))
                .arg(owner)
                .invoke_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn lock_fenced(&self, key: &str, ttl: Duration) -> Result<Option<u64>, StateError> {
        let mut conn = self.conn.clone();
        let token: u64 = bounded(
            CALL_TIMEOUT,
            self.lock_fenced_script
                .key(self.fenced_key(key))
                .key(format!("{}:fence-seq", self.base))
                .arg(ttl_ms(ttl))
                .invoke_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        Ok((token > 0).then_some(token))
    }

    async fn renew_fenced(&self, key: &str, token: u64, ttl: Duration) -> Result<bool, StateError> {
        let mut conn = self.conn.clone();
        let renewed: i64 = bounded(
            CALL_TIMEOUT,
            self.renew_fenced_script
                .key(self.fenced_key(key))
                .arg(token)
                .arg(ttl_ms(ttl))
                .invoke_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        Ok(renewed == 1)
    }

    async fn unlock_fenced(&self, key: &str, token: u64) -> Result<bool, StateError> {
        let mut conn = self.conn.clone();
        // Compare-and-delete by token: the same script as owner locks, on the fenced key.
        let removed: i64 = bounded(
            CALL_TIMEOUT,
            self.unlock_script
                .key(self.fenced_key(key))
                .arg(token)
                .invoke_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        Ok(removed == 1)
    }

    async fn get(&self, key: &str) -> Result<Option<String>, StateError> {
        let mut conn = self.conn.clone();
        bounded(
            CALL_TIMEOUT,
            redis::cmd("GET")
                .arg(self.kv_key(key))
                .query_async(&mut conn),
        )
        .await
        .map_err(unavailable)
    }

    async fn set(&self, key: &str, value: &str, ttl: Option<Duration>) -> Result<(), StateError> {
        let mut cmd = redis::cmd("SET");
        cmd.arg(self.kv_key(key)).arg(value);
        if let Some(ttl) = ttl {
            cmd.arg("PX").arg(ttl_ms(ttl));
        }
        let mut conn = self.conn.clone();
        bounded(CALL_TIMEOUT, cmd.exec_async(&mut conn))
            .await
            .map_err(unavailable)
    }

    async fn delete(&self, key: &str) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        bounded(
            CALL_TIMEOUT,
            redis::cmd("DEL")
                .arg(self.kv_key(key))
                .exec_async(&mut conn),
        )
        .await
        .map_err(unavailable)
    }

    async fn get_many(&self, keys: &[String]) -> Result<Vec<Option<String>>, StateError> {
        // MGET with no keys is a syntax error, not an empty answer.
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let full: Vec<String> = keys.iter().map(|k| self.kv_key(k)).collect();
        let mut conn = self.conn.clone();
        bounded(
            CALL_TIMEOUT,
            redis::cmd("MGET").arg(&full).query_async(&mut conn),
        )
        .await
        .map_err(unavailable)
    }

    async fn list_push(&self, key: &str, entry: &str, max_len: usize) -> Result<(), StateError> {
        let full = format!("{}:list:{key}", self.base);
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        pipe.atomic()
            .cmd("RPUSH")
            .arg(&full)
            .arg(entry)
            .ignore()
            .cmd("LTRIM")
            .arg(&full)
            .arg(-(max_len.max(1) as i64))
            .arg(-1)
            .ignore();
        bounded(CALL_TIMEOUT, pipe.exec_async(&mut conn))
            .await
            .map_err(unavailable)
    }

    async fn list_push_many(
        &self,
        entries: &[(String, String)],
        max_len: usize,
    ) -> Result<(), StateError> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        let mut pipe = redis::pipe();
        for (key, entry) in entries {
            let full = format!("{}:list:{key}", self.base);
            pipe.cmd("RPUSH")
                .arg(&full)
                .arg(entry)
                .ignore()
                .cmd("LTRIM")
                .arg(&full)
                .arg(-(max_len.max(1) as i64))
                .arg(-1)
                .ignore();
        }
        bounded(CALL_TIMEOUT, pipe.exec_async(&mut conn))
            .await
            .map_err(unavailable)
    }

    async fn list_range(&self, key: &str) -> Result<Vec<String>, StateError> {
        let full = format!("{}:list:{key}", self.base);
        let mut conn = self.conn.clone();
        bounded(
            CALL_TIMEOUT,
            redis::cmd("LRANGE")
                .arg(&full)
                .arg(0)
                .arg(-1)
                .query_async(&mut conn),
        )
        .await
        .map_err(unavailable)
    }

    async fn park(&self, parked: &ParkedJob) -> Result<(), StateError> {
        let json = serde_json::to_string(parked).map_err(|e| StateError::Corrupt {
            key: format!("parked/{}", parked.envelope.id),
            reason: e.to_string(),
        })?;
        let mut conn = self.conn.clone();
        let _: i64 = bounded(
            CALL_TIMEOUT,
            self.park_script
                .key(&self.parked_key)
                .key(&self.parked_counts_key)
                .key(&self.parked_reasons_key)
                .arg(&parked.envelope.id)
                .arg(json)
                .arg(parked.reason.label())
                .invoke_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        Ok(())
    }

    async fn parked_counts(&self) -> Result<Vec<(String, u64)>, StateError> {
        let mut conn = self.conn.clone();
        let mut counts: Vec<(String, i64)> = bounded(
            CALL_TIMEOUT,
            redis::cmd("HGETALL")
                .arg(&self.parked_counts_key)
                .query_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        counts.sort();
        Ok(counts
            .into_iter()
            .map(|(label, n)| (label, n.max(0) as u64))
            .collect())
    }

    async fn parked(&self) -> Result<Vec<ParkedJob>, StateError> {
        let mut conn = self.conn.clone();
        let all: Vec<(String, String)> = bounded(
            CALL_TIMEOUT,
            redis::cmd("HGETALL")
                .arg(&self.parked_key)
                .query_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        let mut jobs = Vec::with_capacity(all.len());
        for (job_id, json) in all {
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

    async fn unpark(&self, job_id: &str) -> Result<Option<ParkedJob>, StateError> {
        let mut conn = self.conn.clone();
        let json: Option<String> = bounded(
            CALL_TIMEOUT,
            self.unpark_script
                .key(&self.parked_key)
                .key(&self.parked_counts_key)
                .key(&self.parked_reasons_key)
                .arg(job_id)
                .invoke_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        json.map(|j| decode_parked(job_id, &j)).transpose()
    }

    async fn hash_set(&self, key: &str, field: &str, value: &str) -> Result<(), StateError> {
        let mut conn = self.conn.clone();
        bounded(
            CALL_TIMEOUT,
            redis::cmd("HSET")
                .arg(self.hash_key(key))
                .arg(field)
                .arg(value)
                .exec_async(&mut conn),
        )
        .await
        .map_err(unavailable)
    }

    async fn hash_delete(&self, key: &str, fields: &[String]) -> Result<(), StateError> {
        if fields.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn.clone();
        bounded(
            CALL_TIMEOUT,
            redis::cmd("HDEL")
                .arg(self.hash_key(key))
                .arg(fields)
                .exec_async(&mut conn),
        )
        .await
        .map_err(unavailable)
    }

    async fn hash_delete_if(
        &self,
        key: &str,
        field: &str,
        expected: &str,
    ) -> Result<bool, StateError> {
        let mut conn = self.conn.clone();
        let removed: i64 = bounded(
            CALL_TIMEOUT,
            self.hash_delete_if_script
                .key(self.hash_key(key))
                .arg(field)
                .arg(expected)
                .invoke_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        Ok(removed == 1)
    }

    async fn hash_all(&self, key: &str) -> Result<Vec<(String, String)>, StateError> {
        let mut conn = self.conn.clone();
        let mut all: Vec<(String, String)> = bounded(
            CALL_TIMEOUT,
            redis::cmd("HGETALL")
                .arg(self.hash_key(key))
                .query_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        all.sort();
        Ok(all)
    }

    async fn incr_by(&self, key: &str, by: u64) -> Result<u64, StateError> {
        let mut conn = self.conn.clone();
        let v: i64 = bounded(
            CALL_TIMEOUT,
            redis::cmd("INCRBY")
                .arg(self.kv_key(key))
                .arg(by)
                .query_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        Ok(v.max(0) as u64)
    }

    async fn raise_to(&self, key: &str, value: u64) -> Result<bool, StateError> {
        let mut conn = self.conn.clone();
        let raised: i64 = bounded(
            CALL_TIMEOUT,
            self.raise_to_script
                .key(self.kv_key(key))
                .arg(value)
                .invoke_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        Ok(raised == 1)
    }
}
