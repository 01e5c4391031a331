//! The checkout's six services over plain TCP: the floor-setting third stack. Length-prefixed
//! protobuf frames (the same `proto/` messages gRPC carries) with a request id, so one connection
//! multiplexes many calls; a deadline and a `traceparent` in every call; the domain error in every
//! error frame. No HTTP, no framework: tokio sockets and prost. Beside gRPC it splits gRPC's cost
//! into "the RPC itself" (this) and "HTTP/2 + gRPC framing" (the difference).

pub mod client;
pub mod conn;
pub mod frame;
mod listen;
pub mod server;

pub use client::TcpClients;
pub use server::{TcpNode, serve_echo, start};
