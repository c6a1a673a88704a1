//! The pest parser generated from `grammar/credit.pest`.

use pest_derive::Parser;

/// The generated parser. Its `Rule` enum names grammar rules, not credit rules.
#[derive(Parser)]
// Resolved relative to CARGO_MANIFEST_DIR (pest ≥ 2.3.1), despite pest_derive's docs saying `src/`.
#[grammar = "grammar/credit.pest"]
pub(crate) struct DslParser;
