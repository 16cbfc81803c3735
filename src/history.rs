//! Per-order history for operators (`GET /admin/orders/{id}/history`): events received at
//! ingress, job runs with their outcome and attempt, NetSuite records written and TikTok
//! calls made. Best effort by design: a history write that fails is logged and never fails
//! or delays the work it describes beyond one state call.

use crate::queue::now_ms;
use crate::state::{StateError, StateStore};
use serde::Serialize;

/// Newest entries kept per order; older ones fall off so a busy order cannot grow without end.
pub const MAX_ENTRIES: usize = 200;

pub fn key(order_id: &str) -> String {
    format!("history:order:{order_id}")
}

/// One line of an order's history. Only written here; readers get plain JSON so entries of
/// newer versions still show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HistoryEntry {
    pub at_ms: i64,
    #[serde(flatten)]
    pub event: HistoryEvent,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HistoryEvent {
    /// A webhook or callout about the order arrived at ingress.
    EventReceived {
        source: String,
        topic: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        notification_id: Option<String>,
        /// `queued` or `duplicate`.
        outcome: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        job_id: Option<String>,
    },
    /// A worker ran a job about the order.
    JobRun {
        job_id: String,
        job_kind: String,
        attempt: u32,
        /// `done`, `skipped`, `parked`, `retry_scheduled` or `dead`.
        outcome: String,
        detail: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
    },
    /// A NetSuite record was created or updated for the order.
    NetsuiteWrite {
        record_type: String,
        external_id: String,
        internal_id: String,
    },
    /// A TikTok Open API call that read or wrote the order.
    TiktokCall {
        endpoint: String,
        /// `ok` or `error`.
        outcome: String,
        /// Orders the call covered (Get Order Detail batches up to 50).
        orders_in_call: usize,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// F1: what the bridge told TikTok about a package of a NetSuite item fulfillment.
    TiktokShipment {
        fulfillment_id: String,
        /// `mark_shipped`, `ship_package`, `already_shipped`, `adopted` or
        /// `update_shipping_info`.
        action: String,
        package_id: String,
        order_line_item_ids: Vec<String>,
        tracking_number: String,
        shipping_provider_id: String,
    },
    /// O1: how the order's `payment` was read (`mapping::charges`): which reading of
    /// `total_amount` applied, per-line vs order-level differences, rounding.
    Mapping { reading: String, notes: Vec<String> },
    /// An operator acted on the order's jobs through the admin API.
    AdminAction {
        action: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        job_id: Option<String>,
        detail: String,
    },
}

/// The list key and JSON line of one history entry stamped now; `None` (logged) if it
/// cannot be encoded.
fn encode(order_id: &str, event: HistoryEvent) -> Option<(String, String)> {
    let entry = HistoryEntry {
        at_ms: now_ms(),
        event,
    };
    match serde_json::to_string(&entry) {
        Ok(json) => Some((key(order_id), json)),
        Err(e) => {
            tracing::warn!(error = %e, "could not encode an order history entry");
            None
        }
    }
}

/// Appends `event` to the order's history; failures are logged, not returned.
pub async fn record(state: &dyn StateStore, order_id: &str, event: HistoryEvent) {
    record_many(state, vec![(order_id.to_string(), event)]).await;
}

/// Appends several entries in one backend call (e.g. one per order of a batched read).
pub async fn record_many(state: &dyn StateStore, events: Vec<(String, HistoryEvent)>) {
    let entries: Vec<(String, String)> = events
        .into_iter()
        .filter_map(|(order_id, event)| encode(&order_id, event))
        .collect();
    if let Err(e) = state.list_push_many(&entries, MAX_ENTRIES).await {
        tracing::warn!(error = %e, "could not record order history");
    }
}

/// The order's history, oldest first. Entries that are not JSON are skipped.
pub async fn read(
    state: &dyn StateStore,
    order_id: &str,
) -> Result<Vec<serde_json::Value>, StateError> {
    let raw = state.list_range(&key(order_id)).await?;
    Ok(raw
        .iter()
        .filter_map(|r| serde_json::from_str(r).ok())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_flat_json_tagged_by_kind() {
        let e = HistoryEntry {
            at_ms: 5,
            event: HistoryEvent::NetsuiteWrite {
                record_type: "salesOrder".into(),
                external_id: "tiktok-order:1".into(),
                internal_id: "42".into(),
            },
        };
        let v: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(v["kind"], "netsuite_write");
        assert_eq!(v["internal_id"], "42");
        assert_eq!(v["at_ms"].to_string(), "5");
    }
}

/// Buffers history entries from a hot path (ingress) and writes them in batches, one round
/// trip per batch instead of one per webhook. History is an operator aid, not a guarantee:
/// entries still buffered when the process dies are lost, and a full buffer drops entries
/// (counted in the log) rather than slowing ingress down.
#[derive(Clone)]
pub struct HistoryWriter {
    tx: tokio::sync::mpsc::Sender<(String, String)>,
}

const WRITER_BUFFER: usize = 10_000;
const WRITER_BATCH: usize = 256;

impl HistoryWriter {
    /// Start the background task; it ends when every writer clone is dropped, after
    /// flushing what it holds.
    pub fn spawn(state: std::sync::Arc<dyn StateStore>) -> HistoryWriter {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<(String, String)>(WRITER_BUFFER);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(WRITER_BATCH);
            while rx.recv_many(&mut batch, WRITER_BATCH).await > 0 {
                if let Err(e) = state.list_push_many(&batch, MAX_ENTRIES).await {
                    tracing::warn!(error = %e, lost = batch.len(), "could not record order history");
                }
                batch.clear();
            }
        });
        HistoryWriter { tx }
    }

    /// Queue an entry without waiting.
    pub fn record(&self, order_id: &str, event: HistoryEvent) {
        let Some(entry) = encode(order_id, event) else {
            return;
        };
        if self.tx.try_send(entry).is_err() {
            tracing::warn!("order history buffer full; entry dropped");
        }
    }
}
