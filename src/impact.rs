//! Impact analysis of a rule change (影响分析): before a new version of a rule set
//! is published, reviewers see what it changes in *outcomes*. Every entity is evaluated under
//! the old and the new compiled version as of one date, and the two [`Outcome`]s are compared
//! directly (no [`crate::eval::Report`] is built: its Chinese sentences are the slow part).
//!
//! The engine knows nothing of the store, HTTP or the terminal: it takes the two programs, the
//! date and a fallible iterator of entities, and returns an [`ImpactReport`]
//! (serialisable, deterministic: the same inputs give the same bytes, whatever the number of
//! threads or the chunk size). [`crate::impact_store`] runs it over the record store.
//!
//! # What is counted
//! Each entity falls in exactly one [`ChangeKind`]:
//! `newly_disqualified` (合格 → 不合格), `newly_qualified` (不合格 → 合格), `decision_changed`
//! (any other decision change, i.e. to or from 需人工复核 review), `score_changed` (same
//! decision, different total), `clauses_changed` (same decision and total, but some clause
//! outcome differs, e.g. a flag or a different veto) and `unchanged`. Flags are counted apart:
//! `newly_flagged` / `no_longer_flagged` (any flag clause fired under one version only).
//!
//! # Clauses
//! Clauses are matched between the versions by clause id. A clause's *effect* on an entity is
//! whether it vetoed, whether it flagged, its points (0 when it gives none) and whether it
//! failed to evaluate; a clause that exists in one version only has no effect in the other.
//! A clause is *responsible* for an entity's change when its effect differs between the
//! versions; so a clause only in one version counts as changed for every entity it affects
//! (fires, gives non-zero points or fails), and [`ClauseImpact::status`] lists it as added or
//! removed.
//!
//! # Score deltas
//! `new total − old total`, exact decimals, over the entities eligible under both versions
//! (zero deltas included): count, min, max, exact sum, and the mean rounded to 4 places half
//! away from zero. The histogram has 11 fixed buckets, symmetric by magnitude around an exact
//! 0 bucket, with bounds 1, 2, 5 and 10 points ([`HISTOGRAM_BUCKETS`]):
//! `(-∞, -10)`, `[-10, -5)`, `[-5, -2)`, `[-2, -1)`, `[-1, 0)`, `0`, `(0, 1]`, `(1, 2]`,
//! `(2, 5]`, `(5, 10]`, `(10, +∞)`.
//!
//! # Top changed entities
//! The `top` most changed entities (default [`DEFAULT_TOP`]), most severe first: decision
//! changes first, then by |score delta| descending, ties by USCC ascending (then by position
//! in the input, should a USCC come twice). Each comes with the clauses responsible.
//!
//! # Parallelism
//! The calling thread reads entities in chunks ([`ImpactOptions::chunk_size`]) and hands
//! each chunk to the rayon pool; a worker decodes and evaluates it into a partial
//! aggregate (counts, exact sums, a histogram, per-clause tallies and a top-N heap), which
//! the calling thread merges. Merging is commutative and associative and the top list is a
//! total order, so the result does not depend on which worker finished first. At most a few
//! chunks per thread are in flight, so memory stays bounded however many entities there are.
//! Set `RAYON_NUM_THREADS` to limit the threads.

mod render;
mod report;
mod top;

pub use render::render_text;
pub use report::{
    Bucket, ChangeKind, ChangedEntity, ClauseChange, ClauseImpact, ClauseState, ClauseStatus,
    Counts, DecisionCounts, DecisionTally, DeltaSummary, EntityOutcome, ImpactReport, VersionInfo,
};
use top::{Rank, Ranked, SeverityKey, TopN};

use crate::ast::ClauseKind;
use crate::compile::CompiledRuleSet;
use crate::eval::{ClauseOutcome, Decision, Outcome};
use crate::record::{CreditRecord, Uscc};
use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use std::collections::HashMap;
use std::fmt::Display;

/// How many changed entities a report lists by default.
pub const DEFAULT_TOP: usize = 20;

/// The most changed entities a report may list.
pub const MAX_TOP: usize = 10_000;

/// Entities per chunk handed to a worker by default.
pub const DEFAULT_CHUNK_SIZE: usize = 2_048;

/// Magnitudes (points) that bound the histogram buckets on each side of 0.
const BUCKET_BOUNDS: [i64; 4] = [1, 2, 5, 10];

