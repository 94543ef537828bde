//! The one mapping from the service's errors to gRPC status codes, and how failed calls are
//! logged.

use tonic::{Code, Status};
use tracing::{error, info};

use crate::error::{ErrorKind, ServiceError};

/// The gRPC code of each kind of failure.
pub fn code(kind: ErrorKind) -> Code {
    match kind {
        ErrorKind::InvalidArgument => Code::InvalidArgument,
        ErrorKind::FailedPrecondition => Code::FailedPrecondition,
        ErrorKind::ResourceExhausted => Code::ResourceExhausted,
        ErrorKind::DeadlineExceeded => Code::DeadlineExceeded,
        ErrorKind::Unavailable => Code::Unavailable,
        ErrorKind::Internal => Code::Internal,
    }
}

/// The status a failed call answers with, logged at info when the caller is at fault and at
/// error when the server is.
pub fn failed(err: &ServiceError) -> Status {
    let kind = err.kind();
    if kind.is_client_error() {
        info!(code = kind.name(), %err, "request refused");
    } else {
        error!(code = kind.name(), %err, "request failed");
    }
    Status::new(code(kind), err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_the_code_of_its_name() {
        for kind in [
            ErrorKind::InvalidArgument,
            ErrorKind::FailedPrecondition,
            ErrorKind::ResourceExhausted,
            ErrorKind::DeadlineExceeded,
            ErrorKind::Unavailable,
            ErrorKind::Internal,
        ] {
            // tonic's Debug names are the CamelCase forms of gRPC's canonical names.
            let camel = format!("{:?}", code(kind));
            let canonical: String = kind
                .name()
                .split('_')
                .map(|w| w[..1].to_owned() + &w[1..].to_lowercase())
                .collect();
            assert_eq!(camel, canonical, "{kind:?}");
        }
    }
}
