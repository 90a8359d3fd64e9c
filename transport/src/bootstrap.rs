//! Starting a child and connecting to it, and the child's side of that.
//!
//! The parent opens an `IpcOneShotServer`, spawns the child with the server's
//! name, and waits for the child's `Hello`, which carries the channel the
//! parent will send on. ipc-channel's `accept` hangs forever if the child dies
//! before connecting, so it runs on a helper thread and the parent waits with
//! a deadline, watching the child; when the child is gone (or late) the parent
//! connects to its own server to unblock `accept`, so no thread and no socket
//! directory is left behind.
//!
//! The child asks the OS to kill it when its parent dies
//! (`PR_SET_PDEATHSIG`), and the kernel spawns it from `/proc/self/exe` so
//! that an upgraded binary on disk never mixes wire versions.
//! `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits:
//! spawn only from a thread that lives as long as the children.

use std::ffi::OsString;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use ipc_channel::ipc::{
    self, IpcBytesReceiver, IpcBytesSender, IpcOneShotServer, IpcReceiver, IpcSender,
    IpcSharedMemory,
};
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// Bumped whenever the envelope or the handshake changes.
pub const PROTOCOL_VERSION: u32 = 2;

/// What travels on the ipc channels. Only the handshake uses ipc-channel's
/// own serialization (it must carry a channel and a memory region); every
/// later message is a [`Wire::Frame`] holding one bincode [`crate::Envelope`].
#[derive(Serialize, Deserialize)]
pub enum Wire {
    /// Child → parent, first message: who it is and where to send to it.
    Hello {
        /// The child's [`PROTOCOL_VERSION`].
        protocol: u32,
        /// The child's pid.
        pid: u32,
        /// Where the parent sends the setup (it carries a memory region).
        setup: IpcSender<Wire>,
        /// Where the parent sends envelopes: raw bytes, no second framing.
        to_child: IpcBytesSender,
    },
    /// Parent → child, on the setup channel: the actor's shared-memory pool
    /// and the start parameters (encoded by the kernel).
    Setup {
        /// The pool region, if the actor has one.
        pool: Option<IpcSharedMemory>,
        /// Start parameters.
        init: ByteBuf,
    },
    /// One encoded envelope (child → parent; parent → child envelopes
    /// travel as raw bytes on the `to_child` channel).
    Frame(ByteBuf),
    /// Parent → child, on the setup channel, after the setup: another
    /// actor's pool, sent before the first handle on it (a frame that
    /// actor made, lent to this child).
    Region {
        /// The pool's id.
        pool: u32,
        /// Slots per side.
        slots: u32,
        /// Bytes per slot.
        slot_bytes: u64,
        /// The region.
        region: IpcSharedMemory,
    },
    /// Sent by the parent to its own one-shot server to unblock `accept`.
    Unblock,
}

/// What can go wrong starting or joining a child.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// An OS-level failure (socket, channel, thread).
    #[error("bootstrap I/O error: {0}")]
    Io(String),
    /// The program could not be started.
    #[error("cannot start {program}: {error}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        error: String,
    },
    /// The child exited before completing the handshake.
    #[error("child exited before connecting ({0})")]
    ExitedEarly(String),
    /// The child did not complete the handshake in time (it was killed).
    #[error("child did not connect within {0:?} and was killed")]
    Timeout(Duration),
    /// The child speaks another protocol or sent something unexpected.
    #[error("handshake protocol error: {0}")]
    Protocol(String),
    /// The parent died before the child could arm `PR_SET_PDEATHSIG`.
    #[error("parent process {0} is gone")]
    ParentGone(u32),
}

impl BootstrapError {
    fn io(err: impl std::fmt::Display) -> Self {
        BootstrapError::Io(err.to_string())
    }
}

/// How to start a child.
#[derive(Clone, Debug)]
pub struct ChildCommand {
    /// The executable (the kernel uses `/proc/self/exe`).
    pub program: PathBuf,
    /// Arguments before `--bootstrap NAME --parent-pid PID`.
    pub args: Vec<OsString>,
    /// Extra environment variables for the child.
    pub env: Vec<(OsString, OsString)>,
}

