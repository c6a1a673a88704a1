//! The rule editor's assets, embedded in the binary: the script and style sheet that turn the
//! authoring page's text field into the editor (`assets/console/`), and their URLs with a
//! content hash, so they can be cached for a year. Served by `http::authoring`.

use crate::site::pages::asset_version;
use std::sync::LazyLock;

/// The editor's script: plain JavaScript, no build step.
pub const EDITOR_SCRIPT: &str = include_str!("../../assets/console/editor.js");

/// The editor's style sheet.
pub const EDITOR_STYLESHEET: &str = include_str!("../../assets/console/editor.css");

/// Content hash of [`EDITOR_SCRIPT`], the `?v=` of its URL.
pub static EDITOR_SCRIPT_VERSION: LazyLock<String> = LazyLock::new(|| asset_version(EDITOR_SCRIPT));

/// Content hash of [`EDITOR_STYLESHEET`], the `?v=` of its URL.
pub static EDITOR_STYLESHEET_VERSION: LazyLock<String> =
    LazyLock::new(|| asset_version(EDITOR_STYLESHEET));

/// The URL of the editor's script, with its content hash.
pub fn editor_script_href() -> String {
    format!("/assets/console/editor.js?v={}", *EDITOR_SCRIPT_VERSION)
}

/// The URL of the editor's style sheet, with its content hash.
pub fn editor_stylesheet_href() -> String {
    format!(
        "/assets/console/editor.css?v={}",
        *EDITOR_STYLESHEET_VERSION
    )
}
