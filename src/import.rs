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
//! after its records. An event whose record is not stored yet
//! is kept and retried once after the last line (so `events.jsonl` may come before the file
//! with its records); if its record is still unknown then, it is rejected.
//!
//! A bad line is reported on standard error as `FILE:LINE: rejected: REASON` and skipped;
//! the load goes on. A summary (lines, inserted, updated, unchanged, events applied,
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
    EventKind, EventOutcome, RecordEvent, RecordStore, SledStore, StoreError, check_record,
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

/// Maps one line; `Err` is the reason it is rejected.
fn parse_line(line: &str, feed: Option<FeedKind>) -> Result<Item, String> {
    if line.contains("\"decided_on\"") {
        let record: CreditRecord =
            serde_json::from_str(line).map_err(|e| format!("not a valid record: {e}"))?;
        check_record(&record).map_err(|e| e.to_string())?;
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
        IntakeItem::Record(record) => {
            check_record(&record).map_err(|e| e.to_string())?;
            Ok(Item::Record(record))
        }
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

/// Prints rejected lines above the progress bar and counts them.
#[derive(Clone)]
struct Rejects {
    files: Vec<String>,
    progress: ProgressBar,
}

impl Rejects {
    fn report(&self, origin: &Origin, reason: &str) {
        let file = self.files.get(origin.file).map_or("?", String::as_str);
        let line = origin.line;
        self.progress
            .suspend(|| eprintln!("{file}:{line}: rejected: {reason}"));
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

    fn reject(&mut self, origin: &Origin, reason: &str) {
        self.rejected += 1;
        self.rejects.report(origin, reason);
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
                    self.reject(&origin, &format!("the line is not UTF-8 text ({e})"));
                    continue;
                }
            };
            if text.is_empty() {
                continue;
            }
            self.lines += 1;
            match parse_line(text, feed) {
                Ok(item) => {
                    if let Err(hangup) = self.push(item, origin) {
                        return Ok(Err(hangup));
                    }
                }
                Err(reason) => self.reject(&origin, &reason),
            }
        }
        self.rejects.progress.inc(unreported);
        Ok(Ok(()))
    }
}

/// The writer side: stores batches and keeps the counts.
struct Writer<'a, S: RecordStore + ?Sized> {
    store: &'a S,
    batch_size: usize,
    deferred: Vec<(RecordEvent, Origin)>,
    summary: ImportSummary,
    rejects: Rejects,
    ack: Option<BufWriter<io::Stdout>>,
}

impl<S: RecordStore + ?Sized> Writer<'_, S> {
    fn reject(&mut self, origin: &Origin, reason: &str) {
        self.summary.rejected += 1;
        self.rejects.report(origin, reason);
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
            let mut refused = vec![false; records.len()];
            for (index, error) in &put.rejected {
                if let (Some(origin), Some(flag)) =
                    (record_origins.get(*index), refused.get_mut(*index))
                {
                    *flag = true;
                    self.reject(origin, &error.to_string());
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
            let done = self.apply_events(events, true)?;
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

    /// Applies events; with `defer`, events on unknown records are kept for a retry.
    /// Returns the record ids of the events now durable.
    fn apply_events(
        &mut self,
        events: Vec<(RecordEvent, Origin)>,
        defer: bool,
    ) -> Result<Vec<String>, Fatal> {
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
                Err(StoreError::UnknownRecord { .. }) if defer => {
                    self.deferred.push((event, origin));
                }
                Err(e) => self.reject(&origin, &e.to_string()),
            }
        }
        Ok(done)
    }

    /// Retries the deferred events (their records may have come later) and flushes.
    fn finish(&mut self) -> Result<(), Fatal> {
        let deferred = std::mem::take(&mut self.deferred);
        for chunk in deferred.chunks(self.batch_size) {
            let done = self.apply_events(chunk.to_vec(), false)?;
            let acked: Vec<String> = done
                .into_iter()
                .map(|id| format!("ACK-EVENT {id}"))
                .collect();
            self.acknowledge(&acked)?;
        }
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
    let rejects = Rejects { files, progress };
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Batch>(2);
    let mut writer = Writer {
        store,
        batch_size,
        deferred: Vec::new(),
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
    let store = match SledStore::open(&args.data) {
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
    match import(&store, &source, &options) {
        Ok(summary) => {
            let elapsed = started.elapsed().as_secs_f64();
            let rate = summary.lines as f64 / elapsed.max(1e-9);
            eprintln!(
                "imported {} lines in {elapsed:.1} s ({rate:.0} lines/s) into {}",
                summary.lines,
                args.data.display()
            );
            eprintln!(
                "  records: {} inserted, {} updated, {} unchanged",
                summary.inserted, summary.updated, summary.unchanged
            );
            eprintln!(
                "  events: {} applied, {} unchanged",
                summary.events_applied, summary.events_unchanged
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

/// What [`ingest_values`] did with a pushed batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestSummary {
    /// Records stored for the first time.
    pub inserted: usize,
    /// Records that changed (previous version kept in the history).
    pub updated: usize,
    /// Records re-sent exactly as stored.
    pub unchanged: usize,
    /// Events that changed their record.
    pub events_applied: usize,
    /// Items refused: where (`items[i]` and the row id when known) and why.
    pub rejected: Vec<(String, String)>,
}

/// Stores a batch pushed over HTTP: each item is mapped exactly as one line of an import
/// (provincial feed row, record or event), records are stored first, then the events; a
/// refused item is listed and the others are stored. Durable when it returns.
pub fn ingest_values<S: RecordStore + ?Sized>(
    store: &S,
    items: &[serde_json::Value],
) -> Result<IngestSummary, StoreError> {
    let mut summary = IngestSummary::default();
    let mut records = Vec::new();
    let mut record_at = Vec::new();
    let mut events = Vec::new();
    let mut event_at = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = match item
            .get("xxbh")
            .or_else(|| item.get("id"))
            .and_then(|v| v.as_str())
        {
            Some(id) => format!("items[{i}] ({id})"),
            None => format!("items[{i}]"),
        };
        match parse_line(&item.to_string(), None) {
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
    for (index, error) in put.rejected {
        let at = record_at.get(index).cloned().unwrap_or_default();
        summary.rejected.push((at, error.to_string()));
    }
    for (result, at) in store.apply_events(&events)?.into_iter().zip(event_at) {
        match result {
            Ok(EventOutcome::Applied) => summary.events_applied += 1,
            Ok(EventOutcome::Unchanged) => {}
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
    fn lines_in_the_product_schema_parse() {
        let record = r#"{"id": "R1", "uscc": "914201066715055524", "kind": "ADMIN_PENALTY", "decided_on": "2023-01-01"}"#;
        assert!(matches!(parse_line(record, None), Ok(Item::Record(_))));
        let event = r#"{"record_id": "R1", "kind": "repair", "date": "2024-01-01"}"#;
        assert!(matches!(parse_line(event, None), Ok(Item::Event(_))));
        let bad = r#"{"id": "R1", "uscc": "914201066715055525", "kind": "ADMIN_PENALTY", "decided_on": "2023-01-01"}"#;
        let reason = parse_line(bad, None).err().unwrap_or_default();
        assert!(reason.contains("check character"), "{reason}");
    }
}
