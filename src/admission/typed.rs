//! How the direct path ([`direct`](super::direct)) decodes each kind's `spec` and `status`: the
//! specs of MCPServerEntry (the kind of nearly every review), MCPGroup and MCPRegistry by readers of
//! their own ([`json::Read`]), the statuses (rare in a review) and VirtualMCPServer's spec (some
//! seventy types) through `Deserialize`, straight from the body as well.
//!
//! A reader here gives exactly the value the type's derived `Deserialize` gives for the same object
//! read as a `serde_json::Value` (what the `Value`-based path decodes), or fails and leaves the review
//! to that path: the same keys (checked against the type's schema by a test), unknown members
//! checked and dropped, `null` as `None`, and a repeated key keeping its last value, as in a
//! `Value`. A required member that is missing fails, as it does in `Deserialize`.

use crate::api::v1beta1::common::{
    ExternalAuthConfigRef, LocalObjectReference, MCPGroupRef, SecretKeyRef, SecretKeySelector,
};
use crate::api::v1beta1::mcpserverentry::{
    CABundleConfigMapRef, CABundleRef, HeaderForward, HeaderFromSecret, MCPServerEntrySpec, MCPServerEntryStatus,
};
use crate::api::v1beta1::{
    MCPGroupSpec, MCPGroupStatus, MCPRegistrySpec, MCPRegistryStatus, VirtualMCPServerSpec, VirtualMCPServerStatus,
};
use crate::json::{read_by_serde, read_struct};

read_struct!(MCPServerEntrySpec {
    optional {
        "allowPrivateEndpoint" => allow_private_endpoint,
        "caBundleRef" => ca_bundle_ref,
        "externalAuthConfigRef" => external_auth_config_ref,
        "groupRef" => group_ref,
        "headerForward" => header_forward,
        "remoteUrl" => remote_url,
        "transport" => transport,
    }
});

read_struct!(CABundleRef { optional { "configMapRef" => config_map_ref } });

read_struct!(CABundleConfigMapRef { optional { "key" => key, "name" => name, "optional" => optional } });

read_struct!(HeaderForward {
    optional { "addHeadersFromSecret" => add_headers_from_secret, "addPlaintextHeaders" => add_plaintext_headers }
});

read_struct!(HeaderFromSecret {
    optional { "valueSecretRef" => value_secret_ref }
    required { "headerName" => header_name }
});

read_struct!(MCPGroupRef { optional { "namespace" => namespace } required { "name" => name } });

read_struct!(ExternalAuthConfigRef { optional { "namespace" => namespace } required { "name" => name } });

read_struct!(SecretKeyRef { optional { "namespace" => namespace } required { "key" => key, "name" => name } });

read_struct!(MCPGroupSpec { optional { "description" => description } });

read_struct!(MCPRegistrySpec {
    optional {
        "configYAML" => config_yaml,
        "displayName" => display_name,
        "imagePullSecrets" => image_pull_secrets,
        "pgpassSecretRef" => pgpass_secret_ref,
        "podTemplateSpec" => pod_template_spec,
        "volumeMounts" => volume_mounts,
        "volumes" => volumes,
    }
});

read_struct!(LocalObjectReference { optional { "name" => name } });

read_struct!(SecretKeySelector { optional { "name" => name, "optional" => optional } required { "key" => key } });

read_by_serde!(MCPServerEntryStatus, MCPGroupStatus, MCPRegistryStatus, VirtualMCPServerSpec, VirtualMCPServerStatus,);

#[cfg(test)]
mod tests {

    use pretty_assertions::assert_eq;
    use proptest::prelude::*;
    use serde::de::DeserializeOwned;
    use serde_json::{Value, json};

    use super::*;
    use crate::json;

    fn keys_match<T: json::Keys + schemars::JsonSchema>() {
        json::assert_keys_match::<T, T>();
    }

