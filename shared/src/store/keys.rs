//! The data keys that seal secrets at rest, stored wrapped by KMS in the table (created on
//! first need, so a deployment needs no hand-run key ceremony; contract §8.3, operations).

use super::item::{self, Item, get_n, get_s, key, n, s};
use super::{Store, StoreError};

impl Store {
    /// Every stored data key, as `(version, base64 KMS CiphertextBlob)`, oldest first (1
    /// `Query`).
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn data_keys(&self) -> Result<Vec<(u32, String)>, StoreError> {
        let mut keys: Vec<(u32, String)> = self
            .table
            .partition(item::KEYRING_PK.to_string())
            .await?
            .iter()
            .filter_map(|i| {
                let v = u32::try_from(get_n(i, "version")).ok()?;
                Some((v, get_s(i, "wrapped")?))
            })
            .collect();
        keys.sort_by_key(|(v, _)| *v);
        Ok(keys)
    }

    /// Stores data key `version` (1 `PutItem`, only if that version does not exist). Invariant:
    /// one key per version, whatever races; `Ok(false)` when another writer stored it first
    /// (read the keys again and use theirs).
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn add_data_key(&self, version: u32, wrapped: &str) -> Result<bool, StoreError> {
        let mut it: Item = key(item::KEYRING_PK.to_string(), &item::key_sk(version));
        it.insert("version".into(), n(u64::from(version)));
        it.insert("wrapped".into(), s(wrapped));
        self.table.put(it, true).await
    }
}
