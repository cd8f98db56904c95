//! The comparative harness's results: the line protocol a child process reports through, and the
//! Markdown table, CSV and SVG chart the parent writes from them.

use std::collections::HashMap;
use std::fmt::Write as _;

/// What a phase measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Wall-clock time, reported in milliseconds.
    Millis,
    /// A size, reported in bytes and shown in MiB.
    Bytes,
}

/// One row of the results.
#[derive(Debug, Clone)]
pub struct Phase {
    /// A stable identifier, used in the line protocol and the CSV.
    pub id: &'static str,
    /// What the row measures, in words, with its counts.
    pub label: String,
    /// Whether the row is a time or a size.
    pub unit: Unit,
    /// Whether the row compares engines: a baseline that measures the disk, not the engine, gets
    /// no ratio, no bold and no bar.
    pub compared: bool,
}

/// One measurement of one engine in one phase.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A time in milliseconds.
    Millis(f64),
    /// A size in bytes.
    Bytes(u64),
    /// The engine cannot do this phase; the reason is printed.
    NotApplicable(String),
}

impl Value {
    /// The number the ratios compare (milliseconds or bytes), if there is one.
    pub fn number(&self) -> Option<f64> {
        match self {
            Value::Millis(ms) => Some(*ms),
            #[expect(clippy::cast_precision_loss, reason = "sizes are far below 2^52 bytes")]
            Value::Bytes(bytes) => Some(*bytes as f64),
            Value::NotApplicable(_) => None,
        }
    }

    /// The value as a table cell: milliseconds with thousands separators, sizes in MiB.
    pub fn cell(&self) -> String {
        match self {
            Value::Millis(ms) if *ms >= 100.0 => group_digits(&format!("{ms:.0}")),
            Value::Millis(ms) if *ms >= 1.0 => format!("{ms:.1}"),
            Value::Millis(ms) if *ms >= 0.001 => format!("{ms:.3}"),
            Value::Millis(ms) => format!("{ms:.6}"),
            #[expect(clippy::cast_precision_loss, reason = "sizes are far below 2^52 bytes")]
            Value::Bytes(bytes) => format!("{:.1} MiB", *bytes as f64 / f64::from(1 << 20)),
            Value::NotApplicable(_) => "n/a".to_owned(),
        }
    }
}

/// How an engine's child process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// Every phase ran.
    Completed,
    /// The engine could not run in this build; nothing was measured.
    Unavailable(String),
    /// The run stopped early (an error or a crash); the phases before it were kept.
    Failed(String),
}

/// Everything one engine's child process reported.
#[derive(Debug, Clone)]
pub struct EngineRun {
    /// The engine's name.
    pub name: String,
    /// How the run ended.
    pub status: RunStatus,
    /// The measurement of each phase that ran, by phase id.
    pub values: HashMap<String, Value>,
}

/// The prefix of every protocol line on a child's standard output; other lines are ignored.
pub const LINE_PREFIX: &str = "emdb-bench";

/// The protocol line reporting `value` for phase `id`.
pub fn value_line(id: &str, value: &Value) -> String {
    match value {
        Value::Millis(ms) => format!("{LINE_PREFIX}\tms\t{id}\t{ms}"),
        Value::Bytes(bytes) => format!("{LINE_PREFIX}\tbytes\t{id}\t{bytes}"),
        Value::NotApplicable(reason) => format!("{LINE_PREFIX}\tna\t{id}\t{}", one_line(reason)),
    }
}

/// The protocol line saying the engine is unavailable in this build.
pub fn unavailable_line(reason: &str) -> String {
    format!("{LINE_PREFIX}\tunavailable\t{}", one_line(reason))
}

/// The protocol line saying the run failed in phase `id`.
pub fn failed_line(id: &str, error: &str) -> String {
    format!("{LINE_PREFIX}\tfailed\t{id}\t{}", one_line(error))
}

fn one_line(text: &str) -> String {
    text.replace(['\t', '\n', '\r'], " ")
}

