//! "Did you mean …?" suggestions for misspelt names.

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
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, c)| (*distance, c.chars().count()))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::closest;

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
}
