//! Page model of the evaluation page: the form for one entity (rule set, version, day, a
//! USCC from the store or pasted records) and its decision with each veto, flag and score,
//! its Chinese explanation and the records behind it; and the tender form (bidders and
//! consortia, one bid a line, parsed by [`parse_bids`]) with the ranking of the bids and
//! each member's decision. Both forms take the tender context (项目信息: project type,
//! sector, budget; read by [`context_of`] and checked as the API checks it, the errors in
//! Chinese), and both results say which context they were evaluated with.

use super::pages::ConsoleLayout;
use crate::context::{ContextError, ContextField, MAX_CONTEXT_TEXT, TenderContext};
use crate::eval::{ClauseReport, Report};
use crate::record::{Uscc, UsccError};
use crate::tender::{BidProblem, Bidder, TenderResult};
use askama::Template;

/// A record cited by a clause.
#[derive(Debug, Clone)]
pub struct CitedRecord {
    /// Record id.
    pub id: String,
    /// Kind in Chinese.
    pub kind: String,
    /// Authority and document number.
    pub source: String,
    /// Decision date.
    pub decided_on: String,
}

/// One clause of the decision.
#[derive(Debug, Clone)]
pub struct ClauseLine {
    /// 否决, 提示 or 评分.
    pub kind: &'static str,
    /// Clause id.
    pub clause: String,
    /// Points (score clauses), e.g. `-2.00`.
    pub points: String,
    /// The Chinese explanation.
    pub explanation: String,
    /// The tender wording.
    pub wording: String,
    /// Why it could not be evaluated.
    pub error: String,
    /// The records behind it.
    pub records: Vec<CitedRecord>,
}

fn line(kind: &'static str, c: &ClauseReport) -> ClauseLine {
    ClauseLine {
        kind,
        clause: c.clause.to_string(),
        points: c.points.map(|p| p.to_string()).unwrap_or_default(),
        explanation: c.explanation.clone(),
        wording: c.wording.as_deref().unwrap_or_default().to_string(),
        error: c.error.as_ref().map(|e| e.to_string()).unwrap_or_default(),
        records: c
            .records
            .iter()
            .map(|r| CitedRecord {
                id: r.id.clone(),
                kind: r.kind_label.to_owned(),
                source: [r.authority.as_deref(), r.document_no.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" "),
                decided_on: r.decided_on.to_string(),
            })
            .collect(),
    }
}

/// A decision ready to show.
#[derive(Debug, Clone)]
pub struct DecisionView {
    /// 合格, 不合格 or 需人工复核.
    pub decision: &'static str,
    /// The CSS class of the decision.
    pub class: &'static str,
    /// Total points.
    pub total: String,
    /// Rule set, version and hash applied.
    pub rules: String,
    /// The day.
    pub as_of: String,
    /// The tender context evaluated with, in words ([`context_summary`]); empty where the
    /// page says it elsewhere (a tender's members).
    pub context: String,
    /// Vetoes, flags, then scores.
    pub clauses: Vec<ClauseLine>,
}

impl DecisionView {
    /// The view of a report.
    pub fn of(report: &Report) -> DecisionView {
        let mut clauses: Vec<ClauseLine> = report.vetoes.iter().map(|c| line("否决", c)).collect();
        clauses.extend(report.flags.iter().map(|c| line("提示", c)));
        clauses.extend(report.scores.iter().map(|c| line("评分", c)));
        DecisionView {
            decision: report.decision_label,
            class: match report.decision.code() {
                "eligible" => "active",
                "disqualified" => "rejected",
                _ => "pending",
            },
            total: report.total.to_string(),
            rules: format!(
                "{} {}（{}）",
                report.ruleset,
                report.version,
                report.hash.get(..12).unwrap_or(&report.hash)
            ),
            as_of: report.as_of.to_string(),
            context: String::new(),
            clauses,
        }
    }

    /// The view, saying the tender context it was evaluated with.
    pub fn in_context(self, context: &TenderContext) -> DecisionView {
        DecisionView {
            context: context_summary(context),
            ..self
        }
    }
}

