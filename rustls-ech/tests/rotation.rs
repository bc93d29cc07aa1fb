//! Key rotation as a client sees it: a server whose key files change under an
//! `EchKeyReloader` keeps accepting the old config for the grace period, while rejected
//! clients are sent only the new one.

mod common;

use std::time::{Duration, Instant};

use common::*;
use rustls::client::EchStatus as ClientEchStatus;
use rustls_ech::config::{EchConfigBuilder, EchConfigList};
use rustls_ech::keyfile::KeyFile;
use rustls_ech::{EchKeyReloader, EchKeyStore, EchServer, EchStatus};

/// Writes a fresh key file and returns its ECHConfigList.
fn write_key(path: &std::path::Path, config_id: u8) -> EchConfigList {
    let (config, private_key) = EchConfigBuilder::new(PUBLIC_NAME)
        .config_id(config_id)
        .generate()
        .unwrap();
    let list = EchConfigList::new(vec![config]).unwrap();
    KeyFile::new(list.clone(), Some(private_key))
        .unwrap()
        .write_to_path(path, false)
        .unwrap();
    list
}

/// The handshake of rustls's ECH client holding `list`.
fn connect(ech: &EchServer, list: &EchConfigList) -> Outcome {
    let server = server_config(ech, ServerOptions::default());
    let client = client_config(ClientOptions {
        ech: ClientEch::Config(list.encoded()),
        ..Default::default()
    });
    handshake(client, server, ech.engine(), None)
}

#[test]
fn rotated_out_key_is_accepted_until_its_grace_period_ends() {
    let dir = tempfile::tempdir().unwrap();
    let old = write_key(&dir.path().join("old.pem"), 1);
    let ech = EchServer::new(EchKeyStore::from_dir(dir.path()).unwrap());
    let mut reloader = EchKeyReloader::new(Duration::from_secs(600));
    let start = Instant::now();

    let new = write_key(&dir.path().join("new.pem"), 2);
    std::fs::remove_file(dir.path().join("old.pem")).unwrap();
    reloader.reload_at(ech.keys(), start).unwrap();

    // A client still holding the old config gets through.
    let outcome = connect(&ech, &old);
    outcome.result.unwrap();
    assert_eq!(outcome.client.ech_status(), ClientEchStatus::Accepted);
    assert!(matches!(
        outcome.engine.status(),
        Some(EchStatus::Accepted { config_id: 1, .. })
    ));

    // A client with an unknown config is told about the new key only.
    let (_, unknown) = x25519_key(3);
    let outcome = connect(&ech, &unknown);
    assert_eq!(outcome.engine.status(), Some(&EchStatus::Rejected));
    assert_eq!(
        retry_configs(outcome.client_error.as_ref()),
        Some(new.encoded().to_vec())
    );

    // Once the grace period is over, the old config is rejected, with the new one to retry.
    reloader
        .reload_at(ech.keys(), start + Duration::from_secs(600))
        .unwrap();
    let outcome = connect(&ech, &old);
    assert_eq!(outcome.engine.status(), Some(&EchStatus::Rejected));
    assert_eq!(
        retry_configs(outcome.client_error.as_ref()),
        Some(new.encoded().to_vec())
    );
    let outcome = connect(&ech, &new);
    outcome.result.unwrap();
    assert_eq!(outcome.client.ech_status(), ClientEchStatus::Accepted);
}
