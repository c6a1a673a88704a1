//! `credit-rules draft submit|list|show|diff|impact|approve|reject|withdraw`: the review workflow
//! from the command line, as an HTTP client of a running `credit-rules serve` (the server
//! holds the database's lock, so the CLI cannot open it while it runs). `--server` (default
//! `http://127.0.0.1:8080`) says where; `--token` or the environment variable
//! `CREDIT_RULES_TOKEN` who is asking (a bureau submits and withdraws, the city office
//! approves and rejects).
//!
//! Exit status: 0 done; 1 the server refused (its problem's title, detail and diagnostics are
//! printed); 2 the server could not be reached, answered something unexpected, or the
//! command line or a local file is wrong.

use super::Format;
use crate::review::shanghai;
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use unicode_width::UnicodeWidthStr;

/// The environment variable holding the token when `--token` is not given.
pub const TOKEN_VARIABLE: &str = "CREDIT_RULES_TOKEN";

/// How long one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// `credit-rules draft …`.
#[derive(Debug, Args)]
pub struct DraftArgs {
    /// URL of the running `credit-rules serve`.
    #[arg(long, global = true, default_value = "http://127.0.0.1:8080")]
    pub server: String,
    /// Bearer token (default: the environment variable CREDIT_RULES_TOKEN).
    #[arg(long, global = true)]
    pub token: Option<String>,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub format: Format,
    /// What to do.
    #[command(subcommand)]
    pub command: DraftCommand,
}

/// The draft subcommands.
#[derive(Debug, Subcommand)]
pub enum DraftCommand {
    /// Submit a rule file as a draft of a new version (checked by the server first).
    Submit {
        /// The rule file.
        file: PathBuf,
        /// The rule set it is a new version of (default: the id in the file's header).
        #[arg(long)]
        ruleset: Option<String>,
        /// Why the rule set changes.
        #[arg(long, short)]
        message: Option<String>,
        /// `meta.hash` of the active version the file was edited from (default: the active one).
        #[arg(long)]
        base: Option<String>,
        /// The day (YYYY-MM-DD, Asia/Shanghai) it is to become active once approved.
        #[arg(long, value_parser = parse_date)]
        activate_on: Option<NaiveDate>,
    },
    /// List drafts (a bureau sees its own sector's).
    List {
        /// Only drafts of this rule set.
        #[arg(long)]
        ruleset: Option<String>,
        /// Only drafts in this status: pending, approved, active, rejected, withdrawn, stale.
        #[arg(long)]
        status: Option<String>,
    },
    /// Show a draft: status, history and, while it is pending or approved, its diff.
    Show {
        /// Draft id.
        id: u64,
    },
    /// Show what a draft changes against the rule set's active version.
    Diff {
        /// Draft id.
        id: u64,
    },
    /// Show what a draft changes in outcomes: every stored entity evaluated as of a day under
    /// the active version and under the draft.
    Impact {
        /// Draft id.
        id: u64,
        /// The evaluation date (YYYY-MM-DD; default: today in Asia/Shanghai).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<NaiveDate>,
        /// How many of the most changed entities to list (default 20, at most 1000).
        #[arg(long)]
        top: Option<usize>,
    },
    /// Approve a pending draft (city office); it goes live now or on --activate-on.
    Approve {
        /// Draft id.
        id: u64,
        /// Why (required; kept in the history).
        #[arg(long, short)]
        comment: String,
        /// The day (YYYY-MM-DD, Asia/Shanghai) it becomes active, replacing the draft's.
        #[arg(long, value_parser = parse_date)]
        activate_on: Option<NaiveDate>,
    },
    /// Reject a draft (city office) with a comment saying what to change.
    Reject {
        /// Draft id.
        id: u64,
        /// Why (required; kept in the history).
        #[arg(long, short)]
        comment: String,
    },
    /// Withdraw a pending draft you submitted.
    Withdraw {
        /// Draft id.
        id: u64,
        /// Why (optional).
        #[arg(long, short)]
        comment: Option<String>,
    },
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("`{text}` is not a date; write YYYY-MM-DD, e.g. 2024-09-01"))
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
enum DraftCliError {
    /// The command line or a local file is wrong.
    #[error("{0}")]
    Local(String),
    /// The server could not be reached.
    #[error(
        "cannot reach the credit-rules server at {url}: {reason}; is `credit-rules serve` \
         running there? (give its address with --server URL)"
    )]
    Unreachable { url: String, reason: String },
    /// The server answered, but not with what the API promises.
    #[error("the server at {url} answered unexpectedly (HTTP {status}): {reason}")]
    BadAnswer {
        url: String,
        status: u16,
        reason: String,
    },
    /// The server refused with a problem document.
    #[error("{}", render_problem(.status, .problem))]
    Refused { status: u16, problem: Value },
}

