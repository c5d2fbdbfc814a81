//! The usage pipeline: every verification becomes a usage event, buffered in
//! memory and written in batches, off the request path.
//!
//! The buffer is bounded. When it is full, verification goes on and the
//! event is dropped, counted and logged; the counts are on the staff status
//! page. Requests whose key was not identified (malformed, unknown, wrong
//! secret: anyone can forge them) may hold at most a tenth of the buffer, so
//! a flood of them cannot push real usage out; past that they are dropped
//! and counted apart. A graceful shutdown writes everything still buffered.
//!
//! The writer runs on a thread of its own, with its own database connection,
//! at a lower CPU priority than request handling (on Linux): writing a batch
//! is real work (SQLite does it on the connection's thread, which inherits
//! the priority), and it must never make a verification wait for a core.
//! Under sustained overload the writer gets less of the CPU, so its batches
//! grow, and past the buffer's capacity events are dropped and counted —
//! verification latency comes first, as the design says.

pub mod clients;
pub mod dashboard;

pub use super::db::usage::UsageEvent;
use super::db::{usage, Db};
use crate::domain::verify::VerifyCode;
pub use crate::model::staff::UsageStats;
use chrono::{DateTime, Utc};
use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};
use tokio::sync::{mpsc, oneshot, Notify};

/// Events written per database transaction, at most.
const BATCH: usize = 1000;

/// How long the writer lets events gather before writing a batch that is not
/// full. Each transaction has a fixed cost (on SQLite, a WAL commit); at a
/// few thousand verifications a second, gathering cuts the transactions from
/// one per handful of events to a few per second.
const GATHER: Duration = Duration::from_millis(50);

/// Counters of the pipeline since start-up.
#[derive(Debug, Default)]
struct Counters {
    accepted: AtomicU64,
    written: AtomicU64,
    dropped: AtomicU64,
    unidentified_queued: AtomicU64,
    unidentified_dropped: AtomicU64,
    failed_batches: AtomicU64,
    last_warning: AtomicU64,
}

struct Control {
    stop: oneshot::Sender<()>,
    /// Completes (or is dropped, if the writer panicked) when the writer ends.
    done: oneshot::Receiver<()>,
}

/// How much lower the writer thread's priority is than request handling
/// (Linux nice increment; weight about 1/10 of a request thread's).
const WRITER_NICENESS: i32 = 10;

/// The handle verification uses to record events, and the server uses to
/// flush them at shutdown. Cheap to clone.
#[derive(Clone)]
pub struct UsagePipeline {
    tx: mpsc::Sender<UsageEvent>,
    counters: Arc<Counters>,
    control: Arc<Mutex<Option<Control>>>,
    capacity: usize,
    /// Ends the writer's gathering early, before the buffer fills.
    wake: Arc<Notify>,
    /// Events queued at which the writer is woken.
    wake_at: usize,
    /// Most events of unidentified keys queued at once.
    unidentified_budget: u64,
}

impl std::fmt::Debug for UsagePipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsagePipeline")
            .field("stats", &self.stats())
            .finish()
    }
}

impl UsagePipeline {
    /// Starts the writer thread with a buffer of `capacity` events. It
    /// writes through a connection of its own to the database `db` is on.
    pub fn start(db: Db, capacity: usize) -> Self {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let counters = Arc::new(Counters::default());
        let (stop, stop_rx) = oneshot::channel();
        let (done_tx, done) = oneshot::channel();
        let writer_counters = counters.clone();
        let wake = Arc::new(Notify::new());
        let writer_wake = wake.clone();
        std::thread::Builder::new()
            .name("usage-writer".into())
            .spawn(move || {
                lower_thread_priority(WRITER_NICENESS);
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("usage writer runtime");
                runtime.block_on(run_writer(db, rx, stop_rx, writer_wake, writer_counters));
                let _ = done_tx.send(());
            })
            .expect("usage writer thread starts");
        Self {
            tx,
            counters,
            control: Arc::new(Mutex::new(Some(Control { stop, done }))),
            capacity: capacity.max(1),
            wake,
            wake_at: (capacity / 2).clamp(1, BATCH),
            unidentified_budget: (capacity as u64 / 10).max(1),
        }
    }

