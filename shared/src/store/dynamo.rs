//! DynamoDB adapter. All invariants are enforced by DynamoDB itself: conditional writes for
//! every "use once", `ADD` for counters, `TransactWriteItems` for multi-item changes. SDK
//! faults surface as [`ApiError::Unavailable`] (503): nothing is retried blindly and nothing is
//! half-written.

use super::item::{self, Item, b, get_s, key, n, s};
use super::{BypassRec, DeviceRec, DomainRec, SessionRec, TokenRec, UserBundle, UserRec};
use crate::error::ApiError;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, KeysAndAttributes, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update as TxUpdate,
};
use std::collections::HashMap;

/// The table.
#[derive(Debug, Clone)]
pub struct Store {
    client: Client,
    table: String,
}

fn fault(e: impl std::error::Error + Send + Sync + 'static) -> ApiError {
    ApiError::unavailable(anyhow::Error::new(e).context("dynamodb request failed"))
}

fn build_err(e: impl std::error::Error + Send + Sync + 'static) -> ApiError {
    ApiError::Internal(anyhow::Error::new(e).context("dynamodb request build failed"))
}

/// An update expression under construction: SET / REMOVE / ADD clauses and a condition, with
/// generated placeholders for every name and value (so reserved words never bite).
#[derive(Debug, Default, Clone)]
pub struct UserUpdate {
    sets: Vec<String>,
    removes: Vec<String>,
    adds: Vec<String>,
    conds: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl UserUpdate {
    /// An empty update.
    pub fn new() -> Self {
        Self::default()
    }

    /// Placeholder for an attribute name.
    pub fn name(&mut self, attr: &str) -> String {
        let p = format!(
            "#{}",
            attr.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        );
        self.names.insert(p.clone(), attr.to_string());
        p
    }

    /// Placeholder for a value.
    pub fn val(&mut self, v: AttributeValue) -> String {
        let p = format!(":v{}", self.values.len());
        self.values.insert(p.clone(), v);
        p
    }

    /// `SET attr = v`.
    pub fn set(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        let (nm, vl) = (self.name(attr), self.val(v));
        self.sets.push(format!("{nm} = {vl}"));
        self
    }

    /// `REMOVE attr`.
    pub fn remove(&mut self, attr: &str) -> &mut Self {
        let nm = self.name(attr);
        self.removes.push(nm);
        self
    }

    /// `REMOVE` each of `attrs`.
    pub fn remove_all(&mut self, attrs: &[&str]) -> &mut Self {
        for a in attrs {
            self.remove(a);
        }
        self
    }

    /// `ADD attr delta` (atomic counter).
    pub fn add(&mut self, attr: &str, delta: i64) -> &mut Self {
        let nm = self.name(attr);
        let vl = self.val(AttributeValue::N(delta.to_string()));
        self.adds.push(format!("{nm} {vl}"));
        self
    }

    /// Adds a condition (AND-ed), written with placeholders from [`Self::name`] / [`Self::val`].
    pub fn cond(&mut self, expr: impl Into<String>) -> &mut Self {
        self.conds.push(format!("({})", expr.into()));
        self
    }

    /// Condition `attr = v`.
    pub fn cond_eq(&mut self, attr: &str, v: AttributeValue) -> &mut Self {
        let (nm, vl) = (self.name(attr), self.val(v));
        self.cond(format!("{nm} = {vl}"))
    }

    /// Condition: the item exists.
    pub fn cond_exists(&mut self) -> &mut Self {
        let nm = self.name("pk");
        self.cond(format!("attribute_exists({nm})"))
    }

    /// True when the update would change something (SET, REMOVE or ADD).
    pub fn has_actions(&self) -> bool {
        !(self.sets.is_empty() && self.removes.is_empty() && self.adds.is_empty())
    }

    fn expression(&self) -> String {
        let mut parts = Vec::new();
        if !self.sets.is_empty() {
            parts.push(format!("SET {}", self.sets.join(", ")));
        }
        if !self.removes.is_empty() {
            parts.push(format!("REMOVE {}", self.removes.join(", ")));
        }
        if !self.adds.is_empty() {
            parts.push(format!("ADD {}", self.adds.join(", ")));
        }
        parts.join(" ")
    }

    fn condition(&self) -> Option<String> {
        (!self.conds.is_empty()).then(|| self.conds.join(" AND "))
    }
}

/// Result of a conditional update.
#[derive(Debug)]
pub enum UpdateOutcome {
    /// Written; the item as it is now.
    Done(Item),
    /// The condition failed; the item as it was (if it existed).
    ConditionFailed(Option<Item>),
}

/// One write of a transaction.
#[derive(Debug)]
pub enum TxWrite {
    /// Put an item, optionally only if it does not exist yet.
    Put {
        /// The item.
        item: Item,
        /// Require that no item with this key exists.
        if_absent: bool,
    },
    /// Update an item.
    Update {
        /// Partition key.
        pk: String,
        /// Sort key.
        sk: String,
        /// The update.
        update: UserUpdate,
    },
    /// Delete an item if the condition of `cond` (only its condition is used) holds.
    DeleteIf {
        /// Partition key.
        pk: String,
        /// Sort key.
        sk: String,
        /// Condition holder.
        cond: UserUpdate,
    },
    /// Delete an item, optionally only if it exists.
    Delete {
        /// Partition key.
        pk: String,
        /// Sort key.
        sk: String,
        /// Require that it exists.
        if_exists: bool,
    },
}

/// What went wrong in `create_user`.
#[derive(Debug)]
pub enum CreateUserError {
    /// Username taken.
    Duplicate,
    /// The domain is full.
    DomainFull,
    /// The domain already exists / has a user-admin.
    DomainTaken,
    /// The joined domain does not exist.
    NoDomain,
    /// DynamoDB fault.
    Api(ApiError),
}

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

impl Store {
    /// A store over a client and a table.
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(fault)?;
        Ok(out.item)
    }

