//! Page models of the review pages: the draft queue, one draft with its history, its
//! semantic diff side by side under Chinese headings, and its impact with the score-change
//! histogram drawn as an SVG chart on the server (no script needed to read a review).

use super::pages::ConsoleLayout;
use crate::diff::{Aspect, AspectValue, HeaderField, RuleSetDiff};
use crate::impact::ImpactReport;
use crate::store::{Draft, DraftStatus, ReviewAction, ReviewEvent};
use askama::Template;
use chrono::{DateTime, Utc};

/// A time as staff read it: Beijing time to the minute.
pub fn beijing(time: DateTime<Utc>) -> String {
    time.with_timezone(&crate::review::shanghai())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The CSS class of a draft status badge.
pub fn status_class(status: DraftStatus) -> &'static str {
    match status {
        DraftStatus::Pending => "pending",
        DraftStatus::Approved | DraftStatus::Active => "active",
        DraftStatus::Rejected | DraftStatus::Stale => "rejected",
        DraftStatus::Withdrawn => "",
    }
}

/// One row of the draft queue.
#[derive(Debug, Clone)]
pub struct DraftRow {
    /// Draft id.
    pub id: u64,
    /// Rule set.
    pub ruleset: String,
    /// Sector.
    pub sector: String,
    /// Author's name.
    pub author: String,
    /// Submission time.
    pub submitted: String,
    /// Status in Chinese.
    pub status: &'static str,
    /// Its badge class.
    pub status_class: &'static str,
    /// The submission message.
    pub message: String,
}

impl DraftRow {
    /// The row of a draft.
    pub fn of(draft: &Draft) -> DraftRow {
        DraftRow {
            id: draft.id,
            ruleset: draft.ruleset_id.clone(),
            sector: draft.sector.clone().unwrap_or_else(|| "—".into()),
            author: draft.author.name.clone(),
            submitted: beijing(draft.submitted_at),
            status: draft.status.label(),
            status_class: status_class(draft.status),
            message: draft.message.clone(),
        }
    }
}

/// `/console/drafts`: pending drafts first, then the others.
#[derive(Template)]
#[template(path = "console/drafts.html")]
pub struct DraftsPage {
    /// Layout.
    pub layout: ConsoleLayout,
    /// Drafts waiting for review.
    pub pending: Vec<DraftRow>,
    /// Every other draft, newest first.
    pub others: Vec<DraftRow>,
    /// Whether the viewer may decide (the city office).
    pub reviewer: bool,
}

/// An event of a draft's history.
#[derive(Debug, Clone)]
pub struct EventRow {
    /// When.
    pub time: String,
    /// Who.
    pub actor: String,
    /// What, in Chinese.
    pub action: &'static str,
    /// The comment.
    pub comment: String,
    /// The activation day, if any.
    pub activate_on: String,
}

/// An action in Chinese.
pub fn action_label(action: ReviewAction) -> &'static str {
    match action {
        ReviewAction::Submitted => "提交",
        ReviewAction::Approved => "批准",
        ReviewAction::Rejected => "驳回",
        ReviewAction::Withdrawn => "撤回",
        ReviewAction::Activated => "生效",
        ReviewAction::Stale => "失效",
    }
}

impl EventRow {
    /// The row of an event.
    pub fn of(event: &ReviewEvent) -> EventRow {
        let role = match event.actor.role.as_str() {
            "system" => "系统".to_owned(),
            role => super::pages::role_label(role, event.actor.sector.as_deref()),
        };
        EventRow {
            time: beijing(event.time),
            actor: if role == event.actor.name {
                role
            } else {
                format!("{}（{role}）", event.actor.name)
            },
            action: action_label(event.action),
            comment: event.comment.clone().unwrap_or_default(),
            activate_on: event.activate_on.map(|d| d.to_string()).unwrap_or_default(),
        }
    }
}

