//! ClientHelloInner reconstruction from an arbitrary ClientHelloOuter and
//! EncodedClientHelloInner.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
struct Input<'a> {
    outer_body: &'a [u8],
    encoded_inner: &'a [u8],
    max_len: u16,
}

fuzz_target!(|input: Input<'_>| {
    let outer = rustls_ech::fuzzing::client_hello_message(input.outer_body);
    rustls_ech::fuzzing::client_hello_inner(
        &outer,
        input.encoded_inner,
        usize::from(input.max_len).max(64),
    );
});