/// The histogram buckets of score deltas, in order (see the module docs).
pub const HISTOGRAM_BUCKETS: [&str; 11] = [
    "(-∞, -10)",
    "[-10, -5)",
    "[-5, -2)",
    "[-2, -1)",
    "[-1, 0)",
    "0",
    "(0, 1]",
    "(1, 2]",
    "(2, 5]",
    "(5, 10]",
    "(10, +∞)",
];

/// The index of the exact-zero bucket.
const ZERO_BUCKET: usize = 5;

/// How to run an analysis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImpactOptions {
    /// How many changed entities to list (0 to [`MAX_TOP`]).
    pub top: usize,
    /// Entities per chunk handed to a worker (0 is taken as 1).
    pub chunk_size: usize,
    /// Evaluate on the rayon pool (`false`: everything on the calling thread).
    pub parallel: bool,
}

impl Default for ImpactOptions {
    fn default() -> Self {
        ImpactOptions {
            top: DEFAULT_TOP,
            chunk_size: DEFAULT_CHUNK_SIZE,
            parallel: true,
        }
    }
}

/// Why an analysis could not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImpactError {
    /// The entities could not be read or decoded (e.g. the store failed).
    #[error("reading entity #{index} for the impact analysis failed: {message}")]
    Input {
        /// Position of the entity in the input, from 1.
        index: u64,
        /// What the source reported.
        message: String,
    },
    /// The options are out of range.
    #[error("invalid impact options: {0}")]
    Options(String),
    /// A worker stopped unexpectedly (a bug: please report it).
    #[error("an impact worker failed: {0}; this is a bug, please report it")]
    Worker(String),
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/// Compares the outcomes of `entities` under `old` and `new` as of `as_of`.
///
/// `entities` yields `(USCC, records)` or an error, which stops the analysis
/// ([`ImpactError::Input`]). `progress` is called on the calling thread with the number of
/// entities evaluated so far.
pub fn analyse<I, R, E>(
    old: &CompiledRuleSet,
    new: &CompiledRuleSet,
    as_of: NaiveDate,
    entities: I,
    options: &ImpactOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ImpactReport, ImpactError>
where
    I: IntoIterator<Item = Result<(Uscc, R), E>>,
    R: AsRef<[CreditRecord]> + Send,
    E: Display,
{
    analyse_with(old, new, as_of, entities, Ok, options, progress)
}

/// Like [`analyse`], for input that still needs decoding: `decode` turns each item into
/// `(USCC, records)` on the worker threads, so the calling thread only reads. The store
/// path uses it to decode records in parallel.
pub fn analyse_with<I, T, R, E, D>(
    old: &CompiledRuleSet,
    new: &CompiledRuleSet,
    as_of: NaiveDate,
    items: I,
    decode: D,
    options: &ImpactOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ImpactReport, ImpactError>
where
    I: IntoIterator<Item = Result<T, E>>,
    T: Send,
    R: AsRef<[CreditRecord]>,
    E: Display,
    D: Fn(T) -> Result<(Uscc, R), E> + Sync,
{
    if options.top > MAX_TOP {
        return Err(ImpactError::Options(format!(
            "top {} is more than the {MAX_TOP} entities a report can list",
            options.top
        )));
    }
    let ctx = Context::new(old, new, as_of, options.top);
    let chunk_size = options.chunk_size.max(1);
    // A rayon worker that blocked waiting for its own pool could deadlock it.
    let parallel = options.parallel && rayon::current_thread_index().is_none();
    let decode_item = |seq: u64, item: T| decode(item).map_err(|e| (seq, e.to_string()));
    let aggregate = if parallel {
        run_parallel(&ctx, items.into_iter(), &decode_item, chunk_size, progress)?
    } else {
        run_sequential(&ctx, items.into_iter(), &decode_item, chunk_size, progress)?
    };
    Ok(aggregate.into_report(&ctx))
}

/// Input cut in parts for [`analyse_parts`]: `open(i)` gives the items of part `i`, for `i`
/// in `0..count`; the parts, read one after the other, are the whole input in order.
#[derive(Debug, Clone, Copy)]
pub struct Parts<O> {
    /// How many parts.
    pub count: usize,
    /// Opens a part (on the thread that reads it).
    pub open: O,
}

/// Like [`analyse_with`], over input cut in [`Parts`] that are read in parallel (a store's
/// ranges of the USCC key space). Each part is opened,
/// read, decoded and evaluated on one worker thread ([`ImpactOptions::parallel`]: as many
/// as the rayon pool has, `RAYON_NUM_THREADS`; otherwise everything runs on the calling
/// thread); a free worker takes the next part. The report is the one [`analyse_with`] gives
/// for the parts read in order. An input error names the part and the entity's position in
/// it.
pub fn analyse_parts<O, I, T, R, E, D>(
    old: &CompiledRuleSet,
    new: &CompiledRuleSet,
    as_of: NaiveDate,
    parts: Parts<O>,
    decode: D,
    options: &ImpactOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ImpactReport, ImpactError>
where
    O: Fn(usize) -> I + Sync,
    I: IntoIterator<Item = Result<T, E>>,
    R: AsRef<[CreditRecord]>,
    E: Display,
    D: Fn(T) -> Result<(Uscc, R), E> + Sync,
{
    if options.top > MAX_TOP {
        return Err(ImpactError::Options(format!(
            "top {} is more than the {MAX_TOP} entities a report can list",
            options.top
        )));
    }
    let Parts { count: parts, open } = parts;
    if parts >= 1 << PART_BITS {
        return Err(ImpactError::Options(format!(
            "{parts} parts are more than the {} an analysis can read",
            (1u64 << PART_BITS) - 1
        )));
    }
    let ctx = Context::new(old, new, as_of, options.top);
    let chunk_size = options.chunk_size.max(1);
    let threads = if options.parallel {
        rayon::current_num_threads().clamp(1, parts.max(1))
    } else {
        1
    };
    let decode_item = |seq: u64, item: T| decode(item).map_err(|e| (seq, e.to_string()));
    let aggregate = if threads <= 1 {
        let mut total = Aggregate::new(&ctx);
        for part in 0..parts {
            let partial = read_part(
                &ctx,
                part,
                parts,
                &open,
                &decode_item,
                chunk_size,
                &mut |a| {
                    total.merge(a);
                    progress(total.counts.evaluated);
                    total.error.is_none()
                },
            );
            if partial.is_err() || total.error.is_some() {
                break;
            }
        }
        match total.input_error() {
            Some(error) => return Err(error),
            None => total,
        }
    } else {
        run_parts(
            &ctx,
            parts,
            threads,
            &open,
            &decode_item,
            chunk_size,
            progress,
        )?
    };
    Ok(aggregate.into_report(&ctx))
}

// ---------------------------------------------------------------------------------------------
// Drivers
// ---------------------------------------------------------------------------------------------

/// Bits of an item's sequence number that number it within its part ([`analyse_parts`]);
/// the bits above hold the part. Parts in input order keep the sequence numbers in input
/// order, so ties in the top list fall as they would over the whole input.
const PART_BITS: u32 = 24;
const LOCAL_BITS: u32 = 64 - PART_BITS;

/// Reads one part in chunks, evaluating each and handing the partial aggregate to `emit`
/// (which says whether to go on). `Err` when `emit` asked to stop.
fn read_part<I, T, R, E>(
    ctx: &Context<'_>,
    part: usize,
    parts: usize,
    open: &(impl Fn(usize) -> I + Sync),
    decode: &(impl Fn(u64, T) -> Result<(Uscc, R), (u64, String)> + Sync),
    chunk_size: usize,
    emit: &mut dyn FnMut(Aggregate) -> bool,
) -> Result<(), ()>
where
    I: IntoIterator<Item = Result<T, E>>,
    R: AsRef<[CreditRecord]>,
    E: Display,
{
    let base = (part as u64) << LOCAL_BITS;
    let mut items = open(part).into_iter();
    let mut next_local = 0;
    loop {
        let (chunk, read_error) = read_chunk(&mut items, chunk_size, &mut next_local);
        let last = chunk.len() < chunk_size || read_error.is_some();
        let chunk: Chunk<T> = chunk
            .into_iter()
            .map(|(seq, item)| (base | seq, item))
            .collect();
        let mut partial = if chunk.is_empty() {
            Aggregate::new(ctx)
        } else {
            evaluate_chunk(ctx, chunk, decode)
        };
        partial.fail_at(read_error.map(|(seq, message)| (base | seq, message)));
        if let Some((seq, message)) = partial.error.take() {
            let local = seq & ((1 << LOCAL_BITS) - 1);
            partial.error = Some((
                seq,
                format!(
                    "{message} (entity {} of part {} of {parts})",
                    local + 1,
                    part + 1
                ),
            ));
        }
        let failed = partial.error.is_some();
        if !emit(partial) || failed {
            return Err(());
        }
        if last {
            return Ok(());
        }
    }
}

/// [`analyse_parts`] on `threads` scoped threads; the partial aggregates are merged on the
/// calling thread as they come.
fn run_parts<I, T, R, E>(
    ctx: &Context<'_>,
    parts: usize,
    threads: usize,
    open: &(impl Fn(usize) -> I + Sync),
    decode: &(impl Fn(u64, T) -> Result<(Uscc, R), (u64, String)> + Sync),
    chunk_size: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<Aggregate, ImpactError>
where
    I: IntoIterator<Item = Result<T, E>>,
    R: AsRef<[CreditRecord]>,
    E: Display,
{
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let next_part = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let (sender, receiver) = std::sync::mpsc::channel::<WorkerResult>();
    let mut merger = Merger {
        total: Aggregate::new(ctx),
        failure: None,
        progress,
    };
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let sender = sender.clone();
            let (next_part, stop) = (&next_part, &stop);
            scope.spawn(move || {
                let work = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    while !stop.load(Ordering::Relaxed) {
                        let part = next_part.fetch_add(1, Ordering::Relaxed);
                        if part >= parts {
                            break;
                        }
                        let going =
                            read_part(ctx, part, parts, open, decode, chunk_size, &mut |a| {
                                // The receiver outlives the threads, so sending cannot fail.
                                let _ = sender.send(Ok(a));
                                !stop.load(Ordering::Relaxed)
                            });
                        if going.is_err() {
                            break;
                        }
                    }
                }));
                if let Err(panic) = work {
                    let _ = sender.send(Err(panic_message(&*panic)));
                }
            });
        }
        drop(sender);
        // Ends when every worker has finished (and dropped its sender).
        for result in receiver.iter() {
            merger.absorb(result);
            if merger.stopped() {
                stop.store(true, Ordering::Relaxed);
            }
        }
    });
    merger.finish()
}

