//! The receipt check page (`/receipt`, 回执核验): a bidder or a court clerk pastes a decision
//! receipt's JSON and reads, in plain Chinese, whether it is intact, who signed it (this
//! service's key or another) and what it states. The page model only: the handler lives in
//! `http::receipts`; the check itself is [`crate::receipt::check`].

use super::pages::Layout;
use super::text::neutralise;
use crate::receipt::{RECEIPT_FORMAT_1, Receipt, ReceiptError, Verdict};
use askama::Template;

/// Largest pasted receipt the page and `POST /api/v1/receipts/verify` accept, in bytes of the
/// request body (a receipt is a few kilobytes; its batch path at most 64 hashes).
pub const MAX_RECEIPT_BYTES: usize = 64 * 1024;

/// One row of the receipt's content table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// The Chinese label.
    pub label: &'static str,
    /// The value (neutralised), `—` when absent.
    pub value: String,
    /// Whether to show it in a fixed-width font (codes, hashes).
    pub code: bool,
}

/// The result of a check, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Whether the receipt is intact.
    pub valid: bool,
    /// 有效 / 无效 and the one-line conclusion.
    pub headline: String,
    /// Why (for an invalid receipt), or what "valid" means here.
    pub explanation: String,
    /// Who signed it, in words.
    pub signer: String,
    /// Whether the key it names is this service's.
    pub this_service: bool,
    /// The key it names.
    pub signer_key: String,
    /// What it states.
    pub rows: Vec<Row>,
}

/// The page: the form (with the pasted text kept), the result or the input error, and this
/// service's public key for comparison.
#[derive(Debug, Template)]
#[template(path = "receipt.html")]
pub struct ReceiptPage {
    /// Title and assets.
    pub layout: Layout,
    /// This service's public key (64 hex digits), if it signs receipts.
    pub public_key: Option<String>,
    /// The pasted text, put back into the textarea.
    pub text: String,
    /// The result of a check.
    pub outcome: Option<Outcome>,
    /// What is wrong with the input (not a receipt), in Chinese.
    pub error: Option<String>,
}

impl ReceiptPage {
    /// The empty form.
    pub fn blank(public_key: Option<String>) -> ReceiptPage {
        ReceiptPage {
            layout: Layout::new("回执核验", "receipt"),
            public_key,
            text: String::new(),
            outcome: None,
            error: None,
        }
    }

    /// The page after a check of `text`.
    pub fn checked(public_key: Option<String>, text: String, verdict: &Verdict) -> ReceiptPage {
        ReceiptPage {
            outcome: Some(outcome(verdict)),
            text,
            ..ReceiptPage::blank(public_key)
        }
    }

    /// The page for input that is not a receipt: the text kept, the problem in Chinese.
    pub fn refused(public_key: Option<String>, text: String, error: String) -> ReceiptPage {
        ReceiptPage {
            error: Some(error),
            text,
            ..ReceiptPage::blank(public_key)
        }
    }
}

/// What is wrong with a text that is not a receipt, in Chinese (what, where, how to fix).
pub fn input_problem(text: &str, error: &ReceiptError) -> String {
    const FIX: &str = "请粘贴评价结果中的完整回执（receipt 对象，或含 receipt 的整个评价结果 JSON），不要修改其中的内容。";
    if text.trim().is_empty() {
        return "没有收到内容：请把回执的 JSON 文本粘贴到输入框后再点“核验”。".to_owned();
    }
    if let Err(e) = serde_json::from_str::<serde_json::Value>(text) {
        return format!(
            "粘贴的内容不是有效的 JSON：第 {} 行第 {} 列附近有误（{}）。{FIX}",
            e.line(),
            e.column(),
            neutralise(&e.to_string())
        );
    }
    let detail = match error {
        ReceiptError::Malformed(detail) => detail.as_str(),
        _ => "",
    };
    let missing = detail
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    match missing {
        Some(field) => format!(
            "粘贴的 JSON 不是回执：缺少字段 “{}”。{FIX}",
            neutralise(field)
        ),
        None => format!(
            "粘贴的 JSON 不是回执：字段内容不符合回执格式（{}）。{FIX}",
            neutralise(detail)
        ),
    }
}

