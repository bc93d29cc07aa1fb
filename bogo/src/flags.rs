//! The shim's command line: the runner's flags, parsed into one [`Options`] per handshake.
//!
//! Flags apply to every handshake of a test unless prefixed: `-on-initial-` applies to the
//! first connection only, `-on-resume-` to the later ones, `-on-retry-` to a client's 0-RTT
//! retry (never a server's), `-on-shim-` to this process and `-on-handshaker-` to a separate
//! handshaker process, which this shim does not have.

use base64::prelude::{Engine, BASE64_STANDARD};

/// Why the command line cannot run.
#[derive(Debug)]
pub enum FlagError {
    /// A flag the runner knows and this shim does not implement.
    Unimplemented(String),
    /// A flag nobody knows, or a malformed value.
    Invalid(String),
}

/// What a flag means to this shim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Implemented: [`Options::apply`] handles it.
    Handled,
    /// Meaningless for a blocking rustls server; accepted and ignored. Each entry of
    /// [`IGNORED`] says why.
    Ignored,
    /// Known to the runner, not implemented here: the test is reported as unimplemented.
    Unimplemented,
}

/// Flags this shim implements: (name, takes a value).
const HANDLED: &[(&str, bool)] = &[
    ("-port", true),
    ("-shim-id", true),
    ("-server", false),
    ("-ipv6", false),
    ("-resume-count", true),
    ("-cert-file", true),
    ("-key-file", true),
    ("-trust-cert", true),
    ("-min-version", true),
    ("-max-version", true),
    ("-no-tls13", false),
    ("-no-tls12", false),
    ("-no-tls11", false),
    ("-no-tls1", false),
    ("-curves", true),
    ("-select-alpn", true),
    ("-decline-alpn", false),
    ("-reject-alpn", false),
    ("-expect-advertised-alpn", true),
    ("-expect-alpn", true),
    ("-no-ticket", false),
    ("-enable-early-data", false),
    ("-expect-accept-early-data", false),
    ("-expect-reject-early-data", false),
    ("-expect-early-data-reason", true),
    ("-require-any-client-certificate", false),
    ("-verify-peer", false),
    ("-verify-prefs", true),
    ("-expect-peer-signature-algorithm", true),
    ("-expect-server-name", true),
    ("-expect-no-server-name", false),
    ("-expect-hrr", false),
    ("-expect-no-hrr", false),
    ("-expect-session-miss", false),
    ("-expect-curve-id", true),
    ("-expect-version", true),
    ("-expect-extended-master-secret", false),
    ("-shim-writes-first", false),
    ("-shim-shuts-down", false),
    ("-check-close-notify", false),
    ("-read-size", true),
    ("-max-send-fragment", true),
    ("-export-keying-material", true),
    ("-export-label", true),
    ("-export-context", true),
    ("-use-export-context", false),
    ("-export-traffic-secrets", false),
    ("-key-update", false),
    ("-server-preference", false),
    ("-ech-server-config", true),
    ("-ech-server-key", true),
    ("-ech-is-retry-config", true),
    ("-expect-ech-accept", false),
    ("-fail-early-callback-ech-rewind", false),
    // This shim's own: run plain rustls, without the ECH layer.
    ("-no-ech-layer", false),
];

/// Flags with no meaning for this shim: (name, takes a value). BoringSSL's shim uses them to
/// choose between equivalent calls of its own API.
const IGNORED: &[(&str, bool)] = &[
    // Non-blocking IO and retried calls: this shim does blocking IO, with the same TLS
    // behaviour on the wire.
    ("-async", false),
    // Handshake driven by the first read rather than an explicit call: the same in rustls.
    ("-implicit-handshake", false),
    // BoringSSL's early ClientHello callback, installed but with no effect on the handshake.
    ("-use-early-callback", false),
    // Record the handshake for BoringSSL's fuzzers.
    ("-write-settings", true),
    // rustls never renegotiates, so forbidding it after the handshake changes nothing.
    ("-forbid-renegotiation-after-handshake", false),
];

