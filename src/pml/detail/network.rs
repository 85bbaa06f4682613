//! Network events (class 5): Operation, Path and Detail as Procmon prints them
//! (`procmon-text.md` §2.5, §2.6, §3.5; layout `format-pml.md` §9.4, §6, table 11.4).
//!
//! Detail block layout (§9.4): u16 flags (bit 0 source is IPv4, bit 1 destination is IPv4,
//! bit 2 TCP), u16 unknown, u32 length, 16-byte source address, 16-byte destination address,
//! u16 source port, u16 destination port, then a UTF-16 list of NUL-terminated strings
//! alternating name / value, ended by an empty string.

use super::Decoded;
use crate::pml::bytes::Rd;
use crate::pml::reader::{Pml, RawEvent};
use std::borrow::Cow;
use std::fmt::Write as _;

/// Operation names with the `TCP ` prefix, indexed by operation number (table 11.4).
const TCP_OPS: [&str; 10] = [
    "TCP Unknown",
    "TCP Other",
    "TCP Send",
    "TCP Receive",
    "TCP Accept",
    "TCP Connect",
    "TCP Disconnect",
    "TCP Reconnect",
    "TCP Retransmit",
    "TCP TCPCopy",
];

/// Operation names with the `UDP ` prefix, indexed by operation number (table 11.4).
const UDP_OPS: [&str; 10] = [
    "UDP Unknown",
    "UDP Other",
    "UDP Send",
    "UDP Receive",
    "UDP Accept",
    "UDP Connect",
    "UDP Disconnect",
    "UDP Reconnect",
    "UDP Retransmit",
    "UDP TCPCopy",
];

/// Offset of the name/value string list in the detail block (§9.4).
const PAIRS_OFFSET: usize = 0x2C;

/// Decode a Network event (class 5, `format-pml.md` §9.4): Operation `TCP `/`UDP ` + name,
/// Path `src:port -> dst:port` with host and service names from the PML host/port tables
/// (§6), Detail `Length: n` (plain decimal) followed by the stored `name: value` pairs.
/// Category is always empty.
pub fn decode(pml: &Pml, ev: &RawEvent) -> Decoded {
    let mut r = Rd::new(ev.detail);
    let flags = r.u16();
    r.skip(2);
    let length = r.u32();
    let src = address(r.bytes(16));
    let dst = address(r.bytes(16));
    let sport = r.u16();
    let dport = r.u16();
    let tcp = flags & 4 != 0;

    let ops = if tcp { &TCP_OPS } else { &UDP_OPS };
    let operation = ops
        .get(usize::from(ev.operation))
        .copied()
        .unwrap_or("<Unknown>");

    let mut path = String::with_capacity(64);
    push_endpoint(&mut path, pml, src, flags & 1 != 0, sport, tcp);
    path.push_str(" -> ");
    push_endpoint(&mut path, pml, dst, flags & 2 != 0, dport, tcp);

    let mut detail = String::with_capacity(64);
    let _ = write!(detail, "Length: {length}");
    push_pairs(&mut detail, ev.detail.get(PAIRS_OFFSET..).unwrap_or(&[]));

    Decoded {
        operation: Cow::Borrowed(operation),
        path,
        detail,
        category: "",
    }
}

/// A 16-byte address field, zero-padded when the block is short.
fn address(b: &[u8]) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[..b.len()].copy_from_slice(b);
    a
}

/// Append `host:port` for one end of a connection (`procmon-text.md` §2.6): the host-table
/// name of the address (IPv4 keys hold the 4 address bytes followed by zeros), else the
/// numeric address; the port-table service name for (port, TCP/UDP), else the decimal port.
/// Table entries with an empty name (failed lookups) count as misses.
fn push_endpoint(out: &mut String, pml: &Pml, addr: [u8; 16], ipv4: bool, port: u16, tcp: bool) {
    let key = if ipv4 {
        let mut k = [0u8; 16];
        k[..4].copy_from_slice(&addr[..4]);
        k
    } else {
        addr
    };
    match pml.hosts.get(&key) {
        // The host table also holds addresses whose name lookup failed, with an empty name.
        Some(name) if !name.is_empty() => out.push_str(name),
        _ if ipv4 => {
            let _ = write!(out, "{}.{}.{}.{}", addr[0], addr[1], addr[2], addr[3]);
        }
        _ => push_ipv6(out, &addr),
    }
    out.push(':');
    match pml.ports.get(&(port, tcp)) {
        Some(name) if !name.is_empty() => out.push_str(name),
        _ => {
            let _ = write!(out, "{port}");
        }
    }
}

