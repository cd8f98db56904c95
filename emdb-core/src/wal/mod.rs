//! The write-ahead log `<path>.wal`: one checksummed frame per commit, group commit, and
//! recovery that cuts a torn tail and reports damage in the middle.
//!
//! Header (40 bytes at offset 0; rewritten in place by [`Wal::reset`]):
//!
//! ```text
//! 0                 8        12       16                24                32                40
//! +-----------------+--------+--------+-----------------+-----------------+-----------------+
//! |      magic      |version | crc32c |  salt (random)  |    base LSN     |   database id   |
//! |     [u8; 8]     |  u32   |  u32   |       u64       |       u64       |       u64       |
//! +-----------------+--------+--------+-----------------+-----------------+-----------------+
//! ```
//!
//! `crc32c` covers the header with its own four bytes read as zero. Version 1 headers end at
//! byte 32, without the database id; they are read (their frames start at 32) and replaced by
//! a version 2 header at the next reset. Frames follow, back to back; the first has LSN
//! `base + 1` and each next one the LSN after:
//!
//! ```text
//! 0        4                 12                20                28              28+len
//! +--------+-----------------+-----------------+-----------------+---------------+--------+
//! |  len   |       LSN       |      salt       |  durable LSN    | payload[len]  | crc32c |
//! |  u32   |       u64       |       u64       |       u64       | (codec.rs)    |  u32   |
//! +--------+-----------------+-----------------+-----------------+---------------+--------+
//! ```
//!
//! The frame `crc32c` covers bytes 0..28+len. A frame is valid when its checksum holds, its
//! salt is the header's and its LSN is the next one; frames of an older generation (another
//! salt) left behind a reset are never valid.
//!
//! `durable LSN` is the LSN up to which the log was known durable when the frame was written.
//! It tells a crash from damage: writes not yet synced may reach the disk in any order, so a
//! bad frame followed by valid ones is what a power loss leaves behind, unless a later valid
//! frame says the bad one had been synced before it was written. Recovery cuts the first
//! case off as a torn tail and reports the second as [`Error::Corruption`].
//!
//! The log belongs to one page file: the page file's meta page records the database id and the
//! salt of the generation that follows its checkpoint ([`LogBinding`]). At open a log with
//! another salt (or another database id) is never replayed: without frames past the checkpoint
//! it is an old generation that a crash kept (it is reset), with them it is another database's
//! log ([`Error::ForeignLog`]) or another generation's ([`Error::StaleLog`]). A log missing
//! where the meta page says frames may follow is [`Error::LogMissing`].
//!
//! Space ahead: a small frame that would end past the file's length first extends the file
//! with zeros to the next multiple of [`ZERO_AHEAD`], so the frames after it overwrite blocks
//! the file already has and their `fdatasync` flushes data only, without a filesystem journal
//! commit for a new length (measured on ext4: about 76 µs against 110 µs for an append). Zeros
//! are never a valid frame (the checksum of a zero frame is not zero), so recovery reads the
//! zeroed tail as the end of the log and cuts it like a torn tail. A large frame is appended
//! as it is: zeroing ahead of it would write it twice.

mod codec;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::batch::Batch;
use crate::error::{Error, Result};
use crate::io::{NoFile, Storage, StorageFile, parent_dir, sidecar};
use crate::page::meta::{LogBinding, random_id};

pub(crate) use codec::{decode_batch, encode_batch, encoded_len};

/// The file is extended with zeros to a multiple of this before a small frame would pass its
/// end (see the module documentation).
pub(crate) const ZERO_AHEAD: u64 = 64 * 1024;
/// Frames up to this size get zeroed space ahead; larger ones are appended as they are.
const ZERO_AHEAD_MAX_FRAME: u64 = 16 * 1024;

/// The first eight bytes of every WAL file.
const MAGIC: [u8; 8] = *b"emdbWAL\0";
/// The WAL format version this program writes. It reads versions 1 and 2.
const VERSION: u32 = 2;
/// The version whose header has no database id.
const VERSION_1: u32 = 1;

const H_MAGIC: usize = 0;
const H_VERSION: usize = H_MAGIC + 8;
const H_CRC: usize = H_VERSION + 4;
const H_SALT: usize = H_CRC + 4;
const H_BASE: usize = H_SALT + 8;
const H_DATABASE: usize = H_BASE + 8;
/// The size of a version 2 header; the first frame starts here.
pub(crate) const HEADER_LEN: usize = H_DATABASE + 8;
/// The size of a version 1 header.
const HEADER_1_LEN: usize = H_DATABASE;

const F_LEN: usize = 0;
const F_LSN: usize = F_LEN + 4;
const F_SALT: usize = F_LSN + 8;
const F_DURABLE: usize = F_SALT + 8;
const F_PAYLOAD: usize = F_DURABLE + 8;

/// A fresh random salt for a new WAL generation.
pub(crate) fn fresh_salt() -> u64 {
    random_id()
}

fn header(salt: u64, base: u64, database_id: u64) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[H_MAGIC..H_VERSION].copy_from_slice(&MAGIC);
    h[H_VERSION..H_CRC].copy_from_slice(&VERSION.to_le_bytes());
    h[H_SALT..H_BASE].copy_from_slice(&salt.to_le_bytes());
    h[H_BASE..H_DATABASE].copy_from_slice(&base.to_le_bytes());
    h[H_DATABASE..HEADER_LEN].copy_from_slice(&database_id.to_le_bytes());
    let crc = header_crc(&h);
    h[H_CRC..H_SALT].copy_from_slice(&crc.to_le_bytes());
    h
}

/// The checksum of a header (`h` is the header's whole length) with its own bytes as zero.
fn header_crc(h: &[u8]) -> u32 {
    let crc = crc32c::crc32c(h.get(..H_CRC).unwrap_or_default());
    let crc = crc32c::crc32c_append(crc, &[0; 4]);
    crc32c::crc32c_append(crc, h.get(H_SALT..).unwrap_or_default())
}

fn le_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).and_then(|s| s.try_into().ok()).map_or(0, u32::from_le_bytes)
}

fn le_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8).and_then(|s| s.try_into().ok()).map_or(0, u64::from_le_bytes)
}

/// A whole log file: a valid header of `salt` and `base`, then one valid frame per payload
/// from LSN `base + 1` (the fuzz targets wrap arbitrary payloads in it to reach the decoder).
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn log_bytes(salt: u64, base: u64, payloads: &[&[u8]]) -> Vec<u8> {
    let mut out = header(salt, base, 1).to_vec();
    for (lsn, payload) in (base + 1..).zip(payloads) {
        let start = out.len();
        out.extend_from_slice(&u32::try_from(payload.len()).unwrap_or(u32::MAX).to_le_bytes());
        out.extend_from_slice(&lsn.to_le_bytes());
        out.extend_from_slice(&salt.to_le_bytes());
        out.extend_from_slice(&base.to_le_bytes());
        out.extend_from_slice(payload);
        let crc = crc32c::crc32c(out.get(start..).unwrap_or_default());
        out.extend_from_slice(&crc.to_le_bytes());
    }
    out
}

