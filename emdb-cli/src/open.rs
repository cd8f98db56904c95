//! Opening a database for a command (read-only or for writing) and finding the namespace it
//! names.

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use emdb_core::{Clock, Emdb, Iter, Namespace, SystemClock, Ttl};
use indicatif::ProgressBar;

use crate::cli::Select;
use crate::error::CliError;

/// The clock the tool opens databases with: the system time, read when the tool says so and
/// held until it says so again.
///
/// A read command pins it once at open, so an entry it sees live stays live while it reads it
/// (a dump's entries and their expiries agree with each other). `load` pins it before each
/// batch, so that an expiry written as "this long from now" lands on the exact millisecond the
/// dump recorded.
#[derive(Debug, Default)]
pub(crate) struct PinnedClock {
    now_ms: AtomicU64,
}

impl PinnedClock {
    /// Sets the clock to the system time and returns it.
    pub(crate) fn pin_now(&self) -> u64 {
        let now = SystemClock.now_ms();
        self.now_ms.store(now, Ordering::Relaxed);
        now
    }
}

impl Clock for PinnedClock {
    fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::Relaxed)
    }
}

/// An open database and the clock it judges expiry by.
#[derive(Debug)]
pub(crate) struct Opened {
    /// The database.
    pub(crate) db: Emdb,
    /// Its clock, pinned at open.
    pub(crate) clock: Arc<PinnedClock>,
}

/// Refuses a path with no file behind it: opening would create an empty database there.
fn require_file(path: &Path) -> Result<(), CliError> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(CliError::Missing { path: path.to_path_buf() })
        }
        Err(e) => Err(CliError::Db(emdb_core::Error::io(path, e))),
        Ok(_) => Ok(()),
    }
}

/// Opens an existing database read-only: under a shared lock that other read-only handles
/// share, without write access, never writing a byte.
pub(crate) fn open_read(path: &Path) -> Result<Opened, CliError> {
    open_read_with(path, None)
}

/// [`open_read`], drawing the progress of long operations (the integrity check) on `progress`.
pub(crate) fn open_read_with(
    path: &Path,
    progress: Option<&ProgressBar>,
) -> Result<Opened, CliError> {
    require_file(path)?;
    open(path, true, progress)
}

/// Opens an existing database for writing; with `create`, a missing file becomes a new
/// database.
pub(crate) fn open_write(path: &Path, create: bool) -> Result<Opened, CliError> {
    open_write_with(path, create, None)
}

/// [`open_write`], drawing the progress of long operations (compaction, backup) on `progress`.
pub(crate) fn open_write_with(
    path: &Path,
    create: bool,
    progress: Option<&ProgressBar>,
) -> Result<Opened, CliError> {
    if !create {
        require_file(path)?;
    }
    open(path, false, progress)
}

fn open(path: &Path, read_only: bool, progress: Option<&ProgressBar>) -> Result<Opened, CliError> {
    let clock = Arc::new(PinnedClock::default());
    clock.pin_now();
    let mut builder = Emdb::builder().path(path).clock(clock.clone()).read_only(read_only);
    if let Some(bar) = progress {
        let bar = bar.clone();
        builder = builder.on_progress(move |p| {
            bar.set_length(p.total);
            bar.set_position(p.done);
        });
    }
    let db = builder.build()?;
    Ok(Opened { db, clock })
}

/// A namespace of the database: the default one, which the database handle itself reads and
/// writes, or a named one.
#[derive(Debug, Clone)]
pub(crate) enum Space {
    /// The default namespace.
    Default(Emdb),
    /// A named namespace.
    Named(Namespace),
}

