//! The decision journal: append-only segment files beside the sled database that hold the
//! decision log's entries and make them durable with one `fdatasync` per group of entries.
//!
//! Writing every evaluation into sled (a transaction over four trees and a `Db::flush()`)
//! cost more CPU than the evaluation itself: sled copies and rewrites whole leaf pages, and
//! the entries are large. The journal holds the entries instead; sled keeps only small index
//! keys and, per entry, its [`Location`] in the journal. After a group is synced the sled
//! keys are written without a flush (sled persists them on its own within 500 ms); on opening,
//! the entries past the indexed [`Watermark`] are indexed again. When the active segment
//! grows past a size, sled is flushed and a new segment (the next *generation*) is started;
//! old segments stay: they are the log, until `SledStore::compact_decisions` (the retention
//! command `credit-rules decisions compact`) deletes closed segments older than a day.
//!
//! # Files
//!
//! `decisions/NNNNNNNN.log`, `NNNNNNNN` the generation (8 decimal digits); the highest is
//! the active segment. Segments are created with mode 0600 (owner only).
//!
//! ```text
//! header: "CRDJRNL1" (8 bytes) ‖ generation (u64 BE)
//! frame:  payload length (u32 LE) ‖ CRC-32 of payload (u32 LE) ‖ payload
//! payload: one or more entries, each seq (u64 BE) ‖ JSON length (u32 BE) ‖ JSON of the entry
//! ```
//!
//! One append (one group) is one frame, so a crash can leave only the *last* frame torn, and
//! nothing in it was acknowledged: a final frame that runs past the end of the file, fails its
//! checksum where it reaches exactly to the end, or is followed only by zero bytes (a grown
//! file whose data never reached the disk) is cut off on opening. A damaged frame followed by
//! other data is not a torn write: opening refuses it rather than guess.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use thiserror::Error;

const MAGIC: &[u8; 8] = b"CRDJRNL1";
const HEADER_LEN: u64 = 16;
const FRAME_HEAD: usize = 8;
/// Largest payload accepted when reading: a longer length field is damage, not data.
const MAX_PAYLOAD: u32 = 64 << 20;

/// What can go wrong with the journal file.
#[derive(Debug, Error)]
pub enum JournalError {
    /// The file cannot be read, written or synced.
    #[error("decision journal {path}: {action}: {source}")]
    Io {
        /// The journal file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not a journal, or a frame in its middle is damaged.
    #[error("decision journal {path} is damaged at byte {offset}: {reason}")]
    Damaged {
        /// The journal file.
        path: PathBuf,
        /// Where the damage starts.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
}

/// One entry read back from the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalItem {
    /// The entry's sequence number.
    pub seq: u64,
    /// The entry as JSON.
    pub json: Vec<u8>,
    /// Where the JSON is.
    pub location: Location,
}

/// Where an entry's JSON is in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Location {
    /// The segment's generation.
    pub generation: u64,
    /// Byte offset of the JSON in the segment.
    pub offset: u64,
    /// Its length.
    pub len: u32,
}

/// Where indexing into sled has got to: everything before `offset` in the segment of
/// `generation` (and in every older segment) is in the sled trees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Watermark {
    /// The segment's generation.
    pub generation: u64,
    /// Byte offset just past the last indexed frame.
    pub offset: u64,
}

/// The journal, positioned at the end of its active segment.
#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    file: File,
    generation: u64,
    len: u64,
}

fn io_error(path: &Path, action: &'static str) -> impl FnOnce(std::io::Error) -> JournalError {
    let path = path.to_path_buf();
    move |source| JournalError::Io {
        path,
        action,
        source,
    }
}

/// The file of a segment.
pub fn segment_path(dir: &Path, generation: u64) -> PathBuf {
    dir.join(format!("{generation:08}.log"))
}

/// The newest segment's generation in `dir`, if any.
fn newest_generation(dir: &Path) -> Result<Option<u64>, JournalError> {
    let entries = std::fs::read_dir(dir).map_err(io_error(dir, "list"))?;
    let mut newest = None;
    for entry in entries {
        let name = entry.map_err(io_error(dir, "list"))?.file_name();
        let generation = name
            .to_str()
            .and_then(|n| n.strip_suffix(".log"))
            .filter(|n| n.len() == 8)
            .and_then(|n| n.parse::<u64>().ok());
        newest = newest.max(generation);
    }
    Ok(newest)
}

