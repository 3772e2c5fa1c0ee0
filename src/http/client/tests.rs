//! The client-address rules, case by case, without a server.

use std::net::IpAddr;

use super::{client_ip, parse_node, HeaderFormat, MAX_HOPS};
use crate::config::TrustedProxies;

const PEER: &str = "127.0.0.1";

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

fn listed(ranges: &str) -> TrustedProxies {
    TrustedProxies::parse(ranges).unwrap()
}

fn resolve(peer: &str, values: &[&str], format: HeaderFormat, trusted: &TrustedProxies) -> String {
    let values: Vec<&[u8]> = values.iter().map(|value| value.as_bytes()).collect();
    client_ip(ip(peer), &values, format, trusted).to_string()
}

fn xff(values: &[&str], trusted: &TrustedProxies) -> String {
    resolve(PEER, values, HeaderFormat::AddressList, trusted)
}

fn forwarded(values: &[&str], trusted: &TrustedProxies) -> String {
    resolve(PEER, values, HeaderFormat::Forwarded, trusted)
}

#[test]
fn nodes_with_or_without_ports_parse() {
    assert_eq!(parse_node("203.0.113.7", false), Some(ip("203.0.113.7")));
    assert_eq!(
        parse_node("203.0.113.7:443", false),
        Some(ip("203.0.113.7"))
    );
    assert_eq!(
        parse_node("[2001:db8::1]:443", false),
        Some(ip("2001:db8::1"))
    );
    assert_eq!(parse_node("[2001:db8::1]", false), Some(ip("2001:db8::1")));
    assert_eq!(parse_node("2001:db8::1", false), Some(ip("2001:db8::1")));
    assert_eq!(
        parse_node("::ffff:198.51.100.1", false),
        Some(ip("198.51.100.1"))
    );
    assert_eq!(
        parse_node("[2001:db8::1]:_port", true),
        Some(ip("2001:db8::1"))
    );
    assert_eq!(parse_node("192.0.2.1:_p", true), Some(ip("192.0.2.1")));
    for bad in [
        "not-an-ip",
        "unknown",
        "_hidden",
        "",
        "203.0.113.7:99999",
        "203.0.113.7:",
        "[2001:db8::1]:_port",
        "[2001:db8::1",
        "[203.0.113.7]",
        "fe80::1%eth0",
        "example.com:80",
        "1.2.3.4 5.6.7.8",
    ] {
        assert_eq!(parse_node(bad, false), None, "{bad:?}");
    }
}

#[test]
fn by_default_the_right_most_entry_is_the_client() {
    let trusted = TrustedProxies::default();
    assert_eq!(xff(&["6.6.6.6, 203.0.113.9"], &trusted), "203.0.113.9");
    assert_eq!(xff(&["203.0.113.9"], &trusted), "203.0.113.9");
    assert_eq!(xff(&[" 203.0.113.9 "], &trusted), "203.0.113.9");
    assert_eq!(
        xff(&["6.6.6.6", "203.0.113.9"], &trusted),
        "203.0.113.9",
        "the last occurrence is the nearest"
    );
    assert_eq!(
        xff(&["6.6.6.6, 127.0.0.1"], &trusted),
        "127.0.0.1",
        "no address in the header is a hop by default"
    );
}

#[test]
fn without_the_header_or_with_garbage_the_peer_stays_the_client() {
    let trusted = TrustedProxies::default();
    assert_eq!(xff(&[], &trusted), PEER);
    for garbage in [
        "",
        "garbage",
        "6.6.6.6, garbage",
        "6.6.6.6,",
        "unknown",
        "1.2.3.4;x",
    ] {
        assert_eq!(xff(&[garbage], &trusted), PEER, "{garbage:?}");
    }
    let overlong = format!("6.6.6.6, {}", "1".repeat(300));
    assert_eq!(xff(&[&overlong], &trusted), PEER);
    let values: Vec<&[u8]> = vec![b"6.6.6.6, \xff\xfe"];
    assert_eq!(
        client_ip(ip(PEER), &values, HeaderFormat::AddressList, &trusted),
        ip(PEER)
    );
}

#[test]
fn client_written_garbage_on_the_left_never_matters() {
    let trusted = listed("127.0.0.1, 10.0.0.0/8");
    let values: Vec<&[u8]> = vec![b"\xff\"garbage, unknown,, 6.6.6.6, 203.0.113.9, 10.0.0.2"];
    assert_eq!(
        client_ip(ip(PEER), &values, HeaderFormat::AddressList, &trusted),
        ip("203.0.113.9")
    );
}

#[test]
fn listed_hops_are_skipped_from_the_right() {
    let trusted = listed("127.0.0.1, 10.0.0.0/8, fd00::/8");
    assert_eq!(
        xff(&["6.6.6.6, 203.0.113.9, 10.0.0.2, fd00::7"], &trusted),
        "203.0.113.9"
    );
    assert_eq!(
        xff(&["6.6.6.6, 203.0.113.9", "10.1.1.1"], &trusted),
        "203.0.113.9",
        "over several occurrences"
    );
    assert_eq!(
        xff(&["10.0.0.5, 10.0.0.2"], &trusted),
        "10.0.0.5",
        "all trusted: the left-most"
    );
    assert_eq!(xff(&["2001:db8::5, 10.0.0.2"], &trusted), "2001:db8::5");
}

