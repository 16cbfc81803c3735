//! One contract, two backends: every test body here runs against Redis (the machine's
//! server, under a key prefix of its own that is deleted afterwards) and against the
//! embedded SQLite database (in a temporary DATA_DIR). The handlers only see the traits,
//! so whatever they rely on is pinned down here for both.

use bridge::queue::redis::{delete_keys_with_prefix, RedisQueue};
use bridge::queue::sqlite::{EmbeddedDb, SqliteQueue};
use bridge::queue::{now_ms, Delivery, EnqueueOutcome, Job, JobEnvelope, JobQueue, SyncTrigger};
use bridge::state::redis::RedisState;
use bridge::state::sqlite::SqliteState;
use bridge::state::{ParkReason, ParkedJob, StateStore};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn redis_url() -> String {
    std::env::var("TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// What a backend leaves behind, removed when the test ends (even by a panic).
enum Cleanup {
    Redis(String),
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Cleanup::Redis(prefix) = self {
            let prefix = prefix.clone();
            // Drop cannot await and the test's runtime may be gone: use a runtime of our own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("cleanup runtime");
                rt.block_on(delete_keys_with_prefix(&redis_url(), &prefix))
                    .expect("delete test keys");
            })
            .join();
        }
    }
}

/// One backend under test: a queue, a second handle on the same queue (another connection
/// for Redis, another handle on the same database for SQLite), and the state store.
struct Backend {
    queue: Arc<dyn JobQueue>,
    other: Arc<dyn JobQueue>,
    state: Arc<dyn StateStore>,
    // Declared last: dropped after the handles above.
    _cleanup: Cleanup,
}

async fn on_redis() -> Backend {
    let prefix = format!("test-contract-{}", uuid::Uuid::new_v4().simple());
    let url = redis_url();
    Backend {
        queue: Arc::new(RedisQueue::connect(&url, &prefix).await.expect("redis")),
        other: Arc::new(RedisQueue::connect(&url, &prefix).await.expect("redis")),
        state: Arc::new(RedisState::connect(&url, &prefix).await.expect("redis")),
        _cleanup: Cleanup::Redis(prefix),
    }
}

async fn on_sqlite() -> Backend {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = EmbeddedDb::open(dir.path()).await.expect("embedded db");
    Backend {
        queue: Arc::new(SqliteQueue::new(db.clone())),
        other: Arc::new(SqliteQueue::new(db.clone())),
        state: Arc::new(SqliteState::new(db)),
        _cleanup: Cleanup::Sqlite(dir),
    }
}

/// Runs each listed test body once per backend: `on_redis::<name>` and `on_sqlite::<name>`.
macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod on_redis {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::on_redis().await).await
                }
            )*
        }
        mod on_sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::on_sqlite().await).await
                }
            )*
        }
    };
}

contract!(
    enqueue_unique_dedupes_within_ttl_and_accepts_again_after_expiry,
    racing_enqueue_unique_calls_queue_one_job,
    read_then_ack_removes_the_job_for_good,
    a_blocked_read_wakes_when_a_job_arrives_and_otherwise_waits_its_time,
    two_consumers_reading_concurrently_never_get_the_same_job,
    retry_is_invisible_before_its_time_and_visible_after_promote,
    dead_letter_keeps_the_error_and_can_be_replayed_or_discarded_once,
    reclaim_takes_a_stopped_consumers_job_only_after_min_idle_and_counts_deliveries,
    stats_count_waiting_pending_delayed_and_dead,
    locks_refuse_others_reenter_for_owner_extend_and_expire,
    key_values_expire_and_read_many_at_once,
    parking_replaces_by_job_id_lists_oldest_first_and_unparks_once,
    lists_keep_the_newest_entries_oldest_first,
    hashes_set_delete_and_compare_delete,
    counters_increment_and_only_rise,
    a_renewed_lease_is_never_reclaimed_and_a_stale_delivery_cannot_renew,
    fenced_locks_rise_and_a_stale_holder_can_neither_renew_nor_unlock,
);

fn job(order_id: &str) -> JobEnvelope {
    JobEnvelope::new(Job::OrderSync {
        shop_id: "shop-1".into(),
        order_id: order_id.into(),
        trigger: SyncTrigger::StatusWebhook,
        update_time: None,
    })
}

