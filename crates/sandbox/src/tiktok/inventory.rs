//! The sandbox's products-and-inventory side (reference §7): stock per SKU and warehouse,
//! Update Inventory with TikTok's per-SKU refusals inside a `code: 0` answer, and Inventory
//! Search. Every call passes the same gate as the order APIs (`api::admit`).

use super::api::{bad_param, success, Admitted};
use super::TikTokSandbox;
use axum::extract::State;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

type Sb = Arc<TikTokSandbox>;

const MAX_UPDATE_SKUS: usize = 100;
const MAX_SEARCH_PRODUCTS: usize = 100;
const MAX_SEARCH_SKUS: usize = 600;
const MAX_QUANTITY: i64 = 99_999;
const CODE_INCLUDE_ALL_WAREHOUSES: i64 = 12_019_028;
const CODE_NO_SUCH_WAREHOUSE: i64 = 12_052_097;
/// Not in the reference: the sandbox's own code for a SKU that is not on the product.
const CODE_SKU_NOT_ON_PRODUCT: i64 = 12_019_001;

#[derive(Debug, Clone, Default)]
struct SkuStock {
    product_id: String,
    seller_sku: String,
    /// warehouse_id → available quantity; the keys are the SKU's assigned warehouses.
    warehouses: BTreeMap<String, i64>,
}

/// Held in `TikTokSandbox::inventory`.
#[derive(Debug, Default)]
pub(super) struct InventoryState {
    skus: BTreeMap<String, SkuStock>,
    /// Update Inventory calls that passed the gate.
    updates: u64,
    /// Warehouses TikTok runs (FBT): Update Inventory may not write them.
    fbt: BTreeSet<String>,
    /// Buyer orders accepted / refused for lack of stock, and units sold.
    buyer_orders: u64,
    buyer_rejected: u64,
    units_sold: u64,
    /// sku_id → code: updates of these SKUs are refused per SKU (e.g. 12052393 promotion lock).
    refusals: BTreeMap<String, i64>,
    /// sku_id → (when, quantity) of every accepted update, for freshness figures.
    update_log: BTreeMap<String, Vec<(std::time::Instant, i64)>>,
}

/// A buyer order the sandbox refused: the SKU had fewer units listed than asked for.
#[derive(Debug, thiserror::Error)]
#[error("sold out: SKU {sku_id} lists {available}, {wanted} wanted")]
pub struct SoldOut {
    pub sku_id: String,
    pub available: i64,
    pub wanted: u32,
}

pub(super) fn routes() -> Router<Sb> {
    Router::new()
        .route(
            "/product/202309/products/{product_id}/inventory/update",
            post(update_inventory),
        )
        .route("/product/202309/inventory/search", post(search_inventory))
        .route("/_sandbox/tiktok/stock", post(control_set_stock))
        .route("/_sandbox/tiktok/buyer-orders", post(control_buyer_order))
}

#[derive(Deserialize)]
struct StockSet {
    product_id: String,
    sku_id: String,
    seller_sku: String,
    warehouse_id: String,
    quantity: i64,
}

/// `POST /_sandbox/tiktok/stock`: list a SKU in a warehouse (control API, no signature).
async fn control_set_stock(State(sb): State<Sb>, axum::Json(s): axum::Json<StockSet>) -> Response {
    sb.set_stock(
        &s.product_id,
        &s.sku_id,
        &s.seller_sku,
        &s.warehouse_id,
        s.quantity,
    );
    axum::Json(json!({ "sku_id": s.sku_id, "warehouses": sb.stock(&s.sku_id) })).into_response()
}

#[derive(Deserialize)]
struct BuyerOrder {
    order_id: String,
    sku_id: String,
    #[serde(default = "one")]
    quantity: u32,
    #[serde(default = "awaiting")]
    status: String,
}

fn one() -> u32 {
    1
}

fn awaiting() -> String {
    "AWAITING_SHIPMENT".into()
}

