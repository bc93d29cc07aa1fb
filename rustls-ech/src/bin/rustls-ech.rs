//! `rustls-ech`: generate and inspect ECH key files (RFC 9849).

use std::fmt::Write as _;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use rustls_ech::config::{EchConfig, EchConfigBuilder, EchConfigList};
use rustls_ech::keyfile::{KeyFile, KeyFileError};
use rustls_ech::suite::Kem;

/// Generate and inspect Encrypted Client Hello key files (RFC 9849).
#[derive(Parser)]
#[command(name = "rustls-ech", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate a key and its ECHConfig, write them as a PEM key file, and print the
    /// base64 ECHConfigList.
    Keygen {
        /// The public_name clients put in ClientHelloOuter (a DNS name, no trailing dot).
        #[arg(long)]
        public_name: String,
        /// The config_id (0-255); random when absent.
        #[arg(long)]
        config_id: Option<u8>,
        /// The HPKE KEM.
        #[arg(long, value_enum, default_value_t = KemArg::X25519)]
        kem: KemArg,
        /// The maximum_name_length advertised to clients.
        #[arg(long, default_value_t = 0)]
        max_name_length: u8,
        /// The key file to write (created with mode 0600).
        #[arg(long)]
        out: PathBuf,
        /// Overwrite the key file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Print the configs of key files, their ECHConfigList, and a DNS HTTPS record for it.
    Show {
        /// PEM key files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The name the DNS record is for: a site ECH protects, which clients look up (not the
        /// config's public name).
        #[arg(long, default_value = "NAME")]
        dns_name: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum KemArg {
    X25519,
    P256,
    P384,
    P521,
}

impl From<KemArg> for Kem {
    fn from(kem: KemArg) -> Self {
        match kem {
            KemArg::X25519 => Kem::DhKemX25519HkdfSha256,
            KemArg::P256 => Kem::DhKemP256HkdfSha256,
            KemArg::P384 => Kem::DhKemP384HkdfSha384,
            KemArg::P521 => Kem::DhKemP521HkdfSha512,
        }
    }
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Keygen {
            public_name,
            config_id,
            kem,
            max_name_length,
            out,
            force,
        } => keygen(
            &public_name,
            config_id,
            kem.into(),
            max_name_length,
            &out,
            force,
        ),
        Command::Show { files, dns_name } => show(&files, &dns_name),
    };
    match result {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("rustls-ech: {message}");
            ExitCode::FAILURE
        }
    }
}

fn keygen(
    public_name: &str,
    config_id: Option<u8>,
    kem: Kem,
    max_name_length: u8,
    out: &Path,
    force: bool,
) -> Result<String, String> {
    let mut builder = EchConfigBuilder::new(public_name)
        .kem(kem)
        .maximum_name_length(max_name_length);
    if let Some(id) = config_id {
        builder = builder.config_id(id);
    }
    let (config, private_key) = builder.generate().map_err(|err| format!("keygen: {err}"))?;

    let list = EchConfigList::new(vec![config]).map_err(|err| format!("keygen: {err}"))?;
    let file = KeyFile::new(list, Some(private_key)).map_err(|err| format!("keygen: {err}"))?;
    file.write_to_path(out, force).map_err(|err| match err {
        KeyFileError::Io(io) if io.kind() == ErrorKind::AlreadyExists => {
            format!("{}: file exists (use --force to overwrite)", out.display())
        }
        other => format!("{}: {other}", out.display()),
    })?;
    Ok(format!("{}\n", file.configs().to_base64()))
}

fn show(paths: &[PathBuf], dns_name: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut all = Vec::new();
    for path in paths {
        let file = KeyFile::read(path).map_err(|err| format!("{}: {err}", path.display()))?;
        let _ = writeln!(out, "{}:", path.display());
        for config in file.configs().configs() {
            let has_key = file.key_config() == Some(config);
            describe(&mut out, config, has_key);
            all.push(config.clone());
        }
        for version in file.configs().skipped_versions() {
            let _ = writeln!(out, "  skipped ECHConfig of version 0x{version:04x}");
        }
    }

    let list = EchConfigList::new(all).map_err(|err| format!("ECHConfigList: {err}"))?;
    let ech = list.to_base64();
    let _ = writeln!(out, "ech={ech}");
    let _ = writeln!(
        out,
        "; publish under each name ECH protects, not under the public name"
    );
    let dns_name = dns_name.trim_end_matches('.');
    let _ = writeln!(out, "{dns_name}. 300 IN HTTPS 1 . ech=\"{ech}\"");
    Ok(out)
}

fn describe(out: &mut String, config: &EchConfig, has_key: bool) {
    let suites: Vec<String> = config
        .cipher_suites()
        .iter()
        .map(ToString::to_string)
        .collect();
    let _ = writeln!(out, "  version: 0x{:04x}", config.version());
    let _ = writeln!(out, "  config_id: {}", config.config_id());
    let _ = writeln!(
        out,
        "  kem: {} (0x{:04x})",
        config.kem(),
        u16::from(config.kem())
    );
    let _ = writeln!(out, "  cipher_suites: {}", suites.join(", "));
    let _ = writeln!(out, "  public_name: {}", config.public_name());
    let _ = writeln!(
        out,
        "  maximum_name_length: {}",
        config.maximum_name_length()
    );
    let mandatory: Vec<String> = config
        .unsupported_mandatory_extensions()
        .map(|ty| format!("0x{ty:04x}"))
        .collect();
    if !mandatory.is_empty() {
        let _ = writeln!(
            out,
            "  unsupported mandatory extensions: {}",
            mandatory.join(", ")
        );
    }
    let _ = writeln!(out, "  private_key: {}", if has_key { "yes" } else { "no" });
}
