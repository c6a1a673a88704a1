//! Kill -9 durability proof: nothing the importer acknowledged is lost when its process dies.
//!
//! Each cycle starts `credit-rules import - --ack` as a child process on the same database,
//! streams records, changed versions of earlier records and repair events into its standard
//! input, and reads the `ACK <id>` / `ACK-EVENT <id>` lines it prints once a batch is durable
//! (flushed). At a random moment the child is killed with SIGKILL (`Child::kill`); the test
//! then opens the database itself and checks that every acknowledged record is present and
//! intact: equal to the acknowledged version or to a later version that was sent (a batch can
//! be durable before its acknowledgement is printed), and repaired when its repair was
//! acknowledged. The last cycle closes standard input instead, and then every line must be
//! acknowledged and the child must exit 0. After every cycle the evaluation view must also
//! agree with the records tree for every entity.
//!
//! `DURABILITY_CYCLES` (default 20) and `DURABILITY_SEED` (default: from the clock, printed)
//! tune a run; `scripts/durability-soak.sh N` runs N cycles on a release build.
//!
//! A second test does the same for the decision log: `credit-rules serve` answers evaluations
//! from four client threads and is killed at a random moment, four times; every evaluation
//! answered 200 must be in the log when the store is opened again.
//!
//! Both tests run on each backend: the sled folder, and a PostgreSQL schema (`--store`),
//! where the check first waits for the killed process's sessions to end (the server
//! finishes a COMMIT it had received, so the end state is only known then).
//!
//! What this proves and what it does not: a killed process leaves its written data in the OS
//! page cache, so this test proves that sled recovers every flushed batch after a process
//! crash, with its multi-tree transactions intact; it cannot simulate a power loss.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use chrono::{Days, NaiveDate};
use credit_rules::record::{CreditRecord, RecordKind, Uscc};

/// xorshift64*: small and deterministic for a given seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

use crate::common::{StoreTarget, code};

fn base_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(2023, 1, 1).expect("date")
}

/// The date of the (only) repair event ever sent for a record.
fn repair_day(record: &CreditRecord) -> NaiveDate {
    record
        .decided_on
        .checked_add_days(Days::new(30))
        .expect("date")
}

/// Everything sent so far, across cycles.
#[derive(Default)]
struct Sent {
    /// Every version sent per record id, in order.
    versions: HashMap<String, Vec<CreditRecord>>,
    /// Record ids in the order they were first sent (for picking one at random).
    ids: Vec<String>,
    /// This cycle: per id, the version index of each record line sent, in order.
    session: HashMap<String, Vec<usize>>,
    /// Lines sent this cycle.
    session_lines: usize,
}

/// What the children acknowledged, across cycles.
#[derive(Default)]
struct Acked {
    /// Highest acknowledged version index per record id.
    version: HashMap<String, usize>,
    /// This cycle: acknowledgements seen per id.
    session_count: HashMap<String, usize>,
    /// Records whose repair event was acknowledged.
    repaired: HashSet<String>,
    /// Acknowledgement lines this cycle.
    session_lines: usize,
    /// Acknowledgement lines in all cycles.
    total_lines: usize,
}

fn spawn(target: &StoreTarget, batch_size: u64, stderr: &Path) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_credit-rules"));
    command.args(["import", "-", "--ack"]);
    target
        .apply(&mut command)
        .args(["--batch-size", &batch_size.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(stderr).expect("stderr file"))
        .spawn()
        .expect("start the importer")
}

