//! Bulk throughput after the handshake: a connection accepted through rustls-ech's tokio
//! adapter (ECH accepted) beside one accepted by plain tokio-rustls, over loopback TCP, on one
//! thread.
//!
//! ```sh
//! taskset -c 0 target/release/datapath --rounds 15
//! ```
//!
//! The two connections take turns, round after round, moving the same number of bytes each
//! time. Each one's median round is reported, and the median of the rounds' ratios (each
//! round's two transfers ran back to back): a machine whose speed drifts during the run (a
//! shared one) then slows both alike. Prints one line per direction:
//! `DIRECTION plain=MiB/s ech=MiB/s ratio=R plain_rounds=.. ech_rounds=..`.

use std::time::Instant;

use clap::Parser;
use ech_bench::datapath::{connect, transfer, Direction, Pair, Server};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Measures bulk throughput through the ECH adapter and through plain tokio-rustls.
#[derive(Parser)]
struct Args {
    /// Rounds per connection and direction.
    #[arg(long, default_value_t = 15)]
    rounds: usize,
    /// MiB moved per round.
    #[arg(long, default_value_t = 256)]
    mib: usize,
}

const CHUNK: usize = 64 * 1024;

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> Result<(), BoxError> {
    let total = args.mib << 20;
    let mut plain = connect(Server::PlainTokioRustls).await?;
    let mut ech = connect(Server::EchAdapter).await?;
    for direction in [Direction::ServerToClient, Direction::ClientToServer] {
        // One round each to warm up, not counted.
        rate(&mut plain, direction, total).await?;
        rate(&mut ech, direction, total).await?;
        let (mut plain_rates, mut ech_rates) = (Vec::new(), Vec::new());
        for round in 0..args.rounds {
            // Alternate which goes first, so neither always follows the other.
            if round % 2 == 0 {
                plain_rates.push(rate(&mut plain, direction, total).await?);
                ech_rates.push(rate(&mut ech, direction, total).await?);
            } else {
                ech_rates.push(rate(&mut ech, direction, total).await?);
                plain_rates.push(rate(&mut plain, direction, total).await?);
            }
        }
        let (p, e) = (median(&plain_rates), median(&ech_rates));
        let ratios: Vec<f64> = ech_rates
            .iter()
            .zip(&plain_rates)
            .map(|(e, p)| e / p)
            .collect();
        println!(
            "{} plain={p:.0} ech={e:.0} ratio={:.3} plain_rounds={} ech_rounds={}",
            direction.name(),
            median(&ratios),
            list(&plain_rates),
            list(&ech_rates)
        );
    }
    Ok(())
}

/// Moves `total` bytes one way; returns MiB/s.
async fn rate(pair: &mut Pair, direction: Direction, total: usize) -> Result<f64, BoxError> {
    let start = Instant::now();
    transfer(pair, direction, total, CHUNK).await?;
    Ok(total as f64 / (1 << 20) as f64 / start.elapsed().as_secs_f64())
}

fn median(rates: &[f64]) -> f64 {
    let mut sorted = rates.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn list(rates: &[f64]) -> String {
    let parts: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
    parts.join(",")
}