/// Items numbered by their position in the input (from 0).
type Chunk<T> = Vec<(u64, T)>;

/// Reads up to `size` items; an input error ends the chunk and is returned beside it.
fn read_chunk<T, E: Display>(
    items: &mut impl Iterator<Item = Result<T, E>>,
    size: usize,
    next_seq: &mut u64,
) -> (Chunk<T>, Option<(u64, String)>) {
    let mut chunk = Vec::with_capacity(size);
    while chunk.len() < size {
        match items.next() {
            None => break,
            Some(Ok(item)) => {
                chunk.push((*next_seq, item));
                *next_seq += 1;
            }
            Some(Err(e)) => return (chunk, Some((*next_seq, e.to_string()))),
        }
    }
    (chunk, None)
}

fn run_sequential<T, R: AsRef<[CreditRecord]>, E: Display>(
    ctx: &Context<'_>,
    mut items: impl Iterator<Item = Result<T, E>>,
    decode: &(impl Fn(u64, T) -> Result<(Uscc, R), (u64, String)> + Sync),
    chunk_size: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<Aggregate, ImpactError> {
    let mut total = Aggregate::new(ctx);
    let mut next_seq = 0;
    loop {
        let (chunk, read_error) = read_chunk(&mut items, chunk_size, &mut next_seq);
        // A short chunk means the input ended (or failed).
        let last = chunk.len() < chunk_size || read_error.is_some();
        if !chunk.is_empty() {
            total.merge(evaluate_chunk(ctx, chunk, decode));
            progress(total.counts.evaluated);
        }
        total.fail_at(read_error);
        if let Some(error) = total.input_error() {
            return Err(error);
        }
        if last {
            return Ok(total);
        }
    }
}

fn run_parallel<T: Send, R: AsRef<[CreditRecord]>, E: Display>(
    ctx: &Context<'_>,
    mut items: impl Iterator<Item = Result<T, E>>,
    decode: &(impl Fn(u64, T) -> Result<(Uscc, R), (u64, String)> + Sync),
    chunk_size: usize,
    progress: &mut dyn FnMut(u64),
) -> Result<Aggregate, ImpactError> {
    let max_in_flight = rayon::current_num_threads() * 2 + 1;
    let (sender, receiver) = std::sync::mpsc::channel::<WorkerResult>();
    let mut merger = Merger {
        total: Aggregate::new(ctx),
        failure: None,
        progress,
    };
    // The scope body runs on this thread (the input need not be `Send`); the chunks are
    // evaluated on the pool, and the scope returns once every spawned chunk is done.
    rayon::in_place_scope(|scope| {
        let mut next_seq = 0;
        let mut in_flight = 0usize;
        loop {
            let (chunk, read_error) = read_chunk(&mut items, chunk_size, &mut next_seq);
            let last = chunk.len() < chunk_size || read_error.is_some();
            merger.total.fail_at(read_error);
            if !chunk.is_empty() {
                let sender = sender.clone();
                scope.spawn(move |_| {
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        evaluate_chunk(ctx, chunk, decode)
                    }))
                    .map_err(|panic| panic_message(&*panic));
                    // The receiver outlives the scope, so sending cannot fail.
                    let _ = sender.send(result);
                });
                in_flight += 1;
            }
            // Merge what is ready; wait while too many chunks are in flight.
            while in_flight > 0 {
                let ready = if in_flight >= max_in_flight {
                    receiver.recv().ok()
                } else {
                    receiver.try_recv().ok()
                };
                let Some(result) = ready else { break };
                in_flight -= 1;
                merger.absorb(result);
            }
            if last || merger.stopped() {
                break;
            }
        }
        for _ in 0..in_flight {
            if let Ok(result) = receiver.recv() {
                merger.absorb(result);
            }
        }
    });
    merger.finish()
}

