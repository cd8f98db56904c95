//! [`CliError`]: why a command did not succeed, as one line and an exit status.

use std::path::PathBuf;

/// Exit status of a negative answer: `check` found damage, `get` or `rm` found no key.
pub(crate) const EXIT_NEGATIVE: u8 = 1;
/// Exit status of bad arguments (clap's own usage errors exit with 2 as well).
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit status of a command that failed.
pub(crate) const EXIT_FAILED: u8 = 3;

/// Why a command did not succeed. Its message is the one line `emdb` prints.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    /// The database file does not exist (only `load` creates one).
    #[error("{path}: no such file; check the path (only `emdb load` creates a new database)")]
    Missing {
        /// The path given.
        path: PathBuf,
    },

    /// A namespace or table named on the command line is not in the database.
    #[error("{path} has no {what} {name:?}; it has: {available}")]
    NoSuchNamespace {
        /// The database file.
        path: PathBuf,
        /// "namespace" or "table".
        what: &'static str,
        /// The name given.
        name: String,
        /// The names there are, for the message.
        available: String,
    },

    /// A key given on the command line is not in the database.
    #[error("no key {key} in {where_}")]
    NoSuchKey {
        /// The key as shown.
        key: String,
        /// "the default namespace", "namespace \"x\"" or "table \"x\"".
        where_: String,
    },

    /// `check` found damage; the report is already printed.
    #[error("{0}")]
    Damaged(String),

    /// An argument the shell passed cannot be used.
    #[error("invalid {what}: {detail}")]
    BadArgument {
        /// Which argument.
        what: &'static str,
        /// What is wrong and what to give instead.
        detail: String,
    },

    /// A line of a dump given to `load` is not a dump line.
    #[error("standard input line {line}: {detail}")]
    BadDump {
        /// The 1-based line number.
        line: u64,
        /// What is wrong.
        detail: String,
    },

    /// The database refused or failed the operation.
    #[error("{0}")]
    Db(#[from] emdb_core::Error),

    /// Reading standard input or writing standard output failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being read or written.
        what: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
}

impl CliError {
    /// The exit status this error ends the process with.
    pub(crate) fn exit_code(&self) -> u8 {
        match self {
            CliError::NoSuchKey { .. } | CliError::Damaged(_) => EXIT_NEGATIVE,
            CliError::BadArgument { .. } => EXIT_USAGE,
            _ => EXIT_FAILED,
        }
    }

    /// An error writing to standard output.
    pub(crate) fn stdout(source: std::io::Error) -> Self {
        CliError::Io { what: "cannot write to standard output", source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_answers_usage_and_failures_have_distinct_exit_codes() {
        let missing = CliError::NoSuchKey { key: "k".into(), where_: "x".into() };
        assert_eq!(missing.exit_code(), 1);
        assert_eq!(CliError::Damaged(String::new()).exit_code(), 1);
        let bad = CliError::BadArgument { what: "key", detail: String::new() };
        assert_eq!(bad.exit_code(), 2);
        assert_eq!(CliError::Missing { path: "x".into() }.exit_code(), 3);
        assert_eq!(CliError::Db(emdb_core::Error::Poisoned).exit_code(), 3);
    }
}
