//! The live rule sets of the service: every rule set compiled once and
//! served to evaluations without locks, and publishing that checks a new
//! version — together with every rule set that extends it — before it
//! replaces the old one atomically.
//!
//! Readers call [`Registry::get`] (an `ArcSwap` load: no lock, no waiting on
//! a publish). Writers go through [`Registry::publish`], serialised by a
//! mutex, with optimistic concurrency: the caller names the version it
//! edited, and a publish against a stale version is refused.

use crate::compile::{CompiledRuleSet, RuleSetMeta};
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::ruleset::Workspace;
use crate::source::SourceFile;
use arc_swap::ArcSwap;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The sources and compiled programs of one moment.
#[derive(Debug, Default)]
struct Snapshot {
    /// Head source of every rule set, by id.
    sources: BTreeMap<String, SourceFile>,
    /// Compiled head of every rule set, by id.
    compiled: BTreeMap<String, Arc<CompiledRuleSet>>,
}

/// Why a publish was refused.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The new source (or a rule set extending it) does not check.
    #[error("the rule set has errors")]
    Invalid(Diagnostics),
    /// Someone published since the version the caller edited.
    #[error("rule set `{id}` is at version {current}, not {expected}")]
    Stale {
        /// Rule-set id.
        id: String,
        /// The version the caller based the edit on.
        expected: String,
        /// The version now published.
        current: String,
    },
    /// The source declares another id than the one published to.
    #[error("the source declares rule set `{declared}`, not `{id}`")]
    WrongId {
        /// The id published to.
        id: String,
        /// The id in the header.
        declared: String,
    },
}

/// Why [`Registry::publish_with`] refused.
#[derive(Debug, thiserror::Error)]
pub enum PublishWithError<E> {
    /// The version itself was refused.
    #[error(transparent)]
    Publish(PublishError),
    /// Saving it failed; nothing changed.
    #[error("saving the version failed")]
    Persist(E),
}

/// What a successful publish changed.
#[derive(Debug, Clone)]
pub struct Published {
    /// The new head.
    pub program: Arc<CompiledRuleSet>,
    /// Other rule sets recompiled because they extend it (new hashes).
    pub dependents: Vec<RuleSetMeta>,
}

/// The live rule sets.
#[derive(Debug, Default)]
pub struct Registry {
    snapshot: ArcSwap<Snapshot>,
    writer: Mutex<()>,
}

impl Registry {
    /// Compiles every rule set of `workspace`; all must check.
    pub fn from_workspace(workspace: &Workspace) -> Result<Registry, Diagnostics> {
        if workspace.errors.has_errors() {
            return Err(workspace.errors.clone());
        }
        let sources: BTreeMap<String, SourceFile> = workspace
            .library
            .ids()
            .filter_map(|id| {
                workspace
                    .library
                    .get(id)
                    .map(|(f, _)| (id.to_string(), f.clone()))
            })
            .collect();
        let compiled = compile_all(&sources)?;
        Ok(Registry {
            snapshot: ArcSwap::from_pointee(Snapshot { sources, compiled }),
            writer: Mutex::new(()),
        })
    }

    /// The compiled head of rule set `id`.
    pub fn get(&self, id: &str) -> Option<Arc<CompiledRuleSet>> {
        self.snapshot.load().compiled.get(id).cloned()
    }

    /// The head source of rule set `id`.
    pub fn source(&self, id: &str) -> Option<SourceFile> {
        self.snapshot.load().sources.get(id).cloned()
    }

    /// Every rule set's header and hash, sorted by id.
    pub fn list(&self) -> Vec<RuleSetMeta> {
        self.snapshot
            .load()
            .compiled
            .values()
            .map(|p| p.meta.clone())
            .collect()
    }

    /// Checks `text` as the new version of rule set `id` and, if it and every
    /// rule set extending it check, makes it the head. `base_hash` is the
    /// hash of the version the author edited (`None` for a new rule set).
    pub fn publish(
        &self,
        id: &str,
        text: &str,
        base_hash: Option<&str>,
    ) -> Result<Published, PublishError> {
        self.publish_with(id, text, base_hash, |_| {
            Ok::<(), std::convert::Infallible>(())
        })
        .map_err(|e| match e {
            PublishWithError::Publish(p) => p,
            PublishWithError::Persist(never) => match never {},
        })
    }

