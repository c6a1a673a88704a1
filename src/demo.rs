//! Generates realistic synthetic market entities of Wuhan and their credit records,
//! deterministically, for demos, benchmarks and load tests.
//!
//! [`entities`] takes a [`DemoConfig`] and streams `(USCC, name, records)` one entity at a
//! time: each entity is computed from the seed and its index alone, so nothing is held in
//! memory and [`entity`] gives any entity directly. The data imitates the provincial feed:
//!
//! * USCCs `91` + a Wuhan division code (4201xx) + a unique organisation code (eight digits,
//!   or `MA` + six characters as in post-2015 codes) + both check characters; unique for the
//!   first 200 million entities of a seed;
//! * names such as `江夏宏达市政工程有限公司` from a place, an optional trade name, a trade
//!   and a suffix;
//! * every [`RecordKind`], decided between 2018-01-01 and 2025-12-31, with the authorities,
//!   document numbers, severities, sectors and disclosure ends of its kind; penalty
//!   severities agree with the intake table ([`crate::intake::HUBEI`]), grades from each
//!   sector's scale (水利 AAA–C, 公路 AA–D, 纳税 A/B/M/C/D), one per sector and year;
//! * some records repaired (信用修复, after the minimum period of their severity), some
//!   revoked (撤销), and many expired by their own disclosure end.
//!
//! Every record passes [`CreditRecord::validate`].
//!
//! ```
//! use credit_rules::demo::{entities, DemoConfig};
//! let cfg = DemoConfig { seed: 7, entities: 3, records_per_entity: (1, 4) };
//! for (uscc, name, records) in entities(cfg) {
//!     assert!(name.ends_with("公司"));
//!     assert!((1..=4).contains(&records.len()));
//!     assert!(records.iter().all(|r| r.uscc == uscc && r.validate().is_ok()));
//! }
//! ```

use std::iter::FusedIterator;

use chrono::{Days, Months, NaiveDate};
use rust_decimal::Decimal;

use crate::record::{
    CreditRecord, RecordKind, Severity, USCC_CHARSET, Uscc, org_code_check_char, uscc_check_char,
};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoConfig {
    /// The seed: the same seed gives the same output.
    pub seed: u64,
    /// How many entities.
    pub entities: usize,
    /// The least and most records per entity, inclusive (swapped if given the wrong way
    /// round).
    pub records_per_entity: (usize, usize),
}

impl Default for DemoConfig {
    /// 1,000 entities with 0 to 12 records each, seed 2024.
    fn default() -> Self {
        DemoConfig {
            seed: 2024,
            entities: 1_000,
            records_per_entity: (0, 12),
        }
    }
}

/// Streams the configured entities in index order; see [`entities`].
#[derive(Debug, Clone)]
pub struct Entities {
    cfg: DemoConfig,
    next: usize,
}

impl Iterator for Entities {
    type Item = (Uscc, String, Vec<CreditRecord>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.cfg.entities {
            return None;
        }
        let item = entity(&self.cfg, self.next);
        self.next += 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.cfg.entities.saturating_sub(self.next);
        (left, Some(left))
    }

    fn nth(&mut self, n: usize) -> Option<Self::Item> {
        // Entities are independent, so skipping costs nothing.
        self.next = self.next.saturating_add(n).min(self.cfg.entities);
        self.next()
    }
}

impl ExactSizeIterator for Entities {}

impl FusedIterator for Entities {}

/// Streams `cfg.entities` synthetic entities: `(USCC, name, records)`.
pub fn entities(cfg: DemoConfig) -> Entities {
    Entities { cfg, next: 0 }
}

