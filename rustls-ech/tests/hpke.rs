//! HPKE backends: RFC 9180 Appendix A known answers, agreement between backends, and failure
//! on altered input.

#![cfg(any(feature = "aws-lc-rs", feature = "hpke-rs"))]

use std::collections::HashSet;

use rustls::crypto::hpke::{EncapsulatedSecret, HpkePrivateKey, HpkePublicKey};
use rustls_ech::hpke::{suite_id, HpkeBackend};
use rustls_ech::suite::{Aead, HpkeSuiteId, Kdf, Kem, SymmetricSuite};

const KEMS: [Kem; 4] = [
    Kem::DhKemX25519HkdfSha256,
    Kem::DhKemP256HkdfSha256,
    Kem::DhKemP384HkdfSha384,
    Kem::DhKemP521HkdfSha512,
];
const KDFS: [Kdf; 3] = [Kdf::HkdfSha256, Kdf::HkdfSha384, Kdf::HkdfSha512];
const AEADS: [Aead; 3] = [Aead::Aes128Gcm, Aead::Aes256Gcm, Aead::ChaCha20Poly1305];

fn backends() -> Vec<HpkeBackend> {
    vec![
        #[cfg(feature = "aws-lc-rs")]
        HpkeBackend::aws_lc_rs(),
        #[cfg(feature = "hpke-rs")]
        HpkeBackend::hpke_rs(),
    ]
}

fn id(kem: Kem, kdf: Kdf, aead: Aead) -> HpkeSuiteId {
    HpkeSuiteId {
        kem,
        sym: SymmetricSuite { kdf, aead },
    }
}

fn unhex(text: &str) -> Vec<u8> {
    hex::decode(text).expect("test data is valid hex")
}

fn private_key(bytes: &[u8]) -> HpkePrivateKey {
    HpkePrivateKey::from(bytes.to_vec())
}

/// One base-mode vector of RFC 9180 Appendix A, with its first encryptions in sequence order.
struct Vector {
    name: &'static str,
    id: HpkeSuiteId,
    info: &'static str,
    sk_rm: &'static str,
    pk_rm: &'static str,
    enc: &'static str,
    encryptions: &'static [Encryption],
}

/// One of a vector's encryptions; the Nth entry uses sequence number N.
struct Encryption {
    aad: &'static str,
    pt: &'static str,
    ct: &'static str,
}

