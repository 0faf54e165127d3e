//! Item <-> record mapping. Attribute names are short and documented in `docs/data-model.md`.

use super::records::{
    BypassRec, DeviceRec, DomainRec, PhoneRec, PinRec, SessionRec, TokenRec, UserRec,
};
use crate::domain::{EnforcementLevel, FactorType, Role};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
pub(crate) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
pub(crate) fn b(v: bool) -> AttributeValue {
    AttributeValue::Bool(v)
}

pub(crate) fn get_s(i: &Item, k: &str) -> Option<String> {
    i.get(k).and_then(|v| v.as_s().ok()).cloned()
}
pub(crate) fn get_n(i: &Item, k: &str) -> u64 {
    i.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}
pub(crate) fn get_b(i: &Item, k: &str) -> bool {
    i.get(k)
        .and_then(|v| v.as_bool().ok())
        .copied()
        .unwrap_or(false)
}

pub(crate) fn user_pk(id: &str) -> String {
    format!("USER#{id}")
}
pub(crate) const USER_SK: &str = "USER";
pub(crate) const DEVICE_PREFIX: &str = "OTP#";
pub(crate) fn device_sk(id: &str) -> String {
    format!("{DEVICE_PREFIX}{id}")
}
pub(crate) const BYPASS_PREFIX: &str = "BYPASS#";
pub(crate) fn bypass_sk(set_id: &str, n: usize) -> String {
    format!("{BYPASS_PREFIX}{set_id}#{n}")
}
pub(crate) fn name_pk(key: &str) -> String {
    format!("NAME#{key}")
}
pub(crate) const NAME_SK: &str = "NAME";
pub(crate) fn domain_pk(id: &str) -> String {
    format!("DOMAIN#{id}")
}
pub(crate) const DOMAIN_SK: &str = "DOMAIN";
pub(crate) fn token_pk(hash: &str) -> String {
    format!("TOKEN#{hash}")
}
pub(crate) const TOKEN_SK: &str = "TOKEN";
pub(crate) const SESSION_PREFIX: &str = "SESSION#";
pub(crate) fn session_sk(hash: &str) -> String {
    format!("{SESSION_PREFIX}{hash}")
}
pub(crate) const KEYRING_PK: &str = "KEYRING";
pub(crate) fn key_sk(version: u32) -> String {
    format!("KEY#{version:06}")
}
pub(crate) fn login_pk(username_key: &str) -> String {
    format!("LOGIN#{username_key}")
}
pub(crate) const LOGIN_SK: &str = "LOGIN";
/// The deployment's SMS count for the clock hour starting at `hour_s` (§9.3).
pub(crate) fn sms_cap_pk(hour_s: u64) -> String {
    format!("SMSCAP#{hour_s}")
}
pub(crate) const SMS_CAP_SK: &str = "SMSCAP";
pub(crate) fn number_pk(key: &str) -> String {
    format!("SMSNUM#{key}")
}
pub(crate) const NUMBER_SK: &str = "SMSNUM";

/// The index of user items by domain (partition key [`DOMAIN_INDEX_ATTR`] = `DOMAIN#<domainId>`).
pub(crate) const DOMAIN_INDEX: &str = "by-domain";
/// Attribute that places a user item in [`DOMAIN_INDEX`] (absent for users without a domain).
pub(crate) const DOMAIN_INDEX_ATTR: &str = "by_domain";
/// The index of user items by email (partition key [`EMAIL_INDEX_ATTR`] = `EMAIL#<lower-case email>`).
pub(crate) const EMAIL_INDEX: &str = "by-email";
/// Attribute that places a user item in [`EMAIL_INDEX`].
pub(crate) const EMAIL_INDEX_ATTR: &str = "by_email";

/// Value of [`DOMAIN_INDEX_ATTR`] for a domain.
pub(crate) fn domain_index_key(domain_id: &str) -> String {
    format!("DOMAIN#{domain_id}")
}
/// Value of [`EMAIL_INDEX_ATTR`] for an email (case-insensitive).
pub(crate) fn email_index_key(email: &str) -> String {
    format!("EMAIL#{}", email.to_lowercase())
}

/// The user attributes both indexes project (besides the keys): exactly what the get-user
/// view, the lock state and the rules A/L read. No hash, sealed value or counter of secrets.
/// `template.yaml` and `scripts/local_aws.py` declare the same list.
pub const USER_INDEX_PROJECTION: &[&str] = &[
    "id",
    "username",
    "email",
    "enabled",
    "domain_id",
    "region",
    "roles",
    "mfa_enabled",
    "factor",
    "level",
    "fails",
    "last_fail",
];

pub(crate) fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
}

