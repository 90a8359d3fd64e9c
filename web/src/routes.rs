//! The live system's endpoints, added to the admin server:
//!
//! - `GET /api/frame.jpg` (`?quality=1..100`) and `GET /api/frame.png` —
//!   the compositor's latest frame, encoded on a blocking thread;
//! - `GET /api/stream.mjpeg` — `multipart/x-mixed-replace`, one part per
//!   frame, from the [`FrameHub`];
//! - `GET /api/compositor` — backend, demotion level, pacing, the slideshow,
//!   the age of every input, and the stream's figures;
//! - `GET /api/openapi.json` — the kernel's document with these paths added.
//!
//! Every frame's figures (`compositor.stats`) feed histograms on `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use bytes::{Bytes, BytesMut};
use serde::Deserialize;
use serde_json::{Value, json};
use warden_compositor::{
    Compositor, CompositorMsg, CompositorReply, FrameSample, RenderedFrame, STATS_TOPIC,
};
use warden_kernel::admin::Extra;
use warden_kernel::{ActorRef, Kernel};

use crate::encode;
use crate::frames::FrameHub;
use crate::perception::{self, PerceptionApi, Writers};
use crate::topics;
use crate::ws::{self, WsHub};
use warden_perception::actor::PerceptionActor;
use warden_store::actor::StoreActor;

/// The multipart boundary of the stream.
const BOUNDARY: &str = "warden-frame";
/// How long a frame request waits for the compositor.
const FRAME_TIMEOUT: Duration = Duration::from_secs(3);

/// Options of the live endpoints.
#[derive(Clone, Debug)]
pub struct WebOptions {
    /// JPEG quality of the stream and of `frame.jpg` by default.
    pub jpeg_quality: u8,
    /// The admin token: it lets a client write (scene updates over `/ws`,
    /// perception commands). Empty: nobody may, unless `open_writes`.
    pub token: String,
    /// Writes without the token (`[kernel] open_writes`).
    pub open_writes: bool,
    /// Origins besides this server's own that may open `/ws`.
    pub allowed_origins: Vec<String>,
}

impl Default for WebOptions {
    fn default() -> Self {
        WebOptions {
            jpeg_quality: 80,
            token: String::new(),
            open_writes: false,
            allowed_origins: Vec::new(),
        }
    }
}

/// The live endpoints of one kernel (see the module documentation).
#[derive(Debug)]
pub struct Web {
    kernel: Kernel,
    live: Option<Live>,
    ws: Option<Arc<WsHub>>,
    perception: Option<Arc<PerceptionApi>>,
    images: Option<Arc<crate::images::ImagesApi>>,
    options: WebOptions,
}

#[derive(Debug)]
struct Live {
    compositor: ActorRef<Compositor>,
    hub: FrameHub,
    /// The dashboard's preview: 640 pixels wide, at most 8 frames a second.
    preview: FrameHub,
}

/// The preview stream's shape and quality (`GET /api/preview.mjpeg`).
const PREVIEW: crate::frames::Shape = crate::frames::Shape {
    max_width: Some(640),
    max_fps: Some(8.0),
};
const PREVIEW_QUALITY: u8 = 70;

