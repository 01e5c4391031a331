//! The TCP stack's wire, spoken by hand: answers pair with calls by request id (not by order),
//! a bad message or method is refused on a connection that keeps serving, a frame past the limit
//! closes only its own connection, the deadline in a call is kept, and a connection holds at
//! most `PEER_IN_FLIGHT` calls at once, refusing the rest at once.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use checkout_core::admission::{Admission, PEER_IN_FLIGHT};
use checkout_core::node::{LocalStack, Peers, spawn_services};
use checkout_core::sim::WorkTime;
use checkout_core::testkit::{PRODUCTS, approving, init_env};
use checkout_core::*;
use checkout_proto::convert::shipment_to_wire;
use checkout_proto::pb::comum;
use prost::Message;
use tcp_stack::frame::{self, Answer, Method};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// Logistics alone over TCP, each shipment taking `work`, admitting everything.
async fn logistics(work: Duration) -> (tempfile::TempDir, LocalStack, SocketAddr) {
    let dir = tempfile::TempDir::new().unwrap();
    let mut sim = approving();
    sim.work[ServiceName::Logistics.index()] = WorkTime::fixed(work);
    let mut env = init_env(dir.path(), PRODUCTS, sim);
    env.admission = Admission::Off;
    let peers = Peers::from_base(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);
    let stack = spawn_services(
        &[ServiceName::Logistics],
        peers,
        &env,
        tcp_stack::start,
        |_, _| {},
    )
    .await
    .unwrap();
    let addr = stack.peers.get(ServiceName::Logistics);
    (dir, stack, addr)
}

fn shipment(order_id: i64) -> impl Message {
    shipment_to_wire(ShipmentRequest {
        order_id,
        order_key: format!("k-{order_id}"),
        invoice_number: format!("NF-{order_id}"),
    })
}

async fn send(s: &mut TcpStream, f: &[u8]) {
    s.write_all(f).await.unwrap();
}

/// The next answer on `s`: its id, and the error kind (`None` for a reply).
async fn next(s: &mut TcpStream) -> (u64, Option<String>) {
    let body = tokio::time::timeout(Duration::from_secs(10), frame::read(s))
        .await
        .expect("an answer within 10 s")
        .unwrap()
        .expect("an answer, not the end of the stream");
    match frame::parse_answer(&body).unwrap() {
        (id, Answer::Ok(_)) => (id, None),
        (id, Answer::Error(e)) => (id, Some(comum::Erro::decode(e).unwrap().erro)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_pair_with_calls_by_id_so_a_slow_call_holds_up_no_other() {
    let (_dir, stack, addr) = logistics(Duration::from_millis(300)).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    send(
        &mut s,
        &frame::call(1, Method::AgendarEnvio, None, None, &shipment(1)),
    )
    .await;
    send(
        &mut s,
        &frame::call(2, Method::Metrics, None, None, &comum::Vazio {}),
    )
    .await;
    assert_eq!(
        next(&mut s).await,
        (2, None),
        "the quick call answers first"
    );
    assert_eq!(next(&mut s).await, (1, None));
    drop(s);
    stack.stop_all().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_and_methods_are_refused_and_the_connection_keeps_serving() {
    let (_dir, stack, addr) = logistics(Duration::ZERO).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    // Not protobuf: a varint that never ends.
    let mut bad = frame::call(1, Method::AgendarEnvio, None, None, &comum::Vazio {});
    bad.extend_from_slice(&[0xff, 0xff, 0xff]);
    let len = (bad.len() - 4) as u32;
    bad[..4].copy_from_slice(&len.to_be_bytes());
    send(&mut s, &bad).await;
    assert_eq!(next(&mut s).await, (1, Some("invalid_argument".into())));
    // Another service's method, and a method nobody has.
    send(
        &mut s,
        &frame::call(2, Method::CriarPedido, None, None, &comum::Vazio {}),
    )
    .await;
    assert_eq!(next(&mut s).await, (2, Some("invalid_argument".into())));
    let mut unknown = frame::call(3, Method::Metrics, None, None, &comum::Vazio {});
    unknown[4 + 9] = 250;
    send(&mut s, &unknown).await;
    assert_eq!(next(&mut s).await, (3, Some("invalid_argument".into())));
    // An invalid shipment is the core's refusal, mapped like on every stack.
    let empty_invoice = shipment_to_wire(ShipmentRequest {
        order_id: 9,
        order_key: "k".into(),
        invoice_number: String::new(),
    });
    send(
        &mut s,
        &frame::call(4, Method::AgendarEnvio, None, None, &empty_invoice),
    )
    .await;
    assert_eq!(next(&mut s).await, (4, Some("invalid_argument".into())));
    send(
        &mut s,
        &frame::call(5, Method::AgendarEnvio, None, None, &shipment(5)),
    )
    .await;
    assert_eq!(
        next(&mut s).await,
        (5, None),
        "the same connection still serves"
    );
    drop(s);
    stack.stop_all().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_past_the_limit_closes_only_its_own_connection() {
    let (_dir, stack, addr) = logistics(Duration::ZERO).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    send(&mut s, &((frame::MAX_FRAME as u32) + 1).to_be_bytes()).await;
    let end = tokio::time::timeout(Duration::from_secs(5), frame::read(&mut s))
        .await
        .unwrap();
    assert!(matches!(end, Ok(None) | Err(_)), "closed: {end:?}");
    let mut fresh = TcpStream::connect(addr).await.unwrap();
    send(
        &mut fresh,
        &frame::call(1, Method::AgendarEnvio, None, None, &shipment(1)),
    )
    .await;
    assert_eq!(next(&mut fresh).await, (1, None));
    drop(fresh);
    stack.stop_all().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_a_call_carries_is_kept_by_the_server() {
    let (_dir, stack, addr) = logistics(Duration::from_secs(2)).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let sent = Instant::now();
    let f = frame::call(
        1,
        Method::AgendarEnvio,
        Some(Duration::from_millis(100)),
        None,
        &shipment(1),
    );
    send(&mut s, &f).await;
    assert_eq!(next(&mut s).await, (1, Some("deadline_exceeded".into())));
    assert!(
        sent.elapsed() < Duration::from_millis(1500),
        "answered at the deadline, not after the work: {:?}",
        sent.elapsed()
    );
    drop(s);
    stack.stop_all().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_holds_its_limit_of_calls_and_refuses_the_rest_at_once() {
    let (_dir, stack, addr) = logistics(Duration::from_millis(500)).await;
    let mut s = TcpStream::connect(addr).await.unwrap();
    let extra = 5;
    let mut all = Vec::new();
    for id in 0..(PEER_IN_FLIGHT + extra) as u64 {
        all.extend(frame::call(
            id,
            Method::AgendarEnvio,
            None,
            None,
            &shipment(id as i64 + 1),
        ));
    }
    send(&mut s, &all).await;
    let mut answers = Vec::new();
    for _ in 0..PEER_IN_FLIGHT + extra {
        answers.push(next(&mut s).await);
    }
    let refused: Vec<u64> = answers
        .iter()
        .filter(|(_, e)| e.as_deref() == Some("overloaded"))
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(refused.len(), extra, "{answers:?}");
    // The refusals are the calls past the limit, answered before any admitted call finished.
    assert!(refused.iter().all(|&id| id >= PEER_IN_FLIGHT as u64));
    assert!(answers[..extra].iter().all(|(id, _)| refused.contains(id)));
    assert_eq!(
        answers.iter().filter(|(_, e)| e.is_none()).count(),
        PEER_IN_FLIGHT
    );
    drop(s);
    stack.stop_all().await.unwrap();
}
