//! Impact analysis over the record store: the entry points the CLI (and the HTTP service)
//! call, and the loading of the rule-set versions to compare (a rule file or a version stored
//! by hash). The engine itself is [`crate::impact`]; this module only feeds it.
//!
//! [`impact_of_store`] reads every stored entity in its evaluation form (on sled: the
//! evaluation view, one item per entity; on PostgreSQL: one row per entity, its records'
//! forms concatenated by the server), cut into ranges of the USCC key space that worker
//! threads read, decode ([`EvaluationEntity::decode`]: without the free texts no rule
//! reads) and evaluate in parallel, each range on its own iterator or connection.
//! [`impact_of_entities`] evaluates a given list (e.g. a tender's bidders); an entity with no
//! stored records is evaluated with none, as a bidder without records would be.

use crate::compile::CompiledRuleSet;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::impact::{
    ImpactError, ImpactOptions, ImpactReport, Parts, analyse, analyse_parts, analyse_with,
};
use crate::record::Uscc;
use crate::ruleset::Workspace;
use crate::source::SourceFile;
use crate::store::{EvaluationEntity, RecordStore, RuleSetVersion, StoreError};
use crate::version_ref::VersionRef;
use chrono::{DateTime, NaiveDate, Utc};

/// Shortest hash prefix accepted for a stored version (the same everywhere).
pub const MIN_HASH_PREFIX: usize = crate::version_ref::MIN_VERSION_PREFIX;

/// Ranges of the USCC key space asked of the store per worker thread: a thread that is done
/// takes the next range, so uneven ranges (sled cuts them by interpolation) even out.
pub const RANGES_PER_THREAD: usize = 8;

