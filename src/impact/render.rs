//! The impact report as text for the terminal: bilingual headings, columns aligned by display
//! width (Chinese characters are two columns wide).

use super::{ClauseChange, ClauseState, ClauseStatus, ImpactReport, VersionInfo};
use crate::ast::ClauseKind;
use crate::eval::Decision;
use std::fmt::Write as _;
use unicode_width::UnicodeWidthStr;

/// Width of the longest histogram bar, in characters.
const BAR_WIDTH: u64 = 40;

/// Renders a report for reading in a terminal.
pub fn render_text(report: &ImpactReport) -> String {
    let mut out = String::new();
    header(&mut out, report);
    counts(&mut out, report);
    decisions(&mut out, report);
    score_delta(&mut out, report);
    clauses(&mut out, report);
    top(&mut out, report);
    out
}

/// `text` padded with spaces to `width` display columns.
fn pad(text: &str, width: usize) -> String {
    let shown = UnicodeWidthStr::width(text);
    format!("{text}{}", " ".repeat(width.saturating_sub(shown)))
}

fn short_hash(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

fn version_line(info: &VersionInfo) -> String {
    format!(
        "{} {} (hash {}, chain {})",
        info.ruleset,
        info.version,
        short_hash(&info.hash),
        info.chain.join(" → ")
    )
}

fn header(out: &mut String, report: &ImpactReport) {
    let _ = writeln!(out, "影响分析 Impact of a rule change");
    let _ = writeln!(
        out,
        "  {}{}",
        pad("原版本 old", 16),
        version_line(&report.old)
    );
    let _ = writeln!(
        out,
        "  {}{}",
        pad("新版本 new", 16),
        version_line(&report.new)
    );
    let _ = writeln!(out, "  {}{}", pad("评价日 as of", 16), report.as_of);
}

fn counts(out: &mut String, report: &ImpactReport) {
    let c = &report.counts;
    let rows: [(&str, u64, &str); 9] = [
        (
            "资格取消 newly disqualified",
            c.newly_disqualified,
            "合格 → 不合格",
        ),
        (
            "资格恢复 newly qualified",
            c.newly_qualified,
            "不合格 → 合格",
        ),
        (
            "结论变化 decision changed",
            c.decision_changed,
            "to or from 需人工复核 review",
        ),
        ("分数变化 score changed", c.score_changed, "same decision"),
        (
            "条款变化 clauses changed",
            c.clauses_changed,
            "same decision and total",
        ),
        ("未变化 unchanged", c.unchanged, ""),
        ("新增提示 newly flagged", c.newly_flagged, ""),
        ("不再提示 no longer flagged", c.no_longer_flagged, ""),
        (
            "无记录 without records",
            c.without_records,
            "evaluated with no records",
        ),
    ];
    let _ = writeln!(out, "\n评价主体 Entities evaluated: {}", c.evaluated);
    for (label, count, note) in rows {
        let note = if note.is_empty() {
            String::new()
        } else {
            format!("  ({note})")
        };
        let _ = writeln!(out, "  {}{count:>10}{note}", pad(label, 30));
    }
}

fn decisions(out: &mut String, report: &ImpactReport) {
    let (old, new) = (&report.decisions.old, &report.decisions.new);
    let _ = writeln!(
        out,
        "\n{}{:>10}{:>10}",
        pad("结论 Decisions", 32),
        "原 old",
        "新 new"
    );
    let rows = [
        (Decision::Eligible, old.eligible, new.eligible),
        (Decision::Disqualified, old.disqualified, new.disqualified),
        (Decision::Review, old.review, new.review),
    ];
    for (decision, before, after) in rows {
        let label = format!("{} {}", decision.label(), decision_code(decision));
        let _ = writeln!(out, "  {}{before:>10}{after:>10}", pad(&label, 30));
    }
}

fn decision_code(decision: Decision) -> &'static str {
    match decision {
        Decision::Eligible => "eligible",
        Decision::Disqualified => "disqualified",
        Decision::Review => "review",
    }
}

