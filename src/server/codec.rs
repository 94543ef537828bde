//! The protobuf codec of the generated services: prost's, except that a request that does not
//! decode is INVALID_ARGUMENT. gRPC's status table suggests INTERNAL for a request that fails to
//! parse, but here INTERNAL means a server fault (alerts fire on it), and random bytes, a
//! truncated message or invalid UTF-8 in a string field are the caller's to fix. The generated
//! clients use the same codec: there a reply that does not decode is the server's fault, and
//! stays INTERNAL.

use std::marker::PhantomData;

use prost::Message;
use tonic::{
    codec::{BufferSettings, Codec, DecodeBuf, Decoder},
    Status,
};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// [`ProstCodec`] with decode failures answered as INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct StrictCodec<T, U> {
    inner: ProstCodec<T, U>,
}

impl<T, U> Default for StrictCodec<T, U> {
    fn default() -> Self {
        StrictCodec {
            inner: ProstCodec::default(),
        }
    }
}

impl<T, U> Codec for StrictCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = StrictDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.inner.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        StrictDecoder {
            inner: self.inner.decoder(),
            _message: PhantomData,
        }
    }
}

/// Decodes `U`, or says what was wrong with the bytes.
#[derive(Debug)]
pub struct StrictDecoder<U> {
    inner: ProstDecoder<U>,
    _message: PhantomData<U>,
}

impl<U: Message + Default> Decoder for StrictDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.inner
            .decode(buf)
            .map_err(|status| decode_failure(std::any::type_name::<U>(), status.message()))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.inner.buffer_settings()
    }
}

/// The status for a message of type `type_name` that did not decode. Requests and responses
/// are told apart by name: the API's lint rules (buf STANDARD) make every RPC's message end in
/// `Request` or `Response`.
fn decode_failure(type_name: &str, reason: &str) -> Status {
    let name = type_name.rsplit("::").next().unwrap_or("message");
    if name.ends_with("Response") {
        Status::internal(format!("the server's {name} did not decode: {reason}"))
    } else {
        Status::invalid_argument(format!(
            "the message is not a valid {name}: {reason}; send a message encoded from proto/newsgist/v1/newsgist.proto"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_that_does_not_decode_is_the_callers_fault_and_a_reply_the_servers() {
        let request = decode_failure("newsgist::proto::SummarizeRequest", "buffer underflow");
        assert_eq!(request.code(), tonic::Code::InvalidArgument);
        assert!(
            request.message().contains("not a valid SummarizeRequest"),
            "{request:?}"
        );
        let reply = decode_failure("newsgist::proto::SummarizeStreamResponse", "invalid wire type");
        assert_eq!(reply.code(), tonic::Code::Internal);
        assert!(
            reply.message().contains("server's SummarizeStreamResponse"),
            "{reply:?}"
        );
    }
}
