//! The protobuf codec of every generated client and server: prost's, except that a request that
//! does not decode is the caller's mistake (INVALID_ARGUMENT with the decoder's message), where
//! prost's codec answers INTERNAL. A response that does not decode stays INTERNAL: the server
//! broke the contract, not the caller.
//!
//! Which side a decoder is on is told by the type it decodes: buf's STANDARD lint (in
//! `make lint`) names every request message `<Method>Request` and every response
//! `<Method>Response`.

use std::marker::PhantomData;

use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstDecoder, ProstEncoder};

/// prost's codec with the caller's decode errors answered INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct ProtoCodec<T, U> {
    _types: PhantomData<(T, U)>,
}

impl<T, U> Default for ProtoCodec<T, U> {
    fn default() -> Self {
        Self {
            _types: PhantomData,
        }
    }
}

impl<T, U> Codec for ProtoCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + prost::Name + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = RequestDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        RequestDecoder {
            inner: ProstDecoder::default(),
        }
    }
}

/// prost's decoder; a request's decode error becomes INVALID_ARGUMENT.
#[derive(Debug, Clone)]
pub struct RequestDecoder<U> {
    inner: ProstDecoder<U>,
}

impl<U: prost::Message + prost::Name + Default> Decoder for RequestDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.inner.decode(buf).map_err(|status| {
            if is_request(U::NAME) {
                Status::invalid_argument(format!(
                    "the request is not a valid {}: {}",
                    U::full_name(),
                    status.message()
                ))
            } else {
                status
            }
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.inner.buffer_settings()
    }
}

/// Whether a message is a request, by buf's STANDARD naming (`<Method>Response` is the only other
/// kind an RPC carries).
fn is_request(message_name: &str) -> bool {
    !message_name.ends_with("Response")
}
