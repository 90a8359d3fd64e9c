//! Seed 003's shared-memory export, for readers in any language: the latest
//! detections, tracks and timelines, each in a POSIX shared-memory segment
//! `/dev/shm/warden-<instance>-{detections,tracks,timelines}` (mode 0600).
//!
//! A segment is a 64-byte header and one wire frame (`crate::wire`), all
//! little-endian:
//!
//! ```text
//! off size field
//!   0  u32 magic 0x4D485357 ("WSHM")   8  u64 seq (odd while being written)
//!   4  u32 layout version (1)         16  u32 kind (1 detections, 2 tracks, 3 timelines)
//!  20  u32 capacity (bytes after 64)  24  u32 len (of the frame now; 0: none yet)
//!  28  u32 writer pid                 32  u64 frame_id
//!  40  u64 timestamp_ms (capture)     48  u32 count
//!  52  u32 crc32 (the frame's own)    56  u64 published, ns since the Unix epoch
//!  64  the wire frame (magic "OMNI", version, kind, frame_id, timestamp_ms,
//!      count, payload_len, records, CRC32 of everything before it)
//! ```
//!
//! The header's `seq` is a seqlock: the writer makes it odd, writes, makes
//! it even again; a reader copies the header and the frame between two reads
//! of `seq` and keeps the copy only if both are the same even number, so it
//! never keeps a torn frame (the CRC32 checks that again). One writer per
//! segment: it holds an exclusive `flock` for its lifetime, and a second
//! writer (another kernel with the same instance name) is refused with
//! [`ShmError::InUse`]. A writer that dies leaves the segment as it was (the
//! lock goes with the process); its successor reopens the same file, so
//! readers keep their mapping. [`ShmWriter::remove`] unlinks it at shutdown.
//!
//! This is the only module of the crate with `unsafe` code (the mapping).
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::actor::WireFrame;
use crate::wire::FrameKind;

/// `"WSHM"` read as a little-endian `u32`.
pub const SEGMENT_MAGIC: u32 = 0x4D48_5357;
/// The layout this module writes and reads.
pub const LAYOUT_VERSION: u32 = 1;
/// Bytes before the frame.
pub const HEADER_LEN: usize = 64;
/// Bytes for the frame (the largest wire frame, 64 timelines of 32 points,
/// is 58,152 bytes).
pub const CAPACITY: usize = 64 * 1024;
/// The whole segment.
pub const SEGMENT_LEN: usize = HEADER_LEN + CAPACITY;
/// How long a new writer waits for its predecessor to let go.
const PATIENCE: Duration = Duration::from_secs(2);
/// Reads a reader tries before it reports a torn segment.
const ATTEMPTS: usize = 100_000;

/// Why a segment could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ShmError {
    /// The instance name is not 1–64 bytes of `[A-Za-z0-9._-]`.
    #[error("shm instance {0:?}: must be 1..=64 bytes of [A-Za-z0-9._-]")]
    BadInstance(String),
    /// The file could not be opened, sized or mapped.
    #[error("{path}: {source}")]
    Io {
        /// The segment.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Another live process writes this segment.
    #[error("{path} is written by another live process (it holds the segment's lock)")]
    InUse {
        /// The segment.
        path: PathBuf,
    },
    /// A frame larger than the segment.
    #[error("a {len}-byte frame does not fit the segment's {CAPACITY} bytes")]
    TooLarge {
        /// The frame's length.
        len: usize,
    },
    /// The file is not a segment of this layout.
    #[error("{path}: {reason}")]
    Layout {
        /// The segment.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The writer was inside the segment for every attempt.
    #[error("{path}: the writer held the segment for {ATTEMPTS} reads")]
    Torn {
        /// The segment.
        path: PathBuf,
    },
}

/// The name of a kind's segment.
pub fn kind_name(kind: FrameKind) -> &'static str {
    match kind {
        FrameKind::Detections => "detections",
        FrameKind::Tracks => "tracks",
        FrameKind::Timelines => "timelines",
    }
}

/// `/dev/shm/warden-<instance>-<kind>`.
pub fn segment_path(instance: &str, kind: FrameKind) -> Result<PathBuf, ShmError> {
    let valid = !instance.is_empty()
        && instance.len() <= 64
        && instance
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if !valid {
        return Err(ShmError::BadInstance(instance.to_string()));
    }
    Ok(PathBuf::from(format!(
        "/dev/shm/warden-{instance}-{}",
        kind_name(kind)
    )))
}

