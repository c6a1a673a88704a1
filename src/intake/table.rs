//! Defines the mapping table: which provincial field fills which record field, how kinds and
//! severities are classified, and which list types, event types, grade scales and date
//! formats a feed uses.
//!
//! Everything a province can vary lives in one [`MappingTable`] value; [`HUBEI`] is the table
//! for the 湖北省公共信用信息平台 feed in `shared/data/provincial-feed/`. Connecting another
//! province means writing another `MappingTable` constant, not changing the mapping code.
//! [`MappingTable::to_markdown`] renders a table for review.

use std::fmt::Write as _;

use crate::record::{RecordKind, Severity};

use super::{EventKind, FeedKind};

/// A field of the product's record (or of a [`super::StatusEvent`]) that a source field fills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// `id`: the source record id (信息编号); for an event, the id of the record it is about.
    Id,
    /// `uscc`: the entity's 统一社会信用代码, checked with [`crate::record::Uscc::parse`].
    Uscc,
    /// `entity_name`: 主体名称 / 行政相对人名称.
    EntityName,
    /// The list type (名单类型) that decides a list row's kind; see [`ListTypeMap`].
    ListType,
    /// `authority`: the authority that made the determination (认定机关), or an event's authority.
    Authority,
    /// `document_no`: the decision document number (决定文书号).
    DocumentNo,
    /// `decided_on`: the decision date (认定日期); the record counts from this day.
    DecidedOn,
    /// `published_on`: the publication date (公示日期 / 发布日期); the record counts from
    /// this day. A feed without one leaves it out, and the record counts from `decided_on`.
    PublishedOn,
    /// `disclosure_until`: the last day of disclosure (公示截止期), inclusive.
    DisclosureUntil,
    /// `valid_until`: the last day of validity (有效期至), inclusive, e.g. of a credit grade.
    ValidUntil,
    /// `sector`: the sector (行业), e.g. 水利.
    Sector,
    /// `penalty_type`: the penalty category (处罚类别); also decides a penalty's severity.
    PenaltyType,
    /// `amount`: an amount in 万元 (罚款金额).
    Amount,
    /// `grade`: a credit grade (信用等级), checked against [`MappingTable::grade_scales`].
    Grade,
    /// `legal_basis`: the legal basis (处罚依据).
    LegalBasis,
    /// `description`: free text (违法事实, 失信情形 …).
    Description,
    /// An event's type (事件), looked up in [`MappingTable::event_types`].
    EventType,
    /// An event's date.
    EventDate,
    /// An event's free-text note (说明).
    EventNote,
}

/// How a source value is read for a [`Target`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueType {
    /// A string (trimmed) or a number (written out).
    Text,
    /// A 统一社会信用代码.
    Uscc,
    /// A calendar date in one of [`MappingTable::date_formats`].
    Date,
    /// A non-negative decimal in 万元 (a JSON number or a string).
    Amount,
}

impl Target {
    /// The name of the product field this target fills, e.g. `decided_on`.
    pub const fn record_field(self) -> &'static str {
        match self {
            Target::Id => "id",
            Target::Uscc => "uscc",
            Target::EntityName => "entity_name",
            Target::ListType => "kind",
            Target::Authority => "authority",
            Target::DocumentNo => "document_no",
            Target::DecidedOn => "decided_on",
            Target::PublishedOn => "published_on",
            Target::DisclosureUntil => "disclosure_until",
            Target::ValidUntil => "valid_until",
            Target::Sector => "sector",
            Target::PenaltyType => "penalty_type",
            Target::Amount => "amount",
            Target::Grade => "grade",
            Target::LegalBasis => "legal_basis",
            Target::Description => "description",
            Target::EventType => "event kind",
            Target::EventDate => "event date",
            Target::EventNote => "note",
        }
    }

    /// A short Chinese description for error messages, e.g. `决定文书号`.
    pub const fn label(self) -> &'static str {
        match self {
            Target::Id => "信息编号",
            Target::Uscc => "统一社会信用代码",
            Target::EntityName => "主体名称",
            Target::ListType => "名单类型",
            Target::Authority => "认定机关",
            Target::DocumentNo => "决定文书号",
            Target::DecidedOn => "认定日期",
            Target::PublishedOn => "公示日期",
            Target::DisclosureUntil => "公示截止日期",
            Target::ValidUntil => "有效期至",
            Target::Sector => "行业",
            Target::PenaltyType => "处罚类别",
            Target::Amount => "金额(万元)",
            Target::Grade => "信用等级",
            Target::LegalBasis => "依据",
            Target::Description => "说明",
            Target::EventType => "事件类型",
            Target::EventDate => "事件日期",
            Target::EventNote => "事件说明",
        }
    }

    /// How the source value is read.
    pub(crate) const fn value_type(self) -> ValueType {
        match self {
            Target::Uscc => ValueType::Uscc,
            Target::DecidedOn
            | Target::PublishedOn
            | Target::DisclosureUntil
            | Target::ValidUntil
            | Target::EventDate => ValueType::Date,
            Target::Amount => ValueType::Amount,
            Target::Id
            | Target::EntityName
            | Target::ListType
            | Target::Authority
            | Target::DocumentNo
            | Target::Sector
            | Target::PenaltyType
            | Target::Grade
            | Target::LegalBasis
            | Target::Description
            | Target::EventType
            | Target::EventNote => ValueType::Text,
        }
    }
}

