//! Request bodies, one type per operation that takes a body, named as on the wire. Every
//! field is a [`Field`], so a body never fails to parse for its content: each operation turns
//! missing or mistyped fields into the contract's own `400` message.

use super::{CaseInsensitive, Field, Flag, Int, Text};
use serde::Deserialize;
use std::fmt;

/// `Debug` for bodies that carry a secret: the type's name and nothing else.
macro_rules! redacted_debug {
    ($($t:ty),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($t), " { <redacted> }"))
            }
        }
    )*};
}
redacted_debug!(
    Auth,
    PasswordCredentials,
    PasscodeCredentials,
    NewUser,
    UserUpdate,
    ChangePasswordCredentials,
    VerificationCode
);

/// `POST /v2.0/tokens`.
#[derive(Debug, Deserialize)]
pub struct AuthRequest {
    /// `auth`.
    #[serde(default)]
    pub auth: Field<Auth>,
}

/// The `auth` object: one kind of credentials, and an optional scope.
#[derive(Deserialize)]
pub struct Auth {
    /// Username and password.
    #[serde(default, rename = "passwordCredentials")]
    pub password: Field<PasswordCredentials>,
    /// The second step's passcode.
    #[serde(default, rename = "RAX-AUTH:passcodeCredentials")]
    pub passcode: Field<PasscodeCredentials>,
    /// Username and API key.
    #[serde(default, rename = "RAX-KSKEY:apiKeyCredentials")]
    pub api_key: Field<ApiKeyCredentials>,
    /// An existing token (pyrax's `auth_with_token`).
    #[serde(default)]
    pub token: Field<TokenCredentials>,
    /// `SETUP-MFA`, for the restricted token of §3.5.
    #[serde(default, rename = "RAX-AUTH:scope")]
    pub scope: Field<String>,
}

/// `passwordCredentials`.
#[derive(Deserialize)]
pub struct PasswordCredentials {
    /// Username.
    #[serde(default)]
    pub username: Field<String>,
    /// Password.
    #[serde(default)]
    pub password: Field<String>,
}

/// `RAX-KSKEY:apiKeyCredentials`.
#[derive(Deserialize)]
pub struct ApiKeyCredentials {
    /// Username.
    #[serde(default)]
    pub username: Field<String>,
    /// The API key.
    #[serde(default, rename = "apiKey")]
    pub api_key: Field<String>,
}

/// `token` credentials.
#[derive(Deserialize)]
pub struct TokenCredentials {
    /// The token.
    #[serde(default)]
    pub id: Field<String>,
}

/// `RAX-AUTH:passcodeCredentials`.
#[derive(Deserialize)]
pub struct PasscodeCredentials {
    /// The SMS passcode, TOTP code or bypass code.
    #[serde(default)]
    pub passcode: Field<String>,
}

/// `POST /v2.0/users`.
#[derive(Debug, Deserialize)]
pub struct CreateUserRequest {
    /// `user`.
    #[serde(default)]
    pub user: Field<NewUser>,
}

/// The `user` object of create-user.
#[derive(Deserialize)]
pub struct NewUser {
    /// Username.
    #[serde(default)]
    pub username: Field<String>,
    /// Email.
    #[serde(default)]
    pub email: Field<String>,
    /// Enabled (default true).
    #[serde(default)]
    pub enabled: Field<Flag>,
    /// Password; generated when absent.
    #[serde(default, rename = "OS-KSADM:password")]
    pub password: Field<String>,
    /// Domain (the examples send numbers too).
    #[serde(default, rename = "RAX-AUTH:domainId")]
    pub domain_id: Field<Text>,
}

/// `POST /v2.0/users/{userId}` and `PUT` on the same path (update-user).
#[derive(Debug, Deserialize)]
pub struct UpdateUserRequest {
    /// `user`.
    #[serde(default)]
    pub user: Field<UserUpdate>,
}

/// The `user` object of update-user: only the fields to change.
#[derive(Deserialize)]
pub struct UserUpdate {
    /// New username.
    #[serde(default)]
    pub username: Field<String>,
    /// New email.
    #[serde(default)]
    pub email: Field<String>,
    /// Enable or disable (not on self).
    #[serde(default)]
    pub enabled: Field<Flag>,
    /// New password.
    #[serde(default, rename = "OS-KSADM:password")]
    pub password: Field<String>,
}

/// `POST /v2.0/users/RAX-AUTH/change-pwd` (change-password).
#[derive(Debug, Deserialize)]
pub struct ChangePasswordRequest {
    /// `RAX-AUTH:changePasswordCredentials`.
    #[serde(default, rename = "RAX-AUTH:changePasswordCredentials")]
    pub credentials: Field<ChangePasswordCredentials>,
}

