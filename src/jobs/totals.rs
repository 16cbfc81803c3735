//! O1: an order whose sales order would not tie to TikTok's `total_amount` is parked with
//! reason `totals_mismatch` and flagged for review, never dead-lettered: the amounts are in
//! the parked job (`GET /admin/parked`) and the flag (`GET /admin/review`), and the job runs
//! again when an operator releases it (after setting fee items or `TOTALS_TOLERANCE`) or
//! TikTok updates the order.

use super::{JobContext, JobError, Outcome};
use crate::review::{self, ReviewFlag};
use crate::state::ParkReason;
use crate::tiktok::models::Order;
use rust_decimal::Decimal;

/// Review reason (and metric label) of an order whose totals do not tie.
pub const REVIEW_TOTALS_MISMATCH: &str = "totals_mismatch";

/// `totals:<order id>:<total_amount>:<computed>`: one flag per distinct case, so a later
/// update of the order with other amounts is flagged again.
pub fn review_flag_id(order_id: &str, expected: Decimal, computed: Decimal) -> String {
    format!("totals:{order_id}:{expected}:{computed}")
}

pub async fn park(
    ctx: &JobContext,
    order: &Order,
    expected: Decimal,
    computed: Decimal,
    computed_without_fees: Option<Decimal>,
) -> Result<Outcome, JobError> {
    let currency = order.payment.currency.clone();
    let without = computed_without_fees
        .map(|w| format!(", {w} without the market fees"))
        .unwrap_or_default();
    let detail = format!(
        "order {} not imported: TikTok total_amount is {expected} {currency}, the mapped lines total {computed}{without} (difference {}); check the fee items (NETSUITE_FEE_ITEMS) or accept the difference with TOTALS_TOLERANCE, then release the parked job",
        order.id,
        expected - computed
    );
    let flag = ReviewFlag {
        id: review_flag_id(&order.id, expected, computed),
        reason: REVIEW_TOTALS_MISMATCH.into(),
        order_id: order.id.clone(),
        sales_order_id: None,
        detail: detail.clone(),
        flagged_at_ms: crate::queue::now_ms(),
        dismissed_at_ms: None,
        dismissed_note: None,
    };
    if review::raise(ctx.state.as_ref(), &flag).await? {
        ctx.metrics.after_sale.flagged(REVIEW_TOTALS_MISMATCH);
        tracing::warn!(order_id = %order.id, %expected, %computed, "order totals do not tie; parked and flagged for review");
    }
    Ok(Outcome::Parked(ParkReason::TotalsMismatch {
        order_id: order.id.clone(),
        expected,
        computed,
        computed_without_fees,
        currency,
    }))
}
