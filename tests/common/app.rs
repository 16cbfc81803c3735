//! One way to stand a test up: `TestApp::builder()` starts a sandbox, then one bridge (or
//! several replicas) on a key prefix of its own on the machine's Redis, or on the embedded
//! backend in a temporary directory, and hands back typed steps of the flows the tests
//! drive: place an order, send TikTok's webhook, wait for the sales order, ship in NetSuite
//! and send the callout, wait for TikTok's ship calls, read the admin API.
//!
//! What a test varies is said on the builder (settings, replicas, sandbox set-up, faults);
//! what it asserts stays in the test. `finish()` stops every replica and deletes the prefix's
//! keys; the `Harness` inside also deletes them on drop, when a test panics first.

use super::records as after_sale;
use super::shipping::{self as fulfillment, CARRIER_MAP};
use super::{eventually, queue_idle, Harness};
use bridge::app::RunningBridge;
use bridge::state::ParkReason;
use sandbox::netsuite::callouts::SignedCallout;
use sandbox::tiktok::fixtures::{SampleLine, SampleOrderOptions};
use sandbox::SandboxHandle;
use serde_json::{json, Value};
use std::future::Future;
use std::ops::Deref;
use std::time::Duration;

/// How long a step waits for the bridge unless the builder says otherwise.
pub const WAIT: Duration = Duration::from_secs(20);

type Setup = Box<dyn FnOnce(&SandboxHandle)>;

/// What a test varies before anything runs.
pub struct TestAppBuilder {
    settings: Vec<(String, String)>,
    replicas: usize,
    embedded: bool,
    wait: Duration,
    setup: Vec<Setup>,
}

impl TestAppBuilder {
    /// One bridge setting (an environment variable), over the harness defaults.
    pub fn setting(mut self, key: &str, value: &str) -> Self {
        self.settings.push((key.to_string(), value.to_string()));
        self
    }

    /// Several settings, in order; a later one wins.
    pub fn settings(mut self, pairs: &[(&str, &str)]) -> Self {
        for (k, v) in pairs {
            self.settings.push((k.to_string(), v.to_string()));
        }
        self
    }

    /// The carrier map the fulfillment tests configure (`shipping::CARRIER_MAP`).
    pub fn carrier_map(self) -> Self {
        self.setting("CARRIER_MAP", CARRIER_MAP)
    }

    /// Released parked jobs are rechecked every second instead of hourly.
    pub fn unpark_every_second(self) -> Self {
        self.setting("UNPARK_INTERVAL_SECS", "1")
    }

    /// How many replicas share the prefix (all with the same settings); 1 by default.
    pub fn replicas(mut self, n: usize) -> Self {
        assert!(n >= 1, "at least one replica");
        self.replicas = n;
        self
    }

    /// The embedded SQLite backend in a fresh directory instead of Redis (one replica).
    pub fn embedded(mut self) -> Self {
        self.embedded = true;
        self
    }

    /// How long each waiting step waits (20 s by default).
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Prepare the sandbox before the bridge starts: stock, providers, faults, orders.
    pub fn sandbox(mut self, f: impl FnOnce(&SandboxHandle) + 'static) -> Self {
        self.setup.push(Box::new(f));
        self
    }

    /// TikTok lists `quantity` of a SKU at a warehouse before the bridge starts.
    pub fn tiktok_stock(
        self,
        product_id: &'static str,
        sku_id: &'static str,
        seller_sku: &'static str,
        warehouse_id: &'static str,
        quantity: i64,
    ) -> Self {
        self.sandbox(move |sb| {
            sb.tiktok
                .set_stock(product_id, sku_id, seller_sku, warehouse_id, quantity)
        })
    }

    /// NetSuite holds `quantity` of the item `seller_sku` at a location before the bridge
    /// starts (the sandbox must know the item and location).
    pub fn netsuite_stock(
        self,
        seller_sku: &'static str,
        location: &'static str,
        quantity: i64,
    ) -> Self {
        self.sandbox(move |sb| {
            let item = super::item_id(sb, seller_sku);
            assert!(sb.netsuite.set_stock(&item, location, quantity));
        })
    }

