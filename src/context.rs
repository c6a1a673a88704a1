//! The tender context (项目信息): facts of the tender call a rule set is used
//! in — the project type, the sector and the budget — that clauses may read as
//! `tender.project_type` / `项目.类型`, `tender.sector` / `项目.行业` and
//! `tender.budget` / `项目.预算`, e.g. a clause only for construction projects
//! above 4 million yuan.
//!
//! A field the caller did not give is a missing value, so the language's
//! missing-value rule applies: a comparison with it is false, and a clause
//! guarded on the budget does not fire without a budget (`otherwise` gives a default).

use crate::ir::{Base, Ty, Value};
use rust_decimal::Decimal;

/// The prefixes of a context reference: `tender.` and `项目.`.
pub const PREFIXES: &[&str] = &["tender", "项目"];

/// One field of the tender context.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContextField {
    /// The project type (项目类型), e.g. `施工`, as the tender call gives it.
    ProjectType,
    /// The sector (行业), e.g. `水务`.
    Sector,
    /// The budget (预算) in yuan.
    Budget,
}

/// Context field names as authors write them: English first, then Chinese.
pub const CONTEXT_FIELD_NAMES: &[(&str, ContextField)] = &[
    ("project_type", ContextField::ProjectType),
    ("类型", ContextField::ProjectType),
    ("项目类型", ContextField::ProjectType),
    ("sector", ContextField::Sector),
    ("行业", ContextField::Sector),
    ("budget", ContextField::Budget),
    ("预算", ContextField::Budget),
];

impl ContextField {
    /// Looks a field up by any of its names (without the prefix).
    pub fn from_name(name: &str) -> Option<ContextField> {
        CONTEXT_FIELD_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    /// Splits `tender.budget` / `项目.预算` into the field name, if the prefix is one.
    pub fn split(written: &str) -> Option<&str> {
        let (prefix, field) = written.split_once('.')?;
        PREFIXES.contains(&prefix).then_some(field)
    }

    /// The field's static type: always possibly missing.
    pub fn ty(self) -> Ty {
        match self {
            ContextField::ProjectType | ContextField::Sector => Ty::maybe(Base::Text),
            ContextField::Budget => Ty::maybe(Base::Number),
        }
    }

    /// The canonical English name, e.g. `tender.budget`.
    pub fn english(self) -> &'static str {
        match self {
            ContextField::ProjectType => "tender.project_type",
            ContextField::Sector => "tender.sector",
            ContextField::Budget => "tender.budget",
        }
    }

    /// The Chinese name as a tender document words it, e.g. `项目预算`.
    pub fn label(self) -> &'static str {
        match self {
            ContextField::ProjectType => "项目类型",
            ContextField::Sector => "项目行业",
            ContextField::Budget => "项目预算（元）",
        }
    }

    /// Reads the field of `context`; missing when the caller did not give it.
    pub fn read(self, context: &TenderContext) -> Value<'_> {
        match self {
            ContextField::ProjectType => context
                .project_type
                .as_deref()
                .map_or(Value::Missing, Value::Text),
            ContextField::Sector => context
                .sector
                .as_deref()
                .map_or(Value::Missing, Value::Text),
            ContextField::Budget => context.budget.map_or(Value::Missing, Value::Number),
        }
    }
}

/// No tender context: what [`crate::compile::CompiledRuleSet::evaluate`] evaluates with.
pub static NO_CONTEXT: TenderContext = TenderContext::NONE;

/// The longest text a context field may hold, in characters.
pub const MAX_CONTEXT_TEXT: usize = 200;

/// The facts of one tender call; every field may be absent. As JSON (the API's
/// `context`, the decision log): `{"project_type": "施工", "sector": "水务",
/// "budget": "5000000"}` (the budget a decimal number or string, in yuan).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct TenderContext {
    /// The project type, e.g. `施工` (at most 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_type: Option<String>,
    /// The sector, e.g. `水务` (at most 200 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sector: Option<String>,
    /// The budget in yuan, 0 or more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, example = "5000000")]
    pub budget: Option<Decimal>,
}

/// A context field that cannot be used: which one, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the tender context's `{field}` {problem}")]
pub struct ContextError {
    /// The field, e.g. `budget`.
    pub field: &'static str,
    /// What is wrong and how to fix it.
    pub problem: String,
}

impl TenderContext {
    /// No context at all: every field missing.
    pub const NONE: TenderContext = TenderContext {
        project_type: None,
        sector: None,
        budget: None,
    };

    /// Checks what a caller gave: a budget of 0 or more, texts of 1 to 200 characters.
    pub fn validate(&self) -> Result<(), ContextError> {
        if let Some(budget) = self.budget
            && budget.is_sign_negative()
            && !budget.is_zero()
        {
            return Err(ContextError {
                field: "budget",
                problem: format!("is {budget}: give the budget in yuan, 0 or more"),
            });
        }
        for (field, text) in [
            ("project_type", &self.project_type),
            ("sector", &self.sector),
        ] {
            let Some(text) = text else { continue };
            let chars = text.chars().count();
            if text.trim().is_empty() || chars > MAX_CONTEXT_TEXT {
                return Err(ContextError {
                    field,
                    problem: format!(
                        "has {chars} characters: give 1 to {MAX_CONTEXT_TEXT}, or leave it out"
                    ),
                });
            }
        }
        Ok(())
    }

    /// Is any field given?
    pub fn is_empty(&self) -> bool {
        self.project_type.is_none() && self.sector.is_none() && self.budget.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_in_both_languages() {
        assert_eq!(ContextField::split("tender.budget"), Some("budget"));
        assert_eq!(ContextField::split("项目.预算"), Some("预算"));
        assert_eq!(ContextField::split("other.budget"), None);
        assert_eq!(ContextField::from_name("预算"), Some(ContextField::Budget));
        assert_eq!(
            ContextField::from_name("project_type"),
            Some(ContextField::ProjectType)
        );
        assert_eq!(ContextField::from_name("budjet"), None);
    }

    #[test]
    fn validation_names_the_field() {
        let negative = TenderContext {
            budget: Some(Decimal::from(-1)),
            ..TenderContext::default()
        };
        assert_eq!(negative.validate().map_err(|e| e.field), Err("budget"));
        let long = TenderContext {
            sector: Some("水".repeat(201)),
            ..TenderContext::default()
        };
        assert_eq!(long.validate().map_err(|e| e.field), Err("sector"));
        let empty = TenderContext {
            project_type: Some(" ".into()),
            ..TenderContext::default()
        };
        assert_eq!(empty.validate().map_err(|e| e.field), Err("project_type"));
        let fine = TenderContext {
            project_type: Some("施工".into()),
            sector: Some("水".repeat(200)),
            budget: Some(Decimal::ZERO),
        };
        assert_eq!(fine.validate(), Ok(()));
    }

    #[test]
    fn absent_fields_read_as_missing() {
        let none = TenderContext::NONE;
        assert_eq!(ContextField::Budget.read(&none), Value::Missing);
        let ctx = TenderContext {
            project_type: Some("施工".into()),
            sector: None,
            budget: Some(Decimal::from(5_000_000)),
        };
        assert_eq!(ContextField::ProjectType.read(&ctx), Value::Text("施工"));
        assert_eq!(ContextField::Sector.read(&ctx), Value::Missing);
        assert_eq!(
            ContextField::Budget.read(&ctx),
            Value::Number(Decimal::from(5_000_000))
        );
    }
}
