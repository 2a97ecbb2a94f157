//! NetBIOS names: parse at any offset with pointers allowed; whatever parses
//! must emit and parse back to the same name and scope.
#![no_main]
use libfuzzer_sys::fuzz_target;
use messngr_proto::wire::codec::Writer;
use messngr_proto::wire::name::EncodedName;

fuzz_target!(|data: &[u8]| {
    let Some((&pos, packet)) = data.split_first() else {
        return;
    };
    if let Ok((name, end)) = EncodedName::parse(packet, usize::from(pos), true) {
        assert!(end <= packet.len());
        let mut buf = vec![0u8; name.buffer_len()];
        name.emit(&mut Writer::new(&mut buf))
            .expect("buffer_len is exact");
        let (again, len) = EncodedName::parse(&buf, 0, false).expect("emitted name parses");
        assert_eq!(again, name);
        assert_eq!(len, buf.len());
    }
});
