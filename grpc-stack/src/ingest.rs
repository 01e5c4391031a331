//! The ingestion sink over gRPC: the seed's four call patterns (`SimpleSendData`, `StreamData`,
//! `EnviarPedidosEmLote`, `StreamPedidosEmLote`), an import uploaded as a client stream of file
//! pieces, and its progress as a server stream; and the client that speaks them
//! ([`GrpcIngest`], the core's [`IngestPort`]).

use std::net::SocketAddr;
use std::path::Path;

use async_trait::async_trait;
use checkout_core::ServiceResult;
use checkout_core::ingest::{
    Evento, FileChunks, IngestPort, Progresso, Recibo, Sink, StreamIngest, forward_progress,
    if_ready,
};
use checkout_core::tls::Tls;
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::server::NamedService;
use tonic::{Request, Response, Status, Streaming};

use crate::pb::ingestao as pb;
use crate::pb::ingestao::ingestao_client::IngestaoClient;
use crate::pb::ingestao::ingestao_server::{Ingestao, IngestaoServer};
use crate::status::{from_status, to_status};

/// Bytes of file per `Pedaco` an upload sends.
pub const PIECE: usize = 64 << 10;

/// The sink behind the gRPC service.
pub struct IngestaoGrpc {
    sink: Sink,
}

fn status(e: checkout_core::ServiceError) -> Status {
    to_status(&e)
}

/// Reads a client stream to its end, committing what arrived whenever nothing more is ready.
async fn drain<M>(
    sink: &Sink,
    mut stream: Streaming<M>,
    events: impl Fn(M) -> Vec<Evento>,
) -> Result<Recibo, Status> {
    let mut s = StreamIngest::new(sink.clone());
    'stream: while let Some(m) = stream.message().await? {
        s.push(events(m)).await.map_err(status)?;
        while let Some(next) = if_ready(stream.message()).await {
            match next? {
                Some(m) => s.push(events(m)).await.map_err(status)?,
                None => break 'stream,
            }
        }
        s.flush().await.map_err(status)?;
    }
    s.finish().await.map_err(status)
}

fn lote_events(l: pb::Lote) -> Vec<Evento> {
    l.eventos.into_iter().map(Into::into).collect()
}

#[tonic::async_trait]
impl Ingestao for IngestaoGrpc {
    async fn simple_send_data(
        &self,
        req: Request<pb::Evento>,
    ) -> Result<Response<pb::Recibo>, Status> {
        let r = self.sink.ingest(0, vec![req.into_inner().into()]).await;
        Ok(Response::new(r.map_err(status)?.into()))
    }

    async fn stream_data(
        &self,
        req: Request<Streaming<pb::Evento>>,
    ) -> Result<Response<pb::Recibo>, Status> {
        let r = drain(&self.sink, req.into_inner(), |e| vec![e.into()]).await?;
        Ok(Response::new(r.into()))
    }

    async fn enviar_pedidos_em_lote(
        &self,
        req: Request<pb::Lote>,
    ) -> Result<Response<pb::Recibo>, Status> {
        let r = self.sink.ingest(0, lote_events(req.into_inner())).await;
        Ok(Response::new(r.map_err(status)?.into()))
    }

    async fn stream_pedidos_em_lote(
        &self,
        req: Request<Streaming<pb::Lote>>,
    ) -> Result<Response<pb::Recibo>, Status> {
        let r = drain(&self.sink, req.into_inner(), lote_events).await?;
        Ok(Response::new(r.into()))
    }

    async fn importar(
        &self,
        req: Request<Streaming<pb::Pedaco>>,
    ) -> Result<Response<pb::Importacao>, Status> {
        let mut stream = req.into_inner();
        let mut upload = self.sink.importer().begin().map_err(status)?;
        // A broken stream drops the upload: its file is removed, nothing is imported.
        while let Some(p) = stream.message().await? {
            upload.write(&p.dados).map_err(status)?;
        }
        let id = upload.finish().await.map_err(status)?;
        Ok(Response::new(pb::Importacao { id }))
    }

    async fn consultar_importacao(
        &self,
        req: Request<pb::Importacao>,
    ) -> Result<Response<pb::Progresso>, Status> {
        let p = self.sink.importer().status(req.into_inner().id).await;
        Ok(Response::new(p.map_err(status)?.into()))
    }

    type AcompanharImportacaoStream = ReceiverStream<Result<pb::Progresso, Status>>;

    async fn acompanhar_importacao(
        &self,
        req: Request<pb::Importacao>,
    ) -> Result<Response<Self::AcompanharImportacaoStream>, Status> {
        let rx = self
            .sink
            .importer()
            .follow(req.into_inner().id)
            .await
            .map_err(status)?;
        let (tx, out) = tokio::sync::mpsc::channel(4);
        tokio::spawn(forward_progress(rx, tx, |p| Ok(p.into())));
        Ok(Response::new(ReceiverStream::new(out)))
    }
}

