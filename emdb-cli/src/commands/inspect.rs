//! `emdb stats` and `emdb check`: what is in a file, and whether it is healthy.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use emdb_typed::TableInfo;
use serde::Serialize;

use crate::error::CliError;
use crate::open::{Opened, Space, open_read, open_read_with};
use crate::progress::{bar, human_bytes};

/// The size of a page of the page file (docs/design.md: "Pages are 4096 bytes"), to name the
/// page a corruption offset falls in.
const PAGE_SIZE: u64 = 4096;

/// What `stats` prints.
#[derive(Debug, Serialize)]
struct StatsReport {
    file: PathBuf,
    live_records: u64,
    file_bytes: u64,
    wal_bytes: u64,
    free_pages: u64,
    dead_value_bytes: u64,
    reclaimable_bytes: u64,
    tree_height: u32,
    format_version: u32,
    last_checkpoint_lsn: u64,
    last_lsn: u64,
    namespaces: Vec<NamespaceStats>,
    tables: Vec<TableStats>,
}

/// One namespace's figures.
#[derive(Debug, Serialize)]
struct NamespaceStats {
    /// `""` for the default namespace.
    name: String,
    entries: u64,
    key_bytes: u64,
    value_bytes: u64,
}

/// One typed table's figures, read from the value headers of its entries.
#[derive(Debug, Serialize)]
struct TableStats {
    name: String,
    entries: u64,
    bytes: u64,
    /// The codecs its values were written with.
    codecs: Vec<String>,
    /// The schema versions its values were written at.
    schema_versions: Vec<u32>,
    /// The key type's shape as the catalog records it (`None`: not recorded).
    key_type: Option<String>,
    /// The value type's shape at every schema version the catalog records.
    value_types: Vec<ValueType>,
    /// The declared secondary indexes the catalog records.
    indexes: Vec<IndexInfo>,
}

/// One secondary index of a table.
#[derive(Debug, Serialize)]
struct IndexInfo {
    name: String,
    unique: bool,
}

/// The value type of one schema version of a table.
#[derive(Debug, Serialize)]
struct ValueType {
    version: u32,
    /// Its shape (`None`: not recorded).
    value_type: Option<String>,
}

/// `emdb stats FILE [--json]`.
pub(crate) fn stats(path: &Path, json: bool, out: &mut impl Write) -> Result<(), CliError> {
    let opened = open_read(path)?;
    let stats = opened.db.stats()?;
    let progress = bar("reading", stats.live_records, "records");
    let mut namespaces = Vec::new();
    let mut tables = Vec::new();
    for space in all_spaces(&opened)? {
        let mut ns = NamespaceStats {
            name: space.name().to_owned(),
            entries: 0,
            key_bytes: 0,
            value_bytes: 0,
        };
        let table = space.name().strip_prefix(emdb_typed::TABLE_NAMESPACE_PREFIX);
        let mut codecs = BTreeSet::new();
        let mut versions = BTreeSet::new();
        let mut iter = space.range(std::ops::Bound::Unbounded, std::ops::Bound::Unbounded)?;
        while let Some(entry) = iter.next_ref() {
            let (key, value) = entry?;
            ns.entries += 1;
            ns.key_bytes += key.len() as u64;
            ns.value_bytes += value.len() as u64;
            if table.is_some() {
                match emdb_typed::read_header(value) {
                    Ok((header, _)) => {
                        let codec = emdb_typed::codec_name(header.codec_id).map_or_else(
                            || format!("unknown codec {}", header.codec_id),
                            str::to_owned,
                        );
                        codecs.insert(codec);
                        versions.insert(header.schema_version);
                    }
                    Err(_) => {
                        codecs.insert("unreadable header".to_owned());
                    }
                }
            }
            if ns.entries.is_multiple_of(4096) {
                progress.inc(4096);
            }
        }
        if let Some(table) = table {
            // A damaged catalog entry shows as types not recorded; `check` is for damage.
            let info = TableInfo::read(&opened.db, table).ok().flatten();
            tables.push(TableStats {
                name: table.to_owned(),
                entries: ns.entries,
                bytes: ns.key_bytes + ns.value_bytes,
                codecs: codecs.into_iter().collect(),
                schema_versions: versions.into_iter().collect(),
                key_type: info.as_ref().and_then(TableInfo::key_type),
                indexes: info.as_ref().map_or_else(Vec::new, |info| {
                    info.indexes()
                        .iter()
                        .map(|(name, unique)| IndexInfo { name: name.clone(), unique: *unique })
                        .collect()
                }),
                value_types: info.map_or_else(Vec::new, |info| {
                    info.value_types()
                        .into_iter()
                        .map(|(version, value_type)| ValueType { version, value_type })
                        .collect()
                }),
            });
        }
        namespaces.push(ns);
    }
    progress.finish_and_clear();
    let report = StatsReport {
        file: path.to_path_buf(),
        live_records: stats.live_records,
        file_bytes: stats.file_bytes,
        wal_bytes: stats.wal_bytes,
        free_pages: stats.free_pages,
        dead_value_bytes: stats.dead_value_bytes,
        reclaimable_bytes: stats.reclaimable_bytes,
        tree_height: stats.tree_height,
        format_version: stats.format_version,
        last_checkpoint_lsn: stats.last_checkpoint_lsn,
        last_lsn: stats.last_lsn,
        namespaces,
        tables,
    };
    if json {
        serde_json::to_writer_pretty(&mut *out, &report).map_err(|e| CliError::stdout(e.into()))?;
        writeln!(out).map_err(CliError::stdout)?;
    } else {
        print_stats(&report, out).map_err(CliError::stdout)?;
    }
    Ok(())
}

