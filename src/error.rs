//! The service's errors, one enum per layer, and the single place where they become gRPC
//! status codes.

use tonic::{Code, Status};

use crate::{engine::EngineError, pool::PoolError, request::InvalidRequest, seq2seq::Seq2SeqError};

/// Anything a summarisation request can fail with, whichever layer failed it.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error(transparent)]
    InvalidRequest(#[from] InvalidRequest),
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl ServiceError {
    /// The gRPC code the caller gets. Kept beside the enum so that unary calls, stream items
    /// and logs agree.
    pub fn code(&self) -> Code {
        match self {
            ServiceError::InvalidRequest(_) => Code::InvalidArgument,
            ServiceError::Pool(err) => match err {
                PoolError::Overloaded { .. } => Code::ResourceExhausted,
                PoolError::DeadlineExceeded => Code::DeadlineExceeded,
                PoolError::ShuttingDown | PoolError::Warming => Code::Unavailable,
                PoolError::WorkerPanicked => Code::Internal,
            },
            ServiceError::Engine(err) => match err {
                EngineError::NotConfigured { .. } => Code::FailedPrecondition,
                EngineError::Abstractive(Seq2SeqError::OutputTooLong { .. }) => Code::InvalidArgument,
                EngineError::Abstractive(_) | EngineError::Embedding(_) => Code::Internal,
            },
        }
    }

    /// The code's canonical name, as gRPC spells it (`INVALID_ARGUMENT`).
    pub fn code_name(&self) -> &'static str {
        match self.code() {
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Code::Unavailable => "UNAVAILABLE",
            Code::FailedPrecondition => "FAILED_PRECONDITION",
            _ => "INTERNAL",
        }
    }

    /// True when the caller, not the server, is at fault; such errors are logged at info.
    pub fn is_client_error(&self) -> bool {
        !matches!(self.code(), Code::Internal | Code::Unavailable)
    }
}

impl From<ServiceError> for Status {
    fn from(err: ServiceError) -> Self {
        Status::new(err.code(), err.to_string())
    }
}
