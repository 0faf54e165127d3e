//! SMS through SNS `Publish` (transactional, with a sender id).

use crate::domain::PhoneNumber;
use anyhow::Context;
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::types::MessageAttributeValue;

/// Sends SMS via SNS.
#[derive(Debug, Clone)]
pub struct SnsSender {
    client: aws_sdk_sns::Client,
    sender_id: String,
}

fn attr(v: &str) -> anyhow::Result<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .context("sns attribute")
}

/// SNS error messages may quote the phone number: keep only the error code for the logs.
fn redacted<E: ProvideErrorMetadata>(what: &str, e: &E) -> anyhow::Error {
    anyhow::anyhow!("{what}: {}", e.code().unwrap_or("no error code"))
}

impl SnsSender {
    /// A sender over an SNS client.
    pub fn new(client: aws_sdk_sns::Client, sender_id: String) -> Self {
        Self { client, sender_id }
    }

    /// Publishes `message` to `to` (E.164). Errors are SNS faults, throttling, or (with
    /// `check_opt_out`) a number that opted out of SMS (→ 503: the code could not be delivered).
    ///
    /// SNS accepts a publish to an opted-out number and silently drops it, which would leave
    /// the user waiting for a code that never comes; asking first turns that into an answer.
    /// The question costs a round trip, so it is asked when a phone is being verified (a
    /// number that cannot receive SMS never becomes a factor), not on every login.
    ///
    /// # Errors
    /// Any SNS error, or an opted-out number.
    #[tracing::instrument(skip_all, fields(to = %to.masked()))]
    pub async fn send(
        &self,
        to: &PhoneNumber,
        message: &str,
        check_opt_out: bool,
    ) -> anyhow::Result<()> {
        if check_opt_out {
            let opted_out = self
                .client
                .check_if_phone_number_is_opted_out()
                .phone_number(to.e164())
                .send()
                .await
                .map_err(|e| redacted("sns opt-out check failed", &e))?
                .is_opted_out;
            if opted_out {
                anyhow::bail!("phone number opted out of sms");
            }
        }
        self.client
            .publish()
            .phone_number(to.e164())
            .message(message)
            .message_attributes("AWS.SNS.SMS.SMSType", attr("Transactional")?)
            .message_attributes("AWS.SNS.SMS.SenderID", attr(&self.sender_id)?)
            .send()
            .await
            .map_err(|e| redacted("sns publish failed", &e))?;
        tracing::info!("sms sent");
        Ok(())
    }
}
