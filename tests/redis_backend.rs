//! Redis-only behaviour of the Redis backends, against a real Redis: what the shared
//! contract suite (tests/backend_contract.rs, run on Redis and SQLite) cannot show —
//! concurrent promotion, XAUTOCLAIM details, corrupt stream entries, and outages of a
//! private `redis-server` this file starts, stops and freezes. The shared server at
//! 127.0.0.1:6379 is used under a key prefix per test, removed afterwards.

use bridge::queue::redis::{delete_keys_with_prefix, RedisQueue};
use bridge::queue::{
    now_ms, Delivery, EnqueueOutcome, Job, JobEnvelope, JobQueue, QueueError, SyncTrigger,
};
use bridge::state::redis::RedisState;
use bridge::state::StateStore;
use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const URL: &str = "redis://127.0.0.1:6379";

/// A fresh key prefix whose keys are deleted when the test ends, even by a panic.
struct Prefix(String);

impl Prefix {
    fn new() -> Self {
        Prefix(format!("test-{}", uuid::Uuid::new_v4()))
    }
}

impl Drop for Prefix {
    fn drop(&mut self) {
        let prefix = self.0.clone();
        // Drop cannot await, and the test's runtime may be gone: clean up on a runtime of our own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            rt.block_on(delete_keys_with_prefix(URL, &prefix))
                .expect("delete test keys");
        })
        .join();
    }
}

fn job(order_id: &str) -> JobEnvelope {
    JobEnvelope::new(Job::OrderSync {
        shop_id: "shop-1".into(),
        order_id: order_id.into(),
        trigger: SyncTrigger::StatusWebhook,
        update_time: None,
    })
}

async fn queue(prefix: &Prefix) -> RedisQueue {
    RedisQueue::connect(URL, &prefix.0).await.expect("connect")
}

async fn raw_conn() -> redis::aio::MultiplexedConnection {
    redis::Client::open(URL)
        .expect("client")
        .get_multiplexed_async_connection()
        .await
        .expect("raw connection")
}

async fn read_all(q: &RedisQueue, consumer: &str) -> Vec<Delivery> {
    q.read(consumer, 100, Duration::from_millis(50))
        .await
        .expect("read")
}

#[tokio::test]
async fn concurrent_promote_due_never_double_queues() {
    let p = Prefix::new();
    let q = queue(&p).await;
    for i in 0..100 {
        q.enqueue(&job(&format!("o{i}"))).await.unwrap();
    }
    let deliveries = q.read("c1", 100, Duration::from_millis(50)).await.unwrap();
    assert_eq!(deliveries.len(), 100);
    let past = now_ms() - 1;
    for d in &deliveries {
        q.retry_at(d, &d.envelope, past).await.unwrap();
    }

    let mut tasks = Vec::new();
    for _ in 0..2 {
        let q = Arc::new(queue(&p).await);
        tasks.push(tokio::spawn(async move {
            let mut total = 0;
            loop {
                let n = q.promote_due(now_ms(), 7).await.unwrap();
                if n == 0 {
                    return total;
                }
                total += n;
            }
        }));
    }
    let mut promoted = 0;
    for t in tasks {
        promoted += t.await.unwrap();
    }
    assert_eq!(promoted, 100);
    let stats = q.stats().await.unwrap();
    assert_eq!((stats.depth, stats.delayed), (100, 0));
    let again = q.read("c1", 500, Duration::from_millis(50)).await.unwrap();
    let ids: HashSet<String> = again.iter().map(|d| d.envelope.id.clone()).collect();
    assert_eq!((again.len(), ids.len()), (100, 100));
}

