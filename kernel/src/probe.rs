//! The probe: the kernel's own diagnostic actor. Drills and benchmarks use
//! it, and users can place it anywhere to check a deployment: it echoes
//! (small values and large buffers), sleeps, fails, panics, hangs, exits with
//! a code, and publishes bursts. It also exercises what actors do between
//! themselves: requests to another probe whose answers it collects, tells,
//! topic subscriptions, and frames it keeps (a consumer holding a
//! producer's slot).

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use warden_transport::SharedFrame;

use crate::actor::{Actor, ActorError};
use crate::bus::Subscription;
use crate::call_error::CallError;
use crate::ctx::{Ctx, Pending};

/// The probe's own configuration keys.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProbeConfig {
    /// Make `start` fail (to exercise start failures).
    pub fail_start: bool,
    /// Sleep this long in `start` (to exercise start timeouts).
    pub start_delay_ms: u64,
    /// Make `start` fail from this generation on (0: never) — a start that
    /// fails during a restart, after a first start that worked.
    pub fail_start_from_generation: u64,
}

/// Requests.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum ProbeMsg {
    /// Answer with the same text (idempotent).
    Echo(String),
    /// Answer with the same frame, and its checksum if asked (idempotent).
    EchoFrame {
        /// The buffer.
        frame: SharedFrame,
        /// Compute a checksum over every byte.
        checksum: bool,
    },
    /// A new frame of `len` bytes filled with `fill`, allocated by the probe (idempotent).
    MakeFrame {
        /// Length.
        len: usize,
        /// Byte value.
        fill: u8,
    },
    /// Who answers: pid, generation, ticks (idempotent).
    Whoami,
    /// Sleep, then answer; idempotent or not, as the caller declares.
    Sleep {
        /// Milliseconds.
        ms: u64,
        /// Whether the kernel may deliver it twice.
        idempotent: bool,
    },
    /// Publish `count` values `{seq, generation}` on `topic`.
    Publish {
        /// Topic.
        topic: String,
        /// How many.
        count: u32,
    },
    /// Answer with `ActorError::Rejected`.
    Reject(String),
    /// Answer with `ActorError::Failed`.
    Fail(String),
    /// Panic with this message.
    Panic(String),
    /// Never answer (until the kernel gives up on the instance).
    Hang,
    /// End the instance with this exit code.
    Exit(i32),
    /// Ask probe `target` `msg` without waiting (`Ctx::request`, with
    /// `timeout_ms` as the deadline when not 0); the answer is collected.
    Ask {
        /// The probe asked.
        target: String,
        /// What to ask.
        msg: Box<ProbeMsg>,
        /// Deadline in ms (0: the target's `call_timeout_ms`).
        timeout_ms: u64,
    },
    /// Make a frame of `len` bytes of `fill` here and ask probe `target` to
    /// echo it with its checksum (or, with `keep`, to keep it); the answer
    /// is collected.
    AskFrame {
        /// The probe asked.
        target: String,
        /// Length.
        len: usize,
        /// Byte value.
        fill: u8,
        /// Ask the target to keep the frame instead of echoing it.
        keep: bool,
    },
    /// Tell probe `target` `msg` (at most once).
    TellTo {
        /// The probe told.
        target: String,
        /// What to tell.
        msg: Box<ProbeMsg>,
    },
    /// The answers collected so far, in arrival order (taken).
    Answers,
    /// Follow `topic`, whose values are `ProbeEvent`s.
    Follow {
        /// The topic.
        topic: String,
        /// Values kept waiting at most.
        capacity: usize,
    },
    /// The values received on a followed topic since the last time (taken).
    Received(String),
    /// Keep `frame` until `ReleaseKept`.
    Keep(SharedFrame),
    /// Drop every kept frame.
    ReleaseKept,
    /// Echo `count` small values off probe `target`, one after another (a
    /// request, its answer, the next request), timing each round trip.
    PingPong {
        /// The probe asked.
        target: String,
        /// Round trips.
        count: u32,
    },
    /// The round trips of the last `PingPong`, once it is done (taken).
    PingResults,
    /// Add a note to the probe's state (the state a move hands over).
    Note(String),
    /// The notes so far (idempotent).
    Notes,
}

