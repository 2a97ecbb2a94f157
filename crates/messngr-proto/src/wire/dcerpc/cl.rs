//! The connectionless (CL) DCE/RPC PDU: an 80-byte header and a body (C706
//! ch. 12, §12.5; msrp-rpc.md §3). This is what `ncadg_ip_udp` sends, one
//! PDU per UDP datagram.
//!
//! ```text
//!  0 rpc_vers u8   1 ptype u8   2 flags1 u8   3 flags2 u8   4 drep [3]   7 serial_hi u8
//!  8 object UUID [16]          24 if_id UUID [16]          40 act_id UUID [16]
//! 56 server_boot u32   60 if_vers u32   64 seqnum u32   68 opnum u16   70 ihint u16
//! 72 ahint u16   74 len u16   76 fragnum u16   78 auth_proto u8   79 serial_lo u8
//! 80 body [len]
//! ```
//!
//! The header's integers and UUIDs follow the PDU's own `drep` (C706
//! §12.5.3.1): both byte orders are read and written. [`Packet`] is the
//! zero-copy view: after [`Packet::new_checked`] succeeds no accessor panics.
//! [`Repr`] is the parsed PDU: a [`Header`] and the body borrowed from the
//! input. Emitting a parsed `Repr` gives back the same bytes, except that bytes
//! after the body (an authentication verifier, sent only when `auth_proto` is
//! not 0) are not part of the `Repr` and are not emitted.

use crate::wire::{Emit, Error, Result};

use super::uuid::{ByteOrder, UUID_LEN, Uuid};

mod types;
pub use types::{Drep, Flags1, Flags2, PacketType};

/// Bytes of the CL header.
pub const HEADER_LEN: usize = field::SERIAL_LO + 1;
/// `rpc_vers` of every CL PDU (C706 §12.5.3.1).
pub const RPC_VERS: u8 = 4;
/// `ihint`/`ahint` value meaning "no hint" (C706 §12.5.3.1).
pub const NO_HINT: u16 = 0xFFFF;

mod field {
    pub type Field = core::ops::Range<usize>;

    pub const RPC_VERS: usize = 0;
    pub const PTYPE: usize = 1;
    pub const FLAGS1: usize = 2;
    pub const FLAGS2: usize = 3;
    pub const DREP: Field = 4..7;
    pub const SERIAL_HI: usize = 7;
    pub const OBJECT: Field = 8..24;
    pub const IF_ID: Field = 24..40;
    pub const ACT_ID: Field = 40..56;
    pub const SERVER_BOOT: Field = 56..60;
    pub const IF_VERS: Field = 60..64;
    pub const SEQNUM: Field = 64..68;
    pub const OPNUM: Field = 68..70;
    pub const IHINT: Field = 70..72;
    pub const AHINT: Field = 72..74;
    pub const LEN: Field = 74..76;
    pub const FRAGNUM: Field = 76..78;
    pub const AUTH_PROTO: usize = 78;
    pub const SERIAL_LO: usize = 79;

    pub const fn body(len: usize) -> Field {
        super::HEADER_LEN..super::HEADER_LEN + len
    }
}

