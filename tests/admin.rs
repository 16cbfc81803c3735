//! The admin API and CLI end to end: the real router and workers, the machine's Redis and
//! the sandbox. Each test asserts on what NetSuite and the queue ended up holding.

mod common;

use bridge::app::RunningBridge;
use common::{eventually, queue_idle, Harness};
use rust_decimal_macros::dec;
use sandbox::netsuite::NetSuiteFaults;
use sandbox::tiktok::fixtures::SampleLine;
use serde_json::{json, Value};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(20);
const TOKEN: &str = "test-admin-token-5d2e9a41c7b3f086";

fn lines_ab() -> Vec<SampleLine> {
    vec![
        SampleLine::new("TSHIRT-BLK-M", dec!(19.99), 3).with_discounts(dec!(2.00), dec!(1.50)),
        SampleLine::new("CAP-RED", dec!(12.50), 1),
    ]
}

struct Admin {
    http: reqwest::Client,
    base: String,
}

impl Admin {
    fn new(b: &RunningBridge) -> Admin {
        Admin {
            http: reqwest::Client::new(),
            base: format!("http://{}", b.addr.expect("ingress runs")),
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str) -> (u16, Value) {
        let r = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("admin API answers");
        let status = r.status().as_u16();
        let body = r.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::GET, path).await
    }

    async fn post(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::POST, path).await
    }

    async fn delete(&self, path: &str) -> (u16, Value) {
        self.call(reqwest::Method::DELETE, path).await
    }

    async fn dead_letters(&self) -> Vec<Value> {
        let (status, v) = self.get("/admin/dead-letters").await;
        assert_eq!(status, 200, "{v}");
        v["dead_letters"].as_array().cloned().unwrap_or_default()
    }

    async fn parked(&self) -> Vec<Value> {
        let (status, v) = self.get("/admin/parked").await;
        assert_eq!(status, 200, "{v}");
        v["parked"].as_array().cloned().unwrap_or_default()
    }

    async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("metrics text")
    }
}

/// An order whose CAP-RED line NetSuite rejects for good, sent and dead-lettered.
async fn dead_lettered_order(h: &Harness, b: &RunningBridge, admin: &Admin, id: &str) -> String {
    let cap = h.item_id("CAP-RED");
    h.sandbox.netsuite.set_faults(NetSuiteFaults {
        failing_item_ids: vec![cap],
        ..Default::default()
    });
    h.order(id, &lines_ab());
    assert_eq!(h.webhook(b, 1, id).await, 200);
    eventually(WAIT, "job dead-lettered", || async {
        admin.dead_letters().await.len() == 1
    })
    .await;
    let dead = admin.dead_letters().await;
    assert_eq!(dead[0]["envelope"]["job"]["order_id"], id);
    dead[0]["id"].as_str().expect("dead letter id").to_string()
}

fn kinds_and_outcomes(history: &Value) -> Vec<String> {
    history["history"]
        .as_array()
        .expect("history list")
        .iter()
        .map(|e| {
            let detail = e["outcome"]
                .as_str()
                .or(e["action"].as_str())
                .or(e["record_type"].as_str())
                .unwrap_or("");
            format!("{}:{detail}", e["kind"].as_str().unwrap_or("?"))
        })
        .collect()
}

