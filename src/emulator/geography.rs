//! Regions and zones the emulator knows (the public Compute Engine regions).

/// `(region, zone suffixes)`.
const REGIONS: &[(&str, &str)] = &[
    ("africa-south1", "abc"),
    ("asia-east1", "abc"),
    ("asia-east2", "abc"),
    ("asia-northeast1", "abc"),
    ("asia-northeast2", "abc"),
    ("asia-northeast3", "abc"),
    ("asia-south1", "abc"),
    ("asia-south2", "abc"),
    ("asia-southeast1", "abc"),
    ("asia-southeast2", "abc"),
    ("australia-southeast1", "abc"),
    ("australia-southeast2", "abc"),
    ("europe-central2", "abc"),
    ("europe-north1", "abc"),
    ("europe-north2", "abc"),
    ("europe-southwest1", "abc"),
    ("europe-west1", "bcd"),
    ("europe-west10", "abc"),
    ("europe-west12", "abc"),
    ("europe-west2", "abc"),
    ("europe-west3", "abc"),
    ("europe-west4", "abc"),
    ("europe-west6", "abc"),
    ("europe-west8", "abc"),
    ("europe-west9", "abc"),
    ("me-central1", "abc"),
    ("me-central2", "abc"),
    ("me-west1", "abc"),
    ("northamerica-northeast1", "abc"),
    ("northamerica-northeast2", "abc"),
    ("northamerica-south1", "abc"),
    ("southamerica-east1", "abc"),
    ("southamerica-west1", "abc"),
    ("us-central1", "abcf"),
    ("us-east1", "bcd"),
    ("us-east4", "abc"),
    ("us-east5", "abc"),
    ("us-south1", "abc"),
    ("us-west1", "abc"),
    ("us-west2", "abc"),
    ("us-west3", "abc"),
    ("us-west4", "abc"),
];

/// Whether `region` exists.
pub fn is_region(region: &str) -> bool {
    REGIONS.iter().any(|(r, _)| *r == region)
}

/// The region of `zone` (`us-central1-a` → `us-central1`) if the zone exists.
pub fn region_of_zone(zone: &str) -> Option<&'static str> {
    let (region, suffix) = zone.rsplit_once('-')?;
    let mut chars = suffix.chars();
    let (Some(c), None) = (chars.next(), chars.next()) else {
        return None;
    };
    REGIONS
        .iter()
        .find(|(r, zones)| *r == region && zones.contains(c))
        .map(|(r, _)| *r)
}

/// Every region with its zones, in name order.
pub fn regions() -> impl Iterator<Item = (&'static str, Vec<String>)> {
    REGIONS.iter().map(|(region, zones)| {
        (
            *region,
            zones.chars().map(|z| format!("{region}-{z}")).collect(),
        )
    })
}

/// Every aggregated-list scope for a regional (`regions/…`) or zonal (`zones/…`) collection.
pub fn scopes(zonal: bool) -> Vec<String> {
    let mut out = Vec::new();
    for (region, zones) in REGIONS {
        if zonal {
            out.extend(zones.chars().map(|z| format!("zones/{region}-{z}")));
        } else {
            out.push(format!("regions/{region}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zones_map_to_their_region() {
        assert_eq!(region_of_zone("us-central1-f"), Some("us-central1"));
        assert_eq!(region_of_zone("europe-west2-a"), Some("europe-west2"));
        assert_eq!(region_of_zone("us-central1-e"), None);
        assert!(is_region("europe-west2") && !is_region("mars-north1"));
        assert!(scopes(false).contains(&"regions/us-central1".to_string()));
    }
}