    /// Reads a user.
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn get_user(&self, id: &str) -> Result<Option<UserRec>, ApiError> {
        Ok(self
            .get(item::user_pk(id), item::USER_SK)
            .await?
            .as_ref()
            .and_then(item::user_from_item))
    }

    /// Reads a domain.
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn get_domain(&self, id: &str) -> Result<Option<DomainRec>, ApiError> {
        Ok(self
            .get(item::domain_pk(id), item::DOMAIN_SK)
            .await?
            .as_ref()
            .and_then(item::domain_from_item))
    }

    /// Reads a token by the SHA-256 of its value.
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn get_token(&self, hash: &str) -> Result<Option<TokenRec>, ApiError> {
        Ok(self
            .get(item::token_pk(hash), item::TOKEN_SK)
            .await?
            .as_ref()
            .and_then(|i| item::token_from_item(hash, i)))
    }

    /// Reads an MFA session by the SHA-256 of its id.
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn get_session(&self, hash: &str) -> Result<Option<SessionRec>, ApiError> {
        Ok(self
            .get(item::session_pk(hash), item::SESSION_SK)
            .await?
            .as_ref()
            .and_then(|i| item::session_from_item(hash, i)))
    }

    /// Resolves a username to `(user id, domain id)`.
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn get_username(
        &self,
        key_: &str,
    ) -> Result<Option<(String, Option<String>)>, ApiError> {
        let it = self.get(item::name_pk(key_), item::NAME_SK).await?;
        Ok(it.and_then(|i| Some((get_s(&i, "user_id")?, get_s(&i, "domain_id")))))
    }

    /// Reads a device.
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn get_device(
        &self,
        user_id: &str,
        device_id: &str,
    ) -> Result<Option<DeviceRec>, ApiError> {
        Ok(self
            .get(item::user_pk(user_id), &item::device_sk(device_id))
            .await?
            .as_ref()
            .and_then(item::device_from_item))
    }

