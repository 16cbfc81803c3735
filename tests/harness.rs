//! The test harness itself: `TestApp` on the embedded backend runs the same order flow as
//! on Redis, with no key under the test's prefix on the machine's Redis.

mod common;

use common::app::{cap, tshirt};
use common::TestApp;

#[tokio::test]
async fn the_embedded_backend_syncs_an_order_without_touching_redis() {
    let app = TestApp::builder().embedded().start().await;
    assert!(matches!(
        app.config(&[]).queue.backend,
        bridge::config::Backend::Embedded { .. }
    ));
    let oid = "576486316948495001";
    let so = app.place_and_sync(oid, &[tshirt(1), cap()]).await;
    assert!(so["id"].as_str().is_some(), "{so:#}");
    assert_eq!(app.job_count("order_sync", "done"), 1);
    assert_eq!(app.dead().await, 0);

    let client = redis::Client::open(common::redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{{{}}}:*", app.prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(keys.is_empty(), "{keys:?}");
    app.finish().await;
}
