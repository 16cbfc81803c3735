//! F2: a Fulfilled-by-TikTok order shipped by TikTok becomes a NetSuite item fulfillment
//! at the FBT location.

use super::{JobContext, JobError};
use crate::tiktok::models::Order;

/// Called by O1 once the order's sales order exists (`sales_order_id`).
pub async fn record_shipment(
    _ctx: &JobContext,
    _order: &Order,
    _sales_order_id: &str,
) -> Result<(), JobError> {
    Ok(())
}