/// What the header of an existing WAL says.
enum Header {
    Valid {
        salt: u64,
        base: u64,
        /// `None` in a version 1 header.
        database_id: Option<u64>,
        /// Where the first frame starts.
        len: usize,
    },
    Newer(u32),
    Invalid,
}

/// Parses the header at the start of `h` (the file's first bytes, at most [`HEADER_LEN`]).
fn parse_header(h: &[u8]) -> Header {
    if h.get(H_MAGIC..H_VERSION) != Some(&MAGIC[..]) {
        return Header::Invalid;
    }
    let sealed = |len: usize| h.get(..len).is_some_and(|h| le_u32(h, H_CRC) == header_crc(h));
    let (version, len) = match le_u32(h, H_VERSION) {
        VERSION => (VERSION, HEADER_LEN),
        VERSION_1 => (VERSION_1, HEADER_1_LEN),
        // A newer header is recognised by a checksum over either known length (a flipped
        // version byte is damage).
        v if v > VERSION && (sealed(HEADER_LEN) || sealed(HEADER_1_LEN)) => {
            return Header::Newer(v);
        }
        _ => return Header::Invalid,
    };
    if !sealed(len) {
        return Header::Invalid;
    }
    Header::Valid {
        salt: le_u64(h, H_SALT),
        base: le_u64(h, H_BASE),
        database_id: (version == VERSION).then(|| le_u64(h, H_DATABASE)),
        len,
    }
}

/// The fields of a valid header.
#[derive(Debug, Clone, Copy)]
struct Valid {
    salt: u64,
    base: u64,
    database_id: Option<u64>,
    len: usize,
}

/// What to do with a log whose header is valid.
enum Judgement {
    /// It is the page file's: replay its frames past the checkpoint.
    Replay,
    /// It holds nothing past the checkpoint: start the expected generation in it.
    Fresh,
    /// It is not the page file's, and the caller asked to set such a log aside.
    SetAside,
}

impl Valid {
    /// Whether the log with this header is the one `check` expects (see the module
    /// documentation).
    ///
    /// # Errors
    /// [`Error::Corruption`] when it starts after the checkpoint and a lost meta page explains
    /// it; [`Error::ForeignLog`] and [`Error::StaleLog`] for another database's or generation's
    /// log with frames past the checkpoint (unless `check.set_aside`).
    fn judge(
        self,
        check: &LogCheck,
        reader: &mut FrameReader<'_>,
        path: &Path,
        checkpoint_lsn: u64,
    ) -> Result<Judgement> {
        let Valid { salt, base, database_id, len } = self;
        let foreign =
            check.binding.is_some_and(|b| database_id.is_some_and(|d| d != b.database_id));
        let other_generation = check.binding.is_some_and(|b| salt != b.salt);
        if !foreign && base > checkpoint_lsn && !(other_generation && check.meta_intact) {
            // A log generation starts only after a durable checkpoint at its base: the page
            // file must hold every commit up to it. It does not when its newest meta page was
            // lost, and replaying the log over the older root (or dropping it) would skip
            // commits.
            return Err(Error::Corruption {
                path: path.to_path_buf(),
                offset: H_BASE as u64,
                detail: format!(
                    "the log starts after LSN {base} but the page file holds commits only up to \
                     LSN {checkpoint_lsn} (its newest meta page is damaged)"
                ),
            });
        }
        if !foreign && !other_generation {
            return Ok(Judgement::Replay);
        }
        // Not the generation the page file expects: never replayed.
        let newer = reader.frames_after(len as u64, salt, base, checkpoint_lsn)?;
        if newer == 0 {
            // An older generation of this file kept by a crash between a checkpoint's meta
            // page and the log's reset: every frame in it is in the tree.
            return Ok(Judgement::Fresh);
        }
        if !check.set_aside {
            let path = path.to_path_buf();
            return Err(if foreign {
                Error::ForeignLog { path, frames: newer }
            } else {
                Error::StaleLog { path, frames: newer }
            });
        }
        Ok(if check.read_only { Judgement::Fresh } else { Judgement::SetAside })
    }
}

/// What the page file expects of its log, from its meta page.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LogCheck {
    /// The database id that new headers carry.
    pub(crate) database_id: u64,
    /// What the meta page records; `None` for a page file of a format before 5, whose log is
    /// taken whatever its salt, as those versions did.
    pub(crate) binding: Option<LogBinding>,
    /// Instead of refusing to open: a missing log is created, and a log of another database
    /// or generation with frames past the checkpoint is renamed to `<log>.aside-<n>` and
    /// replaced by an empty one. The database opens at its last checkpoint.
    pub(crate) set_aside: bool,
    /// Both meta pages of the page file are valid: a log generation that starts after the
    /// checkpoint cannot be explained by a lost newer meta page.
    pub(crate) meta_intact: bool,
    /// Open for a read-only database: the log is read and never written (a torn tail is not
    /// cut, a missing log is not created, a log set aside is only left unread), and no frame
    /// may be appended.
    pub(crate) read_only: bool,
}

/// The mutable state of the log, under one mutex.
#[derive(Debug)]
struct State {
    salt: u64,
    /// The offset after the last frame.
    end: u64,
    /// The length of the file: `end..allocated` is zeros (or a cut-off tail) to overwrite.
    allocated: u64,
    /// The LSN of the last frame written.
    last_lsn: u64,
    /// Every frame up to this LSN is durable.
    synced_lsn: u64,
    /// A committer is running `fdatasync` now (the leader of a group commit).
    syncing: bool,
    /// A sync failed: no later append or sync is accepted.
    poisoned: bool,
    /// The frame encoding buffer, reused.
    buf: Vec<u8>,
    /// The number of `fdatasync` calls made (for tests and statistics).
    syncs: u64,
}

/// An open write-ahead log.
#[derive(Debug)]
pub(crate) struct Wal {
    path: PathBuf,
    /// The database id the headers this log writes carry.
    database_id: u64,
    file: Box<dyn StorageFile>,
    state: Mutex<State>,
    synced: Condvar,
}

/// Where recovery stopped reading frames, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Recovery {
    /// Frames replayed (newer than the checkpoint LSN).
    pub(crate) replayed: u64,
    /// Bytes cut off a torn or garbage tail.
    pub(crate) truncated: u64,
    /// The LSN of the last frame in the log (or the checkpoint LSN when newer).
    pub(crate) last_lsn: u64,
}