/// Reads a child's standard output into an [`EngineRun`]. `exit_ok` is whether the child exited
/// successfully; a child that did not, and said nothing about why, is reported as crashed.
pub fn parse_run(name: &str, output: &str, exit_ok: bool, exit_status: &str) -> EngineRun {
    let mut run =
        EngineRun { name: name.to_owned(), status: RunStatus::Completed, values: HashMap::new() };
    for line in output.lines() {
        let mut fields = line.split('\t');
        if fields.next() != Some(LINE_PREFIX) {
            continue;
        }
        let (kind, a, b) = (fields.next(), fields.next(), fields.next());
        match (kind, a, b) {
            (Some("ms"), Some(id), Some(v)) => {
                if let Ok(ms) = v.parse() {
                    run.values.insert(id.to_owned(), Value::Millis(ms));
                }
            }
            (Some("bytes"), Some(id), Some(v)) => {
                if let Ok(bytes) = v.parse() {
                    run.values.insert(id.to_owned(), Value::Bytes(bytes));
                }
            }
            (Some("na"), Some(id), Some(reason)) => {
                run.values.insert(id.to_owned(), Value::NotApplicable(reason.to_owned()));
            }
            (Some("unavailable"), Some(reason), _) => {
                run.status = RunStatus::Unavailable(reason.to_owned());
            }
            (Some("failed"), Some(id), Some(error)) => {
                run.status = RunStatus::Failed(format!("in phase `{id}`: {error}"));
            }
            _ => {}
        }
    }
    if !exit_ok && run.status == RunStatus::Completed {
        run.status = RunStatus::Failed(format!("the child process crashed ({exit_status})"));
    }
    run
}

/// Whether the run called `name` is one of emdb's own rows: `emdb` itself, or a variant of it
/// called `emdb-<variant>` (the plain-API row). Peers are the other runs.
pub fn is_emdb_row(name: &str, emdb: &str) -> bool {
    name.strip_prefix(emdb).is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
}

/// The ratio of the best peer to emdb in one phase, and which peer was best. Above 1, emdb took
/// less time (or space) than every peer.
pub fn best_peer_ratio(phase: &Phase, runs: &[EngineRun], emdb: &str) -> Option<(f64, String)> {
    best_peer_ratio_of(phase, runs, emdb, emdb)
}

/// As [`best_peer_ratio`], for the emdb row called `row` (`emdb` or a variant of it).
pub fn best_peer_ratio_of(
    phase: &Phase,
    runs: &[EngineRun],
    emdb: &str,
    row: &str,
) -> Option<(f64, String)> {
    if !phase.compared {
        return None;
    }
    let emdb_value = runs.iter().find(|r| r.name == row)?.values.get(phase.id)?.number()?;
    let (best, name) = runs
        .iter()
        .filter(|r| !is_emdb_row(&r.name, emdb))
        .filter_map(|r| Some((r.values.get(phase.id)?.number()?, r.name.clone())))
        .min_by(|a, b| a.0.total_cmp(&b.0))?;
    (emdb_value > 0.0).then(|| (best / emdb_value, name))
}

/// The Markdown results table: one row per phase, one column per engine (the smallest number
/// of a row in bold), and the best-peer ratio of each of emdb's rows.
pub fn markdown_table(phases: &[Phase], runs: &[EngineRun], emdb: &str) -> String {
    let rows: Vec<&str> =
        runs.iter().map(|r| r.name.as_str()).filter(|name| is_emdb_row(name, emdb)).collect();
    let mut out = String::from("| Phase |");
    for run in runs {
        let _ = write!(out, " {} |", run.name);
    }
    for row in &rows {
        let _ = write!(out, " ratio best-peer / {row} |");
    }
    out.push_str("\n|---|");
    out.push_str(&"---:|".repeat(runs.len() + rows.len()));
    out.push('\n');
    for phase in phases {
        let numbers: Vec<f64> =
            runs.iter().filter_map(|r| r.values.get(phase.id)?.number()).collect();
        // Bold marks a winner, so it needs at least two contenders.
        let best = numbers.iter().copied().min_by(f64::total_cmp).filter(|_| numbers.len() > 1);
        let _ = write!(out, "| {} |", phase.label);
        for run in runs {
            let cell = match (run.values.get(phase.id), &run.status) {
                (Some(value), _) => {
                    let text = value.cell();
                    let is_best = value.number().is_some() && value.number() == best;
                    if is_best && phase.compared { format!("**{text}**") } else { text }
                }
                (None, RunStatus::Unavailable(_)) => "unavailable".to_owned(),
                (None, RunStatus::Failed(_)) => "failed".to_owned(),
                (None, RunStatus::Completed) => "—".to_owned(),
            };
            let _ = write!(out, " {cell} |");
        }
        for row in &rows {
            let ratio = match best_peer_ratio_of(phase, runs, emdb, row) {
                Some((ratio, peer)) => format!("{ratio:.2}× ({peer})"),
                None => "—".to_owned(),
            };
            let _ = write!(out, " {ratio} |");
        }
        out.push('\n');
    }
    out
}

