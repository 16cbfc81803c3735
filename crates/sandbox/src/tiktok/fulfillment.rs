//! Fulfillment, logistics, cancellation and return paths of the simulated shop (reference
//! §6, §8). Every call passes the same gate as the order APIs (`api::admit`); the state here
//! (packages, carriers per delivery option, cancellations, returns) is also driven from Rust
//! so tests can stage what a buyer or TikTok itself did.

use super::api::{bad_param, param, rejected, success, Admitted};
use super::fixtures::now_unix;
use super::TikTokSandbox;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

type Sb = Arc<TikTokSandbox>;
/// A refusal carried through `Result`; boxed because `Response` is large.
type Reject = Box<Response>;

/// Documented codes (reference §6).
const CODE_ALREADY_SHIPPED: i64 = 11_006_021;
const CODE_BAD_TRACKING_OR_PROVIDER: i64 = 21_011_022;
/// TikTok's exact codes for these refusals are not in the reference; the sandbox picks
/// codes in the same family so clients can tell them apart from the documented ones.
const CODE_ORDER_NOT_FOUND: i64 = 21_011_001;
const CODE_PACKAGE_NOT_FOUND: i64 = 21_011_002;
const CODE_ORDER_NOT_SHIPPABLE: i64 = 21_011_003;
const CODE_BAD_LINE_ITEMS: i64 = 21_011_005;

/// Carriers every delivery option offers unless a test sets its own list. The USPS id is
/// the one in the reference's sample answer.
pub const DEFAULT_SHIPPING_PROVIDERS: &[(&str, &str)] = &[
    ("7117858858072016686", "USPS"),
    ("7117859084333745966", "UPS"),
    ("7129736293935597354", "FedEx"),
];

/// One package as the sandbox keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SandboxPackage {
    pub package_id: String,
    pub order_id: String,
    pub order_line_item_ids: Vec<String>,
    pub tracking_number: Option<String>,
    pub shipping_provider_id: Option<String>,
    pub shipped: bool,
    /// Ship or update calls that changed this package's tracking.
    pub tracking_updates: u32,
}

#[derive(Default)]
pub(super) struct FulfillmentState {
    packages: BTreeMap<String, SandboxPackage>,
    providers: HashMap<String, Vec<(String, String)>>,
    cancellations: BTreeMap<String, Value>,
    returns: BTreeMap<String, Value>,
    next_package: u64,
    /// Every ship / update call that reached an order or package, accepted or refused.
    ship_calls: Vec<ShipCall>,
}

/// One ship, mark-as-shipped or update-shipping-info call as the sandbox saw it, so tests
/// can count TikTok calls per order and read what they carried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShipCall {
    /// `mark_package_shipped`, `ship_package` or `update_shipping_info`.
    pub endpoint: String,
    pub order_id: String,
    pub package_id: Option<String>,
    pub order_line_item_ids: Vec<String>,
    pub tracking_number: String,
    pub shipping_provider_id: String,
    /// 0 when accepted, else the error code answered.
    pub code: i64,
}

pub(super) fn routes() -> Router<Sb> {
    Router::new()
        .route(
            "/fulfillment/202309/orders/{order_id}/packages",
            post(mark_package_shipped),
        )
        .route(
            "/fulfillment/202309/packages/{package_id}/ship",
            post(ship_package),
        )
        .route(
            "/fulfillment/202309/packages/{package_id}/shipping_info/update",
            post(update_shipping_info),
        )
        .route(
            "/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers",
            get(shipping_providers),
        )
        .route(
            "/return_refund/202309/cancellations/search",
            post(search_cancellations),
        )
        .route("/return_refund/202309/returns/search", post(search_returns))
}

fn refuse(code: i64, message: &str) -> Response {
    rejected(StatusCode::OK, code, message)
}

fn body_object(body: &[u8]) -> Result<Value, Reject> {
    if body.is_empty() {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(Box::new(bad_param("body is not a JSON object"))),
    }
}