/// Every namespace: the default one first, then the named ones in name order.
pub(crate) fn all_spaces(opened: &Opened) -> Result<Vec<Space>, CliError> {
    let mut spaces = vec![Space::Default(opened.db.clone())];
    for name in opened.db.namespace_names() {
        spaces.push(Space::Named(opened.db.namespace(&name)?));
    }
    Ok(spaces)
}

fn print_stats(r: &StatsReport, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "file                 {}", r.file.display())?;
    writeln!(out, "live records         {}", r.live_records)?;
    writeln!(out, "page file            {} ({} bytes)", human_bytes(r.file_bytes), r.file_bytes)?;
    writeln!(out, "log                  {} ({} bytes)", human_bytes(r.wal_bytes), r.wal_bytes)?;
    writeln!(out, "free pages           {}", r.free_pages)?;
    writeln!(out, "dead value bytes     {}", r.dead_value_bytes)?;
    writeln!(out, "reclaimable bytes    {}", r.reclaimable_bytes)?;
    writeln!(out, "tree height          {}", r.tree_height)?;
    writeln!(out, "format version       {}", r.format_version)?;
    writeln!(out, "last checkpoint LSN  {}", r.last_checkpoint_lsn)?;
    writeln!(out, "last LSN             {}", r.last_lsn)?;
    writeln!(out)?;
    writeln!(
        out,
        "{:<32} {:>12} {:>12} {:>12}",
        "namespace", "entries", "key bytes", "value bytes"
    )?;
    for ns in &r.namespaces {
        let name = if ns.name.is_empty() { "(default)" } else { &ns.name };
        writeln!(out, "{name:<32} {:>12} {:>12} {:>12}", ns.entries, ns.key_bytes, ns.value_bytes)?;
    }
    if !r.tables.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "{:<32} {:>12} {:>12}  {:<16} versions",
            "table", "entries", "bytes", "codec"
        )?;
        for t in &r.tables {
            let versions: Vec<String> = t.schema_versions.iter().map(u32::to_string).collect();
            writeln!(
                out,
                "{:<32} {:>12} {:>12}  {:<16} {}",
                t.name,
                t.entries,
                t.bytes,
                t.codecs.join(","),
                versions.join(",")
            )?;
            let unknown = "(not recorded)";
            writeln!(out, "  key type           {}", t.key_type.as_deref().unwrap_or(unknown))?;
            for v in &t.value_types {
                let label = format!("v{} value type", v.version);
                writeln!(out, "  {label:<18} {}", v.value_type.as_deref().unwrap_or(unknown))?;
            }
            for index in &t.indexes {
                let kind = if index.unique { "unique" } else { "non-unique" };
                writeln!(out, "  index              {} ({kind})", index.name)?;
            }
        }
    }
    Ok(())
}