#[test]
fn a_malformed_entry_falls_back_to_the_nearest_trusted_hop() {
    let trusted = listed("127.0.0.1, 10.0.0.0/8");
    assert_eq!(xff(&["6.6.6.6, garbage, 10.0.0.2"], &trusted), "10.0.0.2");
    assert_eq!(xff(&["6.6.6.6, unknown"], &trusted), PEER);
    assert_eq!(xff(&["6.6.6.6,, 10.0.0.3, 10.0.0.2"], &trusted), "10.0.0.3");
}

#[test]
fn an_untrusted_peer_is_the_client_whatever_it_sends() {
    let trusted = listed("10.0.0.0/8");
    assert_eq!(xff(&["6.6.6.6"], &trusted), PEER);
    assert_eq!(forwarded(&["for=6.6.6.6"], &trusted), PEER);
    assert_eq!(
        resolve(
            "10.0.0.1",
            &["6.6.6.6"],
            HeaderFormat::AddressList,
            &trusted
        ),
        "6.6.6.6"
    );
    assert_eq!(
        resolve(
            "::ffff:10.0.0.1",
            &["6.6.6.6"],
            HeaderFormat::AddressList,
            &trusted
        ),
        "6.6.6.6",
        "an IPv4 peer seen on a dual-stack socket is still trusted"
    );
}

#[test]
fn only_a_bounded_number_of_hops_is_examined() {
    let trusted = listed("127.0.0.1, 10.0.0.0/8");
    let hops = vec!["10.0.0.9"; MAX_HOPS].join(", ");
    let value = format!("6.6.6.6, {hops}");
    assert_eq!(xff(&[&value], &trusted), "10.0.0.9");
    let fewer = vec!["10.0.0.9"; MAX_HOPS - 1].join(", ");
    assert_eq!(xff(&[&format!("6.6.6.6, {fewer}")], &trusted), "6.6.6.6");
}

#[test]
fn forwarded_for_parameters_are_understood() {
    let trusted = TrustedProxies::default();
    assert_eq!(
        forwarded(&["for=6.6.6.6, for=203.0.113.9;proto=https"], &trusted),
        "203.0.113.9"
    );
    assert_eq!(
        forwarded(&["for=6.6.6.6, For=\"[2001:db8::1]:4711\""], &trusted),
        "2001:db8::1"
    );
    assert_eq!(
        forwarded(
            &["proto=http;by=10.0.0.1; for=\"192.0.2.60:8080\";"],
            &trusted
        ),
        "192.0.2.60"
    );
    assert_eq!(
        forwarded(&["for=6.6.6.6", "for=203.0.113.9"], &trusted),
        "203.0.113.9"
    );
    assert_eq!(
        forwarded(&["for=\"[2001:db8::1]:_hidden\""], &trusted),
        "2001:db8::1"
    );
}

#[test]
fn unknown_obfuscated_or_broken_forwarded_elements_are_not_addresses() {
    let trusted = listed("127.0.0.1, 10.0.0.0/8");
    for broken in [
        "for=unknown",
        "for=_hidden",
        "for=\"_hidden\"",
        "proto=https",
        "for=203.0.113.9;for=6.6.6.6",
        "for=\"203.0.113.9",
        "for=\"[2001:db8::1]:4711",
        "for=\"a\\\"b\"",
        "for",
        "for=example.com",
    ] {
        let value = format!("for=6.6.6.6, {broken}, for=10.0.0.2");
        assert_eq!(forwarded(&[&value], &trusted), "10.0.0.2", "{broken:?}");
    }
    assert_eq!(
        forwarded(&["for=\"x, for=203.0.113.9"], &trusted),
        "203.0.113.9",
        "an unbalanced quote written by the client hides nothing to its right"
    );
    assert_eq!(
        forwarded(&["for=\"6.6.6.6,x\", for=10.0.0.2"], &trusted),
        "10.0.0.2",
        "a quoted comma left of the trusted hop stops the walk there"
    );
}

#[test]
fn forwarded_hops_are_skipped_like_address_lists() {
    let trusted = listed("127.0.0.1, 10.0.0.0/8, fd00::/8");
    assert_eq!(
        forwarded(
            &["for=6.6.6.6, for=203.0.113.9, for=\"[fd00::2]:80\";by=10.0.0.1, for=10.0.0.3"],
            &trusted
        ),
        "203.0.113.9"
    );
}

#[test]
fn the_header_name_picks_the_format() {
    assert_eq!(HeaderFormat::of("forwarded"), HeaderFormat::Forwarded);
    assert_eq!(HeaderFormat::of("Forwarded"), HeaderFormat::Forwarded);
    assert_eq!(
        HeaderFormat::of("x-forwarded-for"),
        HeaderFormat::AddressList
    );
    assert_eq!(HeaderFormat::of("x-real-ip"), HeaderFormat::AddressList);
}

#[test]
fn the_start_up_line_says_whom_the_header_is_believed_from() {
    let config = |pairs: &'static [(&'static str, &'static str)]| {
        crate::config::Config::from_vars(&move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
        .unwrap()
    };
    assert_eq!(super::describe(&config(&[])), "the TCP peer");
    assert_eq!(
        super::describe(&config(&[
            ("LATCHKEY_CLIENT_IP_HEADER", "X-Forwarded-For"),
            ("LATCHKEY_TRUSTED_PROXIES", "10.0.0.0/8, ::1"),
        ])),
        "right-most untrusted entry of x-forwarded-for, believed from trusted proxies: \
         10.0.0.0/8, ::1/128"
    );
}
