//! Seed 003's HTTP API over the perception actor, with the seed's envelope
//! (`{"status":"success","data":…}` / `{"status":"error","message":…}`):
//!
//! - `GET /api/perception/detections`, `GET /api/perception/tracks`,
//!   `GET /api/timeline/predictions` — the latest frame of each topic,
//!   decoded (CRC checked) when it arrived and kept in memory: a request
//!   never waits on the actor;
//! - `GET /api/perception/stats` — rates, the latest frame id, latency, CRC
//!   failures (the actor's own figures are refreshed every second);
//! - `GET /api/health` — 200 `healthy` / 503 `unhealthy` with the checks;
//! - `POST /api/timeline/refresh` and `POST /api/perception/config` — the
//!   seed's commands (admin token, unless `[kernel] open_writes`), acked with
//!   their `request_id`; a bad config is refused naming the field.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};
use warden_kernel::{ActorRef, CallError, Kernel, State};
use warden_perception::actor::{
    Command, ConfigPatch, DETECTIONS, PerceptionActor, PerceptionMsg, PerceptionReply,
    PerceptionStats, TIMELINES, TRACKS, WireFrame,
};
use warden_perception::wire::{
    DetectionFrame, FrameKind, TimelinesFrame, TracksFrame, WireError, peek_header,
};

/// A frame older than this is not fresh (detections and tracks).
const FRESH: Duration = Duration::from_secs(2);
/// How long a command waits for the actor.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(3);

/// The seed's success envelope.
pub(crate) fn success(data: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "success", "data": data}))
}

/// The seed's error envelope.
pub(crate) fn failure(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(SeedError {
        status: "error".into(),
        message: message.into(),
    })
}

/// A wire frame as JSON (decoded and CRC-checked).
pub fn wire_json(frame: &WireFrame) -> Result<Value, WireError> {
    let header = peek_header(&frame.wire)?;
    let common = |key: &str, records: Value| {
        json!({
            "frame_id": header.frame_id,
            "timestamp_ms": header.timestamp_ms,
            "count": header.count,
            "crc32": format!("{:08x}", frame.crc32),
            key: records,
        })
    };
    Ok(match header.kind {
        FrameKind::Detections => {
            let decoded = DetectionFrame::decode(&frame.wire)?;
            common(
                "detections",
                serde_json::to_value(&decoded.detections).unwrap_or(Value::Null),
            )
        }
        FrameKind::Tracks => {
            let decoded = TracksFrame::decode(&frame.wire)?;
            common(
                "tracks",
                serde_json::to_value(&decoded.tracks).unwrap_or(Value::Null),
            )
        }
        FrameKind::Timelines => {
            let decoded = TimelinesFrame::decode(&frame.wire)?;
            common(
                "timelines",
                serde_json::to_value(&decoded.timelines).unwrap_or(Value::Null),
            )
        }
    })
}

struct Kept {
    data: Value,
    at: Instant,
}

#[derive(Default)]
struct Latest {
    detections: Option<Kept>,
    tracks: Option<Kept>,
    timelines: Option<Kept>,
    /// Arrival times of the last tracks frames (for the rate).
    arrivals: VecDeque<Instant>,
    stats: Option<PerceptionStats>,
    stats_error: Option<String>,
    last_crc_failure: Option<Instant>,
    last_error: Option<String>,
}

/// The perception endpoints of one kernel (its first perception actor).
pub struct PerceptionApi {
    kernel: Kernel,
    actor: ActorRef<PerceptionActor>,
    latest: Mutex<Latest>,
    frames: AtomicU64,
    crc_failures: AtomicU64,
    rejected: AtomicU64,
    requests: AtomicU64,
}

