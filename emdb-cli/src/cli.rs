//! The command line: every subcommand and option of `emdb`, as clap derives them.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::typed::KeyType;

/// How the exit status reads, shown under `emdb --help`.
const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  a negative answer: `check` found damage, `get` or `rm` found no such key
  2  bad arguments (the usage is printed)
  3  the command failed: missing file, not an emdb file, a newer format, locked, corrupt, I/O";

/// Look inside an emdb database, check it, dump and load it, compact and back it up.
///
/// Read commands (stats, check, get, scan, group, dump) open the file read-only and can run
/// while other read-only handles have it open; put, rm, load, compact and backup open it for
/// writing and need it to be closed everywhere else.
#[derive(Debug, Parser)]
#[command(name = "emdb", version, after_help = EXIT_CODES)]
pub(crate) struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Sizes and state: records, namespaces, typed tables, file and log sizes, checkpoints.
    Stats {
        /// The database file.
        file: PathBuf,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Check every page, checksum and index entry; exit 1 with a report if anything is damaged.
    Check {
        /// The database file.
        file: PathBuf,
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print the value of one key (exit 1 if there is none).
    Get {
        /// The database file.
        file: PathBuf,
        /// The key (hex digits with --hex).
        #[arg(allow_hyphen_values = true)]
        key: String,
        #[command(flatten)]
        select: Select,
        #[command(flatten)]
        show: Show,
    },
    /// Print entries in key order, one `KEY<tab>VALUE` line each.
    Scan {
        /// The database file.
        file: PathBuf,
        /// Only keys that start with this prefix.
        #[arg(long, conflicts_with_all = ["from", "to"], allow_hyphen_values = true)]
        prefix: Option<String>,
        /// Start at this key (inclusive).
        #[arg(long, allow_hyphen_values = true)]
        from: Option<String>,
        /// Stop before this key (exclusive).
        #[arg(long, allow_hyphen_values = true)]
        to: Option<String>,
        /// Print at most this many entries.
        #[arg(long)]
        limit: Option<u64>,
        /// Print keys only.
        #[arg(long)]
        keys_only: bool,
        #[command(flatten)]
        select: Select,
        #[command(flatten)]
        show: Show,
    },
    /// Print every entry of the dotted group PREFIX (keys under `PREFIX.` at any depth).
    Group {
        /// The database file.
        file: PathBuf,
        /// The group, for example `product` or `product.phone`.
        prefix: String,
        /// Print keys only.
        #[arg(long)]
        keys_only: bool,
        #[command(flatten)]
        select: Select,
        #[command(flatten)]
        show: Show,
    },
    /// Write one entry (the namespace is created if it does not exist).
    Put {
        /// The database file.
        file: PathBuf,
        /// The key (hex digits with --hex).
        #[arg(allow_hyphen_values = true)]
        key: String,
        /// The value (hex digits with --hex).
        #[arg(allow_hyphen_values = true)]
        value: String,
        /// Let the entry expire after this long: `500ms`, `30s`, `5m`, `2h`, `7d`, `1h30m`.
        #[arg(long, value_parser = parse_duration)]
        ttl: Option<Duration>,
        /// Write into this namespace instead of the default one.
        #[arg(long)]
        ns: Option<String>,
        /// KEY and VALUE are hex digits.
        #[arg(long)]
        hex: bool,
    },
    /// Remove one key (exit 1 if there was none).
    Rm {
        /// The database file.
        file: PathBuf,
        /// The key (hex digits with --hex).
        #[arg(allow_hyphen_values = true)]
        key: String,
        /// Remove from this namespace instead of the default one.
        #[arg(long)]
        ns: Option<String>,
        /// KEY is hex digits.
        #[arg(long)]
        hex: bool,
    },
    /// Write every entry as JSON Lines to standard output (namespace, key, value, expiry).
    Dump {
        /// The database file.
        file: PathBuf,
        /// Dump only this namespace (repeat for several; `""` is the default namespace).
        #[arg(long = "ns", value_name = "NAME")]
        namespaces: Vec<String>,
    },
    /// Read a dump from standard input and write it, in large atomic batches.
    ///
    /// The file is created if it does not exist. Entries replace existing entries with the same
    /// key; entries whose expiry has passed are skipped.
    Load {
        /// The database file.
        file: PathBuf,
        /// Commit a batch once it holds this many entries (or 32 MiB of keys and values).
        #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(1..))]
        batch_entries: u32,
    },
    /// Rewrite the file without free pages and dead values.
    Compact {
        /// The database file.
        file: PathBuf,
    },
    /// Write a consistent copy of the database to DEST.
    Backup {
        /// The database file.
        file: PathBuf,
        /// Where the copy goes (a new file; it must not be one of the database's own files).
        dest: PathBuf,
    },
}

/// Which keys a read command looks at.
#[derive(Debug, Args)]
pub(crate) struct Select {
    /// Read this namespace instead of the default one.
    #[arg(long, conflicts_with = "table")]
    pub(crate) ns: Option<String>,
    /// Read the typed table NAME (its namespace `emdb.table.NAME`); values are shown as JSON
    /// (json values as stored, postcard and bincode values through the table's recorded shape;
    /// hex when that does not read them), each with its codec and schema version, and keys as
    /// the table's recorded key type.
    #[arg(long)]
    pub(crate) table: Option<String>,
    /// The table's key type: keys on the command line are parsed as it and stored keys are
    /// shown as it.
    #[arg(long, value_enum, requires = "table")]
    pub(crate) key_type: Option<KeyType>,
}

/// How keys and values are printed.
#[derive(Debug, Args, Clone, Copy)]
pub(crate) struct Show {
    /// Keys on the command line are hex digits, and keys and values are printed in hex.
    #[arg(long, conflicts_with = "raw")]
    pub(crate) hex: bool,
    /// Print values as their bytes, unescaped (binary data goes to the terminal as it is).
    #[arg(long)]
    pub(crate) raw: bool,
}

/// Parses a duration such as `500ms`, `30s`, `5m`, `2h`, `7d` or `1h30m`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!("invalid duration {text:?}: use a number and a unit, like 500ms, 30s, 5m, 2h, 7d")
    };
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (number, tail) = rest.split_at(digits);
        let number: u64 = number.parse().map_err(|_| bad())?;
        let unit_len = tail.find(|c: char| c.is_ascii_digit()).unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let millis_per_unit: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return Err(bad()),
        };
        let millis = number.checked_mul(millis_per_unit).ok_or_else(bad)?;
        total = total.checked_add(Duration::from_millis(millis)).ok_or_else(bad)?;
        rest = tail;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_units_and_combinations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(7 * 86_400)));
    }

    #[test]
    fn durations_without_a_known_unit_are_refused() {
        for bad in ["", "30", "s", "30x", "1.5s", "-3s", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