/// A worker's partial aggregate, or the message of its panic.
type WorkerResult = Result<Aggregate, String>;

/// Merges the workers' results on the calling thread.
struct Merger<'p> {
    total: Aggregate,
    failure: Option<String>,
    progress: &'p mut dyn FnMut(u64),
}

impl Merger<'_> {
    fn absorb(&mut self, result: WorkerResult) {
        match result {
            Ok(partial) => {
                self.total.merge(partial);
                (self.progress)(self.total.counts.evaluated);
            }
            Err(panic) => {
                self.failure.get_or_insert(panic);
            }
        }
    }

    /// Whether reading should stop (an input error or a failed worker).
    fn stopped(&self) -> bool {
        self.total.error.is_some() || self.failure.is_some()
    }

    fn finish(self) -> Result<Aggregate, ImpactError> {
        if let Some(panic) = self.failure {
            return Err(ImpactError::Worker(panic));
        }
        match self.total.input_error() {
            Some(error) => Err(error),
            None => Ok(self.total),
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a worker panicked".to_owned())
}

/// Decodes and evaluates one chunk into a partial aggregate.
fn evaluate_chunk<T, R: AsRef<[CreditRecord]>>(
    ctx: &Context<'_>,
    chunk: Chunk<T>,
    decode: &impl Fn(u64, T) -> Result<(Uscc, R), (u64, String)>,
) -> Aggregate {
    let mut partial = Aggregate::new(ctx);
    let mut changed = Vec::with_capacity(ctx.pairs.len());
    for (seq, item) in chunk {
        match decode(seq, item) {
            Ok((uscc, records)) => {
                partial.add_entity(ctx, seq, &uscc, records.as_ref(), &mut changed);
            }
            Err(error) => {
                partial.fail_at(Some(error));
                break;
            }
        }
    }
    partial
}

// ---------------------------------------------------------------------------------------------
// Per-entity comparison
// ---------------------------------------------------------------------------------------------

/// A clause of either version, matched by id.
#[derive(Debug, Clone)]
struct ClausePair {
    id: String,
    old: Option<(usize, ClauseKind)>,
    new: Option<(usize, ClauseKind)>,
}

/// What the workers share.
struct Context<'a> {
    old: &'a CompiledRuleSet,
    new: &'a CompiledRuleSet,
    as_of: NaiveDate,
    top: usize,
    pairs: Vec<ClausePair>,
}

