//! GKE's names for the pieces of an internal load balancer with subsetting,
//! exactly as ingress-gce makes them (`pkg/utils/namer/l4_namer.go`,
//! `common.ContentHash`, `namer.TrimFieldsEvenly`).

use sha2::{Digest, Sha256};

/// Room for `namespace-name` in a backend name (ingress-gce `maximumL4CombinedLength`).
const MAX_COMBINED: usize = 39;

/// ingress-gce's `ContentHash`: the first `n` bytes of SHA-256 of `s`, each
/// as one of `0-9a-z` (byte mod 36).
pub fn content_hash(s: &str, n: usize) -> String {
    const CHARS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    Sha256::digest(s.as_bytes())
        .iter()
        .take(n)
        .map(|b| CHARS[usize::from(*b) % 36] as char)
        .collect()
}

/// ingress-gce's `TrimFieldsEvenly`: shortens the fields so their lengths
/// add up to at most `max`, longer ones more.
pub fn trim_fields_evenly(max: usize, fields: &[&str]) -> Vec<String> {
    let total: usize = fields.iter().map(|f| f.len()).sum();
    if total <= max {
        return fields.iter().map(|f| f.to_string()).collect();
    }
    let excess = total - max;
    let mut lengths: Vec<usize> = fields
        .iter()
        .map(|f| f.len() - f.len() * excess / total - 1)
        .collect();
    let remaining = max.saturating_sub(lengths.iter().sum());
    for l in lengths.iter_mut().take(remaining) {
        *l += 1;
    }
    fields
        .iter()
        .zip(lengths)
        .map(|(f, l)| f[..l.min(f.len())].to_string())
        .collect()
}

/// The names of one Service's load balancer in one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// `k8s2-{uid8}`: the prefix of everything of the cluster.
    pub cluster_prefix: String,
    /// `k8s2-tcp-{uid8}-{ns}-{name}-{hash8}`.
    pub forwarding_rule: String,
    /// `k8s2-{uid8}-{ns}-{name}-{hash8}`: backend service, NEGs and traffic firewall rule.
    pub backend: String,
    /// `k8s2-{uid8}-l4-shared-hc`.
    pub health_check: String,
    /// `k8s2-{uid8}-l4-shared-hc-fw`.
    pub health_check_firewall: String,
}

impl Names {
    /// The names for Service `namespace/name` in the cluster whose
    /// `kube-system` namespace has UID `kube_system_uid`.
    pub fn new(kube_system_uid: &str, namespace: &str, name: &str) -> Names {
        let uid8 = content_hash(kube_system_uid, 8);
        let hash = content_hash(&format!("{uid8};{namespace};{name}"), 8);
        let trimmed = |max| trim_fields_evenly(max, &[namespace, name]).join("-");
        let cluster_prefix = format!("k8s2-{uid8}");
        Names {
            forwarding_rule: format!("k8s2-tcp-{uid8}-{}-{hash}", trimmed(MAX_COMBINED - 4)),
            backend: format!("{cluster_prefix}-{}-{hash}", trimmed(MAX_COMBINED)),
            health_check: format!("{cluster_prefix}-l4-shared-hc"),
            health_check_firewall: format!("{cluster_prefix}-l4-shared-hc-fw"),
            cluster_prefix,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values computed by hand (Python) from ingress-gce's algorithm.
    #[test]
    fn names_match_ingress_gce() {
        let uid = "7d5c3a1e-0000-4000-8000-000000000001";
        assert_eq!(content_hash(uid, 8), "dv7lyo5k");
        let n = Names::new(uid, "istio-system", "istio-eastwestgateway");
        assert_eq!(
            n.backend,
            "k8s2-dv7lyo5k-istio-system-istio-eastwestgateway-ukt1m0hq"
        );
        assert_eq!(
            n.forwarding_rule,
            "k8s2-tcp-dv7lyo5k-istio-system-istio-eastwestgateway-ukt1m0hq"
        );
        assert_eq!(n.health_check, "k8s2-dv7lyo5k-l4-shared-hc");
        assert_eq!(n.health_check_firewall, "k8s2-dv7lyo5k-l4-shared-hc-fw");
        let long = Names::new(
            uid,
            "a-rather-long-namespace-name",
            "an-even-longer-service-name-for-trimming",
        );
        assert_eq!(
            long.backend,
            "k8s2-dv7lyo5k-a-rather-long-nam-an-even-longer-service-eng8n5fh"
        );
        assert_eq!(
            long.forwarding_rule,
            "k8s2-tcp-dv7lyo5k-a-rather-long-n-an-even-longer-servi-eng8n5fh"
        );
        assert!(long.backend.len() <= 63 && long.forwarding_rule.len() <= 63);
    }
}