/// Compares `old` and `new` over every entity in the store: in parallel
/// ([`ImpactOptions::parallel`]) the store's key space is cut into ranges
/// ([`Records::evaluation_ranges`](crate::store::Records::evaluation_ranges)), each read,
/// decoded and evaluated on a worker thread of its own ([`crate::impact::analyse_parts`]);
/// the report is the same whatever the ranges and the number of threads.
pub fn impact_of_store(
    store: &dyn RecordStore,
    old: &CompiledRuleSet,
    new: &CompiledRuleSet,
    as_of: NaiveDate,
    options: &ImpactOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ImpactReport, ImpactError> {
    let threads = if options.parallel {
        rayon::current_num_threads()
    } else {
        1
    };
    let ranges = if threads > 1 {
        store
            .evaluation_ranges(threads * RANGES_PER_THREAD)
            .map_err(|e| ImpactError::Input {
                index: 1,
                message: format!("cutting the store into ranges to read in parallel: {e}"),
            })?
    } else {
        Vec::new()
    };
    if ranges.len() < 2 {
        return analyse_with(
            old,
            new,
            as_of,
            store.scan_for_evaluation(),
            EvaluationEntity::decode,
            options,
            progress,
        );
    }
    analyse_parts(
        old,
        new,
        as_of,
        Parts {
            count: ranges.len(),
            open: |part: usize| store.scan_for_evaluation_in(&ranges[part]),
        },
        EvaluationEntity::decode,
        options,
        progress,
    )
}

/// Compares `old` and `new` over the given entities (duplicates are evaluated once); an
/// entity without stored records is evaluated with none.
pub fn impact_of_entities(
    store: &dyn RecordStore,
    usccs: &[Uscc],
    old: &CompiledRuleSet,
    new: &CompiledRuleSet,
    as_of: NaiveDate,
    options: &ImpactOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ImpactReport, ImpactError> {
    let mut wanted = usccs.to_vec();
    // Key order reads the store sequentially; the report does not depend on the order.
    wanted.sort();
    wanted.dedup();
    let entities = wanted.into_iter().map(|uscc| {
        let records = store.records_of(&uscc)?;
        Ok::<_, StoreError>((uscc, records))
    });
    analyse(old, new, as_of, entities, options, progress)
}

/// Compares `old` and `new` as of day `as_of` on the records as the store knew them at
/// `known_at` ([`Records::records_known_at`](crate::store::Records::records_known_at)): over the given entities, or over every
/// stored entity. Slower than [`impact_of_store`]: each entity's records and history are read
/// instead of the evaluation view (which holds today's records only).
pub fn impact_known_at(
    store: &dyn RecordStore,
    usccs: Option<&[Uscc]>,
    old: &CompiledRuleSet,
    new: &CompiledRuleSet,
    (as_of, known_at): (NaiveDate, DateTime<Utc>),
    options: &ImpactOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ImpactReport, ImpactError> {
    let wanted: Vec<Uscc> = match usccs {
        Some(list) => {
            let mut list = list.to_vec();
            list.sort();
            list.dedup();
            list
        }
        None => store
            .scan_entities()
            .enumerate()
            .map(|(i, item)| {
                item.map(|(uscc, _)| uscc).map_err(|e| ImpactError::Input {
                    index: i as u64 + 1,
                    message: e.to_string(),
                })
            })
            .collect::<Result<_, ImpactError>>()?,
    };
    let entities = wanted.into_iter().map(|uscc| {
        let records = store.records_known_at(&uscc, known_at)?;
        Ok::<_, StoreError>((uscc, records))
    });
    analyse(old, new, as_of, entities, options, progress)
}

// ---------------------------------------------------------------------------------------------
// Versions
// ---------------------------------------------------------------------------------------------

/// Which stored version of a rule set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredRef {
    /// The newest stored version (the one in force).
    Head,
    /// The version whose identity ([`crate::compile::version_id`]) starts with these digits.
    Hash(String),
}

impl StoredRef {
    /// Parses a version reference as [`VersionRef::parse`] does: `active` (or its aliases
    /// `head` and `latest`) or 8 to 64 hex digits.
    pub fn parse(text: &str) -> Result<StoredRef, VersionError> {
        match VersionRef::parse(text) {
            Ok(VersionRef::Active) => Ok(StoredRef::Head),
            Ok(VersionRef::Prefix(p)) => Ok(StoredRef::Hash(p)),
            Err(_) => Err(VersionError::BadReference(text.trim().to_string())),
        }
    }
}

/// Why a stored version could not be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    /// The reference is neither `head` nor a hash (prefix).
    #[error(
        "`{0}` is not a version reference; give `@active` (the newest stored version; \
         `@head` and `@latest` mean the same) or {MIN_HASH_PREFIX} to 64 hex digits of a stored \
         version id"
    )]
    BadReference(String),
    /// The store holds no version of the rule set.
    #[error(
        "the record store holds no version of rule set `{ruleset}`; publish it first, or \
         give the version as a rule file"
    )]
    NoVersions {
        /// Rule-set id.
        ruleset: String,
    },
    /// No version id (nor stored source hash) starts with the digits given.
    #[error(
        "rule set `{ruleset}` has no version whose id starts with `{prefix}`; its newest \
         version ids: {known}"
    )]
    NotFound {
        /// Rule-set id.
        ruleset: String,
        /// The digits given.
        prefix: String,
        /// The newest versions: short hash, time and message.
        known: String,
    },
    /// Several stored versions' hashes start with the digits given.
    #[error(
        "`{prefix}` is the start of {count} versions of rule set `{ruleset}`; give more hex \
         digits"
    )]
    Ambiguous {
        /// Rule-set id.
        ruleset: String,
        /// The digits given.
        prefix: String,
        /// How many versions match.
        count: usize,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How many versions a [`VersionError::NotFound`] lists.
const LISTED_VERSIONS: usize = 5;

/// A compiled version of a rule set as the store can rebuild it: its version identity
/// ([`crate::compile::version_id`]) and the stored source versions of its `extends` chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChain {
    /// The version identity, 64 lower-case hex digits.
    pub id: String,
    /// The stored versions of the chain, base first, ending with the rule set's own.
    pub chain: Vec<RuleSetVersion>,
}

impl StoredChain {
    /// The rule set's own stored version.
    pub fn own(&self) -> &RuleSetVersion {
        self.chain
            .last()
            .expect("a chain holds the rule set itself")
    }

    /// The chain's sources as files named `ID@HASH12.rules`, base first.
    pub fn files(&self) -> Vec<SourceFile> {
        self.chain.iter().map(version_file).collect()
    }