#[tokio::test]
async fn dead_letters_list_newest_first_and_replay_or_discard_by_id() {
    let p = Prefix::new();
    let q = queue(&p).await;
    for i in 0..3 {
        let mut env = job(&format!("o{i}"));
        env.attempt = 5;
        q.enqueue(&env).await.unwrap();
    }
    for d in read_all(&q, "c1").await {
        q.dead_letter(&d, "permanent").await.unwrap();
    }
    let dead = q.dead_letters(10).await.unwrap();
    let orders: Vec<String> = dead
        .iter()
        .map(|d| d.envelope.job.order_id().unwrap().to_string())
        .collect();
    assert_eq!(orders, ["o2", "o1", "o0"]);
    assert_eq!(q.dead_letters(1).await.unwrap().len(), 1);

    assert!(q.replay_dead(&dead[0].id).await.unwrap());
    assert!(
        !q.replay_dead(&dead[0].id).await.unwrap(),
        "replayed once only"
    );
    assert!(q.discard_dead(&dead[1].id).await.unwrap());
    assert!(!q.discard_dead(&dead[1].id).await.unwrap());

    let replayed = read_all(&q, "c1").await;
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].envelope.id, dead[0].envelope.id);
    assert_eq!(replayed[0].envelope.attempt, 1);
    assert_eq!(q.stats().await.unwrap().dead, 1);
}

#[tokio::test]
async fn reclaim_idle_respects_max_and_acks_entries_deleted_while_pending() {
    let p = Prefix::new();
    let q = queue(&p).await;
    for i in 0..5 {
        q.enqueue(&job(&format!("o{i}"))).await.unwrap();
    }
    let taken = read_all(&q, "crashed").await;
    assert_eq!(taken.len(), 5);
    let mut conn = raw_conn().await;
    let jobs_key = format!("{{{}}}:jobs", p.0);
    let _: u64 = redis::cmd("XDEL")
        .arg(&jobs_key)
        .arg(&taken[0].message_id)
        .query_async(&mut conn)
        .await
        .unwrap();

    tokio::time::sleep(Duration::from_millis(50)).await;
    let first = q
        .reclaim_idle("rescuer", Duration::from_millis(10), 3)
        .await
        .unwrap();
    assert_eq!(first.len(), 3);
    let rest = q
        .reclaim_idle("rescuer2", Duration::from_millis(10), 10)
        .await
        .unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(
        q.stats().await.unwrap().pending,
        4,
        "the deleted entry is no longer pending"
    );
}

#[tokio::test]
async fn corrupt_entries_are_dead_lettered_and_do_not_wedge_the_queue() {
    let p = Prefix::new();
    let q = queue(&p).await;
    let jobs_key = format!("{{{}}}:jobs", p.0);
    let dead_key = format!("{{{}}}:dead", p.0);
    let mut conn = raw_conn().await;
    let _: String = redis::cmd("XADD")
        .arg(&jobs_key)
        .arg("*")
        .arg("job")
        .arg("{not json")
        .query_async(&mut conn)
        .await
        .unwrap();
    let _: String = redis::cmd("XADD")
        .arg(&jobs_key)
        .arg("*")
        .arg("other")
        .arg("x")
        .query_async(&mut conn)
        .await
        .unwrap();
    let good = job("o1");
    q.enqueue(&good).await.unwrap();

    let got = read_all(&q, "c1").await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].envelope, good);
    q.ack(&got[0]).await.unwrap();

    let stats = q.stats().await.unwrap();
    assert_eq!((stats.depth, stats.pending, stats.dead), (0, 0, 2));
    let dead: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(&dead_key)
        .arg("-")
        .arg("+")
        .query_async(&mut conn)
        .await
        .unwrap();
    let field = |entry: &(String, Vec<(String, String)>), name: &str| {
        entry
            .1
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert_eq!(field(&dead[0], "job"), "{not json");
    assert!(field(&dead[0], "error").starts_with("corrupt queue entry"));
    assert!(field(&dead[1], "error").contains("missing field `job`"));
    assert!(q.dead_letters(10).await.unwrap().is_empty());
}