    /// The compiled head's hash of rule set `id` (the `base_hash` a new version names).
    pub fn head_hash(&self, id: &str) -> Option<String> {
        self.get(id).map(|p| p.meta.hash.clone())
    }

    /// The head source of every rule set, by id (to compare a draft with the heads).
    pub fn sources(&self) -> BTreeMap<String, SourceFile> {
        self.snapshot.load().sources.clone()
    }

    /// Checks `text` as the new version of rule set `id` against the current heads, together
    /// with every rule set extending it, without publishing anything: what a publish would
    /// make live now. Used to check drafts when they are submitted and to compare them.
    pub fn check_candidate(&self, id: &str, text: &str) -> Result<Published, PublishError> {
        let current = self.snapshot.load_full();
        prepare(&current, id, text).map(|candidate| candidate.published)
    }

    /// Like [`Registry::publish`], but runs `persist` (e.g. saving the version)
    /// after the new version checked and before it goes live; if `persist`
    /// fails, nothing changes.
    pub fn publish_with<E>(
        &self,
        id: &str,
        text: &str,
        base_hash: Option<&str>,
        persist: impl FnOnce(&Published) -> Result<(), E>,
    ) -> Result<Published, PublishWithError<E>> {
        // INVARIANT: the guard protects no data, so a poisoned lock is still usable.
        let _guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.snapshot.load_full();
        let head = current.compiled.get(id).map(|p| p.meta.hash.clone());
        if head.as_deref() != base_hash {
            return Err(PublishWithError::Publish(PublishError::Stale {
                id: id.to_string(),
                expected: base_hash.unwrap_or("(new rule set)").to_string(),
                current: head.unwrap_or_else(|| "(none)".to_string()),
            }));
        }
        let candidate = prepare(&current, id, text).map_err(PublishWithError::Publish)?;
        persist(&candidate.published).map_err(PublishWithError::Persist)?;
        self.snapshot.store(Arc::new(candidate.snapshot));
        Ok(candidate.published)
    }
}

impl Registry {
    /// Replaces the live rule sets with those `load` gives (e.g. the newest versions in a
    /// store that another server replica published to), when they differ; publications of
    /// this registry wait meanwhile, so an older load cannot replace a newer publication.
    /// Returns whether anything changed.
    pub fn reload_with<E>(&self, load: impl FnOnce() -> Result<Registry, E>) -> Result<bool, E> {
        // INVARIANT: the guard protects no data, so a poisoned lock is still usable.
        let _guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let loaded = load()?.snapshot.load_full();
        let current = self.snapshot.load_full();
        let same = loaded.sources.len() == current.sources.len()
            && loaded
                .sources
                .iter()
                .all(|(id, file)| current.sources.get(id).is_some_and(|f| f.text == file.text));
        if !same {
            self.snapshot.store(loaded);
        }
        Ok(!same)
    }
}

impl Registry {
    /// Makes `heads` (rule-set id → source text: the newest stored versions, e.g. after
    /// another server replica published) the live rule sets, compiling only what changed:
    /// the rule sets whose source differs and those whose chain extends one of them; the
    /// others keep their compiled form. Nothing is compiled when nothing changed (the
    /// replica that published hears its own announcement too). Publications of this
    /// registry wait meanwhile. Returns whether anything changed.
    pub fn reload_heads(&self, heads: BTreeMap<String, String>) -> Result<bool, Diagnostics> {
        // INVARIANT: the guard protects no data, so a poisoned lock is still usable.
        let _guard = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.snapshot.load_full();
        let mut changed: Vec<&str> = heads
            .iter()
            .filter(|(id, text)| current.sources.get(*id).is_none_or(|f| *f.text != ***text))
            .map(|(id, _)| id.as_str())
            .collect();
        changed.extend(
            current
                .sources
                .keys()
                .filter(|id| !heads.contains_key(*id))
                .map(String::as_str),
        );
        if changed.is_empty() {
            return Ok(false);
        }
        let sources: BTreeMap<String, SourceFile> = heads
            .iter()
            .map(|(id, text)| {
                (
                    id.clone(),
                    SourceFile::new(format!("{id}.rules"), text.as_str()),
                )
            })
            .collect();
        let stale = |id: &str| {
            changed.contains(&id)
                || current
                    .compiled
                    .get(id)
                    .is_none_or(|p| p.meta.chain.iter().any(|c| changed.contains(&c.as_str())))
        };
        // The stale rule sets with the files of their chains (as they were; a changed
        // `extends` that names another file makes the compilation fail, and then every
        // rule set is compiled).
        let mut needed: Vec<&str> = Vec::new();
        for id in sources.keys().filter(|id| stale(id)) {
            needed.push(id);
            if let Some(old) = current.compiled.get(id.as_str()) {
                needed.extend(old.meta.chain.iter().map(String::as_str));
            }
        }
        needed.sort_unstable();
        needed.dedup();
        let partial = || -> Option<BTreeMap<String, Arc<CompiledRuleSet>>> {
            let mut workspace = Workspace::new();
            for id in &needed {
                workspace.add_source(sources.get(*id)?.clone(), None);
            }
            if workspace.errors.has_errors() {
                return None;
            }
            let mut compiled = current.compiled.clone();
            compiled.retain(|id, _| sources.contains_key(id));
            for id in sources.keys().filter(|id| stale(id)) {
                compiled.insert(id.clone(), Arc::new(workspace.compile(id).ok()?));
            }
            Some(compiled)
        };
        let compiled = match partial() {
            Some(compiled) => compiled,
            None => compile_all(&sources)?,
        };
        self.snapshot
            .store(Arc::new(Snapshot { sources, compiled }));
        Ok(true)
    }
}

