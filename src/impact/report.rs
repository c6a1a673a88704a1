//! The serialisable impact report: stable field names, exact decimals with two places, and
//! fixed orders (clauses: the new version's order, then removed clauses; entities: most
//! severe change first), so the same inputs give the same bytes.

use crate::ast::ClauseKind;
use crate::compile::RuleSetMeta;
use crate::eval::{Decision, EvalError};
use crate::record::Uscc;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

/// What a rule change does to the outcomes of a set of entities.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ImpactReport {
    /// The version in force.
    pub old: VersionInfo,
    /// The proposed version.
    pub new: VersionInfo,
    /// The evaluation date.
    pub as_of: NaiveDate,
    /// How many entities changed, and how.
    pub counts: Counts,
    /// Decisions under each version.
    pub decisions: DecisionCounts,
    /// Score deltas of the entities eligible under both versions.
    pub score_delta: DeltaSummary,
    /// Every clause of either version, new version's order first, then removed clauses.
    pub clauses: Vec<ClauseImpact>,
    /// The most changed entities asked for (the length limit of `top`).
    pub top_limit: usize,
    /// The most changed entities, most severe first.
    pub top: Vec<ChangedEntity>,
}

/// Identity of a compared version.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct VersionInfo {
    /// Rule-set id.
    pub ruleset: String,
    /// Version label from the header.
    pub version: String,
    /// The version identity (`crate::compile::version_id`, as in evaluation reports).
    pub hash: String,
    /// The `extends` chain, base first.
    pub chain: Vec<String>,
}

impl VersionInfo {
    pub(super) fn of(meta: &RuleSetMeta) -> Self {
        VersionInfo {
            ruleset: meta.id.clone(),
            version: meta.version.clone(),
            hash: meta.hash.clone(),
            chain: meta.chain.clone(),
        }
    }
}

/// How the entities changed; the six kinds add up to `evaluated`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    /// Entities evaluated.
    pub evaluated: u64,
    /// Of those, entities with no records (e.g. listed bidders the store does not know).
    pub without_records: u64,
    /// 合格 → 不合格.
    pub newly_disqualified: u64,
    /// 不合格 → 合格.
    pub newly_qualified: u64,
    /// Other decision changes (to or from 需人工复核 review).
    pub decision_changed: u64,
    /// Same decision, different total.
    pub score_changed: u64,
    /// Same decision and total, some clause outcome differs.
    pub clauses_changed: u64,
    /// No clause outcome differs.
    pub unchanged: u64,
    /// Flagged under the new version only.
    pub newly_flagged: u64,
    /// Flagged under the old version only.
    pub no_longer_flagged: u64,
}

/// How many entities got each decision, per version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DecisionCounts {
    /// Under the old version.
    pub old: DecisionTally,
    /// Under the new version.
    pub new: DecisionTally,
}

/// Entities per decision.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DecisionTally {
    /// 合格.
    pub eligible: u64,
    /// 不合格.
    pub disqualified: u64,
    /// 需人工复核.
    pub review: u64,
}

impl DecisionTally {
    pub(super) fn add(&mut self, decision: Decision) {
        match decision {
            Decision::Eligible => self.eligible += 1,
            Decision::Disqualified => self.disqualified += 1,
            Decision::Review => self.review += 1,
        }
    }

    pub(super) fn merge(&mut self, other: &DecisionTally) {
        self.eligible += other.eligible;
        self.disqualified += other.disqualified;
        self.review += other.review;
    }
}

/// The distribution of `new total − old total` over the entities eligible under both.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DeltaSummary {
    /// Entities eligible under both versions.
    pub entities: u64,
    /// Of those, entities whose total changed.
    pub changed: u64,
    /// Smallest delta (`null` when no entity is eligible under both).
    pub min: Option<Decimal>,
    /// Largest delta.
    pub max: Option<Decimal>,
    /// Exact sum of the deltas.
    pub sum: Decimal,
    /// `sum / entities`, rounded to 4 places half away from zero.
    pub mean: Option<Decimal>,
    /// Entities per bucket, in the order of [`super::HISTOGRAM_BUCKETS`].
    pub histogram: Vec<Bucket>,
}

