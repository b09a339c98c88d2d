//! Check one MIL file N times and print the last result's summary; for timing under `perf stat`
//! (CPU time) when the machine is too loaded for wall-clock benchmarks.
//! Usage: cargo run --release -p anekit-ir --example check_file -- FILE [N] [parse]

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(path) = args.next() else {
        eprintln!("usage: check_file FILE [N]");
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
    // A third argument `parse` times the parser alone, for comparison.
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
