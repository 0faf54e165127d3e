//! Users: reads of the user item and its partition, creation, roles.

use super::client::{Updated, Write};
use super::expr::Expr;
use super::item::{self, Item, b, get_s, key, n, s};
use super::{DomainRec, Store, StoreError, UserBundle, UserRec, is_domain_id, is_issued_id};

/// Most writes DynamoDB takes in one `TransactWriteItems`.
const MAX_TX: usize = 100;
use crate::domain::Role;
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

/// How `create_user` treats the domain.
#[derive(Debug)]
pub enum DomainPlan {
    /// No domain.
    None,
    /// Create this domain with the user in it.
    Create(DomainRec),
    /// Join an existing domain, if it has room.
    Join {
        /// Domain id.
        id: String,
        /// User limit.
        limit: u64,
    },
}

/// Why `create_user` wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateRefusal {
    /// The username is taken.
    Duplicate,
    /// The joined domain is full.
    DomainFull,
    /// The domain to create exists already.
    DomainTaken,
    /// The joined domain does not exist.
    NoDomain,
}

/// One update-user change (§9.2), applied by [`Store::change_user`] as one write.
#[derive(Clone, Default)]
pub struct UserChange {
    /// New username: (as given, lower-case key).
    pub username: Option<(String, String)>,
    /// New email.
    pub email: Option<String>,
    /// New enabled flag.
    pub enabled: Option<bool>,
    /// New password (Argon2id PHC string).
    pub password_hash: Option<String>,
    /// Revoke every token of the user issued at or before this instant (ms) and end its open
    /// MFA sessions (disable, password change).
    pub revoke_all_at: Option<u64>,
}

impl std::fmt::Debug for UserChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserChange")
            .field("username", &self.username.is_some())
            .field("email", &self.email.is_some())
            .field("enabled", &self.enabled)
            .field("password", &self.password_hash.is_some())
            .field("revoke_all_at", &self.revoke_all_at)
            .finish()
    }
}

/// Why `change_user` wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateRefusal {
    /// The new username is taken.
    Duplicate,
    /// The user was deleted, renamed or given another email since it was read.
    Changed,
}

/// Why `delete_user` wrote nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteRefusal {
    /// The user changed since it was read (read again and retry), or is gone.
    Changed,
    /// The domain has other users (the user-admin must be the last).
    NotLast,
}

fn roles_attr(roles: &[Role]) -> AttributeValue {
    AttributeValue::L(roles.iter().map(|r| s(r.id())).collect())
}

