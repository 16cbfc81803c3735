//! I1: sellable quantity per SKU, pushed to TikTok coalesced, versioned and rate-limited.

use super::{JobContext, JobError, Outcome};
use crate::tiktok::models::Order;

pub async fn sync(
    _ctx: &JobContext,
    _shop_id: &str,
    _item_ids: &[String],
    _source: &str,
) -> Result<Outcome, JobError> {
    Err(JobError::Permanent("inventory sync: not built yet".into()))
}

pub async fn reconcile(_ctx: &JobContext, _shop_id: &str) -> Result<Outcome, JobError> {
    Err(JobError::Permanent(
        "inventory reconcile: not built yet".into(),
    ))
}

/// Called by O1 for every order it reads, before deciding whether to import it: moves the
/// in-flight ledger (units of orders not yet on a sales order).
pub async fn order_seen(_ctx: &JobContext, _order: &Order) -> Result<(), JobError> {
    Ok(())
}

/// Called by O1 once the order's sales order exists in NetSuite: its units leave the ledger.
pub async fn sales_order_written(
    _ctx: &JobContext,
    _order: &Order,
    _sales_order_id: &str,
) -> Result<(), JobError> {
    Ok(())
}