fn str_list(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| match x {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

impl TikTokSandbox {
    /// Carriers offered for `delivery_option_id`: the ones set for it, else the defaults.
    pub fn shipping_providers_for(&self, delivery_option_id: &str) -> Vec<(String, String)> {
        self.fulfillment
            .lock()
            .providers
            .get(delivery_option_id)
            .cloned()
            .unwrap_or_else(|| {
                DEFAULT_SHIPPING_PROVIDERS
                    .iter()
                    .map(|(id, name)| (id.to_string(), name.to_string()))
                    .collect()
            })
    }

    pub fn set_shipping_providers(&self, delivery_option_id: &str, providers: &[(&str, &str)]) {
        self.fulfillment.lock().providers.insert(
            delivery_option_id.to_string(),
            providers
                .iter()
                .map(|(id, name)| (id.to_string(), name.to_string()))
                .collect(),
        );
    }

    /// A package TikTok made itself (as in SEA/EMEA, or a TikTok label), not yet shipped:
    /// what Ship Package acts on. Returns its id; `None` for an unknown order.
    pub fn add_package(&self, order_id: &str, order_line_item_ids: &[&str]) -> Option<String> {
        self.order(order_id)?;
        let id = {
            let mut f = self.fulfillment.lock();
            let id = Self::allocate_package_id(&mut f);
            f.packages.insert(
                id.clone(),
                SandboxPackage {
                    package_id: id.clone(),
                    order_id: order_id.to_string(),
                    order_line_item_ids: order_line_item_ids
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                    tracking_number: None,
                    shipping_provider_id: None,
                    shipped: false,
                    tracking_updates: 0,
                },
            );
            id
        };
        self.attach_package(order_id, &id);
        self.sync_line_items(order_id);
        Some(id)
    }

    /// Ship, mark-as-shipped and update calls made for `order_id`, oldest first.
    pub fn ship_calls(&self, order_id: &str) -> Vec<ShipCall> {
        self.fulfillment
            .lock()
            .ship_calls
            .iter()
            .filter(|c| c.order_id == order_id)
            .cloned()
            .collect()
    }

    /// Accepted ship calls (Mark Package As Shipped or Ship Package) for `order_id`.
    pub fn accepted_ship_calls(&self, order_id: &str) -> Vec<ShipCall> {
        self.ship_calls(order_id)
            .into_iter()
            .filter(|c| c.code == 0 && c.endpoint != "update_shipping_info")
            .collect()
    }

    fn log_ship_call(&self, call: ShipCall) {
        self.fulfillment.lock().ship_calls.push(call);
    }

    /// Mirrors the packages into the order's `line_items[]` (`package_id`, `package_status`,
    /// `tracking_number`), as Get Order Detail shows them. The reference names
    /// `package_status` but not its values: `TO_FULFILL` (the fixtures' value) before any
    /// package, `PROCESSING` in a package not shipped yet and `FULFILLING` once shipped are
    /// the sandbox's choice.
    fn sync_line_items(&self, order_id: &str) {
        let packages = self.shipments(order_id);
        let mut st = self.state.lock();
        let Some(order) = st.orders.get_mut(order_id) else {
            return;
        };
        let Some(lines) = order["line_items"].as_array_mut() else {
            return;
        };
        for line in lines {
            let id = text(line, "id").to_string();
            let Some(p) = packages
                .iter()
                .find(|p| p.order_line_item_ids.contains(&id))
            else {
                continue;
            };
            line["package_id"] = json!(p.package_id);
            line["package_status"] = json!(if p.shipped {
                "FULFILLING"
            } else {
                "PROCESSING"
            });
            line["tracking_number"] = json!(p.tracking_number.clone().unwrap_or_default());
        }
    }

    /// The packages of an order, oldest first, with their lines and tracking.
    pub fn shipments(&self, order_id: &str) -> Vec<SandboxPackage> {
        self.fulfillment
            .lock()
            .packages
            .values()
            .filter(|p| p.order_id == order_id)
            .cloned()
            .collect()
    }

    pub fn package(&self, package_id: &str) -> Option<SandboxPackage> {
        self.fulfillment.lock().packages.get(package_id).cloned()
    }

    /// Stores a cancellation in the Search Cancellations shape (`cancel_id` and `order_id`
    /// required); missing `cancel_status`, `cancel_type` and times get defaults.
    pub fn add_cancellation(&self, mut cancellation: Value) -> Option<String> {
        let id = text(&cancellation, "cancel_id").to_string();
        if id.is_empty() || text(&cancellation, "order_id").is_empty() {
            return None;
        }
        let obj = cancellation.as_object_mut()?;
        obj.entry("cancel_type").or_insert(json!("BUYER_CANCEL"));
        obj.entry("cancel_status")
            .or_insert(json!("CANCELLATION_REQUEST_COMPLETE"));
        obj.entry("cancel_line_items").or_insert(json!([]));
        obj.entry("create_time").or_insert(json!(now_unix()));
        obj.insert("update_time".into(), json!(now_unix()));
        self.fulfillment
            .lock()
            .cancellations
            .insert(id.clone(), cancellation);
        Some(id)
    }

    /// Stores a return in the Search Returns shape (`return_id` and `order_id` required).
    pub fn add_return(&self, mut ret: Value) -> Option<String> {
        let id = text(&ret, "return_id").to_string();
        if id.is_empty() || text(&ret, "order_id").is_empty() {
            return None;
        }
        let obj = ret.as_object_mut()?;
        obj.entry("return_type")
            .or_insert(json!("RETURN_AND_REFUND"));
        obj.entry("return_status")
            .or_insert(json!("RETURN_OR_REFUND_REQUEST_PENDING"));
        obj.entry("return_line_items").or_insert(json!([]));
        obj.entry("create_time").or_insert(json!(now_unix()));
        obj.insert("update_time".into(), json!(now_unix()));
        self.fulfillment.lock().returns.insert(id.clone(), ret);
        Some(id)
    }

    /// Moves a stored return to `status` (e.g. through `RETURN_OR_REFUND_REQUEST_COMPLETE`).
    pub fn set_return_status(&self, return_id: &str, status: &str) -> bool {
        let mut f = self.fulfillment.lock();
        let Some(r) = f.returns.get_mut(return_id) else {
            return false;
        };
        r["return_status"] = json!(status);
        r["update_time"] = json!(now_unix());
        true
    }

    /// The newest cancellation of an order (what a topic 11 webhook announces).
    pub fn latest_cancellation(&self, order_id: &str) -> Option<Value> {
        self.fulfillment
            .lock()
            .cancellations
            .values()
            .filter(|c| text(c, "order_id") == order_id)
            .max_by_key(|c| c["update_time"].as_i64().unwrap_or(0))
            .cloned()
    }

    /// The newest return of an order (what a topic 12 webhook announces).
    pub fn latest_return(&self, order_id: &str) -> Option<Value> {
        self.fulfillment
            .lock()
            .returns
            .values()
            .filter(|r| text(r, "order_id") == order_id)
            .max_by_key(|r| r["update_time"].as_i64().unwrap_or(0))
            .cloned()
    }

    /// Every return of an order (what a statement settles refunds from).
    pub(super) fn returns_of(&self, order_id: &str) -> Vec<Value> {
        let f = self.fulfillment.lock();
        f.returns
            .values()
            .filter(|r| text(r, "order_id") == order_id)
            .cloned()
            .collect()
    }

    pub fn return_order(&self, return_id: &str) -> Option<Value> {
        self.fulfillment.lock().returns.get(return_id).cloned()
    }

    /// TikTok's own warehouse ships a Fulfilled-by-TikTok order: one shipped package with
    /// every line not yet in a package, its tracking on those line items, the order in
    /// transit. Returns the package id; `None` for an unknown or seller-fulfilled order.
    pub fn ship_by_tiktok(&self, order_id: &str, tracking_number: &str) -> Option<String> {
        let order = self.order(order_id)?;
        if text(&order, "fulfillment_type") != "FULFILLMENT_BY_TIKTOK" {
            return None;
        }
        let id = {
            let mut f = self.fulfillment.lock();
            let packed: Vec<String> = f
                .packages
                .values()
                .filter(|p| p.order_id == order_id)
                .flat_map(|p| p.order_line_item_ids.clone())
                .collect();
            let lines: Vec<String> = order["line_items"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|l| text(l, "id").to_string())
                        .filter(|l| !packed.contains(l))
                        .collect()
                })
                .unwrap_or_default();
            if lines.is_empty() {
                return None;
            }
            let id = Self::allocate_package_id(&mut f);
            f.packages.insert(
                id.clone(),
                SandboxPackage {
                    package_id: id.clone(),
                    order_id: order_id.to_string(),
                    order_line_item_ids: lines,
                    tracking_number: Some(tracking_number.to_string()),
                    shipping_provider_id: None,
                    shipped: true,
                    tracking_updates: 1,
                },
            );
            id
        };
        {
            let mut st = self.state.lock();
            if let Some(order) = st.orders.get_mut(order_id) {
                if let Some(items) = order["line_items"].as_array_mut() {
                    for item in items.iter_mut() {
                        if item["package_id"].is_null() || text(item, "tracking_number").is_empty()
                        {
                            item["package_id"] = json!(id);
                            item["tracking_number"] = json!(tracking_number);
                            item["package_status"] = json!("SHIPPED");
                        }
                    }
                }
            }
        }
        self.attach_package(order_id, &id);
        self.settle_order_status(order_id);
        Some(id)
    }

    fn allocate_package_id(f: &mut FulfillmentState) -> String {
        f.next_package += 1;
        // Package ids are long numbers like order ids, so the client's id checks hold.
        format!("11529215046{:08}", f.next_package)
    }

    fn attach_package(&self, order_id: &str, package_id: &str) {
        let mut st = self.state.lock();
        if let Some(order) = st.orders.get_mut(order_id) {
            match order["packages"].as_array_mut() {
                Some(list) => list.push(json!({ "id": package_id })),
                None => order["packages"] = json!([{ "id": package_id }]),
            }
        }
    }

    /// After a ship: every line in a shipped package → `IN_TRANSIT`, else partially shipping.
    fn settle_order_status(&self, order_id: &str) {
        let Some(order) = self.order(order_id) else {
            return;
        };
        let shipped: Vec<String> = self
            .shipments(order_id)
            .into_iter()
            .filter(|p| p.shipped)
            .flat_map(|p| p.order_line_item_ids)
            .collect();
        let lines: Vec<String> = order["line_items"]
            .as_array()
            .map(|a| a.iter().map(|l| text(l, "id").to_string()).collect())
            .unwrap_or_default();
        let all = !lines.is_empty() && lines.iter().all(|l| shipped.contains(l));
        let status = if all {
            "IN_TRANSIT"
        } else {
            "PARTIALLY_SHIPPING"
        };
        self.set_status(order_id, status);
    }

    /// Tracking must name a carrier the order's delivery option offers.
    fn check_tracking(&self, order: &Value, body: &Value) -> Result<(String, String), Reject> {
        let tracking = text(body, "tracking_number").trim().to_string();
        let provider = text(body, "shipping_provider_id").to_string();
        let option = text(order, "delivery_option_id");
        let known = self
            .shipping_providers_for(option)
            .iter()
            .any(|(id, _)| *id == provider);
        if tracking.is_empty() || !known {
            return Err(Box::new(refuse(
                CODE_BAD_TRACKING_OR_PROVIDER,
                "The tracking number or shipping provider is invalid",
            )));
        }
        Ok((tracking, provider))
    }
}

