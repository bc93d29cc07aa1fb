//! Key set: ECH keys by `config_id`, retry flags, and rotation.

use std::sync::{Arc, RwLock};

use rustls::crypto::hpke::HpkePrivateKey;

use crate::config::EchConfig;

/// One ECH key: its ECHConfig, private key, and whether it is offered in retry configs.
pub struct EchKey {
    config: EchConfig,
    private_key: HpkePrivateKey,
    retry: bool,
}

impl EchKey {
    /// A key; `retry` says whether its config is sent in `retry_configs`.
    pub fn new(config: EchConfig, private_key: HpkePrivateKey, retry: bool) -> Self {
        Self {
            config,
            private_key,
            retry,
        }
    }

    /// The ECHConfig.
    pub fn config(&self) -> &EchConfig {
        &self.config
    }

    /// The HPKE private key.
    pub fn private_key(&self) -> &HpkePrivateKey {
        &self.private_key
    }

    /// Whether the config is sent in `retry_configs`.
    pub fn is_retry(&self) -> bool {
        self.retry
    }
}

/// An immutable set of keys.
pub struct EchKeys {
    keys: Vec<EchKey>,
    retry_configs: Arc<[u8]>,
}

impl EchKeys {
    /// A set of `keys`.
    pub fn new(keys: Vec<EchKey>) -> Self {
        let mut body = Vec::new();
        for key in keys.iter().filter(|k| k.retry) {
            body.extend_from_slice(key.config.encoded());
        }
        let mut list = Vec::with_capacity(body.len() + 2);
        if !body.is_empty() {
            list.extend_from_slice(&(body.len() as u16).to_be_bytes());
            list.extend_from_slice(&body);
        }
        Self {
            keys,
            retry_configs: list.into(),
        }
    }

    /// Every key with `config_id`.
    pub fn lookup(&self, config_id: u8) -> impl Iterator<Item = &EchKey> {
        self.keys
            .iter()
            .filter(move |k| k.config.config_id() == config_id)
    }

    /// The encoded ECHConfigList of retry keys (empty when there are none).
    pub fn retry_configs(&self) -> Arc<[u8]> {
        self.retry_configs.clone()
    }
}

/// A shared, replaceable key set.
#[derive(Clone)]
pub struct EchKeyStore {
    current: Arc<RwLock<Arc<EchKeys>>>,
}

impl EchKeyStore {
    /// The set as it is now.
    pub fn snapshot(&self) -> Arc<EchKeys> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces the set.
    pub fn replace(&self, keys: EchKeys) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
    }
}

impl From<EchKeys> for EchKeyStore {
    fn from(keys: EchKeys) -> Self {
        Self {
            current: Arc::new(RwLock::new(Arc::new(keys))),
        }
    }
}
