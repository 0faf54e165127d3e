//! Application-level sealing of secrets at rest (TOTP seeds, phone numbers) with AES-256-GCM.
//!
//! The data keys come from configuration wrapped by KMS (`SEED_KEYS`) or from the table, and
//! are unwrapped at most once per process, only by functions that touch sealed values: the
//! load starts at cold start, in the background, and the first request that needs it waits
//! for it. Every
//! ciphertext names its key version (`v1:<base64 nonce||ct>`) so keys can be rotated: the
//! newest key seals, any configured key opens. The item's identity is bound in as associated
//! data, so a sealed value cannot be moved to another item.

use crate::store::Store;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use anyhow::{Context, anyhow};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use std::sync::Arc;
use std::time::{Duration, Instant};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Unwrapped data keys, newest last.
pub struct Keyring {
    keys: Vec<(u32, Zeroizing<[u8; 32]>)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field(
                "versions",
                &self.keys.iter().map(|k| k.0).collect::<Vec<_>>(),
            )
            .finish()
    }
}

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `context || 0 || code` under a key derived from `data_key` for this one use
/// (so the data key itself never keys an HMAC).
fn code_mac(data_key: &[u8; 32], code: &str, context: &str) -> anyhow::Result<Vec<u8>> {
    let mut kdf = <HmacSha256 as Mac>::new_from_slice(data_key).map_err(|_| anyhow!("hmac key"))?;
    kdf.update(b"rax-identity/code-mac/v1");
    let derived = kdf.finalize().into_bytes();
    let mut mac = <HmacSha256 as Mac>::new_from_slice(&derived).map_err(|_| anyhow!("hmac key"))?;
    mac.update(context.as_bytes());
    mac.update(&[0]);
    mac.update(code.as_bytes());
    Ok(mac.finalize().into_bytes().to_vec())
}

/// The key version a stored value names: `v<version>:` (sealed) or `h<version>:` (keyed hash);
/// `None` for anything else (e.g. an Argon2 hash of an earlier release).
pub fn version_of(stored: &str) -> Option<u32> {
    let rest = stored
        .strip_prefix('v')
        .or_else(|| stored.strip_prefix('h'))?;
    rest.split_once(':')?.0.parse().ok()
}

impl Keyring {
    /// Whether this keyring holds key `version`.
    pub fn has_version(&self, version: u32) -> bool {
        self.keys.iter().any(|(v, _)| *v == version)
    }

    /// Builds a keyring from raw keys (tests).
    pub fn from_raw(keys: Vec<(u32, [u8; 32])>) -> Self {
        Self {
            keys: keys
                .into_iter()
                .map(|(v, k)| (v, Zeroizing::new(k)))
                .collect(),
        }
    }

    /// Keyed hash of a short code (PIN, SMS passcode, bypass code), bound to `context` (the
    /// item it belongs to): `h<version>:<hex HMAC-SHA256>` under a key derived from the newest
    /// data key. Without the data key, which only KMS unwraps, a stored value cannot be checked,
    /// so a table dump alone does not let anyone brute-force a 6- to 9-digit code (§8.3).
    ///
    /// # Errors
    /// When no key is configured.
    pub fn code_mac(&self, code: &str, context: &str) -> anyhow::Result<String> {
        let (version, key) = self
            .keys
            .last()
            .ok_or_else(|| anyhow!("no data key configured (SEED_KEYS)"))?;
        Ok(format!(
            "h{version}:{}",
            hex::encode(code_mac(key, code, context)?)
        ))
    }

    /// Checks `code` against a [`Self::code_mac`] value (constant-time comparison); `false`
    /// for another context, another code or a key version this keyring does not hold.
    pub fn verify_code_mac(&self, code: &str, context: &str, stored: &str) -> bool {
        let Some((version, mac)) = stored
            .strip_prefix('h')
            .and_then(|r| r.split_once(':'))
            .and_then(|(v, m)| Some((v.parse::<u32>().ok()?, hex::decode(m).ok()?)))
        else {
            return false;
        };
        let Some((_, key)) = self.keys.iter().find(|(v, _)| *v == version) else {
            return false;
        };
        code_mac(key, code, context).is_ok_and(|m| bool::from(m.as_slice().ct_eq(&mac)))
    }