/// Only seller-fulfilled orders that are paid, not on hold and not cancelled can ship.
fn shippable(order: &Value) -> Result<(), Reject> {
    // TikTok ships FBT orders itself; a merchant fulfillment call for one is refused.
    if text(order, "fulfillment_type") == "FULFILLMENT_BY_TIKTOK" {
        return Err(Box::new(refuse(
            CODE_ORDER_NOT_SHIPPABLE,
            "The order is fulfilled by TikTok and cannot be shipped by the seller",
        )));
    }
    // `shipping_type` TIKTOK: the package travels on TikTok's label, whose tracking TikTok
    // issues (reference §6: "TIKTOK (label) or SELLER (own carrier)"); seller tracking
    // (`self_shipment`, Mark Package As Shipped) is for SELLER shipping. The reference names
    // no error code for this case: the sandbox answers with its not-shippable code.
    if text(order, "shipping_type") == "TIKTOK" {
        return Err(Box::new(refuse(
            CODE_ORDER_NOT_SHIPPABLE,
            "The order ships with a TikTok shipping label; seller tracking is not accepted",
        )));
    }
    match text(order, "status") {
        "AWAITING_SHIPMENT" | "PARTIALLY_SHIPPING" | "AWAITING_COLLECTION" => Ok(()),
        other => Err(Box::new(refuse(
            CODE_ORDER_NOT_SHIPPABLE,
            &format!("The order cannot be shipped in status {other}"),
        ))),
    }
}

