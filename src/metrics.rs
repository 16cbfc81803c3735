//! Prometheus metrics, one registry per running app (tests run several apps in one
//! process). Names are `bridge_*` with units; gauges about the queue are refreshed from
//! the backend when `/metrics` is scraped.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceTopic {
    pub source: String,
    pub topic: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceReason {
    pub source: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindOutcome {
    pub kind: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Kind {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    pub reason: String,
}

pub struct Metrics {
    registry: Registry,
    pub webhooks_received: Family<SourceTopic, Counter>,
    pub webhooks_rejected: Family<SourceReason, Counter>,
    pub webhooks_duplicate: Family<SourceTopic, Counter>,
    pub webhooks_ignored: Family<SourceTopic, Counter>,
    pub jobs: Family<KindOutcome, Counter>,
    pub job_duration: Family<Kind, Histogram>,
    pub order_latency: Histogram,
    pub queue_depth: Gauge,
    pub queue_pending: Gauge,
    pub queue_delayed: Gauge,
    pub queue_dead: Gauge,
    pub parked: Family<Reason, Gauge>,
    pub netsuite_in_flight: Gauge,
    pub poller_orders_found: Counter,
}

fn latency_buckets() -> impl Iterator<Item = f64> {
    [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
    ]
    .into_iter()
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        let webhooks_received = Family::<SourceTopic, Counter>::default();
        registry.register(
            "bridge_webhooks_received",
            "Signed webhooks and callouts accepted at ingress",
            webhooks_received.clone(),
        );
        let webhooks_rejected = Family::<SourceReason, Counter>::default();
        registry.register(
            "bridge_webhooks_rejected",
            "Webhooks and callouts refused at ingress, by reason",
            webhooks_rejected.clone(),
        );
        let webhooks_duplicate = Family::<SourceTopic, Counter>::default();
        registry.register(
            "bridge_webhooks_duplicate",
            "Webhooks whose notification id was already queued",
            webhooks_duplicate.clone(),
        );
        let webhooks_ignored = Family::<SourceTopic, Counter>::default();
        registry.register(
            "bridge_webhooks_ignored",
            "Verified webhooks of topics the bridge does not act on",
            webhooks_ignored.clone(),
        );
        let jobs = Family::<KindOutcome, Counter>::default();
        registry.register("bridge_jobs", "Jobs run, by kind and outcome", jobs.clone());
        let job_duration =
            Family::<Kind, Histogram>::new_with_constructor(|| Histogram::new(latency_buckets()));
        registry.register(
            "bridge_job_duration_seconds",
            "Time a worker spent on one job run",
            job_duration.clone(),
        );
        let order_latency = Histogram::new(latency_buckets());
        registry.register(
            "bridge_order_latency_seconds",
            "Event in at ingress to NetSuite sales order written",
            order_latency.clone(),
        );
        let queue_depth = Gauge::default();
        registry.register(
            "bridge_queue_depth_jobs",
            "Jobs on the stream, waiting or pending",
            queue_depth.clone(),
        );
        let queue_pending = Gauge::default();
        registry.register(
            "bridge_queue_pending_jobs",
            "Jobs delivered to a worker and not yet acknowledged",
            queue_pending.clone(),
        );
        let queue_delayed = Gauge::default();
        registry.register(
            "bridge_queue_delayed_jobs",
            "Retries waiting for their time",
            queue_delayed.clone(),
        );
        let queue_dead = Gauge::default();
        registry.register(
            "bridge_queue_dead_letter_jobs",
            "Jobs in the dead-letter stream",
            queue_dead.clone(),
        );
        let parked = Family::<Reason, Gauge>::default();
        registry.register(
            "bridge_parked_jobs",
            "Jobs parked until a condition resolves, by reason",
            parked.clone(),
        );
        let netsuite_in_flight = Gauge::default();
        registry.register(
            "bridge_netsuite_in_flight_requests",
            "NetSuite requests in flight from this replica",
            netsuite_in_flight.clone(),
        );
        let poller_orders_found = Counter::default();
        registry.register(
            "bridge_poller_orders_found",
            "Orders the catch-up poller found and queued",
            poller_orders_found.clone(),
        );
        Metrics {
            registry,
            webhooks_received,
            webhooks_rejected,
            webhooks_duplicate,
            webhooks_ignored,
            jobs,
            job_duration,
            order_latency,
            queue_depth,
            queue_pending,
            queue_delayed,
            queue_dead,
            parked,
            netsuite_in_flight,
            poller_orders_found,
        }
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    pub fn rejected(&self, source: &str, reason: &str) {
        self.webhooks_rejected
            .get_or_create(&SourceReason {
                source: source.into(),
                reason: reason.into(),
            })
            .inc();
    }

    pub fn job(&self, kind: &str, outcome: &str) {
        self.jobs
            .get_or_create(&KindOutcome {
                kind: kind.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Read a counter back (tests and the demo summary).
    pub fn job_count(&self, kind: &str, outcome: &str) -> u64 {
        self.jobs
            .get_or_create(&KindOutcome {
                kind: kind.into(),
                outcome: outcome.into(),
            })
            .get()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
