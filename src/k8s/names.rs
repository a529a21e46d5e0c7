//! Kubernetes name and label rules, as `k8s.io/apimachinery/pkg/util/validation`
//! (`IsDNS1123Label`, `IsDNS1123Subdomain`, `IsQualifiedName`,
//! `IsValidLabelValue`) and `k8s.io/apimachinery/pkg/api/validation/path`
//! (`IsValidPathSegmentName`) state them, with upstream's error messages where
//! a caller shows them.
//!
//! Label selectors ([`super::selector`]) validate their keys and values here;
//! the API checks the namespace and metric name of a path here; the config
//! checks static labels and names here.

const LABEL_KEY_FMT: &str = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const LABEL_KEY_ERR_MSG: &str = "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_KEY_EXAMPLES: &[&str] = &["MyName", "my.name", "123-abc"];
const LABEL_KEY_MAX_LENGTH: usize = 63;
const LABEL_VALUE_FMT: &str = "(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?";
const LABEL_VALUE_ERR_MSG: &str = "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_EXAMPLES: &[&str] = &["MyValue", "my_value", "12345"];
const LABEL_VALUE_MAX_LENGTH: usize = 63;
const DNS1123_SUBDOMAIN_FMT: &str =
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*";
const DNS1123_SUBDOMAIN_ERR_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character";
const DNS1123_SUBDOMAIN_MAX_LENGTH: usize = 253;

/// Upstream `RegexError`.
fn regex_error(message: &str, regex: &str, examples: &[&str]) -> String {
    let mut out = String::from(message);
    if examples.is_empty() {
        out.push_str(" (regex used for validation is '");
    } else {
        out.push_str(" (e.g. ");
        for (index, example) in examples.iter().enumerate() {
            if index > 0 {
                out.push_str(" or ");
            }
            out.push('\'');
            out.push_str(example);
            out.push_str("', ");
        }
        out.push_str("regex used for validation is '");
    }
    out.push_str(regex);
    out.push_str("')");
    out
}

/// Upstream `MaxLenError`.
fn max_len_error(length: usize) -> String {
    format!("must be no more than {length} bytes")
}

/// Matches `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`.
fn is_label_key_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// Matches `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`.
fn is_dns1123_subdomain(value: &str) -> bool {
    let is_end = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    value.split('.').all(|label| {
        let bytes = label.as_bytes();
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                is_end(first) && is_end(last) && bytes.iter().all(|b| is_end(b) || *b == b'-')
            }
            _ => false,
        }
    })
}

/// Upstream `IsDNS1123Subdomain`.
fn dns1123_subdomain_errors(value: &str) -> Vec<String> {
    let mut errors = Vec::new();
    if value.len() > DNS1123_SUBDOMAIN_MAX_LENGTH {
        errors.push(max_len_error(DNS1123_SUBDOMAIN_MAX_LENGTH));
    }
    if !is_dns1123_subdomain(value) {
        errors.push(regex_error(
            DNS1123_SUBDOMAIN_ERR_MSG,
            DNS1123_SUBDOMAIN_FMT,
            &["example.com"],
        ));
    }
    errors
}

/// Upstream `IsLabelKey` (formerly `IsQualifiedName`), joined with `"; "`
/// as upstream `validateLabelKey` does; `None` when valid.
pub(super) fn label_key_errors(key: &str) -> Option<String> {
    let mut errors: Vec<String> = Vec::new();
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => *name,
        [prefix, name] => {
            if prefix.is_empty() {
                errors.push("prefix part must be non-empty".to_owned());
            } else {
                errors.extend(
                    dns1123_subdomain_errors(prefix)
                        .into_iter()
                        .map(|message| format!("prefix part {message}")),
                );
            }
            *name
        }
        _ => {
            return Some(format!(
                "a valid label key {} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
                regex_error(LABEL_KEY_ERR_MSG, LABEL_KEY_FMT, LABEL_KEY_EXAMPLES)
            ));
        }
    };
    if name.is_empty() {
        errors.push("name part must be non-empty".to_owned());
    } else if name.len() > LABEL_KEY_MAX_LENGTH {
        errors.push(format!("name part {}", max_len_error(LABEL_KEY_MAX_LENGTH)));
    }
    if !is_label_key_name(name) {
        errors.push(format!(
            "name part {}",
            regex_error(LABEL_KEY_ERR_MSG, LABEL_KEY_FMT, LABEL_KEY_EXAMPLES)
        ));
    }
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// Upstream `IsLabelValue`, joined with `"; "`; `None` when valid.
pub(super) fn label_value_errors(value: &str) -> Option<String> {
    let mut errors = Vec::new();
    if value.len() > LABEL_VALUE_MAX_LENGTH {
        errors.push(max_len_error(LABEL_VALUE_MAX_LENGTH));
    }
    if !value.is_empty() && !is_label_key_name(value) {
        errors.push(regex_error(
            LABEL_VALUE_ERR_MSG,
            LABEL_VALUE_FMT,
            LABEL_VALUE_EXAMPLES,
        ));
    }
    (!errors.is_empty()).then(|| errors.join("; "))
}

