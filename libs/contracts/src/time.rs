//! Between `google.protobuf.Timestamp` and `chrono`, the one way every service converts.

use chrono::{DateTime, Utc};

/// `time` as a protobuf timestamp.
pub fn timestamp(time: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: time.timestamp(),
        nanos: i32::try_from(time.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

/// A protobuf timestamp as an instant; `None` when it is out of range or malformed.
pub fn instant(timestamp: &prost_types::Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(timestamp.seconds, u32::try_from(timestamp.nanos).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instant_survives_the_round_trip() {
        let now = Utc::now();
        assert_eq!(instant(&timestamp(now)), Some(now));
        assert_eq!(
            instant(&prost_types::Timestamp {
                seconds: 0,
                nanos: -1
            }),
            None
        );
    }
}
