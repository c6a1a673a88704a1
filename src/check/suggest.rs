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
/// A Chinese character carries a word's worth of meaning, and a four-character name
/// misremembered usually differs in its second word (`严重等级` for `严重程度`): names
/// in Chinese characters allow half their length.
pub(crate) fn closest<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let len = name.chars().count();
    let chinese = name.chars().any(is_cjk);
    let limit = if chinese { len / 2 } else { len / 3 }.max(1);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .filter(|c| c.len() <= 4 * (len + limit) && c.chars().count().abs_diff(len) <= limit)
        .take(MAX_CANDIDATES)
        .map(|c| (strsim::levenshtein(name, c), c))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, c)| {
            let count = c.chars().count();
            (*distance, count.abs_diff(len), count)
        })
        .map(|(_, c)| c)
}

/// Is `c` a Chinese character?
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// English names authors reach for, with the record kind's code they mean.
const ENGLISH_KIND_NAMES: &[(&str, &str)] = &[
    ("credit_grade", "SECTOR_GRADE"),
    ("credit_rating", "SECTOR_GRADE"),
    ("grade", "SECTOR_GRADE"),
    ("blacklist", "BLACKLIST"),
    ("black_list", "BLACKLIST"),
    ("penalty", "ADMIN_PENALTY"),
    ("administrative_penalty", "ADMIN_PENALTY"),
    ("license", "ADMIN_LICENSE"),
    ("licence", "ADMIN_LICENSE"),
    ("bad_record", "BAD_BEHAVIOUR"),
    ("bad_behavior", "BAD_BEHAVIOUR"),
    ("bad_conduct", "BAD_BEHAVIOUR"),
    ("award", "COMMENDATION"),
    ("honour", "COMMENDATION"),
    ("honor", "COMMENDATION"),
    ("watchlist", "WATCH_LIST"),
    ("abnormal_operations", "ABNORMAL_OPERATION"),
    ("abnormal", "ABNORMAL_OPERATION"),
    ("judgment_defaulter", "DISHONEST_DEBTOR"),
    ("dishonest_person", "DISHONEST_DEBTOR"),
    ("bribery", "BRIBERY_CRIME"),
    ("wage_arrears_list", "WAGE_ARREARS"),
    ("tax_violation", "TAX_MAJOR_VIOLATION"),
    ("debarment", "BIDDING_BAN"),
];

/// The record kind an English name stands for: a code in any case (`credit_grade` is
/// not a code, `sector_grade` is) or a common English name; `None` for other names.
pub(crate) fn english_kind(name: &str) -> Option<crate::record::RecordKind> {
    if !name.is_ascii() {
        return None;
    }
    let key = name.to_ascii_lowercase().replace(['-', ' '], "_");
    let code = ENGLISH_KIND_NAMES
        .iter()
        .find(|(english, _)| *english == key)
        .map_or_else(|| key.to_ascii_uppercase(), |(_, code)| code.to_string());
    crate::record::RecordKind::ALL
        .iter()
        .copied()
        .find(|k| k.code() == code)
}

#[cfg(test)]
mod tests {
    use super::{MAX_CANDIDATES, closest, english_kind};

    #[test]
    fn four_character_chinese_names_allow_two_edits() {
        assert_eq!(
            closest("严重等级", ["严重程度", "认定日期"]),
            Some("严重程度")
        );
        assert_eq!(closest("重大", ["轻微", "一般", "严重"]), None);
    }

    #[test]
    fn english_kind_names_find_the_kind() {
        let label = |n| english_kind(n).map(|k| k.label());
        assert_eq!(label("credit_grade"), Some("信用等级"));
        assert_eq!(label("Blacklist"), Some("黑名单"));
        assert_eq!(label("admin_penalty"), Some("行政处罚"));
        assert_eq!(label("amount"), None);
    }

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