/// One collected answer to an `Ask` or `AskFrame`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Answer {
    /// The request's id (as `ProbeReply::Asked` said).
    pub id: u64,
    /// The probe asked.
    pub target: String,
    /// What came back.
    pub result: Result<ProbeReply, CallError>,
}

/// Replies.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub enum ProbeReply {
    /// An echo, with who answered it.
    Echo {
        /// The text.
        text: String,
        /// The answering process.
        pid: u32,
        /// The answering instance.
        generation: u64,
    },
    /// A frame and, if asked, its checksum.
    Frame {
        /// The frame.
        frame: SharedFrame,
        /// Checksum (0 when not asked).
        checksum: u64,
    },
    /// Identity.
    Whoami {
        /// Process.
        pid: u32,
        /// Instance.
        generation: u64,
        /// Ticks so far.
        ticks: u64,
    },
    /// Slept.
    Slept,
    /// Published.
    Published(u32),
    /// A request went out with this id.
    Asked(u64),
    /// Told.
    Told,
    /// Collected answers.
    Answers(Vec<Answer>),
    /// Following.
    Following,
    /// Values received on a topic.
    Events(Vec<ProbeEvent>),
    /// Frames kept now.
    Kept(usize),
    /// Round-trip times in nanoseconds (`None`: still running).
    Latencies(Option<Vec<u64>>),
    /// The notes, oldest first.
    Notes(Vec<String>),
}

/// A value the probe publishes.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProbeEvent {
    /// Position in its burst.
    pub seq: u32,
    /// The publishing instance.
    pub generation: u64,
}

/// FNV-1a over 8-byte words: fast enough for 33 MiB, and any changed byte shows.
pub fn checksum(bytes: &[u8]) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        hash = (hash ^ u64::from_le_bytes(word)).wrapping_mul(0x0100_0000_01b3);
    }
    for byte in chunks.remainder() {
        hash = (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3);
    }
    hash ^ bytes.len() as u64
}

/// The probe actor.
#[derive(Debug)]
pub struct Probe {
    ticks: u64,
    pending: Vec<Pending<ProbeReply>>,
    answers: Vec<Answer>,
    follows: HashMap<String, Subscription<ProbeEvent>>,
    kept: Vec<SharedFrame>,
    chain: Option<Chain>,
    /// Notes a client left: the state a move hands to the next instance.
    notes: Vec<String>,
}

/// A `PingPong` under way.
#[derive(Debug)]
struct Chain {
    target: String,
    left: u32,
    sent_at: std::time::Instant,
    pending: Option<Pending<ProbeReply>>,
    samples: Vec<u64>,
}

impl Chain {
    fn next(&mut self, ctx: &mut Ctx) {
        if self.left == 0 {
            return;
        }
        self.left -= 1;
        self.sent_at = std::time::Instant::now();
        self.pending = Some(ctx.request::<Probe>(&self.target, &ProbeMsg::Echo(String::new())));
    }

    /// Take an arrived answer and send the next request.
    fn step(&mut self, ctx: &mut Ctx) {
        let Some(pending) = &self.pending else {
            return;
        };
        if ctx.reply(pending).is_some() {
            self.samples.push(self.sent_at.elapsed().as_nanos() as u64);
            self.pending = None;
            self.next(ctx);
        }
    }

    fn done(&self) -> bool {
        self.left == 0 && self.pending.is_none()
    }
}

impl Probe {
    /// Move every arrived answer into `answers`.
    fn collect(&mut self, ctx: &mut Ctx) {
        let mut waiting = Vec::new();
        for pending in self.pending.drain(..) {
            match ctx.reply(&pending) {
                Some(result) => self.answers.push(Answer {
                    id: pending.id(),
                    target: pending.target().to_string(),
                    result,
                }),
                None => waiting.push(pending),
            }
        }
        self.pending = waiting;
    }
}

