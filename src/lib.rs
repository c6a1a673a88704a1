//! credit-rules: the credit rules of public resource trading (公共资源交易信用规则).
//!
//! Sector bureaus write qualification vetoes (否决), scoring clauses (评分) and
//! flags (提示) in a small language, on top of city-wide rules they cannot
//! weaken. The pipeline follows the modules:
//!
//! source text → [`syntax`] (parse) → [`ast`] → [`check`] (names, types, inheritance)
//! → [`ir`] → [`compile`] → [`eval`] (records × as-of date → outcome → report).
//!
//! ```
//! use credit_rules::record::{CreditRecord, RecordKind, Uscc};
//! use credit_rules::ruleset::Workspace;
//! use credit_rules::source::SourceFile;
//! use chrono::NaiveDate;
//!
//! let mut workspace = Workspace::new();
//! workspace.add_source(SourceFile::new("demo.rules", r#"
//!     ruleset demo { title "示例" version "1" effective 2020-01-01 unit "示例局" total 3 }
//!     veto 失信被执行人 {
//!       wording "被列为失信被执行人的，否决其投标"
//!       when any(records where kind = 失信被执行人)
//!     }
//!     score 不良记录 {
//!       wording "近12个月每条不良行为记录扣1分，最多扣3分"
//!       points 3 - count(records where kind = 不良行为记录 and within 12 months)
//!       cap 3
//!       floor 0
//!     }
//! "#), None);
//! let program = workspace.compile("demo").expect("the rule set checks");
//!
//! let uscc = Uscc::parse("91420100MA4K3Q7T13").expect("a valid USCC");
//! let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
//! let records = vec![CreditRecord::new("B1", uscc, RecordKind::BadBehaviour, day("2024-01-10"))];
//!
//! let outcome = program.evaluate(&records, day("2024-06-01"));
//! let report = outcome.report(&program, &records);
//! assert_eq!(report.decision, credit_rules::eval::Decision::Eligible);
//! assert_eq!(report.total.to_string(), "2.00");
//! assert_eq!(report.scores[0].records[0].id, "B1");
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ast;
pub mod authoring;
pub mod budget;
pub mod check;
pub mod cli;
pub mod compile;
pub mod console;
pub mod context;
pub mod demo;
pub mod diagnostic;
pub mod diff;
pub mod eval;
pub mod fmt;
pub mod fold;
pub mod http;
pub mod impact;
pub mod impact_store;
pub mod import;
pub mod intake;
pub mod ir;
pub mod receipt;
pub mod record;
pub mod registry;
pub mod render;
pub mod replay;
pub mod review;
pub mod ruleset;
pub mod shipped;
pub mod site;
pub mod source;
pub mod store;
pub mod sync;
pub mod syntax;
pub mod tender;
pub mod testing;
pub mod version_ref;
