//! Constructors for every packet of the catalogue (netbios-names.md §3.3).
//!
//! Each sets the flags word of the catalogue, the counts follow from the
//! sections. Requests carry the question; registration-type requests add the
//! NB record whose RR_NAME is emitted as the pointer `C0 0C`. Responses carry
//! one answer record with the full name.

use core::net::Ipv4Addr;

use super::{
    CLASS_IN, DomainName, Flags, INFINITE_TTL, NbEntries, NbEntry, NodeNames, NodeStatus, Question,
    RData, RecordType, Records, Repr, ResourceRecord, RrName,
};
use crate::wire::name::EncodedName;
use crate::wire::nbns::Rcode;

impl<'a> Repr<'a> {
    fn request(trn_id: u16, flags: u16, question: Question<'a>, additional: Records<'a>) -> Self {
        Self {
            trn_id,
            flags: Flags::from_bits(flags),
            question: Some(question),
            answers: Records::EMPTY,
            authority: Records::EMPTY,
            additional,
        }
    }

    fn response(trn_id: u16, flags: u16, answer: ResourceRecord<'a>) -> Self {
        Self {
            trn_id,
            flags: Flags::from_bits(flags),
            question: None,
            answers: Records::one(answer),
            authority: Records::EMPTY,
            additional: Records::EMPTY,
        }
    }

    fn with_nb(trn_id: u16, flags: u16, name: EncodedName<'a>, ttl: u32, entry: NbEntry) -> Self {
        let rr = ResourceRecord::nb(name, ttl, NbEntries::one(entry));
        Self::request(trn_id, flags, Question::nb(name), Records::one(rr))
    }

    /// Name query request (RFC 1002 §4.2.12): broadcast 0x0110 (RD, B) or
    /// unicast 0x0100 (RD; nmblookup `-U` sends 0x0000, also accepted).
    pub fn name_query_request(trn_id: u16, name: EncodedName<'a>, broadcast: bool) -> Self {
        let flags = if broadcast { 0x0110 } else { 0x0100 };
        Self::request(trn_id, flags, Question::nb(name), Records::EMPTY)
    }

    /// Node status request (§4.2.17): 0x0000, or 0x0010 when broadcast;
    /// question type NBSTAT, normally for [`EncodedName`] of
    /// [`NetbiosName::WILDCARD`](crate::wire::name::NetbiosName::WILDCARD).
    pub fn node_status_request(trn_id: u16, name: EncodedName<'a>, broadcast: bool) -> Self {
        let question = Question {
            name,
            qtype: RecordType::NbStat,
            class: CLASS_IN,
        };
        Self::request(
            trn_id,
            if broadcast { 0x0010 } else { 0x0000 },
            question,
            Records::EMPTY,
        )
    }

    /// Positive name query response (§4.2.13): 0x8500, or 0x8580 with RA as
    /// nmbd sends it; NB record with `ttl` and the owners.
    pub fn positive_query_response(
        trn_id: u16,
        name: EncodedName<'a>,
        ttl: u32,
        owners: NbEntries<'a>,
        recursion_available: bool,
    ) -> Self {
        let flags = if recursion_available { 0x8580 } else { 0x8500 };
        Self::response(trn_id, flags, ResourceRecord::nb(name, ttl, owners))
    }

    /// Negative name query response (§4.2.14): 0x8500 | RCODE (normally
    /// [`Rcode::NamErr`], 0x8503); NULL record, TTL 0, no RDATA.
    pub fn negative_query_response(trn_id: u16, name: EncodedName<'a>, rcode: Rcode) -> Self {
        let rr = ResourceRecord {
            name: RrName::NetBios(name),
            rtype: RecordType::Null,
            class: CLASS_IN,
            ttl: 0,
            rdata: RData::Raw(&[]),
        };
        Self::response(trn_id, 0x8500 | u16::from(u8::from(rcode)), rr)
    }

    /// Redirect name query response (§4.2.15): 0x8100, an NS authority
    /// record naming the NBNS `server` for `domain`, and an A additional
    /// record with the server's address.
    pub fn redirect_query_response(
        trn_id: u16,
        domain: RrName<'a>,
        ttl: u32,
        server: DomainName<'a>,
        address: Ipv4Addr,
    ) -> Self {
        let ns = ResourceRecord {
            name: domain,
            rtype: RecordType::Ns,
            class: CLASS_IN,
            ttl,
            rdata: RData::Ns(server),
        };
        let a = ResourceRecord {
            name: RrName::Domain(server),
            rtype: RecordType::A,
            class: CLASS_IN,
            ttl,
            rdata: RData::A(address),
        };
        Self {
            trn_id,
            flags: Flags::from_bits(0x8100),
            question: None,
            answers: Records::EMPTY,
            authority: Records::one(ns),
            additional: Records::one(a),
        }
    }

    /// Name registration request (§4.2.2): broadcast 0x2910 (RD, B; TTL 0
    /// as nmbd sends) or unicast to WINS 0x2900.
    pub fn registration_request(
        trn_id: u16,
        name: EncodedName<'a>,
        ttl: u32,
        owner: NbEntry,
        broadcast: bool,
    ) -> Self {
        Self::with_nb(
            trn_id,
            if broadcast { 0x2910 } else { 0x2900 },
            name,
            ttl,
            owner,
        )
    }