impl Web {
    /// The endpoints for `kernel`'s first compositor actor (without one they
    /// answer 404 saying so). Starts the frame hub's thread and, on the
    /// current actix runtime, the task that feeds the pacing histograms.
    pub fn start(kernel: &Kernel, options: WebOptions) -> std::io::Result<Arc<Self>> {
        let first = |kind: &str| {
            kernel
                .config()
                .actors
                .iter()
                .find(|spec| spec.kind == kind)
                .map(|spec| spec.name.clone())
        };
        let other = |err: warden_kernel::KernelError| std::io::Error::other(err.to_string());
        let ws = match first("store") {
            Some(name) => Some(WsHub::start(
                kernel,
                kernel.actor::<StoreActor>(&name).map_err(other)?,
                options.token.clone(),
                options.open_writes,
                options.allowed_origins.clone(),
            )),
            None => None,
        };
        let perception = match first("perception") {
            Some(name) => Some(PerceptionApi::start(
                kernel,
                kernel.actor::<PerceptionActor>(&name).map_err(other)?,
            )),
            None => None,
        };
        let images = match first("image_decode") {
            Some(name) => Some(Arc::new(crate::images::ImagesApi::new(
                kernel
                    .actor::<warden_image::actor::ImageDecode>(&name)
                    .map_err(other)?,
            ))),
            None => None,
        };
        let name = first("compositor");
        let live = match name {
            Some(name) => {
                let compositor = kernel
                    .actor::<Compositor>(&name)
                    .map_err(|err| std::io::Error::other(err.to_string()))?;
                let hub =
                    FrameHub::start(kernel.clone(), compositor.clone(), options.jpeg_quality)?;
                let preview = FrameHub::start_shaped(
                    kernel.clone(),
                    compositor.clone(),
                    PREVIEW_QUALITY,
                    PREVIEW,
                )?;
                feed_metrics(kernel);
                Some(Live {
                    compositor,
                    hub,
                    preview,
                })
            }
            None => None,
        };
        Ok(Arc::new(Web {
            kernel: kernel.clone(),
            live,
            ws,
            perception,
            images,
            options,
        }))
    }

    /// The frame hub, if there is a compositor.
    pub fn hub(&self) -> Option<&FrameHub> {
        self.live.as_ref().map(|live| &live.hub)
    }

    /// The WebSocket endpoint, if the config has a store.
    pub fn ws(&self) -> Option<&Arc<WsHub>> {
        self.ws.as_ref()
    }

    /// The routes, for [`warden_kernel::admin::serve_with`].
    pub fn routes(self: &Arc<Self>) -> Extra {
        let web = Arc::clone(self);
        let writers = Arc::new(Writers {
            token: self.options.token.clone(),
            open: self.options.open_writes,
        });
        let known = Arc::new(warden_kernel::admin::KnownRoutes::from_openapi(
            &openapi_document(),
        ));
        Arc::new(move |cfg: &mut web::ServiceConfig| {
            cfg.app_data(web::Data::from(Arc::clone(&known)))
                .app_data(web::Data::from(Arc::clone(&web)))
                .app_data(web::Data::new(web.kernel.clone()))
                .app_data(web::Data::from(Arc::clone(&writers)))
                .route("/api/frame.jpg", web::get().to(frame_jpg))
                .route("/api/frame.png", web::get().to(frame_png))
                .route("/api/stream.mjpeg", web::get().to(stream))
                .route("/api/preview.mjpeg", web::get().to(preview))
                .route("/", web::get().to(crate::dashboard::page))
                .route("/assets/{file}", web::get().to(crate::dashboard::asset))
                .route("/api/compositor", web::get().to(compositor))
                .route("/api/topics", web::get().to(topics::list))
                .route("/api/topics/stream", web::get().to(topics::stream))
                .route("/api/openapi.json", web::get().to(openapi));
            match &web.ws {
                Some(hub) => {
                    cfg.app_data(web::Data::from(Arc::clone(hub)))
                        .route("/ws", web::get().to(ws::upgrade))
                        .route("/api/ws", web::get().to(ws_stats));
                }
                None => {
                    let missing = || async {
                        error(
                            StatusCode::NOT_FOUND,
                            "the config names no store actor, so there is no /ws",
                        )
                    };
                    cfg.route("/ws", web::get().to(missing))
                        .route("/api/ws", web::get().to(missing));
                }
            }
            match &web.perception {
                Some(api) => {
                    cfg.app_data(web::Data::from(Arc::clone(api)))
                        .route(
                            "/api/perception/detections",
                            web::get().to(perception::detections),
                        )
                        .route("/api/perception/tracks", web::get().to(perception::tracks))
                        .route(
                            "/api/timeline/predictions",
                            web::get().to(perception::predictions),
                        )
                        .route("/api/perception/stats", web::get().to(perception::stats))
                        .route("/api/health", web::get().to(perception::health))
                        .route("/api/timeline/refresh", web::post().to(perception::refresh))
                        .route(
                            "/api/perception/config",
                            web::post().to(perception::configure),
                        );
                }
                None => {
                    let missing = || async {
                        perception::failure(
                            StatusCode::NOT_FOUND,
                            "the config names no perception actor",
                        )
                    };
                    for path in [
                        "/api/perception/detections",
                        "/api/perception/tracks",
                        "/api/timeline/predictions",
                        "/api/perception/stats",
                        "/api/health",
                    ] {
                        cfg.route(path, web::get().to(missing));
                    }
                    cfg.route("/api/timeline/refresh", web::post().to(missing))
                        .route("/api/perception/config", web::post().to(missing));
                }
            }
            match &web.images {
                Some(api) => {
                    cfg.app_data(web::Data::from(Arc::clone(api)))
                        .route("/api/images", web::get().to(crate::images::list))
                        .route("/api/images/{index}", web::get().to(crate::images::image));
                }
                None => {
                    let missing = || async {
                        error(
                            StatusCode::NOT_FOUND,
                            "the config names no image_decode actor",
                        )
                    };
                    cfg.route("/api/images", web::get().to(missing))
                        .route("/api/images/{index}", web::get().to(missing));
                }
            }
        })
    }

