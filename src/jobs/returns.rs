//! O3: TikTok returns and refunds become NetSuite return authorizations, credit memos or
//! refunds, and item receipts.

use super::{JobContext, JobError, Outcome};

pub async fn run(
    _ctx: &JobContext,
    _shop_id: &str,
    _order_id: &str,
    return_id: &str,
) -> Result<Outcome, JobError> {
    Err(JobError::Permanent(format!(
        "return {return_id}: not built yet"
    )))
}
