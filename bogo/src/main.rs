//! A shim for BoringSSL's TLS test runner (BoGo): a rustls server, behind the rustls-ech layer
//! unless `-no-ech-layer` is given.
//!
//! The runner starts the shim with `-port`, `-shim-id` and the test's flags. For each
//! handshake of the test (one, plus `-resume-count` resumptions) the shim connects to the
//! runner, sends the shim id, handshakes, checks what the flags ask, then echoes the runner's
//! data back with every byte inverted until the runner closes.
//!
//! Exit status: 0 on success; 1 on failure, with a BoringSSL error code on stderr; 89 when the
//! test needs something this shim does not implement.

use std::process::ExitCode;

mod codes;
mod exchange;
mod flags;
mod server;

use flags::{FlagError, Options, Round};

/// The runner reads this status as "unimplemented".
const UNIMPLEMENTED: u8 = 89;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // Asked with the runner's extra flags too, such as -no-ech-layer.
    if args.iter().any(|arg| arg == "-is-handshaker-supported") {
        println!("No");
        return ExitCode::SUCCESS;
    }

    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Exit::Flags(FlagError::Unimplemented(what))) => {
            eprintln!("unimplemented: {what}");
            ExitCode::from(UNIMPLEMENTED)
        }
        Err(Exit::Flags(FlagError::Invalid(what))) => {
            eprintln!("invalid command line: {what}");
            ExitCode::FAILURE
        }
        Err(Exit::Failed(failure)) => {
            eprintln!("{}\n{}", failure.code, failure.detail);
            ExitCode::FAILURE
        }
    }
}

enum Exit {
    Flags(FlagError),
    Failed(exchange::Failure),
}

fn run(args: &[String]) -> Result<(), Exit> {
    // Both rounds are parsed before the first connection, so a flag this shim cannot honour
    // ends the test before it starts.
    let initial = Options::parse(args, Round::Initial).map_err(Exit::Flags)?;
    let resume = Options::parse(args, Round::Resume).map_err(Exit::Flags)?;
    if !initial.server {
        return Err(Exit::Flags(FlagError::Unimplemented(
            "client tests: this shim is a server".into(),
        )));
    }

    let stateful = initial.enable_early_data || resume.enable_early_data;
    let shared = server::Shared::new(stateful)
        .map_err(|e| Exit::Flags(FlagError::Invalid(format!("ticketer: {e}"))))?;
    let first = server::build(&initial, &shared).map_err(Exit::Flags)?;
    let later = if initial.resume_count > 0 {
        Some(server::build(&resume, &shared).map_err(Exit::Flags)?)
    } else {
        None
    };

    exchange::run(&initial, Round::Initial, &first, &shared).map_err(Exit::Failed)?;
    if let Some(later) = &later {
        for _ in 0..initial.resume_count {
            exchange::run(&resume, Round::Resume, later, &shared).map_err(Exit::Failed)?;
        }
    }
    Ok(())
}
