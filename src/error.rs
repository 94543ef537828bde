//! The service's errors: one enum per layer, gathered in [`ServiceError`], and one
//! transport-neutral [`ErrorKind`] per error. The gRPC edge (`server::status`) turns kinds into
//! status codes; the CLI's error rows print the kind's name. Nothing here knows a transport.

use crate::{
    digest::DigestError,
    engine::EngineError,
    pool::{PoolError, SubmitError},
    request::InvalidRequest,
};

/// Anything a summarisation request can fail with, whichever layer failed it.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    InvalidRequest(#[from] InvalidRequest),
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Digest(#[from] DigestError),
    #[error("the server is still loading its models: retry once health reports SERVING")]
    Warming,
    #[error("the server is shutting down: retry on another replica")]
    ShuttingDown,
    #[error("the server's shutdown grace period ended before this request finished: retry on another replica")]
    ShutDownBeforeFinished,
    /// A remote newsgist server's answer for one article (`batch --server`), with its kind.
    #[error("{message}")]
    Remote { kind: ErrorKind, message: String },
}

impl From<SubmitError<EngineError>> for ServiceError {
    fn from(err: SubmitError<EngineError>) -> Self {
        match err {
            SubmitError::Pool(err) => ServiceError::Pool(err),
            SubmitError::Handler(err) => ServiceError::Engine(err),
        }
    }
}

/// What kind of failure an error is, in the vocabulary every entry point shares. The names
/// are gRPC's canonical code names, so that batch rows and API statuses read the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The request itself is wrong; resending it unchanged fails again.
    InvalidArgument,
    /// The server is not set up for what the request asks (a model it was not started with).
    FailedPrecondition,
    /// The server is at capacity; retry with backoff.
    ResourceExhausted,
    /// The request's deadline passed.
    DeadlineExceeded,
    /// The server is starting or stopping; retry later.
    Unavailable,
    /// The server failed; not the caller's fault.
    Internal,
}

impl ErrorKind {
    /// The canonical gRPC name (`INVALID_ARGUMENT`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::FailedPrecondition => "FAILED_PRECONDITION",
            ErrorKind::ResourceExhausted => "RESOURCE_EXHAUSTED",
            ErrorKind::DeadlineExceeded => "DEADLINE_EXCEEDED",
            ErrorKind::Unavailable => "UNAVAILABLE",
            ErrorKind::Internal => "INTERNAL",
        }
    }

    /// True when the server refused or could not finish the request without being at fault
    /// (bad input, overload, a deadline, a start or a shutdown): such failures are logged at
    /// info, not as errors that page someone.
    pub fn is_refusal(self) -> bool {
        match self {
            ErrorKind::InvalidArgument
            | ErrorKind::FailedPrecondition
            | ErrorKind::ResourceExhausted
            | ErrorKind::DeadlineExceeded
            | ErrorKind::Unavailable => true,
            ErrorKind::Internal => false,
        }
    }
}

impl ServiceError {
    /// The kind of this error. Kept beside the enum so that unary calls, stream items, batch
    /// rows and logs agree.
    pub fn kind(&self) -> ErrorKind {
        match self {
            ServiceError::InvalidRequest(_) => ErrorKind::InvalidArgument,
            ServiceError::Pool(err) => match err {
                PoolError::Overloaded { .. } => ErrorKind::ResourceExhausted,
                PoolError::DeadlineExceeded => ErrorKind::DeadlineExceeded,
                PoolError::ShuttingDown => ErrorKind::Unavailable,
                PoolError::WorkerPanicked => ErrorKind::Internal,
            },
            ServiceError::Engine(err) => match err {
                EngineError::NotConfigured { .. } | EngineError::NotBuilt { .. } => ErrorKind::FailedPrecondition,
                EngineError::DeadlineExceeded { .. } => ErrorKind::DeadlineExceeded,
                #[cfg(feature = "torch")]
                EngineError::Abstractive(crate::seq2seq::Seq2SeqError::OutputTooLong { .. }) => {
                    ErrorKind::InvalidArgument
                }
                #[cfg(feature = "torch")]
                EngineError::Abstractive(_) | EngineError::Embedding(_) => ErrorKind::Internal,
            },
            ServiceError::Digest(err) => match err {
                DigestError::TooManyArticles { .. } | DigestError::Busy { .. } => ErrorKind::ResourceExhausted,
                // A user template that does not render is the caller's to fix.
                DigestError::Sentences(_)
                | DigestError::Facts(_)
                | DigestError::StoryGap(_)
                | DigestError::Window { .. }
                | DigestError::Title(_)
                | DigestError::OptionsOutOfPlace
                | DigestError::UnknownValue { .. }
                | DigestError::Render(_) => ErrorKind::InvalidArgument,
            },
            ServiceError::Warming | ServiceError::ShuttingDown | ServiceError::ShutDownBeforeFinished => {
                ErrorKind::Unavailable
            }
            ServiceError::Remote { kind, .. } => *kind,
        }
    }
}