/// Whether the writer that holds `file`'s lock (its pid at offset 28) is
/// this process, a child of this process's parent (a sibling: the previous
/// instance of a child actor), or gone.
fn predecessor(file: &File) -> bool {
    use std::os::unix::fs::FileExt;
    let mut pid = [0u8; 4];
    if file.read_exact_at(&mut pid, 28).is_err() {
        return true;
    }
    let pid = u32::from_le_bytes(pid);
    if pid == std::process::id() {
        return true;
    }
    let parent_of = |pid: u32| -> Option<u32> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // `pid (comm) state ppid …`; comm may hold spaces and parentheses.
        let rest = &stat[stat.rfind(')')? + 1..];
        rest.split_whitespace().nth(1)?.parse().ok()
    };
    match (parent_of(pid), parent_of(std::process::id())) {
        (None, _) => true,
        (Some(theirs), Some(ours)) => theirs == ours && ours != 1,
        (Some(_), None) => false,
    }
}

/// A shared mapping of a whole segment.
struct Map {
    ptr: *mut u8,
    len: usize,
}

// SAFETY: the mapping is plain memory shared with other processes; every
// access goes through raw pointers under the seqlock protocol.
unsafe impl Send for Map {}
// SAFETY: as above; `&Map` only hands out reads and atomic operations.
unsafe impl Sync for Map {}

impl Map {
    fn new(file: &File, path: &Path, writable: bool) -> Result<Self, ShmError> {
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: a fresh shared mapping of an open file of at least
        // SEGMENT_LEN bytes (checked or set by the callers); the result is
        // checked against MAP_FAILED.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                SEGMENT_LEN,
                prot,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(ShmError::Io {
                path: path.to_path_buf(),
                source: io::Error::last_os_error(),
            });
        }
        Ok(Map {
            ptr: ptr.cast(),
            len: SEGMENT_LEN,
        })
    }

    fn seq(&self) -> &AtomicU64 {
        // SAFETY: offset 8 of a page-aligned mapping is 8-aligned and inside
        // it; the memory lives as long as `self`.
        unsafe { &*self.ptr.add(8).cast::<AtomicU64>() }
    }

    fn u32_at(&self, at: usize) -> u32 {
        let mut b = [0u8; 4];
        self.copy_out(at, &mut b);
        u32::from_le_bytes(b)
    }

    fn copy_out(&self, at: usize, out: &mut [u8]) {
        assert!(at + out.len() <= self.len, "read past the segment");
        // SAFETY: in bounds (checked above); a racing writer can only make
        // the bytes stale, which the seqlock detects.
        unsafe { std::ptr::copy_nonoverlapping(self.ptr.add(at), out.as_mut_ptr(), out.len()) }
    }

    fn copy_in(&self, at: usize, bytes: &[u8]) {
        assert!(at + bytes.len() <= self.len, "write past the segment");
        // SAFETY: in bounds (checked above), a writable mapping (only the
        // writer calls this), and the one writer holds the lock.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), self.ptr.add(at), bytes.len()) }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once.
        unsafe {
            libc::munmap(self.ptr.cast(), self.len);
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> ShmError + '_ {
    move |source| ShmError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The one writer of a segment.
pub struct ShmWriter {
    path: PathBuf,
    kind: FrameKind,
    map: Map,
    seq: u64,
    // Holds the lock; closed (and unlocked) last.
    _file: File,
}

impl std::fmt::Debug for ShmWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShmWriter")
            .field("path", &self.path)
            .field("seq", &self.seq)
            .finish()
    }
}

impl ShmWriter {
    /// Create (or take over) the segment of `kind` for `instance`.
    pub fn create(instance: &str, kind: FrameKind) -> Result<Self, ShmError> {
        let path = segment_path(instance, kind)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(io_error(&path))?;
        let deadline = Instant::now() + PATIENCE;
        loop {
            // SAFETY: flock on an fd we own.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                break;
            }
            let err = io::Error::last_os_error();
            if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(ShmError::Io { path, source: err });
            }
            // Our own predecessor (this process, or a sibling child of the
            // same kernel, or one on its way out) lets go in a moment;
            // another kernel's writer does not.
            if Instant::now() >= deadline || !predecessor(&file) {
                return Err(ShmError::InUse { path });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        // A segment left by someone else keeps no wider mode than ours.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(io_error(&path))?;
        file.set_len(SEGMENT_LEN as u64).map_err(io_error(&path))?;
        let map = Map::new(&file, &path, true)?;
        map.copy_in(28, &std::process::id().to_le_bytes());
        // A predecessor's segment of this layout and kind is continued (its
        // readers keep their mapping and see the sequence go on); anything
        // else is started afresh.
        let ours = map.u32_at(0) == SEGMENT_MAGIC
            && map.u32_at(4) == LAYOUT_VERSION
            && map.u32_at(16) == kind.code()
            && map.u32_at(20) == CAPACITY as u32;
        let seq = if ours {
            let seq = map.seq().load(Ordering::Acquire);
            // A writer killed inside a write left it odd: the frame may be
            // torn, so it is emptied before the sequence becomes even.
            if seq % 2 == 1 {
                map.copy_in(24, &0u32.to_le_bytes());
                map.seq().store(seq + 1, Ordering::Release);
                seq + 1
            } else {
                seq
            }
        } else {
            map.seq().store(1, Ordering::Relaxed);
            fence(Ordering::Release);
            let mut header = [0u8; HEADER_LEN];
            header[0..4].copy_from_slice(&SEGMENT_MAGIC.to_le_bytes());
            header[4..8].copy_from_slice(&LAYOUT_VERSION.to_le_bytes());
            header[16..20].copy_from_slice(&kind.code().to_le_bytes());
            header[20..24].copy_from_slice(&(CAPACITY as u32).to_le_bytes());
            map.copy_in(0, &header[..8]);
            map.copy_in(16, &header[16..]);
            map.seq().store(2, Ordering::Release);
            2
        };
        Ok(ShmWriter {
            path,
            kind,
            map,
            seq,
            _file: file,
        })
    }

