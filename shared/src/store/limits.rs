//! SMS send limits: at most one SMS per interval and a number per hour, counted on the user
//! item so every Lambda instance agrees.

use super::client::Updated;
use super::expr::Expr;
use super::item::{self, n};
use super::{Store, StoreError, UserRec};

const HOUR: u64 = 3_600;

/// A counted SMS send, to give back with [`Store::refund_sms`] if the SMS could not be sent.
#[derive(Debug)]
pub struct SmsClaim {
    user_id: String,
    at: u64,
    prev_last: u64,
    prev_count: u64,
    prev_window: u64,
}

/// A send refused by the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsRefusal {
    /// Seconds until a send can succeed.
    pub retry_after_secs: u64,
}

impl Store {
    /// Counts one SMS to `user`'s phone at `now_s`, if the limits allow it (1 `UpdateItem`,
    /// compare-and-set on the last-send time the snapshot `user` shows).
    ///
    /// Invariant: whatever runs concurrently, no two sends are less than `min_interval_s`
    /// apart and no hour window counts more than `hourly_limit`: a claim built on a stale
    /// snapshot fails its condition and is refused.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn claim_sms(
        &self,
        user: &UserRec,
        now_s: u64,
        min_interval_s: u64,
        hourly_limit: u64,
    ) -> Result<Result<SmsClaim, SmsRefusal>, StoreError> {
        let since_last = now_s.saturating_sub(user.sms_last);
        if user.sms_last > 0 && since_last < min_interval_s {
            return Ok(Err(SmsRefusal {
                retry_after_secs: min_interval_s - since_last,
            }));
        }
        let window_open = user.sms_window > 0 && now_s < user.sms_window + HOUR;
        if window_open && user.sms_count >= hourly_limit {
            return Ok(Err(SmsRefusal {
                retry_after_secs: user.sms_window + HOUR - now_s,
            }));
        }
        let mut e = Expr::new();
        e.cond_exists();
        if user.sms_last == 0 {
            e.cond_absent("sms_last");
        } else {
            e.cond_eq("sms_last", n(user.sms_last));
        }
        e.set("sms_last", n(now_s));
        if window_open {
            e.add("sms_count", 1);
        } else {
            e.set("sms_window", n(now_s)).set("sms_count", n(1));
        }
        match self
            .table
            .update(item::user_pk(&user.id), item::USER_SK, e)
            .await?
        {
            Updated::Done(_) => Ok(Ok(SmsClaim {
                user_id: user.id.clone(),
                at: now_s,
                prev_last: user.sms_last,
                prev_count: user.sms_count,
                prev_window: user.sms_window,
            })),
            Updated::Refused(_) => Ok(Err(SmsRefusal {
                retry_after_secs: min_interval_s.max(1),
            })),
        }
    }

    /// Gives back a claim whose SMS was not sent (1 `UpdateItem`), only if no other send was
    /// counted since: a refund never erases someone else's claim.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn refund_sms(&self, claim: SmsClaim) -> Result<(), StoreError> {
        let mut e = Expr::new();
        e.cond_eq("sms_last", n(claim.at))
            .set("sms_count", n(claim.prev_count))
            .set("sms_window", n(claim.prev_window));
        if claim.prev_last == 0 {
            e.remove(&["sms_last"]);
        } else {
            e.set("sms_last", n(claim.prev_last));
        }
        self.table
            .update(item::user_pk(&claim.user_id), item::USER_SK, e)
            .await?;
        Ok(())
    }
}
