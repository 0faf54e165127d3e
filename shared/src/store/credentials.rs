//! API keys (contract §8.1), sealed on the user item.

use super::client::Updated;
use super::expr::Expr;
use super::item::{self, b, s};
use super::{Store, StoreError};

impl Store {
    /// Gives a user its first API key (sealed by the caller), for users created before keys
    /// existed (1 `UpdateItem`). Invariant: only if the user has none and never had one
    /// deleted; `Ok(false)` otherwise (another request created it first: read it again).
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn create_api_key(&self, user_id: &str, sealed: &str) -> Result<bool, StoreError> {
        let mut e = Expr::new();
        e.cond_exists()
            .cond_absent("apikey")
            .cond_absent("apikey_deleted")
            .set("apikey", s(sealed));
        let out = self
            .table
            .update(item::user_pk(user_id), item::USER_SK, e)
            .await?;
        Ok(matches!(out, Updated::Done(_)))
    }

    /// Replaces the user's API key (1 `UpdateItem`); tokens are not revoked. `Ok(false)` when
    /// the user is gone.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn replace_api_key(&self, user_id: &str, sealed: &str) -> Result<bool, StoreError> {
        let mut e = Expr::new();
        e.cond_exists()
            .set("apikey", s(sealed))
            .remove(&["apikey_deleted"]);
        let out = self
            .table
            .update(item::user_pk(user_id), item::USER_SK, e)
            .await?;
        Ok(matches!(out, Updated::Done(_)))
    }

    /// Deletes the user's API key (1 `UpdateItem`), remembering that it was deleted so none is
    /// created on next use. `Ok(false)` when the user has none.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn delete_api_key(&self, user_id: &str) -> Result<bool, StoreError> {
        let mut e = Expr::new();
        let k = e.name("apikey");
        e.cond(format!("attribute_exists({k})"))
            .remove(&["apikey"])
            .set("apikey_deleted", b(true));
        let out = self
            .table
            .update(item::user_pk(user_id), item::USER_SK, e)
            .await?;
        Ok(matches!(out, Updated::Done(_)))
    }
}
