//! The drafts under review in sled: tree `drafts` (key = draft id, `u64` BE from 1; value =
//! the postcard `StoredDraft` of `store/drafts.rs`), and [`DraftStore`] for [`SledStore`].
//! Every mutating call returns only after `Db::flush()` succeeded; a status change is a
//! compare-and-swap on the stored value.

use super::super::drafts::{
    StoredDraft, StoredEvent, draft_id, draft_key, new_stored_draft, refuse_bad_id,
};
use super::super::{
    Draft, DraftQuery, DraftStatus, DraftStore, DraftTransition, NewDraft, RecordStore,
};
use super::{SledStore, StoreError, codec};

impl SledStore {
    fn decode_draft(key: &[u8], bytes: &[u8]) -> Result<Draft, StoreError> {
        let corrupt = |reason: String| SledStore::corrupt("drafts", key, reason);
        let id = draft_id(key).ok_or_else(|| corrupt("the key is not 8 bytes".into()))?;
        let stored: StoredDraft = codec::decode(bytes).map_err(corrupt)?;
        stored.decode(id).map_err(corrupt)
    }

    /// The id after the highest one stored.
    fn next_draft_id(&self) -> Result<u64, StoreError> {
        match self.drafts.last().map_err(|e| self.backend(e))? {
            Some((key, _)) => draft_id(&key)
                .map(|id| id.saturating_add(1))
                .ok_or_else(|| SledStore::corrupt("drafts", &key, "the key is not 8 bytes")),
            None => Ok(1),
        }
    }

    fn encode_draft(key: &[u8], stored: &StoredDraft) -> Result<Vec<u8>, StoreError> {
        codec::encode(stored).map_err(|e| SledStore::corrupt("drafts", key, e))
    }
}

impl DraftStore for SledStore {
    fn put_draft(&self, draft: &NewDraft<'_>) -> Result<Draft, StoreError> {
        let _writing = self.writing();
        refuse_bad_id(draft.ruleset_id)?;
        let stored = new_stored_draft(draft);
        // Take the next id with a compare-and-swap on an absent key: two submissions at
        // once get different ids without a transaction.
        loop {
            let id = self.next_draft_id()?;
            let key = draft_key(id);
            let bytes = SledStore::encode_draft(&key, &stored)?;
            let swapped = self
                .drafts
                .compare_and_swap(key, None::<&[u8]>, Some(bytes))
                .map_err(|e| self.backend(e))?;
            if swapped.is_ok() {
                self.flush()?;
                return stored
                    .clone()
                    .decode(id)
                    .map_err(|e| SledStore::corrupt("drafts", &key, e));
            }
        }
    }

    fn draft(&self, id: u64) -> Result<Option<Draft>, StoreError> {
        let key = draft_key(id);
        match self.drafts.get(key).map_err(|e| self.backend(e))? {
            Some(bytes) => SledStore::decode_draft(&key, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn drafts(&self, query: &DraftQuery) -> Result<Vec<Draft>, StoreError> {
        let mut out = Vec::new();
        for item in self.drafts.iter() {
            let (key, bytes) = item.map_err(|e| self.backend(e))?;
            let draft = SledStore::decode_draft(&key, &bytes)?;
            let wanted = query
                .ruleset_id
                .as_deref()
                .is_none_or(|id| draft.ruleset_id == id)
                && query.status.is_none_or(|s| draft.status == s);
            if wanted {
                out.push(draft);
            }
        }
        Ok(out)
    }

    fn update_draft(&self, id: u64, transition: &DraftTransition<'_>) -> Result<Draft, StoreError> {
        let _writing = self.writing();
        let key = draft_key(id);
        loop {
            let Some(old) = self.drafts.get(key).map_err(|e| self.backend(e))? else {
                return Err(StoreError::UnknownDraft { id });
            };
            let mut stored: StoredDraft =
                codec::decode(&old).map_err(|e| SledStore::corrupt("drafts", &key, e))?;
            let status = DraftStatus::from_code(stored.status).ok_or_else(|| {
                SledStore::corrupt("drafts", &key, format!("status code {}", stored.status))
            })?;
            if !transition.from.contains(&status) {
                return Err(StoreError::DraftStatus {
                    id,
                    status,
                    to: transition.to,
                });
            }
            stored.status = transition.to.code();
            stored.events.push(StoredEvent::of(&transition.event));
            if let Some(date) = transition.activate_on {
                stored.activate_on = Some(codec::day_number(date));
            }
            if transition.published_hash.is_some() {
                stored.published_hash = transition.published_hash.clone();
            }
            let new = SledStore::encode_draft(&key, &stored)?;
            let swapped = self
                .drafts
                .compare_and_swap(key, Some(old), Some(new))
                .map_err(|e| self.backend(e))?;
            if swapped.is_ok() {
                self.flush()?;
                return stored
                    .decode(id)
                    .map_err(|e| SledStore::corrupt("drafts", &key, e));
            }
            // Someone else changed the draft meanwhile: decide again on its new status.
        }
    }
}