fn mark_package_shipped_inner(sb: &Sb, order_id: String, body: &[u8]) -> (i64, Response) {
    let body = body.to_vec();
    let req = match body_object(&body) {
        Ok(v) => v,
        Err(r) => return (-1, *r),
    };
    let Some(order) = sb.order(&order_id) else {
        return (
            CODE_ORDER_NOT_FOUND,
            refuse(CODE_ORDER_NOT_FOUND, "The order does not exist"),
        );
    };
    if let Err(r) = shippable(&order) {
        return (-1, *r);
    }
    let (tracking, provider) = match sb.check_tracking(&order, &req) {
        Ok(t) => t,
        Err(r) => return (-1, *r),
    };
    let wanted = str_list(&req, "order_line_item_ids");
    if wanted.is_empty() {
        return (-1, bad_param("param order_line_item_ids is missing"));
    }
    let order_lines: Vec<&str> = order["line_items"]
        .as_array()
        .map(|a| a.iter().map(|l| text(l, "id")).collect())
        .unwrap_or_default();
    let package_id = {
        let mut f = sb.fulfillment.lock();
        let taken = |line: &str| {
            f.packages
                .values()
                .any(|p| p.order_id == order_id && p.order_line_item_ids.iter().any(|l| l == line))
        };
        if let Some(bad) = wanted
            .iter()
            .find(|l| !order_lines.contains(&l.as_str()) || taken(l))
        {
            return (
                CODE_BAD_LINE_ITEMS,
                refuse(
                    CODE_BAD_LINE_ITEMS,
                    &format!("The order line item {bad} does not exist or is already in a package"),
                ),
            );
        }
        let id = TikTokSandbox::allocate_package_id(&mut f);
        f.packages.insert(
            id.clone(),
            SandboxPackage {
                package_id: id.clone(),
                order_id: order_id.clone(),
                order_line_item_ids: wanted,
                tracking_number: Some(tracking),
                shipping_provider_id: Some(provider),
                shipped: true,
                tracking_updates: 1,
            },
        );
        id
    };
    sb.attach_package(&order_id, &package_id);
    sb.sync_line_items(&order_id);
    sb.settle_order_status(&order_id);
    (
        0,
        success(json!({ "package_id": package_id, "warning": null })),
    )
}