/// Flags BoringSSL's shim knows and this shim does not implement: (name, takes a value).
const UNIMPLEMENTED: &[(&str, bool)] = &[
    ("-accepted-peer-cert-types", true),
    ("-advertise-alpn", true),
    ("-advertise-empty-npn", false),
    ("-advertise-npn", true),
    ("-allow-false-start-without-alpn", false),
    ("-allow-hint-mismatch", false),
    ("-allow-unknown-alpn-protos", false),
    ("-alps-use-new-codepoint", true),
    ("-application-settings", true),
    ("-available-client-cert-types", true),
    ("-available-trust-anchors", true),
    ("-cbc-record-splitting", false),
    ("-cert-properties", true),
    ("-cipher", true),
    ("-cnsa-202407", false),
    ("-cnsa1-202603", false),
    ("-cnsa2-202603", false),
    ("-curves-flags", true),
    ("-decline-ocsp-callback", false),
    ("-defer-alps", false),
    ("-delegated-credential", true),
    ("-dtls", false),
    ("-early-write-after-message", true),
    ("-ech-config-list", true),
    ("-enable-channel-id", false),
    ("-enable-ech-grease", false),
    ("-enable-grease", false),
    ("-enable-ocsp-stapling", false),
    ("-enable-signed-cert-timestamps", false),
    ("-expect-certificate-types", true),
    ("-expect-channel-id", true),
    ("-expect-cipher", true),
    ("-expect-cipher-aes", true),
    ("-expect-cipher-no-aes", true),
    ("-expect-client-ca-list", true),
    ("-expect-ech-name-override", true),
    ("-expect-ech-retry-configs", true),
    ("-expect-msg-callback", true),
    ("-expect-next-proto", true),
    ("-expect-no-ech-name-override", false),
    ("-expect-no-ech-retry-configs", false),
    ("-expect-no-next-proto", false),
    ("-expect-no-offer-early-data", false),
    ("-expect-no-peer-cert", false),
    ("-expect-no-peer-match-trust-anchor", false),
    ("-expect-no-secure-renegotiation", false),
    ("-expect-no-session", false),
    ("-expect-no-session-id", false),
    ("-expect-not-resumable-across-names", false),
    ("-expect-ocsp-response", true),
    ("-expect-peer-application-settings", true),
    ("-expect-peer-available-trust-anchors", true),
    ("-expect-peer-cert-file", true),
    ("-expect-peer-certificate-type", true),
    ("-expect-peer-match-trust-anchor", false),
    ("-expect-peer-rpk-sha256", true),
    ("-expect-peer-verify-pref", true),
    ("-expect-quic-transport-params", true),
    ("-expect-resumable-across-names", false),
    ("-expect-secure-renegotiation", false),
    ("-expect-selected-credential", true),
    ("-expect-server-sent-requested-padding", false),
    ("-expect-session-id", false),
    ("-expect-sha256-client-cert", false),
    ("-expect-signed-cert-timestamps", true),
    ("-expect-ticket-age-skew", true),
    ("-expect-ticket-renewal", false),
    ("-expect-ticket-supports-early-data", false),
    ("-expect-total-renegotiations", true),
    ("-expect-verify-result", false),
    ("-fail-cert-callback", false),
    ("-fail-ddos-callback", false),
    ("-fail-early-callback", false),
    ("-fail-ocsp-callback", false),
    ("-fallback-scsv", false),
    ("-false-start", false),
    ("-fips-202205", false),
    ("-fuzzer-mode", false),
    ("-handshake-hints", false),
    ("-handshake-never-done", false),
    ("-handshake-twice", false),
    ("-handshaker-path", true),
    ("-handshaker-resume", false),
    ("-host-name", true),
    ("-initial-timeout-duration-ms", true),
    ("-install-cert-compression-algs", false),
    ("-install-ddos-callback", false),
    ("-install-one-cert-compression-alg", true),
    ("-jdk11-workaround", false),
    ("-key-shares", true),
    ("-key-update-before-read", false),
    ("-max-cert-list", true),
    ("-mtu", true),
    ("-must-match-issuer", false),
    ("-new-delegated-credential", false),
    ("-new-psk-credential", false),
    ("-new-rpk-credential", false),
    ("-new-spake2plusv1-credential", false),
    ("-new-x509-credential", false),
    ("-no-key-shares", false),
    ("-no-legacy-server-connect", false),
    ("-no-op-extra-handshake", false),
    ("-no-server-name-ack", false),
    ("-ocsp-response", true),
    ("-pake-client-id", true),
    ("-pake-context", true),
    ("-pake-password", true),
    ("-pake-server-id", true),
    ("-partial-write", false),
    ("-peek-then-read", false),
    ("-permute-extensions", false),
    ("-private-key-delay-ms", true),
    ("-psk", true),
    ("-psk-identity", true),
    ("-psk-importer-context", true),
    ("-psk-importer-identity", true),
    ("-psk-importer-key", true),
    ("-psk-importer-sha256", false),
    ("-psk-importer-sha384", false),
    ("-quic", false),
    ("-quic-early-data-context", true),
    ("-quic-transport-params", true),
    ("-quic-use-legacy-codepoint", true),
    ("-read-with-unfinished-write", false),
    ("-reject-unusable-ech-config", false),
    ("-renegotiate-explicit", false),
    ("-renegotiate-freely", false),
    ("-renegotiate-ignore", false),
    ("-renegotiate-once", false),
    ("-renew-ticket", false),
    ("-repeat-shim-initial-write", true),
    ("-request-server-padding", true),
    ("-requested-trust-anchors", true),
    ("-resumption-across-names-enabled", false),
    ("-resumption-delay", true),
    ("-retain-only-sha256-client-cert", false),
    ("-reverify-on-resume", false),
    ("-select-empty-alpn", false),
    ("-select-empty-next-proto", false),
    ("-select-next-proto", true),
    ("-send-alert", false),
    ("-send-channel-id", true),
    ("-server-supported-groups-hint", true),
    ("-server-supports-padding", false),
    ("-set-ocsp-in-callback", false),
    ("-shim-initial-write", true),
    ("-signed-cert-timestamps", true),
    ("-signing-prefs", true),
    ("-skip-ticket", false),
    ("-srtp-profiles", true),
    ("-ticket-key", true),
    ("-tls-unique", false),
    ("-use-client-ca-list", true),
    ("-use-custom-verify-callback", false),
    ("-use-exporter-between-reads", false),
    ("-use-ocsp-callback", false),
    ("-use-old-client-cert-callback", false),
    ("-use-ticket-aead-callback", false),
    ("-use-ticket-callback", false),
    ("-verify-fail", false),
    ("-wait-for-debugger", false),
    ("-wpa-202304", false),
    ("-write-different-record-sizes", false),
    ("-wrong-pake-role", false),
];

