//! The admin HTTP API (actix-web): health, readiness, actors, restart and
//! kill, supervisor events, Prometheus metrics, an OpenAPI description and a
//! small dashboard. Mutating endpoints need `Authorization: Bearer <token>`.

use std::net::SocketAddr;

use actix_web::dev::ServerHandle;
use actix_web::http::header;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde::Deserialize;
use serde_json::json;

use crate::error::KernelError;
use crate::events::Event;
use crate::kernel::Kernel;
use crate::status::ActorStatus;

/// A running admin server.
#[derive(Debug)]
pub struct AdminServer {
    handle: ServerHandle,
    /// The address it listens on.
    pub addr: SocketAddr,
}

impl AdminServer {
    /// Stop accepting requests and close the listener.
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// Whether `addr` only accepts local connections.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

struct AdminState {
    kernel: Kernel,
    token: String,
}

/// Routes the binary adds to the admin server (the live system's
/// endpoints, which the kernel knows nothing of).
pub type Extra = std::sync::Arc<dyn Fn(&mut web::ServiceConfig) + Send + Sync>;

/// Serve the admin API for `kernel` on `addr` (port 0 picks a free port).
/// `token` guards mutating endpoints. Must run inside an actix `System`.
pub async fn serve(
    kernel: Kernel,
    addr: SocketAddr,
    token: String,
) -> Result<AdminServer, KernelError> {
    serve_with(kernel, addr, token, std::sync::Arc::new(|_| {})).await
}

/// [`serve`] with `extra` routes (registered before the kernel's `/`, so an
/// extra route of the same path wins).
pub async fn serve_with(
    kernel: Kernel,
    addr: SocketAddr,
    token: String,
    extra: Extra,
) -> Result<AdminServer, KernelError> {
    if token.trim().is_empty() {
        return Err(KernelError::Bind {
            addr: addr.to_string(),
            reason: "the admin token must not be empty".into(),
        });
    }
    let state = web::Data::new(AdminState { kernel, token });
    let server = HttpServer::new(move || {
        let extra = std::sync::Arc::clone(&extra);
        App::new()
            .app_data(state.clone())
            .configure(move |cfg| extra(cfg))
            .route("/", web::get().to(dashboard))
            .route("/healthz", web::get().to(healthz))
            .route("/readyz", web::get().to(readyz))
            .route("/metrics", web::get().to(metrics))
            .route("/api/openapi.json", web::get().to(openapi))
            .route("/api/actors", web::get().to(actors))
            .route("/api/actors/{name}", web::get().to(actor))
            .route("/api/actors/{name}/restart", web::post().to(restart))
            .route("/api/actors/{name}/kill", web::post().to(kill))
            .route("/api/actors/{name}/move", web::post().to(move_actor))
            .route("/api/cluster", web::get().to(cluster))
            .route("/api/actors/{name}/stall", web::post().to(stall))
            .route("/api/actors/{name}/panic", web::post().to(panic))
            .route("/api/actors/{name}/hang", web::post().to(hang))
            .route("/api/actors/{name}/fault", web::post().to(child_fault))
            .route("/api/supervisor", web::get().to(supervisor))
            .route("/api/events", web::get().to(events))
            .default_service(web::to(not_found))
    })
    .workers(2)
    .disable_signals()
    .shutdown_timeout(1)
    .bind(addr)
    .map_err(|err| KernelError::Bind {
        addr: addr.to_string(),
        reason: err.to_string(),
    })?;
    let addr = server
        .addrs()
        .first()
        .copied()
        .ok_or_else(|| KernelError::Bind {
            addr: addr.to_string(),
            reason: "the server bound no address".into(),
        })?;
    let server = server.run();
    let handle = server.handle();
    actix_rt::spawn(server);
    Ok(AdminServer { handle, addr })
}

/// The body of every error answer.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What was wrong, in words.
    pub error: String,
}

