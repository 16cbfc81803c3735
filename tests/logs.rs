//! Guarantee 9: secrets and buyer PII never appear in logs. The whole order sync runs in
//! process (sandbox, ingress, worker) under a JSON subscriber at TRACE that writes into a
//! buffer, the way production logs look when stdout is not a terminal.

mod common;

use common::{eventually, queue_idle, Harness};
use rust_decimal_macros::dec;
use sandbox::netsuite::NetSuiteFaults;
use sandbox::tiktok::fixtures::{sample_address, SampleLine, SampleOrderOptions};
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);

/// A `MakeWriter` target shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn json_lines(log: &str) -> Vec<serde_json::Value> {
    log.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The names of the spans a line was logged in, with their fields.
fn span_field(line: &serde_json::Value, span: &str, field: &str) -> Option<String> {
    line["spans"]
        .as_array()?
        .iter()
        .find(|s| s["name"] == span)
        .and_then(|s| s.get(field))
        .map(|v| v.as_str().map(str::to_string).unwrap_or(v.to_string()))
}

// Current-thread runtime: the scoped subscriber sees every task the test spawns.
#[tokio::test]
async fn an_order_sync_logs_no_buyer_pii_and_no_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_env_filter(tracing_subscriber::EnvFilter::new("info,bridge=trace"))
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let h = Harness::new().await;
    let b = h.start(&[]).await;
    // The fixture's buyer, with a postal code no timestamp or id can contain by chance.
    let mut address = sample_address();
    address.postal_code = Some("90028-7314".into());
    let opts = SampleOrderOptions {
        recipient_address: address.clone(),
        ..Default::default()
    };
    let lines = [
        SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 2),
        SampleLine::new("CAP-RED", dec!(12.50), 1),
    ];
    let ok = "576486316948492001";
    let order = h.order_with(ok, "AWAITING_SHIPMENT", &lines, &opts);
    // A refresh on the way (the token is sent and received), and the admin API called
    // with its bearer token.
    h.sandbox.tiktok.expire_access_token();
    assert_eq!(h.webhook(&b, 1, ok).await, 200);
    eventually(WAIT, "sales order written", || async {
        h.sales_order(ok).is_some()
    })
    .await;
    // An order NetSuite refuses for good: error paths log what the APIs answered.
    let cap = h.item_id("CAP-RED");
    h.sandbox.netsuite.set_faults(NetSuiteFaults {
        failing_item_ids: vec![cap],
        ..Default::default()
    });
    let refused = "576486316948492002";
    h.order_with(refused, "AWAITING_SHIPMENT", &lines, &opts);
    assert_eq!(h.webhook(&b, 3, refused).await, 200);
    eventually(WAIT, "refused order dead-lettered", || async {
        b.queue.stats().await.map(|s| s.dead == 1).unwrap_or(false)
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    let admin = reqwest::Client::new()
        .get(format!(
            "http://{}/admin/orders/{ok}/history",
            b.addr.unwrap()
        ))
        .bearer_auth("test-admin-token-5d2e9a41c7b3f086")
        .send()
        .await
        .unwrap();
    assert_eq!(admin.status(), 200);
    let refreshed_token = h.sandbox.tiktok.access_token();
    b.shutdown().await;
    h.cleanup().await;

    let log = captured.text();
    let entries = json_lines(&log);
    assert!(entries.len() >= 10, "the sync was logged: {log}");
    assert!(
        log.contains(ok) && log.contains(refused),
        "order ids are logged"
    );

    let email = order["buyer_email"].as_str().unwrap().to_string();
    let name = address.name.clone().unwrap();
    let pii = [
        name.as_str(),
        address.first_name.as_deref().unwrap(),
        address.address_line1.as_deref().unwrap(),
        address.full_address.as_deref().unwrap(),
        address.phone_number.as_deref().unwrap(),
        "2135550100",
        email.as_str(),
        "@scs2.tiktok.com",
        "90028-7314",
    ];
    let cfg = h.sandbox.tiktok.config();
    let ns = h.sandbox.netsuite.config();
    let secrets = [
        cfg.app_secret.as_str(),
        cfg.access_token.as_str(),
        cfg.refresh_token.as_str(),
        refreshed_token.as_str(),
        ns.consumer_secret.as_str(),
        ns.token_secret.as_str(),
        "test-admin-token-5d2e9a41c7b3f086",
    ];
    for needle in pii.iter().chain(secrets.iter()) {
        assert!(!needle.is_empty());
        if let Some(line) = log.lines().find(|l| l.contains(needle)) {
            panic!("{needle:?} leaked into the log: {line}");
        }
    }

    // Every worker line about a job carries the job span's ids; every ingress line the
    // request span's.
    let job_lines: Vec<_> = entries
        .iter()
        .filter(|e| e["fields"]["message"] == "job done")
        .collect();
    assert!(!job_lines.is_empty(), "a job finished: {log}");
    for line in &job_lines {
        assert_eq!(span_field(line, "job", "order_id").as_deref(), Some(ok));
        assert!(span_field(line, "job", "job_id").is_some(), "{line}");
        assert!(span_field(line, "job", "attempt").is_some(), "{line}");
    }
    let queued: Vec<_> = entries
        .iter()
        .filter(|e| e["fields"]["message"] == "webhook queued")
        .collect();
    assert_eq!(queued.len(), 2, "{log}");
    for line in &queued {
        assert!(
            span_field(line, "request", "request_id").is_some_and(|r| !r.is_empty()),
            "{line}"
        );
        assert!(span_field(line, "request", "job_id").is_some(), "{line}");
        assert!(span_field(line, "request", "order_id").is_some(), "{line}");
    }
}