    /// Takes an event without ever waiting: when the buffer is full the event
    /// is dropped and counted.
    pub fn record(&self, event: UsageEvent) {
        let unidentified = event.key_row_id.is_none();
        if unidentified
            && self
                .counters
                .unidentified_queued
                .fetch_add(1, Ordering::Relaxed)
                >= self.unidentified_budget
        {
            self.counters
                .unidentified_queued
                .fetch_sub(1, Ordering::Relaxed);
            self.counters
                .unidentified_dropped
                .fetch_add(1, Ordering::Relaxed);
            let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            self.warn_dropped(dropped);
            return;
        }
        match self.tx.try_send(event) {
            Ok(()) => {
                self.counters.accepted.fetch_add(1, Ordering::Relaxed);
                if self.capacity - self.tx.capacity() >= self.wake_at {
                    self.wake.notify_one();
                }
            }
            Err(_) => {
                if unidentified {
                    self.counters
                        .unidentified_queued
                        .fetch_sub(1, Ordering::Relaxed);
                }
                let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                self.warn_dropped(dropped);
            }
        }
    }

    /// Logs dropped events at most every ten seconds.
    fn warn_dropped(&self, dropped: u64) {
        let now = Utc::now().timestamp() as u64;
        let last = self.counters.last_warning.load(Ordering::Relaxed);
        if now >= last + 10
            && self
                .counters
                .last_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                dropped_total = dropped,
                "usage buffer full: usage events dropped"
            );
        }
    }

    /// The counters now.
    pub fn stats(&self) -> UsageStats {
        let queued = (self.capacity - self.tx.capacity()) as u64;
        UsageStats {
            accepted: self.counters.accepted.load(Ordering::Relaxed),
            written: self.counters.written.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
            failed_batches: self.counters.failed_batches.load(Ordering::Relaxed),
            queued,
            capacity: self.capacity as u64,
            unidentified_dropped: self.counters.unidentified_dropped.load(Ordering::Relaxed),
            unidentified_budget: self.unidentified_budget,
        }
    }

    /// Writes every buffered event and stops the writer. Events recorded
    /// afterwards are dropped (and counted). Safe to call twice.
    pub async fn shutdown(&self) {
        let control = self.control.lock().expect("usage control lock").take();
        if let Some(Control { stop, done }) = control {
            let _ = stop.send(());
            if done.await.is_err() {
                tracing::error!("usage writer ended badly");
            }
            let stats = self.stats();
            tracing::info!(
                written = stats.written,
                dropped = stats.dropped,
                "usage events flushed"
            );
        }
    }
}

/// The writer thread's work: open its own connection, then write batches
/// until stopped.
async fn run_writer(
    db: Db,
    rx: mpsc::Receiver<UsageEvent>,
    stop: oneshot::Receiver<()>,
    wake: Arc<Notify>,
    counters: Arc<Counters>,
) {
    // Opened from this thread, so that SQLite's connection thread inherits
    // its priority.
    let own = db.single_connection().await;
    let writer_db = match &own {
        Ok(own) => own,
        Err(e) => {
            tracing::warn!(error = %e, "usage writer uses the shared pool");
            &db
        }
    };
    write_loop(writer_db, rx, stop, &wake, counters).await;
    if let Ok(own) = own {
        own.close().await;
    }
}

/// Lowers the calling thread's CPU priority by `niceness` (Linux keeps a
/// nice value per thread; threads it starts inherit it). Elsewhere a no-op.
fn lower_thread_priority(niceness: i32) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id.
        let result = unsafe {
            let tid = libc::gettid() as libc::id_t;
            let current = libc::getpriority(libc::PRIO_PROCESS, tid);
            libc::setpriority(libc::PRIO_PROCESS, tid, current + niceness)
        };
        if result != 0 {
            tracing::debug!(
                error = %std::io::Error::last_os_error(),
                "usage writer keeps the normal priority"
            );
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = niceness;
}

