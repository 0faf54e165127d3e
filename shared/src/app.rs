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
    let mut loader =
        aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts);
    if !config.aws_native_roots && !proxy_configured() {
        // The SDK's default HTTPS client (rustls with aws-lc, as `default-https-client` builds
        // it) trusting only the Amazon Trust Services roots: no read and parse of the
        // platform's whole CA store at every cold start (about 2.7 ms of CPU measured here,
        // ~19 ms at 256 MB), and no other authority can vouch for an AWS endpoint.
        use aws_smithy_http_client::tls::{
            self, TlsContext, TrustStore, rustls_provider::CryptoMode,
        };
        let trust = TrustStore::empty()
            .with_native_roots(false)
            .with_pem_certificate(AMAZON_TRUST_SERVICES_ROOTS.as_bytes());
        let builder = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc));
        // `TlsContextBuilder::build` cannot fail in aws-smithy-http-client 1.5 (the PEM is
        // parsed when the first connection is made; the bundle is checked by a unit test).
        loader = loader.http_client(
            match TlsContext::builder().with_trust_store(trust).build() {
                Ok(ctx) => builder.tls_context(ctx).build_https(),
                Err(_) => builder.build_https(),
            },
        );
    }
    loader.load().await
}

/// An HTTP(S) proxy is configured in the environment: the SDK's own default client honours it
/// (with the platform's roots, which a TLS-inspecting proxy needs anyway); ours would not.
fn proxy_configured() -> bool {
    [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ]
    .iter()
    .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}

/// The Amazon Trust Services roots (Amazon Root CA 1–4 and the Starfield Services G2 root
/// that cross-signs them), which sign the certificates of every AWS service endpoint.
pub const AMAZON_TRUST_SERVICES_ROOTS: &str = include_str!("../certs/amazon-trust-services.pem");

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
        let app: &'static App = Box::leak(Box::new(app));
        // A function that seals or opens secrets starts unwrapping its data key now, so the
        // table read and KMS `Decrypt` overlap its first request's reads (cold start).
        if let Some(sealer) = &app.sealer {
            sealer.prefetch();
        }
        Ok(app)
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
                crate::seal::KEY_CREATORS.contains(&operation),
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
    pub async fn keyring(&self) -> Result<std::sync::Arc<crate::seal::Keyring>, ApiError> {
        self.sealer()?
            .keyring()
            .await
            .map_err(ApiError::Unavailable)
    }

    /// The keyring that can open `stored` (a sealed value or keyed hash): when it names a key
    /// version this instance has not loaded (a key rotated in since its cold start), the key
    /// ring is reloaded once (§9.3).
    ///
    /// # Errors
    /// `503` on KMS failure; `500` if the function was wired without sealing.
    pub async fn keyring_for(
        &self,
        stored: &str,
    ) -> Result<std::sync::Arc<crate::seal::Keyring>, ApiError> {
        let sealer = self.sealer()?;
        match crate::seal::version_of(stored) {
            Some(v) => sealer.keyring_with(v).await,
            None => sealer.keyring().await,
        }
        .map_err(ApiError::Unavailable)
    }

    fn sealer(&self) -> Result<&Sealer, ApiError> {
        self.sealer
            .as_ref()
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("function built without sealing")))
    }

    /// Now, in ms.
    pub fn now_ms(&self) -> u64 {
        self.clock.now_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::AMAZON_TRUST_SERVICES_ROOTS;
    use base64::Engine as _;

    #[test]
    fn the_bundled_roots_are_the_five_amazon_trust_services_roots() {
        let blocks: Vec<Vec<u8>> = AMAZON_TRUST_SERVICES_ROOTS
            .split("-----BEGIN CERTIFICATE-----")
            .skip(1)
            .map(|b| {
                let body: String = b
                    .split("-----END CERTIFICATE-----")
                    .next()
                    .unwrap_or_default()
                    .split_whitespace()
                    .collect();
                base64::engine::general_purpose::STANDARD
                    .decode(body)
                    .expect("valid base64 DER")
            })
            .collect();
        let names = [
            "Amazon Root CA 1",
            "Amazon Root CA 2",
            "Amazon Root CA 3",
            "Amazon Root CA 4",
            "Starfield Services Root Certificate Authority - G2",
        ];
        assert_eq!(blocks.len(), names.len());
        for (der, name) in blocks.iter().zip(names) {
            // A self-signed root names its subject (and issuer) in the DER.
            let found = der.windows(name.len()).any(|w| w == name.as_bytes());
            assert!(found, "{name} is not in its certificate");
        }
    }
}
