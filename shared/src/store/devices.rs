//! OTP devices (items in the user's partition) and the device counters on the user item.

use super::client::{Updated, Write};
use super::expr::Expr;
use super::item::{self, b, get_n, n, s};
use super::{DeviceRec, Store, StoreError, is_issued_id};

/// Outcome of reserving a verification attempt on a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Reserved: the code may be checked.
    Reserved,
    /// Too many wrong codes lately: refused without checking.
    Locked,
    /// No such device.
    NoDevice,
}

/// Outcome of removing a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRemoval {
    /// Removed.
    Removed,
    /// It is the last verified device of enabled OTP MFA.
    LastVerified,
    /// No such device (any more).
    Gone,
}

impl Store {
    /// Reads a device (1 `GetItem`). A malformed id reads nothing.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn get_device(
        &self,
        user_id: &str,
        device_id: &str,
    ) -> Result<Option<DeviceRec>, StoreError> {
        if !is_issued_id(user_id) || !is_issued_id(device_id) {
            return Ok(None);
        }
        let it = self
            .table
            .get(item::user_pk(user_id), &item::device_sk(device_id))
            .await?;
        Ok(it.as_ref().and_then(item::device_from_item))
    }

    /// Adds a device (1 `TransactWriteItems`: `ADD otp_count 1` under `otp_count < max` +
    /// `Put`). Invariant: a user never has more than `max` devices, under any concurrency;
    /// `Ok(false)` when full.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn add_device(&self, d: &DeviceRec, max: u64) -> Result<bool, StoreError> {
        let mut e = Expr::new();
        e.cond_exists()
            .cond_below("otp_count", max)
            .add("otp_count", 1);
        let writes = vec![
            Write::Update {
                pk: item::user_pk(&d.user_id),
                sk: item::USER_SK.into(),
                expr: e,
            },
            Write::Put {
                item: item::device_to_item(d),
                if_absent: true,
            },
        ];
        Ok(self.table.transact(writes).await?.is_ok())
    }

    /// Reserves one verification attempt before its code is checked (1 `UpdateItem`; a second
    /// one to start a new run once a lock has expired).
    ///
    /// Invariant: at most `max_failures` attempts in a row reach a device's code, however many
    /// run in parallel; then none until `lock_ms` after the last one.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn reserve_device_attempt(
        &self,
        user_id: &str,
        device_id: &str,
        now_ms: u64,
        max_failures: u64,
        lock_ms: u64,
    ) -> Result<Attempt, StoreError> {
        let (pk, sk) = (item::user_pk(user_id), item::device_sk(device_id));
        let mut e = Expr::new();
        e.cond_exists()
            .cond_below("fails", max_failures)
            .add("fails", 1)
            .set("last_fail", n(now_ms));
        let old = match self.table.update(pk.clone(), &sk, e).await? {
            Updated::Done(_) => return Ok(Attempt::Reserved),
            Updated::Refused(None) => return Ok(Attempt::NoDevice),
            Updated::Refused(Some(old)) => old,
        };
        let last = get_n(&old, "last_fail");
        if now_ms < last + lock_ms {
            return Ok(Attempt::Locked);
        }
        // The lock has expired: start a new run of attempts, unless someone else just did.
        let mut r = Expr::new();
        r.cond_eq("last_fail", n(last))
            .set("fails", n(1))
            .set("last_fail", n(now_ms));
        Ok(match self.table.update(pk, &sk, r).await? {
            Updated::Done(_) => Attempt::Reserved,
            Updated::Refused(_) => Attempt::Locked,
        })
    }

    /// Marks a device verified at TOTP `step` and counts it on the user (1
    /// `TransactWriteItems`). Invariant: a device verifies once, and only with a step later
    /// than any it accepted; `Ok(false)` otherwise.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn verify_device(
        &self,
        user_id: &str,
        device_id: &str,
        step: u64,
    ) -> Result<bool, StoreError> {
        let mut d = Expr::new();
        let (ls, st) = (d.name("last_step"), d.val(n(step)));
        d.cond_eq("verified", b(false))
            .cond(format!("{ls} < {st}"))
            .set("verified", b(true))
            .set("last_step", n(step))
            .set("fails", n(0));
        let mut u = Expr::new();
        u.cond_exists().add("otp_verified", 1);
        let writes = vec![
            Write::Update {
                pk: item::user_pk(user_id),
                sk: item::device_sk(device_id),
                expr: d,
            },
            Write::Update {
                pk: item::user_pk(user_id),
                sk: item::USER_SK.into(),
                expr: u,
            },
        ];
        Ok(self.table.transact(writes).await?.is_ok())
    }

    /// Removes a device read as `was_verified` and decrements the user's counters (1
    /// `TransactWriteItems`). Invariant: the last verified device of enabled OTP MFA is never
    /// removed, whatever runs concurrently.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn remove_device(
        &self,
        user_id: &str,
        device_id: &str,
        was_verified: bool,
    ) -> Result<DeviceRemoval, StoreError> {
        let mut u = Expr::new();
        u.cond_exists().add("otp_count", -1);
        if was_verified {
            let (en, fa, ov) = (
                u.name("mfa_enabled"),
                u.name("factor"),
                u.name("otp_verified"),
            );
            let (t, otp, one) = (u.val(b(true)), u.val(s("OTP")), u.val(n(1)));
            u.cond(format!(
                "NOT ({en} = {t} AND {fa} = {otp} AND {ov} <= {one})"
            ))
            .add("otp_verified", -1);
        }
        let mut d = Expr::new();
        d.cond_exists().cond_eq("verified", b(was_verified));
        let writes = vec![
            Write::Delete {
                pk: item::user_pk(user_id),
                sk: item::device_sk(device_id),
                cond: d,
            },
            Write::Update {
                pk: item::user_pk(user_id),
                sk: item::USER_SK.into(),
                expr: u,
            },
        ];
        Ok(match self.table.transact(writes).await? {
            Ok(()) => DeviceRemoval::Removed,
            Err(flags) if flags.get(1).copied().unwrap_or(false) => DeviceRemoval::LastVerified,
            Err(_) => DeviceRemoval::Gone,
        })
    }
}
