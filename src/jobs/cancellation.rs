//! O2: TikTok cancellations close the cancelled lines of the NetSuite sales order.

use super::{JobContext, JobError, Outcome};
use crate::tiktok::models::Order;

pub async fn run(
    _ctx: &JobContext,
    _shop_id: &str,
    order_id: &str,
    _cancel_id: Option<&str>,
) -> Result<Outcome, JobError> {
    Err(JobError::Permanent(format!(
        "cancellation of {order_id}: not built yet"
    )))
}

/// An order re-read by O1 with status CANCELLED.
pub async fn from_order(_ctx: &JobContext, order: &Order) -> Result<Outcome, JobError> {
    Ok(Outcome::Skipped(format!(
        "order {} is cancelled; cancellations are not built yet",
        order.id
    )))
}
