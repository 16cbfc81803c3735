//! Update Inventory and Inventory Search (reference §7). Update Inventory can fail per SKU
//! inside a `code: 0` answer, so its result carries those errors instead of hiding them.

use super::client::{TikTokClient, TikTokError};
use crate::inventory::SkuChange;
use http::Method;
use serde::{Deserialize, Serialize};

pub const INVENTORY_SEARCH_PATH: &str = "/product/202309/inventory/search";
/// Inventory Search limits per call.
pub const MAX_SEARCH_PRODUCT_IDS: usize = 100;
pub const MAX_SEARCH_SKU_IDS: usize = 600;

/// TikTok's "list every warehouse assigned to the SKU" refusal.
pub const CODE_MISSING_WAREHOUSE: i64 = 12_019_028;
/// TikTok's "no such warehouse" refusal.
pub const CODE_UNKNOWN_WAREHOUSE: i64 = 12_052_097;

pub fn update_inventory_path(product_id: &str) -> String {
    format!("/product/202309/products/{product_id}/inventory/update")
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarehouseQuantity {
    pub warehouse_id: String,
    pub quantity: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkuInventory {
    /// TikTok's SKU id.
    pub id: String,
    pub inventory: Vec<WarehouseQuantity>,
}

impl From<&SkuChange> for SkuInventory {
    fn from(c: &SkuChange) -> Self {
        SkuInventory {
            id: c.sku_id.clone(),
            inventory: c
                .quantities
                .iter()
                .map(|(w, q)| WarehouseQuantity {
                    warehouse_id: w.clone(),
                    quantity: *q,
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct UpdateBody<'a> {
    skus: &'a [SkuInventory],
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct WarehouseError {
    #[serde(default)]
    pub warehouse_id: String,
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct SkuErrorDetail {
    #[serde(default)]
    pub sku_id: String,
    #[serde(default)]
    pub extra_errors: Vec<WarehouseError>,
}

/// One entry of `data.errors[]`: a SKU TikTok did not update although the call said `code 0`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct SkuError {
    #[serde(default)]
    pub code: i64,
    #[serde(default)]
    pub message: String,
    #[serde(default)]
    pub detail: SkuErrorDetail,
}

impl SkuError {
    pub fn sku_id(&self) -> &str {
        &self.detail.sku_id
    }
}

/// The answer to an Update Inventory call that TikTok accepted as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct UpdateInventoryResult {
    #[serde(default)]
    pub errors: Vec<SkuError>,
}

impl UpdateInventoryResult {
    /// True when every SKU was applied.
    pub fn all_applied(&self) -> bool {
        self.errors.is_empty()
    }

    /// The error for one SKU, if TikTok refused it.
    pub fn error_for(&self, sku_id: &str) -> Option<&SkuError> {
        self.errors.iter().find(|e| e.sku_id() == sku_id)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct WarehouseStock {
    #[serde(default)]
    pub warehouse_id: String,
    #[serde(default)]
    pub available_quantity: i64,
    #[serde(default)]
    pub committed_quantity: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct SkuStock {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub seller_sku: String,
    #[serde(default)]
    pub total_available_quantity: i64,
    #[serde(default)]
    pub warehouse_inventory: Vec<WarehouseStock>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct ProductStock {
    #[serde(default)]
    pub product_id: String,
    #[serde(default)]
    pub skus: Vec<SkuStock>,
}

#[derive(Debug, Default, Deserialize)]
struct SearchData {
    #[serde(default)]
    inventory: Vec<ProductStock>,
}

#[derive(Serialize)]
struct SearchBody<'a> {
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    product_ids: &'a [String],
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    sku_ids: &'a [String],
}

fn body_of<T: Serialize>(what: &str, body: &T) -> Result<Vec<u8>, TikTokError> {
    serde_json::to_vec(body).map_err(|e| TikTokError::Config(format!("{what} body: {e}")))
}

impl TikTokClient {
    /// Update Inventory for one product. `Ok` means TikTok accepted the call; SKUs it refused
    /// anyway are in `errors` and must be handled by the caller.
    pub async fn update_inventory(
        &self,
        product_id: &str,
        skus: &[SkuInventory],
    ) -> Result<UpdateInventoryResult, TikTokError> {
        if skus.is_empty() || skus.len() > crate::inventory::MAX_SKUS_PER_UPDATE {
            return Err(TikTokError::Config(format!(
                "update inventory takes 1..={} SKUs, got {}",
                crate::inventory::MAX_SKUS_PER_UPDATE,
                skus.len()
            )));
        }
        let body = body_of("update inventory", &UpdateBody { skus })?;
        self.call_api(
            Method::POST,
            &update_inventory_path(product_id),
            &[],
            Some(body),
        )
        .await
    }

    /// Inventory Search: current stock per SKU and warehouse. Either list may be empty.
    pub async fn inventory_search(
        &self,
        product_ids: &[String],
        sku_ids: &[String],
    ) -> Result<Vec<ProductStock>, TikTokError> {
        if product_ids.len() > MAX_SEARCH_PRODUCT_IDS || sku_ids.len() > MAX_SEARCH_SKU_IDS {
            return Err(TikTokError::Config(format!(
                "inventory search takes ≤{MAX_SEARCH_PRODUCT_IDS} product ids and ≤{MAX_SEARCH_SKU_IDS} sku ids"
            )));
        }
        let body = body_of(
            "inventory search",
            &SearchBody {
                product_ids,
                sku_ids,
            },
        )?;
        let data: SearchData = self
            .call_api(Method::POST, INVENTORY_SEARCH_PATH, &[], Some(body))
            .await?;
        Ok(data.inventory)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_sku_errors_decode_from_the_documented_shape() {
        let data = r#"{"errors":[{"code":12019028,"message":"include all warehouses","detail":{"sku_id":"1729592969712207013","extra_errors":[{"warehouse_id":"7068517275539719942","code":12019028,"message":"missing"}]}}]}"#;
        let r: UpdateInventoryResult = serde_json::from_str(data).unwrap();
        assert!(!r.all_applied());
        let e = r.error_for("1729592969712207013").unwrap();
        assert_eq!(e.code, CODE_MISSING_WAREHOUSE);
        assert_eq!(e.detail.extra_errors[0].warehouse_id, "7068517275539719942");
        assert!(serde_json::from_str::<UpdateInventoryResult>("{}")
            .unwrap()
            .all_applied());
    }

    #[test]
    fn update_body_matches_the_reference() {
        let skus = [SkuInventory {
            id: "1729592969712207013".into(),
            inventory: vec![WarehouseQuantity {
                warehouse_id: "7068517275539719942".into(),
                quantity: 999,
            }],
        }];
        let body = serde_json::to_string(&UpdateBody { skus: &skus }).unwrap();
        assert_eq!(
            body,
            r#"{"skus":[{"id":"1729592969712207013","inventory":[{"warehouse_id":"7068517275539719942","quantity":999}]}]}"#
        );
    }
}
