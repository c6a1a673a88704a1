//! The reviewers' text form of a diff: bilingual headings (中文 English),
//! one section per kind of change, and under each changed clause what
//! changed followed by a unified diff of its canonical text.

use super::{
    Aspect, AspectChange, AspectValue, Change, ClauseChange, ClauseEntry, ConstantChange,
    HeaderChange, HeaderField, RuleSetDiff, VersionSummary,
};
use crate::ast::ClauseKind;
use std::fmt::Write as _;
use unicode_width::UnicodeWidthStr;

/// Indentation of the lines under an entry.
const BODY: &str = "      ";

pub(super) fn render(diff: &RuleSetDiff) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "规则集差异 rule-set diff");
    version_line(&mut out, "旧版本 old", &diff.old);
    version_line(&mut out, "新版本 new", &diff.new);
    if diff.is_empty() {
        out.push_str(
            "\n无差异 no differences: the two versions mean the same \
             (layout, comments, clause order and keyword language aside)\n",
        );
        return out;
    }
    header_section(&mut out, &diff.header);
    constants_section(&mut out, &diff.constants);
    added_section(&mut out, &diff.clauses.added);
    removed_section(&mut out, diff);
    changed_section(&mut out, &diff.clauses.changed);
    tests_section(&mut out, diff);
    summary(&mut out, diff);
    out
}

fn version_line(out: &mut String, label: &str, v: &VersionSummary) {
    let chain: Vec<String> = v
        .chain
        .iter()
        .map(|link| format!("{} {}", link.id, link.version))
        .collect();
    let _ = writeln!(
        out,
        "  {label}: {} {}  (继承链 chain: {}; hash {})",
        v.id,
        v.version,
        chain.join(" → "),
        v.hash.get(..12).unwrap_or(&v.hash)
    );
}

fn heading(out: &mut String, title: &str, count: usize) {
    let _ = writeln!(out, "\n{title} ({count})");
}

fn header_section(out: &mut String, changes: &[HeaderChange]) {
    if changes.is_empty() {
        return;
    }
    heading(out, "表头 header", changes.len());
    for c in changes {
        let _ = writeln!(
            out,
            "  ~ {}{} {}: {} → {}",
            c.ruleset,
            if c.inherited {
                " 〔继承 inherited〕"
            } else {
                ""
            },
            header_label(c.field),
            shown(c.old.as_deref()),
            shown(c.new.as_deref())
        );
    }
}

fn header_label(field: HeaderField) -> &'static str {
    match field {
        HeaderField::Id => "标识 id",
        HeaderField::Title => "标题 title",
        HeaderField::Sector => "行业 sector",
        HeaderField::Version => "版本 version",
        HeaderField::Effective => "生效日期 effective",
        HeaderField::Unit => "责任单位 unit",
        HeaderField::Basis => "依据 basis",
        HeaderField::Extends => "继承 extends",
        HeaderField::Total => "总分 total",
        HeaderField::Rounding => "计分舍入 rounding",
        HeaderField::QueryChannels => "查询渠道 query_channel",
        HeaderField::QueryDay => "查询时点 query_day",
        HeaderField::QueryEvidence => "查询留存 query_evidence",
        HeaderField::Commitment => "信用承诺 commitment",
        HeaderField::Allowances => "允许 allow（合法性提示的书面理由 accepted legality warnings）",
        HeaderField::Note => "备注 note（不印出 never printed）",
    }
}

fn constants_section(out: &mut String, changes: &[ConstantChange]) {
    if changes.is_empty() {
        return;
    }
    heading(out, "常量 constants", changes.len());
    for c in changes {
        let origin = origin_tag(&c.origin, c.inherited);
        let value = match c.change {
            Change::Added => format!(" = {}", shown(c.new.as_deref())),
            Change::Removed => format!(" = {}", shown(c.old.as_deref())),
            Change::Changed => format!(
                ": {} → {}",
                shown(c.old.as_deref()),
                shown(c.new.as_deref())
            ),
        };
        let what = if c.definition {
            "定义 definition "
        } else {
            ""
        };
        let _ = writeln!(out, "  {} {what}{} {origin}{value}", sign(c.change), c.name);
        if !c.used_by.is_empty() {
            let _ = writeln!(out, "{BODY}用于 used by: {}", c.used_by.join(", "));
        }
    }
}

fn added_section(out: &mut String, added: &[ClauseEntry]) {
    if added.is_empty() {
        return;
    }
    heading(out, "新增条款 added clauses", added.len());
    for c in added {
        let _ = writeln!(out, "  + {}", clause_title(c));
        indented(out, &c.text);
    }
}

fn removed_section(out: &mut String, diff: &RuleSetDiff) {
    let removed = &diff.clauses.removed;
    if removed.is_empty() {
        return;
    }
    heading(out, "删除条款 removed clauses", removed.len());
    for r in removed {
        let _ = writeln!(out, "  - {}", clause_title(&r.clause));
        if let Some(by) = &r.removed_by {
            let _ = writeln!(
                out,
                "{BODY}由 {by} 的 remove 删除 (removed by `remove` in {by})"
            );
        }
        indented(out, &r.clause.text);
    }
}

fn changed_section(out: &mut String, changed: &[ClauseChange]) {
    if changed.is_empty() {
        return;
    }
    heading(out, "修改条款 changed clauses", changed.len());
    for c in changed {
        let _ = writeln!(
            out,
            "  ~ {} {} {}",
            kind_label(c.kind),
            c.id,
            origin_tag(&c.origin, c.inherited)
        );
        for aspect in &c.aspects {
            aspect_lines(out, aspect);
        }
        if !c.constants.is_empty() {
            let _ = writeln!(
                out,
                "{BODY}经由常量 via constants: {}",
                c.constants.join(", ")
            );
        }
        match &c.text_diff {
            Some(text) => indented(out, text),
            None => {
                let _ = writeln!(out, "{BODY}(条款文本未变 clause text unchanged)");
            }
        }
    }
}

