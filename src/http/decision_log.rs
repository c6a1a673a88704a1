//! Group commit for the decision log, and batch signing of the decisions' receipts: every
//! evaluation is logged durably before it is answered, but concurrent evaluations share one
//! flush and one receipt signature. A writer thread takes whatever entries are waiting,
//! writes them, flushes once, signs the receipts of the whole group with one ed25519
//! signature over their Merkle root ([`crate::receipt`], format 2), and then releases every
//! waiting request with its decision ids and receipts.
//!
//! Group sizes are counted in the metrics (`decision_log_group_entries`, a summary of the
//! entries written under one flush), so that a load test can see how much grouping happens.

use super::error::ApiError;
use crate::receipt::{Receipt, ReceiptBody, ReceiptKey};
use crate::store::{DecisionEntry, RecordStore};
use std::sync::Arc;
use std::sync::mpsc;
use tokio::sync::oneshot;

/// Most entries written under one flush.
const MAX_GROUP: usize = 1024;

/// What the writer gives back for a job once its entries are durable.
#[derive(Debug, Default)]
pub struct Logged {
    /// The entries' sequence numbers (their decision ids), in the order submitted.
    pub seqs: Vec<u64>,
    /// The signed receipts, one per entry in the same order (none when no key was given).
    pub receipts: Vec<Receipt>,
}

/// Receipts to sign for a job's entries: the key, and one body per entry (their
/// `decision_id` is set by the writer).
pub struct ToSign {
    /// The signing key.
    pub key: Arc<ReceiptKey>,
    /// One body per entry.
    pub bodies: Vec<ReceiptBody>,
}

struct Job {
    entries: Vec<DecisionEntry>,
    sign: Option<ToSign>,
    done: oneshot::Sender<Result<Logged, String>>,
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

    /// Appends `entries` (no receipts); returns their sequence numbers once they are durable.
    pub async fn append(&self, entries: Vec<DecisionEntry>) -> Result<Vec<u64>, ApiError> {
        Ok(self.submit(entries, None)?.durable().await?.seqs)
    }

    /// Hands `entries` to the writer at once, with the receipt bodies to sign for them (one
    /// per entry); [`Pending::durable`] waits for them. A handler prepares its answer in
    /// between, so that work overlaps the journal's sync.
    pub fn submit(
        &self,
        entries: Vec<DecisionEntry>,
        sign: Option<ToSign>,
    ) -> Result<Pending, ApiError> {
        if entries.is_empty() {
            return Ok(Pending(None));
        }
        if let Some(sign) = &sign
            && sign.bodies.len() != entries.len()
        {
            return Err(ApiError::internal(format!(
                "{} receipt bodies for {} decision-log entries",
                sign.bodies.len(),
                entries.len()
            )));
        }
        let (done, wait) = oneshot::channel();
        self.jobs
            .send(Job {
                entries,
                sign,
                done,
            })
            .map_err(|_| ApiError::internal("the decision-log writer has stopped"))?;
        Ok(Pending(Some(wait)))
    }
}

/// Entries handed to the writer and not yet known to be durable.
#[must_use = "an evaluation may be answered only once its log entry is durable"]
pub struct Pending(Option<oneshot::Receiver<Result<Logged, String>>>);

impl Pending {
    /// Waits until the entries are durable; gives their sequence numbers (decision ids) and
    /// signed receipts, in the order they were submitted.
    pub async fn durable(self) -> Result<Logged, ApiError> {
        let Some(wait) = self.0 else {
            return Ok(Logged::default());
        };
        match wait.await {
            Ok(Ok(logged)) => Ok(logged),
            Ok(Err(e)) => Err(ApiError::internal(format!("decision log: {e}"))),
            Err(_) => Err(ApiError::internal("the decision-log writer has stopped")),
        }
    }
}

/// A job of the group being written, waiting for its answer.
struct Waiting {
    count: usize,
    sign: Option<ToSign>,
    done: oneshot::Sender<Result<Logged, String>>,
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
        metrics::histogram!("decision_log_group_entries").record(size as f64);
        let mut entries = Vec::with_capacity(size);
        let mut waiting = Vec::with_capacity(group.len());
        for job in group {
            waiting.push(Waiting {
                count: job.entries.len(),
                sign: job.sign,
                done: job.done,
            });
            entries.extend(job.entries);
        }
        // Waiting requests are released as soon as the entries are durable (each with the
        // sequence numbers and receipts of its own entries); the store indexes them
        // afterwards. The first call releases; a second finds no one waiting.
        let mut release = |result: Result<&[u64], String>| release(&mut waiting, result);
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

/// The receipt bodies of a group signed with one key.
struct Batch {
    key: Arc<ReceiptKey>,
    bodies: Vec<ReceiptBody>,
    /// Whose they are: the answer's position and how many bodies are its, in order.
    owners: Vec<(usize, usize)>,
}

/// Answers every waiting job: its sequence numbers and its receipts, the receipts of the
/// whole group signed together (one batch per key).
fn release(waiting: &mut Vec<Waiting>, result: Result<&[u64], String>) {
    if waiting.is_empty() {
        return;
    }
    let seqs = match result {
        Ok(seqs) => seqs,
        Err(e) => {
            for job in waiting.drain(..) {
                // A request that gave up waiting no longer needs the answer.
                let _ = job.done.send(Err(e.clone()));
            }
            return;
        }
    };
    let mut answers: Vec<(Logged, oneshot::Sender<Result<Logged, String>>)> =
        Vec::with_capacity(waiting.len());
    // The bodies to sign, by key (one key in practice), each with the jobs they belong to.
    let mut batches: Vec<Batch> = Vec::new();
    let mut from = 0;
    for job in waiting.drain(..) {
        let mine = seqs
            .get(from..from + job.count)
            .unwrap_or_default()
            .to_vec();
        from += job.count;
        if let Some(ToSign { key, mut bodies }) = job.sign {
            for (body, seq) in bodies.iter_mut().zip(&mine) {
                body.decision_id = *seq;
            }
            let at = match batches.iter().position(|b| Arc::ptr_eq(&b.key, &key)) {
                Some(at) => at,
                None => {
                    batches.push(Batch {
                        key,
                        bodies: Vec::new(),
                        owners: Vec::new(),
                    });
                    batches.len() - 1
                }
            };
            let batch = &mut batches[at];
            batch.owners.push((answers.len(), bodies.len()));
            batch.bodies.extend(bodies);
        }
        answers.push((
            Logged {
                seqs: mine,
                receipts: Vec::new(),
            },
            job.done,
        ));
    }
    for Batch {
        key,
        bodies,
        owners,
    } in batches
    {
        let mut receipts = key.sign_batch(bodies).into_iter();
        for (answer, count) in owners {
            answers[answer].0.receipts = receipts.by_ref().take(count).collect();
        }
    }
    for (logged, done) in answers {
        // A request that gave up waiting no longer needs the answer.
        let _ = done.send(Ok(logged));
    }
}
