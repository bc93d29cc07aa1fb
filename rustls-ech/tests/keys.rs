use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls_ech::config::{EchConfig, EchConfigBuilder, EchConfigList};
use rustls_ech::keyfile::KeyFile;
use rustls_ech::keys::{EchKey, EchKeyReloader, EchKeyStore, EchKeys, KeysError};
use rustls_ech::suite::Kem;

fn key(config_id: u8, retry: bool) -> EchKey {
    let (config, private_key) = EchConfigBuilder::new("public.example")
        .config_id(config_id)
        .generate()
        .unwrap();
    EchKey::new(config, private_key, retry)
}

fn write_key_file(path: &Path, config_id: u8, kem: Kem) -> EchConfig {
    let (config, private_key) = EchConfigBuilder::new("public.example")
        .config_id(config_id)
        .kem(kem)
        .generate()
        .unwrap();
    let list = EchConfigList::new(vec![config.clone()]).unwrap();
    KeyFile::new(list, Some(private_key))
        .unwrap()
        .write_to_path(path, true)
        .unwrap();
    config
}

fn ids(keys: &EchKeys) -> Vec<u8> {
    keys.keys().iter().map(|k| k.config().config_id()).collect()
}

#[test]
fn lookup_returns_every_key_with_a_repeated_id() {
    let keys = EchKeys::new(vec![
        key(1, true),
        key(2, true),
        key(1, false),
        key(1, true),
    ])
    .unwrap();
    let found: Vec<&EchKey> = keys.by_config_id(1).collect();
    assert_eq!(found.len(), 3);
    assert_eq!(found[0].config(), keys.keys()[0].config());
    assert_eq!(found[1].config(), keys.keys()[2].config());
    assert_eq!(found[2].config(), keys.keys()[3].config());
    assert_eq!(keys.by_config_id(2).count(), 1);
    assert_eq!(keys.by_config_id(3).count(), 0);
}

#[test]
fn retry_configs_hold_only_retry_keys_in_order() {
    let keys = EchKeys::new(vec![key(1, true), key(2, false), key(3, true)]).unwrap();
    let list = EchConfigList::parse(keys.retry_configs()).unwrap();
    let retry_ids: Vec<u8> = list.configs().iter().map(EchConfig::config_id).collect();
    assert_eq!(retry_ids, [1, 3]);
    assert_eq!(list.configs()[0], *keys.keys()[0].config());
    assert_eq!(&*keys.retry_configs_shared(), keys.retry_configs());

    let none = EchKeys::new(vec![key(1, false)]).unwrap();
    assert!(none.retry_configs().is_empty());
    assert!(EchKeys::empty().retry_configs().is_empty());
}

#[test]
fn rotation_leaves_held_snapshots_unchanged() {
    let store = EchKeyStore::new(EchKeys::new(vec![key(1, true)]).unwrap());
    let old = store.snapshot();
    let old_retry = old.retry_configs().to_vec();

    let replaced = store.replace(EchKeys::new(vec![key(2, true), key(3, true)]).unwrap());
    assert!(Arc::ptr_eq(&replaced, &old));
    assert_eq!(ids(&old), [1]);
    assert_eq!(old.retry_configs(), &old_retry[..]);

    let new = store.snapshot();
    assert_eq!(ids(&new), [2, 3]);
    assert_ne!(new.retry_configs(), &old_retry[..]);
    assert!(matches!(store.reload(), Err(KeysError::NoSource)));
}

