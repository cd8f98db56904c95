//! `emdb dump` and `emdb load`: a database to JSON Lines and back (the format is in
//! [`crate::jsonl`]).

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use emdb_core::{Emdb, Transaction, Ttl};
use emdb_typed::TableInfo;

use crate::commands::inspect::all_spaces;
use crate::error::CliError;
use crate::jsonl::{self, Bytes, EntryLine, HeaderLine, Line, NamespaceLine, Parsed, Value};
use crate::open::{Opened, Space, open_read, open_write};
use crate::progress::{bar, bytes_bar, count, human_bytes, spinner};

/// `load` commits a batch once it holds this many bytes of keys and values (or the number of
/// entries `--batch-entries` says).
const BATCH_BYTES: usize = 32 << 20;

/// `emdb dump FILE [--ns NAME]...`: every live entry of the chosen namespaces (all by default),
/// streamed in key order.
pub(crate) fn dump(path: &Path, only: &[String], out: &mut impl Write) -> Result<(), CliError> {
    let opened = open_read(path)?;
    let spaces = chosen_spaces(&opened, path, only)?;
    let mut total = 0;
    for space in &spaces {
        total += space.len()? as u64;
    }
    let progress = bar("dumping", total, "records");
    let started = Instant::now();
    write_line(out, &HeaderLine { format: jsonl::FORMAT, version: jsonl::VERSION })?;
    let mut entries = 0u64;
    for space in &spaces {
        let namespace = space.name();
        if !namespace.is_empty() {
            write_line(out, &NamespaceLine { namespace })?;
        }
        let table = namespace.strip_prefix(emdb_typed::TABLE_NAMESPACE_PREFIX);
        // Only for `decoded`, which `load` ignores: a damaged catalog entry must not stop a dump.
        let info = table.and_then(|table| TableInfo::read(&opened.db, table).ok().flatten());
        let mut iter = space.range(std::ops::Bound::Unbounded, std::ops::Bound::Unbounded)?;
        while let Some(entry) = iter.next_ref() {
            let (key, value) = entry?;
            // The clock is pinned: an entry the iterator saw live has this expiry still.
            let expiry = space.expiry_ms(key)?;
            let shown = if table.is_some() { Value::of_table(value) } else { Value::Bytes(value) };
            let decoded = match (shown, &info) {
                (Value::Bytes(_), Some(info)) => info.decode_value(value).ok(),
                _ => None,
            };
            write_line(
                out,
                &EntryLine { namespace, key: Bytes(key), value: shown, expiry, decoded },
            )?;
            entries += 1;
            if entries.is_multiple_of(4096) {
                progress.inc(4096);
            }
        }
    }
    out.flush().map_err(CliError::stdout)?;
    progress.finish_and_clear();
    eprintln!(
        "dumped {} of {} in {:.1?}",
        count(entries, "entry", "entries"),
        count(spaces.len() as u64, "namespace", "namespaces"),
        started.elapsed()
    );
    Ok(())
}

/// The namespaces `--ns` names (all of them when it is not given), default namespace first.
fn chosen_spaces(opened: &Opened, path: &Path, only: &[String]) -> Result<Vec<Space>, CliError> {
    let all = all_spaces(opened)?;
    if only.is_empty() {
        return Ok(catalog_first(all));
    }
    let mut chosen = Vec::new();
    for name in only {
        let Some(space) = all.iter().find(|s| s.name() == name) else {
            return Err(CliError::NoSuchNamespace {
                path: path.to_path_buf(),
                what: "namespace",
                name: name.clone(),
                available: opened.db.namespace_names().join(", "),
            });
        };
        if !chosen.iter().any(|s: &Space| s.name() == name) {
            chosen.push(space.clone());
        }
    }
    Ok(chosen)
}