/// Streams lines to the child until it dies or `stop` is set; with `limit`, stops after that
/// many lines and closes its standard input.
fn write_lines(
    mut stdin: std::process::ChildStdin,
    sent: &Mutex<Sent>,
    acked: &Mutex<Acked>,
    seed: u64,
    cycle: usize,
    stop: &AtomicBool,
    limit: Option<usize>,
) {
    let mut rng = Rng(seed ^ (cycle as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) && limit.is_none_or(|l| n < l) {
        let line = {
            let mut sent = sent.lock().expect("lock");
            let roll = rng.below(100);
            if roll < 65 || sent.ids.is_empty() {
                // A new record.
                let id = format!("C{cycle:03}-{n:06}");
                let uscc = code(rng.below(500) as u32);
                let decided = base_day()
                    .checked_add_days(Days::new(rng.below(365)))
                    .expect("date");
                let mut record =
                    CreditRecord::new(id.clone(), uscc, RecordKind::AdminPenalty, decided);
                record.entity_name = Some(format!("测试{}工程有限公司", rng.below(500)));
                record.authority = Some("武汉市水务局".into());
                record.document_no = Some(format!("武水罚〔2023〕{n}号"));
                record.description = Some("v0".into());
                let line = serde_json::to_string(&record).expect("json");
                sent.versions.insert(id.clone(), vec![record]);
                sent.ids.push(id.clone());
                sent.session.entry(id).or_default().push(0);
                line
            } else {
                let pick = rng.below(sent.ids.len() as u64) as usize;
                let id = sent.ids[pick].clone();
                let versions = sent.versions.get_mut(&id).expect("sent");
                if roll < 90 {
                    // A changed version of an earlier record.
                    let mut record = versions.last().expect("a version").clone();
                    let k = versions.len();
                    record.description = Some(format!("v{k}"));
                    record.disclosure_until = record
                        .decided_on
                        .checked_add_days(Days::new(365 + rng.below(700)));
                    let line = serde_json::to_string(&record).expect("json");
                    versions.push(record);
                    sent.session.entry(id).or_default().push(k);
                    line
                } else {
                    // Its repair event (always the same date, so repeats are idempotent);
                    // only for a record known to be stored, else the event would be refused.
                    if !acked.lock().expect("lock").version.contains_key(&id) {
                        continue;
                    }
                    let date = repair_day(&versions[0]);
                    serde_json::json!({"record_id": id, "kind": "repair", "date": date}).to_string()
                }
            }
        };
        sent.lock().expect("lock").session_lines += 1;
        if writeln!(stdin, "{line}").is_err() {
            return; // The child is gone.
        }
        n += 1;
        if n.is_multiple_of(64) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // Dropping stdin closes it: a child still running reads EOF and finishes.
}

/// Reads the acknowledgements until the child's standard output closes.
fn read_acks(stdout: std::process::ChildStdout, sent: &Mutex<Sent>, acked: &Mutex<Acked>) {
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        // Lock order: `sent` before `acked`, as in the writer.
        let sent = sent.lock().expect("lock");
        let mut acked = acked.lock().expect("lock");
        acked.session_lines += 1;
        acked.total_lines += 1;
        if let Some(id) = line.strip_prefix("ACK-EVENT ") {
            acked.repaired.insert(id.to_owned());
        } else if let Some(id) = line.strip_prefix("ACK ") {
            // The n-th acknowledgement of an id this cycle is its n-th record line this
            // cycle: the child handles its input in order.
            let n = acked.session_count.entry(id.to_owned()).or_default();
            let index = *n;
            *n += 1;
            let version = sent
                .session
                .get(id)
                .and_then(|v| v.get(index))
                .copied()
                .unwrap_or_else(|| panic!("acknowledged `{id}` more often than it was sent"));
            let best = acked.version.entry(id.to_owned()).or_default();
            *best = (*best).max(version);
        } else {
            panic!("unexpected output from the importer: {line}");
        }
    }
}

/// Opens the database and checks every acknowledged record and event.
fn verify(target: &StoreTarget, sent: &Sent, acked: &Acked) -> usize {
    let store = target.open();
    let mut entities: HashMap<Uscc, Vec<CreditRecord>> = HashMap::new();
    for (id, &version) in &acked.version {
        let versions = &sent.versions[id];
        let stored = store
            .record(id)
            .unwrap_or_else(|e| panic!("read `{id}`: {e}"))
            .unwrap_or_else(|| panic!("acknowledged record `{id}` is missing"));
        let mut source = stored.clone();
        source.repaired_on = None;
        let found = versions.iter().position(|v| *v == source);
        match found {
            Some(k) if k >= version => {}
            Some(k) => panic!(
                "record `{id}`: version {k} is stored, but version {version} was acknowledged"
            ),
            None => panic!("record `{id}` is stored damaged: {stored:?}"),
        }
        let repair = repair_day(&versions[0]);
        assert!(
            stored.repaired_on.is_none_or(|d| d == repair),
            "record `{id}` has a repair date that was never sent"
        );
        if acked.repaired.contains(id) {
            assert_eq!(
                stored.repaired_on,
                Some(repair),
                "the repair of `{id}` was acknowledged but is missing"
            );
        }
        // The indexes agree with the record.
        let of_entity = entities.entry(stored.uscc.clone()).or_insert_with(|| {
            store
                .records_of(&stored.uscc)
                .unwrap_or_else(|e| panic!("records of {}: {e}", stored.uscc))
        });
        assert!(
            of_entity.contains(&stored),
            "`{id}` is missing from its entity's records"
        );
    }
    // The evaluation view (written in the same transactions) agrees with the records of
    // every entity, acknowledged or not.
    let view: Vec<(Uscc, Vec<CreditRecord>)> = store
        .scan_for_evaluation()
        .map(|item| item.and_then(|entity| entity.decode()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("evaluation view after kill: {e}"));
    let by_record: Vec<(Uscc, Vec<CreditRecord>)> = store
        .scan_entities_raw()
        .map(|item| item.and_then(|raw| raw.decode_for_evaluation()))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| panic!("records after kill: {e}"));
    assert_eq!(
        view, by_record,
        "the evaluation view disagrees with the records"
    );
    acked.version.len()
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    importer_kill_cycles(&dir, &StoreTarget::sled(&dir.path().join("db")));
}

#[test]
fn acknowledged_writes_survive_kill_9_on_postgres() {
    let dir = tempfile::tempdir().expect("tempdir");
    importer_kill_cycles(&dir, &StoreTarget::postgres(&dir.path().join("db")));
}

fn importer_kill_cycles(dir: &tempfile::TempDir, target: &StoreTarget) {
    let cycles: usize = std::env::var("DURABILITY_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
        .max(2);
    let seed: u64 = std::env::var("DURABILITY_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        })
        | 1;
    println!("durability: {cycles} cycles, DURABILITY_SEED={seed}");
    let sent = Arc::new(Mutex::new(Sent::default()));
    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut rng = Rng(seed);
    let started = Instant::now();
    let mut kills = 0;
    for cycle in 0..cycles {
        let last = cycle + 1 == cycles;
        {
            let mut sent = sent.lock().expect("lock");
            sent.session.clear();
            sent.session_lines = 0;
            let mut acked = acked.lock().expect("lock");
            acked.session_count.clear();
            acked.session_lines = 0;
        }
        let batch_size = 1 + rng.below(40);
        let stderr = dir.path().join(format!("stderr-{cycle}.txt"));
        let mut child = spawn(target, batch_size, &stderr);
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (sent, acked, stop) = (Arc::clone(&sent), Arc::clone(&acked), Arc::clone(&stop));
            let limit = last.then_some(500);
            std::thread::spawn(move || {
                write_lines(stdin, &sent, &acked, seed, cycle, &stop, limit);
            })
        };
        let reader = {
            let (sent, acked) = (Arc::clone(&sent), Arc::clone(&acked));
            std::thread::spawn(move || read_acks(stdout, &sent, &acked))
        };
        if last {
            // A clean end: every line is acknowledged and the importer exits 0.
            writer.join().expect("writer");
            let status = child.wait().expect("wait");
            reader.join().expect("reader");
            assert!(status.success(), "importer failed: {status}");
        } else {
            // Kill at a random moment: sometimes while the database is still opening.
            let delay = Duration::from_millis(if rng.below(10) == 0 {
                rng.below(40)
            } else {
                40 + rng.below(400)
            });
            std::thread::sleep(delay);
            child.kill().expect("SIGKILL");
            child.wait().expect("reap");
            kills += 1;
            stop.store(true, Ordering::Relaxed);
            writer.join().expect("writer");
            reader.join().expect("reader");
        }
        let errors = std::fs::read_to_string(&stderr).unwrap_or_default();
        assert!(
            !errors.contains(": rejected: ") && !errors.contains("error:"),
            "cycle {cycle}: the importer complained:\n{errors}"
        );
        let sent = sent.lock().expect("lock");
        let acked = acked.lock().expect("lock");
        let verify_started = Instant::now();
        let checked = verify(target, &sent, &acked);
        println!(
            "cycle {cycle:2}: batch size {batch_size:2}, {} lines sent, {} acknowledged; \
             {checked} acknowledged records intact (checked in {} ms)",
            sent.session_lines,
            acked.session_lines,
            verify_started.elapsed().as_millis()
        );
        if last {
            let acks: usize = acked.session_count.values().sum();
            let record_lines: usize = sent.session.values().map(Vec::len).sum();
            assert_eq!(
                acks, record_lines,
                "a clean end acknowledges every record line"
            );
        }
    }
    let acked = acked.lock().expect("lock");
    println!(
        "durability: {kills} kills, {} acknowledgements, {} records and {} repairs verified \
         in {:.1} s",
        acked.total_lines,
        acked.version.len(),
        acked.repaired.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        acked.total_lines > 0,
        "no write was ever acknowledged; the test proved nothing"
    );
}

// --- decision log under kill -9 ------------------------------------------------------------

pub(crate) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

pub(crate) fn spawn_server(target: &StoreTarget, port: u16, log: &Path) -> Child {
    let mut command = Command::new(env!("CARGO_BIN_EXE_credit-rules"));
    command.args([
        "serve",
        "--addr",
        &format!("127.0.0.1:{port}"),
        "--demo-entities",
        "20",
    ]);
    target
        .apply(&mut command)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("start credit-rules serve")
}

pub(crate) fn wait_healthy(agent: &ureq::Agent, base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while agent.get(format!("{base}/healthz")).call().is_err() {
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Evaluations answered 200 before a SIGKILL are all in the decision log afterwards: the
/// journal is synced before the answer, and what sled had not written out is indexed again
/// when the store is opened.
#[test]
fn answered_evaluations_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    server_kill_cycles(&dir, &StoreTarget::sled(&dir.path().join("db")));
}

#[test]
fn answered_evaluations_survive_kill_9_on_postgres() {
    let dir = tempfile::tempdir().expect("tempdir");
    server_kill_cycles(&dir, &StoreTarget::postgres(&dir.path().join("db")));
}

fn server_kill_cycles(dir: &tempfile::TempDir, target: &StoreTarget) {
    let data = target.data();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let answered = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut uscc: Option<Uscc> = None;
    for cycle in 0..4 {
        let port = free_port();
        let base = format!("http://127.0.0.1:{port}");
        let mut server = spawn_server(target, port, &dir.path().join(format!("serve-{cycle}.log")));
        wait_healthy(&agent, &base);
        let tokens = std::fs::read_to_string(data.join("dev-tokens.txt")).expect("tokens");
        let token = tokens
            .lines()
            .find_map(|l| l.strip_prefix("evaluator "))
            .expect("an evaluator token")
            .trim()
            .to_owned();
        let entity = uscc
            .get_or_insert_with(|| {
                let page: serde_json::Value = agent
                    .get(format!(
                        "{base}/api/v1/disclosure?as_of=2024-06-01&page_size=1"
                    ))
                    .call()
                    .expect("disclosure")
                    .body_mut()
                    .read_json()
                    .expect("json");
                Uscc::parse(page["items"][0]["uscc"].as_str().expect("uscc")).expect("valid")
            })
            .clone();
        let stop = Arc::new(AtomicBool::new(false));
        let clients: Vec<_> = (0..4)
            .map(|_| {
                let (agent, stop, answered) = (agent.clone(), stop.clone(), answered.clone());
                let (url, token) = (format!("{base}/api/v1/evaluate"), token.clone());
                let body = serde_json::json!({
                    "ruleset": "water", "as_of": "2024-06-01", "uscc": entity.as_str()
                });
                std::thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let sent = agent
                            .post(&url)
                            .header("Authorization", &format!("Bearer {token}"))
                            .send_json(&body);
                        if matches!(sent, Ok(ref r) if r.status() == 200) {
                            answered.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(150 + rng.below(500)));
        server.kill().expect("SIGKILL");
        server.wait().expect("reap");
        stop.store(true, Ordering::Relaxed);
        for client in clients {
            client.join().expect("client");
        }
        let store = target.open();
        let query = credit_rules::store::DecisionQuery {
            uscc: Some(entity.clone()),
            ..Default::default()
        };
        let logged = store.decisions(&query).expect("query").len();
        let answered = answered.load(Ordering::SeqCst);
        println!("cycle {cycle}: {answered} answered, {logged} logged");
        assert!(answered > 0, "no evaluation was answered in cycle {cycle}");
        // A request can be logged and then killed before its answer is sent: ≥, not =.
        assert!(
            logged >= answered,
            "cycle {cycle}: {answered} evaluations were answered but only {logged} are logged"
        );
    }
}
