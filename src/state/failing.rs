//! Test-only: the embedded store with one write made to fail once, for tests of what a crash
//! or outage between two writes leaves behind.

use super::sqlite::SqliteState;
use super::{ParkedJob, StateError, StateStore};
use async_trait::async_trait;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

pub struct FailingStore {
    pub inner: SqliteState,
    /// The next `set` of this key fails (`""`: of any key); cleared when it fires.
    fail_set: Mutex<Option<String>>,
    fail_push: AtomicBool,
}

impl FailingStore {
    pub async fn open(dir: &std::path::Path) -> FailingStore {
        FailingStore {
            inner: SqliteState::open(dir).await.expect("embedded state"),
            fail_set: Mutex::new(None),
            fail_push: AtomicBool::new(false),
        }
    }

    /// The next `set` of `key` fails once; `""` for whichever key comes first.
    pub fn fail_next_set(&self, key: &str) {
        *self.fail_set.lock() = Some(key.to_string());
    }

    /// The next `list_push` fails once.
    pub fn fail_next_push(&self) {
        self.fail_push.store(true, Ordering::SeqCst);
    }

    fn injected() -> StateError {
        StateError::Unavailable("injected".into())
    }
}

#[async_trait]
impl StateStore for FailingStore {
    async fn try_lock(&self, k: &str, o: &str, t: Duration) -> Result<bool, StateError> {
        self.inner.try_lock(k, o, t).await
    }
    async fn unlock(&self, k: &str, o: &str) -> Result<(), StateError> {
        self.inner.unlock(k, o).await
    }
    async fn lock_fenced(&self, k: &str, t: Duration) -> Result<Option<u64>, StateError> {
        self.inner.lock_fenced(k, t).await
    }
    async fn renew_fenced(&self, k: &str, tok: u64, t: Duration) -> Result<bool, StateError> {
        self.inner.renew_fenced(k, tok, t).await
    }
    async fn unlock_fenced(&self, k: &str, tok: u64) -> Result<bool, StateError> {
        self.inner.unlock_fenced(k, tok).await
    }
    async fn get(&self, k: &str) -> Result<Option<String>, StateError> {
        self.inner.get(k).await
    }
    async fn set(&self, k: &str, v: &str, t: Option<Duration>) -> Result<(), StateError> {
        {
            let mut armed = self.fail_set.lock();
            if armed
                .as_deref()
                .is_some_and(|key| key.is_empty() || key == k)
            {
                *armed = None;
                return Err(Self::injected());
            }
        }
        self.inner.set(k, v, t).await
    }
    async fn delete(&self, k: &str) -> Result<(), StateError> {
        self.inner.delete(k).await
    }
    async fn get_many(&self, k: &[String]) -> Result<Vec<Option<String>>, StateError> {
        self.inner.get_many(k).await
    }
    async fn list_push(&self, k: &str, e: &str, m: usize) -> Result<(), StateError> {
        if self.fail_push.swap(false, Ordering::SeqCst) {
            return Err(Self::injected());
        }
        self.inner.list_push(k, e, m).await
    }
    async fn list_range(&self, k: &str) -> Result<Vec<String>, StateError> {
        self.inner.list_range(k).await
    }
    async fn park(&self, p: &ParkedJob) -> Result<(), StateError> {
        self.inner.park(p).await
    }
    async fn parked(&self) -> Result<Vec<ParkedJob>, StateError> {
        self.inner.parked().await
    }
    async fn unpark(&self, id: &str) -> Result<Option<ParkedJob>, StateError> {
        self.inner.unpark(id).await
    }
    async fn hash_set(&self, k: &str, f: &str, v: &str) -> Result<(), StateError> {
        self.inner.hash_set(k, f, v).await
    }
    async fn hash_delete(&self, k: &str, f: &[String]) -> Result<(), StateError> {
        self.inner.hash_delete(k, f).await
    }
    async fn hash_delete_if(&self, k: &str, f: &str, e: &str) -> Result<bool, StateError> {
        self.inner.hash_delete_if(k, f, e).await
    }
    async fn hash_all(&self, k: &str) -> Result<Vec<(String, String)>, StateError> {
        self.inner.hash_all(k).await
    }
    async fn incr_by(&self, k: &str, by: u64) -> Result<u64, StateError> {
        self.inner.incr_by(k, by).await
    }
    async fn raise_to(&self, k: &str, v: u64) -> Result<bool, StateError> {
        self.inner.raise_to(k, v).await
    }
}