pub(crate) fn user_to_item(u: &UserRec) -> Item {
    let mut i = key(user_pk(&u.id), USER_SK);
    i.insert("id".into(), s(&u.id));
    i.insert("username".into(), s(&u.username));
    i.insert("email".into(), s(&u.email));
    i.insert("enabled".into(), b(u.enabled));
    if let Some(d) = &u.domain_id {
        i.insert("domain_id".into(), s(d));
        i.insert(DOMAIN_INDEX_ATTR.into(), s(domain_index_key(d)));
    }
    if !u.email.is_empty() {
        i.insert(EMAIL_INDEX_ATTR.into(), s(email_index_key(&u.email)));
    }
    i.insert("region".into(), s(&u.region));
    i.insert("pwd".into(), s(&u.password_hash));
    i.insert(
        "roles".into(),
        AttributeValue::L(u.roles.iter().map(|r| s(r.id())).collect()),
    );
    i.insert("mfa_enabled".into(), b(u.mfa_enabled));
    if let Some(f) = u.factor {
        i.insert("factor".into(), s(f.as_str()));
    }
    i.insert("level".into(), s(u.level.as_str()));
    i.insert("level_since".into(), n(u.level_since));
    i.insert("revoked_all".into(), n(u.revoked_all));
    i.insert("revoked_non_mfa".into(), n(u.revoked_non_mfa));
    i.insert("fails".into(), n(u.fails));
    i.insert("mfa_epoch".into(), n(u.mfa_epoch));
    i.insert("otp_count".into(), n(u.otp_count));
    i.insert("otp_verified".into(), n(u.otp_verified));
    if let Some(k) = &u.api_key {
        i.insert("apikey".into(), s(k));
    }
    i
}

pub(crate) fn user_from_item(i: &Item) -> Option<UserRec> {
    let roles = match i.get("roles") {
        Some(AttributeValue::L(l)) => l
            .iter()
            .filter_map(|v| v.as_s().ok())
            .filter_map(|id| Role::from_id(id))
            .collect(),
        _ => Vec::new(),
    };
    let phone = get_s(i, "phone_id").map(|id| PhoneRec {
        id,
        sealed: get_s(i, "phone_sealed").unwrap_or_default(),
        hint: get_s(i, "phone_hint").unwrap_or_default(),
        verified: get_b(i, "phone_verified"),
    });
    let pin = get_s(i, "pin_id").map(|id| PinRec {
        id,
        hash: get_s(i, "pin_hash").unwrap_or_default(),
        expires: get_n(i, "pin_expires"),
        tries: get_n(i, "pin_tries"),
    });
    Some(UserRec {
        id: get_s(i, "id")?,
        username: get_s(i, "username")?,
        email: get_s(i, "email").unwrap_or_default(),
        enabled: get_b(i, "enabled"),
        domain_id: get_s(i, "domain_id"),
        region: get_s(i, "region").unwrap_or_default(),
        password_hash: get_s(i, "pwd").unwrap_or_default(),
        roles,
        mfa_enabled: get_b(i, "mfa_enabled"),
        factor: get_s(i, "factor").and_then(|f| FactorType::parse(&f)),
        level: get_s(i, "level")
            .and_then(|l| EnforcementLevel::parse_user(&l))
            .unwrap_or_default(),
        level_since: get_n(i, "level_since"),
        revoked_all: get_n(i, "revoked_all"),
        revoked_non_mfa: get_n(i, "revoked_non_mfa"),
        fails: get_n(i, "fails"),
        last_fail: get_n(i, "last_fail"),
        mfa_epoch: get_n(i, "mfa_epoch"),
        phone,
        pin,
        otp_count: get_n(i, "otp_count"),
        otp_verified: get_n(i, "otp_verified"),
        bypass_set: get_s(i, "bypass_set"),
        bypass_count: get_n(i, "bypass_count"),
        api_key: get_s(i, "apikey"),
        api_key_deleted: get_b(i, "apikey_deleted"),
        sms_count: get_n(i, "sms_count"),
        sms_window: get_n(i, "sms_window"),
        sms_last: get_n(i, "sms_last"),
    })
}

pub(crate) fn domain_to_item(d: &DomainRec) -> Item {
    let mut i = key(domain_pk(&d.id), DOMAIN_SK);
    i.insert("id".into(), s(&d.id));
    i.insert("name".into(), s(&d.name));
    i.insert("enabled".into(), b(d.enabled));
    i.insert("description".into(), s(&d.description));
    i.insert("level".into(), s(d.level.as_str()));
    i.insert("users".into(), n(d.users));
    i.insert("revoked_non_mfa".into(), n(d.revoked_non_mfa));
    i
}

pub(crate) fn domain_from_item(i: &Item) -> Option<DomainRec> {
    Some(DomainRec {
        id: get_s(i, "id")?,
        name: get_s(i, "name").unwrap_or_default(),
        enabled: get_b(i, "enabled"),
        description: get_s(i, "description").unwrap_or_default(),
        level: get_s(i, "level")
            .map(|l| EnforcementLevel::from_stored(&l))
            .unwrap_or(EnforcementLevel::Optional),
        users: get_n(i, "users"),
        revoked_non_mfa: get_n(i, "revoked_non_mfa"),
    })
}