impl DraftCliError {
    fn exit_code(&self) -> ExitCode {
        match self {
            DraftCliError::Refused { .. } => ExitCode::from(1),
            _ => ExitCode::from(2),
        }
    }
}

/// Runs `credit-rules draft …`.
pub(super) fn run(args: DraftArgs) -> ExitCode {
    match run_command(&args) {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

fn run_command(args: &DraftArgs) -> Result<String, DraftCliError> {
    let mut client = Client::new(&args.server, token(args.token.as_deref())?)?;
    let json = args.format == Format::Json;
    match &args.command {
        DraftCommand::Submit {
            file,
            ruleset,
            message,
            base,
            activate_on,
        } => {
            let source = read_source(file)?;
            if client.lang.is_none() {
                client.lang = crate::diagnostic::Lang::of_source(&source);
            }
            let ruleset = match ruleset {
                Some(id) => id.clone(),
                None => declared_id(file, &source)?,
            };
            let body = json!({
                "ruleset": ruleset, "source": source, "base_hash": base,
                "message": message, "activate_on": activate_on,
            });
            let draft = client.send("POST", "/api/v1/drafts", Some(&body))?;
            Ok(if json {
                pretty(&draft)
            } else {
                submitted_text(&draft)
            })
        }
        DraftCommand::List { ruleset, status } => {
            let drafts = all_pages(&client, &list_path(ruleset, status))?;
            Ok(if json {
                pretty(&drafts)
            } else {
                list_text(&drafts)
            })
        }
        DraftCommand::Show { id } => {
            let draft = client.send("GET", &format!("/api/v1/drafts/{id}"), None)?;
            if json {
                return Ok(pretty(&draft));
            }
            Ok(show_text(&draft, || {
                client.send("GET", &format!("/api/v1/drafts/{id}/diff"), None)
            }))
        }
        DraftCommand::Diff { id } => {
            let diff = client.send("GET", &format!("/api/v1/drafts/{id}/diff"), None)?;
            Ok(if json {
                pretty(&diff)
            } else {
                diff["text"].as_str().unwrap_or_default().to_owned()
            })
        }
        DraftCommand::Impact { id, as_of, top } => {
            let mut query = Vec::new();
            if let Some(day) = as_of {
                query.push(format!("as_of={day}"));
            }
            if let Some(top) = top {
                query.push(format!("top={top}"));
            }
            let mut path = format!("/api/v1/drafts/{id}/impact");
            if !query.is_empty() {
                path = format!("{path}?{}", query.join("&"));
            }
            let impact = client.send("GET", &path, None)?;
            Ok(if json {
                pretty(&impact)
            } else {
                impact["text"].as_str().unwrap_or_default().to_owned()
            })
        }
        DraftCommand::Approve {
            id,
            comment,
            activate_on,
        } => {
            let body = json!({ "comment": comment, "activate_on": activate_on });
            let path = format!("/api/v1/drafts/{id}/approve");
            let answer = client.send("POST", &path, Some(&body))?;
            Ok(if json {
                pretty(&answer)
            } else {
                approved_text(&answer)
            })
        }
        DraftCommand::Reject { id, comment } => {
            let body = json!({ "comment": comment });
            let path = format!("/api/v1/drafts/{id}/reject");
            let draft = client.send("POST", &path, Some(&body))?;
            Ok(if json {
                pretty(&draft)
            } else {
                decided_text("rejected", &draft)
            })
        }
        DraftCommand::Withdraw { id, comment } => {
            let body = json!({ "comment": comment });
            let path = format!("/api/v1/drafts/{id}/withdraw");
            let draft = client.send("POST", &path, Some(&body))?;
            Ok(if json {
                pretty(&draft)
            } else {
                decided_text("withdrew", &draft)
            })
        }
    }
}

fn token(given: Option<&str>) -> Result<String, DraftCliError> {
    given
        .map(str::to_owned)
        .or_else(|| std::env::var(TOKEN_VARIABLE).ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            DraftCliError::Local(format!(
                "no token: give --token TOKEN or set {TOKEN_VARIABLE} (a fresh server writes one \
                 per role to data/dev-tokens.txt)"
            ))
        })
}

fn read_source(file: &Path) -> Result<String, DraftCliError> {
    std::fs::read_to_string(file)
        .map_err(|e| DraftCliError::Local(format!("cannot read `{}`: {e}", file.display())))
}

/// The rule-set id in the file's header.
fn declared_id(file: &Path, source: &str) -> Result<String, DraftCliError> {
    let parsed = crate::syntax::parse(&crate::source::SourceFile::new(
        file.display().to_string(),
        source,
    ));
    match parsed {
        Ok(ast) => Ok(ast.header.id.value),
        Err(d) => Err(DraftCliError::Local(format!(
            "`{}` does not parse, so its rule-set id is unknown (give --ruleset ID to let the \
             server report every error):\n{}",
            file.display(),
            super::show(
                &d,
                crate::diagnostic::Lang::of_source(source).unwrap_or_default()
            )
        ))),
    }
}

fn list_path(ruleset: &Option<String>, status: &Option<String>) -> String {
    let mut query = Vec::new();
    if let Some(id) = ruleset {
        query.push(format!("ruleset={}", encode_query(id)));
    }
    if let Some(status) = status {
        query.push(format!("status={}", encode_query(status)));
    }
    if query.is_empty() {
        "/api/v1/drafts".to_owned()
    } else {
        format!("/api/v1/drafts?{}", query.join("&"))
    }
}

/// Every item of a paged list (`{items, next_cursor}`), following the cursors.
fn all_pages(client: &Client, path: &str) -> Result<serde_json::Value, DraftCliError> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let separator = if path.contains('?') { '&' } else { '?' };
        let page_path = match &cursor {
            Some(c) => format!("{path}{separator}limit=1000&cursor={}", encode_query(c)),
            None => format!("{path}{separator}limit=1000"),
        };
        let page = client.send("GET", &page_path, None)?;
        items.extend(page["items"].as_array().cloned().unwrap_or_default());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return Ok(serde_json::Value::Array(items)),
        }
    }
}

