//! Profiling helper: parse a file N times and report throughput split into parse and drop,
//! plus heap allocations per parse: `cargo run --release --example parse_loop FILE N`.
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

struct Counting;
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator; only counts calls.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_default();
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let src = std::fs::read_to_string(&path).unwrap_or_default();
    let (mut parse_s, mut drop_s) = (0.0, 0.0);
    let mut best = f64::MAX;
    let before = ALLOCS.load(Ordering::Relaxed);
    for _ in 0..n {
        let t = std::time::Instant::now();
        let program = anekit_mil::parse(&src);
        let p = t.elapsed().as_secs_f64();
        parse_s += p;
        best = best.min(p);
        let t = std::time::Instant::now();
        drop(program);
        drop_s += t.elapsed().as_secs_f64();
    }
    let allocs = (ALLOCS.load(Ordering::Relaxed) - before) / n.max(1);
    let mb = (src.len() * n) as f64 / 1e6;
    println!(
        "parse {:.1} MB/s (best {:.1}), drop {:.1} MB/s, {allocs} allocations per parse",
        mb / parse_s,
        src.len() as f64 / 1e6 / best,
        mb / drop_s
    );
}
