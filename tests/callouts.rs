//! `POST /callouts/netsuite` against the real router on the machine's Redis: signatures,
//! the time window, replays, rotation, body limits and what lands on the queue. Replicas run
//! as ingress only, so queued jobs stay on the queue to be counted and read.

mod common;

use bridge::app::RunningBridge;
use bridge::netsuite::callout::sign;
use bridge::queue::Job;
use common::own_redis::{spare_port, OwnRedis};
use common::shipping::callout_url;
use common::Harness;
use sandbox::netsuite::callouts::SANDBOX_CALLOUT_SECRET;
use serde_json::json;
use std::time::Duration;

const INGRESS: (&str, &str) = ("BRIDGE_ROLE", "ingress");

fn now() -> i64 {
    bridge::queue::now_ms() / 1000
}

fn body(event_type: &str, account: &str, data: serde_json::Value) -> String {
    json!({
        "type": event_type,
        "occurred_at": "2026-11-27T18:00:00.000Z",
        "account": account,
        "data": data,
    })
    .to_string()
}

fn shipped(account: &str) -> String {
    body(
        "item_fulfillment.shipped",
        account,
        json!({"item_fulfillment_id": "4321", "created_from": "1234", "ship_status": "C"}),
    )
}

/// Posts `body` with the three headers as given (`None` leaves a header out).
async fn post(
    b: &RunningBridge,
    id: Option<&str>,
    ts: Option<i64>,
    signature: Option<String>,
    body: &str,
) -> u16 {
    let mut req = reqwest::Client::new()
        .post(callout_url(b))
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(id) = id {
        req = req.header("webhook-id", id);
    }
    if let Some(ts) = ts {
        req = req.header("webhook-timestamp", ts.to_string());
    }
    if let Some(sig) = signature {
        req = req.header("webhook-signature", sig);
    }
    req.send().await.expect("bridge answers").status().as_u16()
}

/// Signed with `secret` at `ts`.
async fn signed(b: &RunningBridge, secret: &str, id: &str, ts: i64, body: &str) -> u16 {
    let sig = sign(secret.as_bytes(), id, ts, body.as_bytes());
    post(b, Some(id), Some(ts), Some(sig), body).await
}

fn account(h: &Harness) -> String {
    h.settings["NETSUITE_ACCOUNT_ID"].clone()
}

async fn depth(b: &RunningBridge) -> u64 {
    b.queue.stats().await.unwrap().depth
}

fn rejected(b: &RunningBridge, reason: &str) -> bool {
    b.metrics.encode().lines().any(|l| {
        l.starts_with("bridge_webhooks_rejected_total{")
            && l.contains("source=\"netsuite\"")
            && l.contains(&format!("reason=\"{reason}\""))
            && !l.ends_with(" 0")
    })
}

