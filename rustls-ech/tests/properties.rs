//! Property tests of the ECHConfig codec: what is built or parsed encodes back to the same bytes.

use proptest::prelude::*;
use rustls_ech::config::{
    EchConfig, EchConfigContents, EchConfigExtension, EchConfigList, HpkeKeyConfig,
};
use rustls_ech::suite::{Aead, Kdf, Kem, SymmetricSuite};

fn kem() -> impl Strategy<Value = Kem> {
    prop_oneof![
        Just(Kem::DhKemX25519HkdfSha256),
        Just(Kem::DhKemP256HkdfSha256),
        Just(Kem::DhKemP384HkdfSha384),
        Just(Kem::DhKemP521HkdfSha512),
        (0x30u16..0x100).prop_map(Kem::from),
    ]
}

fn suites() -> impl Strategy<Value = Vec<SymmetricSuite>> {
    prop::collection::vec(
        (1u16..5, prop_oneof![1u16..5, Just(0xffff)]).prop_map(|(kdf, aead)| SymmetricSuite {
            kdf: Kdf::from(kdf),
            aead: Aead::from(aead),
        }),
        1..6,
    )
}

fn public_name() -> impl Strategy<Value = String> {
    prop::collection::vec("[a-z][a-z0-9-]{0,10}[a-z0-9]", 1..4).prop_map(|labels| labels.join("."))
}

fn contents() -> impl Strategy<Value = EchConfigContents> {
    (
        any::<u8>(),
        kem(),
        suites(),
        any::<u8>(),
        public_name(),
        prop::collection::vec(
            (any::<u16>(), prop::collection::vec(any::<u8>(), 0..20)),
            0..3,
        ),
        prop::collection::vec(any::<u8>(), 1..80),
    )
        .prop_map(
            |(config_id, kem, cipher_suites, maximum_name_length, public_name, exts, key)| {
                let public_key = match kem.public_key_len() {
                    Some(len) => (0..len).map(|i| key[i % key.len()]).collect(),
                    None => key,
                };
                EchConfigContents {
                    key_config: HpkeKeyConfig {
                        config_id,
                        kem,
                        public_key,
                        cipher_suites,
                    },
                    maximum_name_length,
                    public_name,
                    extensions: exts
                        .into_iter()
                        .map(|(extension_type, data)| EchConfigExtension {
                            extension_type,
                            data,
                        })
                        .collect(),
                }
            },
        )
}

proptest! {
    #[test]
    fn built_configs_parse_back_to_the_same_bytes_and_fields(contents in contents()) {
        let config = EchConfig::from_contents(contents.clone()).unwrap();
        let parsed = EchConfig::parse(config.encoded()).unwrap();
        prop_assert_eq!(parsed.encoded(), config.encoded());
        prop_assert_eq!(parsed.config_id(), contents.key_config.config_id);
        prop_assert_eq!(parsed.kem(), contents.key_config.kem);
        prop_assert_eq!(parsed.cipher_suites(), &contents.key_config.cipher_suites[..]);
        prop_assert_eq!(parsed.public_name(), contents.public_name.as_str());
        prop_assert_eq!(parsed.maximum_name_length(), contents.maximum_name_length);
        prop_assert_eq!(parsed.extensions(), &contents.extensions[..]);
    }

    #[test]
    fn config_lists_round_trip_through_bytes_and_base64(all in prop::collection::vec(contents(), 1..4)) {
        let configs: Vec<_> = all.into_iter().map(|c| EchConfig::from_contents(c).unwrap()).collect();
        let list = EchConfigList::new(configs.clone()).unwrap();
        let parsed = EchConfigList::parse(list.encoded()).unwrap();
        prop_assert_eq!(parsed.encoded(), list.encoded());
        prop_assert_eq!(parsed.configs().len(), configs.len());
        let from_text = EchConfigList::from_base64(&list.to_base64()).unwrap();
        prop_assert_eq!(from_text.encoded(), list.encoded());
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_what_parses_is_canonical(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(list) = EchConfigList::parse(&bytes) {
            prop_assert_eq!(list.encoded(), &bytes[..]);
        }
    }
}
