//! `docs/authoring-guide.md` stays true: every ```rules block in it is a
//! complete rule file that parses, checks without errors or warnings (beside
//! the shipped city base, so examples may `extends city.base`) and passes its
//! own tests; and every diagnostic code the crate can emit is explained.

use credit_rules::ruleset::Workspace;
use credit_rules::source::SourceFile;
use credit_rules::testing::run_tests;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn guide() -> String {
    std::fs::read_to_string(Path::new(ROOT).join("docs/authoring-guide.md"))
        .expect("the guide is readable")
}

/// The ```rules blocks of the guide, each with the line its text starts on.
fn rules_blocks(markdown: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in markdown.lines().enumerate() {
        match &mut current {
            None if line.trim_end() == "```rules" => current = Some((i + 2, String::new())),
            None => {}
            Some(_) if line.trim_end() == "```" => blocks.extend(current.take()),
            Some((_, text)) => {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    assert!(current.is_none(), "a ```rules block is not closed");
    blocks
}

#[test]
fn every_rules_example_checks_and_passes_its_tests() {
    let markdown = guide();
    let blocks = rules_blocks(&markdown);
    assert!(blocks.len() >= 2, "the guide has rule examples");
    let base = std::fs::read_to_string(Path::new(ROOT).join("rulesets/city/base.rules"))
        .expect("the city base is readable");
    for (line, text) in &blocks {
        let name = format!("docs/authoring-guide.md:{line}");
        // Blank lines in front make diagnostics point at the guide's own lines.
        let padded = format!("{}{text}", "\n".repeat(line - 1));
        let mut workspace = Workspace::new();
        let id = workspace.add_source(SourceFile::new("docs/authoring-guide.md", padded), None);
        let Some(id) = id else {
            panic!(
                "the example at {name} does not parse:\n{}",
                workspace.errors.render()
            );
        };
        workspace.add_source(
            SourceFile::new("rulesets/city/base.rules", base.as_str()),
            Some(PathBuf::from("rulesets/city/base.rules")),
        );
        let program = workspace
            .compile(&id)
            .unwrap_or_else(|d| panic!("the example at {name} does not check:\n{}", d.render()));
        assert!(
            program.warnings.is_empty(),
            "the example at {name} has warnings:\n{}",
            program.warnings.render()
        );
        let results = run_tests(&program);
        assert!(!results.is_empty(), "the example at {name} has no tests");
        for result in results {
            assert!(
                result.passed(),
                "{name}: test `{}` fails:\n{}",
                result.name,
                result.failures.render()
            );
        }
    }
}

#[test]
fn the_guide_has_a_chinese_and_an_english_example() {
    let blocks = rules_blocks(&guide());
    assert!(
        blocks
            .iter()
            .any(|(_, t)| t.contains("规则集 ") && t.contains("测试 ") && !t.contains("ruleset "))
    );
    assert!(
        blocks
            .iter()
            .any(|(_, t)| t.contains("ruleset ") && t.contains("test ") && !t.contains("规则集 "))
    );
}

/// `"E0201"`-like string literals outside `#[cfg(test)]` modules.
fn codes_in(text: &str) -> Vec<String> {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    let bytes = text.as_bytes();
    let mut codes = Vec::new();
    for i in 0..bytes.len().saturating_sub(6) {
        let candidate = &bytes[i..i + 7];
        if candidate[0] == b'"'
            && matches!(candidate[1], b'E' | b'W' | b'T')
            && candidate[2..6].iter().all(u8::is_ascii_digit)
            && candidate[6] == b'"'
        {
            codes.push(String::from_utf8_lossy(&candidate[1..6]).into_owned());
        }
    }
    codes
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir)
        .expect("the source folder is readable")
        .flatten()
    {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_diagnostic_code_is_explained() {
    let markdown = guide();
    let mut files = Vec::new();
    rust_files(&Path::new(ROOT).join("src"), &mut files);
    files.sort();
    let mut missing = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a source file is readable");
        for code in codes_in(&text) {
            if !markdown.contains(&format!("| {code} |")) && !missing.contains(&code) {
                missing.push(code);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "codes without a line in the guide's table: {missing:?}"
    );
}
