//! The ingestion sink over REST: one event (`POST /eventos`), a JSON array batch
//! (`POST /eventos/lote`), a streamed NDJSON body of events (`POST /eventos/stream`) or of
//! batches (`POST /eventos/lotes/stream`) — chunked over HTTP/1.1, a stream over h2c — a file
//! upload answered with `202 Accepted` and the import's `Location`, its progress as a JSON
//! resource and as Server-Sent Events; and the client that speaks them ([`RestIngest`], the
//! core's [`IngestPort`]).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use actix_web::{App, HttpResponse, web};
use async_trait::async_trait;
use checkout_core::ingest::{
    Evento, FileChunks, IngestPort, Progresso, Recibo, Sink, StreamIngest, forward_progress,
    if_ready,
};
use checkout_core::node::{BoxError, Serving, Shutdown};
use checkout_core::tls::Tls;
use checkout_core::{ServiceError, ServiceResult};
use tokio_stream::StreamExt;

use crate::errors::{ApiError, from_response, from_transport, json_config, path_config};

/// Longest NDJSON line a stream may send (a batch of a few thousand events).
pub const MAX_LINE: usize = 16 << 20;
/// Largest JSON batch body.
const MAX_BATCH_BODY: usize = 16 << 20;
/// The NDJSON media type.
const NDJSON: &str = "application/x-ndjson";

async fn enviar(sink: web::Data<Sink>, e: web::Json<Evento>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(sink.ingest(0, vec![e.into_inner()]).await?))
}

async fn enviar_lote(
    sink: web::Data<Sink>,
    lote: web::Json<Vec<Evento>>,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(sink.ingest(0, lote.into_inner()).await?))
}

/// A streamed body of NDJSON lines, each parsed by `parse`; a line that does not parse is counted
/// invalid at its position and the rest goes on. What arrived is committed whenever nothing more
/// of the body is ready, so a slow sink stops reading and the sender's flow control slows it.
async fn ndjson(
    sink: &Sink,
    mut body: web::Payload,
    parse: fn(&[u8]) -> Result<Vec<Evento>, serde_json::Error>,
) -> Result<Recibo, ApiError> {
    let mut s = StreamIngest::new(sink.clone());
    let mut buf: Vec<u8> = Vec::new();
    let broken = |e: actix_web::error::PayloadError| {
        ApiError(ServiceError::invalid(
            "corpo",
            format!("body broken off: {e}"),
        ))
    };
    'body: while let Some(chunk) = body.next().await {
        eat(&mut s, &mut buf, &chunk.map_err(broken)?, parse).await?;
        while let Some(next) = if_ready(body.next()).await {
            match next {
                Some(chunk) => eat(&mut s, &mut buf, &chunk.map_err(broken)?, parse).await?,
                None => break 'body,
            }
        }
        s.flush().await?;
    }
    if !buf.is_empty() {
        buf.push(b'\n');
        eat(&mut s, &mut Vec::new(), &buf, parse).await?;
    }
    Ok(s.finish().await?)
}

/// Adds `chunk` to `buf` and ingests every whole line in it.
async fn eat(
    s: &mut StreamIngest,
    buf: &mut Vec<u8>,
    chunk: &[u8],
    parse: fn(&[u8]) -> Result<Vec<Evento>, serde_json::Error>,
) -> ServiceResult<()> {
    buf.extend_from_slice(chunk);
    let mut start = 0;
    while let Some(n) = buf[start..].iter().position(|b| *b == b'\n') {
        let line = &buf[start..start + n];
        start += n + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match parse(line) {
            Ok(events) => s.push(events).await?,
            Err(e) => s.undecodable(format!("invalid JSON: {e}")).await?,
        }
    }
    buf.drain(..start);
    if buf.len() > MAX_LINE {
        return Err(ServiceError::invalid(
            "corpo",
            format!("a line longer than {MAX_LINE} bytes"),
        ));
    }
    Ok(())
}

async fn enviar_stream(
    sink: web::Data<Sink>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let r = ndjson(&sink, body, |l| serde_json::from_slice(l).map(|e| vec![e])).await?;
    Ok(HttpResponse::Ok().json(r))
}

async fn enviar_lotes_stream(
    sink: web::Data<Sink>,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(ndjson(&sink, body, |l| serde_json::from_slice(l)).await?))
}

