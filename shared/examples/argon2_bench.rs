//! Micro-benchmark of the password hash (Argon2id, 19 MiB, t=2, p=1, OWASP minimum): prints
//! the time of one hash and one verification, median and p95 of N runs. Run it optimised:
//! `cargo run --release -p shared --example argon2_bench [N]`. Prints figures, asserts nothing.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::indexing_slicing)]

use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(30);
    let phc = shared::crypto::hash_password("Correct-Horse-9").unwrap();
    let mut hash_ms = Vec::with_capacity(n);
    let mut verify_ms = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let _ = shared::crypto::hash_password("Correct-Horse-9").unwrap();
        hash_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        assert!(shared::crypto::verify_password("Correct-Horse-9", &phc));
        verify_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    for (what, v) in [("hash", &mut hash_ms), ("verify", &mut verify_ms)] {
        v.sort_by(f64::total_cmp);
        let p = |q: f64| v[((v.len() as f64 - 1.0) * q).round() as usize];
        println!(
            "argon2id m=19456 t=2 p=1 {what}: median {:.1} ms, p95 {:.1} ms, min {:.1} ms ({n} runs)",
            p(0.5),
            p(0.95),
            v[0]
        );
    }
}