    /// Compiles the version from exactly these sources: its `meta.hash` is [`StoredChain::id`].
    pub fn compile(&self) -> Result<CompiledRuleSet, Diagnostics> {
        let mut workspace = Workspace::new();
        for file in self.files() {
            workspace.add_source(file, None);
        }
        workspace.compile(&self.own().ruleset_id)
    }
}

/// Longest `extends` chain followed through the store (a cycle stops here; `check` reports it).
const MAX_CHAIN: usize = 16;

/// Every compiled version the store can rebuild for `ruleset`: each distinct stored version
/// of it (in log order; a version saved again counts at its last place) on each such version
/// of the rule set it extends, recursively. The last one is the version in force (the newest
/// source on the newest bases). Each identity names the exact sources of its chain, so
/// identities shown by any earlier answer are among them as long as the versions are stored.
pub fn stored_chains(
    store: &dyn RecordStore,
    ruleset: &str,
) -> Result<Vec<StoredChain>, StoreError> {
    chains_of(store, ruleset, &|_| None, 0)
}

/// Where [`find_version_or`] takes the source of a rule set the store holds no version of
/// (the service: its active source).
pub type Unstored<'a> = &'a dyn Fn(&str) -> Option<SourceFile>;

fn chains_of(
    store: &dyn RecordStore,
    ruleset: &str,
    unstored: Unstored<'_>,
    depth: usize,
) -> Result<Vec<StoredChain>, StoreError> {
    if depth > MAX_CHAIN {
        return Ok(Vec::new());
    }
    let mut versions = store.ruleset_versions(ruleset)?;
    if versions.is_empty()
        && let Some(file) = unstored(ruleset)
    {
        versions.push(RuleSetVersion {
            hash: crate::store::source_hash(&file.text),
            ruleset_id: ruleset.to_string(),
            source: file.text.to_string(),
            author: String::new(),
            time: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            message: "active, not stored".to_string(),
            parent: None,
        });
    }
    // A revert appends an older version again: keep each version at its last place.
    let mut seen = std::collections::HashSet::new();
    versions.reverse();
    versions.retain(|v| seen.insert(v.hash.clone()));
    versions.reverse();
    let mut bases: std::collections::HashMap<String, Vec<StoredChain>> = Default::default();
    let mut out = Vec::new();
    for version in versions {
        let Some(base) = extends_of(&version) else {
            out.push(StoredChain {
                id: version.hash.clone(),
                chain: vec![version],
            });
            continue;
        };
        if !bases.contains_key(&base) {
            let found = chains_of(store, &base, unstored, depth + 1)?;
            bases.insert(base.clone(), found);
        }
        for under in &bases[&base] {
            let mut chain = under.chain.clone();
            chain.push(version.clone());
            out.push(StoredChain {
                id: crate::compile::extend_version_id(&version.hash, &under.id),
                chain,
            });
        }
    }
    Ok(out)
}

/// The rule set a stored version extends, if any (a source that does not parse extends nothing
/// here; compiling it reports why).
fn extends_of(version: &RuleSetVersion) -> Option<String> {
    crate::syntax::parse(&version_file(version))
        .ok()
        .and_then(|ast| ast.header.extends.map(|e| e.value))
}

/// The compiled version of `ruleset` that `reference` names: `@active` is the newest stored
/// source on the newest stored bases; a prefix names the one version identity starting with
/// it. For clients of the older API, a prefix that no identity starts with may be a stored
/// version's source hash (as `GET rulesets/{id}/versions` lists it): it names that source on
/// the newest bases.
pub fn find_version(
    store: &dyn RecordStore,
    ruleset: &str,
    reference: &StoredRef,
) -> Result<StoredChain, VersionError> {
    find_version_or(store, ruleset, reference, &|_| None)
}