/// `POST /importacoes`: the body is the CSV file, stored as it arrives; answered `202 Accepted`
/// with the import's id and `Location` once stored, before any event is processed. A body broken
/// off drops the upload: nothing is imported.
async fn importar(sink: web::Data<Sink>, mut body: web::Payload) -> Result<HttpResponse, ApiError> {
    let mut upload = sink.importer().begin()?;
    while let Some(chunk) = body.next().await {
        let chunk = chunk
            .map_err(|e| ServiceError::invalid("arquivo", format!("upload broken off: {e}")))?;
        upload.write(&chunk)?;
    }
    let id = upload.finish().await?;
    Ok(HttpResponse::Accepted()
        .insert_header(("Location", format!("/importacoes/{id}")))
        .json(serde_json::json!({
            "id": id,
            "progresso": format!("/importacoes/{id}"),
            "eventos": format!("/importacoes/{id}/eventos"),
        })))
}

async fn consultar(sink: web::Data<Sink>, id: web::Path<u64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(sink.importer().status(id.into_inner()).await?))
}

/// `GET /importacoes/{id}/eventos`: Server-Sent Events, one `progresso` event per update, the
/// stream ending with the import.
async fn acompanhar(sink: web::Data<Sink>, id: web::Path<u64>) -> Result<HttpResponse, ApiError> {
    let rx = sink.importer().follow(id.into_inner()).await?;
    let (tx, out) = tokio::sync::mpsc::channel(4);
    tokio::spawn(forward_progress(rx, tx, |p| {
        let json = serde_json::to_string(&p).unwrap_or_default();
        Ok::<_, std::convert::Infallible>(web::Bytes::from(format!(
            "event: progresso\ndata: {json}\n\n"
        )))
    }));
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .streaming(tokio_stream::wrappers::ReceiverStream::new(out)))
}

/// Serves the sink on `listener` (HTTP/1.1 and h2c on the same port) until `shutdown`, then lets
/// running imports stop at their next block (they resume when it serves again) and closes the
/// database.
pub async fn serve_sink(
    sink: Sink,
    listener: std::net::TcpListener,
    workers: usize,
    tls: Option<Arc<Tls>>,
    shutdown: Shutdown,
) -> Result<(), BoxError> {
    let data = web::Data::new(sink.clone());
    let app = move || {
        App::new()
            .app_data(data.clone())
            .app_data(json_config())
            .app_data(path_config())
            .route("/eventos", web::post().to(enviar))
            .service(
                web::resource("/eventos/lote")
                    .app_data(json_config().limit(MAX_BATCH_BODY))
                    .route(web::post().to(enviar_lote)),
            )
            .route("/eventos/stream", web::post().to(enviar_stream))
            .route("/eventos/lotes/stream", web::post().to(enviar_lotes_stream))
            .route("/importacoes", web::post().to(importar))
            .route("/importacoes/{id}", web::get().to(consultar))
            .route("/importacoes/{id}/eventos", web::get().to(acompanhar))
            .route("/health", web::get().to(HttpResponse::Ok))
    };
    let sizing = crate::listen::Sizing {
        workers,
        max_connections: None,
    };
    let server = crate::listen::listen(app, listener, tls.as_deref(), sizing)?;
    crate::server::run_until(server, shutdown).await?;
    sink.close();
    Ok(())
}

/// The REST start function for [`checkout_core::node::run_sink`], with `workers` actix workers.
pub fn start(
    workers: usize,
) -> impl FnOnce(Sink, std::net::TcpListener, Option<Arc<Tls>>, Shutdown) -> Result<Serving, BoxError>
{
    move |sink, listener, tls, shutdown| {
        Ok(Box::pin(serve_sink(sink, listener, workers, tls, shutdown)))
    }
}

/// The sink's REST client, over HTTP/1.1 or h2c.
#[derive(Clone)]
pub struct RestIngest {
    client: reqwest::Client,
    base: String,
}

impl RestIngest {
    /// A client of the sink at `addr`, over TLS with `tls`.
    pub fn new(addr: SocketAddr, http2: bool, tls: Option<&Tls>) -> Self {
        Self {
            client: crate::client::http_client(http2, tls),
            base: crate::client::base_url(addr, tls),
        }
    }

