//! The keyword forms of each dialect, as the formatter prints them.

use crate::ast::{
    Aggregate, BinaryOp, ClauseKind, Dialect, Duration, DurationUnit, RoundMode, RoundingPolicy,
    ScalarFn,
};

/// The keyword forms of one dialect.
pub(super) struct Words {
    pub(super) ruleset: &'static str,
    pub(super) title: &'static str,
    pub(super) sector: &'static str,
    pub(super) version: &'static str,
    pub(super) effective: &'static str,
    pub(super) unit: &'static str,
    pub(super) basis: &'static str,
    pub(super) extends: &'static str,
    pub(super) total: &'static str,
    pub(super) note: &'static str,
    pub(super) query_channel: &'static str,
    pub(super) query_day: &'static str,
    pub(super) query_evidence: &'static str,
    pub(super) commitment: &'static str,
    pub(super) allow: &'static str,
    pub(super) because: &'static str,
    pub(super) const_: &'static str,
    pub(super) define: &'static str,
    pub(super) let_: &'static str,
    pub(super) remove: &'static str,
    pub(super) veto: &'static str,
    pub(super) score: &'static str,
    pub(super) flag: &'static str,
    pub(super) mandatory: &'static str,
    pub(super) wording: &'static str,
    pub(super) when: &'static str,
    pub(super) points: &'static str,
    pub(super) weight: &'static str,
    pub(super) cap: &'static str,
    pub(super) floor: &'static str,
    pub(super) test: &'static str,
    pub(super) as_of: &'static str,
    pub(super) record: &'static str,
    pub(super) context: &'static str,
    pub(super) expect: &'static str,
    pub(super) eligible: &'static str,
    pub(super) disqualified: &'static str,
    pub(super) and: &'static str,
    pub(super) or: &'static str,
    pub(super) not: &'static str,
    pub(super) in_: &'static str,
    pub(super) contains: &'static str,
    pub(super) fns: FnWords,
    pub(super) if_: &'static str,
    pub(super) then: &'static str,
    pub(super) else_: &'static str,
    pub(super) otherwise: &'static str,
    pub(super) records: &'static str,
    pub(super) where_: &'static str,
    pub(super) within: &'static str,
    pub(super) table: &'static str,
    pub(super) table_else: &'static str,
    pub(super) count: &'static str,
    pub(super) any: &'static str,
    pub(super) none: &'static str,
    pub(super) sum: &'static str,
    pub(super) max: &'static str,
    pub(super) min: &'static str,
    pub(super) latest: &'static str,
    pub(super) true_: &'static str,
    pub(super) false_: &'static str,
    /// Duration units as `[one, many]`.
    pub(super) years: [&'static str; 2],
    pub(super) months: [&'static str; 2],
    pub(super) days: [&'static str; 2],
}

pub(super) const ENGLISH: Words = Words {
    ruleset: "ruleset",
    title: "title",
    sector: "sector",
    version: "version",
    effective: "effective",
    unit: "unit",
    basis: "basis",
    extends: "extends",
    total: "total",
    note: "note",
    query_channel: "query_channel",
    query_day: "query_day",
    query_evidence: "query_evidence",
    commitment: "commitment",
    allow: "allow",
    because: "because",
    const_: "const",
    define: "define",
    let_: "let",
    remove: "remove",
    veto: "veto",
    score: "score",
    flag: "flag",
    mandatory: "mandatory",
    wording: "wording",
    when: "when",
    points: "points",
    weight: "weight",
    cap: "cap",
    floor: "floor",
    test: "test",
    as_of: "as_of",
    record: "record",
    context: "context",
    expect: "expect",
    eligible: "eligible",
    disqualified: "disqualified",
    and: "and",
    or: "or",
    not: "not",
    in_: "in",
    contains: "contains",
    fns: FnWords {
        clamp: "clamp",
        round: "round",
        half_up: "half_up",
        half_even: "half_even",
        rounding: "rounding",
        per_clause: "per_clause",
        on_total: "on_total",
        count_distinct: "count distinct",
    },
    if_: "if",
    then: "then",
    else_: "else",
    otherwise: "otherwise",
    records: "records",
    where_: "where",
    within: "within",
    table: "table",
    table_else: "otherwise",
    count: "count",
    any: "any",
    none: "none",
    sum: "sum",
    max: "max",
    min: "min",
    latest: "latest",
    true_: "true",
    false_: "false",
    years: ["year", "years"],
    months: ["month", "months"],
    days: ["day", "days"],
};

pub(super) const CHINESE: Words = Words {
    ruleset: "规则集",
    title: "标题",
    sector: "行业",
    version: "版本",
    effective: "生效日期",
    unit: "责任单位",
    basis: "依据",
    extends: "继承",
    total: "总分",
    note: "备注",
    query_channel: "查询渠道",
    query_day: "查询时点",
    query_evidence: "查询留存",
    commitment: "信用承诺",
    allow: "允许",
    because: "理由",
    const_: "常量",
    define: "定义",
    let_: "设",
    remove: "删除",
    veto: "否决",
    score: "评分",
    flag: "提示",
    mandatory: "强制",
    wording: "表述",
    when: "条件",
    points: "得分",
    weight: "权重",
    cap: "上限",
    floor: "下限",
    test: "测试",
    as_of: "评价日期",
    record: "记录",
    context: "项目",
    expect: "预期",
    eligible: "合格",
    disqualified: "不合格",
    and: "且",
    or: "或",
    not: "非",
    in_: "属于",
    contains: "包含",
    fns: FnWords {
        clamp: "限定",
        round: "舍入",
        half_up: "四舍五入",
        half_even: "银行家舍入",
        rounding: "计分舍入",
        per_clause: "逐条",
        on_total: "按总分",
        count_distinct: "计数 不同",
    },
    if_: "如果",
    then: "则",
    else_: "否则",
    otherwise: "默认",
    records: "记录",
    where_: "满足",
    within: "近",
    table: "对照",
    table_else: "其他",
    count: "计数",
    any: "存在",
    none: "不存在",
    sum: "合计",
    max: "最大",
    min: "最小",
    latest: "最近",
    true_: "是",
    false_: "否",
    years: ["年", "年"],
    months: ["个月", "个月"],
    days: ["日", "日"],
};

impl Words {
    pub(super) fn of(dialect: Dialect) -> &'static Words {
        match dialect {
            Dialect::English => &ENGLISH,
            Dialect::Chinese => &CHINESE,
        }
    }

    pub(super) fn clause_kind(&self, kind: ClauseKind) -> &'static str {
        match kind {
            ClauseKind::Veto => self.veto,
            ClauseKind::Score => self.score,
            ClauseKind::Flag => self.flag,
        }
    }

    pub(super) fn boolean(&self, value: bool) -> &'static str {
        if value { self.true_ } else { self.false_ }
    }