impl Journal {
    /// Opens the journal in `dir` (creating it, with generation 1, when there is none), cuts
    /// off a torn final frame, and returns the entries not yet covered by `indexed`.
    pub fn open(
        dir: &Path,
        indexed: Option<Watermark>,
    ) -> Result<(Journal, Vec<JournalItem>), JournalError> {
        std::fs::create_dir_all(dir).map_err(io_error(dir, "create the directory"))?;
        let generation = match newest_generation(dir)? {
            Some(generation) => generation,
            None => {
                let generation = indexed.map_or(1, |w| w.generation + 1);
                write_fresh(&segment_path(dir, generation), generation)?;
                generation
            }
        };
        let path = segment_path(dir, generation);
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io_error(&path, "open"))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(io_error(&path, "read"))?;
        let header_generation = read_header(&path, &bytes)?;
        if header_generation != generation {
            return Err(JournalError::Damaged {
                path,
                offset: 8,
                reason: format!("the header says generation {header_generation}"),
            });
        }
        let (items, valid_len) = read_frames(&path, generation, &bytes)?;
        if valid_len < bytes.len() as u64 {
            // A torn final frame: it was never acknowledged.
            file.set_len(valid_len)
                .map_err(io_error(&path, "cut off a torn frame"))?;
            file.sync_all().map_err(io_error(&path, "sync"))?;
        }
        let from = match indexed {
            Some(w) if w.generation == generation => w.offset,
            // A segment is started only after sled holds everything in the older ones: a
            // watermark of an older generation means the whole active segment is pending.
            _ => HEADER_LEN,
        };
        let pending = items
            .into_iter()
            .filter(|(frame, _)| *frame >= from)
            .map(|(_, item)| item)
            .collect();
        let journal = Journal {
            dir: dir.to_path_buf(),
            file,
            generation,
            len: valid_len,
        };
        Ok((journal, pending))
    }

    /// The watermark that covers everything written so far.
    pub fn end(&self) -> Watermark {
        Watermark {
            generation: self.generation,
            offset: self.len,
        }
    }

    /// Bytes in the active segment.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Appends the items and syncs the file: when this returns they survive a crash. Returns
    /// where each item's JSON is.
    pub fn append(&mut self, items: &[(u64, &[u8])]) -> Result<Vec<Location>, JournalError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let (buffer, offsets) = encode_frame(items);
        let written = self
            .file
            .write_all(&buffer)
            .and_then(|()| self.file.sync_data());
        let path = segment_path(&self.dir, self.generation);
        if let Err(e) = written {
            // Leave no partial frame for the next append to follow: that would read as
            // damage in the middle of the file on the next opening.
            let _ = self.file.set_len(self.len);
            return Err(io_error(&path, "append")(e));
        }
        let locations = offsets
            .into_iter()
            .zip(items)
            .map(|(at, (_, json))| Location {
                generation: self.generation,
                offset: self.len + at as u64,
                len: json.len() as u32,
            })
            .collect();
        self.len += buffer.len() as u64;
        Ok(locations)
    }

    /// Starts the next segment. Call only when sled has durably stored everything the
    /// journal holds so far.
    pub fn rotate(&mut self) -> Result<Watermark, JournalError> {
        let next = self.generation + 1;
        let path = segment_path(&self.dir, next);
        write_fresh(&path, next)?;
        self.file = OpenOptions::new()
            .read(true)
            .append(true)
            .open(&path)
            .map_err(io_error(&path, "open"))?;
        self.generation = next;
        self.len = HEADER_LEN;
        Ok(self.end())
    }
}

/// Reads an entry's JSON back from its segment.
pub fn read(dir: &Path, location: Location) -> Result<Vec<u8>, JournalError> {
    use std::os::unix::fs::FileExt;
    let path = segment_path(dir, location.generation);
    let file = File::open(&path).map_err(io_error(&path, "open"))?;
    let mut json = vec![0; location.len as usize];
    file.read_exact_at(&mut json, location.offset)
        .map_err(io_error(&path, "read an entry"))?;
    Ok(json)
}

fn write_fresh(path: &Path, generation: u64) -> Result<(), JournalError> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    // The log names entities and callers: readable by the service's user only.
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io_error(path, "create"))?;
    let mut header = MAGIC.to_vec();
    header.extend_from_slice(&generation.to_be_bytes());
    file.write_all(&header)
        .map_err(io_error(path, "write the header"))?;
    file.sync_all().map_err(io_error(path, "sync"))?;
    sync_parent(path).map_err(io_error(path, "sync the directory"))
}