fn lookup(name: &str) -> Option<(Kind, bool)> {
    let tables = [
        (Kind::Handled, HANDLED),
        (Kind::Ignored, IGNORED),
        (Kind::Unimplemented, UNIMPLEMENTED),
    ];
    tables.iter().find_map(|(kind, table)| {
        table
            .iter()
            .find(|(flag, _)| *flag == name)
            .map(|(_, value)| (*kind, *value))
    })
}

/// One ECH key as the runner gives it: a raw ECHConfig, its raw private key, and whether the
/// config belongs in `retry_configs`.
#[derive(Clone, Debug, Default)]
pub struct EchKeyFlags {
    pub config: Vec<u8>,
    pub key: Option<Vec<u8>>,
    pub retry: Option<bool>,
}

/// Which early data outcome the test expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EarlyData {
    Accepted,
    Rejected,
}

/// Which HelloRetryRequest outcome the test expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hrr {
    Sent,
    NotSent,
}

/// Everything one handshake needs, from the flags that apply to it.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub port: u16,
    pub shim_id: u64,
    pub server: bool,
    pub ipv6: bool,
    pub resume_count: usize,
    pub cert_file: Option<String>,
    pub key_file: Option<String>,
    pub min_version: Option<u16>,
    pub max_version: Option<u16>,
    pub no_tls13: bool,
    pub no_tls12: bool,
    pub curves: Vec<u16>,
    pub select_alpn: Option<Vec<u8>>,
    pub decline_alpn: bool,
    pub reject_alpn: bool,
    pub expect_advertised_alpn: Option<Vec<Vec<u8>>>,
    pub expect_alpn: Option<Vec<u8>>,
    pub no_ticket: bool,
    pub enable_early_data: bool,
    pub expect_early_data: Option<EarlyData>,
    pub require_client_cert: bool,
    pub verify_peer: bool,
    pub verify_prefs: Vec<u16>,
    pub expect_peer_signature_algorithm: Option<u16>,
    pub expect_server_name: Option<String>,
    pub expect_no_server_name: bool,
    pub expect_hrr: Option<Hrr>,
    pub expect_session_miss: bool,
    pub expect_curve_id: Option<u16>,
    pub expect_version: Option<u16>,
    pub require_ems: bool,
    pub shim_writes_first: bool,
    pub shim_shuts_down: bool,
    pub check_close_notify: bool,
    pub read_size: Option<usize>,
    pub max_send_fragment: Option<usize>,
    pub export_keying_material: usize,
    pub export_label: String,
    pub export_context: String,
    pub use_export_context: bool,
    pub export_traffic_secrets: bool,
    pub key_update: bool,
    pub server_preference: bool,
    pub ech_keys: Vec<EchKeyFlags>,
    pub expect_ech_accept: bool,
    /// Decline ECH once ClientHelloInner is decrypted, as BoringSSL's early callback does when
    /// it asks to rewind to ClientHelloOuter.
    pub decline_ech: bool,
    pub no_ech_layer: bool,
}

