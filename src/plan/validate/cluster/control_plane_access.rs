//! How meshform reaches a control plane: `access` (dns, public, proxy),
//! `private_endpoint`, `operator_cidr` and `proxy_url`, which must fit together.

use axum::http::Uri;

use super::super::Checker;
use crate::plan::model::{Cluster, ControlPlaneAccess};

/// The name of an access mode as written in the plan file.
fn mode_name(mode: ControlPlaneAccess) -> &'static str {
    match mode {
        ControlPlaneAccess::Dns => "dns",
        ControlPlaneAccess::Public => "public",
        ControlPlaneAccess::Proxy => "proxy",
    }
}

/// `access`, `private_endpoint`, `operator_cidr` and `proxy_url` fit together.
pub(super) fn access(c: &mut Checker<'_>, at: &dyn Fn(&str) -> String, cluster: &Cluster) {
    let mode = cluster.access_mode();
    let name = &cluster.name;
    let described = match cluster.access {
        Some(m) => format!("access = \"{}\"", mode_name(m)),
        None => format!(
            "access = \"{}\" (the default with private_endpoint = {})",
            mode_name(mode),
            cluster.private_endpoint
        ),
    };
    // Where the mode is decided: the explicit key, else private_endpoint.
    let mode_path = if cluster.access.is_some() {
        at("access")
    } else {
        at("private_endpoint")
    };
    match mode {
        ControlPlaneAccess::Public => {
            if cluster.private_endpoint {
                c.push(
                    at("access"),
                    format!(
                        "cluster \"{name}\" has access = \"public\" but private_endpoint = true: \
                         a control plane with only a private endpoint has no public endpoint"
                    ),
                    "use access = \"dns\" (GKE's DNS endpoint, reached with Google \
                     credentials) or access = \"proxy\" with a proxy_url; or set \
                     private_endpoint = false"
                        .into(),
                );
            }
            if cluster.operator_cidr.is_none() {
                c.push(
                    mode_path,
                    format!(
                        "cluster \"{name}\" is reached over its public endpoint ({described}) \
                         but has no operator_cidr"
                    ),
                    "add `operator_cidr = \"203.0.113.7/32\"` with your public IP as a /32 \
                     (e.g. from `curl ifconfig.me`); only authorized networks reach a public \
                     endpoint"
                        .into(),
                );
            }
        }
        ControlPlaneAccess::Proxy => match &cluster.proxy_url {
            None => c.push(
                mode_path,
                format!("cluster \"{name}\" has access = \"proxy\" but no proxy_url"),
                "add `proxy_url = \"socks5://localhost:1080\"`, e.g. for an SSH tunnel \
                 through the bastion: `gcloud compute ssh BASTION --zone ZONE \
                 --tunnel-through-iap -- -N -D 1080`"
                    .into(),
            ),
            Some(url) => {
                if let Some(problem) = proxy_url_problem(url) {
                    c.push(
                        at("proxy_url"),
                        format!("proxy_url \"{url}\" {problem}"),
                        "write scheme://host:port with scheme http, https or socks5, e.g. \
                         \"socks5://localhost:1080\" or \"http://127.0.0.1:8888\""
                            .into(),
                    );
                }
            }
        },
        ControlPlaneAccess::Dns => {}
    }
    if let Some(op) = &cluster.operator_cidr {
        if mode == ControlPlaneAccess::Public {
            c.cidr(at("operator_cidr"), "operator range", op);
        } else {
            c.push(
                at("operator_cidr"),
                format!(
                    "operator_cidr is only used with access = \"public\", but cluster \
                     \"{name}\" has {described}"
                ),
                "remove operator_cidr, or set access = \"public\" and private_endpoint = false"
                    .into(),
            );
        }
    }
    if cluster.proxy_url.is_some() && mode != ControlPlaneAccess::Proxy {
        c.push(
            at("proxy_url"),
            format!(
                "proxy_url is only used with access = \"proxy\", but cluster \"{name}\" has \
                 {described}"
            ),
            "remove proxy_url, or set access = \"proxy\"".into(),
        );
    }
}

