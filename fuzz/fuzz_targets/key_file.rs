//! Key files: the PEM form and BoringSSL's raw form never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rustls_ech::keyfile::KeyFile;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(file) = KeyFile::from_pem(text) {
            // What loads writes out and loads again.
            let pem = file.to_pem().expect("a loaded key file writes");
            let again = KeyFile::from_pem(&pem).expect("a written key file loads");
            assert_eq!(again.configs().encoded(), file.configs().encoded());
        }
    }
    if let Some((&split, rest)) = data.split_first() {
        let (config, key) = rest.split_at(usize::from(split).min(rest.len()));
        let _ = KeyFile::from_raw(config, key);
    }
});
