//! The error answers every route can give, added to the OpenAPI document
//! where a route's own annotation leaves them out.
//!
//! Some failures come from layers every route shares rather than from the
//! handler: the token check (401), the extractors (400 for a path, query or
//! body that does not parse; 413 for a body over the limit; 415 for the
//! wrong content type; 422 for a body of the wrong shape) and the lookup of
//! path parameters (404). Writing those into each annotation by hand is how
//! they went missing, so they are added here from what each operation has.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{Content, OpenApi, Ref, ResponseBuilder};

/// Adds the shared error answers to every operation of `openapi`.
pub fn add_shared_errors(openapi: &mut OpenApi) {
    for item in openapi.paths.paths.values_mut() {
        let has_path_params = item.parameters.is_some();
        let operations =
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head];
        for operation in operations.into_iter().flatten() {
            add_to(operation, has_path_params);
        }
    }
}

fn add_to(operation: &mut Operation, item_has_path_params: bool) {
    let has_body = operation.request_body.is_some();
    let has_path_params = item_has_path_params
        || operation.parameters.iter().flatten().any(|p| match p {
            utoipa::openapi::RefOr::T(p) => p.parameter_in == utoipa::openapi::path::ParameterIn::Path,
            utoipa::openapi::RefOr::Ref(_) => false,
        });
    let mut shared =
        vec![("400", "The path, query or body does not parse"), ("401", "The bearer token is missing or unknown")];
    if has_path_params {
        shared.push(("404", "Nothing with that id or slug"));
    }
    if has_body {
        shared.push(("413", "The body is over the size limit"));
        shared.push(("415", "The body's content type is not the one this route reads"));
        shared.push(("422", "A field of the body is not acceptable; `field` names it"));
    }
    for (status, description) in shared {
        operation.responses.responses.entry(status.to_owned()).or_insert_with(|| {
            ResponseBuilder::new()
                .description(description)
                .content("application/json", Content::new(Some(Ref::from_schema_name("ErrorBody"))))
                .build()
                .into()
        });
    }
}