impl Wal {
    /// Opens (creating when missing) the WAL of the database at `db_path` and replays, in
    /// order, every frame newer than `checkpoint_lsn` through `on_frame`. A torn or garbage
    /// tail is cut off; a damaged frame followed by a valid one is corruption. `check` says
    /// which log belongs to the page file (see the module documentation).
    ///
    /// # Errors
    /// [`Error::Corruption`] for damage before the tail, [`Error::UnsupportedFormatVersion`]
    /// for a WAL of a newer format, [`Error::LogMissing`], [`Error::ForeignLog`] or
    /// [`Error::StaleLog`] for a log that is not this page file's (unless `check.set_aside`),
    /// the first error of `on_frame`, or an I/O error.
    pub(crate) fn open(
        storage: &Arc<dyn Storage>,
        db_path: &Path,
        checkpoint_lsn: u64,
        check: LogCheck,
        mut on_frame: impl FnMut(u64, Batch) -> Result<()>,
    ) -> Result<(Wal, Recovery)> {
        let path = sidecar(db_path, ".wal");
        let io = |e| Error::io(&path, e);
        // The salt of a generation this open starts: the one the meta page expects.
        let new_salt = check.binding.map_or_else(fresh_salt, |b| b.salt);
        let fresh = |file, path| -> Result<(Wal, Recovery)> {
            let mut w = Wal::new(path, check.database_id, file, new_salt, 0, checkpoint_lsn);
            if !check.read_only {
                w.reset_log(new_salt, checkpoint_lsn)?;
            }
            Ok((w, Recovery { replayed: 0, truncated: 0, last_lsn: checkpoint_lsn }))
        };
        let opened = if check.read_only {
            storage.open_read(&path)
        } else {
            storage.open_file(&path, false)
        };
        let file = match opened {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if let Some(b) = check.binding
                    && b.in_use
                    && !check.set_aside
                {
                    return Err(Error::LogMissing { path, checkpoint_lsn });
                }
                if check.read_only {
                    return fresh(Box::new(NoFile), path);
                }
                // A new log: its directory entry is made durable before anything relies on it.
                let file = create(storage, &path)?;
                return fresh(file, path);
            }
            opened => opened.map_err(io)?,
        };
        let len = file.len().map_err(io)?;
        let mut h = [0u8; HEADER_LEN];
        let head = h.get_mut(..usize::try_from(len).unwrap_or(HEADER_LEN).min(HEADER_LEN));
        let head = head.unwrap_or_default();
        file.read_at(head, 0).map_err(io)?;
        let parsed = parse_header(head);
        let mut reader = FrameReader { file: file.as_ref(), path: &path, len, buf: Vec::new() };
        let (salt, base, header_len) = match parsed {
            Header::Valid { salt, base, database_id, len } => {
                let header = Valid { salt, base, database_id, len };
                match header.judge(&check, &mut reader, &path, checkpoint_lsn)? {
                    Judgement::Replay => (salt, base, len),
                    Judgement::Fresh => {
                        drop(reader);
                        return fresh(file, path);
                    }
                    Judgement::SetAside => {
                        drop(reader);
                        drop(file);
                        let file = set_aside(storage, &path)?;
                        return fresh(file, path);
                    }
                }
            }
            Header::Newer(found) => {
                return Err(Error::UnsupportedFormatVersion { path, found, supported: VERSION });
            }
            Header::Invalid => {
                // A new log, or a header torn by a reset (all its frames were checkpointed).
                // A header damaged in front of frames the tree lacks is corruption.
                if reader.unchecked_frame_after(HEADER_1_LEN as u64, checkpoint_lsn)?
                    || reader.unchecked_frame_after(HEADER_LEN as u64, checkpoint_lsn)?
                {
                    return Err(Error::Corruption {
                        path,
                        offset: 0,
                        detail:
                            "WAL header damaged, but frames newer than the checkpoint follow it"
                                .into(),
                    });
                }
                drop(reader);
                return fresh(file, path);
            }
        };
        let (offset, expected, replayed) =
            reader.replay(header_len as u64, salt, base, checkpoint_lsn, &mut on_frame)?;
        let last = expected - 1;
        // Zeros after the last frame are space written ahead of it, not a torn tail: they
        // stay, to be overwritten.
        let zero_tail = reader.all_zero(offset)?;
        let truncated = if zero_tail { 0 } else { len - offset };
        let mut w = Wal::new(path, check.database_id, file, salt, offset, last);
        if zero_tail {
            w.state.get_mut().allocated = len;
        }
        if check.read_only {
            // Nothing is written; nothing is appended either.
        } else if last < checkpoint_lsn {
            // The tree holds commits whose frames never became durable: start a generation
            // after them, so new frames follow on without a gap.
            w.reset_log(new_salt, checkpoint_lsn)?;
        } else if truncated > 0 {
            w.file.set_len(offset).map_err(|e| Error::io(&w.path, e))?;
            w.file.sync_data().map_err(|e| Error::io(&w.path, e))?;
        }
        let last_lsn = last.max(checkpoint_lsn);
        Ok((w, Recovery { replayed, truncated, last_lsn }))
    }

    fn new(
        path: PathBuf,
        database_id: u64,
        file: Box<dyn StorageFile>,
        salt: u64,
        end: u64,
        last: u64,
    ) -> Wal {
        let state = State {
            salt,
            end,
            allocated: end,
            last_lsn: last,
            synced_lsn: last,
            syncing: false,
            poisoned: false,
            buf: Vec::new(),
            syncs: 0,
        };
        Wal { path, database_id, file, state: Mutex::new(state), synced: Condvar::new() }
    }

    /// Writes a new header (new `salt`, frames from `base + 1`) and drops every frame.
    fn reset_log(&mut self, salt: u64, base: u64) -> Result<()> {
        let io = |e| Error::io(&self.path, e);
        self.file.write_at(&header(salt, base, self.database_id), 0).map_err(io)?;
        self.file.sync_data().map_err(io)?;
        self.file.set_len(HEADER_LEN as u64).map_err(io)?;
        let st = self.state.get_mut();
        st.salt = salt;
        st.end = HEADER_LEN as u64;
        st.allocated = HEADER_LEN as u64;
        st.last_lsn = base;
        st.synced_lsn = base;
        Ok(())
    }

    /// Appends one frame holding `batch`; returns its LSN. The frame is durable only after
    /// [`wait_durable`](Wal::wait_durable) or [`sync`](Wal::sync).
    ///
    /// # Errors
    /// [`Error::Poisoned`] after a failed sync; [`Error::ValueTooLarge`] for a batch over
    /// 4 GiB; an I/O error (the log is then unchanged).
    pub(crate) fn append(&self, batch: &Batch) -> Result<u64> {
        let mut st = self.state.lock();
        if st.poisoned {
            return Err(Error::Poisoned);
        }
        let lsn = st.last_lsn + 1;
        let (salt, durable) = (st.salt, st.synced_lsn);
        let mut buf = std::mem::take(&mut st.buf);
        buf.clear();
        buf.extend_from_slice(&[0u8; F_PAYLOAD]);
        let encoded = encode_batch(batch, &mut buf);
        let payload_len = buf.len() - F_PAYLOAD;
        let len = u32::try_from(payload_len).ok().filter(|_| encoded.is_ok());
        let Some(len) = len else {
            st.buf = buf;
            return Err(Error::ValueTooLarge { len: payload_len, max: u32::MAX as usize });
        };
        let mut h = [0u8; F_PAYLOAD];
        h[F_LEN..F_LSN].copy_from_slice(&len.to_le_bytes());
        h[F_LSN..F_SALT].copy_from_slice(&lsn.to_le_bytes());
        h[F_SALT..F_DURABLE].copy_from_slice(&salt.to_le_bytes());
        h[F_DURABLE..F_PAYLOAD].copy_from_slice(&durable.to_le_bytes());
        if let Some(dst) = buf.get_mut(..F_PAYLOAD) {
            dst.copy_from_slice(&h);
        }
        let crc = crc32c::crc32c(&buf);
        buf.extend_from_slice(&crc.to_le_bytes());
        let n = buf.len() as u64;
        let written = self.zero_ahead(&mut st, n).and_then(|()| self.file.write_at(&buf, st.end));
        st.buf = buf;
        written.map_err(|e| Error::io(&self.path, e))?;
        st.end += n;
        st.allocated = st.allocated.max(st.end);
        st.last_lsn = lsn;
        Ok(lsn)
    }

    /// Before a frame of `n` bytes is written at `st.end`: when it is small and would pass the
    /// file's end, extends the file with zeros to the next multiple of [`ZERO_AHEAD`] past it.
    /// A failed write leaves the log as it was (zeros past `end` are never a frame).
    fn zero_ahead(&self, st: &mut State, n: u64) -> std::io::Result<()> {
        let need = st.end.saturating_add(n);
        if need <= st.allocated || n > ZERO_AHEAD_MAX_FRAME {
            return Ok(());
        }
        let from = st.allocated.max(st.end);
        let to = need.next_multiple_of(ZERO_AHEAD);
        let zeros = vec![0u8; usize::try_from(to - from).unwrap_or(0)];
        self.file.write_at(&zeros, from)?;
        st.allocated = to;
        Ok(())
    }

    /// Takes the next LSN without writing a frame, for a commit that a checkpoint makes durable
    /// instead of the log (a batch too large to be worth logging first). The checkpoint that
    /// follows records the LSN in the meta page and resets the log past it; until then the log
    /// simply has no frame for it, which recovery reads as a commit that never happened.
    ///
    /// # Errors
    /// [`Error::Poisoned`] after a failed sync.
    pub(crate) fn reserve_lsn(&self) -> Result<u64> {
        let mut st = self.state.lock();
        if st.poisoned {
            return Err(Error::Poisoned);
        }
        st.last_lsn += 1;
        Ok(st.last_lsn)
    }

    /// Gives back `lsn`, taken by [`reserve_lsn`](Wal::reserve_lsn) for a commit that failed
    /// before anything of it was applied, when no LSN was taken after it.
    pub(crate) fn unreserve_lsn(&self, lsn: u64) {
        let mut st = self.state.lock();
        if st.last_lsn == lsn {
            st.last_lsn -= 1;
        }
    }

    /// Waits until the frame `lsn` is durable. Committers share syncs: the first waiter
    /// syncs everything written so far while later ones wait for it (group commit).
    ///
    /// # Errors
    /// The I/O error of a failed sync, which poisons the log; [`Error::Poisoned`] after it.
    pub(crate) fn wait_durable(&self, lsn: u64) -> Result<()> {
        let mut st = self.state.lock();
        loop {
            if st.poisoned {
                return Err(Error::Poisoned);
            }
            if st.synced_lsn >= lsn {
                return Ok(());
            }
            if st.syncing {
                self.synced.wait(&mut st);
                continue;
            }
            st.syncing = true;
            st.syncs += 1;
            let target = st.last_lsn;
            let r = MutexGuard::unlocked(&mut st, || self.file.sync_data());
            st.syncing = false;
            match r {
                Ok(()) => st.synced_lsn = st.synced_lsn.max(target),
                Err(e) => {
                    st.poisoned = true;
                    self.synced.notify_all();
                    return Err(Error::io(&self.path, e));
                }
            }
            self.synced.notify_all();
        }
    }

    /// Makes every frame appended so far durable.
    ///
    /// # Errors
    /// As [`wait_durable`](Wal::wait_durable).
    pub(crate) fn sync(&self) -> Result<()> {
        let last = self.state.lock().last_lsn;
        self.wait_durable(last)
    }

    /// Starts a new generation after a checkpoint that includes every frame up to
    /// `checkpoint_lsn`: the header gets `new_salt` and the log is emptied. When frames newer
    /// than the checkpoint exist they must be kept, so nothing happens and `false` is
    /// returned (replay skips the checkpointed frames; a later reset empties the log).
    ///
    /// # Errors
    /// [`Error::Poisoned`], or an I/O error (which poisons the log).
    pub(crate) fn reset(&self, checkpoint_lsn: u64, new_salt: u64) -> Result<bool> {
        let mut st = self.state.lock();
        if st.poisoned {
            return Err(Error::Poisoned);
        }
        if st.last_lsn != checkpoint_lsn {
            return Ok(false);
        }
        while st.syncing {
            self.synced.wait(&mut st);
        }
        let io = |e| Error::io(&self.path, e);
        let r = self
            .file
            .write_at(&header(new_salt, checkpoint_lsn, self.database_id), 0)
            .and_then(|()| self.file.sync_data())
            .and_then(|()| self.file.set_len(HEADER_LEN as u64));
        if let Err(e) = r {
            st.poisoned = true;
            return Err(io(e));
        }
        st.salt = new_salt;
        st.end = HEADER_LEN as u64;
        st.allocated = HEADER_LEN as u64;
        st.synced_lsn = checkpoint_lsn;
        Ok(true)
    }

    /// The LSN of the last frame appended.
    pub(crate) fn last_lsn(&self) -> u64 {
        self.state.lock().last_lsn
    }

    /// The salt of the current generation.
    pub(crate) fn salt(&self) -> u64 {
        self.state.lock().salt
    }

    /// The size of the log in bytes (the checkpoint trigger).
    pub(crate) fn size(&self) -> u64 {
        self.state.lock().end
    }

    /// The number of `fdatasync` calls group commit made.
    #[cfg(test)]
    pub(crate) fn sync_count(&self) -> u64 {
        self.state.lock().syncs
    }

    /// Whether a failed sync has poisoned the log.
    pub(crate) fn is_poisoned(&self) -> bool {
        self.state.lock().poisoned
    }
}

