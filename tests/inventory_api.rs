//! The real TikTok and NetSuite clients against the sandbox over HTTP: Update Inventory
//! (all warehouses, and the per-SKU refusal TikTok returns with `code: 0`), Inventory Search,
//! and the paged SuiteQL stock read.

#[allow(dead_code)]
#[path = "common/sandbox_link.rs"]
mod sandbox_link;
use sandbox_link::NetSuiteClientConfig as _;
use sandbox_link::TikTokClientConfig as _;

use bridge::netsuite::NetSuiteClient;
use bridge::state::sqlite::SqliteState;
use bridge::tiktok::client::TikTokClient;
use bridge::tiktok::inventory::{
    SkuInventory, WarehouseQuantity, CODE_MISSING_WAREHOUSE, CODE_UNKNOWN_WAREHOUSE,
};
use rust_decimal::Decimal;
use sandbox::SandboxHandle;
use sandbox_link::{spawn_sandbox, tiktok_client, SandboxAuthMode};
use std::collections::BTreeMap;
use std::sync::Arc;

const PRODUCT: &str = "1729592969712200001";
const SKU: &str = "1729592969712207013";
const SKU2: &str = "1729592969712207014";
const WH1: &str = "7068517275539719942";
const WH2: &str = "7068517275539719943";

fn sku(id: &str, q: &[(&str, u32)]) -> SkuInventory {
    SkuInventory {
        id: id.into(),
        inventory: q
            .iter()
            .map(|(w, n)| WarehouseQuantity {
                warehouse_id: w.to_string(),
                quantity: *n,
            })
            .collect(),
    }
}

fn seed(sb: &SandboxHandle) {
    sb.tiktok.set_stock(PRODUCT, SKU, "TSHIRT-BLK-M", WH1, 10);
    sb.tiktok.set_stock(PRODUCT, SKU, "TSHIRT-BLK-M", WH2, 4);
    sb.tiktok.set_stock(PRODUCT, SKU2, "TSHIRT-BLK-L", WH1, 3);
}

#[tokio::test]
async fn update_with_every_warehouse_sets_the_stock() {
    let sb = spawn_sandbox().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tt = tiktok_client(&sb, dir.path()).await;
    seed(&sb);
    let res = tt
        .update_inventory(
            PRODUCT,
            &[sku(SKU, &[(WH1, 7), (WH2, 0)]), sku(SKU2, &[(WH1, 2)])],
        )
        .await
        .expect("accepted");
    assert!(res.all_applied(), "{res:?}");
    assert_eq!(
        sb.tiktok.stock(SKU),
        Some(BTreeMap::from([(WH1.to_string(), 7), (WH2.to_string(), 0)]))
    );
    assert_eq!(
        sb.tiktok.stock(SKU2),
        Some(BTreeMap::from([(WH1.to_string(), 2)]))
    );
    assert_eq!(sb.tiktok.inventory_updates(), 1);
}

#[tokio::test]
async fn a_missing_warehouse_is_a_per_sku_error_inside_code_zero() {
    let sb = spawn_sandbox().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tt = tiktok_client(&sb, dir.path()).await;
    seed(&sb);
    // SKU omits WH2; SKU2 is fine and must still be applied.
    let res = tt
        .update_inventory(PRODUCT, &[sku(SKU, &[(WH1, 1)]), sku(SKU2, &[(WH1, 9)])])
        .await
        .expect("code 0 is Ok even with per-SKU errors");
    assert_eq!(res.errors.len(), 1);
    let err = res.error_for(SKU).expect("SKU refused");
    assert_eq!(err.code, CODE_MISSING_WAREHOUSE);
    assert_eq!(err.detail.extra_errors[0].warehouse_id, WH2);
    assert!(res.error_for(SKU2).is_none());
    assert_eq!(sb.tiktok.stock(SKU).map(|s| s[WH1]), Some(10), "unchanged");
    assert_eq!(sb.tiktok.stock(SKU2).map(|s| s[WH1]), Some(9));

    let res = tt
        .update_inventory(PRODUCT, &[sku(SKU2, &[(WH1, 1), ("999", 1)])])
        .await
        .expect("accepted");
    assert_eq!(
        res.error_for(SKU2).map(|e| e.code),
        Some(CODE_UNKNOWN_WAREHOUSE)
    );
    assert_eq!(sb.tiktok.inventory_updates(), 2);
    assert_eq!(
        tt.calls("/product/202309/products/{id}/inventory/update"),
        2
    );
}

