//! The drill's load: concurrent callers per actor, each making verified
//! calls of that actor's kind, and the verdict on every answer — answered
//! (and right), refused with a typed error the caller was promised (a
//! non-idempotent call in flight across a restart, a full mailbox, a stale
//! write), or lost (no answer in time, a wrong answer, an idempotent call
//! not re-sent). The store's callers also log what was acknowledged, so the
//! drill can check afterwards that none of it was lost.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use warden_compositor::{Compositor, CompositorMsg, CompositorReply};
use warden_fft::actor::{FftActor, FftMsg, FftReply};
use warden_image::actor::{ImageDecode, ImageMsg, ImageReply, Scale};
use warden_kernel::config::ActorSpec;
use warden_kernel::probe::{Probe, ProbeMsg, ProbeReply, checksum};
use warden_kernel::{ActorRef, CallError, Kernel, SharedFrame};
use warden_perception::actor::{PerceptionActor, PerceptionMsg, PerceptionReply};
use warden_store::actor::{StoreActor, StoreMsg, StoreReply};

/// The deadline of every drill call.
pub(crate) const CALL_DEADLINE: Duration = Duration::from_secs(20);

/// An actor the drill can load, by kind.
#[derive(Clone)]
pub(crate) enum Target {
    Probe(ActorRef<Probe>),
    Image(ActorRef<ImageDecode>),
    Fft(ActorRef<FftActor>),
    Store(ActorRef<StoreActor>),
    Perception(ActorRef<PerceptionActor>),
    Compositor(ActorRef<Compositor>),
}

/// One call's verdict.
enum Verdict {
    Answered,
    Refused,
    Lost(String),
}

/// Counters of one actor's load.
#[derive(Default)]
pub(crate) struct Load {
    pub(crate) sent: AtomicU64,
    pub(crate) answered: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) lost: AtomicU64,
    pub(crate) first_loss: Mutex<Option<String>>,
    /// How the load adapted to what the actor offers, if it had to.
    pub(crate) adapted: Mutex<Option<String>>,
    /// Store callers: per writer target, the last acked and the last
    /// attempted value.
    pub(crate) writes: Mutex<HashMap<String, Writes>>,
}

/// What one store writer did to its record.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Writes {
    pub(crate) acked: u64,
    pub(crate) attempted: u64,
}

impl Target {
    /// The target for actor `spec`, if the drill knows its kind.
    pub(crate) fn of(kernel: &Kernel, spec: &ActorSpec) -> Option<Target> {
        let name = spec.name.as_str();
        Some(match spec.kind.as_str() {
            "probe" => Target::Probe(kernel.actor(name).ok()?),
            "image_decode" => Target::Image(kernel.actor(name).ok()?),
            "fft" => Target::Fft(kernel.actor(name).ok()?),
            "store" => Target::Store(kernel.actor(name).ok()?),
            "perception" => Target::Perception(kernel.actor(name).ok()?),
            "compositor" => Target::Compositor(kernel.actor(name).ok()?),
            _ => return None,
        })
    }

    /// A cheap idempotent call, answered once the actor serves.
    pub(crate) async fn ping(&self, deadline: Duration) -> Result<(), CallError> {
        match self {
            Target::Probe(a) => a.call_timeout(ProbeMsg::Whoami, deadline).await.map(drop),
            Target::Image(a) => a.call_timeout(ImageMsg::Stats, deadline).await.map(drop),
            Target::Fft(a) => a.call_timeout(FftMsg::Status, deadline).await.map(drop),
            Target::Store(a) => a.call_timeout(StoreMsg::Status, deadline).await.map(drop),
            Target::Perception(a) => a
                .call_timeout(PerceptionMsg::Stats, deadline)
                .await
                .map(drop),
            Target::Compositor(a) => a
                .call_timeout(CompositorMsg::Status, deadline)
                .await
                .map(drop),
        }
    }

    /// A probe's panic or hang from inside `handle`; other kinds get theirs
    /// injected into the host by the kernel.
    pub(crate) fn probe(&self) -> Option<&ActorRef<Probe>> {
        match self {
            Target::Probe(probe) => Some(probe),
            _ => None,
        }
    }
}

/// A typed failure the caller was promised may happen: a non-idempotent
/// call in flight across a restart, or any typed refusal (a full mailbox, a
/// large buffer to an actor without a shared-memory pool, a bad argument) —
/// an answer, never a loss.
fn refused(err: &CallError, idempotent: bool) -> bool {
    match err {
        CallError::Restarting(_) => !idempotent,
        CallError::Rejected { .. } => true,
        _ => false,
    }
}

