//! A bare axum JSON echo server: the ceiling that `scripts/load-bench.sh`
//! measures beside the evaluation endpoint, in the same run, on the same machine.

use axum::{Json, Router, routing::post};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18081".to_string());
    let app = Router::new().route(
        "/echo",
        post(|Json(body): Json<serde_json::Value>| async move { Json(body) }),
    );
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await
}
