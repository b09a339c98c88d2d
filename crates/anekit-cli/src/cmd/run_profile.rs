//! `ane run --profile`: where an evaluation's time goes, per op and per op kind, from the CPU
//! executor's per-op clock readings (`Executor::run_profiled`).

use super::run::median;
use anekit_cpu::exec::{OpProfile, Profile};
use serde::Serialize;
use std::fmt::Write as _;
use std::time::Duration;

/// The slowest ops the human report lists (JSON has them all).
const HUMAN_OPS: usize = 12;

#[derive(Serialize, Debug, PartialEq)]
pub struct ProfileReport {
    /// Evaluations timed (every `--repeat`).
    pub evaluations: usize,
    /// Sum over ops of each op's median time, in ms (the evaluation's median also holds the
    /// executor's bookkeeping between ops and the output conversion).
    pub ops_total_ms: f64,
    /// Per op kind, slowest first.
    pub kinds: Vec<KindRow>,
    /// Every op that ran, in execution order.
    pub ops: Vec<OpRow>,
}

#[derive(Serialize, Debug, PartialEq)]
pub struct KindRow {
    pub kind: String,
    /// How many ops of this kind ran per evaluation.
    pub count: usize,
    /// Sum of their median times, in ms.
    pub ms: f64,
    /// Share of `ops_total_ms`, in percent.
    pub percent: f64,
}

#[derive(Serialize, Debug, PartialEq)]
pub struct OpRow {
    pub kind: String,
    pub result: String,
    pub shape: Vec<usize>,
    /// Median time of the whole op (`compute_ms` and `finish_ms` are medians of their own, so
    /// they need not add up to it exactly).
    pub ms: f64,
    /// Median time of the kernel.
    pub compute_ms: f64,
    /// Median time of bringing the result to its declared dtype (fp16 rounding under `ane`
    /// numerics).
    pub finish_ms: f64,
    /// Share of `ops_total_ms`, in percent.
    pub percent: f64,
}

/// Milliseconds, from whole nanoseconds with one rounding (a duration of 240 µs reads 0.24).
fn ms(d: Duration) -> f64 {
    d.as_nanos() as f64 / 1e6
}

fn op_total(op: &OpProfile) -> Vec<Duration> {
    op.compute
        .iter()
        .zip(&op.finish)
        .map(|(c, f)| *c + *f)
        .collect()
}

impl ProfileReport {
    pub fn new(profile: &Profile) -> ProfileReport {
        let mut ops: Vec<OpRow> = profile
            .ops
            .iter()
            .map(|op| OpRow {
                kind: op.kind.clone(),
                result: op.result.clone(),
                shape: op.shape.clone(),
                ms: ms(median(&op_total(op))),
                compute_ms: ms(median(&op.compute)),
                finish_ms: ms(median(&op.finish)),
                percent: 0.0,
            })
            .collect();
        let total: f64 = ops.iter().map(|o| o.ms).sum();
        let share = |x: f64| if total > 0.0 { 100.0 * x / total } else { 0.0 };
        let mut kinds: Vec<KindRow> = Vec::new();
        for op in &mut ops {
            op.percent = share(op.ms);
            match kinds.iter_mut().find(|k| k.kind == op.kind) {
                Some(k) => {
                    k.count += 1;
                    k.ms += op.ms;
                }
                None => kinds.push(KindRow {
                    kind: op.kind.clone(),
                    count: 1,
                    ms: op.ms,
                    percent: 0.0,
                }),
            }
        }
        for k in &mut kinds {
            k.percent = share(k.ms);
        }
        kinds.sort_by(|a, b| b.ms.total_cmp(&a.ms));
        ProfileReport {
            evaluations: profile.evaluations,
            ops_total_ms: total,
            kinds,
            ops,
        }
    }

    pub fn human(&self) -> String {
        let mut s = format!(
            "  profile: ops sum to {:.3} ms (medians of {} evaluation{})\n",
            self.ops_total_ms,
            self.evaluations,
            if self.evaluations == 1 { "" } else { "s" }
        );
        s.push_str("    by kind:\n");
        for k in &self.kinds {
            let _ = writeln!(
                s,
                "      {:<22} {:>3} × {:>9.3} ms {:>5.1} %",
                k.kind, k.count, k.ms, k.percent
            );
        }
        let mut slowest: Vec<&OpRow> = self.ops.iter().collect();
        slowest.sort_by(|a, b| b.ms.total_cmp(&a.ms));
        let shown = slowest.len().min(HUMAN_OPS);
        let _ = writeln!(
            s,
            "    slowest ops ({shown} of {}; --json lists all):",
            self.ops.len()
        );
        for o in slowest.iter().take(shown) {
            let _ = writeln!(
                s,
                "      {:<22} {:<28} {:<20} {:>9.3} ms {:>5.1} %  (dtype conversion {:.3} ms)",
                o.kind,
                o.result,
                format!("{:?}", o.shape),
                o.ms,
                o.percent,
                o.finish_ms
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(kind: &str, result: &str, compute_us: &[u64], finish_us: &[u64]) -> OpProfile {
        let d = |v: &[u64]| v.iter().map(|&u| Duration::from_micros(u)).collect();
        OpProfile {
            kind: kind.into(),
            result: result.into(),
            shape: vec![1, 4],
            compute: d(compute_us),
            finish: d(finish_us),
        }
    }

    #[test]
    fn kinds_sum_their_ops_medians_and_shares_add_to_100() {
        let profile = Profile {
            ops: vec![
                op("conv", "a", &[100, 300, 200], &[10, 10, 40]),
                op("add", "b", &[50, 50, 50], &[0, 0, 0]),
                op("conv", "c", &[600, 600, 900], &[0, 0, 0]),
            ],
            evaluations: 3,
        };
        let r = ProfileReport::new(&profile);
        // Per-evaluation totals of `a`: 110, 310, 240 µs → median 240.
        let ms: Vec<f64> = r.ops.iter().map(|o| o.ms).collect();
        assert_eq!(ms, vec![0.24, 0.05, 0.6]);
        assert_eq!(r.ops[0].compute_ms, 0.2);
        assert_eq!(r.ops[0].finish_ms, 0.01);
        assert!((r.ops_total_ms - 0.89).abs() < 1e-12);
        let kinds: Vec<(&str, usize)> =
            r.kinds.iter().map(|k| (k.kind.as_str(), k.count)).collect();
        assert_eq!(kinds, vec![("conv", 2), ("add", 1)]);
        assert!((r.kinds[0].ms - 0.84).abs() < 1e-12);
        let sum: f64 = r.kinds.iter().map(|k| k.percent).sum();
        assert!((sum - 100.0).abs() < 1e-9);
        let human = r.human();
        assert!(
            human.contains("ops sum to 0.890 ms (medians of 3 evaluations)"),
            "{human}"
        );
        // Slowest first: c, a, b.
        let c = human.find(" c ").unwrap();
        let a = human.find(" a ").unwrap();
        assert!(c < a, "{human}");
    }

    #[test]
    fn an_empty_profile_reports_zero_without_dividing_by_it() {
        let r = ProfileReport::new(&Profile::default());
        assert_eq!(r.ops_total_ms, 0.0);
        assert!(r.kinds.is_empty() && r.ops.is_empty());
    }
}