/// Makes a created or renamed file's directory entry durable.
fn sync_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

fn read_header(path: &Path, bytes: &[u8]) -> Result<u64, JournalError> {
    let damaged = |reason: &str| JournalError::Damaged {
        path: path.to_path_buf(),
        offset: 0,
        reason: reason.to_owned(),
    };
    if bytes.len() < HEADER_LEN as usize || &bytes[..8] != MAGIC {
        return Err(damaged(
            "not a credit-rules decision journal (bad header); if the file was put there by \
             mistake, move it away",
        ));
    }
    let generation: [u8; 8] = bytes[8..16]
        .try_into()
        .map_err(|_| damaged("short header"))?;
    Ok(u64::from_be_bytes(generation))
}

/// The frame and, for each item, the offset of its JSON within the frame.
fn encode_frame(items: &[(u64, &[u8])]) -> (Vec<u8>, Vec<usize>) {
    let size: usize = items.iter().map(|(_, json)| json.len() + 12).sum();
    let mut payload = Vec::with_capacity(size);
    let mut offsets = Vec::with_capacity(items.len());
    for (seq, json) in items {
        payload.extend_from_slice(&seq.to_be_bytes());
        payload.extend_from_slice(&(json.len() as u32).to_be_bytes());
        offsets.push(FRAME_HEAD + payload.len());
        payload.extend_from_slice(json);
    }
    let mut frame = Vec::with_capacity(FRAME_HEAD + payload.len());
    frame.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    frame.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    frame.extend_from_slice(&payload);
    (frame, offsets)
}

/// The entries (with the start offset of their frame) and the length of the valid prefix of
/// the file.
fn read_frames(
    path: &Path,
    generation: u64,
    bytes: &[u8],
) -> Result<(Vec<(u64, JournalItem)>, u64), JournalError> {
    let mut items = Vec::new();
    let mut at = HEADER_LEN as usize;
    while at < bytes.len() {
        match decode_frame(&bytes[at..]) {
            Some((frame, used)) => {
                items.extend(frame.into_iter().map(|(offset, seq, json)| {
                    let location = Location {
                        generation,
                        offset: (at + offset) as u64,
                        len: json.len() as u32,
                    };
                    (
                        at as u64,
                        JournalItem {
                            seq,
                            json,
                            location,
                        },
                    )
                }));
                at += used;
            }
            None if is_torn_tail(&bytes[at..]) => break,
            None => {
                return Err(JournalError::Damaged {
                    path: path.to_path_buf(),
                    offset: at as u64,
                    reason: "a frame fails its checksum but other data follows it; restore \
                             the data directory from a backup"
                        .to_owned(),
                });
            }
        }
    }
    Ok((items, at as u64))
}

/// The entries (offset of the JSON in the frame, seq, JSON) of a frame that is complete and
/// passes its checksum, and the bytes the frame takes.
#[allow(clippy::type_complexity)]
fn decode_frame(bytes: &[u8]) -> Option<(Vec<(usize, u64, Vec<u8>)>, usize)> {
    let len = u32::from_le_bytes(bytes.get(..4)?.try_into().ok()?);
    if len > MAX_PAYLOAD {
        return None;
    }
    let crc = u32::from_le_bytes(bytes.get(4..8)?.try_into().ok()?);
    let payload = bytes.get(FRAME_HEAD..FRAME_HEAD + len as usize)?;
    if len == 0 || crc32fast::hash(payload) != crc {
        return None;
    }
    let mut items = Vec::new();
    let mut at = 0;
    while at < payload.len() {
        let rest = &payload[at..];
        let seq = u64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
        let json_len = u32::from_be_bytes(rest.get(8..12)?.try_into().ok()?) as usize;
        let json = rest.get(12..12 + json_len)?;
        items.push((FRAME_HEAD + at + 12, seq, json.to_vec()));
        at += 12 + json_len;
    }
    Some((items, FRAME_HEAD + len as usize))
}

