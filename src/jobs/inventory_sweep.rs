//! The inventory sweep (issue 11): a safety net no user event can miss. Every
//! `INVENTORY_SWEEP_SECS` one replica asks NetSuite which items' availability may have changed
//! since the last sweep (`netsuite::sweep`: transaction lines by last-modified date, and
//! item-location records) and marks only those SKUs dirty, so a sale saved by a CSV import,
//! another script, a web store or anything else no script announced still reaches TikTok
//! within one period. The hourly full reconcile stays as the backstop of the backstop.
//!
//! The watermark is the bridge time the last successful sweep started, kept in the state
//! store. The window asked for reaches back to it plus an overlap of one period, at most
//! [`OVERLAP`] (a save stamped before it became visible to the previous sweep's query is read
//! twice rather than missed), and at most to one reconcile period: anything older was covered
//! by the start-up or periodic reconcile. The window is sent as seconds before NetSuite's
//! `SYSDATE`, so neither clock skew nor the account's time zone shifts it.

use crate::jobs::{JobContext, JobError};
use std::time::Duration;

/// The most each sweep reaches back before its watermark.
pub const OVERLAP: Duration = Duration::from_secs(30);

pub fn watermark_key(shop: &str) -> String {
    format!("inventory:sweep:{shop}")
}

/// Seconds the next sweep reads back, from the watermark (`None`: never swept, so one period).
pub fn window_secs(now_ms: i64, watermark_ms: Option<i64>, period: Duration, cap: Duration) -> u64 {
    let since = match watermark_ms {
        Some(w) => Duration::from_millis(u64::try_from(now_ms - w).unwrap_or(0)),
        None => period,
    };
    let cap = if cap.is_zero() {
        Duration::from_secs(3600)
    } else {
        cap
    };
    (since.min(cap) + OVERLAP.min(period)).as_secs_f64().ceil() as u64
}

/// One sweep: the item ids whose stock may have moved since the watermark, and the
/// watermark to save once they are marked (the time this sweep started).
pub async fn changed_items(ctx: &JobContext) -> Result<(Vec<String>, i64), JobError> {
    let inv = &ctx.inventory;
    let started = crate::queue::now_ms();
    let watermark = ctx
        .state
        .get(&watermark_key(&inv.shop_id))
        .await?
        .and_then(|v| v.parse::<i64>().ok());
    let window = window_secs(
        started,
        watermark,
        inv.cfg.sweep_interval,
        inv.cfg.reconcile_interval,
    );
    let items = inv
        .stock_client(ctx)
        .items_changed_within(window, &inv.cfg.locations)
        .await?;
    tracing::debug!(
        window_s = window,
        items = items.len(),
        "inventory sweep read"
    );
    Ok((items, started))
}

/// Saves the watermark after the sweep's items were marked; never moves it back.
pub async fn save_watermark(ctx: &JobContext, started_ms: i64) -> Result<(), JobError> {
    let key = watermark_key(&ctx.inventory.shop_id);
    let current = ctx
        .state
        .get(&key)
        .await?
        .and_then(|v| v.parse::<i64>().ok());
    if current.is_none_or(|c| c < started_ms) {
        ctx.state.set(&key, &started_ms.to_string(), None).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_reaches_back_to_the_watermark_plus_the_overlap_and_no_further_than_the_cap() {
        let min = Duration::from_secs(60);
        let hour = Duration::from_secs(3600);
        assert_eq!(window_secs(100_000, Some(90_000), min, hour), 40);
        assert_eq!(window_secs(100_000, None, min, hour), 90);
        // Down for a day: the start-up reconcile covered the rest.
        assert_eq!(window_secs(86_400_000, Some(0), min, hour), 3630);
        // Clock went back: never a negative window.
        assert_eq!(window_secs(0, Some(5_000), min, hour), 30);
        // A short period overlaps by one period.
        assert_eq!(
            window_secs(10_000, Some(8_000), Duration::from_secs(2), hour),
            4
        );
        assert_eq!(window_secs(86_400_000, Some(0), min, Duration::ZERO), 3630);
    }
}
