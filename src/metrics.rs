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
    pub tiktok_token_expiry: Family<Shop, Gauge>,
    pub tiktok_authorization_expiry: Family<Shop, Gauge>,
    pub tiktok_shop_deauthorized: Family<Shop, Gauge>,
    /// Outbound request durations and the backend probe (see `OpsMetrics`).
    pub ops: OpsMetrics,
    pub after_sale: AfterSaleMetrics,
    pub inventory: crate::inventory::metrics::InventoryMetrics,
    pub settlement: crate::settlement::metrics::SettlementMetrics,
    /// The HTTP server's limits at work (see `server.rs`).
    pub http: HttpMetrics,
    /// 1 while this replica's circuit breaker of a dependency is open.
    pub breaker_open: Family<Dependency, Gauge>,
    /// Open breakers of this replica (dependency → opened at, Unix ms), for `/readyz`.
    pub breakers_open: parking_lot::Mutex<std::collections::BTreeMap<String, i64>>,
    /// Signed events older than what the bridge already applied (replays), ignored.
    pub webhooks_stale: Family<SourceTopic, Counter>,
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
        let tiktok_token_expiry = Family::<Shop, Gauge>::default();
        registry.register(
            "bridge_tiktok_token_expiry_timestamp_seconds",
            "When the shop's TikTok access token expires (Unix seconds; absent until known)",
            tiktok_token_expiry.clone(),
        );
        let tiktok_authorization_expiry = Family::<Shop, Gauge>::default();
        registry.register(
            "bridge_tiktok_authorization_expiry_timestamp_seconds",
            "When the shop's authorization of the app ends, from TikTok's expiry notice (topic 7)",
            tiktok_authorization_expiry.clone(),
        );
        let tiktok_shop_deauthorized = Family::<Shop, Gauge>::default();
        registry.register(
            "bridge_tiktok_shop_deauthorized",
            "1 while TikTok says the merchant removed the app from the shop (topic 6); its work is parked",
            tiktok_shop_deauthorized.clone(),
        );
        let ops = OpsMetrics::register(&mut registry);
        let after_sale = AfterSaleMetrics::register(&mut registry);
        let inventory = crate::inventory::metrics::InventoryMetrics::register(&mut registry);
        let settlement = crate::settlement::metrics::SettlementMetrics::register(&mut registry);
        let http = HttpMetrics::register(&mut registry);
        let breaker_open = Family::<Dependency, Gauge>::default();
        registry.register(
            "bridge_breaker_open",
            "1 while this replica's circuit breaker of a dependency (netsuite:<account>, tiktok:<shop>) is open and holds its jobs",
            breaker_open.clone(),
        );
        let webhooks_stale = Family::<SourceTopic, Counter>::default();
        registry.register(
            "bridge_webhooks_stale",
            "Signed events older than the state the bridge holds (replays); they change nothing",
            webhooks_stale.clone(),
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
            tiktok_token_expiry,
            tiktok_authorization_expiry,
            tiktok_shop_deauthorized,
            ops,
            after_sale,
            inventory,
            settlement,
            http,
            breaker_open,
            breakers_open: Default::default(),
            webhooks_stale,
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Dependency {
    pub dependency: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Shop {
    pub shop_id: String,
}

/// One outbound API request: method, endpoint template (ids replaced by `{id}`) and the
/// HTTP status, or `error` / `timeout` when no answer came.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiRequest {
    pub method: String,
    pub endpoint: String,
    pub status: String,
}

fn api_buckets() -> impl Iterator<Item = f64> {
    [
        0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
    ]
    .into_iter()
}

/// Outbound request metrics the API clients fill when given a `Metrics` (`observe`), and
/// whether the queue backend answered the last scrape.
pub struct OpsMetrics {
    pub tiktok_requests: Family<ApiRequest, Histogram>,
    pub netsuite_requests: Family<ApiRequest, Histogram>,
    /// 1 when the queue backend (Redis) answered the stats query of the last scrape, else 0.
    pub queue_backend_up: Gauge,
}

impl OpsMetrics {
    fn register(registry: &mut Registry) -> Self {
        let tiktok_requests =
            Family::<ApiRequest, Histogram>::new_with_constructor(|| Histogram::new(api_buckets()));
        registry.register(
            "bridge_tiktok_request_duration_seconds",
            "TikTok Shop API requests by method, endpoint and HTTP status (retries counted apart)",
            tiktok_requests.clone(),
        );
        let netsuite_requests =
            Family::<ApiRequest, Histogram>::new_with_constructor(|| Histogram::new(api_buckets()));
        registry.register(
            "bridge_netsuite_request_duration_seconds",
            "NetSuite REST requests by method, endpoint and HTTP status (retries counted apart)",
            netsuite_requests.clone(),
        );
        let queue_backend_up = Gauge::default();
        registry.register(
            "bridge_queue_backend_up",
            "1 when the queue backend (Redis) answered this replica's last scrape, else 0",
            queue_backend_up.clone(),
        );
        OpsMetrics {
            tiktok_requests,
            netsuite_requests,
            queue_backend_up,
        }
    }
}

/// The status label for an answer (`Some(code)`) or a failed exchange.
pub fn status_label(status: Option<u16>, timed_out: bool) -> String {
    match status {
        Some(code) => code.to_string(),
        None if timed_out => "timeout".into(),
        None => "error".into(),
    }
}

impl Metrics {
    pub fn tiktok_request(&self, method: &str, endpoint: &str, status: String, secs: f64) {
        self.ops
            .tiktok_requests
            .get_or_create(&ApiRequest {
                method: method.into(),
                endpoint: endpoint.into(),
                status,
            })
            .observe(secs);
    }

    pub fn netsuite_request(&self, method: &str, endpoint: &str, status: String, secs: f64) {
        self.ops
            .netsuite_requests
            .get_or_create(&ApiRequest {
                method: method.into(),
                endpoint: endpoint.into(),
                status,
            })
            .observe(secs);
    }
}

/// Content type of the OpenMetrics exposition.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Content type of the classic Prometheus text exposition.
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

impl Metrics {
    /// The exposition a scraper asked for: OpenMetrics when its `Accept` header names it
    /// (Prometheus does), else the classic text format that `promtool check metrics`, curl
    /// and older scrapers read. Returns the content type and the body.
    pub fn render(&self, accept: Option<&str>) -> (&'static str, String) {
        let wants_openmetrics = accept.is_some_and(|a| {
            a.split(',').any(|part| {
                let mut params = part.split(';').map(str::trim);
                params.next() == Some("application/openmetrics-text")
                    // `q=0` means "not this one".
                    && !params.any(|p| p.replace(' ', "") == "q=0")
            })
        });
        if wants_openmetrics {
            (OPENMETRICS_CONTENT_TYPE, self.encode())
        } else {
            (TEXT_CONTENT_TYPE, openmetrics_to_text(&self.encode()))
        }
    }
}

/// Rewrites the OpenMetrics text prometheus-client writes into the classic Prometheus text
/// format (0.0.4): counter families take their `_total` sample name in `# HELP`/`# TYPE`,
/// `# UNIT` and `# EOF` go, `unknown` becomes `untyped`, and HELP loses OpenMetrics'
/// escaping of double quotes.
pub fn openmetrics_to_text(om: &str) -> String {
    let counters: std::collections::HashSet<&str> = om
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|rest| rest.split_once(' '))
        .filter(|(_, ty)| ty.trim() == "counter")
        .map(|(name, _)| name)
        .collect();
    let family = |name: &str| -> String {
        if counters.contains(name) && !name.ends_with("_total") {
            format!("{name}_total")
        } else {
            name.to_string()
        }
    };
    let mut out = String::with_capacity(om.len());
    for line in om.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            out.push_str(&format!(
                "# HELP {} {}\n",
                family(name),
                help.replace("\\\"", "\"")
            ));
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, ty) = rest.split_once(' ').unwrap_or((rest, "untyped"));
            let ty = match ty.trim() {
                "counter" | "gauge" | "histogram" | "summary" => ty.trim(),
                _ => "untyped",
            };
            out.push_str(&format!("# TYPE {} {ty}\n", family(name)));
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod exposition_tests {
    use super::*;

    #[test]
    fn scrapers_get_the_format_they_ask_for() {
        let m = Metrics::new();
        m.job("order_sync", "ok");
        let (ct, body) = m.render(Some(
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
        ));
        assert_eq!(ct, OPENMETRICS_CONTENT_TYPE);
        assert!(body.ends_with("# EOF\n"));
        assert!(body.contains("# TYPE bridge_jobs counter"));

        for accept in [
            None,
            Some("*/*"),
            Some("text/plain"),
            Some("application/openmetrics-text;q=0"),
        ] {
            let (ct, body) = m.render(accept);
            assert_eq!(ct, TEXT_CONTENT_TYPE, "{accept:?}");
            assert!(!body.contains("# EOF"));
            assert!(body.contains("# TYPE bridge_jobs_total counter\n"));
            assert!(body.contains("# HELP bridge_jobs_total "));
            assert!(body.contains("bridge_jobs_total{kind=\"order_sync\",outcome=\"ok\"} 1\n"));
            assert!(body.contains("# TYPE bridge_order_latency_seconds histogram\n"));
        }
    }

    #[test]
    fn classic_text_conversion_keeps_samples_and_drops_openmetrics_only_lines() {
        let om = "# HELP a_seconds Time \\\"quoted\\\".\n# TYPE a_seconds gauge\n# UNIT a_seconds seconds\na_seconds 1.5\n# HELP b Things.\n# TYPE b counter\nb_total{x=\"1\"} 2\n# TYPE c unknown\nc 3\n# EOF\n";
        assert_eq!(
            openmetrics_to_text(om),
            "# HELP a_seconds Time \"quoted\".\n# TYPE a_seconds gauge\na_seconds 1.5\n# HELP b_total Things.\n# TYPE b_total counter\nb_total{x=\"1\"} 2\n# TYPE c untyped\nc 3\n"
        );
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RecordType {
    pub record: String,
}

/// Cancellations, returns and FBT shipments (flows O2, O3, F2).
pub struct AfterSaleMetrics {
    /// Review flags raised (a cancellation of an already fulfilled order, ...), by reason.
    pub review_flags: Family<Reason, Counter>,
    /// NetSuite records the after-sale flows created or changed, by record type.
    pub records: Family<RecordType, Counter>,
}

impl AfterSaleMetrics {
    fn register(registry: &mut Registry) -> Self {
        let review_flags = Family::<Reason, Counter>::default();
        registry.register(
            "bridge_review_flags",
            "Cases left for a person to review instead of being written, by reason",
            review_flags.clone(),
        );
        let records = Family::<RecordType, Counter>::default();
        registry.register(
            "bridge_after_sale_records",
            "NetSuite records written by the cancellation, return and FBT flows, by record type",
            records.clone(),
        );
        AfterSaleMetrics {
            review_flags,
            records,
        }
    }

    pub fn flagged(&self, reason: &str) {
        self.review_flags
            .get_or_create(&Reason {
                reason: reason.to_string(),
            })
            .inc();
    }

    pub fn flag_count(&self, reason: &str) -> u64 {
        self.review_flags
            .get_or_create(&Reason {
                reason: reason.to_string(),
            })
            .get()
    }

    pub fn wrote(&self, record: &str) {
        self.records
            .get_or_create(&RecordType {
                record: record.to_string(),
            })
            .inc();
    }
}

/// The HTTP server's limits (HTTP_*): open connections, requests shed with 503 because too
/// many were in flight, and bodies that did not arrive in time.
pub struct HttpMetrics {
    pub connections: Gauge,
    pub shed: Counter,
    pub body_timeouts: Counter,
}

impl HttpMetrics {
    fn register(registry: &mut Registry) -> Self {
        let connections = Gauge::default();
        registry.register(
            "bridge_http_connections",
            "HTTP connections open on this replica",
            connections.clone(),
        );
        let shed = Counter::default();
        registry.register(
            "bridge_http_requests_shed",
            "Requests answered 503 with Retry-After because HTTP_MAX_IN_FLIGHT were in flight",
            shed.clone(),
        );
        let body_timeouts = Counter::default();
        registry.register(
            "bridge_http_body_timeouts",
            "Requests answered 408 because the body took longer than HTTP_BODY_TIMEOUT_MS",
            body_timeouts.clone(),
        );
        HttpMetrics {
            connections,
            shed,
            body_timeouts,
        }
    }
}
