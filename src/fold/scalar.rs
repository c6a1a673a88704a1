//! The scalar functions of the language — `min`, `max`, `clamp`, `round` — on
//! values. Shared by the constant folder and the evaluator (one function, so a
//! folded constant and an evaluated one cannot differ), and by the rule set's
//! rounding policy ([`round_points`]).
//!
//! A missing argument makes the result missing, as in arithmetic: `min(a, b)`
//! of a missing `a` is not `b`. Write `min(a otherwise 0, b)` to choose.

use super::EvalError;
use crate::ast::RoundMode;
use crate::ir::{ScalarOp, Value};
use rust_decimal::{Decimal, RoundingStrategy};
use std::cmp::Ordering;

/// Applies `op` to its evaluated arguments, in order. The checker guarantees
/// the count (two or more for `min`/`max`, three for `clamp`, one for `round`)
/// and the types; anything else gives a missing value rather than a panic.
pub(crate) fn apply<'a>(
    op: ScalarOp,
    args: impl Iterator<Item = Result<Value<'a>, EvalError>>,
) -> Result<Value<'a>, EvalError> {
    let mut values: Vec<Value<'a>> = Vec::with_capacity(3);
    for arg in args {
        values.push(arg?);
    }
    if values.iter().any(|v| matches!(v, Value::Missing)) {
        return Ok(Value::Missing);
    }
    Ok(match (op, values.as_slice()) {
        (ScalarOp::Min, [first, rest @ ..]) => extreme(*first, rest, Ordering::Less),
        (ScalarOp::Max, [first, rest @ ..]) => extreme(*first, rest, Ordering::Greater),
        (ScalarOp::Clamp, [x, lo, hi]) => {
            let at_least = extreme(*x, &[*lo], Ordering::Greater);
            extreme(at_least, &[*hi], Ordering::Less)
        }
        (ScalarOp::Round { places, mode }, [Value::Number(n)]) => {
            Value::Number(round(*n, places, mode))
        }
        _ => Value::Missing,
    })
}

/// The value that is `want` (less or greater) than every other; the first one on ties.
/// Values that cannot be compared give a missing result.
fn extreme<'a>(first: Value<'a>, rest: &[Value<'a>], want: Ordering) -> Value<'a> {
    let mut best = first;
    for v in rest {
        match v.compare(&best) {
            Some(o) if o == want => best = *v,
            Some(_) => {}
            None => return Value::Missing,
        }
    }
    best
}

/// `n` rounded to `places` decimal places by `mode`. Half-up is half away from
/// zero (四舍五入: 2.345 → 2.35, −2.345 → −2.35), the rounding of clause points
/// before this function existed; half-even rounds a half to the even digit.
pub(crate) fn round(n: Decimal, places: u32, mode: RoundMode) -> Decimal {
    let strategy = match mode {
        RoundMode::HalfUp => RoundingStrategy::MidpointAwayFromZero,
        RoundMode::HalfEven => RoundingStrategy::MidpointNearestEven,
    };
    n.round_dp_with_strategy(places, strategy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn dec(text: &str) -> Decimal {
        text.parse().expect("a decimal")
    }

    fn run<'a>(op: ScalarOp, args: &[Value<'a>]) -> Value<'a> {
        apply(op, args.iter().map(|v| Ok(*v))).expect("no error")
    }

    fn n(d: Decimal) -> Value<'static> {
        Value::Number(d)
    }

    #[test]
    fn min_and_max_pick_among_all_arguments() {
        let args = [n(dec("3")), n(dec("-1.5")), n(dec("7"))];
        assert_eq!(run(ScalarOp::Min, &args), n(dec("-1.5")));
        assert_eq!(run(ScalarOp::Max, &args), n(dec("7")));
    }

    #[test]
    fn min_and_max_work_on_dates() {
        let a = Value::Date(NaiveDate::from_ymd_opt(2023, 1, 1).expect("date"));
        let b = Value::Date(NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"));
        assert_eq!(run(ScalarOp::Min, &[b, a]), a);
        assert_eq!(run(ScalarOp::Max, &[a, b]), b);
    }

    #[test]
    fn a_missing_argument_makes_the_result_missing() {
        for op in [ScalarOp::Min, ScalarOp::Max] {
            assert_eq!(run(op, &[n(dec("1")), Value::Missing]), Value::Missing);
        }
        let clamp = [n(dec("5")), Value::Missing, n(dec("10"))];
        assert_eq!(run(ScalarOp::Clamp, &clamp), Value::Missing);
    }

    #[test]
    fn clamp_holds_the_value_between_its_bounds() {
        let clamp = |x| run(ScalarOp::Clamp, &[n(x), n(dec("0")), n(dec("10"))]);
        assert_eq!(clamp(dec("-3")), n(dec("0")));
        assert_eq!(clamp(dec("4.5")), n(dec("4.5")));
        assert_eq!(clamp(dec("12")), n(dec("10")));
    }

    #[test]
    fn round_half_up_goes_away_from_zero_and_half_even_to_the_even_digit() {
        let up = |x| round(x, 2, RoundMode::HalfUp);
        let even = |x| round(x, 2, RoundMode::HalfEven);
        assert_eq!(up(dec("2.345")), dec("2.35"));
        assert_eq!(up(dec("-2.345")), dec("-2.35"));
        assert_eq!(even(dec("2.345")), dec("2.34"));
        assert_eq!(even(dec("2.355")), dec("2.36"));
        assert_eq!(round(dec("7.5"), 0, RoundMode::HalfEven), dec("8"));
        assert_eq!(round(dec("6.5"), 0, RoundMode::HalfEven), dec("6"));
        let op = ScalarOp::Round {
            places: 1,
            mode: RoundMode::HalfUp,
        };
        assert_eq!(run(op, &[n(dec("0.25"))]), n(dec("0.3")));
    }
}
