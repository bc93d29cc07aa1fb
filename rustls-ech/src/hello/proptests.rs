//! For random ClientHelloInners and random choices of extensions to compress, the test-only
//! compressor followed by the server's reconstruction gives back the original bytes.

use proptest::prelude::*;

use super::testing::{
    ech_inner_data, encode_client_hello_inner, supported_versions_data, ClientHelloBuilder,
};
use super::{decode_client_hello_inner, ClientHello, EXT_ENCRYPTED_CLIENT_HELLO};

/// Extension types free of meaning to the checks (none is ECH, supported_versions or
/// ech_outer_extensions), each with random data.
fn extensions() -> impl Strategy<Value = Vec<(u16, Vec<u8>)>> {
    prop::collection::btree_map(
        0x0100u16..0x0200,
        prop::collection::vec(any::<u8>(), 0..40),
        0..8,
    )
    .prop_map(|map| map.into_iter().collect())
}

proptest! {
    #[test]
    fn compressing_then_rebuilding_gives_back_client_hello_inner(
        shared in extensions(),
        inner_only in prop::collection::vec(any::<u8>(), 0..30),
        compress_mask in any::<u8>(),
        compress_at in 0usize..8,
        session_id in prop::collection::vec(any::<u8>(), 0..33),
        padding in 0usize..64,
        random in any::<[u8; 32]>(),
    ) {
        let chosen: Vec<u16> = shared
            .iter()
            .enumerate()
            .filter(|(i, _)| compress_mask & (1 << i) != 0)
            .map(|(_, (t, _))| *t)
            .collect();

        // ClientHelloOuter carries every shared extension, in order, among others.
        let mut outer = ClientHelloBuilder { legacy_session_id: session_id.clone(), ..Default::default() }
            .extension(0x0000, vec![0, 5, 0, 0, 2, b'o', b'k']);
        for (t, data) in &shared {
            outer = outer.extension(*t, data.clone());
        }
        let outer = outer.message();

        // ClientHelloInner: the compressed ones adjacent, at a random place, in outer order.
        let mut inner = ClientHelloBuilder { random, legacy_session_id: session_id, ..Default::default() }
            .extension(0x002b, supported_versions_data(&[0x0304]))
            .extension(EXT_ENCRYPTED_CLIENT_HELLO, ech_inner_data())
            .extension(0x0300, inner_only);
        let (compressed, kept): (Vec<_>, Vec<_>) = shared.iter().partition(|(t, _)| chosen.contains(t));
        let at = compress_at.min(kept.len());
        for (t, data) in kept[..at].iter().chain(compressed.iter()).chain(kept[at..].iter()) {
            inner = inner.extension(*t, data.clone());
        }
        let inner = inner.message();

        let encoded = encode_client_hello_inner(&inner, &outer, &chosen, padding).unwrap();
        let outer = ClientHello::parse(&outer).unwrap();
        let rebuilt = decode_client_hello_inner(&outer, &encoded, 1 << 16).unwrap();
        prop_assert_eq!(rebuilt, inner);
    }
}