    /// The segment's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Put `frame` in the segment (readers see it whole or not at all).
    pub fn publish(&mut self, frame: &WireFrame) -> Result<(), ShmError> {
        let len = frame.wire.len();
        if len > CAPACITY {
            return Err(ShmError::TooLarge { len });
        }
        let published = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let mut header = [0u8; HEADER_LEN - 16];
        header[0..4].copy_from_slice(&self.kind.code().to_le_bytes());
        header[4..8].copy_from_slice(&(CAPACITY as u32).to_le_bytes());
        header[8..12].copy_from_slice(&(len as u32).to_le_bytes());
        header[12..16].copy_from_slice(&std::process::id().to_le_bytes());
        header[16..24].copy_from_slice(&frame.frame_id.to_le_bytes());
        header[24..32].copy_from_slice(&frame.timestamp_ms.to_le_bytes());
        header[32..36].copy_from_slice(&frame.count.to_le_bytes());
        header[36..40].copy_from_slice(&frame.crc32.to_le_bytes());
        header[40..48].copy_from_slice(&published.to_le_bytes());
        let seq = self.map.seq();
        seq.store(self.seq + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        self.map.copy_in(16, &header);
        self.map.copy_in(HEADER_LEN, &frame.wire);
        seq.store(self.seq + 2, Ordering::Release);
        self.seq += 2;
        Ok(())
    }

    /// Unlink the segment (at shutdown; readers' mappings stay valid).
    pub fn remove(self) {
        if let Err(err) = std::fs::remove_file(&self.path) {
            tracing::warn!(path = %self.path.display(), %err, "cannot remove the shm segment");
        }
    }
}

/// One consistent copy of a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShmSnapshot {
    /// The sequence number it was read at (even).
    pub seq: u64,
    /// The writer's pid.
    pub pid: u32,
    /// The frame's id.
    pub frame_id: u64,
    /// Capture time, ms since the Unix epoch.
    pub timestamp_ms: u64,
    /// Records in it.
    pub count: u32,
    /// The frame's CRC32.
    pub crc32: u32,
    /// When it was published, ns since the Unix epoch.
    pub published_unix_ns: u64,
    /// The wire frame (decode it with `crate::wire`).
    pub wire: Vec<u8>,
}

/// A reader of a segment (a test's or a benchmark's; other languages follow
/// the module documentation, as `examples/shm_reader.py` does).
pub struct ShmReader {
    path: PathBuf,
    map: Map,
    kind: FrameKind,
}

impl ShmReader {
    /// Map the segment of `kind` for `instance`, read-only.
    pub fn open(instance: &str, kind: FrameKind) -> Result<Self, ShmError> {
        let path = segment_path(instance, kind)?;
        let file = File::open(&path).map_err(io_error(&path))?;
        let size = file.metadata().map_err(io_error(&path))?.len();
        if size < SEGMENT_LEN as u64 {
            return Err(ShmError::Layout {
                path,
                reason: format!("{size} bytes, a segment has {SEGMENT_LEN}"),
            });
        }
        let map = Map::new(&file, &path, false)?;
        if map.u32_at(0) != SEGMENT_MAGIC || map.u32_at(4) != LAYOUT_VERSION {
            return Err(ShmError::Layout {
                path,
                reason: format!(
                    "magic {:#010x} layout {}, expected {SEGMENT_MAGIC:#010x} layout {LAYOUT_VERSION}",
                    map.u32_at(0),
                    map.u32_at(4)
                ),
            });
        }
        Ok(ShmReader { path, map, kind })
    }

    /// The sequence number now (changes with every publish).
    pub fn seq(&self) -> u64 {
        self.map.seq().load(Ordering::Acquire)
    }

