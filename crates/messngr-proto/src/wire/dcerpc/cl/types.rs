//! The small typed fields of the CL header: PDU type, flags and data
//! representation (C706 §12.5.3, §14.1). Unknown values and unnamed bits are
//! kept so that every header round-trips.

use crate::wire::dcerpc::uuid::ByteOrder;

/// CL PDU types (C706 §12.5.3, table 12-3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketType {
    /// 0, client → server: a call, with the stub in the body.
    Request,
    /// 1, client → server: "is my call still there?"
    Ping,
    /// 2, server → client: the results, with the stub in the body.
    Response,
    /// 3, server → client: the call failed in the server; body u32 status.
    Fault,
    /// 4, server → client: the call is being processed (answer to a ping).
    Working,
    /// 5, server → client: the server has no record of the call.
    Nocall,
    /// 6, server → client: the call was refused before running; body u32 status.
    Reject,
    /// 7, client → server: the response arrived; forget it.
    Ack,
    /// 8, client → server: cancel the call.
    ClCancel,
    /// 9, both: fragment acknowledgement.
    Fack,
    /// 10, server → client: the cancel arrived.
    CancelAck,
    /// Any other value, kept so that it round-trips.
    Unknown(u8),
}

impl From<u8> for PacketType {
    fn from(v: u8) -> Self {
        match v {
            0 => Self::Request,
            1 => Self::Ping,
            2 => Self::Response,
            3 => Self::Fault,
            4 => Self::Working,
            5 => Self::Nocall,
            6 => Self::Reject,
            7 => Self::Ack,
            8 => Self::ClCancel,
            9 => Self::Fack,
            10 => Self::CancelAck,
            other => Self::Unknown(other),
        }
    }
}

impl From<PacketType> for u8 {
    fn from(t: PacketType) -> u8 {
        match t {
            PacketType::Request => 0,
            PacketType::Ping => 1,
            PacketType::Response => 2,
            PacketType::Fault => 3,
            PacketType::Working => 4,
            PacketType::Nocall => 5,
            PacketType::Reject => 6,
            PacketType::Ack => 7,
            PacketType::ClCancel => 8,
            PacketType::Fack => 9,
            PacketType::CancelAck => 10,
            PacketType::Unknown(v) => v,
        }
    }
}

/// `flags1` (C706 §12.5.3.3, names as in C706 without the `PF_` prefix).
/// Unnamed bits are kept as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags1(pub u8);

impl Flags1 {
    /// 0x01 `PF_RESERVED_01`: reserved for implementations (a forwarded packet).
    pub const RESERVED_01: Self = Self(0x01);
    /// 0x02 `PF_LASTFRAG`: last fragment of a multi-packet PDU.
    pub const LAST_FRAG: Self = Self(0x02);
    /// 0x04 `PF_FRAG`: this packet is a fragment.
    pub const FRAG: Self = Self(0x04);
    /// 0x08 `PF_NOFACK`: the sender wants no fack for this fragment.
    pub const NO_FACK: Self = Self(0x08);
    /// 0x10 `PF_MAYBE`: "maybe" call, no response wanted.
    pub const MAYBE: Self = Self(0x10);
    /// 0x20 `PF_IDEMPOTENT`: the call may run more than once.
    pub const IDEMPOTENT: Self = Self(0x20);
    /// 0x40 `PF_BROADCAST`: broadcast call.
    pub const BROADCAST: Self = Self(0x40);
    /// 0x80 `PF_RESERVED_80`: reserved for implementations.
    pub const RESERVED_80: Self = Self(0x80);

    /// `true` when every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

impl core::ops::BitOr for Flags1 {
    type Output = Self;
    fn bitor(self, rhs: Self) -> Self {
        Self(self.0 | rhs.0)
    }
}

/// `flags2` (C706 §12.5.3.3). Unnamed bits are kept as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Flags2(pub u8);

impl Flags2 {
    /// 0x01 `PF2_RESERVED_01`: reserved for implementations.
    pub const RESERVED_01: Self = Self(0x01);
    /// 0x02 `PF2_CANCEL_PENDING`: a cancel was pending at the call's start.
    pub const CANCEL_PENDING: Self = Self(0x02);

    /// `true` when every bit of `other` is set.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }
}

/// The data representation label (C706 §14.1): integer byte order and
/// character set in `[0]`, floating-point format in `[1]`, `[2]` reserved.
/// The three bytes are kept as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Drep(pub [u8; 3]);

impl Drep {
    /// `10 00 00`: little-endian integers, ASCII, IEEE floats; what every
    /// peer sends and what messngr sends.
    pub const LITTLE_ENDIAN: Self = Self([0x10, 0, 0]);
    /// `00 00 00`: big-endian integers, ASCII, IEEE floats.
    pub const BIG_ENDIAN: Self = Self([0x00, 0, 0]);

    /// Integer representation, the high nibble of `[0]` (0 big-, 1 little-endian).
    pub const fn integer_rep(&self) -> u8 {
        self.0[0] >> 4
    }

    /// Character representation, the low nibble of `[0]` (0 ASCII, 1 EBCDIC).
    pub const fn char_rep(&self) -> u8 {
        self.0[0] & 0x0F
    }

    /// Byte order of integers: little-endian exactly when the integer
    /// representation is 1 (anything but 0 and 1 is refused by [`super::Header::parse`]).
    pub const fn byte_order(&self) -> ByteOrder {
        if self.integer_rep() == 1 {
            ByteOrder::Little
        } else {
            ByteOrder::Big
        }
    }
}