fn order_of(env: &JobEnvelope) -> &str {
    env.job.order_id().expect("contract jobs are order syncs")
}

async fn read_all(q: &dyn JobQueue, consumer: &str) -> Vec<Delivery> {
    q.read(consumer, 100, Duration::from_millis(50))
        .await
        .expect("read")
}

async fn enqueue_unique_dedupes_within_ttl_and_accepts_again_after_expiry(b: Backend) {
    let q = b.queue.as_ref();
    let ttl = Duration::from_millis(300);
    assert_eq!(
        q.enqueue_unique("n-1", ttl, &job("o1")).await.unwrap(),
        EnqueueOutcome::Enqueued
    );
    assert_eq!(
        q.enqueue_unique("n-1", ttl, &job("o1")).await.unwrap(),
        EnqueueOutcome::Duplicate
    );
    assert_eq!(
        q.enqueue_unique("n-2", ttl, &job("o2")).await.unwrap(),
        EnqueueOutcome::Enqueued
    );
    assert_eq!(q.stats().await.unwrap().depth, 2);

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        q.enqueue_unique("n-1", ttl, &job("o1")).await.unwrap(),
        EnqueueOutcome::Enqueued,
        "the mark expires with its TTL"
    );
    assert_eq!(q.stats().await.unwrap().depth, 3);
}

async fn racing_enqueue_unique_calls_queue_one_job(b: Backend) {
    let mut tasks = Vec::new();
    for i in 0..20 {
        let q = if i % 2 == 0 {
            b.queue.clone()
        } else {
            b.other.clone()
        };
        tasks.push(tokio::spawn(async move {
            q.enqueue_unique("same-notification", Duration::from_secs(60), &job("o1"))
                .await
                .unwrap()
        }));
    }
    let mut enqueued = 0;
    for t in tasks {
        if t.await.unwrap() == EnqueueOutcome::Enqueued {
            enqueued += 1;
        }
    }
    assert_eq!(enqueued, 1);
    assert_eq!(b.queue.stats().await.unwrap().depth, 1);
}

async fn read_then_ack_removes_the_job_for_good(b: Backend) {
    let q = b.queue.as_ref();
    let sent = job("o1");
    q.enqueue(&sent).await.unwrap();

    let got = read_all(q, "c1").await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].envelope, sent);
    assert_eq!(got[0].delivery_count, 1);
    let stats = q.stats().await.unwrap();
    assert_eq!((stats.depth, stats.pending), (1, 1));
    assert!(
        read_all(q, "c2").await.is_empty(),
        "a read job is not read again"
    );

    q.ack(&got[0]).await.unwrap();
    let stats = q.stats().await.unwrap();
    assert_eq!((stats.depth, stats.pending), (0, 0));
    assert!(read_all(q, "c1").await.is_empty());
    assert!(q
        .reclaim_idle("c2", Duration::ZERO, 10)
        .await
        .unwrap()
        .is_empty());
}