/// A checked new version: the snapshot that would go live and what it changes.
struct Candidate {
    snapshot: Snapshot,
    published: Published,
}

/// Compiles every head of `current` with `text` as rule set `id`'s new version.
fn prepare(current: &Snapshot, id: &str, text: &str) -> Result<Candidate, PublishError> {
    let file = SourceFile::new(format!("{id}.rules"), text);
    let declared = crate::syntax::parse(&file)
        .map_err(PublishError::Invalid)?
        .header
        .id
        .value;
    if declared != id {
        return Err(PublishError::WrongId {
            id: id.to_string(),
            declared,
        });
    }
    let mut sources = current.sources.clone();
    sources.insert(id.to_string(), file);
    let compiled = compile_all(&sources).map_err(PublishError::Invalid)?;
    let dependents = compiled
        .values()
        .filter(|p| {
            p.meta.id != id
                && p.meta.chain.len() > 1
                && current
                    .compiled
                    .get(&p.meta.id)
                    .is_none_or(|old| old.meta.hash != p.meta.hash)
        })
        .map(|p| p.meta.clone())
        .collect();
    let program = compiled
        .get(id)
        .cloned()
        .expect("the published rule set was compiled");
    Ok(Candidate {
        snapshot: Snapshot { sources, compiled },
        published: Published {
            program,
            dependents,
        },
    })
}

