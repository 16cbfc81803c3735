//! NetSuite's concurrency limit is per account: a deployment's replicas share it. This is a
//! distributed semaphore in Redis, one sorted set per account whose members are the slots
//! held and whose scores are when each slot's lease ends. A request takes a slot before it
//! is sent and gives it back when answered; a replica that crashed mid-request loses its
//! slots when their leases end (longer than any request may take). The embedded backend
//! (one process) keeps the in-process semaphore alone.

use crate::queue::redis::{bounded, key_base, open_manager};
use rand::Rng;
use redis::aio::ConnectionManager;
use redis::{RedisResult, Script};
use std::sync::Arc;
use std::time::Duration;

const CALL_TIMEOUT: Duration = Duration::from_millis(1500);

/// Expired leases are dropped first, so a crashed holder's slot comes back by itself.
const TAKE_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
  return 1
end
return 0
";

pub struct SharedSlots {
    conn: ConnectionManager,
    key: String,
    limit: usize,
    lease: Duration,
    script: Script,
}

/// A slot held. Given back when dropped (answered, failed, or a cancelled request); only a
/// process that dies holding it leaves it to its lease.
pub struct Slot {
    slots: Arc<SharedSlots>,
    id: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (slots, id) = (self.slots.clone(), std::mem::take(&mut self.id));
            rt.spawn(async move { slots.give_back(&id).await });
        }
    }
}

impl SharedSlots {
    /// `limit` requests in flight at once against `account_id`, across every replica; a
    /// slot whose holder vanished returns after `lease`.
    pub async fn connect(
        url: &str,
        key_prefix: &str,
        account_id: &str,
        limit: usize,
        lease: Duration,
    ) -> RedisResult<Self> {
        let (_, conn) = open_manager(url).await?;
        Ok(SharedSlots {
            conn,
            key: format!("{}:netsuite-slots:{account_id}", key_base(key_prefix)),
            limit: limit.max(1),
            lease,
            script: Script::new(TAKE_LUA),
        })
    }

    /// Waits for a free slot of the account.
    pub async fn take(self: &Arc<Self>) -> RedisResult<Slot> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let lease_ms = u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX);
        loop {
            let mut conn = self.conn.clone();
            let taken: i64 = bounded(
                CALL_TIMEOUT,
                self.script
                    .key(&self.key)
                    .arg(self.limit)
                    .arg(lease_ms)
                    .arg(&id)
                    .invoke_async(&mut conn),
            )
            .await?;
            if taken == 1 {
                return Ok(Slot {
                    slots: self.clone(),
                    id,
                });
            }
            // Polling with jitter: slots free up at request pace (tens of ms at least).
            let wait = rand::thread_rng().gen_range(5..25);
            tokio::time::sleep(Duration::from_millis(wait)).await;
        }
    }

    async fn give_back(&self, id: &str) {
        let mut conn = self.conn.clone();
        let done: RedisResult<i64> = bounded(
            CALL_TIMEOUT,
            redis::cmd("ZREM")
                .arg(&self.key)
                .arg(id)
                .query_async(&mut conn),
        )
        .await;
        if let Err(e) = done {
            tracing::warn!(error = %e, "could not give a NetSuite slot back; its lease ends it");
        }
    }
}