fn error(status: actix_web::http::StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(ErrorBody {
        error: message.into(),
    })
}

/// Constant-time comparison of the presented token with ours. The scheme is
/// case-insensitive (RFC 7235); surrounding spaces never count.
pub fn authorized(req: &HttpRequest, token: &str) -> bool {
    let Some(presented) = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim_start().split_once(' '))
        .and_then(|(scheme, rest)| scheme.eq_ignore_ascii_case("bearer").then_some(rest))
    else {
        return false;
    };
    let (a, b) = (presented.trim().as_bytes(), token.trim().as_bytes());
    if b.is_empty() {
        return false;
    }
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
        .json(json!({ "error": "this endpoint needs Authorization: Bearer <admin token>" }))
}

#[utoipa::path(get, path = "/healthz", tag = "supervision",
    responses((status = 200, description = "`{\"status\":\"ok\"}` unless the supervisor escalated", body = serde_json::Value),
        (status = 503, description = "escalated, with the reason", body = serde_json::Value)))]
async fn healthz(state: web::Data<AdminState>) -> HttpResponse {
    match state.kernel.escalation() {
        None => HttpResponse::Ok().json(json!({ "status": "ok" })),
        Some(reason) => HttpResponse::ServiceUnavailable()
            .json(json!({ "status": "escalated", "reason": reason })),
    }
}

#[utoipa::path(get, path = "/readyz", tag = "supervision",
    responses((status = 200, description = "every permanent actor runs; `not_running` lists the others", body = serde_json::Value),
        (status = 503, description = "not ready yet, with the actors not running", body = serde_json::Value)))]
async fn readyz(state: web::Data<AdminState>) -> HttpResponse {
    let statuses = state.kernel.statuses();
    let waiting: Vec<_> = statuses
        .iter()
        .filter(|s| s.state != crate::status::State::Running)
        .map(|s| json!({ "name": s.name, "state": s.state }))
        .collect();
    if state.kernel.ready() {
        HttpResponse::Ok().json(json!({ "ready": true, "not_running": waiting }))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({ "ready": false, "not_running": waiting }))
    }
}

#[utoipa::path(get, path = "/metrics", tag = "supervision",
    responses((status = 200, description = "the metrics: OpenMetrics 1.0 text to a client whose Accept names application/openmetrics-text, the classic Prometheus text format 0.0.4 otherwise", content_type = "text/plain", body = String)))]
async fn metrics(req: HttpRequest, state: web::Data<AdminState>) -> HttpResponse {
    let openmetrics = req
        .headers()
        .get_all(header::ACCEPT)
        .filter_map(|value| value.to_str().ok())
        .any(|accept| accept.contains("application/openmetrics-text"));
    let body = state.kernel.metrics_text();
    if openmetrics {
        HttpResponse::Ok()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(body)
    } else {
        HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(crate::metrics::classic(&body))
    }
}

#[utoipa::path(get, path = "/api/actors", tag = "supervision",
    responses((status = 200, description = "every actor's status", body = [ActorStatus])))]
async fn actors(state: web::Data<AdminState>) -> HttpResponse {
    HttpResponse::Ok().json(state.kernel.statuses())
}

#[utoipa::path(get, path = "/api/actors/{name}", tag = "supervision", params(("name" = String, Path, description = "the actor's name in the config")),
    responses((status = 200, description = "the actor's status", body = ActorStatus), (status = 404, description = "unknown actor", body = ErrorBody)))]
async fn actor(state: web::Data<AdminState>, name: web::Path<String>) -> HttpResponse {
    match state.kernel.status(&name) {
        Ok(status) => HttpResponse::Ok().json(status),
        Err(err) => error(actix_web::http::StatusCode::NOT_FOUND, err.to_string()),
    }
}