/// An option of the rule-set choice.
#[derive(Debug, Clone)]
pub struct RuleSetChoice {
    /// Id.
    pub id: String,
    /// Shown label.
    pub label: String,
    /// Chosen now.
    pub selected: bool,
}

/// The form's values.
#[derive(Debug, Clone, Default)]
pub struct EvaluateForm {
    /// Version (empty: active).
    pub version: String,
    /// The day.
    pub as_of: String,
    /// USCC.
    pub uscc: String,
    /// Pasted records (JSON array).
    pub records: String,
    /// The tender context, as typed.
    pub context: ContextForm,
}

/// The tender context's fields as typed (each may be left empty).
#[derive(Debug, Clone, Default)]
pub struct ContextForm {
    /// 项目类型, e.g. 施工.
    pub project_type: String,
    /// 项目行业, e.g. 水务.
    pub sector: String,
    /// 项目预算 in yuan, e.g. 5000000.
    pub budget: String,
}

/// The tender context of the typed fields (`None` when all are empty), checked as the API
/// checks it ([`TenderContext::validate`]); what is wrong is said in Chinese, with how to
/// fix it. Texts are trimmed; the budget is a number of yuan, with or without decimals.
pub fn context_of(form: &ContextForm) -> Result<Option<TenderContext>, String> {
    let text = |t: &str| Some(t.trim().to_owned()).filter(|t| !t.is_empty());
    let budget = match form.budget.trim() {
        "" => None,
        typed => Some(parse_budget(typed).ok_or_else(|| {
            format!(
                "{}“{typed}”不是金额：请填写以元计的数字，如 5000000 或 4500000.50\
                 （不带单位和千位分隔符），或留空。",
                ContextField::Budget.label()
            )
        })?),
    };
    let context = TenderContext {
        project_type: text(&form.project_type),
        sector: text(&form.sector),
        budget,
    };
    context
        .validate()
        .map_err(|e| context_error_zh(&e, &context))?;
    Ok(Some(context).filter(|c| !c.is_empty()))
}

/// A budget as the API reads one from a JSON string: a plain decimal number.
fn parse_budget(typed: &str) -> Option<rust_decimal::Decimal> {
    use std::str::FromStr;
    rust_decimal::Decimal::from_str(typed).ok()
}

/// What [`TenderContext::validate`] found, in Chinese, with how to fix it.
pub fn context_error_zh(e: &ContextError, context: &TenderContext) -> String {
    let (field, text) = match e.field {
        "project_type" => (ContextField::ProjectType, &context.project_type),
        "sector" => (ContextField::Sector, &context.sector),
        _ => {
            let budget = context.budget.map(|b| b.to_string()).unwrap_or_default();
            return format!(
                "{}不能为负数，这里是 {budget}：请填写以元计的预算（0 或更大），或留空。",
                ContextField::Budget.label()
            );
        }
    };
    let chars = text.as_deref().map_or(0, |t| t.chars().count());
    format!(
        "{}应为 1 至 {MAX_CONTEXT_TEXT} 个字，这里有 {chars} 个：请缩短，或留空。",
        field.label()
    )
}

/// The tender context in words, e.g. `项目类型：施工；项目预算（元）：5000000`, or that
/// none was given.
pub fn context_summary(context: &TenderContext) -> String {
    let fields = [
        (ContextField::ProjectType, context.project_type.clone()),
        (ContextField::Sector, context.sector.clone()),
        (ContextField::Budget, context.budget.map(|b| b.to_string())),
    ];
    let given: Vec<String> = fields
        .into_iter()
        .filter_map(|(field, value)| value.map(|v| format!("{}：{v}", field.label())))
        .collect();
    if given.is_empty() {
        "未填写（条款中的项目信息按缺失处理）".to_owned()
    } else {
        given.join("；")
    }
}

