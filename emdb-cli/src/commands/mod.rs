//! The subcommands, one module per concern, and [`run`], which dispatches to them.

mod dump;
mod inspect;
mod read;
mod write;

use std::io::Write;

use crate::cli::Command;
use crate::error::CliError;

/// Runs one subcommand, printing its results to `out`.
pub(crate) fn run(command: Command, out: &mut impl Write) -> Result<(), CliError> {
    match command {
        Command::Stats { file, json } => inspect::stats(&file, json, out),
        Command::Check { file, json } => inspect::check(&file, json, out),
        Command::Get { file, key, select, show } => read::get(&file, &key, &select, show, out),
        Command::Scan { file, prefix, from, to, limit, keys_only, select, show } => {
            let args = read::ScanArgs {
                prefix: prefix.as_deref(),
                from: from.as_deref(),
                to: to.as_deref(),
                limit,
                keys_only,
            };
            read::scan(&file, &args, &select, show, out)
        }
        Command::Group { file, prefix, keys_only, select, show } => {
            read::group(&file, &prefix, keys_only, &select, show, out)
        }
        Command::Put { file, key, value, ttl, ns, hex } => {
            write::put(&file, &key, &value, ttl, ns.as_deref(), hex)
        }
        Command::Rm { file, key, ns, hex } => write::rm(&file, &key, ns.as_deref(), hex),
        Command::Dump { file, namespaces } => dump::dump(&file, &namespaces, out),
        Command::Load { file, batch_entries } => {
            dump::load(&file, batch_entries as usize, &mut std::io::stdin().lock())
        }
        Command::Compact { file } => write::compact(&file),
        Command::Backup { file, dest } => write::backup(&file, &dest),
    }
}
