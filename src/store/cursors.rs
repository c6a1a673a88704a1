//! Intake cursors: the [`Cursors`] concern of the store — named positions of the intake
//! sources (e.g. how far `sync` has read a provincial feed), kept with the records so that
//! a restart resumes where the last acknowledged batch ended, and small lists kept under a
//! name (the rejected intake rows, the logged-out console sessions).
//!
//! A value that several processes change by reading it and writing a new one (a list that
//! grows) goes through [`Cursors::swap_cursor`], a compare-and-swap, in
//! [`update_cursor`]'s loop: two replicas adding at once both get their entries in.

use super::StoreError;

/// The intake cursors concern of the store (see the module docs of [`crate::store`]).
pub trait Cursors: Send + Sync {
    /// A named intake cursor (e.g. per sync source).
    fn cursor(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// Sets a named intake cursor.
    fn set_cursor(&self, name: &str, value: &str) -> Result<(), StoreError>;

    /// Sets a named cursor to `value` only if it still holds `expected` (`None`: it is not
    /// set), atomically across threads and processes; returns whether it was set. Durable
    /// when it returns `true`.
    fn swap_cursor(
        &self,
        name: &str,
        expected: Option<&str>,
        value: &str,
    ) -> Result<bool, StoreError>;
}

/// Changes a named cursor by a function of its current value (read, computed, then
/// compare-and-swapped, again on the new value while another writer got in between), so that
/// concurrent writers never lose each other's change. `change` returns `None` to leave the
/// value as it is. Returns the value written, if any.
pub fn update_cursor<C: Cursors + ?Sized>(
    store: &C,
    name: &str,
    mut change: impl FnMut(Option<&str>) -> Option<String>,
) -> Result<Option<String>, StoreError> {
    loop {
        let current = store.cursor(name)?;
        let Some(value) = change(current.as_deref()) else {
            return Ok(None);
        };
        if store.swap_cursor(name, current.as_deref(), &value)? {
            return Ok(Some(value));
        }
    }
}