    /// Reads several users and a domain in one `BatchGetItem` (strongly consistent).
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn get_users_and_domain(
        &self,
        user_ids: &[&str],
        domain_id: Option<&str>,
    ) -> Result<(HashMap<String, UserRec>, Option<DomainRec>), ApiError> {
        let mut keys: Vec<Item> = Vec::new();
        for id in user_ids {
            let k = key(item::user_pk(id), item::USER_SK);
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        if let Some(d) = domain_id {
            keys.push(key(item::domain_pk(d), item::DOMAIN_SK));
        }
        let mut users = HashMap::new();
        let mut domain = None;
        if keys.is_empty() {
            return Ok((users, domain));
        }
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(build_err)?,
        );
        // Unprocessed keys are retried (bounded); only the listed keys are ever read.
        for _ in 0..5 {
            let Some(req) = pending.take() else { break };
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, req)
                .send()
                .await
                .map_err(fault)?;
            for it in out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
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
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .filter(|k| !k.keys.is_empty());
        }
        if pending.is_some() {
            return Err(ApiError::unavailable(anyhow::anyhow!(
                "batch get left unprocessed keys"
            )));
        }
        Ok((users, domain))
    }

    /// Reads a user's whole partition (user, OTP devices, bypass codes) with one Query.
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn get_bundle(&self, user_id: &str) -> Result<UserBundle, ApiError> {
        let mut bundle = UserBundle::default();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(item::user_pk(user_id)))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(fault)?;
            for it in out.items.unwrap_or_default() {
                let sk = get_s(&it, "sk").unwrap_or_default();
                if sk == item::USER_SK {
                    bundle.user = item::user_from_item(&it);
                } else if sk.starts_with("OTP#") {
                    bundle.devices.extend(item::device_from_item(&it));
                } else if sk.starts_with("BYPASS#") {
                    bundle.bypass.extend(item::bypass_from_item(&it));
                }
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        Ok(bundle)
    }

    /// Conditional update of any item.
    ///
    /// # Errors
    /// 503 on DynamoDB faults (a failed condition is an `Ok` outcome).
    pub async fn update(
        &self,
        pk: String,
        sk: &str,
        u: UserUpdate,
    ) -> Result<UpdateOutcome, ApiError> {
        let res = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression(u.expression())
            .set_condition_expression(u.condition())
            .set_expression_attribute_names((!u.names.is_empty()).then_some(u.names))
            .set_expression_attribute_values((!u.values.is_empty()).then_some(u.values))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(out) => Ok(UpdateOutcome::Done(out.attributes.unwrap_or_default())),
            Err(e) => match e.into_service_error() {
                aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c) => {
                    Ok(UpdateOutcome::ConditionFailed(c.item))
                }
                other => Err(fault(other)),
            },
        }
    }

    /// Conditional update of a user item.
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn update_user(
        &self,
        user_id: &str,
        u: UserUpdate,
    ) -> Result<UpdateOutcome, ApiError> {
        self.update(item::user_pk(user_id), item::USER_SK, u).await
    }

    /// Conditional update of a device item.
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn update_device(
        &self,
        user_id: &str,
        device_id: &str,
        u: UserUpdate,
    ) -> Result<UpdateOutcome, ApiError> {
        self.update(item::user_pk(user_id), &item::device_sk(device_id), u)
            .await
    }

    /// Conditional update of a domain item.
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn update_domain(
        &self,
        domain_id: &str,
        u: UserUpdate,
    ) -> Result<UpdateOutcome, ApiError> {
        self.update(item::domain_pk(domain_id), item::DOMAIN_SK, u)
            .await
    }

    /// Puts an item unconditionally or only if absent; `Ok(false)` if it existed.
    async fn put(&self, it: Item, if_absent: bool) -> Result<bool, ApiError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(it));
        if if_absent {
            req = req.condition_expression("attribute_not_exists(pk)");
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(fault(other)),
            },
        }
    }

    /// Stores a new token.
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn put_token(&self, t: &TokenRec) -> Result<(), ApiError> {
        self.put(item::token_to_item(t), true).await.map(|_| ())
    }

    /// Stores a new MFA session.
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn put_session(&self, se: &SessionRec) -> Result<(), ApiError> {
        self.put(item::session_to_item(se), true).await.map(|_| ())
    }

    /// Deletes a token if it exists; `Ok(false)` if it did not.
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn delete_token(&self, hash: &str) -> Result<bool, ApiError> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(item::token_pk(hash), item::TOKEN_SK)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match res {
            Ok(_) => Ok(true),
            Err(e) => match e.into_service_error() {
                aws_sdk_dynamodb::operation::delete_item::DeleteItemError::ConditionalCheckFailedException(_) => Ok(false),
                other => Err(fault(other)),
            },
        }
    }

    /// Runs a transaction. `Ok(None)` = committed; `Ok(Some(flags))` = cancelled, with one flag
    /// per write telling whether its condition failed.
    ///
    /// # Errors
    /// 503 on DynamoDB faults (including transaction conflicts, which the client may retry).
    pub async fn transact(&self, writes: Vec<TxWrite>) -> Result<Option<Vec<bool>>, ApiError> {
        let mut items = Vec::with_capacity(writes.len());
        for w in writes {
            let tx = match w {
                TxWrite::Put { item, if_absent } => {
                    let mut p = Put::builder().table_name(&self.table).set_item(Some(item));
                    if if_absent {
                        p = p.condition_expression("attribute_not_exists(pk)");
                    }
                    TransactWriteItem::builder()
                        .put(p.build().map_err(build_err)?)
                        .build()
                }
                TxWrite::Update { pk, sk, update: u } => {
                    let up = TxUpdate::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(pk, &sk)))
                        .update_expression(u.expression())
                        .set_condition_expression(u.condition())
                        .set_expression_attribute_names((!u.names.is_empty()).then_some(u.names))
                        .set_expression_attribute_values((!u.values.is_empty()).then_some(u.values))
                        .build()
                        .map_err(build_err)?;
                    TransactWriteItem::builder().update(up).build()
                }
                TxWrite::DeleteIf { pk, sk, cond } => {
                    let d = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(pk, &sk)))
                        .set_condition_expression(cond.condition())
                        .set_expression_attribute_names(
                            (!cond.names.is_empty()).then_some(cond.names),
                        )
                        .set_expression_attribute_values(
                            (!cond.values.is_empty()).then_some(cond.values),
                        )
                        .build()
                        .map_err(build_err)?;
                    TransactWriteItem::builder().delete(d).build()
                }
                TxWrite::Delete { pk, sk, if_exists } => {
                    let mut d = Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(pk, &sk)));
                    if if_exists {
                        d = d.condition_expression("attribute_exists(pk)");
                    }
                    TransactWriteItem::builder()
                        .delete(d.build().map_err(build_err)?)
                        .build()
                }
            };
            items.push(tx);
        }
        let res = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        match res {
            Ok(_) => Ok(None),
            Err(e) => match e.into_service_error() {
                aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c) => {
                    let reasons = c.cancellation_reasons.unwrap_or_default();
                    // A conflict with a concurrent transaction on the same item is reported like a
                    // failed condition: another request got there first.
                    let flags: Vec<bool> = reasons
                        .iter()
                        .map(|r| matches!(r.code.as_deref(), Some("ConditionalCheckFailed" | "TransactionConflict")))
                        .collect();
                    if flags.iter().any(|f| *f) {
                        Ok(Some(flags))
                    } else {
                        Err(ApiError::unavailable(anyhow::anyhow!(
                            "transaction cancelled: {:?}",
                            reasons.iter().map(|r| r.code.clone()).collect::<Vec<_>>()
                        )))
                    }
                }
                other => Err(fault(other)),
            },
        }
    }

    /// Creates a user, reserving its username and creating or joining its domain, in one
    /// transaction.
    ///
    /// # Errors
    /// See [`CreateUserError`].
    pub async fn create_user(
        &self,
        user: &UserRec,
        username_key: &str,
        plan: DomainPlan,
    ) -> Result<(), CreateUserError> {
        let mut name_item = key(item::name_pk(username_key), item::NAME_SK);
        name_item.insert("user_id".into(), s(&user.id));
        if let Some(d) = &user.domain_id {
            name_item.insert("domain_id".into(), s(d));
        }
        let mut writes = vec![
            TxWrite::Put {
                item: name_item,
                if_absent: true,
            },
            TxWrite::Put {
                item: item::user_to_item(user),
                if_absent: true,
            },
        ];
        match &plan {
            DomainPlan::None => {}
            DomainPlan::Create(d) => writes.push(TxWrite::Put {
                item: item::domain_to_item(d),
                if_absent: true,
            }),
            DomainPlan::Join { id, limit } => {
                let mut u = UserUpdate::new();
                u.cond_exists();
                let (users, lim) = (u.name("users"), u.val(n(*limit)));
                u.cond(format!("{users} < {lim}"));
                u.add("users", 1);
                writes.push(TxWrite::Update {
                    pk: item::domain_pk(id),
                    sk: item::DOMAIN_SK.into(),
                    update: u,
                });
            }
        }
        match self.transact(writes).await {
            Ok(None) => Ok(()),
            Ok(Some(flags)) => {
                if flags.first().copied().unwrap_or(false) {
                    return Err(CreateUserError::Duplicate);
                }
                match plan {
                    DomainPlan::Create(_) => Err(CreateUserError::DomainTaken),
                    DomainPlan::Join { id, .. } => match self.get_domain(&id).await {
                        Ok(Some(_)) => Err(CreateUserError::DomainFull),
                        Ok(None) => Err(CreateUserError::NoDomain),
                        Err(e) => Err(CreateUserError::Api(e)),
                    },
                    DomainPlan::None => Err(CreateUserError::Duplicate),
                }
            }
            Err(e) => Err(CreateUserError::Api(e)),
        }
    }

    /// The final write of a successful passcode step: consume the session (conditional delete),
    /// consume the factor's use-once item, reset the failure counter and store the new token —
    /// all or nothing. `Ok(None)` = done; `Ok(Some(flags))` = refused, with `flags[0]` telling
    /// whether the session was already consumed (the other flags: user, claim, token).
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn finish_login(
        &self,
        session_hash: &str,
        user_id: &str,
        claim: LoginClaim,
        token: &TokenRec,
        now_secs: u64,
    ) -> Result<Option<Vec<bool>>, ApiError> {
        // The session was read unexpired; consuming it only has to be exclusive.
        let _ = now_secs;
        let mut writes = vec![TxWrite::Delete {
            pk: item::session_pk(session_hash),
            sk: item::SESSION_SK.into(),
            if_exists: true,
        }];
        let mut user = UserUpdate::new();
        user.cond_exists().set("fails", n(0));
        writes.push(TxWrite::Update {
            pk: item::user_pk(user_id),
            sk: item::USER_SK.into(),
            update: user,
        });
        match claim {
            LoginClaim::None => {}
            LoginClaim::TotpStep { device_id, step } => {
                let mut d = UserUpdate::new();
                d.cond_exists();
                let (ls, st, vf, t) = (
                    d.name("last_step"),
                    d.val(n(step)),
                    d.name("verified"),
                    d.val(b(true)),
                );
                d.cond(format!(
                    "({ls} < {st} OR attribute_not_exists({ls})) AND {vf} = {t}"
                ));
                d.set("last_step", n(step));
                writes.push(TxWrite::Update {
                    pk: item::user_pk(user_id),
                    sk: item::device_sk(&device_id),
                    update: d,
                });
            }
            LoginClaim::Bypass { sk } => {
                writes.push(TxWrite::Delete {
                    pk: item::user_pk(user_id),
                    sk,
                    if_exists: true,
                });
            }
        }
        writes.push(TxWrite::Put {
            item: item::token_to_item(token),
            if_absent: true,
        });
        self.transact(writes).await
    }

    /// Adds an OTP device if the user has fewer than `max`; `Ok(false)` when full.
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn add_device(&self, d: &DeviceRec, max: u64) -> Result<bool, ApiError> {
        let mut u = UserUpdate::new();
        u.cond_exists();
        let (c, m) = (u.name("otp_count"), u.val(n(max)));
        u.cond(format!("attribute_not_exists({c}) OR {c} < {m}"));
        u.add("otp_count", 1);
        let writes = vec![
            TxWrite::Update {
                pk: item::user_pk(&d.user_id),
                sk: item::USER_SK.into(),
                update: u,
            },
            TxWrite::Put {
                item: item::device_to_item(d),
                if_absent: true,
            },
        ];
        Ok(self.transact(writes).await?.is_none())
    }

    /// Replaces the user's bypass codes with a new set (only while MFA is enabled);
    /// `Ok(false)` when MFA is off.
    ///
    /// # Errors
    /// 503 on DynamoDB faults.
    pub async fn put_bypass_set(
        &self,
        user_id: &str,
        set_id: &str,
        codes: &[BypassRec],
    ) -> Result<bool, ApiError> {
        let mut u = UserUpdate::new();
        u.cond_exists()
            .cond_eq("mfa_enabled", b(true))
            .set("bypass_set", s(set_id));
        let mut writes = vec![TxWrite::Update {
            pk: item::user_pk(user_id),
            sk: item::USER_SK.into(),
            update: u,
        }];
        for c in codes {
            writes.push(TxWrite::Put {
                item: item::bypass_to_item(user_id, c),
                if_absent: false,
            });
        }
        Ok(self.transact(writes).await?.is_none())
    }

    /// Sort-key helpers for services that build their own transactions.
    pub fn user_key(user_id: &str) -> (String, String) {
        (item::user_pk(user_id), item::USER_SK.to_string())
    }

    /// Key of a device item.
    pub fn device_key(user_id: &str, device_id: &str) -> (String, String) {
        (item::user_pk(user_id), item::device_sk(device_id))
    }
}
