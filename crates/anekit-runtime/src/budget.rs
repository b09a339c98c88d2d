//! The per-process compile budget.
//!
//! The ANE compiler/runtime leaks per-process resources: after roughly 119 compiles (119–132 on
//! M4) further compiles fail, often silently (reference/private-api.md §8.2, [unverified]).
//! maderix/ANE treats compiles as a counted resource with `MAX_COMPILES = 100` and restarts the
//! process before reaching it (§8.3 #1, [source]); anekit uses the same default. Every backend
//! counts against the budget, so a program that runs on `cpu` fails on the same compile as it
//! would on `ane`. Loads from the compile cache do not count (§8.3 #5).

use crate::error::RuntimeError;
use serde::Serialize;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

/// maderix/ANE's `MAX_COMPILES`, safely below the observed ~119-compile limit.
pub const DEFAULT_COMPILE_BUDGET: u32 = 100;

/// Environment variable that sets the process budget's limit.
pub const BUDGET_ENV: &str = "ANEKIT_COMPILE_BUDGET";

/// A shared compile counter with a limit. Clones share the count.
#[derive(Debug, Clone)]
pub struct CompileBudget {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    limit: u32,
    used: AtomicU32,
}

/// A snapshot of a budget (reported by `status`/`budget` and in errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BudgetStatus {
    pub used: u32,
    pub limit: u32,
    pub remaining: u32,
}

impl CompileBudget {
    pub fn new(limit: u32) -> CompileBudget {
        CompileBudget {
            inner: Arc::new(Inner {
                limit,
                used: AtomicU32::new(0),
            }),
        }
    }

    /// The budget every backend of this process shares unless given another one: its limit
    /// comes from `ANEKIT_COMPILE_BUDGET` when that parses as a number, else
    /// [`DEFAULT_COMPILE_BUDGET`].
    pub fn process() -> CompileBudget {
        static PROCESS: OnceLock<CompileBudget> = OnceLock::new();
        PROCESS
            .get_or_init(|| {
                let limit = std::env::var(BUDGET_ENV)
                    .ok()
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(DEFAULT_COMPILE_BUDGET);
                CompileBudget::new(limit)
            })
            .clone()
    }

    /// Take one compile from the budget, or fail without changing the count.
    ///
    /// A compile that then fails still counts: the resources leak either way.
    pub fn acquire(&self) -> Result<BudgetStatus, RuntimeError> {
        let limit = self.inner.limit;
        self.inner
            .used
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |used| {
                (used < limit).then_some(used + 1)
            })
            .map(|_| self.status())
            .map_err(|used| RuntimeError::BudgetExhausted { used, limit })
    }

    /// Whether `n` more compiles fit (for planning a batch before starting it).
    pub fn fits(&self, n: u32) -> bool {
        self.status().remaining >= n
    }

    pub fn status(&self) -> BudgetStatus {
        let used = self.inner.used.load(Ordering::SeqCst);
        BudgetStatus {
            used,
            limit: self.inner.limit,
            remaining: self.inner.limit.saturating_sub(used),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_counts_and_exhausts_with_a_typed_error() {
        let budget = CompileBudget::new(2);
        assert_eq!(
            budget.acquire().unwrap(),
            BudgetStatus {
                used: 1,
                limit: 2,
                remaining: 1
            }
        );
        assert!(budget.fits(1));
        assert!(!budget.fits(2));
        assert_eq!(budget.acquire().unwrap().remaining, 0);
        let err = budget.acquire().unwrap_err();
        assert!(matches!(
            err,
            RuntimeError::BudgetExhausted { used: 2, limit: 2 }
        ));
        assert_eq!(err.code(), "budget_exhausted");
        assert!(err.to_string().contains("2 of 2 compiles"), "{err}");
        // The failed acquire did not move the count.
        assert_eq!(budget.status().used, 2);
    }

    #[test]
    fn clones_share_the_count() {
        let a = CompileBudget::new(5);
        let b = a.clone();
        a.acquire().unwrap();
        b.acquire().unwrap();
        assert_eq!(a.status().used, 2);
    }

    #[test]
    fn zero_budget_refuses_the_first_compile() {
        let err = CompileBudget::new(0).acquire().unwrap_err();
        assert!(matches!(
            err,
            RuntimeError::BudgetExhausted { used: 0, limit: 0 }
        ));
    }
}