/// `/console/evaluate`: one entity, and the tender form.
#[derive(Template)]
#[template(path = "console/evaluate.html")]
pub struct EvaluatePage {
    /// Layout.
    pub layout: ConsoleLayout,
    /// Rule sets (of the one-entity form).
    pub rulesets: Vec<RuleSetChoice>,
    /// The form as filled.
    pub form: EvaluateForm,
    /// The decision, after a submission.
    pub result: Option<DecisionView>,
    /// Why the evaluation was refused.
    pub error: String,
    /// Rule sets of the tender form.
    pub tender_rulesets: Vec<RuleSetChoice>,
    /// The tender form as filled.
    pub tender: TenderForm,
    /// The ranking, after a tender submission.
    pub ranking: Option<TenderView>,
    /// Why the tender was refused, or what to check in its result (members without records).
    pub tender_error: String,
}

/// The tender form's values.
#[derive(Debug, Clone, Default)]
pub struct TenderForm {
    /// Version (empty: active).
    pub version: String,
    /// Bid-opening day.
    pub as_of: String,
    /// Bidders on their own: one a line, `[名称：]USCC`.
    pub bidders: String,
    /// Consortia: one a line, `[名称：]牵头人USCC、成员USCC…`.
    pub consortia: String,
    /// The tender context, as typed.
    pub context: ContextForm,
}

/// The API's limits on one tender, checked on the form so that they are told in Chinese
/// (the handler passes `http::evaluate_limits`).
#[derive(Debug, Clone, Copy)]
pub struct BidLimits {
    /// Most bids.
    pub bids: usize,
    /// Most members of one consortium.
    pub members: usize,
    /// Most entities of all bids together.
    pub entities: usize,
}

/// What is wrong with a typed 统一社会信用代码, in Chinese, with how to fix it.
pub fn uscc_error_zh(e: &UsccError) -> String {
    match e {
        UsccError::Length { found } => format!(
            "应为 18 位，这里是 {found} 位；请从营业执照重新抄录，注意多余、缺少的字符或空格。"
        ),
        UsccError::InvalidChar { ch, position } => format!(
            "第 {position} 位的“{ch}”不能出现在统一社会信用代码中：只用数字 0-9 和大写字母 \
             A-H、J-N、P、Q、R、T、U、W、X、Y（不用 I、O、S、V、Z），请检查是否把数字 0 输成了字母 O 等。"
        ),
        UsccError::RegistrationAuthority { ch } => format!(
            "第 1 位“{ch}”不是登记管理部门代码：应为 1-9、A、G、J、N、Q 或 Y（企业为 9），请核对第 1 位。"
        ),
        UsccError::OrgCodeCheck { expected, found } => format!(
            "第 9-17 位的组织机构代码校验不符：第 17 位是“{found}”，按第 9-16 位应为“{expected}”；\
             请对照营业执照核对第 9-17 位。"
        ),
        UsccError::CheckChar { expected, found } => format!(
            "第 18 位校验码是“{found}”，按前 17 位应为“{expected}”；有字符输错，请对照营业执照核对全部 18 位。"
        ),
    }
}

/// One line's name and codes: `名称：A、B` or `A B`.
fn split_line(line: &str) -> (Option<String>, Vec<&str>) {
    let (name, codes) = match line.split_once(['：', ':']) {
        Some((name, codes)) => (
            Some(name.trim().to_owned()).filter(|n| !n.is_empty()),
            codes,
        ),
        None => (None, line),
    };
    let codes = codes
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '，' | '、' | ';' | '；'))
        .filter(|c| !c.is_empty())
        .collect();
    (name, codes)
}