/// `POST /_sandbox/tiktok/buyer-orders`: a buyer checks out; 409 when sold out.
async fn control_buyer_order(
    State(sb): State<Sb>,
    axum::Json(o): axum::Json<BuyerOrder>,
) -> Response {
    match sb.place_buyer_order(&o.order_id, &o.sku_id, o.quantity, &o.status) {
        Ok(id) => (
            axum::http::StatusCode::CREATED,
            axum::Json(json!({ "order_id": id })),
        )
            .into_response(),
        Err(e) => (
            axum::http::StatusCode::CONFLICT,
            axum::Json(json!({ "error": e.to_string() })),
        )
            .into_response(),
    }
}

impl TikTokSandbox {
    /// Sets one warehouse's stock of a SKU, assigning the warehouse to the SKU (and the SKU to
    /// the product) if it was not yet.
    pub fn set_stock(
        &self,
        product_id: &str,
        sku_id: &str,
        seller_sku: &str,
        warehouse_id: &str,
        quantity: i64,
    ) {
        let mut inv = self.inventory.lock();
        let sku = inv.skus.entry(sku_id.to_string()).or_default();
        sku.product_id = product_id.to_string();
        sku.seller_sku = seller_sku.to_string();
        sku.warehouses.insert(warehouse_id.to_string(), quantity);
    }

    /// warehouse_id → available quantity, or `None` for an unknown SKU.
    pub fn stock(&self, sku_id: &str) -> Option<BTreeMap<String, i64>> {
        self.inventory
            .lock()
            .skus
            .get(sku_id)
            .map(|s| s.warehouses.clone())
    }

    /// Update Inventory calls that reached the handler (after the signature/token/QPS gate).
    pub fn inventory_updates(&self) -> u64 {
        self.inventory.lock().updates
    }

    /// Refuse updates of a SKU with `code` inside a `code: 0` answer (`None` lifts it), as
    /// TikTok does for a SKU in a promotion (12052393) or with shared inventory (12052921).
    pub fn refuse_sku_updates(&self, sku_id: &str, code: Option<i64>) {
        let mut inv = self.inventory.lock();
        match code {
            Some(c) => inv.refusals.insert(sku_id.to_string(), c),
            None => inv.refusals.remove(sku_id),
        };
    }

    /// Marks a warehouse as run by TikTok (FBT): updates naming it are refused per SKU.
    pub fn set_fbt_warehouse(&self, warehouse_id: &str) {
        self.inventory.lock().fbt.insert(warehouse_id.to_string());
    }

    /// (orders accepted, orders refused as sold out, units sold) by `place_buyer_order`.
    pub fn buyer_stats(&self) -> (u64, u64, u64) {
        let inv = self.inventory.lock();
        (inv.buyer_orders, inv.buyer_rejected, inv.units_sold)
    }

    /// Accepted updates of a SKU: when, and the total quantity it then listed.
    pub fn update_log(&self, sku_id: &str) -> Vec<(std::time::Instant, i64)> {
        self.inventory
            .lock()
            .update_log
            .get(sku_id)
            .cloned()
            .unwrap_or_default()
    }

    /// A buyer checks out `quantity` units of a SKU, as the TikTok storefront would: refused
    /// when fewer are listed (the shop never sells what it does not list), otherwise the
    /// listed stock falls, taken from the warehouses in order, and the order is stored with
    /// `status` (UNPAID, AWAITING_SHIPMENT, ...). Returns the order id.
    pub fn place_buyer_order(
        &self,
        order_id: &str,
        sku_id: &str,
        quantity: u32,
        status: &str,
    ) -> Result<String, SoldOut> {
        let (line, warehouse) = {
            let mut inv = self.inventory.lock();
            let Some(sku) = inv.skus.get_mut(sku_id) else {
                inv.buyer_rejected += 1;
                return Err(SoldOut {
                    sku_id: sku_id.to_string(),
                    available: 0,
                    wanted: quantity,
                });
            };
            let available: i64 = sku.warehouses.values().map(|q| (*q).max(0)).sum();
            if available < i64::from(quantity) {
                inv.buyer_rejected += 1;
                return Err(SoldOut {
                    sku_id: sku_id.to_string(),
                    available,
                    wanted: quantity,
                });
            }
            let mut left = i64::from(quantity);
            let mut warehouse = String::new();
            for (wh, q) in sku.warehouses.iter_mut() {
                let take = left.min((*q).max(0));
                if take > 0 && warehouse.is_empty() {
                    warehouse = wh.clone();
                }
                *q -= take;
                left -= take;
            }
            let mut line = super::fixtures::SampleLine::new(
                &sku.seller_sku,
                rust_decimal::Decimal::new(1999, 2),
                quantity,
            );
            line.sku_id = sku_id.to_string();
            line.product_id = sku.product_id.clone();
            inv.buyer_orders += 1;
            inv.units_sold += u64::from(quantity);
            (line, warehouse)
        };
        let opts = super::fixtures::SampleOrderOptions {
            warehouse_id: warehouse,
            ..super::fixtures::SampleOrderOptions::default()
        };
        let order = super::fixtures::sample_order_with(order_id, status, &[line], &opts);
        // A well-formed fixture always has an id and a status.
        Ok(self
            .insert_order(order)
            .unwrap_or_else(|_| order_id.to_string()))
    }
}