/// The handshake a set of options is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    Initial,
    Resume,
}

impl Options {
    /// Parses `args` (without the program name) for the handshake `round`.
    pub fn parse(args: &[String], round: Round) -> Result<Self, FlagError> {
        let mut opts = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let (name, applies) = strip_prefixes(arg, round);
            let Some((kind, takes_value)) = lookup(name) else {
                return Err(FlagError::Invalid(format!("unknown flag {arg}")));
            };
            let value = if takes_value {
                match args.next() {
                    Some(value) => Some(value.as_str()),
                    None => return Err(FlagError::Invalid(format!("{arg} needs a value"))),
                }
            } else {
                None
            };
            if !applies {
                continue;
            }
            match kind {
                Kind::Handled => opts.apply(name, value.unwrap_or_default())?,
                Kind::Ignored => {}
                Kind::Unimplemented => return Err(FlagError::Unimplemented(arg.clone())),
            }
        }
        opts.check()?;
        Ok(opts)
    }

    fn apply(&mut self, name: &str, value: &str) -> Result<(), FlagError> {
        match name {
            "-port" => self.port = number(name, value)?,
            "-shim-id" => self.shim_id = number(name, value)?,
            "-server" => self.server = true,
            "-ipv6" => self.ipv6 = true,
            "-resume-count" => self.resume_count = number(name, value)?,
            "-cert-file" => self.cert_file = Some(value.to_owned()),
            "-key-file" => self.key_file = Some(value.to_owned()),
            // Client certificates are accepted whatever their issuer (see the verifier).
            "-trust-cert" => {}
            "-min-version" => self.min_version = Some(number(name, value)?),
            "-max-version" => self.max_version = Some(number(name, value)?),
            "-no-tls13" => self.no_tls13 = true,
            "-no-tls12" => self.no_tls12 = true,
            // rustls has neither TLS 1.0 nor 1.1.
            "-no-tls11" | "-no-tls1" => {}
            "-curves" => self.curves.push(number(name, value)?),
            "-select-alpn" => self.select_alpn = Some(value.as_bytes().to_vec()),
            "-decline-alpn" => self.decline_alpn = true,
            "-reject-alpn" => self.reject_alpn = true,
            "-expect-advertised-alpn" => {
                self.expect_advertised_alpn = Some(alpn_list(value.as_bytes())?)
            }
            "-expect-alpn" => self.expect_alpn = Some(value.as_bytes().to_vec()),
            "-no-ticket" => self.no_ticket = true,
            "-enable-early-data" => self.enable_early_data = true,
            "-expect-accept-early-data" => self.expect_early_data = Some(EarlyData::Accepted),
            "-expect-reject-early-data" => self.expect_early_data = Some(EarlyData::Rejected),
            // rustls reports whether early data was accepted, not why it was refused.
            "-expect-early-data-reason" => {
                self.expect_early_data = Some(match value {
                    "accept" => EarlyData::Accepted,
                    _ => EarlyData::Rejected,
                })
            }
            "-require-any-client-certificate" => self.require_client_cert = true,
            "-verify-peer" => self.verify_peer = true,
            "-verify-prefs" => self.verify_prefs.push(number(name, value)?),
            "-expect-peer-signature-algorithm" => {
                self.expect_peer_signature_algorithm = Some(number(name, value)?)
            }
            "-expect-server-name" => self.expect_server_name = Some(value.to_owned()),
            "-expect-no-server-name" => self.expect_no_server_name = true,
            "-expect-hrr" => self.expect_hrr = Some(Hrr::Sent),
            "-expect-no-hrr" => self.expect_hrr = Some(Hrr::NotSent),
            "-expect-session-miss" => self.expect_session_miss = true,
            "-expect-curve-id" => self.expect_curve_id = Some(number(name, value)?),
            "-expect-version" => self.expect_version = Some(number(name, value)?),
            "-expect-extended-master-secret" => self.require_ems = true,
            "-shim-writes-first" => self.shim_writes_first = true,
            "-shim-shuts-down" => self.shim_shuts_down = true,
            "-check-close-notify" => self.check_close_notify = true,
            "-read-size" => self.read_size = Some(number(name, value)?),
            "-max-send-fragment" => self.max_send_fragment = Some(number(name, value)?),
            "-export-keying-material" => self.export_keying_material = number(name, value)?,
            "-export-label" => self.export_label = value.to_owned(),
            "-export-context" => self.export_context = value.to_owned(),
            "-use-export-context" => self.use_export_context = true,
            "-export-traffic-secrets" => self.export_traffic_secrets = true,
            "-key-update" => self.key_update = true,
            "-server-preference" => self.server_preference = true,
            "-ech-server-config" => self.ech_keys.push(EchKeyFlags {
                config: base64(name, value)?,
                ..EchKeyFlags::default()
            }),
            "-ech-server-key" => self.last_ech_key(name)?.key = Some(base64(name, value)?),
            "-ech-is-retry-config" => {
                self.last_ech_key(name)?.retry = Some(match value {
                    "0" => false,
                    "1" => true,
                    _ => return Err(invalid(name, value)),
                })
            }
            "-expect-ech-accept" => self.expect_ech_accept = true,
            "-fail-early-callback-ech-rewind" => self.decline_ech = true,
            "-no-ech-layer" => self.no_ech_layer = true,
            _ => return Err(FlagError::Invalid(format!("unhandled flag {name}"))),
        }
        Ok(())
    }

    fn last_ech_key(&mut self, name: &str) -> Result<&mut EchKeyFlags, FlagError> {
        self.ech_keys
            .last_mut()
            .ok_or_else(|| FlagError::Invalid(format!("{name} before -ech-server-config")))
    }

    fn check(&self) -> Result<(), FlagError> {
        if self
            .ech_keys
            .iter()
            .any(|key| key.key.is_none() || key.retry.is_none())
        {
            return Err(FlagError::Invalid(
                "each -ech-server-config needs -ech-server-key and -ech-is-retry-config".into(),
            ));
        }
        Ok(())
    }

    /// Whether the test configures or expects ECH, which needs the ECH layer.
    pub fn uses_ech(&self) -> bool {
        !self.ech_keys.is_empty() || self.expect_ech_accept
    }
}