impl<'a> Context<'a> {
    fn new(
        old: &'a CompiledRuleSet,
        new: &'a CompiledRuleSet,
        as_of: NaiveDate,
        top: usize,
    ) -> Self {
        Context {
            old,
            new,
            as_of,
            top,
            pairs: pair_clauses(old, new),
        }
    }
}

/// The clauses of the new version in its order, each with its namesake in the old version,
/// then the clauses only in the old version, in its order.
fn pair_clauses(old: &CompiledRuleSet, new: &CompiledRuleSet) -> Vec<ClausePair> {
    let mut old_by_id: HashMap<&str, usize> = HashMap::new();
    for (i, clause) in old.clauses.iter().enumerate() {
        old_by_id.entry(clause.id.as_str()).or_insert(i);
    }
    let mut matched = vec![false; old.clauses.len()];
    let mut pairs = Vec::with_capacity(old.clauses.len() + new.clauses.len());
    for (i, clause) in new.clauses.iter().enumerate() {
        let old_index = old_by_id.get(clause.id.as_str()).copied();
        if let Some(o) = old_index {
            matched[o] = true;
        }
        pairs.push(ClausePair {
            id: clause.id.clone(),
            old: old_index.map(|o| (o, old.clauses[o].kind)),
            new: Some((i, clause.kind)),
        });
    }
    for (i, clause) in old.clauses.iter().enumerate() {
        if !matched[i] && old_by_id.get(clause.id.as_str()) == Some(&i) {
            pairs.push(ClausePair {
                id: clause.id.clone(),
                old: Some((i, clause.kind)),
                new: None,
            });
        }
    }
    pairs
}