async fn a_blocked_read_wakes_when_a_job_arrives_and_otherwise_waits_its_time(b: Backend) {
    let started = Instant::now();
    let got = b
        .queue
        .read("c1", 10, Duration::from_millis(200))
        .await
        .unwrap();
    assert!(got.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert!(b
        .queue
        .read("c1", 10, Duration::ZERO)
        .await
        .unwrap()
        .is_empty());

    let reader = b.queue.clone();
    let waiting = tokio::spawn(async move {
        let started = Instant::now();
        let got = reader.read("c1", 10, Duration::from_secs(5)).await.unwrap();
        (got, started.elapsed())
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent = job("o1");
    b.other.enqueue(&sent).await.unwrap();
    let (got, waited) = waiting.await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].envelope, sent);
    assert!(
        waited < Duration::from_secs(2),
        "woken by the enqueue, not the timeout: {waited:?}"
    );
}

async fn two_consumers_reading_concurrently_never_get_the_same_job(b: Backend) {
    let mut expected = HashSet::new();
    for i in 0..200 {
        let env = job(&format!("o{i}"));
        expected.insert(env.id.clone());
        b.queue.enqueue(&env).await.unwrap();
    }
    let mut tasks = Vec::new();
    for (consumer, q) in [("c1", b.queue.clone()), ("c2", b.other.clone())] {
        tasks.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            loop {
                let batch = q
                    .read(consumer, 7, Duration::from_millis(100))
                    .await
                    .unwrap();
                if batch.is_empty() {
                    return seen;
                }
                for d in batch {
                    q.ack(&d).await.unwrap();
                    seen.push(d.envelope.id);
                }
                // Let the other consumer in, as real handlers would by taking time.
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut all = Vec::new();
    let mut per_consumer = Vec::new();
    for t in tasks {
        let seen = t.await.unwrap();
        per_consumer.push(seen.len());
        all.extend(seen);
    }
    let unique: HashSet<String> = all.iter().cloned().collect();
    assert_eq!(all.len(), 200, "no job delivered twice");
    assert_eq!(unique, expected);
    assert!(per_consumer.iter().all(|n| *n > 0), "both consumers worked");
    let stats = b.queue.stats().await.unwrap();
    assert_eq!((stats.depth, stats.pending), (0, 0));
}

async fn retry_is_invisible_before_its_time_and_visible_after_promote(b: Backend) {
    let q = b.queue.as_ref();
    q.enqueue(&job("o1")).await.unwrap();
    let d = read_all(q, "c1").await.remove(0);

    let mut next = d.envelope.clone();
    next.attempt = 2;
    next.last_error = Some("timeout".into());
    let run_at = now_ms() + 60_000;
    q.retry_at(&d, &next, run_at).await.unwrap();

    let stats = q.stats().await.unwrap();
    assert_eq!((stats.depth, stats.pending, stats.delayed), (0, 0, 1));
    assert_eq!(q.promote_due(run_at - 1, 10).await.unwrap(), 0);
    assert!(read_all(q, "c1").await.is_empty());

    assert_eq!(q.promote_due(run_at, 10).await.unwrap(), 1);
    assert_eq!(
        q.promote_due(run_at, 10).await.unwrap(),
        0,
        "promoted once only"
    );
    let again = read_all(q, "c1").await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].envelope, next);
    assert_eq!(q.stats().await.unwrap().delayed, 0);
}

async fn dead_letter_keeps_the_error_and_can_be_replayed_or_discarded_once(b: Backend) {
    let q = b.queue.as_ref();
    for i in 0..3 {
        let mut env = job(&format!("o{i}"));
        env.attempt = 5;
        q.enqueue(&env).await.unwrap();
    }
    let before = now_ms();
    let mut got = read_all(q, "c1").await;
    got.sort_by(|a, b| order_of(&a.envelope).cmp(order_of(&b.envelope)));
    for d in &got {
        q.dead_letter(
            d,
            &format!("400 INVALID_FLD_VALUE {}", order_of(&d.envelope)),
        )
        .await
        .unwrap();
    }
    let stats = q.stats().await.unwrap();
    assert_eq!((stats.depth, stats.pending, stats.dead), (0, 0, 3));

    let dead = q.dead_letters(10).await.unwrap();
    let orders: Vec<&str> = dead.iter().map(|d| order_of(&d.envelope)).collect();
    assert_eq!(orders, ["o2", "o1", "o0"], "newest first");
    assert_eq!(dead[0].error, "400 INVALID_FLD_VALUE o2");
    assert_eq!(dead[0].envelope, got[2].envelope);
    assert!(dead[0].failed_at_ms >= before);
    assert_eq!(q.dead_letters(1).await.unwrap().len(), 1);

    assert!(q.replay_dead(&dead[0].id).await.unwrap());
    assert!(
        !q.replay_dead(&dead[0].id).await.unwrap(),
        "replayed once only"
    );
    assert!(q.discard_dead(&dead[1].id).await.unwrap());
    assert!(!q.discard_dead(&dead[1].id).await.unwrap());
    assert!(!q.replay_dead(&dead[1].id).await.unwrap());

    let replayed = read_all(q, "c1").await;
    assert_eq!(replayed.len(), 1);
    assert_eq!(replayed[0].envelope.id, dead[0].envelope.id);
    assert_eq!(replayed[0].envelope.attempt, 1, "a replay starts over");
    assert_eq!(replayed[0].envelope.last_error, None);
    assert_eq!(q.stats().await.unwrap().dead, 1);
}

async fn reclaim_takes_a_stopped_consumers_job_only_after_min_idle_and_counts_deliveries(
    b: Backend,
) {
    let q = b.queue.as_ref();
    let sent = job("o1");
    q.enqueue(&sent).await.unwrap();
    let taken = read_all(q, "crashed").await;
    assert_eq!(taken.len(), 1);
    // "crashed" never acks.

    let min_idle = Duration::from_millis(400);
    assert!(q
        .reclaim_idle("rescuer", min_idle, 10)
        .await
        .unwrap()
        .is_empty());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let reclaimed = b.other.reclaim_idle("rescuer", min_idle, 10).await.unwrap();
    assert_eq!(reclaimed.len(), 1);
    assert_eq!(reclaimed[0].envelope, sent);
    assert_eq!(reclaimed[0].message_id, taken[0].message_id);
    assert_eq!(reclaimed[0].delivery_count, 2);
    assert!(
        q.reclaim_idle("third", min_idle, 10)
            .await
            .unwrap()
            .is_empty(),
        "a fresh claim restarts the idle clock"
    );
    assert_eq!(q.stats().await.unwrap().pending, 1);

    tokio::time::sleep(Duration::from_millis(500)).await;
    let third = q.reclaim_idle("third", min_idle, 10).await.unwrap();
    assert_eq!(third.len(), 1);
    assert_eq!(third[0].delivery_count, 3);

    q.ack(&third[0]).await.unwrap();
    let stats = q.stats().await.unwrap();
    assert_eq!((stats.depth, stats.pending), (0, 0));

    // `max` bounds one reclaim.
    for i in 0..5 {
        q.enqueue(&job(&format!("m{i}"))).await.unwrap();
    }
    assert_eq!(read_all(q, "crashed").await.len(), 5);
    tokio::time::sleep(Duration::from_millis(20)).await;
    let first = q
        .reclaim_idle("r1", Duration::from_millis(10), 3)
        .await
        .unwrap();
    let rest = q
        .reclaim_idle("r2", Duration::from_millis(10), 10)
        .await
        .unwrap();
    assert_eq!((first.len(), rest.len()), (3, 2));
}

async fn stats_count_waiting_pending_delayed_and_dead(b: Backend) {
    let q = b.queue.as_ref();
    assert_eq!(q.stats().await.unwrap(), Default::default());
    for i in 0..4 {
        q.enqueue(&job(&format!("o{i}"))).await.unwrap();
    }
    let got = q.read("c1", 3, Duration::from_millis(50)).await.unwrap();
    assert_eq!(got.len(), 3);
    q.retry_at(&got[0], &got[0].envelope, now_ms() + 60_000)
        .await
        .unwrap();
    q.dead_letter(&got[1], "bad").await.unwrap();
    // got[2] stays pending, one job still waits.
    let stats = q.stats().await.unwrap();
    assert_eq!(stats.depth, 2);
    assert_eq!(stats.pending, 1);
    assert_eq!(stats.delayed, 1);
    assert_eq!(stats.dead, 1);
    q.ping().await.unwrap();
}

async fn locks_refuse_others_reenter_for_owner_extend_and_expire(b: Backend) {
    let s = b.state.as_ref();
    let ttl = Duration::from_millis(300);
    assert!(s.try_lock("order-1", "w1", ttl).await.unwrap());
    assert!(!s.try_lock("order-1", "w2", ttl).await.unwrap());
    assert!(s.try_lock("order-1", "w1", ttl).await.unwrap());
    assert!(s.try_lock("order-2", "w2", ttl).await.unwrap());

    s.unlock("order-1", "w2").await.unwrap();
    assert!(
        !s.try_lock("order-1", "w2", ttl).await.unwrap(),
        "non-owner unlock is a no-op"
    );
    s.unlock("order-1", "w1").await.unwrap();
    assert!(s.try_lock("order-1", "w2", ttl).await.unwrap());

    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(
        s.try_lock("order-1", "w3", ttl).await.unwrap(),
        "an expired lock is free"
    );

    // Re-locking extends the lease: 200 ms + 200 ms is past the first TTL, not the second.
    assert!(s.try_lock("k", "w1", ttl).await.unwrap());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(s.try_lock("k", "w1", ttl).await.unwrap());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!s.try_lock("k", "w2", ttl).await.unwrap());
}

