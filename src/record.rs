//! Defines the credit record model shared by the rule evaluator, the record store and the
//! HTTP API.
//!
//! * [`Uscc`]: a validated 统一社会信用代码 (GB 32100-2015), with [`UsccError`] saying which
//!   check failed and how to fix it, plus the check-character helpers [`uscc_check_char`] and
//!   [`org_code_check_char`].
//! * [`RecordKind`]: the kinds of credit record (黑名单, 失信被执行人, 行政处罚 …), each with a
//!   stable code, a Chinese label and accepted Chinese aliases.
//! * [`Severity`]: 轻微 / 一般 / 严重.
//! * [`CreditRecord`]: the JSON record schema used by evaluation, intake and HTTP, with
//!   [`CreditRecord::validate`] and the as-of status rule [`CreditRecord::status_on`].
//! * [`RecordStatus`]: 有效 / 尚未生效 / 已过公示期 / 已信用修复 / 已撤销.
//! * The limits on records taken in ([`DATE_FLOOR`], [`FUTURE_TOLERANCE_DAYS`],
//!   [`MAX_DISCLOSURE_YEARS`], [`TEXT_LIMITS`], [`CreditRecord::check_dates`]) and the exact
//!   reading of JSON amounts and dates (`record/limits.rs`).
//! * Date-window helpers [`years_before`], [`months_before`] and [`days_before`] used by the
//!   rule language's windows such as 近三年.

use std::fmt;
use std::str::FromStr;

use chrono::{Days, Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod limits;

pub use limits::{
    DATE_FLOOR, FUTURE_TOLERANCE_DAYS, MAX_DISCLOSURE_YEARS, TEXT_LIMITS, check_event_date,
    control_character, is_storable_id, parse_amount,
};

// ---------------------------------------------------------------------------------------------
// USCC
// ---------------------------------------------------------------------------------------------

/// The 31 characters a 统一社会信用代码 may contain, in value order (value = index).
///
/// The letters I, O, S, V and Z are never used.
pub const USCC_CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// The allowed first characters (registration authority, 登记管理部门代码).
const REGISTRATION_AUTHORITIES: &str = "123456789AGJNQY";

/// GB 32100 weights for characters 1-17: 3^i mod 31.
const USCC_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// GB 11714 weights for the eight body characters of an organisation code.
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// The GB 32100 value of each ASCII byte plus one (0: not in [`USCC_CHARSET`]).
const USCC_VALUES: [u8; 128] = {
    let mut table = [0u8; 128];
    let charset = USCC_CHARSET.as_bytes();
    let mut i = 0;
    while i < charset.len() {
        table[charset[i] as usize] = i as u8 + 1;
        i += 1;
    }
    table
};

/// The GB 32100 value of a character (its index in [`USCC_CHARSET`]).
fn uscc_value(c: char) -> Option<u32> {
    let byte = usize::try_from(u32::from(c)).ok()?;
    match USCC_VALUES.get(byte) {
        Some(&v) if v > 0 => Some(u32::from(v) - 1),
        _ => None,
    }
}

/// The GB 11714 value of a character: 0-9 for digits, A=10 … Z=35 for upper-case letters.
fn org_value(c: char) -> Option<u32> {
    if c.is_ascii_digit() || c.is_ascii_uppercase() {
        c.to_digit(36)
    } else {
        None
    }
}

/// GB 11714 check character from the values of the eight body characters.
fn org_check_from_values(values: &[u32]) -> char {
    let sum: u32 = values.iter().zip(ORG_WEIGHTS).map(|(v, w)| v * w).sum();
    match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        // 1..=9: a single decimal digit.
        d => char::from_digit(d, 10).unwrap_or('0'),
    }
}

/// GB 32100 check character from the values of the first 17 characters.
fn uscc_check_from_values(values: &[u32]) -> char {
    let sum: u32 = values.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
    let check = (31 - sum % 31) % 31;
    // `check` is in 0..31, so it always indexes the charset.
    USCC_CHARSET
        .as_bytes()
        .get(check as usize)
        .map_or('0', |b| char::from(*b))
}

/// Computes the GB 32100 check character (position 18) for the first 17 characters of a
/// 统一社会信用代码.
///
/// ASCII lower-case letters are treated as upper-case. Returns `None` unless `first17` has
/// exactly 17 characters, all from [`USCC_CHARSET`]. The embedded organisation-code check
/// character (position 17) is not verified here; use [`org_code_check_char`] for that.
///
/// ```
/// use credit_rules::record::uscc_check_char;
/// assert_eq!(uscc_check_char("9135021359498494X"), Some('Q'));
/// ```
pub fn uscc_check_char(first17: &str) -> Option<char> {
    let values = first17
        .chars()
        .map(|c| uscc_value(c.to_ascii_uppercase()))
        .collect::<Option<Vec<u32>>>()?;
    (values.len() == 17).then(|| uscc_check_from_values(&values))
}

/// Computes the GB 11714 organisation-code check character for its first eight characters
/// (characters 9-16 of a 统一社会信用代码; the result belongs at position 17).
///
/// ASCII lower-case letters are treated as upper-case. Returns `None` unless `first8` has
/// exactly eight ASCII digits or letters. The result is a digit or `X`.
///
/// ```
/// use credit_rules::record::org_code_check_char;
/// assert_eq!(org_code_check_char("59498494"), Some('X'));
/// ```
pub fn org_code_check_char(first8: &str) -> Option<char> {
    let values = first8
        .chars()
        .map(|c| org_value(c.to_ascii_uppercase()))
        .collect::<Option<Vec<u32>>>()?;
    (values.len() == 8).then(|| org_check_from_values(&values))
}

/// Why a text is not a valid 统一社会信用代码.
///
/// Every message says what is wrong and how to fix it, for the person who typed the code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    /// The code does not have 18 characters, e.g. `91420106671505552` (17).
    #[error(
        "a 统一社会信用代码 must have exactly 18 characters, but this one has {found}; \
         copy the code again from the business licence and check for missing, extra or space characters"
    )]
    Length {
        /// Number of characters found (after trimming surrounding whitespace).
        found: usize,
    },
    /// A character is outside the USCC character set, e.g. the letter `O` in
    /// `9142010O6715055524`.
    #[error(
        "character `{ch}` at position {position} is not allowed in a 统一社会信用代码; \
         only the digits 0-9 and the capital letters A-H, J-N, P, Q, R, T, U, W, X, Y are used \
         (never I, O, S, V or Z), so check for a mistyped character such as the letter O for zero"
    )]
    InvalidChar {
        /// The offending character.
        ch: char,
        /// Its position in the code, from 1.
        position: usize,
    },
    /// The first character is not a registration-authority code, e.g. `B` in
    /// `B14201066715055524`.
    #[error(
        "the first character `{ch}` is not a valid registration authority code; \
         a 统一社会信用代码 starts with 1-9, A, G, J, N, Q or Y (companies start with 9), \
         so check the first character"
    )]
    RegistrationAuthority {
        /// The first character found.
        ch: char,
    },
    /// The embedded organisation code (characters 9-17, GB 11714) fails its check, e.g.
    /// `914201066715055534`.
    #[error(
        "the organisation code inside this 统一社会信用代码 (characters 9-17) is inconsistent: \
         character 17 is `{found}`, but characters 9-16 require `{expected}`; \
         one of characters 9-17 is probably mistyped, so compare them with the business licence"
    )]
    OrgCodeCheck {
        /// The check character that characters 9-16 require.
        expected: char,
        /// The character found at position 17.
        found: char,
    },
    /// The final check character (position 18, GB 32100) is wrong, e.g.
    /// `914201066715055525`.
    #[error(
        "the check character (position 18) of this 统一社会信用代码 is `{found}`, \
         but the first 17 characters require `{expected}`; \
         one of the 18 characters is probably mistyped, so compare the whole code with the business licence"
    )]
    CheckChar {
        /// The check character that the first 17 characters require.
        expected: char,
        /// The character found at position 18.
        found: char,
    },
}

/// A validated 18-character 统一社会信用代码 (unified social credit code, GB 32100-2015), the
/// identity of a market entity.
///
/// Only [`Uscc::parse`] creates one, so every value holds an upper-case code whose
/// registration authority, organisation-code check character (GB 11714, position 17) and
/// final check character (GB 32100, position 18) are all valid. Serialises as the plain
/// string; deserialising runs [`Uscc::parse`].
///
/// The code is held inline (18 ASCII bytes): making, copying and comparing one never
/// allocates.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, utoipa::ToSchema)]
#[schema(value_type = String, example = "914201158544006819")]
pub struct Uscc([u8; 18]);