/// The bids of the tender form: bidders on their own get ids 投标人1, 投标人2, …; consortia
/// 联合体1, … (lead first, as the API takes them). Every line is checked; the error names
/// the list and line of each mistake, in Chinese.
pub fn parse_bids(
    bidders: &str,
    consortia: &str,
    limits: BidLimits,
) -> Result<Vec<Bidder>, String> {
    let mut bids = Vec::new();
    let mut errors = Vec::new();
    let lists = [
        ("投标人", "投标人", bidders, false),
        ("联合体", "联合体", consortia, true),
    ];
    for (list, prefix, text, consortium) in lists {
        let mut count = 0;
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let at = format!("“{list}”第 {} 行", index + 1);
            let (name, codes) = split_line(line);
            let mut members = Vec::new();
            for code in &codes {
                match Uscc::parse(code) {
                    Ok(uscc) => members.push(uscc),
                    Err(e) => errors.push(format!(
                        "{at}：统一社会信用代码 {code} 有误：{}",
                        uscc_error_zh(&e)
                    )),
                }
            }
            match (consortium, codes.len()) {
                (_, 0) => errors.push(format!("{at}：没有统一社会信用代码。")),
                (false, n) if n > 1 => errors.push(format!(
                    "{at}：有 {n} 个统一社会信用代码；单独投标的每行填一个，联合体请填在“联合体”中。"
                )),
                (true, 1) => errors.push(format!(
                    "{at}：联合体至少要有两个成员（牵头人在前）；单独投标的请填在“投标人”中。"
                )),
                (true, n) if n > limits.members => errors.push(format!(
                    "{at}：联合体最多 {} 个成员，这里有 {n} 个。",
                    limits.members
                )),
                _ => {}
            }
            count += 1;
            bids.push(Bidder {
                id: format!("{prefix}{count}"),
                name,
                members,
            });
        }
    }
    if bids.is_empty() && errors.is_empty() {
        errors.push("请至少填写一个投标人或联合体（每行一个）。".to_owned());
    }
    if bids.len() > limits.bids {
        errors.push(format!(
            "一次最多评价 {} 个投标，这里有 {} 个；请分批评价。",
            limits.bids,
            bids.len()
        ));
    }
    let entities: usize = bids.iter().map(|b| b.members.len()).sum();
    if entities > limits.entities {
        errors.push(format!(
            "一次最多评价 {} 个单位（所有投标的成员合计），这里有 {entities} 个；请分批评价。",
            limits.entities
        ));
    }
    if errors.is_empty() {
        Ok(bids)
    } else {
        Err(errors.join("\n"))
    }
}

/// One member of a bid, with its decision.
#[derive(Debug, Clone)]
pub struct MemberView {
    /// The USCC.
    pub uscc: String,
    /// Its name as the records give it.
    pub name: String,
    /// 牵头人 for a consortium's first member, 成员 for the others, empty on its own.
    pub role: &'static str,
    /// No record was found (a new entity or a mistyped code).
    pub no_records: bool,
    /// The decision-log id.
    pub decision_id: String,
    /// Whether a signed receipt was issued.
    pub receipt: bool,
    /// The decision with each clause and its explanation.
    pub decision: DecisionView,
}

/// One bid in the ranking.
#[derive(Debug, Clone)]
pub struct BidView {
    /// 1, 2, 2, 4 for eligible bids; `—` otherwise.
    pub rank: String,
    /// The bid's id in the form (投标人1, 联合体1).
    pub id: String,
    /// The name given.
    pub name: String,
    /// Whether it is a consortium.
    pub consortium: bool,
    /// Decision label.
    pub decision: &'static str,
    /// CSS class of the decision.
    pub class: &'static str,
    /// The bid's score (the lowest member's).
    pub total: String,
    /// The vetoes that fired, each with the members it fired on.
    pub vetoes: Vec<String>,
    /// The flags that fired.
    pub flags: Vec<String>,
    /// Why the bid is invalid whatever the records.
    pub problems: Vec<String>,
    /// The members.
    pub members: Vec<MemberView>,
}

/// The tender's result ready to show: bids ranked first, then the others in the order given.
#[derive(Debug, Clone)]
pub struct TenderView {
    /// Rule set, version and hash applied.
    pub rules: String,
    /// The bid-opening day.
    pub as_of: String,
    /// The tender context evaluated with, in words ([`context_summary`]).
    pub context: String,
    /// The bids.
    pub bids: Vec<BidView>,
    /// How many are ranked.
    pub ranked: usize,
    /// Members for whom no record was found.
    pub unknown: Vec<String>,
}

