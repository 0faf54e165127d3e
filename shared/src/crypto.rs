//! Randomness, hashing and comparisons. Every secret comes from the OS CSPRNG.
//!
//! - Passwords: Argon2id with the crate's default (OWASP) parameters.
//! - Low-entropy codes (PINs, SMS passcodes, bypass codes): a keyed hash (HMAC-SHA256 under a
//!   key derived from the KMS data key, `seal::Keyring::code_mac`), so a table dump alone
//!   cannot brute-force them (contract §8.3).
//! - High-entropy values (tokens, session ids): SHA-256, looked up by hash.

use argon2::password_hash::{Output, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::rngs::OsRng;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256};
use std::sync::{Mutex, PoisonError};
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

/// Argon2 working memory, allocated once per process and reused by every password hash. A
/// fresh 19 MiB buffer per hash made glibc's heap grow without bound under load (an
/// `authenticate` instance reached 12 GiB after ~5,800 password steps); one buffer keeps the
/// resident size flat. Handlers run one request at a time per instance, so the lock is never
/// contended; a poisoned lock only means an earlier hash panicked mid-way, and the buffer is
/// overwritten by every use anyway.
static ARGON_MEMORY: Mutex<Vec<Block>> = Mutex::new(Vec::new());

fn argon2_into(argon: &Argon2<'_>, pwd: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    let blocks = argon.params().block_count();
    let mut mem = ARGON_MEMORY.lock().unwrap_or_else(PoisonError::into_inner);
    if mem.len() < blocks {
        mem.resize(blocks, Block::default());
    }
    let Some(mem) = mem.get_mut(..blocks) else {
        return false;
    };
    argon
        .hash_password_into_with_memory(pwd, salt, out, mem)
        .is_ok()
}

/// Argon2id PHC string of a password (OWASP parameters: 19 MiB, t=2, p=1).
///
/// # Errors
/// Only if the hasher fails (it does not for valid parameters).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let params = Params::default();
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_buf = [0u8; 64];
    let salt_bytes = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let mut out = [0u8; 32];
    if !argon2_into(&argon, password.as_bytes(), salt_bytes, &mut out) {
        anyhow::bail!("argon2 hash failed");
    }
    let output = Output::new(&out).map_err(|e| anyhow::anyhow!("argon2 output: {e}"))?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${output}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str()
    ))
}

/// Checks a secret against an Argon2 PHC string, constant time in the comparison.
fn verify_phc(secret: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(params), Ok(algorithm)) =
        (Params::try_from(&hash), Algorithm::try_from(hash.algorithm))
    else {
        return false;
    };
    let version = hash
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or(Version::V0x13);
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let argon = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    argon2_into(&argon, secret.as_bytes(), salt, &mut out)
        && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
}

/// Checks a password against its PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    verify_phc(password, phc)
}

/// Longest password ever checked against a hash (the policy caps passwords at 256 bytes, so
/// longer ones cannot match).
pub const MAX_PASSWORD: usize = 1024;

/// Checks a password a person typed against a stored hash. An over-long one cannot match and
/// costs the same work as any other (a dummy check), so answer time tells nothing (§8.3).
pub fn check_password(password: &str, phc: &str) -> bool {
    if password.len() > MAX_PASSWORD {
        dummy_password_check(password);
        false
    } else {
        verify_password(password, phc)
    }
}

/// Burns the time of one password check, so unknown usernames answer as slowly as known ones.
pub fn dummy_password_check(password: &str) {
    static DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$2X2wYbOcqqNxGxGmq0O0pO8ZdG6yJ2hS3vO6gKrD3b4";
    let _ = verify_phc(password, DUMMY);
}

/// Checks a short code against a salted Argon2 hash written before codes were stored as keyed
/// hashes ([`crate::seal::Keyring::code_mac`]); kept so such bypass codes still work until they
/// expire.
pub fn verify_legacy_code(code: &str, phc: &str) -> bool {
    verify_phc(code, phc)
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
        assert!(check_password("Secret123", &h));
        assert!(!check_password("Secret124", &h));
        let long = format!("Secret123{}", "x".repeat(MAX_PASSWORD));
        assert!(!check_password(&long, &h));
    }

    #[test]
    fn hashes_are_standard_phc_strings_that_the_argon2_crate_accepts() {
        use argon2::password_hash::PasswordVerifier;
        let h = hash_password("Secret123").unwrap();
        let parsed = PasswordHash::new(&h).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"Secret123", &parsed)
                .is_ok()
        );
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[test]
    fn the_dummy_hash_is_a_real_one_so_unknown_users_cost_a_full_check() {
        use std::time::Instant;
        let real = hash_password("x").unwrap();
        let t = Instant::now();
        dummy_password_check("y");
        let dummy = t.elapsed();
        let t = Instant::now();
        let _ = verify_password("y", &real);
        let check = t.elapsed();
        // A malformed dummy would return at once (microseconds); a real check takes the same
        // memory-hard work as a password check.
        assert!(dummy * 4 > check, "dummy {dummy:?} vs real {check:?}");
    }

    #[test]
    fn legacy_code_hashes_still_verify() {
        use argon2::password_hash::PasswordHasher;
        let params = Params::new(4096, 2, 1, None).unwrap();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut OsRng);
        let phc = argon
            .hash_password(b"123456789", &salt)
            .unwrap()
            .to_string();
        assert!(verify_legacy_code("123456789", &phc));
        assert!(!verify_legacy_code("123456780", &phc));
        assert!(!verify_legacy_code("123456789", "garbage"));
    }

    #[test]
    fn constant_time_eq_compares_content() {
        assert!(ct_eq("abc", "abc"));
        assert!(!ct_eq("abc", "abd"));
        assert!(!ct_eq("abc", "abcd"));
    }
}