    /// Seals `plain`, bound to `aad`, with the newest key.
    ///
    /// # Errors
    /// When no key is configured.
    pub fn seal(&self, plain: &[u8], aad: &str) -> anyhow::Result<String> {
        let (version, key) = self
            .keys
            .last()
            .ok_or_else(|| anyhow!("no data key configured (SEED_KEYS)"))?;
        let cipher =
            Aes256Gcm::new_from_slice(key.as_slice()).map_err(|_| anyhow!("bad key length"))?;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| anyhow!("seal failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        Ok(format!("v{version}:{}", B64.encode(out)))
    }

    /// Opens a value sealed by [`Keyring::seal`] with the same `aad`.
    ///
    /// # Errors
    /// Unknown key version, tampering, or a different `aad`.
    pub fn open(&self, sealed: &str, aad: &str) -> anyhow::Result<Zeroizing<Vec<u8>>> {
        let (v, body) = sealed
            .strip_prefix('v')
            .and_then(|s| s.split_once(':'))
            .ok_or_else(|| anyhow!("malformed sealed value"))?;
        let version: u32 = v.parse().context("malformed key version")?;
        let key = self
            .keys
            .iter()
            .find(|(kv, _)| *kv == version)
            .map(|(_, k)| k)
            .ok_or_else(|| anyhow!("data key version {version} not configured"))?;
        let raw = B64.decode(body).context("malformed sealed value")?;
        if raw.len() < 12 {
            return Err(anyhow!("sealed value too short"));
        }
        let (nonce, ct) = raw.split_at(12);
        let cipher =
            Aes256Gcm::new_from_slice(key.as_slice()).map_err(|_| anyhow!("bad key length"))?;
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| anyhow!("sealed value failed authentication"))
    }
}

/// The KMS encryption context every data key is wrapped under: KMS refuses to unwrap it without
/// the same context, and the template's key policy grants `kms:Decrypt` only with it.
pub const DATA_KEY_CONTEXT: (&str, &str) = ("purpose", "rax-identity-data-key");

/// The functions that may create the first data key (on first need): those that seal or hash
/// new values. Only they are granted `PutItem` on `KEYRING` and
/// `kms:GenerateDataKeyWithoutPlaintext` (§9.3; `shared/tests/route_consistency.rs` checks the
/// template against this list); the others only read the keys.
pub const KEY_CREATORS: &[&str] = &[
    "add-otp-device",
    "add-phone",
    "authenticate",
    "create-user",
    "generate-bypass-codes",
    "reset-api-key",
    "send-phone-code",
];

/// Lazily unwraps the data keys through KMS, once per process. The keys come from
/// configuration (`SEED_KEYS`) or, when none is configured, from the table, where the first
/// function that needs one creates it (`GenerateDataKeyWithoutPlaintext` under `KMS_KEY_ID`,
/// stored by a conditional put: one winner under any race).
pub struct Sealer {
    kms: aws_sdk_kms::Client,
    wrapped: Vec<(u32, String)>,
    stored: Option<(Store, String)>,
    /// May create the first data key when the table holds none ([`KEY_CREATORS`]).
    may_create: bool,
    /// The keyring in use (replaced, never mutated, when a reload finds newer keys).
    ring: std::sync::RwLock<Option<Arc<Keyring>>>,
    /// Held by the one load in flight: every other caller waits for it (single flight).
    loading: tokio::sync::Mutex<Option<Instant>>,
    /// A load started at cold start ([`Sealer::prefetch`]) that no request has taken over yet.
    pending: std::sync::Mutex<Option<tokio::task::JoinHandle<anyhow::Result<Keyring>>>>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field(
                "versions",
                &self.wrapped.iter().map(|k| k.0).collect::<Vec<_>>(),
            )
            .field("from_table", &self.stored.is_some())
            .finish()
    }
}

impl Sealer {
    /// A sealer over configured wrapped keys, or (when there are none) over the keys stored in
    /// the table, wrapped by the KMS key `stored.1`; with `may_create`, it creates the first
    /// one when the table holds none.
    pub fn new(
        kms: aws_sdk_kms::Client,
        wrapped: Vec<(u32, String)>,
        stored: Option<(Store, String)>,
        may_create: bool,
    ) -> Self {
        Self {
            kms,
            wrapped,
            stored,
            may_create,
            ring: std::sync::RwLock::new(None),
            loading: tokio::sync::Mutex::new(None),
            pending: std::sync::Mutex::new(None),
        }
    }