/// The entity with the given index (from 0) of a configuration, as [`entities`] yields it.
pub fn entity(cfg: &DemoConfig, index: usize) -> (Uscc, String, Vec<CreditRecord>) {
    let index = index as u64;
    let mut rng = SplitMix64::new(cfg.seed ^ SplitMix64::mix(index.wrapping_add(0x5EED)));
    let district = rng.pick(DISTRICTS);
    let uscc = make_uscc(cfg.seed, index, district.0);
    let name = make_name(&mut rng, district.1);
    let (lo, hi) = match cfg.records_per_entity {
        (a, b) if a <= b => (a, b),
        (a, b) => (b, a),
    };
    let count = lo + rng.below((hi - lo) as u64 + 1) as usize;
    let mut records_gen = RecordGen {
        rng,
        uscc: &uscc,
        name: &name,
        index,
        grades_used: 0,
    };
    let records = (0..count).map(|j| records_gen.record(j)).collect();
    (uscc, name, records)
}

// ---------------------------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------------------------

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, fast and good enough for synthetic data.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    fn mix(mut z: u64) -> u64 {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        Self::mix(self.0)
    }

    /// Uniform in `0..n` (`n` > 0), by Lemire's multiply-shift.
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n.max(1))) >> 64) as u64
    }

    /// In `lo..=hi`.
    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `per_mille` / 1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// Picks by weight from `(weight, item)` pairs.
    fn weighted<T: Copy>(&mut self, items: &[(u32, T)]) -> T {
        let total: u64 = items.iter().map(|(w, _)| u64::from(*w)).sum();
        let mut roll = self.below(total);
        for (w, item) in items {
            if roll < u64::from(*w) {
                return *item;
            }
            roll -= u64::from(*w);
        }
        items[items.len() - 1].1
    }
}

// ---------------------------------------------------------------------------------------------
// Entities
// ---------------------------------------------------------------------------------------------

/// Wuhan's district codes (GB/T 2260) and names; `420100` is the city level.
const DISTRICTS: &[(&str, &str)] = &[
    ("420100", "武汉"),
    ("420102", "江岸"),
    ("420103", "江汉"),
    ("420104", "硚口"),
    ("420105", "汉阳"),
    ("420106", "武昌"),
    ("420107", "青山"),
    ("420111", "洪山"),
    ("420111", "光谷"),
    ("420112", "东西湖"),
    ("420113", "汉南"),
    ("420114", "蔡甸"),
    ("420115", "江夏"),
    ("420116", "黄陂"),
    ("420117", "新洲"),
];

const BRANDS: &[&str] = &[
    "长江", "江城", "汉江", "楚天", "晴川", "黄鹤", "荆楚", "大江", "湖北", "东湖", "龟山", "知音",
];

const TRADE_NAMES: &[&str] = &[
    "宏达", "华信", "中诚", "恒泰", "天佑", "广厦", "瑞丰", "博远", "金诺", "兴业", "安澜", "正和",
    "鑫源", "诚通", "合力", "远大", "同创", "精工", "德润", "新港",
];

const TRADES: &[&str] = &[
    "市政",
    "水利",
    "园林",
    "建工",
    "路桥",
    "交通",
    "装饰",
    "安装",
    "机电",
    "环境",
    "人防",
    "水务",
    "城建",
    "电力",
    "信息",
    "勘察设计",
    "医疗",
];

const SUFFIXES: &[&str] = &[
    "工程",
    "建设",
    "工程咨询",
    "建设集团",
    "科技",
    "实业",
    "工程管理",
];

/// Organisation codes: eight digits for even indices, `MA` + six characters for odd ones.
const DIGIT_SPACE: u64 = 100_000_000;
const MA_SPACE: u64 = 31 * 31 * 31 * 31 * 31 * 31;
/// A prime, so coprime with both spaces: `x ↦ (A·x + c) mod n` is a permutation.
const PERMUTE: u64 = 73_939_133;

