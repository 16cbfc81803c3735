//! Periodic work that keeps the bridge honest when events go missing: the catch-up
//! poller and the sweep that releases parked jobs. Each run takes a shared lock so only
//! one replica does it at a time.

pub mod inventory;
pub mod poller;
pub mod settlement;
pub mod unpark;

use std::future::Future;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// Call `tick` every `every` until shutdown; errors are logged, never fatal.
pub async fn every<F, Fut>(every: Duration, shutdown: CancellationToken, name: &str, mut tick: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => {},
            _ = shutdown.cancelled() => return,
        }
        if let Err(e) = tick().await {
            tracing::warn!(timer = name, error = %e, "timer run failed; will try again");
        }
    }
}