/// Whether `result` is the refusal of a large buffer by an actor that has no
/// shared-memory pool: the load then stops sending it large buffers.
fn no_pool<T>(result: &Result<T, CallError>) -> Option<String> {
    match result {
        Err(CallError::Rejected { reason, .. }) if reason.contains("shared-memory pool") => {
            Some(reason.clone())
        }
        _ => None,
    }
}

fn verdict<T>(
    result: Result<T, CallError>,
    idempotent: bool,
    check: impl FnOnce(T) -> Result<(), String>,
) -> Verdict {
    match result {
        Ok(reply) => match check(reply) {
            Ok(()) => Verdict::Answered,
            Err(wrong) => Verdict::Lost(wrong),
        },
        Err(err) if refused(&err, idempotent) => Verdict::Refused,
        Err(err) => Verdict::Lost(err.to_string()),
    }
}

/// Per caller: what it has seen before (for answers that must not change).
#[derive(Default)]
struct Seen {
    image_sums: HashMap<u64, u64>,
    store_version: u64,
    /// The actor refused a large buffer for want of a pool: send none more.
    no_frames: bool,
}

impl Seen {
    /// Note a refusal for want of a pool, once per actor in the report.
    fn adapt<T>(&mut self, result: &Result<T, CallError>, load: &Load) {
        if let Some(reason) = no_pool(result) {
            self.no_frames = true;
            load.adapted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get_or_insert_with(|| {
                    format!("large-buffer calls refused ({reason}); the load sent small calls only")
                });
        }
    }
}

/// Keep `target` busy until `stop`.
pub(crate) async fn caller(target: Target, id: u32, load: Arc<Load>, stop: Arc<AtomicBool>) {
    let frame = SharedFrame::from_vec((0..65_536u32).map(|i| (i * 7 + id) as u8).collect());
    let sum = checksum(&frame);
    let mut seen = Seen::default();
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        load.sent.fetch_add(1, Ordering::Relaxed);
        let verdict = match &target {
            Target::Probe(probe) => {
                if seq.is_multiple_of(8) && !seen.no_frames {
                    let result = probe
                        .call_timeout(
                            ProbeMsg::EchoFrame {
                                frame: frame.clone(),
                                checksum: true,
                            },
                            CALL_DEADLINE,
                        )
                        .await;
                    seen.adapt(&result, &load);
                    verdict(result, true, |reply| match reply {
                        ProbeReply::Frame {
                            checksum: seen,
                            frame: back,
                        } if seen == sum && back == frame => Ok(()),
                        other => Err(format!("wrong echo: {other:?}")),
                    })
                } else {
                    let text = format!("{}:{id}:{seq}", probe.name());
                    let result = probe
                        .call_timeout(ProbeMsg::Echo(text.clone()), CALL_DEADLINE)
                        .await;
                    verdict(result, true, |reply| match reply {
                        ProbeReply::Echo { text: back, .. } if back == text => Ok(()),
                        other => Err(format!("wrong echo: {other:?}")),
                    })
                }
            }
            Target::Image(image) if seen.no_frames => {
                let result = image.call_timeout(ImageMsg::Stats, CALL_DEADLINE).await;
                verdict(result, true, |reply| match reply {
                    ImageReply::Stats(_) => Ok(()),
                    other => Err(format!("wrong image reply: {other:?}")),
                })
            }
            Target::Image(image) => {
                let index = seq % 4;
                let result = image
                    .call_timeout(
                        ImageMsg::Nth {
                            index,
                            scale: Scale::default(),
                        },
                        CALL_DEADLINE,
                    )
                    .await;
                seen.adapt(&result, &load);
                verdict(result, true, |reply| match reply {
                    ImageReply::Image(frame)
                        if frame.rgba.len() == frame.width as usize * frame.height as usize * 4 =>
                    {
                        let now = checksum(&frame.rgba);
                        let first = *seen.image_sums.entry(index).or_insert(now);
                        if first == now {
                            Ok(())
                        } else {
                            Err(format!("image {index} changed between answers"))
                        }
                    }
                    other => Err(format!("wrong image reply: {other:?}")),
                })
            }
            Target::Fft(fft) => {
                let msg = if seq.is_multiple_of(2) {
                    FftMsg::Snapshot
                } else {
                    FftMsg::Status
                };
                let result = fft.call_timeout(msg, CALL_DEADLINE).await;
                verdict(result, true, |reply| match reply {
                    FftReply::Snapshot(Some(bars)) if !bars.bars.is_empty() => Ok(()),
                    // A new instance has not analysed a frame yet.
                    FftReply::Snapshot(None) => Ok(()),
                    FftReply::Status(status) if status.bars > 0 => Ok(()),
                    other => Err(format!("wrong fft reply: {other:?}")),
                })
            }
            Target::Perception(perception) => {
                let msg = if seq.is_multiple_of(2) {
                    PerceptionMsg::Latest
                } else {
                    PerceptionMsg::Stats
                };
                let result = perception.call_timeout(msg, CALL_DEADLINE).await;
                verdict(result, true, |reply| match reply {
                    PerceptionReply::Latest(_) => Ok(()),
                    PerceptionReply::Stats(stats) if stats.fps_target > 0.0 => Ok(()),
                    other => Err(format!("wrong perception reply: {other:?}")),
                })
            }
            Target::Compositor(compositor) => {
                let msg = if seq.is_multiple_of(8) && !seen.no_frames {
                    CompositorMsg::RenderOnce
                } else {
                    CompositorMsg::Status
                };
                let result = compositor.call_timeout(msg, CALL_DEADLINE).await;
                seen.adapt(&result, &load);
                verdict(result, true, |reply| match reply {
                    CompositorReply::Frame(frame)
                        if frame.rgba.len() == frame.width as usize * frame.height as usize * 4 =>
                    {
                        Ok(())
                    }
                    CompositorReply::Status(status) if status.width > 0 => Ok(()),
                    // A new instance's live loop has not rendered its first
                    // frame yet: a true answer, not a loss.
                    CompositorReply::Held(why) if why.contains("no frame rendered yet") => Ok(()),
                    other => Err(format!("wrong compositor reply: {other:?}")),
                })
            }
            Target::Store(store) => store_write(store, id, seq, &mut seen, &load).await,
        };
        match verdict {
            Verdict::Answered => {
                load.answered.fetch_add(1, Ordering::Relaxed);
            }
            Verdict::Refused => {
                load.refused.fetch_add(1, Ordering::Relaxed);
                // A refusal comes at once: give the other tasks their turn.
                actix_rt::time::sleep(Duration::from_millis(1)).await;
            }
            Verdict::Lost(what) => {
                actix_rt::time::sleep(Duration::from_millis(1)).await;
                load.lost.fetch_add(1, Ordering::Relaxed);
                load.first_loss
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(what);
            }
        }
    }
}