#[test]
fn directory_load_and_reload() {
    let dir = tempfile::tempdir().unwrap();
    write_key_file(&dir.path().join("b.pem"), 2, Kem::DhKemP256HkdfSha256);
    write_key_file(&dir.path().join("a.pem"), 1, Kem::DhKemX25519HkdfSha256);
    std::fs::write(dir.path().join("README.txt"), "not a key").unwrap();
    std::fs::create_dir(dir.path().join("sub.pem")).unwrap();

    let store = EchKeyStore::from_dir(dir.path()).unwrap();
    let first = store.snapshot();
    assert_eq!(ids(&first), [1, 2]);

    // Add a file.
    write_key_file(&dir.path().join("c.pem"), 3, Kem::DhKemP384HkdfSha384);
    let second = store.reload().unwrap();
    assert_eq!(ids(&second), [1, 2, 3]);
    assert_eq!(ids(&first), [1, 2]);

    // Remove one.
    std::fs::remove_file(dir.path().join("a.pem")).unwrap();
    store.reload().unwrap();
    assert_eq!(ids(&store.snapshot()), [2, 3]);

    // A broken file fails the reload and leaves the current set in place.
    std::fs::write(dir.path().join("d.pem"), "garbage").unwrap();
    match store.reload() {
        Err(KeysError::File { path, .. }) => assert!(path.ends_with("d.pem")),
        other => panic!("expected a file error, got {other:?}"),
    }
    assert_eq!(ids(&store.snapshot()), [2, 3]);
}

#[test]
fn pem_files_load_in_the_given_order() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.pem");
    let b = dir.path().join("b.pem");
    write_key_file(&a, 7, Kem::DhKemP521HkdfSha512);
    write_key_file(&b, 8, Kem::DhKemX25519HkdfSha256);
    let keys = EchKeys::from_pem_files([&b, &a]).unwrap();
    assert_eq!(ids(&keys), [8, 7]);
    assert!(keys.keys().iter().all(EchKey::retry));

    let store = EchKeyStore::from_pem_files([&a]).unwrap();
    write_key_file(&a, 9, Kem::DhKemX25519HkdfSha256);
    store.reload().unwrap();
    assert_eq!(ids(&store.snapshot()), [9]);
}

#[test]
fn file_without_private_key_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("public.pem");
    let (config, _) = EchConfigBuilder::new("public.example").generate().unwrap();
    let list = EchConfigList::new(vec![config]).unwrap();
    KeyFile::new(list, None)
        .unwrap()
        .write_to_path(&path, false)
        .unwrap();
    assert!(matches!(
        EchKeys::from_pem_files([&path]),
        Err(KeysError::NoPrivateKey(p)) if p == path
    ));
    assert!(matches!(
        EchKeys::from_pem_files([dir.path().join("missing.pem")]),
        Err(KeysError::File { .. })
    ));
    assert!(matches!(
        EchKeys::from_dir(dir.path().join("missing")),
        Err(KeysError::Directory { .. })
    ));
}

#[test]
fn debug_never_prints_private_keys() {
    let k = key(1, true);
    let secret = hex::encode(k.private_key().secret_bytes());
    let keys = EchKeys::new(vec![k.clone()]).unwrap();
    let store = EchKeyStore::new(EchKeys::new(vec![k.clone()]).unwrap());
    for text in [
        format!("{k:?}"),
        format!("{keys:?}"),
        format!("{store:?}"),
        format!("{keys:#?}"),
    ] {
        assert!(!text.contains(&secret), "{text}");
        let bytes = format!("{:?}", k.private_key().secret_bytes());
        assert!(!text.contains(&bytes), "{text}");
    }
}

fn retry_ids(keys: &EchKeys) -> Vec<u8> {
    let list = EchConfigList::parse(keys.retry_configs()).unwrap();
    list.configs().iter().map(EchConfig::config_id).collect()
}

