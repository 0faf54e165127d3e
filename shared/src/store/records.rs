//! The records the store reads and writes: plain structs, no DynamoDB types. Their `Debug`
//! shows ids, flags and counters only: never a hash, a sealed value or a username.

use crate::domain::{EnforcementLevel, FactorType, Role};
use crate::policy::{RevocationMarkers, Subject};

/// `Debug` showing only the listed (non-secret) fields.
macro_rules! redacted_debug {
    ($($t:ident { $($f:ident),* })*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($t))
                    $(.field(stringify!($f), &self.$f))*
                    .finish_non_exhaustive()
            }
        }
    )*};
}

redacted_debug! {
    UserRec { id, enabled, domain_id, mfa_enabled, factor, level, fails, otp_count, otp_verified }
    PhoneRec { id, verified }
    PinRec { id, expires, tries }
    TokenRec { user_id, issued, expires, methods, scope }
    DeviceRec { id, user_id, verified, last_step, fails }
    BypassRec { set_id, expires }
    SessionRec { user_id, expires, mfa_epoch }
}

/// A user and its per-user MFA state (one item).
#[derive(Clone, Default)]
pub struct UserRec {
    /// Id (32 hex).
    pub id: String,
    /// Username as created.
    pub username: String,
    /// Email.
    pub email: String,
    /// Enabled flag.
    pub enabled: bool,
    /// Domain, if any.
    pub domain_id: Option<String>,
    /// `RAX-AUTH:defaultRegion`.
    pub region: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Roles held.
    pub roles: Vec<Role>,
    /// MFA enabled.
    pub mfa_enabled: bool,
    /// Active factor, unset until first enable.
    pub factor: Option<FactorType>,
    /// User enforcement level.
    pub level: EnforcementLevel,
    /// When the level last changed (ms).
    pub level_since: u64,
    /// All tokens issued at or before this are revoked (ms).
    pub revoked_all: u64,
    /// Non-MFA tokens issued at or before this are revoked (ms).
    pub revoked_non_mfa: u64,
    /// Consecutive failed passcodes.
    pub fails: u64,
    /// Last failed passcode (ms).
    pub last_fail: u64,
    /// Bumped by disable/delete-mfa so open MFA sessions die.
    pub mfa_epoch: u64,
    /// The phone, if any.
    pub phone: Option<PhoneRec>,
    /// Pending verification PIN.
    pub pin: Option<PinRec>,
    /// OTP devices (verified or not).
    pub otp_count: u64,
    /// Verified OTP devices.
    pub otp_verified: u64,
    /// Current bypass-code set.
    pub bypass_set: Option<String>,
    /// Number of codes in the current set (0 when unknown: sets written before it was kept).
    pub bypass_count: u64,
    /// The API key, sealed (none for users created before keys existed, until first use).
    pub api_key: Option<String>,
    /// The API key was deleted on purpose (so none is created on first use).
    pub api_key_deleted: bool,
    /// SMS sent in the current hour window.
    pub sms_count: u64,
    /// Start of the SMS hour window (s).
    pub sms_window: u64,
    /// Last SMS (s).
    pub sms_last: u64,
}

impl UserRec {
    /// View for the policy functions.
    pub fn subject(&self) -> Subject<'_> {
        Subject {
            id: &self.id,
            domain: self.domain_id.as_deref(),
            roles: &self.roles,
        }
    }

    /// Revocation markers (the domain's passed in).
    pub fn markers(&self, domain_non_mfa: u64) -> RevocationMarkers {
        RevocationMarkers {
            user_all: self.revoked_all,
            user_non_mfa: self.revoked_non_mfa,
            domain_non_mfa,
            user_level_since: self.level_since,
        }
    }

    /// Verified phone, if any.
    pub fn verified_phone(&self) -> Option<&PhoneRec> {
        self.phone.as_ref().filter(|p| p.verified)
    }
}

/// The user's phone: the number sealed at rest, a masked hint for logs.
#[derive(Clone)]
pub struct PhoneRec {
    /// Phone id.
    pub id: String,
    /// Sealed `display\ne164`.
    pub sealed: String,
    /// Masked number for logs.
    pub hint: String,
    /// Verified flag.
    pub verified: bool,
}

/// A pending phone-verification PIN (hash only).
#[derive(Clone)]
pub struct PinRec {
    /// Nonce that identifies this PIN (resends replace it).
    pub id: String,
    /// Salted slow hash.
    pub hash: String,
    /// Expiry (s).
    pub expires: u64,
    /// Wrong tries so far.
    pub tries: u64,
}

/// A domain.
#[derive(Debug, Clone)]
pub struct DomainRec {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Enabled.
    pub enabled: bool,
    /// Description.
    pub description: String,
    /// Enforcement level.
    pub level: EnforcementLevel,
    /// Number of users.
    pub users: u64,
    /// Non-MFA tokens of requiring users issued at or before this are revoked (ms).
    pub revoked_non_mfa: u64,
}

