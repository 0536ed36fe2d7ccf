//! The protocol specs of a firewall rule's `allow` and `deny` lists:
//! `PROTOCOL` or `PROTOCOL:PORTS`, e.g. `icmp`, `tcp:22`, `tcp:80,443`,
//! `udp:8000-8080`, `50` (a protocol number).

use super::model::FirewallRule;
use super::suggest::closest;

/// Protocol names GCP accepts in `allowed[].IPProtocol` / `denied[].IPProtocol`.
pub const PROTOCOLS: &[&str] = &["tcp", "udp", "icmp", "esp", "ah", "sctp", "ipip", "all"];

/// Protocols that may carry a port list.
pub const PORT_PROTOCOLS: &[&str] = &["tcp", "udp", "sctp"];

/// One parsed entry of `allow` or `deny`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolSpec {
    /// Protocol name (lowercase) or number, as the compute API's `IPProtocol`.
    pub protocol: String,
    /// Ports and port ranges (`"80"`, `"8000-8080"`); empty means all ports.
    pub ports: Vec<String>,
}

/// Why a protocol spec is wrong, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

fn err(message: String, help: impl Into<String>) -> SpecError {
    SpecError {
        message,
        help: help.into(),
    }
}

/// Parses one `allow`/`deny` entry.
///
/// # Errors
///
/// When the protocol is unknown, ports are given for a protocol without ports,
/// or a port is not `N` or `N-M` with `1 <= N <= M <= 65535`.
pub fn parse_spec(spec: &str) -> Result<ProtocolSpec, SpecError> {
    let (protocol, ports) = match spec.split_once(':') {
        Some((p, ports)) => (p, Some(ports)),
        None => (spec, None),
    };
    let known = format!(
        "use one of {} or a protocol number from 0 to 255",
        PROTOCOLS.join(", ")
    );
    let is_number = !protocol.is_empty() && protocol.bytes().all(|b| b.is_ascii_digit());
    if is_number {
        if protocol.parse::<u8>().is_err() {
            return Err(err(
                format!("protocol number {protocol} in \"{spec}\" is out of range"),
                known,
            ));
        }
    } else if !PROTOCOLS.contains(&protocol) {
        let help = match closest(protocol, PROTOCOLS) {
            Some(c) => format!("did you mean \"{c}\"? {known}"),
            None => known,
        };
        return Err(err(
            format!("unknown protocol \"{protocol}\" in \"{spec}\""),
            help,
        ));
    }
    let Some(ports) = ports else {
        return Ok(ProtocolSpec {
            protocol: protocol.to_owned(),
            ports: Vec::new(),
        });
    };
    if !PORT_PROTOCOLS.contains(&protocol) {
        return Err(err(
            format!("\"{spec}\" gives ports, but only tcp, udp and sctp have ports"),
            format!("write \"{protocol}\" without \":{ports}\""),
        ));
    }
    let ports = ports
        .split(',')
        .map(|p| check_ports(spec, p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ProtocolSpec {
        protocol: protocol.to_owned(),
        ports,
    })
}

/// Checks one comma-separated part of a port list: `N` or `N-M`.
fn check_ports(spec: &str, part: &str) -> Result<String, SpecError> {
    let help = "write ports as N or N-M with 1 <= N <= M <= 65535, \
                comma-separated, e.g. \"tcp:80,443,8000-8080\"";
    let port = |s: &str| s.parse::<u16>().ok().filter(|p| *p >= 1);
    let bad = |why: &str| err(format!("bad port \"{part}\" in \"{spec}\": {why}"), help);
    match part.split_once('-') {
        None => port(part)
            .map(|_| part.to_owned())
            .ok_or_else(|| bad("not a port from 1 to 65535")),
        Some((lo, hi)) => match (port(lo), port(hi)) {
            (Some(l), Some(h)) if l <= h => Ok(part.to_owned()),
            (Some(_), Some(_)) => Err(bad("the range ends before it starts")),
            _ => Err(bad("not a range of ports from 1 to 65535")),
        },
    }
}

/// The rule's traffic as the compute API's `allowed[]` (or `denied[]`) entries:
/// `(IPProtocol, ports)` per spec, in order, from `allow` if it is non-empty,
/// otherwise from `deny`.
///
/// Meant for rules of a validated plan, whose specs all parse; a spec that does
/// not parse is left out.
pub fn port_specs(rule: &FirewallRule) -> Vec<(String, Vec<String>)> {
    let specs = if rule.allow.is_empty() {
        &rule.deny
    } else {
        &rule.allow
    };
    specs
        .iter()
        .filter_map(|s| parse_spec(s).ok())
        .map(|s| (s.protocol, s.ports))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(spec: &str) -> (String, Vec<String>) {
        let s = parse_spec(spec).unwrap();
        (s.protocol, s.ports)
    }

    fn bad(spec: &str) -> String {
        parse_spec(spec).unwrap_err().message
    }

    #[test]
    fn accepts_names_numbers_ports_and_ranges() {
        assert_eq!(ok("icmp"), ("icmp".into(), vec![]));
        assert_eq!(ok("all"), ("all".into(), vec![]));
        assert_eq!(ok("50"), ("50".into(), vec![]));
        assert_eq!(ok("tcp:22"), ("tcp".into(), vec!["22".into()]));
        assert_eq!(
            ok("tcp:80,443,8000-8080"),
            (
                "tcp".into(),
                vec!["80".into(), "443".into(), "8000-8080".into()]
            )
        );
        assert_eq!(ok("sctp:1-65535"), ("sctp".into(), vec!["1-65535".into()]));
    }

    #[test]
    fn rejects_bad_protocols_and_ports() {
        assert_eq!(bad("tpc:22"), "unknown protocol \"tpc\" in \"tpc:22\"");
        assert_eq!(
            parse_spec("tpc:22").unwrap_err().help,
            "did you mean \"tcp\"? use one of tcp, udp, icmp, esp, ah, sctp, ipip, all \
             or a protocol number from 0 to 255"
        );
        assert_eq!(bad("TCP"), "unknown protocol \"TCP\" in \"TCP\"");
        assert_eq!(bad("256"), "protocol number 256 in \"256\" is out of range");
        assert_eq!(
            bad("icmp:8"),
            "\"icmp:8\" gives ports, but only tcp, udp and sctp have ports"
        );
        assert_eq!(
            bad("6:80"),
            "\"6:80\" gives ports, but only tcp, udp and sctp have ports"
        );
        assert_eq!(
            bad("tcp:0"),
            "bad port \"0\" in \"tcp:0\": not a port from 1 to 65535"
        );
        assert_eq!(
            bad("tcp:65536"),
            "bad port \"65536\" in \"tcp:65536\": not a port from 1 to 65535"
        );
        assert_eq!(
            bad("tcp:90-80"),
            "bad port \"90-80\" in \"tcp:90-80\": the range ends before it starts"
        );
        assert_eq!(
            bad("udp:80,"),
            "bad port \"\" in \"udp:80,\": not a port from 1 to 65535"
        );
        assert_eq!(
            bad("tcp:1-x"),
            "bad port \"1-x\" in \"tcp:1-x\": not a range of ports from 1 to 65535"
        );
        assert_eq!(bad(""), "unknown protocol \"\" in \"\"");
    }

    #[test]
    fn port_specs_use_allow_or_deny() {
        let mut rule: FirewallRule = toml::from_str(
            r#"
            name = "r"
            allow = ["tcp:80,443", "icmp"]
            "#,
        )
        .unwrap();
        assert_eq!(
            port_specs(&rule),
            vec![
                ("tcp".to_owned(), vec!["80".to_owned(), "443".to_owned()]),
                ("icmp".to_owned(), vec![]),
            ]
        );
        rule.deny = std::mem::take(&mut rule.allow);
        assert_eq!(port_specs(&rule).len(), 2);
    }
}