/// The entity's USCC: unique per index (below 2·10⁸) for a seed.
fn make_uscc(seed: u64, index: u64, division: &str) -> Uscc {
    let half = index / 2;
    let mut body = String::with_capacity(8);
    if index.is_multiple_of(2) {
        let offset = SplitMix64::mix(seed) % DIGIT_SPACE;
        let n = (PERMUTE * (half % DIGIT_SPACE) + offset) % DIGIT_SPACE;
        push_number(&mut body, n, 8);
    } else {
        let offset = SplitMix64::mix(seed ^ 1) % MA_SPACE;
        let mut n = (PERMUTE * (half % MA_SPACE) + offset) % MA_SPACE;
        let charset = USCC_CHARSET.as_bytes();
        let mut tail = [b'0'; 6];
        for c in tail.iter_mut().rev() {
            *c = charset[(n % 31) as usize];
            n /= 31;
        }
        body.push_str("MA");
        body.extend(tail.iter().map(|&b| char::from(b)));
    }
    let mut code = String::with_capacity(18);
    code.push_str("91");
    code.push_str(division);
    code.push_str(&body);
    // INVARIANT: the body is eight characters of the USCC charset, so both helpers answer.
    code.push(org_code_check_char(&body).unwrap_or('0'));
    code.push(uscc_check_char(&code).unwrap_or('0'));
    Uscc::parse(&code).expect("a generated code carries both check characters")
}

fn make_name(rng: &mut SplitMix64, district: &str) -> String {
    let place = if rng.chance(500) {
        district
    } else {
        rng.pick(BRANDS)
    };
    let trade_name = if rng.chance(450) {
        rng.pick(TRADE_NAMES)
    } else {
        ""
    };
    let form = if rng.chance(150) {
        "股份有限公司"
    } else {
        "有限公司"
    };
    format!(
        "{place}{trade_name}{}{}{form}",
        rng.pick(TRADES),
        rng.pick(SUFFIXES)
    )
}

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

/// Kinds by how often they occur (per mille).
const KIND_WEIGHTS: &[(u32, RecordKind)] = &[
    (300, RecordKind::AdminPenalty),
    (180, RecordKind::SectorGrade),
    (120, RecordKind::AdminLicense),
    (70, RecordKind::Commendation),
    (80, RecordKind::BadBehaviour),
    (40, RecordKind::DishonestDebtor),
    (50, RecordKind::AbnormalOperation),
    (20, RecordKind::TaxMajorViolation),
    (25, RecordKind::GpSeriousViolation),
    (25, RecordKind::BiddingBan),
    (15, RecordKind::SamrSeriousList),
    (15, RecordKind::Blacklist),
    (10, RecordKind::PrtSerious),
    (20, RecordKind::WageArrears),
    (10, RecordKind::BriberyCrime),
    (20, RecordKind::WatchList),
];

/// Penalty types by frequency, with the severity the intake table gives them (a test checks
/// they agree with [`crate::intake::MappingTable::severity_of_penalty`]).
const PENALTY_TYPES: &[(u32, (&str, Severity))] = &[
    (12, ("警告", Severity::Minor)),
    (14, ("通报批评", Severity::Minor)),
    (30, ("罚款", Severity::General)),
    (12, ("没收违法所得、罚款", Severity::General)),
    (9, ("暂扣许可证件", Severity::Serious)),
    (9, ("降低资质等级", Severity::Serious)),
    (9, ("责令停产停业", Severity::Serious)),
    (5, ("吊销许可证件", Severity::Serious)),
];

/// Penalty authorities: name, document prefix, sector.
const PENALTY_AUTHORITIES: &[(&str, &str, Option<&str>)] = &[
    ("武汉市城乡建设局", "武建罚", Some("城乡建设")),
    ("武汉市水务局", "武水罚", Some("水利")),
    ("武汉市交通运输局", "武交罚", Some("公路")),
    ("武汉市园林和林业局", "武园林罚", Some("园林")),
    ("武汉市生态环境局", "武环罚", None),
    ("武汉市应急管理局", "武应急罚", None),
    ("武汉市市场监督管理局", "武市监罚", None),
    ("武汉市卫生健康委员会", "武卫罚", None),
];

const VIOLATIONS: &[&str] = &[
    "未按规定办理施工许可",
    "串通投标",
    "超限运输",
    "伪造、变造资质证书",
    "拖延支付劳务费",
    "违反安全生产管理规定",
    "未按规定进行施工质量检测",
    "未按照批准的位置和范围占用水域",
];