#[derive(Deserialize)]
struct WireWarehouse {
    #[serde(default)]
    warehouse_id: Option<String>,
    quantity: i64,
}

#[derive(Deserialize)]
struct WireSku {
    id: String,
    #[serde(default)]
    inventory: Vec<WireWarehouse>,
}

#[derive(Deserialize)]
struct UpdateBody {
    skus: Vec<WireSku>,
}

fn sku_error(sku_id: &str, code: i64, message: &str, extra: Vec<Value>) -> Value {
    json!({
        "code": code,
        "message": message,
        "detail": {"sku_id": sku_id, "extra_errors": extra},
    })
}

fn warehouse_error(warehouse_id: &str, code: i64, message: &str) -> Value {
    json!({"warehouse_id": warehouse_id, "code": code, "message": message})
}

/// The new per-warehouse quantities for one SKU, or its `data.errors[]` entry.
/// Not in the reference (writing FBT stock is "presumably impossible", UNCONFIRMED): the
/// sandbox refuses it per SKU with its own code, so a bridge that tries is caught.
const CODE_FBT_WAREHOUSE: i64 = 12_019_099;

fn check_sku(
    stock: Option<&SkuStock>,
    fbt: &BTreeSet<String>,
    product_id: &str,
    sku: &WireSku,
) -> Result<Vec<(String, i64)>, Value> {
    let Some(stock) = stock.filter(|s| s.product_id == product_id) else {
        return Err(sku_error(
            &sku.id,
            CODE_SKU_NOT_ON_PRODUCT,
            "The SKU does not belong to this product",
            Vec::new(),
        ));
    };
    let assigned: BTreeSet<&String> = stock.warehouses.keys().collect();
    let mut out = Vec::new();
    let mut extra = Vec::new();
    for wh in &sku.inventory {
        // `warehouse_id` may be left out only when the SKU has exactly one warehouse.
        let id = match (&wh.warehouse_id, assigned.len()) {
            (Some(id), _) if !id.is_empty() => id.clone(),
            (_, 1) => assigned
                .iter()
                .next()
                .map(|s| s.to_string())
                .unwrap_or_default(),
            _ => {
                extra.push(warehouse_error(
                    "",
                    CODE_INCLUDE_ALL_WAREHOUSES,
                    "warehouse_id is required when the SKU has several warehouses",
                ));
                continue;
            }
        };
        if fbt.contains(&id) {
            extra.push(warehouse_error(
                &id,
                CODE_FBT_WAREHOUSE,
                "The warehouse is fulfilled by TikTok; its inventory cannot be edited",
            ));
            continue;
        }
        if !assigned.contains(&id) {
            extra.push(warehouse_error(
                &id,
                CODE_NO_SUCH_WAREHOUSE,
                "The warehouse does not exist or is not assigned to this SKU",
            ));
            continue;
        }
        if !(0..=MAX_QUANTITY).contains(&wh.quantity) {
            return Err(sku_error(
                &sku.id,
                36_009_004,
                &format!("quantity must be between 0 and {MAX_QUANTITY}"),
                Vec::new(),
            ));
        }
        out.push((id, wh.quantity));
    }
    if let Some(first) = extra.first() {
        let code = first["code"].as_i64().unwrap_or(CODE_NO_SUCH_WAREHOUSE);
        return Err(sku_error(
            &sku.id,
            code,
            "Some warehouses of the SKU are invalid",
            extra,
        ));
    }
    let sent: BTreeSet<&String> = out.iter().map(|(w, _)| w).collect();
    if sent != assigned {
        let missing = assigned
            .difference(&sent)
            .map(|w| {
                warehouse_error(
                    w,
                    CODE_INCLUDE_ALL_WAREHOUSES,
                    "warehouse missing from the update",
                )
            })
            .collect();
        return Err(sku_error(
            &sku.id,
            CODE_INCLUDE_ALL_WAREHOUSES,
            "Please include all warehouses of the SKU in the update",
            missing,
        ));
    }
    Ok(out)
}