impl Actor for Probe {
    const KIND: &'static str = "probe";
    type Config = ProbeConfig;
    type Msg = ProbeMsg;
    type Reply = ProbeReply;

    fn start(config: ProbeConfig, ctx: &mut Ctx) -> Result<Self, ActorError> {
        if config.start_delay_ms > 0 {
            std::thread::sleep(Duration::from_millis(config.start_delay_ms));
        }
        if config.fail_start {
            return Err(ActorError::Failed(
                "configured to fail at start (fail_start = true)".into(),
            ));
        }
        let from = config.fail_start_from_generation;
        if from > 0 && ctx.generation() >= from {
            return Err(ActorError::Failed(format!(
                "configured to fail at start from generation {from} (this is {})",
                ctx.generation()
            )));
        }
        Ok(Probe {
            ticks: 0,
            pending: Vec::new(),
            answers: Vec::new(),
            follows: HashMap::new(),
            kept: Vec::new(),
            chain: None,
            notes: Vec::new(),
        })
    }

    fn handle(&mut self, msg: ProbeMsg, ctx: &mut Ctx) -> Result<ProbeReply, ActorError> {
        match msg {
            ProbeMsg::Echo(text) => Ok(ProbeReply::Echo {
                text,
                pid: ctx.pid(),
                generation: ctx.generation(),
            }),
            ProbeMsg::EchoFrame {
                frame,
                checksum: sum,
            } => {
                let checksum = if sum { checksum(&frame) } else { 0 };
                Ok(ProbeReply::Frame { frame, checksum })
            }
            ProbeMsg::MakeFrame { len, fill } => {
                let mut buf = ctx.buffer(len);
                buf.fill(fill);
                let frame = buf.freeze();
                let checksum = checksum(&frame);
                Ok(ProbeReply::Frame { frame, checksum })
            }
            ProbeMsg::Whoami => Ok(ProbeReply::Whoami {
                pid: ctx.pid(),
                generation: ctx.generation(),
                ticks: self.ticks,
            }),
            ProbeMsg::Sleep { ms, .. } => {
                std::thread::sleep(Duration::from_millis(ms));
                Ok(ProbeReply::Slept)
            }
            ProbeMsg::Publish { topic, count } => {
                let generation = ctx.generation();
                for seq in 0..count {
                    ctx.publish(&topic, &ProbeEvent { seq, generation })
                        .map_err(|err| ActorError::Failed(err.to_string()))?;
                }
                Ok(ProbeReply::Published(count))
            }
            ProbeMsg::Reject(reason) => Err(ActorError::Rejected(reason)),
            ProbeMsg::Fail(reason) => Err(ActorError::Failed(reason)),
            ProbeMsg::Panic(message) => panic!("{message}"),
            ProbeMsg::Hang => {
                while !ctx.is_cancelled() {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(ActorError::Failed("abandoned while hanging".into()))
            }
            ProbeMsg::Exit(code) => Err(ActorError::Exit(code)),
            ProbeMsg::Ask {
                target,
                msg,
                timeout_ms,
            } => {
                let pending = if timeout_ms > 0 {
                    ctx.request_timeout::<Probe>(&target, &msg, Duration::from_millis(timeout_ms))
                } else {
                    ctx.request::<Probe>(&target, &msg)
                };
                let id = pending.id();
                self.pending.push(pending);
                Ok(ProbeReply::Asked(id))
            }
            ProbeMsg::AskFrame {
                target,
                len,
                fill,
                keep,
            } => {
                let mut buf = ctx.buffer(len);
                buf.fill(fill);
                let frame = buf.freeze();
                let msg = if keep {
                    ProbeMsg::Keep(frame)
                } else {
                    ProbeMsg::EchoFrame {
                        frame,
                        checksum: true,
                    }
                };
                let pending = ctx.request::<Probe>(&target, &msg);
                let id = pending.id();
                self.pending.push(pending);
                Ok(ProbeReply::Asked(id))
            }
            ProbeMsg::TellTo { target, msg } => {
                ctx.tell::<Probe>(&target, &msg)
                    .map_err(|err| ActorError::Rejected(err.to_string()))?;
                Ok(ProbeReply::Told)
            }
            ProbeMsg::Answers => {
                self.collect(ctx);
                Ok(ProbeReply::Answers(std::mem::take(&mut self.answers)))
            }
            ProbeMsg::Follow { topic, capacity } => {
                let subscription = ctx.subscribe::<ProbeEvent>(&topic, capacity);
                self.follows.insert(topic, subscription);
                Ok(ProbeReply::Following)
            }
            ProbeMsg::Received(topic) => {
                let subscription = self
                    .follows
                    .get(&topic)
                    .ok_or_else(|| ActorError::Rejected(format!("not following {topic}")))?;
                let events = std::iter::from_fn(|| subscription.try_recv())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|err| ActorError::Failed(err.to_string()))?;
                Ok(ProbeReply::Events(events))
            }
            ProbeMsg::Keep(frame) => {
                self.kept.push(frame);
                Ok(ProbeReply::Kept(self.kept.len()))
            }
            ProbeMsg::ReleaseKept => {
                self.kept.clear();
                Ok(ProbeReply::Kept(0))
            }
            ProbeMsg::PingPong { target, count } => {
                let mut chain = Chain {
                    target,
                    left: count,
                    sent_at: std::time::Instant::now(),
                    pending: None,
                    samples: Vec::with_capacity(count as usize),
                };
                chain.next(ctx);
                self.chain = Some(chain);
                Ok(ProbeReply::Asked(0))
            }
            ProbeMsg::Note(text) => {
                self.notes.push(text);
                Ok(ProbeReply::Notes(self.notes.clone()))
            }
            ProbeMsg::Notes => Ok(ProbeReply::Notes(self.notes.clone())),
            ProbeMsg::PingResults => {
                if let Some(chain) = &mut self.chain {
                    chain.step(ctx);
                }
                match self.chain.take() {
                    Some(chain) if chain.done() => Ok(ProbeReply::Latencies(Some(chain.samples))),
                    running => {
                        self.chain = running;
                        Ok(ProbeReply::Latencies(None))
                    }
                }
            }
        }
    }

