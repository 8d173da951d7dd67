//! Graceful shutdown: once the stop signal arrives the server accepts no new connections, and
//! calls already in flight still get their answers.

mod support;

use std::time::Duration;

use support::*;
use tabrpc::wire::Config;

#[tokio::test]
async fn in_flight_calls_finish_after_the_shutdown_signal() {
    let app = tabrpc_conformance::app(Config::default()).expect("the fixture router builds");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(tabrpc::axum::serve_until(listener, app, async move {
        let _ = stopped.await;
    }));

    let slow = tokio::spawn(async move {
        let url = format!("http://{addr}/slow?input=400");
        send(client().get(url)).await
    });
    // Let the call reach the procedure, then ask the server to stop.
    tokio::time::sleep(Duration::from_millis(150)).await;
    stop.send(()).expect("server still running");

    let reply = tokio::time::timeout(STEP, slow)
        .await
        .expect("the in-flight call answers")
        .expect("request task");
    assert_reply(&reply, 200, r#"{"result":{"data":"slept 400"}}"#);

    let ended = tokio::time::timeout(STEP, server)
        .await
        .expect("serve_until returns once in-flight calls are done")
        .expect("server task");
    assert!(ended.is_ok(), "{ended:?}");

    // And new connections are refused.
    let refused = tokio::net::TcpStream::connect(addr).await;
    assert!(refused.is_err(), "the listener is closed after shutdown");
}