#[utoipa::path(post, path = "/api/actors/{name}/restart", tag = "supervision", params(("name" = String, Path, description = "the actor's name in the config")),
    security(("bearer" = [])),
    responses((status = 200, description = "stopped and started again: `{restarted, pid}`", body = serde_json::Value),
        (status = 401, description = "missing or wrong token", body = ErrorBody), (status = 404, description = "unknown actor", body = ErrorBody),
        (status = 409, description = "another start is under way", body = ErrorBody),
        (status = 500, description = "the actor could not start", body = ErrorBody),
        (status = 503, description = "the supervisor stopped", body = ErrorBody)))]
async fn restart(
    req: HttpRequest,
    state: web::Data<AdminState>,
    name: web::Path<String>,
) -> HttpResponse {
    if !authorized(&req, &state.token) {
        return unauthorized();
    }
    match state.kernel.restart(&name).await {
        Ok(pid) => HttpResponse::Ok().json(json!({ "restarted": name.as_str(), "pid": pid })),
        Err(err) => error(status_of(&err), err.to_string()),
    }
}

/// Where to move an actor.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveTo {
    /// `inprocess`, `process` or `remote`.
    pub placement: crate::config::Placement,
    /// The node (remote).
    #[serde(default)]
    pub node: Option<String>,
    /// Nodes in order of preference (remote; after `node` if both are given).
    #[serde(default)]
    pub nodes: Vec<String>,
}

#[utoipa::path(post, path = "/api/actors/{name}/move", tag = "supervision", params(("name" = String, Path, description = "the actor's name in the config")),
    request_body = MoveTo,
    security(("bearer" = [])),
    responses((status = 200, description = "moved: the old instance stopped after answering what it was sent, the new one serves; calls sent meanwhile waited in the mailbox: `{moved, placement, node, pid, pause_ms}`", body = serde_json::Value),
        (status = 400, description = "a body that is not a placement", body = ErrorBody),
        (status = 401, description = "missing or wrong token", body = ErrorBody), (status = 404, description = "unknown actor", body = ErrorBody),
        (status = 409, description = "the move does not fit (no cluster, a node without remote, another start under way)", body = ErrorBody),
        (status = 500, description = "the actor could not start in its new place", body = ErrorBody)))]
async fn move_actor(
    req: HttpRequest,
    state: web::Data<AdminState>,
    name: web::Path<String>,
    body: Result<web::Json<MoveTo>, actix_web::Error>,
) -> HttpResponse {
    if !authorized(&req, &state.token) {
        return unauthorized();
    }
    let to = match body {
        Ok(body) => body.into_inner(),
        Err(err) => {
            return error(
                actix_web::http::StatusCode::BAD_REQUEST,
                format!(
                    "expected {{\"placement\": \"inprocess\" | \"process\" | \"remote\", \"node\": \"NAME\"}}: {err}"
                ),
            );
        }
    };
    // `node` and `nodes` together: `node` first, then the others.
    let mut nodes: Vec<String> = to.node.into_iter().collect();
    for node in to.nodes {
        if !nodes.contains(&node) {
            nodes.push(node);
        }
    }
    let started = std::time::Instant::now();
    match state.kernel.relocate(&name, to.placement, nodes).await {
        Ok(pid) => {
            let status = state.kernel.status(&name).ok();
            HttpResponse::Ok().json(json!({
                "moved": name.as_str(),
                "placement": to.placement,
                "node": status.and_then(|s| s.node),
                "pid": pid,
                "pause_ms": started.elapsed().as_secs_f64() * 1e3,
            }))
        }
        Err(err) => error(status_of(&err), err.to_string()),
    }
}

#[utoipa::path(get, path = "/api/cluster", tag = "supervision",
    responses((status = 200, description = "the cluster: `{nats_url, kernel_id, node_timeout_ms, nodes: [{name, host, pid, cpus, capacity, instances, silent_ms, up}]}`, or `null` without a [cluster]", body = serde_json::Value)))]
async fn cluster(state: web::Data<AdminState>) -> HttpResponse {
    HttpResponse::Ok().json(state.kernel.cluster_status())
}