/// The CSV of every measurement: `engine,phase,unit,value,note`.
pub fn csv(phases: &[Phase], runs: &[EngineRun]) -> String {
    let mut out = String::from("engine,phase,unit,value,note\n");
    for run in runs {
        let status = match &run.status {
            RunStatus::Completed => String::new(),
            RunStatus::Unavailable(reason) => format!("unavailable: {reason}"),
            RunStatus::Failed(error) => format!("failed: {error}"),
        };
        for phase in phases {
            let (unit, value, note) = match run.values.get(phase.id) {
                Some(Value::Millis(ms)) => ("ms", format!("{ms:.6}"), String::new()),
                Some(Value::Bytes(bytes)) => ("bytes", bytes.to_string(), String::new()),
                Some(Value::NotApplicable(reason)) => ("", String::new(), reason.clone()),
                None => ("", String::new(), status.clone()),
            };
            let _ = writeln!(
                out,
                "{},{},{unit},{value},{}",
                csv_field(&run.name),
                csv_field(phase.id),
                csv_field(&note)
            );
        }
    }
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// An SVG bar chart of the best-peer ratios, on a log scale centred on 1 (bars to the right:
/// emdb took less time or space than the best peer). Phases without a ratio get a note instead
/// of a bar.
pub fn svg_chart(title: &str, phases: &[Phase], runs: &[EngineRun], emdb: &str) -> String {
    const LABEL_W: f64 = 330.0;
    const PLOT_W: f64 = 460.0;
    const ROW_H: f64 = 24.0;
    const TOP: f64 = 64.0;
    /// The plot spans ratios from `1 / 2^MAX_LOG2` to `2^MAX_LOG2`.
    const MAX_LOG2: f64 = 4.0;
    let phases: Vec<&Phase> = phases.iter().filter(|p| p.compared).collect();
    let width = LABEL_W + PLOT_W + 110.0;
    #[expect(clippy::cast_precision_loss, reason = "a few dozen phases")]
    let height = TOP + ROW_H * phases.len() as f64 + 40.0;
    let centre = LABEL_W + PLOT_W / 2.0;
    let emdb_missing = match runs.iter().find(|r| r.name == emdb).map(|r| &r.status) {
        None => Some("emdb was not run"),
        Some(RunStatus::Unavailable(_)) => Some("emdb unavailable in this run"),
        Some(_) => None,
    };
    let x_of =
        |ratio: f64| centre + ratio.log2().clamp(-MAX_LOG2, MAX_LOG2) / MAX_LOG2 * PLOT_W / 2.0;

    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="{width}" height="{height}" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="10" y="20" font-size="14" font-weight="bold">{}</text>"#,
        xml(title)
    );
    let _ = writeln!(
        out,
        r##"<text x="10" y="38" fill="#444">ratio best peer ÷ emdb, log scale: right of 1× = emdb faster (or smaller), left = slower</text>"##
    );
    for (ratio, label) in
        [(1.0 / 16.0, "1/16×"), (0.25, "1/4×"), (1.0, "1×"), (4.0, "4×"), (16.0, "16×")]
    {
        let x = x_of(ratio);
        let stroke = if (ratio - 1.0).abs() < f64::EPSILON { "#000" } else { "#ccc" };
        let _ = writeln!(
            out,
            r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{stroke}"/><text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#444">{label}</text>"##,
            TOP - 6.0,
            height - 30.0,
            height - 14.0
        );
    }
    for (i, phase) in phases.iter().enumerate() {
        #[expect(clippy::cast_precision_loss, reason = "a few dozen phases")]
        let y = TOP + ROW_H * i as f64;
        let _ = writeln!(
            out,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
            LABEL_W - 8.0,
            y + 16.0,
            xml(&phase.label)
        );
        match best_peer_ratio(phase, runs, emdb) {
            Some((ratio, peer)) => {
                let x = x_of(ratio);
                let (left, w) = if x >= centre { (centre, x - centre) } else { (x, centre - x) };
                let fill = if ratio >= 1.0 { "#2e7d32" } else { "#c62828" };
                let _ = writeln!(
                    out,
                    r##"<rect x="{left:.1}" y="{:.1}" width="{w:.1}" height="{:.1}" fill="{fill}"/><text x="{:.1}" y="{:.1}" fill="#222">{ratio:.2}× vs {}</text>"##,
                    y + 4.0,
                    ROW_H - 8.0,
                    left + w + 4.0,
                    y + 16.0,
                    xml(&peer)
                );
            }
            None if emdb_missing.is_none() => {
                let _ = writeln!(
                    out,
                    r##"<text x="{:.1}" y="{:.1}" fill="#888">no ratio: {}</text>"##,
                    centre + 6.0,
                    y + 16.0,
                    xml(&missing_reason(phase, runs, emdb))
                );
            }
            None => {}
        }
    }
    if let Some(why) = emdb_missing {
        // One note for the whole chart instead of the same one on every row.
        let _ = writeln!(
            out,
            r##"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="44" fill="#fff3e0" stroke="#ef6c00"/><text x="{centre:.1}" y="{:.1}" text-anchor="middle" font-size="14" fill="#bf360c">no ratios: {}</text>"##,
            LABEL_W + 20.0,
            TOP + 20.0,
            PLOT_W - 40.0,
            TOP + 47.0,
            xml(why)
        );
    }
    out.push_str("</svg>\n");
    out
}