impl Store {
    /// Reads a user (1 `GetItem`, strongly consistent). A malformed id reads nothing.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn get_user(&self, id: &str) -> Result<Option<UserRec>, StoreError> {
        if !is_issued_id(id) {
            return Ok(None);
        }
        let it = self.table.get(item::user_pk(id), item::USER_SK).await?;
        Ok(it.as_ref().and_then(item::user_from_item))
    }

    /// Reads several users and a domain in one strongly consistent `BatchGetItem` (none when
    /// there is nothing well-formed to read). Malformed ids are simply absent from the answer.
    ///
    /// # Errors
    /// DynamoDB faults, or keys left unprocessed after retries (a throttle).
    pub async fn get_users_and_domain(
        &self,
        user_ids: &[&str],
        domain_id: Option<&str>,
    ) -> Result<(HashMap<String, UserRec>, Option<DomainRec>), StoreError> {
        let mut keys: Vec<Item> = Vec::new();
        for id in user_ids.iter().filter(|id| is_issued_id(id)) {
            let k = key(item::user_pk(id), item::USER_SK);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        if let Some(d) = domain_id.filter(|d| is_domain_id(d)) {
            keys.push(key(item::domain_pk(d), item::DOMAIN_SK));
        }
        let mut users = HashMap::new();
        let mut domain = None;
        for it in self.table.batch_get(keys).await? {
            match get_s(&it, "sk").as_deref() {
                Some(item::USER_SK) => {
                    if let Some(u) = item::user_from_item(&it) {
                        users.insert(u.id.clone(), u);
                    }
                }
                Some(item::DOMAIN_SK) => domain = item::domain_from_item(&it),
                _ => {}
            }
        }
        Ok((users, domain))
    }

    /// Reads a user's whole partition (user, OTP devices, bypass codes, MFA sessions) with one
    /// `Query`.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn get_bundle(&self, user_id: &str) -> Result<UserBundle, StoreError> {
        let mut bundle = UserBundle::default();
        if !is_issued_id(user_id) {
            return Ok(bundle);
        }
        for it in self.table.partition(item::user_pk(user_id)).await? {
            let sk = get_s(&it, "sk").unwrap_or_default();
            if sk == item::USER_SK {
                bundle.user = item::user_from_item(&it);
            } else if sk.starts_with(item::DEVICE_PREFIX) {
                bundle.devices.extend(item::device_from_item(&it));
            } else if sk.starts_with(item::BYPASS_PREFIX) {
                bundle.bypass.extend(item::bypass_from_item(&it));
            } else if sk.starts_with(item::SESSION_PREFIX) {
                bundle.sessions.extend(item::session_from_item(&it));
            }
        }
        Ok(bundle)
    }

    /// Creates a user, reserving its username and creating or joining its domain, in one
    /// `TransactWriteItems`.
    ///
    /// Invariant: usernames are unique (case-insensitively) and a domain never holds more than
    /// its limit, whatever runs concurrently; nothing is written unless everything is. A
    /// refused join costs one more `GetItem` to tell a full domain from a missing one.
    ///
    /// # Errors
    /// DynamoDB faults (conflicts and throttles after retries).
    pub async fn create_user(
        &self,
        user: &UserRec,
        username_key: &str,
        plan: &DomainPlan,
    ) -> Result<Result<(), CreateRefusal>, StoreError> {
        let mut name_item = key(item::name_pk(username_key), item::NAME_SK);
        name_item.insert("user_id".into(), s(&user.id));
        if let Some(d) = &user.domain_id {
            name_item.insert("domain_id".into(), s(d));
        }
        let mut writes = vec![
            Write::Put {
                item: name_item,
                if_absent: true,
            },
            Write::Put {
                item: item::user_to_item(user),
                if_absent: true,
            },
        ];
        match plan {
            DomainPlan::None => {}
            DomainPlan::Create(d) => writes.push(Write::Put {
                item: item::domain_to_item(d),
                if_absent: true,
            }),
            DomainPlan::Join { id, limit } => {
                let mut e = Expr::new();
                e.cond_exists().cond_below("users", *limit).add("users", 1);
                writes.push(Write::Update {
                    pk: item::domain_pk(id),
                    sk: item::DOMAIN_SK.into(),
                    expr: e,
                });
            }
        }
        let Err(flags) = self.table.transact(writes).await? else {
            return Ok(Ok(()));
        };
        if flags.first().copied().unwrap_or(false) {
            return Ok(Err(CreateRefusal::Duplicate));
        }
        Ok(Err(match plan {
            DomainPlan::Create(_) => CreateRefusal::DomainTaken,
            DomainPlan::Join { id, .. } => match self.get_domain(id).await? {
                Some(_) => CreateRefusal::DomainFull,
                None => CreateRefusal::NoDomain,
            },
            DomainPlan::None => CreateRefusal::Duplicate,
        }))
    }

    /// Adds `role` to a user holding exactly `held` (1 `UpdateItem`, compare-and-set on the
    /// role list). `Ok(false)` when the roles changed since they were read: two concurrent
    /// grants can never lose one.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn grant_role(
        &self,
        user_id: &str,
        held: &[Role],
        role: Role,
    ) -> Result<bool, StoreError> {
        let mut roles = held.to_vec();
        roles.push(role);
        let mut e = Expr::new();
        e.cond_exists()
            .cond_eq("roles", roles_attr(held))
            .set("roles", roles_attr(&roles));
        let out = self
            .table
            .update(item::user_pk(user_id), item::USER_SK, e)
            .await?;
        Ok(matches!(out, super::client::Updated::Done(_)))
    }

    /// Applies `change` to `user` as read (update-user, §9.2). Without a new username key: 1
    /// `UpdateItem`. With one: 1 `TransactWriteItems` of the user update, `Put NAME#<new>` if
    /// absent and `Delete NAME#<old>` (if still this user's).
    ///
    /// Invariant: usernames stay unique and the user and its reservation change together, all
    /// or nothing, however many requests race (two renames to one name: exactly one wins, the
    /// other gets `Duplicate`). The write is a compare-and-set on the `username` and `email`
    /// read, so the index attributes written beside them (`by_domain`, `by_email`; also
    /// backfilled here) never lag a concurrent rename or email change: a concurrent change
    /// gives `Changed`. Revocation (`revoked_all`) and the end of open MFA sessions (`ADD
    /// mfa_epoch 1`) are in the same write as the change that causes them.
    ///
    /// # Errors
    /// DynamoDB faults (conflicts and throttles after retries).
    pub async fn change_user(
        &self,
        user: &UserRec,
        change: &UserChange,
    ) -> Result<Result<(), UpdateRefusal>, StoreError> {
        let mut e = Expr::new();
        e.cond_exists()
            .cond_eq("username", s(&user.username))
            .cond_eq("email", s(&user.email));
        if let Some((name, _)) = &change.username {
            e.set("username", s(name));
        }
        let email = change.email.as_deref().unwrap_or(&user.email);
        if let Some(new) = &change.email {
            e.set("email", s(new));
        }
        if !email.is_empty() {
            e.set(item::EMAIL_INDEX_ATTR, s(item::email_index_key(email)));
        }
        if let Some(d) = &user.domain_id {
            e.set(item::DOMAIN_INDEX_ATTR, s(item::domain_index_key(d)));
        }
        if let Some(en) = change.enabled {
            e.set("enabled", b(en));
        }
        if let Some(h) = &change.password_hash {
            e.set("pwd", s(h));
        }
        if let Some(at) = change.revoke_all_at {
            e.set("revoked_all", n(at)).add("mfa_epoch", 1);
        }
        let pk = item::user_pk(&user.id);
        let old_key = user.username.to_ascii_lowercase();
        let new_key = change
            .username
            .as_ref()
            .map(|(_, k)| k.clone())
            .filter(|k| *k != old_key);
        let Some(new_key) = new_key else {
            return Ok(match self.table.update(pk, item::USER_SK, e).await? {
                Updated::Done(_) => Ok(()),
                Updated::Refused(_) => Err(UpdateRefusal::Changed),
            });
        };
        let mut name_item = key(item::name_pk(&new_key), item::NAME_SK);
        name_item.insert("user_id".into(), s(&user.id));
        if let Some(d) = &user.domain_id {
            name_item.insert("domain_id".into(), s(d));
        }
        let mut old = Expr::new();
        let (pk_name, uid) = (old.name("pk"), old.name("user_id"));
        let me = old.val(s(&user.id));
        old.cond(format!("attribute_not_exists({pk_name}) OR {uid} = {me}"));
        let writes = vec![
            Write::Update {
                pk,
                sk: item::USER_SK.into(),
                expr: e,
            },
            Write::Put {
                item: name_item,
                if_absent: true,
            },
            Write::Delete {
                pk: item::name_pk(&old_key),
                sk: item::NAME_SK.into(),
                cond: old,
            },
        ];
        Ok(match self.table.transact(writes).await? {
            Ok(()) => Ok(()),
            Err(flags) if flags.get(1).copied().unwrap_or(false) => Err(UpdateRefusal::Duplicate),
            Err(_) => Err(UpdateRefusal::Changed),
        })
    }

    /// Deletes the user read as `bundle` and everything it owns (delete-user, §9.2): the user
    /// item (phone, PIN, API key, counters live on it), its username reservation (free again
    /// at once), its domain's user count, its OTP devices, bypass codes and MFA sessions. 1
    /// `TransactWriteItems` when the partition holds fewer than ~95 items (it always does
    /// unless expired sessions or codes are awaiting TTL); the rest, void without the user,
    /// goes in further transactions of at most 100 deletes. Its tokens die with the user
    /// (validation needs it) and expire by TTL.
    ///
    /// Invariant: all or nothing for the user, its name, its domain count and its devices;
    /// only if the user is still as read (same username and device count); with
    /// `last_in_domain`, only while the domain counts exactly one user, whatever joins it
    /// concurrently.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn delete_user(
        &self,
        bundle: &UserBundle,
        last_in_domain: bool,
    ) -> Result<Result<(), DeleteRefusal>, StoreError> {
        let Some(user) = &bundle.user else {
            return Ok(Err(DeleteRefusal::Changed));
        };
        let pk = item::user_pk(&user.id);
        let mut cond = Expr::new();
        cond.cond_exists()
            .cond_eq("username", s(&user.username))
            .cond_eq("otp_count", n(user.otp_count));
        let mut name = Expr::new();
        let (pk_name, uid) = (name.name("pk"), name.name("user_id"));
        let me = name.val(s(&user.id));
        name.cond(format!("attribute_not_exists({pk_name}) OR {uid} = {me}"));
        let mut writes = vec![
            Write::Delete {
                pk: pk.clone(),
                sk: item::USER_SK.into(),
                cond,
            },
            Write::Delete {
                pk: item::name_pk(&user.username.to_ascii_lowercase()),
                sk: item::NAME_SK.into(),
                cond: name,
            },
        ];
        if let Some(d) = &user.domain_id {
            let mut e = Expr::new();
            e.cond_exists().add("users", -1);
            if last_in_domain {
                e.cond_eq("users", n(1));
            }
            writes.push(Write::Update {
                pk: item::domain_pk(d),
                sk: item::DOMAIN_SK.into(),
                expr: e,
            });
        }
        for d in &bundle.devices {
            writes.push(Write::delete_any(pk.clone(), item::device_sk(&d.id)));
        }
        // The current bypass set first, then sessions, then anything older.
        let current = user.bypass_set.as_deref().unwrap_or("");
        let (codes, older): (Vec<_>, Vec<_>) =
            bundle.bypass.iter().partition(|c| c.set_id == current);
        let mut rest: Vec<String> = codes.iter().map(|c| c.sk.clone()).collect();
        rest.extend(bundle.sessions.iter().map(item::session_item_sk));
        rest.extend(older.iter().map(|c| c.sk.clone()));
        let room = MAX_TX.saturating_sub(writes.len()).min(rest.len());
        let later = rest.split_off(room);
        writes.extend(rest.into_iter().map(|sk| Write::delete_any(pk.clone(), sk)));
        if let Err(flags) = self.table.transact(writes).await? {
            let domain_refused = user.domain_id.is_some() && flags.get(2).copied().unwrap_or(false);
            let user_refused = flags.first().copied().unwrap_or(false);
            return Ok(Err(if last_in_domain && domain_refused && !user_refused {
                DeleteRefusal::NotLast
            } else {
                DeleteRefusal::Changed
            }));
        }
        for chunk in later.chunks(MAX_TX) {
            let deletes = chunk
                .iter()
                .map(|sk| Write::delete_any(pk.clone(), sk.clone()))
                .collect();
            // Void without the user and expiring by TTL anyway: a failure here is only logged.
            if let Err(e) = self.table.transact(deletes).await {
                tracing::warn!(user_id = %user.id, error = %e, "leftover items of a deleted user kept until TTL");
            }
        }
        Ok(Ok(()))
    }
}
