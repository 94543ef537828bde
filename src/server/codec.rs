//! The protobuf codec of the generated services: prost's, except that a message that does not
//! decode is INVALID_ARGUMENT. gRPC's status table suggests INTERNAL for a request that fails to
//! parse, but here INTERNAL means a server fault (alerts fire on it), and random bytes, a
//! truncated message or invalid UTF-8 in a string field are the caller's to fix.

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
        self.inner.decode(buf).map_err(|status| {
            Status::invalid_argument(format!(
                "the message is not a valid {}: {}; send a message encoded from proto/newsgist/v1/newsgist.proto",
                std::any::type_name::<U>().rsplit("::").next().unwrap_or("message"),
                status.message()
            ))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.inner.buffer_settings()
    }
}
