//! `count distinct`: the set of different per-record values seen by one query.
//! Entities have few records, so a short list compared with [`Value::equals`]
//! serves (no hashing of borrowed values); a missing value is never counted.

use crate::ir::Value;

/// Adds `value` to `seen` unless it is missing or already there.
pub(super) fn add<'a>(seen: &mut Vec<Value<'a>>, value: Value<'a>) {
    if matches!(value, Value::Missing) || seen.iter().any(|v| v.equals(&value)) {
        return;
    }
    seen.push(value);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_counts_once_and_missing_never() {
        let mut seen = Vec::new();
        for v in [
            Value::Text("武汉市交通运输局"),
            Value::Missing,
            Value::Text("武汉市市场监督管理局"),
            Value::Text("武汉市交通运输局"),
        ] {
            add(&mut seen, v);
        }
        assert_eq!(
            seen,
            vec![
                Value::Text("武汉市交通运输局"),
                Value::Text("武汉市市场监督管理局")
            ]
        );
    }
}
