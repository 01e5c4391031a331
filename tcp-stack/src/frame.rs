//! The wire: one frame per call and one per answer, on a plain TCP connection that carries many
//! calls at once (answers may come back in any order; the request id pairs them up).
//!
//! ```text
//! frame   = len:u32  body                  (len = bytes of body, at most MAX_FRAME)
//! body    = id:u64  kind:u8  rest
//! call    (kind 0): method:u8  deadline_us:u32 (0: none)  trace_len:u8  traceparent  protobuf
//! ok      (kind 1): protobuf               (the method's reply message)
//! error   (kind 2): protobuf               (comum.Erro: the domain error, as gRPC's details)
//! ```
//!
//! Integers are big-endian. The messages are `checkout-proto`'s, the same bytes gRPC carries.

use std::io;
use std::time::Duration;

use checkout_core::ServiceError;
use checkout_proto::erro::erro_of;
use prost::Message;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::sync::mpsc;

/// The largest frame either side accepts (a catalog listing of thousands of products fits).
pub const MAX_FRAME: usize = 16 << 20;
/// Bytes of `id` + `kind`.
const HEAD: usize = 9;

const CALL: u8 = 0;
const OK: u8 = 1;
const ERROR: u8 = 2;

/// Every call the six services answer, and the metrics text every service serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Method {
    /// Orders: place an order.
    CriarPedido = 1,
    /// Orders: look an order up.
    ConsultarPedido = 2,
    /// Payments: charge.
    ProcessarPagamento = 3,
    /// Payments: void (a compensation).
    EstornarPagamento = 4,
    /// Inventory: reserve.
    SepararEstoque = 5,
    /// Inventory: release (a compensation).
    LiberarEstoque = 6,
    /// Inventory: stock levels.
    ConsultarEstoque = 7,
    /// Inventory: adjust a product's stock.
    AjustarEstoque = 8,
    /// Fiscal: issue the invoice.
    EmitirNotaFiscal = 9,
    /// Fiscal: cancel it (a compensation).
    CancelarNotaFiscal = 10,
    /// Logistics: schedule the shipment.
    AgendarEnvio = 11,
    /// Logistics: cancel it (a compensation).
    CancelarEnvio = 12,
    /// Catalog: list products.
    ListarProdutos = 13,
    /// Catalog: change a product's stock.
    AtualizarEstoque = 14,
    /// Any service: its Prometheus metrics (the reply is the text itself).
    Metrics = 100,
    /// The calibration echo (`calibracao.Eco/Ecoar`): the payment request, answered with itself.
    Ecoar = 101,
}

impl Method {
    const ALL: [Method; 16] = [
        Self::CriarPedido,
        Self::ConsultarPedido,
        Self::ProcessarPagamento,
        Self::EstornarPagamento,
        Self::SepararEstoque,
        Self::LiberarEstoque,
        Self::ConsultarEstoque,
        Self::AjustarEstoque,
        Self::EmitirNotaFiscal,
        Self::CancelarNotaFiscal,
        Self::AgendarEnvio,
        Self::CancelarEnvio,
        Self::ListarProdutos,
        Self::AtualizarEstoque,
        Self::Metrics,
        Self::Ecoar,
    ];

    /// The method numbered `n`, if any.
    pub fn from_u8(n: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|m| *m as u8 == n)
    }

    /// Its name as gRPC's path spells it, for spans and logs.
    pub fn path(self) -> &'static str {
        use Method::*;
        match self {
            CriarPedido => "/pedidos.Pedidos/CriarPedido",
            ConsultarPedido => "/pedidos.Pedidos/ConsultarPedido",
            ProcessarPagamento => "/pagamento.Pagamento/ProcessarPagamento",
            EstornarPagamento => "/pagamento.Pagamento/EstornarPagamento",
            SepararEstoque => "/estoque.Estoque/SepararEstoque",
            LiberarEstoque => "/estoque.Estoque/LiberarEstoque",
            ConsultarEstoque => "/estoque.Estoque/ConsultarEstoque",
            AjustarEstoque => "/estoque.Estoque/AjustarEstoque",
            EmitirNotaFiscal => "/fiscal.Fiscal/EmitirNotaFiscal",
            CancelarNotaFiscal => "/fiscal.Fiscal/CancelarNotaFiscal",
            AgendarEnvio => "/logistica.Logistica/AgendarEnvio",
            CancelarEnvio => "/logistica.Logistica/CancelarEnvio",
            ListarProdutos => "/catalogo.Catalogo/ListarProdutos",
            AtualizarEstoque => "/catalogo.Catalogo/AtualizarEstoque",
            Metrics => "/metrics",
            Ecoar => "/calibracao.Eco/Ecoar",
        }
    }
}

