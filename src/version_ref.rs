//! How a user names a version of a rule set, the same on the command line and in the HTTP
//! API: `@active` for the version in force (the older spellings `@latest` and `@head` are
//! accepted as aliases), or a version id — 64 hex digits, or any prefix of at least
//! [`MIN_VERSION_PREFIX`] of them that only one version starts with.
//!
//! [`VersionRef::parse`] reads the text; [`VersionRef::pick`] finds the one version it
//! names among candidates and says clearly when none or several match.

/// The fewest hex digits a version-id prefix may have.
pub const MIN_VERSION_PREFIX: usize = 8;

/// The spelling of "the version in force".
pub const ACTIVE: &str = "active";

/// Older spellings of [`ACTIVE`], still accepted.
pub const ACTIVE_ALIASES: [&str; 2] = ["latest", "head"];

/// A version named by a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionRef {
    /// The version in force.
    Active,
    /// The version whose id starts with these lower-case hex digits.
    Prefix(String),
}

/// Why a version reference does not name exactly one version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionRefError {
    /// Neither `active` (or an alias) nor 8 to 64 hex digits.
    #[error(
        "`{0}` is not a version; give `@active` for the version in force (`@latest` and \
         `@head` mean the same), or the version id: 64 hex digits, or at least 8 of its first \
         digits"
    )]
    Malformed(String),
    /// No candidate's id starts with the digits.
    #[error("no version of `{ruleset}` has an id starting with `{prefix}`; {known}")]
    NotFound {
        /// The rule set.
        ruleset: String,
        /// The digits given.
        prefix: String,
        /// The known versions, for the message.
        known: String,
    },
    /// Several candidates' ids start with the digits.
    #[error(
        "`{prefix}` is the start of {count} versions of `{ruleset}`; give more hex digits of \
         the version id"
    )]
    Ambiguous {
        /// The rule set.
        ruleset: String,
        /// The digits given.
        prefix: String,
        /// How many versions match.
        count: usize,
    },
}

impl VersionRef {
    /// Parses `active` (or `latest` / `head`, any ASCII case, with or without a leading
    /// `@`) or 8 to 64 hex digits.
    ///
    /// ```
    /// use credit_rules::version_ref::VersionRef;
    /// assert_eq!(VersionRef::parse("@head"), Ok(VersionRef::Active));
    /// assert_eq!(VersionRef::parse("3F9A1C07"), Ok(VersionRef::Prefix("3f9a1c07".into())));
    /// assert!(VersionRef::parse("3f9a").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<VersionRef, VersionRefError> {
        let trimmed = text.trim();
        let bare = trimmed.strip_prefix('@').unwrap_or(trimmed);
        let is_active = bare.eq_ignore_ascii_case(ACTIVE)
            || ACTIVE_ALIASES.iter().any(|a| bare.eq_ignore_ascii_case(a));
        if is_active {
            return Ok(VersionRef::Active);
        }
        let hex = (MIN_VERSION_PREFIX..=64).contains(&bare.len())
            && bare.bytes().all(|b| b.is_ascii_hexdigit());
        if hex {
            Ok(VersionRef::Prefix(bare.to_ascii_lowercase()))
        } else {
            Err(VersionRefError::Malformed(trimmed.to_string()))
        }
    }

    /// The one candidate this reference names: `active` for [`VersionRef::Active`], else
    /// the only candidate whose id (`id_of`, lower-case hex) starts with the prefix.
    /// Candidates with the same id count once.
    pub fn pick<'c, T>(
        &self,
        ruleset: &str,
        candidates: &'c [T],
        active: Option<&'c T>,
        id_of: impl Fn(&T) -> &str,
    ) -> Result<&'c T, VersionRefError> {
        let known = || {
            let ids: Vec<String> = candidates
                .iter()
                .rev()
                .take(5)
                .map(|c| id_of(c).chars().take(12).collect())
                .collect();
            if ids.is_empty() {
                "it has no stored versions".to_string()
            } else {
                format!("its newest versions: {}", ids.join(", "))
            }
        };
        let prefix = match self {
            VersionRef::Active => {
                return active.ok_or_else(|| VersionRefError::NotFound {
                    ruleset: ruleset.to_string(),
                    prefix: ACTIVE.to_string(),
                    known: known(),
                });
            }
            VersionRef::Prefix(p) => p,
        };
        let mut matching: Vec<&'c T> = Vec::new();
        for c in candidates
            .iter()
            .filter(|c| id_of(c).starts_with(prefix.as_str()))
        {
            if !matching.iter().any(|m| id_of(m) == id_of(c)) {
                matching.push(c);
            }
        }
        match matching.as_slice() {
            [one] => Ok(one),
            [] => Err(VersionRefError::NotFound {
                ruleset: ruleset.to_string(),
                prefix: prefix.clone(),
                known: known(),
            }),
            many => Err(VersionRefError::Ambiguous {
                ruleset: ruleset.to_string(),
                prefix: prefix.clone(),
                count: many.len(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_and_its_aliases() {
        for text in [
            "active", "@active", "latest", "@latest", "head", "@HEAD", " Active ",
        ] {
            assert_eq!(VersionRef::parse(text), Ok(VersionRef::Active), "{text}");
        }
    }

    #[test]
    fn prefixes_need_8_to_64_hex_digits() {
        assert_eq!(
            VersionRef::parse("@ABCDEF01"),
            Ok(VersionRef::Prefix("abcdef01".into()))
        );
        let full = "a".repeat(64);
        assert_eq!(
            VersionRef::parse(&full),
            Ok(VersionRef::Prefix(full.clone()))
        );
        for bad in ["abcdef0", "", "@", "g1234567", &"a".repeat(65), "newest"] {
            let err = VersionRef::parse(bad).expect_err(bad);
            assert!(err.to_string().contains("@active"), "{err}");
        }
    }

    #[test]
    fn pick_finds_one_and_refuses_none_or_several() {
        let ids: Vec<String> = [
            "aaaa1111bbbb",
            "aaaa1111cccc",
            "dddd2222eeee",
            "dddd2222eeee",
        ]
        .map(String::from)
        .to_vec();
        let id = String::as_str;
        let active = Some(&ids[2]);
        let pick = |text: &str| {
            VersionRef::parse(text)
                .expect("parses")
                .pick("water", &ids, active, id)
        };
        assert_eq!(pick("aaaa1111b").map(id), Ok("aaaa1111bbbb"));
        assert_eq!(pick("@active").map(id), Ok("dddd2222eeee"));
        // The same id listed twice is one version.
        assert_eq!(pick("dddd2222").map(id), Ok("dddd2222eeee"));
        assert_eq!(
            pick("aaaa1111"),
            Err(VersionRefError::Ambiguous {
                ruleset: "water".into(),
                prefix: "aaaa1111".into(),
                count: 2
            })
        );
        let err = pick("ffffffff").expect_err("no match");
        assert!(matches!(err, VersionRefError::NotFound { .. }));
        assert!(err.to_string().contains("dddd2222eeee"), "{err}");
        let none: Vec<String> = Vec::new();
        let err = VersionRef::Active
            .pick("water", &none, None, id)
            .expect_err("no active version");
        assert!(err.to_string().contains("no stored versions"), "{err}");
    }
}
