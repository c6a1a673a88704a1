//! `CompiledRuleSet::evaluate` makes no heap allocation: the shipped water rule set (and
//! every other shipped rule set) over generated entities of 0, 4, 20 and 60 records.
//!
//! The integration binary's global allocator is the system allocator wrapped to count the
//! allocations of the current thread while a counter is armed: only the evaluate call is
//! counted, and other tests running on other threads are not.

use crate::baseline::{self, Rng};
use crate::common::shipped;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting this thread's allocations while armed.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<Option<usize>> = const { Cell::new(None) };
}

fn count_one() {
    let _ = ALLOCATIONS.try_with(|n| {
        if let Some(k) = n.get() {
            n.set(Some(k + 1));
        }
    });
}

// SAFETY: every call is passed to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The heap allocations `f` makes on this thread (what it returns is dropped after).
fn allocations<T>(f: impl FnOnce() -> T) -> (usize, T) {
    ALLOCATIONS.with(|n| n.set(Some(0)));
    let value = std::hint::black_box(f());
    let count = ALLOCATIONS.with(|n| n.replace(None)).unwrap_or(0);
    (count, value)
}

#[test]
fn the_counter_sees_allocations() {
    let (n, v) = allocations(|| vec![1u8; 100]);
    assert_eq!((n, v.len()), (1, 100));
}

#[test]
fn evaluating_allocates_nothing() {
    let workspace = shipped();
    let mut rng = Rng::new(42);
    let as_of = baseline::as_of();
    let entities: Vec<_> = [0, 4, 20, 60]
        .into_iter()
        .flat_map(|n| (0..8).map(move |_| n))
        .map(|n| baseline::entity(&mut rng, n, as_of))
        .collect();
    let ids: Vec<String> = workspace.library.ids().map(String::from).collect();
    let mut evaluated = 0;
    for id in &ids {
        let Ok(program) = workspace.compile(id) else {
            continue;
        };
        for records in &entities {
            let (n, outcome) = allocations(|| program.evaluate(records, as_of));
            assert_eq!(
                n,
                0,
                "{id} with {} records: {} clauses, {} cited",
                records.len(),
                outcome.clauses.len(),
                outcome.evidence.len()
            );
            evaluated += 1;
        }
    }
    assert!(
        evaluated >= 15 * entities.len(),
        "the shipped rule sets were evaluated"
    );
}
