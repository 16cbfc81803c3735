//! What the simulated NetSuite account holds: items, customers, sales orders, issued tokens,
//! seen nonces, counters and the active faults. Guarded by one mutex in `NetSuiteSandbox`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// Record types the sandbox can write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum RecordKind {
    SalesOrder,
    Customer,
    ItemFulfillment,
    ReturnAuthorization,
    CreditMemo,
    ItemReceipt,
    CustomerRefund,
    /// General ledger (see `ledger.rs`).
    JournalEntry,
    Transfer,
    Account,
}

impl RecordKind {
    /// Every kind the SuiteQL `transaction` table covers.
    pub(super) const TRANSACTIONS: &'static [RecordKind] = &[
        RecordKind::SalesOrder,
        RecordKind::ItemFulfillment,
        RecordKind::ReturnAuthorization,
        RecordKind::CreditMemo,
        RecordKind::ItemReceipt,
        RecordKind::CustomerRefund,
        RecordKind::JournalEntry,
        RecordKind::Transfer,
    ];

    /// NetSuite accepts record type names case-insensitively in URLs.
    pub(super) fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "salesorder" => Some(RecordKind::SalesOrder),
            "customer" => Some(RecordKind::Customer),
            "itemfulfillment" => Some(RecordKind::ItemFulfillment),
            "returnauthorization" => Some(RecordKind::ReturnAuthorization),
            "creditmemo" => Some(RecordKind::CreditMemo),
            "itemreceipt" => Some(RecordKind::ItemReceipt),
            "customerrefund" => Some(RecordKind::CustomerRefund),
            "journalentry" => Some(RecordKind::JournalEntry),
            "transfer" => Some(RecordKind::Transfer),
            "account" => Some(RecordKind::Account),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Item {
    pub id: u64,
    pub itemid: String,
    /// Other sku-bearing fields (e.g. `upccode`, `custitem_tiktok_sku`), lower-case names.
    pub fields: BTreeMap<String, String>,
}

impl Item {
    pub(super) fn field(&self, name: &str) -> Option<&str> {
        if name == "itemid" {
            Some(&self.itemid)
        } else {
            self.fields.get(name).map(String::as_str)
        }
    }

    pub(super) fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("id".into(), Value::String(self.id.to_string()));
        m.insert("itemId".into(), Value::String(self.itemid.clone()));
        for (k, v) in &self.fields {
            m.insert(k.clone(), Value::String(v.clone()));
        }
        Value::Object(m)
    }
}

#[derive(Debug, Clone)]
pub(super) struct StoredRecord {
    pub id: u64,
    pub external_id: Option<String>,
    pub body: Map<String, Value>,
    pub writes: u64,
}

impl StoredRecord {
    pub(super) fn to_json(&self) -> Value {
        let mut m = self.body.clone();
        m.insert("id".into(), Value::String(self.id.to_string()));
        if let Some(eid) = &self.external_id {
            m.insert("externalId".into(), Value::String(eid.clone()));
        }
        Value::Object(m)
    }
}

/// Faults to inject. Rate faults and the outage last `for_ms` from when they are set (until
/// cleared when `None`); counts, latency, failing items and `omit_location` last until cleared.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetSuiteFaults {
    /// Replaces the configured latency. Applied while the request holds a concurrency slot.
    pub latency_ms: Option<u64>,
    /// The next N authenticated requests get 429 `CONCURRENCY_LIMIT_EXCEEDED`.
    pub throttle_next: u64,
    /// Probability (0..=1) of a 429 per authenticated request inside the window.
    pub throttle_rate: f64,
    /// The next N authenticated requests get 500 `UNEXPECTED_ERROR`.
    pub server_error_next: u64,
    /// Probability (0..=1) of a 500 per authenticated request inside the window.
    pub server_error_rate: f64,
    /// Every request (token endpoint included) answers `outage_status` inside the window.
    pub outage: bool,
    /// 503 (default, HTML body as a load balancer would send) or 500 (`UNEXPECTED_ERROR`).
    pub outage_status: Option<u16>,
    /// Item internal ids a sales order may never reference (permanent INVALID_CONTENT).
    pub failing_item_ids: Vec<String>,
    /// Answer 204 without `Location`, forcing clients to look the id up.
    pub omit_location: bool,
    pub for_ms: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub(super) struct ActiveFaults {
    pub spec: NetSuiteFaults,
    pub until: Option<Instant>,
}

