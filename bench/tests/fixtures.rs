//! The benchmarks measure what their names say: every fixture's handshake ends as its kind
//! requires (ECH accepted, rejected with retry configs, HelloRetryRequest seen, ...), on both
//! server providers, and the HPKE floor opens the payload an accepted handshake opens.

use ech_bench::{hpke_floor_open, Fixture, Kind, Provider};

#[test]
fn every_handshake_fixture_goes_as_its_kind_says() {
    for provider in Provider::ALL {
        for kind in Kind::ALL {
            let fixture = Fixture::new(kind, provider).expect("fixture");
            if let Err(e) = fixture.check() {
                panic!("{}: {e}", provider.name());
            }
        }
    }
}

#[test]
fn the_hpke_floor_opens_an_accepted_client_hello_payload() {
    for provider in Provider::ALL {
        let floor = Fixture::new(Kind::Accepted, provider)
            .and_then(|f| f.hpke_floor())
            .expect("HPKE floor");
        hpke_floor_open(&floor).expect("the floor's open succeeds");
    }
}
