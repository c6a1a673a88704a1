//! Diff cases: `cases/diff/<case>/{old,new}/*.rules`, each side a rule set
//! (the one no other file of its folder extends) with the bases beside it,
//! or the shipped `city.base`. The text and JSON forms are snapshotted;
//! cases named `reorder` or `same-meaning-…` must come out empty, all others
//! not.

use crate::common::source;
use credit_rules::diff::{RuleSetDiff, diff, diff_workspaces};
use credit_rules::ruleset::{Workspace, rule_files};
use std::path::Path;

/// The rule set of `folder`, with the shipped city base unless the folder has its own.
fn load_side(folder: &Path) -> (Workspace, String) {
    let mut workspace = Workspace::new();
    let files = rule_files(folder).unwrap_or_else(|d| panic!("{}", d.render()));
    for file in &files {
        workspace.add_source(source(file), Some(file.clone()));
    }
    assert!(workspace.errors.is_empty(), "{}", workspace.errors.render());
    let ids = workspace.ids();
    let extended: Vec<String> = ids
        .iter()
        .filter_map(|id| workspace.library.get(id))
        .filter_map(|(_, ast)| ast.header.extends.as_ref().map(|e| e.value.clone()))
        .collect();
    let leaves: Vec<&String> = ids.iter().filter(|id| !extended.contains(id)).collect();
    let [leaf] = leaves.as_slice() else {
        panic!(
            "{}: expected one rule set that no other extends, found {leaves:?}",
            folder.display()
        );
    };
    let leaf = leaf.to_string();
    if workspace.library.get("city.base").is_none() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("rulesets/city/base.rules");
        workspace.add_source(source(&base), Some(base));
    }
    (workspace, leaf)
}

fn diff_case(case: &Path) -> RuleSetDiff {
    let (old, old_id) = load_side(&case.join("old"));
    let (new, new_id) = load_side(&case.join("new"));
    diff_workspaces(&old, &old_id, &new, &new_id)
        .unwrap_or_else(|e| panic!("{e}:\n{}", e.diagnostics().render()))
}

#[test]
fn diff_cases() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/cases"),
        "diff/*",
        |case| {
            let diff = diff_case(case);
            let name = case.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let same = name == "reorder" || name.starts_with("same-meaning");
            assert_eq!(diff.is_empty(), same, "{name}:\n{}", diff.render_text());
            // The hashes cover the shipped city base, which the cases do not own.
            let text = hide_hashes(&diff.render_text(), &diff);
            insta::assert_snapshot!("text", text);
            insta::assert_json_snapshot!("json", diff, {
                ".*.hash" => "[chain hash]",
                ".*.chain[].source_hash" => "[source hash]",
            });
        }
    );
}

fn hide_hashes(text: &str, diff: &RuleSetDiff) -> String {
    let mut text = text.to_string();
    for hash in [&diff.old.hash, &diff.new.hash] {
        text = text.replace(&hash[..12], "[chain hash]");
    }
    text
}

/// The hashes name what evaluation reports and what the store keys versions by.
#[test]
fn hashes_match_evaluation_reports_and_stored_versions() {
    let workspace = crate::common::shipped();
    let checked = credit_rules::check::check(&workspace.library, "water")
        .unwrap_or_else(|d| panic!("{}", d.render()));
    let same = diff(&checked, &checked);
    assert!(same.is_empty());
    let program = workspace
        .compile("water")
        .unwrap_or_else(|d| panic!("{}", d.render()));
    assert_eq!(same.new.hash, program.meta.hash);
    for (link, file) in same.new.chain.iter().zip(&checked.chain) {
        assert_eq!(
            link.source_hash,
            credit_rules::store::source_hash(&file.text)
        );
    }
}