/// A header field in Chinese.
pub fn field_label(field: HeaderField) -> &'static str {
    match field {
        HeaderField::Id => "规则集编号",
        HeaderField::Title => "标题",
        HeaderField::Sector => "行业",
        HeaderField::Version => "版本",
        HeaderField::Effective => "生效日期",
        HeaderField::Unit => "责任单位",
        HeaderField::Basis => "依据",
        HeaderField::Extends => "继承",
        HeaderField::Total => "总分",
        HeaderField::Rounding => "计分舍入",
        HeaderField::QueryChannels => "查询渠道",
        HeaderField::QueryDay => "查询时点",
        HeaderField::QueryEvidence => "查询留存",
        HeaderField::Commitment => "信用承诺",
        HeaderField::Allowances => "允许（合法性提示的理由）",
        HeaderField::Note => "备注",
    }
}

/// A clause aspect in Chinese.
pub fn aspect_label(aspect: Aspect) -> &'static str {
    match aspect {
        Aspect::Kind => "条款类型",
        Aspect::Mandatory => "强制",
        Aspect::Origin => "定义所在规则集",
        Aspect::Wording => "表述",
        Aspect::Basis => "依据",
        Aspect::Note => "备注",
        Aspect::Condition => "条件",
        Aspect::Points => "得分",
        Aspect::Windows => "期限",
        Aspect::Cap => "上限",
        Aspect::Floor => "下限",
        Aspect::Weight => "权重",
    }
}

fn value_text(value: Option<&AspectValue>) -> String {
    match value {
        None => "（无）".to_owned(),
        Some(AspectValue::Text(t)) => t.clone(),
        Some(AspectValue::Flag(true)) => "是".to_owned(),
        Some(AspectValue::Flag(false)) => "否".to_owned(),
        Some(AspectValue::List(items)) => items.join("、"),
    }
}

/// One row of a side-by-side comparison: the old line, the new line, and how they differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideRow {
    /// The old side (empty when only the new side has a line here).
    pub old: String,
    /// The new side.
    pub new: String,
    /// `same`, `changed`, `removed` or `added`.
    pub class: &'static str,
}

/// Splits a unified diff into side-by-side rows: unchanged lines on both sides, a run of
/// removed lines paired with the run of added lines that follows it.
pub fn side_by_side(unified: &str) -> Vec<SideRow> {
    let mut rows = Vec::new();
    let (mut removed, mut added): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
    let flush = |rows: &mut Vec<SideRow>, removed: &mut Vec<&str>, added: &mut Vec<&str>| {
        let n = removed.len().max(added.len());
        for i in 0..n {
            let (old, new) = (removed.get(i), added.get(i));
            let class = match (old, new) {
                (Some(_), Some(_)) => "changed",
                (Some(_), None) => "removed",
                _ => "added",
            };
            rows.push(SideRow {
                old: old.map(|s| s.to_string()).unwrap_or_default(),
                new: new.map(|s| s.to_string()).unwrap_or_default(),
                class,
            });
        }
        removed.clear();
        added.clear();
    };
    for line in unified.lines() {
        if line.starts_with("---") || line.starts_with("+++") || line.starts_with("@@") {
            continue;
        }
        if let Some(rest) = line.strip_prefix('-') {
            if !added.is_empty() {
                flush(&mut rows, &mut removed, &mut added);
            }
            removed.push(rest);
        } else if let Some(rest) = line.strip_prefix('+') {
            added.push(rest);
        } else {
            flush(&mut rows, &mut removed, &mut added);
            let rest = line.strip_prefix(' ').unwrap_or(line);
            rows.push(SideRow {
                old: rest.to_owned(),
                new: rest.to_owned(),
                class: "same",
            });
        }
    }
    flush(&mut rows, &mut removed, &mut added);
    rows
}

/// A compared value: name, old, new.
#[derive(Debug, Clone)]
pub struct Compared {
    /// What is compared.
    pub name: String,
    /// Old value.
    pub old: String,
    /// New value.
    pub new: String,
    /// A note (e.g. the clauses using a constant).
    pub note: String,
}

