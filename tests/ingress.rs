//! Ingress refuses what it must and queues nothing for it: forged or missing signatures,
//! malformed bodies, oversized bodies; answers 503 (and acknowledges nothing) while Redis
//! is down; ignores unknown topics with a 200.

mod common;

use bridge::tiktok::sign::webhook_signature;
use common::own_redis::{spare_port, OwnRedis};
use common::Harness;
use std::time::Duration;

fn signed(h: &Harness, body: &[u8]) -> String {
    let t = h.sandbox.tiktok.config();
    webhook_signature(&t.app_key, &t.app_secret, body)
}

async fn post(url: &str, sig: Option<&str>, body: Vec<u8>) -> reqwest::Response {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body);
    if let Some(s) = sig {
        req = req.header("authorization", s);
    }
    req.send().await.unwrap()
}

fn event(shop: &str, topic: u32, nid: &str) -> Vec<u8> {
    format!(
        r#"{{"type":{topic},"tts_notification_id":"{nid}","shop_id":"{shop}","timestamp":1664095733,"data":{{"order_id":"576684019603311365","order_status":"AWAITING_SHIPMENT","update_time":1664095610}}}}"#
    )
    .into_bytes()
}

#[tokio::test]
async fn bad_requests_are_refused_and_nothing_is_queued() {
    let h = Harness::new().await;
    let b = h.start(&[("BRIDGE_ROLE", "ingress")]).await;
    let url = common::webhook_url(&b);
    let shop = h.sandbox.tiktok.config().shop_id.clone();
    let body = event(&shop, 1, "1001");
    let good = signed(&h, &body);

    // Missing, forged, uppercase, Bearer-prefixed signatures → 401.
    assert_eq!(post(&url, None, body.clone()).await.status(), 401);
    assert_eq!(
        post(&url, Some(&"0".repeat(64)), body.clone())
            .await
            .status(),
        401
    );
    assert_eq!(
        post(&url, Some(&good.to_uppercase()), body.clone())
            .await
            .status(),
        401
    );
    assert_eq!(
        post(&url, Some(&format!("Bearer {good}")), body.clone())
            .await
            .status(),
        401
    );
    // One changed byte of the body → 401.
    let mut tampered = body.clone();
    let pos = tampered.iter().position(|&c| c == b'5').unwrap();
    tampered[pos] = b'6';
    assert_eq!(post(&url, Some(&good), tampered).await.status(), 401);
    // Signed but not JSON → 400.
    let junk = b"{not json".to_vec();
    assert_eq!(
        post(&url, Some(&signed(&h, &junk)), junk).await.status(),
        400
    );
    // Signed but no order id on an order topic → 400.
    let no_id =
        format!(r#"{{"type":1,"tts_notification_id":"1002","shop_id":"{shop}","data":{{}}}}"#)
            .into_bytes();
    assert_eq!(
        post(&url, Some(&signed(&h, &no_id)), no_id).await.status(),
        400
    );
    // Over the 256 KiB default → 413.
    let mut big = event(&shop, 1, "1003");
    big.truncate(big.len() - 1);
    big.extend_from_slice(format!(r#","padding":"{}"}}"#, "x".repeat(300 * 1024)).as_bytes());
    assert_eq!(post(&url, Some(&signed(&h, &big)), big).await.status(), 413);
    // Unknown topic → 200, ignored, counted; and an answer body that is empty.
    let unknown = event(&shop, 99, "1004");
    let r = post(&url, Some(&signed(&h, &unknown)), unknown).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "");

    let stats = b.queue.stats().await.unwrap();
    assert_eq!(
        stats.depth, 0,
        "nothing queued for refused or ignored requests"
    );
    let m = b.metrics.encode();
    assert!(
        m.contains(r#"bridge_webhooks_rejected_total{source="tiktok",reason="bad_signature"} 4"#),
        "{m}"
    );
    assert!(m.contains(
        r#"bridge_webhooks_rejected_total{source="tiktok",reason="missing_signature"} 1"#
    ));
    assert!(m.contains(r#"bridge_webhooks_ignored_total{source="tiktok",topic="99"} 1"#));

    // And the good one is accepted and queued exactly once.
    assert_eq!(post(&url, Some(&good), body.clone()).await.status(), 200);
    assert_eq!(post(&url, Some(&good), body).await.status(), 200);
    assert_eq!(b.queue.stats().await.unwrap().depth, 1);
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn the_reference_webhook_vector_is_accepted() {
    // Reference §12: this exact body and signature, with app key/secret fake_app_key/secret.
    let h = Harness::new().await;
    let b = h
        .start(&[
            ("BRIDGE_ROLE", "ingress"),
            ("TIKTOK_APP_KEY", "fake_app_key"),
            ("TIKTOK_APP_SECRET", "fake_app_secret"),
            ("TIKTOK_SHOP_ID", "7494726673780148744"),
        ])
        .await;
    let body = br#"{"type":1,"shop_id":"7494726673780148744","timestamp":1664095733,"data":{"order_id":"576684019603311365","order_status":"AWAITING_SHIPMENT","update_time":1664095610}}"#;
    let sig = "21109834de72ec53c9959716d8514ae388ce1f123e5ffdcafc46713fcdf62b27";
    let r = post(&common::webhook_url(&b), Some(sig), body.to_vec()).await;
    assert_eq!(r.status(), 200);
    assert_eq!(b.queue.stats().await.unwrap().depth, 1);
    b.shutdown().await;
    h.cleanup().await;
}

async fn wait_redis(url: &str) {
    for _ in 0..100 {
        if let Ok(c) = redis::Client::open(url) {
            if let Ok(mut conn) = c.get_multiplexed_async_connection().await {
                if redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
                {
                    return;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("redis at {url} did not start");
}

#[tokio::test]
async fn redis_down_means_503_and_nothing_acknowledged_is_lost() {
    let h = Harness::new().await;
    let port = spare_port();
    let mut redis = OwnRedis::start(port, tempfile::tempdir().unwrap());
    wait_redis(&redis.url()).await;
    let url_redis = redis.url();
    let b = h
        .start(&[
            ("BRIDGE_ROLE", "ingress"),
            ("REDIS_URL", url_redis.as_str()),
        ])
        .await;
    let url = common::webhook_url(&b);
    let shop = h.sandbox.tiktok.config().shop_id.clone();
    let first = event(&shop, 1, "2001");
    assert_eq!(
        post(&url, Some(&signed(&h, &first)), first).await.status(),
        200
    );

    redis.stop();
    let second = event(&shop, 1, "2002");
    let started = std::time::Instant::now();
    let r = post(&url, Some(&signed(&h, &second)), second.clone()).await;
    assert_eq!(r.status(), 503, "no durable enqueue, no 200");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "answered inside TikTok's 3 s"
    );
    let ready = reqwest::get(format!("http://{}/readyz", b.addr.unwrap()))
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);

    // Redis comes back with its append-only file; TikTok retries the refused webhook.
    let dir = std::mem::replace(&mut redis.dir, tempfile::tempdir().unwrap());
    let redis2 = OwnRedis::start(port, dir);
    wait_redis(&redis2.url()).await;
    let mut ok = false;
    for _ in 0..40 {
        if post(&url, Some(&signed(&h, &second)), second.clone())
            .await
            .status()
            == 200
        {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(ok, "accepted once Redis is back");
    let stats = b.queue.stats().await.unwrap();
    assert_eq!(
        stats.depth, 2,
        "the acknowledged job survived, the retried one queued"
    );
    b.shutdown().await;
    drop(redis2);
}