impl std::fmt::Debug for PerceptionApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerceptionApi")
            .field("actor", &self.actor.name())
            .finish_non_exhaustive()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl PerceptionApi {
    /// The endpoints over `actor`; spawns the task that keeps the latest
    /// frames on the current actix runtime.
    pub fn start(kernel: &Kernel, actor: ActorRef<PerceptionActor>) -> Arc<Self> {
        let api = Arc::new(PerceptionApi {
            kernel: kernel.clone(),
            actor,
            latest: Mutex::new(Latest::default()),
            frames: AtomicU64::new(0),
            crc_failures: AtomicU64::new(0),
            rejected: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        });
        actix_rt::spawn(keep(Arc::downgrade(&api), kernel.clone()));
        api
    }

    fn take<E: std::fmt::Display>(&self, topic: &str, frame: Result<WireFrame, E>) {
        let now = Instant::now();
        let decoded = frame
            .map_err(|err| format!("{topic}: a malformed value: {err}"))
            .and_then(|frame| {
                wire_json(&frame).map_err(|err| {
                    if matches!(err, WireError::ChecksumMismatch { .. }) {
                        self.crc_failures.fetch_add(1, Ordering::Relaxed);
                    }
                    format!("{topic}: {err}")
                })
            });
        let mut latest = lock(&self.latest);
        match decoded {
            Ok(data) => {
                self.frames.fetch_add(1, Ordering::Relaxed);
                let kept = Some(Kept { data, at: now });
                match topic {
                    DETECTIONS => latest.detections = kept,
                    TRACKS => {
                        latest.tracks = kept;
                        latest.arrivals.push_back(now);
                        while latest.arrivals.len() > 50 {
                            latest.arrivals.pop_front();
                        }
                    }
                    _ => latest.timelines = kept,
                }
            }
            Err(err) => {
                self.rejected.fetch_add(1, Ordering::Relaxed);
                if err.contains("checksum") {
                    latest.last_crc_failure = Some(now);
                }
                tracing::warn!(%err, "a perception frame was rejected");
                latest.last_error = Some(err);
            }
        }
    }

    fn kept(&self, which: &str) -> HttpResponse {
        self.requests.fetch_add(1, Ordering::Relaxed);
        let latest = lock(&self.latest);
        let kept = match which {
            DETECTIONS => &latest.detections,
            TRACKS => &latest.tracks,
            _ => &latest.timelines,
        };
        match kept {
            Some(kept) => {
                let mut data = kept.data.clone();
                if let Some(object) = data.as_object_mut() {
                    object.insert("age_ms".into(), json!(kept.at.elapsed().as_millis() as u64));
                }
                success(data)
            }
            None => failure(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "No data: actor {} has published no {which} frame yet",
                    self.actor.name()
                ),
            ),
        }
    }

    fn stats_json(&self) -> Value {
        let latest = lock(&self.latest);
        let fps = match (latest.arrivals.front(), latest.arrivals.back()) {
            (Some(first), Some(last)) if latest.arrivals.len() > 1 => {
                let span = last.duration_since(*first).as_secs_f64();
                if span > 0.0 {
                    (latest.arrivals.len() - 1) as f64 / span
                } else {
                    0.0
                }
            }
            _ => 0.0,
        };
        let frame_id = latest
            .tracks
            .as_ref()
            .and_then(|k| k.data.get("frame_id").cloned())
            .unwrap_or(Value::Null);
        json!({
            "actor": self.actor.name(),
            "fps": fps,
            "frame_id": frame_id,
            "latency_ms_p50": latest.stats.as_ref().map(|s| s.latency_ms_p50),
            "latency_ms_p99": latest.stats.as_ref().map(|s| s.latency_ms_p99),
            "crc_failures": self.crc_failures.load(Ordering::Relaxed),
            "frames_received": self.frames.load(Ordering::Relaxed),
            "frames_rejected": self.rejected.load(Ordering::Relaxed),
            "last_error": latest.last_error,
            "actor_stats": latest.stats,
            "actor_stats_error": latest.stats_error,
        })
    }

    fn health(&self) -> (bool, Value) {
        let status = self.kernel.status(self.actor.name()).ok();
        let latest = lock(&self.latest);
        let fresh = |kept: &Option<Kept>, within: Duration| {
            kept.as_ref().is_some_and(|k| k.at.elapsed() <= within)
        };
        let timeline_within = latest
            .stats
            .as_ref()
            .filter(|s| s.timeline_hz > 0.0)
            .map_or(Duration::from_secs(3), |s| {
                Duration::from_secs_f32((3.0 / s.timeline_hz).max(3.0))
            });
        let checks = json!({
            "kernel": self.kernel.escalation().is_none(),
            "perception_running": status.is_some_and(|s| s.state == State::Running),
            "detections_fresh": fresh(&latest.detections, FRESH),
            "tracks_fresh": fresh(&latest.tracks, FRESH),
            "timelines_fresh": fresh(&latest.timelines, timeline_within),
            "checksums_ok": latest.last_crc_failure.is_none_or(|at| at.elapsed() > Duration::from_secs(10)),
        });
        let healthy = checks
            .as_object()
            .is_some_and(|c| c.values().all(|v| v == &Value::Bool(true)));
        (healthy, checks)
    }
}