/// The username, its current password and the new one.
#[derive(Deserialize)]
pub struct ChangePasswordCredentials {
    /// Username.
    #[serde(default)]
    pub username: Field<String>,
    /// Current password.
    #[serde(default)]
    pub password: Field<String>,
    /// New password.
    #[serde(default, rename = "newPassword")]
    pub new_password: Field<String>,
}

/// `POST {MF}/mobile-phones`.
#[derive(Debug, Deserialize)]
pub struct AddPhoneRequest {
    /// `RAX-AUTH:mobilePhone`.
    #[serde(default, rename = "RAX-AUTH:mobilePhone")]
    pub phone: Field<NewPhone>,
}

/// The `RAX-AUTH:mobilePhone` object of add-phone.
#[derive(Debug, Deserialize)]
pub struct NewPhone {
    /// The number as the user wrote it.
    #[serde(default)]
    pub number: Field<String>,
}

/// `POST …/verify` of a phone or an OTP device.
#[derive(Debug, Deserialize)]
pub struct VerifyRequest {
    /// `RAX-AUTH:verificationCode`.
    #[serde(default, rename = "RAX-AUTH:verificationCode")]
    pub code: Field<VerificationCode>,
}

/// The `RAX-AUTH:verificationCode` object.
#[derive(Deserialize)]
pub struct VerificationCode {
    /// The PIN or TOTP code.
    #[serde(default)]
    pub code: Field<String>,
}

/// `POST {MF}/otp-devices`.
#[derive(Debug, Deserialize)]
pub struct AddDeviceRequest {
    /// `RAX-AUTH:otpDevice`.
    #[serde(default, rename = "RAX-AUTH:otpDevice")]
    pub device: Field<NewDevice>,
}

/// The `RAX-AUTH:otpDevice` object of add-otp-device.
#[derive(Debug, Deserialize)]
pub struct NewDevice {
    /// Display name.
    #[serde(default)]
    pub name: Field<String>,
}

/// `PUT {MF}`.
#[derive(Debug, Deserialize)]
pub struct MfaSettingsRequest {
    /// `RAX-AUTH:multiFactor`.
    #[serde(default, rename = "RAX-AUTH:multiFactor")]
    pub settings: Field<MfaSettings>,
}

/// The `RAX-AUTH:multiFactor` object.
#[derive(Debug, Deserialize)]
pub struct MfaSettings {
    /// Turn MFA on or off.
    #[serde(default)]
    pub enabled: Field<Flag>,
    /// `SMS` or `OTP`.
    #[serde(default, rename = "factorType")]
    pub factor_type: Field<String>,
    /// Clear a lock.
    #[serde(default)]
    pub unlock: Field<Flag>,
    /// `DEFAULT`, `OPTIONAL` or `REQUIRED`.
    #[serde(default, rename = "userMultiFactorEnforcementLevel")]
    pub level: Field<String>,
}

/// `POST {MF}/bypass-codes` (keys in any case; the body is optional).
#[derive(Debug, Deserialize)]
pub struct BypassRequest {
    /// `RAX-AUTH:bypassCodes`.
    #[serde(default, rename = "rax-auth:bypasscodes")]
    pub spec: Field<CaseInsensitive<BypassSpec>>,
}

/// The `RAX-AUTH:bypassCodes` object.
#[derive(Debug, Default, Deserialize)]
pub struct BypassSpec {
    /// How many codes (1 to 10).
    #[serde(default, rename = "numberofcodes")]
    pub number_of_codes: Field<Int>,
    /// ISO 8601 duration.
    #[serde(default, rename = "validityduration")]
    pub validity_duration: Field<String>,
}

/// `PUT /v2.0/RAX-AUTH/domains/{domainId}/multi-factor`.
#[derive(Debug, Deserialize)]
pub struct DomainEnforcementRequest {
    /// `RAX-AUTH:multiFactorDomain`.
    #[serde(default, rename = "RAX-AUTH:multiFactorDomain")]
    pub settings: Field<DomainEnforcement>,
}

/// The `RAX-AUTH:multiFactorDomain` object.
#[derive(Debug, Deserialize)]
pub struct DomainEnforcement {
    /// `OPTIONAL`, `REQUIRED` or `RACKSPACE_MANDATED`.
    #[serde(default, rename = "domainMultiFactorEnforcementLevel")]
    pub level: Field<String>,
}