/// Creates an empty log file at `path` and makes its directory entry durable.
fn create(storage: &Arc<dyn Storage>, path: &Path) -> Result<Box<dyn StorageFile>> {
    let io = |e| Error::io(path, e);
    let file = storage.open_file(path, true).map_err(io)?;
    storage.sync_dir(parent_dir(path)).map_err(io)?;
    Ok(file)
}

/// Renames the log at `path` to the first free `<path>.aside-<n>` and creates an empty one in
/// its place.
fn set_aside(storage: &Arc<dyn Storage>, path: &Path) -> Result<Box<dyn StorageFile>> {
    let io = |e| Error::io(path, e);
    let mut n = 1u32;
    let aside = loop {
        let aside = sidecar(path, &format!(".aside-{n}"));
        if !storage.exists(&aside).map_err(io)? {
            break aside;
        }
        n += 1;
    };
    storage.rename(path, &aside).map_err(io)?;
    create(storage, path)
}

/// What [`FrameReader::frame`] found.
struct Frame {
    /// The offset after the frame.
    next: u64,
    /// The frame's durable LSN.
    durable: u64,
    /// The frame's LSN.
    lsn: u64,
}

/// Reads frames with every length bounded by the file before anything is allocated.
struct FrameReader<'a> {
    file: &'a dyn StorageFile,
    path: &'a Path,
    len: u64,
    /// The last frame read, whole.
    buf: Vec<u8>,
}

