//! The live topic stream for browsers:
//!
//! - `GET /api/topics` — every topic the bus has seen, its counters, and
//!   whether it can be streamed as JSON;
//! - `GET /api/topics/stream?topics=fft.bars,perception.tracks` — Server-Sent
//!   Events, one `event: <topic>` per value with its JSON as `data`. Each
//!   topic is latest-state per client: a client that reads slowly skips
//!   values, it never makes the server queue them. A comment line every
//!   15 s keeps proxies from closing an idle stream.
//!
//! Only topics with a JSON view are offered (`STREAMABLE`); a frame topic's
//! pixels, and `store.session` (other clients' frames), never are.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use bytes::Bytes;
use futures_util::future::select_all;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use tokio::sync::watch;
use warden_compositor::{FrameSample, STATS_TOPIC};
use warden_fft::actor::{FftBars, TOPIC as FFT_TOPIC};
use warden_kernel::{Kernel, Subscription};
use warden_perception::actor::{DETECTIONS, TIMELINES, TRACKS, WireFrame};
use warden_store::actor::{NOTIFY_TOPIC, StoreNotify};

use crate::perception::wire_json;

/// Topics with a JSON view.
pub const STREAMABLE: [&str; 6] = [
    FFT_TOPIC,
    TRACKS,
    DETECTIONS,
    TIMELINES,
    NOTIFY_TOPIC,
    STATS_TOPIC,
];
/// Most topics one stream may follow.
const MAX_TOPICS: usize = 16;
/// A comment this often on an idle stream.
const KEEPALIVE: Duration = Duration::from_secs(15);

/// `GET /api/topics`.
#[utoipa::path(get, operation_id = "topics", path = "/api/topics", tag = "topics",
    responses((status = 200, description = "`{topics: [{topic, published, delivered, dropped, streamable}]}`", body = serde_json::Value)))]
pub(crate) async fn list(kernel: web::Data<Kernel>) -> HttpResponse {
    let bus = kernel.bus();
    let mut names = bus.topics();
    for name in STREAMABLE {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_string());
        }
    }
    names.sort();
    let topics: Vec<Value> = names
        .iter()
        .map(|name| {
            let counters = bus.counters(name);
            json!({
                "topic": name,
                "published": counters.published,
                "delivered": counters.delivered,
                "dropped": counters.dropped,
                "streamable": STREAMABLE.contains(&name.as_str()),
            })
        })
        .collect();
    HttpResponse::Ok().json(json!({ "topics": topics }))
}

#[derive(Deserialize)]
pub(crate) struct StreamQuery {
    topics: Option<String>,
    /// At most this many values a second per topic (the latest is kept).
    max_hz: Option<f64>,
}

/// Values of one topic → the client's latest-value slot, until the client
/// goes; at most one value per `every` (the latest one, into which `merge`
/// folds what must not be lost with the ones skipped — a beat; nothing is
/// converted to JSON that the client will not get).
async fn feed<T: DeserializeOwned>(
    sub: Subscription<T>,
    tx: watch::Sender<Option<String>>,
    view: fn(T) -> Result<Value, String>,
    merge: fn(&T, &mut T),
    every: Duration,
) {
    let mut held: Option<T> = None;
    let mut last: Option<tokio::time::Instant> = None;
    loop {
        let wait = match (&held, last) {
            (Some(_), Some(at)) => {
                (at + every).saturating_duration_since(tokio::time::Instant::now())
            }
            _ => Duration::from_secs(1),
        };
        match tokio::time::timeout(wait, sub.recv()).await {
            Ok(Ok(mut value)) => {
                if let Some(skipped) = &held {
                    merge(skipped, &mut value);
                }
                held = Some(value);
            }
            Ok(Err(err)) => {
                tx.send_replace(Some(
                    json!({ "error": format!("a malformed value: {err}") }).to_string(),
                ));
            }
            Err(_idle) => {}
        }
        if held.is_some() && last.is_none_or(|at| at.elapsed() >= every) {
            let json = match held.take().map(view) {
                Some(Ok(json)) => json,
                Some(Err(err)) => json!({ "error": err }),
                None => continue,
            };
            tx.send_replace(Some(json.to_string()));
            last = Some(tokio::time::Instant::now());
        }
        if tx.is_closed() {
            return;
        }
    }
}

/// Nothing of a skipped value is kept.
fn latest<T>(_skipped: &T, _next: &mut T) {}

/// A beat or an onset in a skipped hop is carried to the next one sent.
fn beats(skipped: &FftBars, next: &mut FftBars) {
    next.beat |= skipped.beat;
    next.onset |= skipped.onset;
}

fn plain<T: serde::Serialize>(value: T) -> Result<Value, String> {
    serde_json::to_value(value).map_err(|err| err.to_string())
}

