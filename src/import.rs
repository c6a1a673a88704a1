//! `credit-rules import`: bulk load of feed lines into the record store.
//!
//! Each line of each file (`-` = standard input) is one JSON object, either
//!
//! * a row of the provincial feed (`xzcf`, `court`, `lists`, `grades`, `events`), mapped by
//!   [`crate::intake`]; the feed is taken from the file name when it names one, else detected
//!   from the row's fields; or
//! * a record in the product's own schema ([`CreditRecord`], recognised by its
//!   `"decided_on"` field), or an event in the same shape as [`crate::intake::StatusEvent`]
//!   (`{"record_id", "kind": "repair" | "revoke", "date", "authority"?, "note"?}`, recognised
//!   by its `"record_id"` field).
//!
//! Lines are written in batches (`--batch-size`, default 10 000 lines): one store
//! transaction per batch and one flush at its end, so a batch is durable before the next one
//! is written. One thread reads and maps the lines while the calling thread writes. On the
//! 2-core development machine 1,003,865 synthetic records (a 355 MB file, `--demo 100000`)
//! load in 91–97 s (about 10,500 records/s) into 1.4–1.5 GB on disk; sled's own work (about
//! five tree inserts per record, in a transaction) is nearly all of it, and loading the same
//! file again (every record unchanged) takes about 6 s. The events of a batch are applied
//! after its records. An event whose record is not stored yet is kept **in the store**
//! (pending events, `store/sled/pending.rs`) and applied in the transaction that stores its record,
//! in this import or a later one, or by a push or sync: `events.jsonl` may come before the
//! file with its records, and an interrupted import loses no event. `credit-rules pending`
//! lists the events still waiting.
//!
//! A bad line is reported on standard error as `FILE:LINE: rejected: REASON` and skipped;
//! the load goes on. The last [`rejections::KEEP`] of them are also added to the store's list
//! of rejected rows at the end of the run (shown on the console's intake status). A summary (lines, inserted, updated, unchanged, events applied,
//! rejected) ends the run. **Exit status**: 0 when the load ran to the end, even with
//! rejected lines — for a bulk load of a feed that is known to carry a few defective rows,
//! the listed rejects are more useful than a failure, and everything else is stored; 2 with
//! `--strict` when any line was rejected; 1 when the load could not run or stopped (file or
//! database unreadable, storage failure; every batch before the failure is stored).
//!
//! A progress bar (bytes read, lines/s) is drawn on standard error, and hidden when standard
//! error is not a terminal.
//!
//! `--demo N` loads N synthetic entities instead of files; with `--demo-out FILE` it writes
//! them as record JSON lines to FILE instead, e.g. to time an import of a big file. The
//! hidden `--ack` flag prints `ACK <record id>` (and `ACK-EVENT <record id>`) on standard
//! output for every line once its batch is durable; the kill -9 test (`tests/durability.rs`)
//! uses it.

pub mod rejections;

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Deserialize;

use crate::intake::{self, FeedKind, IntakeItem};
use crate::record::CreditRecord;
use crate::store::{
    EventKind, EventOutcome, RecordEvent, RecordStore, StoreError, StoreLocation, check_record,
};

/// Arguments of `credit-rules import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// Feed files, one JSON object per line (provincial feed rows, or records and events in
    /// the product's schema); `-` reads standard input.
    #[arg(required_unless_present = "demo", conflicts_with = "demo")]
    pub files: Vec<PathBuf>,
    /// The database directory.
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// A PostgreSQL store instead of the sled folder: `postgres://user@host:port/db`.
    #[arg(long, env = "CREDIT_RULES_STORE", value_name = "URL")]
    pub store: Option<String>,
    /// Lines per batch: one transaction and one flush per batch.
    #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub batch_size: u32,
    /// Exit with status 2 when any line was rejected (by default the load exits 0 and lists
    /// the rejected lines).
    #[arg(long)]
    pub strict: bool,
    /// Load N synthetic entities (about 10 records each) instead of files.
    #[arg(long, value_name = "N")]
    pub demo: Option<u32>,
    /// With --demo: write the synthetic records as JSON lines to FILE instead of loading
    /// them.
    #[arg(long, value_name = "FILE", requires = "demo")]
    pub demo_out: Option<PathBuf>,
    /// Print `ACK <id>` on standard output for each line once its batch is durable.
    #[arg(long, hide = true)]
    pub ack: bool,
}