/// Keep the latest frames and the actor's figures.
async fn keep(api: std::sync::Weak<PerceptionApi>, kernel: Kernel) {
    let detections = kernel.subscribe::<WireFrame>(DETECTIONS, 4);
    let tracks = kernel.subscribe::<WireFrame>(TRACKS, 4);
    let timelines = kernel.subscribe::<WireFrame>(TIMELINES, 4);
    let mut refresh = tokio::time::interval(Duration::from_secs(1));
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (topic, frame) = tokio::select! {
            frame = detections.recv() => (DETECTIONS, frame),
            frame = tracks.recv() => (TRACKS, frame),
            frame = timelines.recv() => (TIMELINES, frame),
            _ = refresh.tick() => {
                let Some(actor) = api.upgrade().map(|api| api.actor.clone()) else {
                    return;
                };
                let reply = actor.call_timeout(PerceptionMsg::Stats, Duration::from_secs(1)).await;
                let Some(api) = api.upgrade() else {
                    return;
                };
                let mut latest = lock(&api.latest);
                match reply {
                    Ok(PerceptionReply::Stats(stats)) => {
                        latest.stats = Some(stats);
                        latest.stats_error = None;
                    }
                    Ok(other) => latest.stats_error = Some(format!("unexpected {other:?}")),
                    Err(err) => latest.stats_error = Some(err.to_string()),
                }
                continue;
            }
        };
        let Some(api) = api.upgrade() else {
            return;
        };
        api.take(topic, frame);
    }
}

#[utoipa::path(get, path = "/api/perception/detections", tag = "perception",
    responses((status = 200, description = "`{status: success, data: {frame_id, timestamp_ms, age_ms, count, detections: [...]}}` from memory", body = serde_json::Value),
        (status = 503, description = "nothing published yet", body = SeedError), (status = 404, description = "the config names no perception actor", body = SeedError)))]
pub(crate) async fn detections(api: web::Data<PerceptionApi>) -> HttpResponse {
    api.kept(DETECTIONS)
}

#[utoipa::path(get, path = "/api/perception/tracks", tag = "perception",
    responses((status = 200, description = "`{status: success, data: {frame_id, timestamp_ms, age_ms, count, tracks: [...]}}` from memory", body = serde_json::Value),
        (status = 503, description = "nothing published yet", body = SeedError), (status = 404, description = "the config names no perception actor", body = SeedError)))]
pub(crate) async fn tracks(api: web::Data<PerceptionApi>) -> HttpResponse {
    api.kept(TRACKS)
}

#[utoipa::path(get, path = "/api/timeline/predictions", tag = "perception",
    responses((status = 200, description = "`{status: success, data: {frame_id, timestamp_ms, age_ms, count, timelines: [...]}}` from memory", body = serde_json::Value),
        (status = 503, description = "nothing published yet", body = SeedError), (status = 404, description = "the config names no perception actor", body = SeedError)))]
