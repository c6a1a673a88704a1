//! Maps the provincial credit platform's feed rows to the product's record model.
//!
//! Consumes one JSON object per line in the provincial field names (the 双公示 column codes
//! `cf_*`, the court's `caseCode` …, the Chinese list and grade columns) and produces
//! [`IntakeItem`]s: a [`CreditRecord`] that has passed [`CreditRecord::validate`], or a
//! [`StatusEvent`] (信用修复 / 撤销) about an earlier record. A rejected row gives every
//! problem it has at once, each naming the provincial field, the bad value, the reason and
//! the fix ([`FieldError`], [`IntakeError`]).
//!
//! All mapping decisions live in one data table, [`MappingTable`]; [`HUBEI`] is the table
//! for the 湖北省公共信用信息平台 feed. Another province is connected by writing another
//! table and calling [`MappingTable::map_line`] on it. [`MappingTable::to_markdown`] prints
//! a table for review. The Hubei table, in short:
//!
//! | feed ([`FeedKind`]) | file | → kind | severity | disclosure end |
//! |---|---|---|---|---|
//! | `Penalty` 双公示 行政处罚 | `xzcf` | `ADMIN_PENALTY` | from `cf_cflb` (below) | `cf_gsjzq`; absent = none |
//! | `Court` 失信被执行人 | `court` | `DISHONEST_DEBTOR` | serious | none (until performed) |
//! | `List` named lists | `lists` | from `名单类型` (below) | from `名单类型` | `公示截止日期`; absent/null = until removed |
//! | `Grade` sector grades | `grades` | `SECTOR_GRADE` | none | `有效期至` |
//! | `Event` repair / revocation | `events` | a [`StatusEvent`] | – | – |
//!
//! Fields (first listed source present wins; **bold** = required, a row without it is
//! rejected):
//!
//! * Penalty: **`xxbh`** → `id`, **`cf_xdr_shxym`** → `uscc`, `cf_xdr_mc` → `entity_name`,
//!   **`cf_wsh`** → `document_no`, `cf_cflb` → `penalty_type`, `cf_nr_fk` (万元, may be null)
//!   → `amount`, **`cf_jdrq`** → `decided_on`, `cf_gsjzq` → `disclosure_until`, `cf_cfjg` →
//!   `authority`, `cf_sy` or else `cf_wfxw` → `description`, `cf_yj` → `legal_basis`.
//! * Court: **`xxbh`**, **`cardNum`** → `uscc`, `iname` → `entity_name`, **`caseCode`** →
//!   `document_no`, `courtName` → `authority`, **`publishDate`** (or `regDate` when
//!   publishDate is absent: the filing date is the best date the row then has) →
//!   `decided_on`, `disruptTypeName` → `description`.
//!
//! Dates: every source field of a date target that is present is checked, not only the one
//! used (a court row's `regDate` is checked although `publishDate` fills `decided_on`), and
//! each feed declares in the table the order its dates must keep ([`DateOrder`]: `regDate` ≤
//! `publishDate`; decision or listing or publication ≤ the disclosure end). The date floor
//! and the future tolerance of [`crate::record::CreditRecord::check_dates`] apply to every
//! record taken in (push, import, sync).
//! * List: **`xxbh`**, **`统一社会信用代码`**, `主体名称`, **`名单类型`** → kind, severity and
//!   sector, **`列入决定文书号`** → `document_no`, **`列入日期`** → `decided_on`,
//!   `公示截止日期` → `disclosure_until`, `列入机关` → `authority`.
//! * Grade: **`xxbh`**, **`统一社会信用代码`**, `主体名称`, **`评价行业`** → `sector`,
//!   **`信用等级`** → `grade` (must be on the sector's scale: 水利 AAA–C, 公路 AA–D, 纳税
//!   A/B/M/C/D), **`发布日期`** → `decided_on`, `有效期至` → `disclosure_until`, `评价机关` →
//!   `authority`, `评价年度` → `description` as `评价年度 N`.
//! * Event: **`xxbh`** → the record's id, **`事件`** (`信用修复` → repair, `撤销` or
//!   `确认无效` → revocation), **`日期`**, `机关` → authority, `说明` → note.
//!
//! Penalty severity (`cf_cflb` is split at `、`, `，`, `;` …; the most severe part wins):
//! `警告`, `通报批评` → minor; `罚款`, `没收…` → general, whatever the amount; `暂扣…`,
//! `降低资质等级`, `吊销…`, `限制开展生产经营活动`, `责令停产停业`, `责令关闭`, `限制从业`,
//! `行政拘留` → serious (SAMR Order 45 allows no early stop for these; 暂扣 is grouped with
//! them by 行政处罚法 Art. 9(3)). An unknown penalty type leaves the severity empty.
//!
//! List types: `建筑市场主体黑名单` → `BLACKLIST` with sector `城乡建设`; any other name goes
//! through [`RecordKind::from_name`] (`政府采购严重违法失信行为记录名单` →
//! `GP_SERIOUS_VIOLATION`, `拖欠农民工工资失信联合惩戒对象名单` → `WAGE_ARREARS` …). Every
//! list is serious except `经营异常名录` and `重点关注名单` (general: they are warning lists,
//! not 严重失信 lists). Kinds that are not lists (行政处罚, 信用等级 …) are rejected.
//!
//! Disclosure ends are stored as the source sends them (DOMAIN §7). Where a source sends
//! none the record has no end, even for a penalty: the statutory period depends on the
//! regime (SAMR Order 45: 3 months or 3 years; Wuhan Order 272: 5 years), which DOMAIN leaves
//! open, so intake does not invent one.
//!
//! Rows are mapped one by one: an event is checked against its record only when the store
//! applies it ([`StatusEvent::apply_to`]).