impl FrameReader<'_> {
    /// Reads the frames of generation `salt` from LSN `base + 1` at `offset`, handing those
    /// past `checkpoint_lsn` to `on_frame`. Returns the offset after the last valid frame, the
    /// LSN expected next, and how many frames were handed over.
    ///
    /// # Errors
    /// [`Error::Corruption`] for a frame whose checksum holds but whose payload does not
    /// decode, or for a damaged frame that a later valid frame says was durable; the first
    /// error of `on_frame`.
    fn replay(
        &mut self,
        mut offset: u64,
        salt: u64,
        base: u64,
        checkpoint_lsn: u64,
        on_frame: &mut impl FnMut(u64, Batch) -> Result<()>,
    ) -> Result<(u64, u64, u64)> {
        let mut expected = base + 1;
        let mut replayed = 0;
        while let Some(frame) = self.frame(offset, salt, Some(expected))? {
            if expected > checkpoint_lsn {
                let batch = decode_batch(self.payload()).map_err(|e| Error::Corruption {
                    path: self.path.to_path_buf(),
                    offset: offset + (F_PAYLOAD + e.at) as u64,
                    detail: format!("WAL frame {expected} has a valid checksum but {}", e.what),
                })?;
                on_frame(expected, batch)?;
                replayed += 1;
            }
            offset = frame.next;
            expected += 1;
        }
        if offset < self.len && self.damage_before_durable_frame(offset, salt, expected)? {
            return Err(Error::Corruption {
                path: self.path.to_path_buf(),
                offset,
                detail: format!(
                    "WAL frame {expected} is damaged, but a later valid frame says it was durable"
                ),
            });
        }
        Ok((offset, expected, replayed))
    }

    /// The valid frame at `offset` with `salt` (and LSN `lsn`, when given), if there is one.
    fn frame(&mut self, offset: u64, salt: u64, lsn: Option<u64>) -> Result<Option<Frame>> {
        let Some(head_end) = offset.checked_add(F_PAYLOAD as u64) else { return Ok(None) };
        if head_end + 4 > self.len {
            return Ok(None);
        }
        let mut h = [0u8; F_PAYLOAD];
        self.file.read_at(&mut h, offset).map_err(|e| Error::io(self.path, e))?;
        let plen = u64::from(le_u32(&h, F_LEN));
        let found_lsn = le_u64(&h, F_LSN);
        if le_u64(&h, F_SALT) != salt || lsn.is_some_and(|l| l != found_lsn) {
            return Ok(None);
        }
        // Bounded by the bytes the file has, so a damaged length cannot ask for more.
        let total = F_PAYLOAD as u64 + plen + 4;
        if offset + total > self.len {
            return Ok(None);
        }
        let total = usize::try_from(total)
            .map_err(|_| Error::io(self.path, std::io::ErrorKind::InvalidData.into()))?;
        self.buf.resize(total, 0);
        self.file.read_at(&mut self.buf, offset).map_err(|e| Error::io(self.path, e))?;
        let body = self.buf.get(..total - 4).unwrap_or_default();
        if crc32c::crc32c(body) != le_u32(&self.buf, total - 4) {
            return Ok(None);
        }
        Ok(Some(Frame {
            next: offset + total as u64,
            durable: le_u64(&h, F_DURABLE),
            lsn: found_lsn,
        }))
    }

    /// Whether every byte from `offset` to the end of the file is zero (true when there are
    /// none). Reads at most [`ZERO_AHEAD`] bytes: a longer tail was not written ahead.
    fn all_zero(&mut self, offset: u64) -> Result<bool> {
        let rest = self.len.saturating_sub(offset);
        if rest > ZERO_AHEAD {
            return Ok(false);
        }
        let mut tail = vec![0u8; usize::try_from(rest).unwrap_or(0)];
        self.file.read_at(&mut tail, offset).map_err(|e| Error::io(self.path, e))?;
        Ok(tail.iter().all(|&b| b == 0))
    }

    /// The payload of the last frame read.
    fn payload(&self) -> &[u8] {
        self.buf.get(F_PAYLOAD..self.buf.len().saturating_sub(4)).unwrap_or_default()
    }

    /// How many consecutive valid frames of `salt`, from LSN `base + 1` at `offset`, have an LSN
    /// above `after`.
    fn frames_after(&mut self, mut offset: u64, salt: u64, base: u64, after: u64) -> Result<u64> {
        let mut lsn = base + 1;
        let mut newer = 0;
        while let Some(f) = self.frame(offset, salt, Some(lsn))? {
            newer += u64::from(lsn > after);
            offset = f.next;
            lsn += 1;
        }
        Ok(newer)
    }

    /// Whether the frames starting at `offset` (of whatever salt the first one has: used
    /// when the header that holds the salt is damaged) reach an LSN above `after`.
    fn unchecked_frame_after(&mut self, mut offset: u64, after: u64) -> Result<bool> {
        let mut h = [0u8; F_PAYLOAD];
        if offset + F_PAYLOAD as u64 > self.len {
            return Ok(false);
        }
        self.file.read_at(&mut h, offset).map_err(|e| Error::io(self.path, e))?;
        let salt = le_u64(&h, F_SALT);
        while let Some(f) = self.frame(offset, salt, None)? {
            if f.lsn > after {
                return Ok(true);
            }
            offset = f.next;
        }
        Ok(false)
    }

    /// Whether, past the damaged frame `bad` at `offset`, a valid frame of this generation
    /// says frame `bad` had been made durable before it was written. Scans the tail for the
    /// salt, a window at a time.
    fn damage_before_durable_frame(&mut self, offset: u64, salt: u64, bad: u64) -> Result<bool> {
        const WINDOW: usize = 64 << 10;
        let needle = salt.to_le_bytes();
        let mut start = offset + 1;
        let mut window = vec![0u8; WINDOW + F_PAYLOAD];
        while start + (F_PAYLOAD as u64) < self.len {
            let n = usize::try_from((self.len - start).min(window.len() as u64)).unwrap_or(0);
            let chunk = window.get_mut(..n).unwrap_or_default();
            self.file.read_at(chunk, start).map_err(|e| Error::io(self.path, e))?;
            for i in 0..n.saturating_sub(F_DURABLE - 1).min(WINDOW) {
                if chunk.get(i + F_SALT..i + F_DURABLE) == Some(&needle[..]) {
                    let at = start + i as u64;
                    if let Some(f) = self.frame(at, salt, None)?
                        && f.lsn > bad
                        && f.durable >= bad
                    {
                        return Ok(true);
                    }
                }
            }
            start += WINDOW as u64;
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::Op;
    use crate::io::fault::{CrashMode, FaultKind, FaultStorage};

    const DB: &str = "/db/data";

    fn batch(i: u64) -> Batch {
        let key: Arc<[u8]> = Arc::from(format!("key{i}").into_bytes());
        let value: Arc<[u8]> =
            Arc::from(vec![u8::try_from(i % 251).unwrap(); usize::try_from(i * 7 % 300).unwrap()]);
        Batch { ops: vec![Op::Put { ns: 0, key, value, expires_at: i }, Op::Clear { ns: 2 }] }
    }

    type Opened = (Wal, Vec<(u64, Batch)>, Recovery);

    /// A log opened for a page file of a format before 5 (no binding: any salt is taken).
    fn open(fs: &FaultStorage, checkpoint_lsn: u64) -> Result<Opened> {
        open_checked(
            fs,
            checkpoint_lsn,
            LogCheck {
                database_id: 1,
                binding: None,
                set_aside: false,
                meta_intact: true,
                read_only: false,
            },
        )
    }

    fn open_checked(fs: &FaultStorage, checkpoint_lsn: u64, check: LogCheck) -> Result<Opened> {
        let storage: Arc<dyn Storage> = Arc::new(fs.clone());
        let mut frames = Vec::new();
        let (wal, rec) = Wal::open(&storage, Path::new(DB), checkpoint_lsn, check, |lsn, b| {
            frames.push((lsn, b));
            Ok(())
        })?;
        Ok((wal, frames, rec))
    }

    /// What a format-5 page file of database `id` expects: generation `salt`.
    fn bound(id: u64, salt: u64, in_use: bool, set_aside: bool) -> LogCheck {
        LogCheck {
            database_id: id,
            binding: Some(LogBinding { database_id: id, salt, in_use }),
            set_aside,
            meta_intact: true,
            read_only: false,
        }
    }

    /// A log of database `id`, generation `salt`, with `n` synced frames from LSN 1.
    fn bound_log(id: u64, salt: u64, n: u64) -> FaultStorage {
        let fs = FaultStorage::new(3);
        let (wal, _, _) = open_checked(&fs, 0, bound(id, salt, false, false)).unwrap();
        for i in 1..=n {
            wal.append(&batch(i)).unwrap();
        }
        wal.sync().unwrap();
        fs
    }

    #[test]
    fn a_log_of_the_expected_database_and_generation_is_replayed() {
        let fs = bound_log(7, 70, 5);
        let (_, frames, rec) = open_checked(&fs, 0, bound(7, 70, true, false)).unwrap();
        assert_eq!(frames.len(), 5);
        assert_eq!(rec.last_lsn, 5);
        let bytes = fs.file_bytes(&wal_path()).unwrap();
        assert_eq!(le_u32(&bytes, H_VERSION), VERSION);
        assert_eq!(le_u64(&bytes, H_DATABASE), 7);
    }

    #[test]
    fn a_log_of_another_database_is_never_replayed() {
        let fs = bound_log(8, 80, 5);
        let before = fs.file_bytes(&wal_path()).unwrap();
        let err = open_checked(&fs, 0, bound(7, 70, true, false)).unwrap_err();
        assert!(matches!(err, Error::ForeignLog { frames: 5, .. }), "{err}");
        assert_eq!(fs.file_bytes(&wal_path()).unwrap(), before, "the log is left as it was");
        // Set aside: opened at the checkpoint, the foreign log kept under another name.
        let (wal, frames, rec) = open_checked(&fs, 0, bound(7, 70, true, true)).unwrap();
        assert!(frames.is_empty());
        assert_eq!(rec.last_lsn, 0);
        assert_eq!(wal.salt(), 70);
        assert_eq!(fs.file_bytes(&sidecar(&wal_path(), ".aside-1")).unwrap(), before);
    }

    #[test]
    fn a_log_of_another_generation_with_newer_frames_is_stale() {
        let fs = bound_log(7, 71, 5);
        let err = open_checked(&fs, 2, bound(7, 70, true, false)).unwrap_err();
        assert!(matches!(err, Error::StaleLog { frames: 3, .. }), "{err}");
    }

    #[test]
    fn an_older_generation_without_newer_frames_is_reset_to_the_expected_salt() {
        // A crash between a checkpoint's meta page and the log's reset.
        let fs = bound_log(7, 71, 5);
        let (wal, frames, rec) = open_checked(&fs, 5, bound(7, 70, true, false)).unwrap();
        assert!(frames.is_empty());
        assert_eq!((rec.last_lsn, wal.salt()), (5, 70));
        assert_eq!(wal.append(&batch(6)).unwrap(), 6);
    }

    #[test]
    fn a_missing_log_is_an_error_only_where_frames_may_follow_the_checkpoint() {
        let fs = FaultStorage::new(1);
        let err = open_checked(&fs, 9, bound(7, 70, true, false)).unwrap_err();
        assert!(matches!(err, Error::LogMissing { checkpoint_lsn: 9, .. }), "{err}");
        assert!(!fs.exists(&wal_path()).unwrap(), "nothing is created");
        let (wal, _, rec) = open_checked(&fs, 9, bound(7, 70, false, false)).unwrap();
        assert_eq!((rec.last_lsn, wal.salt()), (9, 70));
        drop(wal);
        let fs = FaultStorage::new(1);
        assert!(open_checked(&fs, 9, bound(7, 70, true, true)).is_ok());
    }

    #[test]
    fn a_version_1_log_is_read_and_its_generation_checked_by_salt() {
        // The header of the first format: 32 bytes, no database id.
        let fs = FaultStorage::new(1);
        let mut bytes = log_bytes(70, 0, &[]);
        bytes.truncate(HEADER_1_LEN);
        bytes[H_VERSION..H_CRC].copy_from_slice(&VERSION_1.to_le_bytes());
        let crc = header_crc(&bytes);
        bytes[H_CRC..H_SALT].copy_from_slice(&crc.to_le_bytes());
        for (lsn, b) in (1..=3).zip([batch(1), batch(2), batch(3)]) {
            let mut payload = Vec::new();
            encode_batch(&b, &mut payload).unwrap();
            let start = bytes.len();
            bytes.extend_from_slice(&u32::try_from(payload.len()).unwrap().to_le_bytes());
            bytes.extend_from_slice(&u64::to_le_bytes(lsn));
            bytes.extend_from_slice(&70u64.to_le_bytes());
            bytes.extend_from_slice(&0u64.to_le_bytes());
            bytes.extend_from_slice(&payload);
            let crc = crc32c::crc32c(&bytes[start..]);
            bytes.extend_from_slice(&crc.to_le_bytes());
        }
        let storage: Arc<dyn Storage> = Arc::new(fs.clone());
        let f = storage.open_file(&wal_path(), true).unwrap();
        f.write_at(&bytes, 0).unwrap();
        f.sync_data().unwrap();
        let (wal, frames, _) = open_checked(&fs, 0, bound(7, 70, true, false)).unwrap();
        assert_eq!(frames.len(), 3);
        assert_eq!(wal.append(&batch(4)).unwrap(), 4);
        drop(wal);
        let err = open_checked(&fs, 0, bound(7, 71, true, false)).unwrap_err();
        assert!(matches!(err, Error::StaleLog { frames: 4, .. }), "{err}");
    }

    fn wal_path() -> PathBuf {
        sidecar(Path::new(DB), ".wal")
    }

    /// Writes `n` synced frames; returns the file bytes and the offset after each frame.
    fn written(n: u64) -> (FaultStorage, Vec<u8>, Vec<usize>) {
        let fs = FaultStorage::new(1);
        let (wal, frames, _) = open(&fs, 0).unwrap();
        assert!(frames.is_empty());
        let mut ends = vec![HEADER_LEN];
        for i in 1..=n {
            assert_eq!(wal.append(&batch(i)).unwrap(), i);
            wal.sync().unwrap();
            ends.push(usize::try_from(wal.size()).unwrap());
        }
        let bytes = fs.file_bytes(&wal_path()).unwrap();
        (fs, bytes, ends)
    }

    #[test]
    fn frames_round_trip_through_recovery_in_order() {
        let (fs, _, _) = written(20);
        let (wal, frames, rec) = open(&fs, 0).unwrap();
        assert_eq!(frames.len(), 20);
        for (i, (lsn, b)) in (1..).zip(&frames) {
            assert_eq!(*lsn, i);
            assert_eq!(*b, batch(i));
        }
        assert_eq!(rec, Recovery { replayed: 20, truncated: 0, last_lsn: 20 });
        assert_eq!(wal.append(&batch(21)).unwrap(), 21);
    }

    #[test]
    fn frames_up_to_the_checkpoint_are_skipped() {
        let (fs, _, _) = written(10);
        let (_, frames, _) = open(&fs, 6).unwrap();
        assert_eq!(frames.iter().map(|f| f.0).collect::<Vec<_>>(), vec![7, 8, 9, 10]);
    }

    #[test]
    fn small_frames_overwrite_zeroed_space_ahead_and_recovery_keeps_it() {
        let (fs, bytes, ends) = written(12);
        let end = *ends.last().unwrap();
        // The file was extended once, with zeros, to the next step past the first frame.
        assert_eq!(bytes.len() as u64, ZERO_AHEAD);
        assert!(bytes[end..].iter().all(|&b| b == 0));
        let (wal, frames, rec) = open(&fs, 0).unwrap();
        assert_eq!(frames.len(), 12);
        assert_eq!(rec.truncated, 0, "zeros ahead are not a torn tail");
        // Frames go on into the zeroed space without changing the file's length.
        assert_eq!(wal.append(&batch(13)).unwrap(), 13);
        wal.sync().unwrap();
        assert_eq!(fs.file_bytes(&wal_path()).unwrap().len() as u64, ZERO_AHEAD);
        // A frame that passes the end extends the file by another step.
        let file_len = || fs.file_bytes(&wal_path()).unwrap().len() as u64;
        while file_len() == ZERO_AHEAD {
            wal.append(&batch(250)).unwrap();
        }
        assert_eq!(file_len(), 2 * ZERO_AHEAD);
        assert!(wal.size() > ZERO_AHEAD && wal.size() < 2 * ZERO_AHEAD);
        // A large frame is appended as it is.
        let big = Batch {
            ops: vec![Op::Put {
                ns: 0,
                key: Arc::from(&b"big"[..]),
                value: Arc::from(vec![7u8; 2 * usize::try_from(ZERO_AHEAD).unwrap()]),
                expires_at: 0,
            }],
        };
        wal.append(&big).unwrap();
        assert_eq!(file_len(), wal.size());
        drop(wal);
        let (_, frames, rec) = open(&fs, 0).unwrap();
        assert_eq!(frames.last().map(|f| &f.1), Some(&big));
        assert_eq!(rec.truncated, 0);
        // A torn frame in the zeroed space is a torn tail: cut with the zeros after it.
        let mut torn = bytes.clone();
        torn[end + 3] = 9;
        fs.set_file_bytes(&wal_path(), torn);
        let (wal, frames, rec) = open(&fs, 0).unwrap();
        assert_eq!(frames.len(), 12);
        assert_eq!(rec.truncated, ZERO_AHEAD - end as u64);
        assert_eq!(fs.file_bytes(&wal_path()).unwrap().len(), end);
        assert_eq!(wal.append(&batch(13)).unwrap(), 13);
    }

    #[test]
    fn a_wal_truncated_anywhere_keeps_every_whole_frame_and_cuts_the_rest() {
        let (fs, bytes, ends) = written(12);
        // Every length up to the last frame's end, then a sample of the zeroed space ahead.
        let end = *ends.last().unwrap();
        // In a short run (`crate::test_depth`), every 7th length.
        let every = crate::test_depth::stride(7);
        let cuts = (0..=end).step_by(every).chain((end..=bytes.len()).step_by(997));
        let cuts = cuts.chain([end - 1, end, bytes.len()]);
        for cut in cuts {
            fs.set_file_bytes(&wal_path(), bytes.get(..cut).unwrap().to_vec());
            let (wal, frames, rec) = open(&fs, 0).unwrap();
            let whole = ends.iter().filter(|&&e| e <= cut).count().saturating_sub(1);
            assert_eq!(frames.len(), whole, "cut at {cut}");
            assert_eq!(rec.last_lsn, whole as u64);
            let next = wal.append(&batch(99)).unwrap();
            assert_eq!(next, whole as u64 + 1);
            drop(wal);
            let (_, again, _) = open(&fs, 0).unwrap();
            assert_eq!(again.len(), whole + 1, "cut at {cut}: the new frame follows on");
        }
    }

    #[test]
    fn a_damaged_frame_before_a_frame_that_saw_it_durable_is_corruption() {
        let (fs, bytes, ends) = written(10);
        for frame in 0..9 {
            for at in [ends[frame] + 1, ends[frame] + F_PAYLOAD + 2, ends[frame + 1] - 1] {
                let mut b = bytes.clone();
                b[at] ^= 0x40;
                fs.set_file_bytes(&wal_path(), b);
                let err = open(&fs, 0).unwrap_err();
                assert!(matches!(err, Error::Corruption { .. }), "frame {frame} byte {at}: {err}");
            }
        }
        // The last frame has no witness: a damaged last frame is a torn tail.
        let mut b = bytes.clone();
        b[ends[9] + 3] ^= 1;
        fs.set_file_bytes(&wal_path(), b);
        let (_, frames, rec) = open(&fs, 0).unwrap();
        assert_eq!(frames.len(), 9);
        assert!(rec.truncated > 0);
    }

    #[test]
    fn random_flips_give_a_prefix_or_corruption_never_a_panic() {
        let (fs, bytes, ends) = written(15);
        let end = *ends.last().unwrap();
        let mut seed = 3u64;
        for i in 0..crate::test_depth::pick(500, 3000, 30_000) {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let mut b = bytes.clone();
            // Mostly in the frames; every fourth flip anywhere, the zeroed space included.
            let span = if i % 4 == 0 { b.len() } else { end };
            let at = usize::try_from(seed >> 33).unwrap() % span;
            b[at] ^= 1 << ((seed >> 5) % 8);
            fs.set_file_bytes(&wal_path(), b);
            match open(&fs, 0) {
                Ok((_, frames, _)) => {
                    for (i, (lsn, f)) in (1..).zip(&frames) {
                        assert_eq!((*lsn, f), (i, &batch(i)));
                    }
                }
                Err(e) => assert!(matches!(e, Error::Corruption { .. }), "{e}"),
            }
        }
    }

    #[test]
    fn a_power_loss_keeps_every_synced_frame_and_a_prefix_of_the_rest() {
        for seed in 0..200 {
            let fs = FaultStorage::new(seed);
            let (wal, _, _) = open(&fs, 0).unwrap();
            let mut synced = 0;
            for i in 1..=20 {
                wal.append(&batch(i)).unwrap();
                if (i + seed) % 4 == 0 {
                    wal.sync().unwrap();
                    synced = i;
                }
            }
            let crashed = fs.crash(seed, CrashMode::Random);
            let (_, frames, _) = open(&crashed, 0).unwrap();
            assert!(frames.len() as u64 >= synced, "seed {seed}: lost a synced frame");
            for (i, (lsn, f)) in (1..).zip(&frames) {
                assert_eq!((*lsn, f), (i, &batch(i)), "seed {seed}");
            }
        }
    }

    #[test]
    fn a_failed_sync_poisons_the_log() {
        let fs = FaultStorage::new(1);
        let (wal, _, _) = open(&fs, 0).unwrap();
        let lsn = wal.append(&batch(1)).unwrap();
        fs.fail_at(fs.io_count() + 1, false, FaultKind::Io);
        assert!(matches!(wal.wait_durable(lsn), Err(Error::Io { .. })));
        assert!(wal.is_poisoned());
        assert!(matches!(wal.append(&batch(2)), Err(Error::Poisoned)));
        assert!(matches!(wal.sync(), Err(Error::Poisoned)));
        assert!(matches!(wal.reset(1, 5), Err(Error::Poisoned)));
    }

    #[test]
    fn a_failed_append_leaves_the_log_unchanged() {
        let fs = FaultStorage::new(1);
        let (wal, _, _) = open(&fs, 0).unwrap();
        wal.append(&batch(1)).unwrap();
        fs.fail_at(fs.io_count() + 1, false, FaultKind::NoSpace);
        assert!(matches!(wal.append(&batch(2)), Err(Error::Io { .. })));
        assert_eq!(wal.append(&batch(2)).unwrap(), 2);
        wal.sync().unwrap();
        drop(wal);
        let (_, frames, _) = open(&fs, 0).unwrap();
        assert_eq!(frames.len(), 2);
    }

    #[test]
    fn reset_starts_a_generation_whose_frames_follow_the_checkpoint() {
        let (fs, _, _) = written(5);
        let (wal, _, _) = open(&fs, 0).unwrap();
        assert!(!wal.reset(4, 77).unwrap(), "frame 5 is newer than the checkpoint");
        assert!(wal.reset(5, 77).unwrap());
        assert_eq!(wal.size(), HEADER_LEN as u64);
        assert_eq!(wal.append(&batch(6)).unwrap(), 6);
        wal.sync().unwrap();
        drop(wal);
        let (_, frames, _) = open(&fs, 5).unwrap();
        assert_eq!(frames.iter().map(|f| f.0).collect::<Vec<_>>(), vec![6]);
    }

    #[test]
    fn a_checkpoint_past_the_log_end_starts_a_new_generation() {
        let (fs, _, _) = written(3);
        let (wal, frames, rec) = open(&fs, 8).unwrap();
        assert!(frames.is_empty());
        assert_eq!(rec.last_lsn, 8);
        assert_eq!(wal.append(&batch(9)).unwrap(), 9);
        wal.sync().unwrap();
        drop(wal);
        let (_, frames, _) = open(&fs, 8).unwrap();
        assert_eq!(frames.iter().map(|f| f.0).collect::<Vec<_>>(), vec![9]);
    }

    #[test]
    fn a_torn_header_before_checkpointed_frames_starts_over_but_before_new_ones_is_corruption() {
        let (fs, bytes, _) = written(4);
        let mut b = bytes.clone();
        b[H_SALT] ^= 1;
        fs.set_file_bytes(&wal_path(), b.clone());
        let (_, frames, _) = open(&fs, 4).unwrap();
        assert!(frames.is_empty());
        fs.set_file_bytes(&wal_path(), b);
        assert!(matches!(open(&fs, 2), Err(Error::Corruption { .. })));
    }

    #[test]
    fn committers_waiting_together_share_syncs() {
        let fs = FaultStorage::new(1);
        fs.set_sync_delay(Some(std::time::Duration::from_millis(2)));
        let (wal, _, _) = open(&fs, 0).unwrap();
        let wal = Arc::new(wal);
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let wal = Arc::clone(&wal);
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let lsn = wal.append(&batch(t * 100 + i)).unwrap();
                        wal.wait_durable(lsn).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let syncs = wal.sync_count();
        assert!(syncs < 200 / 2, "200 commits took {syncs} syncs");
        assert_eq!(wal.last_lsn(), 200);
    }
}