/// Why a receipt is invalid, in Chinese.
pub fn reason_text(error: &ReceiptError) -> String {
    match error {
        ReceiptError::BadSignature => {
            "签名与内容不符：回执内容在签发后被改动过，或者并非由其所列公钥签发。".to_owned()
        }
        ReceiptError::NotInBatch => {
            "回执内容与其批次签名不符：决策、总分等字段，或批次位置、核验路径在签发后被改动过。"
                .to_owned()
        }
        ReceiptError::WrongKey { found, .. } => {
            format!("回执由另一把公钥 {} 签发。", neutralise(found))
        }
        ReceiptError::Malformed(detail) => {
            format!("回执格式有误，无法核验（{}）。", neutralise(detail))
        }
        ReceiptError::Key { .. } => "本服务的签名密钥不可用。".to_owned(),
    }
}

fn outcome(verdict: &Verdict) -> Outcome {
    let receipt = &verdict.receipt;
    let (headline, explanation) = match (&verdict.outcome, verdict.by_trusted_key) {
        (Ok(()), true) => (
            "有效：回执未被改动，由本服务签发。".to_owned(),
            "签名与回执内容完全相符，签名公钥就是本服务公布的公钥（见页面下方）。".to_owned(),
        ),
        (Ok(()), false) => (
            "签名有效，但不是本服务签发的。".to_owned(),
            "回执自签发后未被改动，但签发它的公钥不是本服务的公钥：它可能来自其他交易中心或系统，也可能是他人自行签发的。请向签发单位核对其公钥。".to_owned(),
        ),
        (Err(e), _) => ("无效：回执不可信。".to_owned(), reason_text(e)),
    };
    let signer = if verdict.by_trusted_key {
        "本服务（武汉市公共资源交易信用规则服务）的公钥".to_owned()
    } else {
        "其他公钥（不是本服务的公钥）".to_owned()
    };
    Outcome {
        valid: verdict.is_valid(),
        headline,
        explanation,
        signer,
        this_service: verdict.by_trusted_key,
        signer_key: neutralise(&receipt.public_key),
        rows: rows(receipt),
    }
}

fn decision_label(code: &str) -> String {
    match code {
        "eligible" => "合格".to_owned(),
        "disqualified" => "不合格".to_owned(),
        "review" => "需人工复核".to_owned(),
        other => format!("未知（{}）", neutralise(other)),
    }
}

fn or_dash(value: Option<&str>) -> String {
    match value.map(str::trim) {
        Some(text) if !text.is_empty() => neutralise(text),
        _ => "—".to_owned(),
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "无".to_owned()
    } else {
        neutralise(&items.join("、"))
    }
}

/// The content table: what the receipt states.
fn rows(receipt: &Receipt) -> Vec<Row> {
    let body = &receipt.body;
    let row = |label, value, code| Row { label, value, code };
    let mut rows = vec![
        row("决策编号", body.decision_id.to_string(), true),
        row("统一社会信用代码", or_dash(body.uscc.as_deref()), true),
        row("主体名称", or_dash(body.entity_name.as_deref()), false),
        row("规则集", or_dash(Some(&body.ruleset)), true),
        row("版本", or_dash(Some(&body.version_id)), true),
        row("评价日期", body.as_of.to_string(), false),
        row("决策", decision_label(&body.decision), false),
        row("总分", or_dash(Some(&body.total)), false),
        row("否决条款", list(&body.vetoes), false),
        row("提示条款", list(&body.flags), false),
    ];
    if let Some(context) = &body.context {
        let mut parts = Vec::new();
        if let Some(t) = &context.project_type {
            parts.push(format!("项目类型：{}", neutralise(t)));
        }
        if let Some(s) = &context.sector {
            parts.push(format!("行业：{}", neutralise(s)));
        }
        if let Some(b) = &context.budget {
            parts.push(format!("项目预算：{b} 元"));
        }
        rows.push(row("项目信息", parts.join("；"), false));
    }
    let place = match &receipt.batch {
        Some(batch) => format!(
            "同批签发 {} 份，本回执为第 {} 份",
            batch.size,
            batch.index.saturating_add(1)
        ),
        None if body.format == RECEIPT_FORMAT_1 => "单独签发（旧格式回执）".to_owned(),
        None => "—".to_owned(),
    };
    rows.push(row("批次位置", place, false));
    rows.push(row("记录时点", or_dash(Some(&body.known_at)), true));
    rows.push(row("决策时间", or_dash(Some(&body.decided_at)), true));
    rows
}