/// An API token (stored under the SHA-256 of its value).
#[derive(Clone)]
pub struct TokenRec {
    /// SHA-256 of the token value.
    pub hash: String,
    /// Owner.
    pub user_id: String,
    /// Owner's domain.
    pub domain_id: Option<String>,
    /// Issued (ms).
    pub issued: u64,
    /// Expires (ms).
    pub expires: u64,
    /// `authenticatedBy`.
    pub methods: Vec<String>,
    /// `SETUP-MFA` for scoped tokens.
    pub scope: Option<String>,
}

impl TokenRec {
    /// Was the token obtained with a second factor?
    pub fn is_mfa(&self) -> bool {
        self.methods.iter().any(|m| {
            matches!(
                m.as_str(),
                "PASSCODE" | "OTPPASSCODE" | "BYPASS" | "WEBAUTHN"
            )
        })
    }
}

/// A TOTP device.
#[derive(Clone)]
pub struct DeviceRec {
    /// Device id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// Verified flag.
    pub verified: bool,
    /// Sealed seed.
    pub sealed_seed: String,
    /// Last accepted time step (0 = none).
    pub last_step: u64,
    /// Consecutive wrong verification codes.
    pub fails: u64,
    /// Last wrong code (ms).
    pub last_fail: u64,
}

/// One bypass code (hash only).
#[derive(Clone)]
pub struct BypassRec {
    /// Sort key (identifies the code).
    pub sk: String,
    /// Set it belongs to.
    pub set_id: String,
    /// Salted slow hash.
    pub hash: String,
    /// Expiry (s).
    pub expires: u64,
}

/// An open MFA login session, in its user's partition, stored under the SHA-256 of its id.
#[derive(Clone)]
pub struct SessionRec {
    /// SHA-256 of the session id.
    pub hash: String,
    /// User.
    pub user_id: String,
    /// Expiry (s).
    pub expires: u64,
    /// Hash of the SMS passcode, for the SMS factor.
    pub passcode_hash: Option<String>,
    /// The user's `mfa_epoch` when the session opened.
    pub mfa_epoch: u64,
    /// Which of the user's session slots holds it (set by the store; `None` for a session
    /// not stored yet, or stored by a release before slots, §9.3).
    pub slot: Option<u64>,
}

/// Everything in a user's partition, read with one Query.
#[derive(Debug, Clone, Default)]
pub struct UserBundle {
    /// The user.
    pub user: Option<UserRec>,
    /// OTP devices.
    pub devices: Vec<DeviceRec>,
    /// Bypass codes (all sets; filter by the user's current set).
    pub bypass: Vec<BypassRec>,
    /// Open MFA login sessions (filter by expiry and epoch).
    pub sessions: Vec<SessionRec>,
}

impl BypassRec {
    /// Code number `index` of set `set_id`.
    pub fn new(set_id: &str, index: usize, hash: String, expires: u64) -> Self {
        Self {
            sk: super::item::bypass_sk(set_id, index),
            set_id: set_id.to_string(),
            hash,
            expires,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_shows_no_hash_sealed_value_or_username() {
        let u = UserRec {
            id: "u1".into(),
            username: "alice-secret-name".into(),
            password_hash: "$argon2id$SECRETHASH".into(),
            phone: Some(PhoneRec {
                id: "p1".into(),
                sealed: "v1:SEALEDNUMBER".into(),
                hint: "+1*******42".into(),
                verified: true,
            }),
            pin: Some(PinRec {
                id: "n1".into(),
                hash: "PINHASH".into(),
                expires: 1,
                tries: 0,
            }),
            ..UserRec::default()
        };
        let d = DeviceRec {
            id: "d1".into(),
            user_id: "u1".into(),
            name: "n".into(),
            verified: true,
            sealed_seed: "v1:SEALEDSEED".into(),
            last_step: 1,
            fails: 0,
            last_fail: 0,
        };
        let s = SessionRec {
            hash: "SESSIONHASH".into(),
            user_id: "u1".into(),
            expires: 1,
            passcode_hash: Some("PASSCODEHASH".into()),
            mfa_epoch: 0,
            slot: None,
        };
        let t = TokenRec {
            hash: "TOKENHASH".into(),
            user_id: "u1".into(),
            domain_id: None,
            issued: 0,
            expires: 1,
            methods: vec!["PASSWORD".into()],
            scope: None,
        };
        let b = BypassRec::new("set", 0, "BYPASSHASH".into(), 1);
        let out = format!("{u:?} {d:?} {s:?} {t:?} {b:?}");
        for secret in [
            "alice-secret-name",
            "SECRETHASH",
            "SEALEDNUMBER",
            "PINHASH",
            "SEALEDSEED",
            "SESSIONHASH",
            "PASSCODEHASH",
            "TOKENHASH",
            "BYPASSHASH",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(out.contains("u1") && out.contains("d1"));
    }
}
