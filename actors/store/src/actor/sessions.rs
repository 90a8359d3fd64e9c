//! The store actor's endpoint for the protocol machine: it feeds the
//! machine client frames, the clock and the store's commits, and carries
//! out what the machine asks — updates are applied and queued for the group
//! commit without waiting (so many sessions share one fsync), and
//! acknowledged once the commit made them durable; frames for clients are
//! collected and leave the actor on the `store.session` topic.

use std::sync::Arc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::protocol::{Action, ConnId, Input, Protocol, ProtocolConfig, Watcher};
use crate::store::{Outcome, Store};

/// One frame (or close) for a client connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutFrame {
    /// The connection.
    pub conn: ConnId,
    /// A text frame to send, if any.
    pub text: Option<String>,
    /// Close the connection after it, for this reason.
    pub close: Option<String>,
}

/// What one batch of work produced for clients, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionOut {
    /// The store instance that produced it (a new one means every earlier
    /// connection is gone: its sessions must resume).
    pub generation: u64,
    /// Frames and closes, in the order they must reach the clients.
    pub frames: Vec<OutFrame>,
}

struct PendingAck {
    session: String,
    request_id: String,
    version: u64,
}

/// See the module documentation.
pub(crate) struct Sessions {
    store: Arc<Store>,
    machine: Protocol,
    watcher: Watcher,
    pending: Vec<PendingAck>,
    started: Instant,
    out: Vec<OutFrame>,
}

impl Sessions {
    pub(crate) fn new(store: Arc<Store>, config: ProtocolConfig, seed: [u8; 32]) -> Self {
        let watcher = Watcher::new(&store);
        Sessions {
            store,
            machine: Protocol::new(config, seed),
            watcher,
            pending: Vec::new(),
            started: Instant::now(),
            out: Vec::new(),
        }
    }

    fn now_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Connections open now.
    pub(crate) fn connections(&self) -> usize {
        self.machine.connections()
    }

    /// Sessions held (live or parked for resuming).
    pub(crate) fn sessions(&self) -> usize {
        self.machine.sessions()
    }

    pub(crate) fn opened(&mut self, conn: ConnId, may_write: bool) {
        let now_ms = self.now_ms();
        self.feed(Input::Connected {
            conn,
            may_write,
            now_ms,
        });
    }

    pub(crate) fn frame(&mut self, conn: ConnId, text: String) {
        let now_ms = self.now_ms();
        self.feed(Input::Frame { conn, text, now_ms });
    }

    pub(crate) fn closed(&mut self, conn: ConnId) {
        let now_ms = self.now_ms();
        self.feed(Input::Disconnected { conn, now_ms });
    }

    pub(crate) fn tick(&mut self) {
        let now_ms = self.now_ms();
        self.feed(Input::Tick { now_ms });
    }

    /// Pass what became durable on: notifies first, then the acks of the
    /// updates it covers (a session's ack comes after its notifies).
    pub(crate) fn committed(&mut self) -> Result<Option<crate::protocol::Changes>, StoreError> {
        let changes = self.watcher.poll(&self.store, std::time::Duration::ZERO)?;
        if let Some(changes) = &changes {
            self.feed(Input::Committed(changes.clone()));
        }
        let durable = self.store.version();
        let (done, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|ack| ack.version <= durable);
        self.pending = waiting;
        for ack in done {
            self.feed(Input::Applied {
                session: ack.session,
                request_id: ack.request_id,
                result: Ok(Outcome::Ack {
                    version: ack.version,
                }),
            });
        }
        Ok(changes)
    }

    /// Updates applied and not yet durable.
    pub(crate) fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The frames produced so far (taken).
    pub(crate) fn take_out(&mut self) -> Vec<OutFrame> {
        std::mem::take(&mut self.out)
    }

    fn feed(&mut self, input: Input) {
        let mut inputs = vec![input];
        while let Some(input) = inputs.pop() {
            for action in self.machine.handle(input) {
                if let Some(next) = self.carry_out(action) {
                    inputs.push(next);
                }
            }
        }
    }

    fn carry_out(&mut self, action: Action) -> Option<Input> {
        match action {
            Action::Send { conn, message } => {
                match serde_json::to_string(&message) {
                    Ok(text) => self.out.push(OutFrame {
                        conn,
                        text: Some(text),
                        close: None,
                    }),
                    Err(err) => tracing::error!(%err, "a server frame could not be encoded"),
                }
                None
            }
            Action::Close { conn, reason } => {
                self.out.push(OutFrame {
                    conn,
                    text: None,
                    close: Some(reason),
                });
                None
            }
            Action::Apply {
                session,
                request_id,
                topic,
                payload,
                expected_version,
                author,
            } => match self
                .store
                .apply_delta_queued(topic, payload, expected_version, &author)
            {
                Ok(Outcome::Ack { version }) => {
                    self.pending.push(PendingAck {
                        session,
                        request_id,
                        version,
                    });
                    None
                }
                result => Some(Input::Applied {
                    session,
                    request_id,
                    result: result.map_err(|err| err.to_string()),
                }),
            },
            action @ Action::CatchUp { .. } => crate::protocol::execute(&self.store, action),
        }
    }
}