/// A changed clause.
#[derive(Debug, Clone)]
pub struct ClauseView {
    /// Clause id.
    pub id: String,
    /// `新增`, `删除` or `修改`.
    pub change: &'static str,
    /// Inherited from a base rule set: its id.
    pub origin: String,
    /// Changed aspects.
    pub aspects: Vec<Compared>,
    /// The text side by side.
    pub rows: Vec<SideRow>,
}

/// A semantic diff ready to show.
#[derive(Debug, Clone)]
pub struct DiffView {
    /// Old version label and short hash.
    pub old_label: String,
    /// New version label and short hash.
    pub new_label: String,
    /// True when nothing differs in meaning.
    pub identical: bool,
    /// Header fields.
    pub header: Vec<Compared>,
    /// Constants.
    pub constants: Vec<Compared>,
    /// Clauses.
    pub clauses: Vec<ClauseView>,
    /// Tests added / removed / changed, one line each.
    pub tests: Vec<String>,
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

fn lines_of(text: &str, old: bool) -> Vec<SideRow> {
    text.lines()
        .map(|line| SideRow {
            old: if old { line.to_owned() } else { String::new() },
            new: if old { String::new() } else { line.to_owned() },
            class: if old { "removed" } else { "added" },
        })
        .collect()
}

impl DiffView {
    /// The view of a diff.
    pub fn of(diff: &RuleSetDiff) -> DiffView {
        let header = diff
            .header
            .iter()
            .map(|h| Compared {
                name: field_label(h.field).to_owned(),
                old: h.old.clone().unwrap_or_else(|| "（无）".into()),
                new: h.new.clone().unwrap_or_else(|| "（无）".into()),
                note: if h.inherited {
                    format!("继承自 {}", h.ruleset)
                } else {
                    String::new()
                },
            })
            .collect();
        let constants = diff
            .constants
            .iter()
            .map(|c| Compared {
                name: c.name.clone(),
                old: c.old.clone().unwrap_or_else(|| "（无）".into()),
                new: c.new.clone().unwrap_or_else(|| "（无）".into()),
                note: if c.used_by.is_empty() {
                    String::new()
                } else {
                    format!("影响条款：{}", c.used_by.join("、"))
                },
            })
            .collect();
        let mut clauses = Vec::new();
        for c in &diff.clauses.added {
            clauses.push(ClauseView {
                id: c.id.clone(),
                change: "新增",
                origin: if c.inherited {
                    c.origin.clone()
                } else {
                    String::new()
                },
                aspects: Vec::new(),
                rows: lines_of(&c.text, false),
            });
        }
        for r in &diff.clauses.removed {
            clauses.push(ClauseView {
                id: r.clause.id.clone(),
                change: "删除",
                origin: r
                    .removed_by
                    .clone()
                    .map(|b| format!("由 {b} 移除"))
                    .unwrap_or_default(),
                aspects: Vec::new(),
                rows: lines_of(&r.clause.text, true),
            });
        }
        for c in &diff.clauses.changed {
            clauses.push(ClauseView {
                id: c.id.clone(),
                change: "修改",
                origin: if c.inherited {
                    c.origin.clone()
                } else {
                    String::new()
                },
                aspects: c
                    .aspects
                    .iter()
                    .map(|a| Compared {
                        name: aspect_label(a.aspect).to_owned(),
                        old: value_text(a.old.as_ref()),
                        new: value_text(a.new.as_ref()),
                        note: String::new(),
                    })
                    .collect(),
                rows: c.text_diff.as_deref().map(side_by_side).unwrap_or_default(),
            });
        }
        let mut tests = Vec::new();
        tests.extend(diff.tests.added.iter().map(|t| format!("新增测试：{t}")));
        tests.extend(diff.tests.removed.iter().map(|t| format!("删除测试：{t}")));
        tests.extend(diff.tests.changed.iter().map(|t| format!("修改测试：{t}")));
        DiffView {
            old_label: format!("{}（{}）", diff.old.version, short(&diff.old.hash)),
            new_label: format!("{}（{}）", diff.new.version, short(&diff.new.hash)),
            identical: diff.is_empty(),
            header,
            constants,
            clauses,
            tests,
        }
    }
}

/// One clause's tally in the impact.
#[derive(Debug, Clone)]
pub struct ClauseTally {
    /// Clause id.
    pub clause: String,
    /// Entities whose outcome of it differs.
    pub changed: u64,
    /// Newly vetoed or flagged.
    pub newly_fired: u64,
    /// No longer vetoed or flagged.
    pub no_longer_fired: u64,
    /// Sum of point changes.
    pub points_delta: String,
}

/// One of the most affected entities.
#[derive(Debug, Clone)]
pub struct AffectedEntity {
    /// USCC.
    pub uscc: String,
    /// Name, when a record gave one.
    pub name: String,
    /// How it changed, in Chinese.
    pub change: String,
    /// Old decision and total.
    pub old: String,
    /// New decision and total.
    pub new: String,
    /// Score change.
    pub delta: String,
    /// The clauses responsible.
    pub clauses: String,
}

/// An impact report ready to show.
#[derive(Debug, Clone)]
pub struct ImpactView {
    /// The evaluation day.
    pub as_of: String,
    /// Counts: label, number.
    pub counts: Vec<(&'static str, u64)>,
    /// Per-clause tallies (clauses with any change).
    pub clauses: Vec<ClauseTally>,
    /// The most affected entities.
    pub top: Vec<AffectedEntity>,
    /// The histogram as an SVG image (generated here, every label escaped).
    pub chart_svg: String,
    /// The histogram as a table (the chart's text alternative).
    pub histogram: Vec<(&'static str, u64)>,
}

impl ImpactView {
    /// The view of a report; `name_of` gives an entity's name.
    pub fn of(report: &ImpactReport, name_of: &dyn Fn(&str) -> Option<String>) -> ImpactView {
        let c = &report.counts;
        let counts = vec![
            ("评价主体数", c.evaluated),
            ("资格取消（合格→不合格）", c.newly_disqualified),
            ("资格恢复（不合格→合格）", c.newly_qualified),
            ("其他结论变化", c.decision_changed),
            ("分数变化", c.score_changed),
            ("仅条款结果变化", c.clauses_changed),
            ("未变化", c.unchanged),
            ("新增提示", c.newly_flagged),
            ("不再提示", c.no_longer_flagged),
        ];
        let clauses = report
            .clauses
            .iter()
            .filter(|t| t.entities_changed > 0 || t.newly_fired > 0 || t.no_longer_fired > 0)
            .map(|t| ClauseTally {
                clause: t.clause.clone(),
                changed: t.entities_changed,
                newly_fired: t.newly_fired,
                no_longer_fired: t.no_longer_fired,
                points_delta: t.points_delta.round_dp(2).to_string(),
            })
            .collect();
        let top = report
            .top
            .iter()
            .map(|e| AffectedEntity {
                uscc: e.uscc.as_str().to_owned(),
                name: name_of(e.uscc.as_str()).unwrap_or_else(|| "（名称未知）".into()),
                change: e
                    .change
                    .label()
                    .split(' ')
                    .next()
                    .unwrap_or_default()
                    .to_owned(),
                old: format!("{} {}", e.old.decision.label(), e.old.total),
                new: format!("{} {}", e.new.decision.label(), e.new.total),
                delta: signed(&e.delta.to_string()),
                clauses: e
                    .clauses
                    .iter()
                    .map(|c| c.clause.as_str())
                    .collect::<Vec<_>>()
                    .join("、"),
            })
            .collect();
        let histogram: Vec<(&'static str, u64)> = report
            .score_delta
            .histogram
            .iter()
            .map(|b| (b.range, b.count))
            .collect();
        ImpactView {
            as_of: report.as_of.to_string(),
            counts,
            clauses,
            top,
            chart_svg: histogram_svg(&histogram),
            histogram,
        }
    }
}

fn signed(text: &str) -> String {
    if text.starts_with('-') || text == "0" || text == "0.00" {
        text.to_owned()
    } else {
        format!("+{text}")
    }
}

/// Escapes text for XML.
fn xml(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The score-change histogram as an inline SVG bar chart: one bar per bucket, losses red,
/// gains blue, the count above each bar, the bucket below; sized by a fixed viewBox.
pub fn histogram_svg(buckets: &[(&str, u64)]) -> String {
    const BAR: u64 = 64;
    const GAP: u64 = 8;
    const PLOT: u64 = 180;
    const TOP: u64 = 24;
    let max = buckets.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let width = buckets.len() as u64 * (BAR + GAP) + GAP;
    let height = TOP + PLOT + 40;
    let total: u64 = buckets.iter().map(|(_, n)| n).sum();
    let mut svg = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-labelledby=\"chart-title\"><title id=\"chart-title\">分数变化分布：{total} 个两版均合格的主体</title>"
    );
    let zero = buckets.iter().position(|(r, _)| *r == "0");
    for (i, (range, count)) in buckets.iter().enumerate() {
        let x = GAP + i as u64 * (BAR + GAP);
        let h = count * PLOT / max;
        let y = TOP + PLOT - h;
        let class = match zero {
            Some(z) if i < z => "bar down",
            _ => "bar",
        };
        svg.push_str(&format!(
            "<rect class=\"{class}\" x=\"{x}\" y=\"{y}\" width=\"{BAR}\" height=\"{h}\"><title>{} 分：{count} 个</title></rect>",
            xml(range)
        ));
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{count}</text>",
            x + BAR / 2,
            y.saturating_sub(6).max(12)
        ));
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            x + BAR / 2,
            TOP + PLOT + 18,
            xml(range)
        ));
    }
    svg.push_str(&format!(
        "<line class=\"axis\" x1=\"0\" y1=\"{y}\" x2=\"{width}\" y2=\"{y}\"/></svg>",
        y = TOP + PLOT
    ));
    svg
}

