//! Generic DynamoDB requests over one table, and the classification of what comes back: a
//! failed condition is an answer (returned as `Ok`), everything else a [`StoreError`].
//!
//! Transaction conflicts and throttles are retried here, briefly and with jitter, because the
//! request did not happen; they only surface when they persist.

use super::StoreError;
use super::expr::Expr;
use super::item::{Item, key};
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{
    CancellationReason, ConditionCheck, Delete, KeysAndAttributes, Put, ReturnValue,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use std::time::Duration;

/// Attempts of a request that met a transaction conflict or a throttle.
const ATTEMPTS: u32 = 4;

/// The table and its client.
#[derive(Debug, Clone)]
pub(super) struct Table {
    client: Client,
    name: String,
}

/// Result of a conditional update.
#[derive(Debug)]
pub(super) enum Updated {
    /// Written; the item as it is now.
    Done(Item),
    /// The condition failed; the item as it was (if it existed).
    Refused(Option<Item>),
}

/// One write of a transaction.
#[derive(Debug)]
pub(super) enum Write {
    /// Put an item, only if no item with its key exists when `if_absent`.
    Put { item: Item, if_absent: bool },
    /// Update an item (its `Expr` may carry a condition).
    Update { pk: String, sk: String, expr: Expr },
    /// Delete an item under the condition of `cond`, if any.
    Delete { pk: String, sk: String, cond: Expr },
    /// Require `cond` of an item the transaction does not write.
    Check { pk: String, sk: String, cond: Expr },
}

impl Write {
    /// Delete, only if the item exists.
    pub(super) fn delete_existing(pk: String, sk: String) -> Self {
        let mut cond = Expr::new();
        cond.cond_exists();
        Self::Delete { pk, sk, cond }
    }

    /// Delete, whether or not the item exists.
    pub(super) fn delete_any(pk: String, sk: String) -> Self {
        Self::Delete {
            pk,
            sk,
            cond: Expr::new(),
        }
    }
}

/// Classifies an SDK error by its error code.
fn classify<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static, R>(
    e: SdkError<E, R>,
) -> StoreError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = e.code().map(str::to_string);
    let err = anyhow::Error::new(e).context("dynamodb request failed");
    match code.as_deref() {
        Some("TransactionConflictException") => StoreError::Conflict(err),
        Some(
            "ThrottlingException"
            | "ProvisionedThroughputExceededException"
            | "RequestLimitExceeded",
        ) => StoreError::Throttled(err),
        Some("ValidationException") => StoreError::Rejected(err),
        _ => StoreError::Unavailable(err),
    }
}

/// `Ok(false)` when the request's condition failed (an answer), the classified error otherwise.
fn condition_failed<E, R>(e: SdkError<E, R>) -> Result<bool, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if e.code() == Some("ConditionalCheckFailedException") {
        Ok(false)
    } else {
        Err(classify(e))
    }
}

fn build_err(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Rejected(anyhow::Error::new(e).context("dynamodb request build failed"))
}

/// A short, jittered pause before attempt `attempt` (1-based) of a retried request.
async fn backoff(attempt: u32) {
    let base = 10u64 << attempt.min(4);
    let jitter = rand::random::<u64>() % base;
    tokio::time::sleep(Duration::from_millis(base / 2 + jitter)).await;
}

/// Whether a cancelled transaction's reasons ask for a retry (conflict, throttle) or a
/// domain answer (a failed condition). `None` for anything else.
fn cancellation(reasons: &[CancellationReason]) -> Option<Result<Vec<bool>, StoreError>> {
    let code = |r: &CancellationReason| r.code.clone().unwrap_or_default();
    if reasons.iter().any(|r| code(r) == "ConditionalCheckFailed") {
        return Some(Ok(reasons
            .iter()
            .map(|r| code(r) == "ConditionalCheckFailed")
            .collect()));
    }
    if reasons.iter().any(|r| code(r) == "TransactionConflict") {
        return Some(Err(StoreError::Conflict(anyhow::anyhow!(
            "transaction conflict"
        ))));
    }
    if reasons.iter().any(|r| {
        matches!(
            code(r).as_str(),
            "ThrottlingError" | "ProvisionedThroughputExceeded"
        )
    }) {
        return Some(Err(StoreError::Throttled(anyhow::anyhow!(
            "transaction throttled"
        ))));
    }
    None
}