/// One row of a feed's field table: which source field(s) fill one [`Target`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldMap {
    /// The product field filled.
    pub target: Target,
    /// Source field names in order of preference: the first one present with a value that is
    /// not `null` and not blank is used (a bad value there is an error; it does not fall
    /// through to the next name).
    pub sources: &'static [&'static str],
    /// Whether a row without any of the sources is rejected.
    pub required: bool,
    /// Text put before a text value, e.g. `评价年度 ` turns `2023` into `评价年度 2023`.
    pub prefix: &'static str,
    /// Why the field is mapped this way (documentation; shown by [`MappingTable::to_markdown`]).
    pub note: &'static str,
}

impl FieldMap {
    /// A required field.
    pub const fn required(
        target: Target,
        sources: &'static [&'static str],
        note: &'static str,
    ) -> FieldMap {
        FieldMap {
            target,
            sources,
            required: true,
            prefix: "",
            note,
        }
    }

    /// An optional field.
    pub const fn optional(
        target: Target,
        sources: &'static [&'static str],
        note: &'static str,
    ) -> FieldMap {
        FieldMap {
            target,
            sources,
            required: false,
            prefix: "",
            note,
        }
    }

    /// The same field with a text prefix.
    pub const fn with_prefix(self, prefix: &'static str) -> FieldMap {
        FieldMap { prefix, ..self }
    }
}

/// How a feed's rows get their [`RecordKind`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KindRule {
    /// Every row of the feed has this kind.
    Fixed(RecordKind),
    /// The [`Target::ListType`] field decides, through [`MappingTable::list_types`].
    FromListType,
}

/// How a feed's rows get their [`Severity`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeverityRule {
    /// No severity (e.g. grades, which are not dishonesty records).
    Unset,
    /// Every row has this severity.
    Fixed(Severity),
    /// From the penalty type through [`MappingTable::penalty_severity`]; `None` when no part
    /// of the penalty type is in that table.
    FromPenaltyType,
    /// From the [`ListTypeMap`] entry that decided the kind.
    FromListType,
}

/// What a feed's rows become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Produces {
    /// A [`crate::record::CreditRecord`].
    Record {
        /// How the kind is decided.
        kind: KindRule,
        /// How the severity is decided.
        severity: SeverityRule,
    },
    /// A [`super::StatusEvent`] (repair or revocation of an earlier record).
    Event,
}

/// An order two date fields of a feed row must respect: `later` is not before `earlier`
/// (the same day is fine). Checked when both are present and valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateOrder {
    /// The source field of the earlier date, e.g. `regDate` (立案时间).
    pub earlier: &'static str,
    /// The source field of the later date, e.g. `publishDate` (发布时间).
    pub later: &'static str,
    /// Why (documentation, and part of the error message).
    pub note: &'static str,
}