impl ChildCommand {
    /// This very binary, as the kernel runs it.
    pub fn current_exe(args: Vec<OsString>) -> Self {
        ChildCommand {
            program: PathBuf::from("/proc/self/exe"),
            args,
            env: Vec::new(),
        }
    }
}

/// A connected child.
pub struct Connected {
    /// The process (the caller reaps it).
    pub child: Child,
    /// The child's pid.
    pub pid: u32,
    /// Parent → child: the setup, then other actors' pool regions.
    pub setup: IpcSender<Wire>,
    /// Parent → child: envelopes.
    pub to_child: IpcBytesSender,
    /// Child → parent.
    pub from_child: IpcReceiver<Wire>,
}

impl std::fmt::Debug for Connected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connected").field("pid", &self.pid).finish()
    }
}

/// Describe an exit status the way the supervisor reports it.
pub fn describe_exit(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        format!("exited with code {code}")
    } else if let Some(signal) = status.signal() {
        let name = nix::sys::signal::Signal::try_from(signal)
            .map(|s| s.as_str().to_string())
            .unwrap_or_else(|_| format!("signal {signal}"));
        let core = if status.core_dumped() {
            ", core dumped"
        } else {
            ""
        };
        format!("killed by {name}{core}")
    } else {
        format!("{status}")
    }
}

/// Spawn `command` and complete the handshake within `deadline`.
pub fn spawn(command: &ChildCommand, deadline: Duration) -> Result<Connected, BootstrapError> {
    let (server, name) = IpcOneShotServer::<Wire>::new().map_err(BootstrapError::io)?;
    let mut child = Command::new(&command.program)
        .args(&command.args)
        .arg("--bootstrap")
        .arg(&name)
        .arg("--parent-pid")
        .arg(std::process::id().to_string())
        .envs(command.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        // Its own process group: a Ctrl-C at the terminal reaches the kernel,
        // which stops children in order, not the children behind its back.
        .process_group(0)
        .spawn()
        .map_err(|err| BootstrapError::Spawn {
            program: command.program.display().to_string(),
            error: err.to_string(),
        })?;

    let (done_tx, done_rx) = mpsc::channel();
    let acceptor = std::thread::Builder::new()
        .name("warden-accept".into())
        .spawn(move || {
            let _ = done_tx.send(server.accept());
        })
        .map_err(BootstrapError::io)?;

    let started = Instant::now();
    let outcome = loop {
        match done_rx.recv_timeout(Duration::from_millis(2)) {
            Ok(accepted) => break Ok(accepted),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                break Err(BootstrapError::Io("accept thread vanished".into()));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
        match child.try_wait() {
            Ok(Some(status)) => break Err(BootstrapError::ExitedEarly(describe_exit(status))),
            Ok(None) => {}
            Err(err) => break Err(BootstrapError::io(err)),
        }
        if started.elapsed() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break Err(BootstrapError::Timeout(deadline));
        }
    };

    let accepted = match outcome {
        Ok(accepted) => {
            let _ = acceptor.join();
            accepted
        }
        Err(err) => {
            unblock(&name, &done_rx);
            let _ = acceptor.join();
            let _ = child.kill();
            let _ = child.wait();
            return Err(err);
        }
    };

    let fail = |child: &mut Child, err: BootstrapError| {
        let _ = child.kill();
        let _ = child.wait();
        err
    };
    let (from_child, hello) = match accepted {
        Ok(pair) => pair,
        Err(err) => {
            // The child connected and then died, or sent garbage.
            let err = match child.try_wait() {
                Ok(Some(status)) => BootstrapError::ExitedEarly(describe_exit(status)),
                _ => BootstrapError::Protocol(format!("bad hello: {err:?}")),
            };
            return Err(fail(&mut child, err));
        }
    };
    match hello {
        Wire::Hello {
            protocol,
            pid,
            setup,
            to_child,
        } => {
            if protocol != PROTOCOL_VERSION {
                return Err(fail(
                    &mut child,
                    BootstrapError::Protocol(format!(
                        "child speaks protocol {protocol}, kernel speaks {PROTOCOL_VERSION}"
                    )),
                ));
            }
            if pid != child.id() {
                let expected = child.id();
                return Err(fail(
                    &mut child,
                    BootstrapError::Protocol(format!("hello from pid {pid}, expected {expected}")),
                ));
            }
            Ok(Connected {
                pid,
                child,
                setup,
                to_child,
                from_child,
            })
        }
        _ => Err(fail(
            &mut child,
            BootstrapError::Protocol("first message was not a hello".into()),
        )),
    }
}

/// Connect to our own one-shot server so that a blocked `accept` returns.
fn unblock(
    name: &str,
    done: &mpsc::Receiver<Result<(IpcReceiver<Wire>, Wire), ipc_channel::IpcError>>,
) {
    if let Ok(sender) = IpcSender::<Wire>::connect(name.to_string()) {
        let _ = sender.send(Wire::Unblock);
    }
    // Wait for the acceptor to finish (it has the connection now, or the
    // child's socket closed under it); its result is discarded.
    let _ = done.recv_timeout(Duration::from_secs(5));
}

/// The child's end of a bootstrap.
pub struct ParentLink {
    /// Child → parent.
    pub to_parent: IpcSender<Wire>,
    /// Parent → child: the setup, then other actors' pool regions.
    pub setup: IpcReceiver<Wire>,
    /// Parent → child: envelopes.
    pub from_parent: IpcBytesReceiver,
    /// Another sender into `from_parent`, for the child's own wake-ups (ticks).
    pub wake: IpcBytesSender,
}

impl std::fmt::Debug for ParentLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ParentLink")
    }
}