mod table;
mod value;

use std::fmt;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::record::{CreditRecord, RecordError, RecordKind, Uscc, UsccError};

pub use table::{
    DateOrder, EventTypeMap, FeedMap, FieldMap, GradeScale, HUBEI, KindRule, ListTypeMap,
    MappingTable, PenaltySeverity, Produces, SeverityRule, Target,
};

// ---------------------------------------------------------------------------------------------
// Feeds, events and items
// ---------------------------------------------------------------------------------------------

/// The feeds the provincial platform sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedKind {
    /// `penalty`: 双公示 行政处罚 (XZCF columns `cf_*`), file `xzcf.jsonl`.
    Penalty,
    /// `court`: 失信被执行人 (中国执行信息公开网 columns), file `court.jsonl`.
    Court,
    /// `list`: named lists (名单类型 …), file `lists.jsonl`.
    List,
    /// `grade`: sector credit grades (信用等级), file `grades.jsonl`.
    Grade,
    /// `event`: repair (信用修复) and revocation (撤销) of earlier records, file
    /// `events.jsonl`.
    Event,
}

impl FeedKind {
    /// Every feed.
    pub const ALL: [FeedKind; 5] = [
        FeedKind::Penalty,
        FeedKind::Court,
        FeedKind::List,
        FeedKind::Grade,
        FeedKind::Event,
    ];

    /// The code used in JSON, e.g. `penalty`.
    pub const fn code(self) -> &'static str {
        match self {
            FeedKind::Penalty => "penalty",
            FeedKind::Court => "court",
            FeedKind::List => "list",
            FeedKind::Grade => "grade",
            FeedKind::Event => "event",
        }
    }

    /// The Chinese label, e.g. `行政处罚`.
    pub const fn label(self) -> &'static str {
        match self {
            FeedKind::Penalty => "行政处罚",
            FeedKind::Court => "失信被执行人",
            FeedKind::List => "名单",
            FeedKind::Grade => "信用等级",
            FeedKind::Event => "修复与撤销",
        }
    }

    /// Which feed a row belongs to, by the [`HUBEI`] table's key fields present (`cf_wsh`,
    /// `cf_xdr_shxym` … → penalty; `caseCode`, `cardNum` … → court; `名单类型` → list;
    /// `信用等级` → grade; `事件` → event). See [`MappingTable::detect`].
    ///
    /// ```
    /// use credit_rules::intake::FeedKind;
    /// let row = serde_json::json!({"xxbh": "E1", "事件": "撤销", "日期": "2024-01-01"});
    /// assert_eq!(FeedKind::detect(row.as_object().unwrap()), Some(FeedKind::Event));
    /// ```
    pub fn detect(row: &Map<String, Value>) -> Option<FeedKind> {
        HUBEI.detect(row)
    }

    /// Which feed a file belongs to, by the [`HUBEI`] table's file-name stems (`xzcf`,
    /// `court`, `lists`, `grades`, `events` …); see [`MappingTable::feed_for_file`].
    ///
    /// ```
    /// use credit_rules::intake::FeedKind;
    /// assert_eq!(FeedKind::from_file_name("feed/xzcf.jsonl"), Some(FeedKind::Penalty));
    /// assert_eq!(FeedKind::from_file_name("GRADES-2024.json"), Some(FeedKind::Grade));
    /// assert_eq!(FeedKind::from_file_name("notes.txt"), None);
    /// ```
    pub fn from_file_name(file_name: &str) -> Option<FeedKind> {
        HUBEI.feed_for_file(file_name)
    }
}

impl fmt::Display for FeedKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// What a [`StatusEvent`] does to its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// `repair` 信用修复: the record stops counting from the event date.
    Repair,
    /// `revoke` 撤销: the decision was revoked; from the event date the record counts as
    /// never valid.
    Revoke,
}

impl EventKind {
    /// The code used in JSON: `repair` or `revoke`.
    pub const fn code(self) -> &'static str {
        match self {
            EventKind::Repair => "repair",
            EventKind::Revoke => "revoke",
        }
    }

    /// The Chinese label: 信用修复 or 撤销.
    pub const fn label(self) -> &'static str {
        match self {
            EventKind::Repair => "信用修复",
            EventKind::Revoke => "撤销",
        }
    }
}

