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
//! Records are written in batches (`--batch-size`, default 10 000): one store transaction
//! per batch and one flush at its end, so a batch is durable when the next one starts. The
//! events of a batch are applied after its records. An event whose record is not stored yet
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

/// Batches lines into the store and keeps the counts.
struct Importer<'a, S: RecordStore> {
    store: &'a S,
    files: Vec<String>,
    batch_size: usize,
    records: Vec<(CreditRecord, Origin)>,
    events: Vec<(RecordEvent, Origin)>,
    deferred: Vec<(RecordEvent, Origin)>,
    summary: ImportSummary,
    progress: ProgressBar,
    ack: Option<BufWriter<io::Stdout>>,
}

impl<'a, S: RecordStore> Importer<'a, S> {
    fn new(store: &'a S, batch_size: usize, progress: ProgressBar, ack: bool) -> Self {
        Importer {
            store,
            files: Vec::new(),
            batch_size: batch_size.max(1),
            records: Vec::new(),
            events: Vec::new(),
            deferred: Vec::new(),
            summary: ImportSummary::default(),
            progress,
            ack: ack.then(|| BufWriter::new(io::stdout())),
        }
    }

    fn reject(&mut self, origin: &Origin, reason: &str) {
        self.summary.rejected += 1;
        let file = self.files.get(origin.file).map_or("?", String::as_str);
        let line = origin.line;
        self.progress
            .suspend(|| eprintln!("{file}:{line}: rejected: {reason}"));
    }

