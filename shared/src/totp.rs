//! TOTP (RFC 6238): SHA-1, 6 digits, 30 s steps, ±1 step of skew. Pure: time comes in as an
//! argument. Returns the matched **step** so the store can accept each step once per device
//! (RFC 6238 §5.2).

use crate::crypto::ct_eq;
use base64::Engine as _;
use rand::RngCore;
use totp_rs::{Algorithm, TOTP};
use zeroize::Zeroizing;

/// Step length in seconds.
pub const STEP_SECS: u64 = 30;
/// Code length.
pub const DIGITS: usize = 6;
/// Issuer shown in authenticator apps.
pub const ISSUER: &str = "Rackspace";

/// The issuer as it appears in a key URI: URL-encoded (a configured `TOTP_ISSUER` may hold
/// spaces), `:` not allowed (it separates issuer and account in the label).
fn issuer_part(issuer: &str) -> String {
    urlencoding::encode(&issuer.replace(':', " ")).into_owned()
}

/// A 160-bit TOTP seed. Zeroed on drop; `Debug` is redacted.
pub struct Seed(Zeroizing<Vec<u8>>);

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed(<redacted>)")
    }
}

impl Seed {
    /// A fresh random seed from the OS CSPRNG.
    pub fn generate() -> Self {
        let mut b = vec![0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut b);
        Self(Zeroizing::new(b))
    }

    /// Wraps raw bytes (read back from sealed storage, or test vectors).
    pub fn from_bytes(b: Vec<u8>) -> Self {
        Self(Zeroizing::new(b))
    }

    /// Raw bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// Base32 (RFC 4648, no padding): 32 chars for 160 bits.
    pub fn base32(&self) -> Zeroizing<String> {
        Zeroizing::new(data_encoding::BASE32_NOPAD.encode(&self.0))
    }
}

/// The code for a given time step (SHA-1, 6 digits).
pub fn code_at_step(seed: &Seed, step: u64, digits: usize) -> Option<String> {
    // totp-rs validates the secret length (>= 128 bits), which our seeds always meet.
    let totp = TOTP::new_unchecked(Algorithm::SHA1, digits, 0, STEP_SECS, seed.bytes().to_vec());
    Some(totp.generate(step.saturating_mul(STEP_SECS)))
}

/// Checks `code` at `now_secs` with ±1 step; returns the matched step.
pub fn verify(seed: &Seed, code: &str, now_secs: u64) -> Option<u64> {
    if code.len() != DIGITS || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let current = now_secs / STEP_SECS;
    let mut matched = None;
    // Check every candidate step (no early exit) so timing does not reveal which one matched.
    for step in [current.saturating_sub(1), current, current + 1] {
        if let Some(expected) = code_at_step(seed, step, DIGITS)
            && ct_eq(&expected, code)
            && matched.is_none()
        {
            matched = Some(step);
        }
    }
    matched
}

/// `otpauth://totp/{issuer}:{username}?secret={BASE32}&issuer={issuer}` (contract §2.7; the
/// issuer is `Rackspace` unless `TOTP_ISSUER` says otherwise).
pub fn key_uri(seed: &Seed, username: &str, issuer: &str) -> Zeroizing<String> {
    let issuer = issuer_part(issuer);
    Zeroizing::new(format!(
        "otpauth://totp/{issuer}:{}?secret={}&issuer={issuer}",
        urlencoding::encode(username),
        seed.base32().as_str()
    ))
}

/// `data:image/png;base64,...` of a QR code holding `text`.
///
/// # Errors
/// When the text is too long for a QR code or PNG encoding fails.
pub fn qr_data_url(text: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)?;
    let width = code.width();
    let colors = code.to_colors();
    let scale = 6usize;
    let quiet = 4usize;
    let side = (width + 2 * quiet) * scale;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c == qrcode::Color::Dark {
            let (x, y) = (i % width, i / width);
            for dy in 0..scale {
                let row = (y + quiet) * scale + dy;
                let start = row * side + (x + quiet) * scale;
                if let Some(span) = pixels.get_mut(start..start + scale) {
                    span.fill(0);
                }
            }
        }
    }
    let mut png_bytes = Vec::new();
    {
        let side32 = u32::try_from(side)?;
        let mut enc = png::Encoder::new(&mut png_bytes, side32, side32);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header()?;
        w.write_image_data(&pixels)?;
    }
    Ok(format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(png_bytes)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_seed() -> Seed {
        Seed::from_bytes(b"12345678901234567890".to_vec())
    }

    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        // (time, 8-digit TOTP) from RFC 6238 Appendix B, SHA-1 rows.
        let vectors = [
            (59u64, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (t, expected) in vectors {
            assert_eq!(
                code_at_step(&rfc_seed(), t / STEP_SECS, 8).unwrap(),
                expected,
                "t={t}"
            );
        }
    }

    #[test]
    fn rfc4226_appendix_d_hotp_vectors() {
        // HOTP(counter) = TOTP at step = counter.
        let vectors = [
            "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583",
            "399871", "520489",
        ];
        for (counter, expected) in vectors.iter().enumerate() {
            assert_eq!(
                code_at_step(&rfc_seed(), counter as u64, 6).unwrap(),
                *expected
            );
        }
    }

    #[test]
    fn one_step_of_skew_is_accepted_two_are_not() {
        let seed = Seed::generate();
        let now = 1_700_000_015u64;
        let step = now / STEP_SECS;
        for (offset, ok) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let s = step.checked_add_signed(offset).unwrap();
            let code = code_at_step(&seed, s, 6).unwrap();
            assert_eq!(
                verify(&seed, &code, now),
                ok.then_some(s),
                "offset {offset}"
            );
        }
    }

    #[test]
    fn malformed_codes_are_rejected() {
        let seed = Seed::generate();
        for bad in ["", "12345", "1234567", "12345a"] {
            assert_eq!(verify(&seed, bad, 1_700_000_000), None);
        }
    }

    #[test]
    fn key_uri_has_the_contract_shape() {
        let seed = rfc_seed();
        let uri = key_uri(&seed, "jq smith", ISSUER);
        assert_eq!(
            uri.as_str(),
            "otpauth://totp/Rackspace:jq%20smith?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Rackspace"
        );
        assert_eq!(seed.base32().len(), 32);
    }

    #[test]
    fn a_configured_issuer_is_url_encoded_and_cannot_split_the_label() {
        let uri = key_uri(&rfc_seed(), "jq", "Acme Cloud: EU");
        assert_eq!(
            uri.as_str(),
            "otpauth://totp/Acme%20Cloud%20%20EU:jq?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Acme%20Cloud%20%20EU"
        );
    }

    #[test]
    fn qr_is_a_png_data_url() {
        let url = qr_data_url("otpauth://totp/Rackspace:x?secret=ABC&issuer=Rackspace").unwrap();
        let b64 = url.strip_prefix("data:image/png;base64,").unwrap();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    }
}