/// A call as the server reads it.
#[derive(Debug)]
pub struct Call<'a> {
    /// The caller's request id.
    pub id: u64,
    /// The method number (not necessarily one this server knows).
    pub method: u8,
    /// Time left of the caller's deadline when it sent the call.
    pub deadline: Option<Duration>,
    /// The caller's `traceparent`.
    pub trace: Option<&'a str>,
    /// The request message.
    pub payload: &'a [u8],
}

/// An answer as the client reads it.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer<'a> {
    /// The reply message.
    Ok(&'a [u8]),
    /// A `comum.Erro`.
    Error(&'a [u8]),
}

fn frame(capacity: usize, id: u64, kind: u8) -> Vec<u8> {
    let mut f = Vec::with_capacity(4 + HEAD + capacity);
    f.extend_from_slice(&[0; 4]);
    f.extend_from_slice(&id.to_be_bytes());
    f.push(kind);
    f
}

fn sealed(mut f: Vec<u8>) -> Vec<u8> {
    let len = (f.len() - 4) as u32;
    f[..4].copy_from_slice(&len.to_be_bytes());
    f
}

/// A call frame: `msg` to `method`, with the time left and the trace.
pub fn call(
    id: u64,
    method: Method,
    deadline: Option<Duration>,
    trace: Option<&str>,
    msg: &impl Message,
) -> Vec<u8> {
    let trace = trace.filter(|t| t.len() <= u8::MAX as usize).unwrap_or("");
    let mut f = frame(6 + trace.len() + msg.encoded_len(), id, CALL);
    f.push(method as u8);
    // Sub-microsecond remainders round up: a deadline still running is never sent as "none".
    let us = deadline.map_or(0, |d| d.as_micros().clamp(1, u32::MAX as u128) as u32);
    f.extend_from_slice(&us.to_be_bytes());
    f.push(trace.len() as u8);
    f.extend_from_slice(trace.as_bytes());
    msg.encode(&mut f).expect("a Vec grows as needed");
    sealed(f)
}

/// An answer frame carrying the reply `msg`.
pub fn ok(id: u64, msg: &impl Message) -> Vec<u8> {
    let mut f = frame(msg.encoded_len(), id, OK);
    msg.encode(&mut f).expect("a Vec grows as needed");
    sealed(f)
}

/// An answer frame carrying raw reply bytes (the metrics text).
pub fn ok_bytes(id: u64, bytes: &[u8]) -> Vec<u8> {
    let mut f = frame(bytes.len(), id, OK);
    f.extend_from_slice(bytes);
    sealed(f)
}

/// An answer frame carrying the domain error `e`.
pub fn error(id: u64, e: &ServiceError) -> Vec<u8> {
    let erro = erro_of(e);
    let mut f = frame(erro.encoded_len(), id, ERROR);
    erro.encode(&mut f).expect("a Vec grows as needed");
    sealed(f)
}

fn head(body: &[u8]) -> Result<(u64, u8, &[u8]), String> {
    if body.len() < HEAD {
        return Err(format!("quadro de {} bytes: curto demais", body.len()));
    }
    let id = u64::from_be_bytes(body[..8].try_into().expect("8 bytes"));
    Ok((id, body[8], &body[HEAD..]))
}

/// Reads a call frame's body (what [`read`] returned). An error means the stream cannot be
/// trusted any further.
pub fn parse_call(body: &[u8]) -> Result<Call<'_>, String> {
    let (id, kind, rest) = head(body)?;
    if kind != CALL {
        return Err(format!(
            "quadro do tipo {kind} onde se esperava uma chamada"
        ));
    }
    if rest.len() < 6 {
        return Err("cabeçalho de chamada incompleto".into());
    }
    let method = rest[0];
    let us = u32::from_be_bytes(rest[1..5].try_into().expect("4 bytes"));
    let trace_len = rest[5] as usize;
    let rest = &rest[6..];
    if rest.len() < trace_len {
        return Err("traceparent além do fim do quadro".into());
    }
    let (trace, payload) = rest.split_at(trace_len);
    Ok(Call {
        id,
        method,
        deadline: (us > 0).then(|| Duration::from_micros(us.into())),
        trace: std::str::from_utf8(trace).ok().filter(|t| !t.is_empty()),
        payload,
    })
}

/// Reads an answer frame's body: its request id and what it carries.
pub fn parse_answer(body: &[u8]) -> Result<(u64, Answer<'_>), String> {
    let (id, kind, rest) = head(body)?;
    match kind {
        OK => Ok((id, Answer::Ok(rest))),
        ERROR => Ok((id, Answer::Error(rest))),
        k => Err(format!("quadro do tipo {k} onde se esperava uma resposta")),
    }
}

