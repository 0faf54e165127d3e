//! The wire format: request and response bodies as `serde` types named as in the contract
//! (`"RAX-AUTH:mobilePhone"` and friends), and the contract's leniency (§1) expressed once:
//!
//! - [`Field`]: a field as sent (absent, `null`, a value of the expected type, or something
//!   else), so each operation keeps the contract's own `400` message for each case;
//! - [`Flag`] and [`Int`]: booleans and integers also accepted as strings;
//! - [`CaseInsensitive`]: an object whose keys match whatever their case;
//! - unknown keys are ignored everywhere (no type denies them).

pub mod requests;
pub mod responses;

use crate::error::ApiError;
use serde::de::{DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A body field as the client sent it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Field<T> {
    /// The key is not there.
    #[default]
    Absent,
    /// The key is there with `null`.
    Null,
    /// A value of the expected type.
    Value(T),
    /// A value of another type.
    Invalid,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        if v.is_null() {
            return Ok(Self::Null);
        }
        Ok(T::deserialize(v).map_or(Self::Invalid, Self::Value))
    }
}

impl<T> Field<T> {
    /// Whether the key was sent at all (even as `null`).
    pub fn is_present(&self) -> bool {
        !matches!(self, Self::Absent)
    }

    /// The value; `None` when absent or `null`.
    ///
    /// # Errors
    /// `400 bad` when it has another type.
    pub fn optional(self, bad: &'static str) -> Result<Option<T>, ApiError> {
        match self {
            Self::Absent | Self::Null => Ok(None),
            Self::Value(v) => Ok(Some(v)),
            Self::Invalid => Err(ApiError::BadRequest(bad)),
        }
    }

    /// The value.
    ///
    /// # Errors
    /// `400 missing` when absent or `null`, `400 bad` when it has another type.
    pub fn required(self, missing: &'static str, bad: &'static str) -> Result<T, ApiError> {
        self.optional(bad)?.ok_or(ApiError::BadRequest(missing))
    }
}

/// A boolean, also accepted as `"true"` / `"false"` (any case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Bool(b) => Ok(Self(b)),
            Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Self(true)),
            Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Self(false)),
            _ => Err(serde::de::Error::custom("expected a boolean")),
        }
    }
}

/// An integer, also accepted as a decimal string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int(pub i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = match Value::deserialize(d)? {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        n.map(Self)
            .ok_or_else(|| serde::de::Error::custom("expected an integer"))
    }
}

/// A JSON object whose keys are matched case-insensitively: `T` names its fields in lower
/// case (for keys the docs spell several ways, such as `numberOfCodes`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseInsensitive<T>(pub T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for CaseInsensitive<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let m = Map::<String, Value>::deserialize(d)?;
        let lower: Map<String, Value> = m
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        T::deserialize(Value::Object(lower))
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

/// A string or a number, as text (ids the examples show as numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(Self(s)),
            Value::Number(n) => Ok(Self(n.to_string())),
            _ => Err(serde::de::Error::custom("expected a string")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    struct Probe {
        #[serde(default)]
        flag: Field<Flag>,
        #[serde(default)]
        int: Field<Int>,
        #[serde(default)]
        text: Field<String>,
    }

    fn probe(v: Value) -> Probe {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn booleans_are_accepted_as_strings_in_any_case() {
        assert_eq!(
            probe(json!({"flag": "TRUE"})).flag,
            Field::Value(Flag(true))
        );
        assert_eq!(
            probe(json!({"flag": "false"})).flag,
            Field::Value(Flag(false))
        );
        assert_eq!(
            probe(json!({"flag": false})).flag,
            Field::Value(Flag(false))
        );
        assert_eq!(probe(json!({"flag": "yes"})).flag, Field::Invalid);
        assert_eq!(probe(json!({"flag": 1})).flag, Field::Invalid);
    }

    #[test]
    fn integers_are_accepted_as_decimal_strings() {
        assert_eq!(probe(json!({"int": " 7 "})).int, Field::Value(Int(7)));
        assert_eq!(probe(json!({"int": 3})).int, Field::Value(Int(3)));
        assert_eq!(probe(json!({"int": 1.5})).int, Field::Invalid);
        assert_eq!(probe(json!({"int": "x"})).int, Field::Invalid);
    }

    #[test]
    fn absent_null_and_wrong_type_are_told_apart() {
        let p = probe(json!({"text": null, "unknown": 1}));
        assert_eq!(p.text, Field::Null);
        assert!(p.text.is_present());
        assert_eq!(p.flag, Field::Absent);
        assert!(matches!(
            probe(json!({"text": 5})).text.required("missing", "bad"),
            Err(ApiError::BadRequest("bad"))
        ));
        assert!(matches!(
            probe(json!({})).text.required("missing", "bad"),
            Err(ApiError::BadRequest("missing"))
        ));
    }

    #[test]
    fn case_insensitive_objects_match_any_spelling() {
        #[derive(Debug, Deserialize)]
        struct Spec {
            #[serde(default, rename = "numberofcodes")]
            n: Field<Int>,
        }
        let CaseInsensitive(s) =
            serde_json::from_value::<CaseInsensitive<Spec>>(json!({"NumberOfCodes": "2"})).unwrap();
        assert_eq!(s.n, Field::Value(Int(2)));
    }
}
