//! MFA state on the user item: settings, bypass-code sets, delete-mfa.

use super::client::{Updated, Write};
use super::expr::Expr;
use super::item::{self, PHONE_ATTRS, PIN_ATTRS, b, n, s};
use super::{BypassRec, Store, StoreError, UserBundle};
use crate::domain::{EnforcementLevel, FactorType};

/// A change of the user's enforcement level and the revocation marker that goes with it.
#[derive(Debug, Clone, Copy)]
pub struct LevelChange {
    /// New level.
    pub level: EnforcementLevel,
    /// When it changed (ms).
    pub since: u64,
    /// The user's new "non-MFA tokens at or before this are revoked" marker (ms).
    pub revoked_non_mfa: u64,
}

/// One update of the MFA settings (§2.12), applied as a single write.
#[derive(Debug, Clone, Copy, Default)]
pub struct MfaChange {
    /// Make this the active factor (guarded: its device must still be verified at write time).
    pub factor: Option<FactorType>,
    /// Turn MFA on or off. Off also ends open MFA sessions and voids the bypass codes.
    pub enabled: Option<bool>,
    /// Revoke every token of the user issued at or before this (ms): MFA going on.
    pub revoke_all_at: Option<u64>,
    /// Reset the consecutive-failure count (unlock, enable, disable).
    pub reset_fails: bool,
    /// New enforcement level.
    pub level: Option<LevelChange>,
}

impl MfaChange {
    /// True when applying it would change nothing.
    pub fn is_noop(&self) -> bool {
        self.factor.is_none()
            && self.enabled.is_none()
            && self.revoke_all_at.is_none()
            && !self.reset_fails
            && self.level.is_none()
    }
}

impl Store {
    /// Applies `change` to the user (1 `UpdateItem`). Invariant: a factor becomes active only
    /// while its device is verified at the moment of the write; enabling and the revocation of
    /// earlier tokens are one write. `Ok(false)` when the factor's device changed meanwhile.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn apply_mfa_change(
        &self,
        user_id: &str,
        change: &MfaChange,
    ) -> Result<bool, StoreError> {
        let mut e = Expr::new();
        e.cond_exists();
        if let Some(f) = change.factor {
            match f {
                FactorType::Sms => {
                    e.cond_eq("phone_verified", b(true));
                }
                FactorType::Otp => {
                    let (ov, zero) = (e.name("otp_verified"), e.val(n(0)));
                    e.cond(format!("{ov} > {zero}"));
                }
            }
            e.set("factor", s(f.as_str()));
        }
        match change.enabled {
            Some(true) => {
                e.set("mfa_enabled", b(true));
            }
            Some(false) => {
                e.set("mfa_enabled", b(false))
                    .add("mfa_epoch", 1)
                    .remove(&["bypass_set"]);
            }
            None => {}
        }
        if let Some(at) = change.revoke_all_at {
            e.set("revoked_all", n(at));
        }
        if change.reset_fails {
            e.set("fails", n(0));
        }
        if let Some(l) = change.level {
            e.set("level", s(l.level.as_str()))
                .set("level_since", n(l.since))
                .set("revoked_non_mfa", n(l.revoked_non_mfa));
        }
        let out = self
            .table
            .update(item::user_pk(user_id), item::USER_SK, e)
            .await?;
        Ok(matches!(out, Updated::Done(_)))
    }

    /// Makes `codes` the user's only valid bypass codes (1 `TransactWriteItems`: name the set
    /// on the user + put each code). Invariant: only while MFA is enabled; `Ok(false)` when it
    /// is off. Codes of earlier sets are void from the commit on.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn put_bypass_set(
        &self,
        user_id: &str,
        set_id: &str,
        codes: &[BypassRec],
    ) -> Result<bool, StoreError> {
        let mut e = Expr::new();
        e.cond_exists()
            .cond_eq("mfa_enabled", b(true))
            .set("bypass_set", s(set_id));
        let mut writes = vec![Write::Update {
            pk: item::user_pk(user_id),
            sk: item::USER_SK.into(),
            expr: e,
        }];
        for c in codes {
            writes.push(Write::Put {
                item: item::bypass_to_item(user_id, c),
                if_absent: false,
            });
        }
        Ok(self.table.transact(writes).await?.is_ok())
    }

    /// Removes MFA from the user read as `bundle` (1 `TransactWriteItems`): MFA off, phone,
    /// PIN, factor and counters gone, open sessions ended, every device and the current
    /// bypass set deleted. Invariant: all or nothing, and only if the user's devices are
    /// those of the snapshot; `Ok(false)` when they changed meanwhile (read again and retry).
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn delete_mfa(&self, bundle: &UserBundle) -> Result<bool, StoreError> {
        let Some(user) = &bundle.user else {
            return Ok(true);
        };
        let mut e = Expr::new();
        e.cond_exists()
            .cond_eq("otp_count", n(user.otp_count))
            .set("mfa_enabled", b(false))
            .set("fails", n(0))
            .set("otp_count", n(0))
            .set("otp_verified", n(0))
            .add("mfa_epoch", 1)
            .remove(&["factor", "bypass_set"])
            .remove(PHONE_ATTRS)
            .remove(PIN_ATTRS);
        let pk = item::user_pk(&user.id);
        let mut writes = vec![Write::Update {
            pk: pk.clone(),
            sk: item::USER_SK.into(),
            expr: e,
        }];
        for d in &bundle.devices {
            writes.push(Write::delete_any(pk.clone(), item::device_sk(&d.id)));
        }
        // Codes of the current set go in the transaction; older sets are already void (the
        // user's `bypass_set` no longer names them) and expire by TTL. Keeps the transaction
        // well under DynamoDB's 100-item limit.
        let current = user.bypass_set.as_deref().unwrap_or("");
        for c in bundle.bypass.iter().filter(|c| c.set_id == current) {
            writes.push(Write::delete_any(pk.clone(), c.sk.clone()));
        }
        Ok(self.table.transact(writes).await?.is_ok())
    }
}
