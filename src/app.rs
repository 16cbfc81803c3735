//! Wiring: connect the backends, build the clients, start ingress, workers and timers as
//! the replica's role says, and stop them gracefully.

use crate::config::{Backend, Config, Role};
use crate::ingress::{self, IngressState};
use crate::jobs::JobContext;
use crate::metrics::Metrics;
use crate::netsuite::client::NetSuiteClient;
use crate::queue::redis::RedisQueue;
use crate::queue::sqlite::{EmbeddedDb, SqliteQueue};
use crate::queue::JobQueue;
use crate::state::redis::RedisState;
use crate::state::sqlite::SqliteState;
use crate::state::StateStore;
use crate::tiktok::client::TikTokClient;
use crate::timers::{self, poller::Poller, unpark::Unparker};
use crate::worker::{RetryPolicy, Worker, WorkerConfig};
use anyhow::Context;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running bridge (one replica).
pub struct RunningBridge {
    pub addr: Option<SocketAddr>,
    pub metrics: Arc<Metrics>,
    pub queue: Arc<dyn JobQueue>,
    pub state: Arc<dyn StateStore>,
    pub tiktok: Option<TikTokClient>,
    pub netsuite: Option<NetSuiteClient>,
    shutdown: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningBridge {
    /// Stop taking work, finish in-flight jobs, then return.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// Stop at once, as a crash would: in-flight jobs stay pending, locks stay held
    /// until they expire. For fault-injection tests.
    pub fn kill(self) {
        self.shutdown.cancel();
        for t in &self.tasks {
            t.abort();
        }
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Wait until the replica stops (after its shutdown token is cancelled).
    pub async fn wait(self) {
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Opens the configured backend: Redis when `REDIS_URL` is set, else the embedded
/// database under `DATA_DIR` (refused if another process already uses it).
pub async fn connect_backends(
    cfg: &Config,
) -> anyhow::Result<(Arc<dyn JobQueue>, Arc<dyn StateStore>)> {
    match &cfg.queue.backend {
        Backend::Redis { url } => {
            let queue = RedisQueue::connect(url, &cfg.queue.key_prefix)
                .await
                .with_context(|| "cannot reach Redis at REDIS_URL".to_string())?;
            let state = RedisState::connect(url, &cfg.queue.key_prefix)
                .await
                .with_context(|| "cannot reach Redis at REDIS_URL".to_string())?;
            tracing::info!(backend = "redis", key_prefix = %cfg.queue.key_prefix, "queue and state in Redis");
            Ok((Arc::new(queue), Arc::new(state)))
        }
        Backend::Embedded { data_dir } => {
            let db = EmbeddedDb::open(data_dir)
                .await
                .context("cannot open the embedded database in DATA_DIR")?;
            tracing::info!(
                backend = "embedded",
                data_dir = %data_dir.display(),
                "queue and state in the embedded SQLite database (single instance; set REDIS_URL for replicas)"
            );
            Ok((
                Arc::new(SqliteQueue::new(db.clone())),
                Arc::new(SqliteState::new(db)),
            ))
        }
    }
}

/// Start a replica. `listener` lets tests bind port 0 first; `None` binds `cfg.bind_addr`.
pub async fn start(cfg: Config, listener: Option<TcpListener>) -> anyhow::Result<RunningBridge> {
    let (queue, state) = connect_backends(&cfg).await?;
    start_with(cfg, listener, queue, state).await
}

pub async fn start_with(
    cfg: Config,
    listener: Option<TcpListener>,
    queue: Arc<dyn JobQueue>,
    state: Arc<dyn StateStore>,
) -> anyhow::Result<RunningBridge> {
    let metrics = Arc::new(Metrics::new());
    let shutdown = CancellationToken::new();
    let mut tasks = Vec::new();

    // Every replica serves HTTP on BIND_ADDR: ingress the whole API, a worker-only replica
    // just /healthz, /readyz and /metrics so probes and Prometheus reach it too.
    let listener = match listener {
        Some(l) => l,
        None => TcpListener::bind(cfg.bind_addr)
            .await
            .with_context(|| format!("cannot listen on BIND_ADDR {}", cfg.bind_addr))?,
    };
    let addr = Some(listener.local_addr()?);
    {
        let st = IngressState {
            queue: queue.clone(),
            state: state.clone(),
            metrics: metrics.clone(),
            tiktok_app_key: cfg.tiktok.app_key.clone(),
            tiktok_app_secret: cfg.tiktok.app_secret.clone(),
            tiktok_shop_id: cfg.tiktok.shop_id.clone(),
            dedupe_ttl: cfg.queue.dedupe_ttl,
            admin_token: cfg.admin_token.clone(),
            enqueue_timeout: Duration::from_millis(2000),
            history: crate::history::HistoryWriter::spawn(state.clone()),
            callout_secrets: std::sync::Arc::new(cfg.callout_secrets.clone()),
            netsuite_account_id: cfg.netsuite.account_id.clone(),
        };
        let metrics_here = cfg.metrics_bind_addr.is_none();
        if let Some(ops_addr) = cfg.metrics_bind_addr {
            let ops = TcpListener::bind(ops_addr)
                .await
                .with_context(|| format!("cannot listen on METRICS_BIND_ADDR {ops_addr}"))?;
            tracing::info!(addr = ?ops.local_addr().ok(), "metrics and health listening");
            tasks.push(tokio::spawn(crate::server::serve(
                ops,
                ops_router(st.clone(), true),
                cfg.http.clone(),
                metrics.clone(),
                shutdown.clone(),
                cfg.shutdown_grace,
            )));
        }
        let app = if matches!(cfg.role, Role::All | Role::Ingress) {
            ingress::router(st, cfg.max_body_bytes, &cfg.http, metrics_here)
        } else {
            ops_router(st, metrics_here)
        };
        tasks.push(tokio::spawn(crate::server::serve(
            listener,
            app,
            cfg.http.clone(),
            metrics.clone(),
            shutdown.clone(),
            cfg.shutdown_grace,
        )));
        tracing::info!(addr = ?addr, role = ?cfg.role, "listening");
    }

    let mut tiktok_client = None;
    let mut netsuite_client = None;
    if matches!(cfg.role, Role::All | Role::Worker) {
        let tiktok = TikTokClient::new(cfg.tiktok.clone(), state.clone())
            .context("cannot build the TikTok client")?;
        let netsuite = NetSuiteClient::new(cfg.netsuite.clone())
            .context("cannot build the NetSuite client")?;
        tiktok.observe(metrics.clone());
        if let Backend::Redis { url } = &cfg.queue.backend {
            // TikTok's QPS is per app and shop: every replica draws from one budget.
            let shared = crate::tiktok::shared_ratelimit::SharedRateLimiter::connect(
                url,
                &cfg.queue.key_prefix,
                cfg.tiktok.qps_per_api,
            )
            .await
            .context("cannot reach Redis at REDIS_URL")?;
            tiktok.share_rate_limit(Arc::new(shared));
            // NetSuite's concurrency is per account: NETSUITE_CONCURRENCY is the deployment's.
            let slots = crate::netsuite::shared_slots::SharedSlots::connect(
                url,
                &cfg.queue.key_prefix,
                &cfg.netsuite.account_id,
                cfg.netsuite.concurrency,
                cfg.netsuite.timeout * 2,
            )
            .await
            .context("cannot reach Redis at REDIS_URL")?;
            netsuite.share_concurrency(Arc::new(slots));
        }
        netsuite.observe(metrics.clone());
        let inventory = crate::timers::inventory::inventory_sync(&cfg, &metrics)?;
        let ctx = Arc::new(JobContext {
            state: state.clone(),
            tiktok: tiktok.clone(),
            netsuite: netsuite.clone(),
            mapping: cfg.mapping.clone(),
            metrics: metrics.clone(),
            inventory: inventory.clone(),
        });
        crate::timers::inventory::start(&cfg, &inventory, &ctx, &queue, &shutdown, &mut tasks);
        let worker = Worker::new(
            ctx,
            queue.clone(),
            WorkerConfig {
                consumer: cfg.consumer_name.clone(),
                concurrency: cfg.worker_concurrency,
                retry: RetryPolicy {
                    max_attempts: cfg.queue.max_attempts,
                    base: cfg.queue.retry_base,
                    max: cfg.queue.retry_max,
                    horizon: cfg.queue.retry_horizon,
                    read_lag: cfg.queue.read_lag,
                },
                lease: crate::worker::LeaseConfig {
                    expiry: cfg.queue.lease_expiry,
                    renew_every: cfg.queue.lease_renew,
                },
                shutdown_grace: cfg.shutdown_grace,
                breaker: crate::worker::BreakerConfig {
                    failures: cfg.queue.breaker_failures,
                    open_for: cfg.queue.breaker_open,
                },
                netsuite_dependency: format!("netsuite:{}", cfg.netsuite.account_id),
                tiktok_dependency: format!("tiktok:{}", cfg.tiktok.shop_id),
            },
        );
        tasks.push(tokio::spawn(worker.run(shutdown.clone())));

        let poller = Arc::new(Poller {
            tiktok: tiktok.clone(),
            queue: queue.clone(),
            state: state.clone(),
            metrics: metrics.clone(),
            overlap: cfg.poll_overlap,
            first_window: Duration::from_secs(24 * 3600),
            dedupe_ttl: cfg.queue.dedupe_ttl,
            owner: cfg.consumer_name.clone(),
        });
        if cfg.poll_interval.is_zero() {
            tracing::info!("catch-up poller off (POLL_INTERVAL_SECS=0)");
        } else {
            tasks.push(tokio::spawn(timers::every(
                cfg.poll_interval,
                shutdown.clone(),
                "poller",
                move || {
                    let p = poller.clone();
                    async move { p.run_once().await.map(|_| ()) }
                },
            )));
        }
        let unparker = Arc::new(Unparker {
            netsuite: netsuite.clone(),
            queue: queue.clone(),
            state: state.clone(),
            sku_field: cfg.mapping.sku_field.clone(),
            owner: cfg.consumer_name.clone(),
            carrier_map: cfg.mapping.carrier_map.clone(),
        });
        tasks.push(tokio::spawn(timers::every(
            cfg.unpark_interval,
            shutdown.clone(),
            "unpark",
            move || {
                let u = unparker.clone();
                async move { u.run_once().await.map(|_| ()) }
            },
        )));
        // S1: settlement timer, only when an account map is configured.
        let st = &cfg.mapping.settlement;
        if st.enabled() {
            let settle = Arc::new(crate::timers::settlement::SettlementPoller {
                tiktok: tiktok.clone(),
                queue: queue.clone(),
                state: state.clone(),
                metrics: metrics.clone(),
                overlap: st.overlap,
                first_window: st.first_window,
                dedupe_ttl: cfg.queue.dedupe_ttl.max(st.overlap * 2),
                unsettled_after: st.unsettled_after,
                owner: cfg.consumer_name.clone(),
            });
            tasks.push(tokio::spawn(timers::every(
                st.poll_interval,
                shutdown.clone(),
                "settlement",
                move || {
                    let p = settle.clone();
                    async move { p.run_once().await.map(|_| ()) }
                },
            )));
        }
        tiktok_client = Some(tiktok);
        netsuite_client = Some(netsuite);
    }

    Ok(RunningBridge {
        addr,
        metrics,
        queue,
        state,
        tiktok: tiktok_client,
        netsuite: netsuite_client,
        shutdown,
        tasks,
    })
}

/// What a worker-only replica serves (and METRICS_BIND_ADDR): liveness, readiness and,
/// unless they live on METRICS_BIND_ADDR, its own metrics.
fn ops_router(st: IngressState, with_metrics: bool) -> axum::Router {
    use axum::routing::get;
    use ingress::health;
    let mut r = axum::Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz));
    if with_metrics {
        r = r.route("/metrics", get(health::metrics));
    }
    r.with_state(st)
}
