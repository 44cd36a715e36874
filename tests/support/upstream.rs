//! A server on loopback for apps to reach over the `http` capability: it
//! counts every request it gets (so a test can tell a refused request never
//! connected) and remembers the headers of the last one (so a test can see
//! what the host injected).
//!
//! Routes: `GET /hello` → `hello`; `POST /echo` → the body; `GET /redirect?to=<url>`
//! → 302 there; `GET /slow` → answers after 30 s; `GET /huge` → 100 MB,
//! streamed, counting what it managed to send; anything else → `ok`.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};

/// What the server saw.
#[derive(Default)]
pub struct Seen {
    pub requests: AtomicU64,
    /// Bytes of `/huge` handed to the connection.
    pub huge_sent: AtomicU64,
    pub last_headers: Mutex<Option<HeaderMap>>,
}

pub struct Upstream {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    /// Serves on `ip`, any free port.
    pub async fn start(ip: &str) -> Upstream {
        let seen = Arc::new(Seen::default());
        let router = Router::new()
            .route("/hello", get(|| async { "hello" }))
            .route("/echo", post(|body: Bytes| async move { body }))
            .route("/redirect", get(redirect))
            .route("/slow", get(slow))
            .route("/huge", get(huge))
            .fallback(any(|| async { "ok" }))
            .layer(axum::middleware::from_fn_with_state(seen.clone(), count))
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            axum::serve(listener, router).await.ok();
        });
        Upstream { addr, seen, task }
    }

    /// `http://<addr>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> u64 {
        self.seen.requests.load(Ordering::SeqCst)
    }

    /// A header of the last request, as received.
    pub fn last_header(&self, name: &str) -> Option<String> {
        let headers = self.seen.last_headers.lock().unwrap();
        headers
            .as_ref()?
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
}

async fn count(
    State(seen): State<Arc<Seen>>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    seen.requests.fetch_add(1, Ordering::SeqCst);
    *seen.last_headers.lock().unwrap() = Some(request.headers().clone());
    next.run(request).await
}

#[derive(serde::Deserialize)]
struct To {
    to: String,
}

async fn redirect(Query(q): Query<To>) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, q.to)]).into_response()
}

async fn slow() -> &'static str {
    tokio::time::sleep(Duration::from_secs(30)).await;
    "finally"
}

async fn huge(State(seen): State<Arc<Seen>>) -> Response {
    const CHUNK: usize = 64 << 10;
    const TOTAL: u64 = 100 << 20;
    let chunk = Bytes::from(vec![b'x'; CHUNK]);
    let stream = futures_util::stream::unfold(0u64, move |sent| {
        let chunk = chunk.clone();
        let seen = seen.clone();
        async move {
            if sent >= TOTAL {
                return None;
            }
            seen.huge_sent.fetch_add(CHUNK as u64, Ordering::SeqCst);
            Some((Ok::<_, std::io::Error>(chunk), sent + CHUNK as u64))
        }
    });
    (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        Body::from_stream(stream),
    )
        .into_response()
}
