//! The hand-written baseline: the shipped water rule set (`rulesets/water/water.rules`, with
//! the city base it extends) evaluated by plain Rust, in one pass over typed records, with
//! chrono dates and rust_decimal points. It is the practical limit the engine's evaluation
//! is measured against (`scripts/callgrind.sh`), and a test in the integration binary
//! (`tests/integration/eval_baseline.rs`) checks that it and the engine agree on generated
//! entities: decision, every clause's firing, raw points, points, evidence and total.
//!
//! Bench-only: this file is included by `benches/callgrind.rs` and by the integration test
//! binary, never by the library. It also holds the deterministic entity generator both use,
//! and a hand-written JSON → typed decoder (borrowing the request buffer) to compare the
//! engine's record decoding with.
//!
//! What is hard-coded here is the water rule set as shipped: when `water.rules` or
//! `city/base.rules` change, the equality test fails and this file must follow.

use chrono::{Days, Months, NaiveDate};
use credit_rules::record::{CreditRecord, RecordKind, Severity, Uscc, uscc_check_char};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::borrow::Cow;

/// The clause ids of the compiled water rule set, in evaluation order (base first).
pub const CLAUSES: [&str; 11] = [
    "黑名单",
    "失信被执行人",
    "经营异常",
    "重大税收违法",
    "投标资格被取消",
    "拖欠农民工工资",
    "水利重点关注名单",
    "信用等级得分",
    "行政处罚扣分",
    "不良行为扣分",
    "表彰奖励加分",
];

/// Indexes into [`CLAUSES`] of the vetoes.
const VETOES: [usize; 5] = [0, 1, 3, 4, 5];

/// A record as the hand-written evaluator reads it: typed fields, text borrowed from the
/// JSON buffer when it has no escapes.
#[derive(Debug, Clone, Deserialize)]
pub struct Rec<'a> {
    /// Source record id.
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    /// The entity's USCC (checked, not copied).
    #[serde(borrow)]
    pub uscc: Cow<'a, str>,
    /// Kind.
    pub kind: RecordKind,
    /// Decision date.
    pub decided_on: NaiveDate,
    /// Publication date.
    #[serde(default)]
    pub published_on: Option<NaiveDate>,
    /// End of disclosure.
    #[serde(default)]
    pub disclosure_until: Option<NaiveDate>,
    /// End of validity.
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
    /// Repair date.
    #[serde(default)]
    pub repaired_on: Option<NaiveDate>,
    /// Revocation date.
    #[serde(default)]
    pub revoked_on: Option<NaiveDate>,
    /// Sector.
    #[serde(default, borrow)]
    pub sector: Option<Cow<'a, str>>,
    /// Issuing authority.
    #[serde(default, borrow)]
    pub authority: Option<Cow<'a, str>>,
    /// Credit grade.
    #[serde(default, borrow)]
    pub grade: Option<Cow<'a, str>>,
    /// Amount in 万元.
    #[serde(default)]
    pub amount: Option<Decimal>,
}

/// Hand-written decoding of a JSON array of records (the engine's record schema), with the
/// checks the engine's `CreditRecord::validate` makes that matter for evaluation: a USCC of
/// 18 characters with its check character, a non-empty id, no date before the decision, no
/// negative amount, a grade on every grade record.
pub fn decode(json: &[u8]) -> Result<Vec<Rec<'_>>, String> {
    let records: Vec<Rec<'_>> = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    for (i, r) in records.iter().enumerate() {
        let uscc = r.uscc.as_bytes();
        let checked = uscc.len() == 18
            && r.uscc.is_ascii()
            && uscc_check_char(&r.uscc[..17]).is_some_and(|c| c as u8 == uscc[17]);
        let d = r.decided_on;
        let before = |x: Option<NaiveDate>| x.is_some_and(|x| x < d);
        if !checked
            || r.id.trim().is_empty()
            || before(r.published_on)
            || before(r.disclosure_until)
            || before(r.valid_until)
            || before(r.repaired_on)
            || before(r.revoked_on)
            || r.amount
                .is_some_and(|a| a.is_sign_negative() && !a.is_zero())
            || (r.kind == RecordKind::SectorGrade
                && r.grade.as_deref().is_none_or(|g| g.trim().is_empty()))
        {
            return Err(format!("records[{i}] is invalid"));
        }
    }
    Ok(records)
}