/// Child side: close every descriptor inherited beyond stdin, stdout and
/// stderr. A child must hold no channel of a sibling's: the kernel's end of
/// each child's handshake connection is `accept`ed by ipc-channel 0.23
/// without `SOCK_CLOEXEC`, so every child spawned after it inherited it —
/// a child that shut its sockets (the drill's `linger`) cut its siblings
/// off, and any child could have read a sibling's messages. Call it first
/// in the child, before anything in the process opens a descriptor.
#[allow(unsafe_code)]
pub fn close_inherited_descriptors() {
    // SAFETY: called before anything in this process opened a descriptor
    // above 2, so no owner (a File, a socket) is left holding a closed one.
    if unsafe { libc::close_range(3, libc::c_uint::MAX, 0) } == 0 {
        return;
    }
    // Before Linux 5.9: what /proc lists (the listing's own descriptor is
    // closed by then; closing it again is a harmless EBADF).
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map(|dir| {
            dir.flatten()
                .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
                .filter(|fd| *fd > 2)
                .collect()
        })
        .unwrap_or_default();
    for fd in fds {
        // SAFETY: as above.
        unsafe { libc::close(fd) };
    }
}

/// Child side: connect to the parent's server `name` and say hello.
pub fn connect(name: &str) -> Result<ParentLink, BootstrapError> {
    let to_parent = IpcSender::<Wire>::connect(name.to_string()).map_err(BootstrapError::io)?;
    let (setup_tx, setup) = ipc::channel::<Wire>().map_err(BootstrapError::io)?;
    let (to_child, from_parent) = ipc::bytes_channel().map_err(BootstrapError::io)?;
    let wake = to_child.clone();
    to_parent
        .send(Wire::Hello {
            protocol: PROTOCOL_VERSION,
            pid: std::process::id(),
            setup: setup_tx,
            to_child,
        })
        .map_err(BootstrapError::io)?;
    Ok(ParentLink {
        to_parent,
        setup,
        from_parent,
        wake,
    })
}

/// Child side: die when the parent dies, and make sure it has not already.
pub fn die_with_parent(parent_pid: u32) -> Result<(), BootstrapError> {
    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)
        .map_err(BootstrapError::io)?;
    if nix::unistd::getppid().as_raw() as u32 != parent_pid {
        return Err(BootstrapError::ParentGone(parent_pid));
    }
    Ok(())
}

/// Read one `Wire` from `rx` with a deadline (handshake steps only).
pub fn recv_deadline(rx: &IpcReceiver<Wire>, deadline: Duration) -> Result<Wire, BootstrapError> {
    match rx.try_recv_timeout(deadline) {
        Ok(wire) => Ok(wire),
        Err(ipc_channel::TryRecvError::Empty) => Err(BootstrapError::Timeout(deadline)),
        Err(ipc_channel::TryRecvError::IpcError(err)) => {
            Err(BootstrapError::Protocol(format!("{err:?}")))
        }
    }
}