static VECTORS: &[Vector] = &[
    // A.1.1, base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM.
    Vector {
        name: "A.1.1",
        id: HpkeSuiteId {
            kem: Kem::DhKemX25519HkdfSha256,
            sym: SymmetricSuite {
                kdf: Kdf::HkdfSha256,
                aead: Aead::Aes128Gcm,
            },
        },
        info: "4f6465206f6e2061204772656369616e2055726e",
        sk_rm: "4612c550263fc8ad58375df3f557aac531d26850903e55a9f23f21d8534e8ac8",
        pk_rm: "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d",
        enc: "37fda3567bdbd628e88668c3c8d7e97d1d1253b6d4ea6d44c150f741f1bf4431",
        encryptions: &[
            Encryption {
                aad: "436f756e742d30",
                pt: "4265617574792069732074727574682c20747275746820626561757479",
                ct: concat!(
                    "f938558b5d72f1a23810b4be2ab4f84331acc02fc97babc53a52ae8218a355a9",
                    "6d8770ac83d07bea87e13c512a",
                ),
            },
            Encryption {
                aad: "436f756e742d31",
                pt: "4265617574792069732074727574682c20747275746820626561757479",
                ct: concat!(
                    "af2d7e9ac9ae7e270f46ba1f975be53c09f8d875bdc8535458c2494e8a6eab25",
                    "1c03d0c22a56b8ca42c2063b84",
                ),
            },
            Encryption {
                aad: "436f756e742d32",
                pt: "4265617574792069732074727574682c20747275746820626561757479",
                ct: concat!(
                    "498dfcabd92e8acedc281e85af1cb4e3e31c7dc394a1ca20e173cb7251649158",
                    "8d96a19ad4a683518973dcc180",
                ),
            },
        ],
    },
    // A.2.1, base mode: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20Poly1305.
    Vector {
        name: "A.2.1",
        id: HpkeSuiteId {
            kem: Kem::DhKemX25519HkdfSha256,
            sym: SymmetricSuite {
                kdf: Kdf::HkdfSha256,
                aead: Aead::ChaCha20Poly1305,
            },
        },
        info: "4f6465206f6e2061204772656369616e2055726e",
        sk_rm: "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb",
        pk_rm: "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a",
        enc: "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a",
        encryptions: &[
            Encryption {
                aad: "436f756e742d30",
                pt: "4265617574792069732074727574682c20747275746820626561757479",
                ct: concat!(
                    "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db",
                    "21993c62ce81883d2dd1b51a28",
                ),
            },
            Encryption {
                aad: "436f756e742d31",
                pt: "4265617574792069732074727574682c20747275746820626561757479",
                ct: concat!(
                    "6b53c051e4199c518de79594e1c4ab18b96f081549d45ce015be002090bb119e",
                    "85285337cc95ba5f59992dc98c",
                ),
            },
            Encryption {
                aad: "436f756e742d32",
                pt: "4265617574792069732074727574682c20747275746820626561757479",
                ct: concat!(
                    "71146bd6795ccc9c49ce25dda112a48f202ad220559502cef1f34271e0cb4b02",
                    "b4f10ecac6f48c32f878fae86b",
                ),
            },
        ],
    },
    // A.3.1, base mode: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM.
    Vector {
        name: "A.3.1",
        id: HpkeSuiteId {
            kem: Kem::DhKemP256HkdfSha256,
            sym: SymmetricSuite {
                kdf: Kdf::HkdfSha256,
                aead: Aead::Aes128Gcm,
            },
        },
        info: "4f6465206f6e2061204772656369616e2055726e",
        sk_rm: "f3ce7fdae57e1a310d87f1ebbde6f328be0a99cdbcadf4d6589cf29de4b8ffd2",
        pk_rm: concat!(
            "04fe8c19ce0905191ebc298a9245792531f26f0cece2460639e8bc39cb7f706a",
            "826a779b4cf969b8a0e539c7f62fb3d30ad6aa8f80e30f1d128aafd68a2ce72e",
            "a0",
        ),
        enc: concat!(
            "04a92719c6195d5085104f469a8b9814d5838ff72b60501e2c4466e5e67b325a",
            "c98536d7b61a1af4b78e5b7f951c0900be863c403ce65c9bfcb9382657222d18",
            "c4",
        ),
        encryptions: &[
            Encryption {
                aad: "436f756e742d30",
                pt: "4265617574792069732074727574682c20747275746820626561757479",
                ct: concat!(
                    "5ad590bb8baa577f8619db35a36311226a896e7342a6d836d8b7bcd2f20b6c7f",
                    "9076ac232e3ab2523f39513434",
                ),
            },
            Encryption {
                aad: "436f756e742d31",
                pt: "4265617574792069732074727574682c20747275746820626561757479",
                ct: concat!(
                    "fa6f037b47fc21826b610172ca9637e82d6e5801eb31cbd3748271affd4ecb06",
                    "646e0329cbdf3c3cd655b28e82",
                ),
            },
            Encryption {
                aad: "436f756e742d32",
                pt: "4265617574792069732074727574682c20747275746820626561757479",
                ct: concat!(
                    "895cabfac50ce6c6eb02ffe6c048bf53b7f7be9a91fc559402cbc5b8dcaeb52b",
                    "2ccc93e466c28fb55fed7a7fec",
                ),
            },
        ],
    },
    // A.6.1, base mode: DHKEM(P-521, HKDF-SHA512), HKDF-SHA512, AES-256-GCM.
    Vector {
        name: "A.6.1",
        id: HpkeSuiteId {
            kem: Kem::DhKemP521HkdfSha512,
            sym: SymmetricSuite {
                kdf: Kdf::HkdfSha512,
                aead: Aead::Aes256Gcm,
            },
        },
        info: "4f6465206f6e2061204772656369616e2055726e",
        sk_rm: concat!(
            "01462680369ae375e4b3791070a7458ed527842f6a98a79ff5e0d4cbde83c271",
            "96a3916956655523a6a2556a7af62c5cadabe2ef9da3760bb21e005202f7b246",
            "2847",
        ),
        pk_rm: concat!(
            "0401b45498c1714e2dce167d3caf162e45e0642afc7ed435df7902ccae0e84ba",
            "0f7d373f646b7738bbbdca11ed91bdeae3cdcba3301f2457be452f271fa68375",
            "80e661012af49583a62e48d44bed350c7118c0d8dc861c238c72a2bda17f6470",
            "4f464b57338e7f40b60959480c0e58e6559b190d81663ed816e523b6b6a418f6",
            "6d2451ec64",
        ),
        enc: concat!(
            "040138b385ca16bb0d5fa0c0665fbbd7e69e3ee29f63991d3e9b5fa740aab890",
            "0aaeed46ed73a49055758425a0ce36507c54b29cc5b85a5cee6bae0cf1c21f27",
            "31ece2013dc3fb7c8d21654bb161b463962ca19e8c654ff24c94dd2898de1205",
            "1f1ed0692237fb02b2f8d1dc1c73e9b366b529eb436e98a996ee522aef863dd5",
            "739d2f29b0",
        ),
        encryptions: &[
            Encryption {
                aad: "436f756e742d30",
                pt: "4265617574792069732074727574682c20747275746820626561757479",
                ct: concat!(
                    "170f8beddfe949b75ef9c387e201baf4132fa7374593dfafa90768788b7b2b20",
                    "0aafcc6d80ea4c795a7c5b841a",
                ),
            },
            Encryption {
                aad: "436f756e742d31",
                pt: "4265617574792069732074727574682c20747275746820626561757479",
                ct: concat!(
                    "d9ee248e220ca24ac00bbbe7e221a832e4f7fa64c4fbab3945b6f3af0c5ecd5e",
                    "16815b328be4954a05fd352256",
                ),
            },
            Encryption {
                aad: "436f756e742d32",
                pt: "4265617574792069732074727574682c20747275746820626561757479",
                ct: concat!(
                    "142cf1e02d1f58d9285f2af7dcfa44f7c3f2d15c73d460c48c6e0e506a3144ba",
                    "e35284e7e221105b61d24e1c7a",
                ),
            },
        ],
    },
];