fn ship_package_inner(sb: &Sb, package_id: String, body: &[u8]) -> (i64, Response) {
    let body = body.to_vec();
    let req = match body_object(&body) {
        Ok(v) => v,
        Err(r) => return (-1, *r),
    };
    let Some(package) = sb.package(&package_id) else {
        return (
            CODE_PACKAGE_NOT_FOUND,
            refuse(CODE_PACKAGE_NOT_FOUND, "The package does not exist"),
        );
    };
    if package.shipped {
        return (
            CODE_ALREADY_SHIPPED,
            refuse(CODE_ALREADY_SHIPPED, "The package has already been shipped"),
        );
    }
    if let Some(m) = req.get("handover_method").and_then(Value::as_str) {
        if m != "PICKUP" && m != "DROP_OFF" {
            return (
                -1,
                bad_param("param handover_method must be PICKUP or DROP_OFF"),
            );
        }
    }
    let Some(order) = sb.order(&package.order_id) else {
        return (
            CODE_ORDER_NOT_FOUND,
            refuse(CODE_ORDER_NOT_FOUND, "The order does not exist"),
        );
    };
    if let Err(r) = shippable(&order) {
        return (-1, *r);
    }
    let (tracking, provider) = match sb.check_tracking(&order, &req["self_shipment"]) {
        Ok(t) => t,
        Err(r) => return (-1, *r),
    };
    {
        let mut f = sb.fulfillment.lock();
        let Some(p) = f.packages.get_mut(&package_id) else {
            return (
                CODE_PACKAGE_NOT_FOUND,
                refuse(CODE_PACKAGE_NOT_FOUND, "The package does not exist"),
            );
        };
        // Checked again under the lock: two concurrent ship calls must not both succeed.
        if p.shipped {
            return (
                CODE_ALREADY_SHIPPED,
                refuse(CODE_ALREADY_SHIPPED, "The package has already been shipped"),
            );
        }
        p.shipped = true;
        p.tracking_number = Some(tracking);
        p.shipping_provider_id = Some(provider);
        p.tracking_updates += 1;
    }
    sb.sync_line_items(&package.order_id);
    sb.settle_order_status(&package.order_id);
    (0, success(Value::Null))
}

