//! One in-process world per test: an `App` over the emulators with a `ManualClock`, users
//! created through the store, and requests handed to the operations as the Lambda runtime
//! would hand them (route table, `Ctx`, `respond`).

use data_encoding::{BASE32_NOPAD, BASE64};
use lambda_http::http::Request;
use lambda_http::{Body, Response};
use rand::Rng;
use serde_json::{Value, json};
use shared::app::{App, Needs};
use shared::clock::{Clock, ManualClock, SystemClock};
use shared::config::Config;
use shared::domain::{EnforcementLevel, Role};
use shared::error::ApiError;
use shared::http::{Ctx, Reply, respond};
use shared::store::{DomainPlan, UserRec};
use shared::totp::{self, Seed};
use shared::{crypto, services};
use std::future::Future;

type StoreMaker = Box<dyn FnOnce(&aws_config::SdkConfig, String) -> shared::store::Store>;

/// An answer, as a client would see it.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub headers: lambda_http::http::HeaderMap,
}

impl Answer {
    fn from_response(r: Response<Body>) -> Self {
        let body = match r.body() {
            Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        Self {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body,
        }
    }

    /// Asserts the status (and shows the body when it differs).
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(self.status, status, "body: {}", self.body);
        self
    }

    /// The contract error message of a failed answer.
    pub fn message(&self) -> String {
        self.body
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(|e| e["message"].as_str())
            .unwrap_or_default()
            .to_string()
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A user of the test, with a full token.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub username: String,
    pub password: String,
    pub token: String,
}

/// The world of one test.
pub struct World {
    pub app: &'static App,
    pub clock: ManualClock,
    http: reqwest::Client,
    moto: String,
}

/// The service's configuration at its production defaults (the environment of the test run
/// may carry short timings meant for the black-box suite).
fn production_defaults(mut c: Config, seed_key: String) -> Config {
    c.seed_keys = vec![(1, seed_key)];
    c.sms_min_interval_secs = 30;
    c.sms_hourly_limit = 5;
    c.pin_ttl_secs = 600;
    c.session_ttl_secs = 600;
    c.lockout_threshold = 3;
    c.lockout_secs = 600;
    c.lockout_cap = 100;
    c.otp_verify_max_failures = 5;
    c.otp_verify_lock_secs = 600;
    c
}

impl World {
    /// A world over the emulators named by the environment, its clock at the real now.
    pub async fn new() -> Self {
        Self::with(|c| c).await
    }

    /// Like [`World::new`], with the store `make` builds (from the AWS settings and the table).
    pub async fn with_store(
        make: impl FnOnce(&aws_config::SdkConfig, String) -> shared::store::Store + 'static,
    ) -> Self {
        Self::build(|c| c, Some(Box::new(make))).await
    }

    /// Like [`World::new`], with `adjust` applied to the configuration.
    pub async fn with(adjust: impl FnOnce(Config) -> Config) -> Self {
        Self::build(adjust, None).await
    }

    async fn build(adjust: impl FnOnce(Config) -> Config, make_store: Option<StoreMaker>) -> Self {
        // The functions' own AWS settings (timeouts included).
        let base = Config::from_env().expect("TABLE_NAME and friends");
        let aws = shared::app::aws_settings(&base).await;
        let kms = aws_sdk_kms::Client::new(&aws);
        let key = kms
            .create_key()
            .send()
            .await
            .expect("kms create-key (moto)");
        let key_id = key.key_metadata().map(|m| m.key_id().to_string()).unwrap();
        let dk = kms
            .generate_data_key_without_plaintext()
            .key_id(key_id)
            .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
            .encryption_context(
                shared::seal::DATA_KEY_CONTEXT.0,
                shared::seal::DATA_KEY_CONTEXT.1,
            )
            .send()
            .await
            .expect("kms data key");
        let wrapped = BASE64.encode(dk.ciphertext_blob().unwrap().as_ref());
        let config = adjust(production_defaults(base, wrapped));
        let clock = ManualClock::at(SystemClock.now_ms());
        let needs = Needs {
            sms: true,
            seal: true,
        };
        let table = config.table_name.clone();
        let mut app = App::new("in-process", config, &aws, needs, Box::new(clock.clone()));
        if let Some(make) = make_store {
            app.store = make(&aws, table);
        }
        Self {
            app: Box::leak(Box::new(app)),
            clock,
            http: reqwest::Client::new(),
            moto: std::env::var("MOTO_URL").expect("MOTO_URL"),
        }
    }

