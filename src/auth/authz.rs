//! What authorization asks and answers: the SubjectAccessReview spec for a
//! request's attributes, as `k8s.io/apiserver/plugin/pkg/authorizer/webhook`
//! builds it, and the 403 `Status` of `responsewriters.Forbidden`.

use k8s_openapi::api::authorization::v1::{
    LabelSelectorAttributes, NonResourceAttributes, ResourceAttributes, SubjectAccessReviewSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelectorRequirement;

use super::authn::UserInfo;
use crate::k8s::request_info::RequestInfo;
use crate::k8s::selector::Selector;
use crate::k8s::status::{self, ApiError};

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// The spec `k8s.io/apiserver/plugin/pkg/authorizer/webhook` sends for these
/// attributes, with the requirements of `selector`, the parsed
/// `info.label_selector`.
pub fn sar_spec(
    user: &UserInfo,
    info: &RequestInfo,
    selector: Option<&Selector>,
) -> SubjectAccessReviewSpec {
    let mut spec = SubjectAccessReviewSpec {
        user: non_empty(&user.username),
        uid: non_empty(&user.uid),
        groups: (!user.groups.is_empty()).then(|| user.groups.clone()),
        extra: (!user.extra.is_empty()).then(|| user.extra.clone()),
        ..SubjectAccessReviewSpec::default()
    };
    if info.is_resource_request {
        let label_selector = selector
            .map(|s| {
                s.authorization_requirements()
                    .into_iter()
                    .map(|(key, op, values)| LabelSelectorRequirement {
                        key: key.to_string(),
                        operator: op.to_string(),
                        values: (!values.is_empty())
                            .then(|| values.iter().map(|v| v.to_string()).collect()),
                    })
                    .collect::<Vec<_>>()
            })
            .filter(|r| !r.is_empty())
            .map(|requirements| LabelSelectorAttributes {
                raw_selector: None,
                requirements: Some(requirements),
            });
        spec.resource_attributes = Some(ResourceAttributes {
            namespace: non_empty(&info.namespace),
            verb: non_empty(&info.verb),
            group: non_empty(&info.api_group),
            version: non_empty(&info.api_version),
            resource: non_empty(&info.resource),
            subresource: non_empty(&info.subresource),
            name: non_empty(&info.name),
            label_selector,
            field_selector: None,
        });
    } else {
        spec.non_resource_attributes = Some(NonResourceAttributes {
            path: Some(info.path.clone()),
            verb: Some(info.verb.clone()),
        });
    }
    spec
}

/// The 403 of `responsewriters.Forbidden`
/// (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go):
/// `forbiddenMessage` with `&`, `<` and `>` HTML-escaped (`sanitizer`), then
/// `: <reason>` if the authorizer gave one, wrapped by
/// `apierrors.NewForbidden({group, resource}, name, ...)`.
pub(super) fn forbidden(user: &UserInfo, info: &RequestInfo, reason: &str) -> ApiError {
    let mut msg = sanitize(&forbidden_message(user, info));
    if !reason.is_empty() {
        msg = format!("{msg}: {reason}");
    }
    ApiError::forbidden(&info.api_group, &info.resource, &info.name, msg)
}

/// `responsewriters.sanitizer`: "Avoid emitting errors that look like valid HTML."
fn sanitize(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// `responsewriters.forbiddenMessage`.
fn forbidden_message(user: &UserInfo, info: &RequestInfo) -> String {
    let q = status::go_quote;
    if !info.is_resource_request {
        return format!(
            "User {} cannot {} path {}",
            q(&user.username),
            info.verb,
            q(&info.path)
        );
    }
    let mut resource = info.resource.clone();
    if !info.subresource.is_empty() {
        resource = format!("{resource}/{}", info.subresource);
    }
    if info.namespace.is_empty() {
        format!(
            "User {} cannot {} resource {} in API group {} at the cluster scope",
            q(&user.username),
            info.verb,
            q(&resource),
            q(&info.api_group)
        )
    } else {
        format!(
            "User {} cannot {} resource {} in API group {} in the namespace {}",
            q(&user.username),
            info.verb,
            q(&resource),
            q(&info.api_group),
            q(&info.namespace)
        )
    }
}