async fn key_values_expire_and_read_many_at_once(b: Backend) {
    let s = b.state.as_ref();
    s.set("a", "1", None).await.unwrap();
    s.set("b", "2", Some(Duration::from_millis(200)))
        .await
        .unwrap();
    assert_eq!(s.get("a").await.unwrap().as_deref(), Some("1"));
    let keys = vec!["a".to_string(), "missing".to_string(), "b".to_string()];
    assert_eq!(
        s.get_many(&keys).await.unwrap(),
        vec![Some("1".to_string()), None, Some("2".to_string())]
    );
    assert!(s.get_many(&[]).await.unwrap().is_empty());

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(s.get("b").await.unwrap(), None, "expired with its TTL");
    s.set("a", "3", Some(Duration::from_secs(60)))
        .await
        .unwrap();
    assert_eq!(s.get("a").await.unwrap().as_deref(), Some("3"));
    s.set("a", "4", None).await.unwrap();
    assert_eq!(s.get("a").await.unwrap().as_deref(), Some("4"));
    s.delete("a").await.unwrap();
    assert_eq!(s.get("a").await.unwrap(), None);
}

async fn parking_replaces_by_job_id_lists_oldest_first_and_unparks_once(b: Backend) {
    let s = b.state.as_ref();
    let later = ParkedJob {
        envelope: job("o2"),
        reason: ParkReason::UnknownSku {
            skus: vec!["SKU-2".into()],
        },
        parked_at_ms: 2_000,
    };
    let earlier = ParkedJob {
        envelope: job("o1"),
        reason: ParkReason::UnknownSku {
            skus: vec!["SKU-1".into()],
        },
        parked_at_ms: 1_000,
    };
    s.park(&later).await.unwrap();
    s.park(&earlier).await.unwrap();
    assert_eq!(
        s.parked().await.unwrap(),
        vec![earlier.clone(), later.clone()]
    );

    let mut reparked = later.clone();
    reparked.reason = ParkReason::UnknownSku {
        skus: vec!["SKU-3".into()],
    };
    s.park(&reparked).await.unwrap();
    assert_eq!(s.parked().await.unwrap().len(), 2, "same job id replaces");

    assert_eq!(s.unpark(&later.envelope.id).await.unwrap(), Some(reparked));
    assert_eq!(s.unpark(&later.envelope.id).await.unwrap(), None);
    assert_eq!(s.parked().await.unwrap(), vec![earlier]);
}