/// Upstream `IsLabelValue`, as a `Result` with upstream's messages; used to
/// check static labels in the config.
pub fn validate_label_value(value: &str) -> Result<(), String> {
    label_value_errors(value).map_or(Ok(()), Err)
}

/// Upstream `IsDNS1123Label`: a lowercase RFC 1123 label of at most 63 bytes
/// (namespaces, service and port names).
pub fn is_dns1123_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase() || *c == b'-')
}

/// Upstream `IsValidLabelValue`: empty, or at most 63 bytes of alphanumerics,
/// `-`, `_` and `.` that start and end with an alphanumeric.
pub fn is_label_value(s: &str) -> bool {
    label_value_errors(s).is_none()
}

/// Path segment names as `k8s.io/apimachinery/pkg/api/validation/path.IsValidPathSegmentName`
/// allows them, narrowed to what a metric name can be.
pub fn valid_metric_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.' | b':'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_key_validation() {
        let name_63 = "a".repeat(63);
        let name_64 = "a".repeat(64);
        let label_63 = "b".repeat(63);
        let prefix_253 = format!("{label_63}.{label_63}.{label_63}.{}", "c".repeat(61));
        let prefix_254 = format!("{prefix_253}d");
        assert_eq!(prefix_253.len(), 253);
        let valid = [
            "a".to_owned(),
            "A".to_owned(),
            "0".to_owned(),
            "a-b_c.d".to_owned(),
            "Ab9".to_owned(),
            "a..b".to_owned(),
            name_63.clone(),
            format!("example.com/{name_63}"),
            "k8s.io/app".to_owned(),
            "a-b.c-d/e".to_owned(),
            "0.1.2.domain/99".to_owned(),
            format!("{prefix_253}/x"),
        ];
        for key in &valid {
            assert_eq!(label_key_errors(key), None, "{key}");
            assert!(crate::k8s::selector::Selector::parse(key).is_ok(), "{key}");
        }
        let invalid = [
            name_64.clone(),
            format!("example.com/{name_64}"),
            format!("{prefix_254}/x"),
            "-a".to_owned(),
            "a-".to_owned(),
            "_a".to_owned(),
            ".a".to_owned(),
            "a b".to_owned(),
            "a/".to_owned(),
            "/a".to_owned(),
            "/".to_owned(),
            "a/b/c".to_owned(),
            "Example.com/a".to_owned(),
            "ex_ample.com/a".to_owned(),
            "-example.com/a".to_owned(),
            "example-.com/a".to_owned(),
            "example..com/a".to_owned(),
            ".example.com/a".to_owned(),
            "example.com./a".to_owned(),
            "é".to_owned(),
            "a\u{0}".to_owned(),
        ];
        for key in &invalid {
            assert!(label_key_errors(key).is_some(), "{key}");
        }
        assert_eq!(
            label_key_errors(&name_64).as_deref(),
            Some("name part must be no more than 63 bytes")
        );
        assert_eq!(
            label_key_errors(&format!("{prefix_254}/x")).as_deref(),
            Some("prefix part must be no more than 253 bytes")
        );
        assert_eq!(
            label_key_errors("")
                .as_deref()
                .map(|m| m.starts_with("name part must be non-empty; name part must consist")),
            Some(true)
        );
    }

    #[test]
    fn label_value_validation() {
        for value in [
            "",
            "a",
            "A",
            "0",
            "a-b_c.d",
            "a..b",
            &"v".repeat(63),
            "10.10.100.1",
        ] {
            assert_eq!(label_value_errors(value), None, "{value:?}");
        }
        for value in [
            "-",
            "a-",
            "_a",
            ".",
            "a b",
            "a/b",
            "é",
            &"v".repeat(64),
            "a\u{0}",
        ] {
            assert!(label_value_errors(value).is_some(), "{value:?}");
        }
        assert_eq!(
            label_value_errors(&"v".repeat(64)).as_deref(),
            Some("must be no more than 63 bytes")
        );
    }

    #[test]
    fn dns1123_labels() {
        for ok in ["a", "ai", "a-1", "0", &"a".repeat(63)] {
            assert!(is_dns1123_label(ok), "{ok:?}");
        }
        for bad in ["", "A", "a_b", "-a", "a-", "a.b", &"a".repeat(64)] {
            assert!(!is_dns1123_label(bad), "{bad:?}");
        }
    }

    #[test]
    fn label_values_and_metric_names() {
        assert!(is_label_value("") && is_label_value("a.b_c-d") && !is_label_value("a/b"));
        for ok in ["queue_depth", "Queue.Depth", "a:b", "..."] {
            assert!(valid_metric_name(ok), "{ok:?}");
        }
        for bad in ["", ".", "..", "a/b", "a%b", &"m".repeat(254)] {
            assert!(!valid_metric_name(bad), "{bad:?}");
        }
    }
}