fn missing_reason(phase: &Phase, runs: &[EngineRun], emdb: &str) -> String {
    match runs.iter().find(|r| r.name == emdb) {
        None => "emdb was not run".to_owned(),
        Some(run) => match (&run.status, run.values.get(phase.id)) {
            (_, Some(Value::NotApplicable(reason))) => reason.clone(),
            (RunStatus::Unavailable(_), _) => "emdb unavailable in this build".to_owned(),
            (RunStatus::Failed(_), None) => "emdb failed before this phase".to_owned(),
            _ => "no peer result".to_owned(),
        },
    }
}

fn xml(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `n` with thousands separators: `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    group_digits(&n.to_string())
}

/// The digits of a formatted integer with thousands separators.
fn group_digits(digits: &str) -> String {
    let bytes = digits.as_bytes();
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (bytes.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phases() -> Vec<Phase> {
        vec![
            Phase { id: "load", label: "bulk load".to_owned(), unit: Unit::Millis, compared: true },
            Phase {
                id: "size",
                label: "size <after>".to_owned(),
                unit: Unit::Bytes,
                compared: true,
            },
        ]
    }

    #[test]
    fn protocol_lines_round_trip_through_the_parser() {
        let out = [
            "progress text the parser ignores".to_owned(),
            value_line("load", &Value::Millis(12.5)),
            value_line("size", &Value::Bytes(3 << 20)),
            value_line("compact", &Value::NotApplicable("no\tcall".to_owned())),
        ]
        .join("\n");
        let run = parse_run("x", &out, true, "exit status: 0");
        assert_eq!(run.status, RunStatus::Completed);
        assert_eq!(run.values["load"], Value::Millis(12.5));
        assert_eq!(run.values["size"], Value::Bytes(3 << 20));
        assert_eq!(run.values["compact"], Value::NotApplicable("no call".to_owned()));
    }

    #[test]
    fn an_unavailable_engine_a_failure_and_a_crash_are_told_apart() {
        let unavailable = parse_run("emdb", &unavailable_line("no engine"), true, "");
        assert_eq!(unavailable.status, RunStatus::Unavailable("no engine".to_owned()));
        let failed = parse_run("a", &failed_line("load", "disk full"), false, "exit status: 1");
        assert_eq!(failed.status, RunStatus::Failed("in phase `load`: disk full".to_owned()));
        let crashed = parse_run("b", "", false, "signal: 9 (SIGKILL)");
        assert!(matches!(crashed.status, RunStatus::Failed(ref m) if m.contains("SIGKILL")));
    }

    #[test]
    fn the_ratio_is_the_best_peer_over_emdb_and_the_table_marks_the_best() {
        let run = |name: &str, ms: f64| EngineRun {
            name: name.to_owned(),
            status: RunStatus::Completed,
            values: HashMap::from([("load".to_owned(), Value::Millis(ms))]),
        };
        let runs = [run("emdb", 10.0), run("redb", 30.0), run("lmdb", 20.0)];
        let (ratio, peer) = best_peer_ratio(&phases()[0], &runs, "emdb").unwrap();
        assert!((ratio - 2.0).abs() < 1e-9);
        assert_eq!(peer, "lmdb");
        let table = markdown_table(&phases(), &runs, "emdb");
        assert!(table.contains("| bulk load | **10.0** | 30.0 | 20.0 | 2.00× (lmdb) |"), "{table}");
        assert!(table.contains("| size <after> | — | — | — | — |"), "{table}");
        let svg = svg_chart("t", &phases(), &runs, "emdb");
        assert!(svg.contains("2.00× vs lmdb") && svg.contains("size &lt;after&gt;"), "{svg}");
    }

    #[test]
    fn the_plain_api_row_gets_a_ratio_of_its_own_and_is_no_peer() {
        let run = |name: &str, ms: f64| EngineRun {
            name: name.to_owned(),
            status: RunStatus::Completed,
            values: HashMap::from([("load".to_owned(), Value::Millis(ms))]),
        };
        let runs = [run("emdb", 10.0), run("emdb-plain", 5.0), run("lmdb", 20.0)];
        assert!(is_emdb_row("emdb-plain", "emdb") && !is_emdb_row("emdbx", "emdb"));
        let (ratio, peer) = best_peer_ratio(&phases()[0], &runs, "emdb").unwrap();
        assert!((ratio - 2.0).abs() < 1e-9, "the faster emdb-plain is not a peer");
        assert_eq!(peer, "lmdb");
        let table = markdown_table(&phases(), &runs, "emdb");
        assert!(table.contains("| ratio best-peer / emdb | ratio best-peer / emdb-plain |"));
        assert!(table.contains("| 2.00× (lmdb) | 4.00× (lmdb) |"), "{table}");
    }

    #[test]
    fn an_unavailable_emdb_leaves_the_ratios_empty_and_says_why() {
        let runs = [
            EngineRun {
                name: "emdb".to_owned(),
                status: RunStatus::Unavailable("no engine".to_owned()),
                values: HashMap::new(),
            },
            EngineRun {
                name: "redb".to_owned(),
                status: RunStatus::Completed,
                values: HashMap::from([("load".to_owned(), Value::Millis(1234.0))]),
            },
        ];
        let table = markdown_table(&phases(), &runs, "emdb");
        assert!(table.contains("| bulk load | unavailable | 1,234 | — |"), "{table}");
        let svg = svg_chart("t", &phases(), &runs, "emdb");
        assert_eq!(svg.matches("emdb unavailable in this run").count(), 1, "{svg}");
        assert!(csv(&phases(), &runs).contains("emdb,load,,,unavailable: no engine"));
    }

    #[test]
    fn a_baseline_row_gets_no_ratio_no_bold_and_no_bar() {
        let baseline = Phase {
            id: "sync",
            label: "fdatasync".to_owned(),
            unit: Unit::Millis,
            compared: false,
        };
        let run = |name: &str, ms: f64| EngineRun {
            name: name.to_owned(),
            status: RunStatus::Completed,
            values: HashMap::from([("sync".to_owned(), Value::Millis(ms))]),
        };
        let runs = [run("emdb", 1.0), run("redb", 2.0)];
        assert_eq!(best_peer_ratio(&baseline, &runs, "emdb"), None);
        let table = markdown_table(std::slice::from_ref(&baseline), &runs, "emdb");
        assert!(table.contains("| fdatasync | 1.0 | 2.0 | — |"), "{table}");
        assert!(!svg_chart("t", &[baseline], &runs, "emdb").contains("fdatasync"));
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(123), "123");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(group_digits("12345"), "12,345");
    }
}