    /// Name overwrite request & demand (§4.2.3): 0x2810 broadcast (RD clear),
    /// or the unicast update request 0x2800.
    pub fn overwrite_request(
        trn_id: u16,
        name: EncodedName<'a>,
        ttl: u32,
        owner: NbEntry,
        broadcast: bool,
    ) -> Self {
        Self::with_nb(
            trn_id,
            if broadcast { 0x2810 } else { 0x2800 },
            name,
            ttl,
            owner,
        )
    }

    /// Name refresh request (§4.2.4): 0x4000 (opcode 8, which Windows NT and
    /// messngr send; opcode 9 is accepted on parse).
    pub fn refresh_request(trn_id: u16, name: EncodedName<'a>, ttl: u32, owner: NbEntry) -> Self {
        Self::with_nb(trn_id, 0x4000, name, ttl, owner)
    }

    /// Multi-homed name registration request ([MS-NBTE] §2.2.2): 0x7900.
    pub fn multihomed_registration_request(
        trn_id: u16,
        name: EncodedName<'a>,
        ttl: u32,
        owner: NbEntry,
    ) -> Self {
        Self::with_nb(trn_id, 0x7900, name, ttl, owner)
    }

    /// Name release request & demand (§4.2.9): broadcast 0x3010 or unicast
    /// 0x3000; TTL 0.
    pub fn release_request(
        trn_id: u16,
        name: EncodedName<'a>,
        owner: NbEntry,
        broadcast: bool,
    ) -> Self {
        Self::with_nb(
            trn_id,
            if broadcast { 0x3010 } else { 0x3000 },
            name,
            INFINITE_TTL,
            owner,
        )
    }

    /// Positive (§4.2.5, [`Rcode::NoError`]) or negative (§4.2.6) name
    /// registration response: 0xAD80 | RCODE. An end node defending its name
    /// sends [`Rcode::ActErr`] (0xAD86), TTL 0, and echoes the request's
    /// RDATA as nmbd does.
    pub fn registration_response(
        trn_id: u16,
        name: EncodedName<'a>,
        ttl: u32,
        owners: NbEntries<'a>,
        rcode: Rcode,
    ) -> Self {
        Self::response(
            trn_id,
            0xAD80 | u16::from(u8::from(rcode)),
            ResourceRecord::nb(name, ttl, owners),
        )
    }

    /// End-node challenge registration response (§4.2.7): 0xAD00 (RA
    /// clear), naming the current owner.
    pub fn end_node_challenge_response(
        trn_id: u16,
        name: EncodedName<'a>,
        ttl: u32,
        owners: NbEntries<'a>,
    ) -> Self {
        Self::response(trn_id, 0xAD00, ResourceRecord::nb(name, ttl, owners))
    }

    /// Name conflict demand (§4.2.8): 0xAD87, TTL 0. netbios-names.md §3.6
    /// derives RDATA = NB_FLAGS + 0.0.0.0.
    pub fn name_conflict_demand(trn_id: u16, name: EncodedName<'a>, entry: NbEntry) -> Self {
        let rr = ResourceRecord::nb(name, 0, NbEntries::one(entry));
        Self::response(trn_id, 0xAD87, rr)
    }

    /// Positive or negative name release response (§4.2.10, §4.2.11):
    /// 0xB400 | RCODE, TTL 0.
    pub fn release_response(
        trn_id: u16,
        name: EncodedName<'a>,
        owners: NbEntries<'a>,
        rcode: Rcode,
    ) -> Self {
        let rr = ResourceRecord::nb(name, 0, owners);
        Self::response(trn_id, 0xB400 | u16::from(u8::from(rcode)), rr)
    }

    /// Wait for acknowledgement (§4.2.16): 0xBC00; `ttl` = seconds the
    /// requester should keep waiting; RDATA = the request's flags word.
    pub fn wack(trn_id: u16, name: EncodedName<'a>, ttl: u32, request_flags: Flags) -> Self {
        let rr = ResourceRecord {
            name: RrName::NetBios(name),
            rtype: RecordType::Nb,
            class: CLASS_IN,
            ttl,
            rdata: RData::Wack(request_flags.bits()),
        };
        Self::response(trn_id, 0xBC00, rr)
    }

    /// Node status response (§4.2.18): 0x8400, NBSTAT record echoing the
    /// queried name, TTL 0.
    pub fn node_status_response(
        trn_id: u16,
        name: EncodedName<'a>,
        names: NodeNames<'a>,
        statistics: &'a [u8],
    ) -> Self {
        let rr = ResourceRecord {
            name: RrName::NetBios(name),
            rtype: RecordType::NbStat,
            class: CLASS_IN,
            ttl: 0,
            rdata: RData::NodeStatus(NodeStatus { names, statistics }),
        };
        Self::response(trn_id, 0x8400, rr)
    }
}
