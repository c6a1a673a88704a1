//! `credit-rules diff OLD NEW`: loads two versions of a rule set — rule
//! files, rule-set ids under `--lib`, or versions saved in the record store
//! (`ID@HASH`) — each with its `extends` chain, and prints their semantic
//! diff (see [`crate::diff`]). Exit status as `diff(1)`: 0 when the versions
//! mean the same, 1 when they differ, 2 on errors.
//!
//! Where the rule sets a version extends come from:
//!
//! - a **rule file**: the `.rules` files beside it (same folder, not below),
//!   then `--lib`; the nearer file wins when two declare the same id, so a
//!   draft folder can hold its own copy of the base;
//! - a **rule-set id**: `--lib`;
//! - a **stored version**: the stored base versions its version identity names
//!   (`ID@active`: the newest of each), then `--lib` for bases never stored.
//!
//! `--old-lib` and `--new-lib` replace `--lib` for one side.

use super::Format;
use crate::diagnostic::{Diagnostic, Diagnostics, Lang};
use crate::diff::{DiffError, RuleSetDiff, diff_workspaces};
use crate::impact_store::{StoredRef, VersionError, find_version};
use crate::ruleset::{RULES_EXTENSION, Workspace};
use crate::source::SourceFile;
use crate::store::{RecordStore, StoreLocation};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::version_ref::VersionRef;

/// Exit status when the versions differ.
const DIFFERENT: u8 = 1;
/// Exit status when they could not be compared.
const TROUBLE: u8 = 2;

/// One version as named on the command line, with its rule-set folder.
pub(super) struct Side<'a> {
    /// A rule file, a rule-set id, or `ID@HASH`.
    pub arg: &'a str,
    /// `--lib`, or `--old-lib` / `--new-lib`.
    pub lib: &'a Path,
}

/// Runs `credit-rules diff`.
pub(super) fn run(
    old: Side<'_>,
    new: Side<'_>,
    data: &Path,
    store: Option<&str>,
    format: Format,
) -> ExitCode {
    let mut store = LazyStore::new(data, store);
    let old_version = match load_version(old.arg, old.lib, &mut store) {
        Ok(v) => v,
        Err(d) => return trouble(on_side("old", old.arg, d)),
    };
    let new_version = match load_version(new.arg, new.lib, &mut store) {
        Ok(v) => v,
        Err(d) => return trouble(on_side("new", new.arg, d)),
    };
    let (old, new) = (old.arg, new.arg);
    let diff = diff_workspaces(
        &old_version.workspace,
        &old_version.id,
        &new_version.workspace,
        &new_version.id,
    );
    match diff {
        Ok(diff) => report(&diff, format),
        Err(DiffError::Old(d)) => trouble(on_side("old", old, d)),
        Err(DiffError::New(d)) => trouble(on_side("new", new, d)),
    }
}

fn report(diff: &RuleSetDiff, format: Format) -> ExitCode {
    match format {
        Format::Text => print!("{}", diff.render_text()),
        Format::Json => match serde_json::to_string_pretty(diff) {
            Ok(json) => println!("{json}"),
            Err(e) => {
                return trouble(
                    Diagnostic::error("E0804", format!("cannot print JSON: {e}")).into(),
                );
            }
        },
    }
    if diff.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(DIFFERENT)
    }
}

fn trouble(diagnostics: Diagnostics) -> ExitCode {
    eprint!(
        "{}",
        super::show(&diagnostics, super::chosen_lang().unwrap_or(Lang::En))
    );
    ExitCode::from(TROUBLE)
}

/// Puts a line saying which version failed before its diagnostics.
fn on_side(side: &str, arg: &str, diagnostics: Diagnostics) -> Diagnostics {
    let mut out = Diagnostics::from(
        Diagnostic::error(
            "E0803",
            format!("the {side} version `{arg}` cannot be compared"),
        )
        .with_help("fix the problems listed below, then run `credit-rules diff` again"),
    );
    out.extend(diagnostics);
    out
}