/// Writer `id` sets its own camera record's zoom to `seq`: acked values
/// must all be found afterwards (the last acked, or a later attempt).
async fn store_write(
    store: &ActorRef<StoreActor>,
    id: u32,
    seq: u64,
    seen: &mut Seen,
    load: &Load,
) -> Verdict {
    let target = format!("drill-{}-{id}", store.name());
    load.writes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(target.clone())
        .or_default()
        .attempted = seq;
    let result = store
        .call_timeout(
            StoreMsg::Update {
                topic: "camera".into(),
                payload_json: format!(r#"{{"op":"set","target":"{target}","zoom":{seq}}}"#),
                expected_version: seen.store_version,
                actor_id: "drill".into(),
            },
            CALL_DEADLINE,
        )
        .await;
    match result {
        Ok(StoreReply::Updated {
            ok: true, version, ..
        }) => {
            seen.store_version = version;
            load.writes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(target)
                .or_default()
                .acked = seq;
            Verdict::Answered
        }
        // Stale: a write of ours whose answer was lost in a restart landed.
        Ok(StoreReply::Updated {
            ok: false, version, ..
        }) => {
            seen.store_version = version;
            Verdict::Refused
        }
        Ok(other) => Verdict::Lost(format!("wrong store reply: {other:?}")),
        Err(err) if refused(&err, false) => Verdict::Refused,
        Err(err) => Verdict::Lost(err.to_string()),
    }
}

/// After the load: every acked write of `load` is in `store` (its value is
/// the last acked one or a later attempt). Returns the writes missing.
pub(crate) async fn lost_acks(store: &ActorRef<StoreActor>, load: &Load) -> Result<u64, String> {
    let reply = store
        .call_timeout(
            StoreMsg::Snapshot {
                topic: "camera".into(),
            },
            CALL_DEADLINE,
        )
        .await
        .map_err(|err| err.to_string())?;
    let StoreReply::Snapshot { records_json, .. } = reply else {
        return Err(format!("wrong snapshot reply: {reply:?}"));
    };
    let records: serde_json::Value =
        serde_json::from_str(&records_json).map_err(|err| err.to_string())?;
    let writes = load
        .writes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut lost = 0;
    for (target, writes) in writes {
        if writes.acked == 0 {
            continue;
        }
        let zoom = records[&target]["zoom"].as_f64().unwrap_or(0.0) as u64;
        if zoom < writes.acked || zoom > writes.attempted {
            tracing::error!(%target, zoom, acked = writes.acked, attempted = writes.attempted, "an acknowledged write is missing");
            lost += 1;
        }
    }
    Ok(lost)
}
