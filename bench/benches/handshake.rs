//! Server-side time of one full TLS 1.3 handshake (ECDSA P-256, X25519, AES-128-GCM) for each
//! handshake kind and server provider, and of the one HPKE open ECH adds.
//!
//! ```sh
//! cargo bench -p ech-bench --bench handshake
//! ```

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use ech_bench::{hpke_floor_open, Fixture, Kind, Provider};

fn handshakes(c: &mut Criterion) {
    for provider in Provider::ALL {
        let mut group = c.benchmark_group(format!("server-handshake/{}", provider.name()));
        for kind in Kind::ALL {
            let fixture = Fixture::new(kind, provider).expect("fixture");
            fixture
                .check()
                .expect("the handshake goes as its kind says");
            group.bench_function(kind.name(), |b| {
                b.iter_custom(|iters| {
                    let mut server_time = Duration::ZERO;
                    for _ in 0..iters {
                        black_box(fixture.handshake(&mut server_time).expect("handshake"));
                    }
                    server_time
                })
            });
        }
        group.finish();

        let floor = Fixture::new(Kind::Accepted, provider)
            .and_then(|f| f.hpke_floor())
            .expect("HPKE floor");
        c.bench_function(&format!("hpke-open/{}", provider.name()), |b| {
            b.iter(|| black_box(hpke_floor_open(&floor).expect("opens")))
        });
    }
}

fn full_handshakes(c: &mut Criterion) {
    // Client and server together on one thread: the figure to set beside Go's in-process
    // benchmark, which runs both peers too.
    let mut group = c.benchmark_group("full-handshake/aws-lc-rs");
    for kind in [Kind::Plain, Kind::Accepted] {
        let fixture = Fixture::new(kind, Provider::AwsLcRs).expect("fixture");
        group.bench_function(kind.name(), |b| {
            b.iter(|| {
                black_box(
                    fixture
                        .handshake(&mut Duration::default())
                        .expect("handshake"),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, handshakes, full_handshakes);
criterion_main!(benches);