/// Strips the per-process and per-round prefixes; says whether the flag applies.
fn strip_prefixes(arg: &str, round: Round) -> (&str, bool) {
    let mut applies = true;
    let mut name = arg;
    if let Some(rest) = strip(name, "-on-shim") {
        name = rest;
    } else if let Some(rest) = strip(name, "-on-handshaker") {
        name = rest;
        applies = false;
    }
    if let Some(rest) = strip(name, "-on-initial") {
        name = rest;
        applies &= round == Round::Initial;
    } else if let Some(rest) = strip(name, "-on-resume") {
        name = rest;
        applies &= round == Round::Resume;
    } else if let Some(rest) = strip(name, "-on-retry") {
        name = rest;
        applies = false;
    }
    (name, applies)
}

/// `arg` without `prefix`, when `prefix` is followed by the next flag's leading `-`.
fn strip<'a>(arg: &'a str, prefix: &str) -> Option<&'a str> {
    arg.strip_prefix(prefix)
        .filter(|rest| rest.starts_with('-'))
}

fn number<T: core::str::FromStr>(name: &str, value: &str) -> Result<T, FlagError> {
    value.parse().map_err(|_| invalid(name, value))
}

fn base64(name: &str, value: &str) -> Result<Vec<u8>, FlagError> {
    BASE64_STANDARD
        .decode(value)
        .map_err(|_| invalid(name, value))
}

