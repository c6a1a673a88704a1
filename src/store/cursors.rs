//! Intake cursors: the [`Cursors`] concern of the store — named positions of the intake
//! sources (e.g. how far `sync` has read a provincial feed), kept with the records so that
//! a restart resumes where the last acknowledged batch ended.

use super::StoreError;

/// The intake cursors concern of the store (see the module docs of [`crate::store`]).
pub trait Cursors: Send + Sync {
    /// A named intake cursor (e.g. per sync source).
    fn cursor(&self, name: &str) -> Result<Option<String>, StoreError>;

    /// Sets a named intake cursor.
    fn set_cursor(&self, name: &str, value: &str) -> Result<(), StoreError>;
}