impl fmt::Debug for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Uscc").field(&self.as_str()).finish()
    }
}

impl Uscc {
    /// Validates a 统一社会信用代码.
    ///
    /// Surrounding whitespace is trimmed and ASCII lower-case letters are accepted and
    /// normalised to upper-case. The checks run in this order, and the first failure is
    /// returned: length 18, character set, registration authority (first character),
    /// organisation-code check character, final check character.
    ///
    /// ```
    /// use credit_rules::record::Uscc;
    /// let code = Uscc::parse(" 91230500ma1b3n1n2m ").unwrap();
    /// assert_eq!(code.as_str(), "91230500MA1B3N1N2M");
    /// assert!(Uscc::parse("91230500MA1B3N1N2N").is_err());
    /// ```
    pub fn parse(input: &str) -> Result<Uscc, UsccError> {
        let input = input.trim();
        let found = input.chars().count();
        if found != 18 {
            return Err(UsccError::Length { found });
        }
        let mut code = [0u8; 18];
        let mut values = [0u32; 18];
        let mut org_values = [0u32; 18];
        for (i, ch) in input.chars().map(|c| c.to_ascii_uppercase()).enumerate() {
            let (Some(v), Some(o)) = (uscc_value(ch), org_value(ch)) else {
                return Err(UsccError::InvalidChar {
                    ch,
                    position: i + 1,
                });
            };
            values[i] = v;
            org_values[i] = o;
            // Every character of the set is ASCII.
            code[i] = ch as u8;
        }
        let char_at = |i: usize| char::from(code[i]);
        if !REGISTRATION_AUTHORITIES.contains(char_at(0)) {
            return Err(UsccError::RegistrationAuthority { ch: char_at(0) });
        }
        let expected = org_check_from_values(&org_values[8..16]);
        if char_at(16) != expected {
            return Err(UsccError::OrgCodeCheck {
                expected,
                found: char_at(16),
            });
        }
        let expected = uscc_check_from_values(&values[..17]);
        if char_at(17) != expected {
            return Err(UsccError::CheckChar {
                expected,
                found: char_at(17),
            });
        }
        Ok(Uscc(code))
    }

    /// The code as an 18-character upper-case string.
    pub fn as_str(&self) -> &str {
        // Only `parse` makes one, from characters of the (ASCII) set.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for Uscc {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for Uscc {
    type Err = UsccError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Uscc::parse(s)
    }
}

impl Serialize for Uscc {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Uscc {
    /// Reads the code from the text the deserializer holds (borrowed when it can), without
    /// copying it first.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Code;
        impl serde::de::Visitor<'_> for Code {
            type Value = Uscc;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Uscc, E> {
                Uscc::parse(text).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Code)
    }
}

// ---------------------------------------------------------------------------------------------
// Record kinds
// ---------------------------------------------------------------------------------------------

/// The kind of a credit record.
///
/// Each kind has a stable code ([`RecordKind::code`], also its JSON form), a Chinese label
/// ([`RecordKind::label`]) and Chinese aliases ([`RecordKind::aliases`]) that
/// [`RecordKind::from_name`] also accepts. [`RecordKind::index`] is stable: new kinds are
/// only ever appended.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordKind {
    /// `BLACKLIST` 黑名单 (严重失信主体, 建筑市场主体黑名单).
    Blacklist,
    /// `PRT_SERIOUS` 公共资源交易严重失信主体.
    PrtSerious,
    /// `DISHONEST_DEBTOR` 失信被执行人 (court judgment defaulter).
    DishonestDebtor,
    /// `TAX_MAJOR_VIOLATION` 重大税收违法失信主体.
    TaxMajorViolation,
    /// `GP_SERIOUS_VIOLATION` 政府采购严重违法失信 (government procurement).
    GpSeriousViolation,
    /// `BIDDING_BAN` 取消投标资格.
    BiddingBan,
    /// `ABNORMAL_OPERATION` 经营异常名录 (SAMR).
    AbnormalOperation,
    /// `SAMR_SERIOUS_LIST` 严重违法失信名单 (SAMR).
    SamrSeriousList,
    /// `ADMIN_PENALTY` 行政处罚 (双公示 XZCF).
    AdminPenalty,
    /// `ADMIN_LICENSE` 行政许可 (双公示 XZXK).
    AdminLicense,
    /// `WAGE_ARREARS` 拖欠农民工工资失信.
    WageArrears,
    /// `BRIBERY_CRIME` 行贿犯罪记录.
    BriberyCrime,
    /// `BAD_BEHAVIOUR` 不良行为记录.
    BadBehaviour,
    /// `WATCH_LIST` 重点关注名单.
    WatchList,
    /// `SECTOR_GRADE` 信用等级 (a periodic sector or tax credit grade).
    SectorGrade,
    /// `COMMENDATION` 表彰奖励 (positive record).
    Commendation,
}

// Bitmasks over kinds use a `u32`.
const _: () = assert!(RecordKind::ALL.len() <= 32);

impl RecordKind {
    /// Every kind, in [`RecordKind::index`] order.
    pub const ALL: [RecordKind; 16] = [
        RecordKind::Blacklist,
        RecordKind::PrtSerious,
        RecordKind::DishonestDebtor,
        RecordKind::TaxMajorViolation,
        RecordKind::GpSeriousViolation,
        RecordKind::BiddingBan,
        RecordKind::AbnormalOperation,
        RecordKind::SamrSeriousList,
        RecordKind::AdminPenalty,
        RecordKind::AdminLicense,
        RecordKind::WageArrears,
        RecordKind::BriberyCrime,
        RecordKind::BadBehaviour,
        RecordKind::WatchList,
        RecordKind::SectorGrade,
        RecordKind::Commendation,
    ];