    fn live(&self) -> Option<&Live> {
        self.live.as_ref()
    }
}

/// The answer when the config names no compositor.
fn no_compositor() -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        "the config names no compositor actor, so there are no frames",
    )
}

/// Histograms of every frame's interval and render time, and late frames,
/// from `compositor.stats`.
fn feed_metrics(kernel: &Kernel) {
    let buckets = [
        0.002, 0.005, 0.010, 0.0167, 0.025, 0.0333, 0.040, 0.050, 0.0667, 0.100, 0.250, 1.0,
    ];
    let metrics = kernel.metrics();
    let interval = metrics.histogram(
        "compositor_frame_interval_seconds",
        "Time between the starts of consecutive frames",
        &buckets,
    );
    let render = metrics.histogram(
        "compositor_render_seconds",
        "Time to render one frame",
        &buckets,
    );
    let late = metrics.counter(
        "compositor_late_frames",
        "Frames whose interval exceeded 1.25 periods",
    );
    let frames = metrics.counter("compositor_frames", "Frames rendered");
    let stats = kernel.subscribe::<FrameSample>(STATS_TOPIC, 256);
    actix_rt::spawn(async move {
        while let Ok(sample) = stats.recv().await {
            frames.inc();
            if sample.frame > 0 {
                interval.observe(sample.interval_ms / 1000.0);
            }
            render.observe(sample.render_ms / 1000.0);
            if sample.late {
                late.inc();
            }
        }
    });
}

fn error(status: StatusCode, message: impl Into<String>) -> HttpResponse {
    HttpResponse::build(status).json(json!({ "error": message.into() }))
}

/// The compositor's latest frame, or the response that says why not.
async fn latest(live: &Live) -> Result<RenderedFrame, HttpResponse> {
    match live
        .compositor
        .call_timeout(CompositorMsg::Latest, FRAME_TIMEOUT)
        .await
    {
        Ok(CompositorReply::Frame(frame)) => Ok(frame),
        Ok(CompositorReply::Held(why)) => Err(error(StatusCode::SERVICE_UNAVAILABLE, why)),
        Ok(other) => Err(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the compositor answered {other:?}"),
        )),
        Err(err) => Err(error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("no frame: {err}"),
        )),
    }
}

#[derive(Deserialize)]
struct Quality {
    quality: Option<u8>,
}

