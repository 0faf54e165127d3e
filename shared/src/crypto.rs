//! Randomness, hashing and comparisons. Every secret comes from the OS CSPRNG.
//!
//! - Passwords: Argon2id with the crate's default (OWASP) parameters.
//! - Low-entropy codes (PINs, SMS passcodes, bypass codes): Argon2id with a per-code salt and
//!   lighter parameters, so a table dump does not reveal them cheaply (NIST 800-63B §5.1.2.2)
//!   while a login that checks ten codes stays fast.
//! - High-entropy values (tokens, session ids): SHA-256, looked up by hash.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// 128 random bits as 32 lowercase hex chars (ids of users, phones, devices, domains).
pub fn new_id() -> String {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// 256 random bits as 64 lowercase hex chars (API tokens, MFA session ids).
pub fn new_secret_token() -> String {
    let mut b = [0u8; 32];
    OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// A string of `n` random decimal digits (uniform).
pub fn random_digits(n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + OsRng.gen_range(0..10u8)))
        .collect()
}

/// A generated password: 20 chars from an unambiguous alphabet, with upper, lower and digit.
pub fn generate_password() -> String {
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
    const DIGIT: &[u8] = b"23456789";
    let all: Vec<u8> = [UPPER, LOWER, DIGIT].concat();
    let pick = |set: &[u8]| char::from(*set.get(OsRng.gen_range(0..set.len())).unwrap_or(&b'x'));
    let mut s: String = (0..17).map(|_| pick(&all)).collect();
    s.push(pick(UPPER));
    s.push(pick(LOWER));
    s.push(pick(DIGIT));
    s
}

/// SHA-256 of a value, hex: the storage key of tokens and session ids.
pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Constant-time equality of two strings.
pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

fn hash_with(argon: &Argon2<'_>, secret: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon
        .hash_password(secret.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hash failed: {e}"))
}

fn verify_with(argon: &Argon2<'_>, secret: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| argon.verify_password(secret.as_bytes(), &h).is_ok())
}

fn code_argon() -> Argon2<'static> {
    // 4 MiB, 2 passes: ~ms per check, still far costlier than SHA for an offline guesser.
    let params = Params::new(4096, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Argon2id PHC string of a password.
///
/// # Errors
/// Only if the hasher fails (it does not for valid parameters).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    hash_with(&Argon2::default(), password)
}

/// Checks a password against its PHC string (constant time inside argon2).
pub fn verify_password(password: &str, phc: &str) -> bool {
    verify_with(&Argon2::default(), password, phc)
}

/// Burns the time of one password check, so unknown usernames answer as slowly as known ones.
pub fn dummy_password_check(password: &str) {
    static DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2X2wYbOcqqNxGxGmq0O0pO8ZdG6yJ2hS3vO6gKrD3b4";
    let _ = verify_password(password, DUMMY);
}

/// Salted slow hash of a short code (PIN, passcode, bypass code).
///
/// # Errors
/// Only if the hasher fails.
pub fn hash_code(code: &str) -> anyhow::Result<String> {
    hash_with(&code_argon(), code)
}

/// Checks a short code against its hash.
pub fn verify_code(code: &str, phc: &str) -> bool {
    verify_with(&code_argon(), code, phc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_tokens_have_the_documented_shape() {
        let id = new_id();
        assert_eq!(id.len(), 32);
        assert!(
            id.chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert_eq!(new_secret_token().len(), 64);
        assert_ne!(new_id(), new_id());
    }

    #[test]
    fn random_digits_are_digits() {
        let d = random_digits(9);
        assert_eq!(d.len(), 9);
        assert!(d.chars().all(|c| c.is_ascii_digit()));
    }

    #[test]
    fn generated_passwords_pass_the_policy() {
        let p = generate_password();
        assert!(crate::domain::Password::parse(&p).is_ok());
        assert!(p.chars().any(|c| c.is_ascii_digit()));
    }

    #[test]
    fn password_hash_round_trip() {
        let h = hash_password("Secret123").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("Secret123"));
        assert!(verify_password("Secret123", &h));
        assert!(!verify_password("Secret124", &h));
    }

    #[test]
    fn code_hashes_are_salted() {
        let a = hash_code("123456").unwrap();
        let b = hash_code("123456").unwrap();
        assert_ne!(a, b);
        assert!(verify_code("123456", &a) && verify_code("123456", &b));
        assert!(!verify_code("123457", &a));
        assert!(!verify_code("123456", "garbage"));
    }

    #[test]
    fn constant_time_eq_compares_content() {
        assert!(ct_eq("abc", "abc"));
        assert!(!ct_eq("abc", "abd"));
        assert!(!ct_eq("abc", "abcd"));
    }
}
