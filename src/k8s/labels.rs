//! Label sets on the wire: `metricLabels` of an `ExternalMetricValue`
//! (`k8s.io/metrics/pkg/apis/external_metrics/v1beta1/types.go`) is a JSON
//! object of label names to values.

use serde::Serialize;
use serde::ser::SerializeMap;

/// A label set, in its order, serialised as a JSON object.
pub struct Labels<'a>(pub &'a [(String, String)]);

impl Serialize for Labels<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// The value of label `key` in a label list, as selectors look labels up.
pub fn value<'a>(labels: &'a [(String, String)], key: &str) -> Option<&'a str> {
    labels
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_an_object_in_order() {
        let labels = [
            ("z".to_string(), "1".to_string()),
            ("a".to_string(), "\"".to_string()),
        ];
        assert_eq!(
            serde_json::to_string(&Labels(&labels)).unwrap(),
            r#"{"z":"1","a":"\""}"#
        );
    }
}