#[test]
fn removed_key_keeps_decrypting_for_the_grace_period_without_being_offered() {
    let dir = tempfile::tempdir().unwrap();
    let old = write_key_file(&dir.path().join("old.pem"), 1, Kem::DhKemX25519HkdfSha256);
    let store = EchKeyStore::from_dir(dir.path()).unwrap();
    let mut reloader = EchKeyReloader::new(Duration::from_secs(3600));
    let start = Instant::now();

    // Nothing on disk changed: the set stays as it is.
    let report = reloader.reload_at(&store, start).unwrap();
    assert!(!report.changed);
    assert_eq!(ids(&store.snapshot()), [1]);

    // Rotate: add the new key, remove the old one.
    let new = write_key_file(&dir.path().join("new.pem"), 2, Kem::DhKemX25519HkdfSha256);
    std::fs::remove_file(dir.path().join("old.pem")).unwrap();
    let report = reloader.reload_at(&store, start).unwrap();
    assert!(report.changed);
    assert_eq!(report.added, [2]);
    assert_eq!(report.retired, [1]);
    let keys = store.snapshot();
    assert_eq!(ids(&keys), [2, 1], "the old key still opens ClientHellos");
    assert_eq!(keys.by_config_id(1).next().unwrap().config(), &old);
    assert_eq!(
        retry_ids(&keys),
        [2],
        "retry_configs list only the current key"
    );
    assert_eq!(keys.by_config_id(2).next().unwrap().config(), &new);

    // Within the grace period nothing changes.
    let report = reloader
        .reload_at(&store, start + Duration::from_secs(3599))
        .unwrap();
    assert!(!report.changed);
    assert_eq!(ids(&store.snapshot()), [2, 1]);

    // After it, the old key is gone.
    let report = reloader
        .reload_at(&store, start + Duration::from_secs(3600))
        .unwrap();
    assert!(report.changed);
    assert_eq!(report.expired, [1]);
    assert_eq!(ids(&store.snapshot()), [2]);
    assert_eq!(retry_ids(&store.snapshot()), [2]);
}

#[test]
fn key_file_restored_within_the_grace_period_is_current_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.pem");
    write_key_file(&path, 1, Kem::DhKemX25519HkdfSha256);
    let saved = std::fs::read(&path).unwrap();
    let store = EchKeyStore::from_dir(dir.path()).unwrap();
    let mut reloader = EchKeyReloader::new(Duration::from_secs(60));
    let start = Instant::now();

    std::fs::remove_file(&path).unwrap();
    reloader.reload_at(&store, start).unwrap();
    assert_eq!(ids(&store.snapshot()), [1]);
    assert!(store.snapshot().retry_configs().is_empty());

    std::fs::write(&path, saved).unwrap();
    let report = reloader
        .reload_at(&store, start + Duration::from_secs(1))
        .unwrap();
    assert_eq!(report.added, [1]);
    assert_eq!(retry_ids(&store.snapshot()), [1]);

    // Its earlier retirement no longer applies.
    let report = reloader
        .reload_at(&store, start + Duration::from_secs(120))
        .unwrap();
    assert!(!report.changed);
    assert_eq!(ids(&store.snapshot()), [1]);
}

#[test]
fn failed_reload_keeps_retiring_keys() {
    let dir = tempfile::tempdir().unwrap();
    write_key_file(&dir.path().join("a.pem"), 1, Kem::DhKemX25519HkdfSha256);
    let store = EchKeyStore::from_dir(dir.path()).unwrap();
    let mut reloader = EchKeyReloader::new(Duration::from_secs(60));
    let start = Instant::now();

    write_key_file(&dir.path().join("b.pem"), 2, Kem::DhKemX25519HkdfSha256);
    std::fs::remove_file(dir.path().join("a.pem")).unwrap();
    reloader.reload_at(&store, start).unwrap();
    std::fs::write(dir.path().join("c.pem"), "half written").unwrap();
    assert!(reloader.reload_at(&store, start).is_err());
    assert_eq!(ids(&store.snapshot()), [2, 1]);

    std::fs::remove_file(dir.path().join("c.pem")).unwrap();
    let report = reloader
        .reload_at(&store, start + Duration::from_secs(61))
        .unwrap();
    assert_eq!(report.expired, [1]);
    assert_eq!(ids(&store.snapshot()), [2]);
}