    /// The stable code, e.g. `DISHONEST_DEBTOR`; the same string serde uses.
    pub const fn code(self) -> &'static str {
        match self {
            RecordKind::Blacklist => "BLACKLIST",
            RecordKind::PrtSerious => "PRT_SERIOUS",
            RecordKind::DishonestDebtor => "DISHONEST_DEBTOR",
            RecordKind::TaxMajorViolation => "TAX_MAJOR_VIOLATION",
            RecordKind::GpSeriousViolation => "GP_SERIOUS_VIOLATION",
            RecordKind::BiddingBan => "BIDDING_BAN",
            RecordKind::AbnormalOperation => "ABNORMAL_OPERATION",
            RecordKind::SamrSeriousList => "SAMR_SERIOUS_LIST",
            RecordKind::AdminPenalty => "ADMIN_PENALTY",
            RecordKind::AdminLicense => "ADMIN_LICENSE",
            RecordKind::WageArrears => "WAGE_ARREARS",
            RecordKind::BriberyCrime => "BRIBERY_CRIME",
            RecordKind::BadBehaviour => "BAD_BEHAVIOUR",
            RecordKind::WatchList => "WATCH_LIST",
            RecordKind::SectorGrade => "SECTOR_GRADE",
            RecordKind::Commendation => "COMMENDATION",
        }
    }

    /// The Chinese label, e.g. `失信被执行人`.
    pub const fn label(self) -> &'static str {
        match self {
            RecordKind::Blacklist => "黑名单",
            RecordKind::PrtSerious => "公共资源交易严重失信主体",
            RecordKind::DishonestDebtor => "失信被执行人",
            RecordKind::TaxMajorViolation => "重大税收违法失信主体",
            RecordKind::GpSeriousViolation => "政府采购严重违法失信",
            RecordKind::BiddingBan => "取消投标资格",
            RecordKind::AbnormalOperation => "经营异常名录",
            RecordKind::SamrSeriousList => "严重违法失信名单",
            RecordKind::AdminPenalty => "行政处罚",
            RecordKind::AdminLicense => "行政许可",
            RecordKind::WageArrears => "拖欠农民工工资失信",
            RecordKind::BriberyCrime => "行贿犯罪记录",
            RecordKind::BadBehaviour => "不良行为记录",
            RecordKind::WatchList => "重点关注名单",
            RecordKind::SectorGrade => "信用等级",
            RecordKind::Commendation => "表彰奖励",
        }
    }

    /// Other Chinese names accepted by [`RecordKind::from_name`] (list names used by
    /// platforms and tender documents), e.g. `建筑市场主体黑名单` for [`RecordKind::Blacklist`].
    pub const fn aliases(self) -> &'static [&'static str] {
        match self {
            RecordKind::Blacklist => &["严重失信主体", "严重失信主体名单", "建筑市场主体黑名单"],
            RecordKind::PrtSerious => &["公共资源交易领域严重失信主体"],
            RecordKind::TaxMajorViolation => &["重大税收违法"],
            RecordKind::GpSeriousViolation => &[
                "政府采购严重违法失信行为记录",
                "政府采购严重违法失信行为记录名单",
            ],
            RecordKind::WageArrears => &[
                "拖欠农民工工资失信联合惩戒对象",
                "拖欠农民工工资失信联合惩戒对象名单",
            ],
            RecordKind::SectorGrade => &["行业信用等级", "纳税信用等级"],
            RecordKind::Commendation => &["良好行为记录", "诚信荣誉"],
            RecordKind::DishonestDebtor
            | RecordKind::BiddingBan
            | RecordKind::AbnormalOperation
            | RecordKind::SamrSeriousList
            | RecordKind::AdminPenalty
            | RecordKind::AdminLicense
            | RecordKind::BriberyCrime
            | RecordKind::BadBehaviour
            | RecordKind::WatchList => &[],
        }
    }

    /// Looks a kind up by its code (ASCII case-insensitive), its Chinese label or one of its
    /// aliases; surrounding whitespace is ignored.
    ///
    /// ```
    /// use credit_rules::record::RecordKind;
    /// assert_eq!(RecordKind::from_name("建筑市场主体黑名单"), Some(RecordKind::Blacklist));
    /// assert_eq!(RecordKind::from_name("dishonest_debtor"), Some(RecordKind::DishonestDebtor));
    /// assert_eq!(RecordKind::from_name("红名单"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<RecordKind> {
        let name = name.trim();
        RecordKind::ALL.into_iter().find(|kind| {
            kind.code().eq_ignore_ascii_case(name)
                || kind.label() == name
                || kind.aliases().contains(&name)
        })
    }

    /// Stable position in [`RecordKind::ALL`] (0..16), for bitmasks.
    pub const fn index(self) -> u8 {
        self as u8
    }

    /// The single bit `1 << index()`, for `u32` kind sets.
    pub const fn bit(self) -> u32 {
        1 << self.index()
    }
}

// ---------------------------------------------------------------------------------------------
// Severity
// ---------------------------------------------------------------------------------------------

/// Severity tier of a dishonesty record (失信严重程度), ordered `Minor < General < Serious`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// `minor` 轻微: normally not published, at most 3 months.
    Minor,
    /// `general` 一般: published 3 months to 1 year.
    General,
    /// `serious` 严重: published 1 to 3 years.
    Serious,
}

impl Severity {
    /// Every severity, from least to most severe.
    pub const ALL: [Severity; 3] = [Severity::Minor, Severity::General, Severity::Serious];

    /// The English code used in JSON: `minor`, `general` or `serious`.
    pub const fn code(self) -> &'static str {
        match self {
            Severity::Minor => "minor",
            Severity::General => "general",
            Severity::Serious => "serious",
        }
    }

    /// The Chinese label: 轻微, 一般 or 严重.
    pub const fn label(self) -> &'static str {
        match self {
            Severity::Minor => "轻微",
            Severity::General => "一般",
            Severity::Serious => "严重",
        }
    }

    /// Looks a severity up by its English code (ASCII case-insensitive) or Chinese label;
    /// surrounding whitespace is ignored.
    pub fn from_name(name: &str) -> Option<Severity> {
        let name = name.trim();
        Severity::ALL
            .into_iter()
            .find(|s| s.code().eq_ignore_ascii_case(name) || s.label() == name)
    }
}

// ---------------------------------------------------------------------------------------------
// Records
// ---------------------------------------------------------------------------------------------

/// One credit record of one market entity: the JSON record schema used by evaluation,
/// intake and the HTTP API.
///
/// Dates are `"YYYY-MM-DD"` strings; `amount` is a decimal (string or number) in 万元.
/// Optional fields may be left out and are not written when empty; unknown fields are
/// rejected.
///
/// ```
/// use chrono::NaiveDate;
/// use credit_rules::record::{CreditRecord, RecordKind, RecordStatus};
///
/// let record: CreditRecord = serde_json::from_str(r#"{
///     "id": "LIST-00001-0",
///     "uscc": "914201066715055524",
///     "entity_name": "江夏市政工程咨询有限公司",
///     "kind": "GP_SERIOUS_VIOLATION",
///     "authority": "武汉市财政局",
///     "document_no": "武汉市财列〔2022〕88号",
///     "decided_on": "2022-07-19",
///     "disclosure_until": "2024-07-19"
/// }"#).unwrap();
/// assert_eq!(record.kind, RecordKind::GpSeriousViolation);
/// assert!(record.validate().is_ok());
/// let day = |s: &str| s.parse::<NaiveDate>().unwrap();
/// assert_eq!(record.status_on(day("2024-07-19")), RecordStatus::Active);
/// assert_eq!(record.status_on(day("2024-07-20")), RecordStatus::Expired);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreditRecord {
    /// Source record id, unique per source (the feed's `xxbh`).
    pub id: String,
    /// The entity's 统一社会信用代码.
    pub uscc: Uscc,
    /// Entity name (主体名称 / 行政相对人名称).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_name: Option<String>,
    /// Record kind.
    pub kind: RecordKind,
    /// Authority that made the determination (认定机关 / 处罚机关).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Decision document number (决定文书号).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_no: Option<String>,
    /// Decision date (认定日期 / 处罚决定日期). Windows such as `within 3 years` and
    /// `latest` measure from this day.
    #[serde(deserialize_with = "limits::decided_on")]
    pub decided_on: NaiveDate,
    /// Since 1.1. Publication date (公示日期 / 发布日期): the first day the platform knows the
    /// record, so the first day it counts. `None` = published on `decided_on` (sources that send no
    /// publication date); never before `decided_on`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "limits::published_on"
    )]
    pub published_on: Option<NaiveDate>,
    /// Last day of disclosure (公示截止期), inclusive; `None` = disclosed until removed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "limits::disclosure_until"
    )]
    pub disclosure_until: Option<NaiveDate>,
    /// Since 1.1. Last day of validity (有效期至), inclusive, of a record that is valid for a period
    /// separate from its disclosure, e.g. a credit grade (信用等级评价结果) or a licence;
    /// `None` = no validity end. The record counts only while both its disclosure and its
    /// validity last.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "limits::valid_until"
    )]
    pub valid_until: Option<NaiveDate>,
    /// Severity tier (失信严重程度).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Sector (行业), e.g. 水利, 公路, 房屋建筑.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// Penalty category (处罚类别), e.g. 警告, 罚款, 责令停产停业.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub penalty_type: Option<String>,
    /// Amount in 万元, e.g. a fine (罚款金额); not negative. Read exactly: send it as a
    /// string (`"2.5"`); a JSON number is read from its digits, never through a float.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "limits::amount"
    )]
    #[schema(value_type = Option<String>)]
    pub amount: Option<Decimal>,
    /// Credit grade such as `AAA` (required for [`RecordKind::SectorGrade`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    /// Legal basis (处罚依据 / 认定依据).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legal_basis: Option<String>,
    /// Free-text description (违法事实, 处罚内容, 备注 …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Credit repair date (信用修复); the record stops counting from this day.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "limits::repaired_on"
    )]
    pub repaired_on: Option<NaiveDate>,
    /// Revocation date (撤销); from this day the record counts as never valid.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "limits::revoked_on"
    )]
    pub revoked_on: Option<NaiveDate>,
}