async fn lists_keep_the_newest_entries_oldest_first(b: Backend) {
    let s = b.state.as_ref();
    assert!(s.list_range("history").await.unwrap().is_empty());
    for i in 0..5 {
        s.list_push("history", &format!("e{i}"), 3).await.unwrap();
    }
    s.list_push("other", "x", 3).await.unwrap();
    assert_eq!(s.list_range("history").await.unwrap(), ["e2", "e3", "e4"]);
    assert_eq!(s.list_range("other").await.unwrap(), ["x"]);
}

async fn hashes_set_delete_and_compare_delete(b: Backend) {
    let s = b.state.as_ref();
    assert!(s.hash_all("h").await.unwrap().is_empty());
    s.hash_set("h", "b", "2").await.unwrap();
    s.hash_set("h", "a", "1").await.unwrap();
    s.hash_set("h", "a", "1b").await.unwrap();
    s.hash_set("other", "a", "x").await.unwrap();
    assert_eq!(
        s.hash_all("h").await.unwrap(),
        vec![("a".into(), "1b".into()), ("b".into(), "2".into())]
    );
    // A hash does not show through plain keys.
    assert_eq!(s.get("h").await.unwrap(), None);
    assert!(
        !s.hash_delete_if("h", "a", "1").await.unwrap(),
        "value moved on"
    );
    assert!(s.hash_delete_if("h", "a", "1b").await.unwrap());
    assert!(
        !s.hash_delete_if("h", "a", "1b").await.unwrap(),
        "only once"
    );
    s.hash_delete("h", &["b".to_string(), "zz".to_string()])
        .await
        .unwrap();
    s.hash_delete("h", &[]).await.unwrap();
    assert!(s.hash_all("h").await.unwrap().is_empty());
    assert_eq!(s.hash_all("other").await.unwrap().len(), 1);
}