#[tokio::test]
async fn a_signed_callout_is_queued_once_and_replays_are_deduped() {
    let h = Harness::new().await;
    let b = h.start(&[INGRESS]).await;
    let body = shipped(&account(&h));
    let id = "ns_itemfulfillment_4321_shipped_loyw3v28x7k2q9";
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, id, now(), &body).await,
        200
    );
    // The outbox's retries: same id and body, signed again later.
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, id, now() + 1, &body).await,
        200
    );
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, id, now() - 30, &body).await,
        200
    );
    assert_eq!(depth(&b).await, 1);
    let jobs = b
        .queue
        .read("test", 10, Duration::from_millis(100))
        .await
        .unwrap();
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        jobs[0].envelope.job,
        Job::FulfillmentPush {
            fulfillment_id: "4321".into(),
            event: "item_fulfillment.shipped".into(),
            sales_order_id: Some("1234".into()),
        }
    );
    let text = b.metrics.encode();
    assert!(text.contains(
        "bridge_webhooks_duplicate_total{source=\"netsuite\",topic=\"item_fulfillment.shipped\"} 2"
    ), "{text}");
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_wrong_or_missing_signature_is_refused_and_nothing_queued() {
    let h = Harness::new().await;
    let b = h.start(&[INGRESS]).await;
    let body = shipped(&account(&h));
    // Signed with another secret.
    assert_eq!(
        signed(&b, "not-the-secret", "ns_a", now(), &body).await,
        401
    );
    // Signed over a different body.
    let sig = sign(SANDBOX_CALLOUT_SECRET.as_bytes(), "ns_b", now(), b"{}");
    assert_eq!(
        post(&b, Some("ns_b"), Some(now()), Some(sig), &body).await,
        401
    );
    // Signed for another id (the id is part of the signed content).
    let sig = sign(
        SANDBOX_CALLOUT_SECRET.as_bytes(),
        "ns_c",
        now(),
        body.as_bytes(),
    );
    assert_eq!(
        post(&b, Some("ns_other"), Some(now()), Some(sig), &body).await,
        401
    );
    // Headers missing, or a hex signature of the superseded convention.
    let sig = sign(
        SANDBOX_CALLOUT_SECRET.as_bytes(),
        "ns_d",
        now(),
        body.as_bytes(),
    );
    assert_eq!(post(&b, Some("ns_d"), Some(now()), None, &body).await, 401);
    assert_eq!(
        post(&b, None, Some(now()), Some(sig.clone()), &body).await,
        401
    );
    assert_eq!(post(&b, Some("ns_d"), None, Some(sig), &body).await, 401);
    assert_eq!(
        post(
            &b,
            Some("ns_e"),
            Some(now()),
            Some("v1,deadbeef".into()),
            &body
        )
        .await,
        401
    );
    assert_eq!(depth(&b).await, 0);
    assert!(rejected(&b, "bad_signature"));
    assert!(rejected(&b, "missing_signature"));
    // A correct one still gets through afterwards: the refusals marked nothing as seen.
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, "ns_a", now(), &body).await,
        200
    );
    assert_eq!(depth(&b).await, 1);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_timestamp_outside_five_minutes_is_refused() {
    let h = Harness::new().await;
    let b = h.start(&[INGRESS]).await;
    let body = shipped(&account(&h));
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, "ns_old", now() - 400, &body).await,
        401
    );
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, "ns_new", now() + 400, &body).await,
        401
    );
    let sig = sign(
        SANDBOX_CALLOUT_SECRET.as_bytes(),
        "ns_x",
        0,
        body.as_bytes(),
    );
    let mut req = reqwest::Client::new()
        .post(callout_url(&b))
        .body(body.clone())
        .header("webhook-id", "ns_x")
        .header("webhook-timestamp", "soon");
    req = req.header("webhook-signature", sig);
    assert_eq!(req.send().await.unwrap().status().as_u16(), 401);
    assert_eq!(depth(&b).await, 0);
    assert!(rejected(&b, "stale_timestamp"));
    // Inside the window on either side is fine.
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, "ns_old", now() - 250, &body).await,
        200
    );
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, "ns_new", now() + 250, &body).await,
        200
    );
    assert_eq!(depth(&b).await, 2);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn during_a_rotation_both_secrets_verify() {
    let h = Harness::new().await;
    let b = h
        .start(&[
            INGRESS,
            (
                "NETSUITE_CALLOUT_SECRET",
                "new-secret-1-a7c94e02b58f3d16e9a0c4b7 old-secret-0-3e81d5f7a92c04b6d1e8f5a3",
            ),
        ])
        .await;
    let body = shipped(&account(&h));
    assert_eq!(
        signed(
            &b,
            "new-secret-1-a7c94e02b58f3d16e9a0c4b7",
            "ns_1",
            now(),
            &body
        )
        .await,
        200
    );
    assert_eq!(
        signed(
            &b,
            "old-secret-0-3e81d5f7a92c04b6d1e8f5a3",
            "ns_2",
            now(),
            &body
        )
        .await,
        200
    );
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, "ns_3", now(), &body).await,
        401
    );
    // Several signature entries in one header: any match counts.
    let good = sign(
        b"new-secret-1-a7c94e02b58f3d16e9a0c4b7",
        "ns_4",
        now(),
        body.as_bytes(),
    );
    let bad = sign(b"retired", "ns_4", now(), body.as_bytes());
    assert_eq!(
        post(
            &b,
            Some("ns_4"),
            Some(now()),
            Some(format!("{bad} {good}")),
            &body
        )
        .await,
        200
    );
    assert_eq!(depth(&b).await, 3);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn without_a_configured_secret_every_callout_is_refused() {
    let h = Harness::new().await;
    let mut settings = h.settings.clone();
    settings.remove("NETSUITE_CALLOUT_SECRET");
    settings.insert("BRIDGE_ROLE".into(), "ingress".into());
    let cfg = bridge::config::Config::from_source(&settings).unwrap();
    assert!(cfg.callout_secrets.is_empty());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let b = bridge::app::start(cfg, Some(listener)).await.unwrap();
    let body = shipped(&account(&h));
    assert_eq!(post(&b, Some("ns_1"), Some(now()), None, &body).await, 503);
    // Not even a signature made with an empty key gets through.
    assert_eq!(signed(&b, "", "ns_2", now(), &body).await, 503);
    assert_eq!(depth(&b).await, 0);
    assert!(rejected(&b, "not_configured"));
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn malformed_bodies_are_400_and_oversized_ones_413() {
    let h = Harness::new().await;
    let b = h.start(&[INGRESS, ("MAX_BODY_BYTES", "4096")]).await;
    for (id, body) in [
        ("ns_m1", "not json".to_string()),
        (
            "ns_m2",
            body("item_fulfillment.shipped", &account(&h), json!({})),
        ),
        ("ns_m3", r#"{"type":"inventory.changed"}"#.to_string()),
    ] {
        assert_eq!(
            signed(&b, SANDBOX_CALLOUT_SECRET, id, now(), &body).await,
            400,
            "{body}"
        );
    }
    let big = body(
        "inventory.changed",
        &account(&h),
        json!({"record_type": "itemreceipt", "record_id": "1", "item_ids": vec!["123456789"; 600]}),
    );
    assert!(big.len() > 4096);
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, "ns_big", now(), &big).await,
        413
    );
    assert_eq!(depth(&b).await, 0);
    assert!(rejected(&b, "malformed_json"));
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn unknown_types_are_answered_200_and_not_queued() {
    let h = Harness::new().await;
    let b = h.start(&[INGRESS]).await;
    let body = body("item.changed", &account(&h), json!({"item_id": "9"}));
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, "ns_u", now(), &body).await,
        200
    );
    assert_eq!(depth(&b).await, 0);
    let text = b.metrics.encode();
    assert!(
        text.contains(
            "bridge_webhooks_ignored_total{source=\"netsuite\",topic=\"item.changed\"} 1"
        ),
        "{text}"
    );
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn a_callout_from_another_account_is_refused() {
    let h = Harness::new().await;
    let b = h.start(&[INGRESS]).await;
    let body = shipped("9999999_SB2");
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, "ns_acct", now(), &body).await,
        401
    );
    assert_eq!(depth(&b).await, 0);
    assert!(rejected(&b, "wrong_account"));
    // Case and `-`/`_` do not matter.
    let same = shipped(&account(&h).to_lowercase().replace('_', "-"));
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, "ns_acct2", now(), &same).await,
        200
    );
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn stock_and_sales_order_callouts_queue_inventory_syncs() {
    let h = Harness::new().await;
    let b = h.start(&[INGRESS]).await;
    let acct = account(&h);
    let shop = h.settings["TIKTOK_SHOP_ID"].clone();
    let inv = body(
        "inventory.changed",
        &acct,
        json!({"record_type": "itemreceipt", "record_id": "55", "item_ids": ["501", 502]}),
    );
    let closed = body(
        "sales_order.closed",
        &acct,
        json!({"sales_order_id": "1234", "external_id": "tiktok-order:1", "order_status": "H"}),
    );
    let cancelled = body(
        "sales_order.cancelled",
        &acct,
        json!({"sales_order_id": "1235", "order_status": "C"}),
    );
    for (id, body) in [("ns_i", &inv), ("ns_c", &closed), ("ns_x", &cancelled)] {
        assert_eq!(
            signed(&b, SANDBOX_CALLOUT_SECRET, id, now(), body).await,
            200
        );
    }
    let jobs: Vec<Job> = b
        .queue
        .read("test", 10, Duration::from_millis(100))
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.envelope.job)
        .collect();
    let sync = |item_ids: Vec<&str>, source: &str| Job::InventorySync {
        shop_id: shop.clone(),
        item_ids: item_ids.into_iter().map(String::from).collect(),
        source: source.into(),
    };
    assert_eq!(
        jobs,
        vec![
            sync(vec!["501", "502"], "callout"),
            sync(vec![], "sales_order:1234"),
            sync(vec![], "sales_order:1235"),
        ]
    );
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn carrier_map_and_hold_settings_are_read_and_checked() {
    let h = Harness::new().await;
    let cfg = h.config(&[
        (
            "CARRIER_MAP",
            " UPS = 7117859084333745966 , FedEx Ground=7129736293935597354",
        ),
        ("ON_HOLD_RECHECK_SECS", "42"),
    ]);
    assert_eq!(
        cfg.mapping.carrier_map.get("ups").map(String::as_str),
        Some("7117859084333745966")
    );
    assert_eq!(
        cfg.mapping
            .carrier_map
            .get("fedex ground")
            .map(String::as_str),
        Some("7129736293935597354")
    );
    assert_eq!(cfg.mapping.hold_recheck, Duration::from_secs(42));
    assert_eq!(h.config(&[]).mapping.hold_recheck, Duration::from_secs(300));
    let mut settings = h.settings.clone();
    for (name, bad) in [
        ("CARRIER_MAP", "UPS"),
        ("CARRIER_MAP", "UPS=not-an-id"),
        ("CARRIER_MAP", "=123"),
        ("ON_HOLD_RECHECK_SECS", "0"),
    ] {
        let mut s = settings.clone();
        s.insert(name.into(), bad.into());
        let err = bridge::config::Config::from_source(&s).unwrap_err();
        assert!(err.to_string().contains(name), "{name}={bad}: {err}");
    }
    // The rotation list splits on whitespace.
    settings.insert(
        "NETSUITE_CALLOUT_SECRET".into(),
        " new-secret-1-a7c94e02b58f3d16e9a0c4b7\told-secret-0-3e81d5f7a92c04b6d1e8f5a3  ".into(),
    );
    let cfg = bridge::config::Config::from_source(&settings).unwrap();
    assert_eq!(cfg.callout_secrets.len(), 2);
}