async fn encoded(
    web: &Web,
    content_type: &'static str,
    encode: impl FnOnce(&RenderedFrame) -> Result<Vec<u8>, encode::EncodeError> + Send + 'static,
) -> HttpResponse {
    let Some(live) = web.live() else {
        return no_compositor();
    };
    let frame = match latest(live).await {
        Ok(frame) => frame,
        Err(response) => return response,
    };
    let number = frame.frame;
    match web::block(move || encode(&frame)).await {
        Ok(Ok(bytes)) => HttpResponse::Ok()
            .content_type(content_type)
            .insert_header(("Cache-Control", "no-store"))
            .insert_header(("X-Frame", number.to_string()))
            .body(bytes),
        Ok(Err(err)) => error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
        Err(err) => error(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
    }
}

#[utoipa::path(get, path = "/api/frame.jpg", tag = "frames",
    params(("quality" = Option<u8>, Query, minimum = 1, maximum = 100, description = "JPEG quality 1..=100 (default from the config)")),
    responses((status = 200, description = "the compositor's latest frame", content_type = "image/jpeg", body = Vec<u8>),
        (status = 400, description = "quality out of range", body = serde_json::Value),
        (status = 404, description = "no compositor in the config", body = serde_json::Value),
        (status = 503, description = "no frame yet, or the compositor is restarting", body = serde_json::Value)))]
async fn frame_jpg(
    web: web::Data<Web>,
    query: Result<web::Query<Quality>, actix_web::Error>,
) -> HttpResponse {
    let quality = match query {
        Ok(query) => match query.quality {
            None => web.options.jpeg_quality,
            Some(q) if (1..=100).contains(&q) => q,
            Some(q) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("quality={q} is outside 1..=100"),
                );
            }
        },
        Err(err) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("quality must be an integer 1..=100: {err}"),
            );
        }
    };
    encoded(&web, "image/jpeg", move |frame| {
        encode::jpeg(frame.rgba.as_ref(), frame.width, frame.height, quality)
    })
    .await
}

#[utoipa::path(get, path = "/api/frame.png", tag = "frames",
    responses((status = 200, description = "the compositor's latest frame", content_type = "image/png", body = Vec<u8>),
        (status = 404, description = "no compositor in the config", body = serde_json::Value),
        (status = 503, description = "no frame yet, or the compositor is restarting", body = serde_json::Value)))]
async fn frame_png(web: web::Data<Web>) -> HttpResponse {
    encoded(&web, "image/png", |frame| {
        encode::png(frame.rgba.as_ref(), frame.width, frame.height)
    })
    .await
}

/// One part of the multipart stream: its headers, the JPEG, the line end.
fn part(jpeg: &crate::frames::Jpeg) -> Bytes {
    let head = format!(
        "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nX-Frame: {}\r\n\r\n",
        jpeg.bytes.len(),
        jpeg.frame
    );
    let mut out = BytesMut::with_capacity(head.len() + jpeg.bytes.len() + 2);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&jpeg.bytes);
    out.extend_from_slice(b"\r\n");
    out.freeze()
}

#[utoipa::path(get, operation_id = "mjpeg_stream", path = "/api/stream.mjpeg", tag = "frames",
    responses((status = 200, description = "multipart/x-mixed-replace, one JPEG per frame, encoded once for every viewer; a slow client skips frames", content_type = "multipart/x-mixed-replace", body = Vec<u8>),
        (status = 404, description = "no compositor in the config", body = serde_json::Value)))]
async fn stream(web: web::Data<Web>) -> HttpResponse {
    match web.live() {
        Some(live) => mjpeg(&live.hub),
        None => no_compositor(),
    }
}

#[utoipa::path(get, path = "/api/preview.mjpeg", tag = "frames",
    responses((status = 200, description = "the dashboard's preview: as /api/stream.mjpeg, scaled to 640 pixels wide, at most 8 frames a second, quality 70 (a few percent of the full stream's encode cost)", content_type = "multipart/x-mixed-replace", body = Vec<u8>),
        (status = 404, description = "no compositor in the config", body = serde_json::Value)))]
async fn preview(web: web::Data<Web>) -> HttpResponse {
    match web.live() {
        Some(live) => mjpeg(&live.preview),
        None => no_compositor(),
    }
}