fn score_delta(out: &mut String, report: &ImpactReport) {
    let d = &report.score_delta;
    let _ = writeln!(
        out,
        "\n分差分布 Score delta (new − old) of the {} entities eligible under both; {} changed",
        d.entities, d.changed
    );
    let shown = |v: Option<rust_decimal::Decimal>| v.map_or("–".to_string(), |v| v.to_string());
    let _ = writeln!(
        out,
        "  min {}  max {}  mean {}  sum {}",
        shown(d.min),
        shown(d.max),
        shown(d.mean),
        d.sum
    );
    let widest = d.histogram.iter().map(|b| b.count).max().unwrap_or(0);
    for bucket in &d.histogram {
        let bar = if widest == 0 {
            0
        } else {
            // Any non-empty bucket gets at least one mark.
            (bucket.count * BAR_WIDTH).div_ceil(widest)
        };
        let line = format!(
            "  {}{:>10}  {}",
            pad(bucket.range, 12),
            bucket.count,
            "#".repeat(bar as usize)
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn clauses(out: &mut String, report: &ImpactReport) {
    let _ = writeln!(
        out,
        "\n条款 Clauses{}{:>10}{:>8}{:>8}{:>12}",
        " ".repeat(30),
        "changed",
        "+fired",
        "-fired",
        "points Δ"
    );
    for c in &report.clauses {
        let status = match c.status {
            ClauseStatus::Both => "",
            ClauseStatus::Added => " [新增 added]",
            ClauseStatus::Removed => " [删除 removed]",
        };
        let kind = c.new_kind.or(c.old_kind).map_or("", ClauseKind::keyword);
        let kind_changed = match (c.old_kind, c.new_kind) {
            (Some(a), Some(b)) if a != b => format!(" [{} → {}]", a.keyword(), b.keyword()),
            _ => String::new(),
        };
        let label = format!("{kind} {}{status}{kind_changed}", c.clause);
        let _ = writeln!(
            out,
            "  {}{:>10}{:>8}{:>8}{:>12}",
            pad(&label, 40),
            c.entities_changed,
            c.newly_fired,
            c.no_longer_fired,
            c.points_delta
        );
    }
}

fn top(out: &mut String, report: &ImpactReport) {
    let _ = writeln!(
        out,
        "\n变化最大的主体 Most changed entities: {} of at most {} (decision changes first, then |Δ|, then USCC)",
        report.top.len(),
        report.top_limit
    );
    for (rank, entity) in report.top.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {:>3}. {}  {} → {}  {} → {} (Δ {})  {}",
            rank + 1,
            entity.uscc,
            entity.old.decision.label(),
            entity.new.decision.label(),
            entity.old.total,
            entity.new.total,
            entity.delta,
            entity.change.label()
        );
        for change in &entity.clauses {
            let _ = writeln!(out, "         {}", clause_change(change));
        }
    }
}

fn clause_change(change: &ClauseChange) -> String {
    format!(
        "{}: {} → {}",
        change.clause,
        clause_state(change.old.as_ref()),
        clause_state(change.new.as_ref())
    )
}

fn clause_state(state: Option<&ClauseState>) -> String {
    let Some(state) = state else {
        return "(无 absent)".to_string();
    };
    let kind = state.kind.keyword();
    if let Some(error) = &state.error {
        return format!("{kind} 无法计算 failed ({error})");
    }
    match state.kind {
        ClauseKind::Score => match state.points {
            Some(points) => format!("{kind} {points} 分"),
            None => format!("{kind} –"),
        },
        ClauseKind::Veto | ClauseKind::Flag if state.fired => format!("{kind} 触发 fired"),
        ClauseKind::Veto | ClauseKind::Flag => format!("{kind} 未触发 not fired"),
    }
}