#[test]
fn every_backend_opens_rfc9180_vectors_single_shot() {
    for backend in backends() {
        for vector in VECTORS {
            let hpke = backend
                .suite(vector.id)
                .unwrap_or_else(|| panic!("{} lacks {}", backend.name(), vector.name));
            let first = &vector.encryptions[0];

            let pt = hpke
                .open(
                    &EncapsulatedSecret(unhex(vector.enc)),
                    &unhex(vector.info),
                    &unhex(first.aad),
                    &unhex(first.ct),
                    &private_key(&unhex(vector.sk_rm)),
                )
                .unwrap_or_else(|e| panic!("{} {}: {e}", backend.name(), vector.name));
            assert_eq!(pt, unhex(first.pt), "{} {}", backend.name(), vector.name);

            // A single-shot open is sequence 0: the ciphertext of sequence 1 must not open.
            let second = &vector.encryptions[1];
            let result = hpke.open(
                &EncapsulatedSecret(unhex(vector.enc)),
                &unhex(vector.info),
                &unhex(second.aad),
                &unhex(second.ct),
                &private_key(&unhex(vector.sk_rm)),
            );
            assert!(result.is_err(), "{} {}", backend.name(), vector.name);
        }
    }
}

#[test]
fn every_backend_opens_rfc9180_vectors_in_sequence() {
    for backend in backends() {
        for vector in VECTORS {
            let hpke = backend.suite(vector.id).expect("suite offered");
            let mut opener = hpke
                .setup_opener(
                    &EncapsulatedSecret(unhex(vector.enc)),
                    &unhex(vector.info),
                    &private_key(&unhex(vector.sk_rm)),
                )
                .unwrap_or_else(|e| panic!("{} {}: {e}", backend.name(), vector.name));

            for (seq, encryption) in vector.encryptions.iter().enumerate() {
                let pt = opener
                    .open(&unhex(encryption.aad), &unhex(encryption.ct))
                    .unwrap_or_else(|e| {
                        panic!("{} {} sequence {seq}: {e}", backend.name(), vector.name)
                    });
                assert_eq!(
                    pt,
                    unhex(encryption.pt),
                    "{} {}",
                    backend.name(),
                    vector.name
                );
            }
        }
    }
}