/// Serves the sink on `listener` until `shutdown`, then lets running imports stop at their next
/// block (they resume when it serves again) and closes the database.
pub async fn serve_sink(
    sink: Sink,
    listener: TcpListener,
    tls: Option<&Tls>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> anyhow::Result<()> {
    let (reporter, health) = tonic_health::server::health_reporter();
    let name = <IngestaoServer<IngestaoGrpc> as NamedService>::NAME;
    reporter
        .set_service_status(name, tonic_health::ServingStatus::Serving)
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
        .with_service_name(name)
        .build_v1()?;
    let service = IngestaoServer::new(IngestaoGrpc { sink: sink.clone() })
        .max_decoding_message_size(16 << 20);
    crate::server::builder(tls)?
        .tcp_nodelay(true)
        .add_service(health)
        .add_service(reflection)
        .add_service(service)
        .serve_with_incoming_shutdown(crate::conn::incoming(listener), shutdown)
        .await?;
    sink.close();
    Ok(())
}

/// The sink's gRPC client.
#[derive(Clone)]
pub struct GrpcIngest {
    client: IngestaoClient<tonic::transport::Channel>,
}

impl GrpcIngest {
    /// A client of the sink at `addr` (connects on the first call), over TLS with `tls`.
    pub fn new(addr: SocketAddr, tls: Option<&Tls>) -> Self {
        Self {
            client: IngestaoClient::new(crate::client::channel(addr, tls))
                .max_decoding_message_size(16 << 20)
                .max_encoding_message_size(16 << 20),
        }
    }
}

fn err(s: Status) -> checkout_core::ServiceError {
    from_status(&s, "ingestao")
}

fn stamped(mut e: Evento) -> pb::Evento {
    e.stamp();
    e.into()
}

#[async_trait]
impl IngestPort for GrpcIngest {
    async fn enviar(&self, evento: Evento) -> ServiceResult<Recibo> {
        let r = self.client.clone().simple_send_data(stamped(evento)).await;
        Ok(r.map_err(err)?.into_inner().into())
    }

    async fn enviar_stream(&self, eventos: Vec<Evento>) -> ServiceResult<Recibo> {
        // Each event is stamped as the transport pulls it onto the wire.
        let stream = tokio_stream::iter(eventos).map(stamped);
        let r = self.client.clone().stream_data(stream).await;
        Ok(r.map_err(err)?.into_inner().into())
    }

    async fn enviar_lote(&self, lote: Vec<Evento>) -> ServiceResult<Recibo> {
        let lote = pb::Lote {
            id: 0,
            id_cliente: 0,
            eventos: lote.into_iter().map(stamped).collect(),
        };
        let r = self.client.clone().enviar_pedidos_em_lote(lote).await;
        Ok(r.map_err(err)?.into_inner().into())
    }

    async fn enviar_lotes_stream(&self, lotes: Vec<Vec<Evento>>) -> ServiceResult<Recibo> {
        let stream = tokio_stream::iter(lotes.into_iter().enumerate()).map(|(i, l)| pb::Lote {
            id: i as u64,
            id_cliente: 0,
            eventos: l.into_iter().map(stamped).collect(),
        });
        let r = self.client.clone().stream_pedidos_em_lote(stream).await;
        Ok(r.map_err(err)?.into_inner().into())
    }

    async fn importar(&self, arquivo: &Path) -> ServiceResult<u64> {
        let chunks = FileChunks::open(arquivo, PIECE)?;
        let error = chunks.error.clone();
        let stream = tokio_stream::iter(chunks).map(|dados| pb::Pedaco { dados });
        let r = self.client.clone().importar(stream).await;
        FileChunks::check(&error)?;
        Ok(r.map_err(err)?.into_inner().id)
    }

    async fn progresso(&self, id: u64) -> ServiceResult<Progresso> {
        let r = self
            .client
            .clone()
            .consultar_importacao(pb::Importacao { id })
            .await;
        Ok(r.map_err(err)?.into_inner().into())
    }

    async fn acompanhar(
        &self,
        id: u64,
        cada: &mut (dyn FnMut(Progresso) + Send),
    ) -> ServiceResult<Progresso> {
        let mut stream = self
            .client
            .clone()
            .acompanhar_importacao(pb::Importacao { id })
            .await
            .map_err(err)?
            .into_inner();
        let mut last = None;
        while let Some(p) = stream.message().await.map_err(err)? {
            let p: Progresso = p.into();
            cada(p.clone());
            last = Some(p);
        }
        match last {
            Some(p) => Ok(p),
            None => self.progresso(id).await,
        }
    }
}

/// The gRPC start function for [`checkout_core::node::run_sink`].
pub fn start(
    sink: Sink,
    listener: std::net::TcpListener,
    tls: Option<std::sync::Arc<Tls>>,
    shutdown: checkout_core::node::Shutdown,
) -> Result<checkout_core::node::Serving, checkout_core::node::BoxError> {
    let listener = TcpListener::from_std(listener)?;
    Ok(Box::pin(async move {
        serve_sink(sink, listener, tls.as_deref(), shutdown)
            .await
            .map_err(Into::into)
    }))
}