/// What a clause does to an entity; equal effects mean the clause did not change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Effect {
    vetoed: bool,
    flagged: bool,
    points: Decimal,
    failed: bool,
}

impl Effect {
    /// A clause that is not in the version.
    const NONE: Effect = Effect {
        vetoed: false,
        flagged: false,
        points: Decimal::ZERO,
        failed: false,
    };

    fn of(side: Option<(usize, ClauseKind)>, outcome: &Outcome) -> Effect {
        let Some((index, kind)) = side else {
            return Effect::NONE;
        };
        let Some(clause) = outcome.clauses.get(index) else {
            return Effect::NONE;
        };
        Effect {
            vetoed: kind == ClauseKind::Veto && clause.fired,
            flagged: kind == ClauseKind::Flag && clause.fired,
            points: clause.points.unwrap_or(Decimal::ZERO),
            failed: clause.error.is_some(),
        }
    }

    fn fired(self) -> bool {
        self.vetoed || self.flagged
    }
}

/// Sum of the clause points, rounded by the rule set's policy; saturates instead of overflowing.
fn total_of(outcome: &Outcome) -> Decimal {
    outcome.total()
}

fn flagged(program: &CompiledRuleSet, outcome: &Outcome) -> bool {
    program
        .clauses
        .iter()
        .zip(&outcome.clauses)
        .any(|(c, o)| c.kind == ClauseKind::Flag && o.fired)
}

/// A decimal with exactly two places, e.g. `-2.00`.
fn two_places(value: Decimal) -> Decimal {
    let mut v = value.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    v.rescale(2);
    v
}

fn bucket_of(delta: Decimal) -> usize {
    if delta.is_zero() {
        return ZERO_BUCKET;
    }
    let magnitude = delta.abs();
    let tier = BUCKET_BOUNDS
        .iter()
        .position(|bound| magnitude <= Decimal::from(*bound))
        .unwrap_or(BUCKET_BOUNDS.len());
    if delta.is_sign_positive() {
        ZERO_BUCKET + 1 + tier
    } else {
        ZERO_BUCKET - 1 - tier
    }
}

fn clause_state(outcome: &Outcome, side: Option<(usize, ClauseKind)>) -> Option<ClauseState> {
    let (index, kind) = side?;
    let clause: &ClauseOutcome = outcome.clauses.get(index)?;
    Some(ClauseState {
        kind,
        fired: clause.fired,
        points: clause.points.map(two_places),
        error: clause.error.clone(),
    })
}

// ---------------------------------------------------------------------------------------------
// The mergeable aggregate
// ---------------------------------------------------------------------------------------------

/// Per-clause counts (indexed like `Context::pairs`).
#[derive(Debug, Clone, Default)]
struct ClauseTally {
    entities_changed: u64,
    newly_fired: u64,
    no_longer_fired: u64,
    points_delta: Decimal,
}

/// Running results over some entities; partial aggregates merge into the total.
#[derive(Debug, Clone)]
struct Aggregate {
    counts: Counts,
    decisions: DecisionCounts,
    delta_entities: u64,
    delta_changed: u64,
    delta_min: Option<Decimal>,
    delta_max: Option<Decimal>,
    delta_sum: Decimal,
    histogram: [u64; HISTOGRAM_BUCKETS.len()],
    clauses: Vec<ClauseTally>,
    top: TopN,
    /// The earliest input error seen (by input position).
    error: Option<(u64, String)>,
}

impl Aggregate {
    fn new(ctx: &Context<'_>) -> Self {
        Aggregate {
            counts: Counts::default(),
            decisions: DecisionCounts::default(),
            delta_entities: 0,
            delta_changed: 0,
            delta_min: None,
            delta_max: None,
            delta_sum: Decimal::ZERO,
            histogram: [0; HISTOGRAM_BUCKETS.len()],
            clauses: vec![ClauseTally::default(); ctx.pairs.len()],
            top: TopN::new(ctx.top),
            error: None,
        }
    }

