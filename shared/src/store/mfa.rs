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
#[derive(Debug, Clone, Default)]
pub struct MfaChange {
    /// Make this the active factor (guarded: its device must still be verified at write time).
    pub factor: Option<FactorType>,
    /// Turn MFA on or off. Off also ends open MFA sessions and voids the bypass codes.
    pub enabled: Option<bool>,
    /// With `enabled: false`: the user's current bypass set (id, number of codes), deleted in
    /// the same transaction.
    pub drop_bypass: Option<(String, u64)>,
    /// Revoke every token of the user issued at or before this (ms): MFA going on.
    pub revoke_all_at: Option<u64>,
    /// Reset the consecutive-failure count (unlock, enable, disable).
    pub reset_fails: bool,
    /// New enforcement level.
    pub level: Option<LevelChange>,
    /// With `level`: the user's domain and the level the permission check read, which must
    /// still be the domain's at write time (§9.3).
    pub domain_guard: Option<(String, EnforcementLevel)>,
}

impl MfaChange {
    /// True when applying it would change nothing.
    pub fn is_noop(&self) -> bool {
        self.factor.is_none()
            && self.enabled.is_none()
            && self.drop_bypass.is_none()
            && self.revoke_all_at.is_none()
            && !self.reset_fails
            && self.level.is_none()
    }
}

impl Store {
    /// Applies `change` to the user (1 `UpdateItem`; a `TransactWriteItems` when it also deletes
    /// bypass codes). Invariant: a factor becomes active only while its device is verified at
    /// the moment of the write; enabling and the revocation of earlier tokens are one write;
    /// disabling deletes the current bypass codes in the same transaction; a level change with a
    /// `domain_guard` is written only while the domain's level is still the one read (a
    /// `TransactWriteItems` with a condition check). `Ok(false)` when the factor's device or the
    /// domain's level changed meanwhile.
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
        let pk = item::user_pk(user_id);
        let mut drops = match (&change.drop_bypass, change.enabled) {
            (Some((set, count)), Some(false)) => bypass_deletes(&pk, set, *count),
            _ => Vec::new(),
        };
        if !drops.is_empty() {
            e.remove(&["bypass_count"]);
        }
        if let (Some((domain, read)), Some(_)) = (&change.domain_guard, change.level) {
            let mut cond = Expr::new();
            cond.cond_eq("level", s(read.as_str()));
            drops.push(Write::Check {
                pk: item::domain_pk(domain),
                sk: item::DOMAIN_SK.into(),
                cond,
            });
        }
        if drops.is_empty() {
            let out = self.table.update(pk, item::USER_SK, e).await?;
            return Ok(matches!(out, Updated::Done(_)));
        }
        let mut writes = vec![Write::Update {
            pk,
            sk: item::USER_SK.into(),
            expr: e,
        }];
        writes.extend(drops);
        Ok(self.table.transact(writes).await?.is_ok())
    }

    /// Makes `codes` the user's only bypass codes (1 `TransactWriteItems`: name the set on the
    /// user, put each code, delete every code of the `previous` set). Invariant: only while MFA
    /// is enabled and the current set is still `previous` (id, count) as read, so no set is
    /// ever left behind by a concurrent generation. `Ok(false)` when either changed: read the
    /// user again to tell which.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn put_bypass_set(
        &self,
        user_id: &str,
        set_id: &str,
        codes: &[BypassRec],
        previous: Option<(&str, u64)>,
    ) -> Result<bool, StoreError> {
        let pk = item::user_pk(user_id);
        let mut e = Expr::new();
        e.cond_exists().cond_eq("mfa_enabled", b(true));
        match previous {
            Some((set, _)) => e.cond_eq("bypass_set", s(set)),
            None => e.cond_absent("bypass_set"),
        };
        e.set("bypass_set", s(set_id))
            .set("bypass_count", n(codes.len() as u64));
        let mut writes = vec![Write::Update {
            pk: pk.clone(),
            sk: item::USER_SK.into(),
            expr: e,
        }];
        for c in codes {
            writes.push(Write::Put {
                item: item::bypass_to_item(user_id, c),
                if_absent: false,
            });
        }
        if let Some((set, count)) = previous {
            writes.extend(bypass_deletes(&pk, set, count));
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
            .remove(&["factor", "bypass_set", "bypass_count"])
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
        // Every bypass code goes, current set first; DynamoDB's 100-item limit bounds the
        // transaction, and codes left beyond it (only possible for sets written before old
        // sets were deleted) are void once `bypass_set` is gone and expire by TTL.
        let current = user.bypass_set.as_deref().unwrap_or("");
        let (mut codes, older): (Vec<_>, Vec<_>) =
            bundle.bypass.iter().partition(|c| c.set_id == current);
        codes.extend(older);
        let room = 100usize.saturating_sub(writes.len());
        for c in codes.into_iter().take(room) {
            writes.push(Write::delete_any(pk.clone(), c.sk.clone()));
        }
        Ok(self.table.transact(writes).await?.is_ok())
    }
}

/// Deletes of the `count` codes of bypass set `set` (their keys follow from the set).
fn bypass_deletes(pk: &str, set: &str, count: u64) -> Vec<Write> {
    (0..count)
        .map(|i| {
            let sk = item::bypass_sk(set, usize::try_from(i).unwrap_or(usize::MAX));
            Write::delete_any(pk.to_string(), sk)
        })
        .collect()
}
