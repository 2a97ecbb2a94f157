//! messngr-to-messngr frames: whatever parses must emit and parse back to
//! the same value, and what we emit is a fixed point (canonical: fields in
//! TYPE order, unknown ones dropped), and so are the bytes a signature
//! covers; the header view and the stream cutter never panic. The first
//! byte picks the SMB frame limit of the cutter. The same bytes are also
//! read as a HELLO (the handshake payload, bare fields), and as a BUNDLE
//! (what parses emits back byte for byte).
#![no_main]
use libfuzzer_sys::fuzz_target;
use messngr_proto::wire::Emit;
use messngr_proto::wire::native::{self, Hello, Packet, Repr};

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = Packet::new_checked(data) {
        let _ = (p.version(), p.kind());
        for f in p.fields() {
            let _ = f;
        }
    }
    if let Ok(repr) = Repr::parse(data) {
        let bytes = repr.to_vec().expect("a parsed frame emits");
        assert_eq!(bytes.len(), repr.buffer_len());
        let again = Repr::parse(&bytes).expect("what we emit parses");
        assert_eq!(again, repr);
        assert_eq!(again.to_vec().expect("emits"), bytes, "canonical encoding");
        // A parsed signed frame can be verified, and what it signs does not
        // depend on how it was encoded.
        match repr.signed_bytes() {
            Ok(signed) => assert_eq!(again.signed_bytes().ok(), Some(signed)),
            Err(_) => assert!(!matches!(
                repr,
                Repr::Receipt(_)
                    | Repr::Message(native::Message {
                        signer: Some(_),
                        ..
                    })
            )),
        }
    }
    // A bundle's frames are whole frames of another kind; what parses
    // emits the same bytes (a bundle is its frames in order, nothing else).
    if let Ok(bundle) = native::bundle::Bundle::parse(data) {
        assert_eq!(bundle.to_vec(), data, "a bundle emits as it came");
        for f in bundle.frames() {
            let inner = Packet::new_checked(*f).expect("a bundled frame is a frame");
            assert_ne!(inner.kind(), native::Kind::Bundle);
        }
    }
    if let Ok(hello) = Hello::parse(data) {
        let bytes = hello.to_vec().expect("a parsed HELLO emits");
        assert_eq!(Hello::parse(&bytes).expect("what we emit parses"), hello);
    }
    if let Some((&knob, rest)) = data.split_first() {
        let max = 4 + usize::from(knob) * 8;
        if let Ok(Some(n)) = native::frame_len(rest, max) {
            assert!(n <= rest.len() && n <= native::MAX_SEALED_LEN.max(max));
        }
    }
});
