//! Mailslot writes (SMB_COM_TRANSACTION) and the MESSNGR payload. Whatever
//! parses must emit and parse back to the same value, and to the same bytes
//! except byte 6 (the reserved byte of a DOS-form SMB Status, which the SMB
//! header does not keep). A MESSNGR payload re-emits without the bytes after
//! the NUL that ends its text (documented normalisation).
#![no_main]
use libfuzzer_sys::fuzz_target;
use messngr_proto::wire::Emit;
use messngr_proto::wire::smb::mailslot::{MessngrPayload, Repr};

fn payload_round_trip(data: &[u8]) {
    if let Ok(p) = MessngrPayload::parse(data) {
        let bytes = p.to_vec().expect("a parsed payload emits");
        assert!(data.starts_with(&bytes));
        assert_eq!(
            MessngrPayload::parse(&bytes).expect("emitted payload parses"),
            p
        );
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(w) = Repr::parse(data) {
        let bytes = w.to_vec().expect("a parsed write emits");
        assert_eq!(Repr::parse(&bytes).expect("emitted write parses"), w);
        assert_eq!(bytes.len(), data.len());
        assert!(
            bytes
                .iter()
                .zip(data)
                .enumerate()
                .all(|(i, (a, b))| a == b || i == 6)
        );
        payload_round_trip(w.data);
    }
    payload_round_trip(data);
});