#[utoipa::path(post, path = "/api/actors/{name}/kill", tag = "supervision", params(("name" = String, Path, description = "the actor's name in the config")),
    security(("bearer" = [])),
    responses((status = 202, description = "killed (SIGKILL to a child, a panic injected in-process): `{killed, pid, generation}`; the supervisor restarts it per policy", body = serde_json::Value),
        (status = 401, description = "missing or wrong token", body = ErrorBody), (status = 404, description = "unknown actor", body = ErrorBody), (status = 503, description = "the supervisor stopped", body = ErrorBody)))]
async fn kill(
    req: HttpRequest,
    state: web::Data<AdminState>,
    name: web::Path<String>,
) -> HttpResponse {
    fault(req, state, name, "killed", |kernel, name| {
        kernel.kill(name, "killed through the admin API")
    })
}

#[derive(Deserialize)]
struct StallMs {
    ms: u32,
}

/// The longest stall the admin API injects (a stall is per request).
const STALL_MAX_MS: u32 = 60_000;

#[utoipa::path(post, path = "/api/actors/{name}/stall", tag = "supervision",
    params(("name" = String, Path, description = "the actor's name in the config"), ("ms" = u32, Query, minimum = 0, maximum = 60000, description = "sleep this long before every request from now on, 0..=60000 (0 ends the stall)")),
    security(("bearer" = [])),
    responses((status = 200, description = "`{stalled, ms}`", body = serde_json::Value),
        (status = 400, description = "ms missing or over 60000", body = ErrorBody),
        (status = 401, description = "missing or wrong token", body = ErrorBody), (status = 404, description = "unknown actor", body = ErrorBody)))]
async fn stall(
    req: HttpRequest,
    state: web::Data<AdminState>,
    name: web::Path<String>,
    query: Result<web::Query<StallMs>, actix_web::Error>,
) -> HttpResponse {
    if !authorized(&req, &state.token) {
        return unauthorized();
    }
    let ms = match parse_query(query, "?ms=N (0..=60000; 0 ends the stall)") {
        Ok(StallMs { ms }) if ms <= STALL_MAX_MS => ms,
        Ok(StallMs { ms }) => {
            return error(
                actix_web::http::StatusCode::BAD_REQUEST,
                format!("ms={ms} is over {STALL_MAX_MS}"),
            );
        }
        Err(response) => return *response,
    };
    match state
        .kernel
        .inject(&name, warden_transport::InjectedFault::Stall(ms))
    {
        Ok(()) => HttpResponse::Ok().json(json!({ "stalled": name.as_str(), "ms": ms })),
        Err(err) => error(status_of(&err), err.to_string()),
    }
}

#[utoipa::path(post, path = "/api/actors/{name}/panic", tag = "supervision",
    params(("name" = String, Path, description = "the actor's name in the config")),
    security(("bearer" = [])),
    responses((status = 202, description = "the instance panics in its handling path, as if the actor had: `{panicked, pid, generation}`; the supervisor restarts it per policy", body = serde_json::Value),
        (status = 401, description = "missing or wrong token", body = ErrorBody),
        (status = 404, description = "unknown actor", body = ErrorBody)))]
async fn panic(
    req: HttpRequest,
    state: web::Data<AdminState>,
    name: web::Path<String>,
) -> HttpResponse {
    fault(req, state, name, "panicked", |kernel, name| {
        kernel.inject(name, warden_transport::InjectedFault::Panic)
    })
}

#[utoipa::path(post, path = "/api/actors/{name}/hang", tag = "supervision",
    params(("name" = String, Path, description = "the actor's name in the config")),
    security(("bearer" = [])),
    responses((status = 202, description = "the instance stops answering, heartbeats included, until the supervisor finds it hung and replaces it: `{hung, pid, generation}`", body = serde_json::Value),
        (status = 401, description = "missing or wrong token", body = ErrorBody),
        (status = 404, description = "unknown actor", body = ErrorBody)))]
