//! `emdb get`, `emdb scan` and `emdb group`: reading entries.

use std::io::Write;
use std::ops::Bound;
use std::path::Path;

use emdb_core::Iter;

use crate::bytes::{display, parse_arg};
use crate::cli::{Select, Show};
use crate::error::CliError;
use crate::open::{existing_space, open_read};
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

/// Whether values of this selection are typed-table values (a header before the payload).
fn is_table(select: &Select) -> bool {
    select.table.is_some()
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

/// How stored keys are shown.
#[derive(Debug, Clone, Copy)]
struct KeyView {
    show: Show,
    key_type: Option<KeyType>,
}

impl KeyView {
    fn new(select: &Select, show: Show) -> Self {
        KeyView { show, key_type: if show.hex { None } else { select.key_type } }
    }

    fn display(self, key: &[u8]) -> std::borrow::Cow<'_, str> {
        match self.key_type.and_then(|ty| ty.decode(key)) {
            Some(shown) => shown.into(),
            None => display(key, self.show),
        }
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
    let Some(value) = space.get(&key_bytes)? else {
        return Err(CliError::NoSuchKey {
            key: KeyView::new(select, show).display(&key_bytes).into_owned(),
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
    let view = KeyView::new(select, show);
    print_entries(iter, args.limit, args.keys_only, view, is_table(select), out)
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
    print_entries(iter, None, keys_only, KeyView::new(select, show), is_table(select), out)
}

/// Prints `KEY<tab>VALUE` (or `KEY`) lines.
fn print_entries(
    mut iter: Iter,
    limit: Option<u64>,
    keys_only: bool,
    view: KeyView,
    table: bool,
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
            writeln!(out, "{}", view.display(key))
        } else {
            writeln!(out, "{}\t{}", view.display(key), show_value(value, show, table))
        };
        line.map_err(CliError::stdout)?;
        printed += 1;
    }
    Ok(())
}

/// A value as text: for a typed table its payload and header ([`typed::show_value`]), otherwise
/// the bytes as [`display`] shows them.
fn show_value(value: &[u8], show: Show, table: bool) -> String {
    if table
        && !show.hex
        && let Some(shown) = typed::show_value(value)
    {
        return shown;
    }
    display(value, show).into_owned()
}
