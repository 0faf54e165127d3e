//! What a function builds once per cold start: configuration, SDK clients and adapters.

use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::error::ApiError;
use crate::http::{Ctx, Reply, respond};
use crate::seal::Sealer;
use crate::sms::SnsSender;
use crate::store::Store;
use lambda_http::{Body, Request, Response};
use std::future::Future;
use std::time::Duration;

/// AWS settings from the environment, with the configured timeouts on every call: a hung
/// dependency costs a request at most `AWS_OPERATION_TIMEOUT_MS`, then a `503`.
pub async fn aws_settings(config: &Config) -> aws_config::SdkConfig {
    let t = config.aws_timeouts;
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_millis(t.connect_ms))
        .operation_attempt_timeout(Duration::from_millis(t.attempt_ms))
        .operation_timeout(Duration::from_millis(t.operation_ms))
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .timeout_config(timeouts)
        .load()
        .await
}

/// Which optional adapters a function needs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Needs {
    /// Sends SMS through SNS.
    pub sms: bool,
    /// Opens or seals secrets (KMS-wrapped data key).
    pub seal: bool,
}

/// The application: one per process, shared by all requests.
pub struct App {
    /// Operation this binary serves (route-table name).
    pub operation: &'static str,
    /// Configuration.
    pub config: Config,
    /// DynamoDB adapter.
    pub store: Store,
    /// SNS adapter, when needed.
    pub sms: Option<SnsSender>,
    /// Sealer, when needed.
    pub sealer: Option<Sealer>,
    /// Time source.
    pub clock: Box<dyn Clock>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("operation", &self.operation)
            .finish_non_exhaustive()
    }
}

impl App {
    /// Reads the configuration and builds the clients. SDK clients are built here, never per request.
    ///
    /// # Errors
    /// A bad configuration (the cold start fails with its message).
    pub async fn init(
        operation: &'static str,
        needs: Needs,
    ) -> Result<&'static App, lambda_http::Error> {
        let config = Config::from_env()?;
        let aws = aws_settings(&config).await;
        let app = Self::new(operation, config, &aws, needs, Box::new(SystemClock));
        // One App per process, alive until the process ends.
        Ok(Box::leak(Box::new(app)))
    }

    /// An application over given configuration, AWS settings and clock (what `init` builds
    /// from the environment; tests pass their own clock).
    pub fn new(
        operation: &'static str,
        config: Config,
        aws: &aws_config::SdkConfig,
        needs: Needs,
        clock: Box<dyn Clock>,
    ) -> Self {
        let store = Store::new(
            aws_sdk_dynamodb::Client::new(aws),
            config.table_name.clone(),
        );
        let sms = needs
            .sms
            .then(|| SnsSender::new(aws_sdk_sns::Client::new(aws), config.sms_sender_id.clone()));
        let sealer = needs.seal.then(|| {
            Sealer::new(
                aws_sdk_kms::Client::new(aws),
                config.seed_keys.clone(),
                config.kms_key_id.clone().map(|k| (store.clone(), k)),
            )
        });
        App {
            operation,
            config,
            store,
            sms,
            sealer,
            clock,
        }
    }

    /// Serves one request with `op`.
    ///
    /// # Errors
    /// Never: every failure becomes a response.
    pub async fn serve<F, Fut>(
        &'static self,
        req: Request,
        op: F,
    ) -> Result<Response<Body>, lambda_http::Error>
    where
        F: FnOnce(&'static App, Ctx) -> Fut,
        Fut: Future<Output = Result<Reply, ApiError>> + Send,
    {
        let result =
            match Ctx::from_request(self.operation, &req, self.config.public_base_url.as_deref()) {
                Ok(ctx) => op(self, ctx).await,
                Err(e) => Err(e),
            };
        Ok(respond(result))
    }

    /// The SNS sender (present when the function was built with `Needs::sms`).
    ///
    /// # Errors
    /// `500` if the function was wired without SMS.
    pub fn sms(&self) -> Result<&SnsSender, ApiError> {
        self.sms
            .as_ref()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("function built without sms")))
    }

    /// The keyring, unwrapping data keys through KMS on first use.
    ///
    /// # Errors
    /// `503` on KMS failure; `500` if the function was wired without sealing.
    pub async fn keyring(&self) -> Result<&crate::seal::Keyring, ApiError> {
        let sealer = self
            .sealer
            .as_ref()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("function built without sealing")))?;
        sealer.keyring().await.map_err(ApiError::Unavailable)
    }

    /// Now, in ms.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }
}