/// A problem with a [`CreditRecord`] found by [`CreditRecord::validate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// `id` is empty or only whitespace, e.g. `"id": ""`.
    #[error(
        "field `id` is empty; give the record the id the source assigned to it \
         (信息编号 `xxbh`), which must be unique within that source"
    )]
    EmptyId,
    /// `disclosure_until` is before `decided_on`, e.g. decided 2024-05-01, disclosed until
    /// 2024-04-30.
    #[error(
        "field `disclosure_until` ({disclosure_until}) is before `decided_on` ({decided_on}); \
         disclosure cannot end before the decision, so check both dates, \
         or leave `disclosure_until` out if the record stays disclosed until removed"
    )]
    DisclosureBeforeDecision {
        /// The decision date.
        decided_on: NaiveDate,
        /// The disclosure end given.
        disclosure_until: NaiveDate,
    },
    /// `published_on` is before `decided_on`, e.g. decided 2024-05-01, published 2024-04-30.
    #[error(
        "field `published_on` ({published_on}) is before `decided_on` ({decided_on}); \
         a record cannot be published (公示) before it was decided, so check both dates, \
         or leave `published_on` out if it was published on the decision day"
    )]
    PublishedBeforeDecision {
        /// The decision date.
        decided_on: NaiveDate,
        /// The publication date given.
        published_on: NaiveDate,
    },
    /// `valid_until` is before `decided_on`.
    #[error(
        "field `valid_until` ({valid_until}) is before `decided_on` ({decided_on}); \
         a validity period (有效期) cannot end before the decision, so check both dates, \
         or leave `valid_until` out if the record has no validity end"
    )]
    ValidUntilBeforeDecision {
        /// The decision date.
        decided_on: NaiveDate,
        /// The validity end given.
        valid_until: NaiveDate,
    },
    /// `disclosure_until` or `valid_until` is before a later `published_on`: the record
    /// would never count on any day.
    #[error(
        "field `{field}` ({end}) is before `published_on` ({published_on}); the record would \
         end before it was published and never count, so check both dates"
    )]
    EndsBeforePublication {
        /// `disclosure_until` or `valid_until`.
        field: &'static str,
        /// The end given.
        end: NaiveDate,
        /// The publication date.
        published_on: NaiveDate,
    },
    /// `repaired_on` is before `decided_on`.
    #[error(
        "field `repaired_on` ({repaired_on}) is before `decided_on` ({decided_on}); \
         a record cannot be repaired (信用修复) before it was decided, so check both dates"
    )]
    RepairedBeforeDecision {
        /// The decision date.
        decided_on: NaiveDate,
        /// The repair date given.
        repaired_on: NaiveDate,
    },
    /// `revoked_on` is before `decided_on`.
    #[error(
        "field `revoked_on` ({revoked_on}) is before `decided_on` ({decided_on}); \
         a decision cannot be revoked (撤销) before it was made, so check both dates"
    )]
    RevokedBeforeDecision {
        /// The decision date.
        decided_on: NaiveDate,
        /// The revocation date given.
        revoked_on: NaiveDate,
    },
    /// A `SECTOR_GRADE` record has no `grade` (or an empty one).
    #[error(
        "field `grade` is missing, but a `SECTOR_GRADE` (信用等级) record must say which grade \
         was awarded; add it, e.g. \"grade\": \"AAA\""
    )]
    MissingGrade,
    /// `amount` is negative, e.g. `"-2"`.
    #[error(
        "field `amount` ({amount}) is negative; an amount in 万元 cannot be below zero, so \
         check the sign"
    )]
    NegativeAmount {
        /// The amount given.
        amount: Decimal,
    },
    /// A text field is longer than its limit ([`TEXT_LIMITS`]).
    #[error(
        "field `{field}` is {length} characters long; at most {limit} are accepted, so send \
         a shorter text (put long documents elsewhere and refer to them)"
    )]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its length in characters.
        length: usize,
        /// The limit.
        limit: usize,
    },
    /// The id holds a control character (ids are matched exactly).
    #[error(
        "field `id` holds the control character {} at position {position}; ids are matched \
         exactly and may not contain control characters (NUL, line breaks, tabs)",
        limits::describe_char(*character)
    )]
    ControlCharacter {
        /// The character.
        character: char,
        /// Its position, in characters from 0.
        position: usize,
    },
    /// A date before [`DATE_FLOOR`], e.g. 0001-01-01.
    #[error(
        "field `{field}` ({date}) is before {floor}; no credit record this product handles is \
         that old, so the date is a typo or a placeholder: send the real date",
        floor = DATE_FLOOR
    )]
    BeforeFloor {
        /// The field.
        field: &'static str,
        /// The date given.
        date: NaiveDate,
    },
    /// A decision, repair or revocation date more than [`FUTURE_TOLERANCE_DAYS`] days after
    /// today.
    #[error(
        "field `{field}` ({date}) is in the future, after {latest} ({FUTURE_TOLERANCE_DAYS} days \
         from today, Asia/Shanghai); send the record once it is decided, with its real date"
    )]
    TooFarAhead {
        /// The field.
        field: &'static str,
        /// The date given.
        date: NaiveDate,
        /// The latest date accepted.
        latest: NaiveDate,
    },
    /// `disclosure_until` more than [`MAX_DISCLOSURE_YEARS`] years after the decision, e.g.
    /// 9999-12-31.
    #[error(
        "field `disclosure_until` ({disclosure_until}) is more than {MAX_DISCLOSURE_YEARS} years \
         after the decision (at most {latest}); leave it out if the record stays disclosed \
         until removed"
    )]
    DisclosureTooLong {
        /// The disclosure end given.
        disclosure_until: NaiveDate,
        /// The latest end accepted.
        latest: NaiveDate,
    },
}

impl RecordError {
    /// The record field the problem is about, e.g. `disclosure_until`.
    pub fn field(&self) -> &'static str {
        match self {
            RecordError::EmptyId => "id",
            RecordError::DisclosureBeforeDecision { .. } => "disclosure_until",
            RecordError::PublishedBeforeDecision { .. } => "published_on",
            RecordError::ValidUntilBeforeDecision { .. } => "valid_until",
            RecordError::RepairedBeforeDecision { .. } => "repaired_on",
            RecordError::RevokedBeforeDecision { .. } => "revoked_on",
            RecordError::MissingGrade => "grade",
            RecordError::NegativeAmount { .. } => "amount",
            RecordError::EndsBeforePublication { field, .. } => field,
            RecordError::TooLong { field, .. }
            | RecordError::BeforeFloor { field, .. }
            | RecordError::TooFarAhead { field, .. } => field,
            RecordError::ControlCharacter { .. } => "id",
            RecordError::DisclosureTooLong { .. } => "disclosure_until",
        }
    }
}

/// The status of a record on a given day; see [`CreditRecord::status_on`].
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// `active` 有效: the record counts.
    Active,
    /// `not_yet_effective` 尚未生效: decided or published (公示) after the as-of day.
    NotYetEffective,
    /// `expired` 已过公示期: the disclosure period, or the validity period (有效期), ended
    /// before the as-of day.
    Expired,
    /// `repaired` 已信用修复: repaired on or before the as-of day.
    Repaired,
    /// `revoked` 已撤销: revoked on or before the as-of day.
    Revoked,
}

impl RecordStatus {
    /// The code used in JSON, e.g. `not_yet_effective`.
    pub const fn code(self) -> &'static str {
        match self {
            RecordStatus::Active => "active",
            RecordStatus::NotYetEffective => "not_yet_effective",
            RecordStatus::Expired => "expired",
            RecordStatus::Repaired => "repaired",
            RecordStatus::Revoked => "revoked",
        }
    }

    /// The Chinese label, e.g. 已过公示期.
    pub const fn label(self) -> &'static str {
        match self {
            RecordStatus::Active => "有效",
            RecordStatus::NotYetEffective => "尚未生效",
            RecordStatus::Expired => "已过公示期",
            RecordStatus::Repaired => "已信用修复",
            RecordStatus::Revoked => "已撤销",
        }
    }
}

impl CreditRecord {
    /// A record with the required fields set and every optional field empty.
    pub fn new(id: impl Into<String>, uscc: Uscc, kind: RecordKind, decided_on: NaiveDate) -> Self {
        CreditRecord {
            id: id.into(),
            uscc,
            entity_name: None,
            kind,
            authority: None,
            document_no: None,
            decided_on,
            published_on: None,
            disclosure_until: None,
            valid_until: None,
            severity: None,
            sector: None,
            penalty_type: None,
            amount: None,
            grade: None,
            legal_basis: None,
            description: None,
            repaired_on: None,
            revoked_on: None,
        }
    }