#[test]
fn every_backend_rejects_rfc9180_ciphertexts_out_of_order() {
    for backend in backends() {
        for vector in VECTORS {
            let hpke = backend.suite(vector.id).expect("suite offered");
            let mut opener = hpke
                .setup_opener(
                    &EncapsulatedSecret(unhex(vector.enc)),
                    &unhex(vector.info),
                    &private_key(&unhex(vector.sk_rm)),
                )
                .expect("opener");

            let skipped = &vector.encryptions[1];
            assert!(
                opener
                    .open(&unhex(skipped.aad), &unhex(skipped.ct))
                    .is_err(),
                "{} {}",
                backend.name(),
                vector.name
            );
        }
    }
}

#[test]
fn every_backend_seals_to_rfc9180_vector_keys() {
    for backend in backends() {
        for vector in VECTORS {
            let hpke = backend.suite(vector.id).expect("suite offered");
            let info = unhex(vector.info);
            let plaintext = b"sealed to the RFC 9180 recipient key";

            let (enc, ct) = hpke
                .seal(
                    &info,
                    b"aad",
                    plaintext,
                    &HpkePublicKey(unhex(vector.pk_rm)),
                )
                .unwrap_or_else(|e| panic!("{} {}: {e}", backend.name(), vector.name));
            let pt = hpke
                .open(&enc, &info, b"aad", &ct, &private_key(&unhex(vector.sk_rm)))
                .unwrap_or_else(|e| panic!("{} {}: {e}", backend.name(), vector.name));
            assert_eq!(pt, plaintext);
        }
    }
}

#[cfg(feature = "hpke-rs")]
#[test]
fn hpke_rs_offers_every_kem_kdf_aead_combination() {
    let backend = HpkeBackend::hpke_rs();
    let offered: Vec<HpkeSuiteId> = backend.suites().iter().map(|s| suite_id(*s)).collect();
    let unique: HashSet<HpkeSuiteId> = offered.iter().copied().collect();
    assert_eq!(unique.len(), offered.len(), "a suite is listed twice");

    let mut expected = HashSet::new();
    for kem in KEMS {
        for kdf in KDFS {
            for aead in AEADS {
                expected.insert(id(kem, kdf, aead));
            }
        }
    }
    assert_eq!(unique, expected);
}

/// The KDF a DHKEM uses inside itself, which is the usual pairing for the whole suite.
#[cfg(feature = "aws-lc-rs")]
fn kem_kdf(kem: Kem) -> Kdf {
    match kem {
        Kem::DhKemP384HkdfSha384 => Kdf::HkdfSha384,
        Kem::DhKemP521HkdfSha512 => Kdf::HkdfSha512,
        _ => Kdf::HkdfSha256,
    }
}

#[cfg(feature = "aws-lc-rs")]
#[test]
fn aws_lc_rs_offers_each_kem_with_its_own_kdf() {
    let backend = HpkeBackend::aws_lc_rs();
    let offered: HashSet<HpkeSuiteId> = backend.suites().iter().map(|s| suite_id(*s)).collect();

    let mut expected = HashSet::new();
    for kem in KEMS {
        for kdf in KDFS.into_iter().filter(|kdf| *kdf == kem_kdf(kem)) {
            for aead in AEADS {
                expected.insert(id(kem, kdf, aead));
            }
        }
    }
    assert_eq!(offered, expected);
}

#[test]
fn suite_lookup_returns_the_matching_suite() {
    for backend in backends() {
        for hpke in backend.suites() {
            let wanted = suite_id(*hpke);
            let found = backend.suite(wanted).expect("listed suite is found");
            assert_eq!(suite_id(found), wanted, "{}", backend.name());
        }
    }
}

#[test]
fn suite_lookup_of_unknown_ids_is_none() {
    let unknown = [
        // DHKEM(X448, HKDF-SHA512): no backend offers it.
        id(Kem::Unknown(0x0021), Kdf::HkdfSha512, Aead::Aes256Gcm),
        id(Kem::Unknown(0x7777), Kdf::HkdfSha256, Aead::Aes128Gcm),
        id(
            Kem::DhKemX25519HkdfSha256,
            Kdf::Unknown(0x0010),
            Aead::Aes128Gcm,
        ),
        id(
            Kem::DhKemX25519HkdfSha256,
            Kdf::HkdfSha256,
            Aead::ExportOnly,
        ),
        id(
            Kem::DhKemP256HkdfSha256,
            Kdf::HkdfSha256,
            Aead::Unknown(0x0004),
        ),
    ];
    for backend in backends() {
        for wanted in unknown {
            assert!(
                backend.suite(wanted).is_none(),
                "{} {wanted:?}",
                backend.name()
            );
        }
    }
}

