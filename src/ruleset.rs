//! Loading rule files from disk and compiling them: the facade that the CLI,
//! the HTTP service and tests use (`Workspace::load` → `compile`).

use crate::check::{Library, check};
use crate::compile::{CompiledRuleSet, compile};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::SourceFile;
use crate::syntax::parse;
use std::path::{Path, PathBuf};

/// The file extension of rule files.
pub const RULES_EXTENSION: &str = "rules";

/// A set of rule files, parsed and indexed by rule-set id.
#[derive(Debug, Default, Clone)]
pub struct Workspace {
    /// The parsed rule sets.
    pub library: Library,
    /// Syntax errors of files that did not parse (they are not in the library).
    pub errors: Diagnostics,
    /// Every file read, with the id it declared (if it parsed).
    pub files: Vec<(PathBuf, Option<String>)>,
}

impl Workspace {
    /// An empty workspace.
    pub fn new() -> Self {
        Self::default()
    }

    /// Loads `path`: one rule file, or every `*.rules` file below a folder (the shipped
    /// rule sets embedded in the binary for the default folder `rulesets` when it does not
    /// exist; see [`crate::shipped`]).
    pub fn load(path: &Path) -> Result<Workspace, Diagnostic> {
        let mut workspace = Workspace::new();
        for (file, text) in rule_sources(path)? {
            workspace.add_source(
                SourceFile::new(file.display().to_string(), text),
                Some(file),
            );
        }
        Ok(workspace)
    }

    /// Parses and adds one source; its problems go to `errors`.
    pub fn add_source(&mut self, file: SourceFile, path: Option<PathBuf>) -> Option<String> {
        let path = path.unwrap_or_else(|| PathBuf::from(&*file.name));
        match parse(&file) {
            Ok(ast) => {
                let id = ast.header.id.value.clone();
                match self.library.add(file, ast) {
                    Ok(()) => {
                        self.files.push((path, Some(id.clone())));
                        Some(id)
                    }
                    Err(d) => {
                        self.errors.push(d);
                        self.files.push((path, None));
                        None
                    }
                }
            }
            Err(d) => {
                self.errors.extend(d);
                self.files.push((path, None));
                None
            }
        }
    }

    /// Adds a file of the library folder (`--lib`) unless a rule file given explicitly
    /// already declares its id: checking a copy of a library rule set (an edited
    /// `water.rules` outside the folder) uses the copy, not a duplicate-id error.
    pub fn add_library_source(&mut self, file: SourceFile, path: PathBuf) -> Option<String> {
        if let Ok(ast) = parse(&file)
            && self.library.get(&ast.header.id.value).is_some()
        {
            return None;
        }
        self.add_source(file, Some(path))
    }

    /// Checks and compiles rule set `id` (with everything it extends).
    pub fn compile(&self, id: &str) -> Result<CompiledRuleSet, Diagnostics> {
        check(&self.library, id).map(compile)
    }

    /// The ids of the rule sets declared by files under `path` (all if `None`).
    pub fn ids(&self) -> Vec<String> {
        self.files.iter().filter_map(|(_, id)| id.clone()).collect()
    }
}

/// The rule files at `path`, sorted, so output order never depends on the disk.
pub fn rule_files(path: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let meta = std::fs::metadata(path).map_err(|e| io_error(path, &e))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| io_error(&dir, &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&dir, &e))?;
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().and_then(|e| e.to_str()) == Some(RULES_EXTENSION) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The rule files at `path` ([`rule_files`]) with their texts; for the default folder
/// `rulesets` when it does not exist, the rule sets embedded in the binary.
pub fn rule_sources(path: &Path) -> Result<Vec<(PathBuf, String)>, Diagnostic> {
    if let Some(embedded) = crate::shipped::embedded_for(path) {
        return Ok(embedded);
    }
    rule_files(path)?
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).map_err(|e| io_error(&file, &e))?;
            Ok((file, text))
        })
        .collect()
}

/// The rule files of a library folder (`--lib`) with their texts: none when the folder does
/// not exist, except the default `rulesets`, which then gives the embedded rule sets.
pub fn library_sources(lib: &Path) -> Result<Vec<(PathBuf, String)>, Diagnostic> {
    if lib.is_dir() || crate::shipped::embedded_for(lib).is_some() {
        rule_sources(lib)
    } else {
        Ok(Vec::new())
    }
}

fn io_error(path: &Path, error: &std::io::Error) -> Diagnostic {
    Diagnostic::error(
        "E0004",
        format!("cannot read `{}`: {error}", path.display()),
    )
    .with_help("check the path and that the file is readable")
}