/// Percent-encodes a query value (rule-set ids are ASCII or Chinese).
fn encode_query(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The HTTP client
// ---------------------------------------------------------------------------------------------

struct Client {
    agent: ureq::Agent,
    base: String,
    token: String,
    /// Sent as `Accept-Language`, so the server's diagnostics come in this language.
    lang: Option<crate::diagnostic::Lang>,
}

impl Client {
    fn new(server: &str, token: String) -> Result<Client, DraftCliError> {
        let base = server.trim_end_matches('/').to_owned();
        if !base.starts_with("http://") {
            return Err(DraftCliError::Local(format!(
                "--server `{server}` must be an http:// URL, e.g. http://127.0.0.1:8080 (this \
                 build speaks plain HTTP; put a TLS proxy in front of the server for https)"
            )));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .into();
        Ok(Client {
            agent,
            base,
            token,
            lang: super::chosen_lang(),
        })
    }

    /// Sends a request and returns the JSON answer of a 2xx response.
    fn send(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value, DraftCliError> {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.token);
        let lang = self.lang.unwrap_or_default().code();
        let response = match (method, body) {
            ("GET", _) => self
                .agent
                .get(&url)
                .header("Authorization", &auth)
                .header("Accept-Language", lang)
                .call(),
            (_, Some(body)) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .header("Accept-Language", lang)
                .send_json(body),
            (_, None) => self
                .agent
                .post(&url)
                .header("Authorization", &auth)
                .header("Accept-Language", lang)
                .send_empty(),
        };
        let mut response = response.map_err(|e| DraftCliError::Unreachable {
            url: self.base.clone(),
            reason: e.to_string(),
        })?;
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .read_to_string()
            .map_err(|e| DraftCliError::BadAnswer {
                url: url.clone(),
                status,
                reason: format!("cannot read the body: {e}"),
            })?;
        let value: Value = serde_json::from_str(&text).map_err(|_| DraftCliError::BadAnswer {
            url: url.clone(),
            status,
            reason: format!("not JSON: {}", text.chars().take(200).collect::<String>()),
        })?;
        if (200..300).contains(&status) {
            Ok(value)
        } else if value.get("title").is_some() || value.get("detail").is_some() {
            Err(DraftCliError::Refused {
                status,
                problem: value,
            })
        } else {
            Err(DraftCliError::BadAnswer {
                url,
                status,
                reason: text.chars().take(200).collect(),
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------------------------

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default() + "\n"
}

fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value[field].as_str().unwrap_or("")
}

/// A UTC time from the API shown in Asia/Shanghai, e.g. `2024-06-01 10:00 +08:00`.
fn local_time(value: &Value) -> String {
    value
        .as_str()
        .and_then(|t| t.parse::<DateTime<Utc>>().ok())
        .map(|t| {
            t.with_timezone(&shanghai())
                .format("%Y-%m-%d %H:%M %:z")
                .to_string()
        })
        .unwrap_or_else(|| value.to_string())
}

/// `problem+json` as the user reads it: title and status, detail, then diagnostics and
/// per-item errors.
fn render_problem(status: &u16, problem: &Value) -> String {
    let mut out = format!(
        "the server refused: {} (HTTP {status}, {})\n  {}",
        text(problem, "title"),
        text(problem, "code"),
        text(problem, "detail")
    );
    for d in problem["diagnostics"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n  {}:{}:{}: {}[{}]: {}",
            text(d, "file"),
            d["line"],
            d["col"],
            text(d, "severity"),
            text(d, "code"),
            text(d, "message")
        ));
        if let Some(help) = d["help"].as_str() {
            out.push_str(&format!("\n      = help: {help}"));
        }
    }
    for e in problem["errors"].as_array().into_iter().flatten() {
        out.push_str(&format!("\n  {}: {}", text(e, "at"), text(e, "message")));
    }
    out
}

fn status_of(draft: &Value) -> String {
    format!("{} {}", text(draft, "status"), text(draft, "status_label"))
}

fn submitted_text(draft: &Value) -> String {
    let id = &draft["id"];
    let mut out = format!(
        "submitted draft #{id} of `{}` ({}); the city office reviews it: credit-rules draft show {id}\n",
        text(draft, "ruleset"),
        status_of(draft)
    );
    if let Some(day) = draft["activate_on"].as_str() {
        out.push_str(&format!(
            "once approved it becomes active on {day} (Asia/Shanghai)\n"
        ));
    }
    for w in draft["warnings"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "warning[{}]: {} (line {})\n",
            text(w, "code"),
            text(w, "message"),
            w["line"]
        ));
    }
    out
}

fn list_text(drafts: &Value) -> String {
    let rows = drafts
        .as_array()
        .or_else(|| drafts["items"].as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    if rows.is_empty() {
        return "no drafts\n".to_owned();
    }
    let cells: Vec<[String; 3]> = rows
        .iter()
        .map(|d| {
            [
                format!("#{}", d["id"]),
                text(d, "ruleset").to_owned(),
                status_of(d),
            ]
        })
        .collect();
    let widths: [usize; 3] = std::array::from_fn(|i| {
        cells
            .iter()
            .map(|c| c[i].as_str().width())
            .max()
            .unwrap_or(0)
    });
    let mut out = String::new();
    for (d, cells) in rows.iter().zip(&cells) {
        let activate = d["activate_on"]
            .as_str()
            .map(|day| format!("  activate on {day}"))
            .unwrap_or_default();
        let [id, ruleset, status] = cells;
        out.push_str(&format!(
            "{} {} {} {}  {}{activate}  {}\n",
            pad(id, widths[0]),
            pad(ruleset, widths[1]),
            pad(status, widths[2]),
            local_time(&d["submitted_at"]),
            text(&d["author"], "name"),
            text(d, "message"),
        ));
        if let Some(others) = other_pending_text(d) {
            out.push_str(&others);
        }
    }
    out
}

/// `text` followed by spaces up to `width` terminal columns (a Chinese character takes two).
fn pad(text: &str, width: usize) -> String {
    let fill = width.saturating_sub(text.width());
    format!("{text}{}", " ".repeat(fill))
}

/// The reviewer's warning that other drafts of the same rule set are pending too, if any.
fn other_pending_text(draft: &Value) -> Option<String> {
    let others: Vec<String> = draft["other_pending"]
        .as_array()?
        .iter()
        .map(|id| format!("#{id}"))
        .collect();
    (!others.is_empty()).then(|| {
        format!(
            "      ! other pending draft(s) of `{}`: {} (approving one makes the others stale)\n",
            text(draft, "ruleset"),
            others.join(", ")
        )
    })
}

fn history_text(draft: &Value) -> String {
    let mut out = String::from("history:\n");
    for e in draft["events"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {}  {:<10} {}",
            local_time(&e["time"]),
            text(e, "action"),
            text(&e["actor"], "name")
        ));
        if let Some(day) = e["activate_on"].as_str() {
            out.push_str(&format!("  (activate on {day})"));
        }
        if let Some(hash) = e["version_hash"].as_str() {
            out.push_str(&format!("  version {}", short(hash)));
        }
        if let Some(comment) = e["comment"].as_str() {
            out.push_str(&format!("\n      「{comment}」"));
        }
        out.push('\n');
    }
    out
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

fn show_text(draft: &Value, fetch_diff: impl FnOnce() -> Result<Value, DraftCliError>) -> String {
    let mut out = format!(
        "draft #{} of `{}`: {}\n  author:    {}\n  submitted: {}\n  message:   {}\n",
        draft["id"],
        text(draft, "ruleset"),
        status_of(draft),
        text(&draft["author"], "name"),
        local_time(&draft["submitted_at"]),
        text(draft, "message"),
    );
    if let Some(day) = draft["activate_on"].as_str() {
        out.push_str(&format!("  activate:  {day} (Asia/Shanghai)\n"));
    }
    if let Some(base) = draft["base_hash"].as_str() {
        let current = match draft["base_is_current"].as_bool() {
            Some(true) => " (still the active version)",
            Some(false) => " (NO LONGER the active version: approving it will fail)",
            None => "",
        };
        out.push_str(&format!("  base:      {}{current}\n", short(base)));
    }
    if let Some(others) = other_pending_text(draft) {
        out.push_str(&others);
    }
    out.push_str(&history_text(draft));
    if matches!(text(draft, "status"), "pending" | "approved") {
        out.push('\n');
        match fetch_diff() {
            Ok(diff) => out.push_str(text(&diff, "text")),
            Err(e) => out.push_str(&format!("(the diff is not available: {e})\n")),
        }
        out.push_str(&format!(
            "\nits effect on outcomes: credit-rules draft impact {} [--as-of YYYY-MM-DD]\n",
            draft["id"]
        ));
    }
    out
}

fn approved_text(answer: &Value) -> String {
    let draft = &answer["draft"];
    let id = &draft["id"];
    match text(draft, "status") {
        "active" => {
            // The version identity (`meta.hash`), as evaluation answers show it and every
            // command accepts it back.
            let version = answer["published"]["meta"]["hash"]
                .as_str()
                .or_else(|| draft["published_hash"].as_str())
                .unwrap_or("?");
            let dependents = answer["published"]["dependents"]
                .as_array()
                .map_or(0, Vec::len);
            format!(
                "approved draft #{id}: `{}` is now active as version {version} ({dependents} \
                 dependent rule set(s) recompiled)\n",
                text(draft, "ruleset")
            )
        }
        _ => format!(
            "approved draft #{id}: `{}` becomes active on {} (Asia/Shanghai)\n",
            text(draft, "ruleset"),
            text(draft, "activate_on")
        ),
    }
}

fn decided_text(verb: &str, draft: &Value) -> String {
    format!(
        "{verb} draft #{} of `{}` ({})\n",
        draft["id"],
        text(draft, "ruleset"),
        status_of(draft)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problems_print_title_detail_and_diagnostics() {
        let problem = json!({
            "title": "Unprocessable Entity", "status": 422, "code": "ruleset_invalid",
            "detail": "the rule set has 1 error(s); see `diagnostics`",
            "diagnostics": [{ "file": "water.rules", "line": 3, "col": 9, "severity": "error",
                              "code": "E0201", "message": "unknown record kind `行政处法`",
                              "help": "did you mean `行政处罚`?" }]
        });
        let text = render_problem(&422, &problem);
        assert!(
            text.contains("Unprocessable Entity (HTTP 422, ruleset_invalid)"),
            "{text}"
        );
        assert!(text.contains("water.rules:3:9: error[E0201]"), "{text}");
        assert!(text.contains("help: did you mean `行政处罚`?"), "{text}");
    }

    #[test]
    fn times_show_in_shanghai_and_queries_are_encoded() {
        assert_eq!(
            local_time(&json!("2024-08-31T16:00:00Z")),
            "2024-09-01 00:00 +08:00"
        );
        assert_eq!(
            list_path(&Some("water".into()), &Some("待审核".into())),
            "/api/v1/drafts?ruleset=water&status=%E5%BE%85%E5%AE%A1%E6%A0%B8"
        );
        assert_eq!(list_path(&None, &None), "/api/v1/drafts");
    }

    #[test]
    fn the_list_is_aligned_by_display_width() {
        let drafts = json!([
            { "id": 1, "ruleset": "water", "status": "pending", "status_label": "待审核",
              "submitted_at": "2026-12-01T02:00:00Z", "author": { "name": "水务局" },
              "message": "m" },
            { "id": 12, "ruleset": "水务.补充", "status": "approved",
              "status_label": "已批准待生效", "submitted_at": "2026-12-01T02:00:00Z",
              "author": { "name": "x" }, "message": "m" },
        ]);
        let text = list_text(&drafts);
        let columns: Vec<usize> = text
            .lines()
            .map(|line| {
                let end = line.find("2026-12-01").expect("time column");
                line[..end].width()
            })
            .collect();
        assert_eq!(columns.len(), 2, "{text}");
        assert_eq!(columns[0], columns[1], "{text}");
    }

    #[test]
    fn https_and_missing_tokens_are_refused_before_any_request() {
        assert!(matches!(
            Client::new("https://example.org", "t".into()),
            Err(DraftCliError::Local(_))
        ));
        assert!(matches!(token(Some("  ")), Err(DraftCliError::Local(_))));
    }
}
