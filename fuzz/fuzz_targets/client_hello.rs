//! ClientHello parsing and the `encrypted_client_hello` extension, on arbitrary messages.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rustls_ech::fuzzing::client_hello(data);
    // Also as a body under a well-formed header, to get past the length check more often.
    rustls_ech::fuzzing::client_hello(&rustls_ech::fuzzing::client_hello_message(data));
});