async fn hang(
    req: HttpRequest,
    state: web::Data<AdminState>,
    name: web::Path<String>,
) -> HttpResponse {
    fault(req, state, name, "hung", |kernel, name| {
        kernel.inject(name, warden_transport::InjectedFault::Hang)
    })
}

/// A fault of a child's channel, as `?kind=` names it.
#[derive(Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
enum ChildFault {
    Garbage,
    Oversize,
    Exit,
    Linger,
}

#[derive(Deserialize)]
struct FaultKind {
    kind: ChildFault,
}

/// The request's query, or the 400 that says what was wrong and what to give.
fn parse_query<T>(
    query: Result<web::Query<T>, actix_web::Error>,
    usage: &str,
) -> Result<T, Box<HttpResponse>> {
    query.map(web::Query::into_inner).map_err(|err| {
        Box::new(error(
            actix_web::http::StatusCode::BAD_REQUEST,
            format!("give {usage}: {err}"),
        ))
    })
}

#[utoipa::path(post, path = "/api/actors/{name}/fault", tag = "supervision",
    params(("name" = String, Path, description = "the actor's name in the config"),
        ("kind" = ChildFault, Query, description = "`garbage` (bytes that decode as no message on the channel to the kernel), `oversize` (one message over the transport's limit), `exit` (the child exits with code 3), `linger` (the child shuts its sockets to the kernel and keeps running)")),
    security(("bearer" = [])),
    responses((status = 202, description = "the child misbehaves on its channel or exits: `{faulted, pid, generation}`; the kernel kills it (if it still runs) and the supervisor restarts it per policy", body = serde_json::Value),
        (status = 400, description = "kind missing or not one of the four", body = ErrorBody),
        (status = 401, description = "missing or wrong token", body = ErrorBody),
        (status = 404, description = "unknown actor", body = ErrorBody),
        (status = 409, description = "the actor runs in the kernel process: these faults are a child's", body = ErrorBody)))]
async fn child_fault(
    req: HttpRequest,
    state: web::Data<AdminState>,
    name: web::Path<String>,
    query: Result<web::Query<FaultKind>, actix_web::Error>,
) -> HttpResponse {
    if !authorized(&req, &state.token) {
        return unauthorized();
    }
    let injected = match parse_query(query, "?kind=garbage|oversize|exit|linger") {
        Ok(FaultKind { kind }) => match kind {
            ChildFault::Garbage => warden_transport::InjectedFault::Garbage,
            ChildFault::Oversize => warden_transport::InjectedFault::Oversize,
            ChildFault::Exit => warden_transport::InjectedFault::Exit(3),
            ChildFault::Linger => warden_transport::InjectedFault::Linger,
        },
        Err(response) => return *response,
    };
    fault(req, state, name, "faulted", |kernel, name| {
        kernel.inject(name, injected)
    })
}

/// Strike `name`'s running instance with `act` (kill, or one of the drill's
/// injected faults) and answer `202 {done: name, pid, generation}` of the
/// instance struck.
fn fault(
    req: HttpRequest,
    state: web::Data<AdminState>,
    name: web::Path<String>,
    done: &str,
    act: impl FnOnce(&Kernel, &str) -> Result<(), KernelError>,
) -> HttpResponse {
    if !authorized(&req, &state.token) {
        return unauthorized();
    }
    let before = match state.kernel.status(&name) {
        Ok(status) => status,
        Err(err) => return error(actix_web::http::StatusCode::NOT_FOUND, err.to_string()),
    };
    match act(&state.kernel, &name) {
        Ok(()) => HttpResponse::Accepted().json(json!({
            done: name.as_str(),
            "pid": before.pid,
            "generation": before.generation,
        })),
        Err(err) => error(status_of(&err), err.to_string()),
    }
}

