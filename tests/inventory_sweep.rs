//! Issue 11: the inventory sweep. A sale NetSuite makes that no script announces (another
//! channel's sales order, with the account's scripts silent) still reaches TikTok within one
//! `INVENTORY_SWEEP_SECS`, and the sweep touches only the items NetSuite says moved.

mod common;

use bridge::app::RunningBridge;
use common::{eventually, Harness};
use rust_decimal::Decimal;
use std::time::{Duration, Instant};

const PRODUCT: &str = "1729592969712200001";
const SKU_ID: &str = "1729592969712207013";
const SKU2_ID: &str = "1729592969712207014";
const WH: &str = "7068517275539719942";
const SKU: &str = "TSHIRT-BLK-M";
const SKU2: &str = "TSHIRT-BLK-L";
const LOC: &str = "1";
const WAIT: Duration = Duration::from_secs(30);
/// The sweep period of these tests.
const PERIOD: Duration = Duration::from_secs(2);
/// Time a marked SKU needs to be pushed (debounce, one round) on a busy test machine.
const PUSH_SLACK: Duration = Duration::from_secs(3);

fn settings(sweep_secs: &'static str) -> Vec<(&'static str, &'static str)> {
    vec![
        ("INVENTORY_LOCATIONS", LOC),
        ("NETSUITE_LOCATION_ID", LOC),
        ("INVENTORY_DEBOUNCE_MS", "100"),
        ("INVENTORY_MAX_DELAY_MS", "500"),
        ("INVENTORY_RECONCILE_SECS", "0"),
        ("INVENTORY_SWEEP_SECS", sweep_secs),
        ("INVENTORY_PRODUCT_IDS", PRODUCT),
    ]
}

fn tiktok_qty(h: &Harness, sku_id: &str) -> i64 {
    h.sandbox
        .tiktok
        .stock(sku_id)
        .and_then(|m| m.get(WH).copied())
        .unwrap_or(-1)
}

async fn reconciled(bridge: &RunningBridge, h: &Harness) {
    let shop = h.sandbox.tiktok.config().shop_id.clone();
    eventually(WAIT, "start-up reconcile", || async {
        bridge::inventory::store::load_drift(bridge.state.as_ref(), &shop)
            .await
            .ok()
            .flatten()
            .is_some()
    })
    .await;
}

/// Both SKUs at 10 on both sides, a bridge started and reconciled; no callout target, so
/// the account announces nothing.
async fn silent_account(h: &Harness, sweep_secs: &'static str) -> RunningBridge {
    for (sku, sku_id) in [(SKU, SKU_ID), (SKU2, SKU2_ID)] {
        h.sandbox.tiktok.set_stock(PRODUCT, sku_id, sku, WH, 10);
        assert!(h.sandbox.netsuite.set_stock(&h.item_id(sku), LOC, 10));
    }
    // Let that setup fall out of the first sweep's window (one period plus the overlap).
    tokio::time::sleep(PERIOD * 2).await;
    let bridge = h.start(&settings(sweep_secs)).await;
    reconciled(&bridge, h).await;
    assert_eq!(tiktok_qty(h, SKU_ID), 10);
    bridge
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sale_no_script_announced_reaches_tiktok_within_one_sweep_period() {
    let h = Harness::new().await;
    let bridge = silent_account(&h, "2").await;
    // Drift on the other SKU behind everyone's back: only a reconcile may touch it.
    h.sandbox.tiktok.set_stock(PRODUCT, SKU2_ID, SKU2, WH, 99);

    let ns = &h.sandbox.netsuite;
    let item = h.item_id(SKU);
    let sold_at = Instant::now();
    assert_eq!(ns.consume(&item, LOC, Decimal::from(3)), Decimal::from(3));
    // A real sales order committed the units; nothing was announced.
    assert_eq!(ns.committed_at(&item, LOC), Decimal::from(3));
    assert_eq!(ns.stock_at(&item, LOC), Some(Decimal::from(7)));
    assert_eq!(ns.callouts_sent(), 0, "the account stayed silent");

    eventually(
        PERIOD + PUSH_SLACK,
        "the sweep brings TikTok to 7",
        || async { tiktok_qty(&h, SKU_ID) == 7 },
    )
    .await;
    eprintln!(
        "sale → TikTok in {} ms (sweep period {} ms)",
        sold_at.elapsed().as_millis(),
        PERIOD.as_millis()
    );
    // Only what moved: the drifted SKU is left for the reconcile.
    tokio::time::sleep(PERIOD * 2).await;
    assert_eq!(
        tiktok_qty(&h, SKU2_ID),
        99,
        "the sweep touched an unmoved SKU"
    );
    assert_eq!(tiktok_qty(&h, SKU_ID), 7);
    // The watermark sits in the state store, and moves on with each sweep.
    let key = bridge::jobs::inventory_sweep::watermark_key(&h.sandbox.tiktok.config().shop_id);
    let first: i64 = bridge
        .state
        .get(&key)
        .await
        .unwrap()
        .expect("watermark saved")
        .parse()
        .unwrap();
    eventually(PERIOD * 3, "the watermark moves on", || async {
        let now: i64 = bridge
            .state
            .get(&key)
            .await
            .unwrap()
            .unwrap_or_default()
            .parse()
            .unwrap_or(0);
        now > first
    })
    .await;
    bridge.shutdown().await;
    h.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_the_sweep_the_silent_sale_waits_for_the_reconcile() {
    let h = Harness::new().await;
    let bridge = silent_account(&h, "0").await;
    let ns = &h.sandbox.netsuite;
    assert_eq!(
        ns.consume(&h.item_id(SKU), LOC, Decimal::from(3)),
        Decimal::from(3)
    );
    tokio::time::sleep(PERIOD + PUSH_SLACK).await;
    assert_eq!(tiktok_qty(&h, SKU_ID), 10, "nothing else carried the sale");
    bridge.shutdown().await;
    h.cleanup().await;
}