/// A later event on a record: a repair (信用修复) or a revocation (撤销).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusEvent {
    /// Id of the record the event is about (its `xxbh`).
    pub record_id: String,
    /// Repair or revocation.
    pub kind: EventKind,
    /// The day the event takes effect.
    pub date: NaiveDate,
    /// The authority that repaired or revoked (机关).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
    /// Free-text note (说明).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Why a [`StatusEvent`] cannot be applied to a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The event is about another record, e.g. an event for `XZCF-1` applied to `XZCF-2`.
    #[error(
        "the event is about record `{event_record}` but was applied to record `{record}`; \
         apply each event to the record whose id it names"
    )]
    WrongRecord {
        /// The record's id.
        record: String,
        /// The id the event names.
        event_record: String,
    },
    /// The event date is before the record's decision date, e.g. a repair on 2023-12-16 of
    /// a grade published 2024-04-15.
    #[error(
        "the {} (`{}`) of record `{record}` is dated {date}, before the record's decision on \
         {decided_on}; a record cannot be repaired or revoked before it exists, so ask the \
         source to check the event date and the record id",
        kind.label(), kind.code()
    )]
    BeforeDecision {
        /// The record's id.
        record: String,
        /// Repair or revocation.
        kind: EventKind,
        /// The event date.
        date: NaiveDate,
        /// The record's decision date.
        decided_on: NaiveDate,
    },
}

impl StatusEvent {
    /// Applies the event to its record: a repair sets `repaired_on`, a revocation sets
    /// `revoked_on` (a later event of the same kind replaces the earlier date). The record
    /// is left unchanged when the event names another record or is dated before the
    /// record's decision.
    pub fn apply_to(&self, record: &mut CreditRecord) -> Result<(), EventError> {
        if record.id != self.record_id {
            return Err(EventError::WrongRecord {
                record: record.id.clone(),
                event_record: self.record_id.clone(),
            });
        }
        if self.date < record.decided_on {
            return Err(EventError::BeforeDecision {
                record: record.id.clone(),
                kind: self.kind,
                date: self.date,
                decided_on: record.decided_on,
            });
        }
        match self.kind {
            EventKind::Repair => record.repaired_on = Some(self.date),
            EventKind::Revoke => record.revoked_on = Some(self.date),
        }
        Ok(())
    }
}

/// What one feed row becomes.
// Records are the common case and move once per row: boxing them would add an allocation
// per record to save space on the rare events.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntakeItem {
    /// A credit record that passed [`CreditRecord::validate`].
    Record(CreditRecord),
    /// A repair or revocation of an earlier record.
    Event(StatusEvent),
}

impl IntakeItem {
    /// The record id: the record's own, or the id of the record an event is about.
    pub fn id(&self) -> &str {
        match self {
            IntakeItem::Record(r) => &r.id,
            IntakeItem::Event(e) => &e.record_id,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// What is wrong with one field of a feed row. Every message says how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    /// A required field is absent, `null` or blank, e.g. no `cf_wsh`.
    #[error(
        "the required {label} is missing or empty{}; ask the source to resend the row with it",
        also_accepted(alternatives)
    )]
    Missing {
        /// What the field is, e.g. `决定文书号`.
        label: &'static str,
        /// Other source fields that would also have been accepted.
        alternatives: Vec<&'static str>,
    },
    /// The value is an array, object or boolean where text is expected.
    #[error("expected text or a number, found {found}; send the value as a string")]
    NotText {
        /// What was found, e.g. `a JSON array`.
        found: &'static str,
    },
    /// The 统一社会信用代码 is invalid, e.g. a wrong check character.
    #[error("{0}")]
    Uscc(UsccError),
    /// The value is not shaped like a date, e.g. `next Monday`.
    #[error("this is not a date; send dates as YYYY-MM-DD, e.g. 2023-02-28")]
    NotADate,
    /// The value is shaped like a date that does not exist, e.g. `2023-02-30`.
    #[error(
        "this date does not exist: {reason}; take the correct date from the source \
         document and resend the row"
    )]
    ImpossibleDate {
        /// Why, e.g. `2023-02 has no day 30 (it has 28 days)`.
        reason: String,
    },
    /// The value is not a number, e.g. `"二万"`.
    #[error(
        "this is not an amount; send the amount in 万元 as a number such as 2.5, or null if \
         there is none"
    )]
    NotAnAmount,
    /// The amount cannot be held exactly, e.g. `1e-999999`.
    #[error("{reason}")]
    InexactAmount {
        /// Why, and what to send instead.
        reason: String,
    },
    /// The amount is negative, e.g. `-2`.
    #[error("the amount is negative; an amount in 万元 cannot be below zero, so check the sign")]
    NegativeAmount,
    /// The disclosure end is before the decision date, e.g. `cf_gsjzq` 2001-01-01 for a
    /// decision of 2021-11-25.
    #[error(
        "the disclosure end {end} is before the decision date {start} (`{start_field}`); \
         disclosure cannot end before the decision, so check both dates, or send null if the \
         record stays disclosed until removed"
    )]
    EndBeforeStart {
        /// The source field of the decision date, e.g. `cf_jdrq`.
        start_field: &'static str,
        /// The decision date.
        start: NaiveDate,
        /// The disclosure end.
        end: NaiveDate,
    },
    /// Two dates of the row are in the wrong order, e.g. a court row published
    /// (`publishDate`) before its case was filed (`regDate`).
    #[error(
        "{later} is before `{earlier_field}` ({earlier}), but {note}; check both dates and \
         resend the row"
    )]
    DatesOutOfOrder {
        /// The source field of the date that should come first.
        earlier_field: &'static str,
        /// Its date.
        earlier: NaiveDate,
        /// The later date (the field of this error).
        later: NaiveDate,
        /// The rule, from the mapping table.
        note: &'static str,
    },
    /// A publication date or validity end is before the decision date, e.g. `有效期至`
    /// 2001-01-01 for a grade published 2024-04-15.
    #[error(
        "this {label} ({date}) is before the decision date {start} (`{start_field}`); \
         a record cannot be published, or stop being valid, before it was decided, so check \
         both dates"
    )]
    DateBeforeDecision {
        /// What the date is, e.g. `有效期至`.
        label: &'static str,
        /// The source field of the decision date, e.g. `发布日期`.
        start_field: &'static str,
        /// The decision date.
        start: NaiveDate,
        /// The date given.
        date: NaiveDate,
    },
    /// The list type is not in the mapping table, e.g. `红名单`.
    #[error(
        "this list type (名单类型) is unknown; use one of {}, or add the list to the mapping \
         table's list types",
        quoted(known)
    )]
    UnknownListType {
        /// List names the table knows.
        known: Vec<&'static str>,
    },
    /// The list type names a record kind that is not a list, e.g. `行政处罚`.
    #[error(
        "this names the record kind `{}` ({}), which is not a named list; send such records \
         in their own feed",
        kind.code(), kind.label()
    )]
    NotAList {
        /// The kind the name stands for.
        kind: RecordKind,
    },
    /// The event type is unknown, e.g. `移出`.
    #[error(
        "this event type (事件) is unknown; use one of {}, or add it to the mapping table's \
         event types",
        quoted(known)
    )]
    UnknownEventType {
        /// Event names the table knows.
        known: Vec<&'static str>,
    },
    /// The grade is not on its sector's scale, e.g. `M` for 水利.
    #[error(
        "this grade is not on the `{sector}` scale ({}); check the grade and the sector \
         (评价行业)",
        grades.join(", ")
    )]
    GradeOffScale {
        /// The sector.
        sector: String,
        /// The sector's grades, best first.
        grades: &'static [&'static str],
    },
    /// The mapping table has no entry for the feed.
    #[error(
        "the mapping table has no entry for the `{feed}` feed; add one or send the row to another feed"
    )]
    FeedNotMapped {
        /// The feed.
        feed: FeedKind,
    },
    /// Another problem found by [`CreditRecord::validate`].
    #[error("{0}")]
    Record(RecordError),
}