/// `/console/drafts/{id}`: one draft for its author or the reviewer.
#[derive(Template)]
#[template(path = "console/draft.html")]
pub struct DraftPage {
    /// Layout.
    pub layout: ConsoleLayout,
    /// The draft as a row (id, rule set, author, status…).
    pub draft: DraftRow,
    /// The day it is to become active, if set.
    pub activate_on: String,
    /// Whether the base is still the active version (pending drafts).
    pub base_note: String,
    /// Its history.
    pub events: Vec<EventRow>,
    /// The diff against its base (`None`: a new rule set).
    pub diff: Option<DiffView>,
    /// Why no diff could be made.
    pub diff_error: String,
    /// Its impact on the stored entities (pending and approved drafts).
    pub impact: Option<ImpactView>,
    /// Why no impact could be computed.
    pub impact_error: String,
    /// Whether the viewer may approve or reject it now.
    pub can_decide: bool,
    /// A refused decision's reason.
    pub decision_error: String,
    /// The comment typed before a refusal.
    pub comment: String,
    /// Whether a pending draft's author may resubmit from it (rejected or stale: edit again).
    pub can_edit_again: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unified_diff_pairs_removed_with_added_lines() {
        let rows = side_by_side(
            "--- a\n+++ b\n@@ -1,3 +1,3 @@\n score x {\n-  points 2\n+  points 3\n+  cap 3\n }\n",
        );
        let classes: Vec<&str> = rows.iter().map(|r| r.class).collect();
        assert_eq!(classes, ["same", "changed", "added", "same"]);
        assert_eq!(
            (rows[1].old.as_str(), rows[1].new.as_str()),
            ("  points 2", "  points 3")
        );
    }

    #[test]
    fn the_chart_has_a_bar_per_bucket_with_losses_in_red_and_escaped_labels() {
        let svg = histogram_svg(&[("[-1, 0)", 3), ("0", 10), ("(0, 1]", 0), ("<x>", 1)]);
        assert_eq!(svg.matches("<rect ").count(), 4);
        assert_eq!(svg.matches("class=\"bar down\"").count(), 1);
        assert!(svg.contains("&lt;x&gt;") && !svg.contains("<x>"));
        assert!(svg.contains("14 个两版均合格的主体"));
        assert!(
            svg.contains("height=\"180\""),
            "the largest bucket fills the plot"
        );
    }
}