fn wire(frame: WireFrame) -> Result<Value, String> {
    wire_json(&frame).map_err(|err| err.to_string())
}

fn follow(kernel: &Kernel, topic: &str, every: Duration) -> watch::Receiver<Option<String>> {
    let (tx, rx) = watch::channel(None);
    match topic {
        FFT_TOPIC => {
            actix_rt::spawn(feed::<FftBars>(
                kernel.subscribe(topic, 1),
                tx,
                plain,
                beats,
                every,
            ));
        }
        NOTIFY_TOPIC => {
            actix_rt::spawn(feed::<StoreNotify>(
                kernel.subscribe(topic, 1),
                tx,
                plain,
                latest,
                every,
            ));
        }
        STATS_TOPIC => {
            actix_rt::spawn(feed::<FrameSample>(
                kernel.subscribe(topic, 1),
                tx,
                plain,
                latest,
                every,
            ));
        }
        _ => {
            actix_rt::spawn(feed::<WireFrame>(
                kernel.subscribe(topic, 1),
                tx,
                wire,
                latest,
                every,
            ));
        }
    }
    rx
}

/// `GET /api/topics/stream?topics=…`.
#[utoipa::path(get, operation_id = "topic_stream", path = "/api/topics/stream", tag = "topics",
    params(("topics" = String, Query, description = "comma-separated streamable topics (fft.bars, perception.tracks, perception.detections, perception.timelines, store.notify, compositor.stats)"),
        ("max_hz" = Option<f64>, Query, description = "at most this many values a second per topic, the latest kept (0.1 to 1000; default: every value)")),
    responses((status = 200, description = "Server-Sent Events: `event: <topic>` with the latest value as JSON; a slow client skips values", content_type = "text/event-stream", body = String),
        (status = 400, description = "no topics, too many, one that cannot be streamed (named), or a max_hz out of range", body = serde_json::Value)))]
pub(crate) async fn stream(
    query: web::Query<StreamQuery>,
    kernel: web::Data<Kernel>,
) -> HttpResponse {
    let wanted: Vec<String> = match &query.topics {
        Some(list) => list
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        None => STREAMABLE.iter().map(|t| t.to_string()).collect(),
    };
    if wanted.is_empty() || wanted.len() > MAX_TOPICS {
        return HttpResponse::build(StatusCode::BAD_REQUEST).json(json!({
            "error": format!("name 1 to {MAX_TOPICS} topics: ?topics=fft.bars,perception.tracks")
        }));
    }
    if let Some(bad) = wanted.iter().find(|t| !STREAMABLE.contains(&t.as_str())) {
        return HttpResponse::build(StatusCode::BAD_REQUEST).json(json!({
            "error": format!("topic {bad:?} cannot be streamed; these can: {}", STREAMABLE.join(", "))
        }));
    }
    let every = match query.max_hz {
        None => Duration::ZERO,
        Some(hz) if hz.is_finite() && (0.1..=1000.0).contains(&hz) => {
            Duration::from_secs_f64(1.0 / hz)
        }
        Some(hz) => {
            return HttpResponse::build(StatusCode::BAD_REQUEST).json(json!({
                "error": format!("max_hz={hz}: give 0.1 to 1000 values a second, or leave it out for every value")
            }));
        }
    };
    let followed: Vec<(String, watch::Receiver<Option<String>>)> = wanted
        .iter()
        .map(|topic| (topic.clone(), follow(&kernel, topic, every)))
        .collect();
    let hello = format!(": warden topic stream: {}\n\n", wanted.join(","));
    let body = futures_util::stream::unfold(
        (followed, Some(hello)),
        |(mut followed, first)| async move {
            if let Some(first) = first {
                return Some((
                    Ok::<_, actix_web::Error>(Bytes::from(first)),
                    (followed, None),
                ));
            }
            let outcome = {
                let changed = select_all(followed.iter_mut().map(|(_, rx)| Box::pin(rx.changed())));
                match tokio::time::timeout(KEEPALIVE, changed).await {
                    Err(_idle) => None,
                    Ok((result, index, rest)) => {
                        drop(rest);
                        Some((result.is_ok(), index))
                    }
                }
            };
            let chunk = match outcome {
                None => ": keepalive\n\n".to_string(),
                Some((false, _)) => return None,
                Some((true, index)) => {
                    let (topic, rx) = &mut followed[index];
                    let value = rx.borrow_and_update().clone().unwrap_or_default();
                    format!("event: {topic}\ndata: {value}\n\n")
                }
            };
            Some((Ok(Bytes::from(chunk)), (followed, None)))
        },
    );
    HttpResponse::Ok()
        .insert_header(("Content-Type", "text/event-stream"))
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body)
}