pub(crate) async fn predictions(api: web::Data<PerceptionApi>) -> HttpResponse {
    api.kept(TIMELINES)
}

#[utoipa::path(get, operation_id = "perception_stats", path = "/api/perception/stats", tag = "perception",
    responses((status = 200, description = "fps, frame_id, latency p50/p99, CRC failures, frames received and rejected, the actor's own figures", body = serde_json::Value), (status = 404, description = "the config names no perception actor", body = SeedError)))]
pub(crate) async fn stats(api: web::Data<PerceptionApi>) -> HttpResponse {
    success(api.stats_json())
}

#[utoipa::path(get, operation_id = "perception_health", path = "/api/health", tag = "perception",
    responses((status = 200, description = "every check passes: `{status: healthy, checks: {...}}`", body = serde_json::Value),
        (status = 503, description = "`{status: unhealthy, checks: {...}}`, the failing checks false", body = serde_json::Value), (status = 404, description = "the config names no perception actor", body = SeedError)))]
pub(crate) async fn health(api: web::Data<PerceptionApi>) -> HttpResponse {
    let (healthy, checks) = api.health();
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    HttpResponse::build(status).json(json!({
        "status": if healthy { "healthy" } else { "unhealthy" },
        "checks": checks,
    }))
}

/// Who may send commands (see [`crate::WebOptions`]).
pub(crate) struct Writers {
    pub(crate) token: String,
    pub(crate) open: bool,
}

impl Writers {
    /// The refusal, when `req` may not send commands.
    fn refusal(&self, req: &HttpRequest) -> Option<HttpResponse> {
        if self.open || warden_kernel::admin::authorized(req, &self.token) {
            None
        } else {
            Some(HttpResponse::Unauthorized()
                .insert_header(("WWW-Authenticate", "Bearer"))
                .json(json!({"status": "error", "message": "this endpoint needs Authorization: Bearer <admin token>"})))
        }
    }
}

fn request_id(given: Option<String>) -> Result<String, &'static str> {
    match given {
        Some(id) if id.is_empty() || id.len() > 128 => {
            Err("field `request_id`: must be 1 to 128 bytes")
        }
        Some(id) => Ok(id),
        None => {
            static NEXT: AtomicU64 = AtomicU64::new(1);
            Ok(format!("http-{}", NEXT.fetch_add(1, Ordering::Relaxed)))
        }
    }
}

async fn command(api: &PerceptionApi, request_id: String, command: Command) -> HttpResponse {
    let msg = PerceptionMsg::Command {
        request_id,
        command,
    };
    match api.actor.call_timeout(msg, COMMAND_TIMEOUT).await {
        Ok(PerceptionReply::Ack(ack)) => success(serde_json::to_value(ack).unwrap_or(Value::Null)),
        Ok(other) => failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("unexpected {other:?}"),
        ),
        Err(CallError::Rejected { reason, .. }) => failure(StatusCode::BAD_REQUEST, reason),
        Err(err) => failure(StatusCode::SERVICE_UNAVAILABLE, err.to_string()),
    }
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Refresh {
    /// Echoed in the ack (made up when absent).
    #[schema(min_length = 1, max_length = 128)]
    request_id: Option<String>,
}

#[utoipa::path(post, path = "/api/timeline/refresh", tag = "perception", security(("bearer" = [])),
    request_body(content = Option<Refresh>, description = "optional; the request_id to ack by (one is made otherwise)"),
    responses((status = 200, description = "acked: `{status: success, data: {request_id}}`", body = serde_json::Value),
        (status = 400, description = "a malformed body, named", body = SeedError),
        (status = 401, description = "writes need the admin token", body = SeedError),
        (status = 503, description = "the perception actor did not answer", body = SeedError), (status = 404, description = "the config names no perception actor", body = SeedError)))]