    /// Records an input error, keeping the earliest.
    fn fail_at(&mut self, error: Option<(u64, String)>) {
        if let Some(error) = error
            && self.error.as_ref().is_none_or(|e| error.0 < e.0)
        {
            self.error = Some(error);
        }
    }

    fn input_error(&self) -> Option<ImpactError> {
        self.error
            .as_ref()
            .map(|(seq, message)| ImpactError::Input {
                // Within its part, for input read in parts (the message names the part).
                index: (seq & ((1 << LOCAL_BITS) - 1)) + 1,
                message: message.clone(),
            })
    }

    /// Evaluates one entity under both versions and counts the difference. `changed` is a
    /// scratch buffer for the indexes of the clauses that changed.
    fn add_entity(
        &mut self,
        ctx: &Context<'_>,
        seq: u64,
        uscc: &Uscc,
        records: &[CreditRecord],
        changed: &mut Vec<usize>,
    ) {
        let old = ctx.old.evaluate(records, ctx.as_of);
        let new = ctx.new.evaluate(records, ctx.as_of);
        let (old_decision, new_decision) = (old.decision(ctx.old), new.decision(ctx.new));
        let (old_total, new_total) = (total_of(&old), total_of(&new));
        let delta = new_total.saturating_sub(old_total);

        changed.clear();
        for (i, pair) in ctx.pairs.iter().enumerate() {
            let (before, after) = (Effect::of(pair.old, &old), Effect::of(pair.new, &new));
            if before != after {
                changed.push(i);
                self.clauses[i].add(before, after);
            }
        }

        let kind = ChangeKind::of(
            old_decision,
            new_decision,
            !delta.is_zero(),
            !changed.is_empty(),
        );
        self.count(kind, old_decision, new_decision, records.is_empty());
        match (flagged(ctx.old, &old), flagged(ctx.new, &new)) {
            (false, true) => self.counts.newly_flagged += 1,
            (true, false) => self.counts.no_longer_flagged += 1,
            _ => {}
        }
        if old_decision == Decision::Eligible && new_decision == Decision::Eligible {
            self.add_delta(delta);
        }
        if kind == ChangeKind::Unchanged {
            return;
        }
        let rank = Rank {
            decision_changed: old_decision != new_decision,
            magnitude: delta.abs(),
            uscc,
            seq,
        };
        // Most changed entities do not make the list: build the entry only for those that do.
        if self.top.would_take(&rank) {
            let key = SeverityKey {
                decision_changed: rank.decision_changed,
                magnitude: rank.magnitude,
                uscc: uscc.clone(),
                seq,
            };
            let entry = ChangedEntity {
                uscc: uscc.clone(),
                change: kind,
                old: EntityOutcome {
                    decision: old_decision,
                    total: two_places(old_total),
                },
                new: EntityOutcome {
                    decision: new_decision,
                    total: two_places(new_total),
                },
                delta: two_places(delta),
                clauses: changed
                    .iter()
                    .map(|&i| {
                        let pair = &ctx.pairs[i];
                        ClauseChange {
                            clause: pair.id.clone(),
                            old: clause_state(&old, pair.old),
                            new: clause_state(&new, pair.new),
                        }
                    })
                    .collect(),
            };
            self.top.offer(Ranked { key, entry });
        }
    }

    fn count(&mut self, kind: ChangeKind, old: Decision, new: Decision, no_records: bool) {
        let c = &mut self.counts;
        c.evaluated += 1;
        c.without_records += u64::from(no_records);
        match kind {
            ChangeKind::NewlyDisqualified => c.newly_disqualified += 1,
            ChangeKind::NewlyQualified => c.newly_qualified += 1,
            ChangeKind::DecisionChanged => c.decision_changed += 1,
            ChangeKind::ScoreChanged => c.score_changed += 1,
            ChangeKind::ClausesChanged => c.clauses_changed += 1,
            ChangeKind::Unchanged => c.unchanged += 1,
        }
        self.decisions.old.add(old);
        self.decisions.new.add(new);
    }

    fn add_delta(&mut self, delta: Decimal) {
        self.delta_entities += 1;
        self.delta_changed += u64::from(!delta.is_zero());
        self.delta_sum = self.delta_sum.saturating_add(delta);
        self.delta_min = Some(self.delta_min.map_or(delta, |m| m.min(delta)));
        self.delta_max = Some(self.delta_max.map_or(delta, |m| m.max(delta)));
        self.histogram[bucket_of(delta)] += 1;
    }