/// The mapping of one feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedMap {
    /// The feed.
    pub feed: FeedKind,
    /// File-name stems that name this feed, e.g. `xzcf` for `xzcf.jsonl` or `xzcf-2024.jsonl`.
    pub file_stems: &'static [&'static str],
    /// Source fields typical of this feed; [`MappingTable::detect`] picks the feed with the
    /// most of them present.
    pub detect_keys: &'static [&'static str],
    /// What a row becomes.
    pub produces: Produces,
    /// The field table. Source fields not listed here are ignored. Every source field of a
    /// date target that is present is checked, not only the one used (a court row's
    /// `regDate` is checked even though `publishDate` fills `decided_on`).
    pub fields: &'static [FieldMap],
    /// Orders the row's dates must respect (publication not before filing, disclosure end
    /// not before the decision …).
    pub date_order: &'static [DateOrder],
    /// Documentation of the feed-level rules (kind, severity, disclosure).
    pub note: &'static str,
}

/// One entry of the list-type table: a 名单类型 and the kind, severity and sector it gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListTypeMap {
    /// The exact 名单类型 (after trimming), or `None` to match every name that
    /// [`RecordKind::from_name`] maps to `kind` (its code, label and aliases).
    pub name: Option<&'static str>,
    /// The record kind.
    pub kind: RecordKind,
    /// The severity given to the record.
    pub severity: Severity,
    /// The sector given to the record, if the list is a sector's own.
    pub sector: Option<&'static str>,
    /// Why (documentation).
    pub note: &'static str,
}

/// One entry of the penalty-severity table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PenaltySeverity {
    /// A penalty category (处罚类别) or its beginning, e.g. `吊销` matches `吊销营业执照`.
    pub prefix: &'static str,
    /// The severity it gives.
    pub severity: Severity,
    /// The source of the rule (documentation).
    pub basis: &'static str,
}

/// One entry of the event-type table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventTypeMap {
    /// The event name as the feed sends it (after trimming), e.g. `信用修复`.
    pub name: &'static str,
    /// What it means.
    pub kind: EventKind,
}

/// One sector's grade scale, best grade first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GradeScale {
    /// The sector (评价行业) as the feed sends it.
    pub sector: &'static str,
    /// The grades, best first.
    pub grades: &'static [&'static str],
    /// The source of the scale (documentation).
    pub basis: &'static str,
}

/// A whole province's mapping: every feed, and the lookup tables the rules use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingTable {
    /// The platform this table is for.
    pub name: &'static str,
    /// The feeds, one entry per [`FeedKind`] the platform sends.
    pub feeds: &'static [FeedMap],
    /// 名单类型 → kind, severity, sector. Entries with a `name` are tried first, then the
    /// entries matching by kind. Kinds not in this table are rejected in a list feed.
    pub list_types: &'static [ListTypeMap],
    /// 处罚类别 → severity. The penalty type is split at `、，,；;/` and spaces, and the
    /// most severe matching part wins, so `没收违法所得、罚款` is general.
    pub penalty_severity: &'static [PenaltySeverity],
    /// 事件 → repair or revocation.
    pub event_types: &'static [EventTypeMap],
    /// Grade scales per sector; a grade outside its sector's scale is rejected, and a sector
    /// without a scale accepts any grade.
    pub grade_scales: &'static [GradeScale],
    /// Accepted date formats (chrono `strftime` syntax). A time after the date
    /// (`2023-01-10 00:00:00`, `2023-01-10T08:00`) is ignored.
    pub date_formats: &'static [&'static str],
}

// ---------------------------------------------------------------------------------------------
// The Hubei table
// ---------------------------------------------------------------------------------------------

use Target as T;

const PENALTY_FIELDS: &[FieldMap] = &[
    FieldMap::required(T::Id, &["xxbh"], "信息编号, unique per source"),
    FieldMap::required(T::Uscc, &["cf_xdr_shxym"], "行政相对人统一社会信用代码"),
    FieldMap::optional(T::EntityName, &["cf_xdr_mc"], "行政相对人名称"),
    FieldMap::required(
        T::DocumentNo,
        &["cf_wsh"],
        "行政处罚决定书文号; required by the 双公示 standard",
    ),
    FieldMap::optional(
        T::PenaltyType,
        &["cf_cflb"],
        "处罚类别; also decides the severity (penalty-severity table)",
    ),
    FieldMap::optional(T::Amount, &["cf_nr_fk"], "罚款金额 in 万元; null = no fine"),
    FieldMap::required(T::DecidedOn, &["cf_jdrq"], "处罚决定日期"),
    FieldMap::optional(
        T::DisclosureUntil,
        &["cf_gsjzq"],
        "公示截止期 as the source sends it; absent = none (no firm statutory default: \
         SAMR Order 45 gives 3 months or 3 years, Wuhan Order 272 gives 5 years)",
    ),
    FieldMap::optional(T::Authority, &["cf_cfjg"], "处罚机关"),
    FieldMap::optional(
        T::Description,
        &["cf_sy", "cf_wfxw"],
        "违法事实, else 违法行为类型",
    ),
    FieldMap::optional(T::LegalBasis, &["cf_yj"], "处罚依据"),
];

