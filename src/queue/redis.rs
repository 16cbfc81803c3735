//! Redis Streams backend of the job queue, shared by every replica of one deployment.
//! Jobs live in one stream read through the consumer group `workers`; retries wait in a sorted
//! set, failures go to a dead-letter stream. Every key shares one Cluster hash slot.

use super::{
    now_ms, DeadLetter, Delivery, EnqueueOutcome, JobEnvelope, JobQueue, QueueError, QueueStats,
};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig, MultiplexedConnection};
use redis::streams::{
    StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamPendingReply, StreamRangeReply,
    StreamReadReply,
};
use redis::{AsyncConnectionConfig, Client, Cmd, FromRedisValue, Pipeline, RedisError, Script};
use redis::{RedisResult, Value};
use std::future::Future;
use std::time::Duration;
use tokio::sync::Mutex;

const GROUP: &str = "workers";
/// Bounds one connection attempt and one reply, so a stopped Redis shows up as an error
/// well inside the 3 s TikTok gives ingress to answer.
const IO_TIMEOUT: Duration = Duration::from_secs(1);
/// Bounds a whole call, including the connection manager's own reconnect attempts.
const CALL_TIMEOUT: Duration = Duration::from_millis(1500);
/// Dead letters are for people to look at; an outage must not let them grow without end.
const DEAD_MAXLEN: usize = 100_000;
/// XAUTOCLAIM pages are bounded anyway; this only stops a pathological cursor loop.
const MAX_AUTOCLAIM_PAGES: usize = 64;

/// Checks the dedupe key and queues the job in one step. XADD runs before SET so a failure
/// between them can at worst queue a job twice, never mark it seen without queueing it.
const ENQUEUE_UNIQUE_LUA: &str = r"
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
redis.call('XADD', KEYS[1], '*', 'job', ARGV[1])
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[2])
return 1
";

/// Atomic so two replicas promoting at once never queue the same retry twice.
const PROMOTE_DUE_LUA: &str = r"
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call('XADD', KEYS[2], '*', 'job', member)
  redis.call('ZREM', KEYS[1], member)
end
return #due
";

/// Only the caller that actually removed the dead letter queues it again, so two admins
/// replaying at once produce one job.
const REPLAY_DEAD_LUA: &str = r"
if redis.call('XDEL', KEYS[1], ARGV[1]) == 1 then
  redis.call('XADD', KEYS[2], '*', 'job', ARGV[2])
  return 1
end
return 0
";

/// Renews leases: a pending entry still held by this consumer with the same delivery count
/// gets its idle time reset (XCLAIM with JUSTID does not count a delivery). Anything else
/// (acked, reclaimed by another, or redelivered) answers 0 and is left alone.
const RENEW_LEASES_LUA: &str = r"
local out = {}
local n = (#ARGV - 1) / 2
for i = 1, n do
  local id = ARGV[2 * i]
  local count = tonumber(ARGV[2 * i + 1])
  local p = redis.call('XPENDING', KEYS[1], 'workers', id, id, 1)
  local ok = 0
  if p[1] and p[1][2] == ARGV[1] and tonumber(p[1][4]) == count then
    redis.call('XCLAIM', KEYS[1], 'workers', ARGV[1], 0, id, 'JUSTID')
    ok = 1
  end
  out[i] = ok
end
return out
";

/// `{prefix}`: the braces make Redis Cluster hash only the prefix, so one deployment's keys
/// share a slot and multi-key scripts stay legal.
pub(crate) fn key_base(key_prefix: &str) -> String {
    format!("{{{key_prefix}}}")
}

fn manager_config() -> ConnectionManagerConfig {
    // No reconnect retries inside the manager: its backoff starts at a second, which would
    // hold every caller during an outage. A failed attempt errors at once and the next call
    // starts a fresh one, so recovery is as quick as the callers' own retries.
    ConnectionManagerConfig::new()
        .set_connection_timeout(IO_TIMEOUT)
        .set_response_timeout(IO_TIMEOUT)
        .set_number_of_retries(0)
}

/// Opens the auto-reconnecting connection used for ordinary (non-blocking) commands.
pub(crate) async fn open_manager(url: &str) -> RedisResult<(Client, ConnectionManager)> {
    let client = Client::open(url)?;
    let manager = bounded(
        CALL_TIMEOUT,
        ConnectionManager::new_with_config(client.clone(), manager_config()),
    )
    .await?;
    Ok((client, manager))
}

/// Runs a Redis call with a deadline; an expired deadline is reported as an I/O timeout.
pub(crate) async fn bounded<T>(
    limit: Duration,
    call: impl Future<Output = RedisResult<T>>,
) -> RedisResult<T> {
    match tokio::time::timeout(limit, call).await {
        Ok(result) => result,
        Err(_) => Err(RedisError::from(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "redis call timed out",
        ))),
    }
}