/// `; also accepted: `a`, `b`` or nothing.
fn also_accepted(alternatives: &[&str]) -> String {
    if alternatives.is_empty() {
        String::new()
    } else {
        format!(" (also accepted: {})", quoted(alternatives))
    }
}

/// `` `a`, `b` ``.
fn quoted(names: &[&str]) -> String {
    let names: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    names.join(", ")
}

/// One problem of a feed row, in the provincial field names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The provincial field name, e.g. `cf_jdrq`.
    pub field: String,
    /// The bad value as sent (a string as is, anything else as JSON); `None` when missing.
    pub value: Option<String>,
    /// What is wrong and how to fix it.
    pub problem: FieldProblem,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(value) => write!(f, "`{}` = `{}`: {}", self.field, value, self.problem),
            None => write!(f, "`{}`: {}", self.field, self.problem),
        }
    }
}

impl std::error::Error for FieldError {}

/// Why a feed line was not taken in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IntakeError {
    /// The line is not JSON, e.g. `{"xxbh": `.
    #[error("the line is not valid JSON ({message}); each line of a feed must be one JSON object")]
    Json {
        /// The parser's message.
        message: String,
    },
    /// The line is JSON but not an object, e.g. `[1, 2]`.
    #[error("the line is {found}, not a JSON object; each line of a feed must be one JSON object")]
    NotObject {
        /// What it is, e.g. `a JSON array`.
        found: &'static str,
    },
    /// No feed of the mapping table has any of its key fields in the row.
    #[error(
        "{}: cannot tell which feed the row belongs to, because its fields ({}) include none of \
         the mapping table's key fields; send it in a file named after its feed (xzcf, court, \
         lists, grades, events) or add the feed to the mapping table",
        row_name(id.as_deref()), quoted(&fields.iter().map(String::as_str).collect::<Vec<_>>())
    )]
    UnknownFeed {
        /// The row id, when the row has one.
        id: Option<String>,
        /// The row's field names.
        fields: Vec<String>,
    },
    /// The row has one or more bad fields.
    #[error(
        "{} of the {} feed is rejected: {}",
        row_name(id.as_deref()), feed.label(), join_errors(errors)
    )]
    InvalidRow {
        /// The row id (`xxbh`), when the row has one.
        id: Option<String>,
        /// The feed.
        feed: FeedKind,
        /// Every problem, in field-table order.
        errors: Vec<FieldError>,
    },
}

/// `row `X`` or `a row without an id`.
fn row_name(id: Option<&str>) -> String {
    id.map_or_else(
        || "a row without an id".to_owned(),
        |id| format!("row `{id}`"),
    )
}

/// The field errors joined with `; `.
fn join_errors(errors: &[FieldError]) -> String {
    let errors: Vec<String> = errors.iter().map(ToString::to_string).collect();
    errors.join("; ")
}

