//! SMS send limits (§2.2, §8.3): at most one SMS per interval and a number per hour, counted
//! both on the user item (per phone) and on an item per destination number (keyed by a keyed
//! hash of the E.164 number, never the number), so that accounts sharing one number cannot
//! multiply its SMS. Every Lambda instance agrees: each count is a conditional write.

use super::client::Updated;
use super::expr::Expr;
use super::item::{self, get_n, n};
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

/// A counted SMS to one destination number, to give back with [`Store::refund_number`].
#[derive(Debug)]
pub struct NumberClaim {
    key: String,
    at: u64,
    interval: u64,
}

impl Store {
    /// Counts one SMS to the number whose keyed hash is `number_key`, if its limits allow it
    /// (1 `UpdateItem`; a second one when a new hour window starts). No read comes first: each
    /// write carries the whole rule as its condition.
    ///
    /// Invariant: whatever runs concurrently, for all users together, no two SMS to one number
    /// are less than `min_interval_s` apart and no hour window counts more than `hourly_limit`.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn claim_number(
        &self,
        number_key: &str,
        now_s: u64,
        min_interval_s: u64,
        hourly_limit: u64,
    ) -> Result<Result<NumberClaim, SmsRefusal>, StoreError> {
        let pk = item::number_pk(number_key);
        let hour_ago = now_s.saturating_sub(HOUR);
        let interval_ago = now_s.saturating_sub(min_interval_s);
        let claim = NumberClaim {
            key: number_key.to_string(),
            at: now_s,
            interval: min_interval_s,
        };
        // Within the current window.
        let mut e = Expr::new();
        let (w, c, l) = (e.name("window"), e.name("count"), e.name("last"));
        let (ha, lim, ia) = (
            e.val(n(hour_ago)),
            e.val(n(hourly_limit)),
            e.val(n(interval_ago)),
        );
        e.cond(format!(
            "attribute_exists({w}) AND {w} > {ha} AND {c} < {lim} AND {l} <= {ia}"
        ))
        .add("count", 1)
        .set("last", n(now_s));
        let old = match self.table.update(pk.clone(), item::NUMBER_SK, e).await? {
            Updated::Done(_) => return Ok(Ok(claim)),
            Updated::Refused(old) => old,
        };
        if let Some(old) = &old {
            let (last, window) = (get_n(old, "last"), get_n(old, "window"));
            if last > interval_ago {
                return Ok(Err(SmsRefusal {
                    retry_after_secs: last + min_interval_s - now_s,
                }));
            }
            if window > hour_ago && get_n(old, "count") >= hourly_limit {
                return Ok(Err(SmsRefusal {
                    retry_after_secs: window + HOUR - now_s,
                }));
            }
        }
        // A new window (the first SMS to this number, or the last window is over).
        let mut e = Expr::new();
        let (w, l) = (e.name("window"), e.name("last"));
        let (ha, ia) = (e.val(n(hour_ago)), e.val(n(interval_ago)));
        e.cond(format!(
            "(attribute_not_exists({w}) OR {w} <= {ha}) AND (attribute_not_exists({l}) OR {l} <= {ia})"
        ))
        .set("window", n(now_s))
        .set("count", n(1))
        .set("last", n(now_s))
        .set("ttl", n(now_s + HOUR + 60));
        Ok(match self.table.update(pk, item::NUMBER_SK, e).await? {
            Updated::Done(_) => Ok(claim),
            Updated::Refused(_) => Err(SmsRefusal {
                retry_after_secs: min_interval_s.max(1),
            }),
        })
    }

    /// Gives back a number claim whose SMS was not sent (1 `UpdateItem`), only if no other
    /// send to the number was counted since.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn refund_number(&self, claim: NumberClaim) -> Result<(), StoreError> {
        let mut e = Expr::new();
        e.cond_eq("last", n(claim.at))
            .add("count", -1)
            .set("last", n(claim.at.saturating_sub(claim.interval)));
        self.table
            .update(item::number_pk(&claim.key), item::NUMBER_SK, e)
            .await?;
        Ok(())
    }
}

/// One SMS counted against the deployment's hourly ceiling, to give back with
/// [`Store::refund_deployment_sms`].
#[derive(Debug)]
pub struct CapClaim {
    hour: u64,
}

impl Store {
    /// Counts one SMS against the deployment-wide ceiling of `cap` per clock hour (1
    /// `UpdateItem`: `ADD count 1` on the hour's item, conditional on `count < cap`).
    ///
    /// Invariant (§9.3): whatever runs concurrently, in all instances together, no clock hour
    /// counts more than `cap` SMS. Refused: the seconds until the next hour.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn claim_deployment_sms(
        &self,
        now_s: u64,
        cap: u64,
    ) -> Result<Result<CapClaim, SmsRefusal>, StoreError> {
        let hour = now_s - now_s % HOUR;
        let mut e = Expr::new();
        e.cond_below("count", cap)
            .add("count", 1)
            .set("ttl", n(hour + 2 * HOUR));
        Ok(
            match self
                .table
                .update(item::sms_cap_pk(hour), item::SMS_CAP_SK, e)
                .await?
            {
                Updated::Done(_) => Ok(CapClaim { hour }),
                Updated::Refused(_) => Err(SmsRefusal {
                    retry_after_secs: (hour + HOUR - now_s).max(1),
                }),
            },
        )
    }

    /// Gives back a ceiling claim whose SMS was not sent (1 `UpdateItem`).
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn refund_deployment_sms(&self, claim: CapClaim) -> Result<(), StoreError> {
        let mut e = Expr::new();
        e.cond_exists().add("count", -1);
        self.table
            .update(item::sms_cap_pk(claim.hour), item::SMS_CAP_SK, e)
            .await?;
        Ok(())
    }
}
