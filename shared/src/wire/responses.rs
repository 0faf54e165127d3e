//! Response bodies, named as on the wire. Types that carry a secret (a token id, a TOTP key
//! URI, bypass codes, a generated password) have no `Debug`, so they cannot reach a log.

use crate::domain::{Role, format_ms};
use crate::store::{DeviceRec, DomainRec, TokenRec, UserRec};
use serde::Serialize;

/// `{"access": …}` of login and validate-token (§2.16).
#[derive(Serialize)]
pub struct AccessResponse {
    /// The access object.
    pub access: Access,
}

/// The `access` object.
#[derive(Serialize)]
pub struct Access {
    /// The token.
    pub token: TokenView,
    /// Its user.
    pub user: AccessUser,
    /// Always empty: this service catalogs nothing. Present on full logins only.
    #[serde(rename = "serviceCatalog", skip_serializing_if = "Option::is_none")]
    pub service_catalog: Option<Vec<serde_json::Value>>,
}

impl Access {
    /// The access object of token `token_id` of `user`.
    pub fn new(token_id: &str, token: &TokenRec, user: &UserRec) -> Self {
        Self {
            token: TokenView {
                id: token_id.to_string(),
                expires: format_ms(token.expires),
                authenticated_by: token.methods.clone(),
                scope: token.scope.clone(),
                tenant: user.domain_id.as_ref().map(|d| Tenant {
                    id: d.clone(),
                    name: d.clone(),
                }),
            },
            user: AccessUser {
                id: user.id.clone(),
                name: user.username.clone(),
                default_region: user.region.clone(),
                mfa_enabled: user.mfa_enabled,
                roles: user.roles.iter().copied().map(RoleView::from).collect(),
                domain_id: user.domain_id.clone(),
            },
            service_catalog: None,
        }
    }

    /// With the (empty) service catalog of a full login.
    pub fn with_catalog(mut self) -> Self {
        self.service_catalog = Some(Vec::new());
        self
    }

    /// Wrapped as `{"access": …}`.
    pub fn into_response(self) -> AccessResponse {
        AccessResponse { access: self }
    }
}

/// `access.token`.
#[derive(Serialize)]
pub struct TokenView {
    /// The token value.
    pub id: String,
    /// Expiry (ISO 8601, ms).
    pub expires: String,
    /// Factors used.
    #[serde(rename = "RAX-AUTH:authenticatedBy")]
    pub authenticated_by: Vec<String>,
    /// `SETUP-MFA` for scoped tokens.
    #[serde(rename = "RAX-AUTH:scope", skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The user's domain as tenant (§8.4); none for users without a domain.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant: Option<Tenant>,
}

/// `access.token.tenant` (§8.4): the domain, as id and name.
#[derive(Debug, Serialize)]
pub struct Tenant {
    /// Domain id.
    pub id: String,
    /// Domain id again (the docs' examples show the same value).
    pub name: String,
}

/// `{"RAX-KSKEY:apiKeyCredentials": …}` of get-api-key and reset-api-key.
#[derive(Serialize)]
pub struct ApiKeyResponse {
    /// The credentials.
    #[serde(rename = "RAX-KSKEY:apiKeyCredentials")]
    pub credentials: ApiKeyView,
}

/// A user's API-key credentials.
#[derive(Serialize)]
pub struct ApiKeyView {
    /// Username.
    pub username: String,
    /// The key.
    #[serde(rename = "apiKey")]
    pub api_key: String,
}

/// `{"credentials": […]}` of list-credentials.
#[derive(Serialize)]
pub struct CredentialsResponse {
    /// Zero or one API-key credentials.
    pub credentials: Vec<ApiKeyResponse>,
}

/// `access.user`.
#[derive(Debug, Serialize)]
pub struct AccessUser {
    /// Id.
    pub id: String,
    /// Username.
    pub name: String,
    /// Default region.
    #[serde(rename = "RAX-AUTH:defaultRegion")]
    pub default_region: String,
    /// MFA on.
    #[serde(rename = "RAX-AUTH:multiFactorEnabled")]
    pub mfa_enabled: bool,
    /// Roles held.
    pub roles: Vec<RoleView>,
    /// Domain, if any.
    #[serde(rename = "RAX-AUTH:domainId", skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
}

/// A role.
#[derive(Debug, Serialize)]
pub struct RoleView {
    /// Id.
    pub id: &'static str,
    /// Name.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
}

impl From<Role> for RoleView {
    fn from(r: Role) -> Self {
        Self {
            id: r.id(),
            name: r.name(),
            description: r.description(),
        }
    }
}

/// `{"role": …}` of add-role-to-user.
#[derive(Debug, Serialize)]
pub struct RoleResponse {
    /// The role.
    pub role: RoleView,
}

/// `{"user": …}` of get-user.
#[derive(Debug, Serialize)]
pub struct UserResponse {
    /// The user.
    pub user: UserView,
}

/// `{"users": […]}` of list-users and list-domain-users: get-user objects.
#[derive(Debug, Serialize)]
pub struct UsersResponse {
    /// The users the caller may see.
    pub users: Vec<UserView>,
}

