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
}

impl Store {
    /// Stores a token minted by a successful password (or API-key) step and clears that
    /// username's failed attempts (1 `TransactWriteItems`).
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn put_token_after_login(
        &self,
        t: &TokenRec,
        username_key: &str,
    ) -> Result<(), StoreError> {
        let writes = vec![
            Write::Put {
                item: item::token_to_item(t),
                if_absent: true,
            },
            Write::delete_any(item::login_pk(username_key), item::LOGIN_SK.into()),
        ];
        self.table.transact(writes).await.map(|_| ())
    }

    /// Stores an MFA session opened by a right password and clears that username's failed
    /// attempts (1 `TransactWriteItems`).
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn put_session_after_login(
        &self,
        se: &SessionRec,
        username_key: &str,
    ) -> Result<(), StoreError> {
        let writes = vec![
            Write::Put {
                item: item::session_to_item(se),
                if_absent: true,
            },
            Write::delete_any(item::login_pk(username_key), item::LOGIN_SK.into()),
        ];
        self.table.transact(writes).await.map(|_| ())
    }

    /// Clears a username's failed password attempts (1 `DeleteItem`).
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn clear_password_attempts(&self, username_key: &str) -> Result<(), StoreError> {
        self.table
            .delete_existing(item::login_pk(username_key), item::LOGIN_SK)
            .await
            .map(|_| ())
    }

    /// Reserves one password (or API-key) attempt for a username, known or not, before the
    /// secret is checked (1 `UpdateItem`; a second one past the free attempts). The attempt
    /// counts as a failure until a success clears the count.
    ///
    /// Invariant (§8.3): however many attempts arrive at once, `free` are evaluated; after that,
    /// one per back-off, which starts at 1 s after the last attempt and doubles with each
    /// further one, up to `max_backoff_s`. `Ok(Err(seconds))` when refused, with the time until
    /// an attempt can be made.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn reserve_password_attempt(
        &self,
        username_key: &str,
        now_ms: u64,
        free: u64,
        max_backoff_s: u64,
    ) -> Result<Result<(), u64>, StoreError> {
        let pk = item::login_pk(username_key);
        let ttl = now_ms / 1000 + 86_400;
        let mut e = Expr::new();
        e.cond_below("fails", free)
            .add("fails", 1)
            .set("last", n(now_ms))
            .set("ttl", n(ttl));
        let old = match self.table.update(pk.clone(), item::LOGIN_SK, e).await? {
            Updated::Done(_) => return Ok(Ok(())),
            Updated::Refused(None) => return Ok(Ok(())),
            Updated::Refused(Some(old)) => old,
        };
        let (fails, last) = (get_n(&old, "fails"), get_n(&old, "last"));
        let doublings = u32::try_from(fails.saturating_sub(free))
            .unwrap_or(u32::MAX)
            .min(20);
        let backoff_ms = (1u64 << doublings).min(max_backoff_s) * 1000;
        if now_ms < last + backoff_ms {
            return Ok(Err((last + backoff_ms - now_ms).div_ceil(1000)));
        }
        let mut e = Expr::new();
        e.cond_eq("fails", n(fails))
            .cond_eq("last", n(last))
            .add("fails", 1)
            .set("last", n(now_ms))
            .set("ttl", n(ttl));
        Ok(match self.table.update(pk, item::LOGIN_SK, e).await? {
            Updated::Done(_) => Ok(()),
            // Another attempt took this slot.
            Updated::Refused(_) => Err(1),
        })
    }

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

    /// Reads an MFA session by the SHA-256 of its id (1 `GetItem`).
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn get_session(&self, hash: &str) -> Result<Option<SessionRec>, StoreError> {
        let it = self
            .table
            .get(item::session_pk(hash), item::SESSION_SK)
            .await?;
        Ok(it.as_ref().and_then(|i| item::session_from_item(hash, i)))
    }

    /// The commit of a successful passcode step (1 `TransactWriteItems`): consume the
    /// session, consume the factor's use-once item, reset the failure counter and store the
    /// token, all or nothing.
    ///
    /// Invariant: a session, a TOTP step of a device and a bypass code each admit one
    /// successful login, however many requests race; the commit happens only while MFA is on
    /// under the session's epoch and, for a bypass code, while its set is still current
    /// (contract §8.3); a refused commit writes nothing.
    ///
    /// # Errors
    /// DynamoDB faults (conflicts and throttles after retries).
    pub async fn finish_login(
        &self,
        session_hash: &str,
        user_id: &str,
        guard: LoginGuard<'_>,
        claim: LoginClaim,
        token: &TokenRec,
    ) -> Result<FinishLogin, StoreError> {
        let bypass = matches!(claim, LoginClaim::Bypass { .. });
        let mut writes = vec![Write::delete_existing(
            item::session_pk(session_hash),
            item::SESSION_SK.into(),
        )];
        let mut user = Expr::new();
        user.cond_exists()
            .cond_eq("mfa_enabled", b(true))
            .cond_eq("mfa_epoch", n(guard.mfa_epoch))
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
            Err(f) if flag(&f, 1) && !bypass => FinishLogin::SessionGone,
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