/// Reads the next frame's body; `None` at a clean end of stream (between frames).
pub async fn read(r: &mut (impl AsyncRead + Unpin)) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes(len) as usize;
    if !(HEAD..=MAX_FRAME).contains(&len) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("quadro de {len} bytes (aceitos: {HEAD} a {MAX_FRAME})"),
        ));
    }
    let mut body = vec![0; len];
    r.read_exact(&mut body).await?;
    Ok(Some(body))
}

/// Writes every frame sent on `frames` to `w`, flushing when none is waiting (frames that queue
/// up behind a write leave in one syscall), until every sender is gone.
pub async fn write_all(
    w: impl AsyncWrite + Unpin,
    mut frames: mpsc::Receiver<Vec<u8>>,
) -> io::Result<()> {
    let mut w = BufWriter::with_capacity(64 * 1024, w);
    while let Some(f) = frames.recv().await {
        w.write_all(&f).await?;
        while let Ok(f) = frames.try_recv() {
            w.write_all(&f).await?;
        }
        w.flush().await?;
    }
    w.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use checkout_proto::pb::comum::PedidoRef;

    #[test]
    fn a_call_and_its_answers_read_back_as_written() {
        let msg = PedidoRef { pedido_id: 1 << 40 };
        let trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let f = call(
            7,
            Method::EstornarPagamento,
            Some(Duration::from_millis(250)),
            Some(trace),
            &msg,
        );
        assert_eq!(
            u32::from_be_bytes(f[..4].try_into().unwrap()) as usize,
            f.len() - 4
        );
        let c = parse_call(&f[4..]).unwrap();
        assert_eq!((c.id, c.method), (7, Method::EstornarPagamento as u8));
        assert_eq!(c.deadline, Some(Duration::from_millis(250)));
        assert_eq!(c.trace, Some(trace));
        assert_eq!(PedidoRef::decode(c.payload).unwrap(), msg);

        let untimed = call(8, Method::Metrics, None, None, &msg);
        let c = parse_call(&untimed[4..]).unwrap();
        assert_eq!((c.deadline, c.trace), (None, None));
        // A deadline with less than a microsecond left still travels as a deadline.
        let tight = call(
            9,
            Method::Metrics,
            Some(Duration::from_nanos(10)),
            None,
            &msg,
        );
        assert_eq!(
            parse_call(&tight[4..]).unwrap().deadline,
            Some(Duration::from_micros(1))
        );

        let f = ok(7, &msg);
        let (id, a) = parse_answer(&f[4..]).unwrap();
        assert_eq!((id, a), (7, Answer::Ok(&msg.encode_to_vec()[..])));
        let f = error(3, &ServiceError::KeyReused);
        let (id, Answer::Error(e)) = parse_answer(&f[4..]).unwrap() else {
            panic!("an error frame reads as an error")
        };
        let erro = checkout_proto::pb::comum::Erro::decode(e).unwrap();
        assert_eq!((id, erro.erro.as_str()), (3, "key_reused"));
    }

    #[test]
    fn malformed_frames_are_refused_not_misread() {
        assert!(parse_call(&[0; 8]).is_err());
        let answer = ok(1, &PedidoRef { pedido_id: 1 });
        assert!(parse_call(&answer[4..]).is_err(), "an answer is not a call");
        let mut cut = call(
            1,
            Method::CriarPedido,
            None,
            Some("x".repeat(40).as_str()),
            &PedidoRef::default(),
        );
        cut.truncate(4 + HEAD + 6 + 10);
        assert!(parse_call(&cut[4..]).is_err(), "a trace past the end");
        assert!(Method::from_u8(0).is_none() && Method::from_u8(15).is_none());
        for m in Method::ALL {
            assert_eq!(Method::from_u8(m as u8), Some(m));
        }
    }

    #[tokio::test]
    async fn frames_longer_than_the_limit_or_shorter_than_a_head_are_refused() {
        let mut long: &[u8] = &((MAX_FRAME as u32) + 1).to_be_bytes();
        assert!(read(&mut long).await.is_err());
        let mut short: &[u8] = &[0, 0, 0, 3, 1, 2, 3];
        assert!(read(&mut short).await.is_err());
        let mut empty: &[u8] = &[];
        assert!(read(&mut empty).await.unwrap().is_none());
        let f = ok(5, &PedidoRef { pedido_id: 2 });
        let mut one: &[u8] = &f;
        assert_eq!(read(&mut one).await.unwrap().unwrap(), f[4..]);
    }
}