#[tokio::test]
async fn queue_down_means_503_and_the_outbox_retry_is_queued_once() {
    let h = Harness::new().await;
    let port = spare_port();
    let mut own = OwnRedis::start(port, tempfile::tempdir().unwrap());
    own.ready().await;
    let url = own.url();
    let b = h.start(&[INGRESS, ("REDIS_URL", url.as_str())]).await;
    let body = shipped(&account(&h));
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, "ns_before", now(), &body).await,
        200
    );

    own.stop();
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, "ns_during", now(), &body).await,
        503
    );
    assert!(rejected(&b, "queue_unavailable") || rejected(&b, "queue_timeout"));

    // Redis comes back with its append-only file; the outbox sends the callout again.
    let dir = std::mem::replace(&mut own.dir, tempfile::tempdir().unwrap());
    let again = OwnRedis::start(port, dir);
    again.ready().await;
    common::eventually(Duration::from_secs(10), "retry accepted", || async {
        signed(&b, SANDBOX_CALLOUT_SECRET, "ns_during", now(), &body).await == 200
    })
    .await;
    assert_eq!(
        signed(&b, SANDBOX_CALLOUT_SECRET, "ns_during", now(), &body).await,
        200
    );
    assert_eq!(
        depth(&b).await,
        2,
        "the first callout survived, the retry queued once"
    );
    b.shutdown().await;
    drop(again);
}