#[tokio::test]
async fn search_returns_stock_per_warehouse() {
    let sb = spawn_sandbox().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let tt = tiktok_client(&sb, dir.path()).await;
    seed(&sb);
    sb.tiktok.set_stock(
        "1729592969712200002",
        "1729592969712209999",
        "CAP-RED",
        WH1,
        50,
    );

    let found = tt
        .inventory_search(&[PRODUCT.to_string()], &[])
        .await
        .expect("search");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].product_id, PRODUCT);
    let s = found[0]
        .skus
        .iter()
        .find(|s| s.id == SKU)
        .expect("sku listed");
    assert_eq!(s.seller_sku, "TSHIRT-BLK-M");
    assert_eq!(s.total_available_quantity, 14);
    assert_eq!(s.warehouse_inventory.len(), 2);
    assert_eq!(s.warehouse_inventory[0].warehouse_id, WH1);
    assert_eq!(s.warehouse_inventory[0].available_quantity, 10);

    let by_sku = tt
        .inventory_search(&[], &["1729592969712209999".to_string()])
        .await
        .expect("search");
    assert_eq!(by_sku.len(), 1);
    assert_eq!(by_sku[0].skus[0].total_available_quantity, 50);
    assert!(tt.inventory_search(&[], &[]).await.is_err());
}

#[tokio::test]
async fn suiteql_stock_read_pages_and_keeps_to_the_mapped_locations() {
    let sb = spawn_sandbox().await;
    let ns = NetSuiteClient::new(sb.netsuite.client_config(SandboxAuthMode::OAuth2, 2))
        .expect("client builds");
    let locations: Vec<String> = (1..=6).map(|l| l.to_string()).collect();
    let mut items = Vec::new();
    for n in 0..250 {
        let id = sb.netsuite.add_item(&format!("STOCK-{n:03}"));
        for l in &locations {
            assert!(sb.netsuite.set_stock(&id, l, n as i64));
        }
        // Location 7 is not mapped to the shop; its stock must not be read.
        assert!(sb.netsuite.set_stock(&id, "7", 1000));
        items.push(id);
    }
    sb.netsuite.set_stock(&items[0], "1", Decimal::new(25, 1));
    let before = sb.netsuite.requests_by("POST", "suiteql");

    let rows = ns.stock_for_items(&items, &locations).await.expect("stock");
    // 200 items × 6 locations = 1,200 rows (two pages), then 50 × 6 = 300 (one page).
    assert_eq!(rows.len(), 250 * 6);
    assert_eq!(sb.netsuite.requests_by("POST", "suiteql") - before, 3);
    assert!(rows.iter().all(|r| r.location_id != "7"));
    assert_eq!(rows[0].item_id, items[0]);
    assert_eq!(rows[0].sku, "STOCK-000");
    assert_eq!(rows[0].available, Decimal::new(25, 1));
    let last = rows.last().expect("rows");
    assert_eq!(
        (last.sku.as_str(), last.location_id.as_str()),
        ("STOCK-249", "6")
    );
    assert_eq!(last.available, Decimal::from(249));
    // Rows arrive ordered by (item, location) with no page overlap.
    let mut keys: Vec<(u64, u64)> = rows
        .iter()
        .map(|r| {
            (
                r.item_id.parse().expect("id"),
                r.location_id.parse().expect("id"),
            )
        })
        .collect();
    let sorted = {
        let mut k = keys.clone();
        k.sort();
        k
    };
    assert_eq!(keys, sorted);
    keys.dedup();
    assert_eq!(keys.len(), 250 * 6);
}

#[tokio::test]
async fn inventory_calls_pass_the_signature_gate() {
    let sb = spawn_sandbox().await;
    let dir = tempfile::tempdir().expect("tempdir");
    seed(&sb);
    let mut cfg = sb.tiktok.config().client_config(&sb.base_url);
    cfg.app_secret = "not_the_secret".to_string().into();
    let state = SqliteState::open(dir.path()).await.expect("state opens");
    let tt = TikTokClient::new(cfg, Arc::new(state)).expect("client builds");
    let err = tt
        .update_inventory(PRODUCT, &[sku(SKU2, &[(WH1, 0)])])
        .await
        .expect_err("bad signature refused");
    assert_eq!(err.code(), Some(106_001));
    assert!(tt
        .inventory_search(&[PRODUCT.to_string()], &[])
        .await
        .is_err());
    assert_eq!(sb.tiktok.inventory_updates(), 0);
    assert_eq!(sb.tiktok.stock(SKU2).map(|s| s[WH1]), Some(3));
}
