//! The sandbox's products-and-inventory side (reference §7): stock per SKU and warehouse,
//! Update Inventory with TikTok's per-SKU refusals inside a `code: 0` answer, and Inventory
//! Search. Every call passes the same gate as the order APIs (`api::admit`).

use super::api::{bad_param, success, Admitted};
use super::TikTokSandbox;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
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
}

pub(super) fn routes() -> Router<Sb> {
    Router::new()
        .route(
            "/product/202309/products/{product_id}/inventory/update",
            post(update_inventory),
        )
        .route("/product/202309/inventory/search", post(search_inventory))
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
fn check_sku(
    stock: Option<&SkuStock>,
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
        match check_sku(inv.skus.get(&sku.id), &product_id, sku) {
            Ok(quantities) => {
                if let Some(stock) = inv.skus.get_mut(&sku.id) {
                    for (wh, q) in quantities {
                        stock.warehouses.insert(wh, q);
                    }
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