    /// Hands a request to operation `f` as the function `operation` would.
    pub async fn call<F, Fut>(
        &self,
        operation: &str,
        f: F,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Answer
    where
        F: FnOnce(&'static App, Ctx) -> Fut,
        Fut: Future<Output = Result<Reply, ApiError>>,
    {
        let mut b = Request::builder()
            .method(method)
            .uri(format!("http://127.0.0.1{path}"))
            .header("host", "127.0.0.1");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let body = match body {
            Some(v) => {
                b = b.header("content-type", "application/json");
                Body::Text(v.to_string())
            }
            None => Body::Empty,
        };
        let req = b.body(body).unwrap();
        let result = match Ctx::from_request(operation, &req, None) {
            Ok(ctx) => f(self.app, ctx).await,
            Err(e) => Err(e),
        };
        Answer::from_response(respond(result))
    }

    /// A new `identity:default` user without a domain, with a full token.
    pub async fn user(&self) -> User {
        let username = format!("inproc{}", crypto::new_id().get(..12).unwrap());
        let password = format!("Pw{}9", crypto::new_id());
        let user = UserRec {
            id: crypto::new_id(),
            username: username.clone(),
            email: format!("{username}@example.com"),
            enabled: true,
            region: "DFW".into(),
            password_hash: crypto::hash_password(&password).unwrap(),
            roles: vec![Role::Default],
            level: EnforcementLevel::Default,
            level_since: self.clock.now_ms(),
            ..UserRec::default()
        };
        let key = username.to_ascii_lowercase();
        let created = self
            .app
            .store
            .create_user(&user, &key, &DomainPlan::None)
            .await;
        assert!(matches!(created, Ok(Ok(()))), "{created:?}");
        let (token, _) = services::tokens::issue(self.app, &user, &["PASSWORD"], false)
            .await
            .unwrap();
        User {
            id: user.id,
            username,
            password,
            token,
        }
    }

    /// The SMS moto holds for `e164`, oldest first.
    pub async fn sms_to(&self, e164: &str) -> Vec<String> {
        let data: Value = self
            .http
            .get(format!("{}/moto-api/data.json", self.moto))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        data["sns"]["SMS"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["phone_number"] == e164)
            .map(|m| m["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// The `digits`-digit code of the last SMS to `e164`.
    pub async fn last_code(&self, e164: &str, digits: usize) -> String {
        let msgs = self.sms_to(e164).await;
        let last = msgs.last().expect("an SMS was sent");
        last.split(|c: char| !c.is_ascii_digit())
            .find(|run| run.len() == digits)
            .expect("a code in the SMS")
            .to_string()
    }

    // ---- operations used by the tests ----

    /// Password login (step 1).
    pub async fn login(&self, u: &User) -> Answer {
        let body = json!({"auth": {"passwordCredentials": {"username": u.username, "password": u.password}}});
        self.call(
            "authenticate",
            shared::ops::login::authenticate,
            "POST",
            "/v2.0/tokens",
            &[],
            Some(body),
        )
        .await
    }

    /// API-key login.
    pub async fn api_key_login(&self, username: &str, key: &str) -> Answer {
        let body =
            json!({"auth": {"RAX-KSKEY:apiKeyCredentials": {"username": username, "apiKey": key}}});
        self.call(
            "authenticate",
            shared::ops::login::authenticate,
            "POST",
            "/v2.0/tokens",
            &[],
            Some(body),
        )
        .await
    }

    /// The user's API key (made on first use, as for a user created before keys).
    pub async fn api_key(&self, u: &User) -> String {
        let rec = self.app.store.get_user(&u.id).await.unwrap().unwrap();
        let key = services::apikeys::current(self.app, &rec).await.unwrap();
        key.expect("an api key").to_string()
    }

    /// Password login that must be challenged; returns the session id.
    pub async fn challenge(&self, u: &User) -> String {
        let a = self.login(u).await;
        a.expect(401);
        let h = a
            .header("www-authenticate")
            .expect("OS-MF challenge")
            .to_string();
        h.split("sessionId='")
            .nth(1)
            .and_then(|r| r.split('\'').next())
            .expect("session id")
            .to_string()
    }

    /// Passcode login (step 2).
    pub async fn passcode(&self, session: &str, code: &str) -> Answer {
        let body = json!({"auth": {"RAX-AUTH:passcodeCredentials": {"passcode": code}}});
        self.call(
            "authenticate",
            shared::ops::login::authenticate,
            "POST",
            "/v2.0/tokens",
            &[("x-sessionid", session)],
            Some(body),
        )
        .await
    }

    /// `PUT {MF}` by `token` on `user_id`.
    pub async fn settings(&self, token: &str, user_id: &str, settings: Value) -> Answer {
        let path = format!("/v2.0/users/{user_id}/RAX-AUTH/multi-factor");
        let body = json!({"RAX-AUTH:multiFactor": settings});
        self.call(
            "update-mfa-settings",
            shared::ops::settings::update_settings,
            "PUT",
            &path,
            &[("x-auth-token", token)],
            Some(body),
        )
        .await
    }

    /// Adds an OTP device; returns its id and seed.
    pub async fn add_device(&self, u: &User) -> (String, Seed) {
        let path = format!("/v2.0/users/{}/RAX-AUTH/multi-factor/otp-devices", u.id);
        let a = self
            .call(
                "add-otp-device",
                shared::ops::otp::add,
                "POST",
                &path,
                &[("x-auth-token", &u.token)],
                Some(json!({"RAX-AUTH:otpDevice": {"name": "phone app"}})),
            )
            .await;
        a.expect(201);
        let d = &a.body["RAX-AUTH:otpDevice"];
        let uri = d["keyUri"].as_str().unwrap();
        let secret = uri
            .split("secret=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap();
        let seed = Seed::from_bytes(BASE32_NOPAD.decode(secret.as_bytes()).unwrap());
        (d["id"].as_str().unwrap().to_string(), seed)
    }

    /// Verifies device `id` with `code`.
    pub async fn verify_device(&self, u: &User, id: &str, code: &str) -> Answer {
        let path = format!(
            "/v2.0/users/{}/RAX-AUTH/multi-factor/otp-devices/{id}/verify",
            u.id
        );
        self.call(
            "verify-otp-device",
            shared::ops::otp::verify,
            "POST",
            &path,
            &[("x-auth-token", &u.token)],
            Some(json!({"RAX-AUTH:verificationCode": {"code": code}})),
        )
        .await
    }

    /// The TOTP code of `seed`, `offset` steps from now.
    pub fn code(&self, seed: &Seed, offset: i64) -> String {
        let step = (self.clock.now_secs() / totp::STEP_SECS).saturating_add_signed(offset);
        totp::code_at_step(seed, step, totp::DIGITS).unwrap()
    }

    /// A user with a verified OTP device and MFA on (its token is revoked by the enable and
    /// replaced by a fresh one). Returns the user and the device seed.
    pub async fn otp_user(&self) -> (User, Seed) {
        let mut u = self.user().await;
        let (id, seed) = self.add_device(&u).await;
        self.verify_device(&u, &id, &self.code(&seed, 0))
            .await
            .expect(204);
        self.settings(
            &u.token,
            &u.id,
            json!({"enabled": true, "factorType": "OTP"}),
        )
        .await
        .expect(204);
        // The device's step is now used; later logins use later steps.
        self.clock.advance_secs(totp::STEP_SECS);
        u.token = String::new();
        (u, seed)
    }

    /// Adds a phone with a fresh number; returns its id and E.164 form.
    pub async fn add_phone(&self, u: &User) -> (String, String) {
        let (display, e164) = fresh_number();
        (self.add_phone_number(u, &display).await, e164)
    }

    /// Adds a phone with number `display`; returns its id.
    pub async fn add_phone_number(&self, u: &User, display: &str) -> String {
        let path = format!("/v2.0/users/{}/RAX-AUTH/multi-factor/mobile-phones", u.id);
        let a = self
            .call(
                "add-phone",
                shared::ops::phones::add,
                "POST",
                &path,
                &[("x-auth-token", &u.token)],
                Some(json!({"RAX-AUTH:mobilePhone": {"number": display}})),
            )
            .await;
        a.expect(201);
        a.body["RAX-AUTH:mobilePhone"]["id"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// Asks for a verification PIN.
    pub async fn send_pin(&self, u: &User, phone_id: &str) -> Answer {
        let path = format!(
            "/v2.0/users/{}/RAX-AUTH/multi-factor/mobile-phones/{phone_id}/verificationcode",
            u.id
        );
        self.call(
            "send-phone-code",
            shared::ops::phones::send_code,
            "POST",
            &path,
            &[("x-auth-token", &u.token)],
            None,
        )
        .await
    }

    /// Verifies the phone with `code`.
    pub async fn verify_phone(&self, u: &User, phone_id: &str, code: &str) -> Answer {
        let path = format!(
            "/v2.0/users/{}/RAX-AUTH/multi-factor/mobile-phones/{phone_id}/verify",
            u.id
        );
        self.call(
            "verify-phone",
            shared::ops::phones::verify,
            "POST",
            &path,
            &[("x-auth-token", &u.token)],
            Some(json!({"RAX-AUTH:verificationCode": {"code": code}})),
        )
        .await
    }

    /// Generates bypass codes for `u` itself.
    pub async fn bypass_codes(
        &self,
        token: &str,
        u: &User,
        count: u32,
        validity: &str,
    ) -> Vec<String> {
        let path = format!("/v2.0/users/{}/RAX-AUTH/multi-factor/bypass-codes", u.id);
        let a = self
            .call(
                "generate-bypass-codes",
                shared::ops::bypass::generate_bypass_codes,
                "POST",
                &path,
                &[("x-auth-token", token)],
                Some(json!({"RAX-AUTH:bypassCodes": {"numberOfCodes": count, "validityDuration": validity}})),
            )
            .await;
        a.expect(200);
        a.body["RAX-AUTH:bypassCodes"]["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    }
}

/// A random valid US number (display, E.164) that moto does not treat as opted out.
pub fn fresh_number() -> (String, String) {
    let mut rng = rand::thread_rng();
    loop {
        let display = format!(
            "+1 512-{}{:02}-{:04}",
            rng.gen_range(2..10),
            rng.gen_range(0..100),
            rng.gen_range(0..9_900)
        );
        if !display.ends_with("99")
            && let Ok(n) = phonenumber::parse(None, &display)
            && phonenumber::is_valid(&n)
        {
            let e164 = n.format().mode(phonenumber::Mode::E164).to_string();
            return (display, e164);
        }
    }
}

/// Runs another actor's requests at an exact point of a request under test: armed with a
/// DynamoDB operation (and a text its request body must contain), it runs `action` once, to
/// completion, just before the first matching request of the world's store goes out. The
/// action runs on a thread and runtime of its own, with a client of its own (another Lambda
/// instance, as far as DynamoDB can tell); the request under test waits for it, as at a barrier.
#[derive(Clone)]
pub struct Hook {
    armed: std::sync::Arc<std::sync::Mutex<Option<Armed>>>,
    aws: aws_config::SdkConfig,
    table: String,
}

type HookAction = Box<dyn FnOnce(shared::store::Store, aws_sdk_dynamodb::Client, String) + Send>;

struct Armed {
    operation: String,
    body_contains: String,
    action: HookAction,
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hook").finish_non_exhaustive()
    }
}

impl Hook {
    /// Arms the hook: before the next `operation` (e.g. `TransactWriteItems`, or several
    /// separated by `|`) whose body
    /// contains `body_contains`, run `action` with a store, a raw client and the table name.
    pub fn arm<F, Fut>(&self, operation: &str, body_contains: &str, action: F)
    where
        F: FnOnce(shared::store::Store, aws_sdk_dynamodb::Client, String) -> Fut + Send + 'static,
        Fut: Future<Output = ()>,
    {
        let action: HookAction = Box::new(move |store, client, table| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(action(store, client, table));
        });
        *self.armed.lock().unwrap() = Some(Armed {
            operation: operation.to_string(),
            body_contains: body_contains.to_string(),
            action,
        });
    }

    /// Whether the armed action has run.
    pub fn fired(&self) -> bool {
        self.armed.lock().unwrap().is_none()
    }
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for Hook {
    fn name(&self) -> &'static str {
        "test-hook"
    }

    fn read_before_transmit(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let operation = ctx
            .request()
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("?")
            .to_string();
        let body = ctx
            .request()
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let action = {
            let mut armed = self.armed.lock().unwrap();
            match armed.as_ref() {
                Some(a)
                    if a.operation.split('|').any(|o| o == operation)
                        && body.contains(&a.body_contains) =>
                {
                    armed.take().map(|a| a.action)
                }
                _ => None,
            }
        };
        if let Some(action) = action {
            let client = aws_sdk_dynamodb::Client::new(&self.aws);
            let store = shared::store::Store::new(client.clone(), self.table.clone());
            let table = self.table.clone();
            std::thread::spawn(move || action(store, client, table))
                .join()
                .expect("the hook's action");
        }
        Ok(())
    }
}

/// A world whose store runs the returned hook's armed action at its point.
pub async fn hooked() -> (World, Hook) {
    let slot: std::sync::Arc<std::sync::Mutex<Option<Hook>>> = Default::default();
    let out = slot.clone();
    let w = World::with_store(move |aws, table| {
        let hook = Hook {
            armed: Default::default(),
            aws: aws.clone(),
            table: table.clone(),
        };
        *out.lock().unwrap() = Some(hook.clone());
        let conf = aws_sdk_dynamodb::config::Builder::from(aws)
            .interceptor(hook)
            .build();
        shared::store::Store::new(aws_sdk_dynamodb::Client::from_conf(conf), table)
    })
    .await;
    let hook = slot.lock().unwrap().take().unwrap();
    (w, hook)
}