async fn counters_increment_and_only_rise(b: Backend) {
    let s = b.state.as_ref();
    assert_eq!(s.incr_by("c", 1).await.unwrap(), 1);
    assert_eq!(s.incr_by("c", 5).await.unwrap(), 6);
    assert_eq!(s.incr_by("c", 0).await.unwrap(), 6);
    assert_eq!(s.get("c").await.unwrap().as_deref(), Some("6"));
    // Racing increments never hand out the same number.
    let mut all: Vec<u64> = futures::future::join_all((0..20).map(|_| s.incr_by("race", 1)))
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    all.sort();
    assert_eq!(all, (1..=20).collect::<Vec<u64>>());

    assert!(
        s.raise_to("v", 5).await.unwrap(),
        "absent is below anything"
    );
    assert!(!s.raise_to("v", 5).await.unwrap(), "equal is not newer");
    assert!(!s.raise_to("v", 3).await.unwrap(), "older never overwrites");
    assert!(s.raise_to("v", 9).await.unwrap());
    assert_eq!(s.get("v").await.unwrap().as_deref(), Some("9"));
}

// What only the embedded backend has to show: it lives in a file, one process at a time.

#[tokio::test]
async fn embedded_jobs_and_state_survive_a_reopen_and_in_flight_jobs_come_back_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let kept = job("kept");
    let in_flight = job("in-flight");
    let (taken_id, done_id) = {
        let db = EmbeddedDb::open(dir.path()).await.unwrap();
        let q = SqliteQueue::new(db.clone());
        let s = SqliteState::new(db);
        q.enqueue(&in_flight).await.unwrap();
        let taken = read_all(&q, "worker-that-dies").await;
        assert_eq!(taken.len(), 1);
        q.enqueue(&kept).await.unwrap();
        let done = job("done");
        q.enqueue_unique("n-1", Duration::from_secs(60), &done)
            .await
            .unwrap();
        let d = q.read("w", 10, Duration::ZERO).await.unwrap();
        let d = d.into_iter().find(|d| d.envelope == done).unwrap();
        q.ack(&d).await.unwrap();
        q.dead_letter(
            &Delivery {
                message_id: "999999".into(),
                envelope: job("dead"),
                delivery_count: 1,
            },
            "permanent",
        )
        .await
        .unwrap();
        s.set("token", "t-1", None).await.unwrap();
        s.park(&ParkedJob {
            envelope: job("parked"),
            reason: ParkReason::UnknownSku {
                skus: vec!["NEW".into()],
            },
            parked_at_ms: 1,
        })
        .await
        .unwrap();
        (taken[0].message_id.clone(), d.message_id)
        // Everything dropped here: the database closes and the lock is released.
    };

    let db = EmbeddedDb::open(dir.path()).await.expect("reopens");
    let q = SqliteQueue::new(db.clone());
    let s = SqliteState::new(db);
    let stats = q.stats().await.unwrap();
    assert_eq!((stats.depth, stats.pending, stats.dead), (2, 0, 1));
    let got = q.read("w2", 10, Duration::ZERO).await.unwrap();
    assert_eq!(
        got.len(),
        2,
        "the in-flight job is readable without waiting"
    );
    let back = got.iter().find(|d| d.message_id == taken_id).unwrap();
    assert_eq!(back.envelope, in_flight);
    assert_eq!(back.delivery_count, 2, "its earlier delivery still counts");
    assert!(got.iter().any(|d| d.envelope == kept));
    assert!(got.iter().all(|d| d.message_id != done_id));
    assert_eq!(
        q.enqueue_unique("n-1", Duration::from_secs(60), &job("done"))
            .await
            .unwrap(),
        EnqueueOutcome::Duplicate,
        "dedupe marks survive too"
    );
    assert_eq!(s.get("token").await.unwrap().as_deref(), Some("t-1"));
    assert_eq!(s.parked().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_second_open_of_the_same_data_dir_is_refused_and_points_to_redis() {
    let dir = tempfile::tempdir().unwrap();
    let first = EmbeddedDb::open(dir.path()).await.unwrap();
    let second = EmbeddedDb::open(dir.path()).await;
    let Err(e) = second else {
        panic!("a second open must be refused");
    };
    let msg = e.to_string();
    assert!(
        msg.contains("REDIS_URL") && msg.contains("another bridge process"),
        "{msg}"
    );
    drop(first);
    EmbeddedDb::open(dir.path())
        .await
        .expect("free again once the first is closed");
}

async fn a_renewed_lease_is_never_reclaimed_and_a_stale_delivery_cannot_renew(b: Backend) {
    let q = b.queue.as_ref();
    q.enqueue(&job("o1")).await.unwrap();
    let taken = read_all(q, "runner").await;
    let held = vec![(taken[0].message_id.clone(), taken[0].delivery_count)];
    let expiry = Duration::from_millis(400);
    // Renewed every 150 ms for three lease lengths: nobody may take it meanwhile.
    let until = Instant::now() + expiry * 3;
    while Instant::now() < until {
        assert_eq!(q.renew_leases("runner", &held).await.unwrap(), vec![true]);
        assert!(
            b.other
                .reclaim_idle("rescuer", expiry, 10)
                .await
                .unwrap()
                .is_empty(),
            "a job whose lease is renewed is never reclaimed"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // The runner stops renewing (killed): the job is taken over once the lease expired.
    tokio::time::sleep(expiry + Duration::from_millis(100)).await;
    let rescued = b.other.reclaim_idle("rescuer", expiry, 10).await.unwrap();
    assert_eq!(rescued.len(), 1);
    assert_eq!(rescued[0].delivery_count, 2);
    // The old holder cannot renew it back, not even as the rescuer's consumer name with the
    // old delivery count; the rescuer can.
    assert_eq!(q.renew_leases("runner", &held).await.unwrap(), vec![false]);
    let stale_as_rescuer = vec![(taken[0].message_id.clone(), 1)];
    assert_eq!(
        q.renew_leases("rescuer", &stale_as_rescuer).await.unwrap(),
        vec![false]
    );
    let fresh = vec![(rescued[0].message_id.clone(), rescued[0].delivery_count)];
    assert_eq!(q.renew_leases("rescuer", &fresh).await.unwrap(), vec![true]);
    // An acked job has no lease left to renew.
    q.ack(&rescued[0]).await.unwrap();
    assert_eq!(
        q.renew_leases("rescuer", &fresh).await.unwrap(),
        vec![false]
    );
}

async fn fenced_locks_rise_and_a_stale_holder_can_neither_renew_nor_unlock(b: Backend) {
    let s = b.state.as_ref();
    let ttl = Duration::from_millis(300);
    let first = s
        .lock_fenced("entity:o1", ttl)
        .await
        .unwrap()
        .expect("free");
    assert_eq!(s.lock_fenced("entity:o1", ttl).await.unwrap(), None, "held");
    assert!(s.renew_fenced("entity:o1", first, ttl).await.unwrap());
    // The holder stalls past its lease; a newer holder takes the lock.
    tokio::time::sleep(ttl + Duration::from_millis(100)).await;
    assert!(
        !s.renew_fenced("entity:o1", first, ttl).await.unwrap(),
        "an expired lock is not renewed by its old token"
    );
    let second = s
        .lock_fenced("entity:o1", ttl)
        .await
        .unwrap()
        .expect("expired lock is free");
    assert!(second > first, "tokens rise per holder");
    // The stale holder wakes up: it can neither renew nor release the newer lock.
    assert!(!s.renew_fenced("entity:o1", first, ttl).await.unwrap());
    assert!(!s.unlock_fenced("entity:o1", first).await.unwrap());
    assert_eq!(
        s.lock_fenced("entity:o1", ttl).await.unwrap(),
        None,
        "the newer holder still has it"
    );
    assert!(s.unlock_fenced("entity:o1", second).await.unwrap());
    let third = s
        .lock_fenced("entity:o1", ttl)
        .await
        .unwrap()
        .expect("free");
    assert!(third > second);
    // Tokens rise across keys too (one sequence per deployment).
    let other = s
        .lock_fenced("entity:o2", ttl)
        .await
        .unwrap()
        .expect("free");
    assert!(other > third);
}
