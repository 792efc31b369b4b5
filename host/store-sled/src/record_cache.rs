//! Decoded copies of the few records read on nearly every request: teams
//! and plugin installations. A public plugin route reads its installation,
//! and the ticket it opens is shown with its team's stage names; without a
//! cache each of those is a sled lookup and a JSON decode per request.
//!
//! Only records that exist are cached, so requests for unknown teams or
//! plugins cannot grow it: its size is bounded by what admins created.
//! Writes forget the keys they touched after their transaction commits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};

use crate::StoreError;

/// A read-through cache of decoded records, keyed like their tree.
#[derive(Debug)]
pub(crate) struct RecordCache<T> {
    entries: RwLock<HashMap<Vec<u8>, T>>,
    /// Bumped by every [`RecordCache::forget`]. A reader notes it before
    /// reading the tree and caches what it read only if it is unchanged,
    /// so a value read before a commit is never cached after that commit
    /// has been forgotten.
    generation: AtomicU64,
}

impl<T> Default for RecordCache<T> {
    fn default() -> Self {
        RecordCache { entries: RwLock::new(HashMap::new()), generation: AtomicU64::new(0) }
    }
}

impl<T: Clone> RecordCache<T> {
    /// The record at `key`: the cached copy, or what `load` reads from the
    /// tree (which is then cached if it exists).
    pub(crate) fn get_or_load(
        &self,
        key: &[u8],
        load: impl FnOnce() -> Result<Option<T>, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        if let Some(found) = self.entries.read().unwrap_or_else(PoisonError::into_inner).get(key) {
            return Ok(Some(found.clone()));
        }
        let generation = self.generation.load(Ordering::SeqCst);
        let loaded = load()?;
        if let Some(value) = &loaded {
            let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
            if self.generation.load(Ordering::SeqCst) == generation {
                entries.insert(key.to_vec(), value.clone());
            }
        }
        Ok(loaded)
    }

    /// Drops the copy at `key`. Call it after the write that changed the
    /// record has committed.
    pub(crate) fn forget(&self, key: &[u8]) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_once_and_reloads_after_forget() {
        let cache = RecordCache::<String>::default();
        let mut loads = 0;
        for _ in 0..3 {
            let got = cache.get_or_load(b"k", || {
                loads += 1;
                Ok(Some("v1".to_owned()))
            });
            assert_eq!(got.expect("load").as_deref(), Some("v1"));
        }
        assert_eq!(loads, 1);
        cache.forget(b"k");
        let got = cache.get_or_load(b"k", || Ok(Some("v2".to_owned()))).expect("load");
        assert_eq!(got.as_deref(), Some("v2"));
    }

    #[test]
    fn absent_records_are_not_cached() {
        let cache = RecordCache::<String>::default();
        assert_eq!(cache.get_or_load(b"k", || Ok(None)).expect("load"), None);
        assert_eq!(cache.get_or_load(b"k", || Ok(Some("now".into()))).expect("load").as_deref(), Some("now"));
    }

    #[test]
    fn a_value_read_before_a_forget_is_not_cached() {
        let cache = RecordCache::<String>::default();
        // The reader reads the old value; a writer commits and forgets the
        // key before the reader caches what it read.
        let got = cache.get_or_load(b"k", || {
            cache.forget(b"k");
            Ok(Some("old".to_owned()))
        });
        assert_eq!(got.expect("load").as_deref(), Some("old"));
        let again = cache.get_or_load(b"k", || Ok(Some("new".to_owned()))).expect("load");
        assert_eq!(again.as_deref(), Some("new"));
    }
}
