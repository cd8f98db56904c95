//! Every failure is one line on standard error and a non-zero exit: a missing file, a file that
//! is not emdb's, a newer format, bad arguments.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{emdb, sample_db, temp_db};
use predicates::prelude::*;

/// Exactly one line on standard error, starting `emdb: `.
fn one_line() -> impl Predicate<str> {
    predicate::function(|s: &str| s.lines().count() == 1 && s.starts_with("emdb: "))
}

#[test]
fn a_missing_file_is_named_and_not_created() {
    let (dir, path) = temp_db();
    for cmd in ["stats", "check", "dump"] {
        emdb()
            .arg(cmd)
            .arg(&path)
            .assert()
            .code(3)
            .stderr(one_line())
            .stderr(predicate::str::contains("app.emdb: no such file"));
    }
    emdb().arg("get").arg(&path).arg("k").assert().code(3).stderr(one_line());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn a_file_that_is_not_emdbs_is_refused_and_left_alone() {
    let (_dir, path) = temp_db();
    let text = "just some text that is long enough to not be mistaken for anything\n".repeat(200);
    std::fs::write(&path, &text).unwrap();
    for cmd in ["stats", "check", "dump", "compact"] {
        emdb()
            .arg(cmd)
            .arg(&path)
            .assert()
            .code(3)
            .stderr(one_line())
            .stderr(predicate::str::contains("is not an emdb database file"));
    }
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
}

#[test]
fn a_file_of_a_newer_format_names_both_versions() {
    let (_dir, path) = temp_db();
    sample_db(&path);
    // Both meta pages (pages 0 and 1) say format 99, with their checksums fixed up: the
    // version (bytes 8..12) and the crc32c of the page with its own bytes 12..16 as zero.
    let mut bytes = std::fs::read(&path).unwrap();
    for page in bytes.chunks_mut(4096).take(2) {
        page[8..12].copy_from_slice(&99u32.to_le_bytes());
        page[12..16].fill(0);
        let crc = crc32c::crc32c(page);
        page[12..16].copy_from_slice(&crc.to_le_bytes());
    }
    std::fs::write(&path, bytes).unwrap();
    emdb()
        .arg("stats")
        .arg(&path)
        .assert()
        .code(3)
        .stderr(one_line())
        .stderr(predicate::str::contains("has file format version 99"))
        .stderr(predicate::str::contains("reads versions up to 5"))
        .stderr(predicate::str::contains("open it with a newer emdb"));
}

#[test]
fn bad_arguments_print_the_usage_and_exit_2() {
    let _serial = common::serial();
    emdb().assert().code(2).stderr(predicate::str::contains("Usage: emdb <COMMAND>"));
    emdb().args(["frobnicate", "x"]).assert().code(2).stderr(predicate::str::contains("Usage"));
    emdb().args(["get", "only-a-file"]).assert().code(2).stderr(predicate::str::contains("<KEY>"));
    emdb()
        .args(["scan", "f", "--limit", "many"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("invalid value 'many'"));
}

#[test]
fn help_lists_every_subcommand_and_the_exit_codes() {
    let _serial = common::serial();
    let out = emdb().arg("--help").assert().success().get_output().stdout.clone();
    let help = String::from_utf8(out).unwrap();
    for cmd in
        ["stats", "check", "get", "scan", "group", "put", "rm", "dump", "load", "compact", "backup"]
    {
        assert!(help.contains(&format!("  {cmd} ")), "{cmd} missing from\n{help}");
    }
    assert!(help.contains("Exit status:"), "{help}");
}
