//! The prost codec with one change: a request that is not valid protobuf is refused with
//! `INVALID_ARGUMENT` (the harness's meaning for malformed input, as REST answers 400), not the
//! `INTERNAL` that tonic's codec uses. Nothing else differs from `tonic_prost::ProstCodec`.

use prost::Message;
use tonic::Status;
use tonic::codec::{BufferSettings, Codec, DecodeBuf, Decoder};
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// Codec of every generated service and client (set by `build.rs` through `codec_path`).
#[derive(Debug, Clone, Default)]
pub struct CheckoutCodec<T, U>(ProstCodec<T, U>);

impl<T, U> Codec for CheckoutCodec<T, U>
where
    T: Message + Send + 'static,
    U: Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = CheckedDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        self.0.encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        CheckedDecoder(self.0.decoder())
    }
}

/// Prost's decoder, reporting undecodable bytes as `INVALID_ARGUMENT`.
#[derive(Debug, Clone, Default)]
pub struct CheckedDecoder<U>(ProstDecoder<U>);

impl<U: Message + Default> Decoder for CheckedDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(|s| match s.code() {
            tonic::Code::Internal => {
                Status::invalid_argument(format!("mensagem protobuf inválida: {}", s.message()))
            }
            _ => s,
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}