/// Compiles every source; errors of all rule sets are collected.
fn compile_all(
    sources: &BTreeMap<String, SourceFile>,
) -> Result<BTreeMap<String, Arc<CompiledRuleSet>>, Diagnostics> {
    let mut workspace = Workspace::new();
    for file in sources.values() {
        workspace.add_source(file.clone(), None);
    }
    if workspace.errors.has_errors() {
        return Err(workspace.errors);
    }
    let mut compiled = BTreeMap::new();
    let mut errors = Diagnostics::new();
    for id in sources.keys() {
        match workspace.compile(id) {
            Ok(program) => {
                compiled.insert(id.clone(), Arc::new(program));
            }
            Err(d) => {
                errors.push(
                    Diagnostic::error("E0600", format!("rule set `{id}` does not check"))
                        .with_note("its own diagnostics follow"),
                );
                errors.extend(d);
            }
        }
    }
    if errors.is_empty() {
        Ok(compiled)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"ruleset base { title "b" version "1" effective 2020-01-01 unit "u" }
veto mandatory 黑名单 { wording "w" when any(records where kind = 黑名单) }
"#;
    const SECTOR: &str = r#"ruleset sector { title "s" version "1" effective 2020-01-01 unit "u" extends base }
flag 处罚 { wording "w" when any(records where kind = 行政处罚) }
"#;

    fn registry() -> Registry {
        let mut w = Workspace::new();
        w.add_source(SourceFile::new("base.rules", BASE), None);
        w.add_source(SourceFile::new("sector.rules", SECTOR), None);
        Registry::from_workspace(&w).expect("compiles")
    }

    #[test]
    fn publishing_swaps_the_head_and_recompiles_dependents() {
        let r = registry();
        let old = r.get("base").expect("base");
        let new_base = BASE.replace("version \"1\"", "version \"2\"");
        let published = r
            .publish("base", &new_base, Some(&old.meta.hash))
            .expect("publishes");
        assert_eq!(r.get("base").expect("base").meta.version, "2");
        assert_eq!(published.dependents.len(), 1);
        assert_eq!(published.dependents[0].id, "sector");
        assert_eq!(
            old.meta.version, "1",
            "readers holding the old program keep it"
        );
    }

    #[test]
    fn reloading_heads_compiles_only_what_changed() {
        let r = registry();
        let heads = |base: &str, sector: &str| {
            BTreeMap::from([
                ("base".to_owned(), base.to_owned()),
                ("sector".to_owned(), sector.to_owned()),
            ])
        };
        let (base, sector) = (
            r.get("base").expect("base"),
            r.get("sector").expect("sector"),
        );
        assert!(!r.reload_heads(heads(BASE, SECTOR)).expect("same heads"));
        assert!(Arc::ptr_eq(&base, &r.get("base").expect("base")));
        // A sector changed: only it is compiled again.
        let new_sector = SECTOR.replace("version \"1\"", "version \"2\"");
        assert!(r.reload_heads(heads(BASE, &new_sector)).expect("reload"));
        assert!(Arc::ptr_eq(&base, &r.get("base").expect("base")));
        assert_eq!(r.get("sector").expect("sector").meta.version, "2");
        assert_ne!(r.get("sector").expect("sector").meta.hash, sector.meta.hash);
        // The base changed: the sector that extends it is compiled again too.
        let new_base = BASE.replace("version \"1\"", "version \"3\"");
        let before = r.get("sector").expect("sector");
        assert!(
            r.reload_heads(heads(&new_base, &new_sector))
                .expect("reload")
        );
        assert_eq!(r.get("base").expect("base").meta.version, "3");
        assert!(!Arc::ptr_eq(&before, &r.get("sector").expect("sector")));
        assert_ne!(r.get("sector").expect("sector").meta.hash, before.meta.hash);
        // A broken head is refused and nothing changes.
        assert!(r.reload_heads(heads("ruleset", &new_sector)).is_err());
        assert_eq!(r.get("base").expect("base").meta.version, "3");
    }

    #[test]
    fn a_stale_base_version_is_refused_and_nothing_changes() {
        let r = registry();
        let err = r.publish("base", BASE, Some("0000")).expect_err("stale");
        assert!(matches!(err, PublishError::Stale { .. }));
        assert_eq!(r.get("base").expect("base").meta.version, "1");
    }

    #[test]
    fn a_base_that_breaks_a_sector_is_refused() {
        let r = registry();
        let hash = r.get("base").expect("base").meta.hash.clone();
        // Making 处罚 mandatory in the base … is fine; removing the base's
        // mandatory clause while the sector overrides nothing is fine too;
        // but declaring a clause the sector overrides as mandatory breaks it.
        let breaking = format!("{BASE}flag mandatory 处罚 {{ wording \"w\" when true }}\n");
        let err = r
            .publish("base", &breaking, Some(&hash))
            .expect_err("breaks the sector");
        match err {
            PublishError::Invalid(d) => assert!(d.render().contains("E0304"), "{}", d.render()),
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(r.get("base").expect("base").meta.hash, hash);
    }

    #[test]
    fn a_candidate_is_checked_without_going_live() {
        let r = registry();
        let new_base = BASE.replace("version \"1\"", "version \"2\"");
        let candidate = r.check_candidate("base", &new_base).expect("checks");
        assert_eq!(candidate.program.meta.version, "2");
        assert_eq!(candidate.dependents.len(), 1);
        assert_eq!(r.get("base").expect("base").meta.version, "1");
        let broken = format!("{BASE}flag mandatory 处罚 {{ wording \"w\" when true }}\n");
        assert!(matches!(
            r.check_candidate("base", &broken),
            Err(PublishError::Invalid(_))
        ));
    }

    #[test]
    fn the_source_must_declare_the_id_it_is_published_to() {
        let r = registry();
        let err = r.publish("other", BASE, None).expect_err("wrong id");
        assert!(matches!(err, PublishError::WrongId { .. }));
    }
}
