//! The one integration test binary (it links the crate once; cargo finds it as
//! `tests/integration/main.rs`): data-driven cases under `tests/cases/`
//! snapshotted with insta, the store, intake, sync and durability tests, the
//! property tests, the HTTP API and the CLI. New integration tests go here as
//! modules, never as new files directly under `tests/` (each would link the
//! whole crate again).

mod common;

/// The hand-written water evaluator the engine is measured against (shared with the bench).
#[path = "../../benches/baseline/mod.rs"]
mod baseline;

mod alloc_free;
mod authoring;
mod backup;
mod browser;
mod check;
mod cli;
mod connections;
mod console;
mod cursor_swap;
mod definitions;
mod diagnostics_zh;
mod diff;
mod disclosure;
mod disclosure_http;
mod docx;
mod durability;
mod eval;
mod eval_baseline;
mod fmt_roundtrip;
mod guide;
mod hardening;
mod hostile;
mod http;
mod impact;
mod impact_ranges;
mod intake;
mod legality;
mod limits;
mod parse;
mod pg_scale;
mod props;
mod receipt_verify;
mod render;
mod replay;
mod replicas;
mod review;
mod scale_out;
mod service;
mod site;
mod store;
mod store_cli;
mod store_drafts;
mod sync;
mod tender_document;
mod tender_rules;
mod version_identity;
