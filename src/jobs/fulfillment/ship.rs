//! Which TikTok call a shipped fulfillment becomes, and what the bridge remembers it pushed
//! (`fulfillment:<id>`): Mark Package As Shipped, Ship Package with `self_shipment`, Update
//! Shipping Info when tracking changes, and TikTok's "already shipped" counted as done.

use super::*;

/// One TikTok package the bridge shipped (or found shipped) for a fulfillment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedPackage {
    pub package_id: String,
    pub order_line_item_ids: Vec<String>,
    pub tracking_number: String,
    pub shipping_provider_id: String,
}

/// What the bridge told TikTok for one item fulfillment (state key `fulfillment:<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushedFulfillment {
    pub order_id: String,
    pub packages: Vec<PushedPackage>,
    pub pushed_at_ms: i64,
    /// Later fulfillments of the order whose runs shipped units this one left waiting (a
    /// TikTok package split across fulfillments ships once, with the later tracking).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settled_by: Vec<String>,
}

pub fn pushed_key(fulfillment_id: &str) -> String {
    format!("fulfillment:{fulfillment_id}")
}

pub(super) async fn save(
    ctx: &JobContext,
    fid: &str,
    pushed: &PushedFulfillment,
) -> Result<(), JobError> {
    let value = serde_json::to_string(pushed)
        .map_err(|e| JobError::Permanent(format!("cannot encode state: {e}")))?;
    ctx.state.set(&pushed_key(fid), &value, None).await?;
    Ok(())
}