/// What `check` found.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
enum CheckReport {
    /// Nothing is wrong.
    Clean {
        file: PathBuf,
        records: u64,
        uncheckpointed_records: u64,
        namespaces: u64,
        tree_pages: u64,
        value_pages: u64,
        dead_value_pages: u64,
        overflow_pages: u64,
        free_pages: u64,
    },
    /// A file is damaged.
    Corrupt {
        file: PathBuf,
        /// The page of the page file the damage is in (`None` in the log).
        page: Option<u64>,
        offset: u64,
        problem: String,
    },
    /// The in-memory index disagrees with the stored data (an emdb bug, not damage).
    IndexMismatch { file: PathBuf, namespace: String, key: String, problem: String },
}

/// `emdb check FILE [--json]`: exit 0 when clean, 1 with a report when not.
pub(crate) fn check(path: &Path, json: bool, out: &mut impl Write) -> Result<(), CliError> {
    let progress = bar("checking", 0, "pages");
    let result =
        open_read_with(path, Some(&progress)).and_then(|opened| Ok(opened.db.check_integrity()?));
    progress.finish_and_clear();
    let report = match result {
        Ok(r) => CheckReport::Clean {
            file: path.to_path_buf(),
            records: r.records,
            uncheckpointed_records: r.uncheckpointed_records,
            namespaces: r.namespaces,
            tree_pages: r.tree_pages,
            value_pages: r.value_pages,
            dead_value_pages: r.dead_value_pages,
            overflow_pages: r.overflow_pages,
            free_pages: r.free_pages,
        },
        Err(CliError::Db(emdb_core::Error::Corruption { path: file, offset, detail })) => {
            let in_log = file.extension().is_some_and(|e| e == "wal");
            let page = (!in_log).then_some(offset / PAGE_SIZE);
            CheckReport::Corrupt { file, page, offset, problem: detail }
        }
        Err(CliError::Db(emdb_core::Error::IndexMismatch { namespace, key, detail })) => {
            CheckReport::IndexMismatch {
                file: path.to_path_buf(),
                namespace,
                key: crate::bytes::hex(&key),
                problem: detail,
            }
        }
        Err(e) => return Err(e),
    };
    if json {
        serde_json::to_writer(&mut *out, &report).map_err(|e| CliError::stdout(e.into()))?;
        writeln!(out).map_err(CliError::stdout)?;
    } else {
        print_check(&report, out).map_err(CliError::stdout)?;
    }
    match report {
        CheckReport::Clean { .. } => Ok(()),
        CheckReport::Corrupt { file, offset, .. } => {
            Err(CliError::Damaged(format!("{} is damaged at byte offset {offset}", file.display())))
        }
        CheckReport::IndexMismatch { file, .. } => Err(CliError::Damaged(format!(
            "the in-memory index of {} disagrees with its files",
            file.display()
        ))),
    }
}

fn print_check(report: &CheckReport, out: &mut impl Write) -> std::io::Result<()> {
    match report {
        CheckReport::Clean {
            file,
            records,
            uncheckpointed_records,
            namespaces,
            tree_pages,
            value_pages,
            dead_value_pages,
            overflow_pages,
            free_pages,
        } => {
            writeln!(out, "ok: {}", file.display())?;
            writeln!(out, "  records     {records} ({uncheckpointed_records} only in the log)")?;
            writeln!(out, "  namespaces  {namespaces}")?;
            writeln!(
                out,
                "  pages       {tree_pages} tree, {value_pages} value ({dead_value_pages} dead), {overflow_pages} overflow, {free_pages} free"
            )
        }
        CheckReport::Corrupt { file, page, offset, problem } => {
            let place = match page {
                Some(page) => format!("page {page}, byte offset {offset}"),
                None => format!("log byte offset {offset}"),
            };
            writeln!(out, "CORRUPT: {}: {place}: {problem}", file.display())
        }
        CheckReport::IndexMismatch { file, namespace, key, problem } => writeln!(
            out,
            "INDEX MISMATCH: {}: namespace {namespace:?}, key {key}: {problem} (an emdb bug, not file damage; reopening rebuilds the index)",
            file.display()
        ),
    }
}