/// Counts of one import.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Non-blank lines read.
    pub lines: u64,
    /// Records stored for the first time.
    pub inserted: u64,
    /// Records that changed (previous version kept in the history).
    pub updated: u64,
    /// Records re-sent exactly as stored.
    pub unchanged: u64,
    /// Events that changed their record.
    pub events_applied: u64,
    /// Events their record already had.
    pub events_unchanged: u64,
    /// Events whose record is not stored yet: kept in the store, applied when it arrives.
    pub events_pending: u64,
    /// Lines rejected.
    pub rejected: u64,
}

/// Where a line came from.
#[derive(Debug, Clone)]
struct Origin {
    file: usize,
    line: u64,
}

/// What one line holds.
// Records are the common case and move once per line: boxing them would add an allocation
// per record to save space on the rare events.
#[allow(clippy::large_enum_variant)]
enum Item {
    Record(CreditRecord),
    Event(RecordEvent),
}

/// An event line in the product's schema (the shape of `intake::StatusEvent`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventLine {
    record_id: String,
    kind: EventKind,
    date: NaiveDate,
    #[serde(default)]
    authority: Option<String>,
    #[serde(default)]
    note: Option<String>,
}

/// Today in Asia/Shanghai, the day the intake limits are measured from.
fn shanghai_today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&crate::review::shanghai())
        .date_naive()
}

/// Checks a record for storing: [`check_record`], then the date limits of
/// [`CreditRecord::check_dates`] as of `today`.
fn check_intake_record(record: &CreditRecord, today: NaiveDate) -> Result<(), String> {
    check_record(record).map_err(|e| e.to_string())?;
    let problems = record.check_dates(today);
    if problems.is_empty() {
        return Ok(());
    }
    let reasons: Vec<String> = problems.iter().map(ToString::to_string).collect();
    Err(format!(
        "record `{}` is refused: {}",
        record.id,
        reasons.join("; ")
    ))
}

/// Checks an event's record id (no control characters) and its date against the same floor
/// and tolerance as a record's dates.
fn check_event(event: &RecordEvent, today: NaiveDate) -> Result<(), String> {
    if let Some((position, c)) = crate::record::control_character(&event.record_id) {
        return Err(format!(
            "field `record_id` holds the control character U+{:04X} at position {position}; \
             ids are matched exactly and may not contain control characters",
            u32::from(c)
        ));
    }
    match crate::record::check_event_date(event.date, today) {
        Some(problem) => Err(format!(
            "the {} of record `{}` is refused: {problem}",
            event.kind, event.record_id
        )),
        None => Ok(()),
    }
}

/// Maps one line; `Err` is the reason it is rejected.
fn parse_line(line: &str, feed: Option<FeedKind>, today: NaiveDate) -> Result<Item, String> {
    let item = parse_item(line, feed)?;
    match &item {
        Item::Record(record) => check_intake_record(record, today)?,
        Item::Event(event) => check_event(event, today)?,
    }
    Ok(item)
}

/// Maps one line without the checks that depend on the day.
fn parse_item(line: &str, feed: Option<FeedKind>) -> Result<Item, String> {
    if line.contains("\"decided_on\"") {
        let record: CreditRecord =
            serde_json::from_str(line).map_err(|e| format!("not a valid record: {e}"))?;
        return Ok(Item::Record(record));
    }
    if line.contains("\"record_id\"") {
        let event: EventLine =
            serde_json::from_str(line).map_err(|e| format!("not a valid event: {e}"))?;
        return Ok(Item::Event(RecordEvent {
            record_id: event.record_id,
            kind: event.kind,
            date: event.date,
            authority: event.authority,
            note: event.note,
        }));
    }
    let mapped = match feed {
        Some(feed) => intake::map_line_as(line, feed),
        None => intake::map_line(line),
    };
    match mapped.map_err(|e| e.to_string())? {
        IntakeItem::Record(record) => Ok(Item::Record(record)),
        IntakeItem::Event(event) => Ok(Item::Event(RecordEvent {
            record_id: event.record_id,
            kind: match event.kind {
                intake::EventKind::Repair => EventKind::Repair,
                intake::EventKind::Revoke => EventKind::Revoke,
            },
            date: event.date,
            authority: event.authority,
            note: event.note,
        })),
    }
}

