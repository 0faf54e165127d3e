//! The user's phone and its verification PIN (both live on the user item).

use super::client::Updated;
use super::expr::Expr;
use super::item::{self, PHONE_ATTRS, PIN_ATTRS, b, n, s};
use super::{Store, StoreError};

/// Why `detach_phone` removed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneRemoval {
    /// Removed.
    Removed,
    /// The phone is the active factor of enabled MFA.
    InUse,
    /// No such phone (any more).
    Gone,
}

impl Store {
    async fn update_user(&self, user_id: &str, e: Expr) -> Result<Updated, StoreError> {
        self.table
            .update(item::user_pk(user_id), item::USER_SK, e)
            .await
    }

    /// Attaches an unverified phone (number sealed by the caller) and drops any pending PIN
    /// (1 `UpdateItem`). Invariant: at most one phone per user; `Ok(false)` when one exists.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn attach_phone(
        &self,
        user_id: &str,
        phone_id: &str,
        sealed: &str,
        hint: &str,
    ) -> Result<bool, StoreError> {
        let mut e = Expr::new();
        e.cond_exists()
            .cond_absent("phone_id")
            .set("phone_id", s(phone_id))
            .set("phone_sealed", s(sealed))
            .set("phone_hint", s(hint))
            .set("phone_verified", b(false))
            .remove(PIN_ATTRS);
        Ok(matches!(
            self.update_user(user_id, e).await?,
            Updated::Done(_)
        ))
    }

    /// Stores a new verification PIN (hash only) for the user's unverified phone `phone_id`,
    /// replacing any earlier one (1 `UpdateItem`). `Ok(false)` when that phone is gone or
    /// verified.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn store_pin(
        &self,
        user_id: &str,
        phone_id: &str,
        pin_id: &str,
        pin_hash: &str,
        expires_s: u64,
    ) -> Result<bool, StoreError> {
        let mut e = Expr::new();
        e.cond_exists()
            .cond_eq("phone_id", s(phone_id))
            .cond_eq("phone_verified", b(false))
            .set("pin_id", s(pin_id))
            .set("pin_hash", s(pin_hash))
            .set("pin_expires", n(expires_s))
            .set("pin_tries", n(0));
        Ok(matches!(
            self.update_user(user_id, e).await?,
            Updated::Done(_)
        ))
    }

    /// Reserves one try of PIN `pin_id` before it is checked (1 `UpdateItem`, `ADD`).
    /// Invariant: at most `max` tries ever reach one PIN, however many run in parallel;
    /// `Ok(false)` when none is left or the PIN was replaced.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn reserve_pin_try(
        &self,
        user_id: &str,
        pin_id: &str,
        max: u64,
    ) -> Result<bool, StoreError> {
        let mut e = Expr::new();
        e.cond_eq("pin_id", s(pin_id))
            .cond_below("pin_tries", max)
            .add("pin_tries", 1);
        Ok(matches!(
            self.update_user(user_id, e).await?,
            Updated::Done(_)
        ))
    }

    /// Marks the phone verified and consumes PIN `pin_id` (1 `UpdateItem`). Invariant: a PIN
    /// verifies at most once; `Ok(false)` when it was consumed or replaced meanwhile.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn confirm_phone(&self, user_id: &str, pin_id: &str) -> Result<bool, StoreError> {
        let mut e = Expr::new();
        e.cond_eq("pin_id", s(pin_id))
            .set("phone_verified", b(true))
            .remove(PIN_ATTRS);
        Ok(matches!(
            self.update_user(user_id, e).await?,
            Updated::Done(_)
        ))
    }

    /// Removes phone `phone_id` and any pending PIN (1 `UpdateItem`). Invariant: the phone of
    /// enabled SMS MFA is never removed, whatever changes concurrently.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn detach_phone(
        &self,
        user_id: &str,
        phone_id: &str,
    ) -> Result<PhoneRemoval, StoreError> {
        let mut e = Expr::new();
        let (en, fa) = (e.name("mfa_enabled"), e.name("factor"));
        let (t, sms) = (e.val(b(true)), e.val(s("SMS")));
        e.cond_eq("phone_id", s(phone_id))
            .cond(format!("NOT ({en} = {t} AND {fa} = {sms})"))
            .remove(PHONE_ATTRS)
            .remove(PIN_ATTRS);
        Ok(match self.update_user(user_id, e).await? {
            Updated::Done(_) => PhoneRemoval::Removed,
            Updated::Refused(old) => {
                let still_there = old
                    .as_ref()
                    .and_then(|i| item::get_s(i, "phone_id"))
                    .is_some_and(|id| id == phone_id);
                if still_there {
                    PhoneRemoval::InUse
                } else {
                    PhoneRemoval::Gone
                }
            }
        })
    }
}