pub(super) async fn push(
    ctx: &JobContext,
    f: &ItemFulfillment,
    sales_order: &Value,
    order_id: &str,
    event: &str,
) -> Result<Outcome, JobError> {
    let fid = f.id.as_str();
    let previous: Option<PushedFulfillment> = match ctx.state.get(&pushed_key(fid)).await? {
        Some(v) => Some(serde_json::from_str(&v).map_err(|e| {
            JobError::Permanent(format!("corrupt state at {}: {e}", pushed_key(fid)))
        })?),
        None => None,
    };
    if previous.is_none() {
        // History is keyed by TikTok order id, which only the handler learns.
        let received = HistoryEvent::EventReceived {
            source: crate::netsuite::callout::SOURCE.into(),
            topic: event.into(),
            notification_id: None,
            outcome: "queued".into(),
            job_id: None,
        };
        history::record(ctx.state.as_ref(), order_id, received).await;
    }
    let order = read_order(ctx, order_id).await?;
    if order.fulfillment_type == Some(FulfillmentType::ByTikTok) {
        return Ok(Outcome::Skipped(format!(
            "order {order_id} is fulfilled by TikTok (FBT); the bridge never ships it"
        )));
    }
    if order.shipping_type.as_deref() == Some(SHIPPING_TYPE_TIKTOK) {
        // TikTok's label: TikTok issues the tracking number and the carrier collects the
        // parcel; seller tracking (`self_shipment`, Mark Package As Shipped) is only for
        // `SELLER` shipping (reference §6). Arranging the label is done in Seller Center.
        return Ok(Outcome::Skipped(format!(
            "order {order_id} ships on a TikTok shipping label (shipping_type TIKTOK); the bridge does not push seller tracking for item fulfillment {fid}"
        )));
    }
    match order.status {
        // UNPAID cannot really have a sales order; if it does, it waits like a hold.
        OrderStatus::OnHold | OrderStatus::Unpaid => {
            let now = crate::queue::now_ms();
            let hold_ends = order.paid_time.map(|t| t * 1000 + HOLD_WINDOW_MS);
            let soonest = now + ctx.mapping.hold_recheck.as_millis() as i64;
            return Ok(Outcome::Parked(ParkReason::OrderOnHold {
                order_id: order_id.to_string(),
                recheck_at_ms: hold_ends.map_or(soonest, |h| h.max(soonest)),
            }));
        }
        OrderStatus::Cancelled => {
            return Ok(Outcome::Skipped(format!(
                "order {order_id} is cancelled on TikTok; nothing to ship"
            )))
        }
        _ => {}
    }
    let numbers = f.tracking_numbers();
    let Some(tracking_number) = numbers.first().cloned() else {
        return Ok(Outcome::Skipped(format!(
            "item fulfillment {fid} is shipped without a tracking number; an edit that adds one is pushed then"
        )));
    };
    let provider = match provider_for(ctx, f, &order).await? {
        Ok(p) => p,
        Err(reason) => return Ok(Outcome::Parked(reason)),
    };
    let tracking = Tracking {
        tracking_number,
        shipping_provider_id: provider,
    };
    let extra = if numbers.len() > 1 {
        format!(
            "; other tracking numbers not sent (one per TikTok package): {}",
            numbers[1..].join(", ")
        )
    } else {
        String::new()
    };

    let mut carry = load_carry(ctx.state.as_ref(), order_id).await?;
    let waiting_before = carry.contains(fid);
    let previous = match previous {
        Some(mut pushed) if !waiting_before => {
            return update_tracking(ctx, fid, order_id, &mut pushed, &tracking).await;
        }
        // Pushed in part and still waiting: what it pushed gets the current tracking too.
        Some(mut pushed) => {
            update_tracking(ctx, fid, order_id, &mut pushed, &tracking).await?;
            Some(pushed)
        }
        None => None,
    };
    if !waiting_before {
        let wanted = wanted_units(f, sales_order).map_err(JobError::Permanent)?;
        if wanted.is_empty() {
            return Ok(Outcome::Skipped(format!(
                "item fulfillment {fid} ships no TikTok units (no line of a TikTok sales order line)"
            )));
        }
        carry.fulfillments.push(CarriedFulfillment {
            fulfillment_id: fid.to_string(),
            units: wanted,
        });
    }
    let carried_others = carry.fulfillments.len() - 1;
    let plan = plan(&order, &carry.total(), &tracking.tracking_number);
    let mut pushed = previous.unwrap_or_else(|| PushedFulfillment {
        order_id: order_id.to_string(),
        packages: Vec::new(),
        pushed_at_ms: crate::queue::now_ms(),
        settled_by: Vec::new(),
    });
    let pushed_before = pushed.packages.len();
    let package = |package_id: &str, ids: &[String]| PushedPackage {
        package_id: package_id.to_string(),
        order_line_item_ids: ids.to_vec(),
        tracking_number: tracking.tracking_number.clone(),
        shipping_provider_id: tracking.shipping_provider_id.clone(),
    };
    for (package_id, ids) in &plan.adopted {
        let p = package(package_id, ids);
        shipment(ctx, order_id, fid, "adopted", &p).await;
        pushed.packages.push(p);
    }
    for (package_id, ids) in &plan.ship_packages {
        let shipped = ctx.tiktok.ship_package(package_id, &tracking, None).await;
        let path = crate::tiktok::client::api_template(
            &crate::tiktok::fulfillment::ship_package_path(package_id),
        );
        tiktok_call(ctx, order_id, &path, &shipped).await;
        let action = match shipped? {
            ShipOutcome::Shipped => "ship_package",
            ShipOutcome::AlreadyShipped => "already_shipped",
        };
        let p = package(package_id, ids);
        shipment(ctx, order_id, fid, action, &p).await;
        pushed.packages.push(p);
    }
    if !plan.mark_shipped.is_empty() {
        let req = MarkShippedRequest {
            order_line_item_ids: plan.mark_shipped.clone(),
            tracking_number: tracking.tracking_number.clone(),
            shipping_provider_id: tracking.shipping_provider_id.clone(),
        };
        let marked = ctx.tiktok.mark_package_shipped(order_id, &req).await;
        let path = crate::tiktok::client::api_template(
            &crate::tiktok::fulfillment::mark_package_shipped_path(order_id),
        );
        tiktok_call(ctx, order_id, &path, &marked).await;
        let result = marked?;
        if let Some(w) = &result.warning {
            if !w.is_null() {
                tracing::warn!(order_id, warning = %w, "TikTok accepted the shipment with a warning");
            }
        }
        let p = package(&result.package_id, &plan.mark_shipped);
        shipment(ctx, order_id, fid, "mark_shipped", &p).await;
        pushed.packages.push(p);
    }

    // Who still waits for the rest of a package. Records first, the carry last: a crash in
    // between reruns with the same carry, and the packages shipped now are adopted then.
    let settled = carry.settle(&plan.waiting);
    let self_waiting = carry
        .fulfillments
        .iter()
        .find(|c| c.fulfillment_id == fid)
        .map(|c| c.units.clone());
    let others: Vec<&String> = settled.iter().filter(|id| *id != fid).collect();
    for other in &others {
        mark_settled(ctx, other, order_id, fid).await?;
    }
    // A fresh fulfillment that shipped nothing keeps no record: a rerun plans again.
    if pushed.packages.len() > pushed_before || (self_waiting.is_none() && waiting_before) {
        save(ctx, fid, &pushed).await?;
    }
    if carry.fulfillments.is_empty() {
        ctx.state.delete(&carry_key(order_id)).await?;
    } else {
        let value = serde_json::to_string(&carry)
            .map_err(|e| JobError::Permanent(format!("cannot encode state: {e}")))?;
        ctx.state.set(&carry_key(order_id), &value, None).await?;
    }

    if let Some(units) = self_waiting {
        tracing::info!(
            order_id,
            fulfillment_id = fid,
            packages = ?plan.waiting_packages,
            "item fulfillment covers part of a TikTok package; waiting for the rest"
        );
        return Ok(Outcome::Parked(ParkReason::FulfillmentIncomplete {
            order_id: order_id.to_string(),
            fulfillment_id: fid.to_string(),
            package_ids: plan.waiting_packages.clone(),
            units,
        }));
    }
    if plan.is_empty() {
        return Ok(Outcome::Skipped(format!(
            "no unshipped TikTok line items of order {order_id} match item fulfillment {fid} (already shipped elsewhere?)"
        )));
    }
    let missing = if plan.missing.is_empty() {
        String::new()
    } else {
        format!(
            "; units with no unshipped TikTok line item (sku_id: count): {:?}",
            plan.missing
        )
    };
    let with_others = if carried_others > 0 {
        format!(
            "; with units of earlier item fulfillment(s) {} that waited for the rest of a package",
            others
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    let ids: Vec<&str> = pushed.packages[pushed_before..]
        .iter()
        .map(|p| p.package_id.as_str())
        .collect();
    Ok(Outcome::Done(format!(
        "item fulfillment {fid} shipped on TikTok order {order_id} as package(s) {}{with_others}{missing}{extra}",
        ids.join(", ")
    )))
}

/// A fulfillment already pushed: send the tracking again only where it changed.
pub(super) async fn update_tracking(
    ctx: &JobContext,
    fid: &str,
    order_id: &str,
    pushed: &mut PushedFulfillment,
    tracking: &Tracking,
) -> Result<Outcome, JobError> {
    let mut updated = Vec::new();
    for i in 0..pushed.packages.len() {
        let p = pushed.packages[i].clone();
        if p.tracking_number == tracking.tracking_number
            && p.shipping_provider_id == tracking.shipping_provider_id
        {
            continue;
        }
        let result = ctx
            .tiktok
            .update_shipping_info(&p.package_id, tracking)
            .await;
        let path = crate::tiktok::client::api_template(
            &crate::tiktok::fulfillment::update_shipping_info_path(&p.package_id),
        );
        tiktok_call(ctx, order_id, &path, &result).await;
        result?;
        let now = PushedPackage {
            tracking_number: tracking.tracking_number.clone(),
            shipping_provider_id: tracking.shipping_provider_id.clone(),
            ..p
        };
        shipment(ctx, order_id, fid, "update_shipping_info", &now).await;
        updated.push(now.package_id.clone());
        pushed.packages[i] = now;
        // Saved after each package: a failure on the next one re-sends only what is left.
        save(ctx, fid, pushed).await?;
    }
    if updated.is_empty() {
        Ok(Outcome::Done(format!(
            "item fulfillment {fid} already pushed to TikTok order {order_id} with this tracking"
        )))
    } else {
        Ok(Outcome::Done(format!(
            "tracking of package(s) {} updated to the item fulfillment {fid}'s",
            updated.join(", ")
        )))
    }
}