/// A zero-copy view of a CL PDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer without checking it (accessors may panic on a short one).
    pub const fn new_unchecked(buffer: T) -> Self {
        Self { buffer }
    }

    /// Wraps a buffer after [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Self> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Checks that the header and `len` body bytes are present; after this
    /// succeeds no accessor panics.
    pub fn check_len(&self) -> Result<()> {
        let have = self.buffer.as_ref().len();
        if have < HEADER_LEN {
            return Err(Error::Truncated {
                need: HEADER_LEN,
                have,
            });
        }
        let need = field::body(usize::from(self.len())).end;
        if have < need {
            return Err(Error::Truncated { need, have });
        }
        Ok(())
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn bytes<const N: usize>(&self, f: field::Field) -> [u8; N] {
        let mut out = [0; N];
        out.copy_from_slice(&self.buffer.as_ref()[f]);
        out
    }

    fn u16_at(&self, f: field::Field) -> u16 {
        match self.drep().byte_order() {
            ByteOrder::Big => u16::from_be_bytes(self.bytes(f)),
            ByteOrder::Little => u16::from_le_bytes(self.bytes(f)),
        }
    }

    fn u32_at(&self, f: field::Field) -> u32 {
        match self.drep().byte_order() {
            ByteOrder::Big => u32::from_be_bytes(self.bytes(f)),
            ByteOrder::Little => u32::from_le_bytes(self.bytes(f)),
        }
    }

    fn uuid_at(&self, f: field::Field) -> Uuid {
        Uuid::from_wire(self.bytes::<UUID_LEN>(f), self.drep().byte_order())
    }

    /// `rpc_vers` (4).
    pub fn rpc_vers(&self) -> u8 {
        self.buffer.as_ref()[field::RPC_VERS]
    }
    /// `ptype`.
    pub fn ptype(&self) -> PacketType {
        PacketType::from(self.buffer.as_ref()[field::PTYPE])
    }
    /// `flags1`.
    pub fn flags1(&self) -> Flags1 {
        Flags1(self.buffer.as_ref()[field::FLAGS1])
    }
    /// `flags2`.
    pub fn flags2(&self) -> Flags2 {
        Flags2(self.buffer.as_ref()[field::FLAGS2])
    }
    /// `drep`, which decides how every integer and UUID below is read.
    pub fn drep(&self) -> Drep {
        Drep(self.bytes(field::DREP))
    }
    /// `serial_hi`, high byte of the fragment serial number.
    pub fn serial_hi(&self) -> u8 {
        self.buffer.as_ref()[field::SERIAL_HI]
    }
    /// Object UUID (nil when the call has no object).
    pub fn object(&self) -> Uuid {
        self.uuid_at(field::OBJECT)
    }
    /// Interface UUID.
    pub fn if_id(&self) -> Uuid {
        self.uuid_at(field::IF_ID)
    }
    /// Activity UUID.
    pub fn act_id(&self) -> Uuid {
        self.uuid_at(field::ACT_ID)
    }
    /// Server boot time (0 until the client learns it).
    pub fn server_boot(&self) -> u32 {
        self.u32_at(field::SERVER_BOOT)
    }
    /// Interface version: major in the low 16 bits, minor in the high 16.
    pub fn if_vers(&self) -> u32 {
        self.u32_at(field::IF_VERS)
    }
    /// Sequence number of the call within the activity.
    pub fn seqnum(&self) -> u32 {
        self.u32_at(field::SEQNUM)
    }
    /// Operation number within the interface.
    pub fn opnum(&self) -> u16 {
        self.u16_at(field::OPNUM)
    }
    /// Interface hint.
    pub fn ihint(&self) -> u16 {
        self.u16_at(field::IHINT)
    }
    /// Activity hint.
    pub fn ahint(&self) -> u16 {
        self.u16_at(field::AHINT)
    }
    /// Body length.
    pub fn len(&self) -> u16 {
        self.u16_at(field::LEN)
    }
    /// `true` when the body is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fragment number.
    pub fn fragnum(&self) -> u16 {
        self.u16_at(field::FRAGNUM)
    }
    /// Authentication protocol (0 none).
    pub fn auth_proto(&self) -> u8 {
        self.buffer.as_ref()[field::AUTH_PROTO]
    }
    /// `serial_lo`, low byte of the fragment serial number.
    pub fn serial_lo(&self) -> u8 {
        self.buffer.as_ref()[field::SERIAL_LO]
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Packet<&'a T> {
    /// The body (`len` bytes after the header), with the buffer's lifetime.
    pub fn body(&self) -> &'a [u8] {
        &self.buffer.as_ref()[field::body(usize::from(self.len()))]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    fn put(&mut self, f: field::Field, v: &[u8]) {
        self.buffer.as_mut()[f].copy_from_slice(v);
    }

    fn put_u16(&mut self, f: field::Field, v: u16) {
        match self.drep().byte_order() {
            ByteOrder::Big => self.put(f, &v.to_be_bytes()),
            ByteOrder::Little => self.put(f, &v.to_le_bytes()),
        }
    }

    fn put_u32(&mut self, f: field::Field, v: u32) {
        match self.drep().byte_order() {
            ByteOrder::Big => self.put(f, &v.to_be_bytes()),
            ByteOrder::Little => self.put(f, &v.to_le_bytes()),
        }
    }

    fn put_uuid(&mut self, f: field::Field, v: Uuid) {
        let wire = v.to_wire(self.drep().byte_order());
        self.put(f, &wire);
    }

    /// Sets `rpc_vers`.
    pub fn set_rpc_vers(&mut self, v: u8) {
        self.buffer.as_mut()[field::RPC_VERS] = v;
    }
    /// Sets `ptype`.
    pub fn set_ptype(&mut self, v: PacketType) {
        self.buffer.as_mut()[field::PTYPE] = v.into();
    }
    /// Sets `flags1`.
    pub fn set_flags1(&mut self, v: Flags1) {
        self.buffer.as_mut()[field::FLAGS1] = v.0;
    }
    /// Sets `flags2`.
    pub fn set_flags2(&mut self, v: Flags2) {
        self.buffer.as_mut()[field::FLAGS2] = v.0;
    }
    /// Sets `drep`. Set it before any integer or UUID: they are written in
    /// the byte order it names.
    pub fn set_drep(&mut self, v: Drep) {
        self.put(field::DREP, &v.0);
    }
    /// Sets `serial_hi`.
    pub fn set_serial_hi(&mut self, v: u8) {
        self.buffer.as_mut()[field::SERIAL_HI] = v;
    }
    /// Sets the object UUID.
    pub fn set_object(&mut self, v: Uuid) {
        self.put_uuid(field::OBJECT, v);
    }
    /// Sets the interface UUID.
    pub fn set_if_id(&mut self, v: Uuid) {
        self.put_uuid(field::IF_ID, v);
    }
    /// Sets the activity UUID.
    pub fn set_act_id(&mut self, v: Uuid) {
        self.put_uuid(field::ACT_ID, v);
    }
    /// Sets the server boot time.
    pub fn set_server_boot(&mut self, v: u32) {
        self.put_u32(field::SERVER_BOOT, v);
    }
    /// Sets the interface version.
    pub fn set_if_vers(&mut self, v: u32) {
        self.put_u32(field::IF_VERS, v);
    }
    /// Sets the sequence number.
    pub fn set_seqnum(&mut self, v: u32) {
        self.put_u32(field::SEQNUM, v);
    }
    /// Sets the operation number.
    pub fn set_opnum(&mut self, v: u16) {
        self.put_u16(field::OPNUM, v);
    }
    /// Sets the interface hint.
    pub fn set_ihint(&mut self, v: u16) {
        self.put_u16(field::IHINT, v);
    }
    /// Sets the activity hint.
    pub fn set_ahint(&mut self, v: u16) {
        self.put_u16(field::AHINT, v);
    }
    /// Sets the body length.
    pub fn set_len(&mut self, v: u16) {
        self.put_u16(field::LEN, v);
    }
    /// Sets the fragment number.
    pub fn set_fragnum(&mut self, v: u16) {
        self.put_u16(field::FRAGNUM, v);
    }
    /// Sets the authentication protocol.
    pub fn set_auth_proto(&mut self, v: u8) {
        self.buffer.as_mut()[field::AUTH_PROTO] = v;
    }
    /// Sets `serial_lo`.
    pub fn set_serial_lo(&mut self, v: u8) {
        self.buffer.as_mut()[field::SERIAL_LO] = v;
    }
    /// The body, writable (`len` must be set first).
    pub fn body_mut(&mut self) -> &mut [u8] {
        let f = field::body(usize::from(self.len()));
        &mut self.buffer.as_mut()[f]
    }
}

/// Every header field except `len` (which is the body's length), decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Header {
    /// `rpc_vers`; [`RPC_VERS`] (the high nibble is ignored by receivers).
    pub rpc_vers: u8,
    /// PDU type.
    pub ptype: PacketType,
    /// `flags1`.
    pub flags1: Flags1,
    /// `flags2`.
    pub flags2: Flags2,
    /// Data representation of the header and the body.
    pub drep: Drep,
    /// High byte of the serial number.
    pub serial_hi: u8,
    /// Object UUID.
    pub object: Uuid,
    /// Interface UUID.
    pub if_id: Uuid,
    /// Activity UUID.
    pub act_id: Uuid,
    /// Server boot time.
    pub server_boot: u32,
    /// Interface version (major in the low 16 bits).
    pub if_vers: u32,
    /// Sequence number.
    pub seqnum: u32,
    /// Operation number.
    pub opnum: u16,
    /// Interface hint.
    pub ihint: u16,
    /// Activity hint.
    pub ahint: u16,
    /// Fragment number.
    pub fragnum: u16,
    /// Authentication protocol.
    pub auth_proto: u8,
    /// Low byte of the serial number.
    pub serial_lo: u8,
}

