//! The portable planning layer of the `ane` backend: everything the Objective-C calls need,
//! computed and unit-tested on any OS.
//!
//! Facts come from `../shared/reference/private-api.md` (tags there: [source] = what
//! maderix/ANE and dev-erik/ANE do; none of it was run on hardware by anekit).
//!
//! - [`weights`]: the `_ANEInMemoryModelDescriptor` weights dictionary (§2 step 1).
//! - [`tempdir`]: the `NSTemporaryDirectory()/<hexStringIdentifier>/` layout (§6).
//! - [`surface`]: IOSurface sizes, properties and [1, C, 1, S] fp16/fp32 packing (§4).
//! - [`request`]: `_ANERequest` index arrays, procedure index, size-ordering rule (§5).
//! - [`dialect`]: the MIL dialect a chip accepts (§9), via `anekit_kb::chips`.
//! - [`nserror`]: NSError domain/code → error kind (§11).
//! - [`package`]: the `.mlpackage` the `coreml` backend compiles.
//! - [`RetryPolicy`]: the load retry (§2 step 6).

pub mod dialect;
pub mod nserror;
pub mod package;
pub mod request;
pub mod surface;
pub mod tempdir;
pub mod weights;

use serde::Serialize;
use std::time::Duration;

/// The QoS every known client passes to compile/load/evaluate/unload (§3, [source]).
pub const DEFAULT_QOS: u32 = 21;

/// Named QoS values: Darwin's `qos_class_t` numbers (`<sys/qos.h>`). That the framework reads
/// its `unsigned int` QoS argument in these units is an inference from 21 = 0x15 =
/// `QOS_CLASS_DEFAULT` (§3, [unverified]).
pub const QOS_CLASSES: [(&str, u32); 5] = [
    ("user-interactive", 0x21),
    ("user-initiated", 0x19),
    ("default", 0x15),
    ("utility", 0x11),
    ("background", 0x09),
];

/// The largest QoS accepted: `test_qos_sweep` compiled, loaded and evaluated with 0..=63 on
/// an M5 (§3, [source] logged result); nothing larger was ever passed.
pub const MAX_QOS: u32 = 63;

/// A QoS given by name (`default`, `user-interactive`, ...) or number (0..=63).
pub fn parse_qos(text: &str) -> Result<u32, String> {
    if let Some(&(_, value)) = QOS_CLASSES.iter().find(|(name, _)| *name == text) {
        return Ok(value);
    }
    match text.parse::<u32>() {
        Ok(n) if n <= MAX_QOS => Ok(n),
        Ok(n) => Err(format!(
            "QoS {n} is above {MAX_QOS}, the largest value ever seen to work"
        )),
        Err(_) => Err(format!(
            "unknown QoS {text:?}: use a number 0..={MAX_QOS} or one of {}",
            QOS_CLASSES
                .iter()
                .map(|(name, value)| format!("{name} ({value})"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// How often to try a load and how long to wait between tries. The dev-erik bridge retries
/// once after 100 ms ("ANE slot reclamation", §2 step 6, [source]); that is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RetryPolicy {
    /// Total tries, at least 1.
    pub attempts: u32,
    pub delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 2,
            delay: Duration::from_millis(100),
        }
    }
}

impl RetryPolicy {
    /// No retry.
    pub fn once() -> RetryPolicy {
        RetryPolicy {
            attempts: 1,
            delay: Duration::ZERO,
        }
    }

    /// Run `op` (given the 1-based attempt number) until it succeeds or the tries are used
    /// up, calling `sleep` between tries. Returns the last result and the tries made.
    pub fn run<T, E>(
        &self,
        mut op: impl FnMut(u32) -> Result<T, E>,
        mut sleep: impl FnMut(Duration),
    ) -> (Result<T, E>, u32) {
        let attempts = self.attempts.max(1);
        let mut attempt = 1;
        loop {
            let result = op(attempt);
            if result.is_ok() || attempt >= attempts {
                return (result, attempt);
            }
            sleep(self.delay);
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_policy_retries_once_after_100_ms_by_default() {
        let policy = RetryPolicy::default();
        let mut slept = Vec::new();
        let (result, tries) = policy.run(
            |attempt| {
                if attempt < 2 {
                    Err(attempt)
                } else {
                    Ok("loaded")
                }
            },
            |d| slept.push(d),
        );
        assert_eq!(result, Ok("loaded"));
        assert_eq!(tries, 2);
        assert_eq!(slept, vec![Duration::from_millis(100)]);

        let mut slept = Vec::new();
        let (result, tries) = policy.run(Err::<(), _>, |d| slept.push(d));
        assert_eq!(result, Err(2));
        assert_eq!(tries, 2);
        assert_eq!(slept.len(), 1);
    }

    #[test]
    fn qos_names_are_darwin_qos_classes_and_numbers_stop_at_63() {
        assert_eq!(parse_qos("default"), Ok(21));
        assert_eq!(parse_qos("default"), Ok(DEFAULT_QOS));
        assert_eq!(parse_qos("user-interactive"), Ok(33));
        assert_eq!(parse_qos("user-initiated"), Ok(25));
        assert_eq!(parse_qos("utility"), Ok(17));
        assert_eq!(parse_qos("background"), Ok(9));
        assert_eq!(parse_qos("0"), Ok(0));
        assert_eq!(parse_qos("63"), Ok(63));
        assert_eq!(
            parse_qos("64"),
            Err("QoS 64 is above 63, the largest value ever seen to work".into())
        );
        let err = parse_qos("fast").unwrap_err();
        assert!(
            err.starts_with(
                "unknown QoS \"fast\": use a number 0..=63 or one of user-interactive (33)"
            ),
            "{err}"
        );
        assert_eq!(
            parse_qos("-1").unwrap_err().split(':').next(),
            Some("unknown QoS \"-1\"")
        );
    }

    #[test]
    fn retry_once_never_sleeps() {
        let (result, tries) = RetryPolicy::once().run(|_| Err::<(), _>("no"), |_| panic!("slept"));
        assert_eq!(result, Err("no"));
        assert_eq!(tries, 1);
    }
}