/// Whether undecodable bytes at the end are an append that never completed: the frame
/// claims to reach or run past the end of the file, or nothing but zeros follows.
fn is_torn_tail(rest: &[u8]) -> bool {
    if rest.iter().all(|b| *b == 0) {
        return true;
    }
    match rest.get(..4) {
        None => true,
        Some(head) => {
            let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
            FRAME_HEAD + len >= rest.len()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(journal: &mut Journal, seqs: std::ops::Range<u64>) -> Vec<Location> {
        let jsons: Vec<(u64, Vec<u8>)> = seqs
            .map(|s| (s, format!("{{\"n\":{s}}}").into_bytes()))
            .collect();
        let refs: Vec<(u64, &[u8])> = jsons.iter().map(|(s, j)| (*s, j.as_slice())).collect();
        journal.append(&refs).unwrap()
    }

    fn active(dir: &Path) -> PathBuf {
        segment_path(dir, newest_generation(dir).unwrap().unwrap())
    }

    #[test]
    fn entries_read_back_by_location_and_past_the_watermark() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, pending) = Journal::open(dir.path(), None).unwrap();
        assert!(pending.is_empty());
        let first = items(&mut journal, 1..4);
        let mark = journal.end();
        let second = items(&mut journal, 4..6);
        assert_eq!(read(dir.path(), first[1]).unwrap(), b"{\"n\":2}");
        assert_eq!(read(dir.path(), second[1]).unwrap(), b"{\"n\":5}");
        drop(journal);
        let (_, pending) = Journal::open(dir.path(), Some(mark)).unwrap();
        assert_eq!(pending.iter().map(|i| i.seq).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(pending[0].json, b"{\"n\":4}");
        assert_eq!(pending[1].location, second[1]);
        let (_, all) = Journal::open(dir.path(), None).unwrap();
        assert_eq!(all.len(), 5);
    }

    #[test]
    fn a_torn_final_frame_is_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), None).unwrap();
        items(&mut journal, 1..3);
        let good = journal.len();
        drop(journal);
        // Half a frame, as a crash in the middle of an append leaves it.
        let (frame, _) = encode_frame(&[(3, b"{\"n\":3}".as_slice())]);
        let mut file = OpenOptions::new()
            .append(true)
            .open(active(dir.path()))
            .unwrap();
        file.write_all(&frame[..frame.len() / 2]).unwrap();
        drop(file);
        let (mut journal, pending) = Journal::open(dir.path(), None).unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(journal.len(), good);
        assert_eq!(std::fs::metadata(active(dir.path())).unwrap().len(), good);
        // Appending after the cut works and reads back.
        items(&mut journal, 3..4);
        drop(journal);
        assert_eq!(Journal::open(dir.path(), None).unwrap().1.len(), 3);
    }

    #[test]
    fn zeros_after_the_last_frame_are_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), None).unwrap();
        items(&mut journal, 1..3);
        let good = journal.len();
        drop(journal);
        let mut file = OpenOptions::new()
            .append(true)
            .open(active(dir.path()))
            .unwrap();
        file.write_all(&[0; 300]).unwrap();
        drop(file);
        let (journal, pending) = Journal::open(dir.path(), None).unwrap();
        assert_eq!(pending.len(), 2);
        assert_eq!(journal.len(), good);
    }

    #[test]
    fn damage_in_the_middle_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), None).unwrap();
        items(&mut journal, 1..3);
        items(&mut journal, 3..5);
        drop(journal);
        let path = active(dir.path());
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[HEADER_LEN as usize + 10] ^= 0xFF;
        std::fs::write(&path, &bytes).unwrap();
        let err = Journal::open(dir.path(), None).unwrap_err();
        assert!(
            matches!(err, JournalError::Damaged { offset: 16, .. }),
            "{err}"
        );
        // Nothing was cut.
        assert_eq!(std::fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn a_file_that_is_not_a_journal_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(segment_path(dir.path(), 1), b"hello, this is not a journal").unwrap();
        let err = Journal::open(dir.path(), None).unwrap_err();
        assert!(err.to_string().contains("bad header"), "{err}");
    }

    #[test]
    fn rotation_keeps_old_segments_readable() {
        let dir = tempfile::tempdir().unwrap();
        let (mut journal, _) = Journal::open(dir.path(), None).unwrap();
        let old = items(&mut journal, 1..4);
        let before = journal.end();
        let after = journal.rotate().unwrap();
        assert_eq!(after.generation, before.generation + 1);
        assert_eq!(after.offset, HEADER_LEN);
        items(&mut journal, 4..5);
        drop(journal);
        assert_eq!(read(dir.path(), old[2]).unwrap(), b"{\"n\":3}");
        // An older generation's watermark: everything in the active segment is pending.
        let (_, pending) = Journal::open(dir.path(), Some(before)).unwrap();
        assert_eq!(pending.iter().map(|i| i.seq).collect::<Vec<_>>(), [4]);
    }
}
