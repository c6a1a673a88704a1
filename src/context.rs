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

/// The facts of one tender call; every field may be absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenderContext {
    /// The project type, e.g. `施工`.
    pub project_type: Option<String>,
    /// The sector, e.g. `水务`.
    pub sector: Option<String>,
    /// The budget in yuan.
    pub budget: Option<Decimal>,
}

impl TenderContext {
    /// No context at all: every field missing.
    pub const NONE: TenderContext = TenderContext {
        project_type: None,
        sector: None,
        budget: None,
    };

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