/// Short values on one line; expressions and sentences as old/new lines.
fn aspect_lines(out: &mut String, a: &AspectChange) {
    let label = aspect_label(a.aspect);
    let long = matches!(
        a.aspect,
        Aspect::Wording | Aspect::Basis | Aspect::Note | Aspect::Condition | Aspect::Points
    );
    if !long {
        let _ = writeln!(
            out,
            "{BODY}{label}: {} → {}",
            value(a.aspect, a.old.as_ref()),
            value(a.aspect, a.new.as_ref())
        );
        return;
    }
    if a.old == a.new {
        // Same text, different resolved meaning: a constant it uses changed.
        let _ = writeln!(
            out,
            "{BODY}{label}: 文本未变，含义因常量而变 (same text, meaning changed through a constant)"
        );
        return;
    }
    let _ = writeln!(out, "{BODY}{label}:");
    for (side, v) in [("旧 old", &a.old), ("新 new", &a.new)] {
        let shown = value(a.aspect, v.as_ref());
        let continued = format!("\n{BODY}{}", " ".repeat(side.width() + 4));
        let _ = writeln!(out, "{BODY}  {side}: {}", shown.replace('\n', &continued));
    }
}

fn aspect_label(aspect: Aspect) -> &'static str {
    match aspect {
        Aspect::Kind => "类型 kind",
        Aspect::Mandatory => "强制 mandatory",
        Aspect::Origin => "来源 origin",
        Aspect::Wording => "表述 wording",
        Aspect::Basis => "依据 basis",
        Aspect::Note => "备注 note（不印出 never printed）",
        Aspect::Condition => "条件 condition",
        Aspect::Points => "得分 points",
        Aspect::Windows => "时间范围 windows",
        Aspect::Cap => "上限 cap",
        Aspect::Floor => "下限 floor",
        Aspect::Weight => "权重 weight",
    }
}

fn value(aspect: Aspect, v: Option<&AspectValue>) -> String {
    match v {
        None => "（无 none）".to_string(),
        Some(AspectValue::Flag(true)) => "是 yes".to_string(),
        Some(AspectValue::Flag(false)) => "否 no".to_string(),
        Some(AspectValue::List(items)) if items.is_empty() => "（无 none）".to_string(),
        Some(AspectValue::List(items)) => items
            .iter()
            .map(|w| format!("{} ({w})", chinese_window(w)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(AspectValue::Text(t)) if aspect == Aspect::Kind => kind_word(t).to_string(),
        Some(AspectValue::Text(t)) => t.clone(),
    }
}

/// `3 years` → `近3年`, as policy staff say it.
fn chinese_window(window: &str) -> String {
    let (amount, unit) = window.split_once(' ').unwrap_or((window, ""));
    let unit = match unit {
        "year" | "years" => "年",
        "month" | "months" => "个月",
        _ => "日",
    };
    format!("近{amount}{unit}")
}

fn kind_word(keyword: &str) -> &str {
    match keyword {
        "veto" => "否决 veto",
        "score" => "评分 score",
        "flag" => "提示 flag",
        other => other,
    }
}

fn kind_label(kind: ClauseKind) -> &'static str {
    match kind {
        ClauseKind::Veto => "否决 veto",
        ClauseKind::Score => "评分 score",
        ClauseKind::Flag => "提示 flag",
    }
}

fn clause_title(c: &ClauseEntry) -> String {
    format!(
        "{}{} {} {}",
        kind_label(c.kind),
        if c.mandatory { " 强制 mandatory" } else { "" },
        c.id,
        origin_tag(&c.origin, c.inherited)
    )
}

fn origin_tag(origin: &str, inherited: bool) -> String {
    if inherited {
        format!("〔继承自 inherited from {origin}〕")
    } else {
        format!("〔{origin}〕")
    }
}

fn sign(change: Change) -> char {
    match change {
        Change::Added => '+',
        Change::Removed => '-',
        Change::Changed => '~',
    }
}

fn shown(v: Option<&str>) -> String {
    v.map_or_else(|| "（无 none）".to_string(), str::to_string)
}

fn indented(out: &mut String, text: &str) {
    for line in text.lines() {
        if line.is_empty() {
            out.push('\n');
        } else {
            let _ = writeln!(out, "{BODY}{line}");
        }
    }
}

fn tests_section(out: &mut String, diff: &RuleSetDiff) {
    let t = &diff.tests;
    let count = t.added.len() + t.removed.len() + t.changed.len();
    if count == 0 {
        return;
    }
    heading(out, "测试 tests", count);
    let groups = [('+', &t.added), ('-', &t.removed), ('~', &t.changed)];
    for (mark, names) in groups {
        for name in names {
            let _ = writeln!(out, "  {mark} {name:?}");
        }
    }
}

fn summary(out: &mut String, diff: &RuleSetDiff) {
    let t = &diff.tests;
    let _ = writeln!(
        out,
        "\n小结 summary: header ~{}, constants {}, clauses +{} -{} ~{}, tests +{} -{} ~{}",
        diff.header.len(),
        diff.constants.len(),
        diff.clauses.added.len(),
        diff.clauses.removed.len(),
        diff.clauses.changed.len(),
        t.added.len(),
        t.removed.len(),
        t.changed.len()
    );
}
