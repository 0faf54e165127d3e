//! Password and API-key guessing (contract §8.3, §9.3): per username and credential kind,
//! consecutive attempts since the last success of that kind are counted before the secret is
//! checked. A known username counts on its `NAME#` item (the same request that finds the user);
//! an unknown one on a `LOGIN#` item of its own that expires a day after its last attempt, so
//! both cost the same round trips.

use super::client::{Updated, Write};
use super::expr::Expr;
use super::item::{self, Item, get_n, get_s, n};
use super::{SessionRec, Store, StoreError, TokenRec};

/// Most open MFA sessions a user has at once (§9.3); a new one ends the oldest.
pub const MAX_OPEN_SESSIONS: u64 = 10;

/// Outcome of reserving a password or API-key attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginAttempt {
    /// Counted, for the user this username names.
    Known {
        /// User id.
        user_id: String,
        /// The user's domain.
        domain_id: Option<String>,
    },
    /// Counted; no user has this username.
    Unknown,
    /// Refused: wait this many seconds.
    Throttled {
        /// Seconds until an attempt can be made.
        retry_after_secs: u64,
    },
}

/// The kind of secret an attempt presents: each kind has its own count (§9.3), so a success
/// of one kind (a CLI logging in with its API key) never resets the other's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    /// A password (password step, change-password).
    Password,
    /// An API key.
    ApiKey,
}

impl Credential {
    /// The attributes holding this kind's count and last attempt (ms).
    fn attrs(self) -> (&'static str, &'static str) {
        match self {
            Self::Password => ("fails", "last"),
            Self::ApiKey => ("key_fails", "key_last"),
        }
    }
}

/// Where a username's attempts are counted, and how.
struct Counter {
    pk: String,
    sk: &'static str,
    /// A known username's `NAME#` item (which must keep naming a user, and never expires).
    known: bool,
    /// Attribute names of the count and the last attempt.
    fails: &'static str,
    last: &'static str,
}

impl Counter {
    /// The counting update, under `cond` (placeholders of `e`).
    fn update(&self, e: &mut Expr, now_ms: u64) {
        e.add(self.fails, 1).set(self.last, n(now_ms));
        if self.known {
            let uid = e.name("user_id");
            e.cond(format!("attribute_exists({uid})"));
        } else {
            e.set("ttl", n(now_ms / 1000 + 86_400));
        }
    }
}

fn known(i: &Item) -> Option<LoginAttempt> {
    Some(LoginAttempt::Known {
        user_id: get_s(i, "user_id")?,
        domain_id: get_s(i, "domain_id"),
    })
}