fn unavailable(err: RedisError) -> QueueError {
    QueueError::Unavailable(err.to_string())
}

fn is_nogroup(err: &RedisError) -> bool {
    err.code() == Some("NOGROUP")
}

fn duration_ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Deletes every key of a prefix (SCAN + UNLINK); for tests and tear-down of demo data.
pub async fn delete_keys_with_prefix(url: &str, key_prefix: &str) -> RedisResult<u64> {
    let client = Client::open(url)?;
    let mut conn = bounded(
        CALL_TIMEOUT,
        client.get_multiplexed_async_connection_with_config(
            &AsyncConnectionConfig::new().set_connection_timeout(IO_TIMEOUT),
        ),
    )
    .await?;
    let pattern = format!("{}:*", glob_escape(&key_base(key_prefix)));
    let mut cursor: u64 = 0;
    let mut deleted = 0;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(500)
            .query_async(&mut conn)
            .await?;
        if !keys.is_empty() {
            let n: u64 = redis::cmd("UNLINK")
                .arg(&keys)
                .query_async(&mut conn)
                .await?;
            deleted += n;
        }
        if next == 0 {
            return Ok(deleted);
        }
        cursor = next;
    }
}

fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A message delivered to a consumer and not yet acked, as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PendingEntry {
    pub message_id: String,
    pub consumer: String,
    pub idle_ms: u64,
    pub delivery_count: u64,
}

struct QueueKeys {
    base: String,
    jobs: String,
    delayed: String,
    dead: String,
}

impl QueueKeys {
    fn new(key_prefix: &str) -> Self {
        let base = key_base(key_prefix);
        QueueKeys {
            jobs: format!("{base}:jobs"),
            delayed: format!("{base}:delayed"),
            dead: format!("{base}:dead"),
            base,
        }
    }

    fn seen(&self, dedupe_key: &str) -> String {
        format!("{}:seen:{dedupe_key}", self.base)
    }
}

/// The job queue on Redis Streams.
///
/// Blocking reads go over one dedicated connection per `RedisQueue`, so concurrent `read`
/// calls on the same instance take turns; everything else is multiplexed on the manager.
pub struct RedisQueue {
    client: Client,
    conn: ConnectionManager,
    /// Dropped on any error and reopened by the next read, so a restarted Redis is picked up.
    blocking: Mutex<Option<MultiplexedConnection>>,
    keys: QueueKeys,
    enqueue_unique_script: Script,
    promote_script: Script,
    replay_script: Script,
    renew_script: Script,
}

impl RedisQueue {
    /// Connects and creates the consumer group. Fails if Redis does not answer now; once
    /// built, outages only fail the calls made during them.
    pub async fn connect(url: &str, key_prefix: &str) -> Result<Self, QueueError> {
        let (client, conn) = open_manager(url).await.map_err(unavailable)?;
        let queue = RedisQueue {
            client,
            conn,
            blocking: Mutex::new(None),
            keys: QueueKeys::new(key_prefix),
            enqueue_unique_script: Script::new(ENQUEUE_UNIQUE_LUA),
            promote_script: Script::new(PROMOTE_DUE_LUA),
            replay_script: Script::new(REPLAY_DEAD_LUA),
            renew_script: Script::new(RENEW_LEASES_LUA),
        };
        queue.ensure_group().await?;
        Ok(queue)
    }