    /// Adds another partial aggregate (order does not matter).
    fn merge(&mut self, other: Aggregate) {
        let (a, b) = (&mut self.counts, &other.counts);
        a.evaluated += b.evaluated;
        a.without_records += b.without_records;
        a.newly_disqualified += b.newly_disqualified;
        a.newly_qualified += b.newly_qualified;
        a.decision_changed += b.decision_changed;
        a.score_changed += b.score_changed;
        a.clauses_changed += b.clauses_changed;
        a.unchanged += b.unchanged;
        a.newly_flagged += b.newly_flagged;
        a.no_longer_flagged += b.no_longer_flagged;
        self.decisions.old.merge(&other.decisions.old);
        self.decisions.new.merge(&other.decisions.new);
        self.delta_entities += other.delta_entities;
        self.delta_changed += other.delta_changed;
        self.delta_sum = self.delta_sum.saturating_add(other.delta_sum);
        self.delta_min = option_extreme(self.delta_min, other.delta_min, Decimal::min);
        self.delta_max = option_extreme(self.delta_max, other.delta_max, Decimal::max);
        for (mine, theirs) in self.histogram.iter_mut().zip(other.histogram) {
            *mine += theirs;
        }
        for (mine, theirs) in self.clauses.iter_mut().zip(&other.clauses) {
            mine.merge(theirs);
        }
        for ranked in other.top.heap {
            self.top.offer(ranked);
        }
        self.fail_at(other.error);
    }

    fn into_report(self, ctx: &Context<'_>) -> ImpactReport {
        let mean = (self.delta_entities > 0)
            .then(|| {
                self.delta_sum
                    .checked_div(Decimal::from(self.delta_entities))
                    .map(|m| {
                        // Exactly 4 places, so `-1` prints as `-1.0000` like every other mean.
                        let mut m =
                            m.round_dp_with_strategy(4, RoundingStrategy::MidpointAwayFromZero);
                        m.rescale(4);
                        m
                    })
            })
            .flatten();
        let clauses = ctx
            .pairs
            .iter()
            .zip(self.clauses)
            .map(|(pair, tally)| ClauseImpact {
                clause: pair.id.clone(),
                status: match (pair.old, pair.new) {
                    (Some(_), Some(_)) => ClauseStatus::Both,
                    (None, _) => ClauseStatus::Added,
                    (_, None) => ClauseStatus::Removed,
                },
                old_kind: pair.old.map(|(_, k)| k),
                new_kind: pair.new.map(|(_, k)| k),
                entities_changed: tally.entities_changed,
                newly_fired: tally.newly_fired,
                no_longer_fired: tally.no_longer_fired,
                points_delta: two_places(tally.points_delta),
            })
            .collect();
        ImpactReport {
            old: VersionInfo::of(&ctx.old.meta),
            new: VersionInfo::of(&ctx.new.meta),
            as_of: ctx.as_of,
            counts: self.counts,
            decisions: self.decisions,
            score_delta: DeltaSummary {
                entities: self.delta_entities,
                changed: self.delta_changed,
                min: self.delta_min.map(two_places),
                max: self.delta_max.map(two_places),
                sum: two_places(self.delta_sum),
                mean,
                histogram: HISTOGRAM_BUCKETS
                    .iter()
                    .zip(self.histogram)
                    .map(|(range, count)| Bucket { range, count })
                    .collect(),
            },
            clauses,
            top_limit: ctx.top,
            top: self.top.into_sorted(),
        }
    }
}

fn option_extreme(
    a: Option<Decimal>,
    b: Option<Decimal>,
    pick: fn(Decimal, Decimal) -> Decimal,
) -> Option<Decimal> {
    match (a, b) {
        (Some(a), Some(b)) => Some(pick(a, b)),
        (a, b) => a.or(b),
    }
}

impl ClauseTally {
    fn add(&mut self, before: Effect, after: Effect) {
        self.entities_changed += 1;
        match (before.fired(), after.fired()) {
            (false, true) => self.newly_fired += 1,
            (true, false) => self.no_longer_fired += 1,
            _ => {}
        }
        self.points_delta = self
            .points_delta
            .saturating_add(after.points.saturating_sub(before.points));
    }

    fn merge(&mut self, other: &ClauseTally) {
        self.entities_changed += other.entities_changed;
        self.newly_fired += other.newly_fired;
        self.no_longer_fired += other.no_longer_fired;
        self.points_delta = self.points_delta.saturating_add(other.points_delta);
    }
}

#[cfg(test)]
mod tests;
