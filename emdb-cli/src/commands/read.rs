//! `emdb get`, `emdb scan` and `emdb group`: reading entries.

use std::io::Write;
use std::ops::Bound;
use std::path::Path;

use emdb_core::Iter;

use crate::bytes::{display, parse_arg};
use crate::cli::{Select, Show};
use crate::error::CliError;
use crate::open::{existing_space, open_read};

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

/// Whether values of this selection are typed-table values (a header before the payload).
fn is_table(select: &Select) -> bool {
    select.table.is_some()
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
    let key_bytes = parse_arg(key, show.hex, "key")?;
    let Some(value) = space.get(&key_bytes)? else {
        return Err(CliError::NoSuchKey {
            key: display(&key_bytes, show).into_owned(),
            where_: space.describe(),
        });
    };
    if show.raw {
        out.write_all(&value).map_err(CliError::stdout)?;
    } else {
        writeln!(out, "{}", show_value(&value, show, is_table(select)))
            .map_err(CliError::stdout)?;
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
        space.prefix(&parse_arg(prefix, show.hex, "prefix")?)?
    } else {
        let from = args.from.map(|k| parse_arg(k, show.hex, "--from key")).transpose()?;
        let to = args.to.map(|k| parse_arg(k, show.hex, "--to key")).transpose()?;
        let lower = from.as_deref().map_or(Bound::Unbounded, Bound::Included);
        let upper = to.as_deref().map_or(Bound::Unbounded, Bound::Excluded);
        space.range(lower, upper)?
    };
    print_entries(iter, args.limit, args.keys_only, show, is_table(select), out)
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
    print_entries(iter, None, keys_only, show, is_table(select), out)
}

/// Prints `KEY<tab>VALUE` (or `KEY`) lines.
fn print_entries(
    mut iter: Iter,
    limit: Option<u64>,
    keys_only: bool,
    show: Show,
    table: bool,
    out: &mut impl Write,
) -> Result<(), CliError> {
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
            writeln!(out, "{}", display(key, show))
        } else {
            writeln!(out, "{}\t{}", display(key, show), show_value(value, show, table))
        };
        line.map_err(CliError::stdout)?;
        printed += 1;
    }
    Ok(())
}

/// A value as text: for a typed table, its header and its payload (as JSON when the json codec
/// wrote it); otherwise the bytes as [`display`] shows them.
fn show_value(value: &[u8], show: Show, table: bool) -> String {
    if table
        && !show.hex
        && let Ok((header, payload)) = emdb_typed::read_header(value)
    {
        let codec = emdb_typed::codec_name(header.codec_id).unwrap_or("unknown codec");
        let shown = match std::str::from_utf8(payload) {
            Ok(json) if codec == "json" => json.to_owned(),
            _ => crate::bytes::hex(payload),
        };
        return format!("{shown}  ({codec} v{})", header.schema_version);
    }
    display(value, show).into_owned()
}