/// Moves the typed-table catalog right after the default namespace, so that a dump shows which
/// tables there are before their entries.
fn catalog_first(mut spaces: Vec<Space>) -> Vec<Space> {
    if let Some(at) = spaces.iter().position(|s| s.name() == emdb_typed::CATALOG_NAMESPACE) {
        let catalog = spaces.remove(at);
        spaces.insert(1.min(spaces.len()), catalog);
    }
    spaces
}

/// Writes one dump line and its newline.
fn write_line(out: &mut impl Write, line: &impl serde::Serialize) -> Result<(), CliError> {
    serde_json::to_writer(&mut *out, line).map_err(|e| CliError::stdout(e.into()))?;
    out.write_all(b"\n").map_err(CliError::stdout)
}

/// An entry read from the dump, waiting for its batch to be committed.
struct Pending {
    space: usize,
    key: Vec<u8>,
    value: Vec<u8>,
    expiry: Option<u64>,
}

/// What `load` did.
#[derive(Debug, Default)]
struct Loaded {
    entries: u64,
    expired: u64,
    batches: u64,
}

/// `emdb load FILE < dump.jsonl`: creates the file if needed, then writes the dump's namespaces
/// and entries in atomic batches of up to `batch_entries` entries or [`BATCH_BYTES`] bytes.
pub(crate) fn load(
    path: &Path,
    batch_entries: usize,
    input: &mut impl BufRead,
) -> Result<(), CliError> {
    let opened = open_write(path, true)?;
    let progress = match stdin_file_len() {
        Some(len) => bytes_bar("loading", len),
        None => spinner("loading", "records"),
    };
    let started = Instant::now();
    let mut spaces: Vec<Space> = vec![Space::Default(opened.db.clone())];
    let mut by_name: HashMap<String, usize> = HashMap::from([(String::new(), 0)]);
    let mut batch: Vec<Pending> = Vec::new();
    let mut batch_bytes = 0;
    let mut done = Loaded::default();
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    let mut read_bytes = 0u64;
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|source| CliError::Io { what: "cannot read standard input", source })?;
        if n == 0 {
            break;
        }
        read_bytes += n as u64;
        line_no += 1;
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let bad = |detail: String| CliError::BadDump { line: line_no, detail };
        let parsed = Line::parse(text).map_err(bad)?;
        match parsed {
            Parsed::Header(version) if line_no == 1 => {
                if version > jsonl::VERSION {
                    return Err(bad(format!(
                        "the dump has format version {version}, but this emdb reads versions up to {}; load it with a newer emdb",
                        jsonl::VERSION
                    )));
                }
            }
            _ if line_no == 1 => {
                return Err(bad(format!(
                    "not an emdb dump: the first line must be {{\"format\":\"{}\",\"version\":{}}}",
                    jsonl::FORMAT,
                    jsonl::VERSION
                )));
            }
            Parsed::Header(_) => return Err(bad("a second header line".to_owned())),
            Parsed::Namespace(name) => {
                space_index(&opened.db, &mut spaces, &mut by_name, &name)
                    .map_err(|e| bad(e.to_string()))?;
            }
            Parsed::Entry { namespace, key, value, expiry } => {
                let space = space_index(&opened.db, &mut spaces, &mut by_name, &namespace)
                    .map_err(|e| bad(e.to_string()))?;
                check_sizes(&key, &value).map_err(bad)?;
                batch_bytes += key.len() + value.len();
                batch.push(Pending { space, key, value, expiry });
                if batch.len() >= batch_entries || batch_bytes >= BATCH_BYTES {
                    commit(&opened, &spaces, &mut batch, &mut done)?;
                    batch_bytes = 0;
                    progress.set_position(if progress.length().is_some() {
                        read_bytes
                    } else {
                        done.entries
                    });
                }
            }
        }
    }
    if line_no == 0 {
        return Err(CliError::BadDump { line: 0, detail: "standard input is empty".to_owned() });
    }
    commit(&opened, &spaces, &mut batch, &mut done)?;
    opened.db.flush()?;
    progress.finish_and_clear();
    let secs = started.elapsed().as_secs_f64().max(f64::EPSILON);
    #[expect(clippy::cast_precision_loss, reason = "a rate shown to a few digits")]
    let rate = done.entries as f64 / secs;
    eprintln!(
        "loaded {} into {} in {} from {} in {:.1?} ({rate:.0} entries/s){}",
        count(done.entries, "entry", "entries"),
        count(spaces.len() as u64, "namespace", "namespaces"),
        count(done.batches, "batch", "batches"),
        human_bytes(read_bytes),
        started.elapsed(),
        if done.expired > 0 {
            format!("; skipped {} that had expired", count(done.expired, "entry", "entries"))
        } else {
            String::new()
        }
    );
    Ok(())
}

