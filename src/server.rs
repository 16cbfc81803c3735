//! The HTTP server under the routers, with the limits a port on the internet needs
//! (`HTTP_*`, see `config/http.rs`): hyper's header-read timer (which also closes idle
//! keep-alive connections), a cap on open connections, a deadline for the body, and a cap
//! on requests in flight beyond which tower's load shedding answers 503 with `Retry-After`
//! so TikTok retries instead of timing out.

use crate::config::HttpLimits;
use crate::metrics::Metrics;
use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::load_shed::LoadShedLayer;
use tower::{BoxError, ServiceBuilder};

/// Largest request head (request line and headers) hyper buffers; bounds a connection's
/// read buffer, so memory stays bounded by the connection cap.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// File descriptors kept back from `HTTP_MAX_CONNECTIONS` for Redis, the database, the API
/// clients and the process itself.
const FD_RESERVE: u64 = 256;

#[derive(Clone)]
struct BodyRead {
    timeout: Duration,
    max_bytes: usize,
    metrics: Arc<Metrics>,
}

/// Reads the whole body under `HTTP_BODY_TIMEOUT_MS` before the request takes a slot in
/// flight, so clients that trickle their bodies hold a connection (capped, and cut at the
/// deadline) but never a worker's place.
async fn read_body(State(limits): State<BodyRead>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let read = axum::body::to_bytes(body, limits.max_bytes);
    let bytes = match tokio::time::timeout(limits.timeout, read).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(e)) => {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            return if too_large {
                (StatusCode::PAYLOAD_TOO_LARGE, "length limit exceeded").into_response()
            } else {
                (
                    StatusCode::BAD_REQUEST,
                    "the request body could not be read",
                )
                    .into_response()
            };
        }
        Err(_) => {
            limits.metrics.http.body_timeouts.inc();
            let mut r = (StatusCode::REQUEST_TIMEOUT, "request body too slow").into_response();
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            return r;
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// Puts the limits on `work` (routes that do work: webhooks, callouts, admin): the body is
/// read under its deadline first, then the request needs one of `max_in_flight` slots or
/// is shed at once with 503 and `Retry-After`.
pub fn limit_work<S: Clone + Send + Sync + 'static>(
    work: Router<S>,
    limits: &HttpLimits,
    max_body_bytes: usize,
    metrics: Arc<Metrics>,
) -> Router<S> {
    let slots = Arc::new(Semaphore::new(limits.max_in_flight));
    let retry_after = HeaderValue::from(limits.retry_after_secs);
    let shed_metrics = metrics.clone();
    let shed = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(move |err: BoxError| {
            let retry_after = retry_after.clone();
            let metrics = shed_metrics.clone();
            async move {
                if err.is::<tower::load_shed::error::Overloaded>() {
                    metrics.http.shed.inc();
                    let mut r = StatusCode::SERVICE_UNAVAILABLE.into_response();
                    r.headers_mut().insert(header::RETRY_AFTER, retry_after);
                    r
                } else {
                    tracing::error!(error = %err, "request failed in the server's layers");
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                }
            }
        }))
        .layer(LoadShedLayer::new())
        .layer(GlobalConcurrencyLimitLayer::with_semaphore(slots));
    let body = BodyRead {
        timeout: limits.body_timeout,
        max_bytes: max_body_bytes,
        metrics,
    };
    // The later route_layer is the outer one: the body is read before a slot is taken.
    work.route_layer(shed)
        .route_layer(middleware::from_fn_with_state(body, read_body))
}

/// Raises this process's soft limit of open files to its hard limit and returns the soft
/// limit now in force (`None` where it cannot be read).
#[cfg(unix)]
#[allow(clippy::unnecessary_cast)] // rlim_t is not u64 on every platform
pub fn raise_fd_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed by pointer.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return None;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    Some(lim.rlim_cur as u64)
}

#[cfg(not(unix))]
pub fn raise_fd_limit() -> Option<u64> {
    None
}

/// `HTTP_MAX_CONNECTIONS`, lowered (with a warning) to what the process's file limit
/// allows once a reserve for everything else is kept.
pub fn connection_cap(configured: usize) -> usize {
    match raise_fd_limit() {
        Some(fds) if (configured as u64).saturating_add(FD_RESERVE) > fds => {
            let cap = fds.saturating_sub(FD_RESERVE).max(16) as usize;
            tracing::warn!(
                configured,
                cap,
                open_files_limit = fds,
                "HTTP_MAX_CONNECTIONS is above what the open-files limit allows; capped (raise `ulimit -n`)"
            );
            cap
        }
        _ => configured,
    }
}

/// Serves `app` on `listener` until `shutdown`, then lets open requests finish for up to
/// `grace`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: HttpLimits,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let connections = Arc::new(Semaphore::new(connection_cap(limits.max_connections)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES);
    loop {
        // At the cap, stop accepting: new connections wait in the kernel's backlog.
        let permit = tokio::select! {
            p = connections.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            _ = shutdown.cancelled() => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept: back
                    // off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        let _ = stream.set_nodelay(true);
        let conn =
            http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        let conn = graceful.watch(conn);
        let open = metrics.http.connections.clone();
        tokio::spawn(async move {
            open.inc();
            // Timeouts and resets end connections all the time on the internet; not news.
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            open.dec();
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the shutdown grace; closing them");
    }
}