    /// Creates the group from the start of the stream: acked entries are deleted, so
    /// whatever is still in the stream is work nobody has finished. After a Redis restart
    /// without persistence this is also what brings the group back.
    async fn ensure_group(&self) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        let created: RedisResult<()> = bounded(
            CALL_TIMEOUT,
            redis::cmd("XGROUP")
                .arg("CREATE")
                .arg(&self.keys.jobs)
                .arg(GROUP)
                .arg("0")
                .arg("MKSTREAM")
                .query_async(&mut conn),
        )
        .await;
        match created {
            Err(e) if e.code() != Some("BUSYGROUP") => Err(unavailable(e)),
            _ => Ok(()),
        }
    }

    /// Runs a command that needs the consumer group, recreating the group once if it is gone.
    async fn query_with_group<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, QueueError> {
        let mut conn = self.conn.clone();
        match bounded(CALL_TIMEOUT, cmd.query_async(&mut conn)).await {
            Err(e) if is_nogroup(&e) => {
                self.ensure_group().await?;
                bounded(CALL_TIMEOUT, cmd.query_async(&mut conn))
                    .await
                    .map_err(unavailable)
            }
            other => other.map_err(unavailable),
        }
    }

    async fn pipe_with_group<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, QueueError> {
        let mut conn = self.conn.clone();
        match bounded(CALL_TIMEOUT, pipe.query_async(&mut conn)).await {
            Err(e) if is_nogroup(&e) => {
                self.ensure_group().await?;
                bounded(CALL_TIMEOUT, pipe.query_async(&mut conn))
                    .await
                    .map_err(unavailable)
            }
            other => other.map_err(unavailable),
        }
    }

    async fn run_pipe(&self, pipe: &Pipeline) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        bounded(CALL_TIMEOUT, pipe.exec_async(&mut conn))
            .await
            .map_err(unavailable)
    }

    fn xack_xdel(&self, pipe: &mut Pipeline, message_id: &str) {
        pipe.cmd("XACK")
            .arg(&self.keys.jobs)
            .arg(GROUP)
            .arg(message_id)
            .ignore()
            .cmd("XDEL")
            .arg(&self.keys.jobs)
            .arg(message_id)
            .ignore();
    }

    /// Acks the message and appends `job` (the envelope JSON, or whatever raw text a corrupt
    /// entry held) to the dead-letter stream, all in one MULTI.
    async fn move_to_dead(
        &self,
        message_id: &str,
        job: &str,
        error: &str,
    ) -> Result<(), QueueError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.xack_xdel(&mut pipe, message_id);
        pipe.cmd("XADD")
            .arg(&self.keys.dead)
            .arg("MAXLEN")
            .arg("~")
            .arg(DEAD_MAXLEN)
            .arg("*")
            .arg("job")
            .arg(job)
            .arg("error")
            .arg(error)
            .arg("failed_at_ms")
            .arg(now_ms())
            .ignore();
        self.run_pipe(&pipe).await
    }

    /// Turns stream entries into deliveries; entries that do not decode are dead-lettered
    /// so they cannot come back through reclaim and wedge the queue.
    async fn decode_entries(
        &self,
        entries: Vec<StreamId>,
        delivery_count: impl Fn(&str) -> u64,
    ) -> Vec<Delivery> {
        let mut out = Vec::with_capacity(entries.len());
        for entry in entries {
            match decode_envelope(&entry) {
                Ok(envelope) => out.push(Delivery {
                    delivery_count: delivery_count(&entry.id),
                    message_id: entry.id,
                    envelope,
                }),
                Err(reason) => {
                    tracing::warn!(message_id = %entry.id, %reason, "dead-lettering corrupt queue entry");
                    let error = format!("corrupt queue entry: {reason}");
                    if let Err(e) = self
                        .move_to_dead(&entry.id, &raw_field(&entry, "job"), &error)
                        .await
                    {
                        // It stays pending; reclaim will bring it back and we try again.
                        tracing::warn!(message_id = %entry.id, error = %e, "could not dead-letter corrupt entry");
                    }
                }
            }
        }
        out
    }

    async fn read_group(
        &self,
        consumer: &str,
        max: usize,
        block: Duration,
    ) -> Result<Option<StreamReadReply>, QueueError> {
        let block_ms = duration_ms(block);
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(GROUP)
            .arg(consumer)
            .arg("COUNT")
            .arg(max);
        // BLOCK 0 would mean forever; a zero wait is a plain poll instead.
        if block_ms > 0 {
            cmd.arg("BLOCK").arg(block_ms);
        }
        cmd.arg("STREAMS").arg(&self.keys.jobs).arg(">");

        let mut slot = self.blocking.lock().await;
        let mut recreated_group = false;
        loop {
            let conn = match slot.as_mut() {
                Some(conn) => conn,
                None => {
                    let config = AsyncConnectionConfig::new().set_connection_timeout(IO_TIMEOUT);
                    let conn = bounded(
                        CALL_TIMEOUT,
                        self.client
                            .get_multiplexed_async_connection_with_config(&config),
                    )
                    .await
                    .map_err(unavailable)?;
                    slot.insert(conn)
                }
            };
            match bounded(block + CALL_TIMEOUT, cmd.query_async(conn)).await {
                Ok(reply) => return Ok(reply),
                Err(e) if is_nogroup(&e) && !recreated_group => {
                    recreated_group = true;
                    self.ensure_group().await?;
                }
                Err(e) => {
                    *slot = None;
                    return Err(unavailable(e));
                }
            }
        }
    }

    /// Re-queues a dead letter as a fresh job (attempt 1) and removes it from the dead
    /// stream. Returns false when no such dead letter exists (already replayed or discarded).
    async fn replay_dead_entry(&self, id: &str) -> Result<bool, QueueError> {
        let mut conn = self.conn.clone();
        let found: StreamRangeReply = bounded(
            CALL_TIMEOUT,
            redis::cmd("XRANGE")
                .arg(&self.keys.dead)
                .arg(id)
                .arg(id)
                .query_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        let Some(entry) = found.ids.into_iter().next() else {
            return Ok(false);
        };
        let mut envelope = decode_envelope(&entry).map_err(|reason| QueueError::Corrupt {
            id: entry.id.clone(),
            reason,
        })?;
        envelope.attempt = 1;
        envelope.last_error = None;
        envelope.retry_since_ms = None;
        let json = encode(&envelope)?;
        let replayed: i64 = bounded(
            CALL_TIMEOUT,
            self.replay_script
                .key(&self.keys.dead)
                .key(&self.keys.jobs)
                .arg(id)
                .arg(json)
                .invoke_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        Ok(replayed == 1)
    }

    /// Drops a dead letter for good; false when it was not there.
    async fn discard_dead_entry(&self, id: &str) -> Result<bool, QueueError> {
        let mut conn = self.conn.clone();
        let removed: u64 = bounded(
            CALL_TIMEOUT,
            redis::cmd("XDEL")
                .arg(&self.keys.dead)
                .arg(id)
                .query_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        Ok(removed > 0)
    }

    /// Messages a consumer holds without having acked them, oldest first.
    pub async fn pending_for(
        &self,
        consumer: &str,
        max: usize,
    ) -> Result<Vec<PendingEntry>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let mut cmd = redis::cmd("XPENDING");
        cmd.arg(&self.keys.jobs)
            .arg(GROUP)
            .arg("-")
            .arg("+")
            .arg(max)
            .arg(consumer);
        let reply: StreamPendingCountReply = self.query_with_group(&cmd).await?;
        Ok(reply
            .ids
            .into_iter()
            .map(|p| PendingEntry {
                message_id: p.id,
                consumer: p.consumer,
                idle_ms: p.last_delivered_ms as u64,
                delivery_count: p.times_delivered as u64,
            })
            .collect())
    }

    /// The key prefix with its braces, e.g. `{bridge}`.
    pub fn key_base(&self) -> &str {
        &self.keys.base
    }
}

fn encode(envelope: &JobEnvelope) -> Result<String, QueueError> {
    serde_json::to_string(envelope).map_err(|e| QueueError::Corrupt {
        id: envelope.id.clone(),
        reason: e.to_string(),
    })
}

fn decode_envelope(entry: &StreamId) -> Result<JobEnvelope, String> {
    let value = entry
        .map
        .get("job")
        .ok_or_else(|| "missing field `job`".to_string())?;
    let text: String = redis::from_redis_value(value).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| e.to_string())
}