/// The records already taken in by one pushed batch (one request, or one page of a sync),
/// by id, so that the same id sent again in the batch with **different** content is refused
/// instead of silently replacing the first (the same record sent twice is harmless and
/// stored once): a batch is a set, with no order that would say which copy is the
/// correction. A correction is sent in a later batch, where it is an update. An import reads
/// an ordered stream instead, where a later line with the same id is an update of the
/// earlier one (its previous version goes to the history), as the source sent them.
#[derive(Default)]
struct SeenIds(HashMap<String, (String, CreditRecord)>);

impl SeenIds {
    /// Remembers `record` (from `at`), or says where the conflicting first copy came from.
    fn check(&mut self, record: &CreditRecord, at: impl FnOnce() -> String) -> Result<(), String> {
        match self.0.get(&record.id) {
            Some((_, seen)) if seen == record => Ok(()),
            Some((first, _)) => Err(format!(
                "record `{}` was already sent at {first} with different content; one batch \
                 may carry each record once, so send the correction in a later batch",
                record.id
            )),
            None => {
                self.0.insert(record.id.clone(), (at(), record.clone()));
                Ok(())
            }
        }
    }
}

/// A fatal error: the load stops.
#[derive(Debug, thiserror::Error)]
enum Fatal {
    #[error("cannot read `{path}`: {source}")]
    Read { path: String, source: io::Error },
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("cannot write to standard output: {0}")]
    Ack(io::Error),
}

/// Prints rejected lines above the progress bar, and keeps the last
/// [`rejections::KEEP`] for the store's list of rejected rows.
#[derive(Clone)]
struct Rejects {
    files: Vec<String>,
    progress: ProgressBar,
    kept: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<rejections::Rejection>>>,
}

/// A rejected row's id and USCC, when known.
type RowIdentity = (Option<String>, Option<String>);

impl Rejects {
    fn report(&self, origin: &Origin, reason: &str, row: RowIdentity) {
        let file = self.files.get(origin.file).map_or("?", String::as_str);
        let line = origin.line;
        self.progress
            .suspend(|| eprintln!("{file}:{line}: rejected: {reason}"));
        self.keep(format!("import {file}:{line}"), reason, row);
    }

    fn keep(&self, source: String, reason: &str, (id, uscc): RowIdentity) {
        let mut kept = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if kept.len() == rejections::KEEP {
            kept.pop_front();
        }
        kept.push_back(rejections::Rejection {
            time: chrono::Utc::now(),
            source,
            id,
            uscc,
            reason: reason.to_owned(),
        });
    }

    /// Adds the kept rejections to the store's list (a failure is reported, not fatal: the
    /// rows were printed).
    fn store<S: RecordStore + ?Sized>(&self, store: &S) {
        let kept: Vec<_> = self
            .kept
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .drain(..)
            .collect();
        if kept.is_empty() {
            return;
        }
        if let Err(e) = rejections::record(store, kept).and_then(|()| store.flush()) {
            eprintln!("warning: the rejected lines could not be added to the store's list: {e}");
        }
    }
}

/// A batch of parsed lines on its way from the reader thread to the writer.
type Batch = Vec<(Item, Origin)>;

/// The reader side: reads and parses lines, in batches.
struct Reader {
    batch_size: usize,
    batch: Batch,
    out: SyncSender<Batch>,
    rejects: Rejects,
    lines: u64,
    rejected: u64,
    today: NaiveDate,
}

/// The writer side hung up (it failed); the reader stops quietly.
struct Hangup;

impl Reader {
    fn push(&mut self, item: Item, origin: Origin) -> Result<(), Hangup> {
        self.batch.push((item, origin));
        if self.batch.len() >= self.batch_size {
            self.send()?;
        }
        Ok(())
    }