fn mjpeg(hub: &FrameHub) -> HttpResponse {
    let viewer = hub.viewer();
    // The body asks for its next part only once the previous one is
    // written: a slow client skips frames instead of queueing them.
    let parts = futures_util::stream::unfold(viewer, |mut viewer| async move {
        let jpeg = viewer.next().await?;
        Some((Ok::<_, actix_web::Error>(part(&jpeg)), viewer))
    });
    HttpResponse::Ok()
        .content_type(format!("multipart/x-mixed-replace; boundary={BOUNDARY}"))
        .insert_header(("Cache-Control", "no-store"))
        .streaming(parts)
}

/// Put the pacing figures at the top level, beside the rest.
fn flatten(status: &warden_compositor::CompositorStatus) -> Value {
    let mut value =
        serde_json::to_value(status).unwrap_or_else(|err| json!({ "error": err.to_string() }));
    if let Some(object) = value.as_object_mut()
        && let Some(Value::Object(pacing)) = object.remove("pacing")
    {
        object.extend(pacing);
    }
    value
}

#[utoipa::path(get, path = "/api/compositor", tag = "frames",
    responses((status = 200, description = "backend, demotion level, fps target and achieved, frame interval percentiles, late frames, the slideshow, input ages, the stream", body = serde_json::Value),
        (status = 404, description = "no compositor in the config", body = serde_json::Value),
        (status = 503, description = "the compositor did not answer", body = serde_json::Value)))]
async fn compositor(web: web::Data<Web>) -> HttpResponse {
    let Some(live) = web.live() else {
        return no_compositor();
    };
    match live
        .compositor
        .call_timeout(CompositorMsg::Status, FRAME_TIMEOUT)
        .await
    {
        Ok(CompositorReply::Status(status)) => {
            let mut value = flatten(&status);
            if let Some(object) = value.as_object_mut() {
                object.insert("actor".into(), json!(live.compositor.name()));
                object.insert(
                    "stream".into(),
                    serde_json::to_value(live.hub.stats()).unwrap_or(Value::Null),
                );
            }
            HttpResponse::Ok().json(value)
        }
        Ok(other) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the compositor answered {other:?}"),
        ),
        Err(err) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the compositor did not answer: {err}"),
        ),
    }
}

#[utoipa::path(get, path = "/api/ws", tag = "store",
    responses((status = 200, description = "the WebSocket layer's counters", body = ws::WsStats),
        (status = 404, description = "the config names no store actor", body = serde_json::Value)))]
async fn ws_stats(hub: web::Data<WsHub>) -> HttpResponse {
    HttpResponse::Ok().json(hub.stats())
}

async fn openapi() -> HttpResponse {
    HttpResponse::Ok().json(openapi_document())
}

/// The whole server's OpenAPI document: the kernel's paths and the live
/// system's, generated from the handlers (utoipa).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    use utoipa::OpenApi;
    let mut doc = warden_kernel::admin::openapi_document();
    doc.merge(LiveDoc::openapi());
    doc
}

/// The live system's paths and schemas.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(
        frame_jpg, frame_png, stream, preview, compositor, ws_stats,
        crate::dashboard::asset,
        ws::upgrade, topics::list, topics::stream,
        perception::detections, perception::tracks, perception::predictions,
        perception::stats, perception::health, perception::refresh, perception::configure,
        crate::images::list, crate::images::image
    ),
    components(schemas(crate::images::Fit, crate::images::Format, ws::WsStats, perception::SeedError, perception::ConfigBody, perception::Refresh)),
    tags(
        (name = "dashboard", description = "the live dashboard page and its assets"),
        (name = "frames", description = "the compositor's live frame: PNG, JPEG, an MJPEG stream, its figures"),
        (name = "store", description = "the scene store's protocol over WebSocket"),
        (name = "perception", description = "seed 003's API over the perception actor"),
        (name = "images", description = "the image decoder's source, and its images decoded, prescaled and encoded"),
        (name = "topics", description = "topic counters and a Server-Sent Events stream")
    )
)]
struct LiveDoc;
