//! Phone numbers: parsed once with libphonenumber, kept as submitted and in E.164.

use crate::error::ApiError;
use std::fmt;

/// A phone number as submitted (echoed in responses) and in E.164 (where SMS go).
#[derive(Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    display: String,
    e164: String,
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl PhoneNumber {
    /// Parses E.123 international notation (leading `+`), accepting only numbers that
    /// libphonenumber considers valid (§5).
    ///
    /// # Errors
    /// `400` for anything else.
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        const BAD: ApiError = ApiError::BadRequest(
            "Phone number is invalid. Use international format, e.g. +1 210-312-4600.",
        );
        let display = s.trim();
        if !display.starts_with('+') || display.len() > 32 {
            return Err(BAD);
        }
        if !display
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'))
        {
            return Err(BAD);
        }
        if display.matches('+').count() != 1 {
            return Err(BAD);
        }
        let number = phonenumber::parse(None, display).map_err(|_| BAD)?;
        if !phonenumber::is_valid(&number) {
            return Err(BAD);
        }
        // Only numbers that can be a mobile receive SMS: premium-rate, toll-free, shared-cost,
        // VoIP, pager, UAN and voicemail numbers are how SMS pumping pays (§8.3).
        match number.number_type(&phonenumber::metadata::DATABASE) {
            phonenumber::Type::Mobile | phonenumber::Type::FixedLineOrMobile => {}
            _ => {
                return Err(ApiError::BadRequest(
                    "Only mobile phone numbers can receive SMS. Use a mobile number.",
                ));
            }
        }
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Ok(Self {
            display: display.to_string(),
            e164,
        })
    }

    /// Rebuilds a number read back from storage (already validated once).
    pub fn from_parts(display: String, e164: String) -> Self {
        Self { display, e164 }
    }

    /// The submitted text.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// E.164 form.
    pub fn e164(&self) -> &str {
        &self.e164
    }

    /// All but the last two digits masked, for logs.
    pub fn masked(&self) -> String {
        mask_number(&self.e164)
    }
}

/// Masks all but the last two digits of a number.
pub fn mask_number(e164: &str) -> String {
    let digits: Vec<char> = e164.chars().filter(char::is_ascii_digit).collect();
    let keep = digits.len().saturating_sub(2);
    let tail: String = digits.iter().skip(keep).collect();
    format!("+{}{}", "*".repeat(keep), tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_international_numbers_parse_to_e164() {
        let p = PhoneNumber::parse("+1 210-312-4600").unwrap();
        assert_eq!(p.e164(), "+12103124600");
        assert_eq!(p.display(), "+1 210-312-4600");
        assert_eq!(p.masked(), "+*********00");
        assert!(!format!("{p:?}").contains("3124600"));
    }

    #[test]
    fn documented_bad_examples_are_rejected() {
        for bad in [
            "+1 235-435-623",
            "+44 42 1123 4567",
            "12103124600",
            "+1 abc",
            "++1 512 555 0142",
            "+1 512 +555 0142",
            "+1 900-234-5678",
            "+1 800-234-5678",
            "+44 20 7946 0958",
            "",
            "+",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad} accepted");
        }
    }
}