    fn send(&mut self) -> Result<(), Hangup> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(self.batch_size));
        self.out.send(batch).map_err(|_| Hangup)
    }

    fn reject(&mut self, origin: &Origin, reason: &str, row: RowIdentity) {
        self.rejected += 1;
        self.rejects.report(origin, reason, row);
    }

    /// Reads one file (or standard input for `-`) line by line.
    fn read(&mut self, path: &Path, file: usize) -> Result<Result<(), Hangup>, Fatal> {
        let read_error = |source| Fatal::Read {
            path: path.display().to_string(),
            source,
        };
        let mut reader: Box<dyn BufRead> = if path == Path::new("-") {
            Box::new(BufReader::with_capacity(1 << 16, io::stdin()))
        } else {
            Box::new(BufReader::with_capacity(
                1 << 20,
                File::open(path).map_err(read_error)?,
            ))
        };
        let feed = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(FeedKind::from_file_name);
        let mut buffer = Vec::with_capacity(4096);
        let mut line = 0u64;
        let mut unreported = 0u64;
        loop {
            buffer.clear();
            let read = reader.read_until(b'\n', &mut buffer).map_err(read_error)?;
            if read == 0 {
                break;
            }
            line += 1;
            unreported += read as u64;
            if unreported >= 1 << 20 {
                self.rejects.progress.inc(unreported);
                unreported = 0;
            }
            let origin = Origin { file, line };
            let text = match std::str::from_utf8(&buffer) {
                Ok(text) => text.trim(),
                Err(e) => {
                    self.lines += 1;
                    let reason = format!("the line is not UTF-8 text ({e})");
                    self.reject(&origin, &reason, (None, None));
                    continue;
                }
            };
            if text.is_empty() {
                continue;
            }
            self.lines += 1;
            match parse_line(text, feed, self.today) {
                Ok(item) => {
                    if let Err(hangup) = self.push(item, origin) {
                        return Ok(Err(hangup));
                    }
                }
                Err(reason) => self.reject(&origin, &reason, rejections::row_identity(text)),
            }
        }
        self.rejects.progress.inc(unreported);
        Ok(Ok(()))
    }
}

/// The writer side: stores batches and keeps the counts.
struct Writer<'a, S: RecordStore + ?Sized> {
    store: &'a S,
    summary: ImportSummary,
    rejects: Rejects,
    ack: Option<BufWriter<io::Stdout>>,
}

impl<S: RecordStore + ?Sized> Writer<'_, S> {
    fn reject(&mut self, origin: &Origin, reason: &str, row: RowIdentity) {
        self.summary.rejected += 1;
        self.rejects.report(origin, reason, row);
    }

    /// Writes a batch's records, then its events; acknowledges what is durable.
    fn write(&mut self, batch: Batch) -> Result<(), Fatal> {
        let mut records = Vec::with_capacity(batch.len());
        let mut record_origins = Vec::with_capacity(batch.len());
        let mut events = Vec::new();
        for (item, origin) in batch {
            match item {
                Item::Record(record) => {
                    records.push(record);
                    record_origins.push(origin);
                }
                Item::Event(event) => events.push((event, origin)),
            }
        }
        let mut acked: Vec<String> = Vec::new();
        if !records.is_empty() {
            let put = self.store.put_records(&records)?;
            self.summary.inserted += put.inserted as u64;
            self.summary.updated += put.updated as u64;
            self.summary.unchanged += put.unchanged as u64;
            self.summary.events_applied += put.pending_applied as u64;
            for error in &put.pending_refused {
                self.summary.rejected += 1;
                self.rejects
                    .progress
                    .suspend(|| eprintln!("(an event received earlier): rejected: {error}"));
                self.rejects.keep(
                    "import (an event received earlier)".to_owned(),
                    &error.to_string(),
                    (None, None),
                );
            }
            let mut refused = vec![false; records.len()];
            for (index, error) in &put.rejected {
                if let (Some(origin), Some(flag), Some(record)) = (
                    record_origins.get(*index),
                    refused.get_mut(*index),
                    records.get(*index),
                ) {
                    *flag = true;
                    let row = (Some(record.id.clone()), Some(record.uscc.to_string()));
                    self.reject(origin, &error.to_string(), row);
                }
            }
            if self.ack.is_some() {
                acked.extend(
                    records
                        .iter()
                        .zip(&refused)
                        .filter(|(_, refused)| !**refused)
                        .map(|(r, _)| format!("ACK {}", r.id)),
                );
            }
        }
        if !events.is_empty() {
            let done = self.apply_events(events)?;
            acked.extend(done.into_iter().map(|id| format!("ACK-EVENT {id}")));
        }
        self.acknowledge(&acked)?;
        self.rejects.progress.set_message(format!(
            "{} records stored",
            self.summary.inserted + self.summary.updated + self.summary.unchanged
        ));
        Ok(())
    }

    fn acknowledge(&mut self, lines: &[String]) -> Result<(), Fatal> {
        if let Some(out) = &mut self.ack {
            for line in lines {
                writeln!(out, "{line}").map_err(Fatal::Ack)?;
            }
            out.flush().map_err(Fatal::Ack)?;
        }
        Ok(())
    }

    /// Applies events (an event whose record is not stored yet is kept pending in the
    /// store). Returns the record ids of the events now durable.
    fn apply_events(&mut self, events: Vec<(RecordEvent, Origin)>) -> Result<Vec<String>, Fatal> {
        let (events, origins): (Vec<RecordEvent>, Vec<Origin>) = events.into_iter().unzip();
        let results = self.store.apply_events(&events)?;
        let mut done = Vec::new();
        for ((event, origin), result) in events.into_iter().zip(origins).zip(results) {
            match result {
                Ok(EventOutcome::Applied) => {
                    self.summary.events_applied += 1;
                    done.push(event.record_id);
                }
                Ok(EventOutcome::Unchanged) => {
                    self.summary.events_unchanged += 1;
                    done.push(event.record_id);
                }
                Ok(EventOutcome::Pending) => {
                    self.summary.events_pending += 1;
                    done.push(event.record_id);
                }
                Err(e) => {
                    let row = (Some(event.record_id.clone()), None);
                    self.reject(&origin, &e.to_string(), row);
                }
            }
        }
        Ok(done)
    }

    /// Flushes what is left.
    fn finish(&mut self) -> Result<(), Fatal> {
        self.store.flush()?;
        Ok(())
    }
}

