//! What operators scrape and probe: a worker-only replica answers /healthz, /readyz and
//! /metrics (and nothing else), the TikTok and NetSuite clients report their requests, and
//! /metrics speaks the classic text format unless OpenMetrics is asked for.

mod common;

use common::Harness;
use rust_decimal_macros::dec;
use sandbox::tiktok::fixtures::SampleLine;
use std::time::Duration;

async fn get(url: &str, accept: Option<&str>) -> (u16, String, String) {
    let mut req = reqwest::Client::new().get(url);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, ct, resp.text().await.unwrap())
}

#[tokio::test]
async fn worker_replicas_serve_probes_and_metrics_with_api_request_families() {
    let h = Harness::new().await;
    let ingress = h.start(&[("BRIDGE_ROLE", "ingress")]).await;
    let worker = h.start(&[("BRIDGE_ROLE", "worker")]).await;
    let w = format!("http://{}", worker.addr.expect("workers listen too"));

    assert_eq!(get(&format!("{w}/healthz"), None).await.0, 200);
    assert_eq!(get(&format!("{w}/readyz"), None).await.0, 200);
    let refused = reqwest::Client::new()
        .post(format!("{w}/webhooks/tiktok"))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 404, "workers take no webhooks");

    let id = "576486316948497001";
    h.order(id, &[SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 2)]);
    assert_eq!(h.webhook(&ingress, 1, id).await, 200);
    common::eventually(Duration::from_secs(10), "sales order written", || async {
        h.sales_order(id).is_some()
    })
    .await;

    // The worker's own counters, in the classic text format by default.
    let (status, ct, text) = get(&format!("{w}/metrics"), None).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    assert!(!text.contains("# EOF"));
    for want in [
        "# TYPE bridge_jobs_total counter",
        "bridge_jobs_total{kind=\"order_sync\",outcome=\"done\"} 1",
        "bridge_queue_backend_up 1",
        "bridge_netsuite_in_flight_requests 0",
        "bridge_netsuite_request_duration_seconds_count{method=\"PUT\",endpoint=\"/record/v1/salesOrder/eid:{external_id}\",status=\"204\"} 1",
        "bridge_tiktok_request_duration_seconds_count{method=\"GET\",endpoint=\"/order/202507/orders\",status=\"200\"}",
    ] {
        assert!(text.contains(want), "worker /metrics lacks {want:?}:\n{text}");
    }

    // OpenMetrics when asked, as Prometheus does.
    let (_, ct, om) = get(
        &format!("{w}/metrics"),
        Some("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"),
    )
    .await;
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    assert!(om.ends_with("# EOF\n"));

    // The ingress replica counted the webhook and made no API calls.
    let i = format!("http://{}", ingress.addr.unwrap());
    let (_, _, text) = get(&format!("{i}/metrics"), None).await;
    assert!(text.contains("bridge_webhooks_received_total{source=\"tiktok\",topic=\"1\"} 1"));
    assert!(!text.contains("bridge_tiktok_request_duration_seconds_count{"));
    assert!(!text.contains("bridge_netsuite_request_duration_seconds_count{"));

    ingress.shutdown().await;
    worker.shutdown().await;
    h.cleanup().await;
}
