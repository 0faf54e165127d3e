//! Tokens, MFA login sessions and the passcode step's commit.

use super::client::{Updated, Write};
use super::expr::Expr;
use super::item::{self, b, get_n, n};
use super::{SessionRec, Store, StoreError, TokenRec};

/// What a passcode step's commit requires of the user item, as read when the attempt began.
#[derive(Debug, Clone, Copy)]
pub struct LoginGuard<'a> {
    /// The `mfa_epoch` the session was opened under (disable and delete-mfa bump it).
    pub mfa_epoch: u64,
    /// For a bypass code: the set it belongs to, which must still be the user's current one.
    pub bypass_set: Option<&'a str>,
    /// The consecutive attempts this step's reservation counted (itself included): more than
    /// that means others were reserved since, and if they locked the user the commit is
    /// refused (§8.3, §9.3).
    pub attempts: u64,
    /// The lock rule at the moment of the commit.
    pub lock: LockRule,
}

/// The MFA login lock rule (§3.4): locked once `threshold` consecutive attempts failed, until
/// `lock_ms` after the last one, for good from `cap` on.
#[derive(Debug, Clone, Copy)]
pub struct LockRule {
    /// Now (ms).
    pub now_ms: u64,
    /// Consecutive failures that lock.
    pub threshold: u64,
    /// How long a lock lasts after the last failure (ms).
    pub lock_ms: u64,
    /// Consecutive failures after which the lock no longer expires.
    pub cap: u64,
}

/// The use-once item a successful passcode step consumes alongside the session.
#[derive(Debug)]
pub enum LoginClaim {
    /// SMS passcode: nothing besides the session.
    None,
    /// TOTP: claim `step` on the device.
    TotpStep {
        /// Device id.
        device_id: String,
        /// Matched step.
        step: u64,
    },
    /// Bypass code: delete it.
    Bypass {
        /// Sort key of the code.
        sk: String,
    },
}

/// Outcome of [`Store::finish_login`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishLogin {
    /// Committed: session and claim consumed, token stored.
    Done,
    /// The session was consumed by a concurrent request, or MFA was turned off or removed
    /// since it opened.
    SessionGone,
    /// The claim was refused: the TOTP step was used already (replay), or the bypass code is
    /// gone.
    ClaimRefused,
    /// Concurrent failed attempts locked the user after this one was reserved: refused.
    Locked,
}

impl Store {
    /// Stores a new token (1 `PutItem`).
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn put_token(&self, t: &TokenRec) -> Result<(), StoreError> {
        self.table
            .put(item::token_to_item(t), true)
            .await
            .map(|_| ())
    }

    /// Reads a token by the SHA-256 of its value (1 `GetItem`).
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn get_token(&self, hash: &str) -> Result<Option<TokenRec>, StoreError> {
        let it = self.table.get(item::token_pk(hash), item::TOKEN_SK).await?;
        Ok(it.as_ref().and_then(|i| item::token_from_item(hash, i)))
    }

