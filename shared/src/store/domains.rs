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

    /// Sets a domain's enforcement level from `from` (the level the caller's permission check
    /// read) to `level` and, when given, its "non-MFA tokens issued at or before this are
    /// revoked" marker (1 `UpdateItem`; both or neither).
    ///
    /// Invariant (§9.3): compare-and-set, so a change decided on a level that has changed since
    /// (a concurrent `RACKSPACE_MANDATED`) is never written.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn set_domain_level(
        &self,
        domain_id: &str,
        from: EnforcementLevel,
        level: EnforcementLevel,
        revoke_non_mfa_at: Option<u64>,
    ) -> Result<LevelSet, StoreError> {
        let mut e = Expr::new();
        e.cond_exists()
            .cond_eq("level", s(from.as_str()))
            .set("level", s(level.as_str()));
        if let Some(at) = revoke_non_mfa_at {
            e.set("revoked_non_mfa", n(at));
        }
        Ok(
            match self
                .table
                .update(item::domain_pk(domain_id), item::DOMAIN_SK, e)
                .await?
            {
                Updated::Done(_) => LevelSet::Done,
                Updated::Refused(Some(_)) => LevelSet::Changed,
                Updated::Refused(None) => LevelSet::NoDomain,
            },
        )
    }
}

/// Outcome of [`Store::set_domain_level`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LevelSet {
    /// Written.
    Done,
    /// The level is no longer the one read: read the domain again and decide again.
    Changed,
    /// The domain does not exist.
    NoDomain,
}
