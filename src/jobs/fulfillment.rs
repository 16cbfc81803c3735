//! F1: a NetSuite item fulfillment becomes TikTok shipments (mark package shipped, ship
//! package, update shipping info).

use super::{JobContext, JobError, Outcome};

pub async fn run(
    _ctx: &JobContext,
    fulfillment_id: &str,
    _event: &str,
) -> Result<Outcome, JobError> {
    Err(JobError::Permanent(format!(
        "fulfillment push for {fulfillment_id}: not built yet"
    )))
}
