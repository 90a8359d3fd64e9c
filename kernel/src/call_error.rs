//! The errors a caller sees. They say what happened, not where the actor runs.

/// Why a call did not produce a reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, serde::Serialize, serde::Deserialize)]
pub enum CallError {
    /// No answer within the call's deadline.
    #[error("{actor}: no reply within {ms} ms")]
    Timeout {
        /// The actor called.
        actor: String,
        /// The deadline.
        ms: u64,
    },
    /// The instance died with the call in flight and the call is not
    /// idempotent: it may or may not have taken effect. Retry if that is safe.
    #[error("{0}: the instance restarted with this call in flight")]
    Restarting(String),
    /// The actor is stopped and will not restart.
    #[error("{0}: stopped")]
    Stopped(String),
    /// The actor (or its mailbox) refused the request.
    #[error("{actor}: rejected: {reason}")]
    Rejected {
        /// The actor called.
        actor: String,
        /// Why.
        reason: String,
    },
    /// The actor failed while handling the request.
    #[error("{actor}: failed: {reason}")]
    Failed {
        /// The actor called.
        actor: String,
        /// Why.
        reason: String,
    },
}

impl CallError {
    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            CallError::Timeout { .. } => "timeout",
            CallError::Restarting(_) => "restarting",
            CallError::Stopped(_) => "stopped",
            CallError::Rejected { .. } => "rejected",
            CallError::Failed { .. } => "failed",
        }
    }
}

/// Why a `try_tell` did not enqueue.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TellError {
    /// The mailbox is at its bound.
    #[error("{0}: mailbox full")]
    Full(String),
    /// The actor is stopped and will not restart.
    #[error("{0}: stopped")]
    Stopped(String),
    /// The message could not be encoded.
    #[error("{actor}: {reason}")]
    Invalid {
        /// The actor.
        actor: String,
        /// Why.
        reason: String,
    },
}

impl CallError {
    /// The wire form of a failure (for a child's request answered by the kernel).
    pub(crate) fn into_outcome(self) -> warden_transport::CallOutcome {
        use warden_transport::CallOutcome;
        match self {
            CallError::Timeout { ms, .. } => CallOutcome::Timeout(ms),
            CallError::Restarting(_) => CallOutcome::Restarting,
            CallError::Stopped(_) => CallOutcome::Stopped,
            CallError::Rejected { reason, .. } => CallOutcome::Rejected(reason),
            CallError::Failed { reason, .. } => CallOutcome::Failed(reason),
        }
    }

    /// The failure a wire outcome stands for (`None` for `Ok`).
    pub(crate) fn from_outcome(
        actor: &str,
        outcome: &warden_transport::CallOutcome,
    ) -> Option<CallError> {
        use warden_transport::CallOutcome;
        let actor = actor.to_string();
        Some(match outcome {
            CallOutcome::Ok(_) => return None,
            CallOutcome::Timeout(ms) => CallError::Timeout { actor, ms: *ms },
            CallOutcome::Restarting => CallError::Restarting(actor),
            CallOutcome::Stopped => CallError::Stopped(actor),
            CallOutcome::Rejected(reason) => CallError::Rejected {
                actor,
                reason: reason.clone(),
            },
            CallOutcome::Failed(reason) => CallError::Failed {
                actor,
                reason: reason.clone(),
            },
        })
    }
}