fn update_shipping_info_inner(sb: &Sb, package_id: String, body: &[u8]) -> (i64, Response) {
    let body = body.to_vec();
    let req = match body_object(&body) {
        Ok(v) => v,
        Err(r) => return (-1, *r),
    };
    let Some(package) = sb.package(&package_id) else {
        return (
            CODE_PACKAGE_NOT_FOUND,
            refuse(CODE_PACKAGE_NOT_FOUND, "The package does not exist"),
        );
    };
    if !package.shipped {
        return (
            CODE_ORDER_NOT_SHIPPABLE,
            refuse(
                CODE_ORDER_NOT_SHIPPABLE,
                "The package has not been shipped; ship it first",
            ),
        );
    }
    let Some(order) = sb.order(&package.order_id) else {
        return (
            CODE_ORDER_NOT_FOUND,
            refuse(CODE_ORDER_NOT_FOUND, "The order does not exist"),
        );
    };
    let (tracking, provider) = match sb.check_tracking(&order, &req) {
        Ok(t) => t,
        Err(r) => return (-1, *r),
    };
    if let Some(p) = sb.fulfillment.lock().packages.get_mut(&package_id) {
        p.tracking_number = Some(tracking);
        p.shipping_provider_id = Some(provider);
        p.tracking_updates += 1;
    }
    sb.sync_line_items(&package.order_id);
    (0, success(Value::Null))
}

/// Logs a ship call with what its body carried and how it was answered.
fn log_call(
    sb: &Sb,
    endpoint: &str,
    order_id: &str,
    package_id: Option<&str>,
    body: &[u8],
    code: i64,
) {
    let req = body_object(body).unwrap_or_default();
    let fields = if endpoint == "ship_package" {
        req.get("self_shipment").cloned().unwrap_or_default()
    } else {
        req.clone()
    };
    sb.log_ship_call(ShipCall {
        endpoint: endpoint.to_string(),
        order_id: order_id.to_string(),
        package_id: package_id.map(str::to_string),
        order_line_item_ids: str_list(&req, "order_line_item_ids"),
        tracking_number: text(&fields, "tracking_number").to_string(),
        shipping_provider_id: text(&fields, "shipping_provider_id").to_string(),
        code,
    });
}

async fn mark_package_shipped(
    State(sb): State<Sb>,
    Path(order_id): Path<String>,
    Admitted { body, .. }: Admitted,
) -> Response {
    let (code, resp) = mark_package_shipped_inner(&sb, order_id.clone(), &body);
    log_call(&sb, "mark_package_shipped", &order_id, None, &body, code);
    resp
}

async fn ship_package(
    State(sb): State<Sb>,
    Path(package_id): Path<String>,
    Admitted { body, .. }: Admitted,
) -> Response {
    let (code, resp) = ship_package_inner(&sb, package_id.clone(), &body);
    let order_id = sb
        .package(&package_id)
        .map(|p| p.order_id)
        .unwrap_or_default();
    log_call(
        &sb,
        "ship_package",
        &order_id,
        Some(&package_id),
        &body,
        code,
    );
    resp
}

async fn update_shipping_info(
    State(sb): State<Sb>,
    Path(package_id): Path<String>,
    Admitted { body, .. }: Admitted,
) -> Response {
    let (code, resp) = update_shipping_info_inner(&sb, package_id.clone(), &body);
    let order_id = sb
        .package(&package_id)
        .map(|p| p.order_id)
        .unwrap_or_default();
    log_call(
        &sb,
        "update_shipping_info",
        &order_id,
        Some(&package_id),
        &body,
        code,
    );
    resp
}

async fn shipping_providers(
    State(sb): State<Sb>,
    Path(delivery_option_id): Path<String>,
    _: Admitted,
) -> Response {
    let providers: Vec<Value> = sb
        .shipping_providers_for(&delivery_option_id)
        .into_iter()
        .map(|(id, name)| json!({ "id": id, "name": name }))
        .collect();
    success(json!({ "shipping_providers": providers }))
}