/// One histogram bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Bucket {
    /// The interval of deltas, e.g. `[-2, -1)`.
    pub range: &'static str,
    /// Entities in it.
    pub count: u64,
}

/// Whether a clause is in both versions or only one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClauseStatus {
    /// In both versions (its kind or condition may still differ).
    Both,
    /// Only in the new version.
    Added,
    /// Only in the old version.
    Removed,
}

/// What one clause did to the entities.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ClauseImpact {
    /// Clause id.
    pub clause: String,
    /// In both versions, added or removed.
    pub status: ClauseStatus,
    /// Its kind in the old version.
    pub old_kind: Option<ClauseKind>,
    /// Its kind in the new version.
    pub new_kind: Option<ClauseKind>,
    /// Entities whose outcome of this clause differs.
    pub entities_changed: u64,
    /// Entities it vetoes or flags under the new version only.
    pub newly_fired: u64,
    /// Entities it vetoes or flags under the old version only.
    pub no_longer_fired: u64,
    /// Exact sum over all entities of its new points − old points.
    pub points_delta: Decimal,
}

/// The kind of change of one entity (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// 合格 → 不合格.
    NewlyDisqualified,
    /// 不合格 → 合格.
    NewlyQualified,
    /// Another decision change (to or from review).
    DecisionChanged,
    /// Same decision, different total.
    ScoreChanged,
    /// Same decision and total, some clause outcome differs.
    ClausesChanged,
    /// Nothing differs.
    Unchanged,
}

impl ChangeKind {
    /// Bilingual label.
    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::NewlyDisqualified => "资格取消 newly disqualified",
            ChangeKind::NewlyQualified => "资格恢复 newly qualified",
            ChangeKind::DecisionChanged => "结论变化 decision changed",
            ChangeKind::ScoreChanged => "分数变化 score changed",
            ChangeKind::ClausesChanged => "条款变化 clauses changed",
            ChangeKind::Unchanged => "未变化 unchanged",
        }
    }

    pub(super) fn of(
        old: Decision,
        new: Decision,
        total_changed: bool,
        clause_changed: bool,
    ) -> Self {
        match (old, new) {
            (Decision::Eligible, Decision::Disqualified) => ChangeKind::NewlyDisqualified,
            (Decision::Disqualified, Decision::Eligible) => ChangeKind::NewlyQualified,
            (o, n) if o != n => ChangeKind::DecisionChanged,
            _ if total_changed => ChangeKind::ScoreChanged,
            _ if clause_changed => ChangeKind::ClausesChanged,
            _ => ChangeKind::Unchanged,
        }
    }
}

/// One changed entity in the top list.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChangedEntity {
    /// The entity.
    pub uscc: Uscc,
    /// How it changed.
    pub change: ChangeKind,
    /// Its outcome under the old version.
    pub old: EntityOutcome,
    /// Its outcome under the new version.
    pub new: EntityOutcome,
    /// `new.total − old.total`.
    pub delta: Decimal,
    /// The clauses responsible, in the order of [`ImpactReport::clauses`].
    pub clauses: Vec<ClauseChange>,
}

/// Decision and total under one version.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EntityOutcome {
    /// The decision.
    pub decision: Decision,
    /// The total, 2 places.
    pub total: Decimal,
}

/// A clause whose outcome differs for an entity.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ClauseChange {
    /// Clause id.
    pub clause: String,
    /// Its outcome under the old version (`null`: not in the old version).
    pub old: Option<ClauseState>,
    /// Its outcome under the new version (`null`: not in the new version).
    pub new: Option<ClauseState>,
}

/// One clause's outcome for one entity.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ClauseState {
    /// Veto, score or flag.
    pub kind: ClauseKind,
    /// Veto or flag fired (score: points computed).
    pub fired: bool,
    /// Weighted points, 2 places (score clauses only).
    pub points: Option<Decimal>,
    /// Why it could not be evaluated.
    pub error: Option<EvalError>,
}
