//! The user directory: users by domain, by email and by username (list-users, §9.2), over the
//! two global secondary indexes of user items (`by-domain`, `by-email`; `docs/data-model.md`)
//! and the `NAME#` reservation; and the operator's backfill of the index attributes.
//!
//! Index reads are eventually consistent (DynamoDB offers nothing else on a GSI): a change is
//! normally visible there within a second. They project only the attributes of
//! [`item::USER_INDEX_PROJECTION`], so a listed [`UserRec`] carries the get-user view, the
//! lock state and the rule inputs (id, domain, roles), and nothing else (no hash, no sealed
//! value).

use super::expr::Expr;
use super::item::{self, get_s, s};
use super::{Store, StoreError, UserRec, is_domain_id};

/// What one run of [`Store::backfill_user_indexes`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Backfill {
    /// User items read that lacked an index attribute.
    pub missing: u64,
    /// Of those, items given their attributes.
    pub updated: u64,
    /// Of those, items changed meanwhile by another writer (which writes the attributes itself).
    pub skipped: u64,
}

impl Store {
    /// Every user of a domain (1 `Query` on `by-domain`: a domain holds at most 100 users,
    /// whose projected items fit one page), sorted by username. A malformed domain id reads
    /// nothing. Eventually consistent (see the module).
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn list_domain_users(&self, domain_id: &str) -> Result<Vec<UserRec>, StoreError> {
        if !is_domain_id(domain_id) {
            return Ok(Vec::new());
        }
        let items = self
            .table
            .query_index(
                item::DOMAIN_INDEX,
                item::DOMAIN_INDEX_ATTR,
                item::domain_index_key(domain_id),
            )
            .await?;
        let mut users: Vec<UserRec> = items.iter().filter_map(item::user_from_item).collect();
        users.retain(|u| u.domain_id.as_deref() == Some(domain_id));
        users.sort_by_key(|u| u.username.to_lowercase());
        Ok(users)
    }

    /// The users with this email, compared case-insensitively, across all domains (1 `Query`
    /// on `by-email`). Eventually consistent (see the module).
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn find_users_by_email(&self, email: &str) -> Result<Vec<UserRec>, StoreError> {
        if email.is_empty() || email.len() > 255 {
            return Ok(Vec::new());
        }
        let items = self
            .table
            .query_index(
                item::EMAIL_INDEX,
                item::EMAIL_INDEX_ATTR,
                item::email_index_key(email),
            )
            .await?;
        let mut users: Vec<UserRec> = items.iter().filter_map(item::user_from_item).collect();
        users.retain(|u| u.email.eq_ignore_ascii_case(email));
        users.sort_by_key(|u| u.username.to_lowercase());
        Ok(users)
    }

    /// The user holding a username (its lower-case key), through the `NAME#` reservation:
    /// 2 `GetItem` (reservation, then user), both strongly consistent; 1 when the name is
    /// free.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn find_user_by_name(
        &self,
        username_key: &str,
    ) -> Result<Option<UserRec>, StoreError> {
        let Some(name) = self
            .table
            .get(item::name_pk(username_key), item::NAME_SK)
            .await?
        else {
            return Ok(None);
        };
        let Some(user_id) = get_s(&name, "user_id") else {
            return Ok(None);
        };
        let user = self.get_user(&user_id).await?;
        // A rename commits the user and its reservation together; this guards against a
        // reservation read just before one.
        Ok(user.filter(|u| u.username.to_ascii_lowercase() == username_key))
    }

    /// Gives every user item written before the indexes existed its index attributes
    /// (`by_domain`, `by_email`): a filtered `Scan` of the table, page by page, and one
    /// conditional `UpdateItem` per user lacking them. Operator tooling (`identity-manage
    /// backfill-user-index`), never called by a function.
    ///
    /// Invariant: idempotent, and safe beside live traffic: each update is conditional on the
    /// user's `email` and `domain_id` still being those read, so it never indexes a user under
    /// a stale value (a concurrent writer writes the attributes itself). A second run finds
    /// nothing to do.
    ///
    /// # Errors
    /// DynamoDB faults.
    pub async fn backfill_user_indexes(&self) -> Result<Backfill, StoreError> {
        let mut done = Backfill::default();
        let mut start = None;
        loop {
            let mut f = Expr::new();
            let (sk, dom, mail, by_dom, by_mail) = (
                f.name("sk"),
                f.name("domain_id"),
                f.name("email"),
                f.name(item::DOMAIN_INDEX_ATTR),
                f.name(item::EMAIL_INDEX_ATTR),
            );
            let (user_sk, zero) = (f.val(s(item::USER_SK)), f.val(item::n(0)));
            f.cond(format!(
                "{sk} = {user_sk} AND ((size({mail}) > {zero} AND attribute_not_exists({by_mail})) OR (attribute_exists({dom}) AND attribute_not_exists({by_dom})))"
            ));
            let (items, next) = self.table.scan_page(f, start).await?;
            for it in &items {
                let Some(user) = item::user_from_item(it) else {
                    continue;
                };
                done.missing += 1;
                if self.index_user(&user).await? {
                    done.updated += 1;
                } else {
                    done.skipped += 1;
                }
            }
            match next {
                Some(k) => start = Some(k),
                None => return Ok(done),
            }
        }
    }

    /// Writes a user's index attributes from the `email` and `domain_id` read (1
    /// `UpdateItem`, conditional on both being unchanged). `Ok(false)` when they changed.
    async fn index_user(&self, user: &UserRec) -> Result<bool, StoreError> {
        let mut e = Expr::new();
        e.cond_exists().cond_eq("email", s(&user.email));
        match &user.domain_id {
            Some(d) => {
                e.cond_eq("domain_id", s(d))
                    .set(item::DOMAIN_INDEX_ATTR, s(item::domain_index_key(d)));
            }
            None => {
                e.cond_absent("domain_id");
            }
        }
        if !user.email.is_empty() {
            e.set(
                item::EMAIL_INDEX_ATTR,
                s(item::email_index_key(&user.email)),
            );
        }
        let out = self
            .table
            .update(item::user_pk(&user.id), item::USER_SK, e)
            .await?;
        Ok(matches!(out, super::client::Updated::Done(_)))
    }
}