impl Header {
    /// A header of type `ptype` with the defaults messngr sends: version 4,
    /// little-endian `drep`, no flags, nil UUIDs, no hints, zeros elsewhere.
    pub const fn new(ptype: PacketType) -> Self {
        Self {
            rpc_vers: RPC_VERS,
            ptype,
            flags1: Flags1(0),
            flags2: Flags2(0),
            drep: Drep::LITTLE_ENDIAN,
            serial_hi: 0,
            object: Uuid::NIL,
            if_id: Uuid::NIL,
            act_id: Uuid::NIL,
            server_boot: 0,
            if_vers: 0,
            seqnum: 0,
            opnum: 0,
            ihint: NO_HINT,
            ahint: NO_HINT,
            fragnum: 0,
            auth_proto: 0,
            serial_lo: 0,
        }
    }

    /// Interface major version (low 16 bits of `if_vers`).
    pub const fn if_vers_major(&self) -> u16 {
        (self.if_vers & 0xFFFF) as u16
    }

    /// Interface minor version (high 16 bits of `if_vers`).
    pub const fn if_vers_minor(&self) -> u16 {
        (self.if_vers >> 16) as u16
    }

    /// The 16-bit fragment serial number (`serial_hi`, `serial_lo`).
    pub const fn serial(&self) -> u16 {
        u16::from_be_bytes([self.serial_hi, self.serial_lo])
    }

