//! (A test of the binary: `bench` lives in the binary, not the library.)
//! The `bench` core in a tiny configuration against the machine's Redis: every phase runs
//! and fills its part of the report, and nothing is left in Redis. Timings are not judged
//! here; `cargo run --release -- bench` reports them.

use super::{run_suite, BackendKind, Options, Verdict};

fn finite_positive(v: f64, what: &str) {
    assert!(v.is_finite() && v > 0.0, "{what} = {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiny_bench_run_fills_every_figure_and_cleans_up() {
    let opts = Options::tiny(BackendKind::Redis);
    let r = run_suite(&opts).await.expect("bench runs");

    // Ingress: both targets answered every request, with real latencies.
    for (name, run) in [("bare", &r.ingress.bare), ("bridge", &r.ingress.bridge)] {
        assert_eq!(run.ok, opts.ingress_requests as u64, "{name}: {run:?}");
        assert_eq!(run.failed, 0, "{name}");
        finite_positive(run.req_per_s, name);
        finite_positive(run.latency.p99_ms, name);
        assert!(run.latency.p50_ms <= run.latency.p99_ms);
    }
    finite_positive(r.ingress.rps_ratio, "rps ratio");
    assert_eq!(r.ingress.bridge_paced.ok, opts.paced_requests as u64);
    assert!(
        r.ingress.jobs_enqueued >= opts.ingress_requests as u64,
        "every 200 is a queued job: {}",
        r.ingress.jobs_enqueued
    );

    // Orders: every one landed, each cost NetSuite at least its sales order.
    for run in [&r.steady, &r.per_buyer] {
        assert!(run.orders > 0);
        assert_eq!(run.landed, run.orders, "{run:?}");
        assert_eq!(run.webhook_failures, 0);
        finite_positive(run.latency.p99_ms, "order latency");
        assert!(
            run.latency.p50_ms >= opts.netsuite_latency_ms as f64,
            "an order cannot land faster than NetSuite answers: {run:?}"
        );
        assert!(run.netsuite_requests >= run.orders as u64);
        assert!(run.get_order_detail_calls > 0);
    }
    assert_eq!(r.steady.customer_mode, "fixed");
    assert_eq!(r.per_buyer.customer_mode, "per_buyer");
    assert!(
        r.per_buyer.netsuite_requests_per_order > r.steady.netsuite_requests_per_order,
        "new buyers need their customer written too"
    );
    assert_eq!(r.burst.landed, opts.burst_orders);
    finite_positive(r.burst.orders_per_s, "burst orders/s");
    finite_positive(r.burst.share_of_bound, "share of bound");
    assert!(r.burst.netsuite_peak_concurrency <= opts.netsuite_limit);
    assert!(r.burst.get_order_detail_calls > 0);

    // Memory (Linux): figures present and plausible.
    let idle = r.memory.idle_mib.expect("VmRSS");
    let peak = r.memory.peak_mib.expect("VmHWM");
    assert!(idle > 0.0 && peak >= idle, "{:?}", r.memory);

    // Live stream: both runs sold through the stock, measured freshness and calls, and the
    // two channels' sales are accounted for.
    let live = &r.live_stream;
    for run in [&live.event_driven, &live.polling] {
        assert_eq!(run.attempts, opts.live_attempts, "{run:?}");
        assert_eq!(
            run.tiktok_orders + run.tiktok_rejected,
            opts.live_attempts as u64,
            "every checkout accepted or refused: {run:?}"
        );
        assert!(run.tiktok_units_sold > 0, "{run:?}");
        assert!(run.orders_synced, "{run:?}");
        assert!(run.oversold_units >= 0);
        assert!(
            (run.tiktok_units_sold + run.channel2_units_sold) as i64
                <= i64::from(opts.live_stock) + run.oversold_units
        );
    }
    assert_eq!(
        live.event_driven.freshness.count as u64 + live.event_driven.changes_while_sold_out,
        live.event_driven.channel2_units_sold,
        "every second-channel sale is timed or moot"
    );
    assert!(
        live.event_driven.inventory_search_calls > 0,
        "the bridge reads TikTok (start-up reconcile, rounds)"
    );
    assert!(
        live.polling.update_inventory_calls > 0,
        "the baseline pushes on its timer"
    );
    assert_eq!(
        live.polling.inventory_search_calls, 0,
        "the baseline only pushes"
    );

    // The table: every §9 figure is there, each with a value.
    let keys: Vec<&str> = r.figures.iter().map(|f| f.key.as_str()).collect();
    for k in [
        "ingress_rps_ratio",
        "ingress_p99_ms",
        "order_overhead_p99_ms",
        "netsuite_requests_per_order",
        "netsuite_requests_per_order_per_buyer",
        "throughput_share_of_bound",
        "get_order_detail_per_order",
        "inventory_freshness_p99",
        "oversold_units",
        "rss_idle_mib",
        "rss_peak_mib",
    ] {
        assert!(keys.contains(&k), "missing figure {k}: {keys:?}");
    }
    for f in &r.figures {
        match f.verdict {
            Verdict::NotMeasured => {
                assert!(f.value.is_none());
                assert!(f.measured.starts_with("not measured"), "{f:?}");
            }
            _ => assert!(
                f.value.is_some_and(f64::is_finite),
                "figure without a finite value: {f:?}"
            ),
        }
    }
    let json = serde_json::to_value(&r).expect("report serializes");
    assert_eq!(json["backend_kind"], "redis");

    // Nothing left behind in the shared Redis.
    let url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let client = redis::Client::open(url).expect("redis url");
    let mut conn = client
        .get_multiplexed_async_connection()
        .await
        .expect("redis");
    let left: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{{{}-*", r.run_id))
        .query_async(&mut conn)
        .await
        .expect("keys");
    assert!(left.is_empty(), "bench left keys behind: {left:?}");
}
