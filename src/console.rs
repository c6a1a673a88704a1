//! The staff console (工作台) at `/console`: sign-in with a role token for a session cookie
//! ([`session`]), and the page models of the console's askama templates
//! (`templates/console/`): rule sets, authoring, review, evaluation and operations. Free of
//! axum: the handlers live in `http::console`, and every console action goes through the
//! same authorisation code as the API (`http::auth`).

pub mod editor;
pub mod evaluate;
pub mod highlight;
pub mod log;
pub mod ops;
pub mod pages;
pub mod review;
pub mod rulesets;
pub mod session;

/// The console's stylesheet (on top of the site's), embedded in the binary.
pub const CONSOLE_STYLESHEET: &str = include_str!("../assets/console.css");