#[tokio::test]
async fn closed_port_is_unavailable_within_two_seconds() {
    let started = Instant::now();
    let result = RedisQueue::connect("redis://127.0.0.1:1", "test-closed").await;
    assert!(matches!(result, Err(QueueError::Unavailable(_))));
    assert!(started.elapsed() < Duration::from_secs(2));

    let started = Instant::now();
    let state = RedisState::connect("redis://127.0.0.1:1", "test-closed").await;
    assert!(state.is_err());
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A private redis-server that is killed when the test ends.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn start(port: u16) -> Child {
        Command::new("redis-server")
            .args(["--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server")
    }

    async fn new() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("spare port")
            .port();
        let server = OwnRedis {
            port,
            child: Some(Self::start(port)),
        };
        server.wait_ready().await;
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let client = redis::Client::open(self.url()).expect("client");
        while Instant::now() < deadline {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await {
                if redis::cmd("PING")
                    .query_async::<String>(&mut conn)
                    .await
                    .is_ok()
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    /// Freezes the server (SIGSTOP/SIGCONT): connections stay open but nothing answers.
    fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status()
                .expect("kill");
            assert!(status.success());
        }
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    async fn restart(&mut self) {
        self.stop();
        self.child = Some(Self::start(self.port));
        self.wait_ready().await;
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn assert_fast_unavailable<T: std::fmt::Debug>(
    what: &str,
    call: impl std::future::Future<Output = Result<T, QueueError>>,
) {
    let started = Instant::now();
    let result = call.await;
    assert!(
        matches!(result, Err(QueueError::Unavailable(_))),
        "{what}: {result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{what} took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_stopped_redis_fails_calls_fast_and_a_restarted_one_is_used_again() {
    let mut server = OwnRedis::new().await;
    let q = RedisQueue::connect(&server.url(), "outage").await.unwrap();
    let s = RedisState::connect(&server.url(), "outage").await.unwrap();
    q.enqueue(&job("before")).await.unwrap();
    assert_eq!(read_all(&q, "c1").await.len(), 1);

    server.stop();
    for _ in 0..3 {
        assert_fast_unavailable("enqueue", q.enqueue(&job("during"))).await;
        assert_fast_unavailable(
            "enqueue_unique",
            q.enqueue_unique("n", Duration::from_secs(60), &job("during")),
        )
        .await;
        assert_fast_unavailable("ping", q.ping()).await;
        assert_fast_unavailable("stats", q.stats()).await;
        assert_fast_unavailable("read", q.read("c1", 10, Duration::from_millis(100))).await;
        let started = Instant::now();
        assert!(s.get("k").await.is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    server.restart().await;
    // The first calls after a restart may still see the old connection fail.
    let deadline = Instant::now() + Duration::from_secs(10);
    while q.ping().await.is_err() || s.get("k").await.is_err() {
        assert!(Instant::now() < deadline, "queue never reconnected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let sent = job("after");
    let outcome = q
        .enqueue_unique("n", Duration::from_secs(60), &sent)
        .await
        .unwrap();
    assert_eq!(outcome, EnqueueOutcome::Enqueued);
    // The restarted server kept nothing, so reading must also bring the group back.
    let mut got = Vec::new();
    while got.is_empty() {
        assert!(Instant::now() < deadline, "read never recovered");
        match q.read("c1", 10, Duration::from_millis(100)).await {
            Ok(batch) => got = batch,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].envelope, sent);
    q.ack(&got[0]).await.unwrap();
    s.set("k", "v", None).await.unwrap();
    assert_eq!(s.get("k").await.unwrap().as_deref(), Some("v"));
}

#[tokio::test]
async fn a_hung_redis_times_out_fast_and_recovers_when_it_answers_again() {
    let server = OwnRedis::new().await;
    let q = RedisQueue::connect(&server.url(), "hung").await.unwrap();
    let s = RedisState::connect(&server.url(), "hung").await.unwrap();
    q.enqueue(&job("before")).await.unwrap();

    server.signal("-STOP");
    assert_fast_unavailable("enqueue", q.enqueue(&job("during"))).await;
    assert_fast_unavailable("read", q.read("c1", 10, Duration::from_millis(100))).await;
    assert_fast_unavailable("stats", q.stats()).await;
    let started = Instant::now();
    assert!(s.try_lock("k", "w1", Duration::from_secs(5)).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(2));
    server.signal("-CONT");

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.is_empty() {
        assert!(Instant::now() < deadline, "read never recovered");
        match q.read("c1", 10, Duration::from_millis(100)).await {
            Ok(batch) => got = batch,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    assert!(got.iter().any(
        |d| matches!(&d.envelope.job, Job::OrderSync { order_id, .. } if order_id == "before")
    ));
    q.ping().await.unwrap();
    assert!(s.try_lock("k", "w1", Duration::from_secs(5)).await.unwrap());
}