    /// Reads the header of a checked packet. Fails on an `rpc_vers` whose
    /// low nibble is not 4 and on an integer representation other than big-
    /// or little-endian (msrp-rpc.md §6 step 1).
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Self> {
        let have = packet.buffer.as_ref().len();
        if have < HEADER_LEN {
            return Err(Error::Truncated {
                need: HEADER_LEN,
                have,
            });
        }
        if packet.rpc_vers() & 0x0F != RPC_VERS {
            return Err(Error::Unsupported(
                "DCE/RPC version other than 4 (connectionless)",
            ));
        }
        if packet.drep().integer_rep() > 1 {
            return Err(Error::Malformed("drep integer representation not 0 or 1"));
        }
        packet.check_len()?;
        Ok(Self {
            rpc_vers: packet.rpc_vers(),
            ptype: packet.ptype(),
            flags1: packet.flags1(),
            flags2: packet.flags2(),
            drep: packet.drep(),
            serial_hi: packet.serial_hi(),
            object: packet.object(),
            if_id: packet.if_id(),
            act_id: packet.act_id(),
            server_boot: packet.server_boot(),
            if_vers: packet.if_vers(),
            seqnum: packet.seqnum(),
            opnum: packet.opnum(),
            ihint: packet.ihint(),
            ahint: packet.ahint(),
            fragnum: packet.fragnum(),
            auth_proto: packet.auth_proto(),
            serial_lo: packet.serial_lo(),
        })
    }

    /// Writes the 80 header bytes, with `len` = `body_len`, into a packet of
    /// at least [`HEADER_LEN`] bytes. The body is not touched.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>, body_len: u16) {
        packet.set_drep(self.drep);
        packet.set_rpc_vers(self.rpc_vers);
        packet.set_ptype(self.ptype);
        packet.set_flags1(self.flags1);
        packet.set_flags2(self.flags2);
        packet.set_serial_hi(self.serial_hi);
        packet.set_object(self.object);
        packet.set_if_id(self.if_id);
        packet.set_act_id(self.act_id);
        packet.set_server_boot(self.server_boot);
        packet.set_if_vers(self.if_vers);
        packet.set_seqnum(self.seqnum);
        packet.set_opnum(self.opnum);
        packet.set_ihint(self.ihint);
        packet.set_ahint(self.ahint);
        packet.set_len(body_len);
        packet.set_fragnum(self.fragnum);
        packet.set_auth_proto(self.auth_proto);
        packet.set_serial_lo(self.serial_lo);
    }

    /// Checks `buf` for [`HEADER_LEN`] + `body_len` bytes, writes the header
    /// and returns the packet view for the body to be filled in.
    pub fn emit_into<'b>(
        &self,
        buf: &'b mut [u8],
        body_len: usize,
    ) -> Result<Packet<&'b mut [u8]>> {
        let len =
            u16::try_from(body_len).map_err(|_| Error::TooLong("CL PDU body (len is 16 bits)"))?;
        let need = field::body(body_len).end;
        let have = buf.len();
        let buf = buf
            .get_mut(..need)
            .ok_or(Error::BufferTooSmall { need, have })?;
        let mut packet = Packet::new_unchecked(buf);
        self.emit(&mut packet, len);
        Ok(packet)
    }
}

/// A parsed CL PDU: header and body, borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repr<'a> {
    /// The header (`len` is `body.len()`).
    pub header: Header,
    /// The body: stub data of a request/response, status of a fault/reject.
    pub body: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Parses a packet view, checked or not: [`Header::parse`] checks the
    /// lengths itself (and says what else is refused).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Self> {
        let header = Header::parse(packet)?;
        Ok(Self {
            header,
            body: packet.body(),
        })
    }

    /// Parses a UDP payload.
    pub fn parse_bytes(buf: &'a [u8]) -> Result<Self> {
        Self::parse(&Packet::new_unchecked(buf))
    }
}

impl Emit for Repr<'_> {
    fn buffer_len(&self) -> usize {
        HEADER_LEN + self.body.len()
    }

    fn emit(&self, buf: &mut [u8]) -> Result<usize> {
        let mut packet = self.header.emit_into(buf, self.body.len())?;
        packet.body_mut().copy_from_slice(self.body);
        Ok(self.buffer_len())
    }
}

#[cfg(test)]
mod tests;
