//! The whole engine fed arbitrary byte streams, in arbitrary chunks, in both directions.
#![no_main]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use rustls_ech::config::EchConfigBuilder;
use rustls_ech::{EchKey, EchKeys, EchServer};

#[derive(Arbitrary, Debug)]
enum Step<'a> {
    FromPeer(&'a [u8]),
    FromRustls(&'a [u8]),
}

fn server() -> &'static EchServer {
    static SERVER: OnceLock<EchServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        let (config, key) = EchConfigBuilder::new("public.example").config_id(1).generate().unwrap();
        let ech = EchServer::new(EchKeys::new(vec![EchKey::new(config, key, true)]).unwrap());
        ech.wrap(rustls::crypto::aws_lc_rs::default_provider());
        ech
    })
}

fuzz_target!(|steps: Vec<Step<'_>>| {
    let mut engine = server().engine();
    let (mut to_rustls, mut to_peer) = (Vec::new(), Vec::new());
    for step in steps {
        let result = match step {
            Step::FromPeer(data) => engine.receive(data, &mut to_rustls, &mut to_peer),
            Step::FromRustls(data) => engine.send(data, &mut to_peer),
        };
        if result.is_err() {
            break;
        }
        assert!(engine.buffered_len() <= 4 * rustls_ech::DEFAULT_MAX_CLIENT_HELLO_LEN);
    }
});