    pub(super) fn binary(&self, op: BinaryOp) -> &'static str {
        match op {
            BinaryOp::Otherwise => self.otherwise,
            BinaryOp::Or => self.or,
            BinaryOp::And => self.and,
            BinaryOp::In => self.in_,
            BinaryOp::Contains => self.contains,
            other => other.symbol(),
        }
    }

    pub(super) fn aggregate(&self, func: Aggregate) -> &'static str {
        match func {
            Aggregate::Count => self.count,
            Aggregate::Any => self.any,
            Aggregate::None => self.none,
            Aggregate::Sum => self.sum,
            Aggregate::Max => self.max,
            Aggregate::Min => self.min,
            Aggregate::Latest => self.latest,
            Aggregate::CountDistinct => self.fns.count_distinct,
        }
    }

    /// The name of a scalar function (`min` and `max` are spelt like the aggregates).
    pub(super) fn scalar(&self, func: ScalarFn) -> &'static str {
        match func {
            ScalarFn::Min => self.min,
            ScalarFn::Max => self.max,
            ScalarFn::Clamp => self.fns.clamp,
            ScalarFn::Round(_) => self.fns.round,
        }
    }

    /// `3 years`, `1 year`, `12 个月`.
    pub(super) fn duration(&self, d: Duration) -> String {
        let [one, many] = match d.unit {
            DurationUnit::Years => self.years,
            DurationUnit::Months => self.months,
            DurationUnit::Days => self.days,
        };
        let unit = if d.amount == 1 { one } else { many };
        format!("{} {unit}", d.amount)
    }
}

/// The words of the scalar functions and of the header's rounding policy.
pub(super) struct FnWords {
    pub(super) clamp: &'static str,
    pub(super) round: &'static str,
    pub(super) half_up: &'static str,
    pub(super) half_even: &'static str,
    pub(super) rounding: &'static str,
    pub(super) per_clause: &'static str,
    pub(super) on_total: &'static str,
    pub(super) count_distinct: &'static str,
}

impl FnWords {
    pub(super) fn mode(&self, mode: RoundMode) -> &'static str {
        match mode {
            RoundMode::HalfUp => self.half_up,
            RoundMode::HalfEven => self.half_even,
        }
    }

    /// `per_clause 2 half_up`: what follows `rounding` (the places always written).
    pub(super) fn policy(&self, p: &RoundingPolicy) -> String {
        let scope = if p.per_clause {
            self.per_clause
        } else {
            self.on_total
        };
        format!("{scope} {} {}", p.places, self.mode(p.mode))
    }
}
