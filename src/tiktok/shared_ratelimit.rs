//! TikTok's QPS budget is per app and shop, per API path: a deployment's replicas share it.
//! This keeps one GCRA schedule per (shop, path) in Redis: each call reserves the next send
//! time (the theoretical arrival time moves on by one emission interval) in a Lua script
//! that reads Redis' own clock, so every replica paces against the same schedule. The
//! embedded backend (one process) keeps the in-process limiter.

use crate::queue::redis::{bounded, key_base, open_manager};
use redis::aio::ConnectionManager;
use redis::{RedisResult, Script};
use std::time::Duration;

const CALL_TIMEOUT: Duration = Duration::from_millis(1500);

/// Scheduling GCRA in microseconds: the call may go at max(TAT, now); TAT moves on by one
/// interval. The key lives until its schedule is over (plus a second).
const RESERVE_LUA: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(tat, now)
local next_tat = at + interval
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1000)
return math.floor(at - now)
";

pub struct SharedRateLimiter {
    conn: ConnectionManager,
    base: String,
    script: Script,
    /// Emission interval: one call per this many microseconds.
    interval_us: u64,
}

impl SharedRateLimiter {
    /// `per_second` calls per shop and API path across every replica. A 5% margin absorbs
    /// the send-time jitter of busy replicas (a call leaving 50 ms late must not land in
    /// the same TikTok second as the call fifty places after it).
    pub async fn connect(url: &str, key_prefix: &str, per_second: u32) -> RedisResult<Self> {
        let (_, conn) = open_manager(url).await?;
        Ok(SharedRateLimiter {
            conn,
            base: key_base(key_prefix),
            script: Script::new(RESERVE_LUA),
            interval_us: 1_050_000 / u64::from(per_second.max(1)),
        })
    }

    /// Reserves the next send time of `api` for `shop_id`; how long to wait for it.
    pub async fn reserve(&self, shop_id: &str, api: &str) -> RedisResult<Duration> {
        let mut conn = self.conn.clone();
        let wait_us: i64 = bounded(
            CALL_TIMEOUT,
            self.script
                .key(format!("{}:ratelimit:tiktok:{shop_id}:{api}", self.base))
                .arg(self.interval_us)
                .invoke_async(&mut conn),
        )
        .await?;
        Ok(Duration::from_micros(u64::try_from(wait_us).unwrap_or(0)))
    }
}
