//! The X client against X's official OpenAPI document (X API v2 2.159, from
//! `xdevplatform/xdk`, copied to `tests/fixtures/twitter-openapi.json`): every request it sends
//! must match a documented operation — path, method, query parameters and JSON body — and it
//! must parse responses built from the document's own schemas and examples.

use std::sync::LazyLock;

use omniplug_platforms::{
    Platform,
    clients::{NewPost, x},
    sandbox::Sandbox,
};
use regex::Regex;
use serde_json::{Value, json};

use crate::support::{client, connect, image};

static SPEC: LazyLock<Value> = LazyLock::new(|| {
    let text = include_str!("../fixtures/twitter-openapi.json");
    serde_json::from_str(text).expect("the OpenAPI document parses")
});

fn resolve(schema: &Value) -> &Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.trim_start_matches('#');
            resolve(
                SPEC.pointer(pointer)
                    .unwrap_or_else(|| panic!("dangling $ref {reference}")),
            )
        }
        None => schema,
    }
}

/// A JSON Schema check of the subset OpenAPI 3 uses here. Returns what is wrong, by path.
fn validate(value: &Value, schema: &Value, at: &str) -> Vec<String> {
    let schema = resolve(schema);
    let mut errors = Vec::new();
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        for part in all {
            errors.extend(validate(value, part, at));
        }
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let matching = options
                .iter()
                .filter(|o| validate(value, o, at).is_empty())
                .count();
            if matching == 0 || (key == "oneOf" && matching > 1) {
                errors.push(format!("{at}: {matching} of the {key} options match"));
            }
        }
    }
    if let Some(kind) = schema.get("type").and_then(Value::as_str) {
        let ok = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !ok {
            errors.push(format!("{at}: expected {kind}, got {value}"));
            return errors;
        }
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        errors.push(format!("{at}: {value} is not one of {options:?}"));
    }
    if let Some(text) = value.as_str() {
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
            && !Regex::new(pattern)
                .expect("pattern compiles")
                .is_match(text)
        {
            errors.push(format!("{at}: {text:?} does not match {pattern}"));
        }
        let chars = text.chars().count() as u64;
        if schema
            .get("maxLength")
            .and_then(Value::as_u64)
            .is_some_and(|max| chars > max)
        {
            errors.push(format!("{at}: longer than maxLength"));
        }
        if schema
            .get("minLength")
            .and_then(Value::as_u64)
            .is_some_and(|min| chars < min)
        {
            errors.push(format!("{at}: shorter than minLength"));
        }
        if schema.get("format").and_then(Value::as_str) == Some("byte")
            && !Regex::new(r"^[A-Za-z0-9+/]*={0,2}$")
                .expect("regex")
                .is_match(text)
        {
            errors.push(format!("{at}: not base64"));
        }
    }
    if let Some(number) = value.as_f64() {
        if schema
            .get("minimum")
            .and_then(Value::as_f64)
            .is_some_and(|min| number < min)
        {
            errors.push(format!("{at}: {number} is below the minimum"));
        }
        if schema
            .get("maximum")
            .and_then(Value::as_f64)
            .is_some_and(|max| number > max)
        {
            errors.push(format!("{at}: {number} is above the maximum"));
        }
    }
    if let Some(items) = value.as_array() {
        if schema
            .get("minItems")
            .and_then(Value::as_u64)
            .is_some_and(|min| (items.len() as u64) < min)
        {
            errors.push(format!("{at}: fewer than minItems"));
        }
        if schema
            .get("maxItems")
            .and_then(Value::as_u64)
            .is_some_and(|max| (items.len() as u64) > max)
        {
            errors.push(format!("{at}: more than maxItems"));
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                errors.extend(validate(item, item_schema, &format!("{at}[{i}]")));
            }
        }
    }
    if let Some(object) = value.as_object() {
        let properties = schema.get("properties").and_then(Value::as_object);
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = required.as_str().unwrap_or_default();
            if !object.contains_key(name) {
                errors.push(format!("{at}: missing required {name}"));
            }
        }
        for (key, field) in object {
            match properties.and_then(|p| p.get(key)) {
                Some(field_schema) => {
                    errors.extend(validate(field, field_schema, &format!("{at}.{key}")))
                }
                None if schema.get("additionalProperties") == Some(&Value::Bool(false)) => {
                    errors.push(format!("{at}: unknown property {key}"));
                }
                None => {}
            }
        }
    }
    errors
}

