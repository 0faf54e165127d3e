//! Domain values that cannot be invalid once built: roles, levels, names, phone numbers,
//! durations and timestamps. Pure, no I/O.

use crate::error::ApiError;
use std::fmt;

mod phone;
mod time;

pub use phone::{PhoneNumber, mask_number};
pub use time::{format_duration_secs, format_ms, parse_duration_secs};

/// The six roles of the contract (§1), with their fixed ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// `identity:service-admin` (4).
    ServiceAdmin,
    /// `identity:admin` (1).
    Admin,
    /// `identity:user-admin` (3), one per domain.
    UserAdmin,
    /// `identity:user-manage` (7); holders also keep `identity:default`.
    UserManage,
    /// `identity:user-manage-limited` (8).
    UserManageLimited,
    /// `identity:default` (2), a sub-user.
    Default,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 6] = [
        Role::ServiceAdmin,
        Role::Admin,
        Role::UserAdmin,
        Role::UserManage,
        Role::UserManageLimited,
        Role::Default,
    ];

    /// Role id as a string.
    pub fn id(self) -> &'static str {
        match self {
            Role::ServiceAdmin => "4",
            Role::Admin => "1",
            Role::UserAdmin => "3",
            Role::UserManage => "7",
            Role::UserManageLimited => "8",
            Role::Default => "2",
        }
    }

    /// Role name, e.g. `identity:user-admin`.
    pub fn name(self) -> &'static str {
        match self {
            Role::ServiceAdmin => "identity:service-admin",
            Role::Admin => "identity:admin",
            Role::UserAdmin => "identity:user-admin",
            Role::UserManage => "identity:user-manage",
            Role::UserManageLimited => "identity:user-manage-limited",
            Role::Default => "identity:default",
        }
    }

    /// Role description.
    pub fn description(self) -> &'static str {
        match self {
            Role::ServiceAdmin => "Service Admin Role.",
            Role::Admin => "Admin Role.",
            Role::UserAdmin => "User Admin Role.",
            Role::UserManage => "User Manage Role.",
            Role::UserManageLimited => "User Manage Limited Role.",
            Role::Default => "Default Role.",
        }
    }

    /// Looks a role up by id.
    pub fn from_id(id: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.id() == id)
    }
}

/// MFA enforcement level of a domain or a user (§4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnforcementLevel {
    /// User only: inherit the domain's level.
    #[default]
    Default,
    /// Each user chooses (domain) / MFA not required (user override).
    Optional,
    /// MFA required.
    Required,
    /// Domain only: like REQUIRED; only Rackspace admins may set or leave it.
    RackspaceMandated,
}

impl EnforcementLevel {
    /// Wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "DEFAULT",
            Self::Optional => "OPTIONAL",
            Self::Required => "REQUIRED",
            Self::RackspaceMandated => "RACKSPACE_MANDATED",
        }
    }

    fn parse_any(s: &str) -> Option<Self> {
        match s {
            "DEFAULT" => Some(Self::Default),
            "OPTIONAL" => Some(Self::Optional),
            "REQUIRED" => Some(Self::Required),
            "RACKSPACE_MANDATED" => Some(Self::RackspaceMandated),
            _ => None,
        }
    }

    /// A user level: DEFAULT, OPTIONAL or REQUIRED.
    pub fn parse_user(s: &str) -> Option<Self> {
        Self::parse_any(s).filter(|l| *l != Self::RackspaceMandated)
    }

    /// A domain level: OPTIONAL, REQUIRED or RACKSPACE_MANDATED.
    pub fn parse_domain(s: &str) -> Option<Self> {
        Self::parse_any(s).filter(|l| *l != Self::Default)
    }

    /// Stored form back to a level (unknown values read as the safest: REQUIRED for domains).
    pub fn from_stored(s: &str) -> Self {
        Self::parse_any(s).unwrap_or(Self::Required)
    }

    /// True for the levels that require MFA of DEFAULT users.
    pub fn domain_requires(self) -> bool {
        matches!(self, Self::Required | Self::RackspaceMandated)
    }
}

/// The active second factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactorType {
    /// SMS passcodes to the verified phone.
    Sms,
    /// TOTP codes from a verified device.
    Otp,
}

impl FactorType {
    /// Wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "SMS",
            Self::Otp => "OTP",
        }
    }

    /// Parses `SMS` / `OTP`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "SMS" => Some(Self::Sms),
            "OTP" => Some(Self::Otp),
            _ => None,
        }
    }
}

/// A username: a letter first, then letters, digits, `-`, `@`, `_` (and `.`), at most 100 chars.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Validates a username.
    ///
    /// # Errors
    /// `400` when it breaks the rule.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let mut chars = s.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
        let rest_ok =
            chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '@' | '_' | '.'));
        if !first_ok || !rest_ok || s.len() > 100 {
            return Err(ApiError::BadRequest(
                "Username must begin with a letter and contain only letters, digits, '-', '@', '_' and '.' (at most 100 characters).",
            ));
        }
        Ok(Self(s.to_string()))
    }

    /// The username as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Case-folded key that makes usernames unique regardless of case.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// Validates an email address (loosely: one `@`, text on both sides, at most 255 chars).
///
/// # Errors
/// `400` when malformed.
pub fn parse_email(s: &str) -> Result<String, ApiError> {
    let s = s.trim();
    match s.split_once('@') {
        Some((a, b))
            if !a.is_empty()
                && b.contains('.')
                && !b.contains('@')
                && s.len() <= 255
                && !s.contains(' ') =>
        {
            Ok(s.to_string())
        }
        _ => Err(ApiError::BadRequest("Invalid email address.")),
    }
}

/// A password that meets the policy: at least 8 characters, no leading space, at most 256 bytes.
pub struct Password(zeroize::Zeroizing<String>);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl Password {
    /// Validates a new password.
    ///
    /// # Errors
    /// `400` when it breaks the policy.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        if s.chars().count() < 8 || s.starts_with(' ') || s.len() > 256 {
            return Err(ApiError::BadRequest(
                "Password must be at least 8 characters long and must not begin with a space.",
            ));
        }
        Ok(Self(zeroize::Zeroizing::new(s.to_string())))
    }

    /// The password text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_by_id() {
        for r in Role::ALL {
            assert_eq!(Role::from_id(r.id()), Some(r));
        }
        assert_eq!(Role::from_id("99"), None);
    }

    #[test]
    fn usernames_must_start_with_a_letter() {
        assert!(Username::parse("jqsmith").is_ok());
        assert!(Username::parse("j.q-s_m@x1").is_ok());
        assert!(Username::parse("1abc").is_err());
        assert!(Username::parse("").is_err());
        assert!(Username::parse("ab cd").is_err());
        assert_eq!(Username::parse("JqSmith").unwrap().key(), "jqsmith");
    }

    #[test]
    fn passwords_need_eight_chars_and_no_leading_space() {
        assert!(Password::parse("Secret12").is_ok());
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(" Secret12").is_err());
        assert_eq!(
            format!("{:?}", Password::parse("Secret12").unwrap()),
            "Password(<redacted>)"
        );
    }

    #[test]
    fn levels_parse_by_kind() {
        assert_eq!(
            EnforcementLevel::parse_user("DEFAULT"),
            Some(EnforcementLevel::Default)
        );
        assert_eq!(EnforcementLevel::parse_user("RACKSPACE_MANDATED"), None);
        assert_eq!(EnforcementLevel::parse_domain("DEFAULT"), None);
        assert!(EnforcementLevel::RackspaceMandated.domain_requires());
    }
}