impl Space {
    /// The name shown in messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Space::Default(_) => "the default namespace".to_owned(),
            Space::Named(ns) => match ns.name().strip_prefix(emdb_typed::TABLE_NAMESPACE_PREFIX) {
                Some(table) => format!("table {table:?}"),
                None => format!("namespace {:?}", ns.name()),
            },
        }
    }

    /// The namespace's name in a dump (`""` for the default namespace).
    pub(crate) fn name(&self) -> &str {
        match self {
            Space::Default(_) => "",
            Space::Named(ns) => ns.name(),
        }
    }

    /// The value of `key`.
    pub(crate) fn get(&self, key: &[u8]) -> emdb_core::Result<Option<Vec<u8>>> {
        match self {
            Space::Default(db) => db.get(key),
            Space::Named(ns) => ns.get(key),
        }
    }

    /// When `key` expires, in milliseconds since the Unix epoch.
    pub(crate) fn expiry_ms(&self, key: &[u8]) -> emdb_core::Result<Option<u64>> {
        let at = match self {
            Space::Default(db) => db.expires_at(key)?,
            Space::Named(ns) => ns.expires_at(key)?,
        };
        Ok(at.map(|t| {
            let ms = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis();
            u64::try_from(ms).unwrap_or(u64::MAX)
        }))
    }

    /// The number of live entries.
    pub(crate) fn len(&self) -> emdb_core::Result<usize> {
        match self {
            Space::Default(db) => db.len(),
            Space::Named(ns) => ns.len(),
        }
    }

    /// Entries between two bounds.
    pub(crate) fn range(
        &self,
        lower: Bound<&[u8]>,
        upper: Bound<&[u8]>,
    ) -> emdb_core::Result<Iter> {
        match self {
            Space::Default(db) => db.range::<[u8], _>((lower, upper)),
            Space::Named(ns) => ns.range::<[u8], _>((lower, upper)),
        }
    }

    /// Entries whose keys start with `prefix`.
    pub(crate) fn prefix(&self, prefix: &[u8]) -> emdb_core::Result<Iter> {
        match self {
            Space::Default(db) => db.prefix(prefix),
            Space::Named(ns) => ns.prefix(prefix),
        }
    }

    /// Entries of the dotted group `prefix`.
    pub(crate) fn group(&self, prefix: &[u8]) -> emdb_core::Result<Iter> {
        match self {
            Space::Default(db) => db.group(prefix),
            Space::Named(ns) => ns.group(prefix),
        }
    }

    /// Writes one entry.
    pub(crate) fn insert(&self, key: &[u8], value: &[u8], ttl: Ttl) -> emdb_core::Result<()> {
        match self {
            Space::Default(db) => db.insert_with_ttl(key, value, ttl),
            Space::Named(ns) => ns.insert_with_ttl(key, value, ttl),
        }
    }

    /// Removes one key, returning whether it was there.
    pub(crate) fn remove(&self, key: &[u8]) -> emdb_core::Result<bool> {
        let old = match self {
            Space::Default(db) => db.remove(key)?,
            Space::Named(ns) => ns.remove(key)?,
        };
        Ok(old.is_some())
    }
}

/// The core namespace name that `--ns` or `--table` selects (`None`: the default namespace).
fn selected_name(select: &Select) -> Option<(String, &'static str, &str)> {
    if let Some(table) = &select.table {
        let name = format!("{}{table}", emdb_typed::TABLE_NAMESPACE_PREFIX);
        return Some((name, "table", table));
    }
    select.ns.as_deref().filter(|n| !n.is_empty()).map(|n| (n.to_owned(), "namespace", n))
}

/// The namespace a read command names; it must exist (a read never creates one).
pub(crate) fn existing_space(
    opened: &Opened,
    path: &Path,
    select: &Select,
) -> Result<Space, CliError> {
    let Some((name, what, given)) = selected_name(select) else {
        return Ok(Space::Default(opened.db.clone()));
    };
    let names = opened.db.namespace_names();
    if !names.contains(&name) {
        let available: Vec<String> = match what {
            "table" => names
                .iter()
                .filter_map(|n| n.strip_prefix(emdb_typed::TABLE_NAMESPACE_PREFIX))
                .map(str::to_owned)
                .collect(),
            _ => names,
        };
        let available = if available.is_empty() { "none".to_owned() } else { available.join(", ") };
        return Err(CliError::NoSuchNamespace {
            path: path.to_path_buf(),
            what,
            name: given.to_owned(),
            available,
        });
    }
    Ok(Space::Named(opened.db.namespace(&name)?))
}

/// The namespace a write command names, created if it does not exist.
pub(crate) fn space_for_write(db: &Emdb, ns: Option<&str>) -> Result<Space, CliError> {
    match ns.filter(|n| !n.is_empty()) {
        None => Ok(Space::Default(db.clone())),
        Some(name) => Ok(Space::Named(db.namespace(name)?)),
    }
}
