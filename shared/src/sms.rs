//! SMS through SNS `Publish` (transactional, with a sender id).

use crate::domain::PhoneNumber;
use anyhow::Context;
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

impl SnsSender {
    /// A sender over an SNS client.
    pub fn new(client: aws_sdk_sns::Client, sender_id: String) -> Self {
        Self { client, sender_id }
    }

    /// Publishes `message` to `to` (E.164). Errors are SNS faults or throttling (→ 503).
    ///
    /// # Errors
    /// Any SNS error.
    #[tracing::instrument(skip_all, fields(to = %to.masked()))]
    pub async fn send(&self, to: &PhoneNumber, message: &str) -> anyhow::Result<()> {
        self.client
            .publish()
            .phone_number(to.e164())
            .message(message)
            .message_attributes("AWS.SNS.SMS.SMSType", attr("Transactional")?)
            .message_attributes("AWS.SNS.SMS.SenderID", attr(&self.sender_id)?)
            .send()
            .await
            .context("sns publish failed")?;
        tracing::info!("sms sent");
        Ok(())
    }
}
