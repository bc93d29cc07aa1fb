//! ECHConfigList parsing: never panics; what parses re-encodes to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rustls_ech::config::{EchConfig, EchConfigList};

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = EchConfigList::parse(data) {
        assert_eq!(list.encoded(), data);
        for config in list.configs() {
            let again = EchConfig::parse(config.encoded()).expect("a parsed config parses again");
            assert_eq!(again.encoded(), config.encoded());
        }
        let _ = EchConfigList::from_base64(&list.to_base64()).expect("base64 round trip");
    }
    let _ = EchConfig::parse(data);
});
