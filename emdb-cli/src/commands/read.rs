//! `emdb get`, `emdb scan` and `emdb group`: reading entries.

use std::io::Write;
use std::ops::Bound;
use std::path::Path;

use emdb_core::Iter;
use emdb_typed::TableInfo;

use crate::bytes::{display, parse_arg};
use crate::cli::{Select, Show};
use crate::error::CliError;
use crate::open::{Opened, existing_space, open_read};
use crate::typed::{self, KeyType};

/// What `scan` reads.
#[derive(Debug)]
pub(crate) struct ScanArgs<'a> {
    /// Only keys with this prefix.
    pub(crate) prefix: Option<&'a str>,
    /// The first key (inclusive).
    pub(crate) from: Option<&'a str>,
    /// The end key (exclusive).
    pub(crate) to: Option<&'a str>,
    /// At most this many entries.
    pub(crate) limit: Option<u64>,
    /// Print keys only.
    pub(crate) keys_only: bool,
}

/// The stored bytes of a key given on the command line: encoded as `--key-type` says, or as
/// [`parse_arg`] reads it.
fn key_arg(
    text: &str,
    select: &Select,
    show: Show,
    what: &'static str,
) -> Result<Vec<u8>, CliError> {
    match select.key_type {
        Some(ty) => ty.encode(text),
        None => parse_arg(text, show.hex, what),
    }
}

/// How stored keys and values are shown: as `--key-type` and the table's recorded shapes say,
/// or as [`display`] shows bytes.
#[derive(Debug)]
struct View {
    show: Show,
    key_type: Option<KeyType>,
    /// Whether values are typed-table values (a header before the payload).
    table: bool,
    /// The table's catalog entry, to decode its keys and values through the recorded shapes.
    info: Option<TableInfo>,
}

impl View {
    /// A damaged catalog entry leaves keys and values to `--key-type` and hex.
    fn new(opened: &Opened, select: &Select, show: Show) -> Self {
        let info = match (&select.table, show.hex) {
            (Some(table), false) => TableInfo::read(&opened.db, table).ok().flatten(),
            _ => None,
        };
        View {
            show,
            key_type: if show.hex { None } else { select.key_type },
            table: select.table.is_some(),
            info,
        }
    }

    fn key(&self, key: &[u8]) -> String {
        let typed = match self.key_type {
            Some(ty) => ty.decode(key),
            None => self.info.as_ref().and_then(|info| typed::show_key(info, key)),
        };
        typed.unwrap_or_else(|| display(key, self.show).into_owned())
    }

    /// A value as text: for a typed table its payload and header ([`typed::show_value`]),
    /// otherwise the bytes as [`display`] shows them.
    fn value(&self, value: &[u8]) -> String {
        if self.table
            && !self.show.hex
            && let Some(shown) = typed::show_value(value, self.info.as_ref())
        {
            return shown;
        }
        display(value, self.show).into_owned()
    }
}

/// `emdb get FILE KEY`.
pub(crate) fn get(
    path: &Path,
    key: &str,
    select: &Select,
    show: Show,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let opened = open_read(path)?;
    let space = existing_space(&opened, path, select)?;
    let key_bytes = key_arg(key, select, show, "key")?;
    let view = View::new(&opened, select, show);
    let Some(value) = space.get(&key_bytes)? else {
        return Err(CliError::NoSuchKey { key: view.key(&key_bytes), where_: space.describe() });
    };
    if show.raw {
        out.write_all(&value).map_err(CliError::stdout)?;
    } else {
        writeln!(out, "{}", view.value(&value)).map_err(CliError::stdout)?;
    }
    Ok(())
}

/// `emdb scan FILE [--prefix P] [--from A] [--to B] [--limit N] [--keys-only]`.
pub(crate) fn scan(
    path: &Path,
    args: &ScanArgs<'_>,
    select: &Select,
    show: Show,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let opened = open_read(path)?;
    let space = existing_space(&opened, path, select)?;
    let iter = if let Some(prefix) = args.prefix {
        let prefix = match select.key_type {
            Some(ty) => ty.encode_prefix(prefix)?,
            None => parse_arg(prefix, show.hex, "prefix")?,
        };
        space.prefix(&prefix)?
    } else {
        let from = args.from.map(|k| key_arg(k, select, show, "--from key")).transpose()?;
        let to = args.to.map(|k| key_arg(k, select, show, "--to key")).transpose()?;
        let lower = from.as_deref().map_or(Bound::Unbounded, Bound::Included);
        let upper = to.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        space.range(lower, upper)?
    };
    let view = View::new(&opened, select, show);
    print_entries(iter, args.limit, args.keys_only, &view, out)
}

/// `emdb group FILE PREFIX`.
pub(crate) fn group(
    path: &Path,
    prefix: &str,
    keys_only: bool,
    select: &Select,
    show: Show,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let opened = open_read(path)?;
    let space = existing_space(&opened, path, select)?;
    let iter = space.group(prefix.as_bytes())?;
    let view = View::new(&opened, select, show);
    print_entries(iter, None, keys_only, &view, out)
}

/// Prints `KEY<tab>VALUE` (or `KEY`) lines.
fn print_entries(
    mut iter: Iter,
    limit: Option<u64>,
    keys_only: bool,
    view: &View,
    out: &mut impl Write,
) -> Result<(), CliError> {
    let show = view.show;
    let mut printed = 0;
    while limit.is_none_or(|limit| printed < limit) {
        let Some(entry) = iter.next_ref() else { break };
        let (key, value) = entry?;
        let line = if show.raw {
            out.write_all(key)
                .and_then(|()| if keys_only { Ok(()) } else { out.write_all(b"\t") })
                .and_then(|()| if keys_only { Ok(()) } else { out.write_all(value) })
                .and_then(|()| out.write_all(b"\n"))
        } else if keys_only {
            writeln!(out, "{}", view.key(key))
        } else {
            writeln!(out, "{}\t{}", view.key(key), view.value(value))
        };
        line.map_err(CliError::stdout)?;
        printed += 1;
    }
    Ok(())
}
