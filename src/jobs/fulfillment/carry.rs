//! Units of a fulfillment that wait for the rest of a TikTok package
//! (`fulfillment-carry:<order_id>`): a package ships whole, so the fulfillment that
//! completes it ships it and settles the earlier ones.

use super::*;

/// Units of one fulfillment that NetSuite shipped and TikTok has not been told of yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedFulfillment {
    pub fulfillment_id: String,
    /// `sku_id` → units.
    pub units: BTreeMap<String, u32>,
}

/// Per TikTok order (state key `fulfillment-carry:<order_id>`): fulfillments whose units
/// wait for the rest of a TikTok package, oldest first. Every run of a fulfillment of the
/// order plans with its own units plus these, so the fulfillment that completes a package
/// ships it; a fulfillment stays here (parked, `FulfillmentIncomplete`) until then.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CarriedUnits {
    pub fulfillments: Vec<CarriedFulfillment>,
}

impl CarriedUnits {
    pub fn total(&self) -> BTreeMap<String, u32> {
        let mut out = BTreeMap::new();
        for c in &self.fulfillments {
            for (sku, n) in &c.units {
                *out.entry(sku.clone()).or_insert(0) += n;
            }
        }
        out
    }

    pub fn contains(&self, fulfillment_id: &str) -> bool {
        self.fulfillments
            .iter()
            .any(|c| c.fulfillment_id == fulfillment_id)
    }

    /// After a run that left `waiting` units unshipped: which fulfillments still wait, and
    /// with what. Shipped units count against the oldest fulfillments first, so the waiting
    /// ones are the newest. Returns the ids no longer waiting.
    pub fn settle(&mut self, waiting: &BTreeMap<String, u32>) -> Vec<String> {
        let mut left = waiting.clone();
        let mut done = Vec::new();
        let mut kept = Vec::new();
        for c in self.fulfillments.iter().rev() {
            let mut units = BTreeMap::new();
            for (sku, n) in &c.units {
                if let Some(l) = left.get_mut(sku) {
                    let take = (*l).min(*n);
                    if take > 0 {
                        *l -= take;
                        units.insert(sku.clone(), take);
                    }
                }
            }
            if units.is_empty() {
                done.push(c.fulfillment_id.clone());
            } else {
                kept.push(CarriedFulfillment {
                    fulfillment_id: c.fulfillment_id.clone(),
                    units,
                });
            }
        }
        kept.reverse();
        done.reverse();
        self.fulfillments = kept;
        done
    }
}

pub fn carry_key(order_id: &str) -> String {
    format!("fulfillment-carry:{order_id}")
}

pub(super) async fn load_carry(
    state: &dyn StateStore,
    order_id: &str,
) -> Result<CarriedUnits, StateError> {
    let key = carry_key(order_id);
    match state.get(&key).await? {
        Some(raw) => serde_json::from_str(&raw).map_err(|e| StateError::Corrupt {
            key,
            reason: e.to_string(),
        }),
        None => Ok(CarriedUnits::default()),
    }
}

/// Whether fulfillment `fulfillment_id` still has units waiting for the rest of a package
/// (the unpark sweep's test for `ParkReason::FulfillmentIncomplete`).
pub async fn still_waiting(
    state: &dyn StateStore,
    order_id: &str,
    fulfillment_id: &str,
) -> Result<bool, StateError> {
    Ok(load_carry(state, order_id).await?.contains(fulfillment_id))
}

/// Records that `by`'s run shipped the units fulfillment `fid` left waiting, so its parked
/// job finishes (and a tracking edit of `fid` leaves the shared package alone).
pub(super) async fn mark_settled(
    ctx: &JobContext,
    fid: &str,
    order_id: &str,
    by: &str,
) -> Result<(), JobError> {
    let key = pushed_key(fid);
    let mut rec: PushedFulfillment = match ctx.state.get(&key).await? {
        Some(v) => serde_json::from_str(&v)
            .map_err(|e| JobError::Permanent(format!("corrupt state at {key}: {e}")))?,
        None => PushedFulfillment {
            order_id: order_id.to_string(),
            packages: Vec::new(),
            pushed_at_ms: crate::queue::now_ms(),
            settled_by: Vec::new(),
        },
    };
    if !rec.settled_by.iter().any(|b| b == by) {
        rec.settled_by.push(by.to_string());
    }
    save(ctx, fid, &rec).await
}
