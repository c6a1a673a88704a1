//! Evaluation and compile benchmarks (`cargo bench --bench evaluate`).
//!
//! A 14-clause sector rule set (the city base's 3 clauses + 4 vetoes, 1 flag
//! and 6 scores) over entities of 0, 5, 20 and 50 records, records already
//! decoded; JSON decoding of a 20-record entity is measured separately, and so
//! is compiling the rule set from source.
//!
//! `shared_query/*` evaluates a capped score line that mentions one penalty
//! count eight times, over 50 records: written out eight times (`repeated`),
//! named once with `define` (`defined`), and, for comparison, as eight
//! different queries (`separate`: each window spelt differently, so nothing
//! can be shared), which is what each mention would cost on its own.

use chrono::NaiveDate;
use credit_rules::record::{CreditRecord, RecordKind, Severity, Uscc};
use credit_rules::ruleset::Workspace;
use credit_rules::source::SourceFile;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rust_decimal::Decimal;
use std::hint::black_box;

const BASE: &str = include_str!("../rulesets/city/base.rules");

const SECTOR: &str = r#"
ruleset bench.sector {
  title "基准测试用行业规则" version "1" effective 2020-01-01 unit "bench" extends city.base total 20
}
const 回看期 = 3 years
veto 取消投标资格 { wording "w" when any(records where kind = 取消投标资格) }
veto 税收 { wording "w" when any(records where kind = 重大税收违法失信主体) }
veto 政府采购 { wording "w" when any(records where kind = 政府采购严重违法失信 and within 3 years) }
veto 欠薪 { wording "w" when any(records where kind = 拖欠农民工工资失信) }
flag 重点关注 { wording "w" when any(records where kind = 重点关注名单 or kind = 严重违法失信名单) }
score 等级 { wording "w" points table latest(records where kind = 信用等级 and sector = "水利", grade) { "AAA": 10, "AA": 8, "A": 6, "B": 3, otherwise: 3 } cap 10 }
score 不良 { wording "w" points 0 - count(records where kind = 不良行为记录 and within 12 months) cap 0 floor -3 }
score 处罚 { wording "w" points -2 * count(records where kind = 行政处罚 and within 回看期 and severity in [一般, 严重]) cap 0 floor -6 }
score 罚款 { wording "w" points if sum(records where kind = 行政处罚 and within 回看期, amount) > 10 then -1 else 0 cap 0 floor -1 }
score 奖励 { wording "w" points count(records where kind = 表彰奖励 and within 回看期) cap 5 floor 0 weight 2 }
score 已修复 { wording "w" points 0 - 0.5 * count(records where status = 已修复 and within 回看期) cap 0 floor -2 }
"#;

fn workspace() -> Workspace {
    let mut w = Workspace::new();
    w.add_source(SourceFile::new("base.rules", BASE), None);
    w.add_source(SourceFile::new("sector.rules", SECTOR), None);
    w
}

/// A deterministic mix of kinds, dates and statuses, mostly not vetoing.
fn records(n: usize) -> Vec<CreditRecord> {
    let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid");
    let kinds = [
        RecordKind::AdminPenalty,
        RecordKind::BadBehaviour,
        RecordKind::Commendation,
        RecordKind::SectorGrade,
        RecordKind::AdminLicense,
        RecordKind::AdminPenalty,
        RecordKind::WatchList,
    ];
    (0..n)
        .map(|i| {
            let kind = kinds[i % kinds.len()];
            let day = NaiveDate::from_ymd_opt(
                2019 + (i % 6) as i32,
                1 + (i % 12) as u32,
                1 + (i % 28) as u32,
            )
            .expect("valid date");
            let mut r = CreditRecord::new(format!("R{i:04}"), uscc.clone(), kind, day);
            r.severity = Some([Severity::Minor, Severity::General, Severity::Serious][i % 3]);
            r.amount = (kind == RecordKind::AdminPenalty).then(|| Decimal::from(i as i64 % 7));
            r.sector = Some("水利".into());
            r.grade = (kind == RecordKind::SectorGrade)
                .then(|| ["AAA", "AA", "A", "B"][i % 4].to_string());
            if i % 9 == 0 {
                r.repaired_on = day.checked_add_days(chrono::Days::new(200));
            }
            r
        })
        .collect()
}

fn bench_evaluate(c: &mut Criterion) {
    let program = workspace()
        .compile("bench.sector")
        .expect("bench rule set compiles");
    assert!(program.clauses.len() >= 12);
    let as_of = NaiveDate::from_ymd_opt(2024, 6, 1).expect("valid");
    let mut group = c.benchmark_group("evaluate");
    for n in [0usize, 5, 20, 50] {
        let recs = records(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &recs, |b, recs| {
            b.iter(|| program.evaluate(black_box(recs), black_box(as_of)))
        });
    }
    group.finish();
    let recs = records(20);
    c.bench_function("evaluate+report/20", |b| {
        b.iter(|| {
            program
                .evaluate(black_box(&recs), as_of)
                .report(&program, &recs)
        })
    });
}

fn bench_decode(c: &mut Criterion) {
    let json = serde_json::to_string(&records(20)).expect("serialises");
    c.bench_function("decode_json/20", |b| {
        b.iter(|| serde_json::from_str::<Vec<CreditRecord>>(black_box(&json)).expect("decodes"))
    });
}

fn bench_compile(c: &mut Criterion) {
    c.bench_function("compile/parse+check+compile", |b| {
        b.iter(|| {
            workspace()
                .compile(black_box("bench.sector"))
                .expect("compiles")
        })
    });
}

/// The score line of `shared_query/*`, with `q(i)` as its i-th mention.
fn shared_line(q: impl Fn(usize) -> String) -> String {
    format!(
        "score s {{ wording \"w\" points if {} = 0 then 4 else if {} = 1 then 3 else if {} = 2 then 2 \
         else if {} = 3 then 1 else 0 - {} + {} - {} + {} cap 4 }}",
        q(0),
        q(1),
        q(2),
        q(3),
        q(4),
        q(5),
        q(6),
        q(7)
    )
}

fn bench_shared_query(c: &mut Criterion) {
    const WINDOWS: [&str; 8] = [
        "3 years",
        "36 months",
        "1096 days",
        "1095 days",
        "1094 days",
        "1093 days",
        "1092 days",
        "1091 days",
    ];
    let query = |window: &str| format!("count(records where kind = 行政处罚 and within {window})");
    let variants = [
        ("repeated", shared_line(|_| query("3 years"))),
        (
            "defined",
            format!(
                "define 处罚数 = {}\n{}",
                query("3 years"),
                shared_line(|_| "处罚数".into())
            ),
        ),
        ("separate", shared_line(|i| query(WINDOWS[i]))),
    ];
    let as_of = NaiveDate::from_ymd_opt(2024, 6, 1).expect("valid");
    let recs = records(50);
    let mut group = c.benchmark_group("shared_query");
    for (name, body) in variants {
        let text = format!(
            "ruleset bench.shared {{ title \"t\" version \"1\" effective 2020-01-01 unit \"u\" }}\n{body}"
        );
        let mut w = Workspace::new();
        w.add_source(SourceFile::new("shared.rules", text), None);
        let program = w.compile("bench.shared").expect("compiles");
        group.bench_function(format!("{name}/{}-queries", program.query_count()), |b| {
            b.iter(|| program.evaluate(black_box(&recs), black_box(as_of)))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_evaluate,
    bench_decode,
    bench_compile,
    bench_shared_query
);
criterion_main!(benches);