    fn push(&mut self, item: Item, origin: Origin) -> Result<(), Fatal> {
        match item {
            Item::Record(record) => self.records.push((record, origin)),
            Item::Event(event) => self.events.push((event, origin)),
        }
        if self.records.len() + self.events.len() >= self.batch_size {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn line(&mut self, text: &str, feed: Option<FeedKind>, origin: Origin) -> Result<(), Fatal> {
        self.summary.lines += 1;
        match parse_line(text, feed) {
            Ok(item) => self.push(item, origin),
            Err(reason) => {
                self.reject(&origin, &reason);
                Ok(())
            }
        }
    }

    /// Writes the pending records, then the pending events; acknowledges what is durable.
    fn flush_batch(&mut self) -> Result<(), Fatal> {
        let pending = std::mem::take(&mut self.records);
        let events = std::mem::take(&mut self.events);
        let mut acked: Vec<String> = Vec::new();
        if !pending.is_empty() {
            let (records, origins): (Vec<CreditRecord>, Vec<Origin>) = pending.into_iter().unzip();
            let put = self.store.put_records(&records)?;
            self.summary.inserted += put.inserted as u64;
            self.summary.updated += put.updated as u64;
            self.summary.unchanged += put.unchanged as u64;
            let mut refused = vec![false; records.len()];
            for (index, error) in &put.rejected {
                if let Some(origin) = origins.get(*index) {
                    refused[*index] = true;
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
            let acked_events = self.apply_events(events, true)?;
            acked.extend(acked_events.into_iter().map(|id| format!("ACK-EVENT {id}")));
        }
        if let Some(out) = &mut self.ack {
            for line in &acked {
                writeln!(out, "{line}").map_err(Fatal::Ack)?;
            }
            out.flush().map_err(Fatal::Ack)?;
        }
        self.progress.set_message(format!(
            "{} records stored, {} rejected",
            self.summary.inserted + self.summary.updated + self.summary.unchanged,
            self.summary.rejected
        ));
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

    /// Writes what is pending and retries the deferred events.
    fn finish(&mut self) -> Result<(), Fatal> {
        self.flush_batch()?;
        let deferred = std::mem::take(&mut self.deferred);
        for chunk in deferred.chunks(self.batch_size) {
            let acked = self.apply_events(chunk.to_vec(), false)?;
            if let Some(out) = &mut self.ack {
                for id in acked {
                    writeln!(out, "ACK-EVENT {id}").map_err(Fatal::Ack)?;
                }
                out.flush().map_err(Fatal::Ack)?;
            }
        }
        self.store.flush()?;
        Ok(())
    }

    /// Reads one file (or standard input for `-`) line by line.
    fn read(&mut self, path: &Path) -> Result<(), Fatal> {
        let name = path.display().to_string();
        let file_index = self.files.len();
        self.files.push(name.clone());
        let read_error = |source| Fatal::Read {
            path: name.clone(),
            source,
        };
        let reader: Box<dyn BufRead> = if path == Path::new("-") {
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
        self.read_lines(reader, feed, file_index)
            .map_err(|e| match e {
                Fatal::Read { source, .. } => read_error(source),
                other => other,
            })
    }

    fn read_lines(
        &mut self,
        mut reader: Box<dyn BufRead>,
        feed: Option<FeedKind>,
        file: usize,
    ) -> Result<(), Fatal> {
        let mut buffer = Vec::with_capacity(4096);
        let mut line_no = 0u64;
        let mut unreported = 0u64;
        loop {
            buffer.clear();
            let read = reader
                .read_until(b'\n', &mut buffer)
                .map_err(|source| Fatal::Read {
                    path: String::new(),
                    source,
                })?;
            if read == 0 {
                break;
            }
            line_no += 1;
            unreported += read as u64;
            if unreported >= 1 << 20 {
                self.progress.inc(unreported);
                unreported = 0;
            }
            let origin = Origin {
                file,
                line: line_no,
            };
            match std::str::from_utf8(&buffer) {
                Ok(text) => {
                    let text = text.trim();
                    if !text.is_empty() {
                        self.line(text, feed, origin)?;
                    }
                }
                Err(e) => {
                    self.summary.lines += 1;
                    self.reject(&origin, &format!("the line is not UTF-8 text ({e})"));
                }
            }
        }
        self.progress.inc(unreported);
        Ok(())
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
    let store = match SledStore::open(&args.data) {
        Ok(store) => store,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let total_bytes = if args.files.iter().any(|f| f == Path::new("-")) || args.demo.is_some() {
        None
    } else {
        Some(
            args.files
                .iter()
                .filter_map(|f| std::fs::metadata(f).ok())
                .map(|m| m.len())
                .sum(),
        )
    };
    let progress = progress_bar(total_bytes, args.ack);
    let mut importer = Importer::new(&store, args.batch_size as usize, progress, args.ack);
    let result = match args.demo {
        Some(n) => load_demo(&mut importer, n),
        None => args
            .files
            .iter()
            .try_for_each(|file| importer.read(file)),
    }
    .and_then(|()| importer.finish());
    importer.progress.finish_and_clear();
    let summary = importer.summary.clone();
    let elapsed = started.elapsed();
    let status = match result {
        Ok(()) => {
            let rate = summary.lines as f64 / elapsed.as_secs_f64().max(1e-9);
            eprintln!(
                "imported {} lines in {:.1} s ({rate:.0} lines/s) into {}",
                summary.lines,
                elapsed.as_secs_f64(),
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
            eprintln!("error: the import stopped: {e}");
            eprintln!(
                "  {} lines read; every batch written before the error is stored \
                 ({} inserted, {} updated, {} unchanged, {} events applied, {} rejected)",
                summary.lines,
                summary.inserted,
                summary.updated,
                summary.unchanged,
                summary.events_applied,
                summary.rejected
            );
            ExitCode::FAILURE
        }
    };
    if let Err(e) = store.flush() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    status
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

fn load_demo<S: RecordStore>(importer: &mut Importer<'_, S>, entities: u32) -> Result<(), Fatal> {
    importer.files.push("<demo>".to_owned());
    let mut line = 0u64;
    for record in demo_records(entities) {
        line += 1;
        importer.summary.lines += 1;
        importer.push(Item::Record(record), Origin { file: 0, line })?;
    }
    Ok(())
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