/// A list of protocols in ALPN wire form: each prefixed by its one-byte length.
fn alpn_list(mut bytes: &[u8]) -> Result<Vec<Vec<u8>>, FlagError> {
    let mut list = Vec::new();
    while let Some((&len, rest)) = bytes.split_first() {
        let len = usize::from(len);
        if rest.len() < len {
            return Err(FlagError::Invalid("malformed ALPN list".into()));
        }
        list.push(rest[..len].to_vec());
        bytes = &rest[len..];
    }
    Ok(list)
}

fn invalid(name: &str, value: &str) -> FlagError {
    FlagError::Invalid(format!("invalid value for {name}: {value:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn prefixed_flags_apply_to_their_round_only() {
        let list = args(&["-on-resume-expect-session-miss", "-on-initial-curves", "29"]);
        let initial = Options::parse(&list, Round::Initial).unwrap();
        let resume = Options::parse(&list, Round::Resume).unwrap();
        assert!(!initial.expect_session_miss && resume.expect_session_miss);
        assert_eq!((initial.curves, resume.curves), (vec![29], vec![]));
    }

    #[test]
    fn handshaker_flags_are_skipped_with_their_values() {
        let list = args(&["-on-handshaker-curves", "29", "-on-shim-curves", "23"]);
        let opts = Options::parse(&list, Round::Initial).unwrap();
        assert_eq!(opts.curves, vec![23]);
    }

    #[test]
    fn unimplemented_and_unknown_flags_differ() {
        let unimplemented = Options::parse(&args(&["-dtls"]), Round::Initial);
        assert!(matches!(unimplemented, Err(FlagError::Unimplemented(_))));
        let unknown = Options::parse(&args(&["-no-such-flag"]), Round::Initial);
        assert!(matches!(unknown, Err(FlagError::Invalid(_))));
    }

    #[test]
    fn ech_keys_are_triples() {
        let list = args(&[
            "-ech-server-config",
            "AQI=",
            "-ech-server-key",
            "AwQ=",
            "-ech-is-retry-config",
            "1",
        ]);
        let opts = Options::parse(&list, Round::Initial).unwrap();
        assert_eq!(opts.ech_keys.len(), 1);
        assert_eq!(opts.ech_keys[0].config, vec![1, 2]);
        assert_eq!(opts.ech_keys[0].retry, Some(true));
        let missing = Options::parse(&list[..2], Round::Initial);
        assert!(matches!(missing, Err(FlagError::Invalid(_))));
    }

    #[test]
    fn alpn_lists_are_length_prefixed() {
        assert_eq!(
            alpn_list(b"\x03foo\x01b").unwrap(),
            vec![b"foo".to_vec(), b"b".to_vec()]
        );
        assert!(alpn_list(b"\x04foo").is_err());
    }
}
