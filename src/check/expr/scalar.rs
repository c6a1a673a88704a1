//! Typing of the scalar functions `min`, `max`, `clamp` and `round`: argument
//! counts, argument types, and the constant parts (`round`'s places, `clamp`'s
//! bounds when both are written as numbers) checked where they are written.

use super::{Ctx, Typed, Typer};
use crate::ast::{Expr, ScalarFn};
use crate::fold::const_eval;
use crate::ir::{Base, IrExpr, Lit, ScalarOp, Ty};
use crate::source::Span;
use rust_decimal::prelude::ToPrimitive;

impl Typer<'_> {
    /// `min(a, b, …)`, `max(a, b, …)`, `clamp(x, lo, hi)`, `round(x, places, mode)`.
    pub(super) fn call(&mut self, func: ScalarFn, args: &[Expr], ctx: Ctx, at: Span) -> Typed {
        match func {
            ScalarFn::Min | ScalarFn::Max => self.extreme(func, args, ctx, at),
            ScalarFn::Clamp => self.clamp(args, ctx, at),
            ScalarFn::Round(mode) => {
                let [x, places] = args else {
                    // The grammar writes exactly two expressions and a mode.
                    return None;
                };
                let (value, ty) = self.number_argument(x, ctx, "`round`");
                let places = self.places(places, ctx);
                let op = ScalarOp::Round {
                    places: places?,
                    mode,
                };
                Some((IrExpr::Scalar(op, vec![value?]), ty?))
            }
        }
    }

    fn extreme(&mut self, func: ScalarFn, args: &[Expr], ctx: Ctx, at: Span) -> Typed {
        let name = func.keyword();
        if args.len() < 2 {
            self.error(
                "E0230",
                format!(
                    "`{name}` needs at least two values, but is given {}",
                    args.len()
                ),
                at,
                format!(
                    "write `{name}(a, b)`; for the {name} over records write `{name}(records where …, amount)`"
                ),
            );
            return None;
        }
        let mut typed: Vec<(IrExpr, Ty, Span)> = Vec::with_capacity(args.len());
        let mut ok = true;
        for arg in args {
            let hint = typed.first().map(|(_, t, _)| t.base);
            match self.expr(arg, ctx, hint.or(Some(Base::Number))) {
                Some((ir, ty)) => typed.push((ir, ty, arg.span)),
                None => ok = false,
            }
        }
        if !ok {
            return None;
        }
        let base = typed[0].1.base;
        if !matches!(base, Base::Number | Base::Date) {
            self.error(
                "E0202",
                format!("`{name}` cannot work on {}", base.describe()),
                typed[0].2,
                "take the smallest or largest of numbers or of dates",
            );
            return None;
        }
        if let Some((_, other, span)) = typed.iter().find(|(_, t, _)| t.base != base) {
            self.error(
                "E0202",
                format!(
                    "the values of `{name}` are {} and {}",
                    base.describe(),
                    other.base.describe()
                ),
                *span,
                "compare numbers with numbers and dates with dates",
            );
            return None;
        }
        let optional = typed.iter().any(|(_, t, _)| t.optional);
        let op = match func {
            ScalarFn::Min => ScalarOp::Min,
            _ => ScalarOp::Max,
        };
        let args = typed.into_iter().map(|(ir, _, _)| ir).collect();
        Some((IrExpr::Scalar(op, args), Ty { base, optional }))
    }

    fn clamp(&mut self, args: &[Expr], ctx: Ctx, at: Span) -> Typed {
        let [x, lo, hi] = args else {
            self.error(
                "E0230",
                format!(
                    "`clamp` needs three values (x, lo, hi), but is given {}",
                    args.len()
                ),
                at,
                "write `clamp(x, 0, 10)` (限定(x, 0, 10)): x, held between 0 and 10",
            );
            return None;
        };
        let typed = [x, lo, hi].map(|arg| self.number_argument(arg, ctx, "`clamp`"));
        let [(x, tx), (lo, tlo), (hi, thi)] = typed;
        let (x, lo, hi) = (x?, lo?, hi?);
        let optional = tx?.optional || tlo?.optional || thi?.optional;
        if let (Ok(Some(Lit::Number(low))), Ok(Some(Lit::Number(high)))) =
            (const_eval(&lo), const_eval(&hi))
            && low > high
        {
            self.error(
                "E0232",
                format!(
                    "the lower bound {} of `clamp` is above its upper bound {}",
                    low.normalize(),
                    high.normalize()
                ),
                args[1].span.to(args[2].span),
                "write the lower bound first: `clamp(x, lo, hi)` (限定(x, 下限, 上限))",
            );
            return None;
        }
        Some((
            IrExpr::Scalar(ScalarOp::Clamp, vec![x, lo, hi]),
            Ty {
                base: Base::Number,
                optional,
            },
        ))
    }

    /// A number argument of `role`; its type, or `None` with a diagnostic.
    fn number_argument(
        &mut self,
        arg: &Expr,
        ctx: Ctx,
        role: &str,
    ) -> (Option<IrExpr>, Option<Ty>) {
        let Some((ir, ty)) = self.expr(arg, ctx, Some(Base::Number)) else {
            return (None, None);
        };
        if ty.base != Base::Number {
            self.mismatch(role, Base::Number, ty, arg.span);
            return (None, None);
        }
        (Some(ir), Some(ty))
    }

    /// `round`'s places: a constant whole number from 0 to 10.
    fn places(&mut self, places: &Expr, ctx: Ctx) -> Option<u32> {
        let (ir, ty) = self.expr(places, ctx, Some(Base::Number))?;
        let value = match const_eval(&ir) {
            Ok(Some(Lit::Number(n))) if ty.base == Base::Number => Some(n),
            _ => None,
        };
        let max = crate::syntax::MAX_ROUND_PLACES;
        match value {
            Some(n) if n.fract().is_zero() && n.to_u32().is_some_and(|p| p <= max) => n.to_u32(),
            _ => {
                self.error(
                    "E0231",
                    format!("the places of `round` must be a whole number from 0 to {max}"),
                    places.span,
                    "write how many decimal places to keep, e.g. `round(x, 2, half_up)` (舍入(x, 2, 四舍五入))",
                );
                None
            }
        }
    }
}
