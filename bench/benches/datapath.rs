//! Bulk throughput after the handshake: a connection accepted through rustls-ech's tokio
//! adapter (ECH accepted) beside plain tokio-rustls, over loopback TCP, on one thread.
//!
//! ```sh
//! cargo bench -p ech-bench --bench datapath
//! ```

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ech_bench::datapath::{connect, transfer, Direction, Server};

const CHUNK: usize = 64 * 1024;
const PER_ITER: usize = 4 * 1024 * 1024;

fn datapath(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    for direction in [Direction::ServerToClient, Direction::ClientToServer] {
        let mut group = c.benchmark_group(format!("datapath/{}", direction.name()));
        group.throughput(Throughput::Bytes(PER_ITER as u64));
        for server in [Server::PlainTokioRustls, Server::EchAdapter] {
            let mut pair = runtime.block_on(connect(server)).expect("connection");
            group.bench_function(server.name(), |b| {
                b.iter_custom(|iters| {
                    runtime.block_on(async {
                        let start = Instant::now();
                        for _ in 0..iters {
                            transfer(&mut pair, direction, PER_ITER, CHUNK)
                                .await
                                .expect("transfer");
                        }
                        start.elapsed()
                    })
                })
            });
        }
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(10));
    targets = datapath
}
criterion_main!(benches);