/// Where the lines come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Feed files; `-` is standard input.
    Files(Vec<PathBuf>),
    /// `n` synthetic entities from [`crate::demo`].
    Demo(u32),
}

/// Why an import stopped before the end (everything written before is stored).
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct ImportError {
    message: String,
    /// The counts up to the failure.
    pub summary: ImportSummary,
}

/// Options of [`import`].
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Lines per batch: one transaction and one flush per batch.
    pub batch_size: usize,
    /// Print `ACK <id>` / `ACK-EVENT <id>` on standard output once a batch is durable.
    pub ack: bool,
    /// Draw a progress bar on standard error (only when it is a terminal).
    pub progress: bool,
}

/// Loads `source` into `store`: one thread reads and maps the lines, the calling thread
/// writes the batches. Rejected lines are printed on standard error and counted; see the
/// module docs.
pub fn import<S: RecordStore + ?Sized>(
    store: &S,
    source: &Source,
    options: &ImportOptions,
) -> Result<ImportSummary, ImportError> {
    let batch_size = options.batch_size.max(1);
    let files: Vec<String> = match source {
        Source::Files(files) => files.iter().map(|f| f.display().to_string()).collect(),
        Source::Demo(_) => vec!["<demo>".to_owned()],
    };
    let total_bytes = match source {
        Source::Files(paths) if !paths.iter().any(|p| p == Path::new("-")) => Some(
            paths
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum(),
        ),
        _ => None,
    };
    let progress = progress_bar(total_bytes, options.ack || !options.progress);
    let rejects = Rejects {
        files,
        progress,
        kept: Default::default(),
    };
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Batch>(2);
    let mut writer = Writer {
        store,
        summary: ImportSummary::default(),
        rejects: rejects.clone(),
        ack: options.ack.then(|| BufWriter::new(io::stdout())),
    };
    let (read_result, write_result, lines, read_rejected) = std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut reader = Reader {
                batch_size,
                batch: Vec::with_capacity(batch_size),
                out: sender,
                rejects,
                lines: 0,
                rejected: 0,
                today: shanghai_today(),
            };
            let result = match source {
                Source::Files(paths) => {
                    let mut result = Ok(Ok(()));
                    for (index, path) in paths.iter().enumerate() {
                        result = reader.read(path, index);
                        if !matches!(result, Ok(Ok(()))) {
                            break;
                        }
                    }
                    result
                }
                Source::Demo(entities) => {
                    let mut result = Ok(Ok(()));
                    for (line, record) in (1u64..).zip(demo_records(*entities)) {
                        reader.lines += 1;
                        if let Err(hangup) =
                            reader.push(Item::Record(record), Origin { file: 0, line })
                        {
                            result = Ok(Err(hangup));
                            break;
                        }
                    }
                    result
                }
            };
            // Send what is left, unless the writer is gone.
            let result = match result {
                Ok(Ok(())) => Ok(reader.send()),
                other => other,
            };
            (result, reader.lines, reader.rejected)
        });
        let mut write_result = Ok(());
        for batch in receiver.iter() {
            write_result = writer.write(batch);
            if write_result.is_err() {
                break;
            }
        }
        // Hang up so that a reader blocked on a full channel stops.
        drop(receiver);
        if write_result.is_ok() {
            write_result = writer.finish();
        }
        let (read_result, lines, rejected) = match reader.join() {
            Ok(out) => out,
            Err(_) => (
                Err(Fatal::Read {
                    path: "<input>".into(),
                    source: io::Error::other("the reader thread panicked"),
                }),
                0,
                0,
            ),
        };
        (read_result, write_result, lines, rejected)
    });
    writer.rejects.progress.finish_and_clear();
    writer.rejects.store(store);
    let mut summary = writer.summary;
    summary.lines = lines;
    summary.rejected += read_rejected;
    let failure = match (write_result, read_result) {
        (Err(e), _) | (Ok(()), Err(e)) => Some(e),
        (Ok(()), Ok(_)) => None,
    };
    match failure {
        Some(e) => {
            // Whatever was written before the failure is stored; make that durable too.
            let _ = store.flush();
            Err(ImportError {
                message: e.to_string(),
                summary,
            })
        }
        None => Ok(summary),
    }
}