fn decision_class(code: &str) -> &'static str {
    match code {
        "eligible" => "active",
        "disqualified" => "rejected",
        _ => "pending",
    }
}

fn finding(clause: &str, members: &[Uscc], consortium: bool) -> String {
    if consortium {
        let on: Vec<&str> = members.iter().map(Uscc::as_str).collect();
        format!("{clause}（{}）", on.join("、"))
    } else {
        clause.to_owned()
    }
}

impl TenderView {
    /// The view, saying the tender context it was evaluated with.
    pub fn in_context(self, context: &TenderContext) -> TenderView {
        TenderView {
            context: context_summary(context),
            ..self
        }
    }

    /// The view of a tender's result.
    pub fn of(result: &TenderResult) -> TenderView {
        let mut bids: Vec<(Option<u32>, usize, BidView)> = result
            .bids
            .iter()
            .enumerate()
            .map(|(order, bid)| {
                let consortium = bid.members.len() > 1;
                let view = BidView {
                    rank: bid.rank.map_or_else(|| "—".to_owned(), |r| r.to_string()),
                    id: bid.bidder.clone(),
                    name: bid.name.clone().unwrap_or_default(),
                    consortium,
                    decision: bid.decision_label,
                    class: decision_class(bid.decision.code()),
                    total: bid.total.to_string(),
                    vetoes: bid
                        .vetoes
                        .iter()
                        .map(|f| finding(&f.clause, &f.members, consortium))
                        .collect(),
                    flags: bid
                        .flags
                        .iter()
                        .map(|f| finding(&f.clause, &f.members, consortium))
                        .collect(),
                    problems: bid
                        .problems
                        .iter()
                        .map(|p| match p {
                            BidProblem::EntityInSeveralBids { message, basis, .. }
                            | BidProblem::MemberRepeated { message, basis, .. } => {
                                format!("{message}（{basis}）")
                            }
                        })
                        .collect(),
                    members: bid
                        .members
                        .iter()
                        .enumerate()
                        .map(|(i, m)| MemberView {
                            uscc: m.uscc.to_string(),
                            name: m.entity_name.clone().unwrap_or_default(),
                            role: match (consortium, i) {
                                (false, _) => "",
                                (true, 0) => "牵头人",
                                (true, _) => "成员",
                            },
                            no_records: m.no_records,
                            decision_id: m.decision_id.map(|d| d.to_string()).unwrap_or_default(),
                            receipt: m.receipt.is_some(),
                            decision: DecisionView::of(&m.report),
                        })
                        .collect(),
                };
                (bid.rank, order, view)
            })
            .collect();
        // Ranked bids by rank (ties in the engine's order: by id), then the others as given.
        let position = |id: &str| result.ranking.iter().position(|r| r == id);
        bids.sort_by_key(|(rank, order, view)| {
            (
                rank.is_none(),
                position(&view.id).unwrap_or(usize::MAX),
                *order,
            )
        });
        let mut unknown: Vec<String> = Vec::new();
        for bid in &result.bids {
            for m in bid.members.iter().filter(|m| m.no_records) {
                if !unknown.contains(&m.uscc.to_string()) {
                    unknown.push(m.uscc.to_string());
                }
            }
        }
        TenderView {
            rules: format!(
                "{} {}（{}）",
                result.ruleset,
                result.version,
                result.hash.get(..12).unwrap_or(&result.hash)
            ),
            as_of: result.as_of.to_string(),
            context: String::new(),
            ranked: result.ranking.len(),
            bids: bids.into_iter().map(|(_, _, view)| view).collect(),
            unknown,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{BidLimits, parse_bids as parse_with};

    const LIMITS: BidLimits = BidLimits {
        bids: 3,
        members: 3,
        entities: 4,
    };

    fn parse_bids(bidders: &str, consortia: &str) -> Result<Vec<super::Bidder>, String> {
        parse_with(bidders, consortia, LIMITS)
    }

    const A: &str = "914201158544006819";
    const B: &str = "91230500MA1B3N1N2M";

    #[test]
    fn bids_are_read_one_a_line_with_names_and_the_lead_first() {
        let bids = parse_bids(
            &format!("甲公司：{A}\n\n{B}\n"),
            &format!("联合体甲：{B}、{A}"),
        )
        .expect("valid");
        assert_eq!(bids.len(), 3);
        assert_eq!(bids[0].id, "投标人1");
        assert_eq!(bids[0].name.as_deref(), Some("甲公司"));
        assert_eq!(bids[1].id, "投标人2");
        assert_eq!(bids[1].name, None);
        assert_eq!(bids[2].id, "联合体1");
        assert_eq!(bids[2].members[0].as_str(), B, "the lead first");
        assert_eq!(bids[2].members.len(), 2);
    }

    #[test]
    fn mistakes_are_named_by_list_and_line_in_chinese() {
        let error = parse_bids(&format!("{A}\n123"), "").expect_err("bad code");
        assert!(
            error.contains("“投标人”第 2 行") && error.contains("123"),
            "{error}"
        );
        let error = parse_bids("", A).expect_err("one-member consortium");
        assert!(error.contains("至少要有两个成员"), "{error}");
        let error = parse_bids(&format!("{A} {B}"), "").expect_err("two codes on a bidder line");
        assert!(error.contains("有 2 个统一社会信用代码"), "{error}");
        let error = parse_bids(" \n", "").expect_err("empty");
        assert!(error.contains("请至少填写一个投标人或联合体"), "{error}");
        let error = parse_bids("甲公司：", "").expect_err("no code");
        assert!(error.contains("没有统一社会信用代码"), "{error}");
    }

    #[test]
    fn the_context_is_read_checked_and_told_in_chinese() {
        use super::{ContextForm, context_of, context_summary};
        let form = |project_type: &str, sector: &str, budget: &str| ContextForm {
            project_type: project_type.into(),
            sector: sector.into(),
            budget: budget.into(),
        };
        assert_eq!(context_of(&form(" ", "", "")), Ok(None), "all empty: none");
        let context = context_of(&form(" 施工 ", "", "4500000.50"))
            .expect("valid")
            .expect("given");
        assert_eq!(context.project_type.as_deref(), Some("施工"));
        assert_eq!(context.sector, None);
        assert_eq!(
            context.budget.map(|b| b.to_string()).as_deref(),
            Some("4500000.50")
        );
        assert_eq!(
            context_summary(&context),
            "项目类型：施工；项目预算（元）：4500000.50"
        );
        assert!(context_summary(&Default::default()).starts_with("未填写"));
        let error = context_of(&form("", "", "500万")).expect_err("not a number");
        assert!(error.contains("项目预算（元）“500万”不是金额"), "{error}");
        let error = context_of(&form("", "", "-1")).expect_err("negative");
        assert!(error.contains("不能为负数，这里是 -1"), "{error}");
        assert_eq!(
            context_of(&form("", "", "0")).map(|c| c.is_some()),
            Ok(true)
        );
        let error = context_of(&form("", &"水".repeat(201), "")).expect_err("too long");
        assert!(
            error.contains("项目行业应为 1 至 200 个字，这里有 201 个"),
            "{error}"
        );
        assert!(context_of(&form(&"施".repeat(200), "", "")).is_ok());
    }

    #[test]
    fn the_api_s_limits_are_told_in_chinese() {
        let four = [A; 4].join("\n");
        let error = parse_bids(&four, "").expect_err("too many bids");
        assert!(
            error.contains("一次最多评价 3 个投标，这里有 4 个"),
            "{error}"
        );
        let error = parse_bids("", &[A; 4].join("、")).expect_err("too many members");
        assert!(error.contains("联合体最多 3 个成员"), "{error}");
        let error = parse_bids(A, &format!("{A}、{B}、{A}\n{A} {B}")).expect_err("entities");
        assert!(error.contains("一次最多评价 4 个单位"), "{error}");
    }
}