// ---------------------------------------------------------------------------
// What OLD and NEW name
// ---------------------------------------------------------------------------

/// A version named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Spec {
    /// A rule file.
    File(PathBuf),
    /// A rule-set id under `--lib`.
    Id(String),
    /// A stored version: `ID@HASH-PREFIX` or `ID@latest`.
    Stored { id: String, revision: Revision },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Revision {
    Latest,
    HashPrefix(String),
}

fn parse_spec(arg: &str) -> Result<Spec, Diagnostic> {
    let path = Path::new(arg);
    if path.is_file() {
        return Ok(Spec::File(path.to_path_buf()));
    }
    if let Some((id, rev)) = arg.split_once('@') {
        return stored_spec(arg, id, rev);
    }
    let looks_like_path = arg.contains(['/', '\\'])
        || path.extension().and_then(|e| e.to_str()) == Some(RULES_EXTENSION);
    if looks_like_path {
        return Err(
            Diagnostic::error("E0004", format!("cannot read `{arg}`: no such file"))
                .with_help("check the path of the rule file"),
        );
    }
    Ok(Spec::Id(arg.to_string()))
}

fn stored_spec(arg: &str, id: &str, rev: &str) -> Result<Spec, Diagnostic> {
    let bad = |why: &str| {
        Diagnostic::error("E0800", format!("`{arg}` is not a stored version: {why}")).with_help(
            "write ID@HASH with at least 8 hex digits of the version's hash (e.g. water@3f9a1c07), \
             or ID@active for the version in force (ID@latest and ID@head mean the same)",
        )
    };
    if id.is_empty() {
        return Err(bad("the rule-set id before `@` is missing"));
    }
    let revision = if rev == "latest" {
        Revision::Latest
    } else {
        match VersionRef::parse(rev) {
            Ok(VersionRef::Active) => Revision::Latest,
            Ok(VersionRef::Prefix(p)) => Revision::HashPrefix(p),
            Err(_) => {
                return Err(bad(
                    "the part after `@` is not `active` (or `latest` / `head`) or 8 to 64 hex \
                     digits",
                ));
            }
        }
    };
    Ok(Spec::Stored {
        id: id.to_string(),
        revision,
    })
}

// ---------------------------------------------------------------------------
// Loading a version
// ---------------------------------------------------------------------------

/// A workspace holding a version and what it extends, and the version's id.
struct Loaded {
    workspace: Workspace,
    id: String,
}

fn load_version(arg: &str, lib: &Path, store: &mut LazyStore) -> Result<Loaded, Diagnostics> {
    match parse_spec(arg)? {
        Spec::File(path) => load_file(&path, lib),
        Spec::Id(id) => {
            let mut workspace = Workspace::new();
            add_folder(&mut workspace, lib)?;
            if workspace.library.get(&id).is_none() {
                return Err(unknown_id(&id, lib, &workspace).into());
            }
            Ok(Loaded { workspace, id })
        }
        Spec::Stored { id, revision } => load_stored(&id, &revision, lib, store.get()?),
    }
}

fn unknown_id(id: &str, lib: &Path, workspace: &Workspace) -> Diagnostic {
    let ids: Vec<&str> = workspace.library.ids().collect();
    let mut d = Diagnostic::error(
        "E0302",
        format!("unknown rule set `{id}` under `{}`", lib.display()),
    )
    .with_help(format!(
        "give a rule file, a stored version ID@HASH, or the id of a rule set under `{}` ({})",
        lib.display(),
        if ids.is_empty() {
            "there are none".to_string()
        } else {
            ids.join(", ")
        }
    ));
    if let Some(close) = ids
        .iter()
        .find(|known| strsim::jaro_winkler(known, id) > 0.8)
    {
        d = d.with_note(format!("did you mean `{close}`?"));
    }
    if !workspace.errors.is_empty() {
        d = d.with_note(format!(
            "some rule files under `{}` do not parse; `credit-rules check {}` shows why",
            lib.display(),
            lib.display()
        ));
    }
    d
}