    /// Deletes a token (1 `DeleteItem`); `Ok(false)` when it did not exist.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn delete_token(&self, hash: &str) -> Result<bool, StoreError> {
        self.table
            .delete_existing(item::token_pk(hash), item::TOKEN_SK)
            .await
    }

    /// The commit of a successful passcode step (1 `TransactWriteItems`): consume the
    /// session, consume the factor's use-once item, reset the failure counter and store the
    /// token, all or nothing.
    ///
    /// Invariant: a session, a TOTP step of a device and a bypass code each admit one
    /// successful login, however many requests race; the commit happens only while MFA is on
    /// under the session's epoch and, for a bypass code, while its set is still current
    /// (contract §8.3), and only if attempts reserved after this one have not locked the user
    /// (§9.3: a right code reserved before a lock does not lift it); a refused commit writes
    /// nothing (a refusal by the user item costs 1 `GetItem` to tell why).
    ///
    /// # Errors
    /// DynamoDB faults (conflicts and throttles after retries).
    pub async fn finish_login(
        &self,
        session: &SessionRec,
        user_id: &str,
        guard: LoginGuard<'_>,
        claim: LoginClaim,
        token: &TokenRec,
    ) -> Result<FinishLogin, StoreError> {
        let bypass = matches!(claim, LoginClaim::Bypass { .. });
        // The session's slot, while it still holds this session (a newer one may have taken it).
        let mut cond = Expr::new();
        cond.cond_exists().cond_eq("hash", item::s(&session.hash));
        if session.slot.is_none() {
            cond = Expr::new();
            cond.cond_exists();
        }
        let mut writes = vec![Write::Delete {
            pk: item::user_pk(user_id),
            sk: item::session_item_sk(session),
            cond,
        }];
        let mut user = Expr::new();
        let (f, lf) = (user.name("fails"), user.name("last_fail"));
        let l = guard.lock;
        let (own, thr, cap, cutoff) = (
            user.val(n(guard.attempts)),
            user.val(n(l.threshold)),
            user.val(n(l.cap)),
            user.val(n(l.now_ms.saturating_sub(l.lock_ms))),
        );
        user.cond_exists()
            .cond_eq("mfa_enabled", b(true))
            .cond_eq("mfa_epoch", n(guard.mfa_epoch))
            // Not locked by attempts reserved after this one (its own count is no lock).
            .cond(format!(
                "attribute_not_exists({f}) OR {f} <= {own} OR {f} < {thr} OR ({f} < {cap} AND (attribute_not_exists({lf}) OR {lf} <= {cutoff}))"
            ))
            .set("fails", n(0));
        if let Some(set) = guard.bypass_set {
            user.cond_eq("bypass_set", super::item::s(set));
        }
        writes.push(Write::Update {
            pk: item::user_pk(user_id),
            sk: item::USER_SK.into(),
            expr: user,
        });
        match claim {
            LoginClaim::None => {}
            LoginClaim::TotpStep { device_id, step } => {
                let mut d = Expr::new();
                let (ls, st) = (d.name("last_step"), d.val(n(step)));
                d.cond_exists()
                    .cond(format!("{ls} < {st} OR attribute_not_exists({ls})"))
                    .cond_eq("verified", b(true))
                    .set("last_step", n(step));
                writes.push(Write::Update {
                    pk: item::user_pk(user_id),
                    sk: item::device_sk(&device_id),
                    expr: d,
                });
            }
            LoginClaim::Bypass { sk } => {
                writes.push(Write::delete_existing(item::user_pk(user_id), sk));
            }
        }
        writes.push(Write::Put {
            item: item::token_to_item(token),
            if_absent: true,
        });
        let flag = |flags: &[bool], i: usize| flags.get(i).copied().unwrap_or(false);
        Ok(match self.table.transact(writes).await? {
            Ok(()) => FinishLogin::Done,
            Err(f) if flag(&f, 0) => FinishLogin::SessionGone,
            // The user's conditions: read it (1 `GetItem`) to tell which one failed.
            Err(f) if flag(&f, 1) => match self.get_user(user_id).await? {
                Some(u) if u.mfa_enabled && u.mfa_epoch == guard.mfa_epoch => {
                    if guard.bypass_set.is_some() && u.bypass_set.as_deref() != guard.bypass_set {
                        FinishLogin::ClaimRefused
                    } else {
                        FinishLogin::Locked
                    }
                }
                _ if bypass => FinishLogin::ClaimRefused,
                _ => FinishLogin::SessionGone,
            },
            Err(_) => FinishLogin::ClaimRefused,
        })
    }

    /// Reserves one passcode attempt before the passcode is checked (1 `UpdateItem`: `ADD
    /// fails 1`, `SET last_fail`, under the condition that the user is not locked at `now_ms`).
    /// A success later resets the count ([`Store::finish_login`]); a failure leaves it counted.
    ///
    /// Invariant (contract §8.3): however many attempts arrive at once, at most `threshold`
    /// are evaluated per lock window, and none once `cap` consecutive failures are reached.
    /// `Ok(None)` when locked (or the user is gone), else the count including this attempt.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn reserve_passcode_attempt(
        &self,
        user_id: &str,
        now_ms: u64,
        threshold: u64,
        lock_ms: u64,
        cap: u64,
    ) -> Result<Option<u64>, StoreError> {
        let mut e = Expr::new();
        let (f, lf) = (e.name("fails"), e.name("last_fail"));
        let (thr, cap, cutoff) = (
            e.val(n(threshold)),
            e.val(n(cap)),
            e.val(n(now_ms.saturating_sub(lock_ms))),
        );
        e.cond_exists()
            .cond(format!(
                "attribute_not_exists({f}) OR {f} < {thr} OR ({f} < {cap} AND (attribute_not_exists({lf}) OR {lf} <= {cutoff}))"
            ))
            .add("fails", 1)
            .set("last_fail", n(now_ms));
        Ok(
            match self
                .table
                .update(item::user_pk(user_id), item::USER_SK, e)
                .await?
            {
                Updated::Done(after) => Some(get_n(&after, "fails")),
                Updated::Refused(_) => None,
            },
        )
    }
}