#[test]
fn generated_key_pairs_have_the_kem_sizes() {
    for backend in backends() {
        for kem in KEMS {
            let (pk, sk) = backend
                .generate_key_pair(kem)
                .unwrap_or_else(|e| panic!("{} {kem}: {e}", backend.name()));
            assert_eq!(
                Some(pk.0.len()),
                kem.public_key_len(),
                "{} {kem}",
                backend.name()
            );
            assert_eq!(
                Some(sk.secret_bytes().len()),
                kem.private_key_len(),
                "{} {kem}",
                backend.name()
            );
            if kem != Kem::DhKemX25519HkdfSha256 {
                // SEC1 uncompressed point.
                assert_eq!(pk.0[0], 0x04, "{} {kem}", backend.name());
            }

            let (other_pk, other_sk) = backend.generate_key_pair(kem).expect("second key pair");
            assert_ne!(pk.0, other_pk.0, "{} {kem}", backend.name());
            assert_ne!(sk.secret_bytes(), other_sk.secret_bytes());
        }
    }
}

#[test]
fn generate_key_pair_for_unknown_kem_fails() {
    for backend in backends() {
        assert!(backend.generate_key_pair(Kem::Unknown(0x0021)).is_err());
    }
}

#[test]
fn every_suite_round_trips_through_its_own_contexts() {
    for backend in backends() {
        for hpke in backend.suites() {
            let name = format!("{} {:?}", backend.name(), suite_id(*hpke));
            let (pk, sk) = hpke.generate_key_pair().expect(&name);

            let (enc, mut sealer) = hpke.setup_sealer(b"info", &pk).expect(&name);
            let mut opener = hpke.setup_opener(&enc, b"info", &sk).expect(&name);
            for seq in 0u8..4 {
                let ct = sealer.seal(&[seq], &[seq; 40]).expect(&name);
                assert_eq!(opener.open(&[seq], &ct).expect(&name), [seq; 40], "{name}");
            }
        }
    }
}

#[cfg(all(feature = "aws-lc-rs", feature = "hpke-rs"))]
#[test]
fn backends_interoperate_on_every_common_suite() {
    let backends = backends();
    let mut common = 0;
    for sender in &backends {
        for receiver in &backends {
            if sender.name() == receiver.name() {
                continue;
            }
            for seal_side in sender.suites() {
                let id = suite_id(*seal_side);
                let Some(open_side) = receiver.suite(id) else {
                    continue;
                };
                common += 1;

                // Each backend's key pairs must work with the other.
                for key_source in [sender, receiver] {
                    let name = format!(
                        "{id:?} {} -> {}, keys from {}",
                        sender.name(),
                        receiver.name(),
                        key_source.name()
                    );
                    let (pk, sk) = key_source
                        .suite(id)
                        .expect("both offer the suite")
                        .generate_key_pair()
                        .expect(&name);

                    let (enc, ct) = seal_side
                        .seal(b"info", b"aad", b"single shot", &pk)
                        .expect(&name);
                    let pt = open_side
                        .open(&enc, b"info", b"aad", &ct, &sk)
                        .expect(&name);
                    assert_eq!(pt, b"single shot", "{name}");

                    let (enc, mut sealer) = seal_side.setup_sealer(b"info", &pk).expect(&name);
                    let mut opener = open_side.setup_opener(&enc, b"info", &sk).expect(&name);
                    for seq in 0u8..3 {
                        let ct = sealer.seal(&[seq], &[seq; 17]).expect(&name);
                        assert_eq!(opener.open(&[seq], &ct).expect(&name), [seq; 17], "{name}");
                    }
                }
            }
        }
    }
    // Twelve suites in common, each in both directions.
    assert_eq!(common, 24);
}