/// Refuses a key or value longer than emdb takes. Checked as each line is read, so that the
/// error names the line rather than failing the batch it would have gone into.
fn check_sizes(key: &[u8], value: &[u8]) -> Result<(), String> {
    let (what, len, max) = if key.len() > emdb_core::MAX_KEY_LEN {
        ("key", key.len(), emdb_core::MAX_KEY_LEN)
    } else if value.len() > emdb_core::MAX_VALUE_LEN {
        ("value", value.len(), emdb_core::MAX_VALUE_LEN)
    } else {
        return Ok(());
    };
    Err(format!("a {what} of {len} bytes is longer than emdb's maximum of {max} bytes"))
}

/// The length of standard input when it is a regular file (`emdb load db < dump.jsonl`), so
/// that progress can be shown as a share of it.
fn stdin_file_len() -> Option<u64> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd as _;
        let fd = std::io::stdin().as_fd().try_clone_to_owned().ok()?;
        let meta = std::fs::File::from(fd).metadata().ok()?;
        meta.is_file().then_some(meta.len())
    }
    #[cfg(not(unix))]
    None
}

/// The index in `spaces` of the namespace `name`, created on first sight.
fn space_index(
    db: &Emdb,
    spaces: &mut Vec<Space>,
    by_name: &mut HashMap<String, usize>,
    name: &str,
) -> emdb_core::Result<usize> {
    if let Some(&i) = by_name.get(name) {
        return Ok(i);
    }
    spaces.push(Space::Named(db.namespace(name)?));
    by_name.insert(name.to_owned(), spaces.len() - 1);
    Ok(spaces.len() - 1)
}

/// Commits `batch` as one transaction and empties it.
fn commit(
    opened: &Opened,
    spaces: &[Space],
    batch: &mut Vec<Pending>,
    done: &mut Loaded,
) -> Result<(), CliError> {
    if batch.is_empty() {
        return Ok(());
    }
    let now = opened.clock.pin_now();
    let mut expired = 0;
    opened.db.transaction(|tx| {
        for p in batch.iter() {
            let Some(ttl) = ttl_until(p.expiry, now) else {
                expired += 1;
                continue;
            };
            write(tx, spaces.get(p.space), &p.key, &p.value, ttl)?;
        }
        Ok(())
    })?;
    done.entries += (batch.len() - expired) as u64;
    done.expired += expired as u64;
    done.batches += 1;
    batch.clear();
    Ok(())
}

/// The TTL that makes an entry written while the clock reads `now` expire at `expiry`
/// exactly; `None` if that moment has passed.
fn ttl_until(expiry: Option<u64>, now: u64) -> Option<Ttl> {
    match expiry {
        None => Some(Ttl::Never),
        Some(at) if at > now => Some(Ttl::After(Duration::from_millis(at - now))),
        Some(_) => None,
    }
}

/// Writes one entry into the transaction.
fn write(
    tx: &mut Transaction<'_>,
    space: Option<&Space>,
    key: &[u8],
    value: &[u8],
    ttl: Ttl,
) -> emdb_core::Result<()> {
    match space {
        Some(Space::Named(ns)) => tx.namespace(ns).insert_with_ttl(key, value, ttl),
        Some(Space::Default(_)) | None => tx.insert_with_ttl(key, value, ttl),
    }
}