fn raw_field(entry: &StreamId, field: &str) -> String {
    match entry.map.get(field) {
        Some(Value::BulkString(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
        Some(Value::SimpleString(s)) => s.clone(),
        Some(Value::Int(n)) => n.to_string(),
        _ => String::new(),
    }
}

#[async_trait]
impl JobQueue for RedisQueue {
    async fn enqueue_unique(
        &self,
        dedupe_key: &str,
        ttl: Duration,
        envelope: &JobEnvelope,
    ) -> Result<EnqueueOutcome, QueueError> {
        let json = encode(envelope)?;
        let mut conn = self.conn.clone();
        let added: i64 = bounded(
            CALL_TIMEOUT,
            self.enqueue_unique_script
                .key(&self.keys.jobs)
                .key(self.keys.seen(dedupe_key))
                .arg(json)
                .arg(duration_ms(ttl).max(1))
                .arg(&envelope.id)
                .invoke_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        Ok(if added == 1 {
            EnqueueOutcome::Enqueued
        } else {
            EnqueueOutcome::Duplicate
        })
    }

    async fn enqueue(&self, envelope: &JobEnvelope) -> Result<(), QueueError> {
        let json = encode(envelope)?;
        let mut conn = self.conn.clone();
        bounded(
            CALL_TIMEOUT,
            redis::cmd("XADD")
                .arg(&self.keys.jobs)
                .arg("*")
                .arg("job")
                .arg(json)
                .exec_async(&mut conn),
        )
        .await
        .map_err(unavailable)
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
        let Some(reply) = self.read_group(consumer, max, block).await? else {
            return Ok(Vec::new());
        };
        let entries = reply.keys.into_iter().flat_map(|k| k.ids).collect();
        Ok(self.decode_entries(entries, |_| 1).await)
    }

    async fn ack(&self, delivery: &Delivery) -> Result<(), QueueError> {
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.xack_xdel(&mut pipe, &delivery.message_id);
        self.run_pipe(&pipe).await
    }

    async fn retry_at(
        &self,
        delivery: &Delivery,
        next: &JobEnvelope,
        run_at_ms: i64,
    ) -> Result<(), QueueError> {
        let json = encode(next)?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        self.xack_xdel(&mut pipe, &delivery.message_id);
        pipe.cmd("ZADD")
            .arg(&self.keys.delayed)
            .arg(run_at_ms)
            .arg(json)
            .ignore();
        self.run_pipe(&pipe).await
    }

    async fn dead_letter(&self, delivery: &Delivery, error: &str) -> Result<(), QueueError> {
        let json = encode(&delivery.envelope)?;
        self.move_to_dead(&delivery.message_id, &json, error).await
    }

    async fn promote_due(&self, now_ms: i64, max: usize) -> Result<usize, QueueError> {
        if max == 0 {
            return Ok(0);
        }
        let mut conn = self.conn.clone();
        let moved: i64 = bounded(
            CALL_TIMEOUT,
            self.promote_script
                .key(&self.keys.delayed)
                .key(&self.keys.jobs)
                .arg(now_ms)
                .arg(max)
                .invoke_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        Ok(usize::try_from(moved).unwrap_or(0))
    }

    async fn renew_leases(
        &self,
        consumer: &str,
        held: &[(String, u64)],
    ) -> Result<Vec<bool>, QueueError> {
        if held.is_empty() {
            return Ok(Vec::new());
        }
        let mut invocation = self.renew_script.key(&self.keys.jobs);
        invocation.arg(consumer);
        for (id, count) in held {
            invocation.arg(id).arg(*count);
        }
        let mut conn = self.conn.clone();
        let answers: Vec<i64> =
            match bounded(CALL_TIMEOUT, invocation.invoke_async(&mut conn)).await {
                // A recreated group has no pending entries: no lease survived.
                Err(e) if is_nogroup(&e) => return Ok(vec![false; held.len()]),
                other => other.map_err(unavailable)?,
            };
        Ok(answers.into_iter().map(|a| a == 1).collect())
    }

    async fn reclaim_idle(
        &self,
        consumer: &str,
        min_idle: Duration,
        max: usize,
    ) -> Result<Vec<Delivery>, QueueError> {
        let mut claimed: Vec<StreamId> = Vec::new();
        let mut gone: Vec<String> = Vec::new();
        let mut cursor = "0-0".to_string();
        for _ in 0..MAX_AUTOCLAIM_PAGES {
            if claimed.len() >= max {
                break;
            }
            let mut cmd = redis::cmd("XAUTOCLAIM");
            cmd.arg(&self.keys.jobs)
                .arg(GROUP)
                .arg(consumer)
                .arg(duration_ms(min_idle))
                .arg(&cursor)
                .arg("COUNT")
                .arg(max - claimed.len());
            let page: StreamAutoClaimReply = self.query_with_group(&cmd).await?;
            claimed.extend(page.claimed);
            gone.extend(page.deleted_ids);
            cursor = page.next_stream_id;
            if cursor == "0-0" {
                break;
            }
        }

        let mut pipe = redis::pipe();
        if !gone.is_empty() {
            // Their entries were deleted while pending; nothing is left to run.
            pipe.cmd("XACK")
                .arg(&self.keys.jobs)
                .arg(GROUP)
                .arg(&gone)
                .ignore();
        }
        for entry in &claimed {
            pipe.cmd("XPENDING")
                .arg(&self.keys.jobs)
                .arg(GROUP)
                .arg(&entry.id)
                .arg(&entry.id)
                .arg(1);
        }
        if claimed.is_empty() && gone.is_empty() {
            return Ok(Vec::new());
        }
        let pending: Vec<StreamPendingCountReply> = self.pipe_with_group(&pipe).await?;
        let counts: std::collections::HashMap<String, u64> = pending
            .into_iter()
            .flat_map(|r| r.ids)
            .map(|p| (p.id, p.times_delivered as u64))
            .collect();
        Ok(self
            .decode_entries(claimed, |id| counts.get(id).copied().unwrap_or(2))
            .await)
    }

    async fn stats(&self) -> Result<QueueStats, QueueError> {
        let mut pipe = redis::pipe();
        pipe.cmd("XLEN")
            .arg(&self.keys.jobs)
            .cmd("XPENDING")
            .arg(&self.keys.jobs)
            .arg(GROUP)
            .cmd("ZCARD")
            .arg(&self.keys.delayed)
            .cmd("XLEN")
            .arg(&self.keys.dead);
        let (depth, pending, delayed, dead): (u64, StreamPendingReply, u64, u64) =
            self.pipe_with_group(&pipe).await?;
        Ok(QueueStats {
            depth,
            pending: pending.count() as u64,
            delayed,
            dead,
        })
    }

    async fn dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let mut conn = self.conn.clone();
        let reply: StreamRangeReply = bounded(
            CALL_TIMEOUT,
            redis::cmd("XREVRANGE")
                .arg(&self.keys.dead)
                .arg("+")
                .arg("-")
                .arg("COUNT")
                .arg(max)
                .query_async(&mut conn),
        )
        .await
        .map_err(unavailable)?;
        let mut out = Vec::with_capacity(reply.ids.len());
        for entry in reply.ids {
            match decode_envelope(&entry) {
                Ok(envelope) => out.push(DeadLetter {
                    error: raw_field(&entry, "error"),
                    failed_at_ms: raw_field(&entry, "failed_at_ms").parse().unwrap_or(0),
                    id: entry.id,
                    envelope,
                }),
                // A dead-lettered corrupt entry has no envelope to show; it still counts in
                // `stats().dead` and can be discarded by id.
                Err(reason) => {
                    tracing::debug!(id = %entry.id, %reason, "dead letter without a valid envelope")
                }
            }
        }
        Ok(out)
    }

    async fn replay_dead(&self, id: &str) -> Result<bool, QueueError> {
        self.replay_dead_entry(id).await
    }

    async fn discard_dead(&self, id: &str) -> Result<bool, QueueError> {
        self.discard_dead_entry(id).await
    }

    async fn ping(&self) -> Result<(), QueueError> {
        let mut conn = self.conn.clone();
        bounded(CALL_TIMEOUT, redis::cmd("PING").exec_async(&mut conn))
            .await
            .map_err(unavailable)
    }
}