const LEGAL_BASES: &[&str] = &[
    "《中华人民共和国招标投标法》第五十三条",
    "《中华人民共和国建筑法》第六十五条",
    "《建设工程质量管理条例》第五十六条",
    "《中华人民共和国安全生产法》第九十九条",
    "《中华人民共和国水法》第六十五条",
    "《公路安全保护条例》第六十六条",
];

const COURTS: &[&str] = &[
    "武汉市中级人民法院",
    "武汉市江岸区人民法院",
    "武汉市洪山区人民法院",
    "武汉市武昌区人民法院",
    "武汉市江夏区人民法院",
];

const DISRUPT_TYPES: &[&str] = &[
    "有履行能力而拒不履行生效法律文书确定义务",
    "违反财产报告制度",
    "违反限制消费令",
    "以虚假诉讼、虚假仲裁或者以隐匿、转移财产等方法规避执行",
];

const HONOURS: &[&str] = &[
    "黄鹤杯优质工程奖",
    "湖北省建设优质工程（楚天杯）",
    "湖北省安全文明施工现场",
    "守合同重信用企业",
    "武汉市文明工地",
];

const LICENCES: &[&str] = &[
    "建筑业企业资质证书",
    "安全生产许可证",
    "水利工程施工企业资质",
    "公路工程施工总承包资质",
];

/// A graded sector: sector, authority, grades by frequency.
type GradeSector = (&'static str, &'static str, &'static [(u32, &'static str)]);

/// Grade sectors: sector, authority, grades by frequency.
const GRADE_SECTORS: &[GradeSector] = &[
    (
        "水利",
        "湖北省水利厅",
        &[(10, "AAA"), (25, "AA"), (30, "A"), (25, "B"), (10, "C")],
    ),
    (
        "公路",
        "湖北省交通运输厅",
        &[(20, "AA"), (35, "A"), (30, "B"), (10, "C"), (5, "D")],
    ),
    (
        "纳税",
        "国家税务总局武汉市税务局",
        &[(35, "A"), (40, "B"), (10, "M"), (10, "C"), (5, "D")],
    ),
];
/// Grade years 2018-2024 (published the next April).
const GRADE_YEARS: u64 = 7;

/// Sector bureaus: authority, document prefix, sector.
const BUREAUS: &[(&str, &str, &str)] = &[
    ("武汉市城乡建设局", "武建", "城乡建设"),
    ("武汉市水务局", "武水", "水利"),
    ("武汉市交通运输局", "武交", "公路"),
];

/// Generates the records of one entity.
struct RecordGen<'a> {
    rng: SplitMix64,
    uscc: &'a Uscc,
    name: &'a str,
    index: u64,
    /// Bit `sector × 7 + year` is set once that grade exists.
    grades_used: u32,
}

/// Appends `n` in decimal, padded with zeros to `width` digits.
fn push_number(s: &mut String, n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    i = i.min(digits.len().saturating_sub(width));
    s.extend(digits[i..].iter().map(|&b| char::from(b)));
}