/// The documented operation for a request: (path template, operation object).
fn operation(method: &str, path: &str) -> Option<(&'static str, &'static Value)> {
    let paths = SPEC["paths"].as_object().expect("paths");
    // A literal path (`/2/users/me`) wins over a template that also matches (`/2/users/{id}`).
    if let Some((template, item)) = paths.get_key_value(path) {
        return item
            .get(method.to_lowercase())
            .map(|op| (template.as_str(), op));
    }
    paths.iter().find_map(|(template, item)| {
        let pattern = format!(
            "^{}$",
            Regex::new(r"\{[^}]+\}").expect("regex").replace_all(
                &regex::escape(template)
                    .replace(r"\{", "{")
                    .replace(r"\}", "}"),
                "[^/]+"
            )
        );
        if !Regex::new(&pattern).expect("path regex").is_match(path) {
            return None;
        }
        item.get(method.to_lowercase())
            .map(|op| (template.as_str(), op))
    })
}

/// Checks one request against its documented operation.
fn check_request(
    method: &str,
    path: &str,
    query: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<String> {
    let Some((template, op)) = operation(method, path) else {
        return vec![format!("{method} {path}: not in the OpenAPI document")];
    };
    let mut errors = Vec::new();
    let params: Vec<&Value> = op["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(resolve)
        .collect();
    let query: Vec<(String, String)> = query
        .map(|q| {
            reqwest::Url::parse(&format!("http://x/?{q}"))
                .expect("query")
                .query_pairs()
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    for (name, value) in &query {
        let Some(param) = params
            .iter()
            .find(|p| p["in"] == "query" && p["name"] == name.as_str())
        else {
            errors.push(format!(
                "{method} {template}: undocumented query parameter {name}"
            ));
            continue;
        };
        let schema = resolve(&param["schema"]);
        // Arrays are comma-separated (style form, explode false).
        let value: Value = if schema["type"] == "array" {
            json!(value.split(',').collect::<Vec<_>>())
        } else if schema["type"] == "integer" {
            value
                .parse::<i64>()
                .map_or_else(|_| json!(value), |n| json!(n))
        } else {
            json!(value)
        };
        errors.extend(validate(
            &value,
            schema,
            &format!("{method} {template} ?{name}"),
        ));
    }
    for param in params
        .iter()
        .filter(|p| p["in"] == "query" && p["required"] == true)
    {
        let name = param["name"].as_str().unwrap_or_default();
        if !query.iter().any(|(k, _)| k == name) {
            errors.push(format!(
                "{method} {template}: missing required query {name}"
            ));
        }
    }
    match op.get("requestBody") {
        Some(request_body) => {
            let media = content_type
                .unwrap_or_default()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_owned();
            match request_body["content"].get(&media) {
                Some(content) if media == "application/json" => {
                    let value: Value = serde_json::from_slice(body).expect("JSON body");
                    errors.extend(validate(
                        &value,
                        &content["schema"],
                        &format!("{method} {template} body"),
                    ));
                }
                Some(_) => {}
                None => errors.push(format!(
                    "{method} {template}: body type {media} not documented"
                )),
            }
        }
        None if !body.is_empty() => errors.push(format!(
            "{method} {template}: sends a body the operation does not take"
        )),
        None => {}
    }
    errors
}

#[test]
fn the_validator_rejects_requests_the_document_forbids() {
    // The checker itself must be able to fail, or the tests below prove nothing.
    let bad = [
        (
            "POST",
            "/2/tweets",
            None,
            br#"{"text":"hi","reply":{}}"#.as_slice(),
            "missing required in_reply_to_tweet_id",
        ),
        (
            "POST",
            "/2/tweets",
            None,
            br#"{"text":"hi","colour":"red"}"#.as_slice(),
            "unknown property colour",
        ),
        (
            "POST",
            "/2/tweets",
            None,
            br#"{"text":"hi","reply":{"in_reply_to_tweet_id":"abc"}}"#.as_slice(),
            "does not match",
        ),
        (
            "GET",
            "/2/tweets",
            Some("ids=1&tweet.fields=colour"),
            b"".as_slice(),
            "is not one of",
        ),
        (
            "GET",
            "/2/tweets",
            Some("tweet.fields=public_metrics"),
            b"".as_slice(),
            "missing required query ids",
        ),
        (
            "GET",
            "/2/users/1/tweets",
            Some("max_results=500"),
            b"".as_slice(),
            "above the maximum",
        ),
        (
            "POST",
            "/2/tweetz",
            None,
            b"{}".as_slice(),
            "not in the OpenAPI document",
        ),
    ];
    for (method, path, query, body, expected) in bad {
        let errors = check_request(method, path, query, Some("application/json"), body);
        assert!(
            !errors.is_empty(),
            "{method} {path} {query:?} should be refused"
        );
        assert!(
            errors.iter().any(|e| e.contains(expected)),
            "{errors:?} should mention {expected:?}"
        );
    }
}

#[tokio::test]
async fn every_request_the_x_client_sends_is_valid_against_the_spec() {
    let sandbox = Sandbox::start().await.expect("sandbox");
    let client = client(&sandbox, Platform::X);
    let (creds, _) = connect(&sandbox, client.as_ref()).await;
    let post = client
        .publish(&creds, &NewPost::text("Hello from OmniPlug"))
        .await
        .expect("publish")
        .post;
    let pictured = NewPost {
        text: "With a picture".into(),
        media: vec![
            image("A cat asleep on a keyboard"),
            image("The same cat, awake"),
        ],
    };
    let second = client
        .publish(&creds, &pictured)
        .await
        .expect("publish with media")
        .post;
    // A video and a GIF go up in chunks (two segments for the video), then X processes them.
    for (mime, size) in [("video/mp4", 5 * 1024 * 1024), ("image/gif", 1024)] {
        let chunked = NewPost {
            text: format!("With a {mime}"),
            media: vec![omniplug_platforms::clients::Media {
                bytes: vec![7; size].into(),
                mime: mime.into(),
                alt: "Moving pictures".into(),
                public_url: None,
            }],
        };
        let published = client
            .publish(&creds, &chunked)
            .await
            .expect("publish chunked media")
            .post;
        let stored = sandbox
            .posts(Platform::X)
            .into_iter()
            .find(|p| p.id == published.id)
            .expect("posted");
        assert_eq!(stored.media[0].bytes.len(), size, "{mime} reassembled");
        assert_eq!(stored.media[0].alt.as_deref(), Some("Moving pictures"));
    }
    client
        .reply(&creds, &post, &NewPost::text("Get it at omniplug.test"))
        .await
        .expect("reply");
    client
        .engagement(&creds, &[post.clone(), second])
        .await
        .expect("engagement");
    client
        .recent_posts(&creds, 3)
        .await
        .expect("recent posts (asks for the minimum of 5)");
    client.refresh(&creds).await.expect("refresh");

    let requests: Vec<_> = sandbox
        .requests()
        .into_iter()
        .filter(|r| r.platform == Platform::X)
        .collect();
    let mut checked = std::collections::BTreeSet::new();
    let token_url = SPEC["components"]["securitySchemes"]["OAuth2UserToken"]["flows"]["authorizationCode"]["tokenUrl"]
        .as_str()
        .expect("tokenUrl");
    for request in &requests {
        match request.path.as_str() {
            // OAuth lives outside `paths`: the consent page on x.com and the documented tokenUrl.
            "/i/oauth2/authorize" => continue,
            "/2/oauth2/token" => {
                assert!(
                    token_url.ends_with(&request.path),
                    "token requests go to {token_url}"
                );
                assert_eq!(
                    request.content_type.as_deref(),
                    Some("application/x-www-form-urlencoded")
                );
                continue;
            }
            _ => {}
        }
        let errors = check_request(
            &request.method,
            &request.path,
            request.query.as_deref(),
            request.content_type.as_deref(),
            &request.body,
        );
        assert!(
            errors.is_empty(),
            "{} {}: {errors:#?}",
            request.method,
            request.path
        );
        checked.insert(operation(&request.method, &request.path).map(|(t, op)| {
            format!(
                "{} {t} ({})",
                request.method,
                op["operationId"].as_str().unwrap_or("?")
            )
        }));
    }
    let checked: Vec<String> = checked.into_iter().flatten().collect();
    for expected in [
        "createPosts",
        "getPostsByIds",
        "getUsersMe",
        "getUsersPosts",
        "mediaUpload",
        "createMediaMetadata",
        "initializeMediaUpload",
        "appendMediaUpload",
        "finalizeMediaUpload",
        "getMediaUploadStatus",
    ] {
        assert!(
            checked.iter().any(|c| c.contains(expected)),
            "{expected} was exercised: {checked:#?}"
        );
    }
    // Every scope the client asks for is one the document defines.
    let scopes = SPEC["components"]["securitySchemes"]["OAuth2UserToken"]["flows"]["authorizationCode"]["scopes"]
        .as_object()
        .expect("scopes");
    for scope in x::SCOPES.split(' ') {
        assert!(scopes.contains_key(scope), "unknown scope {scope}");
    }
    sandbox.stop().await;
}

/// A response built from the document: its `example` where it gives one, else each property's.
fn example(schema: &Value, depth: usize) -> Value {
    let schema = resolve(schema);
    if let Some(example) = schema.get("example") {
        return example.clone();
    }
    if depth > 8 {
        return Value::Null;
    }
    if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
        let mut merged = serde_json::Map::new();
        for part in all {
            if let Value::Object(fields) = example(part, depth + 1) {
                merged.extend(fields);
            }
        }
        return Value::Object(merged);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(first) = schema
            .get(key)
            .and_then(Value::as_array)
            .and_then(|o| o.first())
        {
            return example(first, depth + 1);
        }
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") | None if schema.get("properties").is_some() => Value::Object(
            schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), example(v, depth + 1)))
                .collect(),
        ),
        Some("array") => json!([example(&schema["items"], depth + 1)]),
        Some("integer" | "number") => json!(schema.get("minimum").cloned().unwrap_or(json!(7))),
        Some("boolean") => json!(true),
        Some("string") => match schema.get("enum").and_then(|e| e.get(0)) {
            Some(first) => first.clone(),
            None if schema.get("pattern").and_then(Value::as_str) == Some("^[0-9]{1,19}$") => {
                json!("1346889436626259968")
            }
            None => json!("text"),
        },
        _ => json!({}),
    }
}

