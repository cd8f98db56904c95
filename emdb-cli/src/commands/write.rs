//! `emdb put`, `emdb rm`, `emdb compact` and `emdb backup`: the commands that open a database
//! for writing.

use std::path::Path;
use std::time::{Duration, Instant};

use emdb_core::Ttl;

use crate::bytes::{display, parse_arg};
use crate::cli::Show;
use crate::error::CliError;
use crate::open::{Space, open_write, open_write_with, space_for_write};
use crate::progress::{bar, bytes_bar, human_bytes};

/// `emdb put FILE KEY VALUE [--ttl D] [--ns NAME] [--hex]`.
pub(crate) fn put(
    path: &Path,
    key: &str,
    value: &str,
    ttl: Option<Duration>,
    ns: Option<&str>,
    hex: bool,
) -> Result<(), CliError> {
    let key = parse_arg(key, hex, "key")?;
    let value = parse_arg(value, hex, "value")?;
    let opened = open_write(path, false)?;
    let space = space_for_write(&opened.db, ns)?;
    space.insert(&key, &value, ttl.map_or(Ttl::Never, Ttl::After))?;
    Ok(())
}

/// `emdb rm FILE KEY [--ns NAME] [--hex]`: exit 1 when there was no such key.
pub(crate) fn rm(path: &Path, key: &str, ns: Option<&str>, hex: bool) -> Result<(), CliError> {
    let key = parse_arg(key, hex, "key")?;
    let opened = open_write(path, false)?;
    let not_found = |space: String| CliError::NoSuchKey {
        key: display(&key, Show { hex, raw: false }).into_owned(),
        where_: space,
    };
    let space = match ns.filter(|n| !n.is_empty()) {
        // A removal never creates the namespace it removes from.
        Some(name) if !opened.db.namespace_names().iter().any(|n| n == name) => {
            return Err(not_found(format!("namespace {name:?} (there is no such namespace)")));
        }
        Some(name) => Space::Named(opened.db.namespace(name)?),
        None => Space::Default(opened.db.clone()),
    };
    if space.remove(&key)? { Ok(()) } else { Err(not_found(space.describe())) }
}

/// `emdb compact FILE`.
pub(crate) fn compact(path: &Path) -> Result<(), CliError> {
    let progress = bar("compacting", 0, "entries");
    let opened = open_write_with(path, false, Some(&progress))?;
    let before = opened.db.stats()?;
    let started = Instant::now();
    let result = opened.db.compact();
    progress.finish_and_clear();
    result?;
    let after = opened.db.stats()?;
    eprintln!(
        "compacted {}: {} -> {} in {:.1?}",
        path.display(),
        human_bytes(before.file_bytes + before.wal_bytes),
        human_bytes(after.file_bytes + after.wal_bytes),
        started.elapsed()
    );
    Ok(())
}

/// `emdb backup FILE DEST`.
pub(crate) fn backup(path: &Path, dest: &Path) -> Result<(), CliError> {
    let progress = bytes_bar("backing up", 0);
    let opened = open_write_with(path, false, Some(&progress))?;
    let started = Instant::now();
    let result = opened.db.backup_to(dest);
    progress.finish_and_clear();
    result?;
    let size = std::fs::metadata(dest).map_or(0, |m| m.len());
    eprintln!(
        "backed up {} to {} ({}) in {:.1?}",
        path.display(),
        dest.display(),
        human_bytes(size),
        started.elapsed()
    );
    Ok(())
}
