//! The one mapping from the service's errors to gRPC status codes, and how failed calls are
//! logged.

use std::sync::atomic::{AtomicU64, Ordering};

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

/// How long a caller refused for overload is asked to wait before retrying
/// (`grpc-retry-pushback-ms`, which gRPC clients with a retry policy honour): about the time a
/// lexical request takes to clear a full queue.
const RETRY_PUSHBACK_MS: &str = "250";

/// Refusals logged one by one per second; the rest are counted and logged as one line.
const REFUSALS_LOGGED_PER_SECOND: u64 = 10;

/// Keeps the refused-request log readable under overload: the first refusals of each second
/// are logged as they come, the others as a count once the second is over.
struct RefusalLog {
    second: AtomicU64,
    logged: AtomicU64,
    suppressed: AtomicU64,
}

static REFUSALS: RefusalLog = RefusalLog {
    second: AtomicU64::new(0),
    logged: AtomicU64::new(0),
    suppressed: AtomicU64::new(0),
};

impl RefusalLog {
    /// True when this refusal should be logged on its own line.
    fn admit(&self, now_second: u64) -> bool {
        if self.second.swap(now_second, Ordering::Relaxed) != now_second {
            self.logged.store(0, Ordering::Relaxed);
            let suppressed = self.suppressed.swap(0, Ordering::Relaxed);
            if suppressed > 0 {
                info!(
                    suppressed,
                    "more requests were refused in the previous second than were logged one by one"
                );
            }
        }
        if self.logged.fetch_add(1, Ordering::Relaxed) < REFUSALS_LOGGED_PER_SECOND {
            true
        } else {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            false
        }
    }
}

/// The status a failed call answers with. Server faults are logged at error; refusals at
/// info, a few per second at most.
pub fn failed(err: &ServiceError) -> Status {
    let kind = err.kind();
    if kind.is_refusal() {
        let now_second = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if REFUSALS.admit(now_second) {
            info!(code = kind.name(), %err, "request refused");
        }
    } else {
        error!(code = kind.name(), %err, "request failed");
    }
    let mut status = Status::new(code(kind), err.to_string());
    if kind == ErrorKind::ResourceExhausted {
        status.metadata_mut().insert(
            "grpc-retry-pushback-ms",
            RETRY_PUSHBACK_MS.parse().expect("a valid header value"),
        );
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_beyond_the_per_second_budget_are_counted_not_logged() {
        let log = RefusalLog {
            second: AtomicU64::new(0),
            logged: AtomicU64::new(0),
            suppressed: AtomicU64::new(0),
        };
        let admitted = (0..25).filter(|_| log.admit(7)).count() as u64;
        assert_eq!(admitted, REFUSALS_LOGGED_PER_SECOND);
        assert_eq!(log.suppressed.load(Ordering::Relaxed), 25 - REFUSALS_LOGGED_PER_SECOND);
        assert!(log.admit(8), "a new second logs again");
        assert_eq!(log.suppressed.load(Ordering::Relaxed), 0, "and reports the count");
    }

    #[test]
    fn overload_asks_callers_to_push_back() {
        let overloaded = ServiceError::Pool(crate::pool::PoolError::Overloaded { max_pending: 4 });
        let status = failed(&overloaded);
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(
            status.metadata().get("grpc-retry-pushback-ms").unwrap(),
            RETRY_PUSHBACK_MS
        );
        assert!(failed(&ServiceError::Warming)
            .metadata()
            .get("grpc-retry-pushback-ms")
            .is_none());
    }

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