impl ActiveFaults {
    pub(super) fn new(spec: NetSuiteFaults) -> Self {
        let until = spec
            .for_ms
            .map(|ms| Instant::now() + Duration::from_millis(ms));
        ActiveFaults { spec, until }
    }

    pub(super) fn window_open(&self) -> bool {
        self.until.is_none_or(|u| Instant::now() < u)
    }
}

#[derive(Debug, Default)]
pub(super) struct State {
    pub next_id: u64,
    pub items: BTreeMap<u64, Item>,
    pub records: HashMap<RecordKind, BTreeMap<u64, StoredRecord>>,
    /// Access token → expiry.
    pub tokens: HashMap<String, Instant>,
    /// Nonce → the unix time it was seen; pruned past the timestamp window.
    pub nonces: HashMap<String, i64>,
    /// (method, lower-case record type or `suiteql`) → requests.
    pub counts: HashMap<(String, String), u64>,
    pub requests: u64,
    pub token_requests: u64,
    pub throttled: u64,
    pub server_errors: u64,
    pub auth_failures: u64,
    pub last_auth_failure: Option<String>,
    pub faults: ActiveFaults,
    /// Sales order external id → when it was first written (for latency benchmarks).
    pub sales_order_first_written: HashMap<String, Instant>,
    /// (item id, location id) → quantityavailable (see `stock.rs`).
    pub stock: BTreeMap<(u64, u64), rust_decimal::Decimal>,
    /// (item id, location id) → units committed by sales orders.
    pub committed: BTreeMap<(u64, u64), rust_decimal::Decimal>,
    /// Units sold (sales orders committed, other channels consumed) beyond what was available.
    pub oversold_units: rust_decimal::Decimal,
    /// Where stock changes are announced as signed callouts, and the secret (see `stock.rs`).
    pub callout_target: Option<(String, String)>,
    pub callouts_sent: u64,
    /// When each record was last saved (`transaction.lastmodifieddate`, see `sweep.rs`).
    pub modified: HashMap<(RecordKind, u64), Instant>,
    /// When each item's available quantity at a location last changed
    /// (`aggregateitemlocation.lastquantityavailablechange`).
    pub stock_changed: BTreeMap<(u64, u64), Instant>,
    /// Stock changes the simulated scripts announced, as (record type, event type).
    pub announced: Vec<(String, String)>,
}

impl State {
    pub(super) fn new() -> Self {
        State {
            next_id: 100,
            ..State::default()
        }
    }

    /// Stamps a record as saved now.
    pub(super) fn touch(&mut self, kind: RecordKind, id: u64) {
        self.modified.insert((kind, id), Instant::now());
    }

    /// Stamps an item's availability at a location as changed now.
    pub(super) fn stock_moved(&mut self, item: u64, location: u64) {
        self.stock_changed.insert((item, location), Instant::now());
    }

    pub(super) fn allocate_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub(super) fn records(&self, kind: RecordKind) -> impl Iterator<Item = &StoredRecord> {
        self.records.get(&kind).into_iter().flat_map(|m| m.values())
    }

    pub(super) fn find_by_external_id(&self, kind: RecordKind, eid: &str) -> Option<u64> {
        self.records(kind)
            .find(|r| r.external_id.as_deref() == Some(eid))
            .map(|r| r.id)
    }

    pub(super) fn record(&self, kind: RecordKind, id: u64) -> Option<&StoredRecord> {
        self.records.get(&kind).and_then(|m| m.get(&id))
    }

    /// Item field names a query may use: `itemid` and any extra field some item carries.
    pub(super) fn item_field_known(&self, field: &str) -> bool {
        field == "itemid"
            || field == "id"
            || self.items.values().any(|i| i.fields.contains_key(field))
    }
}
