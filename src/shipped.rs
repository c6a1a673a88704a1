//! The rule sets shipped in `rulesets/`, embedded in the binary, so that `credit-rules serve`
//! seeds a fresh store and the CLI finds the city base and the sector rule sets when it runs
//! outside the checkout (after `cargo install --path .`).
//!
//! The folder name `rulesets` (the default of `serve --rulesets` and of every `--lib`) names
//! these embedded copies **when no such folder exists** in the working directory; a folder
//! that exists (the checkout, or `--rulesets DIR` / `--lib DIR`) is always read instead. A
//! test keeps this list equal to the files under `rulesets/`.

use std::path::{Path, PathBuf};

/// The default rule-set folder.
pub const DEFAULT_FOLDER: &str = "rulesets";

/// Every shipped rule file: its path under `rulesets/` and its text.
pub const SHIPPED_RULESETS: &[(&str, &str)] = &[
    (
        "agriculture/agriculture.rules",
        include_str!("../rulesets/agriculture/agriculture.rules"),
    ),
    (
        "city/base.rules",
        include_str!("../rulesets/city/base.rules"),
    ),
    (
        "civil-defence/civil-defence.rules",
        include_str!("../rulesets/civil-defence/civil-defence.rules"),
    ),
    (
        "construction/construction.rules",
        include_str!("../rulesets/construction/construction.rules"),
    ),
    (
        "economy-it/economy-it.rules",
        include_str!("../rulesets/economy-it/economy-it.rules"),
    ),
    (
        "finance/finance.rules",
        include_str!("../rulesets/finance/finance.rules"),
    ),
    (
        "gardens/gardens.rules",
        include_str!("../rulesets/gardens/gardens.rules"),
    ),
    (
        "health/health.rules",
        include_str!("../rulesets/health/health.rules"),
    ),
    (
        "housing/housing.rules",
        include_str!("../rulesets/housing/housing.rules"),
    ),
    (
        "natural-resources/natural-resources.rules",
        include_str!("../rulesets/natural-resources/natural-resources.rules"),
    ),
    (
        "sasac/sasac.rules",
        include_str!("../rulesets/sasac/sasac.rules"),
    ),
    (
        "traffic-police/traffic-police.rules",
        include_str!("../rulesets/traffic-police/traffic-police.rules"),
    ),
    (
        "transport/transport.rules",
        include_str!("../rulesets/transport/transport.rules"),
    ),
    (
        "urban-management/urban-management.rules",
        include_str!("../rulesets/urban-management/urban-management.rules"),
    ),
    (
        "water/water.rules",
        include_str!("../rulesets/water/water.rules"),
    ),
];

/// The embedded rule files as `(rulesets/…, text)`, when `path` is the default folder name
/// and no such folder exists; `None` otherwise (read the disk).
pub fn embedded_for(path: &Path) -> Option<Vec<(PathBuf, String)>> {
    (path == Path::new(DEFAULT_FOLDER) && !path.exists()).then(|| {
        SHIPPED_RULESETS
            .iter()
            .map(|(file, text)| (Path::new(DEFAULT_FOLDER).join(file), (*text).to_owned()))
            .collect()
    })
}