    /// Starts loading the keyring in the background, at cold start, so that its two round
    /// trips (the wrapped key from the table, KMS `Decrypt`) overlap the first request's own
    /// reads instead of following them. Needs a Tokio runtime. The first [`Sealer::keyring`]
    /// call takes the load over: it keeps its keyring if it got one, waiting for it if it is
    /// still running; a failed load (KMS down, or a call cut short while Lambda froze the
    /// environment between requests) is logged and dropped, and that call loads afresh.
    pub fn prefetch(&'static self) {
        if self.current().is_some() {
            return;
        }
        let task = tokio::spawn(async move {
            let loaded = self.load().await;
            if let Err(e) = &loaded {
                // The error chain names the failing call, never key material.
                tracing::warn!(error = %format!("{e:#}"), "data key load at cold start failed");
            }
            loaded
        });
        if let Ok(mut pending) = self.pending.lock()
            && let Some(earlier) = pending.replace(task)
        {
            earlier.abort();
        }
    }

    /// The keyring in use, if loaded.
    fn current(&self) -> Option<Arc<Keyring>> {
        self.ring.read().ok().and_then(|r| r.clone())
    }

    fn install(&self, ring: Keyring) -> Arc<Keyring> {
        let ring = Arc::new(ring);
        if let Ok(mut slot) = self.ring.write() {
            *slot = Some(ring.clone());
        }
        ring
    }

    /// The keyring, unwrapping the keys on first use (a failure is not cached: the next
    /// request tries again).
    ///
    /// # Errors
    /// KMS or DynamoDB failures (the caller answers 503) or a malformed configuration.
    pub async fn keyring(&self) -> anyhow::Result<Arc<Keyring>> {
        if let Some(ring) = self.current() {
            return Ok(ring);
        }
        // Every caller queues here, so a load taken over and a fresh one never race.
        let _one = self.loading.lock().await;
        if let Some(ring) = self.current() {
            return Ok(ring);
        }
        let pending = self.pending.lock().ok().and_then(|mut p| p.take());
        if let Some(task) = pending
            && let Ok(Ok(ring)) = task.await
        {
            return Ok(self.install(ring));
        }
        Ok(self.install(self.load().await?))
    }

    /// The keyring, holding key `version` if the key store has it (§9.3: after
    /// `identity-manage rotate-key`, values sealed by newer instances name a version this one
    /// did not load). The first caller that meets the version reloads the keys, once; the
    /// others wait for that load (single flight) and use its keyring. A version still unknown
    /// after a reload (a value no key of ours sealed) does not reload again for a while.
    ///
    /// # Errors
    /// As [`Sealer::keyring`].
    pub async fn keyring_with(&self, version: u32) -> anyhow::Result<Arc<Keyring>> {
        const QUIET: Duration = Duration::from_secs(5);
        let ring = self.keyring().await?;
        if ring.has_version(version) {
            return Ok(ring);
        }
        let mut last = self.loading.lock().await;
        if let Some(ring) = self.current()
            && (ring.has_version(version) || last.is_some_and(|t| t.elapsed() < QUIET))
        {
            return Ok(ring);
        }
        *last = Some(Instant::now());
        tracing::info!(version, "unknown data key version: reloading the key ring");
        Ok(self.install(self.load().await?))
    }

    /// Unwraps every data key (from configuration, or the table's, creating the first).
    async fn load(&self) -> anyhow::Result<Keyring> {
        let wrapped = if self.wrapped.is_empty() {
            self.stored_keys().await?
        } else {
            self.wrapped.clone()
        };
        let mut keys = Vec::with_capacity(wrapped.len());
        for (version, blob) in &wrapped {
            keys.push((
                *version,
                Zeroizing::new(self.unwrap_key(*version, blob).await?),
            ));
        }
        if keys.is_empty() {
            return Err(anyhow!("no data key: set SEED_KEYS or KMS_KEY_ID"));
        }
        Ok(Keyring { keys })
    }