impl IntakeError {
    /// The row id (`xxbh`), when known.
    pub fn id(&self) -> Option<&str> {
        match self {
            IntakeError::UnknownFeed { id, .. } | IntakeError::InvalidRow { id, .. } => {
                id.as_deref()
            }
            IntakeError::Json { .. } | IntakeError::NotObject { .. } => None,
        }
    }

    /// The field errors (empty unless [`IntakeError::InvalidRow`]).
    pub fn field_errors(&self) -> &[FieldError] {
        match self {
            IntakeError::InvalidRow { errors, .. } => errors,
            IntakeError::Json { .. }
            | IntakeError::NotObject { .. }
            | IntakeError::UnknownFeed { .. } => &[],
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Entry points (the Hubei table)
// ---------------------------------------------------------------------------------------------

/// Maps one row of a known feed with the [`HUBEI`] table; see [`MappingTable::map_object`].
pub fn map_object(row: &Map<String, Value>, feed: FeedKind) -> Result<IntakeItem, Vec<FieldError>> {
    HUBEI.map_object(row, feed)
}

/// Maps one feed line with the [`HUBEI`] table, detecting its feed from its fields; see
/// [`MappingTable::map_line`].
///
/// ```
/// use credit_rules::intake::{map_line, IntakeItem};
/// use credit_rules::record::RecordKind;
/// let line = r#"{"xxbh": "LIST-1", "统一社会信用代码": "914201066715055524",
///   "名单类型": "建筑市场主体黑名单", "列入日期": "2022-07-19",
///   "列入决定文书号": "武建列〔2022〕8号", "列入机关": "武汉市城乡建设局"}"#;
/// let Ok(IntakeItem::Record(record)) = map_line(line) else { panic!() };
/// assert_eq!(record.kind, RecordKind::Blacklist);
/// assert_eq!(record.sector.as_deref(), Some("城乡建设"));
///
/// let bad = line.replace("2022-07-19", "2023-02-30");
/// let err = map_line(&bad).unwrap_err();
/// assert_eq!(err.id(), Some("LIST-1"));
/// assert_eq!(err.field_errors()[0].field, "列入日期");
/// ```
pub fn map_line(line: &str) -> Result<IntakeItem, IntakeError> {
    HUBEI.map_line(line)
}

/// Maps one line of a known feed (e.g. from [`FeedKind::from_file_name`]) with the
/// [`HUBEI`] table; see [`MappingTable::map_line_as`].
pub fn map_line_as(line: &str, feed: FeedKind) -> Result<IntakeItem, IntakeError> {
    HUBEI.map_line_as(line, feed)
}

/// Maps every non-blank line of a feed text with the [`HUBEI`] table; see
/// [`MappingTable::map_lines`].
pub fn map_lines(
    text: &str,
    feed: Option<FeedKind>,
) -> impl Iterator<Item = (usize, Result<IntakeItem, IntakeError>)> + '_ {
    HUBEI.map_lines(text, feed)
}

// ---------------------------------------------------------------------------------------------
// The mapping
// ---------------------------------------------------------------------------------------------

impl MappingTable {
    /// Maps one row of the given feed, collecting every problem of the row.
    ///
    /// Each [`FieldMap`] of the feed is read (the first of its sources with a value that is
    /// not null or blank; a required field without one is an error), the kind, severity
    /// and sector are classified, the grade is checked against its sector's scale, and the
    /// record is run through [`CreditRecord::validate`], whose errors are reported in the
    /// provincial field names. Fields that are not in the table are ignored.
    pub fn map_object(
        &self,
        row: &Map<String, Value>,
        feed: FeedKind,
    ) -> Result<IntakeItem, Vec<FieldError>> {
        let Some(map) = self.feed(feed) else {
            return Err(vec![FieldError {
                field: feed.code().to_owned(),
                value: None,
                problem: FieldProblem::FeedNotMapped { feed },
            }]);
        };
        let fields = Fields::read(self, map, row);
        match map.produces {
            Produces::Event => fields.into_event(self, map),
            Produces::Record { kind, severity } => fields.into_record(self, map, kind, severity),
        }
    }

    /// Maps one feed line, detecting its feed with [`MappingTable::detect`].
    pub fn map_line(&self, line: &str) -> Result<IntakeItem, IntakeError> {
        self.map_line_with(line, None)
    }

    /// Maps one line of a known feed.
    pub fn map_line_as(&self, line: &str, feed: FeedKind) -> Result<IntakeItem, IntakeError> {
        self.map_line_with(line, Some(feed))
    }

    /// Maps every non-blank line of a feed text, with line numbers from 1. With `feed`
    /// `None`, each line's feed is detected.
    pub fn map_lines<'a>(
        &'a self,
        text: &'a str,
        feed: Option<FeedKind>,
    ) -> impl Iterator<Item = (usize, Result<IntakeItem, IntakeError>)> + 'a {
        text.lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(move |(i, line)| (i + 1, self.map_line_with(line, feed)))
    }

