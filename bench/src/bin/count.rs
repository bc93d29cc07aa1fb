//! Runs handshakes (or HPKE opens) for `valgrind --tool=callgrind` to count.
//!
//! ```sh
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*server_side_*' \
//!     target/release/count handshake ech-accepted aws-lc-rs 100
//! valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*hpke_floor_open*' \
//!     target/release/count hpke-open - aws-lc-rs 100
//! ```
//!
//! Only the server's side of each handshake (the `server_side_*` functions) or the HPKE open is
//! then counted; the client, and the fixture's setup, are not.

use std::time::Duration;

use clap::{Parser, ValueEnum};
use ech_bench::{hpke_floor_open, Fixture, Kind, Provider};

/// Repeats one server-side operation for an instruction counter.
#[derive(Parser)]
struct Args {
    /// What to repeat.
    what: What,
    /// The handshake kind (`plain`, `plain-hrr`, `ech-not-offered`, `ech-accepted`,
    /// `ech-accepted-hrr`, `ech-rejected`); for `hpke-open`, ignored.
    kind: String,
    /// The server's provider: `aws-lc-rs` or `ring`.
    provider: String,
    /// How many times.
    count: u32,
}

#[derive(Clone, Copy, ValueEnum)]
enum What {
    /// Full handshakes of the given kind.
    Handshake,
    /// The HPKE open of an accepted ClientHelloOuter.
    HpkeOpen,
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args = Args::parse();
    let provider = Provider::from_name(&args.provider).ok_or("unknown provider")?;
    match args.what {
        What::Handshake => {
            let kind = Kind::from_name(&args.kind).ok_or("unknown handshake kind")?;
            let fixture = Fixture::new(kind, provider)?;
            fixture.check()?;
            let mut time = Duration::ZERO;
            for _ in 0..args.count {
                fixture.handshake(&mut time)?;
            }
        }
        What::HpkeOpen => {
            let floor = Fixture::new(Kind::Accepted, provider)?.hpke_floor()?;
            for _ in 0..args.count {
                std::hint::black_box(hpke_floor_open(&floor)?);
            }
        }
    }
    Ok(())
}