#[test]
fn altered_input_fails_to_open() {
    for backend in backends() {
        for hpke in backend.suites() {
            let name = format!("{} {:?}", backend.name(), suite_id(*hpke));
            let (pk, sk) = hpke.generate_key_pair().expect(&name);
            let (enc, ct) = hpke.seal(b"info", b"aad", b"plaintext", &pk).expect(&name);
            assert!(hpke.open(&enc, b"info", b"aad", &ct, &sk).is_ok(), "{name}");

            for index in [0, ct.len() / 2, ct.len() - 1] {
                let mut tampered = ct.clone();
                tampered[index] ^= 0x01;
                let result = hpke.open(&enc, b"info", b"aad", &tampered, &sk);
                assert!(result.is_err(), "{name}: ciphertext byte {index}");
            }
            for truncated in [&ct[..0], &ct[..1], &ct[..ct.len() - 1]] {
                let result = hpke.open(&enc, b"info", b"aad", truncated, &sk);
                assert!(result.is_err(), "{name}: {} bytes", truncated.len());
            }
            assert!(
                hpke.open(&enc, b"info", b"aae", &ct, &sk).is_err(),
                "{name}: aad"
            );
            assert!(
                hpke.open(&enc, b"info", b"", &ct, &sk).is_err(),
                "{name}: aad"
            );
            assert!(
                hpke.open(&enc, b"inf0", b"aad", &ct, &sk).is_err(),
                "{name}: info"
            );
            assert!(
                hpke.open(&enc, b"", b"aad", &ct, &sk).is_err(),
                "{name}: info"
            );

            let (_, wrong_sk) = hpke.generate_key_pair().expect(&name);
            let result = hpke.open(&enc, b"info", b"aad", &ct, &wrong_sk);
            assert!(result.is_err(), "{name}: wrong key");
        }
    }
}

#[test]
fn malformed_enc_fails_to_open() {
    for backend in backends() {
        for hpke in backend.suites() {
            let name = format!("{} {:?}", backend.name(), suite_id(*hpke));
            let (pk, sk) = hpke.generate_key_pair().expect(&name);
            let (enc, ct) = hpke.seal(b"info", b"aad", b"plaintext", &pk).expect(&name);
            let enc = enc.0;

            let mut flipped = enc.clone();
            let last = flipped.len() - 1;
            flipped[last] ^= 0x01;
            let mut longer = enc.clone();
            longer.push(0);
            let mut compressed = enc.clone();
            // 0x04 becomes 0x02 (a SEC1 compressed point); an X25519 key simply changes.
            compressed[0] ^= 0x06;
            let malformed: [(&str, Vec<u8>); 8] = [
                ("empty", Vec::new()),
                ("one byte", vec![0x04]),
                ("truncated", enc[..enc.len() - 1].to_vec()),
                ("first byte dropped", enc[1..].to_vec()),
                ("one byte longer", longer),
                ("zeros", vec![0; enc.len()]),
                ("last byte flipped", flipped),
                ("first byte changed", compressed),
            ];
            for (what, bad) in malformed {
                let enc = EncapsulatedSecret(bad);
                let result = hpke.open(&enc, b"info", b"aad", &ct, &sk);
                assert!(result.is_err(), "{name}: enc {what}");
                let result = hpke.setup_opener(&enc, b"info", &sk);
                if let Ok(mut opener) = result {
                    assert!(opener.open(b"aad", &ct).is_err(), "{name}: enc {what}");
                }
            }
        }
    }
}

#[test]
fn malformed_keys_fail_without_panic() {
    for backend in backends() {
        for hpke in backend.suites() {
            let name = format!("{} {:?}", backend.name(), suite_id(*hpke));
            let (pk, sk) = hpke.generate_key_pair().expect(&name);
            let (enc, ct) = hpke.seal(b"info", b"aad", b"plaintext", &pk).expect(&name);

            let bad_private = [Vec::new(), sk.secret_bytes()[1..].to_vec(), vec![0xff; 200]];
            for bytes in bad_private {
                let result = hpke.open(&enc, b"info", b"aad", &ct, &private_key(&bytes));
                assert!(result.is_err(), "{name}: {}-byte private key", bytes.len());
            }

            let bad_public = [Vec::new(), pk.0[1..].to_vec(), vec![0x04; pk.0.len() + 1]];
            for bytes in bad_public {
                let result =
                    hpke.seal(b"info", b"aad", b"plaintext", &HpkePublicKey(bytes.clone()));
                assert!(result.is_err(), "{name}: bad public key {bytes:?}");
            }
        }
    }
}
