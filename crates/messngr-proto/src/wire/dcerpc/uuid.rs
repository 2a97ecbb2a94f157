//! DCE UUIDs as they travel in DCE/RPC headers (C706 appendix A, ch. 12).
//!
//! A UUID is the C structure `{ u32 time_low; u16 time_mid; u16
//! time_hi_and_version; u8 clock_seq_hi; u8 clock_seq_low; u8 node[6] }`. Its
//! text form prints the fields in that order, most significant byte first:
//! `5A7B91F8-FF00-11D0-A9B2-00C04FB6E6FC`. On the wire the three integers
//! follow the PDU's data representation (`drep`): with little-endian
//! integers they are byte-swapped, so that UUID is sent as
//! `F8 91 7B 5A 00 FF D0 11 A9 B2 00 C0 4F B6 E6 FC` (msrp-rpc.md §3).
//!
//! [`Uuid`] keeps the 16 bytes in text order and converts at the edges. Version
//! bits are never validated: spam tools put timestamps and 0xFF bytes in
//! activity ids (msrp-rpc.md §3).

use core::fmt;
use core::str::FromStr;

use crate::wire::{Error, Result};

/// Bytes in an encoded UUID.
pub const UUID_LEN: usize = 16;

/// Byte order of the integers of a PDU, from the high nibble of `drep[0]`
/// (C706 §14.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteOrder {
    /// Big-endian integers (`drep[0]` high nibble 0).
    Big,
    /// Little-endian integers (`drep[0]` high nibble 1), what every peer sends.
    Little,
}

/// A DCE UUID, stored in text order (most significant byte of `time_low`
/// first), whatever order it had on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid([u8; UUID_LEN]);

impl Uuid {
    /// The nil UUID, all zero (the object UUID of a call without an object).
    pub const NIL: Self = Self([0; UUID_LEN]);

    /// A UUID from its 16 bytes in text order (`5A 7B 91 F8 FF 00 …`).
    pub const fn from_bytes(bytes: [u8; UUID_LEN]) -> Self {
        Self(bytes)
    }

    /// The 16 bytes in text order.
    pub const fn as_bytes(&self) -> &[u8; UUID_LEN] {
        &self.0
    }

    /// A UUID from its wire encoding under `order`: with
    /// [`ByteOrder::Little`] the first three fields are byte-swapped.
    pub const fn from_wire(wire: [u8; UUID_LEN], order: ByteOrder) -> Self {
        match order {
            ByteOrder::Big => Self(wire),
            ByteOrder::Little => Self(swap_fields(wire)),
        }
    }

    /// The wire encoding of this UUID under `order`.
    pub const fn to_wire(&self, order: ByteOrder) -> [u8; UUID_LEN] {
        match order {
            ByteOrder::Big => self.0,
            ByteOrder::Little => swap_fields(self.0),
        }
    }

    /// `true` for [`Uuid::NIL`].
    pub fn is_nil(&self) -> bool {
        self.0 == [0; UUID_LEN]
    }
}

/// Reverses `time_low`, `time_mid` and `time_hi_and_version` (its own inverse).
const fn swap_fields(b: [u8; UUID_LEN]) -> [u8; UUID_LEN] {
    [
        b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10], b[11], b[12], b[13],
        b[14], b[15],
    ]
}

impl fmt::Display for Uuid {
    /// Upper-case text form, `5A7B91F8-FF00-11D0-A9B2-00C04FB6E6FC`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

impl FromStr for Uuid {
    type Err = Error;

    /// Parses the 36-character text form, hex digits in either case.
    fn from_str(s: &str) -> Result<Self> {
        let s = s.as_bytes();
        if s.len() != 36 {
            return Err(Error::Malformed("UUID text is not 36 characters"));
        }
        let mut out = [0u8; UUID_LEN];
        let mut digits = s.iter().enumerate().filter_map(|(i, &c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                None
            } else {
                Some(c)
            }
        });
        for (i, &c) in s.iter().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) && c != b'-' {
                return Err(Error::Malformed("UUID text without '-' separators"));
            }
        }
        for byte in &mut out {
            let hi = digits.next().and_then(hex_value);
            let lo = digits.next().and_then(hex_value);
            match (hi, lo) {
                (Some(hi), Some(lo)) => *byte = hi << 4 | lo,
                _ => return Err(Error::Malformed("UUID text with a non-hex digit")),
            }
        }
        Ok(Self(out))
    }
}

fn hex_value(c: u8) -> Option<u8> {
    char::from(c)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const MSGSVCSEND_WIRE_LE: [u8; 16] = [
        0xF8, 0x91, 0x7B, 0x5A, 0x00, 0xFF, 0xD0, 0x11, 0xA9, 0xB2, 0x00, 0xC0, 0x4F, 0xB6, 0xE6,
        0xFC,
    ];

    #[test]
    fn msgsvcsend_uuid_in_both_byte_orders() {
        let u: Uuid = "5A7B91F8-FF00-11D0-A9B2-00C04FB6E6FC".parse().unwrap();
        assert_eq!(u.to_wire(ByteOrder::Little), MSGSVCSEND_WIRE_LE);
        assert_eq!(Uuid::from_wire(MSGSVCSEND_WIRE_LE, ByteOrder::Little), u);
        assert_eq!(u.to_wire(ByteOrder::Big)[..4], [0x5A, 0x7B, 0x91, 0xF8]);
        assert_eq!(u.to_string(), "5A7B91F8-FF00-11D0-A9B2-00C04FB6E6FC");
        assert_eq!(
            format!("{u:?}"),
            "Uuid(5A7B91F8-FF00-11D0-A9B2-00C04FB6E6FC)"
        );
    }

    #[test]
    fn vector_activity_id_decodes_as_wireshark_shows_it() {
        // dcerpc-udp.txt: "Activity: 6d6c616e-0000-4000-8000-000000000001".
        let wire = [
            0x6E, 0x61, 0x6C, 0x6D, 0, 0, 0, 0x40, 0x80, 0, 0, 0, 0, 0, 0, 1,
        ];
        let u = Uuid::from_wire(wire, ByteOrder::Little);
        assert_eq!(u, "6d6c616e-0000-4000-8000-000000000001".parse().unwrap());
    }

    #[test]
    fn bad_text_is_refused() {
        for s in [
            "",
            "5A7B91F8FF0011D0A9B200C04FB6E6FC",
            "5A7B91F8-FF00-11D0-A9B2-00C04FB6E6F",
            "5A7B91F8-FF00-11D0-A9B2-00C04FB6E6FG",
            "5A7B91F8+FF00-11D0-A9B2-00C04FB6E6FC",
            "5A7B91F8-FF00-11D0-A9B2-00C04FB6E6FÜ",
        ] {
            assert!(s.parse::<Uuid>().is_err(), "{s}");
        }
        assert!(Uuid::NIL.is_nil());
    }

    proptest! {
        #[test]
        fn text_and_wire_round_trip(bytes in any::<[u8; 16]>()) {
            let u = Uuid::from_bytes(bytes);
            prop_assert_eq!(u.to_string().parse::<Uuid>().unwrap(), u);
            prop_assert_eq!(u.to_string().to_lowercase().parse::<Uuid>().unwrap(), u);
            for order in [ByteOrder::Big, ByteOrder::Little] {
                prop_assert_eq!(Uuid::from_wire(u.to_wire(order), order), u);
            }
        }

        #[test]
        fn parsing_any_text_never_panics(s in "\\PC{0,40}") {
            let _ = s.parse::<Uuid>();
        }
    }
}