async fn update_inventory(
    State(sb): State<Sb>,
    uri: Uri,
    Admitted { body, .. }: Admitted,
) -> Response {
    // The product id is the path segment before `/inventory/update`.
    let product_id = uri
        .path()
        .trim_end_matches("/inventory/update")
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let Ok(req) = serde_json::from_slice::<UpdateBody>(&body) else {
        return bad_param("body must be {\"skus\":[{\"id\",\"inventory\":[...]}]}");
    };
    if req.skus.is_empty() || req.skus.len() > MAX_UPDATE_SKUS {
        return bad_param("skus must list between 1 and 100 SKUs");
    }
    let mut inv = sb.inventory.lock();
    inv.updates += 1;
    let mut errors = Vec::new();
    for sku in &req.skus {
        if let Some(code) = inv.refusals.get(&sku.id).copied() {
            errors.push(sku_error(
                &sku.id,
                code,
                "The SKU cannot be edited now",
                Vec::new(),
            ));
            continue;
        }
        match check_sku(inv.skus.get(&sku.id), &inv.fbt, &product_id, sku) {
            Ok(quantities) => {
                let mut total = None;
                if let Some(stock) = inv.skus.get_mut(&sku.id) {
                    for (wh, q) in quantities {
                        stock.warehouses.insert(wh, q);
                    }
                    total = Some(stock.warehouses.values().sum::<i64>());
                }
                if let Some(total) = total {
                    inv.update_log
                        .entry(sku.id.clone())
                        .or_default()
                        .push((std::time::Instant::now(), total));
                }
            }
            Err(e) => errors.push(e),
        }
    }
    // Partial failure is still `code: 0`; only `data.errors` tells (reference §7).
    if errors.is_empty() {
        success(json!({}))
    } else {
        success(json!({ "errors": errors }))
    }
}

#[derive(Deserialize, Default)]
struct SearchBody {
    #[serde(default)]
    product_ids: Vec<String>,
    #[serde(default)]
    sku_ids: Vec<String>,
}

async fn search_inventory(State(sb): State<Sb>, Admitted { body, .. }: Admitted) -> Response {
    let Ok(req) = serde_json::from_slice::<SearchBody>(&body) else {
        return bad_param("body must be {\"product_ids\":[...],\"sku_ids\":[...]}");
    };
    if req.product_ids.is_empty() && req.sku_ids.is_empty() {
        return bad_param("product_ids or sku_ids is required");
    }
    if req.product_ids.len() > MAX_SEARCH_PRODUCTS || req.sku_ids.len() > MAX_SEARCH_SKUS {
        return bad_param("at most 100 product_ids and 600 sku_ids");
    }
    let inv = sb.inventory.lock();
    let mut products: BTreeMap<&str, Vec<Value>> = BTreeMap::new();
    for (sku_id, s) in &inv.skus {
        let wanted =
            req.product_ids.contains(&s.product_id) || req.sku_ids.iter().any(|id| id == sku_id);
        if !wanted {
            continue;
        }
        let warehouses: Vec<Value> = s
            .warehouses
            .iter()
            .map(|(wh, q)| json!({"warehouse_id": wh, "available_quantity": q, "committed_quantity": 0}))
            .collect();
        products
            .entry(s.product_id.as_str())
            .or_default()
            .push(json!({
                "id": sku_id,
                "seller_sku": s.seller_sku,
                "total_available_quantity": s.warehouses.values().sum::<i64>(),
                "total_committed_quantity": 0,
                "warehouse_inventory": warehouses,
            }));
    }
    let inventory: Vec<Value> = products
        .into_iter()
        .map(|(p, skus)| json!({"product_id": p, "skus": skus}))
        .collect();
    success(json!({ "inventory": inventory }))
}