/// Why `url` is not a usable proxy URL (`http`, `https` or `socks5`, with a
/// host and a port, nothing else), or `None`.
pub(super) fn proxy_url_problem(url: &str) -> Option<String> {
    let Ok(uri) = url.parse::<Uri>() else {
        return Some("is not a URL".into());
    };
    let Some(scheme) = uri.scheme_str() else {
        return Some("has no scheme".into());
    };
    if !["http", "https", "socks5"]
        .iter()
        .any(|s| s.eq_ignore_ascii_case(scheme))
    {
        return Some(format!(
            "has scheme \"{scheme}\"; only http, https and socks5 proxies are supported"
        ));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Some("has no host".into());
    }
    // `Uri` accepts any digits as a port but only reports ports that fit a u16.
    let host_port = uri.authority().map_or("", |a| a.as_str());
    let host_port = host_port.rsplit_once('@').map_or(host_port, |(_, hp)| hp);
    let port = match host_port.rsplit_once(']') {
        Some((_, rest)) => rest.strip_prefix(':'),
        None => host_port.rsplit_once(':').map(|(_, p)| p),
    };
    match port.filter(|p| !p.is_empty()) {
        None => return Some("has no port".into()),
        Some(p) if p.parse::<u16>().map_or(true, |n| n == 0) => {
            return Some(format!("has port {p}; ports are from 1 to 65535"));
        }
        Some(_) => {}
    }
    if uri.query().is_some() || !matches!(uri.path(), "" | "/") {
        return Some("has a path or query; a proxy URL is only scheme://host:port".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::proxy_url_problem;

    #[test]
    fn public_access_needs_operator_cidr_and_a_public_endpoint() {
        let text = with_cluster("access = \"public\"\n");
        assert_eq!(
            errors(&text),
            [
                "15:10: cluster \"c1\" has access = \"public\" but private_endpoint = true: a control plane with only a private endpoint has no public endpoint",
                "15:10: cluster \"c1\" is reached over its public endpoint (access = \"public\") but has no operator_cidr",
            ]
        );
        let out = rendered(&text);
        assert!(
            out.contains(
                "help: use access = \"dns\" (GKE's DNS endpoint, reached with Google credentials) \
             or access = \"proxy\" with a proxy_url; or set private_endpoint = false"
            ),
            "{out}"
        );
        assert!(out.contains(
            "help: add `operator_cidr = \"203.0.113.7/32\"` with your public IP as a /32 (e.g. \
             from `curl ifconfig.me`)"
        ), "{out}");
        // Without a private endpoint, public access is the default.
        assert_eq!(
            errors(&with_cluster("private_endpoint = false\n")),
            ["15:20: cluster \"c1\" is reached over its public endpoint (access = \"public\" (the default with private_endpoint = false)) but has no operator_cidr"]
        );
        assert_eq!(
            errors(&with_cluster(
                "private_endpoint = false\noperator_cidr = \"203.0.113.7/32\"\n"
            )),
            Vec::<String>::new()
        );
        assert_eq!(
            errors(&with_cluster(
                "private_endpoint = false\noperator_cidr = \"203.0.113.7/24\"\n"
            )),
            ["16:17: operator range 203.0.113.7/24 has host bits set"]
        );
    }

    #[test]
    fn proxy_access_needs_a_good_proxy_url() {
        let text = with_cluster("access = \"proxy\"\n");
        assert_eq!(
            errors(&text),
            ["15:10: cluster \"c1\" has access = \"proxy\" but no proxy_url"]
        );
        assert!(rendered(&text).contains(
            "help: add `proxy_url = \"socks5://localhost:1080\"`, e.g. for an SSH tunnel through \
             the bastion: `gcloud compute ssh BASTION --zone ZONE --tunnel-through-iap -- -N -D 1080`"
        ));
        let text = with_cluster("access = \"proxy\"\nproxy_url = \"localhost:1080\"\n");
        assert_eq!(
            errors(&text),
            ["16:13: proxy_url \"localhost:1080\" has no scheme"]
        );
        assert!(rendered(&text).contains(
            "help: write scheme://host:port with scheme http, https or socks5, e.g. \
             \"socks5://localhost:1080\" or \"http://127.0.0.1:8888\""
        ));
        assert_eq!(
            errors(&with_cluster(
                "access = \"proxy\"\nproxy_url = \"http://127.0.0.1:8888\"\n"
            )),
            Vec::<String>::new()
        );
    }

    #[test]
    fn proxy_urls() {
        for good in [
            "socks5://localhost:1080",
            "http://127.0.0.1:8888",
            "https://proxy.example.com:3128/",
            "HTTP://proxy:80",
            "socks5://[::1]:1080",
            "http://user:secret@proxy:8080",
        ] {
            assert_eq!(proxy_url_problem(good), None, "{good}");
        }
        for (bad, why) in [
            ("", "is not a URL"),
            ("socks5://local host:1080", "is not a URL"),
            ("localhost:1080", "has no scheme"),
            ("/proxy", "has no scheme"),
            (
                "ftp://proxy:21",
                "has scheme \"ftp\"; only http, https and socks5 proxies are supported",
            ),
            (
                "socks4://proxy:1080",
                "has scheme \"socks4\"; only http, https and socks5 proxies are supported",
            ),
            ("http://:8080", "has no host"),
            ("http://proxy", "has no port"),
            ("http://proxy:", "has no port"),
            ("socks5://[::1]", "has no port"),
            ("http://proxy:0", "has port 0; ports are from 1 to 65535"),
            (
                "http://proxy:65536",
                "has port 65536; ports are from 1 to 65535",
            ),
            (
                "http://proxy:8080/path",
                "has a path or query; a proxy URL is only scheme://host:port",
            ),
            (
                "http://proxy:8080?x=1",
                "has a path or query; a proxy URL is only scheme://host:port",
            ),
        ] {
            assert_eq!(proxy_url_problem(bad).as_deref(), Some(why), "{bad}");
        }
    }

    #[test]
    fn settings_of_another_access_mode_are_refused() {
        let text = with_cluster(
            "operator_cidr = \"203.0.113.7/32\"\nproxy_url = \"socks5://localhost:1080\"\n",
        );
        assert_eq!(
            errors(&text),
            [
                "15:17: operator_cidr is only used with access = \"public\", but cluster \"c1\" has access = \"dns\" (the default with private_endpoint = true)",
                "16:13: proxy_url is only used with access = \"proxy\", but cluster \"c1\" has access = \"dns\" (the default with private_endpoint = true)",
            ]
        );
        let out = rendered(&text);
        assert!(out.contains(
            "help: remove operator_cidr, or set access = \"public\" and private_endpoint = false"
        ));
        assert!(out.contains("help: remove proxy_url, or set access = \"proxy\""));
        assert_eq!(
            errors(&with_cluster(
                "access = \"proxy\"\nproxy_url = \"socks5://localhost:1080\"\noperator_cidr = \"203.0.113.7/32\"\n"
            )),
            ["17:17: operator_cidr is only used with access = \"public\", but cluster \"c1\" has access = \"proxy\""]
        );
    }
}
