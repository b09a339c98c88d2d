//! The machine a run happened on, and the run's UTC timestamp.

use crate::report::System;
use std::time::{SystemTime, UNIX_EPOCH};

/// RFC 3339 UTC to the second for `secs` since the Unix epoch.
///
/// By hand (days-to-civil, H. Hinnant's algorithm): a timestamp is all a report needs, which
/// does not justify a date-time crate.
pub fn rfc3339_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Now, as [`rfc3339_utc`].
pub fn now_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    rfc3339_utc(secs)
}

#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
/// The value of `key` in a `key : value` text (`/proc/cpuinfo`, `/proc/meminfo`).
fn field_of(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_string())
    })
}

/// `sysctl -n NAME` / `sw_vers -FLAG` output, trimmed (macOS).
#[cfg(target_os = "macos")]
fn command_output(program: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

/// What can be read about this machine without privileges; missing facts stay `None`.
pub fn current() -> System {
    let mut s = System {
        os: std::env::consts::OS.to_string(),
        arch: Some(std::env::consts::ARCH.to_string()),
        cpu_cores: std::thread::available_parallelism()
            .ok()
            .map(|n| n.get() as u64),
        ..System::default()
    };
    #[cfg(target_os = "macos")]
    {
        s.chip = command_output("sysctl", &["-n", "machdep.cpu.brand_string"]);
        s.machine = command_output("sysctl", &["-n", "hw.model"]);
        s.os_version = command_output("sw_vers", &["-productVersion"]);
        s.os_build = command_output("sw_vers", &["-buildVersion"]);
        s.memory_gb = command_output("sysctl", &["-n", "hw.memsize"])
            .and_then(|b| b.parse::<u64>().ok())
            .map(|b| b >> 30);
    }
    #[cfg(target_os = "linux")]
    {
        if let Ok(text) = std::fs::read_to_string("/proc/cpuinfo") {
            s.chip = field_of(&text, "model name");
        }
        if let Ok(text) = std::fs::read_to_string("/proc/meminfo") {
            // `MemTotal: 16318100 kB`
            s.memory_gb = field_of(&text, "MemTotal")
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .map(|kb| (kb + (1 << 19)) >> 20);
        }
        s.os_version = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|v| v.trim().to_string());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(rfc3339_utc(0), "1970-01-01T00:00:00Z");
        // The M4 Max file's timestamp: 2026-03-03T11:46:08Z.
        assert_eq!(rfc3339_utc(1_772_538_368), "2026-03-03T11:46:08Z");
        assert_eq!(rfc3339_utc(951_782_400), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn key_value_fields() {
        let t = "processor\t: 0\nmodel name\t: Some CPU @ 2.0GHz\nMemTotal:       16318100 kB\n";
        assert_eq!(
            field_of(t, "model name").as_deref(),
            Some("Some CPU @ 2.0GHz")
        );
        assert_eq!(field_of(t, "MemTotal").as_deref(), Some("16318100 kB"));
        assert_eq!(field_of(t, "missing"), None);
    }
}