fn response_example(method: &str, path: &str, status: &str) -> Value {
    let (_, op) = operation(method, path).expect("documented");
    let schema = &op["responses"][status]["content"]["application/json"]["schema"];
    example(schema, 0)
}

#[test]
fn the_client_parses_responses_built_from_the_specs_examples() {
    let created: x::Envelope<x::TweetData> =
        serde_json::from_value(response_example("POST", "/2/tweets", "201"))
            .expect("TweetCreateResponse parses");
    assert!(
        created.data.id.chars().all(|c| c.is_ascii_digit()),
        "{:?}",
        created.data.id
    );

    let lookup_doc = response_example("GET", "/2/tweets", "200");
    assert!(lookup_doc["data"].is_array(), "{lookup_doc}");
    let lookup: x::Lookup = serde_json::from_value(lookup_doc).expect("Get2TweetsResponse parses");
    assert_eq!(lookup.data.len(), 1);
    // The document's Tweet example writes created_at as "Wed Jan 06 18:40:40 +0000 2021":
    // read, not trusted, so it must not break parsing.
    assert_eq!(lookup.data[0].id, "1346889436626259968");

    let me: x::Envelope<x::UserData> =
        serde_json::from_value(response_example("GET", "/2/users/me", "200"))
            .expect("Get2UsersMeResponse parses");
    assert!(!me.data.username.is_empty());

    let timeline: x::Lookup =
        serde_json::from_value(response_example("GET", "/2/users/1/tweets", "200"))
            .expect("Get2UsersIdTweetsResponse parses");
    assert_eq!(timeline.data.len(), 1);

    let uploaded: x::Envelope<x::MediaData> =
        serde_json::from_value(response_example("POST", "/2/media/upload", "200"))
            .expect("MediaUploadResponse parses");
    assert!(!uploaded.data.id.is_empty());

    // Metrics as the document defines them (impression and bookmark counts included).
    let metrics_schema =
        resolve(&SPEC["components"]["schemas"]["Tweet"])["properties"]["public_metrics"].clone();
    let metrics: x::Metrics =
        serde_json::from_value(example(&metrics_schema, 0)).expect("public_metrics parses");
    assert_eq!(metrics.like_count, 7);
}