/// Append an IPv6 address in compressed form: lower-case hex groups without leading zeros, the
/// longest run (leftmost on a tie) of two or more zero groups written as `::`.
fn push_ipv6(out: &mut String, a: &[u8; 16]) {
    let mut g = [0u16; 8];
    for (i, v) in g.iter_mut().enumerate() {
        *v = u16::from_be_bytes([a[2 * i], a[2 * i + 1]]);
    }
    // Longest run of zero groups.
    let (mut best, mut best_len, mut run, mut run_len) = (0usize, 0usize, 0usize, 0usize);
    for (i, &v) in g.iter().enumerate() {
        if v == 0 {
            if run_len == 0 {
                run = i;
            }
            run_len += 1;
            if run_len > best_len {
                best = run;
                best_len = run_len;
            }
        } else {
            run_len = 0;
        }
    }
    if best_len < 2 {
        best_len = 0;
        best = 8;
    }
    let mut i = 0;
    while i < 8 {
        if i == best {
            out.push_str("::");
            i += best_len;
            continue;
        }
        if i > 0 && i != best + best_len {
            out.push(':');
        }
        let _ = write!(out, "{:x}", g[i]);
        i += 1;
    }
}

/// Append `, name: value` for each pair of the NUL-terminated UTF-16 string list `b`; the list
/// ends at the first empty string or at the end of the block.
fn push_pairs(out: &mut String, b: &[u8]) {
    let mut units = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]]));
    let mut is_name = true;
    loop {
        let start = out.len();
        out.push_str(if is_name { ", " } else { ": " });
        let mut any = false;
        let mut terminated = false;
        for u in char::decode_utf16(units.by_ref().take_while(|&u| {
            terminated = u == 0;
            u != 0
        })) {
            any = true;
            out.push(u.unwrap_or('\u{FFFD}'));
        }
        if is_name && !any {
            out.truncate(start);
            return;
        }
        if !terminated && !any {
            // The block ended: keep a dangling `name: ` as is.
            return;
        }
        is_name = !is_name;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v6(s: &[u16; 8]) -> String {
        let mut a = [0u8; 16];
        for (i, g) in s.iter().enumerate() {
            a[2 * i..2 * i + 2].copy_from_slice(&g.to_be_bytes());
        }
        let mut out = String::new();
        push_ipv6(&mut out, &a);
        out
    }

    #[test]
    fn ipv6_compression() {
        assert_eq!(v6(&[0xff02, 0, 0, 0, 0, 0, 1, 3]), "ff02::1:3");
        assert_eq!(v6(&[0; 8]), "::");
        assert_eq!(v6(&[0, 0, 0, 0, 0, 0, 0, 1]), "::1");
        assert_eq!(v6(&[0xfe80, 0, 0, 0, 0x1, 0, 0, 0]), "fe80::1:0:0:0");
        assert_eq!(v6(&[1, 0, 2, 3, 4, 5, 6, 7]), "1:0:2:3:4:5:6:7");
        assert_eq!(v6(&[1, 2, 3, 4, 5, 6, 0, 0]), "1:2:3:4:5:6::");
    }

    #[test]
    fn pairs() {
        let mut b = Vec::new();
        for s in ["mss", "1460", "seqnum", "0", ""] {
            b.extend(s.encode_utf16().chain([0]).flat_map(u16::to_le_bytes));
        }
        let mut out = String::from("Length: 0");
        push_pairs(&mut out, &b);
        assert_eq!(out, "Length: 0, mss: 1460, seqnum: 0");
        let mut out = String::new();
        push_pairs(&mut out, &b[..10]);
        assert_eq!(out, ", mss: 1");
    }
}
