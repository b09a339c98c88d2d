//! Parse a file N times and report CPU-independent wall throughput, split into parse and
//! drop (for profiling on a loaded machine): `parse_loop FILE N`.
fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().unwrap_or_default();
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100);
    let src = std::fs::read_to_string(&path).unwrap_or_default();
    let (mut parse_s, mut drop_s) = (0.0, 0.0);
    let mut best = f64::MAX;
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
    let mb = (src.len() * n) as f64 / 1e6;
    println!(
        "parse {:.1} MB/s (best {:.1}), drop {:.1} MB/s",
        mb / parse_s,
        src.len() as f64 / 1e6 / best,
        mb / drop_s
    );
}
