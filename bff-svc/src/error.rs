//! The BFF's errors and their one mapping to gRPC statuses.

use tonic::{Code, Status};

/// What the caller gets for an answer of accounting that is not a result.
///
/// A refusal (a bad field, an unknown account, a role that may not) is passed on with its status
/// and message, which name accounting's field, the same as the BFF's. Accounting not reachable,
/// not answering in time, or answering with something that is not gRPC (UNKNOWN: a proxy's error
/// page, a wrong `ACCOUNTING_URL`) is UNAVAILABLE for the caller; what exactly happened goes to
/// the BFF's log, not to the browser. An INTERNAL of accounting stays INTERNAL.
pub fn from_accounting(status: Status) -> Status {
    match status.code() {
        Code::Unavailable | Code::Cancelled | Code::DeadlineExceeded | Code::Unknown => {
            tracing::warn!(
                code = ?status.code(),
                detail = status.message(),
                "accounting-svc did not answer"
            );
            Status::unavailable("accounting-svc is unavailable; try again shortly")
        }
        Code::Internal => {
            tracing::warn!(detail = status.message(), "accounting-svc failed a call");
            Status::internal("internal error")
        }
        code => Status::new(code, status.message()),
    }
}

/// Accounting answered without a field it always sends.
pub fn missing(field: &str) -> Status {
    ates_server::internal_status(&format!("accounting's answer has no `{field}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_pass_through_and_outages_are_unavailable() {
        let refused = from_accounting(Status::invalid_argument("business_date: not a date"));
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(refused.message(), "business_date: not a date");
        assert_eq!(
            from_accounting(Status::permission_denied("not yours")).code(),
            Code::PermissionDenied
        );
        assert_eq!(
            from_accounting(Status::not_found("account_id")).code(),
            Code::NotFound
        );
        for outage in [
            Status::unavailable("tcp connect error"),
            Status::cancelled("Timeout expired"),
            Status::deadline_exceeded("deadline"),
            Status::unknown("transport error"),
        ] {
            let status = from_accounting(outage);
            assert_eq!(status.code(), Code::Unavailable);
            assert!(
                status
                    .message()
                    .starts_with("accounting-svc is unavailable")
            );
        }
    }
}
