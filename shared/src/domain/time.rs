//! Timestamps and ISO 8601 durations as the contract writes them.

use crate::error::ApiError;

/// Formats epoch milliseconds as `2015-06-05T16:24:57.637Z`.
pub fn format_ms(ms: u64) -> String {
    let secs = i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    let millis = ms % 1000;
    match time::OffsetDateTime::from_unix_timestamp(secs) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            t.year(),
            u8::from(t.month()),
            t.day(),
            t.hour(),
            t.minute(),
            t.second(),
            millis
        ),
        Err(_) => "9999-12-31T23:59:59.999Z".to_string(),
    }
}

/// Parses an xsd / ISO 8601 duration (`PT30M`, `P1DT2H`, `PT20M0.000S`) into whole seconds.
/// Years and months are refused (their length is not fixed).
///
/// # Errors
/// `400` for an unparseable, zero or negative duration.
pub fn parse_duration_secs(s: &str) -> Result<u64, ApiError> {
    const BAD: ApiError = ApiError::BadRequest(
        "validityDuration must be a positive ISO 8601 duration such as PT30M.",
    );
    let s = s.trim();
    if s.starts_with('-') {
        return Err(BAD);
    }
    let d: iso8601::Duration = s.parse().map_err(|_| BAD)?;
    let secs = match d {
        iso8601::Duration::YMDHMS {
            year,
            month,
            day,
            hour,
            minute,
            second,
            millisecond,
        } => {
            if year != 0 || month != 0 {
                return Err(BAD);
            }
            let total_ms = (u64::from(day) * 86_400
                + u64::from(hour) * 3_600
                + u64::from(minute) * 60
                + u64::from(second))
                * 1000
                + u64::from(millisecond);
            total_ms / 1000
        }
        iso8601::Duration::Weeks(w) => u64::from(w) * 7 * 86_400,
    };
    if secs == 0 {
        return Err(BAD);
    }
    Ok(secs)
}

/// Formats seconds the way the contract echoes durations: `PT{m}M{s}.000S`.
pub fn format_duration_secs(secs: u64) -> String {
    format!("PT{}M{}.000S", secs / 60, secs % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_millis_and_z() {
        assert_eq!(format_ms(1_433_521_497_637), "2015-06-05T16:24:57.637Z");
    }

    #[test]
    fn durations_parse_and_echo() {
        assert_eq!(parse_duration_secs("PT30M").unwrap(), 1800);
        assert_eq!(parse_duration_secs("PT20M0.000S").unwrap(), 1200);
        assert_eq!(parse_duration_secs("P1D").unwrap(), 86_400);
        assert!(parse_duration_secs("PT0M").is_err());
        assert!(parse_duration_secs("-PT5M").is_err());
        assert!(parse_duration_secs("30 minutes").is_err());
        assert!(parse_duration_secs("P1M").is_err());
        assert_eq!(format_duration_secs(1200), "PT20M0.000S");
        assert_eq!(format_duration_secs(90), "PT1M30.000S");
    }
}