#[utoipa::path(get, path = "/api/supervisor", tag = "supervision",
    responses((status = 200, description = "the supervisor: `strategy`, `max_restarts` within `within_secs`, heartbeat period and misses, backoff, `escalated` (null or why), and its children in start order", body = serde_json::Value)))]
async fn supervisor(state: web::Data<AdminState>) -> HttpResponse {
    let config = state.kernel.config();
    let s = &config.supervisor;
    HttpResponse::Ok().json(json!({
        "strategy": s.strategy,
        "max_restarts": s.max_restarts,
        "within_secs": s.within.as_secs_f64(),
        "heartbeat_ms": s.heartbeat.as_millis() as u64,
        "heartbeat_misses": s.heartbeat_misses,
        "backoff_initial_ms": s.backoff_initial.as_millis() as u64,
        "backoff_max_ms": s.backoff_max.as_millis() as u64,
        "escalated": state.kernel.escalation(),
        "children": config.actors.iter().map(|a| json!({
            "name": a.name, "kind": a.kind, "placement": a.placement,
        })).collect::<Vec<_>>(),
    }))
}

/// The HTTP status a kernel error stands for.
fn status_of(err: &KernelError) -> actix_web::http::StatusCode {
    use actix_web::http::StatusCode;
    match err {
        KernelError::UnknownActor(_) => StatusCode::NOT_FOUND,
        KernelError::WrongKind { .. } => StatusCode::BAD_REQUEST,
        // Another start is under way: try again.
        KernelError::Start {
            source: crate::error::StartError::AlreadyRunning(_),
            ..
        } => StatusCode::CONFLICT,
        // The actor could not start: the request was fine, the server failed it.
        KernelError::Start { .. } | KernelError::Boot { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        // Nothing restarts any more.
        KernelError::Stopped(_) => StatusCode::SERVICE_UNAVAILABLE,
        // The request does not fit the actor's placement.
        KernelError::Unsupported { .. } => StatusCode::CONFLICT,
        KernelError::Bind { .. } | KernelError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// Event ids are documented (and accepted) as OpenAPI's `int64`, 0 and up.
#[derive(Deserialize)]
struct Since {
    #[serde(default)]
    since: i64,
}

#[utoipa::path(get, path = "/api/events", tag = "supervision",
    params(("since" = Option<i64>, Query, minimum = 0, description = "only events with a larger id (default 0)")),
    responses((status = 200, description = "supervisor events, oldest first", body = [Event]),
        (status = 400, description = "since is not a non-negative integer", body = ErrorBody)))]
async fn events(
    state: web::Data<AdminState>,
    query: Result<web::Query<Since>, actix_web::Error>,
) -> HttpResponse {
    match query {
        Ok(query) if query.since >= 0 => {
            HttpResponse::Ok().json(state.kernel.events_since(query.since.unsigned_abs()))
        }
        Ok(query) => error(
            actix_web::http::StatusCode::BAD_REQUEST,
            format!("since must be a non-negative integer, not {}", query.since),
        ),
        Err(err) => error(
            actix_web::http::StatusCode::BAD_REQUEST,
            format!("since must be a non-negative integer: {err}"),
        ),
    }
}

/// Every route the server answers and its methods, from the OpenAPI
/// document (which `tests/wire.rs` proves lists every registered route), so
/// that a known path asked with another method is `405` with `Allow`, not
/// `404`. The binary registers the merged document's as app data; a kernel
/// served alone uses its own.
pub struct KnownRoutes(Vec<(Vec<String>, Vec<&'static str>)>);

impl KnownRoutes {
    /// The routes of `doc`.
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("OPTIONS", item.options.is_some()),
                    ("HEAD", item.head.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("TRACE", item.trace.is_some()),
                ]
                .into_iter()
                .filter_map(|(method, has)| has.then_some(method))
                .collect();
                (path.split('/').map(str::to_string).collect(), methods)
            })
            .collect();
        KnownRoutes(routes)
    }

    /// The methods `path` answers to, if it is a route at all.
    pub fn methods(&self, path: &str) -> Option<&[&'static str]> {
        let segments: Vec<&str> = path.split('/').collect();
        self.0
            .iter()
            .find(|(pattern, _)| {
                pattern.len() == segments.len()
                    && pattern.iter().zip(&segments).all(|(p, s)| {
                        p == s || (p.starts_with('{') && p.ends_with('}') && !s.is_empty())
                    })
            })
            .map(|(_, methods)| methods.as_slice())
    }
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    static OWN: std::sync::OnceLock<KnownRoutes> = std::sync::OnceLock::new();
    let registered = req.app_data::<web::Data<KnownRoutes>>();
    let known = match registered {
        Some(known) => known.get_ref(),
        None => OWN.get_or_init(|| KnownRoutes::from_openapi(&openapi_document())),
    };
    match known.methods(req.path()) {
        Some(methods) if !methods.is_empty() => {
            let allow = methods.join(", ");
            HttpResponse::MethodNotAllowed()
                .insert_header((header::ALLOW, allow.clone()))
                .json(ErrorBody {
                    error: format!(
                        "{} {}: this endpoint answers {allow}",
                        req.method(),
                        req.path()
                    ),
                })
        }
        _ => error(
            actix_web::http::StatusCode::NOT_FOUND,
            format!("no such endpoint: {} {}", req.method(), req.path()),
        ),
    }
}