/// [`find_version`], with the source `unstored` gives for a rule set (or base) the store
/// holds no version of.
pub fn find_version_or(
    store: &dyn RecordStore,
    ruleset: &str,
    reference: &StoredRef,
    unstored: Unstored<'_>,
) -> Result<StoredChain, VersionError> {
    let mut chains = chains_of(store, ruleset, unstored, 0)?;
    let no_versions = || VersionError::NoVersions {
        ruleset: ruleset.to_string(),
    };
    let prefix = match reference {
        StoredRef::Head => return chains.pop().ok_or_else(no_versions),
        StoredRef::Hash(prefix) => prefix,
    };
    if chains.is_empty() {
        return Err(no_versions());
    }
    let mut matching: Vec<&StoredChain> = chains
        .iter()
        .filter(|c| c.id.starts_with(prefix.as_str()))
        .collect();
    if matching.is_empty() {
        // The newest chain of each stored source whose hash starts with the prefix.
        let mut sources: Vec<&str> = Vec::new();
        for chain in chains.iter().rev() {
            let hash = chain.own().hash.as_str();
            if hash.starts_with(prefix.as_str()) && !sources.contains(&hash) {
                sources.push(hash);
                matching.push(chain);
            }
        }
    }
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(VersionError::NotFound {
            ruleset: ruleset.to_string(),
            prefix: prefix.clone(),
            known: describe_chains(&chains),
        }),
        many => Err(VersionError::Ambiguous {
            ruleset: ruleset.to_string(),
            prefix: prefix.clone(),
            count: many.len(),
        }),
    }
}