    /// Replaces the JSON numbers of the feed's amount fields by their digits as written in
    /// `line`, so that amounts are read exactly (a parsed `Value` number has been through a
    /// float: `18446744073709551616` would round, `1e-999999` would become 0).
    fn exact_amounts(&self, line: &str, feed: FeedKind, row: &mut Map<String, Value>) {
        let Some(map) = self.feed(feed) else { return };
        let numbers: Vec<&str> = map
            .fields
            .iter()
            .filter(|m| m.target == Target::Amount)
            .flat_map(|m| m.sources.iter().copied())
            .filter(|s| matches!(row.get(*s), Some(Value::Number(_))))
            .collect();
        if numbers.is_empty() {
            return;
        }
        type RawFields = std::collections::HashMap<String, Box<serde_json::value::RawValue>>;
        let Ok(raw) = serde_json::from_str::<RawFields>(line) else {
            return;
        };
        for source in numbers {
            if let Some(digits) = raw.get(source) {
                row.insert(source.to_owned(), Value::String(digits.get().to_owned()));
            }
        }
    }

    /// The row's id as text, from the first id source of the feed (or of any feed) present.
    pub fn row_id(&self, row: &Map<String, Value>, feed: Option<FeedKind>) -> Option<String> {
        self.feeds
            .iter()
            .filter(|f| feed.is_none_or(|k| f.feed == k))
            .flat_map(|f| f.fields.iter().filter(|m| m.target == Target::Id))
            .flat_map(|m| m.sources.iter())
            .find_map(|s| row.get(*s).filter(|v| !value::is_blank(v)))
            .and_then(|v| value::text(v).ok())
    }

    fn map_line_with(&self, line: &str, feed: Option<FeedKind>) -> Result<IntakeItem, IntakeError> {
        let parsed: Value = serde_json::from_str(line).map_err(|e| IntakeError::Json {
            message: e.to_string(),
        })?;
        let Value::Object(mut row) = parsed else {
            return Err(IntakeError::NotObject {
                found: value::json_type(&parsed),
            });
        };
        let Some(feed) = feed.or_else(|| self.detect(&row)) else {
            return Err(IntakeError::UnknownFeed {
                id: self.row_id(&row, None),
                fields: row.keys().cloned().collect(),
            });
        };
        self.exact_amounts(line, feed, &mut row);
        self.map_object(&row, feed)
            .map_err(|errors| IntakeError::InvalidRow {
                id: self.row_id(&row, Some(feed)),
                feed,
                errors,
            })
    }
}