/// The hand-written evaluation's result.
#[derive(Debug, Clone, PartialEq)]
pub struct BaseOutcome {
    /// Some veto fired.
    pub disqualified: bool,
    /// Per clause of [`CLAUSES`]: veto or flag fired, score computed.
    pub fired: [bool; 11],
    /// Per clause: points before cap, floor and weight (scores).
    pub raw: [Option<Decimal>; 11],
    /// Per clause: weighted, rounded points (scores).
    pub points: [Option<Decimal>; 11],
    /// Per clause: the evidence records as a bit mask (entities of at most 64 records).
    pub evidence: [u64; 11],
    /// Sum of the points.
    pub total: Decimal,
}

const WATER_SECTORS: [&str; 2] = ["水利", "水务"];
const WATER_AUTHORITIES: [&str; 3] = ["武汉市水务局", "湖北省水利厅", "中华人民共和国水利部"];

fn is_in(text: &Option<Cow<'_, str>>, set: &[&str]) -> bool {
    text.as_deref().is_some_and(|t| set.contains(&t))
}

fn months_before(as_of: NaiveDate, months: u32) -> NaiveDate {
    as_of
        .checked_sub_months(Months::new(months))
        .unwrap_or(NaiveDate::MIN)
}

/// Evaluates the water rule set (with the city base) for one entity, as of `as_of`.
/// Evidence masks hold the first 64 records.
pub fn evaluate(records: &[Rec<'_>], as_of: NaiveDate) -> BaseOutcome {
    let penalty_from = months_before(as_of, 24);
    let bad_from = months_before(as_of, 12);
    let award_from = months_before(as_of, 36);
    let mut evidence = [0u64; 11];
    let (mut penalties, mut bad, mut awards) = (0i64, 0i64, 0i64);
    let mut latest: Option<usize> = None;
    for (i, r) in records.iter().enumerate() {
        // Active on the as-of day: not revoked, effective, not repaired, not expired.
        let d = r.decided_on;
        if r.revoked_on.is_some_and(|x| x <= as_of)
            || r.published_on.map_or(d, |p| p.max(d)) > as_of
            || r.repaired_on.is_some_and(|x| x <= as_of)
            || r.disclosure_until.is_some_and(|x| x < as_of)
            || r.valid_until.is_some_and(|x| x < as_of)
        {
            continue;
        }
        let bit = 1u64.checked_shl(i as u32).unwrap_or(0);
        match r.kind {
            RecordKind::Blacklist | RecordKind::PrtSerious => evidence[0] |= bit,
            RecordKind::DishonestDebtor => evidence[1] |= bit,
            RecordKind::AbnormalOperation => evidence[2] |= bit,
            RecordKind::TaxMajorViolation => evidence[3] |= bit,
            RecordKind::BiddingBan => evidence[4] |= bit,
            RecordKind::WageArrears => evidence[5] |= bit,
            RecordKind::WatchList if is_in(&r.sector, &WATER_SECTORS) => evidence[6] |= bit,
            RecordKind::SectorGrade if r.sector.as_deref() == Some("水利") => {
                let later = latest.is_none_or(|j| {
                    let best = &records[j];
                    (d, &*r.id) > (best.decided_on, &*best.id)
                });
                if later {
                    latest = Some(i);
                }
            }
            RecordKind::AdminPenalty
                if d >= penalty_from
                    && (is_in(&r.sector, &WATER_SECTORS)
                        || is_in(&r.authority, &WATER_AUTHORITIES)) =>
            {
                evidence[8] |= bit;
                penalties += 1;
            }
            RecordKind::BadBehaviour if d >= bad_from && is_in(&r.sector, &WATER_SECTORS) => {
                evidence[9] |= bit;
                bad += 1;
            }
            RecordKind::Commendation if d >= award_from => {
                evidence[10] |= bit;
                awards += 1;
            }
            _ => {}
        }
    }
    let grade = match latest.and_then(|j| records[j].grade.as_deref()) {
        Some("AAA") => 10,
        Some("AA") => 8,
        Some("A") => 6,
        Some("B") => 3,
        Some("C") => 0,
        _ => 3,
    };
    if let Some(j) = latest {
        evidence[7] = 1u64.checked_shl(j as u32).unwrap_or(0);
    }
    let mut fired = [false; 11];
    for (f, e) in fired.iter_mut().zip(&evidence).take(7) {
        *f = *e != 0;
    }
    fired[7..].fill(true);
    let mut raw = [None; 11];
    let mut points = [None; 11];
    // Each score: (raw, points) with cap, floor and weight applied by hand.
    let scores = [
        (grade, Decimal::new(grade.clamp(0, 10) * 8, 1)),
        (-2 * penalties, Decimal::from((-2 * penalties).max(-6))),
        (-bad, Decimal::from((-bad).max(-3))),
        (awards, Decimal::from(awards.min(2))),
    ];
    let mut total = Decimal::ZERO;
    for (k, (r, p)) in scores.into_iter().enumerate() {
        raw[7 + k] = Some(Decimal::from(r));
        points[7 + k] = Some(p);
        total += p;
    }
    BaseOutcome {
        disqualified: VETOES.iter().any(|v| fired[*v]),
        fired,
        raw,
        points,
        evidence,
        total,
    }
}

/// A small deterministic generator (xorshift64*), so the bench and the test see the same
/// entities without a dependency.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// The next number below `n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The as-of day the measurements use.
pub fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2024, 6, 15).expect("valid date")
}

