//! `check_file` with mimalloc as the global allocator, for CPU-time comparisons under
//! `perf stat` (docs/performance.md). The library sets no allocator.
//! Usage: cargo run --release -p anekit-ir --example check_file_mimalloc -- FILE [N] [parse]

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: check_file_mimalloc FILE [N] [parse]");
        std::process::exit(2);
    };
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    let src = match std::fs::read_to_string(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let parse_only = args.next().as_deref() == Some("parse");
    let mut errors = 0;
    for _ in 0..n {
        if parse_only {
            errors = usize::from(anekit_mil::parse(&src).is_err());
        } else {
            errors = anekit_ir::check(&src).errors().count();
        }
    }
    println!("{path}: {} bytes x {n}, {errors} error(s)", src.len());
}