    #[test]
    fn the_readers_know_the_keys_of_the_schema() {
        keys_match::<MCPServerEntrySpec>();
        keys_match::<CABundleRef>();
        keys_match::<CABundleConfigMapRef>();
        keys_match::<HeaderForward>();
        keys_match::<HeaderFromSecret>();
        keys_match::<MCPGroupRef>();
        keys_match::<ExternalAuthConfigRef>();
        keys_match::<SecretKeyRef>();
        keys_match::<MCPGroupSpec>();
        keys_match::<MCPRegistrySpec>();
        keys_match::<LocalObjectReference>();
        keys_match::<SecretKeySelector>();
    }

    /// Whether the reader reads `text` as `T`; where it does, asserts that it gives what `Deserialize`
    /// gives for `text` read as a `Value`. (Not the other way round: `Deserialize` also takes a
    /// struct written as an array.)
    fn reads_as_deserialize<T>(text: &str) -> bool
    where
        T: for<'de> json::Read<'de> + DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        let Ok(read) = json::read_str::<T>(text) else { return false };
        let derived = serde_json::from_str::<Value>(text).ok().and_then(|v| T::deserialize(v).ok());
        assert_eq!(Some(read), derived, "{text}");
        true
    }

    #[test]
    fn a_typical_spec_reads_as_deserialize_reads_it() {
        let spec = json!({
            "remoteUrl": "https://mcp.example.com/mcp",
            "transport": "streamable-http",
            "allowPrivateEndpoint": false,
            "groupRef": { "name": "engineering", "namespace": "tools" },
            "caBundleRef": { "configMapRef": { "name": "corp-ca", "key": "ca.crt", "optional": true } },
            "externalAuthConfigRef": { "name": "exchange", "namespace": null },
            "headerForward": {
                "addPlaintextHeaders": { "X-Tenant": "team-a", "X-Tenant": "team-b", "X-Esc\u{e9}": "a\"b\\c" },
                "addHeadersFromSecret": [{ "headerName": "X-API-Key", "valueSecretRef": { "name": "s", "key": "k" } }]
            },
            "unknown": { "deep": [1, 2.5, null, true] }
        })
        .to_string();
        assert!(reads_as_deserialize::<MCPServerEntrySpec>(&spec), "the reader failed on {spec}");
    }

    #[test]
    fn unusual_specs_read_as_deserialize_reads_them_or_fail() {
        let cases = [
            r#"{}"#,
            r#"{"transport":null,"groupRef":null}"#,
            r#"{"transport":"sse","transport":"streamable-http"}"#,
            r#"{"transport":5,"transport":"sse"}"#,
            r#"{"groupRef":{"namespace":"b"},"groupRef":{"name":"a"}}"#,
            r#"{"groupRef":{"namespace":"b"}}"#,
            r#"{"groupRef":{"name":null}}"#,
            r#"{"groupRef":{"name":"a","name":"b"}}"#,
            r#"{"allowPrivateEndpoint":"true"}"#,
            r#"{"allowPrivateEndpoint":1}"#,
            r#"{"headerForward":{"addHeadersFromSecret":[{"valueSecretRef":{"name":"s","key":"k"}}]}}"#,
            r#"{"headerForward":{"addHeadersFromSecret":{}}}"#,
            r#"{"headerForward":{"addPlaintextHeaders":{"a":null}}}"#,
            r#"{"headerForward":{"addPlaintextHeaders":{"a":"1","a":"2"}}}"#,
            r#"{"remote\u0055rl":"https://x","transp\u006frt":"sse"}"#,
            r#"{"remoteUrl":"https://x\u0000"}"#,
            r#"{"remoteUrl":"https://x",}"#,
            r#"{"remoteUrl" "https://x"}"#,
            r#"{"caBundleRef":{"configMapRef":{"optional":null,"key":"k"}}}"#,
            r#"[]"#,
            r#"null"#,
        ];
        for case in cases {
            reads_as_deserialize::<MCPServerEntrySpec>(case);
        }
        // Those that only repeat a key or use escapes in keys are read, not left to the other path.
        for case in [cases[2], cases[13], cases[14]] {
            assert!(reads_as_deserialize::<MCPServerEntrySpec>(case), "{case}");
        }
    }

    #[test]
    fn registry_and_group_specs_read_as_deserialize_reads_them_or_fail() {
        let registry = [
            r#"{"configYAML":"sources: []","displayName":"Corp","imagePullSecrets":[{"name":"pull"},{}],"pgpassSecretRef":{"name":"pg","key":"pgpass","optional":false},"podTemplateSpec":{"spec":{"containers":[]}},"volumeMounts":[{"name":"v","mountPath":"/v"}],"volumes":[{"name":"v","secret":{"secretName":"s"}}],"x":1}"#,
            r#"{"configYAML":null,"imagePullSecrets":null,"pgpassSecretRef":null,"podTemplateSpec":null,"volumes":null}"#,
            r#"{"pgpassSecretRef":{"name":"pg"}}"#,
            r#"{"pgpassSecretRef":{"key":null}}"#,
            r#"{"imagePullSecrets":[null]}"#,
            r#"{"imagePullSecrets":[{"name":5}]}"#,
            r#"{"volumes":{}}"#,
            r#"{"displayName":"a","displayName":"b"}"#,
        ];
        for case in registry {
            reads_as_deserialize::<MCPRegistrySpec>(case);
        }
        assert!(reads_as_deserialize::<MCPRegistrySpec>(registry[0]));
        for case in [r#"{"description":"d","other":[1]}"#, r#"{"description":null}"#, r#"{"description":1}"#, "{}"] {
            reads_as_deserialize::<MCPGroupSpec>(case);
        }
    }

    #[test]
    fn virtualmcpserver_specs_read_as_from_a_value() {
        let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("webhooks/admission/virtualmcpservers");
        let mut specs = Vec::new();
        for entry in std::fs::read_dir(folder).expect("fixtures") {
            let path = entry.expect("entry").path();
            if path.to_string_lossy().ends_with(".request.json") {
                let review: Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
                for object in ["object", "oldObject"] {
                    if let Some(spec) = review["request"][object].get("spec") {
                        specs.push(spec.to_string());
                    }
                }
            }
        }
        assert!(specs.len() >= 6, "fixtures missing");
        specs.extend([
            // Unknown members of spec.config are kept (flattened), numbers and escapes included.
            r#"{"config":{"x":1.5,"y":[1,-2,3e2],"z":"\u00e9\n","groupRef":"g"},"replicas":3}"#.to_string(),
            r#"{"config":{"x":1,"x":2}}"#.to_string(),
            r#"{"incomingAuth":{"type":"oidc","oidcConfig":{"issuer":"x"}},"tokenCache":{"a":null}}"#.to_string(),
        ]);
        for spec in &specs {
            assert!(reads_as_deserialize::<VirtualMCPServerSpec>(spec), "not read: {spec}");
        }
        // serde's derived readers refuse a repeated member; the review then goes to the other path.
        assert!(!reads_as_deserialize::<VirtualMCPServerSpec>(r#"{"replicas":1,"replicas":2}"#));
    }

    /// A spec-like value: the known keys with values of the right and the wrong types, unknown
    /// keys, `null`s.
    fn spec_like() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i32>().prop_map(Value::from),
            "[a-zA-Z0-9\"\\\\é-]{0,6}".prop_map(Value::String),
        ];
        let key = prop_oneof![
            Just("remoteUrl"),
            Just("transport"),
            Just("allowPrivateEndpoint"),
            Just("groupRef"),
            Just("caBundleRef"),
            Just("configMapRef"),
            Just("externalAuthConfigRef"),
            Just("headerForward"),
            Just("addPlaintextHeaders"),
            Just("addHeadersFromSecret"),
            Just("headerName"),
            Just("valueSecretRef"),
            Just("name"),
            Just("namespace"),
            Just("key"),
            Just("optional"),
            Just("other"),
            Just("description"),
            Just("configYAML"),
            Just("displayName"),
            Just("imagePullSecrets"),
            Just("pgpassSecretRef"),
            Just("podTemplateSpec"),
            Just("volumes"),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|members| Value::Object(members.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn generated_specs_read_as_deserialize_reads_them_or_fail(spec in spec_like()) {
            let text = spec.to_string();
            reads_as_deserialize::<MCPServerEntrySpec>(&text);
            reads_as_deserialize::<MCPRegistrySpec>(&text);
            reads_as_deserialize::<MCPGroupSpec>(&text);
        }
    }
}