/// `0123abcd (2024-05-01, "message"); …` for the newest versions.
fn describe_chains(chains: &[StoredChain]) -> String {
    chains
        .iter()
        .rev()
        .take(LISTED_VERSIONS)
        .map(|c| {
            format!(
                "{} ({}, {:?})",
                c.id.get(..MIN_HASH_PREFIX).unwrap_or(&c.id),
                c.own().time.date_naive(),
                c.own().message
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The newest stored source of every rule set, as files named `ID@HASH.rules`.
pub fn stored_heads(store: &dyn RecordStore) -> Result<Vec<SourceFile>, StoreError> {
    let mut heads = Vec::new();
    for id in store.ruleset_ids()? {
        if let Some(newest) = store.ruleset_versions(&id)?.pop() {
            heads.push(version_file(&newest));
        }
    }
    Ok(heads)
}

/// A stored version as a source file named `ID@HASH12.rules` (diagnostics point at it).
pub fn version_file(version: &RuleSetVersion) -> SourceFile {
    SourceFile::new(
        format!(
            "{}@{}.rules",
            version.ruleset_id,
            version.hash.get(..12).unwrap_or(&version.hash)
        ),
        version.source.clone(),
    )
}

/// Compiles `source` as rule set `ruleset`; the rule sets it extends come from `context`
/// (the first file declaring an id wins; a context file declaring `ruleset` itself is
/// ignored, as are context files that do not parse and are not needed).
pub fn compile_version(
    ruleset: &str,
    source: SourceFile,
    context: &[SourceFile],
) -> Result<CompiledRuleSet, Diagnostics> {
    let mut workspace = Workspace::new();
    let name = source.name.to_string();
    match workspace.add_source(source, None) {
        Some(id) if id == ruleset => {}
        Some(id) => {
            return Err(Diagnostic::error(
                "E0711",
                format!("`{name}` declares rule set `{id}`, not `{ruleset}`"),
            )
            .with_help(format!(
                "compare two versions of the same rule set: give a file whose header is \
                 `ruleset {ruleset} {{ … }}`, or change --ruleset"
            ))
            .into());
        }
        None => return Err(workspace.errors),
    }
    for file in context {
        workspace.add_source(file.clone(), None);
    }
    workspace.compile(ruleset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{NewRuleSetVersion, Records, SledStore, Versions};

    const V1: &str = r#"ruleset s { title "t" version "1" effective 2020-01-01 unit "u" }
veto v { wording "w" when any(records where kind = 黑名单) }
"#;

    fn store_with_versions(sources: &[&str]) -> (SledStore, Vec<String>) {
        let store = SledStore::open_temporary().expect("store");
        let hashes = sources
            .iter()
            .map(|source| {
                let id = crate::syntax::parse(&SourceFile::new("t.rules", *source))
                    .expect("parses")
                    .header
                    .id
                    .value;
                store
                    .put_ruleset_version(&NewRuleSetVersion {
                        ruleset_id: &id,
                        source,
                        author: "test",
                        message: "m",
                        time: chrono::Utc::now(),
                    })
                    .expect("saved")
                    .hash
            })
            .collect();
        (store, hashes)
    }

    /// The shipped `water` rule set and a revision (heavier, longer penalty deduction).
    fn water_versions() -> (CompiledRuleSet, CompiledRuleSet) {
        const BASE: &str = include_str!("../rulesets/city/base.rules");
        const WATER: &str = include_str!("../rulesets/water/water.rules");
        let revised = WATER
            .replace("const 每次处罚扣分     = 2", "const 每次处罚扣分     = 3")
            .replace(
                "const 处罚回看期     = 2 years",
                "const 处罚回看期     = 3 years",
            )
            .replace("version   \"2024.1\"", "version   \"2024.2\"");
        assert_ne!(revised, WATER, "the revision changed something");
        let compile = |text: &str| {
            let mut workspace = Workspace::new();
            workspace.add_source(SourceFile::new("base.rules", BASE), None);
            workspace.add_source(SourceFile::new("water.rules", text.to_string()), None);
            workspace
                .compile("water")
                .unwrap_or_else(|d| panic!("{}", d.render()))
        };
        (compile(WATER), compile(&revised))
    }

    /// The report over the records tree, record by record (the path before the view).
    fn impact_by_record(
        store: &SledStore,
        old: &CompiledRuleSet,
        new: &CompiledRuleSet,
        as_of: NaiveDate,
    ) -> ImpactReport {
        let options = ImpactOptions::default();
        analyse_with(
            old,
            new,
            as_of,
            store.scan_entities_raw(),
            crate::store::RawEntity::decode_for_evaluation,
            &options,
            &mut |_| {},
        )
        .expect("runs")
    }

    #[test]
    fn the_evaluation_view_gives_the_same_report_as_the_records() {
        use crate::store::{EventKind, RecordEvent};
        let store = SledStore::open_temporary().expect("store");
        let cfg = crate::demo::DemoConfig {
            seed: 23,
            entities: 600,
            records_per_entity: (0, 14),
        };
        let records: Vec<crate::record::CreditRecord> =
            crate::demo::entities(cfg).flat_map(|(_, _, r)| r).collect();
        for batch in records.chunks(1_000) {
            let summary = store.put_records(batch).expect("stored");
            assert!(summary.rejected.is_empty(), "{:?}", summary.rejected);
        }
        let (old, new) = water_versions();
        let as_of = NaiveDate::from_ymd_opt(2024, 6, 1).expect("date");
        let options = ImpactOptions::default();
        let run = |store: &SledStore| {
            impact_of_store(store, &old, &new, as_of, &options, &mut |_| {}).expect("runs")
        };
        let before = run(&store);
        assert_eq!(before, impact_by_record(&store, &old, &new, as_of));
        assert!(before.counts.evaluated > 300, "entities were evaluated");

        // Repairs and revocations before the evaluation date on every third record, and a
        // changed version of every seventh.
        let events: Vec<RecordEvent> = records
            .iter()
            .enumerate()
            .filter(|(i, r)| i % 3 == 0 && r.decided_on < as_of)
            .map(|(i, r)| RecordEvent {
                record_id: r.id.clone(),
                kind: if i % 2 == 0 {
                    EventKind::Repair
                } else {
                    EventKind::Revoke
                },
                date: r.decided_on.max(as_of - chrono::Days::new(30)),
                authority: None,
                note: None,
            })
            .collect();
        let applied = store.apply_events(&events).expect("events");
        assert!(applied.iter().filter(|r| r.is_ok()).count() > 100);
        let changed: Vec<crate::record::CreditRecord> = records
            .iter()
            .step_by(7)
            .map(|r| crate::record::CreditRecord {
                decided_on: r.decided_on - chrono::Days::new(400),
                ..r.clone()
            })
            .collect();
        store.put_records(&changed).expect("updated");

        let after = run(&store);
        assert_ne!(after, before, "the events and changes made a difference");
        assert_eq!(after, impact_by_record(&store, &old, &new, as_of));
        let serialised = |r: &ImpactReport| serde_json::to_string(r).expect("json");
        assert_eq!(
            serialised(&after),
            serialised(&impact_by_record(&store, &old, &new, as_of))
        );
    }

    #[test]
    fn references_are_head_or_hex_prefixes() {
        assert_eq!(StoredRef::parse("HEAD"), Ok(StoredRef::Head));
        assert_eq!(
            StoredRef::parse("ABCDEF12"),
            Ok(StoredRef::Hash("abcdef12".into()))
        );
        assert!(StoredRef::parse("abc").is_err(), "too short");
        assert!(StoredRef::parse("abcdefgh").is_err(), "not hex");
        assert!(StoredRef::parse(&"a".repeat(65)).is_err(), "too long");
    }

    #[test]
    fn stored_versions_are_found_by_head_or_prefix() {
        let v2 = V1.replace("version \"1\"", "version \"2\"");
        let (store, hashes) = store_with_versions(&[V1, &v2]);
        let head = find_version(&store, "s", &StoredRef::Head).expect("head");
        assert_eq!(
            head.id, hashes[1],
            "a rule set with no base: its source hash"
        );
        let first =
            find_version(&store, "s", &StoredRef::Hash(hashes[0][..10].into())).expect("by prefix");
        assert_eq!(first.own().source, V1);
        let missing = find_version(&store, "s", &StoredRef::Hash("00000000".into()));
        match missing {
            Err(e @ VersionError::NotFound { .. }) => {
                assert!(e.to_string().contains(&hashes[1][..8]), "{e}")
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            find_version(&store, "other", &StoredRef::Head),
            Err(VersionError::NoVersions { .. })
        ));
    }

    #[test]
    fn a_version_with_a_base_is_named_by_its_own_source_and_its_bases_identity() {
        const BASE: &str = r#"ruleset b { title "t" version "1" effective 2020-01-01 unit "u" }
veto v { wording "w" when any(records where kind = 黑名单) }
"#;
        const SECTOR: &str = r#"ruleset s { title "t" version "1" effective 2020-01-01 unit "u" extends b }
flag f { wording "w" when any(records where kind = 行政处罚) }
"#;
        let base2 = BASE.replace("version \"1\"", "version \"2\"");
        let (store, hashes) = store_with_versions(&[BASE, SECTOR, &base2]);
        let chains = stored_chains(&store, "s").expect("chains");
        assert_eq!(
            chains.len(),
            2,
            "the sector's one source on each base version"
        );
        for chain in &chains {
            let program = chain.compile().expect("compiles");
            assert_eq!(
                program.meta.hash, chain.id,
                "the compiled identity is the chain's"
            );
            assert_eq!(
                chain.id,
                crate::compile::extend_version_id(&hashes[1], &chain.chain[0].hash)
            );
        }
        let head = find_version(&store, "s", &StoredRef::Head).expect("head");
        assert_eq!(
            head.chain[0].hash, hashes[2],
            "in force: on the newest base"
        );
        let old = find_version(&store, "s", &StoredRef::Hash(chains[0].id[..8].into()))
            .expect("the older identity");
        assert_eq!(old.chain[0].source, BASE);
        // The sector's source hash (the older API's version id) names it on the newest base.
        let legacy =
            find_version(&store, "s", &StoredRef::Hash(hashes[1].clone())).expect("legacy");
        assert_eq!(legacy, head);
    }

    #[test]
    fn a_version_must_declare_the_rule_set_compared() {
        let file = SourceFile::new("draft.rules", V1);
        let errors = compile_version("water", file, &[]).expect_err("wrong id");
        let text = errors.render();
        assert!(text.contains("E0711"), "{text}");
        assert!(
            text.contains("declares rule set `s`, not `water`"),
            "{text}"
        );
    }

    #[test]
    fn the_version_replaces_its_namesake_in_the_context() {
        let old = SourceFile::new("old.rules", V1);
        let new = SourceFile::new("new.rules", V1.replace("version \"1\"", "version \"9\""));
        let program = compile_version("s", new, &[old]).expect("compiles");
        assert_eq!(program.meta.version, "9");
    }
}
