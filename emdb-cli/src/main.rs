//! `emdb`, the command-line tool of the emdb database: look inside a database file, check it,
//! read and write single entries, dump it to JSON Lines and load it back, compact it and back it
//! up. Run `emdb --help` for the commands.
#![forbid(unsafe_code)]

mod bytes;
mod cli;
mod commands;
mod error;
mod jsonl;
mod open;
mod progress;
mod typed;

use std::io::{BufWriter, Write};
use std::process::ExitCode;

use clap::Parser;

use crate::error::CliError;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let result =
        commands::run(cli.command, &mut out).and_then(|()| out.flush().map_err(CliError::stdout));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // The reader of our output went away (`emdb scan db | head`): nothing more to say.
        Err(CliError::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::SUCCESS
        }
        Err(error) => {
            // Whatever was printed before the error still goes out, ahead of the message.
            let _ = out.flush();
            eprintln!("emdb: {error}");
            ExitCode::from(error.exit_code())
        }
    }
}
