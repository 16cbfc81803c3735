//! The demo's after-sale phase, played once every order has its sales order: the warehouse
//! ships a few orders in NetSuite (signed callouts to `POST /callouts/netsuite`; one callout
//! delivered twice, one order split in two packages), a buyer cancels an order on TikTok
//! (signed topic-11 webhook) and a refund-only return completes (topic 12). Everything goes
//! through the bridge's real ingress, queue and workers; the figures are read back from the
//! sandboxes, and the phase reports what is missing if it does not reach its end state.

use super::{PlannedOrder, Progress};
use anyhow::Context;
use bridge::app::RunningBridge;
use bridge::netsuite::callout::ITEM_FULFILLMENT_SHIPPED;
use rust_decimal::Decimal;
use sandbox::SandboxHandle;
use serde_json::{json, Value};
use std::time::Duration;

/// The parts orders play after the sale, in the order they are handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// Shipped in two item fulfillments (two packages, two carriers).
    SplitShipment,
    /// Shipped once; the callout is delivered twice with the same `webhook-id`.
    DuplicateCallout,
    /// Cancelled in full by the buyer on TikTok.
    Cancel,
    /// One unit refunded without a return of goods.
    Refund,
    /// Shipped once, plainly.
    Shipment,
}

const ROLES: [Role; 5] = [
    Role::SplitShipment,
    Role::DuplicateCallout,
    Role::Cancel,
    Role::Refund,
    Role::Shipment,
];

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::SplitShipment => "split shipment",
            Role::DuplicateCallout => "duplicate callout",
            Role::Cancel => "cancellation",
            Role::Refund => "refund",
            Role::Shipment => "shipment",
        }
    }
}

/// The line of `order` a refund can take whole: one without discounts, so TikTok's refund
/// of the unit equals the rate the sales order sold it at (a discounted unit's refund
/// differs, which the bridge rightly flags for review: not the story told here).
fn refundable_line(order: &PlannedOrder) -> Option<usize> {
    order
        .lines
        .iter()
        .position(|l| l.seller_discount.is_zero() && l.platform_discount.is_zero())
}

/// Whether `order` can play `role`. `strict` asks for the preferred shape (a split
/// shipment of two lines); otherwise less will do (two units of one line).
fn fits(role: Role, order: &PlannedOrder, strict: bool) -> bool {
    match role {
        Role::SplitShipment if strict => order.lines.len() >= 2,
        Role::SplitShipment => order.units() >= 2,
        Role::Refund => refundable_line(order).is_some(),
        Role::DuplicateCallout | Role::Cancel | Role::Shipment => true,
    }
}

/// Pure: which order plays which part, each order at most one. A split shipment wants two
/// lines (else two units of one line); a refund wants an undiscounted line. Parts no order
/// can play (a stream of fewer than five orders) are left out.
fn assign(orders: &[PlannedOrder]) -> Vec<(Role, usize)> {
    let mut taken: Vec<(Role, usize)> = Vec::new();
    for role in ROLES {
        let found = [true, false].into_iter().find_map(|strict| {
            (0..orders.len())
                .find(|i| taken.iter().all(|(_, t)| t != i) && fits(role, &orders[*i], strict))
        });
        if let Some(i) = found {
            taken.push((role, i));
        }
    }
    taken
}

/// A product line of a sales order: its line number, quantity and TikTok SKU.
#[derive(Debug, Clone)]
struct SoLine {
    line: u64,
    quantity: u64,
}