const COURT_FIELDS: &[FieldMap] = &[
    FieldMap::required(T::Id, &["xxbh"], "信息编号, unique per source"),
    FieldMap::required(T::Uscc, &["cardNum"], "被执行人统一社会信用代码"),
    FieldMap::optional(T::EntityName, &["iname"], "被执行人名称"),
    FieldMap::required(T::DocumentNo, &["caseCode"], "执行案号"),
    FieldMap::optional(T::Authority, &["courtName"], "执行法院"),
    FieldMap::required(
        T::DecidedOn,
        &["publishDate", "regDate"],
        "发布时间 (the day the entity was published as 失信被执行人); \
         立案时间 only when publishDate is absent",
    ),
    FieldMap::optional(
        T::PublishedOn,
        &["publishDate"],
        "发布时间: the record counts from this day (the same day as decided_on when present)",
    ),
    FieldMap::optional(T::Description, &["disruptTypeName"], "失信情形"),
];

const LIST_FIELDS: &[FieldMap] = &[
    FieldMap::required(T::Id, &["xxbh"], "信息编号, unique per source"),
    FieldMap::required(T::Uscc, &["统一社会信用代码"], "主体统一社会信用代码"),
    FieldMap::optional(T::EntityName, &["主体名称"], "主体名称"),
    FieldMap::required(
        T::ListType,
        &["名单类型"],
        "decides kind, severity and sector (list-type table)",
    ),
    FieldMap::required(T::DocumentNo, &["列入决定文书号"], "列入决定文书号"),
    FieldMap::required(T::DecidedOn, &["列入日期"], "列入日期"),
    FieldMap::optional(
        T::DisclosureUntil,
        &["公示截止日期"],
        "absent or null = listed until removed",
    ),
    FieldMap::optional(T::Authority, &["列入机关"], "列入机关"),
];

const GRADE_FIELDS: &[FieldMap] = &[
    FieldMap::required(T::Id, &["xxbh"], "信息编号, unique per source"),
    FieldMap::required(T::Uscc, &["统一社会信用代码"], "主体统一社会信用代码"),
    FieldMap::optional(T::EntityName, &["主体名称"], "主体名称"),
    FieldMap::required(
        T::Sector,
        &["评价行业"],
        "水利 / 公路 / 纳税; decides the grade scale",
    ),
    FieldMap::required(
        T::Grade,
        &["信用等级"],
        "checked against the sector's scale (grade-scale table)",
    ),
    FieldMap::required(
        T::DecidedOn,
        &["发布日期"],
        "发布日期 (the feed sends no separate rating date)",
    ),
    FieldMap::optional(
        T::PublishedOn,
        &["发布日期"],
        "发布日期: the grade counts from its publication",
    ),
    FieldMap::optional(
        T::ValidUntil,
        &["有效期至"],
        "有效期至: the grade counts only through this day (validity, separate from \
         disclosure); absent = no end",
    ),
    FieldMap::optional(T::Authority, &["评价机关"], "评价机关"),
    FieldMap::optional(T::Description, &["评价年度"], "becomes `评价年度 N`")
        .with_prefix("评价年度 "),
];

const EVENT_FIELDS: &[FieldMap] = &[
    FieldMap::required(
        T::Id,
        &["xxbh"],
        "信息编号 of the record the event is about",
    ),
    FieldMap::required(T::EventType, &["事件"], "event-type table"),
    FieldMap::required(
        T::EventDate,
        &["日期"],
        "the day the repair or revocation takes effect",
    ),
    FieldMap::optional(
        T::Authority,
        &["机关"],
        "the authority that repaired or revoked",
    ),
    FieldMap::optional(T::EventNote, &["说明"], "说明"),
];

