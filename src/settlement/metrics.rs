//! Settlement metrics (flow S1), registered into the app's registry by `Metrics::new`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CurrencyLabel {
    pub currency: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ViewLabel {
    /// `settled_without_sales_order`, `unsettled_sales_orders`, `revenue_mismatches`.
    pub view: String,
}

pub struct SettlementMetrics {
    /// Journal entries written (created or changed) for statements.
    pub entries: Family<CurrencyLabel, Counter>,
    /// Payouts recorded (journal or transfer).
    pub payouts: Counter,
    /// Statements queued by the settlement timer.
    pub statements_found: Counter,
    /// Rows of each reconciliation list at its last computation.
    pub reconciliation: Family<ViewLabel, Gauge>,
}

impl SettlementMetrics {
    pub fn register(registry: &mut Registry) -> Self {
        let entries = Family::<CurrencyLabel, Counter>::default();
        registry.register(
            "bridge_settlement_journal_entries",
            "Statement journal entries written to NetSuite, by statement currency",
            entries.clone(),
        );
        let payouts = Counter::default();
        registry.register(
            "bridge_settlement_payouts",
            "TikTok payouts recorded in NetSuite (in transit to bank)",
            payouts.clone(),
        );
        let statements_found = Counter::default();
        registry.register(
            "bridge_settlement_statements_found",
            "New or changed TikTok statements queued by the settlement timer",
            statements_found.clone(),
        );
        let reconciliation = Family::<ViewLabel, Gauge>::default();
        registry.register(
            "bridge_settlement_reconciliation_orders",
            "Orders in each settlement reconciliation list at its last computation",
            reconciliation.clone(),
        );
        SettlementMetrics {
            entries,
            payouts,
            statements_found,
            reconciliation,
        }
    }

    pub fn entry_written(&self, currency: &str) {
        self.entries
            .get_or_create(&CurrencyLabel {
                currency: currency.into(),
            })
            .inc();
    }

    pub fn payout_recorded(&self) {
        self.payouts.inc();
    }

    pub fn set_view(&self, view: &str, n: usize) {
        self.reconciliation
            .get_or_create(&ViewLabel { view: view.into() })
            .set(n as i64);
    }
}