pub(crate) async fn refresh(
    req: HttpRequest,
    body: web::Bytes,
    api: web::Data<PerceptionApi>,
    writers: web::Data<Writers>,
) -> HttpResponse {
    if let Some(refusal) = writers.refusal(&req) {
        return refusal;
    }
    // No body, or JSON `null`, is a refresh with a made-up request id.
    let parsed: Result<Refresh, _> = if body.iter().all(u8::is_ascii_whitespace) {
        Ok(Refresh::default())
    } else {
        serde_json::from_slice::<Option<Refresh>>(&body).map(Option::unwrap_or_default)
    };
    let body = match parsed {
        Ok(body) => body,
        Err(err) => return failure(StatusCode::BAD_REQUEST, format!("the body: {err}")),
    };
    match request_id(body.request_id) {
        Ok(id) => command(&api, id, Command::RefreshTimelines).await,
        Err(message) => failure(StatusCode::BAD_REQUEST, message),
    }
}

/// `POST /api/perception/config`'s body: the running config's keys.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigBody {
    /// Echoed in the ack (made up when absent).
    #[schema(min_length = 1, max_length = 128)]
    request_id: Option<String>,
    /// Camera frames a second.
    #[schema(minimum = 0.1, maximum = 60.0)]
    fps: Option<f32>,
    /// Timeline predictions a second; at most `fps` (the new or the running
    /// one), which the schema cannot say: over it is a 400 naming the key.
    #[schema(minimum = 0.01, maximum = 60.0)]
    timeline_hz: Option<f32>,
    /// How far ahead a timeline reaches: at least one step and at most 32
    /// steps (a 400 naming the key otherwise).
    #[schema(minimum = 0.001)]
    timeline_horizon_s: Option<f32>,
    /// The time between a timeline's points.
    #[schema(minimum = 0.001)]
    timeline_step_s: Option<f32>,
    /// The share of a box that must be inside the frame to count.
    #[schema(minimum = 0.0, maximum = 1.0)]
    min_inside: Option<f32>,
    /// Publish camera frames on `perception.frame`.
    publish_frames: Option<bool>,
}

#[utoipa::path(post, path = "/api/perception/config", tag = "perception", security(("bearer" = [])),
    request_body(content = ConfigBody, description = "the running config's keys to change; an unknown key is refused by name"),
    responses((status = 200, description = "applied: `{status: success, data: {request_id}}`", body = serde_json::Value),
        (status = 400, description = "an unknown key or a value out of range, named", body = SeedError),
        (status = 401, description = "writes need the admin token", body = SeedError),
        (status = 503, description = "the perception actor did not answer", body = SeedError), (status = 404, description = "the config names no perception actor", body = SeedError)))]
pub(crate) async fn configure(
    req: HttpRequest,
    body: web::Bytes,
    api: web::Data<PerceptionApi>,
    writers: web::Data<Writers>,
) -> HttpResponse {
    if let Some(refusal) = writers.refusal(&req) {
        return refusal;
    }
    let body: ConfigBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(err) => return failure(StatusCode::BAD_REQUEST, format!("the body: {err}")),
    };
    let patch = ConfigPatch {
        fps: body.fps,
        timeline_hz: body.timeline_hz,
        timeline_horizon_s: body.timeline_horizon_s,
        timeline_step_s: body.timeline_step_s,
        min_inside: body.min_inside,
        publish_frames: body.publish_frames,
    };
    if patch == ConfigPatch::default() {
        return failure(
            StatusCode::BAD_REQUEST,
            "the body names no key to change (fps, timeline_hz, timeline_horizon_s, \
             timeline_step_s, min_inside, publish_frames)",
        );
    }
    match request_id(body.request_id) {
        Ok(id) => command(&api, id, Command::ConfigUpdate(patch)).await,
        Err(message) => failure(StatusCode::BAD_REQUEST, message),
    }
}

/// Seed 003's error envelope: `{"status":"error","message":…}`.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub(crate) struct SeedError {
    /// Always `"error"`.
    status: String,
    /// What was wrong.
    message: String,
}
