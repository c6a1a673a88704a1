//! Group commit for the decision log: every evaluation is logged durably
//! before it is answered, but concurrent evaluations share one flush. A
//! writer thread takes whatever entries are waiting, writes them, flushes
//! once, and then releases every waiting request.

use super::error::ApiError;
use crate::store::{DecisionEntry, RecordStore};
use std::sync::Arc;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Most entries written under one flush.
const MAX_GROUP: usize = 1024;

struct Job {
    entries: Vec<DecisionEntry>,
    /// Gets the entries' sequence numbers (their decision ids), in order.
    done: oneshot::Sender<Result<Vec<u64>, String>>,
}

/// The decision log's writer.
pub struct DecisionLog {
    jobs: mpsc::Sender<Job>,
}

impl DecisionLog {
    /// Starts the writer thread; it stops when the log is dropped.
    pub fn start(store: Arc<dyn RecordStore>) -> DecisionLog {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("decision-log".into())
            .spawn(move || write_groups(store.as_ref(), &queue))
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!(%e, "cannot start the decision-log writer"));
        DecisionLog { jobs }
    }

    /// Appends `entries`; returns their sequence numbers once they are durable.
    pub async fn append(&self, entries: Vec<DecisionEntry>) -> Result<Vec<u64>, ApiError> {
        self.submit(entries)?.durable().await
    }

    /// Hands `entries` to the writer at once; [`Pending::durable`] waits for them. A handler
    /// prepares its answer in between, so that work overlaps the journal's sync.
    pub fn submit(&self, entries: Vec<DecisionEntry>) -> Result<Pending, ApiError> {
        if entries.is_empty() {
            return Ok(Pending(None));
        }
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job { entries, done })
            .map_err(|_| ApiError::internal("the decision-log writer has stopped"))?;
        Ok(Pending(Some(wait)))
    }
}

/// Entries handed to the writer and not yet known to be durable.
#[must_use = "an evaluation may be answered only once its log entry is durable"]
pub struct Pending(Option<oneshot::Receiver<Result<Vec<u64>, String>>>);

impl Pending {
    /// Waits until the entries are durable; gives their sequence numbers (decision ids), in
    /// the order they were submitted.
    pub async fn durable(self) -> Result<Vec<u64>, ApiError> {
        let Some(wait) = self.0 else {
            return Ok(Vec::new());
        };
        match wait.await {
            Ok(Ok(seqs)) => Ok(seqs),
            Ok(Err(e)) => Err(ApiError::internal(format!("decision log: {e}"))),
            Err(_) => Err(ApiError::internal("the decision-log writer has stopped")),
        }
    }
}

fn write_groups(store: &dyn RecordStore, queue: &mpsc::Receiver<Job>) {
    while let Ok(first) = queue.recv() {
        let mut group = vec![first];
        let mut size = group[0].entries.len();
        while size < MAX_GROUP {
            match queue.try_recv() {
                Ok(job) => {
                    size += job.entries.len();
                    group.push(job);
                }
                Err(_) => break,
            }
        }
        let mut entries = Vec::with_capacity(size);
        let mut waiting = Vec::with_capacity(group.len());
        for job in group {
            waiting.push((job.entries.len(), job.done));
            entries.extend(job.entries);
        }
        // Waiting requests are released as soon as the entries are durable (each with the
        // sequence numbers of its own entries); the store indexes them afterwards.
        let mut release = |result: Result<&[u64], String>| {
            let mut from = 0;
            for (count, done) in waiting.drain(..) {
                let mine = result
                    .clone()
                    .map(|seqs| seqs.get(from..from + count).unwrap_or_default().to_vec());
                from += count;
                // A request that gave up waiting no longer needs the answer.
                let _ = done.send(mine);
            }
        };
        let result = store.append_decisions_notify(&entries, &mut |seqs| release(Ok(seqs)));
        match result {
            Ok(seqs) => release(Ok(&seqs)),
            Err(e) => {
                tracing::error!(%e, "decision log");
                release(Err(e.to_string()));
            }
        }
    }
}