/// The mapping for the 湖北省公共信用信息平台 feed (`shared/data/provincial-feed/`).
pub const HUBEI: MappingTable = MappingTable {
    name: "湖北省公共信用信息平台",
    feeds: &[
        FeedMap {
            feed: FeedKind::Penalty,
            file_stems: &["xzcf", "penalty", "penalties"],
            detect_keys: &["cf_wsh", "cf_xdr_shxym", "cf_xdr_mc", "cf_cflb", "cf_jdrq"],
            produces: Produces::Record {
                kind: KindRule::Fixed(RecordKind::AdminPenalty),
                severity: SeverityRule::FromPenaltyType,
            },
            fields: PENALTY_FIELDS,
            date_order: &[DateOrder {
                earlier: "cf_jdrq",
                later: "cf_gsjzq",
                note: "disclosure cannot end before the decision",
            }],
            note: "双公示 行政处罚 (XZCF) → ADMIN_PENALTY; severity from 处罚类别; the feed \
                   sends no publication date, so `published_on` is left out and the record \
                   counts from 处罚决定日期 (SAMR Order 45 allows up to 20 working days between \
                   decision and publication)",
        },
        FeedMap {
            feed: FeedKind::Court,
            file_stems: &["court", "zxgk", "sxbzxr"],
            detect_keys: &[
                "caseCode",
                "cardNum",
                "iname",
                "courtName",
                "disruptTypeName",
            ],
            produces: Produces::Record {
                kind: KindRule::Fixed(RecordKind::DishonestDebtor),
                severity: SeverityRule::Fixed(Severity::Serious),
            },
            fields: COURT_FIELDS,
            date_order: &[DateOrder {
                earlier: "regDate",
                later: "publishDate",
                note: "an entity is published as 失信被执行人 only after its case was filed",
            }],
            note: "失信被执行人 → DISHONEST_DEBTOR, serious; no disclosure end: listed until \
                   performed, settled or terminated, which arrives as a repair event",
        },
        FeedMap {
            feed: FeedKind::List,
            file_stems: &["lists", "list", "mdxx"],
            detect_keys: &["名单类型", "列入日期", "列入决定文书号", "列入机关"],
            produces: Produces::Record {
                kind: KindRule::FromListType,
                severity: SeverityRule::FromListType,
            },
            fields: LIST_FIELDS,
            date_order: &[DateOrder {
                earlier: "列入日期",
                later: "公示截止日期",
                note: "disclosure cannot end before the listing",
            }],
            note: "named lists → kind, severity and sector from 名单类型 (list-type table); \
                   the feed sends no publication date, so the record counts from 列入日期",
        },
        FeedMap {
            feed: FeedKind::Grade,
            file_stems: &["grades", "grade", "xypj"],
            detect_keys: &["信用等级", "评价行业", "评价年度", "评价机关"],
            produces: Produces::Record {
                kind: KindRule::Fixed(RecordKind::SectorGrade),
                severity: SeverityRule::Unset,
            },
            fields: GRADE_FIELDS,
            date_order: &[DateOrder {
                earlier: "发布日期",
                later: "有效期至",
                note: "a grade cannot expire before it was published",
            }],
            note: "sector credit grades → SECTOR_GRADE, no severity; counted from 发布日期 \
                   through 有效期至 (validity, not disclosure: the feed sends no disclosure end)",
        },
        FeedMap {
            feed: FeedKind::Event,
            file_stems: &["events", "event"],
            detect_keys: &["事件"],
            produces: Produces::Event,
            fields: EVENT_FIELDS,
            date_order: &[],
            note: "信用修复 / 撤销 of an earlier record, joined by its xxbh",
        },
    ],
    list_types: &[
        ListTypeMap {
            name: Some("建筑市场主体黑名单"),
            kind: RecordKind::Blacklist,
            severity: Severity::Serious,
            sector: Some("城乡建设"),
            note: "the construction sector's own blacklist (武汉市城乡建设局)",
        },
        ListTypeMap {
            name: None,
            kind: RecordKind::Blacklist,
            severity: Severity::Serious,
            sector: None,
            note: "黑名单 / 严重失信主体名单",
        },
        ListTypeMap {
            name: None,
            kind: RecordKind::PrtSerious,
            severity: Severity::Serious,
            sector: None,
            note: "公共资源交易领域严重失信主体",
        },
        ListTypeMap {
            name: None,
            kind: RecordKind::DishonestDebtor,
            severity: Severity::Serious,
            sector: None,
            note: "失信被执行人 sent as a list",
        },
        ListTypeMap {
            name: None,
            kind: RecordKind::TaxMajorViolation,
            severity: Severity::Serious,
            sector: None,
            note: "重大税收违法失信主体",
        },
        ListTypeMap {
            name: None,
            kind: RecordKind::GpSeriousViolation,
            severity: Severity::Serious,
            sector: None,
            note: "政府采购严重违法失信行为记录名单 (政府采购法 Art. 77 ban)",
        },
        ListTypeMap {
            name: None,
            kind: RecordKind::BiddingBan,
            severity: Severity::Serious,
            sector: None,
            note: "取消投标资格",
        },
        ListTypeMap {
            name: None,
            kind: RecordKind::AbnormalOperation,
            severity: Severity::General,
            sector: None,
            note: "经营异常名录 is a warning list, not a 严重失信 list (SAMR moves an entity to \
                   the serious list only after 3 years), so general, not serious",
        },
        ListTypeMap {
            name: None,
            kind: RecordKind::SamrSeriousList,
            severity: Severity::Serious,
            sector: None,
            note: "市场监管 严重违法失信名单",
        },
        ListTypeMap {
            name: None,
            kind: RecordKind::WageArrears,
            severity: Severity::Serious,
            sector: None,
            note: "拖欠农民工工资失信联合惩戒对象名单",
        },
        ListTypeMap {
            name: None,
            kind: RecordKind::BriberyCrime,
            severity: Severity::Serious,
            sector: None,
            note: "行贿犯罪记录",
        },
        ListTypeMap {
            name: None,
            kind: RecordKind::WatchList,
            severity: Severity::General,
            sector: None,
            note: "重点关注名单 is a watch list, not a 严重失信 list",
        },
    ],
    penalty_severity: &[
        PenaltySeverity {
            prefix: "警告",
            severity: Severity::Minor,
            basis: "行政处罚法 Art. 9(1); SAMR Order 45 Art. 2: a warning alone is not published",
        },
        PenaltySeverity {
            prefix: "通报批评",
            severity: Severity::Minor,
            basis: "行政处罚法 Art. 9(1); SAMR Order 45: published 3 months",
        },
        PenaltySeverity {
            prefix: "罚款",
            severity: Severity::General,
            basis: "行政处罚法 Art. 9(2); general whatever the amount (SAMR Order 45 only \
                    shortens disclosure of low fines to 3 months)",
        },
        PenaltySeverity {
            prefix: "没收",
            severity: Severity::General,
            basis: "行政处罚法 Art. 9(2): 没收违法所得、没收非法财物",
        },
        PenaltySeverity {
            prefix: "暂扣",
            severity: Severity::Serious,
            basis: "行政处罚法 Art. 9(3) groups 暂扣许可证件 with 降低资质等级 and 吊销许可证件 \
                    [judgment: SAMR Order 45 does not name it]",
        },
        PenaltySeverity {
            prefix: "降低资质等级",
            severity: Severity::Serious,
            basis: "SAMR Order 45: no early stop of disclosure",
        },
        PenaltySeverity {
            prefix: "吊销",
            severity: Severity::Serious,
            basis: "SAMR Order 45: no early stop of disclosure (吊销许可证件 / 营业执照)",
        },
        PenaltySeverity {
            prefix: "限制开展生产经营活动",
            severity: Severity::Serious,
            basis: "行政处罚法 Art. 9(4); SAMR Order 45: no early stop",
        },
        PenaltySeverity {
            prefix: "责令停产停业",
            severity: Severity::Serious,
            basis: "行政处罚法 Art. 9(4); SAMR Order 45: no early stop",
        },
        PenaltySeverity {
            prefix: "责令关闭",
            severity: Severity::Serious,
            basis: "行政处罚法 Art. 9(4); SAMR Order 45: no early stop",
        },
        PenaltySeverity {
            prefix: "限制从业",
            severity: Severity::Serious,
            basis: "行政处罚法 Art. 9(4); SAMR Order 45: no early stop",
        },
        PenaltySeverity {
            prefix: "行政拘留",
            severity: Severity::Serious,
            basis: "行政处罚法 Art. 9(5)",
        },
    ],
    event_types: &[
        EventTypeMap {
            name: "信用修复",
            kind: EventKind::Repair,
        },
        EventTypeMap {
            name: "修复",
            kind: EventKind::Repair,
        },
        EventTypeMap {
            name: "repair",
            kind: EventKind::Repair,
        },
        EventTypeMap {
            name: "撤销",
            kind: EventKind::Revoke,
        },
        EventTypeMap {
            name: "确认无效",
            kind: EventKind::Revoke,
        },
        EventTypeMap {
            name: "revoke",
            kind: EventKind::Revoke,
        },
    ],
    grade_scales: &[
        GradeScale {
            sector: "水利",
            grades: &["AAA", "AA", "A", "B", "C"],
            basis: "水建设〔2019〕307号",
        },
        GradeScale {
            sector: "公路",
            grades: &["AA", "A", "B", "C", "D"],
            basis: "交公路发〔2009〕733号",
        },
        GradeScale {
            sector: "纳税",
            grades: &["A", "B", "M", "C", "D"],
            basis: "纳税信用管理办法",
        },
    ],
    date_formats: &["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y年%m月%d日"],
};

