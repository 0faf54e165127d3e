//! Domains: read and enforcement level.

use super::client::Updated;
use super::expr::Expr;
use super::item::{self, n, s};
use super::{DomainRec, Store, StoreError, is_domain_id};
use crate::domain::EnforcementLevel;

impl Store {
    /// Reads a domain (1 `GetItem`). An id that cannot be a domain's reads nothing.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn get_domain(&self, id: &str) -> Result<Option<DomainRec>, StoreError> {
        if !is_domain_id(id) {
            return Ok(None);
        }
        let it = self.table.get(item::domain_pk(id), item::DOMAIN_SK).await?;
        Ok(it.as_ref().and_then(item::domain_from_item))
    }

    /// Sets a domain's enforcement level and, when given, its "non-MFA tokens issued at or
    /// before this are revoked" marker (1 `UpdateItem`; both or neither). `Ok(false)` when the
    /// domain does not exist.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn set_domain_level(
        &self,
        domain_id: &str,
        level: EnforcementLevel,
        revoke_non_mfa_at: Option<u64>,
    ) -> Result<bool, StoreError> {
        let mut e = Expr::new();
        e.cond_exists().set("level", s(level.as_str()));
        if let Some(at) = revoke_non_mfa_at {
            e.set("revoked_non_mfa", n(at));
        }
        let out = self
            .table
            .update(item::domain_pk(domain_id), item::DOMAIN_SK, e)
            .await?;
        Ok(matches!(out, Updated::Done(_)))
    }
}