/// The file, then its siblings, then `--lib`.
fn load_file(path: &Path, lib: &Path) -> Result<Loaded, Diagnostics> {
    let mut workspace = Workspace::new();
    let file = read(path)?;
    let ast = crate::syntax::parse(&file)?;
    let id = ast.header.id.value.clone();
    workspace.library.add(file, ast)?;
    workspace.files.push((path.to_path_buf(), Some(id.clone())));
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    let siblings = match folder {
        Some(folder) => rule_files_in(folder)?,
        None => rule_files_in(Path::new("."))?,
    };
    for sibling in siblings {
        if !same_file(&sibling, path) {
            add_if_new(&mut workspace, read(&sibling)?, Some(sibling));
        }
    }
    add_folder(&mut workspace, lib)?;
    Ok(Loaded { workspace, id })
}

/// The `.rules` files directly in `folder` (not below it), sorted.
fn rule_files_in(folder: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let entries = std::fs::read_dir(folder).map_err(|e| cannot_read(folder, &e))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| cannot_read(folder, &e))?.path();
        if path.is_file() && path.extension().and_then(|e| e.to_str()) == Some(RULES_EXTENSION) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Adds every rule file under `lib` whose id the workspace does not have yet.
/// A missing `--lib` folder is fine: the versions may not need it.
fn add_folder(workspace: &mut Workspace, lib: &Path) -> Result<(), Diagnostic> {
    for (path, text) in crate::ruleset::library_sources(lib)? {
        let file = SourceFile::new(path.display().to_string(), text);
        add_if_new(workspace, file, Some(path));
    }
    Ok(())
}

/// Adds a file unless its rule set is already there (the nearer copy wins).
/// Syntax errors are kept in the workspace: they explain a failed check.
fn add_if_new(workspace: &mut Workspace, file: SourceFile, path: Option<PathBuf>) {
    let path = path.unwrap_or_else(|| PathBuf::from(&*file.name));
    match crate::syntax::parse(&file) {
        Ok(ast) => {
            let id = ast.header.id.value.clone();
            if workspace.library.get(&id).is_none() && workspace.library.add(file, ast).is_ok() {
                workspace.files.push((path, Some(id)));
            }
        }
        Err(d) => {
            workspace.errors.extend(d);
            workspace.files.push((path, None));
        }
    }
}

fn read(path: &Path) -> Result<SourceFile, Diagnostic> {
    let text = std::fs::read_to_string(path).map_err(|e| cannot_read(path, &e))?;
    Ok(SourceFile::new(path.display().to_string(), text))
}

fn cannot_read(path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error("E0004", format!("cannot read `{}`: {e}", path.display()))
        .with_help("check the path and that it is readable")
}

// ---------------------------------------------------------------------------
// Stored versions
// ---------------------------------------------------------------------------

/// The record store, opened the first time a stored version is named.
struct LazyStore {
    dir: PathBuf,
    url: Option<String>,
    store: Option<Box<dyn RecordStore>>,
}

impl LazyStore {
    fn new(dir: &Path, url: Option<&str>) -> Self {
        Self {
            dir: dir.to_path_buf(),
            url: url.map(str::to_owned),
            store: None,
        }
    }

    fn get(&mut self) -> Result<&dyn RecordStore, Diagnostic> {
        if self.store.is_none() {
            self.store = Some(open_store(&self.dir, self.url.as_deref())?);
        }
        self.store
            .as_deref()
            .ok_or_else(|| Diagnostic::error("E0802", "the record store is not open"))
    }
}

