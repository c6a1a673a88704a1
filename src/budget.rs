//! A time budget and a cancellation flag for engine work started by a server request.
//!
//! The checker has no notion of requests; the HTTP layer runs a check inside
//! [`Budget::run`], which makes the budget current for that thread. The checker's loops ask
//! [`exhausted`] and stop early (with a diagnostic) once the deadline has passed or the
//! request that asked has gone away (its answer timed out, its client disconnected). Outside
//! [`Budget::run`] (the command line, tests) nothing is ever exhausted.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// A deadline and a flag another thread may raise to cancel the work.
#[derive(Debug, Clone)]
pub struct Budget {
    deadline: Instant,
    cancelled: Arc<AtomicBool>,
}

thread_local! {
    static CURRENT: RefCell<Option<Budget>> = const { RefCell::new(None) };
}

impl Budget {
    /// A budget of `time` from now.
    pub fn new(time: Duration) -> Budget {
        Budget {
            deadline: Instant::now() + time,
            cancelled: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Cancels the work running under this budget (or its clones).
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Has the deadline passed or the work been cancelled?
    pub fn is_exhausted(&self) -> bool {
        self.cancelled.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }

    /// Runs `work` with this budget current on this thread.
    pub fn run<T>(&self, work: impl FnOnce() -> T) -> T {
        struct Reset(Option<Budget>);
        impl Drop for Reset {
            fn drop(&mut self) {
                let previous = self.0.take();
                CURRENT.with(|c| *c.borrow_mut() = previous);
            }
        }
        let previous = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        let _reset = Reset(previous);
        work()
    }
}

/// Is the current thread's budget used up? Always false outside [`Budget::run`].
pub fn exhausted() -> bool {
    CURRENT.with(|c| c.borrow().as_ref().is_some_and(Budget::is_exhausted))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_work_under_a_cancelled_or_expired_budget_is_exhausted() {
        assert!(!exhausted());
        let budget = Budget::new(Duration::from_secs(60));
        assert!(!budget.run(exhausted));
        budget.cancel();
        assert!(budget.run(exhausted));
        assert!(!exhausted(), "the budget is current only inside run");
        assert!(Budget::new(Duration::ZERO).run(exhausted));
    }
}