fn product_lines(so: &Value) -> Vec<SoLine> {
    so["item"]["items"]
        .as_array()
        .map(|lines| {
            lines
                .iter()
                .filter(|l| l["custcol_tiktok_sku_id"].as_str().is_some())
                .filter_map(|l| {
                    Some(SoLine {
                        line: l["line"].as_u64()?,
                        quantity: decimal(&l["quantity"])?.try_into().ok()?,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn decimal(v: &Value) -> Option<Decimal> {
    v.to_string().trim_matches('"').parse().ok()
}

fn is_closed(line: &Value) -> bool {
    line["isclosed"] == true || line["isClosed"] == true
}

/// What one item fulfillment ships: `(sales order line, quantity)` pairs.
type Boxed = Vec<(u64, u64)>;

/// Pure: the boxes a split shipment goes out in: the first line, then the rest; or, for a
/// single line, one unit then the others.
fn split_boxes(lines: &[SoLine]) -> Option<(Boxed, Boxed)> {
    match lines {
        [] => None,
        [only] if only.quantity >= 2 => {
            Some((vec![(only.line, 1)], vec![(only.line, only.quantity - 1)]))
        }
        [_] => None,
        [first, rest @ ..] => Some((
            vec![(first.line, first.quantity)],
            rest.iter().map(|l| (l.line, l.quantity)).collect(),
        )),
    }
}

/// What the phase staged, so the end state can be read back.
#[derive(Debug, Default)]
struct Staged {
    /// Orders shipped from NetSuite: TikTok order id, sales order id.
    shipped: Vec<(String, String)>,
    split_order: Option<String>,
    duplicate: Option<(String, [u16; 2])>,
    cancel: Option<(String, String)>,
    /// Order id, return id, amount TikTok refunded, currency.
    refund: Option<(String, String, Decimal, String)>,
}

/// Runs the phase and waits (up to `timeout`) for its end state. `Err` only when the
/// sandbox refuses to stage something or the user interrupts; a phase that does not end in
/// time comes back with its `unmet` expectations filled in.
pub(super) async fn run(
    orders: &[PlannedOrder],
    sandbox: &SandboxHandle,
    running: &RunningBridge,
    progress: &Progress,
    timeout: Duration,
) -> anyhow::Result<Figures> {
    let addr = running.addr.context("the bridge serves HTTP")?;
    let callout_url = format!("http://{addr}/callouts/netsuite");
    let webhook_url = format!("http://{addr}/webhooks/tiktok");
    progress.line("after the sale: the warehouse ships, a buyer cancels, a refund completes");

    let roles = assign(orders);
    for left_out in ROLES.iter().filter(|r| roles.iter().all(|(t, _)| t != *r)) {
        progress.line(&format!(
            "not enough orders for the {}; left out",
            left_out.name()
        ));
    }
    let mut staged = Staged::default();
    for (role, i) in roles {
        let order = &orders[i];
        let order_id = order.order_id.as_str();
        let so = sandbox
            .netsuite
            .sales_order_by_external_id(&format!("tiktok-order:{order_id}"))
            .with_context(|| format!("order {order_id} has no sales order"))?;
        let so_id = so["id"].as_str().unwrap_or_default().to_string();
        let lines = product_lines(&so);
        let all: Vec<(u64, u64)> = lines.iter().map(|l| (l.line, l.quantity)).collect();
        match role {
            Role::Shipment => {
                let fid = fulfill(sandbox, &so_id, &all, &tracking("9400", order_id), "USPS")?;
                let status = sandbox_callout(sandbox, &fid)?.send(&callout_url).await;
                progress.line(&format!(
                    "NetSuite ships order {order_id} (item fulfillment {fid}, USPS): signed callout → {}",
                    answer(status)
                ));
                staged.shipped.push((order_id.to_string(), so_id));
            }
            Role::DuplicateCallout => {
                let fid = fulfill(sandbox, &so_id, &all, &tracking("1Z", order_id), "UPS")?;
                let callout = sandbox_callout(sandbox, &fid)?;
                let first = status_code(callout.send(&callout_url).await);
                let second = status_code(callout.send(&callout_url).await);
                progress.line(&format!(
                    "NetSuite ships order {order_id} (item fulfillment {fid}, UPS); its outbox \
                     delivers the callout twice with the same webhook-id: {first}, {second}"
                ));
                staged.shipped.push((order_id.to_string(), so_id));
                staged.duplicate = Some((order_id.to_string(), [first, second]));
            }
            Role::SplitShipment => {
                let (one, two) = split_boxes(&lines)
                    .with_context(|| format!("order {order_id} has nothing to split"))?;
                let mut ids = Vec::new();
                for (boxed, carrier, prefix) in [(one, "UPS", "1Z"), (two, "FedEx", "7489")] {
                    let fid = fulfill(
                        sandbox,
                        &so_id,
                        &boxed,
                        &tracking(prefix, order_id),
                        carrier,
                    )?;
                    let status = sandbox_callout(sandbox, &fid)?.send(&callout_url).await;
                    ids.push(format!("{fid} ({carrier}) → {}", answer(status)));
                }
                progress.line(&format!(
                    "NetSuite ships order {order_id} in two boxes, item fulfillments {}",
                    ids.join(" and ")
                ));
                staged.shipped.push((order_id.to_string(), so_id));
                staged.split_order = Some(order_id.to_string());
            }
            Role::Cancel => {
                let cancel_id = format!("4035{}", &order_id[3.min(order_id.len())..]);
                anyhow::ensure!(
                    sandbox.tiktok.set_status(order_id, "CANCELLED"),
                    "the TikTok sandbox lost order {order_id}"
                );
                sandbox
                    .tiktok
                    .add_cancellation(json!({
                        "cancel_id": cancel_id,
                        "order_id": order_id,
                        "cancel_type": "BUYER_CANCEL",
                        "cancel_status": "CANCELLATION_REQUEST_COMPLETE",
                        "cancel_line_items": [],
                    }))
                    .context("the TikTok sandbox refused the cancellation")?;
                let status = send_webhook(sandbox, &webhook_url, 11, order_id).await;
                progress.line(&format!(
                    "the buyer cancels order {order_id} on TikTok (cancellation {cancel_id}): \
                     signed topic-11 webhook → {status}"
                ));
                staged.cancel = Some((order_id.to_string(), so_id));
            }
            Role::Refund => {
                let line = &order.lines[refundable_line(order).context("no refundable line")?];
                let unit = sandbox
                    .tiktok
                    .order(order_id)
                    .and_then(|o| {
                        o["line_items"].as_array()?.iter().find_map(|l| {
                            (l["sku_id"] == line.sku_id.as_str())
                                .then(|| l["id"].as_str().map(str::to_string))?
                        })
                    })
                    .with_context(|| {
                        format!("order {order_id} has no unit of {}", line.seller_sku)
                    })?;
                let return_id = format!("4036{}", &order_id[3.min(order_id.len())..]);
                let refunded = line.unit_price.round_dp(2);
                sandbox
                    .tiktok
                    .add_return(json!({
                        "return_id": return_id,
                        "order_id": order_id,
                        "return_type": "REFUND",
                        "return_status": "RETURN_OR_REFUND_REQUEST_COMPLETE",
                        "return_line_items": [{"order_line_item_id": unit, "sku_id": line.sku_id}],
                        "refund_amount": {"currency": "USD", "refund_total": refunded.to_string()},
                    }))
                    .context("the TikTok sandbox refused the return")?;
                let status = send_webhook(sandbox, &webhook_url, 12, order_id).await;
                progress.line(&format!(
                    "TikTok refunds one {} of order {order_id} ({refunded} USD, no goods back; \
                     return {return_id}): signed topic-12 webhook → {status}",
                    line.seller_sku
                ));
                staged.refund = Some((order_id.to_string(), return_id, refunded, "USD".into()));
            }
        }
    }

    let deadline = tokio::time::Instant::now() + timeout;
    let mut figures = Figures::read(&staged, sandbox, &running.metrics);
    while !figures.unmet.is_empty() && tokio::time::Instant::now() < deadline {
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(25)) => {}
            _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted"),
        }
        figures = Figures::read(&staged, sandbox, &running.metrics);
    }
    if figures.unmet.is_empty() {
        // Reached: let the last jobs finish, so a late extra call would still show.
        let settle = tokio::time::Instant::now() + Duration::from_secs(5);
        while tokio::time::Instant::now() < settle {
            match running.queue.stats().await {
                Ok(s) if s.depth == 0 && s.pending == 0 && s.delayed == 0 => break,
                _ => tokio::time::sleep(Duration::from_millis(25)).await,
            }
        }
        figures = Figures::read(&staged, sandbox, &running.metrics);
        progress.line(&format!(
            "after-sale end state reached: {} ship calls, {} of {} lines closed, {} credit memo(s)",
            figures.ship_calls,
            figures.cancel.as_ref().map_or(0, |c| c.closed),
            figures.cancel.as_ref().map_or(0, |c| c.lines),
            figures.refund.as_ref().map_or(0, |r| r.memos),
        ));
    }
    Ok(figures)
}

fn tracking(prefix: &str, order_id: &str) -> String {
    format!("{prefix}{}", &order_id[order_id.len().saturating_sub(12)..])
}

/// A shipped item fulfillment made in NetSuite: `(sales order line, quantity)` pairs, one
/// package with `tracking_number`, ship method `carrier`.
fn fulfill(
    sandbox: &SandboxHandle,
    so_id: &str,
    lines: &[(u64, u64)],
    tracking_number: &str,
    carrier: &str,
) -> anyhow::Result<String> {
    let items: Vec<Value> = lines
        .iter()
        .map(|(line, qty)| json!({"orderLine": line, "quantity": qty, "itemReceive": true}))
        .collect();
    sandbox
        .netsuite
        .create_item_fulfillment(
            so_id,
            json!({
                "shipStatus": {"id": "C"},
                "shipMethod": {"id": ship_method_id(carrier), "refName": carrier},
                "item": {"items": items},
                "package": {"items": [{"packageTrackingNumber": tracking_number, "packageWeight": 0.8}]},
            }),
        )
        .map_err(|e| anyhow::anyhow!("sales order {so_id}: {e}"))
}

/// Internal ids of the demo account's ship items (any will do: the bridge maps the name).
fn ship_method_id(carrier: &str) -> &'static str {
    match carrier {
        "USPS" => "71",
        "UPS" => "72",
        _ => "73",
    }
}

fn sandbox_callout(
    sandbox: &SandboxHandle,
    fulfillment_id: &str,
) -> anyhow::Result<sandbox::netsuite::callouts::SignedCallout> {
    sandbox
        .netsuite
        .item_fulfillment_callout(ITEM_FULFILLMENT_SHIPPED, fulfillment_id)
        .with_context(|| format!("item fulfillment {fulfillment_id} vanished"))
}

fn status_code(sent: Result<axum::http::StatusCode, reqwest::Error>) -> u16 {
    sent.map(|s| s.as_u16()).unwrap_or(0)
}

fn answer(sent: Result<axum::http::StatusCode, reqwest::Error>) -> String {
    match sent {
        Ok(s) => s.as_u16().to_string(),
        Err(e) => format!("not delivered ({})", e.without_url()),
    }
}

async fn send_webhook(sandbox: &SandboxHandle, url: &str, topic: u32, order_id: &str) -> String {
    let Some(data) = sandbox.tiktok.webhook_data(topic, order_id) else {
        return "no data".into();
    };
    match sandbox.tiktok.send_webhook(url, topic, data).await {
        Ok(s) => s.as_u16().to_string(),
        Err(e) => format!("not delivered ({})", e.without_url()),
    }
}

#[derive(Debug, Clone)]
pub(super) struct Duplicate {
    order_id: String,
    statuses: [u16; 2],
    /// Callout deliveries the bridge dropped as duplicates (its metric).
    deduped: u64,
    /// Every ship call TikTok saw for the order, accepted or not.
    ship_calls: usize,
}

#[derive(Debug, Clone)]
pub(super) struct Cancelled {
    order_id: String,
    sales_order_id: String,
    closed: usize,
    lines: usize,
}

#[derive(Debug, Clone)]
pub(super) struct Refunded {
    return_id: String,
    refunded: Decimal,
    currency: String,
    /// Credit memos in NetSuite, all of them (the bridge writes none but this one).
    memos: usize,
    /// Total of the credit memo carrying the return's external id.
    memo_total: Option<Decimal>,
}

/// The after-sale figures, every one read from the sandboxes (and the bridge's dedupe
/// counter), with what is still missing from the expected end state.
#[derive(Debug, Clone, Default)]
pub(super) struct Figures {
    shipped_orders: usize,
    /// NetSuite item fulfillments of the shipped orders' sales orders.
    fulfillments: usize,
    /// Ship calls TikTok accepted for those orders.
    ship_calls: usize,
    refused_ship_calls: usize,
    packages_shipped: usize,
    in_transit: usize,
    /// The split order and how many shipped packages it has on TikTok.
    split: Option<(String, usize)>,
    duplicate: Option<Duplicate>,
    cancel: Option<Cancelled>,
    refund: Option<Refunded>,
    pub(super) unmet: Vec<String>,
}

impl Figures {
    fn read(
        staged: &Staged,
        sandbox: &SandboxHandle,
        metrics: &bridge::metrics::Metrics,
    ) -> Figures {
        let tiktok = &sandbox.tiktok;
        let mut f = Figures {
            shipped_orders: staged.shipped.len(),
            ..Default::default()
        };
        for (order_id, so_id) in &staged.shipped {
            let made = sandbox
                .netsuite
                .records_created_from("itemFulfillment", so_id)
                .len();
            let calls = tiktok.ship_calls(order_id);
            let accepted = tiktok.accepted_ship_calls(order_id).len();
            let shipped = tiktok
                .shipments(order_id)
                .iter()
                .filter(|p| p.shipped)
                .count();
            f.fulfillments += made;
            f.ship_calls += accepted;
            f.refused_ship_calls += calls.iter().filter(|c| c.code != 0).count();
            f.packages_shipped += shipped;
            if tiktok
                .order(order_id)
                .is_some_and(|o| o["status"] == "IN_TRANSIT")
            {
                f.in_transit += 1;
            }
            if accepted < made || shipped < made {
                f.unmet.push(format!(
                    "order {order_id}: {accepted} ship calls and {shipped} shipped packages on TikTok for {made} NetSuite item fulfillments"
                ));
            } else if accepted > made {
                f.unmet.push(format!(
                    "order {order_id}: {accepted} ship calls for {made} item fulfillments (pushed twice)"
                ));
            }
            if staged.split_order.as_ref() == Some(order_id) {
                f.split = Some((order_id.clone(), shipped));
            }
        }
        if f.refused_ship_calls > 0 {
            f.unmet.push(format!(
                "TikTok refused {} ship calls",
                f.refused_ship_calls
            ));
        }
        if let Some((order_id, statuses)) = &staged.duplicate {
            let d = Duplicate {
                order_id: order_id.clone(),
                statuses: *statuses,
                deduped: super::duplicates(metrics, bridge::ingress::callout::SOURCE),
                ship_calls: tiktok.ship_calls(order_id).len(),
            };
            if d.statuses != [200, 200] {
                f.unmet.push(format!(
                    "the bridge answered {:?} to the two deliveries of one callout",
                    d.statuses
                ));
            }
            if d.deduped < 1 {
                f.unmet
                    .push("the callout delivered twice was not recognised as a duplicate".into());
            }
            if d.ship_calls != 1 {
                f.unmet.push(format!(
                    "order {order_id}: {} ship calls for one fulfillment delivered twice",
                    d.ship_calls
                ));
            }
            f.duplicate = Some(d);
        }
        if let Some((order_id, so_id)) = &staged.cancel {
            let so = sandbox.netsuite.record("salesOrder", so_id);
            let lines: Vec<Value> = so
                .as_ref()
                .and_then(|so| so["item"]["items"].as_array().cloned())
                .unwrap_or_default();
            let c = Cancelled {
                order_id: order_id.clone(),
                sales_order_id: so_id.clone(),
                closed: lines.iter().filter(|l| is_closed(l)).count(),
                lines: lines.len(),
            };
            if c.lines == 0 || c.closed < c.lines {
                f.unmet.push(format!(
                    "cancelled order {order_id}: {} of {} sales order lines closed",
                    c.closed, c.lines
                ));
            }
            f.cancel = Some(c);
        }
        if let Some((order_id, return_id, refunded, currency)) = &staged.refund {
            let memo = sandbox.netsuite.record_by_external_id_of(
                "creditMemo",
                &bridge::jobs::returns::refund_external_id(return_id),
            );
            let r = Refunded {
                return_id: return_id.clone(),
                refunded: *refunded,
                currency: currency.clone(),
                memos: sandbox.netsuite.records_of("creditMemo").len(),
                memo_total: memo.map(|m| {
                    m["item"]["items"]
                        .as_array()
                        .map(|ls| ls.iter().filter_map(|l| decimal(&l["amount"])).sum())
                        .unwrap_or_default()
                }),
            };
            match r.memo_total {
                None => f.unmet.push(format!(
                    "order {order_id}: no credit memo for refund {return_id}"
                )),
                Some(total) if total != r.refunded => f.unmet.push(format!(
                    "credit memo for refund {return_id} totals {total}, TikTok refunded {}",
                    r.refunded
                )),
                Some(_) if r.memos != 1 => f.unmet.push(format!(
                    "{} credit memos in NetSuite for one refund",
                    r.memos
                )),
                Some(_) => {}
            }
            f.refund = Some(r);
        }
        f
    }

    /// Summary rows: name, figure, note.
    pub(super) fn rows(&self) -> Vec<(&'static str, String, String)> {
        let left_out = |what: &str| {
            (
                "n/a".to_string(),
                format!("left out: the stream has too few orders for the {what}"),
            )
        };
        let mut rows = Vec::new();
        let (value, note) = if self.shipped_orders == 0 {
            left_out("shipments")
        } else {
            let split = match &self.split {
                Some((id, n)) => format!("; order {id} split in {n} packages"),
                None => String::new(),
            };
            (
                format!("{} / {}", self.ship_calls, self.fulfillments),
                format!(
                    "TikTok ship calls / NetSuite item fulfillments: {} packages shipped with tracking on {} orders, {} in transit{split}",
                    self.packages_shipped, self.shipped_orders, self.in_transit
                ),
            )
        };
        rows.push(("shipments pushed to TikTok (ship calls)", value, note));
        let (value, note) = match &self.duplicate {
            None => left_out("duplicate callout"),
            Some(d) => (
                d.deduped.to_string(),
                format!(
                    "one callout delivered twice (answered {} and {}); order {}: {} ship call{}",
                    d.statuses[0],
                    d.statuses[1],
                    d.order_id,
                    d.ship_calls,
                    if d.ship_calls == 1 { "" } else { "s" }
                ),
            ),
        };
        rows.push(("duplicate callout deduped", value, note));
        let (value, note) = match &self.cancel {
            None => left_out("cancellation"),
            Some(c) => (
                format!("{} / {}", c.closed, c.lines),
                format!(
                    "order {} cancelled on TikTok (topic 11) → sales order {}",
                    c.order_id, c.sales_order_id
                ),
            ),
        };
        rows.push(("cancelled order: lines closed", value, note));
        let (value, note) = match &self.refund {
            None => left_out("refund"),
            Some(r) => (
                r.memos.to_string(),
                format!(
                    "refund-only return {} (topic 12): memo {} for TikTok's {} {}",
                    r.return_id,
                    r.memo_total.map_or("missing".into(), |t| format!("{t:.2}")),
                    r.refunded,
                    r.currency
                ),
            ),
        };
        rows.push(("refund: credit memos", value, note));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::super::{plan, SEED};
    use super::*;

    #[test]
    fn every_part_goes_to_its_own_fitting_order() {
        let orders = plan(60, SEED, 1);
        let roles = assign(&orders);
        assert_eq!(roles.len(), ROLES.len(), "{roles:?}");
        let mut used: Vec<usize> = roles.iter().map(|(_, i)| *i).collect();
        used.sort_unstable();
        used.dedup();
        assert_eq!(used.len(), ROLES.len(), "one part per order");
        for (role, i) in &roles {
            match role {
                Role::SplitShipment => assert!(orders[*i].lines.len() >= 2),
                Role::Refund => assert!(refundable_line(&orders[*i]).is_some()),
                _ => {}
            }
        }
    }

    #[test]
    fn the_tiny_stream_of_the_demo_test_plays_every_part() {
        // tests/demo.rs runs 6 orders with the demo's seed: every row must have a figure.
        assert_eq!(assign(&plan(6, SEED, 1)).len(), ROLES.len());
    }

    #[test]
    fn too_few_orders_leave_parts_out_rather_than_doubling_up() {
        let roles = assign(&plan(2, SEED, 1));
        assert_eq!(roles.len(), 2);
        assert_ne!(roles[0].1, roles[1].1);
    }

    #[test]
    fn a_split_takes_the_first_line_then_the_rest_or_one_unit_then_the_others() {
        let l = |line, quantity| SoLine { line, quantity };
        assert_eq!(
            split_boxes(&[l(1, 2), l(2, 1), l(5, 3)]),
            Some((vec![(1, 2)], vec![(2, 1), (5, 3)]))
        );
        assert_eq!(split_boxes(&[l(1, 3)]), Some((vec![(1, 1)], vec![(1, 2)])));
        assert_eq!(split_boxes(&[l(1, 1)]), None);
        assert_eq!(split_boxes(&[]), None);
    }

    #[test]
    fn parts_left_out_show_as_not_applicable_not_as_zero() {
        let rows = Figures::default().rows();
        assert_eq!(rows.len(), 4);
        assert!(rows
            .iter()
            .all(|(_, v, n)| v == "n/a" && n.starts_with("left out")));
    }
}