    async fn answer<T: serde::de::DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> ServiceResult<T> {
        let resp = req
            .send()
            .await
            .map_err(|e| from_transport(&e, "ingestao"))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| from_transport(&e, "ingestao"))?;
        if !status.is_success() {
            return Err(from_response(status, &body, "ingestao"));
        }
        serde_json::from_slice(&body)
            .map_err(|e| ServiceError::Internal(format!("ingestao: bad answer: {e}")))
    }

    /// POSTs an NDJSON body whose lines `items` makes as the transport pulls them.
    async fn post_ndjson<I, T>(&self, path: &str, items: I) -> ServiceResult<Recibo>
    where
        I: IntoIterator<Item = T> + Send + 'static,
        I::IntoIter: Send + Sync + 'static,
        T: serde::Serialize,
    {
        let lines = tokio_stream::iter(items).map(|item| {
            let mut line = serde_json::to_vec(&item).map_err(std::io::Error::other)?;
            line.push(b'\n');
            Ok::<_, std::io::Error>(line)
        });
        let req = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", NDJSON)
            .body(reqwest::Body::wrap_stream(lines));
        self.answer(req).await
    }
}

fn stamped(mut e: Evento) -> Evento {
    e.stamp();
    e
}

#[async_trait]
impl IngestPort for RestIngest {
    async fn enviar(&self, evento: Evento) -> ServiceResult<Recibo> {
        let req = self
            .client
            .post(format!("{}/eventos", self.base))
            .json(&stamped(evento));
        self.answer(req).await
    }

    async fn enviar_stream(&self, eventos: Vec<Evento>) -> ServiceResult<Recibo> {
        // Each event is stamped as the transport pulls its line onto the wire.
        self.post_ndjson("/eventos/stream", eventos.into_iter().map(stamped))
            .await
    }

    async fn enviar_lote(&self, lote: Vec<Evento>) -> ServiceResult<Recibo> {
        let lote: Vec<Evento> = lote.into_iter().map(stamped).collect();
        let req = self
            .client
            .post(format!("{}/eventos/lote", self.base))
            .json(&lote);
        self.answer(req).await
    }

    async fn enviar_lotes_stream(&self, lotes: Vec<Vec<Evento>>) -> ServiceResult<Recibo> {
        let lotes = lotes
            .into_iter()
            .map(|l| l.into_iter().map(stamped).collect::<Vec<_>>());
        self.post_ndjson("/eventos/lotes/stream", lotes).await
    }

    async fn importar(&self, arquivo: &Path) -> ServiceResult<u64> {
        let pieces = FileChunks::open(arquivo, 64 << 10)?.into_results();
        let req = self
            .client
            .post(format!("{}/importacoes", self.base))
            .header("content-type", "text/csv")
            .body(reqwest::Body::wrap_stream(tokio_stream::iter(pieces)));
        let answer: serde_json::Value = self.answer(req).await?;
        answer["id"]
            .as_u64()
            .ok_or_else(|| ServiceError::Internal("ingestao: no import id".into()))
    }

    async fn progresso(&self, id: u64) -> ServiceResult<Progresso> {
        let req = self.client.get(format!("{}/importacoes/{id}", self.base));
        self.answer(req).await
    }

    async fn acompanhar(
        &self,
        id: u64,
        cada: &mut (dyn FnMut(Progresso) + Send),
    ) -> ServiceResult<Progresso> {
        let resp = self
            .client
            .get(format!("{}/importacoes/{id}/eventos", self.base))
            .header("accept", "text/event-stream")
            .send()
            .await
            .map_err(|e| from_transport(&e, "ingestao"))?;
        let status = resp.status();
        if !status.is_success() {
            let body = resp.bytes().await.unwrap_or_default();
            return Err(from_response(status, &body, "ingestao"));
        }
        let mut body = resp.bytes_stream();
        let (mut buf, mut last) = (Vec::<u8>::new(), None);
        while let Some(chunk) = body.next().await {
            buf.extend_from_slice(&chunk.map_err(|e| from_transport(&e, "ingestao"))?);
            while let Some(end) = buf.windows(2).position(|w| w == b"\n\n") {
                let event: Vec<u8> = buf.drain(..end + 2).collect();
                let text = String::from_utf8_lossy(&event);
                for data in text.lines().filter_map(|l| l.strip_prefix("data:")) {
                    let p: Progresso = serde_json::from_str(data.trim())
                        .map_err(|e| ServiceError::Internal(format!("ingestao: bad event: {e}")))?;
                    cada(p.clone());
                    last = Some(p);
                }
            }
        }
        match last {
            Some(p) => Ok(p),
            None => self.progresso(id).await,
        }
    }
}