/// An entity's `n` records around `as_of`, the mix a water tender sees: mostly penalties,
/// grades, bad-behaviour records, commendations and licences, some lists, a few vetoing
/// records; some published late, expiring, repaired or revoked. Every record is valid.
pub fn entity(rng: &mut Rng, n: usize, as_of: NaiveDate) -> Vec<CreditRecord> {
    use RecordKind::*;
    const COMMON: [RecordKind; 12] = [
        AdminPenalty,
        AdminPenalty,
        AdminPenalty,
        SectorGrade,
        SectorGrade,
        BadBehaviour,
        BadBehaviour,
        Commendation,
        Commendation,
        AdminLicense,
        WatchList,
        AbnormalOperation,
    ];
    let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("valid USCC");
    (0..n)
        .map(|_| {
            let kind = if rng.chance(6) {
                rng.pick(&RecordKind::ALL)
            } else {
                rng.pick(&COMMON)
            };
            let back = rng.below(5 * 366) as i64 - 30;
            let decided = as_of - chrono::Duration::days(back);
            let after = |rng: &mut Rng, max: u64| {
                decided
                    .checked_add_days(Days::new(rng.below(max)))
                    .expect("in range")
            };
            let prefix = match kind {
                AdminPenalty => "P",
                SectorGrade => "G",
                _ => "R",
            };
            let id = format!("{prefix}{:03}", rng.below(1000));
            let mut r = CreditRecord::new(id, uscc.clone(), kind, decided);
            if rng.chance(20) {
                r.published_on = Some(after(rng, 40));
            }
            if rng.chance(50) {
                r.disclosure_until = Some(after(rng, 1200).max(r.published_day()));
            }
            if kind == SectorGrade {
                r.valid_until = Some(after(rng, 800).max(r.published_day()));
                r.grade = Some(rng.pick(&["AAA", "AA", "A", "B", "C", "D"]).to_string());
            }
            if rng.chance(10) {
                r.repaired_on = Some(after(rng, 700));
            }
            if rng.chance(4) {
                r.revoked_on = Some(after(rng, 400));
            }
            r.severity = rng.pick(&[
                None,
                Some(Severity::Minor),
                Some(Severity::General),
                Some(Severity::Serious),
            ]);
            r.sector = rng
                .pick(&[Some("水利"), Some("水利"), Some("水务"), Some("公路"), None])
                .map(String::from);
            r.authority = rng
                .pick(&[
                    Some("武汉市水务局"),
                    Some("湖北省水利厅"),
                    Some("中华人民共和国水利部"),
                    Some("武汉市市场监督管理局"),
                    None,
                ])
                .map(String::from);
            if kind == AdminPenalty {
                r.penalty_type = Some(rng.pick(&["警告", "罚款"]).to_string());
                r.amount = Some(Decimal::new(rng.below(100_000) as i64, 2));
                r.document_no = Some(format!("武水罚〔2023〕{}号", rng.below(300)));
            }
            r
        })
        .collect()
}