#[tokio::test]
async fn a_dead_letter_replayed_through_the_admin_api_becomes_one_sales_order() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let admin = Admin::new(&b);
    let id = "576486316948491001";
    let dl = dead_lettered_order(&h, &b, &admin, id).await;

    let (status, one) = admin.get(&format!("/admin/dead-letters/{dl}")).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(one["id"], dl.as_str());
    assert_eq!(one["envelope"]["job"]["order_id"], id);
    assert!(
        one["error"]
            .as_str()
            .unwrap()
            .contains("rejected the record content"),
        "{one}"
    );
    assert!(h.sales_order(id).is_none());

    // The operator fixes the cause, then replays.
    h.sandbox.netsuite.clear_faults();
    let (status, replayed) = admin
        .post(&format!("/admin/dead-letters/{dl}/replay"))
        .await;
    assert_eq!(status, 200, "{replayed}");
    assert_eq!(replayed["replayed"], true);
    eventually(WAIT, "replayed order landed", || async {
        h.sales_order(id).is_some()
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;

    assert!(
        admin.dead_letters().await.is_empty(),
        "the dead letter is gone"
    );
    assert_eq!(admin.get(&format!("/admin/dead-letters/{dl}")).await.0, 404);
    assert_eq!(
        admin
            .post(&format!("/admin/dead-letters/{dl}/replay"))
            .await
            .0,
        404,
        "a dead letter replays once"
    );
    assert_eq!(
        h.sandbox
            .netsuite
            .sales_order_writes(&format!("tiktok-order:{id}")),
        1
    );
    assert_eq!(b.queue.stats().await.unwrap().dead, 0);

    // The order's history tells the whole story, with NetSuite's internal id.
    let (status, history) = admin.get(&format!("/admin/orders/{id}/history")).await;
    assert_eq!(status, 200, "{history}");
    let story = kinds_and_outcomes(&history);
    let pos = |what: &str| {
        story
            .iter()
            .position(|s| s == what)
            .unwrap_or_else(|| panic!("{what} missing from {story:?}"))
    };
    assert!(
        pos("event_received:queued") < pos("job_run:dead"),
        "{story:?}"
    );
    assert!(pos("job_run:dead") < pos("admin_action:replay_dead_letter"));
    assert!(pos("admin_action:replay_dead_letter") < pos("job_run:done"));
    assert!(story.contains(&"tiktok_call:ok".to_string()), "{story:?}");
    let so = h.sales_order(id).unwrap();
    let write = history["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "netsuite_write" && e["record_type"] == "salesOrder")
        .expect("sales order write recorded");
    assert_eq!(write["internal_id"], so["id"]);
    assert_eq!(write["external_id"], format!("tiktok-order:{id}"));
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn discarding_a_dead_letter_and_releasing_a_parked_job() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let admin = Admin::new(&b);
    let dl = dead_lettered_order(&h, &b, &admin, "576486316948491101").await;
    let (status, v) = admin.delete(&format!("/admin/dead-letters/{dl}")).await;
    assert_eq!(status, 200, "{v}");
    assert!(admin.dead_letters().await.is_empty());
    assert_eq!(
        admin.delete(&format!("/admin/dead-letters/{dl}")).await.0,
        404
    );
    assert_eq!(
        admin.delete("/admin/dead-letters/not-a-stream-id").await.0,
        404,
        "an id the queue cannot parse is simply not there"
    );
    h.sandbox.netsuite.clear_faults();

    // Unpark timer is hourly in tests: only the admin release can bring this one back.
    let id = "576486316948491102";
    h.order(id, &[SampleLine::new("LATE-SKU-1", dec!(30.00), 2)]);
    assert_eq!(h.webhook(&b, 1, id).await, 200);
    eventually(WAIT, "order parked", || async {
        admin.parked().await.len() == 1
    })
    .await;
    let parked = admin.parked().await;
    assert_eq!(parked[0]["reason"]["kind"], "unknown_sku");
    assert_eq!(parked[0]["reason"]["skus"][0], "LATE-SKU-1");
    let job_id = parked[0]["envelope"]["id"].as_str().unwrap().to_string();
    h.sandbox.netsuite.add_item("LATE-SKU-1");
    let (status, v) = admin.post(&format!("/admin/parked/{job_id}/release")).await;
    assert_eq!(status, 200, "{v}");
    assert_ne!(v["new_job_id"], job_id.as_str());
    eventually(WAIT, "released order landed", || async {
        h.sales_order(id).is_some()
    })
    .await;
    assert!(admin.parked().await.is_empty());
    assert_eq!(
        admin
            .post(&format!("/admin/parked/{job_id}/release"))
            .await
            .0,
        404
    );
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn the_admin_api_needs_its_token_and_is_absent_without_one() {
    let h = Harness::new().await;
    let on = h.start(&[]).await;
    let off = h.start(&[("ADMIN_TOKEN", "")]).await;
    let http = reqwest::Client::new();
    let url = |b: &RunningBridge, p: &str| format!("http://{}{p}", b.addr.unwrap());
    for path in ["/admin/dead-letters", "/admin/parked", "/admin/shops"] {
        let r = http.get(url(&on, path)).send().await.unwrap();
        assert_eq!(r.status(), 401, "{path} without a token");
        let r = http
            .get(url(&on, path))
            .bearer_auth("wrong-token")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{path} with a wrong token");
        let r = http
            .get(url(&off, path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404, "{path} when no ADMIN_TOKEN is configured");
    }
    let r = http
        .post(url(&on, "/admin/dead-letters/1-0/replay"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "actions need the token too");
    on.shutdown().await;
    off.shutdown().await;
    h.cleanup().await;
}

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn a_deauthorized_shop_parks_its_work_until_it_is_authorized_again() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let admin = Admin::new(&b);
    let shop = h.sandbox.tiktok.config().shop_id.clone();
    let url = common::webhook_url(&b);
    let tt = &h.sandbox.tiktok;
    let now = bridge::queue::now_ms() / 1000;
    let gauge = |name: &str| format!("{name}{{shop_id=\"{shop}\"}}");

    // A refresh (the sandbox expired the token) makes the access token expiry known.
    tt.expire_access_token();
    let first = "576486316948491201";
    h.order(first, &lines_ab());
    assert_eq!(h.webhook(&b, 1, first).await, 200);
    eventually(WAIT, "first order landed", || async {
        h.sales_order(first).is_some()
    })
    .await;
    assert_eq!(tt.refreshes(), 1);
    let m = admin.metrics().await;
    let expiry = metric(&m, &gauge("bridge_tiktok_token_expiry_timestamp_seconds"))
        .unwrap_or_else(|| panic!("token expiry gauge missing:\n{m}"));
    assert!(expiry > (now + 86_400) as f64, "{expiry}");

    // Topic 7: the authorization ends in 20 days.
    let ends = now + 20 * 86_400;
    let data = json!({
        "message": format!("Authorization of shop_id {shop} is expiring in 20 days. Please direct the merchant to re-authorize."),
        "expiration_time": ends.to_string(),
    });
    assert_eq!(tt.send_webhook(&url, 7, data).await.unwrap().as_u16(), 200);
    let m = admin.metrics().await;
    assert_eq!(
        metric(
            &m,
            &gauge("bridge_tiktok_authorization_expiry_timestamp_seconds")
        ),
        Some(ends as f64),
        "{m}"
    );

    // Topic 6: the merchant removed the app.
    let data =
        json!({ "message": format!("Shop_id {shop} is deauthorized from your APP by merchant.") });
    let notice = "7327112393057371999";
    let s = tt
        .send_webhook_with_id(&url, 6, notice, data.clone())
        .await
        .unwrap();
    assert_eq!(s.as_u16(), 200);
    let (status, shops) = admin.get("/admin/shops").await;
    assert_eq!(status, 200, "{shops}");
    let s0 = &shops["shops"][0];
    assert_eq!(s0["shop_id"], shop.as_str());
    assert_eq!(s0["authorization"], "deauthorized", "{shops}");
    assert_eq!(s0["authorization_expires_at"].to_string(), ends.to_string());
    assert!(s0["access_token_expires_at"].is_number(), "{shops}");
    assert!(
        !shops.to_string().contains(&tt.access_token()),
        "tokens never leave the bridge"
    );
    let m = admin.metrics().await;
    assert_eq!(
        metric(&m, &gauge("bridge_tiktok_shop_deauthorized")),
        Some(1.0)
    );

    // Work for the shop stops: the job parks and TikTok is not called.
    let calls_before = tt.calls(bridge::tiktok::client::GET_ORDER_DETAIL_PATH);
    let second = "576486316948491202";
    h.order(second, &lines_ab());
    assert_eq!(h.webhook(&b, 1, second).await, 200);
    eventually(WAIT, "job parked for the deauthorized shop", || async {
        admin.parked().await.len() == 1
    })
    .await;
    let parked = admin.parked().await;
    assert_eq!(parked[0]["reason"]["kind"], "shop_deauthorized");
    assert_eq!(parked[0]["reason"]["shop_id"], shop.as_str());
    assert_eq!(
        tt.calls(bridge::tiktok::client::GET_ORDER_DETAIL_PATH),
        calls_before
    );
    assert!(h.sales_order(second).is_none());
    let m = admin.metrics().await;
    assert!(
        m.contains("bridge_parked_jobs{reason=\"shop_deauthorized\"} 1"),
        "{m}"
    );

    // Authorized again: the parked order syncs, and a late retry of the old notice does
    // not revoke the shop a second time.
    let (status, v) = admin
        .post(&format!("/admin/shops/{shop}/reauthorize"))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["released"].to_string(), "1");
    assert_eq!(v["shop"]["authorization"], "authorized");
    eventually(WAIT, "parked order landed", || async {
        h.sales_order(second).is_some()
    })
    .await;
    let s = tt
        .send_webhook_with_id(&url, 6, notice, data)
        .await
        .unwrap();
    assert_eq!(s.as_u16(), 200);
    let (_, shops) = admin.get("/admin/shops").await;
    assert_eq!(shops["shops"][0]["authorization"], "authorized");
    let m = admin.metrics().await;
    assert_eq!(
        metric(&m, &gauge("bridge_tiktok_shop_deauthorized")),
        Some(0.0)
    );
    assert!(
        m.contains("bridge_parked_jobs{reason=\"shop_deauthorized\"} 0"),
        "{m}"
    );
    assert_eq!(
        admin.post("/admin/shops/123/reauthorize").await.0,
        404,
        "only the served shop"
    );
    b.shutdown().await;
    h.cleanup().await;
}

async fn cli(b: &RunningBridge, args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tiktok-netsuite-bridge"))
        .arg("admin")
        .arg("--url")
        .arg(format!("http://{}", b.addr.unwrap()))
        .args(args)
        .env("ADMIN_TOKEN", TOKEN)
        .output()
        .await
        .expect("CLI runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn the_cli_lists_shows_and_replays_a_dead_letter() {
    let h = Harness::new().await;
    let b = h.start(&[]).await;
    let admin = Admin::new(&b);
    let id = "576486316948491301";
    let dl = dead_lettered_order(&h, &b, &admin, id).await;

    let (ok, out) = cli(&b, &["dead-letters", "list"]).await;
    assert!(ok, "{out}");
    assert!(out.starts_with("ID"), "a table: {out}");
    assert!(out.contains(&dl) && out.contains(id), "{out}");
    let (ok, out) = cli(&b, &["dead-letters", "show", &dl, "--json"]).await;
    assert!(ok, "{out}");
    let v: Value = serde_json::from_str(&out).expect("--json prints JSON");
    assert_eq!(v["envelope"]["job"]["order_id"], id);
    let (ok, out) = cli(&b, &["shops"]).await;
    assert!(ok && out.contains("authorized"), "{out}");
    let (ok, out) = cli(&b, &["parked", "list"]).await;
    assert!(ok && out.contains("Nothing parked"), "{out}");

    h.sandbox.netsuite.clear_faults();
    let (ok, out) = cli(&b, &["dead-letters", "replay", &dl]).await;
    assert!(ok && out.contains("replayed"), "{out}");
    eventually(WAIT, "replayed order landed", || async {
        h.sales_order(id).is_some()
    })
    .await;
    eventually(WAIT, "queue drained", || queue_idle(b.queue.as_ref())).await;
    let (ok, out) = cli(&b, &["history", id]).await;
    assert!(ok, "{out}");
    assert!(
        out.contains("netsuite_write") && out.contains("replay_dead_letter"),
        "{out}"
    );
    let (ok, out) = cli(&b, &["dead-letters", "replay", &dl]).await;
    assert!(!ok && out.contains("no dead letter"), "{out}");
    b.shutdown().await;
    h.cleanup().await;
}

#[tokio::test]
async fn bulk_replay_takes_the_dead_letters_of_one_kind_error_and_time_range_once() {
    use bridge::queue::{now_ms, Job, JobEnvelope, JobQueue, SyncTrigger};
    let h = Harness::new().await;
    // Ingress only: replayed jobs stay on the queue where the test can see them.
    let b = h
        .start(&[("BRIDGE_ROLE", "ingress"), ("CONSUMER_NAME", "ingress")])
        .await;
    let admin = Admin::new(&b);
    let q: &dyn JobQueue = b.queue.as_ref();
    let sync = |id: &str| {
        JobEnvelope::new(Job::OrderSync {
            shop_id: "shop".into(),
            order_id: id.into(),
            trigger: SyncTrigger::Manual,
            update_time: None,
        })
    };
    let cancel = |id: &str| {
        JobEnvelope::new(Job::Cancellation {
            shop_id: "shop".into(),
            order_id: id.into(),
            cancel_id: None,
        })
    };
    let kill = |env: JobEnvelope, error: &'static str| async move {
        q.enqueue(&env).await.unwrap();
        let d = q.read("c", 1, Duration::from_millis(100)).await.unwrap();
        q.dead_letter(&d[0], error).await.unwrap();
        env.id
    };
    let old_503 = kill(sync("o1"), "gave up: netsuite: HTTP 503").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let since = now_ms();
    let outage_a = kill(sync("o2"), "gave up: netsuite: HTTP 503").await;
    let outage_b = kill(sync("o3"), "gave up: NetSuite HTTP 503 page").await;
    let invalid = kill(sync("o4"), "rejected the record content").await;
    let cancel_503 = kill(cancel("o5"), "gave up: netsuite: HTTP 503").await;

    let (status, _) = admin.post("/admin/dead-letters/replay").await;
    assert_eq!(status, 400, "a bulk replay needs a filter");
    let (status, v) = admin
        .post(&format!(
            "/admin/dead-letters/replay?kind=order_sync&error=http%20503&since_ms={since}"
        ))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["matched"].as_u64(), v["replayed"].as_u64()),
        (Some(2), Some(2))
    );
    let mut replayed: Vec<String> = v["job_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j.as_str().unwrap().to_string())
        .collect();
    replayed.sort();
    let mut expected = vec![outage_a, outage_b];
    expected.sort();
    assert_eq!(replayed, expected);
    let left: Vec<String> = q
        .dead_letters(10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.envelope.id)
        .collect();
    assert_eq!(left.len(), 3);
    for id in [&old_503, &invalid, &cancel_503] {
        assert!(left.contains(id), "{id} stays dead");
    }
    let queued = q.read("c2", 10, Duration::from_millis(100)).await.unwrap();
    assert_eq!(queued.len(), 2);
    assert!(queued.iter().all(|d| d.envelope.attempt == 1));
    // The same replay again finds nothing more.
    let (_, again) = admin
        .post(&format!(
            "/admin/dead-letters/replay?kind=order_sync&error=http%20503&since_ms={since}"
        ))
        .await;
    assert_eq!(again["replayed"], 0);
    b.shutdown().await;
    h.cleanup().await;
}