// ---------------------------------------------------------------------------------------------
// Lookups
// ---------------------------------------------------------------------------------------------

impl MappingTable {
    /// The mapping of one feed, if the platform sends it.
    pub fn feed(&self, feed: FeedKind) -> Option<&FeedMap> {
        self.feeds.iter().find(|f| f.feed == feed)
    }

    /// Which feed a row belongs to: the feed with the most of its
    /// [`FeedMap::detect_keys`] present. `None` when no key is present or two feeds tie.
    pub fn detect(&self, row: &serde_json::Map<String, serde_json::Value>) -> Option<FeedKind> {
        let mut best: Option<(usize, FeedKind)> = None;
        let mut tie = false;
        for feed in self.feeds {
            let hits = feed
                .detect_keys
                .iter()
                .filter(|k| row.contains_key(**k))
                .count();
            match best {
                _ if hits == 0 => {}
                Some((n, _)) if hits < n => {}
                Some((n, _)) if hits == n => tie = true,
                _ => {
                    best = Some((hits, feed.feed));
                    tie = false;
                }
            }
        }
        if tie { None } else { best.map(|(_, f)| f) }
    }

    /// Which feed a file name belongs to, by its stem: the part of the file name before the
    /// first `.`, `-` or `_`, ignoring ASCII case (`xzcf.jsonl`, `XZCF_2024-06.json`).
    pub fn feed_for_file(&self, file_name: &str) -> Option<FeedKind> {
        let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
        let stem = base.split(['.', '-', '_']).next().unwrap_or(base);
        self.feeds
            .iter()
            .find(|f| f.file_stems.iter().any(|s| s.eq_ignore_ascii_case(stem)))
            .map(|f| f.feed)
    }

