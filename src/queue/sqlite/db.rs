//! The embedded database both SQLite backends share: one file under `DATA_DIR`, one writer
//! thread that owns the connection, and a lock file that keeps a second process out.
//!
//! Every call is a closure run on the writer thread inside a savepoint of the current
//! transaction. The thread takes whatever calls are waiting, runs them in one transaction
//! and commits once, so concurrent callers share one fsync (group commit) and each caller
//! hears back only after the commit that made its change durable.

use rusqlite::{Connection, OpenFlags};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

/// File names under `DATA_DIR`.
pub const DB_FILE: &str = "bridge.sqlite3";
pub const LOCK_FILE: &str = "bridge.lock";

/// Calls committed together at most; bounds how long the first caller of a batch waits.
const MAX_BATCH: usize = 512;
/// How often expired dedupe marks, keys and locks are swept from disk.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// Tables of the queue and the state; `AUTOINCREMENT` so a message or dead-letter id is
/// never reused, and an old id in an admin's hand can never name a newer entry.
const SCHEMA: &str = r"
CREATE TABLE IF NOT EXISTS jobs (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  body TEXT NOT NULL,
  consumer TEXT,
  claimed_at_ms INTEGER,
  delivery_count INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_claimed ON jobs(claimed_at_ms) WHERE consumer IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_waiting ON jobs(id) WHERE consumer IS NULL;
CREATE TABLE IF NOT EXISTS delayed (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  run_at_ms INTEGER NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS delayed_due ON delayed(run_at_ms, id);
CREATE TABLE IF NOT EXISTS dead (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  body TEXT NOT NULL,
  error TEXT NOT NULL,
  failed_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS seen (
  key TEXT PRIMARY KEY,
  expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS locks (
  key TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fenced_locks (
  key TEXT PRIMARY KEY,
  token INTEGER NOT NULL,
  expires_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS fence_seq (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  value INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  expires_at_ms INTEGER
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lists (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  key TEXT NOT NULL,
  entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS lists_key ON lists(key, id);
CREATE TABLE IF NOT EXISTS parked (
  job_id TEXT PRIMARY KEY,
  body TEXT NOT NULL,
  parked_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS hashes (
  key TEXT NOT NULL,
  field TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (key, field)
) WITHOUT ROWID;
";

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the embedded database has stopped")]
    Closed,
    #[error("commit failed: {0}")]
    Commit(String),
    #[error("corrupt entry {id}: {reason}")]
    Corrupt { id: String, reason: String },
}

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "another bridge process is already using the embedded database in {dir} \
         (lock file {lock} is held). The embedded backend serves exactly one instance; \
         to run several replicas, set REDIS_URL to a shared Redis."
    )]
    InUse { dir: String, lock: String },
    #[error("cannot use DATA_DIR {dir}: {why}")]
    DataDir { dir: String, why: String },
    #[error("cannot open the embedded database {path}: {cause}")]
    Sqlite {
        path: String,
        cause: rusqlite::Error,
    },
}

type Finish = Box<dyn FnOnce(Result<(), String>) + Send>;
/// Runs on the writer thread with the connection, or with the reason it cannot run.
type Op = Box<dyn FnOnce(Result<&Connection, String>) -> Finish + Send>;

/// The open embedded database. Cheap to share; the writer thread stops (and the lock file
/// is released) when the last handle is dropped.
pub struct EmbeddedDb {
    /// `None` only while dropping: closing the channel is what stops the writer.
    ops: Option<mpsc::Sender<Op>>,
    writer: Option<std::thread::JoinHandle<()>>,
    dir: PathBuf,
    /// Woken after a commit that made a job readable, so blocked reads need not poll.
    pub(crate) job_ready: Notify,
}

impl EmbeddedDb {
    /// Takes the lock file, opens (or creates) the database and starts the writer thread.
    /// Jobs a previous process left claimed become readable again at once: holding the
    /// lock proves that process is gone, so there is no one to wait for.
    pub async fn open(data_dir: &Path) -> Result<Arc<EmbeddedDb>, OpenError> {
        let dir = data_dir.to_path_buf();
        let opened = tokio::task::spawn_blocking(move || open_blocking(&dir))
            .await
            .map_err(|e| OpenError::DataDir {
                dir: data_dir.display().to_string(),
                why: format!("start-up task failed: {e}"),
            })??;
        let (conn, lock, released) = opened;
        if released > 0 {
            tracing::warn!(
                jobs = released,
                "jobs left in flight by a stopped process are queued again"
            );
        }
        let (tx, rx) = mpsc::channel::<Op>();
        let name = "bridge-sqlite-writer".to_string();
        let writer = std::thread::Builder::new()
            .name(name)
            .spawn(move || writer(conn, lock, rx))
            .map_err(|e| OpenError::DataDir {
                dir: data_dir.display().to_string(),
                why: format!("cannot start the database thread: {e}"),
            })?;
        Ok(Arc::new(EmbeddedDb {
            ops: Some(tx),
            writer: Some(writer),
            dir: data_dir.to_path_buf(),
            job_ready: Notify::new(),
        }))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `f` on the writer thread in its own savepoint and returns its result once the
    /// transaction holding it is committed. An error from `f` undoes only `f`'s changes.
    pub async fn call<R, F>(&self, f: F) -> Result<R, DbError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, DbError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel::<Result<R, DbError>>();
        let op: Op = Box::new(move |conn: Result<&Connection, String>| {
            let result = match conn {
                Ok(conn) => in_savepoint(conn, f),
                Err(why) => Err(DbError::Commit(why)),
            };
            Box::new(move |commit: Result<(), String>| {
                let out = match commit {
                    Ok(()) => result,
                    // A failed commit undid everything; a result read before it would lie.
                    Err(e) => Err(DbError::Commit(e)),
                };
                let _ = tx.send(out);
            })
        });
        let ops = self.ops.as_ref().ok_or(DbError::Closed)?;
        ops.send(op).map_err(|_| DbError::Closed)?;
        rx.await.map_err(|_| DbError::Closed)?
    }
}

impl Drop for EmbeddedDb {
    /// Waits for the writer to close the database and release the lock, so that once the
    /// last handle is gone the same `DATA_DIR` can be opened again straight away. Every
    /// caller holds a handle while its call runs, so nothing is left to wait for but the
    /// close itself.
    fn drop(&mut self) {
        self.ops = None;
        if let Some(writer) = self.writer.take() {
            if writer.join().is_err() {
                tracing::error!("the embedded database thread panicked");
            }
        }
    }
}

fn in_savepoint<R>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<R, DbError>,
) -> Result<R, DbError> {
    conn.execute_batch("SAVEPOINT op")?;
    match f(conn) {
        Ok(r) => {
            conn.execute_batch("RELEASE op")?;
            Ok(r)
        }
        Err(e) => {
            if let Err(undo) = conn.execute_batch("ROLLBACK TO op; RELEASE op") {
                tracing::error!(error = %undo, "could not undo a failed database call");
            }
            Err(e)
        }
    }
}

type Opened = (Connection, File, usize);

fn open_blocking(dir: &Path) -> Result<Opened, OpenError> {
    let shown = dir.display().to_string();
    super::private::create_dir(dir).map_err(|e| OpenError::DataDir {
        dir: shown.clone(),
        why: e.to_string(),
    })?;
    let lock_path = dir.join(LOCK_FILE);
    let lock = super::private::file_options()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&lock_path)
        .map_err(|e| OpenError::DataDir {
            dir: shown.clone(),
            why: format!("cannot open {}: {e}", lock_path.display()),
        })?;
    // flock(2): held by this open file, released by the kernel when the process dies in
    // any way, so a crash never leaves a stale lock behind (unlike a PID file).
    if fs2::FileExt::try_lock_exclusive(&lock).is_err() {
        return Err(OpenError::InUse {
            dir: shown,
            lock: lock_path.display().to_string(),
        });
    }

    let path = dir.join(DB_FILE);
    // Created 0600 before SQLite opens it, so its -wal and -shm files get the same mode.
    super::private::file_options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| OpenError::DataDir {
            dir: shown.clone(),
            why: format!("cannot create {}: {e}", path.display()),
        })?;
    let wal = dir.join(format!("{DB_FILE}-wal"));
    let shm = dir.join(format!("{DB_FILE}-shm"));
    super::private::tighten(dir, &lock, &[&path, &wal, &shm, &lock_path]);
    let sqlite_err = |cause| OpenError::Sqlite {
        path: path.display().to_string(),
        cause,
    };
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sqlite_err)?;
    // WAL: a commit is one append and, with synchronous=FULL, one fsync of the log before
    // the caller hears back, so an acknowledged enqueue survives a kill or a power cut.
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(sqlite_err)?;
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(sqlite_err)?;
    conn.pragma_update(None, "foreign_keys", "OFF")
        .map_err(sqlite_err)?;
    conn.execute_batch(SCHEMA).map_err(sqlite_err)?;
    conn.set_prepared_statement_cache_capacity(64);
    let released = conn
        .execute(
            "UPDATE jobs SET consumer = NULL, claimed_at_ms = NULL WHERE consumer IS NOT NULL",
            [],
        )
        .map_err(sqlite_err)?;
    Ok((conn, lock, released))
}

/// The writer thread: batches waiting calls into one transaction per commit.
fn writer(conn: Connection, lock: File, rx: mpsc::Receiver<Op>) {
    let mut last_sweep = Instant::now();
    loop {
        let first = match rx.recv_timeout(SWEEP_EVERY) {
            Ok(op) => Some(op),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        if let Some(first) = first {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(op) => batch.push(op),
                    Err(_) => break,
                }
            }
            run_batch(&conn, batch);
        }
        if last_sweep.elapsed() >= SWEEP_EVERY {
            last_sweep = Instant::now();
            if let Err(e) = sweep_expired(&conn) {
                tracing::warn!(error = %e, "could not sweep expired keys");
            }
        }
    }
    // Close the database before the lock goes, so the next process never opens a file
    // this one is still writing.
    if let Err((_, e)) = conn.close() {
        tracing::warn!(error = %e, "embedded database did not close cleanly");
    }
    drop(lock);
}

fn run_batch(conn: &Connection, batch: Vec<Op>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let why = format!("cannot begin a transaction: {e}");
        for op in batch {
            op(Err(why.clone()))(Err(why.clone()));
        }
        return;
    }
    let finishers: Vec<Finish> = batch.into_iter().map(|op| op(Ok(conn))).collect();
    let commit = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
    if commit.is_err() {
        if let Err(e) = conn.execute_batch("ROLLBACK") {
            tracing::error!(error = %e, "rollback after a failed commit failed");
        }
    }
    for finish in finishers {
        finish(commit.clone());
    }
}

fn sweep_expired(conn: &Connection) -> rusqlite::Result<()> {
    let now = crate::queue::now_ms();
    conn.execute("DELETE FROM seen WHERE expires_at_ms <= ?1", [now])?;
    conn.execute(
        "DELETE FROM kv WHERE expires_at_ms IS NOT NULL AND expires_at_ms <= ?1",
        [now],
    )?;
    conn.execute("DELETE FROM locks WHERE expires_at_ms <= ?1", [now])?;
    conn.execute("DELETE FROM fenced_locks WHERE expires_at_ms <= ?1", [now])?;
    Ok(())
}

pub(crate) fn duration_ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}