    /// The latest frame (`None` before the first publish), copied between
    /// two equal even sequence numbers.
    pub fn read(&self) -> Result<Option<ShmSnapshot>, ShmError> {
        let mut header = [0u8; HEADER_LEN];
        for _ in 0..ATTEMPTS {
            let seq = self.map.seq().load(Ordering::Acquire);
            if seq % 2 == 1 {
                std::hint::spin_loop();
                continue;
            }
            self.map.copy_out(0, &mut header);
            let field32 =
                |at: usize| u32::from_le_bytes(header[at..at + 4].try_into().unwrap_or_default());
            let field64 =
                |at: usize| u64::from_le_bytes(header[at..at + 8].try_into().unwrap_or_default());
            let len = (field32(24) as usize).min(CAPACITY);
            let mut wire = vec![0u8; len];
            self.map.copy_out(HEADER_LEN, &mut wire);
            fence(Ordering::Acquire);
            if self.map.seq().load(Ordering::Relaxed) != seq {
                continue;
            }
            if field32(16) != self.kind.code() {
                return Err(ShmError::Layout {
                    path: self.path.clone(),
                    reason: format!("kind {}, expected {}", field32(16), self.kind.code()),
                });
            }
            if len == 0 {
                return Ok(None);
            }
            return Ok(Some(ShmSnapshot {
                seq,
                pid: field32(28),
                frame_id: field64(32),
                timestamp_ms: field64(40),
                count: field32(48),
                crc32: field32(52),
                published_unix_ns: field64(56),
                wire,
            }));
        }
        Err(ShmError::Torn {
            path: self.path.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{TracksFrame, peek_header};

    fn frame(frame_id: u64) -> WireFrame {
        let wire = TracksFrame {
            frame_id,
            timestamp_ms: 1_000 + frame_id,
            tracks: Vec::new(),
        }
        .encode()
        .unwrap();
        WireFrame::new(frame_id, 1_000 + frame_id, 0, wire)
    }

    fn instance(tag: &str) -> String {
        format!("test-{tag}-{}", std::process::id())
    }

    #[test]
    fn a_reader_sees_each_frame_whole_and_a_second_writer_is_refused() {
        let name = instance("rw");
        let mut writer = ShmWriter::create(&name, FrameKind::Tracks).unwrap();
        let mode = std::fs::metadata(writer.path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let reader = ShmReader::open(&name, FrameKind::Tracks).unwrap();
        assert_eq!(reader.read().unwrap(), None, "nothing published yet");
        assert!(matches!(
            ShmWriter::create(&name, FrameKind::Tracks),
            Err(ShmError::InUse { .. })
        ));
        for id in 1..=3 {
            writer.publish(&frame(id)).unwrap();
            let got = reader.read().unwrap().unwrap();
            assert_eq!(got.frame_id, id);
            assert_eq!(peek_header(&got.wire).unwrap().frame_id, id);
            assert_eq!(got.crc32, frame(id).crc32);
        }
        // A successor continues the sequence in the same file.
        let seq = reader.seq();
        drop(writer);
        let mut writer = ShmWriter::create(&name, FrameKind::Tracks).unwrap();
        writer.publish(&frame(4)).unwrap();
        assert_eq!(reader.seq(), seq + 2);
        assert_eq!(reader.read().unwrap().unwrap().frame_id, 4);
        let path = writer.path().to_path_buf();
        writer.remove();
        assert!(!path.exists());
    }

    #[test]
    fn bad_names_and_oversize_frames_are_refused() {
        assert!(matches!(
            segment_path("../x", FrameKind::Tracks),
            Err(ShmError::BadInstance(_))
        ));
        assert!(matches!(
            segment_path("", FrameKind::Tracks),
            Err(ShmError::BadInstance(_))
        ));
        let name = instance("big");
        let mut writer = ShmWriter::create(&name, FrameKind::Detections).unwrap();
        let big = WireFrame::new(1, 1, 0, vec![0; CAPACITY + 1]);
        assert!(matches!(
            writer.publish(&big),
            Err(ShmError::TooLarge { .. })
        ));
        writer.remove();
    }

    #[test]
    fn a_writer_killed_mid_write_leaves_no_torn_frame_to_its_successor() {
        let name = instance("odd");
        let mut writer = ShmWriter::create(&name, FrameKind::Tracks).unwrap();
        writer.publish(&frame(1)).unwrap();
        // What a SIGKILL between the two stores leaves: an odd sequence.
        writer.map.seq().store(writer.seq + 1, Ordering::Release);
        drop(writer);
        let reader = ShmReader::open(&name, FrameKind::Tracks).unwrap();
        let writer = ShmWriter::create(&name, FrameKind::Tracks).unwrap();
        assert_eq!(reader.seq() % 2, 0);
        assert_eq!(reader.read().unwrap(), None, "the suspect frame is emptied");
        writer.remove();
    }
}
