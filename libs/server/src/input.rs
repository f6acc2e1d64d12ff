//! Reading request fields, the same way in every service: a missing or malformed field is an
//! [`InvalidField`], which every service answers with INVALID_ARGUMENT naming the field.

use chrono::NaiveDate;
use uuid::Uuid;

/// A request field that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct InvalidField {
    /// The field, as named in the proto.
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl InvalidField {
    /// `field` is wrong for `reason`.
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}

/// A required UUID field.
pub fn required_uuid(field: &'static str, raw: &str) -> Result<Uuid, InvalidField> {
    if raw.is_empty() {
        return Err(InvalidField::new(field, "must not be empty"));
    }
    Uuid::parse_str(raw).map_err(|_| InvalidField::new(field, "must be a UUID"))
}

/// An optional UUID field: empty means none.
pub fn optional_uuid(field: &'static str, raw: &str) -> Result<Option<Uuid>, InvalidField> {
    if raw.is_empty() {
        return Ok(None);
    }
    Uuid::parse_str(raw)
        .map(Some)
        .map_err(|_| InvalidField::new(field, "must be a UUID when set"))
}

/// A required business date, written exactly `YYYY-MM-DD` (`ates_calendar::parse_date`).
pub fn date(field: &'static str, raw: &str) -> Result<NaiveDate, InvalidField> {
    if raw.is_empty() {
        return Err(InvalidField::new(field, "must not be empty"));
    }
    ates_calendar::parse_date(raw).map_err(|error| InvalidField::new(field, error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_refused_naming_themselves() {
        assert_eq!(required_uuid("task_id", "").unwrap_err().field, "task_id");
        assert_eq!(
            required_uuid("task_id", "nope").unwrap_err().to_string(),
            "task_id: must be a UUID"
        );
        assert_eq!(optional_uuid("request_id", "").unwrap(), None);
        assert!(optional_uuid("request_id", "x").is_err());
        assert_eq!(
            date("business_date", "").unwrap_err().field,
            "business_date"
        );
        assert!(date("business_date", "2026-1-5").is_err());
        assert!(date("business_date", "2026-01-05").is_ok());
    }
}