/// The values read from one row, and the problems found so far.
#[derive(Default)]
struct Fields {
    errors: Vec<FieldError>,
    /// The source field and raw value that filled each target, in reading order.
    used: Vec<(Target, &'static str, String)>,
    id: Option<String>,
    uscc: Option<Uscc>,
    entity_name: Option<String>,
    list_type: Option<String>,
    authority: Option<String>,
    document_no: Option<String>,
    decided_on: Option<NaiveDate>,
    published_on: Option<NaiveDate>,
    disclosure_until: Option<NaiveDate>,
    valid_until: Option<NaiveDate>,
    sector: Option<String>,
    penalty_type: Option<String>,
    amount: Option<Decimal>,
    grade: Option<String>,
    legal_basis: Option<String>,
    description: Option<String>,
    event_type: Option<String>,
    event_date: Option<NaiveDate>,
    event_note: Option<String>,
    /// Every valid date read, by source field (the ones used and the others checked).
    dates: Vec<(&'static str, NaiveDate)>,
}

impl Fields {
    /// Reads every field of the feed's table from the row.
    fn read(table: &MappingTable, map: &FeedMap, row: &Map<String, Value>) -> Fields {
        let mut fields = Fields::default();
        for m in map.fields {
            let found = m
                .sources
                .iter()
                .find_map(|s| row.get(*s).filter(|v| !value::is_blank(v)).map(|v| (*s, v)));
            if m.target.value_type() == table::ValueType::Date {
                fields.check_other_dates(table, m, found.map(|(s, _)| s), row);
            }
            match found {
                Some((source, v)) => fields.read_one(table, m, source, v),
                None if m.required => fields.errors.push(FieldError {
                    field: m.sources.first().copied().unwrap_or("").to_owned(),
                    value: None,
                    problem: FieldProblem::Missing {
                        label: m.target.label(),
                        alternatives: m.sources.iter().skip(1).copied().collect(),
                    },
                }),
                None => {}
            }
        }
        fields
    }

    /// Checks the date sources of `m` other than the one used: a bad date there is an error
    /// too, although its value is not stored.
    fn check_other_dates(
        &mut self,
        table: &MappingTable,
        m: &FieldMap,
        used: Option<&'static str>,
        row: &Map<String, Value>,
    ) {
        for source in m.sources.iter().copied().filter(|s| Some(*s) != used) {
            let Some(v) = row.get(source).filter(|v| !value::is_blank(v)) else {
                continue;
            };
            match value::date(v, table.date_formats) {
                Ok(date) => self.dates.push((source, date)),
                Err(problem) => self.errors.push(FieldError {
                    field: source.to_owned(),
                    value: Some(value::raw(v)),
                    problem,
                }),
            }
        }
    }

    /// Checks the feed's [`DateOrder`]s on the valid dates read, except where the later
    /// field already has an error (e.g. the record's own check of the disclosure end).
    fn check_date_order(&mut self, map: &FeedMap) {
        for order in map.date_order {
            if self.errors.iter().any(|e| e.field == order.later) {
                continue;
            }
            let date_of = |field: &str| {
                self.dates
                    .iter()
                    .find(|(s, _)| *s == field)
                    .map(|(_, d)| *d)
            };
            let (Some(earlier), Some(later)) = (date_of(order.earlier), date_of(order.later))
            else {
                continue;
            };
            if later < earlier {
                self.errors.push(FieldError {
                    field: order.later.to_owned(),
                    value: Some(later.to_string()),
                    problem: FieldProblem::DatesOutOfOrder {
                        earlier_field: order.earlier,
                        earlier,
                        later,
                        note: order.note,
                    },
                });
            }
        }
    }

    /// Reads one present value into its target.
    fn read_one(&mut self, table: &MappingTable, m: &FieldMap, source: &'static str, v: &Value) {
        let raw = value::raw(v);
        let result = match m.target.value_type() {
            table::ValueType::Text => value::text(v).map(|s| self.set_text(m, s)),
            table::ValueType::Uscc => value::text(v).and_then(|s| {
                Uscc::parse(&s)
                    .map(|u| self.uscc = Some(u))
                    .map_err(FieldProblem::Uscc)
            }),
            table::ValueType::Date => value::date(v, table.date_formats).map(|d| {
                self.dates.push((source, d));
                self.set_date(m.target, d);
            }),
            table::ValueType::Amount => value::amount(v).map(|a| self.amount = Some(a)),
        };
        // A source field that fills two targets (e.g. a publication date that is also the
        // decision date) is reported once.
        let reported = self.errors.iter().any(|e| e.field == source);
        if let Err(problem) = result
            && !reported
        {
            self.errors.push(FieldError {
                field: source.to_owned(),
                value: Some(raw.clone()),
                problem,
            });
        }
        self.used.push((m.target, source, raw));
    }

    fn set_text(&mut self, m: &FieldMap, text: String) {
        let text = if m.prefix.is_empty() {
            text
        } else {
            format!("{}{text}", m.prefix)
        };
        let slot = match m.target {
            Target::Id => &mut self.id,
            Target::EntityName => &mut self.entity_name,
            Target::ListType => &mut self.list_type,
            Target::Authority => &mut self.authority,
            Target::DocumentNo => &mut self.document_no,
            Target::Sector => &mut self.sector,
            Target::PenaltyType => &mut self.penalty_type,
            Target::Grade => &mut self.grade,
            Target::LegalBasis => &mut self.legal_basis,
            Target::Description => &mut self.description,
            Target::EventType => &mut self.event_type,
            Target::EventNote => &mut self.event_note,
            // Not text targets: `value_type` never sends them here.
            Target::Uscc
            | Target::DecidedOn
            | Target::PublishedOn
            | Target::DisclosureUntil
            | Target::ValidUntil
            | Target::Amount
            | Target::EventDate => return,
        };
        *slot = Some(text);
    }

    fn set_date(&mut self, target: Target, date: NaiveDate) {
        match target {
            Target::DecidedOn => self.decided_on = Some(date),
            Target::PublishedOn => self.published_on = Some(date),
            Target::DisclosureUntil => self.disclosure_until = Some(date),
            Target::ValidUntil => self.valid_until = Some(date),
            Target::EventDate => self.event_date = Some(date),
            _ => {}
        }
    }

    /// The source field and raw value that filled a target.
    fn source_of(&self, target: Target) -> Option<(&'static str, &str)> {
        self.used
            .iter()
            .find(|(t, _, _)| *t == target)
            .map(|(_, s, raw)| (*s, raw.as_str()))
    }

    /// Adds an error about the value that filled `target`.
    fn reject(&mut self, target: Target, problem: FieldProblem) {
        let (field, value) = match self.source_of(target) {
            Some((s, raw)) => (s.to_owned(), Some(raw.to_owned())),
            None => (target.record_field().to_owned(), None),
        };
        self.errors.push(FieldError {
            field,
            value,
            problem,
        });
    }

    fn into_event(
        mut self,
        table: &MappingTable,
        map: &FeedMap,
    ) -> Result<IntakeItem, Vec<FieldError>> {
        self.check_date_order(map);
        let kind = self
            .event_type
            .as_deref()
            .map(|name| table.event_kind(name));
        if kind == Some(None) {
            let known = table.event_types.iter().map(|e| e.name).collect();
            self.reject(Target::EventType, FieldProblem::UnknownEventType { known });
        }
        let kind = kind.flatten();
        match (self.id, kind, self.event_date) {
            (Some(record_id), Some(kind), Some(date)) if self.errors.is_empty() => {
                Ok(IntakeItem::Event(StatusEvent {
                    record_id,
                    kind,
                    date,
                    authority: self.authority,
                    note: self.event_note,
                }))
            }
            _ => Err(self.errors),
        }
    }

    fn into_record(
        mut self,
        table: &MappingTable,
        map: &FeedMap,
        kind_rule: KindRule,
        severity_rule: SeverityRule,
    ) -> Result<IntakeItem, Vec<FieldError>> {
        let list = match kind_rule {
            KindRule::FromListType => self.list_entry(table),
            KindRule::Fixed(_) => None,
        };
        let kind = match kind_rule {
            KindRule::Fixed(kind) => Some(kind),
            KindRule::FromListType => list.map(|e| e.kind),
        };
        let severity = match severity_rule {
            SeverityRule::Unset => None,
            SeverityRule::Fixed(s) => Some(s),
            SeverityRule::FromPenaltyType => self
                .penalty_type
                .as_deref()
                .and_then(|p| table.severity_of_penalty(p)),
            SeverityRule::FromListType => list.map(|e| e.severity),
        };
        if self.sector.is_none() {
            self.sector = list.and_then(|e| e.sector).map(str::to_owned);
        }
        self.check_grade(table);
        let (Some(kind), Some(decided_on)) = (kind, self.decided_on) else {
            return Err(self.errors);
        };
        // A row with a bad USCC still has its other fields validated; the placeholder is a
        // valid code that never leaves this function.
        let Some(uscc) = self.uscc.clone().or_else(|| Uscc::parse(PLACEHOLDER).ok()) else {
            return Err(self.errors);
        };
        let mut record =
            CreditRecord::new(self.id.clone().unwrap_or_default(), uscc, kind, decided_on);
        record.entity_name = self.entity_name.take();
        record.authority = self.authority.take();
        record.document_no = self.document_no.take();
        record.published_on = self.published_on;
        record.disclosure_until = self.disclosure_until;
        record.valid_until = self.valid_until;
        record.severity = severity;
        record.sector = self.sector.take();
        record.penalty_type = self.penalty_type.take();
        record.amount = self.amount;
        record.grade = self.grade.take();
        record.legal_basis = self.legal_basis.take();
        record.description = self.description.take();
        if let Err(problems) = record.validate() {
            for problem in problems {
                self.record_error(map, problem);
            }
        }
        self.check_date_order(map);
        if self.errors.is_empty() && self.uscc.is_some() && self.id.is_some() {
            Ok(IntakeItem::Record(record))
        } else {
            Err(self.errors)
        }
    }

    /// The list-type entry for the row's 名单类型, or an error.
    fn list_entry<'t>(&mut self, table: &'t MappingTable) -> Option<&'t ListTypeMap> {
        let name = self.list_type.clone()?;
        match table.list_type(&name) {
            Ok(entry) => Some(entry),
            Err(Some(kind)) => {
                self.reject(Target::ListType, FieldProblem::NotAList { kind });
                None
            }
            Err(None) => {
                let known = table.list_type_names();
                self.reject(Target::ListType, FieldProblem::UnknownListType { known });
                None
            }
        }
    }