/// Offset paging over a filtered list; the token is the next offset.
fn page(
    query: &[(String, String)],
    range: std::ops::RangeInclusive<usize>,
    mut matching: Vec<Value>,
) -> Result<(Vec<Value>, String, usize), Reject> {
    let size = match param(query, "page_size").map(str::parse::<usize>) {
        Some(Ok(n)) if range.contains(&n) => n,
        _ => {
            return Err(Box::new(bad_param(&format!(
                "param page_size is required and must be between {} and {}",
                range.start(),
                range.end()
            ))))
        }
    };
    let start = match param(query, "page_token").filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match t.parse::<usize>() {
            Ok(n) => n,
            Err(_) => return Err(Box::new(bad_param("param page_token is invalid"))),
        },
    };
    let total = matching.len();
    let items: Vec<Value> = matching.drain(..).skip(start).take(size).collect();
    let next = if start + items.len() < total {
        (start + items.len()).to_string()
    } else {
        String::new()
    };
    Ok((items, next, total))
}

/// A record passes a list filter when the filter is empty or names its value.
fn passes(record: &Value, key: &str, filter: &[String]) -> bool {
    filter.is_empty() || filter.iter().any(|f| f == text(record, key))
}

async fn search_cancellations(
    State(sb): State<Sb>,
    Admitted { query, body }: Admitted,
) -> Response {
    let filters = match body_object(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let ids = str_list(&filters, "cancel_ids");
    let orders = str_list(&filters, "order_ids");
    let types = str_list(&filters, "cancel_types");
    let status = filters.get("cancel_status").and_then(Value::as_str);
    let matching: Vec<Value> = sb
        .fulfillment
        .lock()
        .cancellations
        .values()
        .filter(|c| passes(c, "cancel_id", &ids) && passes(c, "order_id", &orders))
        .filter(|c| passes(c, "cancel_type", &types))
        .filter(|c| status.is_none_or(|s| text(c, "cancel_status") == s))
        .cloned()
        .collect();
    match page(&query, 1..=50, matching) {
        Ok((items, next, total)) => success(json!({
            "cancellations": items,
            "next_page_token": next,
            "total_count": total,
        })),
        Err(r) => *r,
    }
}

async fn search_returns(State(sb): State<Sb>, Admitted { query, body }: Admitted) -> Response {
    let filters = match body_object(&body) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let ids = str_list(&filters, "return_ids");
    let orders = str_list(&filters, "order_ids");
    let types = str_list(&filters, "return_types");
    let statuses = str_list(&filters, "return_status");
    let matching: Vec<Value> = sb
        .fulfillment
        .lock()
        .returns
        .values()
        .filter(|r| passes(r, "return_id", &ids) && passes(r, "order_id", &orders))
        .filter(|r| passes(r, "return_type", &types) && passes(r, "return_status", &statuses))
        .cloned()
        .collect();
    match page(&query, 10..=50, matching) {
        Ok((items, next, total)) => success(json!({
            "return_orders": items,
            "next_page_token": next,
            "total_count": total,
        })),
        Err(r) => *r,
    }
}

/// Control routes (no signing: sandbox only): read an order's packages and ship calls, and
/// make a package the way TikTok does before the seller ships (SEA/EMEA flow).
pub(super) fn control_routes() -> Router<Sb> {
    Router::new().route(
        "/_sandbox/tiktok/orders/{id}/packages",
        get(control_packages).post(control_add_package),
    )
}

async fn control_packages(State(sb): State<Sb>, Path(order_id): Path<String>) -> Response {
    if sb.order(&order_id).is_none() {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": "no such order" })),
        )
            .into_response();
    }
    axum::Json(json!({
        "packages": sb.shipments(&order_id),
        "ship_calls": sb.ship_calls(&order_id),
    }))
    .into_response()
}

#[derive(serde::Deserialize)]
struct NewPackage {
    order_line_item_ids: Vec<String>,
}

async fn control_add_package(
    State(sb): State<Sb>,
    Path(order_id): Path<String>,
    axum::Json(req): axum::Json<NewPackage>,
) -> Response {
    let ids: Vec<&str> = req.order_line_item_ids.iter().map(String::as_str).collect();
    match sb.add_package(&order_id, &ids) {
        Some(id) => (StatusCode::CREATED, axum::Json(json!({ "package_id": id }))).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": "no such order" })),
        )
            .into_response(),
    }
}