/// The `user` object of get-user.
#[derive(Debug, Serialize)]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
    /// Enabled.
    pub enabled: bool,
    /// Default region.
    #[serde(rename = "RAX-AUTH:defaultRegion")]
    pub default_region: String,
    /// MFA on.
    #[serde(rename = "RAX-AUTH:multiFactorEnabled")]
    pub mfa_enabled: bool,
    /// User enforcement level.
    #[serde(rename = "RAX-AUTH:userMultiFactorEnforcementLevel")]
    pub level: &'static str,
    /// Domain, if any.
    #[serde(rename = "RAX-AUTH:domainId", skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    /// `ACTIVE` or `LOCKED`, while MFA is on.
    #[serde(
        rename = "RAX-AUTH:multiFactorState",
        skip_serializing_if = "Option::is_none"
    )]
    pub state: Option<&'static str>,
    /// Active factor, while MFA is on.
    #[serde(
        rename = "RAX-AUTH:factorType",
        skip_serializing_if = "Option::is_none"
    )]
    pub factor: Option<&'static str>,
}

impl UserView {
    /// The view of `u`, whose MFA login is `locked` or not.
    pub fn new(u: &UserRec, locked: bool) -> Self {
        Self {
            id: u.id.clone(),
            username: u.username.clone(),
            email: u.email.clone(),
            enabled: u.enabled,
            default_region: u.region.clone(),
            mfa_enabled: u.mfa_enabled,
            level: u.level.as_str(),
            domain_id: u.domain_id.clone(),
            state: u
                .mfa_enabled
                .then_some(if locked { "LOCKED" } else { "ACTIVE" }),
            factor: u.factor.filter(|_| u.mfa_enabled).map(|f| f.as_str()),
        }
    }
}

/// `{"user": …}` of create-user.
#[derive(Serialize)]
pub struct CreatedUserResponse {
    /// The user.
    pub user: CreatedUser,
}

/// The `user` object of create-user.
#[derive(Serialize)]
pub struct CreatedUser {
    /// Id.
    pub id: String,
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
    /// Enabled.
    pub enabled: bool,
    /// Default region.
    #[serde(rename = "RAX-AUTH:defaultRegion")]
    pub default_region: String,
    /// Domain, if any.
    #[serde(rename = "RAX-AUTH:domainId", skip_serializing_if = "Option::is_none")]
    pub domain_id: Option<String>,
    /// The generated password, shown once.
    #[serde(rename = "OS-KSADM:password", skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
}

/// `{"RAX-AUTH:domain": …}` of get-domain.
#[derive(Debug, Serialize)]
pub struct DomainResponse {
    /// The domain.
    #[serde(rename = "RAX-AUTH:domain")]
    pub domain: DomainView,
}

/// The `RAX-AUTH:domain` object.
#[derive(Debug, Serialize)]
pub struct DomainView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Enabled.
    pub enabled: bool,
    /// Description.
    pub description: String,
    /// Enforcement level.
    #[serde(rename = "domainMultiFactorEnforcementLevel")]
    pub level: &'static str,
}

impl From<&DomainRec> for DomainView {
    fn from(d: &DomainRec) -> Self {
        Self {
            id: d.id.clone(),
            name: d.name.clone(),
            enabled: d.enabled,
            description: d.description.clone(),
            level: d.level.as_str(),
        }
    }
}

/// A phone, with its number opened.
#[derive(Debug, Serialize)]
pub struct PhoneView {
    /// Id.
    pub id: String,
    /// The number as the user wrote it.
    pub number: String,
    /// Verified.
    pub verified: bool,
}

/// `{"RAX-AUTH:mobilePhone": …}`.
#[derive(Debug, Serialize)]
pub struct PhoneResponse {
    /// The phone.
    #[serde(rename = "RAX-AUTH:mobilePhone")]
    pub phone: PhoneView,
}

/// `{"RAX-AUTH:mobilePhones": […]}`.
#[derive(Debug, Serialize)]
pub struct PhonesResponse {
    /// The phones (zero or one).
    #[serde(rename = "RAX-AUTH:mobilePhones")]
    pub phones: Vec<PhoneView>,
}

/// An OTP device; the key URI and QR code only in add-otp-device's answer.
#[derive(Serialize)]
pub struct DeviceView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Verified.
    pub verified: bool,
    /// `otpauth://` URI (holds the secret).
    #[serde(rename = "keyUri", skip_serializing_if = "Option::is_none")]
    pub key_uri: Option<String>,
    /// PNG data URL of the URI.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qrcode: Option<String>,
}

impl From<&DeviceRec> for DeviceView {
    fn from(d: &DeviceRec) -> Self {
        Self {
            id: d.id.clone(),
            name: d.name.clone(),
            verified: d.verified,
            key_uri: None,
            qrcode: None,
        }
    }
}

/// `{"RAX-AUTH:otpDevice": …}`.
#[derive(Serialize)]
pub struct DeviceResponse {
    /// The device.
    #[serde(rename = "RAX-AUTH:otpDevice")]
    pub device: DeviceView,
}

/// `{"RAX-AUTH:otpDevices": […]}`.
#[derive(Serialize)]
pub struct DevicesResponse {
    /// The devices.
    #[serde(rename = "RAX-AUTH:otpDevices")]
    pub devices: Vec<DeviceView>,
}

/// `{"RAX-AUTH:bypassCodes": …}`.
#[derive(Serialize)]
pub struct BypassResponse {
    /// The codes.
    #[serde(rename = "RAX-AUTH:bypassCodes")]
    pub codes: BypassCodes,
}

/// The `RAX-AUTH:bypassCodes` object.
#[derive(Serialize)]
pub struct BypassCodes {
    /// The codes, shown once.
    pub codes: Vec<String>,
    /// ISO 8601 duration.
    #[serde(rename = "validityDuration")]
    pub validity_duration: String,
}

/// `{MF}` base path of a user.
pub fn mf_path(user_id: &str) -> String {
    format!("/v2.0/users/{user_id}/RAX-AUTH/multi-factor")
}