async fn write_loop(
    db: &Db,
    mut rx: mpsc::Receiver<UsageEvent>,
    mut stop: oneshot::Receiver<()>,
    wake: &Notify,
    counters: Arc<Counters>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            biased;
            _ = &mut stop => break,
            n = rx.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    break;
                }
                if batch.len() < BATCH {
                    // Let events gather so that each transaction writes
                    // many: for GATHER, or until the buffer is filling up.
                    tokio::select! {
                        _ = tokio::time::sleep(GATHER) => {}
                        _ = wake.notified() => {}
                    }
                    while batch.len() < BATCH {
                        match rx.try_recv() {
                            Ok(event) => batch.push(event),
                            Err(_) => break,
                        }
                    }
                }
                write_with_retries(db, &mut batch, &counters).await;
            }
        }
    }
    // Shutdown: take what is left, then write it.
    rx.close();
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        write_with_retries(db, &mut batch, &counters).await;
    }
}

async fn write_with_retries(db: &Db, batch: &mut Vec<UsageEvent>, counters: &Counters) {
    // These events have left the buffer: their places are free again.
    let unidentified = batch.iter().filter(|e| e.key_row_id.is_none()).count();
    counters
        .unidentified_queued
        .fetch_sub(unidentified as u64, Ordering::Relaxed);
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=4 {
        match write_batch(db, batch).await {
            Ok(()) => {
                counters
                    .written
                    .fetch_add(batch.len() as u64, Ordering::Relaxed);
                batch.clear();
                return;
            }
            Err(e) if attempt < 4 => {
                tracing::warn!(error = %e, attempt, events = batch.len(), "could not write usage events; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "usage events dropped: the database refused them");
            }
        }
    }
    counters.failed_batches.fetch_add(1, Ordering::Relaxed);
    counters
        .dropped
        .fetch_add(batch.len() as u64, Ordering::Relaxed);
    batch.clear();
}

/// Writes one batch in one transaction: the raw events, the hourly counts,
/// and each key's last use.
async fn write_batch(db: &Db, batch: &[UsageEvent]) -> Result<(), sqlx::Error> {
    let mut hourly: HashMap<(i64, DateTime<Utc>, &str, &str), i64> = HashMap::new();
    let mut last_use: HashMap<i64, (DateTime<Utc>, Option<IpAddr>)> = HashMap::new();
    for e in batch {
        let Some(key) = e.key_row_id else { continue };
        *hourly
            .entry((
                key,
                usage::hour_of(e.at),
                e.scope.as_deref().unwrap_or(""),
                e.outcome.as_str(),
            ))
            .or_default() += 1;
        // A key's last use is its last accepted verification.
        if e.outcome == VerifyCode::Ok {
            let entry = last_use.entry(key).or_insert((e.at, e.client_addr));
            if e.at >= entry.0 {
                *entry = (e.at, e.client_addr);
            }
        }
    }

    let mut tx = db.begin().await?;
    usage::insert_events(tx.conn(), batch).await?;
    for ((key, hour, scope, outcome), requests) in hourly {
        usage::add_hourly(tx.conn(), key, hour, scope, outcome, requests).await?;
    }
    for (key, (at, addr)) in last_use {
        usage::note_last_use(tx.conn(), key, at, addr.map(|a| a.to_string()).as_deref()).await?;
    }
    tx.commit().await
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::lower_thread_priority;

    fn own_priority() -> i32 {
        // SAFETY: reads the calling thread's own nice value.
        unsafe { libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t) }
    }

    #[test]
    fn only_the_writer_thread_runs_at_a_lower_priority() {
        let caller = own_priority();
        let (before, after) = std::thread::spawn(|| {
            let before = own_priority();
            lower_thread_priority(3);
            (before, own_priority())
        })
        .join()
        .unwrap();
        assert_eq!(after, (before + 3).min(19));
        assert_eq!(own_priority(), caller);
    }
}
