//! A description of the machine a benchmark ran on, read from `/proc` (Linux): cores, CPU model,
//! memory, kernel, and the filesystem that holds the data directory.

use std::path::Path;

/// The facts about this machine that a reader of the results needs, as `(what, value)` pairs.
/// Facts that cannot be read (another OS, a restricted `/proc`) say so instead.
pub fn describe(data_dir: &Path) -> Vec<(&'static str, String)> {
    let unknown = || "unknown".to_owned();
    let nproc = std::thread::available_parallelism().map_or_else(|_| unknown(), |n| n.to_string());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = field(&cpuinfo, "model name").unwrap_or_else(unknown);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let memory = field(&meminfo, "MemTotal")
        .and_then(|kb| kb.trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or_else(unknown, |kb| format!("{:.1} GiB", kib_to_gib(kb)));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| unknown(), |s| s.trim().to_owned());
    let hypervisor = if cpuinfo.contains(" hypervisor") { " (virtual machine)" } else { "" };
    vec![
        ("nproc", nproc),
        ("CPU", format!("{cpu}{hypervisor}")),
        ("memory", memory),
        ("kernel", format!("Linux {kernel}")),
        ("data directory filesystem", filesystem_of(data_dir).unwrap_or_else(unknown)),
    ]
}

/// The total time runnable tasks have waited for a core since boot (`some total` in
/// `/proc/pressure/cpu`), or `None` without pressure stall information. The difference over a run
/// says how much other processes competed with it.
pub fn cpu_stall() -> Option<std::time::Duration> {
    let text = std::fs::read_to_string("/proc/pressure/cpu").ok()?;
    let some = text.lines().find(|line| line.starts_with("some "))?;
    let micros = some.split_whitespace().find_map(|f| f.strip_prefix("total="))?.parse().ok()?;
    Some(std::time::Duration::from_micros(micros))
}

/// The value of the first `name : value` line of a `/proc` file.
fn field(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == name).then(|| value.trim().to_owned())
    })
}

fn kib_to_gib(kib: u64) -> f64 {
    #[expect(clippy::cast_precision_loss, reason = "memory sizes are far below 2^52 KiB")]
    let kib = kib as f64;
    kib / f64::from(1 << 20)
}

/// `"ext4 on / (/dev/vda1)"`: the mount with the longest mount point that contains `dir`.
fn filesystem_of(dir: &Path) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (device, point, fstype) = (fields.next()?, fields.next()?, fields.next()?);
            let point = point.replace("\\040", " ");
            dir.starts_with(&point).then(|| (point, fstype.to_owned(), device.to_owned()))
        })
        .max_by_key(|(point, _, _)| point.len())
        .map(|(point, fstype, device)| format!("{fstype} on {point} ({device})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_fields_are_found_by_name() {
        let text = "processor\t: 0\nmodel name\t: Some CPU @ 2GHz\n";
        assert_eq!(field(text, "model name").as_deref(), Some("Some CPU @ 2GHz"));
        assert_eq!(field(text, "missing"), None);
    }

    #[test]
    fn the_description_names_every_fact() {
        let facts = describe(&std::env::temp_dir());
        let names: Vec<_> = facts.iter().map(|(name, _)| *name).collect();
        assert_eq!(names, ["nproc", "CPU", "memory", "kernel", "data directory filesystem"]);
        assert!(facts.iter().all(|(_, value)| !value.is_empty()));
    }
}
