//! One integration binary (it links once; cargo finds it as
//! `tests/integration/main.rs`): data-driven cases under `tests/cases/`
//! snapshotted with insta, plus limits and CLI tests.

mod common;

mod check;
mod cli;
mod diff;
mod eval;
mod http;
mod impact;
mod limits;
mod parse;
mod review;