    /// The table's keys, creating version 1 if there is none yet.
    async fn stored_keys(&self) -> anyhow::Result<Vec<(u32, String)>> {
        let Some((store, kms_key)) = &self.stored else {
            return Ok(Vec::new());
        };
        let keys = store.data_keys().await.context("reading data keys")?;
        if !keys.is_empty() {
            return Ok(keys);
        }
        if !self.may_create {
            // Nothing can have been sealed yet; a function that seals creates the key (§9.3).
            return Err(anyhow!(
                "no data key yet (created by the first function that seals)"
            ));
        }
        let out = self
            .kms
            .generate_data_key_without_plaintext()
            .key_id(kms_key)
            .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
            .encryption_context(DATA_KEY_CONTEXT.0, DATA_KEY_CONTEXT.1)
            .send()
            .await
            .context("kms generate-data-key failed")?;
        let blob = out
            .ciphertext_blob()
            .ok_or_else(|| anyhow!("kms returned no ciphertext"))?;
        let wrapped = B64.encode(blob.as_ref());
        if store
            .add_data_key(1, &wrapped)
            .await
            .context("storing data key")?
        {
            tracing::info!(version = 1, "data key created");
        }
        // Ours or the one a concurrent first request stored: read back the winner.
        store.data_keys().await.context("reading data keys")
    }

    async fn unwrap_key(&self, version: u32, blob: &str) -> anyhow::Result<[u8; 32]> {
        let ct = B64.decode(blob.trim()).context("data key is not base64")?;
        let out = self
            .kms
            .decrypt()
            .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(ct))
            .encryption_context(DATA_KEY_CONTEXT.0, DATA_KEY_CONTEXT.1)
            .send()
            .await
            .context("kms decrypt of data key failed")?;
        let plain = out
            .plaintext()
            .ok_or_else(|| anyhow!("kms returned no plaintext"))?;
        plain
            .as_ref()
            .try_into()
            .map_err(|_| anyhow!("data key {version} is not 256 bits"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_aad() {
        let ring = Keyring::from_raw(vec![(1, [7u8; 32])]);
        let s = ring.seal(b"seed bytes", "u1/d1").unwrap();
        assert!(s.starts_with("v1:"));
        assert!(!s.contains("seed"));
        assert_eq!(ring.open(&s, "u1/d1").unwrap().as_slice(), b"seed bytes");
        assert!(ring.open(&s, "u1/d2").is_err());
    }

    #[test]
    fn rotation_seals_with_newest_and_opens_old() {
        let old = Keyring::from_raw(vec![(1, [1u8; 32])]);
        let sealed_old = old.seal(b"x", "a").unwrap();
        let ring = Keyring::from_raw(vec![(1, [1u8; 32]), (2, [2u8; 32])]);
        assert!(ring.seal(b"x", "a").unwrap().starts_with("v2:"));
        assert_eq!(ring.open(&sealed_old, "a").unwrap().as_slice(), b"x");
        assert!(
            Keyring::from_raw(vec![(2, [2u8; 32])])
                .open(&sealed_old, "a")
                .is_err()
        );
    }

    #[test]
    fn a_stored_code_cannot_be_checked_without_the_data_key() {
        let ring = Keyring::from_raw(vec![(1, [7u8; 32])]);
        let stored = ring.code_mac("123456", "pin/u1/p1").unwrap();
        assert!(stored.starts_with("h1:") && !stored.contains("123456"));
        assert!(ring.verify_code_mac("123456", "pin/u1/p1", &stored));
        assert!(!ring.verify_code_mac("123457", "pin/u1/p1", &stored));
        assert!(!ring.verify_code_mac("123456", "pin/u1/p2", &stored));
        // Whoever has the table but not the key cannot test guesses: another key, and a plain
        // SHA-256 or HMAC keyed by nothing secret, find no match among all 10^6 PINs.
        let other = Keyring::from_raw(vec![(1, [8u8; 32])]);
        let found = (0..1_000_000u32)
            .map(|n| format!("{n:06}"))
            .any(|g| other.verify_code_mac(&g, "pin/u1/p1", &stored));
        assert!(!found);
        // Rotation: a newer keyring that still holds version 1 checks it.
        let rotated = Keyring::from_raw(vec![(1, [7u8; 32]), (2, [9u8; 32])]);
        assert!(rotated.verify_code_mac("123456", "pin/u1/p1", &stored));
        assert!(rotated.code_mac("1", "c").unwrap().starts_with("h2:"));
    }

    #[test]
    fn tampering_is_detected() {
        let ring = Keyring::from_raw(vec![(1, [7u8; 32])]);
        let mut s = ring.seal(b"secret", "a").unwrap();
        s.pop();
        s.push('A');
        assert!(ring.open(&s, "a").is_err() || ring.open(&s, "a").unwrap().as_slice() != b"secret");
        assert!(ring.open("garbage", "a").is_err());
    }
}