    pub async fn start(self) -> TestApp {
        let mut h = Harness::new().await;
        let data_dir = if self.embedded {
            assert_eq!(self.replicas, 1, "the embedded backend is single-instance");
            let dir = tempfile::tempdir().expect("temp dir");
            h.settings.remove("REDIS_URL");
            h.settings
                .insert("DATA_DIR".into(), dir.path().display().to_string());
            Some(dir)
        } else {
            None
        };
        for f in self.setup {
            f(&h.sandbox);
        }
        let mut app = TestApp {
            h,
            bridge: None,
            others: Vec::new(),
            settings: self.settings,
            wait: self.wait,
            _data_dir: data_dir,
        };
        app.bridge = Some(app.start_replica(&[]).await);
        for _ in 1..self.replicas {
            let r = app.start_replica(&[]).await;
            app.others.push(r);
        }
        app
    }
}

/// A sandbox and the bridge replicas started against it, with the flows' steps.
pub struct TestApp {
    pub h: Harness,
    bridge: Option<RunningBridge>,
    /// Replicas after the first, on the same prefix.
    pub others: Vec<RunningBridge>,
    settings: Vec<(String, String)>,
    pub wait: Duration,
    _data_dir: Option<tempfile::TempDir>,
}

impl Deref for TestApp {
    type Target = Harness;
    fn deref(&self) -> &Harness {
        &self.h
    }
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder {
            settings: Vec::new(),
            replicas: 1,
            embedded: false,
            wait: WAIT,
            setup: Vec::new(),
        }
    }

    /// Default settings, one replica on Redis.
    pub async fn start() -> TestApp {
        TestApp::builder().start().await
    }

    /// The first replica (the one the steps talk to).
    pub fn bridge(&self) -> &RunningBridge {
        self.bridge.as_ref().expect("a replica runs")
    }

    /// Every replica, the first one first.
    pub fn replicas(&self) -> Vec<&RunningBridge> {
        self.bridge.iter().chain(self.others.iter()).collect()
    }

    /// One more replica with the builder's settings and `overrides`, not managed by the app.
    pub async fn start_replica(&self, overrides: &[(&str, &str)]) -> RunningBridge {
        let mut all: Vec<(&str, &str)> = self
            .settings
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.extend_from_slice(overrides);
        self.h.start(&all).await
    }

    /// Stops every replica, then starts one with the builder's settings and `overrides`.
    pub async fn restart(&mut self, overrides: &[(&str, &str)]) {
        self.stop_replicas().await;
        self.bridge = Some(self.start_replica(overrides).await);
    }

    async fn stop_replicas(&mut self) {
        if let Some(b) = self.bridge.take() {
            b.shutdown().await;
        }
        for b in self.others.drain(..) {
            b.shutdown().await;
        }
    }

    /// Stops every replica and deletes the prefix's keys.
    pub async fn finish(mut self) {
        self.stop_replicas().await;
        self.h.cleanup().await;
    }

    // ---- waiting ----

    /// Polls `check` until it holds (panics naming `what` after the app's wait).
    pub async fn wait_for<F, Fut>(&self, what: &str, check: F)
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        eventually(self.wait, what, check).await;
    }

    /// Nothing queued, pending or delayed on the first replica's queue.
    pub async fn drained(&self) {
        eventually(self.wait, "queue drained", || {
            queue_idle(self.bridge().queue.as_ref())
        })
        .await;
    }

    /// Waits for the sales order of `order_id`, then for the queue to drain; returns it.
    pub async fn wait_for_sales_order(&self, order_id: &str) -> Value {
        self.wait_for("sales order written", || async {
            self.sales_order(order_id).is_some()
        })
        .await;
        self.drained().await;
        self.sales_order(order_id).expect("sales order")
    }

    /// Waits until TikTok accepted a ship call for the order.
    pub async fn wait_for_ship_call(&self, order_id: &str, what: &str) {
        self.wait_for(what, || async {
            !self.sandbox.tiktok.accepted_ship_calls(order_id).is_empty()
        })
        .await;
    }

    /// Waits until NetSuite holds a `record_type` record with this external id.
    pub async fn wait_for_record(&self, what: &str, record_type: &str, external_id: &str) {
        self.wait_for(what, || async {
            self.record(record_type, external_id).is_some()
        })
        .await;
    }

    // ---- TikTok side ----

    /// Has the sandbox send TikTok's signed webhook to the first replica; returns the status.
    pub async fn webhook(&self, topic: u32, order_id: &str) -> u16 {
        self.h.webhook(self.bridge(), topic, order_id).await
    }

    /// The webhook, which the bridge must accept (200).
    pub async fn webhook_ok(&self, topic: u32, order_id: &str) {
        assert_eq!(self.webhook(topic, order_id).await, 200);
    }

    /// The webhook, accepted, then the queue drained.
    pub async fn webhook_done(&self, topic: u32, order_id: &str) {
        self.webhook_ok(topic, order_id).await;
        self.drained().await;
    }

    /// The order's status webhook (topic 1), then its sales order; returns it.
    pub async fn sync(&self, order_id: &str) -> Value {
        self.webhook_ok(1, order_id).await;
        self.wait_for_sales_order(order_id).await
    }

    /// A paid order placed in TikTok and synced; returns its sales order.
    pub async fn place_and_sync(&self, order_id: &str, lines: &[SampleLine]) -> Value {
        self.order(order_id, lines);
        self.sync(order_id).await
    }

    /// A Fulfilled-by-TikTok paid order in the TikTok sandbox.
    pub fn fbt_order(&self, order_id: &str, lines: &[SampleLine]) -> Value {
        let opts = SampleOrderOptions {
            fulfillment_type: "FULFILLMENT_BY_TIKTOK".into(),
            ..SampleOrderOptions::default()
        };
        self.order_with(order_id, "AWAITING_SHIPMENT", lines, &opts)
    }

    /// A return or refund request in the TikTok sandbox.
    pub fn add_return(&self, body: Value) {
        self.sandbox.tiktok.add_return(body).expect("return stored");
    }

    /// A cancellation in the TikTok sandbox naming these line item ids (none: the order).
    pub fn cancellation(&self, cancel_id: &str, order_id: &str, status: &str, units: &[String]) {
        let items: Vec<_> = units
            .iter()
            .map(|l| json!({ "order_line_item_id": l }))
            .collect();
        self.sandbox
            .tiktok
            .add_cancellation(json!({
                "cancel_id": cancel_id,
                "order_id": order_id,
                "cancel_status": status,
                "cancel_line_items": items,
            }))
            .expect("cancellation stored");
    }

    /// TikTok line item ids of `order_id` for `sku_id`, in order.
    pub fn line_ids(&self, order_id: &str, sku_id: &str) -> Vec<String> {
        fulfillment::line_ids(&self.h, order_id, sku_id)
    }

    // ---- NetSuite side ----

    /// The sales order's internal id.
    pub fn sales_order_id(&self, order_id: &str) -> String {
        self.sales_order(order_id).expect("sales order")["id"]
            .as_str()
            .expect("sales order id")
            .to_string()
    }

    /// The sales order line number holding `line`'s TikTok SKU.
    pub fn so_line(&self, order_id: &str, line: &SampleLine) -> u64 {
        fulfillment::so_line(&self.h, order_id, line)
    }

    /// A record of `record_type` by external id.
    pub fn record(&self, record_type: &str, external_id: &str) -> Option<Value> {
        self.sandbox
            .netsuite
            .record_by_external_id_of(record_type, external_id)
    }

    /// How many `record_type` records NetSuite holds.
    pub fn count(&self, record_type: &str) -> usize {
        self.sandbox.netsuite.records_of(record_type).len()
    }

    /// The warehouse ships in NetSuite: a shipped item fulfillment of `so_id` with
    /// `(sales order line, quantity)` pairs, one package with `tracking`, ship method `method`.
    pub fn ship_in_netsuite(
        &self,
        so_id: &str,
        lines: &[(u64, u32)],
        tracking: &str,
        method: &str,
    ) -> String {
        fulfillment::fulfill(&self.h, so_id, lines, tracking, method)
    }

    /// The warehouse ships units of `order_id`'s sales order in NetSuite: `(TikTok line,
    /// units)` pairs in one package with `tracking`, ship method `method`.
    pub fn ship(
        &self,
        order_id: &str,
        units: &[(&SampleLine, u32)],
        tracking: &str,
        method: &str,
    ) -> String {
        let lines: Vec<(u64, u32)> = units
            .iter()
            .map(|(l, q)| (self.so_line(order_id, l), *q))
            .collect();
        self.ship_in_netsuite(&self.sales_order_id(order_id), &lines, tracking, method)
    }

    /// The warehouse fulfils `quantity` units of the line of `so` holding `sku_id` (no package).
    pub fn fulfil_units(&self, so: &Value, sku_id: &str, quantity: u32) {
        let line = after_sale::line_of_sku(so, sku_id)["line"].clone();
        self.sandbox
            .netsuite
            .create_item_fulfillment(
                so["id"].as_str().unwrap(),
                json!({ "item": { "items": [
                    { "orderLine": line, "quantity": quantity, "itemReceive": true }
                ] } }),
            )
            .expect("warehouse fulfils");
    }

    /// NetSuite's signed callout for an item fulfillment event (e.g. `item_fulfillment.edited`).
    pub fn fulfillment_callout(&self, event: &str, fulfillment_id: &str) -> SignedCallout {
        self.sandbox
            .netsuite
            .item_fulfillment_callout(event, fulfillment_id)
            .expect("fulfillment exists")
    }

    /// NetSuite's signed `item_fulfillment.shipped` callout for the fulfillment.
    pub fn shipped_callout(&self, fulfillment_id: &str) -> SignedCallout {
        fulfillment::shipped_callout(&self.h, fulfillment_id)
    }

    /// Posts a signed callout to the first replica; returns the status.
    pub async fn send(&self, callout: &SignedCallout) -> u16 {
        fulfillment::send(callout, self.bridge()).await
    }

    /// Sends the fulfillment's `event` callout, which the bridge must accept (200).
    pub async fn callout_ok(&self, event: &str, fulfillment_id: &str) {
        let callout = self.fulfillment_callout(event, fulfillment_id);
        assert_eq!(self.send(&callout).await, 200);
    }

    /// Sends the fulfillment's `item_fulfillment.shipped` callout, accepted (200).
    pub async fn shipped_ok(&self, fulfillment_id: &str) {
        assert_eq!(self.send(&self.shipped_callout(fulfillment_id)).await, 200);
    }

    /// The shipped callout, accepted, then the queue drained.
    pub async fn shipped_done(&self, fulfillment_id: &str) {
        self.shipped_ok(fulfillment_id).await;
        self.drained().await;
    }

    // ---- the bridge's own views ----

    /// Why each parked job is parked.
    pub async fn parked_reasons(&self) -> Vec<ParkReason> {
        self.bridge()
            .state
            .parked()
            .await
            .unwrap()
            .into_iter()
            .map(|p| p.reason)
            .collect()
    }

    /// The errors of the first dead letters (up to 50).
    pub async fn dead_letters(&self) -> Vec<String> {
        self.bridge()
            .queue
            .dead_letters(50)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.error)
            .collect()
    }

    /// How many jobs are dead.
    pub async fn dead(&self) -> u64 {
        self.bridge().queue.stats().await.unwrap().dead
    }

    /// An admin API call to the first replica: `(status, body)`.
    pub async fn admin(&self, method: reqwest::Method, path: &str) -> (u16, Value) {
        after_sale::admin(self.bridge(), method, path).await
    }

    /// `GET /admin/review`'s body.
    pub async fn review(&self) -> Value {
        self.admin(reqwest::Method::GET, "/admin/review").await.1
    }

    pub fn job_count(&self, kind: &str, outcome: &str) -> u64 {
        self.bridge().metrics.job_count(kind, outcome)
    }
}

/// The sample catalogue's black t-shirt, size M, at 19.99.
pub fn tshirt(units: u32) -> SampleLine {
    SampleLine::new("TSHIRT-BLK-M", rust_decimal_macros::dec!(19.99), units)
}

/// The sample catalogue's red cap, one unit at 12.50.
pub fn cap() -> SampleLine {
    SampleLine::new("CAP-RED", rust_decimal_macros::dec!(12.50), 1)
}