impl Store {
    /// Reserves one password (or API-key) attempt for `username_key` before the secret is
    /// checked, and finds the user it names: 1 `UpdateItem` for a known username within its
    /// free attempts, 2 for an unknown one; past them, 2 for both when throttled and 2 / 3
    /// when the back-off allows the attempt (a known name then reads its user, an unknown one
    /// does not): the requests before the answer never tell the two apart (§9.3).
    ///
    /// Invariant (§8.3): however many attempts arrive at once, `free` are evaluated; after that,
    /// one per back-off, which starts at 1 s after the last attempt and doubles with each
    /// further one, up to `max_backoff_s`. Known and unknown usernames behave alike.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn reserve_password_attempt(
        &self,
        username_key: &str,
        kind: Credential,
        now_ms: u64,
        free: u64,
        max_backoff_s: u64,
    ) -> Result<LoginAttempt, StoreError> {
        let (fails_attr, last_attr) = kind.attrs();
        let name = Counter {
            pk: item::name_pk(username_key),
            sk: item::NAME_SK,
            known: true,
            fails: fails_attr,
            last: last_attr,
        };
        let mut e = Expr::new();
        e.cond_below(fails_attr, free);
        name.update(&mut e, now_ms);
        let (counter, old) = match self.table.update(name.pk.clone(), name.sk, e).await? {
            Updated::Done(new) => return Ok(known(&new).unwrap_or(LoginAttempt::Unknown)),
            Updated::Refused(Some(old)) if get_s(&old, "user_id").is_some() => (name, old),
            Updated::Refused(_) => {
                // No user has this name: count on a LOGIN# item of its own.
                let login = Counter {
                    pk: item::login_pk(username_key),
                    sk: item::LOGIN_SK,
                    known: false,
                    fails: fails_attr,
                    last: last_attr,
                };
                let mut e = Expr::new();
                e.cond_below(fails_attr, free);
                login.update(&mut e, now_ms);
                match self.table.update(login.pk.clone(), login.sk, e).await? {
                    Updated::Done(_) | Updated::Refused(None) => {
                        return Ok(LoginAttempt::Unknown);
                    }
                    Updated::Refused(Some(old)) => (login, old),
                }
            }
        };
        // Past the free attempts: one per back-off, taken by compare-and-set.
        let (fails, last) = (get_n(&old, fails_attr), get_n(&old, last_attr));
        let doublings = u32::try_from(fails.saturating_sub(free))
            .unwrap_or(u32::MAX)
            .min(20);
        let backoff_ms = (1u64 << doublings).min(max_backoff_s) * 1000;
        let throttled = LoginAttempt::Throttled {
            retry_after_secs: (last + backoff_ms)
                .saturating_sub(now_ms)
                .div_ceil(1000)
                .max(1),
        };
        // Equal work for known and unknown names (§9.3): an unknown name has made two requests
        // by now, a known one one; so only a known name puts the back-off to DynamoDB (in the
        // compare-and-set's condition), and an unknown one answers here when it is too early.
        if !counter.known && now_ms < last + backoff_ms {
            return Ok(throttled);
        }
        let mut e = Expr::new();
        let (l, due) = (
            e.name(last_attr),
            e.val(n(now_ms.saturating_sub(backoff_ms))),
        );
        e.cond_eq(fails_attr, n(fails))
            .cond_eq(last_attr, n(last))
            .cond(format!("{l} <= {due}"));
        counter.update(&mut e, now_ms);
        Ok(
            match self.table.update(counter.pk.clone(), counter.sk, e).await? {
                Updated::Done(new) if counter.known => known(&new).unwrap_or(LoginAttempt::Unknown),
                Updated::Done(_) => LoginAttempt::Unknown,
                // Too early, or another attempt took this slot.
                Updated::Refused(_) => throttled,
            },
        )
    }

    /// Clears a known username's attempts of `kind` (1 `UpdateItem`): its secret was right.
    /// The other kind's count stays.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn clear_password_attempts(
        &self,
        username_key: &str,
        kind: Credential,
    ) -> Result<(), StoreError> {
        let (pk, sk, e) = clear(username_key, kind);
        self.table.update(pk, &sk, e).await.map(|_| ())
    }

    /// Stores a token minted by a successful password or API-key step and clears the
    /// username's attempts of that `kind` (1 `TransactWriteItems`).
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn put_token_after_login(
        &self,
        t: &TokenRec,
        username_key: &str,
        kind: Credential,
    ) -> Result<(), StoreError> {
        let put = Write::Put {
            item: item::token_to_item(t),
            if_absent: true,
        };
        self.put_clearing(put, username_key, kind).await
    }

    /// Stores an MFA session (in its user's partition, so the passcode step reads it with the
    /// user's devices and codes) opened by a right password, and clears the username's
    /// attempts (1 `UpdateItem` taking the next of the user's session slots, then 1
    /// `TransactWriteItems`).
    ///
    /// Invariant (§9.3): a user has at most [`MAX_OPEN_SESSIONS`] sessions, whatever runs
    /// concurrently: each new one takes the next slot of a ring (an atomic `ADD` on the user
    /// item) and replaces what that slot held, the oldest session.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn put_session_after_login(
        &self,
        se: &SessionRec,
        username_key: &str,
    ) -> Result<(), StoreError> {
        let mut e = Expr::new();
        e.cond_exists().add("sess_seq", 1);
        let seq = match self
            .table
            .update(item::user_pk(&se.user_id), item::USER_SK, e)
            .await?
        {
            Updated::Done(after) => get_n(&after, "sess_seq"),
            // The user is gone: its session would never be read.
            Updated::Refused(_) => return Ok(()),
        };
        let mut se = se.clone();
        se.slot = Some(seq % MAX_OPEN_SESSIONS);
        let put = Write::Put {
            item: item::session_to_item(&se),
            if_absent: false,
        };
        self.put_clearing(put, username_key, Credential::Password)
            .await
    }

    async fn put_clearing(
        &self,
        put: Write,
        username_key: &str,
        kind: Credential,
    ) -> Result<(), StoreError> {
        let (pk, sk, expr) = clear(username_key, kind);
        let writes = vec![put, Write::Update { pk, sk, expr }];
        self.table.transact(writes).await.map(|_| ())
    }
}

/// The update that clears a known username's attempts of `kind` (only while the name is a
/// user's).
fn clear(username_key: &str, kind: Credential) -> (String, String, Expr) {
    let mut e = Expr::new();
    let uid = e.name("user_id");
    e.cond(format!("attribute_exists({uid})"))
        .set(kind.attrs().0, n(0));
    (item::name_pk(username_key), item::NAME_SK.to_string(), e)
}