    /// Checks the record's internal consistency and returns every problem found.
    ///
    /// Problems: empty `id`, or one with a control character; a negative `amount`; a text
    /// field over its [`TEXT_LIMITS`]; `published_on`, `disclosure_until`, `valid_until`,
    /// `repaired_on` or `revoked_on` before `decided_on` (the same day is fine); a
    /// `SECTOR_GRADE` record without a `grade`. The USCC is already valid by construction.
    pub fn validate(&self) -> Result<(), Vec<RecordError>> {
        let mut errors = Vec::new();
        if self.id.trim().is_empty() {
            errors.push(RecordError::EmptyId);
        }
        let decided_on = self.decided_on;
        if let Some(published_on) = self.published_on.filter(|d| *d < decided_on) {
            errors.push(RecordError::PublishedBeforeDecision {
                decided_on,
                published_on,
            });
        }
        if let Some(disclosure_until) = self.disclosure_until.filter(|d| *d < decided_on) {
            errors.push(RecordError::DisclosureBeforeDecision {
                decided_on,
                disclosure_until,
            });
        }
        if let Some(valid_until) = self.valid_until.filter(|d| *d < decided_on) {
            errors.push(RecordError::ValidUntilBeforeDecision {
                decided_on,
                valid_until,
            });
        }
        if let Some(published_on) = self.published_on.filter(|p| *p > decided_on) {
            // Ending before its publication, the record would never count on any day.
            for (field, end) in [
                ("disclosure_until", self.disclosure_until),
                ("valid_until", self.valid_until),
            ] {
                if let Some(end) = end.filter(|end| *end < published_on) {
                    errors.push(RecordError::EndsBeforePublication {
                        field,
                        end,
                        published_on,
                    });
                }
            }
        }
        if let Some(repaired_on) = self.repaired_on.filter(|d| *d < decided_on) {
            errors.push(RecordError::RepairedBeforeDecision {
                decided_on,
                repaired_on,
            });
        }
        if let Some(revoked_on) = self.revoked_on.filter(|d| *d < decided_on) {
            errors.push(RecordError::RevokedBeforeDecision {
                decided_on,
                revoked_on,
            });
        }
        if let Some((position, character)) = control_character(&self.id) {
            errors.push(RecordError::ControlCharacter {
                character,
                position,
            });
        }
        if let Some(amount) = self.amount.filter(|a| a.is_sign_negative() && !a.is_zero()) {
            errors.push(RecordError::NegativeAmount { amount });
        }
        errors.extend(self.length_errors());
        let has_grade = self.grade.as_deref().is_some_and(|g| !g.trim().is_empty());
        if self.kind == RecordKind::SectorGrade && !has_grade {
            errors.push(RecordError::MissingGrade);
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The problems a repair or revocation event can cause: its date before `decided_on`.
    /// Events are checked with this, not [`CreditRecord::validate`], so that a record stored
    /// before a limit was introduced can still be repaired or revoked.
    pub fn event_date_errors(&self) -> Vec<RecordError> {
        let decided_on = self.decided_on;
        let mut errors = Vec::new();
        if let Some(repaired_on) = self.repaired_on.filter(|d| *d < decided_on) {
            errors.push(RecordError::RepairedBeforeDecision {
                decided_on,
                repaired_on,
            });
        }
        if let Some(revoked_on) = self.revoked_on.filter(|d| *d < decided_on) {
            errors.push(RecordError::RevokedBeforeDecision {
                decided_on,
                revoked_on,
            });
        }
        errors
    }

    /// The record's status as of the day `as_of`. This is the product's definition of
    /// whether a record counts.
    ///
    /// The rules are checked in this order; the first that applies wins:
    ///
    /// 1. **Revoked** (已撤销) if `revoked_on ≤ as_of`. A revoked decision counts as never
    ///    valid from the revocation day on, even for periods before that day; an evaluation
    ///    as of a day before the revocation still sees the record (reproducibility).
    /// 2. **NotYetEffective** (尚未生效) if `decided_on > as_of` or `published_on > as_of`:
    ///    a record decided on one day and published (公示) days later is unknown to the
    ///    platform in between. The publication day itself counts.
    /// 3. **Repaired** (已信用修复) if `repaired_on ≤ as_of`: the record stops counting from
    ///    its repair day on.
    /// 4. **Expired** (已过公示期) if `disclosure_until < as_of` or `valid_until < as_of`. The
    ///    last day of disclosure, and the last day of validity, still count:
    ///    `as_of == disclosure_until` is Active. No `disclosure_until` and no `valid_until`
    ///    means the record never expires by itself.
    /// 5. Otherwise **Active** (有效). The publication day (the decision day when the record
    ///    has no later publication date) itself counts.
    pub fn status_on(&self, as_of: NaiveDate) -> RecordStatus {
        if self.revoked_on.is_some_and(|d| d <= as_of) {
            RecordStatus::Revoked
        } else if self.counts_from() > as_of {
            RecordStatus::NotYetEffective
        } else if self.repaired_on.is_some_and(|d| d <= as_of) {
            RecordStatus::Repaired
        } else if self.ends_before(as_of) {
            RecordStatus::Expired
        } else {
            RecordStatus::Active
        }
    }

    /// The publication day: `published_on`, or `decided_on` when the source sent none.
    pub fn published_day(&self) -> NaiveDate {
        self.published_on.unwrap_or(self.decided_on)
    }

    /// The first day the record can count: the later of its decision and publication days.
    pub fn counts_from(&self) -> NaiveDate {
        self.published_day().max(self.decided_on)
    }

    /// The last day the record can count by its own dates: the earlier of its disclosure
    /// end and validity end; `None` when it has neither.
    pub fn counts_until(&self) -> Option<NaiveDate> {
        match (self.disclosure_until, self.valid_until) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether the disclosure or the validity ended before `as_of`.
    fn ends_before(&self, as_of: NaiveDate) -> bool {
        self.disclosure_until.is_some_and(|d| d < as_of)
            || self.valid_until.is_some_and(|d| d < as_of)
    }

    /// Whether the record counts on `as_of`: its [`CreditRecord::status_on`] is
    /// [`RecordStatus::Active`].
    pub fn counts_on(&self, as_of: NaiveDate) -> bool {
        self.status_on(as_of) == RecordStatus::Active
    }
}

// ---------------------------------------------------------------------------------------------
// Date windows
// ---------------------------------------------------------------------------------------------

/// The same calendar day `years` years before `date`.
///
/// When that day does not exist the result is the last day of the month, so 29 February
/// minus one year is 28 February (2024-02-29 → 2023-02-28), while minus four years is
/// 2020-02-29. Never panics: a result before [`NaiveDate::MIN`] is clamped to it.
pub fn years_before(date: NaiveDate, years: u32) -> NaiveDate {
    match years.checked_mul(12) {
        Some(months) => months_before(date, months),
        None => NaiveDate::MIN,
    }
}

/// The same calendar day `months` months before `date`.
///
/// When that day does not exist the result is the last day of the month
/// (2023-03-31 → 2023-02-28). Never panics: a result before [`NaiveDate::MIN`] is clamped
/// to it.
pub fn months_before(date: NaiveDate, months: u32) -> NaiveDate {
    date.checked_sub_months(Months::new(months))
        .unwrap_or(NaiveDate::MIN)
}

/// The day `days` days before `date`. Never panics: a result before [`NaiveDate::MIN`] is
/// clamped to it.
pub fn days_before(date: NaiveDate, days: u32) -> NaiveDate {
    date.checked_sub_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    fn uscc(s: &str) -> Uscc {
        Uscc::parse(s).expect("test USCC")
    }

    // --- USCC ---------------------------------------------------------------------------

    #[test]
    fn standard_test_vectors_parse() {
        for code in [
            "9135021359498494XQ",
            "91320105780688132K",
            "91230500MA1B3N1N2M",
        ] {
            let parsed = Uscc::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert_eq!(parsed.as_str(), code);
            assert_eq!(parsed.to_string(), code);
        }
    }

    #[test]
    fn feed_codes_parse_and_match_helpers() {
        // Codes from provincial-feed/lists.jsonl that validate.
        for code in [
            "914201066715055524",
            "914201041182476073",
            "91420104657964963L",
            "91420116656401800L",
            "9142010637535063XF",
            "914201137922935681",
            "91420100568438339X",
        ] {
            assert!(Uscc::parse(code).is_ok(), "{code}");
            assert_eq!(org_code_check_char(&code[8..16]), code.chars().nth(16));
            assert_eq!(uscc_check_char(&code[..17]), code.chars().nth(17));
        }
    }

    #[test]
    fn feed_bad_code_is_rejected() {
        // A deliberately bad row of provincial-feed/xzcf.jsonl.
        assert_eq!(
            Uscc::parse("914201122362183998"),
            Err(UsccError::CheckChar {
                expected: '7',
                found: '8'
            })
        );
    }

    #[test]
    fn trims_and_uppercases() {
        let parsed = uscc("  91230500ma1b3n1n2m\n");
        assert_eq!(parsed.as_str(), "91230500MA1B3N1N2M");
        assert_eq!(
            "9135021359498494xq".parse::<Uscc>(),
            Ok(uscc("9135021359498494XQ"))
        );
    }

    #[test]
    fn length_error() {
        assert_eq!(
            Uscc::parse("91420106671505552"),
            Err(UsccError::Length { found: 17 })
        );
        assert_eq!(Uscc::parse("   "), Err(UsccError::Length { found: 0 }));
        // Counted in characters, not bytes.
        assert_eq!(
            Uscc::parse("统一社会信用代码"),
            Err(UsccError::Length { found: 8 })
        );
        let msg = UsccError::Length { found: 17 }.to_string();
        assert!(msg.contains("18") && msg.contains("17"), "{msg}");
    }

    #[test]
    fn invalid_char_error() {
        assert_eq!(
            Uscc::parse("9142010O6715055524"),
            Err(UsccError::InvalidChar {
                ch: 'O',
                position: 8
            })
        );
        assert_eq!(
            Uscc::parse("91420106671505552Ｘ"),
            Err(UsccError::InvalidChar {
                ch: 'Ｘ',
                position: 18
            })
        );
        assert_eq!(
            Uscc::parse("9142 1066715055524"),
            Err(UsccError::InvalidChar {
                ch: ' ',
                position: 5
            })
        );
        let msg = UsccError::InvalidChar {
            ch: 'O',
            position: 8,
        }
        .to_string();
        assert!(msg.contains("`O`") && msg.contains("position 8"), "{msg}");
    }

    #[test]
    fn registration_authority_error() {
        assert_eq!(
            Uscc::parse("B14201066715055524"),
            Err(UsccError::RegistrationAuthority { ch: 'B' })
        );
        assert_eq!(
            Uscc::parse("014201066715055524"),
            Err(UsccError::RegistrationAuthority { ch: '0' })
        );
    }

    #[test]
    fn org_code_check_error() {
        assert_eq!(
            Uscc::parse("914201066715055534"),
            Err(UsccError::OrgCodeCheck {
                expected: '2',
                found: '3'
            })
        );
        let msg = UsccError::OrgCodeCheck {
            expected: '2',
            found: '3',
        }
        .to_string();
        assert!(msg.contains("`2`") && msg.contains("`3`"), "{msg}");
    }

    #[test]
    fn check_char_error() {
        assert_eq!(
            Uscc::parse("914201066715055525"),
            Err(UsccError::CheckChar {
                expected: '4',
                found: '5'
            })
        );
        let msg = UsccError::CheckChar {
            expected: '4',
            found: '5',
        }
        .to_string();
        assert!(msg.contains("`4`") && msg.contains("`5`"), "{msg}");
    }

    #[test]
    fn check_char_helpers_reject_bad_input() {
        assert_eq!(uscc_check_char("9135021359498494"), None);
        assert_eq!(uscc_check_char("9135021359498494XX1"), None);
        assert_eq!(uscc_check_char("913502135949849IX"), None);
        assert_eq!(uscc_check_char("9135021359498494x"), Some('Q'));
        assert_eq!(org_code_check_char("5949849"), None);
        assert_eq!(org_code_check_char("5949849-"), None);
        assert_eq!(org_code_check_char("MA1B3N1N"), Some('2'));
        assert_eq!(org_code_check_char("ma1b3n1n"), Some('2'));
    }

    #[test]
    fn uscc_is_held_inline_and_reads_as_text() {
        let code = uscc("91320105780688132K");
        assert_eq!(format!("{code:?}"), r#"Uscc("91320105780688132K")"#);
        assert_eq!(code.as_ref(), "91320105780688132K");
        // Ordered as the text is.
        let mut codes = [uscc("91420100568438339X"), code.clone(), uscc("914201066715055524")];
        codes.sort();
        let texts: Vec<&str> = codes.iter().map(Uscc::as_str).collect();
        let mut sorted = texts.clone();
        sorted.sort_unstable();
        assert_eq!(texts, sorted);
        // Read from escaped text (not borrowable) and from a `serde_json::Value` too.
        let escaped: Uscc = serde_json::from_str(r#""91320105780688132\u004b""#).expect("escaped");
        assert_eq!(escaped, code);
        let value: Uscc = serde_json::from_value(serde_json::json!("91320105780688132K"))
            .expect("from a value");
        assert_eq!(value, code);
        let err = serde_json::from_str::<Uscc>("12").expect_err("a number");
        assert!(err.to_string().contains("expected a string"), "{err}");
    }

    #[test]
    fn uscc_serde() {
        let code = uscc("91320105780688132K");
        assert_eq!(
            serde_json::to_string(&code).expect("serialise"),
            "\"91320105780688132K\""
        );
        let back: Uscc = serde_json::from_str("\" 91320105780688132k\"").expect("deserialise");
        assert_eq!(back, code);
        let err = serde_json::from_str::<Uscc>("\"91320105780688132A\"")
            .expect_err("bad check char")
            .to_string();
        assert!(err.contains("position 18"), "{err}");
        assert!(serde_json::from_str::<Uscc>("12").is_err());
    }

    // --- kinds and severities -------------------------------------------------------------

    #[test]
    fn kind_names_round_trip() {
        for kind in RecordKind::ALL {
            assert_eq!(RecordKind::from_name(kind.code()), Some(kind));
            assert_eq!(RecordKind::from_name(kind.label()), Some(kind));
            for alias in kind.aliases() {
                assert_eq!(RecordKind::from_name(alias), Some(kind), "{alias}");
            }
        }
    }

    #[test]
    fn kind_names_are_unique() {
        let mut seen = HashSet::new();
        for kind in RecordKind::ALL {
            for name in [kind.code(), kind.label()]
                .into_iter()
                .chain(kind.aliases().iter().copied())
            {
                assert!(seen.insert(name), "name `{name}` is used twice");
            }
        }
    }

    #[test]
    fn feed_list_types_are_known() {
        // Every 名单类型 in provincial-feed/lists.jsonl.
        for (name, kind) in [
            ("严重违法失信名单", RecordKind::SamrSeriousList),
            ("建筑市场主体黑名单", RecordKind::Blacklist),
            (
                "拖欠农民工工资失信联合惩戒对象名单",
                RecordKind::WageArrears,
            ),
            (
                "政府采购严重违法失信行为记录名单",
                RecordKind::GpSeriousViolation,
            ),
            ("经营异常名录", RecordKind::AbnormalOperation),
            ("重大税收违法失信主体", RecordKind::TaxMajorViolation),
        ] {
            assert_eq!(RecordKind::from_name(name), Some(kind), "{name}");
        }
        assert_eq!(
            RecordKind::from_name(" blacklist "),
            Some(RecordKind::Blacklist)
        );
        assert_eq!(RecordKind::from_name(""), None);
    }

    #[test]
    fn kind_index_and_serde_are_stable() {
        for (i, kind) in RecordKind::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(kind.index()), i);
            assert_eq!(kind.bit(), 1u32 << i);
            let json = serde_json::to_string(&kind).expect("serialise");
            assert_eq!(json, format!("\"{}\"", kind.code()));
            let back: RecordKind = serde_json::from_str(&json).expect("deserialise");
            assert_eq!(back, kind);
        }
        assert!(serde_json::from_str::<RecordKind>("\"黑名单\"").is_err());
    }

    #[test]
    fn severity_names() {
        for s in Severity::ALL {
            assert_eq!(Severity::from_name(s.code()), Some(s));
            assert_eq!(Severity::from_name(s.label()), Some(s));
            let json = serde_json::to_string(&s).expect("serialise");
            assert_eq!(json, format!("\"{}\"", s.code()));
        }
        assert_eq!(Severity::from_name("严重"), Some(Severity::Serious));
        assert_eq!(Severity::from_name("fatal"), None);
        assert!(Severity::Minor < Severity::General && Severity::General < Severity::Serious);
    }

    #[test]
    fn status_serde_and_labels() {
        let json = serde_json::to_string(&RecordStatus::NotYetEffective).expect("serialise");
        assert_eq!(json, "\"not_yet_effective\"");
        for s in [
            RecordStatus::Active,
            RecordStatus::NotYetEffective,
            RecordStatus::Expired,
            RecordStatus::Repaired,
            RecordStatus::Revoked,
        ] {
            let json = serde_json::to_string(&s).expect("serialise");
            assert_eq!(json, format!("\"{}\"", s.code()));
            assert!(!s.label().is_empty());
        }
        assert_eq!(RecordStatus::Expired.label(), "已过公示期");
    }

    // --- records --------------------------------------------------------------------------

    fn sample() -> CreditRecord {
        let mut r = CreditRecord::new(
            "XZCF-00003-0",
            uscc("91420104657964963L"),
            RecordKind::AdminPenalty,
            day("2023-01-10"),
        );
        r.disclosure_until = Some(day("2026-01-10"));
        r
    }

    #[test]
    fn record_json_round_trip() {
        let mut r = sample();
        r.entity_name = Some("江夏环境科技有限公司".into());
        r.penalty_type = Some("罚款".into());
        r.amount = Some(Decimal::new(125, 1));
        r.severity = Some(Severity::General);
        let json = serde_json::to_string(&r).expect("serialise");
        assert!(json.contains("\"decided_on\":\"2023-01-10\""), "{json}");
        assert!(json.contains("\"severity\":\"general\""), "{json}");
        assert!(!json.contains("repaired_on"), "{json}");
        let back: CreditRecord = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, r);
    }

    #[test]
    fn record_json_rejects_unknown_fields_and_bad_uscc() {
        let ok = r#"{"id":"a","uscc":"914201066715055524","kind":"BLACKLIST","decided_on":"2024-01-01"}"#;
        assert!(serde_json::from_str::<CreditRecord>(ok).is_ok());
        let unknown = r#"{"id":"a","uscc":"914201066715055524","kind":"BLACKLIST","decided_on":"2024-01-01","colour":"red"}"#;
        assert!(serde_json::from_str::<CreditRecord>(unknown).is_err());
        let bad = r#"{"id":"a","uscc":"914201066715055525","kind":"BLACKLIST","decided_on":"2024-01-01"}"#;
        let err = serde_json::from_str::<CreditRecord>(bad)
            .expect_err("bad uscc")
            .to_string();
        assert!(err.contains("check character"), "{err}");
        let amount = r#"{"id":"a","uscc":"914201066715055524","kind":"ADMIN_PENALTY","decided_on":"2024-01-01","amount":2.5}"#;
        let r: CreditRecord = serde_json::from_str(amount).expect("numeric amount");
        assert_eq!(r.amount, Some(Decimal::new(25, 1)));
    }

    #[test]
    fn validate_ok() {
        assert_eq!(sample().validate(), Ok(()));
        // Same-day dates are fine.
        let mut r = sample();
        r.disclosure_until = Some(r.decided_on);
        r.repaired_on = Some(r.decided_on);
        r.revoked_on = Some(r.decided_on);
        assert_eq!(r.validate(), Ok(()));
    }

    #[test]
    fn validate_collects_every_problem() {
        let mut r = sample();
        r.id = "  ".into();
        r.kind = RecordKind::SectorGrade;
        r.grade = Some(String::new());
        r.disclosure_until = Some(day("2023-01-09"));
        r.repaired_on = Some(day("2022-12-31"));
        r.revoked_on = Some(day("2020-05-05"));
        let errors = r.validate().expect_err("five problems");
        assert_eq!(
            errors,
            vec![
                RecordError::EmptyId,
                RecordError::DisclosureBeforeDecision {
                    decided_on: day("2023-01-10"),
                    disclosure_until: day("2023-01-09"),
                },
                RecordError::RepairedBeforeDecision {
                    decided_on: day("2023-01-10"),
                    repaired_on: day("2022-12-31"),
                },
                RecordError::RevokedBeforeDecision {
                    decided_on: day("2023-01-10"),
                    revoked_on: day("2020-05-05"),
                },
                RecordError::MissingGrade,
            ]
        );
        let fields: Vec<_> = errors.iter().map(RecordError::field).collect();
        assert_eq!(
            fields,
            [
                "id",
                "disclosure_until",
                "repaired_on",
                "revoked_on",
                "grade"
            ]
        );
        let msg = errors[1].to_string();
        assert!(
            msg.contains("2023-01-09") && msg.contains("2023-01-10"),
            "{msg}"
        );
    }

    #[test]
    fn sector_grade_with_grade_is_valid() {
        let mut r = sample();
        r.kind = RecordKind::SectorGrade;
        assert_eq!(r.validate(), Err(vec![RecordError::MissingGrade]));
        r.grade = Some("AAA".into());
        assert_eq!(r.validate(), Ok(()));
    }

    // --- status ---------------------------------------------------------------------------

    #[test]
    fn status_decision_day_boundary() {
        let r = sample();
        assert_eq!(
            r.status_on(day("2023-01-09")),
            RecordStatus::NotYetEffective
        );
        assert_eq!(r.status_on(day("2023-01-10")), RecordStatus::Active);
        assert!(r.counts_on(day("2023-01-10")));
        assert!(!r.counts_on(day("2023-01-09")));
    }

    #[test]
    fn status_disclosure_boundary() {
        let r = sample();
        assert_eq!(r.status_on(day("2026-01-10")), RecordStatus::Active);
        assert_eq!(r.status_on(day("2026-01-11")), RecordStatus::Expired);
        let mut open = sample();
        open.disclosure_until = None;
        assert_eq!(open.status_on(day("2099-12-31")), RecordStatus::Active);
    }

    #[test]
    fn status_repair_boundary() {
        let mut r = sample();
        r.repaired_on = Some(day("2024-06-13"));
        assert_eq!(r.status_on(day("2024-06-12")), RecordStatus::Active);
        assert_eq!(r.status_on(day("2024-06-13")), RecordStatus::Repaired);
        // Repair wins over expiry.
        assert_eq!(r.status_on(day("2027-01-01")), RecordStatus::Repaired);
        // Before the decision the record is not yet effective, repaired or not.
        assert_eq!(
            r.status_on(day("2022-01-01")),
            RecordStatus::NotYetEffective
        );
    }

    #[test]
    fn status_revocation_boundary() {
        let mut r = sample();
        r.repaired_on = Some(day("2024-01-01"));
        r.revoked_on = Some(day("2024-06-01"));
        assert_eq!(r.status_on(day("2023-06-01")), RecordStatus::Active);
        assert_eq!(r.status_on(day("2024-05-31")), RecordStatus::Repaired);
        assert_eq!(r.status_on(day("2024-06-01")), RecordStatus::Revoked);
        assert_eq!(r.status_on(day("2030-01-01")), RecordStatus::Revoked);
        // Revocation is checked before effectiveness.
        let mut odd = sample();
        odd.revoked_on = Some(day("2020-01-01"));
        assert_eq!(odd.status_on(day("2021-01-01")), RecordStatus::Revoked);
        assert!(!odd.counts_on(day("2021-01-01")));
    }

    #[test]
    fn status_publication_boundary() {
        let mut r = sample();
        r.published_on = Some(day("2023-01-20"));
        assert_eq!(r.validate(), Ok(()));
        // Decided but not yet published: the platform does not know it yet.
        assert_eq!(
            r.status_on(day("2023-01-10")),
            RecordStatus::NotYetEffective
        );
        assert!(!r.counts_on(day("2023-01-19")));
        // The publication day itself counts.
        assert_eq!(r.status_on(day("2023-01-20")), RecordStatus::Active);
        assert!(r.counts_on(day("2023-01-21")));
        assert_eq!(r.published_day(), day("2023-01-20"));
        // Without a publication date the decision day counts.
        assert_eq!(sample().published_day(), day("2023-01-10"));
        assert!(sample().counts_on(day("2023-01-10")));
    }

    #[test]
    fn published_before_decision_is_rejected() {
        let mut r = sample();
        r.published_on = Some(day("2023-01-09"));
        let errors = r.validate().expect_err("published before decided");
        assert_eq!(
            errors,
            vec![RecordError::PublishedBeforeDecision {
                decided_on: day("2023-01-10"),
                published_on: day("2023-01-09"),
            }]
        );
        assert_eq!(errors[0].field(), "published_on");
        assert!(errors[0].to_string().contains("2023-01-09"));
        r.published_on = Some(r.decided_on);
        assert_eq!(r.validate(), Ok(()));
    }

    fn grade() -> CreditRecord {
        let mut r = CreditRecord::new(
            "GRADE-00004-2023",
            uscc("91420105419483507B"),
            RecordKind::SectorGrade,
            day("2024-04-15"),
        );
        r.grade = Some("B".into());
        r.valid_until = Some(day("2025-04-14"));
        r
    }

    #[test]
    fn status_validity_boundary() {
        let r = grade();
        assert_eq!(r.validate(), Ok(()));
        assert_eq!(r.status_on(day("2025-04-14")), RecordStatus::Active);
        assert_eq!(r.status_on(day("2025-04-15")), RecordStatus::Expired);
        // Validity and disclosure both bound it: the earlier end wins.
        let mut short = grade();
        short.disclosure_until = Some(day("2024-12-31"));
        assert_eq!(short.status_on(day("2025-01-01")), RecordStatus::Expired);
        assert_eq!(short.counts_until(), Some(day("2024-12-31")));
        let mut long = grade();
        long.disclosure_until = Some(day("2026-12-31"));
        assert_eq!(long.status_on(day("2025-04-15")), RecordStatus::Expired);
        assert_eq!(long.counts_until(), Some(day("2025-04-14")));
        let mut bad = grade();
        bad.valid_until = Some(day("2024-04-14"));
        assert_eq!(
            bad.validate(),
            Err(vec![RecordError::ValidUntilBeforeDecision {
                decided_on: day("2024-04-15"),
                valid_until: day("2024-04-14"),
            }])
        );
    }

    #[test]
    fn record_dates_json() {
        let mut r = grade();
        r.published_on = Some(day("2024-04-20"));
        let json = serde_json::to_string(&r).expect("serialise");
        assert!(json.contains("\"published_on\":\"2024-04-20\""), "{json}");
        assert!(json.contains("\"valid_until\":\"2025-04-14\""), "{json}");
        let back: CreditRecord = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, r);
        let plain = serde_json::to_string(&sample()).expect("serialise");
        assert!(!plain.contains("published_on") && !plain.contains("valid_until"));
    }

    // --- date windows ---------------------------------------------------------------------

    #[test]
    fn calendar_windows() {
        assert_eq!(years_before(day("2024-02-29"), 1), day("2023-02-28"));
        assert_eq!(years_before(day("2024-02-29"), 4), day("2020-02-29"));
        assert_eq!(years_before(day("2024-06-15"), 3), day("2021-06-15"));
        assert_eq!(years_before(day("2024-06-15"), 0), day("2024-06-15"));
        assert_eq!(months_before(day("2023-03-31"), 1), day("2023-02-28"));
        assert_eq!(months_before(day("2024-03-31"), 1), day("2024-02-29"));
        assert_eq!(months_before(day("2024-01-15"), 13), day("2022-12-15"));
        assert_eq!(days_before(day("2024-03-01"), 1), day("2024-02-29"));
        assert_eq!(days_before(day("2024-03-01"), 366), day("2023-03-01"));
    }

    #[test]
    fn calendar_windows_clamp() {
        let d = day("2024-02-29");
        assert_eq!(years_before(d, u32::MAX), NaiveDate::MIN);
        assert_eq!(years_before(d, 1_000_000), NaiveDate::MIN);
        assert_eq!(months_before(d, u32::MAX), NaiveDate::MIN);
        assert_eq!(days_before(d, u32::MAX), NaiveDate::MIN);
        assert_eq!(days_before(NaiveDate::MIN, 1), NaiveDate::MIN);
        assert!(years_before(NaiveDate::MAX, 1) < NaiveDate::MAX);
        assert_eq!(months_before(NaiveDate::MIN, 0), NaiveDate::MIN);
    }

    // --- properties -----------------------------------------------------------------------

    fn charset_char() -> impl Strategy<Value = char> {
        proptest::sample::select(USCC_CHARSET.chars().collect::<Vec<_>>())
    }

    fn valid_code() -> impl Strategy<Value = String> {
        (
            proptest::sample::select(REGISTRATION_AUTHORITIES.chars().collect::<Vec<_>>()),
            proptest::collection::vec(charset_char(), 15),
        )
            .prop_map(|(first, rest)| {
                let mut code: String = std::iter::once(first).chain(rest).collect();
                let org = org_code_check_char(&code[8..16]).expect("charset body");
                code.push(org);
                let check = uscc_check_char(&code).expect("charset prefix");
                code.push(check);
                code
            })
    }

    fn any_day() -> impl Strategy<Value = NaiveDate> {
        (0i32..4000).prop_map(|n| day("2015-01-01") + chrono::Duration::days(i64::from(n)))
    }

    #[test]
    fn an_event_is_checked_only_for_what_it_can_break() {
        let mut r = sample();
        r.description = Some("长".repeat(5_000));
        r.repaired_on = Some(r.decided_on);
        assert!(r.validate().is_err(), "over the description limit");
        assert_eq!(r.event_date_errors(), Vec::new());
        r.revoked_on = r.decided_on.pred_opt();
        assert_eq!(r.event_date_errors().len(), 1);
    }

    #[test]
    fn a_record_cannot_end_before_it_is_published() {
        let mut r = sample();
        r.published_on = Some(r.decided_on + Days::new(30));
        r.disclosure_until = Some(r.decided_on + Days::new(10));
        let errors = r.validate().expect_err("ends before publication");
        assert!(
            errors.iter().any(|e| matches!(
                e,
                RecordError::EndsBeforePublication {
                    field: "disclosure_until",
                    ..
                }
            )),
            "{errors:?}"
        );
    }

    proptest! {
        /// A record published after the as-of day never counts; published on it, it counts
        /// unless repaired, revoked or past its disclosure or validity.
        #[test]
        fn publication_rule(
            decided in any_day(),
            delay in 0u64..400,
            as_of in any_day(),
            until in proptest::option::of(any_day()),
            valid in proptest::option::of(any_day()),
        ) {
            let mut r = sample();
            r.decided_on = decided;
            let published = decided + Days::new(delay);
            r.published_on = Some(published);
            // A record cannot end before it is published (validate refuses it).
            r.disclosure_until = until.map(|d| d.max(published));
            r.valid_until = valid.map(|d| d.max(published));
            prop_assert_eq!(r.validate(), Ok(()));
            if published > as_of {
                prop_assert!(!r.counts_on(as_of));
                prop_assert_eq!(r.status_on(as_of), RecordStatus::NotYetEffective);
            }
            if published == as_of {
                let open = r.counts_until().is_none_or(|end| end >= as_of);
                prop_assert_eq!(r.counts_on(as_of), open);
            }
            if r.valid_until.is_some_and(|v| v < as_of) {
                prop_assert!(!r.counts_on(as_of));
            }
            // Counting is monotone in the publication day: publishing later never makes a
            // record count on a day it did not count before.
            let mut earlier = r.clone();
            earlier.published_on = None;
            prop_assert!(!r.counts_on(as_of) || earlier.counts_on(as_of));
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in any::<String>()) {
            let _ = Uscc::parse(&s);
        }

        #[test]
        fn parse_never_panics_on_near_codes(s in "[0-9A-Za-z ]{16,20}") {
            let _ = Uscc::parse(&s);
        }

        #[test]
        fn generated_codes_parse(code in valid_code()) {
            let parsed = Uscc::parse(&code);
            prop_assert_eq!(parsed.as_ref().map(Uscc::as_str), Ok(code.as_str()));
            let lower = format!(" {} ", code.to_ascii_lowercase());
            prop_assert_eq!(Uscc::parse(&lower), parsed);
        }

        #[test]
        fn single_substitutions_are_caught(
            code in valid_code(),
            pos in 0usize..18,
            replacement in charset_char(),
        ) {
            let mut chars: Vec<char> = code.chars().collect();
            prop_assume!(chars[pos] != replacement);
            chars[pos] = replacement;
            let changed: String = chars.into_iter().collect();
            prop_assert!(Uscc::parse(&changed).is_err());
        }
    }
}