    fn tick(&mut self, _ctx: &mut Ctx) {
        self.ticks += 1;
    }

    /// The notes go to the next instance when the probe is moved.
    fn snapshot(&mut self, _ctx: &mut Ctx) -> Option<Vec<u8>> {
        (!self.notes.is_empty()).then(|| serde_json::to_vec(&self.notes).unwrap_or_default())
    }

    fn restore(&mut self, state: &[u8], _ctx: &mut Ctx) -> Result<(), ActorError> {
        self.notes = serde_json::from_slice(state)
            .map_err(|err| ActorError::Rejected(format!("not a list of notes: {err}")))?;
        Ok(())
    }

    fn wake(&mut self, ctx: &mut Ctx) {
        if let Some(chain) = &mut self.chain {
            chain.step(ctx);
        }
        self.collect(ctx);
    }

    fn idempotent(msg: &ProbeMsg) -> bool {
        matches!(
            msg,
            ProbeMsg::Echo(_)
                | ProbeMsg::EchoFrame { .. }
                | ProbeMsg::MakeFrame { .. }
                | ProbeMsg::Whoami
                | ProbeMsg::Notes
                | ProbeMsg::Sleep {
                    idempotent: true,
                    ..
                }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::checksum;

    #[test]
    fn checksum_sees_every_byte_and_the_length() {
        let a = vec![7u8; 1001];
        let mut b = a.clone();
        b[1000] = 8;
        assert_ne!(checksum(&a), checksum(&b));
        b[1000] = 7;
        b[3] = 0;
        assert_ne!(checksum(&a), checksum(&b));
        assert_ne!(checksum(&a[..1000]), checksum(&a));
    }
}