impl Table {
    pub(super) fn new(client: Client, name: String) -> Self {
        Self { client, name }
    }

    /// `GetItem`, strongly consistent.
    pub(super) async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(classify)?;
        Ok(out.item)
    }

    /// `PutItem`; with `if_absent`, `Ok(false)` when an item with that key exists.
    pub(super) async fn put(&self, item: Item, if_absent: bool) -> Result<bool, StoreError> {
        let mut req = self
            .client
            .put_item()
            .table_name(&self.name)
            .set_item(Some(item));
        if if_absent {
            req = req.condition_expression("attribute_not_exists(pk)");
        }
        req.send().await.map(|_| true).or_else(condition_failed)
    }

    /// `UpdateItem` under the expression's condition, returning the item after (or, refused,
    /// before) the write.
    pub(super) async fn update(
        &self,
        pk: String,
        sk: &str,
        e: Expr,
    ) -> Result<Updated, StoreError> {
        let (update, cond) = (e.update_expression(), e.condition());
        let (names, values) = e.into_parts();
        let res = self
            .client
            .update_item()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .set_update_expression(update)
            .set_condition_expression(cond)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match res {
            Ok(out) => Ok(Updated::Done(out.attributes.unwrap_or_default())),
            Err(e) => match e.as_service_error() {
                Some(
                    aws_sdk_dynamodb::operation::update_item::UpdateItemError::ConditionalCheckFailedException(c),
                ) => Ok(Updated::Refused(c.item.clone())),
                _ => Err(classify(e)),
            },
        }
    }

    /// `DeleteItem` if the item exists; `Ok(false)` when it did not.
    pub(super) async fn delete_existing(&self, pk: String, sk: &str) -> Result<bool, StoreError> {
        let res = self
            .client
            .delete_item()
            .table_name(&self.name)
            .set_key(Some(key(pk, sk)))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        res.map(|_| true).or_else(condition_failed)
    }

    /// `TransactWriteItems`: `Ok(Ok(()))` = committed; `Ok(Err(flags))` = a condition failed,
    /// with one flag per write telling whose. Conflicts and throttles are retried, then
    /// reported as such.
    pub(super) async fn transact(
        &self,
        writes: Vec<Write>,
    ) -> Result<Result<(), Vec<bool>>, StoreError> {
        let mut items = Vec::with_capacity(writes.len());
        for w in writes {
            items.push(self.tx_item(w)?);
        }
        let mut attempt = 1;
        loop {
            let res = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let err = match res {
                Ok(_) => return Ok(Ok(())),
                Err(e) => match e.as_service_error() {
                    Some(
                        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c),
                    ) => match cancellation(c.cancellation_reasons()) {
                        Some(Ok(flags)) => return Ok(Err(flags)),
                        Some(Err(retryable)) => retryable,
                        None => StoreError::Unavailable(
                            anyhow::Error::new(e).context("transaction cancelled"),
                        ),
                    },
                    _ => classify(e),
                },
            };
            if !err.is_transient() || attempt >= ATTEMPTS {
                return Err(err);
            }
            backoff(attempt).await;
            attempt += 1;
        }
    }

    fn tx_item(&self, w: Write) -> Result<TransactWriteItem, StoreError> {
        let item = match w {
            Write::Put { item, if_absent } => {
                let mut p = Put::builder().table_name(&self.name).set_item(Some(item));
                if if_absent {
                    p = p.condition_expression("attribute_not_exists(pk)");
                }
                TransactWriteItem::builder().put(p.build().map_err(build_err)?)
            }
            Write::Update { pk, sk, expr } => {
                let (update, cond) = (expr.update_expression(), expr.condition());
                let (names, values) = expr.into_parts();
                let up = Update::builder()
                    .table_name(&self.name)
                    .set_key(Some(key(pk, &sk)))
                    .set_update_expression(update)
                    .set_condition_expression(cond)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_err)?;
                TransactWriteItem::builder().update(up)
            }
            Write::Delete { pk, sk, cond } => {
                let c = cond.condition();
                let (names, values) = cond.into_parts();
                let d = Delete::builder()
                    .table_name(&self.name)
                    .set_key(Some(key(pk, &sk)))
                    .set_condition_expression(c)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_err)?;
                TransactWriteItem::builder().delete(d)
            }
            Write::Check { pk, sk, cond } => {
                let c = cond.condition().unwrap_or_default();
                let (names, values) = cond.into_parts();
                let check = ConditionCheck::builder()
                    .table_name(&self.name)
                    .set_key(Some(key(pk, &sk)))
                    .condition_expression(c)
                    .set_expression_attribute_names(names)
                    .set_expression_attribute_values(values)
                    .build()
                    .map_err(build_err)?;
                TransactWriteItem::builder().condition_check(check)
            }
        };
        Ok(item.build())
    }

    /// `BatchGetItem` of distinct keys, strongly consistent; unprocessed keys are retried
    /// with backoff (bounded), then reported as a throttle.
    pub(super) async fn batch_get(&self, keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        if keys.is_empty() {
            return Ok(found);
        }
        let mut pending = Some(
            KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .map_err(build_err)?,
        );
        for attempt in 1..=ATTEMPTS {
            let Some(req) = pending.take() else { break };
            if attempt > 1 {
                backoff(attempt - 1).await;
            }
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.name, req)
                .send()
                .await
                .map_err(classify)?;
            found.extend(
                out.responses
                    .and_then(|mut r| r.remove(&self.name))
                    .unwrap_or_default(),
            );
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.name))
                .filter(|k| !k.keys.is_empty());
        }
        match pending {
            None => Ok(found),
            Some(_) => Err(StoreError::Throttled(anyhow::anyhow!(
                "batch get left unprocessed keys"
            ))),
        }
    }

    /// Every item of one partition (strongly consistent `Query`, all pages).
    pub(super) async fn partition(&self, pk: String) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", super::item::s(pk))
            .consistent_read(true);
        all_pages(query).await
    }

    /// Every item of one partition of a global secondary index (`Query`, all pages; index
    /// reads are eventually consistent).
    pub(super) async fn query_index(
        &self,
        index: &str,
        attr: &str,
        value: String,
    ) -> Result<Vec<Item>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.name)
            .index_name(index)
            .key_condition_expression("#k = :k")
            .expression_attribute_names("#k", attr)
            .expression_attribute_values(":k", super::item::s(value));
        all_pages(query).await
    }

    /// One page of a filtered `Scan` of the whole table (operator tooling only: no function
    /// is granted `Scan`). Returns the matching items and where the next page starts.
    pub(super) async fn scan_page(
        &self,
        filter: Expr,
        start: Option<Item>,
    ) -> Result<(Vec<Item>, Option<Item>), StoreError> {
        let cond = filter.condition();
        let (names, values) = filter.into_parts();
        let out = self
            .client
            .scan()
            .table_name(&self.name)
            .set_filter_expression(cond)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        let next = out.last_evaluated_key.filter(|k| !k.is_empty());
        Ok((out.items.unwrap_or_default(), next))
    }
}

/// Runs `query` page after page and returns every item it finds.
async fn all_pages(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<Vec<Item>, StoreError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = query
            .clone()
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(classify)?;
        items.extend(out.items.unwrap_or_default());
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return Ok(items),
        }
    }
}
