//! State cannot be replayed backwards: a validly signed topic 6 (deauthorization) body sent
//! again after its dedupe mark expired, and after the shop was authorized again, changes
//! nothing and is counted; a newer notice still applies.

mod common;

use bridge::app::RunningBridge;
use bridge::tiktok::authorization;
use common::Harness;

fn now() -> i64 {
    bridge::queue::now_ms() / 1000
}

/// A topic 6 body as TikTok signs it.
fn deauthorization(h: &Harness, notification_id: &str, timestamp: i64) -> (String, String) {
    let cfg = h.sandbox.tiktok.config();
    let body = serde_json::json!({
        "type": 6,
        "tts_notification_id": notification_id,
        "shop_id": cfg.shop_id,
        "timestamp": timestamp,
        "data": {"message": format!("Shop_id {} is deauthorized from your APP by merchant.", cfg.shop_id)},
    })
    .to_string();
    let sig =
        bridge::tiktok::sign::webhook_signature(&cfg.app_key, &cfg.app_secret, body.as_bytes());
    (body, sig)
}

async fn post(b: &RunningBridge, (body, sig): &(String, String)) -> u16 {
    reqwest::Client::new()
        .post(format!("http://{}/webhooks/tiktok", b.addr.unwrap()))
        .header("content-type", "application/json")
        .header("authorization", sig)
        .body(body.clone())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn deauthorized(b: &RunningBridge, shop: &str) -> bool {
    authorization::shop_status(b.state.as_ref(), shop)
        .await
        .unwrap()
        .is_deauthorized()
}

fn stale(b: &RunningBridge) -> u64 {
    b.metrics
        .webhooks_stale
        .get_or_create(&bridge::metrics::SourceTopic {
            source: "tiktok".into(),
            topic: "6".into(),
        })
        .get()
}

#[tokio::test]
async fn a_replayed_deauthorization_after_reauthorizing_changes_nothing() {
    let h = Harness::new().await;
    let b = h.start(&[("BRIDGE_ROLE", "ingress")]).await;
    let shop = h.sandbox.tiktok.config().shop_id.clone();

    // The merchant removes the app; TikTok says so.
    let old = deauthorization(&h, "7300000000000000601", now() - 120);
    assert_eq!(post(&b, &old).await, 200);
    assert!(deauthorized(&b, &shop).await);

    // The merchant authorizes the app again; an operator says so.
    let r = reqwest::Client::new()
        .post(format!(
            "http://{}/admin/shops/{shop}/reauthorize",
            b.addr.unwrap()
        ))
        .bearer_auth("test-admin-token-5d2e9a41c7b3f086")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(!deauthorized(&b, &shop).await);

    // Days later the dedupe mark has expired, and someone replays the captured body.
    b.state
        .delete("seen:deauthorization:tiktok:7300000000000000601")
        .await
        .unwrap();
    assert_eq!(post(&b, &old).await, 200);
    assert!(!deauthorized(&b, &shop).await, "the replay changed nothing");
    assert_eq!(stale(&b), 1, "and was counted");
    // Under another notification id too: the timestamp is what counts.
    let same_time = deauthorization(&h, "7300000000000000602", now() - 120);
    assert_eq!(post(&b, &same_time).await, 200);
    assert!(!deauthorized(&b, &shop).await);
    assert_eq!(stale(&b), 2);

    // A notice newer than the re-authorization still applies.
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    let newer = deauthorization(&h, "7300000000000000603", now());
    assert_eq!(post(&b, &newer).await, 200);
    assert!(deauthorized(&b, &shop).await);
    assert_eq!(stale(&b), 2);
    b.shutdown().await;
    h.cleanup().await;
}