pub(crate) fn token_to_item(t: &TokenRec) -> Item {
    let mut i = key(token_pk(&t.hash), TOKEN_SK);
    i.insert("user_id".into(), s(&t.user_id));
    if let Some(d) = &t.domain_id {
        i.insert("domain_id".into(), s(d));
    }
    i.insert("issued".into(), n(t.issued));
    i.insert("expires".into(), n(t.expires));
    i.insert("ttl".into(), n(t.expires / 1000 + 1));
    i.insert(
        "methods".into(),
        AttributeValue::L(t.methods.iter().map(s).collect()),
    );
    if let Some(sc) = &t.scope {
        i.insert("scope".into(), s(sc));
    }
    i
}

pub(crate) fn token_from_item(hash: &str, i: &Item) -> Option<TokenRec> {
    let methods = match i.get("methods") {
        Some(AttributeValue::L(l)) => l.iter().filter_map(|v| v.as_s().ok().cloned()).collect(),
        _ => Vec::new(),
    };
    Some(TokenRec {
        hash: hash.to_string(),
        user_id: get_s(i, "user_id")?,
        domain_id: get_s(i, "domain_id"),
        issued: get_n(i, "issued"),
        expires: get_n(i, "expires"),
        methods,
        scope: get_s(i, "scope"),
    })
}

pub(crate) fn device_to_item(d: &DeviceRec) -> Item {
    let mut i = key(user_pk(&d.user_id), &device_sk(&d.id));
    i.insert("id".into(), s(&d.id));
    i.insert("user_id".into(), s(&d.user_id));
    i.insert("name".into(), s(&d.name));
    i.insert("verified".into(), b(d.verified));
    i.insert("seed".into(), s(&d.sealed_seed));
    i.insert("last_step".into(), n(d.last_step));
    i.insert("fails".into(), n(d.fails));
    i
}

pub(crate) fn device_from_item(i: &Item) -> Option<DeviceRec> {
    Some(DeviceRec {
        id: get_s(i, "id")?,
        user_id: get_s(i, "user_id")?,
        name: get_s(i, "name").unwrap_or_default(),
        verified: get_b(i, "verified"),
        sealed_seed: get_s(i, "seed").unwrap_or_default(),
        last_step: get_n(i, "last_step"),
        fails: get_n(i, "fails"),
        last_fail: get_n(i, "last_fail"),
    })
}

pub(crate) fn bypass_to_item(user_id: &str, c: &BypassRec) -> Item {
    let mut i = key(user_pk(user_id), &c.sk);
    i.insert("set_id".into(), s(&c.set_id));
    i.insert("hash".into(), s(&c.hash));
    i.insert("expires".into(), n(c.expires));
    i.insert("ttl".into(), n(c.expires + 1));
    i
}

pub(crate) fn bypass_from_item(i: &Item) -> Option<BypassRec> {
    Some(BypassRec {
        sk: get_s(i, "sk")?,
        set_id: get_s(i, "set_id")?,
        hash: get_s(i, "hash")?,
        expires: get_n(i, "expires"),
    })
}

/// The sort key a stored session lives under: its slot (§9.3), or the hash of its id for a
/// session stored by a release before slots.
pub(crate) fn session_item_sk(se: &SessionRec) -> String {
    match se.slot {
        Some(slot) => format!("{SESSION_PREFIX}{slot}"),
        None => session_sk(&se.hash),
    }
}

pub(crate) fn session_to_item(se: &SessionRec) -> Item {
    let mut i = key(user_pk(&se.user_id), &session_item_sk(se));
    i.insert("hash".into(), s(&se.hash));
    i.insert("user_id".into(), s(&se.user_id));
    i.insert("expires".into(), n(se.expires));
    i.insert("ttl".into(), n(se.expires + 1));
    if let Some(h) = &se.passcode_hash {
        i.insert("passcode_hash".into(), s(h));
    }
    i.insert("mfa_epoch".into(), n(se.mfa_epoch));
    i
}

pub(crate) fn session_from_item(i: &Item) -> Option<SessionRec> {
    let tail = get_s(i, "sk")?.strip_prefix(SESSION_PREFIX)?.to_string();
    let (hash, slot) = match get_s(i, "hash") {
        Some(h) => (h, Some(tail.parse().ok()?)),
        None => (tail, None),
    };
    Some(SessionRec {
        hash,
        user_id: get_s(i, "user_id")?,
        expires: get_n(i, "expires"),
        passcode_hash: get_s(i, "passcode_hash"),
        mfa_epoch: get_n(i, "mfa_epoch"),
        slot,
    })
}

/// Attributes of the user item that hold the phone.
pub(crate) const PHONE_ATTRS: &[&str] =
    &["phone_id", "phone_sealed", "phone_hint", "phone_verified"];
/// Attributes of the user item that hold a pending verification PIN.
pub(crate) const PIN_ATTRS: &[&str] = &["pin_id", "pin_hash", "pin_expires", "pin_tries"];
