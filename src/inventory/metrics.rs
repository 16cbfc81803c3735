//! Inventory metrics, registered into the app's registry by `Metrics::new`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShopLabel {
    pub shop_id: String,
}

pub struct InventoryMetrics {
    /// Dirty mark → TikTok accepted the new quantity.
    pub freshness: Histogram,
    /// SKU pushes by outcome: `applied`, `unchanged`, `sku_error`, `stale`, `fbt`, `unmapped`.
    pub skus: Family<Outcome, Counter>,
    /// Update Inventory calls made.
    pub update_calls: Counter,
    /// Units by which TikTok differed from the sellable quantity at the last reconcile.
    pub drift_units: Family<ShopLabel, Gauge>,
    pub drift_skus: Family<ShopLabel, Gauge>,
}

impl InventoryMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let freshness = Histogram::new([0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 120.0]);
        registry.register(
            "bridge_inventory_freshness_seconds",
            "From a stock-affecting change (NetSuite callout, order, reconcile) to TikTok holding the new quantity",
            freshness.clone(),
        );
        let skus = Family::<Outcome, Counter>::default();
        registry.register(
            "bridge_inventory_sku_pushes",
            "SKUs handled by the inventory pusher, by outcome",
            skus.clone(),
        );
        let update_calls = Counter::default();
        registry.register(
            "bridge_inventory_update_calls",
            "TikTok Update Inventory calls made",
            update_calls.clone(),
        );
        let drift_units = Family::<ShopLabel, Gauge>::default();
        registry.register(
            "bridge_inventory_drift_units",
            "Units TikTok listed differently from the sellable quantity at the last reconcile (sum of absolute differences)",
            drift_units.clone(),
        );
        let drift_skus = Family::<ShopLabel, Gauge>::default();
        registry.register(
            "bridge_inventory_drift_skus",
            "SKUs whose TikTok quantity differed from the sellable quantity at the last reconcile",
            drift_skus.clone(),
        );
        InventoryMetrics {
            freshness,
            skus,
            update_calls,
            drift_units,
            drift_skus,
        }
    }

    pub fn sku(&self, outcome: &str, n: u64) {
        self.skus
            .get_or_create(&Outcome {
                outcome: outcome.into(),
            })
            .inc_by(n);
    }

    pub fn sku_count(&self, outcome: &str) -> u64 {
        self.skus
            .get_or_create(&Outcome {
                outcome: outcome.into(),
            })
            .get()
    }
}