#[utoipa::path(get, path = "/api/openapi.json", tag = "supervision",
    responses((status = 200, description = "this document", body = serde_json::Value)))]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(openapi_document())
}

/// The admin API's OpenAPI document, generated from the handlers above
/// (utoipa), for a binary that merges its own paths into it.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    AdminDoc::openapi()
}

/// The admin API's paths and schemas.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(title = "Warden admin API", description = "Supervision, the live frame, the scene store over WebSocket, perception, topics. Mutating endpoints need `Authorization: Bearer <admin token>`."),
    paths(dashboard, healthz, readyz, metrics, openapi, actors, actor, restart, move_actor, cluster, kill, stall, panic, hang, child_fault, supervisor, events),
    components(schemas(ErrorBody, ChildFault, MoveTo, ActorStatus, Event, crate::status::State, crate::config::Placement)),
    modifiers(&BearerScheme),
    tags((name = "supervision", description = "actors, their restarts and faults, supervisor events, health and metrics"))
)]
struct AdminDoc;

/// Adds the `bearer` security scheme the mutating endpoints name.
pub struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme(
                "bearer",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
            );
    }
}

#[utoipa::path(get, path = "/", tag = "supervision",
    responses((status = 200, description = "the dashboard page", content_type = "text/html", body = String)))]
async fn dashboard() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(crate::admin_doc::DASHBOARD)
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::authorized;

    fn with(header: Option<&str>) -> actix_web::HttpRequest {
        let mut req = TestRequest::default();
        if let Some(value) = header {
            req = req.insert_header(("Authorization", value));
        }
        req.to_http_request()
    }

    #[test]
    fn only_the_configured_bearer_token_is_accepted() {
        let token = "s3cret";
        assert!(authorized(&with(Some("Bearer s3cret")), token));
        assert!(
            authorized(&with(Some("bearer s3cret")), token),
            "scheme case"
        );
        assert!(authorized(&with(Some("Bearer  s3cret ")), token), "spaces");
        assert!(
            authorized(&with(Some("Bearer s3cret")), " s3cret\n"),
            "configured spaces"
        );
        assert!(!authorized(&with(None), token));
        assert!(!authorized(&with(Some("Bearer s3cre")), token));
        assert!(!authorized(&with(Some("Basic s3cret")), token));
        assert!(!authorized(&with(Some("s3cret")), token));
        assert!(
            !authorized(&with(Some("Bearer ")), ""),
            "an empty token never matches"
        );
    }
}