    /// Normalises the grade to upper case and checks it against the sector's scale.
    fn check_grade(&mut self, table: &MappingTable) {
        let Some(grade) = self.grade.as_mut() else {
            return;
        };
        grade.make_ascii_uppercase();
        let Some(scale) = self.sector.as_deref().and_then(|s| table.grade_scale(s)) else {
            return;
        };
        if !scale.grades.contains(&grade.as_str()) {
            let problem = FieldProblem::GradeOffScale {
                sector: scale.sector.to_owned(),
                grades: scale.grades,
            };
            self.reject(Target::Grade, problem);
        }
    }

    /// Reports a [`RecordError`] in provincial field names, unless the field already has
    /// an error.
    fn record_error(&mut self, map: &FeedMap, problem: RecordError) {
        let target = map
            .fields
            .iter()
            .map(|m| m.target)
            .find(|t| t.record_field() == problem.field());
        let source = target.and_then(|t| {
            self.source_of(t).map(|(s, _)| s).or_else(|| {
                map.fields
                    .iter()
                    .find(|m| m.target == t)
                    .and_then(|m| m.sources.first().copied())
            })
        });
        let field = source.unwrap_or(problem.field());
        if self.errors.iter().any(|e| e.field == field) {
            return;
        }
        let problem = match problem {
            RecordError::DisclosureBeforeDecision {
                decided_on,
                disclosure_until,
            } => FieldProblem::EndBeforeStart {
                start_field: self
                    .source_of(Target::DecidedOn)
                    .map_or("decided_on", |(s, _)| s),
                start: decided_on,
                end: disclosure_until,
            },
            RecordError::PublishedBeforeDecision {
                decided_on,
                published_on: date,
            }
            | RecordError::ValidUntilBeforeDecision {
                decided_on,
                valid_until: date,
            } => FieldProblem::DateBeforeDecision {
                label: target.map_or("date", Target::label),
                start_field: self
                    .source_of(Target::DecidedOn)
                    .map_or("decided_on", |(s, _)| s),
                start: decided_on,
                date,
            },
            other => FieldProblem::Record(other),
        };
        let value = target
            .and_then(|t| self.source_of(t))
            .map(|(_, raw)| raw.to_owned());
        self.errors.push(FieldError {
            field: field.to_owned(),
            value,
            problem,
        });
    }
}

/// A valid 统一社会信用代码 (a GB 32100 test vector) used only to validate the other fields
/// of a row whose own code is invalid.
const PLACEHOLDER: &str = "9135021359498494XQ";

#[cfg(test)]
mod tests;
