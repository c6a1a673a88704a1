//! "Did you mean …?" suggestions for misspelt names.
//!
//! The search is bounded so that a hostile rule file cannot make it quadratic: only
//! candidates whose length is within the edit limit of the name are compared, at most
//! [`MAX_CANDIDATES`] of them, and the checker stops asking for suggestions once a rule set
//! has [`MAX_SUGGESTED_PROBLEMS`] problems (later problems are reported without one).

/// Most candidates compared with one unknown name.
pub const MAX_CANDIDATES: usize = 2_000;

/// Once a check has this many problems, unknown names get no suggestion.
pub const MAX_SUGGESTED_PROBLEMS: usize = 100;

/// The closest candidate to `name`, if one is close enough to be a likely typo:
/// at most one edit for short names, about a third of the length for longer ones.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let len = name.chars().count();
    let limit = (len / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .filter(|c| c.len() <= 4 * (len + limit) && c.chars().count().abs_diff(len) <= limit)
        .take(MAX_CANDIDATES)
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, c)| (*distance, c.chars().count()))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::{MAX_CANDIDATES, closest};

    #[test]
    fn one_wrong_character_is_found() {
        assert_eq!(
            closest("行政处法", ["行政处罚", "行政许可"]),
            Some("行政处罚")
        );
        assert_eq!(closest("amuont", ["amount", "kind"]), Some("amount"));
    }

    #[test]
    fn unrelated_names_are_not_suggested() {
        assert_eq!(closest("黑名单", ["行政处罚", "表彰奖励"]), None);
    }

    #[test]
    fn candidates_of_another_length_are_not_compared() {
        assert_eq!(closest("amount", ["amountamount", "a"]), None);
    }

    #[test]
    fn only_a_bounded_number_of_candidates_is_compared() {
        let names: Vec<String> = (0..MAX_CANDIDATES + 10)
            .map(|i| format!("x{i:06}"))
            .collect();
        // The only close candidate comes after the bound: it is not searched for.
        let mut candidates: Vec<&str> = names.iter().map(String::as_str).collect();
        candidates.push("amount");
        assert_eq!(closest("amuont", candidates.iter().copied()), None);
        assert_eq!(closest("amuont", ["amount"]), Some("amount"));
    }
}