/// The severity the intake table gives a named list of this kind (a test checks they agree
/// with [`crate::intake::HUBEI`]'s list types).
fn list_severity(kind: RecordKind) -> Severity {
    match kind {
        RecordKind::AbnormalOperation | RecordKind::WatchList => Severity::General,
        _ => Severity::Serious,
    }
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

fn first_day() -> NaiveDate {
    day(2018, 1, 1)
}

fn last_day() -> NaiveDate {
    day(2025, 12, 31)
}

fn plus_months(d: NaiveDate, months: u32) -> NaiveDate {
    d.checked_add_months(Months::new(months)).unwrap_or(d)
}

fn plus_days(d: NaiveDate, days: u64) -> NaiveDate {
    d.checked_add_days(Days::new(days)).unwrap_or(d)
}

impl RecordGen<'_> {
    fn record(&mut self, j: usize) -> CreditRecord {
        let kind = self.rng.weighted(KIND_WEIGHTS);
        let mut r = match kind {
            RecordKind::AdminPenalty => self.penalty(j),
            RecordKind::SectorGrade => self.grade(j),
            RecordKind::DishonestDebtor => self.debtor(j),
            RecordKind::AdminLicense => self.licence(j),
            RecordKind::Commendation => self.honour(j),
            RecordKind::BadBehaviour => self.bad_behaviour(j),
            list => self.listing(j, list),
        };
        self.repair_or_revoke(&mut r);
        r
    }

    fn base(
        &mut self,
        prefix: &str,
        j: usize,
        kind: RecordKind,
        decided_on: NaiveDate,
    ) -> CreditRecord {
        let mut id = String::with_capacity(prefix.len() + 12);
        id.push_str(prefix);
        id.push('-');
        push_number(&mut id, self.index, 7);
        id.push('-');
        push_number(&mut id, j as u64, 1);
        let mut r = CreditRecord::new(id, self.uscc.clone(), kind, decided_on);
        r.entity_name = Some(self.name.to_owned());
        r
    }

    fn decided(&mut self) -> NaiveDate {
        let from = first_day();
        let span = (last_day() - from).num_days().max(0) as u64;
        plus_days(from, self.rng.below(span + 1))
    }

    /// A document number such as `武建罚〔2023〕59号` from a prefix (in two parts, to spare an
    /// allocation).
    fn doc_no(&mut self, prefix: &str, kind: &str, date: NaiveDate) -> String {
        use chrono::Datelike;
        let mut doc = String::with_capacity(prefix.len() + kind.len() + 16);
        doc.push_str(prefix);
        doc.push_str(kind);
        doc.push('〔');
        push_number(&mut doc, u64::try_from(date.year()).unwrap_or(0), 4);
        doc.push('〕');
        push_number(&mut doc, self.rng.between(1, 399), 1);
        doc.push('号');
        doc
    }

    fn penalty(&mut self, j: usize) -> CreditRecord {
        let decided = self.decided();
        let mut r = self.base("XZCF", j, RecordKind::AdminPenalty, decided);
        let (penalty, severity) = self.rng.weighted(PENALTY_TYPES);
        let (authority, prefix, sector) = self.rng.pick(PENALTY_AUTHORITIES);
        r.severity = Some(severity);
        if penalty.ends_with("罚款") {
            r.amount = Some(Decimal::new(self.rng.between(50, 5_000) as i64, 2));
        }
        let low_fine = r.amount.is_some_and(|a| a < Decimal::new(2, 0));
        let months = match r.severity {
            Some(Severity::Minor) => 3,
            Some(Severity::General) if low_fine => 3,
            _ => 36,
        };
        r.disclosure_until = Some(plus_months(decided, months));
        r.penalty_type = Some(penalty.to_owned());
        r.authority = Some(authority.to_owned());
        r.document_no = Some(self.doc_no(prefix, "", decided));
        r.sector = sector.map(str::to_owned);
        r.description = Some(self.rng.pick(VIOLATIONS).to_owned());
        r.legal_basis = Some(self.rng.pick(LEGAL_BASES).to_owned());
        r
    }

    fn grade(&mut self, j: usize) -> CreditRecord {
        let slots = GRADE_SECTORS.len() as u64 * GRADE_YEARS;
        let start = self.rng.below(slots);
        let free = (0..slots)
            .map(|k| (start + k) % slots)
            .find(|slot| self.grades_used & (1 << slot) == 0);
        let Some(slot) = free else {
            // Every sector and year is graded already.
            return self.honour(j);
        };
        self.grades_used |= 1 << slot;
        let (sector, authority, scale) = GRADE_SECTORS[(slot / GRADE_YEARS) as usize];
        let year = 2018 + (slot % GRADE_YEARS) as i32;
        let published = day(year + 1, 4, 15);
        let mut r = self.base("GRADE", j, RecordKind::SectorGrade, published);
        r.disclosure_until = Some(day(year + 2, 4, 14));
        r.sector = Some(sector.to_owned());
        r.grade = Some(self.rng.weighted(scale).to_owned());
        r.authority = Some(authority.to_owned());
        r.description = Some(format!("评价年度 {year}"));
        r
    }

    fn debtor(&mut self, j: usize) -> CreditRecord {
        use chrono::Datelike;
        let decided = self.decided();
        let mut r = self.base("ZXGK", j, RecordKind::DishonestDebtor, decided);
        r.severity = Some(Severity::Serious);
        r.authority = Some(self.rng.pick(COURTS).to_owned());
        r.document_no = Some(format!(
            "({})鄂01执{}号",
            decided.year(),
            self.rng.between(1, 9_999)
        ));
        r.description = Some(self.rng.pick(DISRUPT_TYPES).to_owned());
        r
    }

    fn licence(&mut self, j: usize) -> CreditRecord {
        let decided = self.decided();
        let mut r = self.base("XZXK", j, RecordKind::AdminLicense, decided);
        let (authority, prefix, sector) = self.rng.pick(BUREAUS);
        r.authority = Some(authority.to_owned());
        r.document_no = Some(self.doc_no(prefix, "许", decided));
        r.sector = Some(sector.to_owned());
        r.description = Some(self.rng.pick(LICENCES).to_owned());
        r.disclosure_until = Some(plus_months(decided, 60));
        r
    }

    fn honour(&mut self, j: usize) -> CreditRecord {
        let decided = self.decided();
        let mut r = self.base("HONOR", j, RecordKind::Commendation, decided);
        let (authority, prefix, sector) = self.rng.pick(BUREAUS);
        r.authority = Some(authority.to_owned());
        r.document_no = Some(self.doc_no(prefix, "通", decided));
        r.sector = Some(sector.to_owned());
        r.description = Some(self.rng.pick(HONOURS).to_owned());
        r.disclosure_until = Some(plus_months(decided, 24));
        r
    }

    fn bad_behaviour(&mut self, j: usize) -> CreditRecord {
        let decided = self.decided();
        let mut r = self.base("BLXW", j, RecordKind::BadBehaviour, decided);
        let (authority, prefix, sector) = self.rng.pick(BUREAUS);
        let serious = self.rng.chance(300);
        r.severity = Some(if serious {
            Severity::Serious
        } else {
            Severity::General
        });
        // 建市〔2007〕9号: bad records are published for 6 months to 3 years.
        let months = if serious { 36 } else { self.rng.pick(&[6, 12]) };
        r.disclosure_until = Some(plus_months(decided, months));
        r.authority = Some(authority.to_owned());
        r.document_no = Some(self.doc_no(prefix, "不良", decided));
        r.sector = Some(sector.to_owned());
        r.description = Some(self.rng.pick(VIOLATIONS).to_owned());
        r
    }

    /// A named-list record: authority, document prefix, severity, disclosure and sector by
    /// kind.
    fn listing(&mut self, j: usize, kind: RecordKind) -> CreditRecord {
        let decided = self.decided();
        let mut r = self.base("LIST", j, kind, decided);
        let (authority, prefix, months, sector): (&str, &str, Option<u32>, Option<&str>) =
            match kind {
                RecordKind::TaxMajorViolation => {
                    ("国家税务总局武汉市税务局", "武税稽", Some(36), None)
                }
                RecordKind::GpSeriousViolation => (
                    "武汉市财政局",
                    "武财列",
                    Some(self.rng.pick(&[12, 24, 36])),
                    None,
                ),
                RecordKind::BiddingBan => {
                    let (authority, prefix, sector) = self.rng.pick(BUREAUS);
                    let months = self.rng.pick(&[12, 24, 36]);
                    (authority, prefix, Some(months), Some(sector))
                }
                RecordKind::AbnormalOperation => ("武汉市市场监督管理局", "武市监异", None, None),
                RecordKind::SamrSeriousList => ("湖北省市场监督管理局", "鄂市监列", Some(36), None),
                RecordKind::WageArrears => (
                    "武汉市人力资源和社会保障局",
                    "武人社列",
                    Some(36),
                    Some("城乡建设"),
                ),
                RecordKind::Blacklist => {
                    let months = if self.rng.chance(500) { Some(24) } else { None };
                    ("武汉市城乡建设局", "武建列", months, Some("城乡建设"))
                }
                RecordKind::PrtSerious => {
                    ("武汉市公共资源交易监督管理局", "武公管列", Some(36), None)
                }
                RecordKind::BriberyCrime => ("武汉市中级人民法院", "鄂01刑初", None, None),
                _ => ("武汉市发展和改革委员会", "武发改列", Some(12), None),
            };
        r.severity = Some(list_severity(kind));
        r.authority = Some(authority.to_owned());
        r.document_no = Some(self.doc_no(prefix, "", decided));
        r.disclosure_until = months.map(|m| plus_months(decided, m));
        r.sector = sector.map(str::to_owned);
        r
    }

    /// Repairs about 6% of repairable records and revokes about 1.5% of all.
    fn repair_or_revoke(&mut self, r: &mut CreditRecord) {
        let repairable = matches!(r.severity, Some(Severity::Minor | Severity::General))
            || matches!(
                r.kind,
                RecordKind::DishonestDebtor
                    | RecordKind::TaxMajorViolation
                    | RecordKind::SamrSeriousList
                    | RecordKind::WageArrears
            );
        if repairable && self.rng.chance(60) {
            // NDRC 2025: minimum periods of 3 months (general) and 1 year (serious).
            let min_months = match r.severity {
                Some(Severity::Minor) => 0,
                Some(Severity::General) => 3,
                _ => 12,
            };
            let on = plus_days(plus_months(r.decided_on, min_months), self.rng.below(365));
            if on <= last_day() && r.disclosure_until.is_none_or(|until| on <= until) {
                r.repaired_on = Some(on);
            }
        }
        if self.rng.chance(15) {
            let on = plus_days(r.decided_on, self.rng.between(20, 400));
            if on <= last_day() {
                r.revoked_on = Some(on);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::time::Instant;

    use super::*;
    use crate::intake::HUBEI;
    use crate::record::RecordStatus;

    fn cfg(seed: u64, n: usize) -> DemoConfig {
        DemoConfig {
            seed,
            entities: n,
            records_per_entity: (0, 12),
        }
    }

    #[test]
    fn usccs_are_valid_wuhan_and_unique() {
        let mut seen = HashSet::new();
        for (uscc, _, _) in entities(cfg(1, 20_000)) {
            let code = uscc.as_str().to_owned();
            assert_eq!(Uscc::parse(&code).as_ref(), Ok(&uscc));
            assert!(code.starts_with("914201"), "{code}");
            assert!(seen.insert(uscc), "duplicate {code}");
        }
        assert_eq!(seen.len(), 20_000);
        // Both organisation-code styles occur.
        assert!(seen.iter().any(|u| &u.as_str()[8..10] == "MA"));
        assert!(
            seen.iter()
                .any(|u| u.as_str()[8..16].bytes().all(|b| b.is_ascii_digit()))
        );
    }

    #[test]
    fn codes_are_unique_far_into_the_index_space() {
        let c = cfg(9, 0);
        let codes: HashSet<_> = (0..2_000)
            .map(|i| make_uscc(c.seed, 199_998_000 + i, "420115"))
            .chain((0..2_000).map(|i| make_uscc(c.seed, i, "420115")))
            .collect();
        assert_eq!(codes.len(), 4_000);
    }

    #[test]
    fn same_seed_same_output_other_seed_other_output() {
        let a: Vec<_> = entities(cfg(42, 300)).collect();
        let b: Vec<_> = entities(cfg(42, 300)).collect();
        assert_eq!(a, b);
        let c: Vec<_> = entities(cfg(43, 300)).collect();
        assert_ne!(a, c);
        // Random access and skipping agree with streaming.
        assert_eq!(entity(&cfg(42, 300), 123), a[123]);
        assert_eq!(entities(cfg(42, 300)).nth(200), Some(a[200].clone()));
        assert_eq!(entities(cfg(42, 300)).len(), 300);
    }

    #[test]
    fn every_record_validates_and_belongs_to_its_entity() {
        let mut ids = HashSet::new();
        for (uscc, name, records) in entities(cfg(3, 5_000)) {
            assert!(name.ends_with("有限公司"), "{name}");
            assert!(records.len() <= 12);
            for r in records {
                assert_eq!(r.validate(), Ok(()), "{r:?}");
                assert_eq!(r.uscc, uscc);
                assert_eq!(r.entity_name.as_deref(), Some(name.as_str()));
                assert!(
                    r.decided_on >= first_day() && r.decided_on <= last_day(),
                    "{r:?}"
                );
                assert!(ids.insert(r.id.clone()), "duplicate id {}", r.id);
            }
        }
    }

    #[test]
    fn every_kind_status_and_severity_appears() {
        let mut kinds = HashSet::new();
        let mut statuses = HashSet::new();
        let mut severities = HashSet::new();
        let as_of = day(2025, 6, 1);
        for (_, _, records) in entities(cfg(5, 3_000)) {
            for r in records {
                kinds.insert(r.kind);
                statuses.insert(r.status_on(as_of));
                severities.insert(r.severity);
            }
        }
        for kind in RecordKind::ALL {
            assert!(kinds.contains(&kind), "{kind:?} never generated");
        }
        for status in [
            RecordStatus::Active,
            RecordStatus::Expired,
            RecordStatus::Repaired,
            RecordStatus::Revoked,
            RecordStatus::NotYetEffective,
        ] {
            assert!(statuses.contains(&status), "{status:?} never generated");
        }
        assert_eq!(severities.len(), 4, "{severities:?}");
    }

    #[test]
    fn grades_follow_their_sector_scale_once_per_sector_and_year() {
        for (_, _, records) in entities(cfg(11, 2_000)) {
            let mut seen = HashSet::new();
            for r in records.iter().filter(|r| r.kind == RecordKind::SectorGrade) {
                let sector = r.sector.as_deref().unwrap_or("");
                let scale = HUBEI
                    .grade_scales
                    .iter()
                    .find(|s| s.sector == sector)
                    .map(|s| s.grades)
                    .unwrap_or(&[]);
                let grade = r.grade.as_deref().unwrap_or("");
                assert!(scale.contains(&grade), "{sector} {grade}");
                assert!(seen.insert((sector.to_owned(), r.decided_on)), "{r:?}");
            }
        }
    }

    #[test]
    fn severities_agree_with_the_intake_table() {
        for (_, (penalty, severity)) in PENALTY_TYPES {
            assert_eq!(
                HUBEI.severity_of_penalty(penalty),
                Some(*severity),
                "{penalty}"
            );
        }
        for entry in HUBEI.list_types.iter().filter(|e| e.name.is_none()) {
            assert_eq!(
                list_severity(entry.kind),
                entry.severity,
                "{:?}",
                entry.kind
            );
        }
    }

    #[test]
    fn numbers_are_padded() {
        let mut s = String::new();
        push_number(&mut s, 42, 7);
        push_number(&mut s, 0, 1);
        push_number(&mut s, 123_456, 2);
        push_number(&mut s, u64::MAX, 25);
        assert_eq!(s, format!("0000042{}123456{}", 0, u64::MAX));
    }

    #[test]
    fn record_counts_respect_the_bounds() {
        let c = DemoConfig {
            seed: 1,
            entities: 500,
            records_per_entity: (5, 2),
        };
        let counts: HashSet<usize> = entities(c).map(|(_, _, r)| r.len()).collect();
        assert!(counts.iter().all(|n| (2..=5).contains(n)), "{counts:?}");
        assert_eq!(counts.len(), 4);
        let none = DemoConfig {
            records_per_entity: (0, 0),
            ..c
        };
        assert!(entities(none).all(|(_, _, r)| r.is_empty()));
    }

    /// Run with `cargo test --release --lib demo::tests::throughput -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing; run in release"]
    fn throughput() {
        let c = DemoConfig {
            seed: 1,
            entities: 400_000,
            records_per_entity: (0, 10),
        };
        let start = Instant::now();
        let records: usize = entities(c).map(|(_, _, r)| r.len()).sum();
        let secs = start.elapsed().as_secs_f64();
        println!(
            "{records} records in {secs:.3} s = {:.0} records/s",
            records as f64 / secs
        );
    }
}
