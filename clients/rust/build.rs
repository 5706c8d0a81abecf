//! Generates the client from the committed spec on every build, so the crate
//! follows `openapi/tpgate.json` without anyone regenerating code by hand.
use std::{env, fs, path::PathBuf};

use openapiv3::{OpenAPI, ReferenceOr};
use progenitor::{GenerationSettings, Generator, InterfaceStyle, TagStyle};

/// The committed spec (itself generated from the server code).
const SPEC: &str = "../../openapi/tpgate.json";

/// RFC 9457 error bodies. They are JSON documents, but progenitor only
/// deserialises `application/json` (with or without parameters) and hands
/// every other media type back as an untyped byte stream.
const PROBLEM_JSON: &str = "application/problem+json";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");
    if let Err(e) = generate() {
        // A build script reports failure by panicking; say which file and why.
        panic!("generating the tpgate client from {SPEC}: {e}");
    }
}

fn generate() -> Result<(), Box<dyn std::error::Error>> {
    let text = fs::read_to_string(SPEC)?;
    let mut spec: OpenAPI = serde_json::from_str(&text)?;
    problem_json_as_json(&mut spec);

    let mut settings = GenerationSettings::new();
    // Builder calls (`client.create_tenant().body(...).send()`) keep call
    // sites readable when operations gain optional parameters, and a new
    // optional parameter does not break existing callers.
    settings
        .with_interface(InterfaceStyle::Builder)
        .with_tag(TagStyle::Merged);
    let tokens = Generator::new(&settings).generate_tokens(&spec)?;
    let file: syn::File = syn::parse2(tokens)?;
    let code = prettyplease::unparse(&file);

    let out = PathBuf::from(env::var("OUT_DIR")?).join("tpgate_client.rs");
    fs::write(out, code)?;
    Ok(())
}

/// The one transformation applied to the spec: a response's
/// `application/problem+json` is presented to progenitor as
/// `application/json`, so errors arrive as `Error::ErrorResponse` holding a
/// typed `Problem` (status, `field`, `wechat_errcode`, ...) instead of raw
/// bytes. The wire format is unchanged (the server still sends
/// problem+json, and the client does not check the response's media type);
/// only the request's `Accept: application/json` follows from it, which
/// tpgate ignores. Request bodies are left alone.
fn problem_json_as_json(spec: &mut OpenAPI) {
    let operations = spec
        .paths
        .paths
        .values_mut()
        .filter_map(|item| match item {
            ReferenceOr::Item(item) => Some(item),
            ReferenceOr::Reference { .. } => None,
        })
        .flat_map(|item| {
            [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ]
        })
        .filter_map(Option::as_mut);
    for op in operations {
        let responses = op
            .responses
            .default
            .iter_mut()
            .chain(op.responses.responses.values_mut());
        for response in responses {
            let ReferenceOr::Item(response) = response else {
                continue;
            };
            if response.content.contains_key("application/json") {
                continue;
            }
            if let Some(media) = response.content.shift_remove(PROBLEM_JSON) {
                response
                    .content
                    .insert("application/json".to_owned(), media);
            }
        }
    }
}