    /// The severity of a penalty type (处罚类别): the most severe entry of
    /// [`MappingTable::penalty_severity`] that begins one of its parts (split at `、，,；;/`
    /// and white space). `None` when no part is in the table.
    ///
    /// ```
    /// use credit_rules::intake::HUBEI;
    /// use credit_rules::record::Severity;
    /// assert_eq!(HUBEI.severity_of_penalty("没收违法所得、罚款"), Some(Severity::General));
    /// assert_eq!(HUBEI.severity_of_penalty("吊销营业执照"), Some(Severity::Serious));
    /// assert_eq!(HUBEI.severity_of_penalty("其他"), None);
    /// ```
    pub fn severity_of_penalty(&self, penalty_type: &str) -> Option<Severity> {
        penalty_type
            .split(|c: char| "、，,；;/".contains(c) || c.is_whitespace())
            .filter(|part| !part.is_empty())
            .filter_map(|part| {
                self.penalty_severity
                    .iter()
                    .find(|p| part.starts_with(p.prefix))
                    .map(|p| p.severity)
            })
            .max()
    }

    /// The list-type entry for a 名单类型, or why there is none.
    pub(crate) fn list_type(&self, name: &str) -> Result<&ListTypeMap, Option<RecordKind>> {
        let name = name.trim();
        if let Some(entry) = self.list_types.iter().find(|e| e.name == Some(name)) {
            return Ok(entry);
        }
        let kind = RecordKind::from_name(name).ok_or(None)?;
        self.list_types
            .iter()
            .find(|e| e.name.is_none() && e.kind == kind)
            .ok_or(Some(kind))
    }