fn progress_bar(total_bytes: Option<u64>, hidden: bool) -> ProgressBar {
    if hidden || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(total_bytes, ProgressDrawTarget::stderr());
    let template = if total_bytes.is_some() {
        "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta}) {msg}"
    } else {
        "{spinner} [{elapsed_precise}] {bytes} ({bytes_per_sec}) {msg}"
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Runs `credit-rules import`.
pub fn run(args: &ImportArgs) -> ExitCode {
    if let (Some(n), Some(out)) = (args.demo, &args.demo_out) {
        return match write_demo(n, out) {
            Ok(lines) => {
                eprintln!(
                    "wrote {lines} synthetic records of {n} entities to {}",
                    out.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: cannot write `{}`: {e}", out.display());
                ExitCode::FAILURE
            }
        };
    }
    // Fail before loading anything when a file cannot be opened.
    for file in args.files.iter().filter(|f| *f != Path::new("-")) {
        if let Err(e) = File::open(file) {
            eprintln!("error: cannot read `{}`: {e}", file.display());
            return ExitCode::FAILURE;
        }
    }
    let location = match StoreLocation::choose(&args.data, args.store.as_deref()) {
        Ok(location) => location,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let store = match location.open() {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let source = match args.demo {
        Some(n) => Source::Demo(n),
        None => Source::Files(args.files.clone()),
    };
    let options = ImportOptions {
        batch_size: args.batch_size as usize,
        ack: args.ack,
        progress: true,
    };
    let started = Instant::now();
    match import(&*store, &source, &options) {
        Ok(summary) => {
            let elapsed = started.elapsed().as_secs_f64();
            let rate = summary.lines as f64 / elapsed.max(1e-9);
            eprintln!(
                "imported {} lines in {elapsed:.1} s ({rate:.0} lines/s) into {}",
                summary.lines,
                location.describe()
            );
            eprintln!(
                "  records: {} inserted, {} updated, {} unchanged",
                summary.inserted, summary.updated, summary.unchanged
            );
            eprintln!(
                "  events: {} applied, {} unchanged, {} pending (their record is not stored \
                 yet: kept, and applied when it arrives; `credit-rules pending` lists them)",
                summary.events_applied, summary.events_unchanged, summary.events_pending
            );
            eprintln!(
                "  rejected: {} line(s){}",
                summary.rejected,
                if summary.rejected > 0 {
                    " (listed above)"
                } else {
                    ""
                }
            );
            if args.strict && summary.rejected > 0 {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            let s = &e.summary;
            eprintln!("error: the import stopped: {e}");
            eprintln!(
                "  {} lines read; every batch written before the error is stored \
                 ({} inserted, {} updated, {} unchanged, {} events applied, {} rejected)",
                s.lines, s.inserted, s.updated, s.unchanged, s.events_applied, s.rejected
            );
            ExitCode::FAILURE
        }
    }
}

/// Runs `credit-rules pending`: lists the events kept in the store at `data` because their
/// record has not arrived, one per line (or as JSON lines), then a count on standard error.
pub fn run_pending(data: &Path, store: Option<&str>, json: bool) -> ExitCode {
    let store = match StoreLocation::choose(data, store).and_then(|l| l.open()) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = io::stdout().lock();
    let mut cursor: Option<String> = None;
    let mut count = 0usize;
    loop {
        let page = match store.pending_events(cursor.as_deref(), 1000) {
            Ok(page) => page,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        };
        for event in &page.items {
            count += 1;
            let line = if json {
                serde_json::to_string(event).unwrap_or_default()
            } else {
                format!(
                    "{}  {}  {}  received {}{}",
                    event.record_id,
                    event.kind,
                    event.date,
                    event
                        .received_at
                        .with_timezone(&crate::review::shanghai())
                        .format("%Y-%m-%d %H:%M %:z"),
                    event
                        .authority
                        .as_deref()
                        .map(|a| format!("  {a}"))
                        .unwrap_or_default()
                )
            };
            if writeln!(out, "{line}").is_err() {
                return ExitCode::FAILURE;
            }
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    eprintln!(
        "{count} pending event(s): each waits for its record and is applied when the record \
         arrives (push, import or sync)"
    );
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------------------------
// Synthetic data
// ---------------------------------------------------------------------------------------------

/// The synthetic records of `entities` entities: [`crate::demo`], seed 2024, 0-20 records
/// per entity (10 on average).
fn demo_records(entities: u32) -> impl Iterator<Item = CreditRecord> {
    crate::demo::entities(crate::demo::DemoConfig {
        seed: 2024,
        entities: entities as usize,
        records_per_entity: (0, 20),
    })
    .flat_map(|(_, _, records)| records)
}

fn write_demo(entities: u32, out: &Path) -> io::Result<u64> {
    let mut writer = BufWriter::with_capacity(1 << 20, File::create(out)?);
    let mut lines = 0u64;
    for record in demo_records(entities) {
        serde_json::to_writer(&mut writer, &record)?;
        writer.write_all(b"\n")?;
        lines += 1;
    }
    writer.flush()?;
    Ok(lines)
}

/// An item of a pushed batch as JSON text. Prefer the raw text as received
/// (`Box<RawValue>`): a `serde_json::Value` has already read its numbers through a float.
pub trait ItemText {
    /// The item's JSON text.
    fn json_text(&self) -> std::borrow::Cow<'_, str>;
}

impl ItemText for serde_json::Value {
    fn json_text(&self) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Owned(self.to_string())
    }
}

impl ItemText for Box<serde_json::value::RawValue> {
    fn json_text(&self) -> std::borrow::Cow<'_, str> {
        std::borrow::Cow::Borrowed(self.get())
    }
}

/// What [`ingest_values`] did with a pushed batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestSummary {
    /// Records stored for the first time.
    pub inserted: usize,
    /// Records that changed (previous version kept in the history).
    pub updated: usize,
    /// Records re-sent exactly as stored.
    pub unchanged: usize,
    /// Events that changed their record (pending events applied to new records included).
    pub events_applied: usize,
    /// Events whose record is not stored yet: kept, applied when it arrives.
    pub events_pending: usize,
    /// Items refused: where (`items[i]` and the row id when known) and why.
    pub rejected: Vec<(String, String)>,
}

/// Stores a batch pushed over HTTP: each item is mapped exactly as one line of an import
/// (provincial feed row, record or event), records are stored first, then the events; a
/// refused item is listed and the others are stored. Durable when it returns.
pub fn ingest_values<S: RecordStore + ?Sized, T: ItemText>(
    store: &S,
    items: &[T],
) -> Result<IngestSummary, StoreError> {
    let mut summary = IngestSummary::default();
    let mut records = Vec::new();
    let mut record_at = Vec::new();
    let mut events = Vec::new();
    let mut event_at = Vec::new();
    let today = shanghai_today();
    let mut seen = SeenIds::default();
    for (i, item) in items.iter().enumerate() {
        let text = item.json_text();
        let id = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| {
                v.get("xxbh")
                    .or_else(|| v.get("id"))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            });
        let at = match id {
            Some(id) => format!("items[{i}] ({id})"),
            None => format!("items[{i}]"),
        };
        let parsed = parse_line(&text, None, today).and_then(|item| match &item {
            Item::Record(record) => seen.check(record, || at.clone()).map(|()| item),
            Item::Event(_) => Ok(item),
        });
        match parsed {
            Ok(Item::Record(record)) => {
                records.push(record);
                record_at.push(at);
            }
            Ok(Item::Event(event)) => {
                events.push(event);
                event_at.push(at);
            }
            Err(reason) => summary.rejected.push((at, reason)),
        }
    }
    let put = store.put_records(&records)?;
    summary.inserted = put.inserted;
    summary.updated = put.updated;
    summary.unchanged = put.unchanged;
    summary.events_applied += put.pending_applied;
    for error in put.pending_refused {
        summary
            .rejected
            .push(("an event received earlier".to_owned(), error.to_string()));
    }
    for (index, error) in put.rejected {
        let at = record_at.get(index).cloned().unwrap_or_default();
        summary.rejected.push((at, error.to_string()));
    }
    for (result, at) in store.apply_events(&events)?.into_iter().zip(event_at) {
        match result {
            Ok(EventOutcome::Applied) => summary.events_applied += 1,
            Ok(EventOutcome::Unchanged) => {}
            Ok(EventOutcome::Pending) => summary.events_pending += 1,
            Err(e) => summary.rejected.push((at, e.to_string())),
        }
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_records_are_valid() {
        let records: Vec<_> = demo_records(50).collect();
        assert!(records.len() > 200);
        for r in &records {
            assert_eq!(check_record(r), Ok(()), "{r:?}");
        }
    }

    #[test]
    fn an_import_keeps_its_rejected_lines_in_the_store_with_the_printed_reason() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("feed.jsonl");
        let good = r#"{"id": "R1", "uscc": "914201066715055524", "kind": "ADMIN_PENALTY", "decided_on": "2023-01-01"}"#;
        let bad = r#"{"id": "R2", "uscc": "914201066715055525", "kind": "ADMIN_PENALTY", "decided_on": "2023-01-01"}"#;
        std::fs::write(&file, format!("{good}\n{bad}\nnot json\n")).expect("write");
        let store = crate::store::SledStore::open_temporary().expect("store");
        let options = ImportOptions {
            batch_size: 10,
            ack: false,
            progress: false,
        };
        let summary = import(&store, &Source::Files(vec![file.clone()]), &options).expect("ran");
        assert_eq!((summary.inserted, summary.rejected), (1, 2));
        let kept = rejections::recent(&store).expect("read");
        assert_eq!(kept.len(), 2, "{kept:?}");
        let name = file.display();
        assert_eq!(kept[0].source, format!("import {name}:3"), "newest first");
        assert_eq!(
            (kept[0].id.as_deref(), kept[0].uscc.as_deref()),
            (None, None)
        );
        assert_eq!(kept[1].source, format!("import {name}:2"));
        assert_eq!(kept[1].id.as_deref(), Some("R2"));
        assert_eq!(kept[1].uscc.as_deref(), Some("914201066715055525"));
        let printed = parse_line(bad, None, shanghai_today())
            .err()
            .unwrap_or_default();
        assert_eq!(kept[1].reason, printed, "the reason as printed");
    }

    #[test]
    fn lines_in_the_product_schema_parse() {
        let record = r#"{"id": "R1", "uscc": "914201066715055524", "kind": "ADMIN_PENALTY", "decided_on": "2023-01-01"}"#;
        let today = shanghai_today();
        assert!(matches!(
            parse_line(record, None, today),
            Ok(Item::Record(_))
        ));
        let event = r#"{"record_id": "R1", "kind": "repair", "date": "2024-01-01"}"#;
        assert!(matches!(parse_line(event, None, today), Ok(Item::Event(_))));
        let bad = r#"{"id": "R1", "uscc": "914201066715055525", "kind": "ADMIN_PENALTY", "decided_on": "2023-01-01"}"#;
        let reason = parse_line(bad, None, today).err().unwrap_or_default();
        assert!(reason.contains("check character"), "{reason}");
    }

    #[test]
    fn import_lines_are_held_to_the_intake_limits() {
        let today = NaiveDate::from_ymd_opt(2026, 12, 3).unwrap_or_default();
        let line = |field: &str, value: &str| {
            format!(
                r#"{{"id": "R1", "uscc": "914201066715055524", "kind": "ADMIN_PENALTY", "decided_on": "2023-01-01", "{field}": {value}}}"#
            )
        };
        let refused = |line: String| parse_line(&line, None, today).err().unwrap_or_default();
        let reason = refused(line("amount", r#""-1""#));
        assert!(
            reason.contains("field `amount` (-1) is negative"),
            "{reason}"
        );
        let reason = refused(line("revoked_on", r#""2026-12-11""#));
        assert!(
            reason.contains("field `revoked_on` (2026-12-11) is in the future"),
            "{reason}"
        );
        assert!(parse_line(&line("revoked_on", r#""2026-12-10""#), None, today).is_ok());
        let reason = refused(line("disclosure_until", r#""2023-02-30""#));
        assert!(
            reason.contains("field `disclosure_until` = `2023-02-30`: this date does not exist"),
            "{reason}"
        );
        let event = r#"{"record_id": "R1", "kind": "repair", "date": "1900-01-01"}"#;
        let reason = parse_line(event, None, today).err().unwrap_or_default();
        assert!(reason.contains("before 1990-01-01"), "{reason}");
    }
}