/// Opens an existing database only: a read-only command must not create one.
fn open_store(dir: &Path, url: Option<&str>) -> Result<Box<dyn RecordStore>, Diagnostic> {
    let location =
        StoreLocation::choose(dir, url).map_err(|e| Diagnostic::error("E0802", e.to_string()))?;
    // sled keeps its configuration in `conf`; without it there is no database here.
    if !location.exists() {
        return Err(Diagnostic::error(
            "E0802",
            format!("there is no record store at `{}`", dir.display()),
        )
        .with_help(
            "pass --data with the database folder of `credit-rules serve` (default `data`), \
             or --store with its PostgreSQL URL",
        ));
    }
    location.open().map_err(|e| {
        Diagnostic::error("E0802", format!("cannot open the record store: {e}")).with_help(
            "if `credit-rules serve` is running on this sled folder, stop it or compare a copy \
             of the folder (a PostgreSQL store has no such limit)",
        )
    })
}

fn store_error(e: crate::store::StoreError) -> Diagnostic {
    Diagnostic::error("E0802", format!("cannot read the record store: {e}"))
        .with_help("check --data; `credit-rules serve` must not be running on the same folder")
}

fn load_stored(
    id: &str,
    revision: &Revision,
    lib: &Path,
    store: &dyn RecordStore,
) -> Result<Loaded, Diagnostics> {
    let reference = match revision {
        Revision::Latest => StoredRef::Head,
        Revision::HashPrefix(p) => StoredRef::Hash(p.clone()),
    };
    let version = find_version(store, id, &reference).map_err(|e| version_error(id, e, store))?;
    let mut workspace = Workspace::new();
    for file in version.files() {
        add_if_new(&mut workspace, file, None);
    }
    add_folder(&mut workspace, lib)?;
    Ok(Loaded {
        workspace,
        id: id.to_string(),
    })
}

/// E0801 for a version the store does not hold (with the stored rule sets when it holds
/// none of this one), E0802 for a failing store.
fn version_error(id: &str, error: VersionError, store: &dyn RecordStore) -> Diagnostic {
    match error {
        VersionError::Store(e) => store_error(e),
        VersionError::NoVersions { .. } => {
            let ids = match store.ruleset_ids() {
                Ok(ids) => ids,
                Err(e) => return store_error(e),
            };
            Diagnostic::error(
                "E0801",
                format!("the record store has no versions of rule set `{id}`"),
            )
            .with_help(match ids.is_empty() {
                true => {
                    "the store holds no rule sets; publish one with `credit-rules serve`".into()
                }
                false => format!("stored rule sets: {}", ids.join(", ")),
            })
        }
        other => Diagnostic::error("E0801", other.to_string())
            .with_help("name a version by at least 8 hex digits of its id, or ID@active"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_files_ids_or_stored_versions() {
        assert_eq!(parse_spec("water"), Ok(Spec::Id("water".into())));
        assert_eq!(
            parse_spec("water@3F9A1C07"),
            Ok(Spec::Stored {
                id: "water".into(),
                revision: Revision::HashPrefix("3f9a1c07".into())
            })
        );
        for active in ["active", "head", "latest"] {
            assert_eq!(
                parse_spec(&format!("water@{active}")),
                Ok(Spec::Stored {
                    id: "water".into(),
                    revision: Revision::Latest
                }),
                "{active}"
            );
        }
        assert_eq!(
            parse_spec("city.base@latest"),
            Ok(Spec::Stored {
                id: "city.base".into(),
                revision: Revision::Latest
            })
        );
    }

    #[test]
    fn bad_specs_say_how_to_write_them() {
        for bad in ["water@3f", "water@3f9a1c", "water@newest", "@3f9a1c07"] {
            let d = parse_spec(bad).expect_err(bad);
            assert_eq!(d.code, "E0800", "{bad}");
            assert!(d.help.as_deref().is_some_and(|h| h.contains("ID@active")));
        }
        let missing = parse_spec("no/such/file.rules").expect_err("missing file");
        assert_eq!(missing.code, "E0004");
    }
}