    /// Example list names for error messages: the named entries, then the labels of the
    /// kinds matched by kind.
    pub(crate) fn list_type_names(&self) -> Vec<&'static str> {
        self.list_types
            .iter()
            .map(|e| e.name.unwrap_or(e.kind.label()))
            .collect()
    }

    /// The event kind of an 事件 name (trimmed, ASCII case ignored).
    pub(crate) fn event_kind(&self, name: &str) -> Option<EventKind> {
        let name = name.trim();
        self.event_types
            .iter()
            .find(|e| e.name.eq_ignore_ascii_case(name))
            .map(|e| e.kind)
    }

    /// The grade scale of a sector, if the table has one.
    pub(crate) fn grade_scale(&self, sector: &str) -> Option<&GradeScale> {
        self.grade_scales.iter().find(|s| s.sector == sector.trim())
    }

    /// Renders the whole table as Markdown, for review and documentation.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("# Mapping table: {}\n", self.name);
        for feed in self.feeds {
            let _ = write!(
                out,
                "\n## {} ({}) — files {}\n\n{}\n\n",
                feed.feed.label(),
                feed.feed.code(),
                feed.file_stems.join(", "),
                feed.note
            );
            if let Produces::Record { kind, severity } = feed.produces {
                let kind = match kind {
                    KindRule::Fixed(k) => format!("`{}`", k.code()),
                    KindRule::FromListType => "from the list type".to_owned(),
                };
                let severity = match severity {
                    SeverityRule::Unset => "none".to_owned(),
                    SeverityRule::Fixed(s) => format!("`{}`", s.code()),
                    SeverityRule::FromPenaltyType => "from the penalty type".to_owned(),
                    SeverityRule::FromListType => "from the list type".to_owned(),
                };
                let _ = writeln!(out, "kind: {kind}; severity: {severity}\n");
            }
            out.push_str("| source field | → field | required | note |\n|---|---|---|---|\n");
            for m in feed.fields {
                let sources: Vec<String> = m.sources.iter().map(|s| format!("`{s}`")).collect();
                let prefix = if m.prefix.is_empty() {
                    String::new()
                } else {
                    format!(" (prefix `{}`)", m.prefix)
                };
                let _ = writeln!(
                    out,
                    "| {} | `{}`{prefix} | {} | {} |",
                    sources.join(" or "),
                    m.target.record_field(),
                    if m.required { "yes" } else { "" },
                    m.note
                );
            }
            for order in feed.date_order {
                let _ = writeln!(
                    out,
                    "\ndate order: `{}` not before `{}` ({})",
                    order.later, order.earlier, order.note
                );
            }
        }
        out.push_str("\n## List types (名单类型)\n\n| 名单类型 | kind | severity | sector | note |\n|---|---|---|---|---|\n");
        for e in self.list_types {
            let name = e.name.map_or_else(
                || format!("any name of {}", e.kind.code()),
                |n| format!("`{n}`"),
            );
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {} | {} |",
                e.kind.code(),
                e.severity.code(),
                e.sector.unwrap_or(""),
                e.note
            );
        }
        out.push_str("\n## Penalty severity (处罚类别)\n\n| begins with | severity | basis |\n|---|---|---|\n");
        for p in self.penalty_severity {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                p.prefix,
                p.severity.code(),
                p.basis
            );
        }
        out.push_str("\n## Event types (事件)\n\n| 事件 | event |\n|---|---|\n");
        for e in self.event_types {
            let _ = writeln!(out, "| `{}` | {} |", e.name, e.kind.code());
        }
        out.push_str(
            "\n## Grade scales\n\n| sector | grades (best first) | basis |\n|---|---|---|\n",
        );
        for s in self.grade_scales {
            let _ = writeln!(
                out,
                "| {} | {} | {} |",
                s.sector,
                s.grades.join(" "),
                s.basis
            );
        }
        let _ = writeln!(out, "\n## Date formats\n\n{}", self.date_formats.join(", "));
        out
    }
}
